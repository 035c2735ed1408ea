//! The submission validator on a corpus of real-world malformed (and some valid) submissions:
//! every file under `tests/data/submissions/` in, its outcome out, as an `insta` snapshot.
//!
//! A file's name says what it is checked against: `<format>__<what>.<ext>`, where `<format>` is
//! `label`, `probability`, `class_probabilities` or `value` (see [`expected`]). Files named
//! `<format>__valid_*` must pass; every other file must be refused. To add a case, drop a file
//! in and run `INSTA_UPDATE=always cargo test -p holdout-score --test score corpus`, then read
//! the new `snapshots/score__corpus__*.snap` by eye: the message must tell a competitor what to
//! fix, name the line or ids, and say nothing beyond their own file and the public test ids.
//! A refusal's snapshot holds the message in English, then in Chinese, then the problems' codes.
//!
//! Decisions the `__valid_` files pin: a label may be written `2.0`, `2e0` or `+2` (any number
//! equal to a label); `-0` is read as `0`; white space around fields, blank lines, rows of empty
//! fields, a second byte-order mark, CRLF or CR line endings and UTF-16 with a BOM are accepted.
//! Class probabilities must sum to 1 within `SUM_TOLERANCE` (1e-6).

use std::fmt::Write as _;
use std::path::Path;

use holdout_schema::PredictionFormat;
use holdout_score::i18n::Lang;
use holdout_score::ids::TestIds;
use holdout_score::submission::{Expected, Invalid, validate};

/// The public test ids every corpus file is checked against.
pub const IDS: [&str; 6] = ["a1", "a2", "a3", "a4", "a5", "a6"];
/// The size limit: small, so that `label__too_large.csv` can stay small too.
pub const MAX_BYTES: u64 = 2_000;

/// The prediction formats, by the name a corpus file starts with, with the contest's labels.
pub const FORMATS: [(&str, PredictionFormat, &[i64]); 4] = [
    ("label", PredictionFormat::Label, &[1, 2, 3, 4, 5]),
    ("probability", PredictionFormat::Probability, &[0, 1]),
    ("class_probabilities", PredictionFormat::ClassProbabilities, &[1, 2, 3]),
    ("value", PredictionFormat::Value, &[]),
];

/// The test ids as the validator takes them.
pub fn ids() -> TestIds {
    IDS.into_iter().collect()
}

/// What a file named `<format>__…` is checked against.
pub fn expected<'a>(ids: &'a TestIds, format: &str) -> Expected<'a> {
    let (_, format, labels) =
        FORMATS.iter().find(|(name, _, _)| *name == format).unwrap_or_else(|| panic!("unknown format `{format}`"));
    Expected { ids, format: *format, labels, max_bytes: MAX_BYTES }
}

/// The outcome of validating `bytes` as the snapshot shows it.
fn check(name: &str, bytes: &[u8]) -> String {
    let (format, _) = name.split_once("__").unwrap_or_else(|| panic!("{name}: not named `<format>__<what>`"));
    let ids = ids();
    match validate(bytes, &expected(&ids, format)) {
        Ok(p) => {
            assert!(name.contains("__valid_"), "{name}: accepted, but only `__valid_` files may pass");
            assert_eq!(p.len(), IDS.len(), "{name}: one prediction per test id");
            format!("Ok({} predictions)", p.len())
        }
        Err(e) => {
            assert!(!name.contains("__valid_"), "{name}: must pass, but was refused:\n{e}");
            let message = e.to_string();
            assert!(!message.is_empty() && message.lines().all(|l| !l.trim().is_empty()), "{name}: {message:?}");
            let chinese = e.render(Lang::Zh);
            assert_eq!(chinese.lines().count(), message.lines().count(), "{name}: one line per problem");
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<Invalid>(&json).unwrap(), e, "{name}: {json}");
            format!("Err:\n{message}\n\nzh:\n{chinese}\n\ncodes: {}", e.codes().join(", "))
        }
    }
}

/// The start of a file, readable in a snapshot's header: text as text, anything else escaped.
fn preview(bytes: &[u8]) -> String {
    const SHOWN: usize = 240;
    let head = &bytes[..bytes.len().min(SHOWN)];
    let mut s = match std::str::from_utf8(head) {
        Ok(text) => {
            text.chars().flat_map(|c| if c == '\n' { vec!['\n'] } else { c.escape_debug().collect() }).collect()
        }
        Err(_) => head.escape_ascii().to_string(),
    };
    if bytes.len() > SHOWN {
        let _ = write!(s, "… ({} bytes in all)", bytes.len());
    }
    s
}

#[test]
fn every_corpus_file_gives_its_snapshot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/submissions");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let valid = files.iter().filter(|f| f.to_string_lossy().contains("__valid_")).count();
    assert!(files.len() - valid >= 45 && valid >= 5, "{} malformed and {valid} valid files", files.len() - valid);
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        let bytes = std::fs::read(&file).unwrap();
        let outcome = check(&name, &bytes);
        let snapshot: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
        insta::with_settings!({ description => preview(&bytes), omit_expression => true }, {
            insta::assert_snapshot!(snapshot, outcome);
        });
    }
}
