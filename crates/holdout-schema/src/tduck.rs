//! Where each schema column comes from in the survey platform's (`TDuck` 填鸭表单) forms: the
//! `[tduck]` table of `schema.toml`, with one `[[tduck.form]]` per form (questionnaire version)
//! and one `[[tduck.form.item]]` per question. Readers and writers of `TDuck`'s exports (admin
//! xlsx/CSV, `fm_user_form_data` dumps) take this mapping; nothing about a form is in code.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use crate::survey::{Code, Column, ColumnKind, Role, Version, utc_offset_seconds};

/// The option `TDuck` always gives the value 0 and the label 其他: its typed text replaces the label.
pub const OTHER_CODE: i64 = 0;

/// The whole mapping: `TDuck`'s own fields, then the forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The zone of the times `TDuck` writes without one (default `Asia/Shanghai`).
    pub timezone: String,
    /// `TDuck`'s own fields (`fm_user_form_data` column names) → the schema column each fills.
    pub fields: BTreeMap<Field, String>,
    /// The schema column that receives each form's version.
    pub version_column: Option<String>,
    pub forms: Vec<Form>,
}

/// One of `TDuck`'s own (system) fields of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    SerialNumber,
    CreateTime,
    CompleteTime,
    SubmitRequestIp,
    SubmitUa,
    SubmitOs,
    SubmitBrowser,
    SubmitAddress,
    WxOpenId,
    FormKey,
    ExtValue,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::SerialNumber,
        Field::CreateTime,
        Field::CompleteTime,
        Field::SubmitRequestIp,
        Field::SubmitUa,
        Field::SubmitOs,
        Field::SubmitBrowser,
        Field::SubmitAddress,
        Field::WxOpenId,
        Field::FormKey,
        Field::ExtValue,
    ];

    /// The `fm_user_form_data` column.
    pub fn db_column(self) -> &'static str {
        match self {
            Field::SerialNumber => "serial_number",
            Field::CreateTime => "create_time",
            Field::CompleteTime => "complete_time",
            Field::SubmitRequestIp => "submit_request_ip",
            Field::SubmitUa => "submit_ua",
            Field::SubmitOs => "submit_os",
            Field::SubmitBrowser => "submit_browser",
            Field::SubmitAddress => "submit_address",
            Field::WxOpenId => "wx_open_id",
            Field::FormKey => "form_key",
            Field::ExtValue => "ext_value",
        }
    }

    /// The admin export's header of this field, if the export has it.
    pub fn export_header(self) -> Option<&'static str> {
        match self {
            Field::SerialNumber => Some("提交序号"),
            Field::CreateTime => Some("提交时间"),
            Field::ExtValue => Some("扩展字段"),
            _ => None,
        }
    }
}

/// The six system columns the admin export appends after the questions, in order.
pub const EXPORT_SYSTEM_HEADERS: [&str; 6] = ["提交序号", "扩展字段", "修改用户", "提交用户", "提交时间", "修改时间"];

/// One `TDuck` form: one questionnaire version, one QR code, one export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub key: String,
    pub version: Version,
    pub name: String,
    /// The questions in export column order.
    pub items: Vec<Item>,
}

/// One question of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// `form_item_id`, the key in `original_data` (`radio1722500000001`).
    pub id: String,
    /// The title as typed, the admin export's header (compared [`normalize`]d).
    pub title: String,
    pub kind: ItemKind,
}

/// An option label and the code it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub label: String,
    pub code: Code,
}

/// A cascader's first-level option and the range of its second level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    pub label: String,
    pub code: Code,
    pub range: Option<(i64, i64)>,
}

/// A matrix row: its id in `original_data`, its label in the export, and its rating column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixRow {
    pub id: String,
    pub label: String,
    pub column: String,
}

/// How a question's answer fills schema columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// RADIO / SELECT: one option of a categorical or ordinal column. An unknown label is the
    /// typed text of 其他 when the column has the code 0, kept in `other` if given.
    Radio { column: String, options: Vec<Choice>, other: Option<String> },
    /// CHECKBOX: the ticked options of a multi-select item (one 0/1 column per option).
    Checkbox { item: String, options: Vec<(Choice, String)>, other: Option<String> },
    /// `MATRIX_SCALE`: one rating column per row.
    MatrixScale { rows: Vec<MatrixRow> },
    /// RATE: one rating column; 0 is "not rated".
    Rate { column: String },
    /// CASCADER: the first level as an option column (or dropped), the second as an integer.
    Cascader { first: Option<String>, second: Option<String>, options: Vec<Branch> },
    /// `PROVINCE_CITY`: province and city names; the district and detail address are dropped.
    ProvinceCity { province: String, city: String },
    /// INPUT / TEXTAREA / NUMBER: the value as typed.
    Text { column: String },
}

impl ItemKind {
    pub fn name(&self) -> &'static str {
        match self {
            ItemKind::Radio { .. } => "radio",
            ItemKind::Checkbox { .. } => "checkbox",
            ItemKind::MatrixScale { .. } => "matrix_scale",
            ItemKind::Rate { .. } => "rate",
            ItemKind::Cascader { .. } => "cascader",
            ItemKind::ProvinceCity { .. } => "province_city",
            ItemKind::Text { .. } => "textarea",
        }
    }

    /// The schema columns this item fills.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            ItemKind::Radio { column, other, .. } => std::iter::once(column).chain(other).map(String::as_str).collect(),
            ItemKind::Checkbox { options, other, .. } => {
                options.iter().map(|(_, c)| c).chain(other).map(String::as_str).collect()
            }
            ItemKind::MatrixScale { rows } => rows.iter().map(|r| r.column.as_str()).collect(),
            ItemKind::Rate { column } | ItemKind::Text { column } => vec![column],
            ItemKind::Cascader { first, second, .. } => first.iter().chain(second).map(String::as_str).collect(),
            ItemKind::ProvinceCity { province, city } => vec![province, city],
        }
    }
}

/// Whitespace-normalized text, the form in which titles and labels are compared: every run of
/// whitespace (U+00A0 and newlines included) becomes one space, ends trimmed.
pub fn normalize(text: &str) -> String {
    normalized(text).into_owned()
}

/// [`normalize`] without a copy when there is nothing to change (no whitespace at all: most
/// cells of an export).
pub fn normalized(text: &str) -> std::borrow::Cow<'_, str> {
    if !has_whitespace(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| c.is_whitespace() || c == '\u{00A0}').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `text` holds a character Rust calls whitespace, by its UTF-8 bytes: ASCII
/// `\t`–`\r` and space, U+0085 and U+00A0 (`C2 85`, `C2 A0`), U+1680 (`E1 9A 80`), U+2000–U+200A,
/// U+2028, U+2029, U+202F (`E2 80 xx`), U+205F (`E2 81 9F`) and U+3000 (`E3 80 80`). No
/// character is decoded: CJK text (lead bytes `E4`–`E9`) and CJK punctuation (`E3 80 81`…)
/// pass at a byte each.
fn has_whitespace(text: &str) -> bool {
    let b = text.as_bytes();
    // First a pass the compiler vectorizes, 32 bytes at a time: is there any byte at all that
    // can start whitespace (or a control character)?
    #[expect(clippy::needless_bitwise_bool, reason = "branch-free on purpose: the pass vectorizes")]
    let suspect = |x: u8| (x <= b' ') | (x == 0xC2) | (x.wrapping_sub(0xE1) < 3);
    if !b.chunks(32).any(|c| c.iter().fold(false, |any, &x| any | suspect(x))) {
        return false;
    }
    b.iter().enumerate().any(|(i, &lead)| match lead {
        b'\t'..=b'\r' | b' ' => true,
        0xC2 => matches!(b.get(i + 1), Some(0x85 | 0xA0)),
        0xE1 => b.get(i + 1..i + 3) == Some(&[0x9A, 0x80]),
        0xE2 => matches!(
            (b.get(i + 1), b.get(i + 2)),
            (Some(0x80), Some(0x80..=0x8A | 0xA8 | 0xA9 | 0xAF)) | (Some(0x81), Some(0x9F))
        ),
        0xE3 => b.get(i + 1..i + 3) == Some(&[0x80, 0x80]),
        _ => false,
    })
}

impl Mapping {
    pub fn form(&self, key: &str) -> Option<&Form> {
        self.forms.iter().find(|f| f.key == key)
    }

    /// The schema column a system field fills, if any.
    pub fn field(&self, field: Field) -> Option<&str> {
        self.fields.get(&field).map(String::as_str)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMapping {
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    fields: BTreeMap<Field, Spanned<String>>,
    version_column: Option<Spanned<String>>,
    #[serde(default)]
    form: Vec<RawForm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForm {
    key: Spanned<String>,
    version: Spanned<Version>,
    name: String,
    #[serde(default)]
    item: Vec<RawItem>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum ItemType {
    Radio,
    Select,
    Checkbox,
    MatrixScale,
    Rate,
    Cascader,
    ProvinceCity,
    Input,
    Textarea,
    Number,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    label: String,
    code: Code,
    min: Option<i64>,
    max: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    id: String,
    label: String,
    column: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<ItemType>,
    title: String,
    column: Option<Spanned<String>>,
    item: Option<Spanned<String>>,
    other: Option<Spanned<String>>,
    options: Option<Spanned<Vec<RawOption>>>,
    rows: Option<Spanned<Vec<RawRow>>>,
    first: Option<Spanned<String>>,
    second: Option<Spanned<String>>,
    province: Option<Spanned<String>>,
    city: Option<Spanned<String>>,
}

type Span = std::ops::Range<usize>;
/// A validation problem and where it is in `schema.toml`.
pub(crate) type Problem = (Option<Span>, String);

/// What the mapping validation needs to know of the survey.
pub(crate) struct Columns<'a> {
    pub columns: &'a [Column],
    pub index: &'a BTreeMap<String, usize>,
}

impl Columns<'_> {
    fn get(&self, name: &Spanned<String>, what: &str) -> Result<&Column, Problem> {
        self.index
            .get(name.get_ref())
            .map(|&i| &self.columns[i])
            .ok_or_else(|| (Some(name.span()), format!("{what}: no column `{}`", name.get_ref())))
    }
}

impl RawMapping {
    #[expect(clippy::too_many_lines, reason = "one arm per item type")]
    pub(crate) fn validate(self, survey: &Columns<'_>, versions: &BTreeSet<Version>) -> Result<Mapping, Problem> {
        let timezone = match self.timezone {
            Some(z) if utc_offset_seconds(z.get_ref()).is_none() => {
                return Err((Some(z.span()), format!("unsupported time zone `{}`", z.get_ref())));
            }
            Some(z) => z.into_inner(),
            None => "Asia/Shanghai".to_owned(),
        };
        let mut fields = BTreeMap::new();
        for (field, column) in self.fields {
            survey.get(&column, "tduck.fields")?;
            fields.insert(field, column.into_inner());
        }
        let version_column = match self.version_column {
            Some(c) => {
                survey.get(&c, "tduck.version_column")?;
                Some(c.into_inner())
            }
            None => None,
        };
        let mut forms: Vec<Form> = Vec::with_capacity(self.form.len());
        for raw in self.form {
            if forms.iter().any(|f| f.key == *raw.key.get_ref()) {
                return Err((Some(raw.key.span()), format!("duplicate form `{}`", raw.key.get_ref())));
            }
            if !versions.contains(raw.version.get_ref()) {
                return Err((Some(raw.version.span()), "not one of the survey's versions".to_owned()));
            }
            let version = *raw.version.get_ref();
            let mut items: Vec<Item> = Vec::with_capacity(raw.item.len());
            let mut filled: BTreeMap<String, String> = BTreeMap::new();
            for item in raw.item {
                let id = item.id.get_ref().clone();
                if items.iter().any(|i| i.id == id) {
                    return Err((
                        Some(item.id.span()),
                        format!("duplicate item `{id}` in form `{}`", raw.key.get_ref()),
                    ));
                }
                let here = item.kind.span();
                let need = |v: Option<Spanned<String>>, key: &str| {
                    v.ok_or_else(|| (Some(here.clone()), format!("item `{id}`: this type needs `{key}`")))
                };
                let kind = match *item.kind.get_ref() {
                    ItemType::Radio | ItemType::Select => {
                        let column = need(item.column, "column")?;
                        let schema = survey.get(&column, &id)?;
                        let levels = schema
                            .kind
                            .levels()
                            .ok_or_else(|| (Some(column.span()), format!("`{}` has no options", schema.name)))?;
                        let options = choices(item.options, &here, &id)?;
                        if let Some(bad) = options.iter().find(|o| !levels.iter().any(|l| l.code == o.code)) {
                            return Err((
                                Some(here),
                                format!("item `{id}`: `{}` is not a code of `{}`", bad.code, schema.name),
                            ));
                        }
                        let other = free_text(item.other, survey)?;
                        ItemKind::Radio { column: column.into_inner(), options, other }
                    }
                    ItemType::Checkbox => {
                        let group = need(item.item, "item")?;
                        let columns: Vec<&Column> = survey
                            .columns
                            .iter()
                            .filter(
                                |c| matches!(&c.kind, ColumnKind::MultiSelect { item: i, .. } if i == group.get_ref()),
                            )
                            .collect();
                        if columns.is_empty() {
                            return Err((
                                Some(group.span()),
                                format!("no multi-select columns of item `{}`", group.get_ref()),
                            ));
                        }
                        let mut options = Vec::new();
                        for choice in choices(item.options, &here, &id)? {
                            let column = columns
                                .iter()
                                .find(|c| matches!((&c.kind, &choice.code), (ColumnKind::MultiSelect { option, .. }, Code::Int(o)) if option == o))
                                .ok_or_else(|| {
                                    (Some(here.clone()), format!("item `{id}`: no column of `{}` has option {}", group.get_ref(), choice.code))
                                })?;
                            options.push((choice, column.name.clone()));
                        }
                        let other = free_text(item.other, survey)?;
                        ItemKind::Checkbox { item: group.into_inner(), options, other }
                    }
                    ItemType::MatrixScale => {
                        let rows =
                            item.rows.ok_or_else(|| (Some(here.clone()), format!("item `{id}`: needs `rows`")))?;
                        let span = rows.span();
                        let mut out = Vec::new();
                        for row in rows.into_inner() {
                            let column = Spanned::new(span.clone(), row.column);
                            let schema = survey.get(&column, &id)?;
                            if !matches!(schema.kind, ColumnKind::Rating { .. }) {
                                return Err((Some(span), format!("item `{id}`: `{}` is not a rating", schema.name)));
                            }
                            out.push(MatrixRow { id: row.id, label: row.label, column: column.into_inner() });
                        }
                        ItemKind::MatrixScale { rows: out }
                    }
                    ItemType::Rate => {
                        let column = need(item.column, "column")?;
                        if !matches!(survey.get(&column, &id)?.kind, ColumnKind::Rating { .. }) {
                            return Err((Some(column.span()), format!("item `{id}`: not a rating column")));
                        }
                        ItemKind::Rate { column: column.into_inner() }
                    }
                    ItemType::Cascader => {
                        if let Some(first) = &item.first {
                            survey.get(first, &id)?.kind.levels().ok_or_else(|| {
                                (Some(first.span()), format!("item `{id}`: `{}` has no options", first.get_ref()))
                            })?;
                        }
                        if let Some(second) = &item.second
                            && !matches!(survey.get(second, &id)?.kind, ColumnKind::Integer { .. })
                        {
                            return Err((
                                Some(second.span()),
                                format!("item `{id}`: `second` must be an integer column"),
                            ));
                        }
                        let options = item.options.map(Spanned::into_inner).unwrap_or_default();
                        ItemKind::Cascader {
                            first: item.first.map(Spanned::into_inner),
                            second: item.second.map(Spanned::into_inner),
                            options: options
                                .into_iter()
                                .map(|o| Branch { label: normalize(&o.label), code: o.code, range: o.min.zip(o.max) })
                                .collect(),
                        }
                    }
                    ItemType::ProvinceCity => {
                        let province = need(item.province, "province")?;
                        let city = need(item.city, "city")?;
                        survey.get(&province, &id)?;
                        survey.get(&city, &id)?;
                        ItemKind::ProvinceCity { province: province.into_inner(), city: city.into_inner() }
                    }
                    ItemType::Input | ItemType::Textarea | ItemType::Number => {
                        let column = need(item.column, "column")?;
                        survey.get(&column, &id)?;
                        ItemKind::Text { column: column.into_inner() }
                    }
                };
                for column in kind.columns() {
                    if let Some(other) = filled.insert(column.to_owned(), id.clone()) {
                        return Err((
                            Some(item.id.span()),
                            format!("column `{column}` is filled by items `{other}` and `{id}`"),
                        ));
                    }
                }
                items.push(Item { id, title: item.title, kind });
            }
            // Every column asked in this version must come from somewhere.
            for column in survey.columns {
                let system =
                    fields.values().any(|c| *c == column.name) || version_column.as_ref() == Some(&column.name);
                if column.versions.contains(&version) && !system && !filled.contains_key(&column.name) {
                    return Err((
                        Some(raw.key.span()),
                        format!("form `{}`: no item fills column `{}`", raw.key.get_ref(), column.name),
                    ));
                }
            }
            forms.push(Form { key: raw.key.into_inner(), version, name: raw.name, items });
        }
        Ok(Mapping { timezone, fields, version_column, forms })
    }
}

fn choices(options: Option<Spanned<Vec<RawOption>>>, here: &Span, id: &str) -> Result<Vec<Choice>, Problem> {
    let options = options.ok_or_else(|| (Some(here.clone()), format!("item `{id}`: needs `options`")))?;
    let span = options.span();
    let mut out: Vec<Choice> = Vec::new();
    for o in options.into_inner() {
        let label = normalize(&o.label);
        if out.iter().any(|c| c.label == label) {
            return Err((Some(span), format!("item `{id}`: two options are labelled `{label}`")));
        }
        out.push(Choice { label, code: o.code });
    }
    Ok(out)
}

fn free_text(other: Option<Spanned<String>>, survey: &Columns<'_>) -> Result<Option<String>, Problem> {
    match other {
        Some(c) => {
            let schema = survey.get(&c, "other")?;
            if schema.role != Role::FreeText {
                return Err((
                    Some(c.span()),
                    format!("`{}` must be a free_text column to keep 其他 text", schema.name),
                ));
            }
            Ok(Some(c.into_inner()))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn normalize_collapses_every_kind_of_whitespace() {
        assert_eq!(normalize("  3.\u{00A0}您的\n年龄 "), "3. 您的 年龄");
        assert_eq!(normalize("少于 1 小时"), "少于 1 小时");
        assert_eq!(normalize(""), "");
    }

    /// The byte scan that skips most cells must never skip one with whitespace: every
    /// character Rust calls whitespace, between CJK text and CJK punctuation (whose lead
    /// byte 0xE3 it shares with U+3000).
    #[test]
    fn the_fast_path_misses_no_whitespace_character() {
        let spaces = (0..=u32::from(char::MAX)).filter_map(char::from_u32).filter(|c| c.is_whitespace());
        for space in spaces {
            let text = format!("网民、{space}安全。");
            assert_eq!(normalize(&text), "网民、 安全。", "U+{:04X}", space as u32);
            assert!(matches!(super::normalized("网民、安全。"), std::borrow::Cow::Borrowed(_)));
        }
    }

    /// The byte test agrees with `char::is_whitespace` on every character, alone and between
    /// CJK text, and on every character's neighbours in the code space (same lead bytes).
    #[test]
    fn the_byte_test_agrees_with_char_is_whitespace() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            for text in [c.to_string(), format!("网{c}民"), format!("{c}、")] {
                assert_eq!(super::has_whitespace(&text), text.chars().any(char::is_whitespace), "U+{:04X}", c as u32);
            }
        }
    }
}
