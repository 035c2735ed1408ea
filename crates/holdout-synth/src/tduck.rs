//! The synthetic survey written exactly as the survey platform (`TDuck` 填鸭表单) gives it, through
//! the schema's `[tduck]` mapping: the admin's export of each form (CSV with CRLF and no BOM, or
//! xlsx with one sheet of text cells) and the database rows of `fm_user_form_data` (CSV with an
//! `original_data` JSON column, or JSON lines). The reader in `holdout-prepare` inverts this.

use std::fmt::Write as _;
use std::io::Write;

use holdout_schema::tduck::{Choice, EXPORT_SYSTEM_HEADERS, Field, Form, ItemKind, Mapping, OTHER_CODE};
use holdout_schema::{Code, Survey};
use serde_json::{Map, Value, json};

use crate::row::{Cell, Row};
use crate::sink::Sink;
use crate::{ColumnInfo, SynthError};

/// Detail addresses some respondents type after the district (PII: never kept by the reader).
const DETAILS: [&str; 3] = ["", "中山路88号", "幸福小区3栋2单元"];
/// The district written after the city (the synthetic geography has none).
const DISTRICT: &str = "城区";

/// Turns native rows (schema column order) into `TDuck` cells.
#[derive(Debug)]
struct Render {
    mapping: Mapping,
    /// Per schema column: how the native CSV writes a missing value.
    missing: Vec<String>,
    index: std::collections::HashMap<String, usize>,
    /// Native text of the current row.
    cells: Vec<String>,
    form_key: usize,
    serial: Option<usize>,
}

impl Render {
    fn new(survey: &Survey, columns: &[ColumnInfo]) -> Result<Render, SynthError> {
        let mapping =
            survey.tduck.clone().ok_or_else(|| SynthError::Schema("the schema has no [tduck] mapping".into()))?;
        let index: std::collections::HashMap<String, usize> =
            columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let form_key = mapping
            .field(Field::FormKey)
            .and_then(|c| index.get(c).copied())
            .ok_or_else(|| SynthError::Schema("[tduck] fields needs form_key".into()))?;
        let serial = mapping.field(Field::SerialNumber).and_then(|c| index.get(c).copied());
        Ok(Render {
            mapping,
            missing: columns.iter().map(|c| c.missing.clone()).collect(),
            index,
            cells: vec![String::new(); columns.len()],
            form_key,
            serial,
        })
    }

    /// Loads a row; returns its form's index.
    fn load(&mut self, row: &Row) -> Result<usize, SynthError> {
        for (i, cell) in row.cells().enumerate() {
            let out = &mut self.cells[i];
            out.clear();
            match cell {
                Cell::Missing => out.push_str(&self.missing[i]),
                Cell::Int(v) => out.push_str(itoa::Buffer::new().format(v)),
                Cell::Text(s) => out.push_str(s),
            }
        }
        let key = &self.cells[self.form_key];
        self.mapping
            .forms
            .iter()
            .position(|f| f.key == *key)
            .ok_or_else(|| SynthError::Schema(format!("form `{key}` is not in the [tduck] mapping")))
    }

    fn cell(&self, column: &str) -> &str {
        self.index.get(column).map_or("", |&i| self.cells[i].as_str())
    }

    fn field(&self, field: Field) -> &str {
        self.mapping.field(field).map_or("", |c| self.cell(c))
    }

    fn number(&self) -> usize {
        self.serial.and_then(|i| self.cells[i].parse().ok()).unwrap_or(0)
    }

    /// What the respondent typed after choosing 其他: the schema's column for it, if the item
    /// maps one and the row has it, else the generator's text for this serial number.
    fn other_text<'s>(&'s self, other: Option<&String>) -> &'s str {
        match other.map(|c| self.cell(c)) {
            Some(text) if !text.is_empty() => text,
            _ => crate::other_text(self.number() as u64),
        }
    }

    /// How a ticked option reads in the export: its label, or for 其他 the typed text.
    fn option_label<'s>(&'s self, option: &'s Choice, other: Option<&String>) -> &'s str {
        if option.code == Code::Int(OTHER_CODE) { self.other_text(other) } else { option.label.as_str() }
    }

    fn ext_value(&self) -> String {
        let source = self.field(Field::ExtValue);
        if source.is_empty() { String::new() } else { json!({ "sourceId": source }).to_string() }
    }

    /// The admin export's cells of the current row: one per item, then the six system columns.
    fn export_cells(&self, form: &Form, out: &mut Vec<String>) {
        out.clear();
        for item in &form.items {
            let mut cell = String::new();
            match &item.kind {
                ItemKind::Radio { column, options, other } => {
                    let v = self.cell(column);
                    if v == OTHER_CODE.to_string() {
                        cell.push_str(self.other_text(other.as_ref()));
                    } else if let Some(o) = options.iter().find(|o| o.code.to_string() == v) {
                        cell.push_str(&o.label);
                    }
                }
                ItemKind::Checkbox { options, other, .. } => {
                    let labels: Vec<&str> = options
                        .iter()
                        .filter(|(_, c)| self.cell(c) == "1")
                        .map(|(o, _)| self.option_label(o, other.as_ref()))
                        .collect();
                    cell = labels.join(",");
                }
                ItemKind::MatrixScale { rows } => {
                    for r in rows {
                        let v = self.cell(&r.column);
                        if !v.is_empty() {
                            let _ = write!(cell, "{}：（{v}）", r.label);
                        }
                    }
                }
                ItemKind::Rate { column } => {
                    let v = self.cell(column);
                    cell.push_str(if v.is_empty() { "0" } else { v });
                }
                ItemKind::Cascader { first, second, options } => {
                    if let Some(b) = self.branch(first.as_deref(), second.as_deref(), options) {
                        cell.push_str(&b.label);
                        if let Some(s) = second.as_deref().map(|s| self.cell(s)).filter(|s| !s.is_empty()) {
                            cell.push(',');
                            cell.push_str(s);
                        }
                    }
                }
                ItemKind::ProvinceCity { province, city } => {
                    let (p, c) = (self.cell(province), self.cell(city));
                    if !p.is_empty() {
                        let c = if c == p { "市辖区" } else { c };
                        cell = format!("{p},{c},{DISTRICT}{}", DETAILS[self.number() % DETAILS.len()]);
                    }
                }
                ItemKind::Text { column } => cell.push_str(self.cell(column)),
            }
            out.push(cell);
        }
        let time = self.field(Field::CreateTime).to_owned();
        out.extend([self.field(Field::SerialNumber).to_owned(), self.ext_value(), String::new(), String::new()]);
        out.extend([time.clone(), time]);
    }

    fn branch<'o>(
        &self,
        first: Option<&str>,
        second: Option<&str>,
        options: &'o [holdout_schema::tduck::Branch],
    ) -> Option<&'o holdout_schema::tduck::Branch> {
        if let Some(f) = first {
            let v = self.cell(f);
            return options.iter().find(|b| b.code.to_string() == v);
        }
        let v: i64 = self.cell(second?).parse().ok()?;
        options.iter().find(|b| b.range.is_some_and(|(lo, hi)| (lo..=hi).contains(&v)))
    }

    /// The current row's `original_data`, keyed by item id, with `TDuck`'s `label`/`other` siblings.
    fn original_data(&self, form: &Form) -> Value {
        let mut data = Map::new();
        let code_value = |code: &str| match code.parse::<i64>() {
            Ok(n) => json!(n),
            Err(_) => json!(code),
        };
        for item in &form.items {
            let id = item.id.as_str();
            match &item.kind {
                ItemKind::Radio { column, options, other } => {
                    let v = self.cell(column);
                    if v.is_empty() {
                        continue;
                    }
                    data.insert(id.to_owned(), code_value(v));
                    if v == OTHER_CODE.to_string() {
                        data.insert(format!("{id}other"), json!(self.other_text(other.as_ref())));
                        data.insert(format!("{id}label"), json!(self.other_text(other.as_ref())));
                    } else if let Some(o) = options.iter().find(|o| o.code.to_string() == v) {
                        data.insert(format!("{id}label"), json!(o.label));
                    }
                }
                ItemKind::Checkbox { options, other, .. } => {
                    let ticked: Vec<_> = options.iter().filter(|(_, c)| self.cell(c) == "1").collect();
                    let values: Vec<Value> = ticked.iter().map(|(o, _)| code_value(&o.code.to_string())).collect();
                    let labels: Vec<&str> = ticked.iter().map(|(o, _)| self.option_label(o, other.as_ref())).collect();
                    if ticked.iter().any(|(o, _)| o.code == Code::Int(OTHER_CODE)) {
                        data.insert(format!("{id}other"), json!(self.other_text(other.as_ref())));
                    }
                    data.insert(id.to_owned(), Value::Array(values));
                    data.insert(format!("{id}label"), json!(labels));
                }
                ItemKind::MatrixScale { rows } => {
                    let mut m = Map::new();
                    for r in rows {
                        let v = self.cell(&r.column);
                        if !v.is_empty() {
                            m.insert(r.id.clone(), code_value(v));
                        }
                    }
                    data.insert(id.to_owned(), Value::Object(m));
                }
                ItemKind::Rate { column } => {
                    let v = self.cell(column);
                    data.insert(id.to_owned(), if v.is_empty() { json!(0) } else { code_value(v) });
                }
                ItemKind::Cascader { first, second, options } => {
                    if let Some(b) = self.branch(first.as_deref(), second.as_deref(), options) {
                        let mut values = vec![json!(b.code.to_string())];
                        let mut labels = vec![json!(b.label)];
                        if let Some(s) = second.as_deref().map(|s| self.cell(s)).filter(|s| !s.is_empty()) {
                            values.push(json!(s));
                            labels.push(json!(s));
                        }
                        data.insert(id.to_owned(), Value::Array(values));
                        data.insert(format!("{id}label"), Value::Array(labels));
                    }
                }
                ItemKind::ProvinceCity { province, city } => {
                    let (p, c) = (self.cell(province), self.cell(city));
                    if !p.is_empty() {
                        let c = if c == p { "市辖区" } else { c };
                        data.insert(
                            id.to_owned(),
                            json!({ "cascadeValue": [p, c, DISTRICT], "detailAddr": DETAILS[self.number() % DETAILS.len()] }),
                        );
                    }
                }
                ItemKind::Text { column } => {
                    let v = self.cell(column);
                    if !v.is_empty() {
                        data.insert(id.to_owned(), json!(v));
                    }
                }
            }
        }
        Value::Object(data)
    }

    /// The `fm_user_form_data` columns of the current row, in the dump's order.
    fn db_row(&self, id: u64, form: &Form) -> Vec<(&'static str, Value)> {
        let text = |f: Field| {
            let v = self.field(f);
            if v.is_empty() { Value::Null } else { json!(v) }
        };
        let number = |f: Field| self.field(f).parse::<i64>().map_or(Value::Null, |n| json!(n));
        let ua = self.field(Field::SubmitUa);
        let ext = self.ext_value();
        vec![
            ("id", json!(id)),
            ("form_key", json!(form.key)),
            ("serial_number", number(Field::SerialNumber)),
            ("original_data", self.original_data(form)),
            ("submit_ua", if ua.is_empty() { Value::Null } else { json!({ "ua": ua }) }),
            ("submit_os", text(Field::SubmitOs)),
            ("submit_browser", text(Field::SubmitBrowser)),
            ("submit_request_ip", text(Field::SubmitRequestIp)),
            ("submit_address", text(Field::SubmitAddress)),
            ("complete_time", number(Field::CompleteTime)),
            ("wx_open_id", text(Field::WxOpenId)),
            ("ext_value", if ext.is_empty() { Value::Null } else { json!(ext) }),
            ("create_time", text(Field::CreateTime)),
            ("update_time", text(Field::CreateTime)),
            ("create_by", Value::Null),
            ("update_by", Value::Null),
        ]
    }
}

/// The admin export's header of a form: item titles, then the six system columns.
fn export_header(form: &Form) -> Vec<String> {
    form.items.iter().map(|i| i.title.clone()).chain(EXPORT_SYSTEM_HEADERS.iter().map(|h| (*h).to_owned())).collect()
}

fn csv_error(e: csv::Error) -> SynthError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => SynthError::Io(io),
        other => SynthError::Io(std::io::Error::other(format!("{other:?}"))),
    }
}

/// The admin's CSV export, one writer per form (in the mapping's form order): UTF-8, no BOM,
/// CRLF, fields quoted only when needed, as Hutool's `CsvWriter` writes them.
#[derive(Debug)]
pub struct ExportCsvSink<W: Write> {
    render: Render,
    writers: Vec<csv::Writer<W>>,
    cells: Vec<String>,
}

impl<W: Write> ExportCsvSink<W> {
    pub fn new(survey: &Survey, columns: &[ColumnInfo], outs: Vec<W>) -> Result<Self, SynthError> {
        let render = Render::new(survey, columns)?;
        let mut writers = Vec::new();
        for (form, out) in render.mapping.forms.iter().zip(outs) {
            let mut w =
                csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).buffer_capacity(1 << 16).from_writer(out);
            w.write_record(export_header(form)).map_err(csv_error)?;
            writers.push(w);
        }
        Ok(ExportCsvSink { render, writers, cells: Vec::new() })
    }
}

impl<W: Write> Sink for ExportCsvSink<W> {
    fn write_row(&mut self, row: &Row) -> Result<(), SynthError> {
        let f = self.render.load(row)?;
        self.render.export_cells(&self.render.mapping.forms[f], &mut self.cells);
        self.writers[f].write_record(&self.cells).map_err(csv_error)
    }

    fn finish(&mut self) -> Result<(), SynthError> {
        for w in &mut self.writers {
            w.flush().map_err(SynthError::Io)?;
        }
        Ok(())
    }
}

/// Rows an xlsx sheet holds, header included.
pub const XLSX_MAX_ROWS: u64 = 1_048_576;

/// The admin's xlsx export, one workbook per form: one sheet, every cell a string, written in
/// `rust_xlsxwriter`'s constant-memory mode (rows go to a temporary file as they come).
pub struct ExportXlsxSink<W: Write + Send> {
    render: Render,
    books: Vec<(rust_xlsxwriter::Workbook, W, u32)>,
    cells: Vec<String>,
}

impl<W: Write + Send> std::fmt::Debug for ExportXlsxSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportXlsxSink").field("books", &self.books.len()).finish_non_exhaustive()
    }
}

#[expect(clippy::needless_pass_by_value, reason = "used as `map_err(xlsx_error)`")]
fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> SynthError {
    SynthError::Io(std::io::Error::other(e.to_string()))
}

impl<W: Write + Send> ExportXlsxSink<W> {
    pub fn new(survey: &Survey, columns: &[ColumnInfo], outs: Vec<W>) -> Result<Self, SynthError> {
        let render = Render::new(survey, columns)?;
        let mut books = Vec::new();
        for (form, out) in render.mapping.forms.iter().zip(outs) {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
            // The sheet name is the page title, which POI cuts to 31 characters.
            let name: String = format!("{} - Tduck填鸭表单", form.name).chars().take(31).collect();
            sheet.set_name(name).map_err(xlsx_error)?;
            for (c, h) in export_header(form).iter().enumerate() {
                sheet.write_string(0, c as u16, h).map_err(xlsx_error)?;
            }
            books.push((book, out, 1));
        }
        Ok(ExportXlsxSink { render, books, cells: Vec::new() })
    }
}

impl<W: Write + Send> Sink for ExportXlsxSink<W> {
    fn write_row(&mut self, row: &Row) -> Result<(), SynthError> {
        let f = self.render.load(row)?;
        self.render.export_cells(&self.render.mapping.forms[f], &mut self.cells);
        let (book, _, next) = &mut self.books[f];
        if u64::from(*next) >= XLSX_MAX_ROWS {
            return Err(SynthError::Schema(format!(
                "an xlsx sheet holds {XLSX_MAX_ROWS} rows; write this many as CSV (`--layout tduck-export` with `--xlsx` off)"
            )));
        }
        let sheet = book.worksheet_from_index(0).map_err(xlsx_error)?;
        for (c, v) in self.cells.iter().enumerate() {
            sheet.write_string(*next, c as u16, v).map_err(xlsx_error)?;
        }
        *next += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SynthError> {
        for (book, out, _) in &mut self.books {
            book.save_to_writer(&mut *out).map_err(xlsx_error)?;
            out.flush().map_err(SynthError::Io)?;
        }
        Ok(())
    }
}

/// `fm_user_form_data` as a dump: CSV with a header (JSON columns as text) or JSON lines; rows
/// of every form in submission (id) order.
#[derive(Debug)]
pub struct DbSink<W: Write> {
    render: Render,
    out: DbOut<W>,
    id: u64,
}

#[derive(Debug)]
enum DbOut<W: Write> {
    JsonLines(W),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> DbSink<W> {
    /// `json_lines` writes one JSON object per line, else CSV.
    pub fn new(survey: &Survey, columns: &[ColumnInfo], out: W, json_lines: bool) -> Result<Self, SynthError> {
        let render = Render::new(survey, columns)?;
        let out = if json_lines {
            DbOut::JsonLines(out)
        } else {
            let mut w = csv::WriterBuilder::new().buffer_capacity(1 << 16).from_writer(out);
            let names: Vec<&str> = render.db_row(0, &render.mapping.forms[0]).iter().map(|(n, _)| *n).collect();
            w.write_record(names).map_err(csv_error)?;
            DbOut::Csv(Box::new(w))
        };
        Ok(DbSink { render, out, id: 0 })
    }
}

impl<W: Write> Sink for DbSink<W> {
    fn write_row(&mut self, row: &Row) -> Result<(), SynthError> {
        let f = self.render.load(row)?;
        self.id += 1;
        let fields = self.render.db_row(self.id, &self.render.mapping.forms[f]);
        match &mut self.out {
            DbOut::Csv(w) => {
                for (_, v) in &fields {
                    match v {
                        Value::Null => w.write_field("").map_err(csv_error)?,
                        Value::String(s) => w.write_field(s).map_err(csv_error)?,
                        other => w.write_field(other.to_string()).map_err(csv_error)?,
                    }
                }
                w.write_record(None::<&[u8]>).map_err(csv_error)
            }
            DbOut::JsonLines(out) => {
                let object: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                serde_json::to_writer(&mut *out, &object).map_err(|e| SynthError::Io(e.into()))?;
                out.write_all(b"\n").map_err(SynthError::Io)
            }
        }
    }

    fn finish(&mut self) -> Result<(), SynthError> {
        match &mut self.out {
            DbOut::Csv(w) => w.flush().map_err(SynthError::Io),
            DbOut::JsonLines(out) => out.flush().map_err(SynthError::Io),
        }
    }
}

/// `fm_user_form_item` rows of every form as JSON lines (the form definition `holdout schema
/// init --tduck-form` reads): `form_key`, `form_item_id`, `type`, `label`, `sort`, `scheme`.
pub fn form_items(survey: &Survey) -> Result<String, SynthError> {
    let mapping =
        survey.tduck.as_ref().ok_or_else(|| SynthError::Schema("the schema has no [tduck] mapping".into()))?;
    let mut out = String::new();
    for form in &mapping.forms {
        for (i, item) in form.items.iter().enumerate() {
            let scheme = match &item.kind {
                ItemKind::Radio { options, .. } => {
                    json!({ "config": { "options": options.iter().map(|o| json!({ "label": o.label, "value": code_json(&o.code) })).collect::<Vec<_>>() } })
                }
                ItemKind::Checkbox { options, .. } => {
                    json!({ "config": { "options": options.iter().map(|(o, _)| json!({ "label": o.label, "value": code_json(&o.code) })).collect::<Vec<_>>() } })
                }
                ItemKind::MatrixScale { rows } => {
                    json!({ "table": { "rows": rows.iter().map(|r| json!({ "id": r.id, "label": r.label })).collect::<Vec<_>>(), "level": 10 } })
                }
                ItemKind::Cascader { options, .. } => json!({ "config": { "options": options.iter().map(|b| {
                    let children: Vec<Value> = b.range.map(|(lo, hi)| (lo..=hi).map(|v| json!({ "label": v.to_string(), "value": v.to_string() })).collect()).unwrap_or_default();
                    json!({ "label": b.label, "value": code_json(&b.code), "children": children })
                }).collect::<Vec<_>>() } }),
                _ => json!({}),
            };
            let kind = match &item.kind {
                ItemKind::Text { .. } => "TEXTAREA".to_owned(),
                k => k.name().to_ascii_uppercase(),
            };
            let row = json!({
                "form_key": form.key,
                "form_item_id": item.id,
                "type": kind,
                "label": item.title,
                "sort": (i as u64 + 1) * 65536,
                "is_display_type": 0,
                "scheme": scheme,
            });
            out.push_str(&row.to_string());
            out.push('\n');
        }
    }
    Ok(out)
}

fn code_json(code: &Code) -> Value {
    match code {
        Code::Int(i) => json!(i),
        Code::Text(s) => json!(s),
    }
}
