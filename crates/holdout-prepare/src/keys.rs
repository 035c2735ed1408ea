//! The organizer's secret and everything derived from it: keyed digests for linking records
//! internally (HMAC-SHA256, never a plain hash, which enumeration reverses) and the seed of the
//! published ids.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Shortest secret accepted, in bytes (256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

/// The organizer's secret key. Never written out, never logged (`Debug` hides it).
#[derive(Clone)]
pub struct Secret {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the secret is {0} bytes long; it must hold at least {MIN_SECRET_BYTES} random bytes")]
pub struct ShortSecret(pub usize);

impl Secret {
    /// A secret from raw key bytes; trailing ASCII whitespace (a newline left by an editor or
    /// `head -c 32 /dev/urandom | base64 > key`) is not part of the key.
    pub fn new(bytes: &[u8]) -> Result<Secret, ShortSecret> {
        let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
        let key = &bytes[..end];
        if key.len() < MIN_SECRET_BYTES {
            return Err(ShortSecret(key.len()));
        }
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| ShortSecret(key.len()))?;
        Ok(Secret { mac })
    }

    /// HMAC-SHA256 of `value` in the domain `domain` (one per field, so equal strings in
    /// different fields never link).
    pub fn digest(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    /// The first 64 bits of [`Secret::digest`]; never 0, which marks a missing value.
    /// Collisions among 3 M values have probability about n² / 2⁶⁵ ≈ 2.4 × 10⁻⁷.
    pub fn digest64(&self, domain: &str, value: &[u8]) -> u64 {
        let d = self.digest(domain, value);
        let v = u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
        v.max(1)
    }

    /// A 32-byte seed for `purpose`, e.g. the published ids of a contest with a given split seed.
    pub fn seed(&self, purpose: &str, seed: u64) -> [u8; 32] {
        self.digest(purpose, &seed.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::{Secret, ShortSecret};

    #[test]
    fn short_secrets_are_refused_and_whitespace_trimmed() {
        assert_eq!(Secret::new(&[7; 31]).unwrap_err(), ShortSecret(31));
        assert_eq!(Secret::new(b"0123456789abcdef0123456789abcde\n\n").unwrap_err(), ShortSecret(31));
        assert!(Secret::new(&[7; 32]).is_ok());
    }

    #[test]
    fn digests_are_hmac_sha256_with_domain_separation() {
        // RFC 4231 test case 2 has a short key, so check against a value computed with Python:
        // hmac.new(b"k"*32, b"phone\x0013812345678", hashlib.sha256).hexdigest()
        let s = Secret::new(&[b'k'; 32]).unwrap();
        let d = s.digest("phone", b"13812345678");
        assert_eq!(hex(&d), "aa6ab66e6308e217");
        assert_ne!(s.digest64("phone", b"x"), s.digest64("openid", b"x"));
    }

    fn hex(d: &[u8]) -> String {
        crate::manifest::hex(&d[..8])
    }
}
