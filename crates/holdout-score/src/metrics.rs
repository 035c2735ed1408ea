//! The metrics, each exactly as scikit-learn 1.9 computes it with the contest's label set
//! passed as `labels=` (so a class missing from a submission still counts), except where
//! scikit-learn hides an undefined value behind a convention: there holdout says "undefined"
//! and why (see [`Score`]). Arithmetic is in f64 over integer counts.
//!
//! Choices where scikit-learn and Kaggle differ, all documented at the metric:
//! - quadratic weighted kappa uses the fixed label list (scikit-learn with `labels=`, which
//!   equals Kaggle's rating-distance form for consecutive labels such as 1..5);
//! - log loss clips to [1e-15, 1 − 1e-15] and renormalises each row, as Kaggle does
//!   (scikit-learn clips at machine epsilon and does not renormalise);
//! - ROC AUC gives tied scores half credit (average ranks), as both do.

use holdout_schema::{Metric, PredictionFormat, Task};
use serde::Serialize;

use crate::scorer::Scorer;

/// A metric's value, or why it has none. Never NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Score {
    Value(f64),
    Undefined(&'static str),
}

impl Score {
    pub fn value(self) -> Option<f64> {
        match self {
            Score::Value(v) => Some(v),
            Score::Undefined(_) => None,
        }
    }
}

/// Log-loss clipping (Kaggle's).
pub const LOG_LOSS_EPS: f64 = 1e-15;

/// The truth of the rows being scored.
#[derive(Debug, Clone, PartialEq)]
pub enum Truth {
    /// Class indices into the contest's labels.
    Classes(Vec<usize>),
    /// Regression targets.
    Values(Vec<f64>),
}

impl Truth {
    pub fn len(&self) -> usize {
        match self {
            Truth::Classes(v) => v.len(),
            Truth::Values(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows `rows` (repeats allowed), in that order.
    #[must_use]
    pub fn select(&self, rows: &[usize]) -> Truth {
        match self {
            Truth::Classes(v) => Truth::Classes(rows.iter().map(|&i| v[i]).collect()),
            Truth::Values(v) => Truth::Values(rows.iter().map(|&i| v[i]).collect()),
        }
    }
}

/// A validated submission's predictions for the same rows, in the same order.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// Class indices into the contest's labels.
    Labels(Vec<usize>),
    /// P(class 1) of a binary task.
    Probability(Vec<f64>),
    /// Row-major probabilities, one column per label.
    ClassProbabilities {
        classes: usize,
        values: Vec<f64>,
    },
    Values(Vec<f64>),
}

impl Predictions {
    pub fn len(&self) -> usize {
        match self {
            Predictions::Labels(v) => v.len(),
            Predictions::Probability(v) | Predictions::Values(v) => v.len(),
            Predictions::ClassProbabilities { classes, values } => values.len() / (*classes).max(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows `rows` (repeats allowed), in that order.
    #[must_use]
    pub fn select(&self, rows: &[usize]) -> Predictions {
        match self {
            Predictions::Labels(v) => Predictions::Labels(rows.iter().map(|&i| v[i]).collect()),
            Predictions::Probability(v) => Predictions::Probability(rows.iter().map(|&i| v[i]).collect()),
            Predictions::Values(v) => Predictions::Values(rows.iter().map(|&i| v[i]).collect()),
            Predictions::ClassProbabilities { classes, values } => Predictions::ClassProbabilities {
                classes: *classes,
                values: rows.iter().flat_map(|&i| values[i * classes..(i + 1) * classes].iter().copied()).collect(),
            },
        }
    }

    /// The predicted class of each row: the label itself, `p ≥ 0.5` for a binary probability, or
    /// the most probable class (the first on ties).
    pub fn classes(&self) -> Option<Vec<usize>> {
        match self {
            Predictions::Labels(v) => Some(v.clone()),
            Predictions::Probability(p) => Some(p.iter().map(|&p| usize::from(p >= 0.5)).collect()),
            Predictions::ClassProbabilities { classes, values } => Some(
                values
                    .chunks(*classes)
                    .map(|row| {
                        let mut best = 0;
                        for (k, &p) in row.iter().enumerate() {
                            if p > row[best] {
                                best = k;
                            }
                        }
                        best
                    })
                    .collect(),
            ),
            Predictions::Values(_) => None,
        }
    }
}

/// Every metric that applies to a task and format, in holdout's fixed order.
pub fn applicable(task: &Task, format: PredictionFormat) -> Vec<Metric> {
    Metric::ALL.into_iter().filter(|m| m.applies(task, format)).collect()
}

/// Computes one metric on all rows. `labels` are the contest's class labels (empty for
/// regression). To score several metrics, subsets or replicates, prepare a [`Scorer`] once.
pub fn score(metric: Metric, labels: &[i64], truth: &Truth, predictions: &Predictions) -> Score {
    Scorer::whole(labels, truth, predictions).score(metric)
}

/// `a / b`, and 0 when `b` is 0 (scikit-learn's `zero_division=0`).
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0.0), |(s, n), v| (s + v, n + 1.0));
    if n == 0.0 { 0.0 } else { sum / n }
}

/// A confusion matrix over the fixed labels; rows are the truth.
#[derive(Debug)]
pub(crate) struct Confusion {
    pub(crate) k: usize,
    counts: Vec<u64>,
    pub(crate) n: f64,
}

impl Confusion {
    /// From row-major counts, `k × k`.
    pub(crate) fn from_counts(k: usize, counts: Vec<u64>) -> Confusion {
        let n = counts.iter().sum::<u64>() as f64;
        Confusion { k, counts, n }
    }

    /// A metric computed from the matrix alone.
    pub(crate) fn metric(&self, metric: Metric) -> Score {
        let k = self.k;
        match metric {
            Metric::Accuracy => Score::Value(self.trace() / self.n),
            Metric::BalancedAccuracy => self.balanced_accuracy(),
            Metric::PrecisionMacro => Score::Value(mean((0..k).map(|i| ratio(self.tp(i), self.predicted(i))))),
            Metric::RecallMacro => Score::Value(mean((0..k).map(|i| ratio(self.tp(i), self.actual(i))))),
            Metric::F1Macro => Score::Value(mean((0..k).map(|i| self.f1(i)))),
            Metric::F1Micro => {
                let tp: f64 = (0..k).map(|i| self.tp(i)).sum();
                let fp: f64 = (0..k).map(|i| self.predicted(i) - self.tp(i)).sum();
                let fn_: f64 = (0..k).map(|i| self.actual(i) - self.tp(i)).sum();
                Score::Value(ratio(2.0 * tp, 2.0 * tp + fp + fn_))
            }
            Metric::F1Weighted => {
                let support: f64 = (0..k).map(|i| self.actual(i)).sum();
                Score::Value(ratio((0..k).map(|i| self.actual(i) * self.f1(i)).sum(), support))
            }
            Metric::MatthewsCorrcoef => self.matthews(),
            Metric::CohenKappaQuadratic => self.quadratic_kappa(),
            _ => Score::Undefined("not a classification metric"),
        }
    }

    pub(crate) fn at(&self, t: usize, p: usize) -> f64 {
        self.counts[t * self.k + p] as f64
    }

    fn tp(&self, i: usize) -> f64 {
        self.at(i, i)
    }

    fn actual(&self, i: usize) -> f64 {
        (0..self.k).map(|j| self.at(i, j)).sum()
    }

    fn predicted(&self, j: usize) -> f64 {
        (0..self.k).map(|i| self.at(i, j)).sum()
    }

    fn trace(&self) -> f64 {
        (0..self.k).map(|i| self.tp(i)).sum()
    }

    /// F1 from counts: 2tp / (2tp + fp + fn), 0 when nothing was predicted or present.
    fn f1(&self, i: usize) -> f64 {
        let tp = self.tp(i);
        ratio(2.0 * tp, self.predicted(i) + self.actual(i))
    }

    /// Mean recall over the classes present in the truth (scikit-learn drops the others).
    fn balanced_accuracy(&self) -> Score {
        let recalls: Vec<f64> =
            (0..self.k).filter(|&i| self.actual(i) > 0.0).map(|i| self.tp(i) / self.actual(i)).collect();
        if recalls.is_empty() {
            return Score::Undefined("no rows to score");
        }
        Score::Value(recalls.iter().sum::<f64>() / recalls.len() as f64)
    }

    /// The multi-class `R_K` statistic. scikit-learn returns 0 when the denominator is 0 (one
    /// class in the truth or in the predictions); holdout says undefined.
    fn matthews(&self) -> Score {
        let s = self.n;
        let c = self.trace();
        let t: Vec<f64> = (0..self.k).map(|i| self.actual(i)).collect();
        let p: Vec<f64> = (0..self.k).map(|j| self.predicted(j)).collect();
        let tp: f64 = t.iter().zip(&p).map(|(a, b)| a * b).sum();
        let pp: f64 = p.iter().map(|x| x * x).sum();
        let tt: f64 = t.iter().map(|x| x * x).sum();
        let denominator = ((s * s - pp) * (s * s - tt)).sqrt();
        if denominator == 0.0 {
            return Score::Undefined("the truth or the predictions hold a single class");
        }
        Score::Value((c * s - tp) / denominator)
    }

    /// κ = 1 − Σ w·O / Σ w·E with w = (i − j)², E = outer(truth, predicted) / n. Undefined when
    /// Σ w·E = 0, i.e. truth and predictions share a single class (scikit-learn: NaN).
    fn quadratic_kappa(&self) -> Score {
        let k = self.k;
        let t: Vec<f64> = (0..k).map(|i| self.actual(i)).collect();
        let p: Vec<f64> = (0..k).map(|j| self.predicted(j)).collect();
        let (mut observed, mut expected) = (0.0, 0.0);
        for (i, ti) in t.iter().enumerate() {
            for (j, pj) in p.iter().enumerate() {
                let w = ((i as f64) - (j as f64)).powi(2);
                observed += w * self.at(i, j);
                expected += w * ti * pj / self.n;
            }
        }
        if expected == 0.0 {
            return Score::Undefined("truth and predictions share a single class");
        }
        Score::Value(1.0 - observed / expected)
    }
}

/// Compensated summation, so log loss over millions of rows keeps its last digits.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Neumaier {
    sum: f64,
    compensation: f64,
}

impl Neumaier {
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    pub(crate) fn total(&self) -> f64 {
        self.sum + self.compensation
    }
}

/// Binary ROC AUC of `scores` against `positive`, ties counted half (scikit-learn's).
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Score {
    let truth = Truth::Classes(positive.iter().map(|&p| usize::from(p)).collect());
    score(Metric::RocAuc, &[0, 1], &truth, &Predictions::Probability(scores.to_vec()))
}

/// Average precision of `scores` against `positive` (scikit-learn's, not interpolated).
pub fn average_precision(scores: &[f64], positive: &[bool]) -> Score {
    let truth = Truth::Classes(positive.iter().map(|&p| usize::from(p)).collect());
    score(Metric::AveragePrecision, &[0, 1], &truth, &Predictions::Probability(scores.to_vec()))
}

/// Spearman's ρ of two columns (average ranks for ties).
pub fn spearman(y: &[f64], p: &[f64]) -> Score {
    score(Metric::Spearman, &[], &Truth::Values(y.to_vec()), &Predictions::Values(p.to_vec()))
}
