//! The submission validator on well-formed and malformed files.

use holdout_schema::PredictionFormat;
use holdout_score::ids::TestIds;
use holdout_score::metrics::Predictions;
use holdout_score::submission::{Expected, validate};

fn ids() -> TestIds {
    ["a1", "b2", "c3"].into_iter().collect()
}

fn check(format: PredictionFormat, file: &[u8]) -> Result<Predictions, String> {
    let ids = ids();
    let labels = match format {
        PredictionFormat::Probability => vec![0, 1],
        _ => vec![1, 2, 3],
    };
    let expected = Expected { ids: &ids, format, labels: &labels, max_bytes: 1000 };
    validate(file, &expected).map_err(|e| e.to_string())
}

#[test]
fn good_files_in_any_order_encoding_and_line_ending() {
    let p = check(PredictionFormat::Label, b"id,label\nc3,3\na1,1\nb2,2\n").unwrap();
    assert_eq!(p, Predictions::Labels(vec![0, 1, 2]), "returned in test-id order");
    let crlf_bom = check(PredictionFormat::Label, b"\xEF\xBB\xBFid,label\r\na1,1\r\nb2,2\r\nc3,3\r\n").unwrap();
    assert_eq!(crlf_bom, Predictions::Labels(vec![0, 1, 2]));
    let quoted = check(PredictionFormat::Probability, b"\"id\",\"probability\"\n\"a1\",\"0.5\"\nb2,1\nc3,0\n").unwrap();
    assert_eq!(quoted, Predictions::Probability(vec![0.5, 1.0, 0.0]));
    let classes = check(
        PredictionFormat::ClassProbabilities,
        b"id,1,2,3\na1,0.2,0.3,0.5\nb2,1,0,0\nc3,0.3333333,0.3333333,0.3333334\n",
    )
    .unwrap();
    assert!(matches!(classes, Predictions::ClassProbabilities { classes: 3, .. }));
}

#[test]
fn each_problem_gets_its_own_message() {
    let cases: [(&str, PredictionFormat, &[u8], &str); 14] = [
        ("empty", PredictionFormat::Label, b"", "the file is empty"),
        ("zip", PredictionFormat::Label, b"PK\x03\x04....", "not a CSV text file: it looks like a zip archive"),
        ("semicolons", PredictionFormat::Label, b"id;label\na1;1\n", "separated by semicolons"),
        (
            "misspelled",
            PredictionFormat::Label,
            b"id,lable\na1,1\nb2,2\nc3,3\n",
            "header column `lable` should be `label`",
        ),
        ("missing column", PredictionFormat::Label, b"id\na1\n", "missing header column `label`"),
        ("extra column", PredictionFormat::Label, b"id,label,score\na1,1,0\n", "unexpected header columns: `score`"),
        ("duplicated header", PredictionFormat::Label, b"id,label,label\n", "duplicated header columns: `label`"),
        (
            "field count",
            PredictionFormat::Label,
            b"id,label\na1,1,7\nb2,2\nc3,3\n",
            "wrong number of fields: expected 2 like the header: line 2 has 3",
        ),
        (
            "duplicate id",
            PredictionFormat::Label,
            b"id,label\na1,1\na1,2\nb2,2\nc3,3\n",
            "duplicate ids: line 3 (id `a1`, first on line 2)",
        ),
        (
            "missing ids",
            PredictionFormat::Label,
            b"id,label\na1,1\n",
            "2 test ids have no prediction: id `b2`, id `c3`",
        ),
        (
            "unknown id",
            PredictionFormat::Label,
            b"id,label\na1,1\nb2,2\nc3,3\nzz,1\n",
            "ids that are not test ids: line 5 (id `zz`)",
        ),
        (
            "bad label",
            PredictionFormat::Label,
            b"id,label\na1,1\nb2,7\nc3,3\n",
            "labels outside {1, 2, 3}: line 3 (id `b2`: 7)",
        ),
        (
            "probability range",
            PredictionFormat::Probability,
            b"id,probability\na1,1.5\nb2,0\nc3,0\n",
            "probabilities outside [0, 1]: line 2 (id `a1`: 1.5)",
        ),
        (
            "sum",
            PredictionFormat::ClassProbabilities,
            b"id,1,2,3\na1,0.5,0.5,0.5\nb2,1,0,0\nc3,1,0,0\n",
            "do not sum to 1",
        ),
    ];
    for (what, format, file, message) in cases {
        let e = check(format, file).expect_err(what);
        assert!(e.contains(message), "{what}: expected `{message}` in: {e}");
    }
    let e = check(PredictionFormat::Probability, b"id,probability\na1,NaN\nb2,x\nc3,inf\n").unwrap_err();
    assert!(e.contains("NaN or infinite value in `probability` (2 rows)") && e.contains("non-numeric value"), "{e}");
    let big = [b"id,label\n".as_slice(), &b"a1,1\n".repeat(300)].concat();
    assert!(check(PredictionFormat::Label, &big).unwrap_err().contains("larger than the limit"));
}

/// Files over a megabyte are parsed in two pieces in parallel; every outcome, line number and
/// example must be what one piece gives. A quote anywhere (here around one id, which CSV
/// removes) makes the validator read the file in one piece, so the two runs can be compared.
#[test]
fn a_large_file_read_in_two_pieces_reads_as_one() {
    use std::fmt::Write as _;
    let n = 90_000;
    let ids: TestIds = (0..n).map(|i| format!("t{i:05}")).collect::<Vec<_>>().iter().map(String::as_str).collect();
    let expected = Expected { ids: &ids, format: PredictionFormat::Probability, labels: &[0, 1], max_bytes: 1 << 30 };
    let mut clean = String::from("id,probability\n");
    for i in (0..n).rev() {
        let _ = writeln!(clean, "t{i:05},0.{:04}", (i * 7919) % 10_000);
    }
    let mut broken = String::from("id,probability\n");
    for i in (0..n).rev() {
        match i % 9_973 {
            0 => broken.push('\n'),
            1 => {
                let _ = writeln!(broken, "T{i:05},0.5");
            }
            2 => {
                let _ = writeln!(broken, "x{i},0.5");
            }
            3 => {
                let _ = writeln!(broken, "t{i:05},1.5");
            }
            4 => {
                let _ = writeln!(broken, "t{i:05},0.5,9");
            }
            5 => {
                let _ = writeln!(broken, "t{:05},0.5", i + 1);
            }
            6 => {
                let _ = writeln!(broken, " t{i:05} , 0.25 ");
            }
            7 => {
                // A byte-order mark at the start of a line is a character of the field there.
                let _ = writeln!(broken, "\u{feff}t{i:05},0.5");
            }
            _ => {
                let _ = writeln!(broken, "t{i:05},0.{:04}", (i * 7919) % 10_000);
            }
        }
    }
    // Every line starting with a byte-order mark, so that the second piece would start with
    // one (a reader drops a mark at its start, so the validator must not cut there); marks
    // around ids are removed, so the predictions are those of the clean file.
    let marked: String = clean.lines().fold(String::new(), |mut out, l| {
        let _ = writeln!(out, "\u{feff}{l}");
        out
    });
    let unmarked = validate(clean.as_bytes(), &expected).map_err(|e| e.to_string());
    assert!(unmarked.is_ok());
    assert_eq!(validate(marked.as_bytes(), &expected).map_err(|e| e.to_string()), unmarked);
    for text in [clean, broken] {
        for crlf in [false, true] {
            let text = if crlf { text.replace('\n', "\r\n") } else { text.clone() };
            assert!(text.len() > 1 << 20, "large enough to be cut");
            let split = validate(text.as_bytes(), &expected).map_err(|e| e.to_string());
            let whole_text = text.replacen("t00000,", "\"t00000\",", 1);
            let whole = validate(whole_text.as_bytes(), &expected).map_err(|e| e.to_string());
            assert_eq!(split, whole);
        }
    }
    // A bad byte in the second half is reported on its line of the whole file.
    let mut bytes = b"id,probability\n".to_vec();
    for i in 0..n {
        bytes.extend_from_slice(format!("t{i:05},0.5\n").as_bytes());
    }
    let at = bytes.len() - 100;
    let line = memchr::memchr_iter(b'\n', &bytes[..at]).count() + 1;
    bytes[at] = 0xFF;
    let e = validate(bytes.as_slice(), &expected).unwrap_err().to_string();
    assert_eq!(e, format!("line {line}: bytes that are not valid UTF-8 text (save the file as UTF-8)"));
}
