//! The raw export loaded into memory and validated against the survey schema: one typed,
//! compact column per schema column. Direct identifiers are kept only as keyed digests.

use std::fmt;
use std::io::Read;

use chrono::NaiveDateTime;
use holdout_schema::text::{self, TextError};
use holdout_schema::{Column, ColumnKind, Dataset, Role, Survey, Version};
use rustc_hash::FxHashMap as HashMap;

use crate::keys::Secret;

/// Code of a missing value in [`Values::Coded`].
pub const MISSING: u16 = u16::MAX;
/// Marker of a missing value in [`Values::Number`].
pub const NO_NUMBER: i64 = i64::MIN;
/// Integer columns with at most this many values are dictionary-coded.
const MAX_CODED_RANGE: i64 = 4096;

/// Where a problem is in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole.
    File,
    /// A 1-based line of a CSV file.
    Line(u64),
    /// A 1-based row of a Parquet file.
    Row(u64),
    /// A row of an xlsx sheet, numbered as Excel shows it (the header is row 1).
    ExcelRow(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => f.write_str("the file"),
            Location::Line(n) => write!(f, "line {n}"),
            Location::Row(n) => write!(f, "row {n}"),
            Location::ExcelRow(n) => write!(f, "Excel row {n}"),
        }
    }
}

/// A problem in the raw export, located by file, line or row, and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DataError {
    pub file: String,
    pub location: Location,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Location::File => write!(f, "{}", self.file)?,
            Location::Line(l) => write!(f, "{}:{l}", self.file)?,
            Location::Row(r) => write!(f, "{}: row {r}", self.file)?,
            Location::ExcelRow(r) => write!(f, "{}: Excel row {r}", self.file)?,
        }
        if let Some(c) = &self.column {
            write!(f, ": column `{c}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The values of one column.
#[derive(Debug, Clone)]
pub enum Values {
    /// Dictionary codes ([`MISSING`] when absent): options, ratings, ticks, small integers and
    /// short metadata text.
    Coded { codes: Vec<u16>, dictionary: Vec<String> },
    /// Integers too wide to code, and timestamps as seconds since 1970 in local time
    /// ([`NO_NUMBER`] when absent).
    Number(Vec<i64>),
    /// Keyed 64-bit digests of direct identifiers (0 when absent).
    Keyed(Vec<u64>),
    /// Free text.
    Text(Vec<Option<Box<str>>>),
}

/// One validated column of the export.
#[derive(Debug, Clone)]
pub struct RawColumn {
    pub name: String,
    pub values: Values,
    /// For coded columns, the integer each dictionary entry stands for, if it is one.
    pub numbers: Vec<Option<i64>>,
    /// For keyed columns read with [`RawTableBuilder::keep_originals`]: each digest's text as
    /// the export wrote it (trimmed), for the organizers' private reports (the distribution
    /// channel's `sourceId`). `None` for every other column.
    pub originals: Option<HashMap<u64, Box<str>>>,
}

impl RawColumn {
    /// Dictionary codes of a coded column.
    pub fn codes(&self) -> Option<&[u16]> {
        match &self.values {
            Values::Coded { codes, .. } => Some(codes),
            _ => None,
        }
    }

    /// The integer value of row `row`, for coded integer-like and number columns.
    pub fn number(&self, row: usize) -> Option<i64> {
        match &self.values {
            Values::Coded { codes, .. } => self.numbers.get(usize::from(codes[row])).copied().flatten(),
            Values::Number(v) => (v[row] != NO_NUMBER).then_some(v[row]),
            _ => None,
        }
    }

    /// The text of row `row` as the export wrote it (digests have none).
    pub fn text(&self, row: usize) -> Option<&str> {
        match &self.values {
            Values::Coded { codes, dictionary } => dictionary.get(usize::from(codes[row])).map(String::as_str),
            Values::Text(v) => v[row].as_deref(),
            Values::Number(_) | Values::Keyed(_) => None,
        }
    }
}

/// The combined key of several keyed columns in one row, or `None` if any is missing. Exact
/// for one or two columns (the digests side by side); more are folded, which at 128 bits
/// still makes a false match practically impossible.
pub fn composite_key(columns: &[&Vec<u64>], row: usize) -> Option<u128> {
    let mut key = 0u128;
    for (i, c) in columns.iter().enumerate() {
        let d = c[row];
        if d == 0 {
            return None;
        }
        key = if i < 2 {
            (key << 64) | u128::from(d)
        } else {
            key.rotate_left(37) ^ u128::from(d).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        };
    }
    Some(key)
}

/// The whole export, columns in schema order.
#[derive(Debug, Clone)]
pub struct RawTable {
    pub rows: usize,
    pub columns: Vec<RawColumn>,
    /// The encoding the CSV was read in (`None` for Parquet).
    pub encoding: Option<&'static str>,
    /// The files the rows came from, in row order.
    pub sources: Vec<SourceFile>,
}

/// One input file of a [`RawTable`]: its rows are `first_row..first_row + rows`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub file: String,
    /// What the file was found to be (`holdout CSV`, `TDuck admin export (CSV), form …`).
    pub format: String,
    pub first_row: usize,
    pub rows: usize,
    /// Schema columns this file does not have (all missing in its rows).
    pub absent: Vec<String>,
}

impl SourceFile {
    pub fn lacks(&self, column: &str) -> bool {
        self.absent.iter().any(|c| c == column)
    }
}

impl RawTable {
    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&RawColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// How one schema column is parsed.
#[derive(Debug)]
enum Parser {
    Levels(HashMap<String, u16>),
    Range { min: i64, max: i64 },
    Wide { min: i64, max: i64 },
    Time(String),
    Key,
    Intern { map: HashMap<String, u16>, known: Option<Vec<String>> },
    Free { max_len: Option<usize> },
}

/// Builds a [`RawTable`] row by row from string fields (CSV records or Parquet rows).
#[derive(Debug)]
pub struct RawTableBuilder<'a> {
    survey: &'a Survey,
    secret: &'a Secret,
    file: String,
    /// For each schema column, its position in the input's fields.
    position: Vec<usize>,
    parsers: Vec<Parser>,
    version_column: Option<usize>,
    /// Per column: asked in the public and in the practitioner questionnaire.
    asked: Vec<[bool; 2]>,
    columns: Vec<RawColumn>,
    rows: usize,
    /// Per schema column: the current file does not have it (every value missing).
    absent: Vec<bool>,
    sources: Vec<SourceFile>,
}

impl<'a> RawTableBuilder<'a> {
    /// A builder fed by a converter that writes every schema column, in schema order, for
    /// each row (the `TDuck` readers); [`RawTableBuilder::start_file`] names each input.
    pub fn in_schema_order(dataset: &'a Dataset, secret: &'a Secret) -> RawTableBuilder<'a> {
        let header: Vec<&str> = dataset.survey.columns.iter().map(|c| c.name.as_str()).collect();
        let mut builder = match RawTableBuilder::new(dataset, secret, "", &header) {
            Ok(b) => b,
            Err(e) => unreachable!("the schema's own header matches it: {e}"),
        };
        builder.sources.clear();
        builder
    }

    /// Starts the next input file: its rows follow, and `absent` columns are missing in all
    /// of them.
    pub fn start_file(&mut self, file: &str, format: String, absent: &[&str]) {
        file.clone_into(&mut self.file);
        for (flag, column) in self.absent.iter_mut().zip(&self.survey.columns) {
            *flag = absent.contains(&column.name.as_str());
        }
        self.sources.push(SourceFile {
            file: file.to_owned(),
            format,
            first_row: self.rows,
            rows: 0,
            absent: absent.iter().map(|&a| a.to_owned()).collect(),
        });
    }

    /// Keeps the original text beside the digest of these keyed columns (see
    /// [`RawColumn::originals`]); names that are not keyed columns are ignored.
    pub fn keep_originals<S: AsRef<str>>(&mut self, names: &[S]) {
        for column in &mut self.columns {
            if matches!(column.values, Values::Keyed(_)) && names.iter().any(|n| n.as_ref() == column.name) {
                column.originals = Some(HashMap::default());
            }
        }
    }

    /// Rows added so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Checks the header against the schema: every column present once, nothing unknown.
    pub fn new(
        dataset: &'a Dataset,
        secret: &'a Secret,
        file: &str,
        header: &[&str],
    ) -> Result<RawTableBuilder<'a>, DataError> {
        let survey = &dataset.survey;
        let err =
            |message: String| DataError { file: file.to_owned(), location: Location::Line(1), column: None, message };
        let mut seen: HashMap<&str, usize> = HashMap::default();
        for (i, name) in header.iter().enumerate() {
            if let Some(first) = seen.insert(name, i) {
                return Err(err(format!("column `{name}` appears twice (fields {} and {})", first + 1, i + 1)));
            }
        }
        let unknown: Vec<&str> = header.iter().copied().filter(|h| survey.column(h).is_none()).collect();
        let missing: Vec<&str> =
            survey.columns.iter().map(|c| c.name.as_str()).filter(|c| !seen.contains_key(c)).collect();
        if !missing.is_empty() || !unknown.is_empty() {
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("missing {}", quoted(&missing)));
            }
            if !unknown.is_empty() {
                parts.push(format!("not in schema `{}`: {}", survey.name, quoted(&unknown)));
            }
            return Err(err(format!("the header does not match the survey schema: {}", parts.join("; "))));
        }
        let position: Vec<usize> = survey.columns.iter().map(|c| seen[c.name.as_str()]).collect();
        let parsers: Vec<Parser> = survey.columns.iter().map(|c| parser(c, dataset)).collect();
        let columns = survey
            .columns
            .iter()
            .zip(&parsers)
            .map(|(c, p)| {
                let (values, numbers) = match p {
                    Parser::Levels(_) => {
                        let levels = c.kind.levels().unwrap_or_default();
                        let dictionary: Vec<String> = levels.iter().map(|l| l.code.to_string()).collect();
                        let numbers = dictionary.iter().map(|d| d.parse().ok()).collect();
                        (Values::Coded { codes: Vec::new(), dictionary }, numbers)
                    }
                    Parser::Range { min, max } => {
                        let dictionary: Vec<String> = (*min..=*max).map(|v| v.to_string()).collect();
                        let numbers = (*min..=*max).map(Some).collect();
                        (Values::Coded { codes: Vec::new(), dictionary }, numbers)
                    }
                    Parser::Wide { .. } | Parser::Time(_) => (Values::Number(Vec::new()), Vec::new()),
                    Parser::Key => (Values::Keyed(Vec::new()), Vec::new()),
                    Parser::Intern { .. } => (Values::Coded { codes: Vec::new(), dictionary: Vec::new() }, Vec::new()),
                    Parser::Free { .. } => (Values::Text(Vec::new()), Vec::new()),
                };
                RawColumn { name: c.name.clone(), values, numbers, originals: None }
            })
            .collect();
        Ok(RawTableBuilder {
            survey,
            secret,
            file: file.to_owned(),
            position,
            parsers,
            version_column: survey.column_index("version"),
            asked: survey
                .columns
                .iter()
                .map(|c| [c.versions.contains(&Version::Public), c.versions.contains(&Version::Practitioner)])
                .collect(),
            columns,
            rows: 0,
            absent: vec![false; survey.columns.len()],
            sources: vec![SourceFile {
                file: file.to_owned(),
                format: "holdout CSV".to_owned(),
                first_row: 0,
                rows: 0,
                absent: Vec::new(),
            }],
        })
    }

    /// Adds one row; `fields` are in the header's order.
    pub fn push<S: AsRef<str>>(&mut self, fields: &[S], location: Location) -> Result<(), DataError> {
        self.push_with(fields.len(), |i| fields[i].as_ref(), location)
    }

    /// Adds one row whose `len` fields (in the header's order) `field` returns.
    pub fn push_with<'f>(
        &mut self,
        len: usize,
        field: impl Fn(usize) -> &'f str,
        location: Location,
    ) -> Result<(), DataError> {
        let fields = field;
        if len != self.position.len() {
            return Err(DataError {
                file: self.file.clone(),
                location,
                column: None,
                message: format!("expected {} fields like the header, found {}", self.position.len(), len),
            });
        }
        let version = match self.version_column {
            Some(v) => match fields(self.position[v]) {
                "public" => Some(Version::Public),
                "practitioner" => Some(Version::Practitioner),
                _ => None,
            },
            None => None,
        };
        for (i, column) in self.survey.columns.iter().enumerate() {
            if self.absent[i] {
                push_missing(&mut self.columns[i].values);
                continue;
            }
            let field = fields(self.position[i]);
            let asked = version.is_none_or(|v| self.asked[i][usize::from(v == Version::Practitioner)]);
            let absent = (field.is_empty() && (!asked || column.missing.as_deref() == Some("")))
                || column.missing.as_deref().is_some_and(|m| !m.is_empty() && m == field);
            let result = if absent {
                push_missing(&mut self.columns[i].values);
                Ok(())
            } else if !asked {
                Err(format!(
                    "`{field}` given, but this column is not asked in the {} questionnaire (it must be empty)",
                    version.map_or("", Version::as_str)
                ))
            } else {
                push_value(&mut self.parsers[i], &mut self.columns[i], column, field, self.secret)
            };
            result.map_err(|message| DataError {
                file: self.file.clone(),
                location,
                column: Some(column.name.clone()),
                message,
            })?;
        }
        self.rows += 1;
        if let Some(source) = self.sources.last_mut() {
            source.rows += 1;
        }
        Ok(())
    }

    /// Names the format of the (single) file read so far, e.g. `holdout Parquet`.
    pub fn set_format(&mut self, format: &str) {
        if let Some(source) = self.sources.last_mut() {
            format.clone_into(&mut source.format);
        }
    }

    pub fn finish(mut self, encoding: Option<&'static str>) -> RawTable {
        for (column, parser) in self.columns.iter_mut().zip(&self.parsers) {
            if let (Parser::Intern { .. }, Values::Coded { dictionary, .. }) = (parser, &column.values) {
                column.numbers = dictionary.iter().map(|d| d.parse().ok()).collect();
            }
        }
        RawTable { rows: self.rows, columns: self.columns, encoding, sources: self.sources }
    }
}

fn quoted(names: &[&str]) -> String {
    const SHOWN: usize = 8;
    let mut s = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        let _ = std::fmt::Write::write_fmt(&mut s, format_args!(" and {} more", names.len() - SHOWN));
    }
    s
}

fn parser(column: &Column, dataset: &Dataset) -> Parser {
    if column.role == Role::DirectIdentifier || matches!(column.kind, ColumnKind::Identifier { .. }) {
        return Parser::Key;
    }
    match &column.kind {
        ColumnKind::Categorical { levels } | ColumnKind::Ordinal { levels } => {
            Parser::Levels(levels.iter().enumerate().map(|(i, l)| (l.code.to_string(), i as u16)).collect())
        }
        ColumnKind::Rating { min, max, .. } => Parser::Range { min: *min, max: *max },
        ColumnKind::MultiSelect { .. } => Parser::Range { min: 0, max: 1 },
        ColumnKind::Integer { min, max, .. } if max - min < MAX_CODED_RANGE => Parser::Range { min: *min, max: *max },
        ColumnKind::Integer { min, max, .. } => Parser::Wide { min: *min, max: *max },
        ColumnKind::Timestamp { format } => Parser::Time(format.clone()),
        ColumnKind::Identifier { .. } => Parser::Key,
        ColumnKind::Text { max_len } if column.role == Role::FreeText => Parser::Free { max_len: *max_len },
        ColumnKind::Text { .. } => {
            // Text checked against a hierarchy (a city) or interned as it comes (metadata).
            let known = column.hierarchy.as_ref().and_then(|h| dataset.hierarchies.get(h)).map(|h| {
                let mut values: Vec<String> = h.rows().map(|r| r[0].clone()).collect();
                values.sort();
                values
            });
            Parser::Intern { map: HashMap::default(), known }
        }
    }
}

fn push_missing(values: &mut Values) {
    match values {
        Values::Coded { codes, .. } => codes.push(MISSING),
        Values::Number(v) => v.push(NO_NUMBER),
        Values::Keyed(v) => v.push(0),
        Values::Text(v) => v.push(None),
    }
}

fn push_value(
    parser: &mut Parser,
    column: &mut RawColumn,
    schema: &Column,
    field: &str,
    secret: &Secret,
) -> Result<(), String> {
    let undecodable = || field.contains('\u{FFFD}');
    let result = parse_into(parser, column, schema, field, secret);
    match result {
        Err(_) if undecodable() => Err(format!("undecodable bytes in `{field}` (is the file in another encoding?)")),
        other => other,
    }
}

/// An integer field within `min..=max`, or why not.
fn integer_in(field: &str, min: i64, max: i64) -> Result<i64, String> {
    let v = integer(field)?;
    if v < min || v > max {
        return Err(format!("{v} is outside {min}–{max}"));
    }
    Ok(v)
}

fn parse_into(
    parser: &mut Parser,
    column: &mut RawColumn,
    schema: &Column,
    field: &str,
    secret: &Secret,
) -> Result<(), String> {
    if matches!(parser, Parser::Free { .. } | Parser::Intern { .. }) && field.contains('\u{FFFD}') {
        return Err(String::new());
    }
    match (parser, &mut column.values) {
        (Parser::Levels(map), Values::Coded { codes, dictionary }) => match map.get(field) {
            Some(&c) => codes.push(c),
            None => return Err(format!("`{field}` is not one of the options: {}", option_list(dictionary))),
        },
        (Parser::Range { min, max }, Values::Coded { codes, .. }) => {
            codes.push((integer_in(field, *min, *max)? - *min) as u16);
        }
        (Parser::Wide { min, max }, Values::Number(values)) => values.push(integer_in(field, *min, *max)?),
        (Parser::Time(format), Values::Number(values)) => {
            let t = NaiveDateTime::parse_from_str(field, format)
                .map_err(|e| format!("`{field}` is not a time in the format `{format}` ({e})"))?;
            values.push(t.and_utc().timestamp());
        }
        (Parser::Key, Values::Keyed(values)) => {
            let text = normalize_identifier(field);
            let digest = secret.digest64(&schema.name, text.as_bytes());
            values.push(digest);
            if let Some(originals) = &mut column.originals {
                originals.entry(digest).or_insert_with(|| field.trim().into());
            }
        }
        (Parser::Intern { map, known }, Values::Coded { codes, dictionary }) => {
            if let Some(&c) = map.get(field) {
                codes.push(c);
            } else {
                if let Some(known) = known
                    && known.binary_search_by(|k| k.as_str().cmp(field)).is_err()
                {
                    let h = schema.hierarchy.as_deref().unwrap_or_default();
                    return Err(format!("`{field}` is not in the `{h}` hierarchy"));
                }
                if dictionary.len() >= usize::from(MISSING) {
                    return Err(format!("more than {} distinct values", MISSING - 1));
                }
                let c = dictionary.len() as u16;
                dictionary.push(field.to_owned());
                map.insert(field.to_owned(), c);
                codes.push(c);
            }
        }
        (Parser::Free { max_len }, Values::Text(values)) => {
            if let Some(max) = max_len
                && field.chars().count() > *max
            {
                return Err(format!(
                    "the text is {} characters long; at most {max} are allowed",
                    field.chars().count()
                ));
            }
            values.push(Some(field.into()));
        }
        _ => unreachable!("each parser is built with its matching value store"),
    }
    Ok(())
}

fn integer(field: &str) -> Result<i64, String> {
    field.trim().parse::<i64>().map_err(|_| format!("`{field}` is not an integer"))
}

fn option_list(dictionary: &[String]) -> String {
    let mut s = dictionary.iter().take(12).map(String::as_str).collect::<Vec<_>>().join(", ");
    if dictionary.len() > 12 {
        s.push_str(", …");
    }
    s
}

/// The canonical form of an identifier before keying: trimmed, full-width ASCII folded, and a
/// mainland mobile stripped of its country prefix and separators, so that one person's
/// variants link.
pub fn normalize_identifier(value: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let value = value.trim();
    // The common case: plain ASCII that is not a phone number with a prefix or separators.
    let phone_like =
        (11..=20).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit() || b" -+()".contains(&b));
    if value.is_ascii() && !phone_like {
        return Cow::Borrowed(value);
    }
    let folded: String = value
        .trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect();
    let digits: String = folded.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    let national = digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).unwrap_or(&digits);
    if national.len() == 11 && national.starts_with('1') && national.bytes().all(|b| b.is_ascii_digit()) {
        Cow::Owned(national.to_owned())
    } else {
        Cow::Owned(folded)
    }
}

/// Records handed from the parsing thread to the converting thread at a time.
const BATCH: usize = 4096;

/// Reads a CSV export (any encoding [`text::decode`] accepts, LF or CRLF, quoted fields).
/// One thread splits records while the calling thread validates and converts them.
/// Reads holdout's own CSV format; `keep` names keyed columns whose text is kept beside the
/// digest ([`RawColumn::originals`]).
pub fn read_csv<R: Read + Send>(
    dataset: &Dataset,
    secret: &Secret,
    file: &str,
    reader: R,
    keep: &[&str],
) -> Result<RawTable, DataError> {
    let whole = |message: String| DataError { file: file.to_owned(), location: Location::File, column: None, message };
    let decoded = text::decode(reader).map_err(|e| match e {
        TextError::Empty => whole("the file is empty".into()),
        e => whole(e.to_string()),
    })?;
    let encoding = decoded.encoding.name();
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(decoded);
    let line_error = |e: &RecordError| DataError {
        file: file.to_owned(),
        location: Location::Line(e.line().max(1)),
        column: None,
        message: e.to_string(),
    };
    let mut record = TextRecord::default();
    if !TextRecord::read(&mut csv, &mut csv::ByteRecord::new(), &mut record).map_err(|e| line_error(&e))? {
        return Err(whole("the file is empty".into()));
    }
    let header: Vec<String> = record.iter().map(|h| h.trim().to_owned()).collect();
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut builder = RawTableBuilder::new(dataset, secret, file, &header_refs)?;
    builder.keep_originals(keep);
    split_on_threads(csv, vec![|_: &TextRecord, (): &mut ()| {}], |record| {
        let (record, ()) = record.map_err(|e| line_error(&e))?;
        let line = record.position().map_or(0, csv::Position::line);
        // A blank line in the middle of a file is an error, a trailing newline is not.
        if record.len() == 1 && record[0].is_empty() {
            return Ok(());
        }
        builder.push_with(record.len(), |i| &record[i], Location::Line(line))
    })?;
    if builder.rows == 0 {
        return Err(whole("the file has a header but no rows".into()));
    }
    Ok(builder.finish(Some(encoding)))
}

/// One CSV record as text. The csv crate's `StringRecord` checks UTF-8 field by field with
/// the standard library, which is slow on Chinese text (an admin export is mostly labels); this
/// checks the whole record at once with SIMD (`simdutf8`), then that every field starts on a
/// character boundary, which together make every field valid.
#[derive(Debug, Default, Clone)]
pub(crate) struct TextRecord {
    text: String,
    /// Where each field ends in `text`.
    ends: Vec<usize>,
    position: Option<csv::Position>,
}

/// Why a record could not be read: the CSV itself, or a field that is not UTF-8 text.
#[derive(Debug)]
pub(crate) enum RecordError {
    Csv(csv::Error),
    /// `field` counts from 1.
    Utf8 {
        line: u64,
        field: usize,
    },
}

impl RecordError {
    /// The line the error is on (0 when unknown).
    pub(crate) fn line(&self) -> u64 {
        match self {
            RecordError::Csv(e) => e.position().map_or(0, csv::Position::line),
            RecordError::Utf8 { line, .. } => *line,
        }
    }
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Csv(e) => e.fmt(f),
            RecordError::Utf8 { field, .. } => {
                write!(f, "field {field} is not valid UTF-8 text (undecodable bytes)")
            }
        }
    }
}

impl TextRecord {
    /// Reads the next record of `csv` into `self` through `bytes` (a buffer kept between
    /// calls); `false` at the end of the file.
    pub(crate) fn read<R: Read>(
        csv: &mut csv::Reader<R>,
        bytes: &mut csv::ByteRecord,
        into: &mut TextRecord,
    ) -> Result<bool, RecordError> {
        if !csv.read_byte_record(bytes).map_err(RecordError::Csv)? {
            return Ok(false);
        }
        into.position = bytes.position().cloned();
        let line = bytes.position().map_or(0, csv::Position::line);
        let bad = |bytes: &csv::ByteRecord| {
            let field = bytes.iter().position(|f| std::str::from_utf8(f).is_err()).unwrap_or(0);
            RecordError::Utf8 { line, field: field + 1 }
        };
        let Ok(whole) = simdutf8::basic::from_utf8(bytes.as_slice()) else { return Err(bad(bytes)) };
        into.ends.clear();
        for i in 0..bytes.len() {
            let range = bytes.range(i).unwrap_or_default();
            // Valid as a whole, every field is valid when none starts inside a character.
            if !whole.is_char_boundary(range.start) {
                return Err(bad(bytes));
            }
            into.ends.push(range.end);
        }
        into.text.clear();
        into.text.push_str(whole);
        Ok(true)
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i).unwrap_or_default())
    }

    pub(crate) fn position(&self) -> Option<&csv::Position> {
        self.position.as_ref()
    }
}

impl std::ops::Index<usize> for TextRecord {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        self.get(i).unwrap_or_else(|| panic!("field {i} of a record of {} fields", self.len()))
    }
}

/// Splits `csv` into records on one thread, prepares them on one thread per preparer
/// (converting an export's labels, parsing a dump's JSON: `prepare(record, value)` fills the
/// value it is given), and hands them to `consume` on this one, in order; a CSV error is handed
/// on and ends the file, and so does an error `consume` returns (the other threads then stop
/// too). Batches of records go to the preparers in turn and are consumed in the same turn, so
/// the order is the file's whatever the timing. Separate stages keep both cores busy whichever
/// of splitting, preparing and adding to the table is the heaviest for a format; a dump's JSON
/// makes preparing the heaviest, so it gets two preparers. Batches go round the ring and back
/// to the preparer that filled them: the splitting thread reads into the same records again,
/// and each preparer fills the same values again, so a row's memory is reused, not allocated
/// on one thread and freed on another (the system allocator makes that expensive).
pub(crate) fn split_on_threads<R, T, P, E>(
    mut csv: csv::Reader<R>,
    preparers: Vec<P>,
    mut consume: impl FnMut(Result<(&TextRecord, &T), RecordError>) -> Result<(), E>,
) -> Result<(), E>
where
    R: Read + Send,
    T: Send + Default,
    P: FnMut(&TextRecord, &mut T) + Send,
{
    /// Records read (or the error that ended the file, after the records before it), and the
    /// values prepared from an earlier batch's records, to be filled again.
    type Batch<T> = (Result<Vec<TextRecord>, RecordError>, Vec<T>);
    assert!(!preparers.is_empty(), "at least one preparer");
    let turns = preparers.len();
    std::thread::scope(|scope| {
        let (mut to_prepare, mut prepared, mut back, mut returned) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for mut prepare in preparers {
            let (send_records, records) = std::sync::mpsc::sync_channel::<Batch<T>>(2);
            let (send_prepared, receive_prepared) = std::sync::mpsc::sync_channel::<Batch<T>>(2);
            let (send_back, receive_back) = std::sync::mpsc::sync_channel::<(Vec<TextRecord>, Vec<T>)>(8);
            scope.spawn(move || {
                for (batch, mut done) in records {
                    if let Ok(batch) = &batch {
                        done.resize_with(batch.len(), T::default);
                        for (record, value) in batch.iter().zip(&mut done) {
                            prepare(record, value);
                        }
                    }
                    if send_prepared.send((batch, done)).is_err() {
                        return;
                    }
                }
            });
            to_prepare.push(send_records);
            prepared.push(receive_prepared);
            back.push(send_back);
            returned.push(receive_back);
        }
        scope.spawn(move || {
            let mut bytes = csv::ByteRecord::new();
            for turn in (0..turns).cycle() {
                let (mut batch, done) =
                    returned[turn].try_recv().unwrap_or_else(|_| (Vec::with_capacity(BATCH), Vec::new()));
                let mut filled = 0;
                let mut failed = None;
                while filled < BATCH {
                    if filled == batch.len() {
                        batch.push(TextRecord::default());
                    }
                    match TextRecord::read(&mut csv, &mut bytes, &mut batch[filled]) {
                        Ok(true) => filled += 1,
                        Ok(false) => break,
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                batch.truncate(filled);
                let last = filled < BATCH;
                if to_prepare[turn].send((Ok(batch), done)).is_err() {
                    return;
                }
                if let Some(e) = failed {
                    // The next turn's, so that it is consumed after this batch.
                    let _ = to_prepare[(turn + 1) % turns].send((Err(e), Vec::new()));
                    return;
                }
                if last {
                    return;
                }
            }
        });
        for turn in (0..turns).cycle() {
            // A preparer's channel closes once the splitter has stopped and it has sent on
            // everything it was given: the turn that finds it closed is past the last batch.
            let Ok((batch, done)) = prepared[turn].recv() else { return Ok(()) };
            match batch {
                Ok(batch) => {
                    for (record, item) in batch.iter().zip(&done) {
                        consume(Ok((record, item)))?;
                    }
                    let _ = back[turn].try_send((batch, done));
                }
                Err(e) => return consume(Err(e)),
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::{BATCH, TextRecord, split_on_threads};

    fn reader(bytes: Vec<u8>) -> csv::Reader<std::io::Cursor<Vec<u8>>> {
        csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(std::io::Cursor::new(bytes))
    }

    /// A character split across two fields is valid UTF-8 when the fields are joined, but
    /// neither field is text: refused, naming the field; whole characters pass.
    #[test]
    fn a_character_split_across_fields_is_not_text() {
        let mut csv = reader(b"a,\xe4\xb8,\xad\n".to_vec());
        let mut record = TextRecord::default();
        let e = TextRecord::read(&mut csv, &mut csv::ByteRecord::new(), &mut record).unwrap_err();
        assert_eq!((e.line(), e.to_string()), (1, "field 2 is not valid UTF-8 text (undecodable bytes)".to_owned()));
        let mut csv = reader("网民,\"安,全\",\n".as_bytes().to_vec());
        assert!(TextRecord::read(&mut csv, &mut csv::ByteRecord::new(), &mut record).unwrap());
        assert_eq!(record.iter().collect::<Vec<_>>(), ["网民", "安,全", ""]);
    }

    /// Rows of varying widths over several batches come out in order and whole, although
    /// the records they are read into go round and are reused.
    #[test]
    fn every_record_arrives_in_order_through_reused_batches() {
        let rows = 3 * BATCH + 5;
        let line = |i: usize| (0..=i % 7).map(|f| format!("r{i}f{f}")).collect::<Vec<_>>().join(",");
        let text: String = (0..rows).map(|i| line(i) + "\n").collect();
        let mut seen = Vec::new();
        let width = |record: &TextRecord, width: &mut usize| *width = record.len();
        let result = split_on_threads(reader(text.into_bytes()), vec![width, width, width], |item| {
            let (record, width) = item.map_err(|e| e.to_string())?;
            assert_eq!(record.len(), *width);
            seen.push(record.iter().collect::<Vec<_>>().join(","));
            Ok::<(), String>(())
        });
        assert_eq!(result, Ok(()));
        assert_eq!(seen, (0..rows).map(line).collect::<Vec<_>>());
    }

    /// A CSV error comes after every record before it and ends the file; an error of the
    /// consumer stops everything.
    #[test]
    fn an_error_ends_the_file_after_the_records_before_it() {
        let bad_at = BATCH + 3;
        let mut bytes = Vec::new();
        for i in 0..2 * BATCH {
            if i == bad_at {
                bytes.extend_from_slice(b"a,\xff\xfe\n");
            } else {
                bytes.extend_from_slice(format!("a,{i}\n").as_bytes());
            }
        }
        let (mut ok, mut errors) = (0, Vec::new());
        let result = split_on_threads(reader(bytes.clone()), vec![|_: &TextRecord, (): &mut ()| {}; 2], |item| {
            match item {
                Ok(_) => ok += 1,
                Err(e) => errors.push((e.line(), e.to_string())),
            }
            Ok::<(), ()>(())
        });
        assert_eq!(result, Ok(()));
        assert_eq!(
            (ok, errors),
            (bad_at, vec![(bad_at as u64 + 1, "field 2 is not valid UTF-8 text (undecodable bytes)".to_owned())])
        );

        let mut consumed = 0;
        let stopped = split_on_threads(reader(bytes), vec![|_: &TextRecord, (): &mut ()| {}], |_| {
            consumed += 1;
            if consumed == 10 { Err("stop") } else { Ok(()) }
        });
        assert_eq!((stopped, consumed), (Err("stop"), 10));
    }
}
