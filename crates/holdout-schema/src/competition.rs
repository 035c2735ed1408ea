//! Contest definitions (`datasets/<contest>/competition.toml`): what to predict, how it is
//! scored, how the data is split and protected, and the rules of the contest.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::dataset::Dataset;
use crate::source::{Source, SourceError, toml_error};
use crate::survey::{ColumnKind, Role, check_tiling, parse_datetime, utc_offset_seconds};

/// Text in both languages of the website.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    pub zh: String,
    pub en: String,
}

/// The learning task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Labels 0 and 1; 1 is the positive class.
    Binary,
    /// Unordered classes.
    Multiclass {
        labels: Vec<i64>,
    },
    /// Ordered classes, lowest first.
    Ordinal {
        labels: Vec<i64>,
    },
    Regression,
}

impl Task {
    pub fn name(&self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::Multiclass { .. } => "multiclass",
            Task::Ordinal { .. } => "ordinal",
            Task::Regression => "regression",
        }
    }

    /// The class labels of a classification task (`[0, 1]` for binary).
    pub fn labels(&self) -> Option<Vec<i64>> {
        match self {
            Task::Binary => Some(vec![0, 1]),
            Task::Multiclass { labels } | Task::Ordinal { labels } => Some(labels.clone()),
            Task::Regression => None,
        }
    }
}

/// What a submission file holds besides `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictionFormat {
    /// Column `label`: one class label per row.
    Label,
    /// Column `probability`: the probability of the positive class (binary only).
    Probability,
    /// One column per class, named by the class label, each row summing to 1.
    ClassProbabilities,
    /// Column `value`: a real number (regression).
    Value,
}

impl PredictionFormat {
    pub fn name(self) -> &'static str {
        match self {
            PredictionFormat::Label => "label",
            PredictionFormat::Probability => "probability",
            PredictionFormat::ClassProbabilities => "class_probabilities",
            PredictionFormat::Value => "value",
        }
    }
}

/// The metrics holdout computes, named as scikit-learn names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Accuracy,
    BalancedAccuracy,
    PrecisionMacro,
    RecallMacro,
    F1Macro,
    F1Micro,
    F1Weighted,
    MatthewsCorrcoef,
    CohenKappaQuadratic,
    LogLoss,
    RocAuc,
    RocAucOvrMacro,
    RocAucOvrWeighted,
    AveragePrecision,
    Rmse,
    Mae,
    R2,
    Spearman,
}

impl Metric {
    /// Every metric, in the order reports list them.
    pub const ALL: [Metric; 18] = [
        Metric::Accuracy,
        Metric::BalancedAccuracy,
        Metric::PrecisionMacro,
        Metric::RecallMacro,
        Metric::F1Macro,
        Metric::F1Micro,
        Metric::F1Weighted,
        Metric::MatthewsCorrcoef,
        Metric::CohenKappaQuadratic,
        Metric::LogLoss,
        Metric::RocAuc,
        Metric::RocAucOvrMacro,
        Metric::RocAucOvrWeighted,
        Metric::AveragePrecision,
        Metric::Rmse,
        Metric::Mae,
        Metric::R2,
        Metric::Spearman,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced_accuracy",
            Metric::PrecisionMacro => "precision_macro",
            Metric::RecallMacro => "recall_macro",
            Metric::F1Macro => "f1_macro",
            Metric::F1Micro => "f1_micro",
            Metric::F1Weighted => "f1_weighted",
            Metric::MatthewsCorrcoef => "matthews_corrcoef",
            Metric::CohenKappaQuadratic => "cohen_kappa_quadratic",
            Metric::LogLoss => "log_loss",
            Metric::RocAuc => "roc_auc",
            Metric::RocAucOvrMacro => "roc_auc_ovr_macro",
            Metric::RocAucOvrWeighted => "roc_auc_ovr_weighted",
            Metric::AveragePrecision => "average_precision",
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
            Metric::Spearman => "spearman",
        }
    }

    /// Whether a larger value is a better score.
    pub fn greater_is_better(self) -> bool {
        !matches!(self, Metric::LogLoss | Metric::Rmse | Metric::Mae)
    }

    /// Whether the metric can be computed for this task from submissions in this format.
    pub fn applies(self, task: &Task, format: PredictionFormat) -> bool {
        use Metric::{
            Accuracy, AveragePrecision, BalancedAccuracy, CohenKappaQuadratic, F1Macro, F1Micro, F1Weighted, LogLoss,
            Mae, MatthewsCorrcoef, PrecisionMacro, R2, RecallMacro, Rmse, RocAuc, RocAucOvrMacro, RocAucOvrWeighted,
            Spearman,
        };
        use PredictionFormat as F;
        let classification = !matches!(task, Task::Regression);
        match self {
            // Label metrics: labels come from the file, the 0.5 threshold or the arg-max.
            Accuracy | BalancedAccuracy | PrecisionMacro | RecallMacro | F1Macro | F1Micro | F1Weighted
            | MatthewsCorrcoef => classification,
            CohenKappaQuadratic => matches!(task, Task::Ordinal { .. }),
            LogLoss => classification && matches!(format, F::Probability | F::ClassProbabilities),
            RocAuc | AveragePrecision => matches!(task, Task::Binary) && format == F::Probability,
            RocAucOvrMacro | RocAucOvrWeighted => {
                matches!(task, Task::Multiclass { .. } | Task::Ordinal { .. }) && format == F::ClassProbabilities
            }
            // Distances make sense on ordered labels as well as on values.
            Rmse | Mae => matches!(task, Task::Regression | Task::Ordinal { .. }),
            R2 | Spearman => matches!(task, Task::Regression),
        }
    }
}

/// How the target is computed from the raw export.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetDerivation {
    /// A rating banded into classes: a rating in `bands[i]` gets label `i + 1`.
    Bands { column: String, bands: Vec<(i64, i64)> },
    /// 1 when a multi-select option is ticked, else 0.
    Option { column: String },
    /// A 0–100 index: each rating scaled to `rating / max × 100` (`(max + 1 − rating) / max × 100`
    /// when reverse-keyed), averaged within a block, blocks averaged with their weights.
    Index { blocks: Vec<IndexBlock> },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexBlock {
    pub columns: Vec<String>,
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

/// The column competitors predict.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub zh: String,
    pub en: String,
    pub derivation: TargetDerivation,
    /// Raw columns that determine the target, all withheld from the features.
    pub sources: Vec<String>,
}

/// The train/test split.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub test_share: f64,
    /// Share of the test rows scored on the public board; the rest decide the private board.
    pub public_share: f64,
    pub stratify: bool,
    pub seed: u64,
    /// Share of the test rows held back as test set B for the final phase, when A/B boards run.
    pub b_share: Option<f64>,
}

/// A quasi-identifier and the hierarchy that generalizes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuasiIdentifier {
    pub column: String,
    pub hierarchy: String,
    /// The hierarchy level the column's raw values sit at (0 unless the column is itself a
    /// generalization, like the province of a city hierarchy).
    pub level: usize,
    /// How much the contest wants this column kept (≥ 1, default 1): the search weighs the
    /// information a column loses, by generalization or by suppressed cells, by its importance.
    pub importance: u32,
}

/// What happens to free text before publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FreeTextPolicy {
    Drop,
    Scrub,
}

/// The privacy model the published files must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct Privacy {
    pub quasi_identifiers: Vec<QuasiIdentifier>,
    pub k: u32,
    /// Distinct target values required in every equivalence class, when set.
    pub l_diversity: Option<u32>,
    /// Largest share of rows that may be suppressed whole (every quasi-identifier `*`).
    pub max_suppression: f64,
    /// Largest share of rows that may lose cells to local suppression (default 0.1).
    pub max_cell_suppression: f64,
    /// Largest prosecutor re-identification risk (1 / class size) of any record.
    pub max_record_risk: f64,
    /// Largest average prosecutor risk over records.
    pub max_average_risk: f64,
    pub free_text: FreeTextPolicy,
    /// Publish scrubbed free text even when the second detector still finds personal data in
    /// it (default false: such a release is blocked).
    pub allow_residual_pii: bool,
    /// Size of the population the respondents are drawn from (for population-uniqueness
    /// estimates); by default China's netizens, 1.1 billion (CNNIC, 2024).
    pub population: u64,
    /// Largest expected share of respondents an acquaintance identifies by linking what they
    /// know (the background columns) to the published rows; 1/k unless the contest says.
    pub max_linkage_rate: f64,
}

/// Which invalid-sample rules run, with their parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(clippy::struct_excessive_bools, reason = "each bool switches one screening rule on or off")]
pub struct Screening {
    pub duplicates: bool,
    pub near_duplicates: bool,
    /// Responses faster than this are speeders.
    pub speeder_min_seconds: f64,
    /// ... and so are those below this percentile of fill durations.
    pub speeder_percentile: f64,
    pub straightlining: bool,
    pub contradictions: bool,
    pub bot_burst: BotBurst,
    /// Columns each of which identifies one person (a `WeChat` openid, a phone number).
    #[serde(default = "default_person_keys")]
    pub person_keys: Vec<String>,
    /// Columns that together identify one device (IP address and user agent).
    #[serde(default = "default_device_key")]
    pub device_key: Vec<String>,
    /// Responses from one device count as one respondent within this many hours.
    #[serde(default = "default_device_window_hours")]
    pub device_window_hours: f64,
    /// The distribution channel (QR code) a response came through.
    #[serde(default = "default_channel")]
    pub channel: String,
    /// The fill duration (an integer column in `ms` or `s`).
    #[serde(default = "default_duration")]
    pub duration: String,
    /// The submission time.
    #[serde(default = "default_submitted")]
    pub submitted: String,
}

fn default_person_keys() -> Vec<String> {
    vec!["wx_open_id".into()]
}
fn default_device_key() -> Vec<String> {
    vec!["submit_ip".into(), "submit_ua".into()]
}
fn default_device_window_hours() -> f64 {
    24.0
}
fn default_channel() -> String {
    "source_id".into()
}
fn default_duration() -> String {
    "complete_time_ms".into()
}
fn default_submitted() -> String {
    "create_time".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotBurst {
    pub window_minutes: u32,
    pub min_count: u32,
    /// Coefficient of variation of fill durations below which a burst looks scripted.
    pub max_duration_cv: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionLimits {
    pub daily: u32,
    pub total: u32,
    pub max_file_mb: u32,
    /// Submissions a team may select for final scoring.
    pub final_selections: u32,
}

/// A contest phase; times are stored in UTC and shown in the survey's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    pub name: String,
    pub zh: String,
    pub en: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Test set scored on this phase's board: `a`, or `b` in the final phase of A/B contests.
    pub board: Board,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Board {
    A,
    B,
}

/// A validated contest definition.
#[derive(Debug, Clone)]
pub struct Competition {
    pub name: String,
    pub survey: String,
    pub title: Bilingual,
    pub description: Bilingual,
    pub target: Target,
    pub task: Task,
    pub primary_metric: Metric,
    pub secondary_metrics: Vec<Metric>,
    pub prediction: PredictionFormat,
    /// Feature columns in schema order.
    pub features: Vec<String>,
    pub split: Split,
    pub privacy: Privacy,
    pub screening: Screening,
    pub submission: SubmissionLimits,
    pub team_size: u32,
    pub phases: Vec<Phase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompetition {
    name: String,
    survey: Spanned<String>,
    title: Bilingual,
    description: Bilingual,
    target: RawTarget,
    task: RawTask,
    metrics: RawMetrics,
    prediction: RawPrediction,
    #[serde(default)]
    features: RawFeatures,
    split: RawSplit,
    privacy: RawPrivacy,
    screening: Screening,
    submission: SubmissionLimits,
    team: RawTeam,
    #[serde(default)]
    phase: Vec<RawPhase>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum DeriveName {
    Bands,
    Option,
    Index,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: String,
    zh: String,
    en: String,
    derive: Spanned<DeriveName>,
    column: Option<Spanned<String>>,
    bands: Option<Spanned<Vec<(i64, i64)>>>,
    #[serde(default)]
    block: Vec<Spanned<IndexBlock>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum TaskName {
    Binary,
    Multiclass,
    Ordinal,
    Regression,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    #[serde(rename = "type")]
    kind: Spanned<TaskName>,
    labels: Option<Spanned<Vec<i64>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    primary: Spanned<Metric>,
    #[serde(default)]
    secondary: Vec<Spanned<Metric>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrediction {
    format: Spanned<PredictionFormat>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFeatures {
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    /// Metadata columns to publish as features (e.g. the questionnaire version).
    #[serde(default)]
    extra: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSplit {
    test_share: Spanned<f64>,
    public_share: Spanned<f64>,
    stratify: bool,
    seed: u64,
    b_share: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrivacy {
    k: Spanned<u32>,
    l_diversity: Option<Spanned<u32>>,
    max_suppression: Spanned<f64>,
    max_cell_suppression: Option<Spanned<f64>>,
    max_record_risk: Spanned<f64>,
    max_average_risk: Spanned<f64>,
    free_text: FreeTextPolicy,
    #[serde(default)]
    allow_residual_pii: bool,
    population: Option<Spanned<u64>>,
    max_linkage_rate: Option<Spanned<f64>>,
    #[serde(default)]
    quasi_identifier: Vec<RawQuasi>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuasi {
    column: Spanned<String>,
    hierarchy: Spanned<String>,
    level: Option<Spanned<String>>,
    importance: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    max_size: Spanned<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    name: String,
    zh: String,
    en: String,
    start: Spanned<String>,
    end: Spanned<String>,
    board: Spanned<Board>,
}

/// Just the `survey` key, read first to find the dataset a definition is validated against.
#[derive(Deserialize)]
struct SurveyKey {
    survey: String,
}

impl Competition {
    /// The name of the survey dataset a `competition.toml` is defined on.
    pub fn survey_name(source: &Source) -> Result<String, SourceError> {
        toml::from_str::<SurveyKey>(&source.text).map(|k| k.survey).map_err(|e| toml_error(source, &e))
    }

    /// Parses a `competition.toml` and validates it against the survey it names.
    pub fn parse(source: &Source, dataset: &Dataset) -> Result<Competition, SourceError> {
        let raw: RawCompetition = toml::from_str(&source.text).map_err(|e| toml_error(source, &e))?;
        raw.validate(source, dataset)
    }
}

impl RawCompetition {
    #[expect(clippy::too_many_lines, reason = "one linear pass over the sections of the file")]
    fn validate(self, source: &Source, dataset: &Dataset) -> Result<Competition, SourceError> {
        let survey = &dataset.survey;
        let err = |span: std::ops::Range<usize>, msg: String| source.error_at(Some(span), msg);
        if self.survey.get_ref() != &survey.name {
            return Err(err(
                self.survey.span(),
                format!("survey `{}` does not match the loaded survey `{}`", self.survey.get_ref(), survey.name),
            ));
        }
        let column = |name: &Spanned<String>| {
            survey
                .column(name.get_ref())
                .ok_or_else(|| err(name.span(), format!("unknown column `{}`", name.get_ref())))
        };

        // Task.
        let task = match (*self.task.kind.get_ref(), &self.task.labels) {
            (TaskName::Binary, None) => Task::Binary,
            (TaskName::Regression, None) => Task::Regression,
            (TaskName::Multiclass | TaskName::Ordinal, Some(labels)) => {
                let set: BTreeSet<_> = labels.get_ref().iter().collect();
                if labels.get_ref().len() < 2 || set.len() != labels.get_ref().len() {
                    return Err(err(labels.span(), "labels must be at least two distinct values".into()));
                }
                let labels = labels.get_ref().clone();
                if *self.task.kind.get_ref() == TaskName::Ordinal {
                    Task::Ordinal { labels }
                } else {
                    Task::Multiclass { labels }
                }
            }
            (TaskName::Multiclass | TaskName::Ordinal, None) => {
                return Err(err(self.task.kind.span(), "multiclass and ordinal tasks need `labels`".into()));
            }
            (_, Some(labels)) => {
                return Err(err(labels.span(), "only multiclass and ordinal tasks take `labels`".into()));
            }
        };

        // Target.
        let target = self.target;
        let need_column =
            || target.column.as_ref().ok_or_else(|| err(target.derive.span(), "this derivation needs `column`".into()));
        let (derivation, mut sources) = match *target.derive.get_ref() {
            DeriveName::Bands => {
                let name = need_column()?;
                let ColumnKind::Rating { min, max, .. } = column(name)?.kind else {
                    return Err(err(name.span(), format!("`{}` is not a rating column", name.get_ref())));
                };
                let bands = target
                    .bands
                    .as_ref()
                    .ok_or_else(|| err(target.derive.span(), "`bands` derivation needs `bands`".into()))?;
                check_tiling(bands.get_ref().iter().copied(), min, max).map_err(|msg| err(bands.span(), msg))?;
                let expected: Vec<i64> = (1..=bands.get_ref().len() as i64).collect();
                if task.labels().as_deref() != Some(&expected[..]) {
                    return Err(err(
                        self.task.kind.span(),
                        format!(
                            "{} bands give labels {expected:?}; the task must declare exactly those",
                            expected.len()
                        ),
                    ));
                }
                (
                    TargetDerivation::Bands { column: name.get_ref().clone(), bands: bands.get_ref().clone() },
                    vec![name.get_ref().clone()],
                )
            }
            DeriveName::Option => {
                let name = need_column()?;
                let ColumnKind::MultiSelect { item, .. } = &column(name)?.kind else {
                    return Err(err(name.span(), format!("`{}` is not a multi-select option column", name.get_ref())));
                };
                if task != Task::Binary {
                    return Err(err(self.task.kind.span(), "an `option` target makes a binary task".into()));
                }
                // The item's exclusive "none of these" option determines the target when ticked.
                let mut sources = vec![name.get_ref().clone()];
                sources.extend(
                    survey
                        .item_options(item)
                        .filter(|c| matches!(c.kind, ColumnKind::MultiSelect { exclusive: true, .. }))
                        .map(|c| c.name.clone()),
                );
                (TargetDerivation::Option { column: name.get_ref().clone() }, sources)
            }
            DeriveName::Index => {
                if target.block.is_empty() {
                    return Err(err(
                        target.derive.span(),
                        "an `index` target needs at least one [[target.block]]".into(),
                    ));
                }
                let mut sources = Vec::new();
                for block in &target.block {
                    let b = block.get_ref();
                    if b.columns.is_empty() || !(b.weight > 0.0 && b.weight.is_finite()) {
                        return Err(err(block.span(), "a block needs columns and a positive weight".into()));
                    }
                    for c in &b.columns {
                        match survey.column(c).map(|c| &c.kind) {
                            Some(ColumnKind::Rating { .. }) => sources.push(c.clone()),
                            Some(_) => return Err(err(block.span(), format!("`{c}` is not a rating column"))),
                            None => return Err(err(block.span(), format!("unknown column `{c}`"))),
                        }
                    }
                }
                if task != Task::Regression {
                    return Err(err(self.task.kind.span(), "an `index` target makes a regression task".into()));
                }
                (
                    TargetDerivation::Index { blocks: target.block.iter().map(|b| b.get_ref().clone()).collect() },
                    sources,
                )
            }
        };
        sources.dedup();

        // Metrics and format.
        let format = *self.prediction.format.get_ref();
        let format_ok = match &task {
            Task::Binary => matches!(format, PredictionFormat::Label | PredictionFormat::Probability),
            Task::Multiclass { .. } | Task::Ordinal { .. } => {
                matches!(format, PredictionFormat::Label | PredictionFormat::ClassProbabilities)
            }
            Task::Regression => format == PredictionFormat::Value,
        };
        if !format_ok {
            return Err(err(
                self.prediction.format.span(),
                format!("prediction format does not fit a {} task", task.name()),
            ));
        }
        let mut metrics = BTreeSet::new();
        for m in std::iter::once(&self.metrics.primary).chain(&self.metrics.secondary) {
            let metric = *m.get_ref();
            if !metric.applies(&task, format) {
                return Err(err(
                    m.span(),
                    format!(
                        "metric `{}` does not apply to the {} task with prediction format `{}`",
                        metric.name(),
                        task.name(),
                        format.name()
                    ),
                ));
            }
            if !metrics.insert(metric) {
                return Err(err(m.span(), format!("metric `{}` is listed twice", metric.name())));
            }
        }

        // Features: every answer, quasi-identifier and sensitive column (and free text when it is
        // scrubbed), less exclusions and the target's sources, plus explicitly requested metadata.
        let mut excluded = BTreeSet::new();
        for name in &self.features.exclude {
            column(name)?;
            excluded.insert(name.get_ref().clone());
        }
        let mut extra = BTreeSet::new();
        for name in &self.features.extra {
            let c = column(name)?;
            if c.role != Role::Metadata {
                return Err(err(
                    name.span(),
                    format!("`{}` is not a metadata column; only metadata needs `extra`", c.name),
                ));
            }
            if matches!(c.kind, ColumnKind::Timestamp { .. } | ColumnKind::Identifier { .. } | ColumnKind::Text { .. })
            {
                return Err(err(
                    name.span(),
                    format!("`{}` identifies or dates a response and can never be a feature", c.name),
                ));
            }
            extra.insert(c.name.clone());
        }
        // Free text is published only scrubbed of personal data, and only when the policy says so.
        let scrub_text = self.privacy.free_text == FreeTextPolicy::Scrub;
        let features: Vec<String> = survey
            .columns
            .iter()
            .filter(|c| {
                let publishable = matches!(c.role, Role::Answer | Role::QuasiIdentifier | Role::Sensitive)
                    || (c.role == Role::FreeText && scrub_text);
                (publishable || extra.contains(&c.name)) && !excluded.contains(&c.name) && !sources.contains(&c.name)
            })
            .map(|c| c.name.clone())
            .collect();
        if features.is_empty() {
            return Err(source.error_at(None, "the contest has no feature columns left"));
        }

        // Split.
        let split_raw = self.split;
        for share in [&split_raw.test_share, &split_raw.public_share].into_iter().chain(split_raw.b_share.as_ref()) {
            if !(*share.get_ref() > 0.0 && *share.get_ref() < 1.0) {
                return Err(err(share.span(), "a share must be strictly between 0 and 1".into()));
            }
        }
        let split = Split {
            test_share: *split_raw.test_share.get_ref(),
            public_share: *split_raw.public_share.get_ref(),
            stratify: split_raw.stratify,
            seed: split_raw.seed,
            b_share: split_raw.b_share.map(Spanned::into_inner),
        };

        // Privacy.
        let privacy_raw = self.privacy;
        if *privacy_raw.k.get_ref() < 2 {
            return Err(err(privacy_raw.k.span(), "k must be at least 2".into()));
        }
        for share in [&privacy_raw.max_suppression, &privacy_raw.max_record_risk, &privacy_raw.max_average_risk]
            .into_iter()
            .chain(privacy_raw.max_linkage_rate.as_ref())
            .chain(privacy_raw.max_cell_suppression.as_ref())
        {
            if !(*share.get_ref() >= 0.0 && *share.get_ref() <= 1.0) {
                return Err(err(share.span(), "must be between 0 and 1".into()));
            }
        }
        if let Some(l) = &privacy_raw.l_diversity
            && *l.get_ref() < 2
        {
            return Err(err(l.span(), "l-diversity needs l ≥ 2".into()));
        }
        let mut quasi_identifiers = Vec::new();
        for q in &privacy_raw.quasi_identifier {
            let c = column(&q.column)?;
            if !c.background {
                return Err(err(
                    q.column.span(),
                    format!(
                        "`{}` is not background knowledge in the schema (neither a quasi_identifier nor `background = true`)",
                        c.name
                    ),
                ));
            }
            if quasi_identifiers.iter().any(|p: &QuasiIdentifier| p.column == c.name) {
                return Err(err(q.column.span(), format!("`{}` is listed twice", c.name)));
            }
            let Some(h) = dataset.hierarchies.get(q.hierarchy.get_ref()) else {
                return Err(err(q.hierarchy.span(), format!("unknown hierarchy `{}`", q.hierarchy.get_ref())));
            };
            let level = match &q.level {
                None => 0,
                Some(name) => h.levels[..h.depth() - 1].iter().position(|l| l == name.get_ref()).ok_or_else(|| {
                    err(name.span(), format!("hierarchy `{}` has no level `{}` below `*`", h.name, name.get_ref()))
                })?,
            };
            if h.depth() < level + 2 {
                return Err(err(q.hierarchy.span(), "a hierarchy needs at least one level above the raw value".into()));
            }
            let importance = match &q.importance {
                Some(i) if *i.get_ref() == 0 => {
                    return Err(err(i.span(), "importance must be at least 1".into()));
                }
                Some(i) => *i.get_ref(),
                None => 1,
            };
            quasi_identifiers.push(QuasiIdentifier {
                column: c.name.clone(),
                hierarchy: h.name.clone(),
                level,
                importance,
            });
        }
        // The attacker model: whatever an acquaintance can know about a respondent (the schema's
        // background columns) is published only as a quasi-identifier, generalized and counted
        // in k. Anything else would let a colleague single someone out by a fact k never saw.
        if let Some(missing) = features.iter().find(|f| {
            survey.column(f).is_some_and(|c| c.background) && !quasi_identifiers.iter().any(|q| &q.column == *f)
        }) {
            let at = self
                .features
                .extra
                .iter()
                .find(|e| e.get_ref() == missing)
                .map(Spanned::span)
                .or_else(|| table_header(&source.text, "features"))
                .or_else(|| table_header(&source.text, "privacy"));
            return Err(source.error_at(
                at,
                format!(
                    "feature `{missing}` is background knowledge (an acquaintance can know it) but not a quasi-identifier: \
                     a colleague or neighbour could single a respondent out by it. Protect it with a \
                     [[privacy.quasi_identifier]] entry, or leave it out with [features] exclude"
                ),
            ));
        }
        let privacy = Privacy {
            quasi_identifiers,
            k: *privacy_raw.k.get_ref(),
            l_diversity: privacy_raw.l_diversity.map(Spanned::into_inner),
            max_suppression: *privacy_raw.max_suppression.get_ref(),
            max_cell_suppression: privacy_raw.max_cell_suppression.map_or(0.1, Spanned::into_inner),
            max_record_risk: *privacy_raw.max_record_risk.get_ref(),
            max_average_risk: *privacy_raw.max_average_risk.get_ref(),
            free_text: privacy_raw.free_text,
            allow_residual_pii: privacy_raw.allow_residual_pii,
            population: privacy_raw.population.map_or(1_100_000_000, Spanned::into_inner),
            max_linkage_rate: privacy_raw
                .max_linkage_rate
                .map_or(1.0 / f64::from(*privacy_raw.k.get_ref()), Spanned::into_inner),
        };

        // Screening, limits, team.
        let sc = &self.screening;
        if !(sc.speeder_percentile >= 0.0 && sc.speeder_percentile < 50.0) || sc.speeder_min_seconds < 0.0 {
            return Err(
                source.error_at(None, "screening: speeder_min_seconds must be ≥ 0 and speeder_percentile in [0, 50)")
            );
        }
        let named = sc.person_keys.iter().chain(&sc.device_key).chain([&sc.channel, &sc.duration, &sc.submitted]);
        if let Some(unknown) = named.into_iter().find(|c| survey.column(c).is_none()) {
            return Err(source.error_at(None, format!("screening: no column `{unknown}` in the survey")));
        }
        let unit = survey.column(&sc.duration).map(|c| &c.kind);
        if !matches!(unit, Some(ColumnKind::Integer { unit: Some(u), .. }) if u == "ms" || u == "s") {
            return Err(
                source.error_at(None, format!("screening: `{}` must be an integer column in ms or s", sc.duration))
            );
        }
        if !matches!(survey.column(&sc.submitted).map(|c| &c.kind), Some(ColumnKind::Timestamp { .. })) {
            return Err(source.error_at(None, format!("screening: `{}` must be a timestamp column", sc.submitted)));
        }
        if self.submission.daily == 0
            || self.submission.total < self.submission.daily
            || self.submission.final_selections == 0
        {
            return Err(source.error_at(None, "submission: need daily ≥ 1, total ≥ daily and final_selections ≥ 1"));
        }
        if *self.team.max_size.get_ref() == 0 {
            return Err(err(self.team.max_size.span(), "team max_size must be at least 1".into()));
        }

        // Phases, in local time of the survey's zone, stored in UTC.
        let offset = i64::from(utc_offset_seconds(&survey.timezone).unwrap_or(0));
        let to_utc = |local: NaiveDateTime| (local - chrono::Duration::seconds(offset)).and_utc();
        let mut phases: Vec<Phase> = Vec::new();
        for raw in self.phase {
            let start = to_utc(parse_datetime(source, &raw.start)?);
            let end = to_utc(parse_datetime(source, &raw.end)?);
            if end <= start {
                return Err(err(raw.end.span(), format!("phase `{}` ends before it starts", raw.name)));
            }
            if let Some(prev) = phases.last()
                && start < prev.end
            {
                return Err(err(
                    raw.start.span(),
                    format!("phase `{}` starts before phase `{}` ends", raw.name, prev.name),
                ));
            }
            if *raw.board.get_ref() == Board::B && split.b_share.is_none() {
                return Err(err(raw.board.span(), "board `b` needs split.b_share (A/B test sets)".into()));
            }
            phases.push(Phase { name: raw.name, zh: raw.zh, en: raw.en, start, end, board: *raw.board.get_ref() });
        }
        if phases.is_empty() {
            return Err(source.error_at(None, "the contest declares no [[phase]]"));
        }

        Ok(Competition {
            name: self.name,
            survey: self.survey.into_inner(),
            title: self.title,
            description: self.description,
            target: Target { name: target.name, zh: target.zh, en: target.en, derivation, sources },
            task,
            primary_metric: *self.metrics.primary.get_ref(),
            secondary_metrics: self.metrics.secondary.iter().map(|m| *m.get_ref()).collect(),
            prediction: format,
            features,
            split,
            privacy,
            screening: self.screening,
            submission: self.submission,
            team_size: self.team.max_size.into_inner(),
            phases,
        })
    }
}

/// Where the `[name]` table header starts in a TOML text, if it has one.
fn table_header(text: &str, name: &str) -> Option<std::ops::Range<usize>> {
    let header = format!("[{name}]");
    text.lines()
        .scan(0, |offset, line| {
            let start = *offset;
            *offset += line.len() + 1;
            Some((start, line))
        })
        .find(|(_, line)| line.trim_start() == header)
        .map(|(start, line)| {
            let at = start + line.len() - line.trim_start().len();
            at..at + header.len()
        })
}
