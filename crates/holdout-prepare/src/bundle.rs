//! Assembling the release: the published feature columns (quasi-identifiers generalized or
//! suppressed, free text scrubbed), the files competitors and organizers get, and the reports
//! that justify publishing them. Writers take any `io::Write`; the caller owns the files.

use std::collections::BTreeMap;
use std::io::{self, Write};

use holdout_schema::{ColumnKind, Competition, Dataset, FreeTextPolicy, PredictionFormat, Task};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::attack;
use crate::detect::{self, ResidualCounts};
use crate::generalize::{self, Domain, Generalization, Rows};
use crate::keys::Secret;
use crate::leakage::{self, Feature, LeakageReport};
use crate::raw::{MISSING, RawTable, Values};
use crate::risk::{self, RiskSummary};
use crate::screen::{self, ScreeningReport};
use crate::scrub::Scrubber;
use crate::split::{self, Part};

/// A published column: codes into labels for everything but free text.
#[derive(Debug, Clone)]
pub enum PublishedValues {
    Coded { codes: Vec<u16>, labels: Vec<String> },
    Text(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct PublishedColumn {
    pub name: String,
    pub values: PublishedValues,
    /// Whether every non-empty label is an integer (written as an integer column to Parquet).
    pub integer: bool,
}

impl PublishedColumn {
    pub fn text(&self, row: usize) -> &str {
        match &self.values {
            PublishedValues::Coded { codes, labels } => &labels[usize::from(codes[row])],
            PublishedValues::Text(t) => &t[row],
        }
    }
}

/// Bytes gathered before a CSV writer hands them on.
const CSV_CHUNK: usize = 1 << 20;

/// Rows whose coded cells a CSV writer gathers at once.
const CSV_BLOCK: usize = 1 << 18;

/// The positions of `rows` (published in id order) sorted by row, into `visit`: gathering a
/// column's cells in this order walks it forwards instead of at random.
fn row_order(rows: &[usize], visit: &mut Vec<u32>) {
    visit.clear();
    visit.extend(0..rows.len() as u32);
    visit.sort_unstable_by_key(|&k| rows[k as usize]);
}

/// Appends one CSV field as the `csv` crate writes it with its default (necessary) quoting and a
/// `\n` terminator: quoted, quotes doubled, when it holds a comma, a quote, CR or LF; as is
/// otherwise. (An empty field alone on its record would need `""`; no record here has one field.)
fn push_csv_field(out: &mut Vec<u8>, field: &[u8]) {
    if field.iter().any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.push(b'"');
        for &b in field {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Screen(#[from] screen::ScreenError),
    #[error(transparent)]
    Generalize(#[from] generalize::GeneralizeError),
    #[error(transparent)]
    Risk(#[from] risk::RiskError),
    #[error("{0}")]
    Data(String),
    #[error("release blocked — nothing is published:\n  - {}", .0.join("\n  - "))]
    Blocked(Vec<String>),
}

/// The contest's primary metric for one quick baseline fitted on the same training rows and
/// scored on the same test rows, once with the raw quasi-identifiers and once as published.
#[derive(Debug, Clone, Serialize)]
pub struct UtilityPrice {
    pub model: String,
    pub metric: String,
    pub training_rows: u64,
    pub test_rows: u64,
    /// `None` when the metric is undefined on these rows.
    pub raw: Option<f64>,
    pub published: Option<f64>,
}

/// What protecting one quasi-identifier cost it.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnProtection {
    pub column: String,
    pub importance: f64,
    /// The hierarchy level published.
    pub level: String,
    /// Share of the cells published at a value that covers more than their raw value.
    pub generalized_share: f64,
    /// Share of the cells blanked to `*` by local suppression.
    pub suppressed_share: f64,
}

/// Risk of one released table.
#[derive(Debug, Clone, Serialize)]
pub struct SplitRisk {
    pub table: &'static str,
    pub risk: RiskSummary,
    pub suppressed_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct InformationLoss {
    /// The search objective: mean share of each quasi-identifier's entropy lost.
    pub entropy_loss: f64,
    /// Mean of level / height over the quasi-identifiers (0 raw, 1 all suppressed).
    pub generalization_intensity: f64,
    /// Σ f² over the classes of train and test together (a fully suppressed row is in a class).
    pub discernibility: f64,
    /// Non-uniform entropy: mean bits per record lost by generalization, summed over columns.
    pub non_uniform_entropy_bits: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RiskReport {
    pub k: u32,
    pub l_diversity: Option<u32>,
    pub max_suppression: f64,
    pub max_record_risk: f64,
    pub max_average_risk: f64,
    pub population: u64,
    pub generalization: Generalization,
    pub tables: Vec<SplitRisk>,
    /// Per quasi-identifier: how much of it the release generalized and suppressed.
    pub columns: Vec<ColumnProtection>,
    pub information_loss: InformationLoss,
    /// Direct identifiers and other columns that are never published.
    pub dropped_columns: Vec<String>,
    pub free_text: FreeTextReport,
    /// Share of rows with a suppressed cell per target class (suppression must not proxy the
    /// target).
    pub suppression_by_class: Vec<(String, f64)>,
    /// The declared attacker (an acquaintance who knows the background columns) against the
    /// published rows.
    pub linkage_attack: Option<attack::LinkageAttack>,
    /// Information only: published rows alone on their whole answer vector.
    pub answer_uniqueness: Option<attack::AnswerUniqueness>,
    /// What anonymization cost the contest: a quick baseline on the raw and on the published
    /// quasi-identifiers (filled in by the caller, which has the models).
    pub utility_price: Option<UtilityPrice>,
    pub failures: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FreeTextReport {
    pub policy: &'static str,
    pub texts: u64,
    pub texts_with_pii: u64,
    pub found: BTreeMap<&'static str, u64>,
    /// What the second, independent detector still finds in the scrubbed texts.
    pub residual: ResidualCounts,
}

/// Counts of the published rows.
#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub raw: u64,
    pub screened_out: u64,
    pub missing_target: u64,
    pub train: u64,
    pub test: u64,
    pub public: u64,
    pub private: u64,
    pub test_b: u64,
}

/// A contest release, ready to be written.
#[derive(Debug)]
pub struct Bundle<'a> {
    pub contest: &'a Competition,
    pub dataset: &'a Dataset,
    pub columns: Vec<PublishedColumn>,
    /// Per published row: its row in the raw table.
    pub raw_rows: Vec<usize>,
    pub ids: Vec<String>,
    pub part: Vec<Part>,
    pub target: Vec<f64>,
    /// Published rows of train and of test, each ordered by id.
    pub train_rows: Vec<usize>,
    pub test_rows: Vec<usize>,
    pub counts: Counts,
    pub screening: ScreeningReport,
    pub risk: RiskReport,
    pub leakage: LeakageReport,
    /// The salt of the solution commitment (derived from the secret).
    pub salt: [u8; 32],
    /// The mean target in train (for the sample submission).
    train_mean: f64,
}

/// Runs every step: screen, derive the target, split, generalize, scrub, assess risk, audit
/// leakage. Returns the bundle only if every gate passes.
#[expect(clippy::too_many_lines, reason = "the pipeline, one step after another")]
pub fn prepare<'a>(
    dataset: &'a Dataset,
    contest: &'a Competition,
    table: &RawTable,
    secret: &Secret,
) -> Result<Bundle<'a>, PrepareError> {
    let screened = screen::screen(dataset, &contest.screening, table)?;
    tracing::info!(invalid = screened.report.invalid, "screened");
    let all_targets = split::targets(dataset, contest, table);
    let mut missing_target = 0;
    let rows: Vec<usize> = (0..table.rows)
        .filter(|&r| screened.is_valid(r))
        .filter(|&r| {
            let has = all_targets[r].is_some();
            missing_target += u64::from(!has);
            has
        })
        .collect();
    if rows.is_empty() {
        return Err(PrepareError::Data("no valid rows with a target remain after screening".into()));
    }
    let population = contest.privacy.population;
    if population < rows.len() as u64 {
        return Err(PrepareError::Data(format!(
            "the population ({population}) is smaller than the sample ({} rows)",
            rows.len()
        )));
    }
    let target: Vec<f64> = rows.iter().map(|&r| all_targets[r].unwrap_or_default()).collect();
    let class = split::classes(&contest.task, &target);
    let groups = split::groups(&contest.screening, table, &rows);
    let part = split::split(contest, secret, &groups, &class);
    let test: Vec<bool> = part.iter().map(|p| p.is_test()).collect();
    let ids = split::ids(secret, contest.split.seed, rows.len());
    tracing::info!(rows = rows.len(), "split");

    // Quasi-identifiers.
    let domains = generalize::domains(dataset, &contest.privacy, table)?;
    let (domains, generalization) =
        generalize::search(domains, &contest.privacy, table, &Rows { rows: &rows, test: &test, class: &class });
    tracing::info!(evaluated = generalization.evaluated, node = ?generalization.node, "generalized");

    // Published columns.
    let scrubber = (contest.privacy.free_text == FreeTextPolicy::Scrub).then(Scrubber::new);
    let mut free_text = FreeTextReport {
        policy: free_text_name(contest.privacy.free_text),
        texts: 0,
        texts_with_pii: 0,
        found: BTreeMap::new(),
        residual: ResidualCounts::default(),
    };
    let mut columns = Vec::with_capacity(contest.features.len());
    for name in &contest.features {
        let raw = table.column(name).ok_or_else(|| PrepareError::Data(format!("no column `{name}`")))?;
        let values = if let Some((q, d)) = domains.iter().enumerate().find(|(_, d)| &d.column == name) {
            qi_column(d, generalization.node[q], raw, &rows, &generalization.suppressed, q)
        } else {
            match &raw.values {
                Values::Coded { codes, dictionary } => {
                    let mut labels = dictionary.clone();
                    labels.push(String::new());
                    let missing = dictionary.len() as u16;
                    let codes = rows.iter().map(|&r| if codes[r] == MISSING { missing } else { codes[r] }).collect();
                    PublishedValues::Coded { codes, labels }
                }
                Values::Text(texts) => {
                    let Some(scrubber) = &scrubber else {
                        return Err(PrepareError::Data(format!("free text `{name}` is published only scrubbed")));
                    };
                    PublishedValues::Text(
                        rows.iter()
                            .map(|&r| {
                                let Some(t) = texts[r].as_deref() else { return String::new() };
                                free_text.texts += 1;
                                let s = scrubber.scrub(t);
                                free_text.texts_with_pii += u64::from(!s.found.is_empty());
                                for kind in &s.found {
                                    *free_text.found.entry(kind.name()).or_default() += 1;
                                }
                                detect::count_residuals(scrubber, &s.text, &mut free_text.residual);
                                s.text
                            })
                            .collect(),
                    )
                }
                Values::Number(_) | Values::Keyed(_) => {
                    return Err(PrepareError::Data(format!("column `{name}` cannot be published as a feature")));
                }
            }
        };
        let integer = match &values {
            PublishedValues::Coded { labels, .. } => {
                labels.iter().all(|l| l.is_empty() || l.parse::<i64>().is_ok())
                    && !matches!(dataset.survey.column(name).map(|c| &c.kind), Some(ColumnKind::Text { .. }))
            }
            PublishedValues::Text(_) => false,
        };
        columns.push(PublishedColumn { name: name.clone(), values, integer });
    }

    // Row order in the files: by id, which is random.
    let mut train_rows: Vec<usize> = (0..rows.len()).filter(|&i| !test[i]).collect();
    let mut test_rows: Vec<usize> = (0..rows.len()).filter(|&i| test[i]).collect();
    train_rows.sort_by(|&a, &b| ids[a].cmp(&ids[b]));
    test_rows.sort_by(|&a, &b| ids[a].cmp(&ids[b]));
    let mut position = vec![0; rows.len()];
    for list in [&train_rows, &test_rows] {
        for (p, &i) in list.iter().enumerate() {
            position[i] = p;
        }
    }

    tracing::info!("published columns built");
    let valid: Vec<usize> = (0..table.rows).filter(|&r| screened.is_valid(r)).collect();
    let linkage = linkage_attack(contest, table, &valid, &rows, &domains, &generalization.node, &columns, secret);
    tracing::info!(rate = linkage.expected_match_rate, "linkage attack");
    let mut risk =
        risk_report(dataset, contest, table, &rows, &domains, generalization, &columns, &test, &class, &free_text)?;
    if !free_text.residual.is_empty() && !contest.privacy.allow_residual_pii {
        risk.failures.push(format!(
            "free text: the second detector still finds {} pieces of personal data in the scrubbed texts ({}); \
             set privacy.allow_residual_pii = true only after reading them",
            free_text.residual.total(),
            serde_json::to_string(&free_text.residual).unwrap_or_default()
        ));
    }
    if linkage.expected_match_rate > linkage.threshold + 1e-12 {
        risk.failures.push(format!(
            "linkage attack: an acquaintance who knows {} respondents' background columns identifies {:.2} % of them \
             (expected match rate {:.4} > {:.4}; {} unique matches)",
            linkage.sampled,
            linkage.expected_match_rate * 100.0,
            linkage.expected_match_rate,
            linkage.threshold,
            linkage.reidentified
        ));
    }
    risk.linkage_attack = Some(linkage);
    risk.answer_uniqueness = Some(attack::answer_uniqueness(
        &columns
            .iter()
            .filter(|c| dataset.survey.column(&c.name).is_some_and(|s| s.role == holdout_schema::Role::Answer))
            .filter_map(|c| match &c.values {
                PublishedValues::Coded { codes, .. } => Some(codes.as_slice()),
                PublishedValues::Text(_) => None,
            })
            .collect::<Vec<_>>(),
    ));
    let features: Vec<Feature<'_>> = columns
        .iter()
        .filter_map(|c| match &c.values {
            PublishedValues::Coded { codes, .. } => Some(Feature { name: &c.name, codes }),
            PublishedValues::Text(_) => None,
        })
        .collect();
    tracing::info!("risk assessed");
    let classification = !matches!(contest.task, Task::Regression);
    let leakage = leakage::audit(&features, &test, &target, &class, classification, &position, contest.split.seed);

    tracing::info!(auc = leakage.adversarial_auc, "leakage audited");
    let mut failures = risk.failures.clone();
    failures.extend(leakage.failures.iter().cloned());
    if !failures.is_empty() {
        return Err(PrepareError::Blocked(failures));
    }
    let counts = Counts {
        raw: table.rows as u64,
        screened_out: screened.report.invalid,
        missing_target,
        train: train_rows.len() as u64,
        test: test_rows.len() as u64,
        public: part.iter().filter(|p| matches!(p, Part::Public { .. })).count() as u64,
        private: part.iter().filter(|p| matches!(p, Part::Private { .. })).count() as u64,
        test_b: part.iter().filter(|p| matches!(p, Part::Public { b: true } | Part::Private { b: true })).count()
            as u64,
    };
    let train_mean = train_rows.iter().map(|&i| target[i]).sum::<f64>() / train_rows.len().max(1) as f64;
    Ok(Bundle {
        contest,
        dataset,
        columns,
        raw_rows: rows,
        ids,
        part,
        target,
        train_rows,
        test_rows,
        counts,
        screening: screened.report,
        risk,
        leakage,
        salt: secret.seed("solution-commitment", contest.split.seed),
        train_mean,
    })
}

fn free_text_name(p: FreeTextPolicy) -> &'static str {
    match p {
        FreeTextPolicy::Drop => "drop",
        FreeTextPolicy::Scrub => "scrub",
    }
}

/// How a quasi-identifier is published at a level: its labels (the level's values, then `*`),
/// the published code of each raw dictionary code (the last entry: a missing value), and `*`'s.
struct QiCodes {
    labels: Vec<String>,
    by_code: Vec<u16>,
    star: u16,
}

impl QiCodes {
    fn new(d: &Domain, level: u8, dictionary_len: usize) -> QiCodes {
        let mut labels: Vec<String> = d.labels[usize::from(level)].clone();
        if !labels.iter().any(|l| l == "*") {
            labels.push("*".to_owned());
        }
        let star = labels.iter().position(|l| l == "*").unwrap_or_default() as u16;
        let published_code = |code: u16| -> u16 {
            let label = d.label(code, dictionary_len, level);
            labels.iter().position(|l| l == label).unwrap_or(usize::from(star)) as u16
        };
        let mut by_code: Vec<u16> = (0..dictionary_len).map(|c| published_code(c as u16)).collect();
        by_code.push(published_code(MISSING));
        QiCodes { labels, by_code, star }
    }

    /// The published code of a raw code, before any suppression.
    fn of(&self, code: u16) -> u16 {
        if code == MISSING { self.by_code[self.by_code.len() - 1] } else { self.by_code[usize::from(code)] }
    }
}

fn qi_column(
    d: &Domain,
    level: u8,
    raw: &crate::raw::RawColumn,
    rows: &[usize],
    suppressed: &[u32],
    q: usize,
) -> PublishedValues {
    let Values::Coded { codes, dictionary } = &raw.values else { unreachable!("domains are built from coded columns") };
    let map = QiCodes::new(d, level, dictionary.len());
    let published = rows
        .iter()
        .zip(suppressed)
        .map(|(&r, &mask)| if mask & (1 << q) != 0 { map.star } else { map.of(codes[r]) })
        .collect();
    PublishedValues::Coded { codes: published, labels: map.labels }
}

/// People the simulated acquaintance tries to find.
const ATTACK_SAMPLE: usize = 10_000;

#[expect(clippy::too_many_arguments, reason = "the attack reads the raw rows, the release and the secret")]
/// The declared attacker against this release: a seeded sample of the valid respondents, their
/// background columns as the attacker knows them (raw, generalized by the attacker the same way
/// the release was), linked to the published rows.
fn linkage_attack(
    contest: &Competition,
    table: &RawTable,
    valid: &[usize],
    rows: &[usize],
    domains: &[Domain],
    node: &[u8],
    columns: &[PublishedColumn],
    secret: &Secret,
) -> attack::LinkageAttack {
    use rand::SeedableRng;
    let mut published_columns = Vec::with_capacity(domains.len());
    let mut star = Vec::with_capacity(domains.len());
    let mut maps = Vec::with_capacity(domains.len());
    for (d, &level) in domains.iter().zip(node) {
        let (Some(raw), Some(published)) = (table.column(&d.column), columns.iter().find(|c| c.name == d.column))
        else {
            continue;
        };
        let (Values::Coded { codes, dictionary }, PublishedValues::Coded { codes: out, .. }) =
            (&raw.values, &published.values)
        else {
            continue;
        };
        let map = QiCodes::new(d, level, dictionary.len());
        star.push(map.star);
        published_columns.push(out.as_slice());
        maps.push((codes, map));
    }
    let mut position: HashMap<usize, usize> = HashMap::default();
    position.extend(rows.iter().enumerate().map(|(i, &r)| (r, i)));
    let mut rng = rand_chacha::ChaCha8Rng::from_seed(secret.seed("linkage-attack", contest.split.seed));
    let mut sample: Vec<usize> = rand::seq::index::sample(&mut rng, valid.len(), ATTACK_SAMPLE.min(valid.len()))
        .into_iter()
        .map(|i| valid[i])
        .collect();
    sample.sort_unstable();
    let targets: Vec<attack::Target> = sample
        .iter()
        .map(|&r| attack::Target {
            view: maps.iter().map(|(codes, map)| map.of(codes[r])).collect(),
            row: position.get(&r).copied(),
        })
        .collect();
    attack::link(
        &attack::Published { columns: published_columns, star },
        &targets,
        contest.privacy.k,
        contest.privacy.max_linkage_rate,
    )
}

#[expect(clippy::too_many_arguments, reason = "the report reads every earlier step")]
#[expect(clippy::too_many_lines, reason = "one section per part of the report")]
fn risk_report(
    dataset: &Dataset,
    contest: &Competition,
    table: &RawTable,
    rows: &[usize],
    domains: &[Domain],
    generalization: Generalization,
    columns: &[PublishedColumn],
    test: &[bool],
    class: &[u8],
    free_text: &FreeTextReport,
) -> Result<RiskReport, PrepareError> {
    let privacy = &contest.privacy;
    let n = test.len();
    let qi: Vec<&[u16]> = domains
        .iter()
        .filter_map(|d| {
            columns.iter().find(|c| c.name == d.column).and_then(|c| match &c.values {
                PublishedValues::Coded { codes, .. } => Some(codes.as_slice()),
                PublishedValues::Text(_) => None,
            })
        })
        .collect();
    // Every quasi-identifier `*`: the row is suppressed whole (it still counts, as a class of
    // its own: classes are the published values, literally).
    let stars: Vec<u16> = domains
        .iter()
        .filter_map(|d| columns.iter().find(|c| c.name == d.column))
        .map(|c| match &c.values {
            PublishedValues::Coded { labels, .. } => labels.iter().position(|l| l == "*").unwrap_or(usize::MAX) as u16,
            PublishedValues::Text(_) => u16::MAX,
        })
        .collect();
    let whole: Vec<bool> = (0..n).map(|i| !qi.is_empty() && qi.iter().zip(&stars).all(|(c, &s)| c[i] == s)).collect();
    let suppressed = &generalization.suppressed;
    let mut tables = Vec::new();
    let mut failures = Vec::new();
    let keys = attack::row_keys(&qi);
    let mut union_sizes: HashMap<u128, u64> = HashMap::default();
    for (name, pick) in [("train", Some(false)), ("test", Some(true)), ("union", None)] {
        let mut sizes: HashMap<u128, u64> = HashMap::default();
        let mut dropped = 0u64;
        let mut total = 0u64;
        for i in (0..n).filter(|&i| pick.is_none_or(|t| test[i] == t)) {
            total += 1;
            dropped += u64::from(whole[i]);
            *sizes.entry(keys[i]).or_default() += 1;
        }
        let class_sizes: Vec<u64> = {
            let mut v: Vec<u64> = sizes.values().copied().collect();
            v.sort_unstable();
            v
        };
        let summary = risk::summarize(&class_sizes, 0, privacy.population, privacy.max_record_risk)?;
        let share = if total == 0 { 0.0 } else { dropped as f64 / total as f64 };
        if summary.prosecutor_highest > privacy.max_record_risk + 1e-12 {
            failures.push(format!(
                "{name}: highest re-identification risk {:.4} > {} (smallest class {})",
                summary.prosecutor_highest, privacy.max_record_risk, summary.min_class_size
            ));
        }
        if summary.min_class_size > 0 && summary.min_class_size < u64::from(privacy.k) {
            failures.push(format!("{name}: a class of {} rows is below k = {}", summary.min_class_size, privacy.k));
        }
        if summary.prosecutor_average > privacy.max_average_risk + 1e-12 {
            failures.push(format!(
                "{name}: average re-identification risk {:.4} > {}",
                summary.prosecutor_average, privacy.max_average_risk
            ));
        }
        if share > privacy.max_suppression + 1e-12 {
            failures.push(format!(
                "{name}: {:.2} % of rows suppressed whole > {:.2} %",
                share * 100.0,
                privacy.max_suppression * 100.0
            ));
        }
        if name == "union" {
            union_sizes = sizes;
        }
        tables.push(SplitRisk { table: name, risk: summary, suppressed_share: share });
    }

    // Information loss over the union.
    let heights: Vec<f64> = domains.iter().map(|d| d.height() as f64).collect();
    let intensity = generalization
        .node
        .iter()
        .zip(&heights)
        .map(|(&l, &h)| if h > 0.0 { f64::from(l) / h } else { 0.0 })
        .sum::<f64>()
        / domains.len().max(1) as f64;
    let discernibility = union_sizes.values().map(|&f| (f * f) as f64).sum::<f64>();
    // Non-uniform entropy: −log₂ P(raw value | published value), per row and column.
    let mut nue = 0.0;
    for d in domains {
        let (Some(raw), Some(published)) = (table.column(&d.column), columns.iter().find(|c| c.name == d.column))
        else {
            continue;
        };
        let (Values::Coded { codes, .. }, PublishedValues::Coded { codes: out, .. }) = (&raw.values, &published.values)
        else {
            continue;
        };
        let mut joint: HashMap<(u16, u16), f64> = HashMap::default();
        let mut marginal: HashMap<u16, f64> = HashMap::default();
        for (i, &o) in out.iter().enumerate() {
            *joint.entry((codes[rows[i]], o)).or_default() += 1.0;
            *marginal.entry(o).or_default() += 1.0;
        }
        nue += joint.iter().map(|(&(_, o), &c)| c * (marginal[&o] / c).log2()).sum::<f64>();
    }
    nue /= n.max(1) as f64;

    // Per quasi-identifier: the cells published coarser than their raw value, and those blanked.
    let mut protection = Vec::with_capacity(domains.len());
    for (q, (d, &level)) in domains.iter().zip(&generalization.node).enumerate() {
        let Some(Values::Coded { codes, dictionary }) = table.column(&d.column).map(|c| &c.values) else { continue };
        let coarser = d.coarser(level, dictionary.len());
        let (mut generalized, mut blanked) = (0u64, 0u64);
        for (i, &r) in rows.iter().enumerate() {
            if suppressed[i] & (1 << q) != 0 {
                blanked += 1;
            } else if coarser[Domain::code_index(codes[r], dictionary.len())] {
                generalized += 1;
            }
        }
        let share = |x: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
        protection.push(ColumnProtection {
            column: d.column.clone(),
            importance: d.importance,
            level: d.level_names[usize::from(level)].clone(),
            generalized_share: share(generalized),
            suppressed_share: share(blanked),
        });
    }

    // Suppression by target class.
    let mut by_class: BTreeMap<u8, (f64, f64)> = BTreeMap::new();
    for i in 0..n {
        let e = by_class.entry(class[i]).or_default();
        e.1 += 1.0;
        e.0 += f64::from(u8::from(suppressed[i] != 0));
    }
    let labels = contest.task.labels();
    let suppression_by_class = by_class
        .into_iter()
        .map(|(c, (s, t))| {
            let name = labels.as_ref().map_or(format!("decile {}", c + 1), |l| l[usize::from(c)].to_string());
            (name, s / t)
        })
        .collect();

    let dropped_columns =
        dataset.survey.columns.iter().filter(|c| !contest.features.contains(&c.name)).map(|c| c.name.clone()).collect();
    Ok(RiskReport {
        k: privacy.k,
        l_diversity: privacy.l_diversity,
        max_suppression: privacy.max_suppression,
        max_record_risk: privacy.max_record_risk,
        max_average_risk: privacy.max_average_risk,
        population: privacy.population,
        information_loss: InformationLoss {
            entropy_loss: generalization.loss,
            generalization_intensity: intensity,
            discernibility,
            non_uniform_entropy_bits: nue,
        },
        generalization,
        tables,
        columns: protection,
        dropped_columns,
        free_text: free_text.clone(),
        suppression_by_class,
        linkage_attack: None,
        answer_uniqueness: None,
        utility_price: None,
        failures,
    })
}

/// One of the files of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Train,
    Test,
}

impl Bundle<'_> {
    /// The quasi-identifier columns as they would be without the privacy model, each with its
    /// index in `columns`: raw values, nothing suppressed. Never written; for measuring what
    /// protection costs (swap them into `columns` and back).
    pub fn unprotected_columns(&self, table: &RawTable) -> Vec<(usize, PublishedColumn)> {
        let qis: Vec<&str> = self.contest.privacy.quasi_identifiers.iter().map(|q| q.column.as_str()).collect();
        let mut out = Vec::new();
        for (at, c) in self.columns.iter().enumerate().filter(|(_, c)| qis.contains(&c.name.as_str())) {
            let Some(Values::Coded { codes, dictionary }) = table.column(&c.name).map(|r| &r.values) else { continue };
            let mut labels = dictionary.clone();
            labels.push(String::new());
            let missing = dictionary.len() as u16;
            let codes = self.raw_rows.iter().map(|&r| if codes[r] == MISSING { missing } else { codes[r] }).collect();
            let integer = labels.iter().all(|l| l.is_empty() || l.parse::<i64>().is_ok());
            out.push((
                at,
                PublishedColumn { name: c.name.clone(), values: PublishedValues::Coded { codes, labels }, integer },
            ));
        }
        out
    }

    /// The three reports as pretty JSON: screening, risk, leakage.
    pub fn reports_json(&self) -> [(&'static str, String); 3] {
        let json = |v: serde_json::Result<String>| v.map(|s| s + "\n").unwrap_or_default();
        [
            ("screening", json(serde_json::to_string_pretty(&self.screening))),
            ("risk", json(serde_json::to_string_pretty(&self.risk))),
            ("leakage", json(serde_json::to_string_pretty(&self.leakage))),
        ]
    }

    fn rows(&self, table: Table) -> &[usize] {
        match table {
            Table::Train => &self.train_rows,
            Table::Test => &self.test_rows,
        }
    }

    /// Published row `i`'s target as written to `train.csv` and the solution.
    pub fn target_text(&self, i: usize) -> String {
        let mut text = Vec::new();
        self.write_target(i, &mut text).expect("writing to memory");
        String::from_utf8(text).expect("a number is ASCII")
    }

    /// Writes [`Bundle::target_text`] of row `i` without a `String` per row.
    fn write_target(&self, i: usize, out: &mut impl Write) -> io::Result<()> {
        let v = self.target[i];
        if matches!(self.contest.task, Task::Regression) { write!(out, "{v}") } else { write!(out, "{}", v as i64) }
    }

    /// `train.csv` (features and target) or `test.csv` (features only), rows ordered by id.
    ///
    /// Byte for byte what the `csv` crate writes (a field is quoted only when it must be), but
    /// each coded column's labels are escaped once, not once per cell: this file is most of a
    /// 3-million-row bundle.
    pub fn write_csv(&self, table: Table, mut out: impl Write) -> io::Result<()> {
        enum Cells<'a> {
            Coded(&'a [u16], Vec<Vec<u8>>),
            Text(&'a [String]),
        }
        let cells: Vec<Cells<'_>> = self
            .columns
            .iter()
            .map(|c| match &c.values {
                PublishedValues::Coded { codes, labels } => Cells::Coded(
                    codes,
                    labels
                        .iter()
                        .map(|l| {
                            let mut v = Vec::new();
                            push_csv_field(&mut v, l.as_bytes());
                            v
                        })
                        .collect(),
                ),
                PublishedValues::Text(t) => Cells::Text(t),
            })
            .collect();
        let mut buffer: Vec<u8> = Vec::with_capacity(CSV_CHUNK + (1 << 16));
        push_csv_field(&mut buffer, b"id");
        for c in &self.columns {
            buffer.push(b',');
            push_csv_field(&mut buffer, c.name.as_bytes());
        }
        if table == Table::Train {
            buffer.push(b',');
            push_csv_field(&mut buffer, self.contest.target.name.as_bytes());
        }
        buffer.push(b'\n');
        // The rows go out in id order, which is a random walk over the columns: read cell by
        // cell, nearly every one would be a cache miss. So the coded cells are gathered a block
        // of rows at a time, column by column, visiting the block's rows in column order.
        let coded_at: Vec<usize> = (0..cells.len()).filter(|&c| matches!(cells[c], Cells::Coded(..))).collect();
        let mut gathered: Vec<u16> = Vec::new();
        let mut visit: Vec<u32> = Vec::new();
        for block in self.rows(table).chunks(CSV_BLOCK) {
            row_order(block, &mut visit);
            gathered.clear();
            gathered.resize(coded_at.len() * block.len(), 0);
            for (slot, &c) in coded_at.iter().enumerate() {
                let Cells::Coded(codes, _) = &cells[c] else { unreachable!() };
                let out = &mut gathered[slot * block.len()..(slot + 1) * block.len()];
                for &k in &visit {
                    out[k as usize] = codes[block[k as usize]];
                }
            }
            for (k, &i) in block.iter().enumerate() {
                push_csv_field(&mut buffer, self.ids[i].as_bytes());
                let mut slot = 0;
                for c in &cells {
                    buffer.push(b',');
                    match c {
                        Cells::Coded(_, escaped) => {
                            buffer.extend_from_slice(&escaped[usize::from(gathered[slot * block.len() + k])]);
                            slot += 1;
                        }
                        Cells::Text(t) => push_csv_field(&mut buffer, t[i].as_bytes()),
                    }
                }
                if table == Table::Train {
                    buffer.push(b',');
                    self.write_target(i, &mut buffer)?;
                }
                buffer.push(b'\n');
                if buffer.len() >= CSV_CHUNK {
                    out.write_all(&buffer)?;
                    buffer.clear();
                }
            }
        }
        out.write_all(&buffer)?;
        out.flush()
    }

    /// What a submission must hold, for the manifest.
    pub fn submission_spec(&self) -> crate::manifest::SubmissionSpec {
        let mut columns = vec!["id".to_owned()];
        columns.extend(self.prediction_columns());
        crate::manifest::SubmissionSpec {
            task: self.contest.task.name().to_owned(),
            labels: self.contest.task.labels().unwrap_or_default(),
            prediction_format: self.contest.prediction,
            columns,
            primary_metric: self.contest.primary_metric,
            max_file_mb: self.contest.submission.max_file_mb,
        }
    }

    /// The contest's rules as published in the manifest.
    pub fn rules(&self) -> crate::manifest::Rules {
        let c = self.contest;
        let utc = |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        crate::manifest::Rules {
            title: c.title.clone(),
            description: c.description.clone(),
            daily_submissions: c.submission.daily,
            total_submissions: c.submission.total,
            final_selections: c.submission.final_selections,
            team_max_size: c.team_size,
            phases: c
                .phases
                .iter()
                .map(|p| crate::manifest::PhaseRule {
                    name: p.name.clone(),
                    zh: p.zh.clone(),
                    en: p.en.clone(),
                    start: utc(&p.start),
                    end: utc(&p.end),
                    board: p.board,
                })
                .collect(),
        }
    }

    /// The prediction columns of a submission, after `id`.
    pub fn prediction_columns(&self) -> Vec<String> {
        match self.contest.prediction {
            PredictionFormat::Label => vec!["label".into()],
            PredictionFormat::Probability => vec!["probability".into()],
            PredictionFormat::Value => vec!["value".into()],
            PredictionFormat::ClassProbabilities => {
                self.contest.task.labels().unwrap_or_default().iter().map(ToString::to_string).collect()
            }
        }
    }

    /// `sample_submission.csv`: every test id with a valid constant prediction (the most common
    /// training label, the training share of positives, uniform class probabilities, or the
    /// training mean).
    pub fn write_sample_submission(&self, out: impl Write) -> io::Result<()> {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
        let mut header = vec!["id".to_owned()];
        header.extend(self.prediction_columns());
        w.write_record(&header)?;
        let train = &self.train_rows;
        let prediction: Vec<String> = match self.contest.prediction {
            PredictionFormat::Label => {
                let labels = self.contest.task.labels().unwrap_or_default();
                let mode = labels
                    .iter()
                    .max_by_key(|&&l| (train.iter().filter(|&&i| self.target[i] == l as f64).count(), -l))
                    .copied()
                    .unwrap_or_default();
                vec![mode.to_string()]
            }
            PredictionFormat::Probability => vec![format!("{:.6}", self.train_mean)],
            PredictionFormat::ClassProbabilities => {
                let k = self.contest.task.labels().map_or(1, |l| l.len());
                vec![format!("{:.12}", 1.0 / k as f64); k]
            }
            PredictionFormat::Value => vec![format!("{:.4}", self.train_mean)],
        };
        for &i in &self.test_rows {
            let mut record = vec![self.ids[i].clone()];
            record.extend(prediction.iter().cloned());
            w.write_record(&record)?;
        }
        w.flush()
    }

    /// `solution.csv`: test ids, target, `usage` (public/private) and, with A/B boards, `board`.
    pub fn write_solution(&self, out: impl Write) -> io::Result<()> {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
        let boards = self.contest.split.b_share.is_some();
        let mut header = vec!["id", self.contest.target.name.as_str(), "usage"];
        if boards {
            header.push("board");
        }
        w.write_record(&header)?;
        for &i in &self.test_rows {
            let (usage, b) = match self.part[i] {
                Part::Public { b } => ("public", b),
                Part::Private { b } => ("private", b),
                Part::Train => unreachable!("test rows only"),
            };
            let mut record = vec![self.ids[i].clone(), self.target_text(i), usage.to_owned()];
            if boards {
                record.push(if b { "b" } else { "a" }.to_owned());
            }
            w.write_record(&record)?;
        }
        w.flush()
    }

    /// Rows in a table.
    pub fn len(&self, table: Table) -> usize {
        self.rows(table).len()
    }

    /// Typed columns of rows `range` of a table, for the Parquet copy (written in batches):
    /// integers where every value is one, text otherwise; empty values are nulls. The cells
    /// are gathered in row order (see `write_csv`) and borrowed, not copied.
    pub fn typed_columns(&self, table: Table, range: std::ops::Range<usize>) -> Vec<(String, TypedColumn<'_>)> {
        /// `f` of every row, visited in row order, placed in id order.
        fn gather<T: Copy>(rows: &[usize], visit: &[u32], f: impl Fn(usize) -> Option<T>) -> Vec<Option<T>> {
            let mut v = vec![None; rows.len()];
            for &k in visit {
                v[k as usize] = f(rows[k as usize]);
            }
            v
        }
        let rows = &self.rows(table)[range];
        let mut visit = Vec::new();
        row_order(rows, &mut visit);
        let mut out = vec![("id".to_owned(), TypedColumn::Text(gather(rows, &visit, |i| Some(self.ids[i].as_str()))))];
        for c in &self.columns {
            let column = match &c.values {
                PublishedValues::Coded { codes, labels } if c.integer => {
                    let ints: Vec<Option<i64>> = labels.iter().map(|l| l.parse().ok()).collect();
                    TypedColumn::Int(gather(rows, &visit, |i| ints[usize::from(codes[i])]))
                }
                _ => TypedColumn::Text(gather(rows, &visit, |i| Some(c.text(i)).filter(|t| !t.is_empty()))),
            };
            out.push((c.name.clone(), column));
        }
        if table == Table::Train {
            let t = &self.contest.target.name;
            out.push((
                t.clone(),
                if matches!(self.contest.task, Task::Regression) {
                    TypedColumn::Float(rows.iter().map(|&i| Some(self.target[i])).collect())
                } else {
                    TypedColumn::Int(rows.iter().map(|&i| Some(self.target[i] as i64)).collect())
                },
            ));
        }
        out
    }
}

/// A column for a typed (Parquet) table.
#[derive(Debug, Clone)]
pub enum TypedColumn<'a> {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Text(Vec<Option<&'a str>>),
}

#[cfg(test)]
mod tests {
    use super::push_csv_field;
    use proptest::prelude::*;

    proptest! {
        /// Records written field by field are what the `csv` crate writes for them.
        #[test]
        fn csv_fields_are_written_as_the_csv_crate_writes_them(
            record in prop::collection::vec("[a,\"\r\n 中\t'=]{0,6}", 2..6)
        ) {
            let mut ours = Vec::new();
            for (j, f) in record.iter().enumerate() {
                if j > 0 {
                    ours.push(b',');
                }
                push_csv_field(&mut ours, f.as_bytes());
            }
            ours.push(b'\n');
            let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
            w.write_record(&record).unwrap();
            prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(w.into_inner().unwrap()).unwrap());
        }
    }
}
