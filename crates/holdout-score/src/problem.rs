//! What can be wrong with a submission, as data: each problem the validator
//! ([`crate::submission`]) reports is a [`Kind`] — a stable `snake_case` code with typed
//! parameters — with how often it occurred and its first places ([`Example`]s, codes with
//! parameters too). People read them rendered in either language from the catalogue
//! ([`crate::i18n`]); programs read the codes (serde: `{"code": "duplicate_id", "count": 3,
//! "examples": [{"code": "line_id_first_on", "line": 8, "id": "a2", "first_line": 3}]}`), and a
//! stored problem renders later in whichever language is asked for.
//!
//! Parameters hold only what the competitor sent and what the contest publishes (the header,
//! the labels, the size limit, the number of test ids): never a hidden label, never whether a
//! row is public or private. Text from the file is as shown between backticks: at most 40
//! characters, invisible characters escaped.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, fill, template, text};

/// Examples kept per problem.
pub const EXAMPLES: usize = 3;
/// Header columns named in one list; the rest are counted.
pub const SHOWN_COLUMNS: usize = 8;

/// One kind of problem: a code and its parameters. The variants' doc comments say when each
/// is reported; `examples` of a [`Problem`] are given for those found in rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Kind {
    /// The file holds nothing, or no line.
    Empty,
    /// The file is larger than the contest's limit.
    TooLarge {
        max_bytes: u64,
    },
    /// The file could not be read (the reader's own error, in English).
    Unreadable {
        error: String,
    },
    /// A binary file (a workbook, an archive, a PDF …), not CSV text.
    NotCsv {
        format: BinaryFormat,
    },
    /// Bytes that are not UTF-8 text on `line` of a file read as UTF-8.
    NotUtf8 {
        line: u64,
    },
    /// Any other CSV error, on `line` (the CSV reader's error, in English).
    UnreadableCsv {
        line: u64,
        error: String,
    },
    /// A header and nothing else; `test_ids` rows were expected.
    NoPredictions {
        test_ids: u64,
    },
    /// Some rows, but not one id of them is a test id.
    NoTestIds,
    /// The first line is a row: its first field is a test id.
    HeaderIsPrediction {
        id: String,
        header: Vec<String>,
    },
    /// The header is one field holding another separator.
    HeaderDelimiter {
        delimiter: Delimiter,
        header: Vec<String>,
    },
    /// The expected header after a first column without a name (a pandas index).
    UnnamedFirstColumn,
    /// The expected header with a column without a name further on (a trailing comma).
    UnnamedColumn,
    DuplicatedColumns {
        columns: ColumnList,
    },
    /// A header column that looks like a misspelling of an expected one.
    MisspelledColumn {
        found: String,
        expected: String,
    },
    MissingColumn {
        column: String,
    },
    UnexpectedColumns {
        columns: ColumnList,
    },
    /// The right columns, in another order.
    ColumnsOutOfOrder,
    /// Follows every header problem but the misplaced first row.
    ExpectedHeader {
        header: Vec<String>,
    },
    /// A quoted field over several lines (examples: [`Example::LineText`]).
    MultilineField,
    /// The header again as a row ([`Example::Line`]).
    RepeatedHeader,
    /// Rows with another number of fields than the header's `expected`
    /// ([`Example::LineFields`], [`Example::LineOneField`]).
    WrongFieldCount {
        expected: u64,
    },
    /// Rows with an empty first field ([`Example::Line`]).
    MissingId,
    /// Ids that are no test id ([`Example::LineId`]).
    UnknownId,
    /// Ids that are a test id in another case ([`Example::LineIdShouldBe`]).
    IdCaseMismatch,
    /// A test id given again ([`Example::LineIdFirstOn`]).
    DuplicateId,
    /// An empty prediction in `column` ([`Example::LineId`]).
    EmptyValue {
        column: String,
    },
    /// Text that is no number ([`Example::LineIdText`], as are the next four).
    NonNumeric {
        column: String,
    },
    NanOrInfinite {
        column: String,
    },
    /// Beyond the range of a 64-bit float (`1e400`).
    NumberTooLarge {
        column: String,
    },
    /// A decimal comma or thousands separators (`0,5`, `1,234.5`).
    DecimalComma {
        column: String,
    },
    /// A percentage (`50%`).
    Percentage {
        column: String,
    },
    /// A label that is not one of the contest's ([`Example::LineIdValue`]).
    LabelOutsideSet {
        labels: Vec<i64>,
    },
    /// A probability below 0 or above 1 ([`Example::LineIdValue`], or
    /// [`Example::LineIdValueInColumn`] for class probabilities).
    ProbabilityOutsideRange,
    /// A row of class probabilities whose sum is off 1 by more than `tolerance`
    /// ([`Example::LineIdSum`]).
    SumNotOne {
        tolerance: f64,
    },
    /// Test ids that no row predicts; the problem's count is how many, its examples the first
    /// few in the order of the ids' text ([`Example::Id`]), whatever order the ids were given in.
    MissingPredictions,
}

/// Where a problem occurred. Lines count from 1, the header's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Example {
    Line {
        line: u64,
    },
    /// The line has `fields` fields.
    LineFields {
        line: u64,
        fields: u64,
    },
    /// The line is one field, `text` (often a row with another separator).
    LineOneField {
        line: u64,
        text: String,
    },
    LineText {
        line: u64,
        text: String,
    },
    LineId {
        line: u64,
        id: String,
    },
    /// `id` is the test id `test_id` in another case.
    LineIdShouldBe {
        line: u64,
        id: String,
        test_id: String,
    },
    /// `id` was given first on `first_line`.
    LineIdFirstOn {
        line: u64,
        id: String,
        first_line: u64,
    },
    /// The field as written.
    LineIdText {
        line: u64,
        id: String,
        text: String,
    },
    /// The value as read.
    LineIdValue {
        line: u64,
        id: String,
        value: f64,
    },
    /// The value as read in class column `column`.
    LineIdValueInColumn {
        line: u64,
        id: String,
        value: f64,
        column: String,
    },
    /// The row's `sum`, and `off_by` = sum − 1.
    LineIdSum {
        line: u64,
        id: String,
        sum: f64,
        off_by: f64,
    },
    /// A test id (never its label or its part of the test set).
    Id {
        id: String,
    },
}

/// What a binary file looks like, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryFormat {
    /// A zip archive, which an `.xlsx` workbook is.
    Zip,
    /// An old Excel `.xls` workbook.
    Xls,
    Parquet,
    Gzip,
    Pdf,
    Rar,
    /// Not a known format, but it holds NUL bytes (UTF-16 without a byte-order mark, too).
    NulBytes,
    /// Binary, nothing more known.
    Binary,
}

impl BinaryFormat {
    /// The format `holdout_schema::text` describes (in English) as binary.
    pub(crate) fn of(description: &str) -> BinaryFormat {
        let has = |s: &str| description.contains(s);
        if has("gzip") {
            BinaryFormat::Gzip
        } else if has("zip") {
            BinaryFormat::Zip
        } else if has(".xls ") {
            BinaryFormat::Xls
        } else if has("Parquet") {
            BinaryFormat::Parquet
        } else if has("PDF") {
            BinaryFormat::Pdf
        } else if has("RAR") {
            BinaryFormat::Rar
        } else if has("NUL") {
            BinaryFormat::NulBytes
        } else {
            BinaryFormat::Binary
        }
    }

    fn key(self) -> &'static str {
        match self {
            BinaryFormat::Zip => "zip",
            BinaryFormat::Xls => "xls",
            BinaryFormat::Parquet => "parquet",
            BinaryFormat::Gzip => "gzip",
            BinaryFormat::Pdf => "pdf",
            BinaryFormat::Rar => "rar",
            BinaryFormat::NulBytes => "nul_bytes",
            BinaryFormat::Binary => "binary",
        }
    }
}

/// A separator other than the comma, found in a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delimiter {
    Semicolon,
    Tab,
    VerticalBar,
    /// `，`
    FullwidthComma,
    /// `；`
    FullwidthSemicolon,
}

impl Delimiter {
    /// Every separator looked for, in the order they are tried.
    pub const ALL: [Delimiter; 5] = [
        Delimiter::Semicolon,
        Delimiter::Tab,
        Delimiter::VerticalBar,
        Delimiter::FullwidthComma,
        Delimiter::FullwidthSemicolon,
    ];

    pub fn char(self) -> char {
        match self {
            Delimiter::Semicolon => ';',
            Delimiter::Tab => '\t',
            Delimiter::VerticalBar => '|',
            Delimiter::FullwidthComma => '\u{ff0c}',
            Delimiter::FullwidthSemicolon => '\u{ff1b}',
        }
    }

    fn key(self) -> &'static str {
        match self {
            Delimiter::Semicolon => "semicolon",
            Delimiter::Tab => "tab",
            Delimiter::VerticalBar => "vertical_bar",
            Delimiter::FullwidthComma => "fullwidth_comma",
            Delimiter::FullwidthSemicolon => "fullwidth_semicolon",
        }
    }
}

/// Header columns as a list shows them: the first [`SHOWN_COLUMNS`] names as shown (an empty
/// one is a column without a name), and how many more there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnList {
    pub names: Vec<String>,
    pub more: u64,
}

impl ColumnList {
    fn render(&self, lang: Lang) -> String {
        let separator = template("glue", "list_separator", lang, false);
        let mut s = self
            .names
            .iter()
            .map(|n| {
                if n.is_empty() {
                    template("glue", "column_without_name", lang, false).to_owned()
                } else {
                    format!("`{n}`")
                }
            })
            .collect::<Vec<_>>()
            .join(separator);
        if self.more > 0 {
            s.push_str(&text("glue", "more_columns", lang, &[("more", self.more.to_string())]));
        }
        s
    }
}

/// One kind of problem, how often it occurred and where first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(flatten)]
    pub kind: Kind,
    /// Rows with this problem; for [`Kind::MissingPredictions`] the test ids without one; 1
    /// for a problem of the whole file or of its header.
    pub count: u64,
    /// The first places, at most [`EXAMPLES`], in file order.
    pub examples: Vec<Example>,
}

/// Why a submission was refused: every problem found, in the order first met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub struct Invalid {
    pub problems: Vec<Problem>,
}

/// In English, one problem per line (as [`Invalid::render`]).
impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

impl Invalid {
    /// A problem of the whole file.
    pub(crate) fn one(kind: Kind) -> Invalid {
        Invalid { problems: vec![Problem::of(kind)] }
    }

    /// Every problem in `lang`, one per line: its sentence, how many rows, the first places.
    pub fn render(&self, lang: Lang) -> String {
        self.problems.iter().map(|p| p.render(lang)).collect::<Vec<_>>().join("\n")
    }

    /// The problems' codes, in order.
    pub fn codes(&self) -> Vec<&'static str> {
        self.problems.iter().map(|p| p.kind.code()).collect()
    }
}

/// Every code a [`Kind`] serializes with, in the catalogue's (alphabetical) order: the keys of
/// the catalogue's `problem` table, which are exactly the kinds' codes (tested), so a schema
/// listing them is derived from one source.
pub fn problem_codes() -> Vec<&'static str> {
    crate::i18n::catalogue().get("problem").map(|t| t.keys().map(String::as_str).collect()).unwrap_or_default()
}

/// Every code an [`Example`] serializes with, in the catalogue's (alphabetical) order (see
/// [`problem_codes`]).
pub fn example_codes() -> Vec<&'static str> {
    crate::i18n::catalogue().get("example").map(|t| t.keys().map(String::as_str).collect()).unwrap_or_default()
}

impl Problem {
    /// A problem that occurred once, with no examples.
    pub(crate) fn of(kind: Kind) -> Problem {
        Problem { kind, count: 1, examples: Vec::new() }
    }

    /// The problem in `lang` on one line: `duplicate ids (3 rows): line 8 (id `a2`, first on
    /// line 3), …` / `重复的 id（共 3 行）：第 8 行（id `a2`，首次出现在第 3 行）；…`.
    pub fn render(&self, lang: Lang) -> String {
        let mut s = self.kind.sentence(lang, self.count);
        if self.count > 1 && !matches!(self.kind, Kind::MissingPredictions) {
            s.push_str(&text("glue", "rows", lang, &[("count", self.count.to_string())]));
        }
        if !self.examples.is_empty() {
            let separator = template("glue", "example_separator", lang, false);
            let mut list = self.examples.iter().map(|e| e.render(lang)).collect::<Vec<_>>().join(separator);
            if self.count > self.examples.len() as u64 {
                list.push_str(template("glue", "more_examples", lang, false));
            }
            s.push_str(&text("glue", "examples", lang, &[("examples", list)]));
        }
        s
    }

    /// The problem's English sentence without count or examples (what `message` held before
    /// problems had codes).
    pub fn message(&self) -> String {
        self.kind.sentence(Lang::En, self.count)
    }
}

impl Kind {
    /// The stable code, as serialized.
    pub fn code(&self) -> &'static str {
        match self {
            Kind::Empty => "empty",
            Kind::TooLarge { .. } => "too_large",
            Kind::Unreadable { .. } => "unreadable",
            Kind::NotCsv { .. } => "not_csv",
            Kind::NotUtf8 { .. } => "not_utf8",
            Kind::UnreadableCsv { .. } => "unreadable_csv",
            Kind::NoPredictions { .. } => "no_predictions",
            Kind::NoTestIds => "no_test_ids",
            Kind::HeaderIsPrediction { .. } => "header_is_prediction",
            Kind::HeaderDelimiter { .. } => "header_delimiter",
            Kind::UnnamedFirstColumn => "unnamed_first_column",
            Kind::UnnamedColumn => "unnamed_column",
            Kind::DuplicatedColumns { .. } => "duplicated_columns",
            Kind::MisspelledColumn { .. } => "misspelled_column",
            Kind::MissingColumn { .. } => "missing_column",
            Kind::UnexpectedColumns { .. } => "unexpected_columns",
            Kind::ColumnsOutOfOrder => "columns_out_of_order",
            Kind::ExpectedHeader { .. } => "expected_header",
            Kind::MultilineField => "multiline_field",
            Kind::RepeatedHeader => "repeated_header",
            Kind::WrongFieldCount { .. } => "wrong_field_count",
            Kind::MissingId => "missing_id",
            Kind::UnknownId => "unknown_id",
            Kind::IdCaseMismatch => "id_case_mismatch",
            Kind::DuplicateId => "duplicate_id",
            Kind::EmptyValue { .. } => "empty_value",
            Kind::NonNumeric { .. } => "non_numeric",
            Kind::NanOrInfinite { .. } => "nan_or_infinite",
            Kind::NumberTooLarge { .. } => "number_too_large",
            Kind::DecimalComma { .. } => "decimal_comma",
            Kind::Percentage { .. } => "percentage",
            Kind::LabelOutsideSet { .. } => "label_outside_set",
            Kind::ProbabilityOutsideRange => "probability_outside_range",
            Kind::SumNotOne { .. } => "sum_not_one",
            Kind::MissingPredictions => "missing_predictions",
        }
    }

    /// The sentence in `lang`, for a problem that occurred `count` times.
    pub fn sentence(&self, lang: Lang, count: u64) -> String {
        let mut args = self.args(lang);
        args.push(("count", count.to_string()));
        fill(template("problem", self.code(), lang, count == 1), &args)
    }

    /// Each parameter as the sentence shows it, by name.
    pub(crate) fn args(&self, lang: Lang) -> Vec<(&'static str, String)> {
        match self {
            Kind::TooLarge { max_bytes } => vec![("max_bytes", size(*max_bytes, lang))],
            Kind::Unreadable { error } => vec![("error", error.clone())],
            Kind::NotCsv { format } => {
                vec![("format", template("binary_format", format.key(), lang, false).to_owned())]
            }
            Kind::NotUtf8 { line } => vec![("line", line.to_string())],
            Kind::UnreadableCsv { line, error } => vec![("line", line.to_string()), ("error", error.clone())],
            Kind::NoPredictions { test_ids } => vec![("test_ids", test_ids.to_string())],
            Kind::HeaderIsPrediction { id, header } => vec![("id", id.clone()), ("header", header.join(","))],
            Kind::HeaderDelimiter { delimiter, header } => vec![
                ("delimiter", template("delimiter", delimiter.key(), lang, false).to_owned()),
                ("header", header.join(",")),
            ],
            Kind::DuplicatedColumns { columns } | Kind::UnexpectedColumns { columns } => {
                vec![("columns", columns.render(lang))]
            }
            Kind::MisspelledColumn { found, expected } => {
                vec![("found", found.clone()), ("expected", expected.clone())]
            }
            Kind::ExpectedHeader { header } => vec![("header", header.join(","))],
            Kind::WrongFieldCount { expected } => vec![("expected", expected.to_string())],
            Kind::MissingColumn { column }
            | Kind::EmptyValue { column }
            | Kind::NonNumeric { column }
            | Kind::NanOrInfinite { column }
            | Kind::NumberTooLarge { column }
            | Kind::DecimalComma { column }
            | Kind::Percentage { column } => vec![("column", column.clone())],
            Kind::LabelOutsideSet { labels } => {
                let labels: Vec<String> = labels.iter().map(ToString::to_string).collect();
                vec![("labels", format!("{{{}}}", labels.join(", ")))]
            }
            Kind::SumNotOne { tolerance } => vec![("tolerance", format!("{tolerance:e}"))],
            Kind::Empty
            | Kind::NoTestIds
            | Kind::UnnamedFirstColumn
            | Kind::UnnamedColumn
            | Kind::ColumnsOutOfOrder
            | Kind::MultilineField
            | Kind::RepeatedHeader
            | Kind::MissingId
            | Kind::UnknownId
            | Kind::IdCaseMismatch
            | Kind::DuplicateId
            | Kind::ProbabilityOutsideRange
            | Kind::MissingPredictions => Vec::new(),
        }
    }
}

impl Example {
    /// The stable code, as serialized.
    pub fn code(&self) -> &'static str {
        match self {
            Example::Line { .. } => "line",
            Example::LineFields { .. } => "line_fields",
            Example::LineOneField { .. } => "line_one_field",
            Example::LineText { .. } => "line_text",
            Example::LineId { .. } => "line_id",
            Example::LineIdShouldBe { .. } => "line_id_should_be",
            Example::LineIdFirstOn { .. } => "line_id_first_on",
            Example::LineIdText { .. } => "line_id_text",
            Example::LineIdValue { .. } => "line_id_value",
            Example::LineIdValueInColumn { .. } => "line_id_value_in_column",
            Example::LineIdSum { .. } => "line_id_sum",
            Example::Id { .. } => "id",
        }
    }

    /// The place in `lang`: `line 5 (id `x`)` / `第 5 行（id `x`）`.
    pub fn render(&self, lang: Lang) -> String {
        fill(template("example", self.code(), lang, false), &self.args())
    }

    /// Each parameter as shown, by name.
    pub(crate) fn args(&self) -> Vec<(&'static str, String)> {
        let line = |line: &u64| ("line", line.to_string());
        let id = |id: &String| ("id", id.clone());
        match self {
            Example::Line { line: l } => vec![line(l)],
            Example::LineFields { line: l, fields } => vec![line(l), ("fields", fields.to_string())],
            Example::LineOneField { line: l, text } | Example::LineText { line: l, text } => {
                vec![line(l), ("text", text.clone())]
            }
            Example::LineId { line: l, id: i } => vec![line(l), id(i)],
            Example::LineIdShouldBe { line: l, id: i, test_id } => vec![line(l), id(i), ("test_id", test_id.clone())],
            Example::LineIdFirstOn { line: l, id: i, first_line } => {
                vec![line(l), id(i), ("first_line", first_line.to_string())]
            }
            Example::LineIdText { line: l, id: i, text } => vec![line(l), id(i), ("text", text.clone())],
            Example::LineIdValue { line: l, id: i, value } => vec![line(l), id(i), ("value", value.to_string())],
            Example::LineIdValueInColumn { line: l, id: i, value, column } => {
                vec![line(l), id(i), ("value", value.to_string()), ("column", column.clone())]
            }
            Example::LineIdSum { line: l, id: i, sum, off_by } => {
                vec![line(l), id(i), ("sum", decimal(*sum)), ("off_by", offset(*off_by))]
            }
            Example::Id { id: i } => vec![id(i)],
        }
    }
}

/// `x` with at most 9 decimals and no trailing zeros: `1.00001`, not `1.0000100000000001`.
fn decimal(x: f64) -> String {
    let s = format!("{x:.9}");
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_owned()
}

/// A signed difference, small ones in scientific notation: `+0.5`, `-1.0e-5`.
fn offset(x: f64) -> String {
    if x.abs() >= 1e-3 { format!("{}{}", if x > 0.0 { "+" } else { "" }, decimal(x)) } else { format!("{x:+.1e}") }
}

/// A size in the units people read: `500 bytes` / `500 字节`, `4 kB`, `2.5 MB`.
fn size(bytes: u64, lang: Lang) -> String {
    let (value, unit) = match bytes {
        0..1_000 => return text("glue", "bytes", lang, &[("bytes", bytes.to_string())]),
        1_000..1_000_000 => (bytes as f64 / 1e3, "kB"),
        _ => (bytes as f64 / 1e6, "MB"),
    };
    format!("{} {unit}", decimal((value * 10.0).round() / 10.0))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{BinaryFormat, ColumnList, Delimiter, Example, Invalid, Kind, Problem};
    use crate::i18n::{Lang, catalogue, placeholders, template};

    /// One of every kind, each parameter set.
    fn every_kind() -> Vec<Kind> {
        let column = || "probability".to_owned();
        let header = || vec!["id".to_owned(), "label".to_owned()];
        let kinds = vec![
            Kind::Empty,
            Kind::TooLarge { max_bytes: 2_000 },
            Kind::Unreadable { error: "disk on fire".into() },
            Kind::NotCsv { format: BinaryFormat::Zip },
            Kind::NotUtf8 { line: 7 },
            Kind::UnreadableCsv { line: 7, error: "oops".into() },
            Kind::NoPredictions { test_ids: 6 },
            Kind::NoTestIds,
            Kind::HeaderIsPrediction { id: "a1".into(), header: header() },
            Kind::HeaderDelimiter { delimiter: Delimiter::Tab, header: header() },
            Kind::UnnamedFirstColumn,
            Kind::UnnamedColumn,
            Kind::DuplicatedColumns { columns: ColumnList { names: vec!["label".into(), String::new()], more: 2 } },
            Kind::MisspelledColumn { found: "lable".into(), expected: "label".into() },
            Kind::MissingColumn { column: "label".into() },
            Kind::UnexpectedColumns { columns: ColumnList { names: vec!["score".into()], more: 0 } },
            Kind::ColumnsOutOfOrder,
            Kind::ExpectedHeader { header: header() },
            Kind::MultilineField,
            Kind::RepeatedHeader,
            Kind::WrongFieldCount { expected: 2 },
            Kind::MissingId,
            Kind::UnknownId,
            Kind::IdCaseMismatch,
            Kind::DuplicateId,
            Kind::EmptyValue { column: column() },
            Kind::NonNumeric { column: column() },
            Kind::NanOrInfinite { column: column() },
            Kind::NumberTooLarge { column: column() },
            Kind::DecimalComma { column: column() },
            Kind::Percentage { column: column() },
            Kind::LabelOutsideSet { labels: vec![1, 2, 3] },
            Kind::ProbabilityOutsideRange,
            Kind::SumNotOne { tolerance: 1e-6 },
            Kind::MissingPredictions,
        ];
        // A new kind fails to compile here until it is added above (and to the catalogue).
        for k in &kinds {
            match k {
                Kind::Empty
                | Kind::TooLarge { .. }
                | Kind::Unreadable { .. }
                | Kind::NotCsv { .. }
                | Kind::NotUtf8 { .. }
                | Kind::UnreadableCsv { .. }
                | Kind::NoPredictions { .. }
                | Kind::NoTestIds
                | Kind::HeaderIsPrediction { .. }
                | Kind::HeaderDelimiter { .. }
                | Kind::UnnamedFirstColumn
                | Kind::UnnamedColumn
                | Kind::DuplicatedColumns { .. }
                | Kind::MisspelledColumn { .. }
                | Kind::MissingColumn { .. }
                | Kind::UnexpectedColumns { .. }
                | Kind::ColumnsOutOfOrder
                | Kind::ExpectedHeader { .. }
                | Kind::MultilineField
                | Kind::RepeatedHeader
                | Kind::WrongFieldCount { .. }
                | Kind::MissingId
                | Kind::UnknownId
                | Kind::IdCaseMismatch
                | Kind::DuplicateId
                | Kind::EmptyValue { .. }
                | Kind::NonNumeric { .. }
                | Kind::NanOrInfinite { .. }
                | Kind::NumberTooLarge { .. }
                | Kind::DecimalComma { .. }
                | Kind::Percentage { .. }
                | Kind::LabelOutsideSet { .. }
                | Kind::ProbabilityOutsideRange
                | Kind::SumNotOne { .. }
                | Kind::MissingPredictions => {}
            }
        }
        kinds
    }

    fn every_example() -> Vec<Example> {
        let id = || "a1".to_owned();
        let examples = vec![
            Example::Line { line: 5 },
            Example::LineFields { line: 5, fields: 3 },
            Example::LineOneField { line: 5, text: "a1;3".into() },
            Example::LineText { line: 5, text: "a1\\n".into() },
            Example::LineId { line: 5, id: id() },
            Example::LineIdShouldBe { line: 5, id: "A1".into(), test_id: id() },
            Example::LineIdFirstOn { line: 5, id: id(), first_line: 2 },
            Example::LineIdText { line: 5, id: id(), text: "cat".into() },
            Example::LineIdValue { line: 5, id: id(), value: 1.5 },
            Example::LineIdValueInColumn { line: 5, id: id(), value: -0.1, column: "1".into() },
            Example::LineIdSum { line: 5, id: id(), sum: 1.00001, off_by: 1.00001 - 1.0 },
            Example::Id { id: id() },
        ];
        for e in &examples {
            match e {
                Example::Line { .. }
                | Example::LineFields { .. }
                | Example::LineOneField { .. }
                | Example::LineText { .. }
                | Example::LineId { .. }
                | Example::LineIdShouldBe { .. }
                | Example::LineIdFirstOn { .. }
                | Example::LineIdText { .. }
                | Example::LineIdValue { .. }
                | Example::LineIdValueInColumn { .. }
                | Example::LineIdSum { .. }
                | Example::Id { .. } => {}
            }
        }
        examples
    }

    /// The serialized value's fields but its code, and the code.
    fn fields(value: &serde_json::Value) -> (String, BTreeSet<String>) {
        let map = value.as_object().expect("an object");
        let code = map["code"].as_str().expect("a code").to_owned();
        (code, map.keys().filter(|k| *k != "code").cloned().collect())
    }

    fn names(args: &[(&str, String)]) -> BTreeSet<String> {
        args.iter().map(|(n, _)| (*n).to_owned()).collect()
    }

    fn used(table: &str, key: &'static str, lang: Lang) -> BTreeSet<String> {
        let e = &catalogue()[table][key];
        let text = if lang == Lang::Zh { &e.zh } else { &e.en };
        placeholders(text).expect("well-formed").into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn every_code_has_both_languages_and_uses_each_parameter_in_both() {
        let kinds = every_kind();
        let codes: BTreeSet<&str> = kinds.iter().map(Kind::code).collect();
        assert_eq!(codes.len(), kinds.len(), "two kinds share a code");
        let catalogued: BTreeSet<&str> = catalogue()["problem"].keys().map(String::as_str).collect();
        assert_eq!(codes, catalogued, "codes without a catalogue entry, or entries without a code");
        assert_eq!(super::problem_codes().into_iter().collect::<BTreeSet<_>>(), codes, "what the API lists");
        for kind in &kinds {
            let (code, params) = fields(&serde_json::to_value(kind).expect("serializes"));
            assert_eq!(code, kind.code(), "the serialized code");
            assert!(
                !params.contains("count") && !params.contains("examples"),
                "{code}: a parameter named like a field"
            );
            for lang in Lang::ALL {
                assert_eq!(names(&kind.args(lang)), params, "{code}: the rendered parameters are the serialized ones");
                let mut allowed = params.clone();
                allowed.insert("count".to_owned());
                let shown = used("problem", kind.code(), lang);
                assert!(params.is_subset(&shown), "{code} ({lang:?}) does not show {:?}", params.difference(&shown));
                assert!(shown.is_subset(&allowed), "{code} ({lang:?}): unknown placeholders {shown:?}");
                let sentence = kind.sentence(lang, 2);
                assert!(!sentence.contains(['{', '}']) || code == "label_outside_set", "{code}: {sentence}");
            }
            let back: Kind =
                serde_json::from_value(serde_json::to_value(kind).expect("serializes")).expect("reads back");
            assert_eq!(&back, kind);
        }

        let examples = every_example();
        let codes: BTreeSet<&str> = examples.iter().map(Example::code).collect();
        assert_eq!(codes.len(), examples.len(), "two examples share a code");
        let catalogued: BTreeSet<&str> = catalogue()["example"].keys().map(String::as_str).collect();
        assert_eq!(codes, catalogued, "examples without a catalogue entry, or entries without an example");
        assert_eq!(super::example_codes().into_iter().collect::<BTreeSet<_>>(), codes, "what the API lists");
        for example in &examples {
            let (code, params) = fields(&serde_json::to_value(example).expect("serializes"));
            assert_eq!(code, example.code());
            assert_eq!(names(&example.args()), params, "{code}");
            for lang in Lang::ALL {
                assert_eq!(used("example", example.code(), lang), params, "{code} ({lang:?})");
            }
        }

        for format in [
            BinaryFormat::Zip,
            BinaryFormat::Xls,
            BinaryFormat::Parquet,
            BinaryFormat::Gzip,
            BinaryFormat::Pdf,
            BinaryFormat::Rar,
            BinaryFormat::NulBytes,
            BinaryFormat::Binary,
        ] {
            let key = serde_json::to_value(format).expect("serializes");
            assert_eq!(key.as_str(), Some(format.key()));
            assert!(catalogue()["binary_format"].contains_key(format.key()), "{key}");
        }
        assert_eq!(catalogue()["binary_format"].len(), 8);
        for d in Delimiter::ALL {
            assert_eq!(serde_json::to_value(d).expect("serializes").as_str(), Some(d.key()));
            assert!(catalogue()["delimiter"].contains_key(d.key()));
        }
        assert_eq!(catalogue()["delimiter"].len(), Delimiter::ALL.len());
    }

    #[test]
    fn binary_descriptions_map_to_their_formats() {
        for (head, format) in [
            (&b"PK\x03\x04rest"[..], BinaryFormat::Zip),
            (b"\xD0\xCF\x11\xE0rest", BinaryFormat::Xls),
            (b"PAR1rest", BinaryFormat::Parquet),
            (b"\x1F\x8Brest", BinaryFormat::Gzip),
            (b"%PDF-1.4", BinaryFormat::Pdf),
            (b"Rar!\x1a", BinaryFormat::Rar),
            (b"id,label\n\0\0", BinaryFormat::NulBytes),
        ] {
            match holdout_schema::text::decode(head) {
                Err(holdout_schema::text::TextError::Binary(description)) => {
                    assert_eq!(BinaryFormat::of(description), format, "{description}");
                    // The English name is holdout-schema's own description.
                    assert_eq!(template("binary_format", format.key(), Lang::En, false), description);
                }
                other => panic!("{head:?}: {other:?}"),
            }
        }
        assert_eq!(BinaryFormat::of("something new"), BinaryFormat::Binary);
    }

    #[test]
    fn a_problem_renders_with_its_count_and_examples_in_both_languages() {
        let p = Problem {
            kind: Kind::DuplicateId,
            count: 4,
            examples: vec![
                Example::LineIdFirstOn { line: 8, id: "a2".into(), first_line: 3 },
                Example::LineIdFirstOn { line: 9, id: "a5".into(), first_line: 6 },
            ],
        };
        assert_eq!(
            p.render(Lang::En),
            "duplicate ids (4 rows): line 8 (id `a2`, first on line 3), line 9 (id `a5`, first on line 6), …"
        );
        assert_eq!(
            p.render(Lang::Zh),
            "重复的 id（共 4 行）：第 8 行（id `a2`，首次出现在第 3 行）；第 9 行（id `a5`，首次出现在第 6 行）等"
        );
        let missing =
            |count| Problem { kind: Kind::MissingPredictions, count, examples: vec![Example::Id { id: "a4".into() }] };
        assert_eq!(missing(1).render(Lang::En), "1 test id has no prediction: id `a4`");
        assert_eq!(missing(2).render(Lang::En), "2 test ids have no prediction: id `a4`, …");
        assert_eq!(missing(2).render(Lang::Zh), "2 个测试 id 没有预测：id `a4`等");
        let columns =
            Kind::UnexpectedColumns { columns: ColumnList { names: vec!["x".into(), String::new()], more: 3 } };
        assert_eq!(
            Problem::of(columns.clone()).render(Lang::En),
            "unexpected header columns: `x`, (a column without a name) and 3 more"
        );
        assert_eq!(Problem::of(columns).render(Lang::Zh), "多余的表头列：`x`、（无名列），另有 3 列");
        let sizes = [(500, "500 bytes", "500 字节"), (2_000, "2 kB", "2 kB"), (2_540_000, "2.5 MB", "2.5 MB")];
        for (bytes, en, zh) in sizes {
            let p = Problem::of(Kind::TooLarge { max_bytes: bytes });
            assert_eq!(p.render(Lang::En), format!("the file is larger than the limit of {en}"));
            assert_eq!(p.render(Lang::Zh), format!("文件超过了大小上限 {zh}"));
        }
        let invalid = Invalid {
            problems: vec![
                Problem::of(Kind::MissingColumn { column: "label".into() }),
                Problem::of(Kind::ExpectedHeader { header: vec!["id".into(), "label".into()] }),
            ],
        };
        assert_eq!(invalid.to_string(), "missing header column `label`\nexpected the header `id,label`");
        assert_eq!(invalid.render(Lang::Zh), "预测文件缺少表头列 `label`\n表头应为 `id,label`");
        assert_eq!(invalid.codes(), ["missing_column", "expected_header"]);
        let json = serde_json::to_string(&invalid).expect("serializes");
        assert_eq!(
            json,
            r#"{"problems":[{"code":"missing_column","column":"label","count":1,"examples":[]},{"code":"expected_header","header":["id","label"],"count":1,"examples":[]}]}"#
        );
        assert_eq!(serde_json::from_str::<Invalid>(&json).expect("reads back"), invalid);
    }
}
