//! Decoding CSV text as organizers and competitors really produce it: UTF-8 with or without a
//! byte-order mark, UTF-16 with one, or GB18030/GBK as Excel writes it on a Chinese Windows.
//! Binary files (zip, xlsx, Parquet) are refused up front with a message saying what they are.

use std::io::{self, BufRead, BufReader, Read};

use encoding_rs::{Encoding, GB18030, UTF_8, UTF_16BE, UTF_16LE};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

/// How many leading bytes decide the encoding.
const SNIFF: usize = 1 << 16;

/// The text encodings holdout reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Gb18030,
}

impl TextEncoding {
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 with BOM",
            TextEncoding::Utf16Le => "UTF-16LE",
            TextEncoding::Utf16Be => "UTF-16BE",
            TextEncoding::Gb18030 => "GB18030",
        }
    }
}

/// Why bytes could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("the file is empty")]
    Empty,
    #[error("this is not a text file: it looks like {0}")]
    Binary(&'static str),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A reader of UTF-8 text decoded from any supported encoding; the byte-order mark is removed.
/// UTF-8 input passes through unchanged, so invalid bytes further in surface as UTF-8 errors
/// where they are (the CSV reader reports their line); GB18030 input is transcoded on the fly.
#[derive(Debug)]
pub struct TextReader<R: Read> {
    inner: DecodeReaderBytes<BufReader<R>, Vec<u8>>,
    pub encoding: TextEncoding,
}

impl<R: Read> Read for TextReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

/// Sniffs the encoding from the first 64 KiB and returns a reader of UTF-8 text.
pub fn decode<R: Read>(reader: R) -> Result<TextReader<R>, TextError> {
    let mut reader = BufReader::with_capacity(SNIFF, reader);
    let head = reader.fill_buf()?;
    if head.is_empty() {
        return Err(TextError::Empty);
    }
    if let Some(kind) = binary_kind(head) {
        return Err(TextError::Binary(kind));
    }
    let (encoding, label): (&'static Encoding, TextEncoding) = if head.starts_with(b"\xEF\xBB\xBF") {
        (UTF_8, TextEncoding::Utf8Bom)
    } else if head.starts_with(b"\xFF\xFE") {
        (UTF_16LE, TextEncoding::Utf16Le)
    } else if head.starts_with(b"\xFE\xFF") {
        (UTF_16BE, TextEncoding::Utf16Be)
    } else if looks_like_utf8(head) {
        (UTF_8, TextEncoding::Utf8)
    } else {
        (GB18030, TextEncoding::Gb18030)
    };
    let builder = match label {
        // Plain UTF-8 is passed through untouched (no replacement characters), BOM included so
        // the builder can strip it.
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => {
            let mut b = DecodeReaderBytesBuilder::new();
            b.encoding(None).bom_override(true).utf8_passthru(true).strip_bom(true);
            b
        }
        _ => {
            let mut b = DecodeReaderBytesBuilder::new();
            b.encoding(Some(encoding)).bom_override(true).strip_bom(true);
            b
        }
    };
    Ok(TextReader { inner: builder.build(reader), encoding: label })
}

/// Whether `head` is UTF-8, allowing a multi-byte character cut off at the end of the sample.
fn looks_like_utf8(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

/// Names the binary format `head` starts with, if it is one.
fn binary_kind(head: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 6] = [
        (b"PK\x03\x04", "a zip archive (an .xlsx workbook is one)"),
        (b"\xD0\xCF\x11\xE0", "an old Excel .xls workbook"),
        (b"PAR1", "a Parquet file"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"%PDF", "a PDF document"),
        (b"Rar!", "a RAR archive"),
    ];
    if let Some((_, kind)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(kind);
    }
    // UTF-16 text has NULs in every other byte, so only call NULs binary without its BOM.
    let utf16 = head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF");
    (!utf16 && head.contains(&0)).then_some("binary data (it contains NUL bytes)")
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::{TextEncoding, TextError, decode};

    fn read(bytes: &[u8]) -> (TextEncoding, String) {
        let mut r = decode(bytes).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        (r.encoding, s)
    }

    #[test]
    fn sniffs_and_decodes() {
        assert_eq!(read("id,城市\n1,深圳\n".as_bytes()), (TextEncoding::Utf8, "id,城市\n1,深圳\n".into()));
        assert_eq!(read(b"\xEF\xBB\xBFid\r\n1\r\n"), (TextEncoding::Utf8Bom, "id\r\n1\r\n".into()));
        let (gbk, _, _) = encoding_rs::GBK.encode("id,城市\n1,深圳\n");
        assert_eq!(read(&gbk), (TextEncoding::Gb18030, "id,城市\n1,深圳\n".into()));
        let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain("a,b".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(read(&utf16), (TextEncoding::Utf16Le, "a,b".into()));
    }

    #[test]
    fn refuses_binary_and_empty() {
        assert!(matches!(decode(&b""[..]), Err(TextError::Empty)));
        assert!(matches!(decode(&b"PK\x03\x04rest"[..]), Err(TextError::Binary(k)) if k.contains("xlsx")));
        assert!(matches!(decode(&b"PAR1\x00"[..]), Err(TextError::Binary(k)) if k.contains("Parquet")));
        assert!(matches!(decode(&b"a\x00b"[..]), Err(TextError::Binary(_))));
    }

    #[test]
    fn a_cut_character_at_the_sniff_edge_is_still_utf8() {
        let mut text = "a".repeat(super::SNIFF - 1).into_bytes();
        text.extend_from_slice("城".as_bytes());
        assert_eq!(read(&text).0, TextEncoding::Utf8);
    }
}
