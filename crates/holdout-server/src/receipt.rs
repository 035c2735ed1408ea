//! Signed score receipts (`holdout-receipt/1`), pure: the format, signing and verification. No
//! IO: the service issues receipts ([`crate::worker`], the reveal), `holdout receipt verify`
//! checks them offline.
//!
//! A receipt file is one line of JSON and a newline:
//!
//! ```text
//! {"receipt":R,"signature":"<128 hex digits>","key":"<64 hex digits>"}\n
//! ```
//!
//! `R` is the [`Receipt`] serialized compactly by `serde_json` — fields in the struct's order, no
//! whitespace, strings escaped as `serde_json` escapes them (only `"`, `\` and control
//! characters; other characters as UTF-8), numbers as `serde_json` prints them (a score is the
//! shortest decimal that reads back as the same IEEE-754 double). The signature is Ed25519
//! (RFC 8032, pure, no context) by the contest's key over exactly the bytes of `R`, which are
//! also exactly the bytes between `{"receipt":` and `,"signature":` in the file; `key` is the
//! signer's public key. Hex is lower-case.
//!
//! The file must be exactly that canonical form: [`verify`] parses it, serializes it again and
//! refuses any difference, so every byte of the file is covered — a changed value breaks the
//! signature, anything else (spacing, an upper-case hex digit, a reordered field) breaks the
//! canonical form.

use ed25519_dalek::{Signature, Signer as _};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use holdout_schema::{Metric, PredictionFormat};
use serde::{Deserialize, Serialize};

/// The format this module writes and reads.
pub const FORMAT: &str = "holdout-receipt/1";

/// What a receipt attests: at `issued_at` (the service's clock), with the audit log's head
/// at entry `audit_seq`, submission `submission` (the file with SHA-256 `sha256`) of `team` to
/// `contest` had been scored by `scorer` against the solution committed to as
/// `solution_commitment`, with these scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always [`FORMAT`].
    pub format: String,
    pub contest: String,
    /// The submission's id in the service.
    pub submission: i64,
    /// The team's name (unique in the contest).
    pub team: String,
    pub phase: String,
    /// SHA-256 of the submitted file's bytes, hex.
    pub sha256: String,
    /// The contest's solution commitment (`MANIFEST.json`'s `solution_commitment.sha256`).
    pub solution_commitment: String,
    /// Which holdout scored it: `holdout <version>`.
    pub scorer: String,
    /// How the file is read and scored, from the contest's manifest: the task (`binary`,
    /// `multiclass`, `ordinal`, `regression`), class labels, prediction format and the primary
    /// metric, so the receipt alone says how to rescore it.
    pub task: String,
    pub labels: Vec<i64>,
    #[schema(value_type = String)]
    pub prediction_format: PredictionFormat,
    /// The primary metric, as scikit-learn names it.
    #[schema(value_type = String)]
    pub metric: Metric,
    /// The primary metric on the subsets the team could see when the receipt was issued: the
    /// phase's public subset (unless the Ladder withheld it), and its private subset once the
    /// private board is revealed.
    pub scores: Vec<SubsetScore>,
    /// RFC 3339 UTC, the service's clock.
    pub issued_at: String,
    /// The audit log's last entry when the receipt was issued (the entry recording the score,
    /// or the reveal) and its hash.
    pub audit_seq: i64,
    pub audit_head: String,
}

/// The primary metric on one subset of the solution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReceiptScore)]
pub struct SubsetScore {
    /// `public`, `private`, or with A/B boards `a_public`, `b_private`, ….
    pub subset: String,
    /// The score as the service recorded it; `null` where the metric is undefined on the subset.
    #[schema(required = true)]
    pub value: Option<f64>,
}

/// A receipt with its signature, as the file holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SignedReceipt)]
pub struct Signed {
    pub receipt: Receipt,
    /// Ed25519 signature of the receipt's canonical bytes, hex.
    pub signature: String,
    /// The signer's public key, hex.
    pub key: String,
}

/// Why a receipt does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("not a holdout receipt: {0}")]
    Malformed(String),
    #[error(
        "byte {offset} differs from the receipt's canonical form: the file was edited or re-encoded after it was issued"
    )]
    NotCanonical { offset: usize },
    #[error("unknown receipt format `{0}` (this holdout reads {FORMAT})")]
    Format(String),
    #[error("{what} is not {digits} lower-case hex digits")]
    Hex { what: &'static str, digits: usize },
    #[error("{0} is not a valid Ed25519 public key")]
    Key(String),
    #[error("the receipt was signed by key {found}, not by the key given ({given})")]
    WrongKey { found: String, given: String },
    #[error("the signature does not verify with key {0}: the receipt was changed after it was signed")]
    Signature(String),
}

/// The `scorer` of receipts this holdout issues.
pub fn scorer() -> String {
    format!("holdout {}", env!("CARGO_PKG_VERSION"))
}

/// The scores a receipt carries — what the team itself may see when it is issued, never more:
/// the phase's public subset `(name, score)` unless the Ladder withheld that score from the
/// team, and its private subset once the private board is revealed.
pub fn shown(
    public: (&str, Option<f64>),
    private: (&str, Option<f64>),
    withheld: bool,
    revealed: bool,
) -> Vec<SubsetScore> {
    let score = |(subset, value): (&str, Option<f64>)| SubsetScore { subset: subset.to_owned(), value };
    let mut scores = Vec::new();
    if !withheld {
        scores.push(score(public));
    }
    if revealed {
        scores.push(score(private));
    }
    scores
}

/// A key's hex form.
pub fn key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

fn decode<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], ReceiptError> {
    let bad = || ReceiptError::Hex { what, digits: 2 * N };
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(bad());
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).map_err(|_| bad())?;
    Ok(out)
}

/// A public key from its 64 hex digits (surrounding whitespace ignored; either case accepted,
/// since a key is typed or pasted by people).
pub fn parse_key(text: &str) -> Result<VerifyingKey, ReceiptError> {
    let t = text.trim().to_ascii_lowercase();
    let bytes = decode::<32>(&t, "the key")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| ReceiptError::Key(t))
}

/// A signing key from the 32-byte seed (RFC 8032's secret key), e.g. 32 bytes of the system's
/// random source.
pub fn signing_key(seed: [u8; 32]) -> SigningKey {
    SigningKey::from_bytes(&seed)
}

/// The secret key file's text: the seed as 64 hex digits and a newline.
pub fn secret_text(key: &SigningKey) -> String {
    format!("{}\n", hex::encode(key.to_bytes()))
}

/// Reads [`secret_text`].
pub fn parse_secret(text: &str) -> Result<SigningKey, ReceiptError> {
    Ok(signing_key(decode::<32>(text.trim_end_matches('\n'), "the secret key")?))
}

/// The canonical bytes of a receipt: what is signed.
pub fn canonical(receipt: &Receipt) -> Vec<u8> {
    serde_json::to_vec(receipt).expect("a receipt always serializes")
}

/// Signs a receipt; returns the file's bytes (canonical form and a newline).
pub fn sign(receipt: &Receipt, key: &SigningKey) -> Vec<u8> {
    let signature = key.sign(&canonical(receipt));
    let signed = Signed {
        receipt: receipt.clone(),
        signature: hex::encode(signature.to_bytes()),
        key: key_hex(&key.verifying_key()),
    };
    let mut bytes = serde_json::to_vec(&signed).expect("a receipt always serializes");
    bytes.push(b'\n');
    bytes
}

/// Parses a receipt file strictly: JSON of exactly the [`Signed`] shape, in canonical form (one
/// final newline allowed), of a known format.
pub fn parse(bytes: &[u8]) -> Result<Signed, ReceiptError> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let signed: Signed = serde_json::from_slice(body).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
    let again = serde_json::to_vec(&signed).expect("a receipt always serializes");
    if again != body {
        let offset = again.iter().zip(body).position(|(a, b)| a != b).unwrap_or(again.len().min(body.len()));
        return Err(ReceiptError::NotCanonical { offset });
    }
    if signed.receipt.format != FORMAT {
        return Err(ReceiptError::Format(signed.receipt.format));
    }
    Ok(signed)
}

/// Verifies a receipt file against the contest's public key `key`: the canonical form, that
/// `key` is the signer, and the signature (strict Ed25519: no malleable signatures, no weak
/// keys). Returns what it attests.
pub fn verify(bytes: &[u8], key: &VerifyingKey) -> Result<Receipt, ReceiptError> {
    let signed = parse(bytes)?;
    let found = decode::<32>(&signed.key, "the receipt's key")?;
    if &found != key.as_bytes() {
        return Err(ReceiptError::WrongKey { found: signed.key, given: key_hex(key) });
    }
    let signature = Signature::from_bytes(&decode::<64>(&signed.signature, "the signature")?);
    key.verify_strict(&canonical(&signed.receipt), &signature).map_err(|_| ReceiptError::Signature(key_hex(key)))?;
    Ok(signed.receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        signing_key([n; 32])
    }

    fn receipt() -> Receipt {
        Receipt {
            format: FORMAT.into(),
            contest: "security-sense".into(),
            submission: 17,
            team: "安全小队 \"A\"".into(),
            phase: "preliminary".into(),
            sha256: "ab".repeat(32),
            solution_commitment: "cd".repeat(32),
            scorer: "holdout 0.1.0".into(),
            task: "ordinal".into(),
            labels: vec![1, 2, 3, 4, 5],
            prediction_format: PredictionFormat::Label,
            metric: Metric::CohenKappaQuadratic,
            scores: vec![
                SubsetScore { subset: "public".into(), value: Some(0.1 + 0.2) },
                SubsetScore { subset: "private".into(), value: None },
            ],
            issued_at: "2024-09-10T04:00:01.250Z".into(),
            audit_seq: 42,
            audit_head: "ef".repeat(32),
        }
    }

    #[test]
    fn the_format_is_exactly_as_documented() {
        let k = key(1);
        let file = sign(&receipt(), &k);
        let text = std::str::from_utf8(&file).unwrap();
        let signed_part = String::from_utf8(canonical(&receipt())).unwrap();
        assert!(text.starts_with(&format!("{{\"receipt\":{signed_part},\"signature\":\"")), "{text}");
        assert!(text.ends_with(&format!("\",\"key\":\"{}\"}}\n", key_hex(&k.verifying_key()))), "{text}");
        assert!(signed_part.starts_with(
            "{\"format\":\"holdout-receipt/1\",\"contest\":\"security-sense\",\"submission\":17,\
             \"team\":\"安全小队 \\\"A\\\"\",\"phase\":\"preliminary\",\"sha256\":\"abab"
        ));
        assert!(signed_part.contains(
            ",\"task\":\"ordinal\",\"labels\":[1,2,3,4,5],\"prediction_format\":\"label\",\
             \"metric\":\"cohen_kappa_quadratic\",\"scores\":[{\"subset\":\"public\",\"value\":0.30000000000000004},\
             {\"subset\":\"private\",\"value\":null}],\"issued_at\":\"2024-09-10T04:00:01.250Z\",\"audit_seq\":42,"
        ));
        assert_eq!(text.lines().count(), 1);
        // Signing is deterministic (RFC 8032): the same receipt and key give the same file.
        assert_eq!(file, sign(&receipt(), &k));
    }

    #[test]
    fn a_receipt_verifies_and_keeps_its_scores_exactly() {
        let k = key(2);
        let file = sign(&receipt(), &k);
        let back = verify(&file, &k.verifying_key()).unwrap();
        assert_eq!(back, receipt());
        assert_eq!(back.scores[0].value.unwrap().to_bits(), (0.1f64 + 0.2).to_bits());
        // Without the final newline too.
        assert_eq!(verify(&file[..file.len() - 1], &k.verifying_key()).unwrap(), receipt());
        // Awkward doubles come back bit for bit.
        for v in [1e-300, 0.1, 2.0 / 3.0, 123_456.789_012_345_67, f64::MIN_POSITIVE, 5e-324, -0.0, 1e21] {
            let mut r = receipt();
            r.scores[0].value = Some(v);
            let back = verify(&sign(&r, &k), &k.verifying_key()).unwrap();
            assert_eq!(back.scores[0].value.unwrap().to_bits(), v.to_bits(), "{v:e}");
        }
    }

    #[test]
    fn every_changed_byte_fails() {
        let k = key(3);
        let file = sign(&receipt(), &k);
        let public = k.verifying_key();
        for i in 0..file.len() {
            for delta in [1u8, 0x20] {
                let mut bad = file.clone();
                bad[i] ^= delta;
                assert!(verify(&bad, &public).is_err(), "byte {i} ^ {delta:#x} still verifies");
            }
        }
    }

    #[test]
    fn each_failure_names_its_problem() {
        let k = key(4);
        let public = k.verifying_key();
        let file = sign(&receipt(), &k);
        let text = String::from_utf8(file.clone()).unwrap();

        // A changed score: still canonical, the signature breaks.
        let changed = text.replace("0.30000000000000004", "0.4");
        assert_eq!(verify(changed.as_bytes(), &public), Err(ReceiptError::Signature(key_hex(&public))));
        // The same double written with more digits than it needs: not canonical.
        let longer = text.replace("0.30000000000000004", "0.30000000000000005");
        assert!(matches!(verify(longer.as_bytes(), &public), Err(ReceiptError::NotCanonical { .. })));
        // The wrong key.
        let other = key(5).verifying_key();
        assert!(matches!(verify(&file, &other), Err(ReceiptError::WrongKey { .. })));
        // The right key claimed by a receipt another key signed.
        let forged = String::from_utf8(sign(&receipt(), &key(5))).unwrap().replace(&key_hex(&other), &key_hex(&public));
        assert_eq!(verify(forged.as_bytes(), &public), Err(ReceiptError::Signature(key_hex(&public))));
        // Pretty-printed, or spaced: not canonical.
        let pretty = serde_json::to_string_pretty(&parse(&file).unwrap()).unwrap();
        assert_eq!(verify(pretty.as_bytes(), &public), Err(ReceiptError::NotCanonical { offset: 1 }));
        // An upper-case hex digit in the signature.
        let at = text.find("\"signature\":\"").unwrap() + 13;
        let mut upper = text.clone().into_bytes();
        let i = (at..at + 128).find(|&i| upper[i].is_ascii_lowercase()).unwrap();
        upper[i] = upper[i].to_ascii_uppercase();
        assert_eq!(verify(&upper, &public), Err(ReceiptError::Hex { what: "the signature", digits: 128 }));
        // Truncated, or not JSON, or a field too many.
        assert!(matches!(verify(&file[..40], &public), Err(ReceiptError::Malformed(_))));
        assert!(matches!(verify(b"hello", &public), Err(ReceiptError::Malformed(_))));
        let extra = text.replacen("\"receipt\":{", "\"receipt\":{\"extra\":1,", 1);
        let e = verify(extra.as_bytes(), &public).unwrap_err();
        assert!(e.to_string().contains("unknown field `extra`"), "{e}");
        // Another format.
        let mut r = receipt();
        r.format = "holdout-receipt/9".into();
        assert_eq!(verify(&sign(&r, &k), &public), Err(ReceiptError::Format("holdout-receipt/9".into())));
    }

    #[test]
    fn a_receipt_shows_what_the_team_may_see() {
        let names = |s: Vec<SubsetScore>| s.into_iter().map(|s| s.subset).collect::<Vec<_>>();
        let (public, private) = (("a_public", Some(0.5)), ("a_private", None));
        assert_eq!(names(shown(public, private, false, false)), ["a_public"]);
        assert_eq!(names(shown(public, private, false, true)), ["a_public", "a_private"]);
        assert_eq!(names(shown(public, private, true, false)), Vec::<String>::new());
        assert_eq!(names(shown(public, private, true, true)), ["a_private"]);
        assert_eq!(shown(public, private, false, true)[1].value, None);
    }

    #[test]
    fn keys_read_back() {
        let k = key(6);
        assert_eq!(parse_secret(&secret_text(&k)).unwrap().to_bytes(), k.to_bytes());
        assert!(parse_secret("00").is_err());
        let hex = key_hex(&k.verifying_key());
        assert_eq!(parse_key(&format!("  {}\n", hex.to_uppercase())).unwrap(), k.verifying_key());
        assert_eq!(parse_key("xyz"), Err(ReceiptError::Hex { what: "the key", digits: 64 }));
    }
}
