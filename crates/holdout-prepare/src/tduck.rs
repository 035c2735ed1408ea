//! Reading the survey as its platform (`TDuck` 填鸭表单) gives it: the admin's export (xlsx or CSV,
//! question titles as headers, option labels in the cells, six system columns) and dumps of
//! `fm_user_form_data` (CSV/TSV with an `original_data` JSON column, or JSON lines). Every row is
//! converted, through the schema's `[tduck]` mapping, into the fields of holdout's own format and
//! handed to one [`RawTableBuilder`], so the rest of the pipeline never knows where it came from.
//! Problems are collected over whole files and reported together ([`ReadErrors`]).

use std::fmt::{self, Write as _};
use std::io::{Read, Seek};

use crate::raw::{TextRecord, split_on_threads};
use chrono::{NaiveDateTime, TimeDelta};
use holdout_schema::tduck::{EXPORT_SYSTEM_HEADERS, Field, Form, ItemKind, Mapping, OTHER_CODE, normalize, normalized};
use holdout_schema::text::{self, TextError};
use holdout_schema::{Code, Dataset, Survey};
use rustc_hash::FxHashMap as HashMap;

use crate::keys::Secret;
use crate::raw::{DataError, Location, RawTable, RawTableBuilder};

/// What an input file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// holdout's own CSV: schema column names as headers, codes in the cells.
    Native,
    /// The admin's CSV export of one form.
    ExportCsv,
    /// The admin's xlsx export of one form.
    ExportXlsx,
    /// A CSV or TSV dump of `fm_user_form_data` with a header row.
    DbCsv,
    /// `fm_user_form_data` rows as JSON lines.
    DbJsonLines,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Native => "holdout CSV",
            Format::ExportCsv => "TDuck admin export (CSV)",
            Format::ExportXlsx => "TDuck admin export (xlsx)",
            Format::DbCsv => "TDuck database dump (fm_user_form_data, CSV)",
            Format::DbJsonLines => "TDuck database dump (fm_user_form_data, JSON lines)",
        }
    }
}

/// Whether the bytes at the start of a file are a zip archive (an xlsx workbook).
pub fn is_zip(prefix: &[u8]) -> bool {
    prefix.starts_with(b"PK\x03\x04")
}

/// The format of a text file from its first line (already decoded to UTF-8): a header that
/// is mostly schema column names is holdout's own.
pub fn detect_text(survey: &Survey, first_line: &str) -> Format {
    let line = first_line.trim_start_matches('\u{FEFF}').trim();
    if line.starts_with('{') {
        return Format::DbJsonLines;
    }
    let fields: Vec<&str> = line.split([',', '\t']).map(|f| f.trim().trim_matches('"')).collect();
    if fields.contains(&"original_data") {
        Format::DbCsv
    } else if 2 * fields.iter().filter(|f| survey.column(f).is_some()).count() > fields.len() {
        // Mostly schema names: holdout's own format, whose reader names any header it lacks
        // or does not know.
        Format::Native
    } else {
        Format::ExportCsv
    }
}

/// Options of a `TDuck` read.
#[derive(Debug, Clone)]
pub struct Options {
    /// The zone the platform wrote its zone-less times in; the survey's zone if `None`.
    pub timezone: Option<String>,
    /// Keyed columns whose text is kept beside the digest ([`crate::raw::RawColumn::originals`]).
    pub keep_originals: Vec<String>,
}

/// Problems shown per group before "and N more".
const SHOWN_GROUPS: usize = 40;
/// Locations kept per problem.
const FIRST_ROWS: usize = 5;

/// One kind of problem: where, what, how often, and its first rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// The header text or schema column concerned.
    pub column: Option<String>,
    /// The message of the first occurrence.
    pub message: String,
    pub count: u64,
    pub first: Vec<Location>,
    /// Other values (the backticked parts of later messages) met with the same problem.
    pub other_values: Vec<String>,
}

/// Values listed per problem besides the first.
const OTHER_VALUES: usize = 5;

/// Threads converting a CSV input's records (labels to codes, a dump's JSON parsed) beside the
/// one splitting them and the one adding them to the table: converting is the heaviest stage.
const PREPARERS: usize = 2;

/// A message with its first backticked value taken out: the kind of problem it is, and the value.
fn template(message: &str) -> (String, Option<&str>) {
    let mut parts = message.splitn(3, '`');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(head), Some(value), Some(tail)) => (format!("{head}`…`{tail}"), Some(value)),
        _ => (message.to_owned(), None),
    }
}

/// Every problem found in the inputs, grouped; nothing is written when there is any.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct ReadErrors {
    pub problems: Vec<Problem>,
    index: HashMap<(String, Option<String>, String), usize>,
}

impl ReadErrors {
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// Records one occurrence of a problem.
    /// Records one occurrence of a problem; occurrences that differ only in their first
    /// backticked value (the bad label, the bad time) are one problem.
    pub fn add(&mut self, file: &str, column: Option<&str>, message: String, location: Location) {
        let (kind, value) = template(&message);
        let key = (file.to_owned(), column.map(str::to_owned), kind);
        let i = if let Some(&i) = self.index.get(&key) {
            let p = &mut self.problems[i];
            if let Some(v) = value
                && p.other_values.len() < OTHER_VALUES
                && template(&p.message).1 != Some(v)
                && !p.other_values.iter().any(|o| o == v)
            {
                p.other_values.push(v.to_owned());
            }
            i
        } else {
            self.problems.push(Problem {
                file: key.0.clone(),
                column: key.1.clone(),
                message,
                count: 0,
                first: Vec::new(),
                other_values: Vec::new(),
            });
            self.index.insert(key, self.problems.len() - 1);
            self.problems.len() - 1
        };
        let p = &mut self.problems[i];
        p.count += 1;
        if p.first.len() < FIRST_ROWS {
            p.first.push(location);
        }
    }

    fn add_error(&mut self, e: DataError) {
        self.add(&e.file, e.column.as_deref(), e.message, e.location);
    }
}

impl fmt::Display for ReadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: u64 = self.problems.iter().map(|p| p.count).sum();
        write!(f, "{} problem(s) in {total} place(s); nothing was written:", self.problems.len())?;
        for p in self.problems.iter().take(SHOWN_GROUPS) {
            write!(f, "\n  {}", p.file)?;
            if let Some(c) = &p.column {
                write!(f, ": `{c}`")?;
            }
            let at: Vec<String> = p.first.iter().map(ToString::to_string).collect();
            let more = if p.count > p.first.len() as u64 { ", …" } else { "" };
            write!(f, ": {} — {}× ({}{more})", p.message, p.count, at.join(", "))?;
            if !p.other_values.is_empty() {
                let values: Vec<String> = p.other_values.iter().map(|v| format!("`{v}`")).collect();
                write!(f, "; also {}", values.join(", "))?;
            }
        }
        if self.problems.len() > SHOWN_GROUPS {
            write!(f, "\n  … and {} more kinds of problem", self.problems.len() - SHOWN_GROUPS)?;
        }
        Ok(())
    }
}

/// How one item's answer becomes schema fields, with schema columns as indices.
#[derive(Debug)]
enum Step {
    Radio {
        col: usize,
        /// Normalized label → code text.
        labels: HashMap<String, String>,
        codes: Vec<String>,
        has_other: bool,
        other_text: Option<usize>,
    },
    Checkbox {
        /// Normalized labels with their column, longest label first.
        labels: Vec<(String, usize)>,
        /// The same labels alone, in the same order.
        names: Vec<String>,
        /// Option code text → column.
        codes: HashMap<String, usize>,
        columns: Vec<usize>,
        other: Option<usize>,
        other_text: Option<usize>,
    },
    Matrix {
        /// Normalized row labels with their column, longest first.
        labels: Vec<(String, usize)>,
        ids: HashMap<String, usize>,
        columns: Vec<usize>,
    },
    Rate {
        col: usize,
    },
    Cascader {
        first: Option<usize>,
        second: Option<usize>,
        /// Normalized label, code text, range of the second level.
        branches: Vec<Branch>,
    },
    ProvinceCity {
        province: usize,
        city: usize,
    },
    Text {
        col: usize,
    },
}

/// A cascader's first-level option: normalized label, code text, range of the second level.
type Branch = (String, String, Option<(i64, i64)>);

/// A form compiled against the survey.
#[derive(Debug)]
struct Plan<'m> {
    form: &'m Form,
    steps: Vec<Step>,
    /// The items' titles, normalized.
    titles: Vec<String>,
    /// The members of `original_data` that are read: each item's id and its `…other` text.
    slots: HashMap<String, Slot>,
}

fn compile<'m>(survey: &Survey, form: &'m Form) -> Plan<'m> {
    let idx = |name: &str| survey.column_index(name).unwrap_or_else(|| unreachable!("validated: column `{name}`"));
    let steps = form
        .items
        .iter()
        .map(|item| match &item.kind {
            ItemKind::Radio { column, options, other } => {
                let col = idx(column);
                let has_other = survey.columns[col]
                    .kind
                    .levels()
                    .is_some_and(|l| l.iter().any(|l| l.code == Code::Int(OTHER_CODE)));
                Step::Radio {
                    col,
                    labels: options.iter().map(|o| (o.label.clone(), o.code.to_string())).collect(),
                    codes: options.iter().map(|o| o.code.to_string()).collect(),
                    has_other,
                    other_text: other.as_deref().map(idx),
                }
            }
            ItemKind::Checkbox { item: group, options, other } => {
                let mut labels: Vec<(String, usize)> =
                    options.iter().map(|(o, c)| (comma_joined(&o.label).into_owned(), idx(c))).collect();
                labels.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
                let columns: Vec<usize> = survey.item_options(group).map(|c| idx(&c.name)).collect();
                let other_col = options.iter().find(|(o, _)| o.code == Code::Int(OTHER_CODE)).map(|(_, c)| idx(c));
                Step::Checkbox {
                    names: labels.iter().map(|(l, _)| l.clone()).collect(),
                    labels,
                    codes: options.iter().map(|(o, c)| (o.code.to_string(), idx(c))).collect(),
                    columns,
                    other: other_col,
                    other_text: other.as_deref().map(idx),
                }
            }
            ItemKind::MatrixScale { rows } => {
                let mut labels: Vec<(String, usize)> =
                    rows.iter().map(|r| (normalize(&r.label), idx(&r.column))).collect();
                labels.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
                Step::Matrix {
                    labels,
                    ids: rows.iter().map(|r| (r.id.clone(), idx(&r.column))).collect(),
                    columns: rows.iter().map(|r| idx(&r.column)).collect(),
                }
            }
            ItemKind::Rate { column } => Step::Rate { col: idx(column) },
            ItemKind::Cascader { first, second, options } => Step::Cascader {
                first: first.as_deref().map(idx),
                second: second.as_deref().map(idx),
                branches: options.iter().map(|b| (b.label.clone(), b.code.to_string(), b.range)).collect(),
            },
            ItemKind::ProvinceCity { province, city } => {
                Step::ProvinceCity { province: idx(province), city: idx(city) }
            }
            ItemKind::Text { column } => Step::Text { col: idx(column) },
        })
        .collect();
    let mut slots = HashMap::default();
    for (i, item) in form.items.iter().enumerate() {
        slots.insert(item.id.clone(), Slot::Answer(i));
        slots.insert(format!("{}other", item.id), Slot::Other(i));
    }
    Plan { form, steps, titles: form.items.iter().map(|i| normalize(&i.title)).collect(), slots }
}

/// Normalized text with no space around its commas: multi-select cells join labels with `,`
/// and a label typed with a trailing space (`…软件 `) must still match.
fn comma_joined(text: &str) -> std::borrow::Cow<'_, str> {
    match normalized(text) {
        std::borrow::Cow::Borrowed(t) => std::borrow::Cow::Borrowed(t),
        std::borrow::Cow::Owned(t) => std::borrow::Cow::Owned(t.replace(" ,", ",").replace(", ", ",")),
    }
}

/// The second level of a province/city answer that stands for the municipality itself.
const MUNICIPAL: [&str; 2] = ["市辖区", "县"];

/// An answer problem: the message, and the schema column or header it concerns.
type Bad = (String, String);

impl Step {
    /// Converts one admin-export cell.
    #[expect(clippy::too_many_lines, reason = "one arm per item type")]
    fn export_cell(&self, survey: &Survey, title: &str, cell: &str, out: &mut [String]) -> Result<(), Bad> {
        let cell = cell.trim();
        match self {
            Step::Radio { col, labels, has_other, other_text, .. } => {
                if cell.is_empty() {
                    return Ok(());
                }
                let label = normalized(cell);
                if let Some(code) = labels.get(label.as_ref()) {
                    code.clone_into(&mut out[*col]);
                } else if *has_other {
                    out[*col] = OTHER_CODE.to_string();
                    if let Some(t) = other_text {
                        cell.clone_into(&mut out[*t]);
                    }
                } else {
                    return Err((format!("`{cell}` is not one of the item's options"), title.to_owned()));
                }
            }
            Step::Checkbox { labels, names, columns, other, other_text, .. } => {
                for &c in columns {
                    "0".clone_into(&mut out[c]);
                }
                if cell.is_empty() {
                    return Ok(());
                }
                let text = comma_joined(cell);
                let mut others = Vec::new();
                for piece in split_labels(&text, names) {
                    match piece {
                        Piece::Known(i) => "1".clone_into(&mut out[labels[i].1]),
                        Piece::Unknown(t) => others.push(t),
                    }
                }
                if !others.is_empty() {
                    let Some(o) = other else {
                        return Err((
                            format!("`{}` is not one of the item's options", others.join(",")),
                            title.to_owned(),
                        ));
                    };
                    "1".clone_into(&mut out[*o]);
                    if let Some(t) = other_text {
                        out[*t] = others.join(",");
                    }
                }
            }
            Step::Matrix { labels, .. } => {
                let text = normalized(cell);
                let mut rest = text.as_ref();
                while !rest.is_empty() {
                    let Some((i, after)) =
                        labels.iter().enumerate().find_map(|(i, (l, _))| rest.strip_prefix(l.as_str()).map(|a| (i, a)))
                    else {
                        let row = rest.split("：（").next().unwrap_or(rest);
                        return Err((format!("matrix row `{row}` is not a row of the item"), title.to_owned()));
                    };
                    let Some(after) = after.strip_prefix("：（") else {
                        return Err((format!("`{cell}` is not a matrix answer like `行：（4）`"), title.to_owned()));
                    };
                    let Some((value, tail)) = after.split_once('）') else {
                        return Err((format!("`{cell}` is not a matrix answer like `行：（4）`"), title.to_owned()));
                    };
                    value.clone_into(&mut out[labels[i].1]);
                    rest = tail;
                }
                if let Some((l, c)) = labels.iter().find(|(_, c)| out[*c].is_empty())
                    && survey.columns[*c].missing.is_none()
                    && !cell.is_empty()
                {
                    return Err((format!("matrix row `{l}` is missing"), title.to_owned()));
                }
            }
            Step::Rate { col } => {
                if cell != "0" {
                    cell.clone_into(&mut out[*col]);
                }
            }
            Step::Cascader { first, second, branches } => {
                if cell.is_empty() {
                    return Ok(());
                }
                let (head, tail) = match cell.split_once(',') {
                    Some((h, t)) => (h, Some(t)),
                    None => (cell, None),
                };
                let head = normalized(head);
                let Some((_, code, range)) = branches.iter().find(|(l, _, _)| *l == head) else {
                    return Err((format!("`{head}` is not one of the item's options"), title.to_owned()));
                };
                if let Some(f) = first {
                    code.clone_into(&mut out[*f]);
                }
                if let (Some(s), Some(t)) = (second, tail) {
                    let t = t.trim();
                    if let (Some((lo, hi)), Ok(v)) = (range, t.parse::<i64>())
                        && !(*lo..=*hi).contains(&v)
                    {
                        return Err((format!("`{t}` is not an option under `{head}` ({lo}–{hi})"), title.to_owned()));
                    }
                    t.clone_into(&mut out[*s]);
                }
            }
            Step::ProvinceCity { province, city } => {
                if cell.is_empty() {
                    return Ok(());
                }
                // `省,市,区` then the detail address with no separator: only the first two are kept.
                let mut parts = cell.splitn(3, ',');
                let p = parts.next().unwrap_or_default().trim();
                let c = parts.next().unwrap_or_default().trim();
                set_place(out, *province, *city, p, c);
            }
            Step::Text { col } => cell.clone_into(&mut out[*col]),
        }
        Ok(())
    }

    /// Converts one item's value from `original_data`.
    #[expect(clippy::too_many_lines, reason = "one arm per item type")]
    fn db_value(
        &self,
        survey: &Survey,
        id: &str,
        value: Option<&Json<'_>>,
        other: Option<&str>,
        out: &mut [String],
    ) -> Result<(), Bad> {
        let bad = |m: String| (m, id.to_owned());
        match self {
            Step::Radio { col, codes, has_other, other_text, .. } => {
                let Some(v) = value else { return Ok(()) };
                if !v.write_scalar(&mut out[*col]) {
                    return Err(bad(format!("`{v}` is not an option value")));
                }
                if *has_other && out[*col].parse() == Ok(OTHER_CODE) {
                    if let (Some(t), Some(text)) = (other_text, other) {
                        text.clone_into(&mut out[*t]);
                    }
                } else if !codes.contains(&out[*col]) {
                    return Err(bad(format!("`{}` is not one of the item's option values", out[*col])));
                }
            }
            Step::Checkbox { codes, columns, other_text, .. } => {
                for &c in columns {
                    "0".clone_into(&mut out[c]);
                }
                let Some(v) = value else { return Ok(()) };
                let Json::List(values) = v else {
                    return Err(bad(format!("`{v}` is not a list of option values")));
                };
                let mut code = String::new();
                for v in values {
                    if !v.write_scalar(&mut code) {
                        return Err(bad(format!("`{v}` is not an option value")));
                    }
                    let c = codes
                        .get(&code)
                        .ok_or_else(|| bad(format!("`{code}` is not one of the item's option values")))?;
                    "1".clone_into(&mut out[*c]);
                }
                if let (Some(t), Some(text)) = (other_text, other) {
                    text.clone_into(&mut out[*t]);
                }
            }
            Step::Matrix { ids, columns, .. } => {
                let Some(v) = value else { return Ok(()) };
                let Json::Object(rows) = v else {
                    return Err(bad(format!("`{v}` is not a matrix answer (an object)")));
                };
                for (row, rating) in rows {
                    let c = ids
                        .get(row.as_ref())
                        .ok_or_else(|| bad(format!("matrix row id `{row}` is not a row of the item")))?;
                    if !rating.write_scalar(&mut out[*c]) {
                        return Err(bad(format!("`{rating}` is not a rating")));
                    }
                }
                if let Some(&c) = columns.iter().find(|&&c| out[c].is_empty())
                    && survey.columns[c].missing.is_none()
                {
                    return Err(bad(format!("matrix row of `{}` is missing", survey.columns[c].name)));
                }
            }
            Step::Rate { col } => {
                if let Some(v) = value {
                    if !v.write_scalar(&mut out[*col]) {
                        return Err(bad(format!("`{v}` is not a rating")));
                    }
                    if out[*col] == "0" {
                        out[*col].clear();
                    }
                }
            }
            Step::Cascader { first, second, branches } => {
                let Some(v) = value else { return Ok(()) };
                let Json::List(levels) = v else {
                    return Err(bad(format!("`{v}` is not a cascader answer (a list)")));
                };
                let mut head = String::new();
                if let Some(h) = levels.first() {
                    h.write_scalar(&mut head);
                }
                if !branches.iter().any(|(_, code, _)| *code == head) {
                    return Err(bad(format!("`{head}` is not one of the item's option values")));
                }
                if let Some(f) = first {
                    out[*f] = head;
                }
                if let (Some(s), Some(t)) = (second, levels.get(1)) {
                    t.write_scalar(&mut out[*s]);
                }
            }
            Step::ProvinceCity { province, city } => {
                let Some(v) = value else { return Ok(()) };
                let Some(Json::List(names)) = v.member("cascadeValue") else {
                    return Err(bad(format!("`{v}` is not a province/city answer")));
                };
                let name = |i: usize| match names.get(i) {
                    Some(Json::Str(s)) => s.as_ref(),
                    _ => "",
                };
                set_place(out, *province, *city, name(0), name(1));
            }
            Step::Text { col } => {
                if let Some(v) = value
                    && !v.write_scalar(&mut out[*col])
                {
                    return Err(bad(format!("`{v}` is not text")));
                }
            }
        }
        Ok(())
    }
}

/// A JSON value of `original_data` as it is read: text borrowed from the record where it has
/// no escapes, numbers kept as numbers, objects as their members in order.
#[derive(Debug, Clone, PartialEq)]
enum Json<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(std::borrow::Cow<'a, str>),
    List(Vec<Json<'a>>),
    Object(Vec<(std::borrow::Cow<'a, str>, Json<'a>)>),
}

impl Json<'_> {
    /// Writes a scalar's text into `out` (strings as they are, numbers as JSON writes them);
    /// `false` (and `out` empty) for anything else.
    fn write_scalar(&self, out: &mut String) -> bool {
        out.clear();
        match self {
            Json::Str(s) => out.push_str(s),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::UInt(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => {
                    let _ = write!(out, "{n}");
                }
                None => return false,
            },
            Json::Null | Json::Bool(_) | Json::List(_) | Json::Object(_) => return false,
        }
        true
    }

    fn member(&self, name: &str) -> Option<&Json<'_>> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text a platform field is read as: a string as it is, null as nothing, anything
    /// else as JSON.
    fn text(&self) -> String {
        match self {
            Json::Null => String::new(),
            Json::Str(s) => s.as_ref().to_owned(),
            other => other.to_string(),
        }
    }
}

/// As JSON text, for messages.
impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Int(n) => write!(f, "{n}"),
            Json::UInt(n) => write!(f, "{n}"),
            Json::Float(x) => match serde_json::Number::from_f64(*x) {
                Some(n) => write!(f, "{n}"),
                None => f.write_str("null"),
            },
            Json::Str(s) => f.write_str(&quoted(s)),
            Json::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Json::Object(members) => {
                f.write_str("{")?;
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{v}", quoted(k))?;
                }
                f.write_str("}")
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Json<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

/// A member name, borrowed where it has no escapes.
#[derive(serde::Deserialize)]
struct Name<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(i64::try_from(v).map_or(Json::UInt(v), Json::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        Ok(Json::Float(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(v.into()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(v.to_owned().into()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(v.into()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::List(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members = Vec::new();
        while let Some(Name(k)) = map.next_key()? {
            members.push((k, map.next_value()?));
        }
        Ok(Json::Object(members))
    }
}

fn set_place(out: &mut [String], province: usize, city: usize, p: &str, c: &str) {
    p.clone_into(&mut out[province]);
    let c = if MUNICIPAL.contains(&c) || c.is_empty() { p } else { c };
    c.clone_into(&mut out[city]);
}

/// Part of a multi-select cell.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'t> {
    Known(usize),
    Unknown(&'t str),
}

/// Splits a comma-joined multi-select cell against the known labels (longest first), so that
/// labels which themselves contain commas still split right; whatever no label covers is
/// unknown text (the 其他 option's typed answer), up to the next known label.
fn split_labels<'t, S: AsRef<str>>(text: &'t str, labels: &[S]) -> Vec<Piece<'t>> {
    let at_label = |rest: &str| {
        labels
            .iter()
            .position(|l| rest.strip_prefix(l.as_ref()).is_some_and(|after| after.is_empty() || after.starts_with(',')))
    };
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(i) = at_label(rest) {
            let len = labels[i].as_ref().len();
            pieces.push(Piece::Known(i));
            rest = rest[len..].strip_prefix(',').unwrap_or(&rest[len..]);
            continue;
        }
        // Unknown text runs to the first comma after which a known label starts.
        let mut end = rest.len();
        for (p, _) in rest.match_indices(',') {
            if at_label(&rest[p + 1..]).is_some() {
                end = p;
                break;
            }
        }
        pieces.push(Piece::Unknown(&rest[..end]));
        rest = rest[end..].strip_prefix(',').unwrap_or(&rest[end..]);
    }
    pieces
}

/// What turns a platform row into holdout's fields: the survey, its mapping compiled per
/// form, and the shift of the platform's times. Read-only, so the converting thread shares it.
#[derive(Debug)]
struct Converter<'a> {
    survey: &'a Survey,
    mapping: &'a Mapping,
    plans: Vec<Plan<'a>>,
    /// Seconds to add to the platform's times to get the survey's local time.
    shift: i64,
    /// Per [`Field`] (in [`Field::ALL`]'s order), the schema column it fills.
    field_columns: [Option<usize>; Field::ALL.len()],
    version_column: Option<usize>,
}

/// A problem with one row: the header or column it concerns, and the message.
type RowProblem = (Option<String>, String);

/// What converting one input row gave: its fields (in schema order, in the converter\'s row
/// buffer), or the problems that keep the row out.
#[derive(Debug)]
enum Outcome {
    Fields,
    Bad(Vec<RowProblem>),
}

impl Outcome {
    fn bad(column: Option<&str>, message: String) -> Outcome {
        Outcome::Bad(vec![(column.map(str::to_owned), message)])
    }
}

/// One input row converted, as it goes from the converting thread to the table: holdout\'s
/// fields packed into one string (field `i` ends at `ends[i]`), or the problems, or nothing.
/// Filled in place again and again, so the packed text\'s memory is reused row after row.
#[derive(Debug, Default)]
enum Converted {
    Fields {
        text: String,
        ends: Vec<u32>,
    },
    Bad(Vec<RowProblem>),
    #[default]
    Skip,
}

impl Converted {
    /// Takes a row\'s outcome, its fields packed from `out`.
    fn set(&mut self, outcome: Outcome, out: &[String]) {
        match outcome {
            Outcome::Fields => {
                let (mut text, mut ends) = match std::mem::take(self) {
                    Converted::Fields { text, ends } => (text, ends),
                    _ => (String::new(), Vec::with_capacity(out.len())),
                };
                text.clear();
                ends.clear();
                for f in out {
                    text.push_str(f);
                    ends.push(text.len() as u32);
                }
                *self = Converted::Fields { text, ends };
            }
            Outcome::Bad(problems) => *self = Converted::Bad(problems),
        }
    }
}

/// Adds a converted row to the table, or its problems to the others.
fn record_row(builder: &mut RawTableBuilder<'_>, errors: &mut ReadErrors, file: &str, row: &Converted, at: Location) {
    match row {
        Converted::Fields { text, ends } => {
            let field = |i: usize| {
                let start = if i == 0 { 0 } else { ends[i - 1] as usize };
                &text[start..ends[i] as usize]
            };
            if let Err(e) = builder.push_with(ends.len(), field, at) {
                errors.add_error(e);
            }
        }
        Converted::Bad(problems) => {
            for (column, message) in problems {
                errors.add(file, column.as_deref(), message.clone(), at);
            }
        }
        Converted::Skip => {}
    }
}

fn clear(out: &mut [String]) {
    for f in out {
        f.clear();
    }
}

/// Where a member of `original_data` goes: an item's answer or its typed 其他 text.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Answer(usize),
    Other(usize),
}

/// The answers of one `original_data` object, per item of its form: the value (`None` when
/// absent or null) and the typed 其他 text (`…other`).
#[derive(Debug)]
struct Answers<'a> {
    values: Vec<Option<Json<'a>>>,
    others: Vec<Option<std::borrow::Cow<'a, str>>>,
}

impl<'a> Answers<'a> {
    fn empty(items: usize) -> Answers<'a> {
        Answers { values: vec![None; items], others: vec![None; items] }
    }

    /// Parses `original_data` for `plan`'s items only: the `…label` siblings and anything
    /// else are skipped without being built.
    fn parse(plan: &Plan<'_>, text: &'a str) -> Result<Answers<'a>, serde_json::Error> {
        Answers::parse_slots(&plan.slots, plan.form.items.len(), text)
    }

    fn parse_slots(
        slots: &HashMap<String, Slot>,
        items: usize,
        text: &'a str,
    ) -> Result<Answers<'a>, serde_json::Error> {
        use serde::de::DeserializeSeed as _;
        let mut de = serde_json::Deserializer::from_str(text);
        let answers = AnswersSeed { slots, items }.deserialize(&mut de)?;
        de.end()?;
        Ok(answers)
    }

    /// Answers from an object already parsed (a JSON-lines row's `original_data`).
    fn from_members(plan: &Plan<'_>, members: Vec<(std::borrow::Cow<'_, str>, Json<'a>)>) -> Answers<'a> {
        let mut answers = Answers::empty(plan.form.items.len());
        for (name, value) in members {
            if let Some(&slot) = plan.slots.get(name.as_ref()) {
                answers.set(slot, value);
            }
        }
        answers
    }

    /// Takes a member's value: an item's answer (null is none) or its 其他 text.
    fn set(&mut self, slot: Slot, value: Json<'a>) {
        match slot {
            Slot::Answer(i) => self.values[i] = (value != Json::Null).then_some(value),
            Slot::Other(i) => {
                self.others[i] = match value {
                    Json::Str(s) => Some(s),
                    _ => None,
                };
            }
        }
    }
}

struct AnswersSeed<'p> {
    slots: &'p HashMap<String, Slot>,
    items: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for AnswersSeed<'_> {
    type Value = Answers<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Answers<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for AnswersSeed<'_> {
    type Value = Answers<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Answers<'de>, A::Error> {
        let mut answers = Answers::empty(self.items);
        while let Some(slot) = map.next_key_seed(KeySeed(self.slots))? {
            match slot {
                Some(slot) => answers.set(slot, map.next_value()?),
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(answers)
    }
}

/// A member name of `original_data`, looked up as it is read.
struct KeySeed<'p>(&'p HashMap<String, Slot>);

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<Slot>;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Option<Slot>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for KeySeed<'_> {
    type Value = Option<Slot>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<Slot>, E> {
        Ok(self.0.get(v).copied())
    }
}

impl Converter<'_> {
    /// Writes the survey-local time of a platform time as holdout writes it.
    fn time(&self, text: &str, out: &mut String) -> Result<(), String> {
        let t = text.trim();
        let t: std::borrow::Cow<'_, str> =
            if t.len() > 10 && t.as_bytes()[10] == b'T' { t.replacen('T', " ", 1).into() } else { t.into() };
        let t = match t.split_once('.') {
            Some((head, frac)) if frac.bytes().all(|b| b.is_ascii_digit()) => head.to_owned().into(),
            _ => t,
        };
        let parsed = match strict_time(&t) {
            Some(p) => p,
            None => NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S")
                .map_err(|_| format!("`{text}` is not a time like 2024-07-20 20:15:33"))?,
        };
        out.clear();
        if self.shift == 0 {
            out.push_str(&t);
        } else {
            let _ = write!(out, "{}", (parsed + TimeDelta::seconds(self.shift)).format("%Y-%m-%d %H:%M:%S"));
        }
        Ok(())
    }

    fn set_field(&self, out: &mut [String], field: Field, value: &str) -> Result<(), String> {
        let Some(i) = self.field_columns[field as usize] else { return Ok(()) };
        let value = value.trim();
        if value.is_empty() || value == "\\N" || value == "NULL" {
            out[i].clear();
            return Ok(());
        }
        match field {
            Field::CreateTime => self.time(value, &mut out[i])?,
            Field::SubmitUa => out[i] = json_member(value, "ua").unwrap_or_else(|| value.to_owned()),
            Field::ExtValue => out[i] = json_member(value, "sourceId").unwrap_or_else(|| value.to_owned()),
            _ => value.clone_into(&mut out[i]),
        }
        Ok(())
    }

    fn set_form(&self, out: &mut [String], plan: usize) {
        let form = self.plans[plan].form;
        if let Some(i) = self.field_columns[Field::FormKey as usize] {
            form.key.clone_into(&mut out[i]);
        }
        if let Some(i) = self.version_column {
            form.version.as_str().clone_into(&mut out[i]);
        }
    }

    /// Converts one row of an admin export, or of holdout's own format read beside them.
    fn export_row(&self, table: &Table, fields: &[&str], out: &mut [String]) -> Outcome {
        clear(out);
        let Some(plan) = table.plan else {
            // holdout's own format: reorder into schema order.
            for (i, p) in table.native.iter().enumerate() {
                if let Some(f) = p.and_then(|p| fields.get(p)) {
                    (*f).clone_into(&mut out[i]);
                }
            }
            return Outcome::Fields;
        };
        if fields.first().is_some_and(|f| normalized(f) == table.headers[0].as_str())
            && fields.contains(&EXPORT_SYSTEM_HEADERS[0])
        {
            return Outcome::bad(None, "a second header row (two exports pasted into one file?)".into());
        }
        if fields.len() > table.headers.len() && fields[table.headers.len()..].iter().any(|f| !f.is_empty()) {
            return Outcome::bad(None, format!("more fields than the header's {}", table.headers.len()));
        }
        self.set_form(out, plan);
        let plan = &self.plans[plan];
        let mut problems = Vec::new();
        for (h, item) in table.columns.iter().enumerate() {
            let Some(i) = *item else { continue };
            let cell = fields.get(h).copied().unwrap_or_default();
            if let Err((message, title)) = plan.steps[i].export_cell(self.survey, &plan.form.items[i].title, cell, out)
            {
                problems.push((Some(title), message));
            }
        }
        for &(h, field) in &table.system {
            let cell = fields.get(h).copied().unwrap_or_default();
            if let Err(message) = self.set_field(out, field, cell) {
                problems.push((field.export_header().map(str::to_owned), message));
            }
        }
        if problems.is_empty() { Outcome::Fields } else { Outcome::Bad(problems) }
    }

    /// The form a database row's `form_key` names.
    fn plan_of(&self, key: &str) -> Result<usize, Outcome> {
        self.plans
            .iter()
            .position(|p| p.form.key == key)
            .ok_or_else(|| Outcome::bad(Some("form_key"), format!("form `{key}` is not a form of the schema")))
    }

    /// Converts one row of the database dump: its `fm_user_form_data` fields and the answers
    /// of its `original_data`.
    fn db_row(&self, plan: usize, values: &[(Field, &str)], answers: &Answers<'_>, out: &mut [String]) -> Outcome {
        clear(out);
        let mut problems = Vec::new();
        for &(field, value) in values {
            if let Err(message) = self.set_field(out, field, value) {
                problems.push((Some(field.db_column().to_owned()), message));
            }
        }
        self.set_form(out, plan);
        let plan = &self.plans[plan];
        for (i, (item, step)) in plan.form.items.iter().zip(&plan.steps).enumerate() {
            let (value, other) = (answers.values[i].as_ref(), answers.others[i].as_deref());
            if let Err((message, id)) = step.db_value(self.survey, &item.id, value, other, out) {
                problems.push((Some(id), message));
            }
        }
        if problems.is_empty() { Outcome::Fields } else { Outcome::Bad(problems) }
    }
}

/// Reads any number of input files into one [`RawTable`].
#[derive(Debug)]
pub struct Reader<'a> {
    converter: Converter<'a>,
    builder: RawTableBuilder<'a>,
    errors: ReadErrors,
    found: Vec<(String, String)>,
    /// The zone the platform's times are read in, as the report states it.
    zone: String,
}

/// Why a `TDuck` read cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the survey schema `{0}` has no [tduck] mapping, so only holdout's own format can be read")]
    NoMapping(String),
    #[error("unsupported time zone `{0}`: use Asia/Shanghai or UTC")]
    Zone(String),
}

impl<'a> Reader<'a> {
    pub fn new(dataset: &'a Dataset, secret: &'a Secret, options: &Options) -> Result<Reader<'a>, SetupError> {
        let survey = &dataset.survey;
        let mapping = survey.tduck.as_ref().ok_or_else(|| SetupError::NoMapping(survey.name.clone()))?;
        let zone = options.timezone.as_deref().unwrap_or(&mapping.timezone);
        let offset = holdout_schema::utc_offset(zone).ok_or_else(|| SetupError::Zone(zone.to_owned()))?;
        let mut builder = RawTableBuilder::in_schema_order(dataset, secret);
        builder.keep_originals(&options.keep_originals);
        Ok(Reader {
            converter: Converter {
                survey,
                mapping,
                plans: mapping.forms.iter().map(|f| compile(survey, f)).collect(),
                shift: i64::from(survey.utc_offset_seconds() - offset),
                field_columns: Field::ALL.map(|f| mapping.field(f).and_then(|c| survey.column_index(c))),
                version_column: mapping.version_column.as_deref().and_then(|c| survey.column_index(c)),
            },
            builder,
            errors: ReadErrors::default(),
            found: Vec::new(),
            zone: zone.to_owned(),
        })
    }

    /// Starts a file of the platform's: what it is, and the zone its times are read in.
    fn start_platform_file(&mut self, file: &str, described: &str, absent: &[&str]) {
        let described = format!("{described}, times read in {}", self.zone);
        self.builder.start_file(file, described.clone(), absent);
        self.found.push((file.to_owned(), described));
    }

    /// Each file read so far and what it was found to be.
    pub fn found(&self) -> &[(String, String)] {
        &self.found
    }

    fn whole(&mut self, file: &str, message: String) {
        self.errors.add(file, None, message, Location::File);
    }

    /// Columns filled by `TDuck` fields the file lacks.
    fn absent_fields(&self, present: impl Fn(Field) -> bool) -> Vec<&'a str> {
        let mapping: &'a Mapping = self.converter.mapping;
        Field::ALL.iter().filter(|f| !present(**f)).filter_map(|f| mapping.field(*f)).collect()
    }

    /// A buffer for one row's fields in schema order.
    fn row_buffer(&self) -> Vec<String> {
        vec![String::new(); self.converter.survey.columns.len()]
    }

    /// Reads a text file (CSV, TSV, JSON lines) of any supported encoding.
    pub fn read_text<R: Read + Send>(&mut self, file: &str, reader: R) -> Format {
        let decoded = match text::decode(reader) {
            Ok(d) => d,
            Err(TextError::Empty) => {
                self.whole(file, "the file is empty".into());
                return Format::ExportCsv;
            }
            Err(e) => {
                self.whole(file, e.to_string());
                return Format::ExportCsv;
            }
        };
        let mut buffered = std::io::BufReader::with_capacity(1 << 20, decoded);
        let mut first = String::new();
        if let Err(e) = std::io::BufRead::read_line(&mut buffered, &mut first) {
            self.whole(file, format!("cannot read the first line: {e}"));
            return Format::ExportCsv;
        }
        let format = detect_text(self.converter.survey, &first);
        let rest = std::io::Read::chain(std::io::Cursor::new(first.into_bytes()), buffered);
        match format {
            Format::DbJsonLines => self.read_jsonl(file, rest),
            Format::DbCsv => self.read_db_csv(file, rest),
            Format::Native | Format::ExportCsv => self.read_csv_records(file, rest, format),
            Format::ExportXlsx => {}
        }
        format
    }

    /// An admin export (or holdout's own CSV) in three stages: one thread splits the records,
    /// one converts them, this one adds them to the table.
    fn read_csv_records<R: Read + Send>(&mut self, file: &str, reader: R, format: Format) {
        let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(reader);
        let mut header = csv::StringRecord::new();
        match csv.read_record(&mut header) {
            Ok(true) => {}
            Ok(false) => return self.whole(file, "the file is empty".into()),
            Err(e) => return self.whole(file, format!("unreadable header: {e}")),
        }
        let header: Vec<String> = header.iter().map(str::to_owned).collect();
        let Some(table) = self.header(file, &header, format) else { return };
        let Reader { converter, builder, errors, .. } = self;
        let converter = &*converter;
        let converters: Vec<_> = (0..PREPARERS)
            .map(|_| {
                let (table, mut out) = (&table, vec![String::new(); converter.survey.columns.len()]);
                move |record: &TextRecord, row: &mut Converted| {
                    if record.len() == 1 && record[0].is_empty() {
                        return *row = Converted::Skip;
                    }
                    let fields: Vec<&str> = record.iter().collect();
                    row.set(converter.export_row(table, &fields, &mut out), &out);
                }
            })
            .collect();
        let mut rows = 0;
        split_on_threads(csv, converters, |item| {
            match item {
                Ok((record, row)) => {
                    let line = record.position().map_or(0, csv::Position::line);
                    if !matches!(row, Converted::Skip) {
                        rows += 1;
                    }
                    record_row(builder, errors, file, row, Location::Line(line));
                }
                Err(e) => errors.add(file, None, format!("unreadable CSV: {e}"), Location::Line(e.line())),
            }
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
        if rows == 0 {
            self.whole(file, "the file has a header but no rows".into());
        }
    }

    /// Reads the admin's xlsx export (one sheet, text cells), streaming the sheet's cells.
    #[expect(clippy::too_many_lines, reason = "the checks of the workbook, then one pass over its cells")]
    pub fn read_xlsx<R: Read + Seek>(&mut self, file: &str, reader: R) {
        use calamine::{DataRef, Reader as _, Xlsx};
        let mut workbook: Xlsx<R> = match Xlsx::new(reader) {
            Ok(w) => w,
            Err(e) => return self.whole(file, format!("not a readable xlsx workbook ({e}); is the file complete?")),
        };
        let sheets = workbook.sheet_names();
        if sheets.len() != 1 {
            return self.whole(
                file,
                format!(
                    "the workbook has {} sheets ({}); a TDuck export has one — delete the others",
                    sheets.len(),
                    sheets.join(", ")
                ),
            );
        }
        let sheet = sheets[0].clone();
        if let Ok(regions) = workbook.merge_cells_by_sheet_name(&sheet) {
            let merged: Vec<String> =
                regions.iter().map(|d| format!("{}:{}", cell_name(d.start), cell_name(d.end))).collect();
            if !merged.is_empty() {
                return self.whole(
                    file,
                    format!("merged cells ({}); a TDuck export has none — unmerge them", merged.join(", ")),
                );
            }
        }
        let mut cells = match workbook.worksheet_cells_reader(&sheet) {
            Ok(c) => c,
            Err(e) => return self.whole(file, format!("cannot read sheet `{sheet}` ({e})")),
        };
        let mut out = self.row_buffer();
        let mut converted = Converted::default();
        let mut row: Vec<String> = Vec::new();
        let mut current: Option<u32> = None;
        let mut table: Option<Table> = None;
        let mut failed = false;
        let mut rows = 0;
        loop {
            let cell = match cells.next_cell() {
                Ok(c) => c,
                Err(e) => {
                    self.errors.add(
                        file,
                        None,
                        format!("the sheet is unreadable ({e}); is the file complete?"),
                        Location::File,
                    );
                    failed = true;
                    break;
                }
            };
            let at = cell.as_ref().map(|c| c.get_position().0);
            if at != current
                && let Some(r) = current
            {
                // A row is complete.
                if r == 0 {
                    table = self.header(file, &row, Format::ExportXlsx);
                    if table.is_none() {
                        return;
                    }
                } else if let Some(t) = &table {
                    if row.iter().any(|f| !f.is_empty()) {
                        rows += 1;
                        let fields: Vec<&str> = row.iter().map(String::as_str).collect();
                        converted.set(self.converter.export_row(t, &fields, &mut out), &out);
                        let at = Location::ExcelRow(u64::from(r) + 1);
                        record_row(&mut self.builder, &mut self.errors, file, &converted, at);
                    }
                } else {
                    self.whole(file, "the first row is not the header row".into());
                    return;
                }
                row.iter_mut().for_each(String::clear);
            }
            let Some(cell) = cell else { break };
            let (r, c) = cell.get_position();
            current = Some(r);
            let c = c as usize;
            if row.len() <= c {
                row.resize(c + 1, String::new());
            }
            match cell.get_value() {
                DataRef::String(s) => s.clone_into(&mut row[c]),
                DataRef::SharedString(s) => (*s).clone_into(&mut row[c]),
                DataRef::Int(i) => row[c] = i.to_string(),
                DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => row[c] = format!("{f:.0}"),
                DataRef::Float(f) => row[c] = f.to_string(),
                DataRef::Empty => {}
                DataRef::DateTime(_) | DataRef::DateTimeIso(_) | DataRef::DurationIso(_) => {
                    let header = table.as_ref().and_then(|t| t.headers.get(c)).cloned();
                    self.errors.add(
                        file,
                        header.as_deref(),
                        "a date cell: TDuck writes times as text; Excel converted it (export again, don't re-save)"
                            .into(),
                        Location::ExcelRow(u64::from(r) + 1),
                    );
                }
                DataRef::Bool(_) | DataRef::Error(_) => {
                    self.errors.add(file, None, "a non-text cell".into(), Location::ExcelRow(u64::from(r) + 1));
                }
            }
        }
        if table.is_none() && !failed {
            self.whole(file, "the sheet is empty".into());
        } else if rows == 0 && !failed {
            self.whole(file, "the sheet has a header but no rows".into());
        }
    }

    /// Matches a header row: holdout's own column names, or one form's question titles and
    /// the system columns.
    fn header(&mut self, file: &str, header: &[String], format: Format) -> Option<Table> {
        let headers: Vec<String> = header.iter().map(|h| normalize(h.trim_start_matches('\u{FEFF}'))).collect();
        if format == Format::Native {
            let position: Vec<Option<usize>> =
                self.converter.survey.columns.iter().map(|c| headers.iter().position(|h| *h == c.name)).collect();
            let missing: Vec<&str> = self
                .converter
                .survey
                .columns
                .iter()
                .zip(&position)
                .filter(|(_, p)| p.is_none())
                .map(|(c, _)| c.name.as_str())
                .collect();
            if !missing.is_empty() {
                self.whole(file, format!("holdout's own format, but the header lacks {}", missing.join(", ")));
                return None;
            }
            let unknown: Vec<&str> =
                headers.iter().filter(|h| self.converter.survey.column(h).is_none()).map(String::as_str).collect();
            if !unknown.is_empty() {
                let names = unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ");
                self.whole(file, format!("holdout's own format, but these headers are not in the schema: {names}"));
                return None;
            }
            self.builder.start_file(file, Format::Native.name().to_owned(), &[]);
            self.found.push((file.to_owned(), Format::Native.name().to_owned()));
            return Some(Table { headers, plan: None, columns: Vec::new(), native: position, system: Vec::new() });
        }
        // The form whose titles cover the header best.
        let score = |plan: &Plan<'_>| {
            let titles: Vec<&str> = plan.titles.iter().map(String::as_str).collect();
            let hits = headers.iter().filter(|h| titles.contains(&h.as_str())).count();
            let missing = titles.iter().filter(|t| !headers.iter().any(|h| h == *t)).count();
            (hits, std::cmp::Reverse(missing))
        };
        let best = (0..self.converter.plans.len()).max_by_key(|&p| score(&self.converter.plans[p]))?;
        if score(&self.converter.plans[best]).0 == 0 {
            self.whole(
                file,
                format!(
                    "the header matches no form of the schema (first headers: {}); is this a TDuck export of this survey?",
                    headers.iter().take(3).cloned().collect::<Vec<_>>().join(" | ")
                ),
            );
            return None;
        }
        let form = self.converter.plans[best].form;
        let titles = &self.converter.plans[best].titles;
        let mut columns: Vec<Option<usize>> = vec![None; headers.len()];
        let mut system: Vec<(usize, Field)> = Vec::new();
        let mut used = vec![false; form.items.len()];
        let mut ok = true;
        for (h, text) in headers.iter().enumerate() {
            if let Some(i) = titles.iter().enumerate().position(|(i, title)| !used[i] && title == text) {
                used[i] = true;
                columns[h] = Some(i);
            } else if EXPORT_SYSTEM_HEADERS.contains(&text.as_str()) {
                if let Some(f) = Field::ALL.iter().find(|f| f.export_header() == Some(text.as_str())) {
                    system.push((h, *f));
                }
            } else {
                ok = false;
                self.errors.add(
                    file,
                    Some(&header[h]),
                    format!("unknown header: not a question of form `{}` nor a TDuck system column", form.key),
                    Location::Line(1),
                );
            }
        }
        for (i, item) in form.items.iter().enumerate() {
            if !used[i] {
                ok = false;
                self.errors.add(
                    file,
                    Some(&item.title),
                    format!(
                        "the export has no column for item `{}` of form `{}` (unticked when exporting?)",
                        item.id, form.key
                    ),
                    Location::Line(1),
                );
            }
        }
        if !system.iter().any(|(_, f)| *f == Field::CreateTime) {
            ok = false;
            self.errors.add(file, Some("提交时间"), "the export has no 提交时间 column".into(), Location::Line(1));
        }
        if !ok {
            return None;
        }
        let present: Vec<Field> = system.iter().map(|(_, f)| *f).chain([Field::FormKey]).collect();
        let absent = self.absent_fields(|f| present.contains(&f));
        let described = format!("{}, form {} ({})", format.name(), form.key, form.version.as_str());
        self.start_platform_file(file, &described, &absent);
        Some(Table { headers, plan: Some(best), columns, native: Vec::new(), system })
    }

    /// The database dump as CSV/TSV in three stages: one thread splits the records, one
    /// parses `original_data` and converts, this one adds the rows to the table.
    fn read_db_csv<R: Read + Send>(&mut self, file: &str, reader: R) {
        let mut peek = std::io::BufReader::new(reader);
        let tab = std::io::BufRead::fill_buf(&mut peek).map(|b| {
            let line = b.split(|&c| c == b'\n').next().unwrap_or_default();
            line.contains(&b'\t')
        });
        let delimiter = if tab.unwrap_or(false) { b'\t' } else { b',' };
        let mut csv = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).from_reader(peek);
        let header: Vec<String> = match csv.headers() {
            Ok(h) => h.iter().map(|h| h.trim().to_owned()).collect(),
            Err(e) => return self.whole(file, format!("unreadable header: {e}")),
        };
        let position = |name: &str| header.iter().position(|h| h == name);
        let data_at = position("original_data");
        let Some(key_at) = position("form_key") else {
            return self.whole(file, "the dump has no form_key column".into());
        };
        let fields: Vec<(Field, usize)> =
            Field::ALL.iter().filter_map(|f| position(f.db_column()).map(|p| (*f, p))).collect();
        let absent = self.absent_fields(|f| fields.iter().any(|(g, _)| *g == f));
        self.start_platform_file(file, Format::DbCsv.name(), &absent);
        let Reader { converter, builder, errors, .. } = self;
        let converter = &*converter;
        let converters: Vec<_> = (0..PREPARERS)
            .map(|_| {
                let (fields, mut out) = (&fields, vec![String::new(); converter.survey.columns.len()]);
                move |record: &TextRecord, row: &mut Converted| {
                    let plan = match converter.plan_of(record.get(key_at).unwrap_or_default()) {
                        Ok(p) => p,
                        Err(bad) => return row.set(bad, &out),
                    };
                    let data = data_at.and_then(|p| record.get(p)).unwrap_or_default();
                    let answers = match Answers::parse(&converter.plans[plan], data) {
                        Ok(a) => a,
                        Err(e) => {
                            let bad = Outcome::bad(Some("original_data"), format!("not a JSON object ({e})"));
                            return row.set(bad, &out);
                        }
                    };
                    let values: Vec<(Field, &str)> =
                        fields.iter().map(|(f, p)| (*f, record.get(*p).unwrap_or_default())).collect();
                    row.set(converter.db_row(plan, &values, &answers, &mut out), &out);
                }
            })
            .collect();
        let mut rows = 0;
        split_on_threads(csv, converters, |item| {
            match item {
                Ok((record, row)) => {
                    rows += 1;
                    let line = Location::Line(record.position().map_or(0, csv::Position::line));
                    record_row(builder, errors, file, row, line);
                }
                Err(e) => errors.add(file, None, format!("unreadable CSV: {e}"), Location::Line(e.line())),
            }
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
        if rows == 0 {
            self.whole(file, "the dump has a header but no rows".into());
        }
    }

    fn read_jsonl<R: Read>(&mut self, file: &str, reader: R) {
        let lines = std::io::BufRead::lines(std::io::BufReader::with_capacity(1 << 20, reader));
        let mut out = self.row_buffer();
        let mut row = Converted::default();
        let mut started = false;
        let mut rows = 0;
        for (n, line) in lines.enumerate() {
            let location = Location::Line(n as u64 + 1);
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    self.errors.add(file, None, format!("unreadable line: {e}"), location);
                    break;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            let mut object = match serde_json::from_str::<Json<'_>>(&line) {
                Ok(Json::Object(members)) => members,
                Ok(_) => {
                    self.errors.add(file, None, "not a JSON object".into(), location);
                    continue;
                }
                Err(e) => {
                    self.errors.add(file, None, format!("not a JSON object ({e})"), location);
                    continue;
                }
            };
            let at = |object: &[(std::borrow::Cow<'_, str>, Json<'_>)], name: &str| {
                object.iter().rposition(|(k, _)| k == name)
            };
            let texts: Vec<(Field, String)> = Field::ALL
                .iter()
                .filter_map(|f| at(&object, f.db_column()).map(|i| (*f, object[i].1.text())))
                .collect();
            let key = at(&object, "form_key").map(|i| object[i].1.text()).unwrap_or_default();
            let data = at(&object, "original_data").map(|i| object.swap_remove(i).1);
            if !started {
                let absent = self.absent_fields(|f| texts.iter().any(|(g, _)| *g == f));
                self.start_platform_file(file, Format::DbJsonLines.name(), &absent);
                started = true;
            }
            rows += 1;
            let plan = match self.converter.plan_of(&key) {
                Ok(p) => p,
                Err(bad) => {
                    row.set(bad, &out);
                    record_row(&mut self.builder, &mut self.errors, file, &row, location);
                    continue;
                }
            };
            let text;
            let answers = match data {
                Some(Json::Object(members)) => Answers::from_members(&self.converter.plans[plan], members),
                Some(Json::Str(s)) => {
                    text = s;
                    match Answers::parse(&self.converter.plans[plan], &text) {
                        Ok(a) => a,
                        Err(e) => {
                            let message = format!("not a JSON object ({e})");
                            self.errors.add(file, Some("original_data"), message, location);
                            continue;
                        }
                    }
                }
                _ => {
                    self.errors.add(file, Some("original_data"), "missing".into(), location);
                    continue;
                }
            };
            let values: Vec<(Field, &str)> = texts.iter().map(|(f, t)| (*f, t.as_str())).collect();
            row.set(self.converter.db_row(plan, &values, &answers, &mut out), &out);
            record_row(&mut self.builder, &mut self.errors, file, &row, location);
        }
        if rows == 0 {
            self.whole(file, "the dump has no rows".into());
        }
    }

    /// The table, or every problem found.
    pub fn finish(self) -> Result<RawTable, ReadErrors> {
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        if self.builder.rows() == 0 {
            let mut errors = self.errors;
            errors.add("", None, "no rows were read".into(), Location::File);
            return Err(errors);
        }
        Ok(self.builder.finish(Some("UTF-8")))
    }

    /// Every problem found so far, without building the table (`holdout check --raw`).
    pub fn problems(self) -> ReadErrors {
        self.errors
    }
}

/// How one file's header maps onto the schema.
#[derive(Debug)]
struct Table {
    headers: Vec<String>,
    /// The form, for an admin export; `None` for holdout's own format.
    plan: Option<usize>,
    /// Per header: the item of the form it is.
    columns: Vec<Option<usize>>,
    /// For holdout's own format: per schema column, its position in the header.
    native: Vec<Option<usize>>,
    system: Vec<(usize, Field)>,
}

/// A member of a JSON object held in text (`{"ua": "…"}`), if the text is one.
fn json_member(text: &str, member: &str) -> Option<String> {
    if !text.starts_with('{') {
        return None;
    }
    serde_json::from_str::<Json<'_>>(text).ok()?.member(member).map(Json::text)
}

/// `YYYY-MM-DD HH:MM:SS` exactly, without the general parser; `None` for anything else
/// (which the general parser then reads or refuses).
fn strict_time(t: &str) -> Option<NaiveDateTime> {
    let b = t.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let n = |at: usize, len: usize| {
        b[at..at + len].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    chrono::NaiveDate::from_ymd_opt(n(0, 4)? as i32, n(5, 2)?, n(8, 2)?)?.and_hms_opt(n(11, 2)?, n(14, 2)?, n(17, 2)?)
}

/// `(row, column)` (0-based) as an Excel cell name, `B3`.
fn cell_name((row, column): (u32, u32)) -> String {
    let mut letters = String::new();
    let mut c = column + 1;
    while c > 0 {
        let rem = (c - 1) % 26;
        letters.insert(0, char::from(b'A' + rem as u8));
        c = (c - 1) / 26;
    }
    let _ = write!(letters, "{}", row + 1);
    letters
}

#[cfg(test)]
mod tests {
    use super::{Answers, Json, Piece, cell_name, json_member, split_labels, strict_time};
    use holdout_schema::tduck::Field;
    use std::fmt::Write as _;

    #[test]
    fn multi_select_labels_with_commas_split_against_the_known_labels() {
        let labels = ["甲,乙", "甲", "丙"];
        let pieces = split_labels("甲,乙,丙", &labels);
        assert_eq!(pieces, [Piece::Known(0), Piece::Known(2)]);
        let pieces = split_labels("甲,我自己写的,含逗号,丙", &labels);
        assert_eq!(pieces, [Piece::Known(1), Piece::Unknown("我自己写的,含逗号"), Piece::Known(2)]);
        assert_eq!(split_labels("没见过", &labels), [Piece::Unknown("没见过")]);
    }

    #[test]
    fn excel_cell_names() {
        assert_eq!(cell_name((0, 0)), "A1");
        assert_eq!(cell_name((2, 27)), "AB3");
    }

    /// The fast time reader agrees with chrono's on what it takes, and leaves the rest to it.
    #[test]
    fn strict_times_read_as_chrono_reads_them() {
        let format = "%Y-%m-%d %H:%M:%S";
        for t in ["2024-07-20 20:15:33", "2024-02-29 00:00:00", "1999-12-31 23:59:59", "2024-01-01 09:05:07"] {
            let chrono = chrono::NaiveDateTime::parse_from_str(t, format).ok();
            assert_eq!(strict_time(t), chrono, "{t}");
        }
        for t in ["2023-02-29 00:00:00", "2024-13-01 00:00:00", "2024-07-20 24:00:00", "2024-07-20 20:15:3x"] {
            assert_eq!(strict_time(t), None, "{t}");
            assert!(chrono::NaiveDateTime::parse_from_str(t, format).is_err(), "{t}");
        }
        // Not in the strict shape: chrono decides.
        for t in ["2024-7-20 20:15:33", "2024/07/20 20:15:33", " 2024-07-20 20:15:33"] {
            assert_eq!(strict_time(t), None, "{t}");
        }
    }

    #[test]
    fn a_member_is_read_from_json_text_and_anything_else_is_not_json() {
        assert_eq!(json_member(r#"{"sourceId":"911068","x":[1,{"y":2}]}"#, "sourceId").as_deref(), Some("911068"));
        assert_eq!(json_member(r#"{"x":1,"sourceId":42}"#, "sourceId").as_deref(), Some("42"));
        assert_eq!(json_member(r#"{"source\u0049d":"7"}"#, "sourceId").as_deref(), Some("7"));
        assert_eq!(json_member(r#"{"ua":null}"#, "ua").as_deref(), Some(""));
        assert_eq!(json_member(r#"{"x":1}"#, "ua"), None);
        assert_eq!(json_member(r#"{"ua":"a"} trailing"#, "ua"), None);
        assert_eq!(json_member(r#"{"ua":"a""#, "ua"), None);
        assert_eq!(json_member("911068", "sourceId"), None);
    }

    #[test]
    fn fields_index_their_columns_in_declaration_order() {
        for (i, f) in Field::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i, "{f:?}");
        }
    }

    /// `original_data` is read for the form's items only: their answers (null is absent),
    /// their 其他 text, a member name with an escape; labels are skipped; not an object, or
    /// text after it, is an error.
    #[test]
    fn original_data_is_read_for_the_items_of_the_form() {
        let (a, b) = ("checkbox-1779699997836", "radio-1779700704962");
        let mut slots = super::HashMap::default();
        for (i, id) in [a, b, "radio-3"].iter().enumerate() {
            slots.insert((*id).to_owned(), super::Slot::Answer(i));
            slots.insert(format!("{id}other"), super::Slot::Other(i));
        }
        let escaped = a.chars().fold(String::new(), |mut e, c| {
            let _ = write!(e, "\\u{:04x}", c as u32);
            e
        });
        let text = format!(
            r#"{{"{escaped}":[1,2],"{a}label":["甲","乙"],"{b}":null,"{b}other":"自己写的","zzz":{{"q":[1]}}}}"#
        );
        let answers = Answers::parse_slots(&slots, 3, &text).expect("an object");
        assert_eq!(answers.values[0], Some(Json::List(vec![Json::Int(1), Json::Int(2)])));
        assert_eq!(answers.values[1], None);
        assert_eq!(answers.others[1].as_deref(), Some("自己写的"));
        assert!(answers.values[2..].iter().all(Option::is_none));
        assert!(Answers::parse_slots(&slots, 3, "[1]").is_err());
        assert!(Answers::parse_slots(&slots, 3, "{} {}").is_err());
        assert!(Answers::parse_slots(&slots, 3, r#"{"a":"#).is_err());
    }

    /// Values are written as `serde_json` writes them, and shown as JSON in messages.
    #[test]
    fn json_values_read_borrowed_and_write_as_serde_json_does() {
        let text = r#"{"a":[1,-2,3.5,1e3,18446744073709551615,"x\"y",null,true],"b":{"c":"中"}}"#;
        let v: Json<'_> = serde_json::from_str(text).expect("JSON");
        let reference: serde_json::Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(v.to_string(), reference.to_string());
        let shown = v.to_string();
        assert_eq!(serde_json::from_str::<Json<'_>>(&shown).expect("JSON"), v);
        let Some(Json::List(a)) = v.member("a") else { panic!("a list") };
        for (mine, theirs) in a.iter().zip(reference["a"].as_array().into_iter().flatten()) {
            let mut out = String::from("leftover");
            let expected = match theirs {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            assert_eq!(mine.write_scalar(&mut out), expected.is_some(), "{mine}");
            assert_eq!(out, expected.unwrap_or_default());
        }
        let Some(Json::Object(b)) = v.member("b") else { panic!("an object") };
        assert!(matches!(b[0].1, Json::Str(std::borrow::Cow::Borrowed("中"))));
    }
}
