//! The one submission validator, used by `holdout validate`, `holdout score` and the server:
//! reads a CSV submission in any encoding competitors' tools write, checks it against the test
//! ids and the contest's prediction format, and returns the predictions in test-id order — or
//! every problem found, each with line numbers and at most a few offending ids. Messages name
//! only what the competitor sent: never a hidden label, never which rows are public or private.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};

use holdout_schema::PredictionFormat;
use holdout_schema::text::{self, TextError};

use crate::metrics::Predictions;

/// Examples shown per kind of problem.
const EXAMPLES: usize = 3;
/// Tolerance on the sum of a row of class probabilities.
pub const SUM_TOLERANCE: f64 = 1e-6;

/// What a submission must look like.
#[derive(Debug)]
pub struct Expected<'a> {
    /// The test ids, in the order predictions are returned.
    pub ids: &'a [String],
    pub format: PredictionFormat,
    /// The class labels (classification), in the contest's order.
    pub labels: &'a [i64],
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
}

impl Expected<'_> {
    /// The header a submission must have.
    pub fn header(&self) -> Vec<String> {
        let mut h = vec!["id".to_owned()];
        match self.format {
            PredictionFormat::Label => h.push("label".into()),
            PredictionFormat::Probability => h.push("probability".into()),
            PredictionFormat::Value => h.push("value".into()),
            PredictionFormat::ClassProbabilities => h.extend(self.labels.iter().map(ToString::to_string)),
        }
        h
    }
}

/// One kind of problem, with how often it occurred and where first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub count: u64,
    /// `line N` or `line N (id X)` of the first occurrences.
    pub examples: Vec<String>,
}

/// Why a submission was refused: every problem found, in the order first met.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Invalid {
    pub problems: Vec<Problem>,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", p.message)?;
            if p.count > 1 {
                write!(f, " ({} rows)", p.count)?;
            }
            if !p.examples.is_empty() {
                let more = if p.count > p.examples.len() as u64 { ", …" } else { "" };
                write!(f, ": {}{more}", p.examples.join(", "))?;
            }
        }
        Ok(())
    }
}

impl Invalid {
    fn one(message: impl Into<String>) -> Invalid {
        Invalid { problems: vec![Problem { message: message.into(), count: 1, examples: Vec::new() }] }
    }
}

/// Collects problems by kind.
#[derive(Debug, Default)]
struct Problems {
    list: Vec<Problem>,
    index: HashMap<String, usize>,
}

impl Problems {
    fn add(&mut self, message: String, example: String) {
        let i = *self.index.entry(message.clone()).or_insert_with(|| {
            self.list.push(Problem { message, count: 0, examples: Vec::new() });
            self.list.len() - 1
        });
        let p = &mut self.list[i];
        p.count += 1;
        if p.examples.len() < EXAMPLES {
            p.examples.push(example);
        }
    }
}

/// Validates a submission and returns its predictions in the order of `expected.ids`.
pub fn validate<R: Read>(reader: R, expected: &Expected<'_>) -> Result<Predictions, Invalid> {
    let too_large = || Invalid::one(format!("the file is larger than the limit of {}", size(expected.max_bytes)));
    let limited = Limited { inner: reader, left: expected.max_bytes };
    let decoded = text::decode(limited).map_err(|e| match e {
        TextError::Empty => Invalid::one("the file is empty"),
        TextError::Binary(kind) => Invalid::one(format!("this is not a CSV text file: it looks like {kind}")),
        TextError::Io(e) if e.kind() == io::ErrorKind::FileTooLarge => too_large(),
        TextError::Io(e) => Invalid::one(format!("cannot read the file: {e}")),
    })?;
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(decoded);
    let mut record = csv::StringRecord::new();
    let read_error = |e: &csv::Error| match e.kind() {
        csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::FileTooLarge => too_large(),
        _ => read_error(e),
    };
    let header_ok = csv.read_record(&mut record).map_err(|e| read_error(&e))?;
    if !header_ok {
        return Err(Invalid::one("the file is empty"));
    }
    let want = expected.header();
    let header: Vec<String> = record.iter().map(|h| h.trim().to_owned()).collect();
    check_header(&header, &want)?;

    let k = want.len() - 1;
    let index: HashMap<&str, usize> = expected.ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut seen: Vec<u64> = vec![0; expected.ids.len()];
    let mut values: Vec<f64> = vec![f64::NAN; expected.ids.len() * k];
    let mut problems = Problems::default();
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(read_error(&e)),
        }
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        if record.len() != want.len() {
            problems.add(
                format!("wrong number of fields: expected {} like the header", want.len()),
                format!("line {line} has {}", record.len()),
            );
            continue;
        }
        let id = record[0].trim();
        let Some(&row) = index.get(id) else {
            problems.add("ids that are not test ids".into(), format!("line {line} (id `{}`)", shorten(id)));
            continue;
        };
        if seen[row] != 0 {
            problems.add("duplicate ids".into(), format!("line {line} (id `{id}`, first on line {})", seen[row]));
            continue;
        }
        seen[row] = line;
        let mut parsed = Vec::with_capacity(k);
        for (j, field) in record.iter().skip(1).enumerate() {
            let column = &want[j + 1];
            match field.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => parsed.push(v),
                Ok(_) => {
                    problems.add(format!("NaN or infinite value in `{column}`"), format!("line {line} (id `{id}`)"));
                }
                Err(_) => problems.add(
                    format!("non-numeric value in `{column}`"),
                    format!("line {line} (id `{id}`: `{}`)", shorten(field)),
                ),
            }
        }
        if parsed.len() != k {
            continue;
        }
        if let Some(problem) = check_values(expected, &parsed) {
            problems.add(problem.0, format!("line {line} (id `{id}`{})", problem.1));
            continue;
        }
        values[row * k..(row + 1) * k].copy_from_slice(&parsed);
    }
    let missing: Vec<&String> = expected.ids.iter().zip(&seen).filter(|(_, s)| **s == 0).map(|(id, _)| id).collect();
    // Rows with bad values were seen (and reported); only ids never given are missing.
    if !missing.is_empty() {
        problems.list.push(Problem {
            message: format!("{} test ids have no prediction", missing.len()),
            count: 1,
            examples: missing.iter().take(EXAMPLES).map(|id| format!("id `{id}`")).collect(),
        });
    }
    if !problems.list.is_empty() {
        return Err(Invalid { problems: problems.list });
    }
    Ok(match expected.format {
        PredictionFormat::Label => Predictions::Labels(
            values.iter().map(|&v| expected.labels.iter().position(|&l| l as f64 == v).unwrap_or(0)).collect(),
        ),
        PredictionFormat::Probability => Predictions::Probability(values),
        PredictionFormat::Value => Predictions::Values(values),
        PredictionFormat::ClassProbabilities => Predictions::ClassProbabilities { classes: k, values },
    })
}

/// The value problem of a row, if any: (kind, detail).
fn check_values(expected: &Expected<'_>, v: &[f64]) -> Option<(String, String)> {
    match expected.format {
        PredictionFormat::Label => {
            if expected.labels.iter().any(|&l| l as f64 == v[0]) {
                None
            } else {
                let labels: Vec<String> = expected.labels.iter().map(ToString::to_string).collect();
                Some((format!("labels outside {{{}}}", labels.join(", ")), format!(": {}", v[0])))
            }
        }
        PredictionFormat::Probability | PredictionFormat::ClassProbabilities
            if v.iter().any(|p| !(0.0..=1.0).contains(p)) =>
        {
            let bad = v.iter().find(|p| !(0.0..=1.0).contains(*p)).copied().unwrap_or_default();
            Some(("probabilities outside [0, 1]".into(), format!(": {bad}")))
        }
        PredictionFormat::ClassProbabilities => {
            let sum: f64 = v.iter().sum();
            ((sum - 1.0).abs() > SUM_TOLERANCE).then(|| {
                (
                    format!("class probabilities that do not sum to 1 (tolerance {SUM_TOLERANCE:e})"),
                    format!(": sum {sum}, off by {:e}", sum - 1.0),
                )
            })
        }
        PredictionFormat::Probability | PredictionFormat::Value => None,
    }
}

fn check_header(header: &[String], want: &[String]) -> Result<(), Invalid> {
    if header == want {
        return Ok(());
    }
    let expected = format!("expected the header `{}`", want.join(","));
    if header.len() == 1 {
        for (delimiter, name) in [(';', "semicolons"), ('\t', "tabs"), ('|', "vertical bars")] {
            if header[0].contains(delimiter) {
                return Err(Invalid::one(format!(
                    "the header is separated by {name}, not commas: {expected} (save as CSV with commas)"
                )));
            }
        }
    }
    let mut problems = Vec::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for h in header {
        *counts.entry(h.as_str()).or_default() += 1;
    }
    let mut duplicated: Vec<&str> = counts.iter().filter(|(_, n)| **n > 1).map(|(h, _)| *h).collect();
    duplicated.sort_unstable();
    if !duplicated.is_empty() {
        problems.push(format!("duplicated header columns: {}", quote(&duplicated)));
    }
    let missing: Vec<&str> = want.iter().map(String::as_str).filter(|w| !counts.contains_key(w)).collect();
    let extra: Vec<&str> = header.iter().map(String::as_str).filter(|h| !want.iter().any(|w| w == h)).collect();
    for m in &missing {
        match extra.iter().find(|e| similar(e, m)) {
            Some(close) => problems.push(format!("header column `{close}` should be `{m}`")),
            None => problems.push(format!("missing header column `{m}`")),
        }
    }
    let unexplained: Vec<&str> = extra.iter().copied().filter(|e| !missing.iter().any(|m| similar(e, m))).collect();
    if !unexplained.is_empty() {
        problems.push(format!("unexpected header columns: {}", quote(&unexplained)));
    }
    if problems.is_empty() {
        problems.push("the header columns are in the wrong order".into());
    }
    Err(Invalid {
        problems: problems
            .into_iter()
            .map(|p| Problem { message: format!("{p}; {expected}"), count: 1, examples: Vec::new() })
            .collect(),
    })
}

/// Whether `a` looks like a misspelling of `b`: same letters ignoring case, spaces and
/// punctuation, or one edit apart.
fn similar(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    let (a, b) = (norm(a), norm(b));
    a == b || edit_distance(&a, &b) <= 1 + usize::from(b.len() > 6)
}

/// Edits (insert, delete, substitute, swap two neighbours) turning `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

fn quote(names: &[&str]) -> String {
    const SHOWN: usize = 8;
    let mut s = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        let _ = fmt::Write::write_fmt(&mut s, format_args!(" and {} more", names.len() - SHOWN));
    }
    s
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 { s.chars().take(40).chain("…".chars()).collect() } else { s.to_owned() }
}

fn size(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

/// A reader that fails with `FileTooLarge` past `left` bytes, so an oversized upload is
/// refused without being read whole.
#[derive(Debug)]
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::from(io::ErrorKind::FileTooLarge));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn read_error(e: &csv::Error) -> Invalid {
    let line = e.position().map_or(0, csv::Position::line);
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => Invalid::one(format!("line {line}: bytes that are not valid UTF-8 text")),
        _ => Invalid::one(format!("line {line}: unreadable CSV ({e})")),
    }
}
