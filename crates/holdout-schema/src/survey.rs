//! The survey schema: every column of the raw export, with labels, kind, role, questionnaire
//! versions and missing-value encoding (`datasets/<survey>/schema.toml`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDateTime;
use serde::Deserialize;
use toml::Spanned;

use crate::source::{Source, SourceError, toml_error};
use crate::tduck::{Columns, Mapping, RawMapping};

/// Format of `collection_start` / `collection_end` and of timestamp columns.
pub(crate) const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The questionnaire a response was given on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Version {
    /// 公众网民版, the public netizens' questionnaire.
    Public,
    /// 从业人员版, the industry practitioners' questionnaire.
    Practitioner,
}

impl Version {
    pub const ALL: [Version; 2] = [Version::Public, Version::Practitioner];

    pub fn as_str(self) -> &'static str {
        match self {
            Version::Public => "public",
            Version::Practitioner => "practitioner",
        }
    }
}

/// What a column is, for privacy: decides whether and how it may ever be published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Identifies a person or device on its own (openid, IP, phone). Never published.
    DirectIdentifier,
    /// Identifies in combination with others (age, gender, city). Generalized before publication.
    QuasiIdentifier,
    /// An attribute whose disclosure harms (income). Protected by l-diversity where configured.
    Sensitive,
    /// An ordinary questionnaire answer.
    Answer,
    /// Free text typed by the respondent; may contain personal data.
    FreeText,
    /// Recorded by the collection platform, not by the respondent.
    Metadata,
}

/// An option code as the export writes it: `TDuck` uses integers (some of them millisecond
/// timestamps) and, for cascaders and platform fields, short strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(untagged)]
pub enum Code {
    Int(i64),
    Text(String),
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Code::Int(i) => write!(f, "{i}"),
            Code::Text(s) => f.write_str(s),
        }
    }
}

/// One answer option of a categorical or ordinal column.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub code: Code,
    pub zh: String,
    pub en: String,
}

/// A labelled range of a rating scale, e.g. 满意 = 7–8.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub min: i64,
    pub max: i64,
    pub zh: String,
    pub en: String,
}

/// The value domain of a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    /// Unordered options.
    Categorical { levels: Vec<Level> },
    /// Options in order from low to high.
    Ordinal { levels: Vec<Level> },
    /// An integer rating scale `min..=max`; `reverse` when a high score means something bad.
    Rating { min: i64, max: i64, reverse: bool, bands: Vec<Band> },
    /// One option of a multi-select item, written 1 (ticked) or 0.
    MultiSelect { item: String, option: i64, exclusive: bool },
    /// An integer in `min..=max`.
    Integer { min: i64, max: i64, unit: Option<String> },
    /// Free text.
    Text { max_len: Option<usize> },
    /// A local date-time in the survey's time zone, written with `format`.
    Timestamp { format: String },
    /// An opaque identifier (serial number, IP, openid).
    Identifier { format: Option<String> },
}

impl ColumnKind {
    pub fn name(&self) -> &'static str {
        match self {
            ColumnKind::Categorical { .. } => "categorical",
            ColumnKind::Ordinal { .. } => "ordinal",
            ColumnKind::Rating { .. } => "rating",
            ColumnKind::MultiSelect { .. } => "multi_select",
            ColumnKind::Integer { .. } => "integer",
            ColumnKind::Text { .. } => "text",
            ColumnKind::Timestamp { .. } => "timestamp",
            ColumnKind::Identifier { .. } => "identifier",
        }
    }

    /// The options of a categorical or ordinal column.
    pub fn levels(&self) -> Option<&[Level]> {
        match self {
            ColumnKind::Categorical { levels } | ColumnKind::Ordinal { levels } => Some(levels),
            _ => None,
        }
    }
}

/// One column of the raw export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub zh: String,
    pub en: String,
    /// Questionnaire item (`Q6`, `P3`), shared by the option columns of a multi-select.
    pub item: Option<String>,
    pub kind: ColumnKind,
    pub role: Role,
    /// Whether an acquaintance (colleague, neighbour, classmate) can know this about a
    /// respondent: the attacker's background knowledge. Such a column is published only as a
    /// quasi-identifier under the contest's privacy model. Every quasi-identifier is background.
    pub background: bool,
    /// The questionnaire versions that ask this column; empty in rows of other versions.
    pub versions: BTreeSet<Version>,
    /// How a missing value is written; `None` when the column is never missing.
    pub missing: Option<String>,
    /// Name of the generalization hierarchy (`hierarchies/<name>.csv`).
    pub hierarchy: Option<String>,
    pub note: Option<String>,
}

/// A validated survey schema.
#[derive(Debug, Clone)]
pub struct Survey {
    pub name: String,
    pub zh: String,
    pub en: String,
    pub year: i32,
    /// IANA name of the zone local times are in; holdout supports fixed-offset zones only
    /// (`Asia/Shanghai` has had no daylight saving since 1991), see [`Survey::utc_offset_seconds`].
    pub timezone: String,
    pub collection_start: NaiveDateTime,
    pub collection_end: NaiveDateTime,
    pub versions: BTreeSet<Version>,
    pub columns: Vec<Column>,
    /// Answer combinations no real respondent gives (screening rule "contradiction").
    pub contradictions: Vec<Contradiction>,
    /// Where each column comes from in the survey platform's forms, if the schema says.
    pub tduck: Option<Mapping>,
    index: BTreeMap<String, usize>,
}

/// An impossible combination of answers: a response meeting every condition contradicts itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contradiction {
    pub name: String,
    pub zh: String,
    pub en: String,
    pub all: Vec<Condition>,
}

/// One condition of a [`Contradiction`] on one column. A missing value meets no condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub column: String,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// The value (an integer) lies in `min..=max`.
    Range { min: Option<i64>, max: Option<i64> },
    /// The option code is one of these.
    In(Vec<Code>),
    /// The option code is none of these.
    NotIn(Vec<Code>),
    /// The value exceeds column `column`'s value plus `by`.
    Above { column: String, by: i64 },
}

impl Survey {
    /// Parses and validates a `schema.toml`.
    pub fn parse(source: &Source) -> Result<Survey, SourceError> {
        let raw: RawSurvey = toml::from_str(&source.text).map_err(|e| toml_error(source, &e))?;
        raw.validate(source)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.index.get(name).map(|&i| &self.columns[i])
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Offset of the survey's time zone from UTC.
    pub fn utc_offset_seconds(&self) -> i32 {
        utc_offset_seconds(&self.timezone).unwrap_or(0)
    }

    /// The option columns of a multi-select item, in schema order.
    pub fn item_options<'a>(&'a self, item: &'a str) -> impl Iterator<Item = &'a Column> + 'a {
        self.columns.iter().filter(move |c| matches!(&c.kind, ColumnKind::MultiSelect { item: i, .. } if i == item))
    }
}

/// Fixed UTC offset in seconds of a zone holdout accepts, or `None`.
pub fn utc_offset(zone: &str) -> Option<i32> {
    utc_offset_seconds(zone)
}

/// Fixed UTC offsets of the zones holdout accepts.
pub(crate) fn utc_offset_seconds(zone: &str) -> Option<i32> {
    match zone {
        "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Hong_Kong" | "Asia/Macau" | "Asia/Taipei" => Some(8 * 3600),
        "UTC" | "Etc/UTC" => Some(0),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSurvey {
    name: String,
    zh: String,
    en: String,
    year: i32,
    timezone: Spanned<String>,
    collection_start: Spanned<String>,
    collection_end: Spanned<String>,
    versions: Spanned<Vec<Version>>,
    #[serde(default)]
    column: Vec<RawColumn>,
    #[serde(default)]
    contradiction: Vec<RawContradiction>,
    tduck: Option<Spanned<RawMapping>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContradiction {
    name: String,
    zh: String,
    en: String,
    all: Vec<Spanned<RawCondition>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    column: String,
    min: Option<i64>,
    max: Option<i64>,
    #[serde(rename = "in")]
    any_of: Option<Vec<Code>>,
    not_in: Option<Vec<Code>>,
    above: Option<String>,
    by: Option<i64>,
}

impl RawCondition {
    fn validate(self, columns: &[Column], index: &BTreeMap<String, usize>) -> Result<Condition, String> {
        let column = index.get(&self.column).map(|&i| &columns[i]).ok_or(format!("no column `{}`", self.column))?;
        let numeric = matches!(column.kind, ColumnKind::Rating { .. } | ColumnKind::Integer { .. });
        let negated = self.not_in.is_some();
        let test = match (self.min.is_some() || self.max.is_some(), self.any_of, self.not_in, self.above) {
            (true, None, None, None) if numeric => Test::Range { min: self.min, max: self.max },
            (false, Some(codes), None, None) | (false, None, Some(codes), None) if !numeric => {
                let levels = column.kind.levels().ok_or(format!("`{}` has no options to compare", column.name))?;
                if let Some(bad) = codes.iter().find(|c| !levels.iter().any(|l| l.code == **c)) {
                    return Err(format!("`{bad}` is not an option of `{}`", column.name));
                }
                if negated { Test::NotIn(codes) } else { Test::In(codes) }
            }
            (false, None, None, Some(other)) if numeric => {
                if !index.contains_key(&other) {
                    return Err(format!("no column `{other}`"));
                }
                Test::Above { column: other, by: self.by.unwrap_or(0) }
            }
            _ if numeric => {
                return Err(format!("`{}` is numeric: give `min`/`max`, or `above` (and `by`)", column.name));
            }
            _ => return Err(format!("`{}` has options: give exactly one of `in` or `not_in`", column.name)),
        };
        Ok(Condition { column: self.column, test })
    }
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum KindName {
    Categorical,
    Ordinal,
    Rating,
    MultiSelect,
    Integer,
    Text,
    Timestamp,
    Identifier,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: Spanned<String>,
    zh: String,
    en: String,
    item: Option<String>,
    kind: Spanned<KindName>,
    role: Role,
    background: Option<Spanned<bool>>,
    versions: Spanned<Vec<Version>>,
    missing: Option<String>,
    levels: Option<Spanned<Vec<Spanned<Level>>>>,
    min: Option<Spanned<i64>>,
    max: Option<Spanned<i64>>,
    reverse: Option<Spanned<bool>>,
    bands: Option<Spanned<Vec<Band>>>,
    option: Option<Spanned<i64>>,
    exclusive: Option<Spanned<bool>>,
    unit: Option<Spanned<String>>,
    max_len: Option<Spanned<usize>>,
    format: Option<Spanned<String>>,
    hierarchy: Option<Spanned<String>>,
    note: Option<String>,
}

impl RawSurvey {
    fn validate(self, source: &Source) -> Result<Survey, SourceError> {
        if utc_offset_seconds(self.timezone.get_ref()).is_none() {
            return Err(source.error_at(
                Some(self.timezone.span()),
                format!("unsupported time zone `{}`: use Asia/Shanghai or UTC", self.timezone.get_ref()),
            ));
        }
        let start = parse_datetime(source, &self.collection_start)?;
        let end = parse_datetime(source, &self.collection_end)?;
        if end <= start {
            return Err(
                source.error_at(Some(self.collection_end.span()), "collection_end must be after collection_start")
            );
        }
        let versions = version_set(source, &self.versions, None)?;
        if self.column.is_empty() {
            return Err(source.error_at(None, "the schema declares no [[column]]"));
        }

        let mut index = BTreeMap::new();
        let mut columns = Vec::with_capacity(self.column.len());
        let mut exclusive_of_item: BTreeMap<String, String> = BTreeMap::new();
        for raw in self.column {
            let name = raw.name.get_ref().clone();
            if !is_identifier(&name) {
                return Err(source.error_at(
                    Some(raw.name.span()),
                    format!("column name `{name}` must be lower snake_case (a-z, 0-9, _)"),
                ));
            }
            if index.contains_key(&name) {
                return Err(source.error_at(Some(raw.name.span()), format!("duplicate column `{name}`")));
            }
            let exclusive_span = raw.exclusive.as_ref().map(Spanned::span);
            let column = raw.validate(source, &versions)?;
            if let ColumnKind::MultiSelect { item, exclusive: true, .. } = &column.kind
                && let Some(other) = exclusive_of_item.insert(item.clone(), name.clone())
            {
                return Err(source.error_at(
                    exclusive_span,
                    format!("item {item} has two exclusive options: `{other}` and `{name}`"),
                ));
            }
            index.insert(name, columns.len());
            columns.push(column);
        }
        let mut contradictions = Vec::with_capacity(self.contradiction.len());
        for raw in self.contradiction {
            let mut all = Vec::with_capacity(raw.all.len());
            for condition in raw.all {
                let span = condition.span();
                all.push(
                    condition.into_inner().validate(&columns, &index).map_err(|m| source.error_at(Some(span), m))?,
                );
            }
            contradictions.push(Contradiction { name: raw.name, zh: raw.zh, en: raw.en, all });
        }
        let tduck =
            match self.tduck {
                Some(raw) => {
                    let span = raw.span();
                    let survey = Columns { columns: &columns, index: &index };
                    Some(raw.into_inner().validate(&survey, &versions).map_err(|(at, message)| {
                        source.error_at(Some(at.unwrap_or(span)), format!("tduck: {message}"))
                    })?)
                }
                None => None,
            };
        Ok(Survey {
            tduck,
            contradictions,
            name: self.name,
            zh: self.zh,
            en: self.en,
            year: self.year,
            timezone: self.timezone.into_inner(),
            collection_start: start,
            collection_end: end,
            versions,
            columns,
            index,
        })
    }
}

impl RawColumn {
    #[expect(clippy::too_many_lines, reason = "one match arm per column kind")]
    fn validate(self, source: &Source, survey_versions: &BTreeSet<Version>) -> Result<Column, SourceError> {
        let name = self.name.get_ref().clone();
        let kind_name = *self.kind.get_ref();
        let here = |span: std::ops::Range<usize>, msg: String| source.error_at(Some(span), msg);

        // Keys that only some kinds take: reject them on the others, so a typo in `kind`
        // cannot silently drop the levels.
        let allowed: &[&str] = match kind_name {
            KindName::Categorical | KindName::Ordinal => &["levels"],
            KindName::Rating => &["min", "max", "reverse", "bands"],
            KindName::MultiSelect => &["option", "exclusive"],
            KindName::Integer => &["min", "max", "unit"],
            KindName::Text => &["max_len"],
            KindName::Timestamp | KindName::Identifier => &["format"],
        };
        let present: [(&str, Option<std::ops::Range<usize>>); 9] = [
            ("levels", self.levels.as_ref().map(Spanned::span)),
            ("min", self.min.as_ref().map(Spanned::span)),
            ("max", self.max.as_ref().map(Spanned::span)),
            ("reverse", self.reverse.as_ref().map(Spanned::span)),
            ("bands", self.bands.as_ref().map(Spanned::span)),
            ("option", self.option.as_ref().map(Spanned::span)),
            ("exclusive", self.exclusive.as_ref().map(Spanned::span)),
            ("unit", self.unit.as_ref().map(Spanned::span)),
            ("max_len", self.max_len.as_ref().map(Spanned::span)),
        ];
        for (key, span) in present {
            if let Some(span) = span
                && !allowed.contains(&key)
            {
                return Err(here(
                    span,
                    format!("column `{name}`: `{key}` does not apply to kind `{}`", kind_label(kind_name)),
                ));
            }
        }
        if let Some(format) = &self.format
            && !allowed.contains(&"format")
        {
            return Err(here(
                format.span(),
                format!("column `{name}`: `format` does not apply to kind `{}`", kind_label(kind_name)),
            ));
        }

        let need = |value: Option<Spanned<i64>>, key: &str| {
            value.ok_or_else(|| {
                here(self.kind.span(), format!("column `{name}`: kind `{}` needs `{key}`", kind_label(kind_name)))
            })
        };
        let kind = match kind_name {
            KindName::Categorical | KindName::Ordinal => {
                let levels = self.levels.ok_or_else(|| {
                    here(self.kind.span(), format!("column `{name}`: kind `{}` needs `levels`", kind_label(kind_name)))
                })?;
                let span = levels.span();
                let levels = levels.into_inner();
                if levels.is_empty() {
                    return Err(here(span, format!("column `{name}`: empty level set")));
                }
                let mut seen = BTreeSet::new();
                for level in &levels {
                    if !seen.insert(level.get_ref().code.clone()) {
                        return Err(here(
                            level.span(),
                            format!("column `{name}`: duplicate level code `{}`", level.get_ref().code),
                        ));
                    }
                }
                let levels = levels.into_iter().map(Spanned::into_inner).collect();
                if kind_name == KindName::Categorical {
                    ColumnKind::Categorical { levels }
                } else {
                    ColumnKind::Ordinal { levels }
                }
            }
            KindName::Rating => {
                let min = need(self.min, "min")?;
                let max = need(self.max, "max")?;
                if max.get_ref() <= min.get_ref() {
                    return Err(here(max.span(), format!("column `{name}`: empty level set (max ≤ min)")));
                }
                let (min, max) = (*min.get_ref(), *max.get_ref());
                let bands = match self.bands {
                    Some(bands) => {
                        let span = bands.span();
                        let bands = bands.into_inner();
                        check_tiling(bands.iter().map(|b| (b.min, b.max)), min, max)
                            .map_err(|msg| here(span, format!("column `{name}`: {msg}")))?;
                        bands
                    }
                    None => Vec::new(),
                };
                ColumnKind::Rating { min, max, reverse: self.reverse.is_some_and(|r| *r.get_ref()), bands }
            }
            KindName::MultiSelect => {
                let option = need(self.option, "option")?;
                let item = self.item.clone().ok_or_else(|| {
                    here(self.kind.span(), format!("column `{name}`: kind `multi_select` needs `item`"))
                })?;
                ColumnKind::MultiSelect {
                    item,
                    option: *option.get_ref(),
                    exclusive: self.exclusive.is_some_and(|e| *e.get_ref()),
                }
            }
            KindName::Integer => {
                let min = need(self.min, "min")?;
                let max = need(self.max, "max")?;
                if max.get_ref() < min.get_ref() {
                    return Err(here(max.span(), format!("column `{name}`: empty level set (max < min)")));
                }
                ColumnKind::Integer {
                    min: *min.get_ref(),
                    max: *max.get_ref(),
                    unit: self.unit.map(Spanned::into_inner),
                }
            }
            KindName::Text => ColumnKind::Text { max_len: self.max_len.map(Spanned::into_inner) },
            KindName::Timestamp => {
                let format = self.format.ok_or_else(|| {
                    here(self.kind.span(), format!("column `{name}`: kind `timestamp` needs `format`"))
                })?;
                if format.get_ref() != DATETIME_FORMAT {
                    return Err(here(
                        format.span(),
                        format!("column `{name}`: timestamp format must be \"{DATETIME_FORMAT}\""),
                    ));
                }
                ColumnKind::Timestamp { format: format.into_inner() }
            }
            KindName::Identifier => ColumnKind::Identifier { format: self.format.map(Spanned::into_inner) },
        };

        let versions = version_set(source, &self.versions, Some(survey_versions))?;
        let background = match &self.background {
            Some(b) if !*b.get_ref() && self.role == Role::QuasiIdentifier => {
                return Err(here(
                    b.span(),
                    format!("column `{name}` is a quasi-identifier, which is background knowledge by definition"),
                ));
            }
            Some(b) => *b.get_ref(),
            None => self.role == Role::QuasiIdentifier,
        };
        Ok(Column {
            name,
            zh: self.zh,
            en: self.en,
            item: self.item,
            kind,
            role: self.role,
            background,
            versions,
            missing: self.missing,
            hierarchy: self.hierarchy.map(Spanned::into_inner),
            note: self.note,
        })
    }
}

fn kind_label(kind: KindName) -> &'static str {
    match kind {
        KindName::Categorical => "categorical",
        KindName::Ordinal => "ordinal",
        KindName::Rating => "rating",
        KindName::MultiSelect => "multi_select",
        KindName::Integer => "integer",
        KindName::Text => "text",
        KindName::Timestamp => "timestamp",
        KindName::Identifier => "identifier",
    }
}

/// Bands (`(low, high)` ranges) must tile `min..=max` in order without gaps or overlaps.
pub(crate) fn check_tiling(bands: impl IntoIterator<Item = (i64, i64)>, min: i64, max: i64) -> Result<(), String> {
    let mut next = min;
    for (lo, hi) in bands {
        if lo != next || hi < lo {
            return Err(format!(
                "bands must cover {min}..{max} in order without gaps; band {lo}..{hi} should start at {next}"
            ));
        }
        next = hi + 1;
    }
    if next != max + 1 {
        return Err(format!("bands end at {}, the scale at {max}", next - 1));
    }
    Ok(())
}

fn version_set(
    source: &Source,
    versions: &Spanned<Vec<Version>>,
    allowed: Option<&BTreeSet<Version>>,
) -> Result<BTreeSet<Version>, SourceError> {
    if versions.get_ref().is_empty() {
        return Err(source.error_at(Some(versions.span()), "versions must name at least one questionnaire version"));
    }
    let set: BTreeSet<Version> = versions.get_ref().iter().copied().collect();
    if let Some(allowed) = allowed
        && let Some(v) = set.iter().find(|v| !allowed.contains(v))
    {
        return Err(source
            .error_at(Some(versions.span()), format!("version `{}` is not one of the survey's versions", v.as_str())));
    }
    Ok(set)
}

pub(crate) fn parse_datetime(source: &Source, value: &Spanned<String>) -> Result<NaiveDateTime, SourceError> {
    NaiveDateTime::parse_from_str(value.get_ref(), DATETIME_FORMAT).map_err(|e| {
        source.error_at(
            Some(value.span()),
            format!("`{}` is not a date-time like 2024-07-17 00:00:00 ({e})", value.get_ref()),
        )
    })
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
