//! The machine-readable description of a published feature column (`columns` in a bundle's
//! `MANIFEST.json`): enough for a competitor, or `holdout baseline`, to encode train and test
//! from the bundle alone — without the survey schema and without guessing from the data.
//!
//! Values are written as they appear in the CSV. Two tokens are common to every column: the
//! empty field (not asked in this questionnaire version, or not answered) and, in a
//! quasi-identifier, [`SUPPRESSED`] (withheld for k-anonymity).

use serde::{Deserialize, Serialize};

/// The text of a suppressed quasi-identifier value.
pub const SUPPRESSED: &str = "*";

/// How a published column is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// Unordered options, listed in `values`.
    Categorical,
    /// Options from low to high, listed in `values` in that order.
    Ordinal,
    /// An integer rating `min..=max`.
    Rating,
    /// One option of a multi-select item: 1 ticked, 0 not.
    MultiSelect,
    /// A count or other integer in `min..=max`.
    Integer,
    /// Free text (scrubbed of personal data).
    Text,
}

/// One option of a categorical or ordinal column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueInfo {
    /// The value as written in the CSV.
    pub value: String,
    pub zh: String,
    pub en: String,
}

/// One published feature column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnInfo {
    pub name: String,
    pub zh: String,
    pub en: String,
    pub kind: FeatureKind,
    /// Every value a categorical or ordinal column may hold (besides empty and `*`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ValueInfo>,
    /// The range of a rating or integer column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// A rating where a high score means something bad.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reverse: bool,
    /// The multi-select item an option column belongs to (`Q5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// For a quasi-identifier, the generalization level it was published at (`code` when
    /// unchanged). A generalized column is categorical over its published values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generalized: Option<String>,
    /// Whether the column holds empty values (not asked or not answered).
    pub has_missing: bool,
    /// Whether the column holds suppressed values ([`SUPPRESSED`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub has_suppressed: bool,
}
