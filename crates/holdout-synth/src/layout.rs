//! How generated answers map onto the schema's columns: which field fills each column, with
//! the option codes taken from the schema. Built once; a schema column the generator cannot
//! fill, or a level list of the wrong length, is an error at start-up rather than a bad file.

use holdout_schema::{Code, ColumnKind, Survey};

use crate::SynthError;
use crate::geo::Geography;

/// Multi-select answers kept as bit sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Set {
    Apps,
    Exposure,
    Actions,
    Roles,
    Difficulties,
    Priorities,
}

/// A categorical or ordinal answer, by level index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    FormKey,
    Version,
    Os,
    Browser,
    DailyHours,
    Fee,
    Burden,
    Q10,
    Q11,
    Gender,
    AgeGroup,
    Education,
    Occupation,
    Province,
    Rural,
    Income,
    OrgType,
    JobRole,
    OrgSize,
    IndustryYears,
    Overcollection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Serial,
    SourceId,
    CreateTime,
    Duration,
    UserAgent,
    Ip,
    Address,
    OpenId,
    NetYears,
    Age,
    City,
    Comment,
    Choice(Choice),
    Bit(Set, u8),
    Rating(u8, u8),
    /// The text typed after choosing 其他 (a free-text column `X_other` beside the choice `X`
    /// or the multi-select option `X_0`); empty unless that answer is 其他.
    Other(Other),
}

/// Where the 其他 answer that an [`Field::Other`] column explains is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Other {
    /// The multi-select option with this bit.
    Bit(Set, u8),
    /// The choice's level with this index.
    Level(Choice, u8),
}

/// One output column.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub name: String,
    pub field: Field,
    pub codes: Vec<Code>,
    /// How the CSV writes a missing value.
    pub missing: String,
    /// Whether the Parquet column is Int64 (else String).
    pub integer: bool,
}

/// Expected level counts; multi-select items with their option count.
fn choice_of(name: &str) -> Option<(Choice, usize)> {
    Some(match name {
        "form_key" => (Choice::FormKey, 2),
        "version" => (Choice::Version, 2),
        "submit_os" => (Choice::Os, 6),
        "submit_browser" => (Choice::Browser, 8),
        "q02_daily_hours" => (Choice::DailyHours, 5),
        "q03_monthly_fee" => (Choice::Fee, 5),
        "q04_fee_burden" => (Choice::Burden, 5),
        "q10_change_vs_last_year" => (Choice::Q10, 5),
        "q11_expect_next_year" => (Choice::Q11, 5),
        "q13_gender" => (Choice::Gender, 2),
        "q14_age_group" => (Choice::AgeGroup, 8),
        "q15_education" => (Choice::Education, 7),
        "q16_occupation" => (Choice::Occupation, 6),
        "q18_province" => (Choice::Province, 0),
        "q19_urban_rural" => (Choice::Rural, 2),
        "q20_income" => (Choice::Income, 7),
        "p01_org_type" => (Choice::OrgType, 8),
        "p02_job_role" => (Choice::JobRole, 6),
        "p03_org_size" => (Choice::OrgSize, 5),
        "p04_industry_years" => (Choice::IndustryYears, 5),
        "p05_app_overcollection" => (Choice::Overcollection, 4),
        _ => return None,
    })
}

fn set_of(item: &str) -> Option<(Set, usize, Option<usize>)> {
    Some(match item {
        "Q5" => (Set::Apps, 21, None),
        "Q6" => (Set::Exposure, 8, Some(7)),
        "Q7" => (Set::Actions, 12, Some(11)),
        "Q17" => (Set::Roles, 8, Some(7)),
        "P6" => (Set::Difficulties, 6, Some(5)),
        "P7" => (Set::Priorities, 5, None),
        _ => return None,
    })
}

/// The 其他 answer of `source`: a choice column with a level coded 0, or the multi-select
/// option `source_0`.
fn other_of(survey: &Survey, source: &str) -> Option<Other> {
    if let (Some((choice, _)), Some(column)) = (choice_of(source), survey.column(source)) {
        let level = column.kind.levels()?.iter().position(|l| l.code == Code::Int(0))?;
        return Some(Other::Level(choice, u8::try_from(level).ok()?));
    }
    let option = survey.column(&format!("{source}_0"))?;
    let ColumnKind::MultiSelect { item, .. } = &option.kind else { return None };
    let (set, ..) = set_of(item)?;
    let bit = survey.item_options(item).position(|c| c.name == option.name)?;
    Some(Other::Bit(set, u8::try_from(bit).ok()?))
}

#[derive(Debug)]
pub(crate) struct Layout {
    pub slots: Vec<Slot>,
    /// Level index of each geography province in `q18_province`.
    pub province_level: Vec<usize>,
}

impl Layout {
    pub fn new(survey: &Survey, geo: &Geography) -> Result<Layout, SynthError> {
        let unknown = |name: &str, why: &str| SynthError::Schema(format!("column `{name}`: {why}"));
        let mut slots = Vec::with_capacity(survey.columns.len());
        let mut province_level = Vec::new();
        for column in &survey.columns {
            let name = column.name.as_str();
            let mut codes = Vec::new();
            let field = if let Some((choice, count)) = choice_of(name) {
                let levels =
                    column.kind.levels().ok_or_else(|| unknown(name, "expected a categorical or ordinal column"))?;
                if count != 0 && levels.len() != count {
                    return Err(unknown(
                        name,
                        &format!("the generator models {count} levels, the schema has {}", levels.len()),
                    ));
                }
                codes = levels.iter().map(|l| l.code.clone()).collect();
                if choice == Choice::Province {
                    for p in &geo.provinces {
                        let i = codes.iter().position(|c| c.to_string() == *p).ok_or_else(|| {
                            unknown(name, &format!("geography province `{p}` is not one of its levels"))
                        })?;
                        province_level.push(i);
                    }
                }
                if choice == Choice::Version
                    && codes != [Code::Text("public".into()), Code::Text("practitioner".into())]
                {
                    return Err(unknown(name, "levels must be `public` then `practitioner`"));
                }
                if choice == Choice::Occupation && codes != [1, 2, 3, 4, 5, 0].map(Code::Int) {
                    return Err(unknown(name, "the generator models occupation codes 1, 2, 3, 4, 5, 0 in that order"));
                }
                Field::Choice(choice)
            } else if let ColumnKind::MultiSelect { item, .. } = &column.kind {
                let (set, count, exclusive) =
                    set_of(item).ok_or_else(|| unknown(name, &format!("the generator does not model item {item}")))?;
                let options: Vec<_> = survey.item_options(item).collect();
                if options.len() != count {
                    return Err(unknown(
                        name,
                        &format!("item {item}: the generator models {count} options, the schema has {}", options.len()),
                    ));
                }
                let bit = options.iter().position(|c| c.name == name).unwrap_or(0);
                let is_exclusive = matches!(column.kind, ColumnKind::MultiSelect { exclusive: true, .. });
                if is_exclusive != (exclusive == Some(bit)) {
                    return Err(unknown(name, "the exclusive option is not where the generator models it"));
                }
                Field::Bit(set, bit as u8)
            } else if let Some(rating) = rating_of(name) {
                if !matches!(column.kind, ColumnKind::Rating { min: 1, max: 10, .. }) {
                    return Err(unknown(name, "expected a 1–10 rating"));
                }
                rating
            } else {
                match name {
                    "serial_number" => Field::Serial,
                    "source_id" => Field::SourceId,
                    "create_time" => Field::CreateTime,
                    "complete_time_ms" => Field::Duration,
                    "submit_ua" => Field::UserAgent,
                    "submit_ip" => Field::Ip,
                    "submit_address" => Field::Address,
                    "wx_open_id" => Field::OpenId,
                    "q01_net_years" => Field::NetYears,
                    "q14_age" => Field::Age,
                    "q18_city" => Field::City,
                    "comment" => Field::Comment,
                    _ => match name.strip_suffix("_other") {
                        Some(source) => Field::Other(other_of(survey, source).ok_or_else(|| {
                            unknown(
                                name,
                                &format!("no choice `{source}` with a 其他 level (code 0) nor option `{source}_0`"),
                            )
                        })?),
                        None => return Err(unknown(name, "the synthetic generator does not know how to fill it")),
                    },
                }
            };
            let integer = match &column.kind {
                ColumnKind::Integer { .. } | ColumnKind::Rating { .. } | ColumnKind::MultiSelect { .. } => true,
                ColumnKind::Categorical { levels } | ColumnKind::Ordinal { levels } => {
                    levels.iter().all(|l| matches!(l.code, Code::Int(_)))
                }
                _ => field == Field::Serial,
            };
            slots.push(Slot {
                name: name.to_owned(),
                field,
                codes,
                missing: column.missing.clone().unwrap_or_default(),
                integer,
            });
        }
        Ok(Layout { slots, province_level })
    }
}

/// `q08_1` → block 0 row 0, `q09_3` → block 1 row 2, `q12_6` → block 2 row 5.
fn rating_of(name: &str) -> Option<Field> {
    let (block, limit) = match name.get(..4)? {
        "q08_" => (0, 5),
        "q09_" => (1, 5),
        "q12_" => (2, 6),
        _ => return None,
    };
    let row: u8 = name[4..].parse().ok()?;
    (1..=limit).contains(&row).then_some(Field::Rating(block, row - 1))
}
