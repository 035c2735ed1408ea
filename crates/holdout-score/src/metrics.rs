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

/// Computes one metric. `labels` are the contest's class labels (empty for regression).
pub fn score(metric: Metric, labels: &[i64], truth: &Truth, predictions: &Predictions) -> Score {
    if predictions.is_empty() {
        return Score::Undefined("no rows to score");
    }
    match (truth, metric) {
        (Truth::Classes(y), Metric::Rmse | Metric::Mae) => {
            let Some(p) = predictions.classes() else { return Score::Undefined("needs class predictions") };
            let value = |i: usize| labels[i] as f64;
            let t: Vec<f64> = y.iter().map(|&i| value(i)).collect();
            let q: Vec<f64> = p.iter().map(|&i| value(i)).collect();
            if metric == Metric::Rmse { rmse(&t, &q) } else { mae(&t, &q) }
        }
        (Truth::Classes(y), _) => classification(metric, labels, y, predictions),
        (Truth::Values(y), _) => {
            let Predictions::Values(p) = predictions else { return Score::Undefined("needs value predictions") };
            match metric {
                Metric::Rmse => rmse(y, p),
                Metric::Mae => mae(y, p),
                Metric::R2 => r2(y, p),
                Metric::Spearman => spearman(y, p),
                _ => Score::Undefined("not a regression metric"),
            }
        }
    }
}

fn classification(metric: Metric, labels: &[i64], y: &[usize], predictions: &Predictions) -> Score {
    let k = labels.len();
    match metric {
        Metric::LogLoss => log_loss(k, y, predictions),
        Metric::RocAuc => match predictions {
            Predictions::Probability(p) => {
                let positive: Vec<bool> = y.iter().map(|&c| c == 1).collect();
                roc_auc(p, &positive)
            }
            _ => Score::Undefined("needs probabilities"),
        },
        Metric::AveragePrecision => match predictions {
            Predictions::Probability(p) => {
                let positive: Vec<bool> = y.iter().map(|&c| c == 1).collect();
                average_precision(p, &positive)
            }
            _ => Score::Undefined("needs probabilities"),
        },
        Metric::RocAucOvrMacro | Metric::RocAucOvrWeighted => match predictions {
            Predictions::ClassProbabilities { classes, values } => {
                roc_auc_ovr(*classes, values, y, metric == Metric::RocAucOvrWeighted)
            }
            _ => Score::Undefined("needs class probabilities"),
        },
        _ => {
            let Some(p) = predictions.classes() else { return Score::Undefined("needs class predictions") };
            let c = Confusion::new(k, y, &p);
            match metric {
                Metric::Accuracy => Score::Value(c.trace() / c.n),
                Metric::BalancedAccuracy => c.balanced_accuracy(),
                Metric::PrecisionMacro => Score::Value(mean((0..k).map(|i| ratio(c.tp(i), c.predicted(i))))),
                Metric::RecallMacro => Score::Value(mean((0..k).map(|i| ratio(c.tp(i), c.actual(i))))),
                Metric::F1Macro => Score::Value(mean((0..k).map(|i| c.f1(i)))),
                Metric::F1Micro => {
                    let tp: f64 = (0..k).map(|i| c.tp(i)).sum();
                    let fp: f64 = (0..k).map(|i| c.predicted(i) - c.tp(i)).sum();
                    let fn_: f64 = (0..k).map(|i| c.actual(i) - c.tp(i)).sum();
                    Score::Value(ratio(2.0 * tp, 2.0 * tp + fp + fn_))
                }
                Metric::F1Weighted => {
                    let support: f64 = (0..k).map(|i| c.actual(i)).sum();
                    Score::Value(ratio((0..k).map(|i| c.actual(i) * c.f1(i)).sum(), support))
                }
                Metric::MatthewsCorrcoef => c.matthews(),
                Metric::CohenKappaQuadratic => c.quadratic_kappa(),
                _ => Score::Undefined("not a classification metric"),
            }
        }
    }
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
struct Confusion {
    k: usize,
    counts: Vec<u64>,
    n: f64,
}

impl Confusion {
    fn new(k: usize, truth: &[usize], predicted: &[usize]) -> Confusion {
        let mut counts = vec![0u64; k * k];
        for (&t, &p) in truth.iter().zip(predicted) {
            counts[t * k + p] += 1;
        }
        Confusion { k, counts, n: truth.len() as f64 }
    }

    fn at(&self, t: usize, p: usize) -> f64 {
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

/// Kaggle's log loss: probabilities clipped to [1e-15, 1 − 1e-15], each row renormalised to
/// sum 1, then the mean of −ln p(true class). A binary probability p is clipped and becomes
/// the row [1 − p, p].
fn log_loss(k: usize, y: &[usize], predictions: &Predictions) -> Score {
    let clip = |p: f64| p.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
    let mut sum = Neumaier::default();
    match predictions {
        Predictions::Probability(p) => {
            // The probability is clipped, then its complement taken (Kaggle's and scikit-learn's
            // order: a p of 1 gives 1 − (1 − 1e-15), not exactly 1e-15).
            for (&c, &p) in y.iter().zip(p) {
                let q1 = clip(p);
                let q0 = 1.0 - q1;
                sum.add(-(if c == 1 { q1 } else { q0 }).ln());
            }
        }
        Predictions::ClassProbabilities { classes, values } if *classes == k => {
            for (&c, row) in y.iter().zip(values.chunks(k)) {
                let total: f64 = row.iter().map(|&p| clip(p)).sum();
                sum.add(-(clip(row[c]) / total).ln());
            }
        }
        _ => return Score::Undefined("needs probabilities"),
    }
    Score::Value(sum.total() / y.len() as f64)
}

/// Compensated summation, so log loss over millions of rows keeps its last digits.
#[derive(Debug, Default)]
struct Neumaier {
    sum: f64,
    compensation: f64,
}

impl Neumaier {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    fn total(&self) -> f64 {
        self.sum + self.compensation
    }
}

/// Average ranks (1-based) of `scores`, ties sharing their mean rank.
pub fn average_ranks(scores: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j + 1) as f64 / 2.0;
        for &o in &order[i..j] {
            ranks[o] = rank;
        }
        i = j;
    }
    ranks
}

/// Binary ROC AUC as the Mann–Whitney statistic with average ranks (equal to scikit-learn's
/// trapezoid, ties counted half).
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Score {
    let n_pos = positive.iter().filter(|&&p| p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return Score::Undefined("only one class present in the truth");
    }
    let ranks = average_ranks(scores);
    let rank_sum: f64 = ranks.iter().zip(positive).filter(|(_, p)| **p).map(|(r, _)| r).sum();
    Score::Value((rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

/// One-vs-rest AUC per class, averaged unweighted or by prevalence. Undefined if a class is
/// absent from the truth (its one-vs-rest AUC is).
fn roc_auc_ovr(k: usize, values: &[f64], y: &[usize], weighted: bool) -> Score {
    let n = y.len() as f64;
    let (mut total, mut weights) = (0.0, 0.0);
    for class in 0..k {
        let scores: Vec<f64> = values.chunks(k).map(|row| row[class]).collect();
        let positive: Vec<bool> = y.iter().map(|&c| c == class).collect();
        let Score::Value(auc) = roc_auc(&scores, &positive) else {
            return Score::Undefined("a class is absent from the truth, so its one-vs-rest AUC is undefined");
        };
        let w = if weighted { positive.iter().filter(|&&p| p).count() as f64 / n } else { 1.0 };
        total += w * auc;
        weights += w;
    }
    Score::Value(total / weights)
}

/// Average precision Σ (Rₙ − Rₙ₋₁) Pₙ over the distinct thresholds, from the highest score
/// down, not interpolated (scikit-learn's definition).
pub fn average_precision(scores: &[f64], positive: &[bool]) -> Score {
    let n_pos = positive.iter().filter(|&&p| p).count() as f64;
    if n_pos == 0.0 {
        return Score::Undefined("no positive rows in the truth");
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut seen, mut previous_recall, mut ap) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            tp += f64::from(u8::from(positive[order[j]]));
            seen += 1.0;
            j += 1;
        }
        let recall = tp / n_pos;
        ap += (recall - previous_recall) * (tp / seen);
        previous_recall = recall;
        i = j;
    }
    Score::Value(ap.max(0.0))
}

fn rmse(y: &[f64], p: &[f64]) -> Score {
    let mut sum = Neumaier::default();
    for (a, b) in y.iter().zip(p) {
        sum.add((a - b) * (a - b));
    }
    Score::Value((sum.total() / y.len() as f64).sqrt())
}

fn mae(y: &[f64], p: &[f64]) -> Score {
    let mut sum = Neumaier::default();
    for (a, b) in y.iter().zip(p) {
        sum.add((a - b).abs());
    }
    Score::Value(sum.total() / y.len() as f64)
}

/// 1 − `SS_res` / `SS_tot`. Undefined for a constant truth (scikit-learn returns 1 or 0 by
/// convention).
fn r2(y: &[f64], p: &[f64]) -> Score {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let (mut res, mut tot) = (Neumaier::default(), Neumaier::default());
    for (a, b) in y.iter().zip(p) {
        res.add((a - b) * (a - b));
        tot.add((a - mean) * (a - mean));
    }
    if tot.total() == 0.0 {
        return Score::Undefined("the truth is constant");
    }
    Score::Value(1.0 - res.total() / tot.total())
}

/// Pearson correlation of average ranks. Undefined if either side is constant.
pub fn spearman(y: &[f64], p: &[f64]) -> Score {
    let (ry, rp) = (average_ranks(y), average_ranks(p));
    let n = y.len() as f64;
    let (my, mp) = (ry.iter().sum::<f64>() / n, rp.iter().sum::<f64>() / n);
    let (mut cov, mut vy, mut vp) = (0.0, 0.0, 0.0);
    for (a, b) in ry.iter().zip(&rp) {
        cov += (a - my) * (b - mp);
        vy += (a - my) * (a - my);
        vp += (b - mp) * (b - mp);
    }
    if vy == 0.0 || vp == 0.0 {
        return Score::Undefined("the truth or the predictions are constant");
    }
    Score::Value(cov / (vy * vp).sqrt())
}
