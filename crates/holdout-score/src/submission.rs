//! The one submission validator, used by `holdout validate`, `holdout score` and the server:
//! reads a CSV submission in any encoding competitors' tools write, checks it against the test
//! ids and the contest's prediction format, and returns the predictions in test-id order — or
//! every problem found ([`Invalid`]: codes with parameters, [`crate::problem`]), each with line
//! numbers and at most a few offending ids. Problems name only what the competitor sent and
//! what the contest publishes: never a hidden label, never which rows are public or private
//! (the validator never sees a label, and its output does not depend on the order the test ids
//! come in, so checking against the solution's ids, grouped public first, reveals nothing).

use std::collections::HashMap;
use std::io::{self, Read};

use holdout_schema::PredictionFormat;
use holdout_schema::text::{self, TextError};

use crate::ids::TestIds;
use crate::metrics::Predictions;
pub use crate::problem::{BinaryFormat, ColumnList, Delimiter, Example, Invalid, Kind, Problem};
use crate::problem::{EXAMPLES, SHOWN_COLUMNS};
/// Rows read before their ids are looked up.
const BATCH: usize = 64;
/// Tolerance on the sum of a row of class probabilities.
pub const SUM_TOLERANCE: f64 = 1e-6;

/// What a submission must look like.
#[derive(Debug)]
pub struct Expected<'a> {
    /// The test ids, in the order predictions are returned.
    pub ids: &'a TestIds,
    pub format: PredictionFormat,
    /// The class labels (classification), in the contest's order.
    pub labels: &'a [i64],
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
}

impl Expected<'_> {
    /// The header a submission must have.
    pub fn header(&self) -> Vec<String> {
        header(self.format, self.labels)
    }
}

/// The header of a submission in `format`.
pub fn header(format: PredictionFormat, labels: &[i64]) -> Vec<String> {
    let mut h = vec!["id".to_owned()];
    match format {
        PredictionFormat::Label => h.push("label".into()),
        PredictionFormat::Probability => h.push("probability".into()),
        PredictionFormat::Value => h.push("value".into()),
        PredictionFormat::ClassProbabilities => h.extend(labels.iter().map(ToString::to_string)),
    }
    h
}

/// Collects problems by kind (few kinds, so a list).
#[derive(Debug, Default)]
struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    fn add(&mut self, kind: Kind, example: Example) {
        let i = self.list.iter().position(|p| p.kind == kind).unwrap_or_else(|| {
            self.list.push(Problem { kind, count: 0, examples: Vec::new() });
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
    parse(reader, expected.format, expected.labels, expected.max_bytes)?.check(expected.ids)
}

/// A submission read and checked as far as possible without the test ids: [`parse`] it (no
/// ids needed, so this can run while the solution is being read), then [`Parsed::check`] it
/// (a clone checks against other ids without reading the file again).
#[derive(Debug, Clone)]
pub struct Parsed {
    format: PredictionFormat,
    labels: Vec<i64>,
    want: Vec<String>,
    header: Vec<String>,
    /// Consecutive pieces of the rows after the header, in file order.
    chunks: Vec<Chunk>,
}

/// Rows of one piece of the file: the plain ones in columns, the others kept whole.
#[derive(Debug, Default, Clone)]
struct Chunk {
    /// Ids of plain rows (white space removed), one after another, and where each ends.
    ids: String,
    id_ends: Vec<u32>,
    /// `want.len() - 1` valid predictions per plain row.
    values: Vec<f64>,
    lines: Vec<u32>,
    /// The other rows, each after the plain rows counted: they get every check.
    others: Vec<(usize, csv::StringRecord)>,
    /// A read error that ended the chunk.
    fatal: Option<Invalid>,
}

/// Chunks with at least this many plain rows are looked up on two threads.
const PARALLEL_LOOKUP: usize = 1 << 16;
/// Files larger than this are parsed in two pieces in parallel (when that is safe).
const PARALLEL_BYTES: usize = 1 << 20;

/// Reads a submission: its encoding, its header, and every row up to its ids.
pub fn parse<R: Read>(reader: R, format: PredictionFormat, labels: &[i64], max_bytes: u64) -> Result<Parsed, Invalid> {
    let limited = Limited { inner: reader, left: max_bytes };
    let io_error = |e: io::Error| {
        if e.kind() == io::ErrorKind::FileTooLarge {
            Invalid::one(Kind::TooLarge { max_bytes })
        } else {
            Invalid::one(Kind::Unreadable { error: e.to_string() })
        }
    };
    let mut decoded = text::decode(limited).map_err(|e| match e {
        TextError::Empty => Invalid::one(Kind::Empty),
        TextError::Binary(kind) => Invalid::one(Kind::NotCsv { format: BinaryFormat::of(kind) }),
        TextError::Io(e) => io_error(e),
    })?;
    let mut content = Vec::new();
    decoded.read_to_end(&mut content).map_err(io_error)?;
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(content.as_slice());
    let mut record = csv::StringRecord::new();
    if !csv.read_record(&mut record).map_err(|e| read_error(&e, 0))? {
        return Err(Invalid::one(Kind::Empty));
    }
    let mut parsed = Parsed {
        format,
        labels: labels.to_vec(),
        want: header(format, labels),
        header: record.iter().map(|h| clean(h).to_owned()).collect(),
        chunks: Vec::new(),
    };
    if parsed.header != parsed.want {
        // Refused for its header whatever the rows hold.
        return Ok(parsed);
    }
    let start = usize::try_from(csv.position().byte()).unwrap_or(usize::MAX).min(content.len());
    let first_line = csv.position().line();
    // The first piece is read from the start of the file, header and all, exactly as one
    // reader would read it (a new reader started after the header would, for one, take a
    // byte-order mark there for the file's own); the second starts on a line boundary.
    let pieces: Vec<(&[u8], u64, bool)> = match split_point(&content[start..]) {
        Some(cut) => {
            let lines = memchr::memchr_iter(b'\n', &content[start..start + cut]).count() as u64;
            vec![(&content[..start + cut], 0, true), (&content[start + cut..], first_line - 1 + lines, false)]
        }
        None => vec![(&content[..], 0, true)],
    };
    let layout = (parsed.want.as_slice(), format, labels);
    parsed.chunks = std::thread::scope(|scope| {
        let handles: Vec<_> = pieces
            .into_iter()
            .map(|(bytes, offset, header)| scope.spawn(move || parse_chunk(bytes, offset, header, layout)))
            .collect();
        handles.into_iter().map(|h| h.join().expect("parsing a chunk does not panic")).collect()
    });
    Ok(parsed)
}

/// Where to cut `rows` in two so that both halves parse as they would whole: after the first
/// line feed past the middle, if the text is large and holds no quote (a quoted field may span
/// lines) and no carriage return outside CRLF (which would end a line, shifting line numbers),
/// and the second half does not start with a byte-order mark (which a reader would drop).
fn split_point(rows: &[u8]) -> Option<usize> {
    if rows.len() < PARALLEL_BYTES || memchr::memchr(b'"', rows).is_some() {
        return None;
    }
    if memchr::memchr_iter(b'\r', rows).any(|i| rows.get(i + 1) != Some(&b'\n')) {
        return None;
    }
    memchr::memchr(b'\n', &rows[rows.len() / 2..])
        .map(|i| rows.len() / 2 + i + 1)
        .filter(|&cut| cut < rows.len() && !rows[cut..].starts_with("\u{feff}".as_bytes()))
}

/// Parses rows whose first line is `offset + 1` (after the header, if `bytes` starts with it):
/// plain rows (the right number of fields, an id, valid predictions) into columns, the others
/// whole for [`Rows::check`].
fn parse_chunk(
    bytes: &[u8],
    offset: u64,
    header: bool,
    (want, format, labels): (&[String], PredictionFormat, &[i64]),
) -> Chunk {
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut chunk = Chunk::default();
    let mut record = csv::StringRecord::new();
    if header {
        // Already read and checked by `parse`.
        let _ = csv.read_record(&mut record);
    }
    let k = want.len() - 1;
    let mut parsed = vec![0.0; k];
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return chunk,
            Err(e) => {
                chunk.fatal = Some(read_error(&e, offset));
                return chunk;
            }
        }
        let line = record.position().map_or(0, csv::Position::line) + offset;
        let id = clean(&record[0]);
        let plain = record.len() == want.len()
            && !id.is_empty()
            && id != want[0]
            && !record.as_slice().contains(['\n', '\r'])
            && record.iter().skip(1).zip(parsed.iter_mut()).all(|(field, slot)| match number(clean(field)) {
                Ok(v) => {
                    *slot = v;
                    true
                }
                Err(_) => false,
            })
            && check_values(format, labels, &parsed).is_none();
        if plain {
            chunk.ids.push_str(id);
            chunk.id_ends.push(u32::try_from(chunk.ids.len()).expect("a chunk holds less than 4 GiB of ids"));
            chunk.values.extend_from_slice(&parsed);
            chunk.lines.push(u32::try_from(line).unwrap_or(u32::MAX));
        } else {
            let mut whole = record.clone();
            let mut position = record.position().cloned().unwrap_or_else(csv::Position::new);
            position.set_line(line);
            whole.set_position(Some(position));
            chunk.others.push((chunk.lines.len(), whole));
        }
    }
}

impl Chunk {
    /// The id of plain row `i`.
    fn id(&self, i: usize) -> &str {
        &self.ids[if i == 0 { 0 } else { self.id_ends[i - 1] as usize }..self.id_ends[i] as usize]
    }
}

/// The test row of no test id.
const NOT_FOUND: u32 = u32::MAX;

/// The test row of each plain row of `chunk` ([`NOT_FOUND`] if none), looked up on two
/// threads for large chunks (the index is only read).
fn lookup(ids: &TestIds, chunk: &Chunk) -> Vec<u32> {
    let n = chunk.lines.len();
    let mut found = vec![NOT_FOUND; n];
    if n >= PARALLEL_LOOKUP {
        let (low, high) = found.split_at_mut(n / 2);
        std::thread::scope(|scope| {
            scope.spawn(|| lookup_range(ids, chunk, 0, low));
            lookup_range(ids, chunk, n / 2, high);
        });
    } else {
        lookup_range(ids, chunk, 0, &mut found);
    }
    found
}

/// Looks up plain rows `start..start + out.len()` of `chunk` into `out`, in batches. Files
/// usually list the ids in the test order: a batch first takes the rows after the last one
/// found as long as they match, then looks the rest up by hash.
fn lookup_range(ids: &TestIds, chunk: &Chunk, start: usize, out: &mut [u32]) {
    let mut next = 0;
    let mut batch_ids = [""; BATCH];
    let mut found = [None; BATCH];
    for (b, out) in out.chunks_mut(BATCH).enumerate() {
        let first = start + b * BATCH;
        let n = out.len();
        for (slot, i) in batch_ids.iter_mut().zip(first..first + n) {
            *slot = chunk.id(i);
        }
        let mut guessed = 0;
        while guessed < n && next + guessed < ids.len() && ids.get(next + guessed) == batch_ids[guessed] {
            found[guessed] = Some(next + guessed);
            guessed += 1;
        }
        ids.find_many(&batch_ids[guessed..n], &mut found[guessed..n]);
        for (o, f) in out.iter_mut().zip(&found) {
            *o = f.map_or(NOT_FOUND, |row| row as u32);
            if let Some(row) = f {
                next = row + 1;
            }
        }
    }
}

impl Parsed {
    /// Matches the rows to the test ids and returns the predictions in the order of `ids`, or
    /// every problem found.
    pub fn check(self, ids: &TestIds) -> Result<Predictions, Invalid> {
        check_header(&self.header, &self.want, ids)?;
        if let Some(fatal) = self.chunks.iter().find_map(|c| c.fatal.clone()) {
            return Err(fatal);
        }
        let mut rows = Rows::new(ids, self.format, &self.labels, &self.want);
        for chunk in &self.chunks {
            let found = lookup(ids, chunk);
            let mut done = 0;
            for (before, record) in &chunk.others {
                rows.check_plain(chunk, done..*before, &found);
                rows.check(record);
                done = *before;
            }
            rows.check_plain(chunk, done..chunk.lines.len(), &found);
        }
        rows.finish()
    }
}

/// The rows after the header: what was found, and every problem.
struct Rows<'a> {
    ids: &'a TestIds,
    format: PredictionFormat,
    labels: &'a [i64],
    want: &'a [String],
    /// Test ids by lower case, built at the first unknown id, to point out `A1` for `a1`.
    by_case: Option<HashMap<String, &'a str>>,
    /// The line each test id was first given on; 0 if not (yet).
    seen: Vec<u32>,
    /// Row-major predictions, `want.len() - 1` per test id.
    values: Vec<f64>,
    problems: Problems,
    /// Non-blank rows after the header.
    nonblank: u64,
    /// Rows whose id is a test id.
    matched: u64,
}

impl<'a> Rows<'a> {
    fn new(ids: &'a TestIds, format: PredictionFormat, labels: &'a [i64], want: &'a [String]) -> Self {
        let n = ids.len();
        Rows {
            ids,
            format,
            labels,
            want,
            by_case: None,
            seen: vec![0; n],
            values: vec![f64::NAN; n * (want.len() - 1)],
            problems: Problems::default(),
            nonblank: 0,
            matched: 0,
        }
    }

    /// Matches plain rows `range` of `chunk`, whose test rows were looked up (`found`, from
    /// [`lookup`]), in file order, in batches whose memory is loaded first.
    fn check_plain(&mut self, chunk: &Chunk, range: std::ops::Range<usize>, found: &[u32]) {
        let k = self.want.len() - 1;
        for start in range.clone().step_by(BATCH) {
            let batch = start..(start + BATCH).min(range.end);
            for &row in found[batch.clone()].iter().filter(|&&r| r != NOT_FOUND) {
                // Load what is read and written below, so that the misses overlap.
                std::hint::black_box((self.seen[row as usize], self.values[row as usize * k]));
            }
            for i in batch {
                self.nonblank += 1;
                let row = (found[i] != NOT_FOUND).then_some(found[i] as usize);
                if let Some(row) = self.test_row(row, chunk.id(i), chunk.lines[i]) {
                    self.values[row * k..(row + 1) * k].copy_from_slice(&chunk.values[i * k..(i + 1) * k]);
                }
            }
        }
    }

    /// The test row of `id` (`found` by lookup) first given on `line`, or `None` with the
    /// problem noted: an unknown id (perhaps differing only in case), or a repeated one.
    fn test_row(&mut self, found: Option<usize>, id: &str, line: u32) -> Option<usize> {
        let problems = &mut self.problems;
        let Some(row) = found else {
            let ids = self.ids;
            // Test ids equal but for case point to the first in text order, whatever the ids' order.
            let by_case = self.by_case.get_or_insert_with(|| {
                let mut by_case: HashMap<String, &str> = HashMap::new();
                for id in ids.iter() {
                    by_case.entry(id.to_lowercase()).and_modify(|first| *first = (*first).min(id)).or_insert(id);
                }
                by_case
            });
            let (line, id) = (u64::from(line), show(id));
            match by_case.get(&id.to_lowercase()) {
                Some(test_id) => problems
                    .add(Kind::IdCaseMismatch, Example::LineIdShouldBe { line, id, test_id: (*test_id).to_owned() }),
                None => problems.add(Kind::UnknownId, Example::LineId { line, id }),
            }
            return None;
        };
        self.matched += 1;
        if self.seen[row] != 0 {
            let first_line = u64::from(self.seen[row]);
            problems.add(
                Kind::DuplicateId,
                Example::LineIdFirstOn { line: u64::from(line), id: id.to_owned(), first_line },
            );
            return None;
        }
        self.seen[row] = line;
        Some(row)
    }

    /// Checks one record and keeps its predictions, or notes its first problem.
    fn check(&mut self, record: &csv::StringRecord) {
        let (want, problems) = (self.want, &mut self.problems);
        let line32 = line_of(record);
        let line = u64::from(line32);
        // Blank lines, and rows of empty fields that spreadsheets write for formatted empty rows.
        if record.iter().all(|f| clean(f).is_empty()) {
            return;
        }
        self.nonblank += 1;
        if let Some(field) = record.iter().find(|f| f.contains(['\n', '\r'])) {
            problems.add(Kind::MultilineField, Example::LineText { line, text: show(field) });
            return;
        }
        if record.iter().map(clean).eq(want.iter().map(String::as_str)) {
            problems.add(Kind::RepeatedHeader, Example::Line { line });
            return;
        }
        if record.len() != want.len() {
            problems.add(
                Kind::WrongFieldCount { expected: want.len() as u64 },
                if record.len() == 1 {
                    Example::LineOneField { line, text: show(&record[0]) }
                } else {
                    Example::LineFields { line, fields: record.len() as u64 }
                },
            );
            return;
        }
        let id = clean(&record[0]);
        if id.is_empty() {
            problems.add(Kind::MissingId, Example::Line { line });
            return;
        }
        let found = self.ids.find(id);
        let Some(row) = self.test_row(found, id, line32) else { return };
        let problems = &mut self.problems;
        let k = want.len() - 1;
        let mut parsed = Vec::with_capacity(k);
        for (j, field) in record.iter().skip(1).enumerate() {
            match number(clean(field)) {
                Ok(v) => parsed.push(v),
                Err(problem) => {
                    let (kind, id) = (problem.kind(want[j + 1].clone()), id.to_owned());
                    let example = match problem {
                        NumberProblem::Empty => Example::LineId { line, id },
                        _ => Example::LineIdText { line, id, text: show(clean(field)) },
                    };
                    problems.add(kind, example);
                }
            }
        }
        if parsed.len() != k {
            return;
        }
        if let Some(problem) = check_values(self.format, self.labels, &parsed) {
            let id = id.to_owned();
            let (kind, example) = match problem {
                ValueProblem::Label(value) => {
                    (Kind::LabelOutsideSet { labels: self.labels.to_vec() }, Example::LineIdValue { line, id, value })
                }
                ValueProblem::Probability(value) => {
                    (Kind::ProbabilityOutsideRange, Example::LineIdValue { line, id, value })
                }
                ValueProblem::ClassProbability { value, class } => (
                    Kind::ProbabilityOutsideRange,
                    Example::LineIdValueInColumn { line, id, value, column: want[class + 1].clone() },
                ),
                ValueProblem::Sum(sum) => (
                    Kind::SumNotOne { tolerance: SUM_TOLERANCE },
                    Example::LineIdSum { line, id, sum, off_by: sum - 1.0 },
                ),
            };
            problems.add(kind, example);
            return;
        }
        self.values[row * k..(row + 1) * k].copy_from_slice(&parsed);
    }

    /// The predictions in test-id order, or every problem, with the missing ids last.
    fn finish(self) -> Result<Predictions, Invalid> {
        let Rows { ids, format, labels, want, seen, values, mut problems, nonblank, matched, .. } = self;
        if nonblank == 0 {
            return Err(Invalid::one(Kind::NoPredictions { test_ids: ids.len() as u64 }));
        }
        // Rows with bad values were seen (and reported); only ids never given are missing. The
        // examples are the first missing ids in text order, not in the order of `ids`: that is
        // the solution's (public rows first) when the scorer checks a file.
        let (mut count, mut first) = (0u64, Vec::<&str>::with_capacity(EXAMPLES + 1));
        for (id, _) in ids.iter().zip(&seen).filter(|(_, s)| **s == 0) {
            count += 1;
            if first.len() < EXAMPLES || first.last().is_some_and(|last| id < *last) {
                let at = first.partition_point(|f| *f < id);
                first.insert(at, id);
                first.truncate(EXAMPLES);
            }
        }
        if count > 0 {
            problems.list.push(Problem {
                kind: Kind::MissingPredictions,
                count,
                examples: first.into_iter().map(|id| Example::Id { id: id.to_owned() }).collect(),
            });
        }
        if matched == 0 && problems.list.iter().any(|p| p.kind == Kind::UnknownId) {
            problems.list.push(Problem::of(Kind::NoTestIds));
        }
        if !problems.list.is_empty() {
            return Err(Invalid { problems: problems.list });
        }
        let k = want.len() - 1;
        Ok(match format {
            PredictionFormat::Label => Predictions::Labels(
                values.iter().map(|&v| labels.iter().position(|&l| l as f64 == v).unwrap_or(0)).collect(),
            ),
            PredictionFormat::Probability => Predictions::Probability(values),
            PredictionFormat::Value => Predictions::Values(values),
            PredictionFormat::ClassProbabilities => Predictions::ClassProbabilities { classes: k, values },
        })
    }
}

/// The line a record starts on (saturating: no real file has 2³² lines).
fn line_of(record: &csv::StringRecord) -> u32 {
    record.position().map_or(0, |p| u32::try_from(p.line()).unwrap_or(u32::MAX))
}

/// Why a field is not a number.
#[derive(Debug, Clone, Copy)]
enum NumberProblem {
    Empty,
    NanOrInfinite,
    TooLarge,
    DecimalComma,
    Percentage,
    NonNumeric,
}

impl NumberProblem {
    fn kind(self, column: String) -> Kind {
        match self {
            NumberProblem::Empty => Kind::EmptyValue { column },
            NumberProblem::NanOrInfinite => Kind::NanOrInfinite { column },
            NumberProblem::TooLarge => Kind::NumberTooLarge { column },
            NumberProblem::DecimalComma => Kind::DecimalComma { column },
            NumberProblem::Percentage => Kind::Percentage { column },
            NumberProblem::NonNumeric => Kind::NonNumeric { column },
        }
    }
}

/// A field as a number, or why not.
///
/// Anything Rust reads as a finite `f64` is accepted, so a label may be written `2`, `2.0` or
/// `2e0`; `-0` becomes `0` so that it ties with `0` everywhere downstream.
fn number(field: &str) -> Result<f64, NumberProblem> {
    if field.is_empty() {
        return Err(NumberProblem::Empty);
    }
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v + 0.0),
        // `inf`, `infinity` and `nan` all hold an `n`; `1e400` overflows.
        Ok(_) if field.to_ascii_lowercase().contains('n') => Err(NumberProblem::NanOrInfinite),
        Ok(_) => Err(NumberProblem::TooLarge),
        Err(_) if [".", ""].iter().any(|to| field.contains(',') && field.replace(',', to).parse::<f64>().is_ok()) => {
            Err(NumberProblem::DecimalComma)
        }
        Err(_) if field.strip_suffix('%').is_some_and(|f| f.trim().parse::<f64>().is_ok()) => {
            Err(NumberProblem::Percentage)
        }
        Err(_) => Err(NumberProblem::NonNumeric),
    }
}

/// A header or id field without surrounding white space or byte-order marks (a file saved
/// twice by some editors carries a second one).
fn clean(field: &str) -> &str {
    field.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// What is wrong with the valid numbers of a row.
#[derive(Debug, Clone, Copy)]
enum ValueProblem {
    /// A label outside the contest's.
    Label(f64),
    Probability(f64),
    /// A probability outside [0, 1] in class column `class` (0-based).
    ClassProbability {
        value: f64,
        class: usize,
    },
    /// Class probabilities summing to this, off 1 by more than [`SUM_TOLERANCE`].
    Sum(f64),
}

/// The value problem of a row, if any (on every row: allocates nothing).
fn check_values(format: PredictionFormat, labels: &[i64], v: &[f64]) -> Option<ValueProblem> {
    match format {
        PredictionFormat::Label => (!labels.iter().any(|&l| l as f64 == v[0])).then_some(ValueProblem::Label(v[0])),
        PredictionFormat::Probability => (!(0.0..=1.0).contains(&v[0])).then_some(ValueProblem::Probability(v[0])),
        PredictionFormat::ClassProbabilities => {
            if let Some(class) = v.iter().position(|p| !(0.0..=1.0).contains(p)) {
                return Some(ValueProblem::ClassProbability { value: v[class], class });
            }
            let sum: f64 = v.iter().sum();
            ((sum - 1.0).abs() > SUM_TOLERANCE).then_some(ValueProblem::Sum(sum))
        }
        PredictionFormat::Value => None,
    }
}

fn check_header(header: &[String], want: &[String], ids: &TestIds) -> Result<(), Invalid> {
    if header == want {
        return Ok(());
    }
    let expected = || Problem::of(Kind::ExpectedHeader { header: want.to_vec() });
    if let Some(first) = header.first().filter(|h| ids.find(h).is_some()) {
        return Err(Invalid::one(Kind::HeaderIsPrediction { id: first.clone(), header: want.to_vec() }));
    }
    if header.len() == 1
        && let Some(delimiter) = Delimiter::ALL.into_iter().find(|d| header[0].contains(d.char()))
    {
        return Err(Invalid::one(Kind::HeaderDelimiter { delimiter, header: want.to_vec() }));
    }
    let named: Vec<&String> = header.iter().filter(|h| !h.is_empty()).collect();
    if named.len() < header.len() && named.iter().copied().eq(want.iter()) {
        let kind = if header[0].is_empty() { Kind::UnnamedFirstColumn } else { Kind::UnnamedColumn };
        return Err(Invalid { problems: vec![Problem::of(kind), expected()] });
    }
    let mut problems = Vec::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for h in header {
        *counts.entry(h.as_str()).or_default() += 1;
    }
    let mut duplicated: Vec<&str> = counts.iter().filter(|(_, n)| **n > 1).map(|(h, _)| *h).collect();
    duplicated.sort_unstable();
    if !duplicated.is_empty() {
        problems.push(Kind::DuplicatedColumns { columns: columns(&duplicated) });
    }
    let missing: Vec<&str> = want.iter().map(String::as_str).filter(|w| !counts.contains_key(w)).collect();
    let extra: Vec<&str> = header.iter().map(String::as_str).filter(|h| !want.iter().any(|w| w == h)).collect();
    for m in &missing {
        problems.push(match extra.iter().find(|e| similar(e, m)) {
            Some(close) => Kind::MisspelledColumn { found: show(close), expected: (*m).to_owned() },
            None => Kind::MissingColumn { column: (*m).to_owned() },
        });
    }
    let unexplained: Vec<&str> = extra.iter().copied().filter(|e| !missing.iter().any(|m| similar(e, m))).collect();
    if !unexplained.is_empty() {
        problems.push(Kind::UnexpectedColumns { columns: columns(&unexplained) });
    }
    if problems.is_empty() {
        problems.push(Kind::ColumnsOutOfOrder);
    }
    Err(Invalid { problems: problems.into_iter().map(Problem::of).chain([expected()]).collect() })
}

/// Whether `a` looks like a misspelling of `b`: same letters ignoring case, spaces and
/// punctuation, or one edit apart (two for long names); two numbers never are.
fn similar(a: &str, b: &str) -> bool {
    // Class labels are numbers: `0` is another label, not a misspelling of `3`.
    if a.parse::<f64>().is_ok() && b.parse::<f64>().is_ok() {
        return false;
    }
    let norm = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    let (a, b) = (norm(a), norm(b));
    let edits = 1 + usize::from(b.len() > 6);
    // The length check first keeps a huge header cell from building a huge distance table.
    a == b || (a.len().abs_diff(b.len()) <= edits && edit_distance(&a, &b) <= edits)
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

/// Header columns as a problem lists them: the first few, shown.
fn columns(names: &[&str]) -> ColumnList {
    ColumnList {
        names: names.iter().take(SHOWN_COLUMNS).map(|n| show(n)).collect(),
        more: names.len().saturating_sub(SHOWN_COLUMNS) as u64,
    }
}

/// Text from the file as shown between backticks: at most 40 characters (then `…`), with
/// invisible characters, backslashes and backticks escaped so that what is shown is unambiguous
/// and a message never breaks a line where the file did not.
fn show(s: &str) -> String {
    const SHOWN: usize = 40;
    let head: String = s.chars().take(SHOWN).collect();
    let mut out = escape(&head);
    if s.chars().nth(SHOWN).is_some() {
        out.push('…');
    }
    out
}

/// Text escaped as messages show it between backticks: backslashes and backticks escaped,
/// control and invisible characters written as escapes.
pub fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' | '`' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.extend(c.escape_debug()),
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}' => {
                out.extend(c.escape_unicode());
            }
            c => out.push(c),
        }
    }
    out
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

/// A CSV error as a competitor reads it, on the line of the whole file (`offset` lines
/// before the piece that was read).
fn read_error(e: &csv::Error, offset: u64) -> Invalid {
    let line = e.position().map_or(0, csv::Position::line) + offset;
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => Invalid::one(Kind::NotUtf8 { line }),
        _ => Invalid::one(Kind::UnreadableCsv { line, error: e.to_string() }),
    }
}
