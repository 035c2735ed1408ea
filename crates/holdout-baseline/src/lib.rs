//! Baselines: honest reference points for a contest's leaderboard, trained and scored like any
//! competitor. Trivial models (prior, mean, median, stratified random, per demographic cell),
//! linfa models (logistic regression, naive Bayes, decision tree, least squares) and one
//! gradient-boosted tree model (`forust-ml`), all encoded from the bundle's column description
//! alone ([`design`]) and scored by holdout's own scorer, never linfa's metrics.
//!
//! Pure: the caller reads the files ([`table::TableBuilder`]), times the fits and writes the
//! results.

pub mod design;
pub mod models;
pub mod table;

use holdout_schema::{Metric, PredictionFormat, Task};
use holdout_score::metrics::{self, Predictions, Score, Truth};
use holdout_score::scorer::Scorer;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use models::{Model, Output};
use models::{Target, Training};
use table::Table;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{file}, line {line}: {message}")]
    Input { file: String, line: u64, message: String },
    #[error("{model}: {message}")]
    Model { model: &'static str, message: String },
    #[error("{0}")]
    Usage(String),
}

/// What a contest asks for, from its manifest.
#[derive(Debug, Clone)]
pub struct Contest {
    pub task: Task,
    /// Class labels (empty for regression).
    pub labels: Vec<i64>,
    pub format: PredictionFormat,
    pub primary: Metric,
    /// Every metric that applies, the primary among them.
    pub metrics: Vec<Metric>,
}

impl Contest {
    pub fn new(
        task: &str,
        labels: Vec<i64>,
        format: PredictionFormat,
        primary: Metric,
    ) -> Result<Contest, BaselineError> {
        let task = match task {
            "binary" => Task::Binary,
            "multiclass" => Task::Multiclass { labels: labels.clone() },
            "ordinal" => Task::Ordinal { labels: labels.clone() },
            "regression" => Task::Regression,
            other => return Err(BaselineError::Usage(format!("unknown task `{other}`"))),
        };
        let metrics = metrics::applicable(&task, format);
        Ok(Contest { task, labels, format, primary, metrics })
    }
}

/// The training target, read for the contest: class indices, or values.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainTarget {
    Classes(Vec<usize>),
    Values(Vec<f64>),
}

impl TrainTarget {
    /// Maps the train table's target to class indices (or values); `file` names it in errors.
    pub fn of(contest: &Contest, train: &Table, file: &str) -> Result<TrainTarget, BaselineError> {
        let y = train.target.as_ref().ok_or_else(|| BaselineError::Usage(format!("{file} has no target column")))?;
        if matches!(contest.task, Task::Regression) {
            return Ok(TrainTarget::Values(y.clone()));
        }
        y.iter()
            .enumerate()
            .map(|(i, &v)| {
                contest.labels.iter().position(|&l| l as f64 == v).ok_or_else(|| BaselineError::Input {
                    file: file.to_owned(),
                    line: i as u64 + 2,
                    message: format!("target {v} is not one of the labels {:?}", contest.labels),
                })
            })
            .collect::<Result<_, _>>()
            .map(TrainTarget::Classes)
    }

    fn as_target(&self, contest: &Contest) -> Target<'_> {
        match self {
            TrainTarget::Classes(c) => Target::Classes { classes: contest.labels.len(), of_row: c },
            TrainTarget::Values(v) => Target::Values(v),
        }
    }

    fn truth(&self, rows: &[usize]) -> Truth {
        match self {
            TrainTarget::Classes(c) => Truth::Classes(rows.iter().map(|&r| c[r]).collect()),
            TrainTarget::Values(v) => Truth::Values(rows.iter().map(|&r| v[r]).collect()),
        }
    }
}

/// A model's output in the contest's prediction format. For labels of an ordinal task, the
/// level nearest the expected level (which minimizes the expected squared distance, what
/// quadratic weighted kappa penalizes); otherwise the most probable class.
pub fn predictions(contest: &Contest, output: Output) -> Predictions {
    match (output, contest.format) {
        (Output::Values(v), _) => Predictions::Values(v),
        (Output::Probabilities { values, .. }, PredictionFormat::Probability) => {
            Predictions::Probability(values.chunks_exact(2).map(|p| p[1]).collect())
        }
        (Output::Probabilities { classes, values }, PredictionFormat::ClassProbabilities) => {
            Predictions::ClassProbabilities { classes, values }
        }
        (Output::Probabilities { classes, values }, _) => {
            let ordinal = matches!(contest.task, Task::Ordinal { .. });
            Predictions::Labels(
                values
                    .chunks_exact(classes)
                    .map(|p| {
                        if ordinal {
                            let expected: f64 = p.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
                            (expected.round().max(0.0) as usize).min(classes - 1)
                        } else {
                            // The first of equal maxima.
                            p.iter().enumerate().fold(0, |best, (k, &v)| if v > p[best] { k } else { best })
                        }
                    })
                    .collect(),
            )
        }
    }
}

/// Mean and sample standard deviation of a metric over the folds where it is defined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvScore {
    pub metric: Metric,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    /// Each fold's value (`None`: undefined on that fold).
    pub folds: Vec<Option<f64>>,
}

/// The validation rows of each of `k` folds: rows shuffled with `seed`, dealt in turn after
/// sorting by class (stratified) for classification.
pub fn folds(target: &TrainTarget, rows: &[usize], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut order = rows.to_vec();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(3);
    order.shuffle(&mut rng);
    if let TrainTarget::Classes(c) = target {
        order.sort_by_key(|&r| c[r]);
    }
    let mut folds = vec![Vec::new(); k];
    for (i, r) in order.into_iter().enumerate() {
        folds[i % k].push(r);
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    folds
}

/// The inputs every fit shares.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub contest: &'a Contest,
    pub columns: &'a [holdout_schema::ColumnInfo],
    pub train: &'a Table,
    pub target: &'a TrainTarget,
    /// The training rows used (all of train, or a seeded subsample).
    pub rows: &'a [usize],
    pub seed: u64,
}

impl Inputs<'_> {
    fn fit<'b>(&'b self, rows: &'b [usize], seed: u64) -> Training<'b> {
        Training { table: self.train, rows, target: self.target.as_target(self.contest), columns: self.columns, seed }
    }
}

/// The training rows to use: all, or a seeded subsample of `max`.
pub fn training_rows(train: &Table, max: Option<usize>, seed: u64) -> Vec<usize> {
    let all: Vec<usize> = (0..train.rows()).collect();
    match max {
        Some(m) => models::subsample(&all, m, seed, 4),
        None => all,
    }
}

/// k-fold cross-validated scores of every metric of the contest, the folds run two at a time.
pub fn cross_validate(model: Model, inputs: &Inputs<'_>, k: usize) -> Result<Vec<CvScore>, BaselineError> {
    if k < 2 {
        return Err(BaselineError::Usage(format!("cross-validation needs at least 2 folds, not {k}")));
    }
    let folds = folds(inputs.target, inputs.rows, k, inputs.seed);
    let run = |f: usize| -> Result<Vec<Score>, BaselineError> {
        let validation = &folds[f];
        let mut fit_rows = Vec::with_capacity(inputs.rows.len() - validation.len());
        for (g, rows) in folds.iter().enumerate() {
            if g != f {
                fit_rows.extend_from_slice(rows);
            }
        }
        fit_rows.sort_unstable();
        let fit = inputs.fit(&fit_rows, inputs.seed.wrapping_add(f as u64 + 1));
        let output = models::fit_predict(model, &fit, inputs.train, validation)?;
        let predictions = predictions(inputs.contest, output);
        let truth = inputs.target.truth(validation);
        let scorer = Scorer::whole(&inputs.contest.labels, &truth, &predictions);
        Ok(inputs.contest.metrics.iter().map(|&m| scorer.score(m)).collect())
    };
    let mut per_fold: Vec<Vec<Score>> = Vec::with_capacity(k);
    for pair in (0..k).collect::<Vec<_>>().chunks(2) {
        let results: Vec<Result<Vec<Score>, BaselineError>> = std::thread::scope(|s| {
            let handles: Vec<_> = pair.iter().map(|&f| s.spawn(move || run(f))).collect();
            handles.into_iter().map(|h| h.join().expect("a fold panicked")).collect()
        });
        for r in results {
            per_fold.push(r?);
        }
    }
    Ok(inputs
        .contest
        .metrics
        .iter()
        .enumerate()
        .map(|(m, &metric)| {
            let values: Vec<Option<f64>> = per_fold.iter().map(|s| s[m].value()).collect();
            let defined: Vec<f64> = values.iter().flatten().copied().collect();
            let n = defined.len() as f64;
            let mean = (n > 0.0).then(|| defined.iter().sum::<f64>() / n);
            let sd = mean
                .filter(|_| n > 1.0)
                .map(|mu| (defined.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
            CvScore { metric, mean, sd, folds: values }
        })
        .collect())
}

/// Fits on the training rows and predicts every row of `test`.
pub fn fit_predict(model: Model, inputs: &Inputs<'_>, test: &Table) -> Result<Predictions, BaselineError> {
    let fit = inputs.fit(inputs.rows, inputs.seed);
    let rows: Vec<usize> = (0..test.rows()).collect();
    let output = models::fit_predict(model, &fit, test, &rows)?;
    Ok(predictions(inputs.contest, output))
}

/// A submission file: the contest's header, then one row per id.
pub fn submission_csv(contest: &Contest, ids: &[String], predictions: &Predictions) -> String {
    use std::fmt::Write as _;
    let header = holdout_score::submission::header(contest.format, &contest.labels);
    let mut s = header.join(",");
    s.push('\n');
    for (i, id) in ids.iter().enumerate() {
        s.push_str(id);
        match predictions {
            Predictions::Labels(l) => {
                let _ = write!(s, ",{}", contest.labels[l[i]]);
            }
            Predictions::Probability(p) => {
                let _ = write!(s, ",{}", p[i]);
            }
            Predictions::ClassProbabilities { classes, values } => {
                for v in &values[i * classes..(i + 1) * classes] {
                    let _ = write!(s, ",{v}");
                }
            }
            Predictions::Values(v) => {
                let _ = write!(s, ",{}", v[i]);
            }
        }
        s.push('\n');
    }
    s
}
