//! The scoring engine behind every score holdout shows: one set of predictions, prepared once,
//! scored on many subsets of rows and many bootstrap replicates.
//!
//! Rows are grouped into *strata*: contiguous ranges (in a contest, the public and private
//! rows of each board). A subset is a set of strata (`all`, `public`, `b_private`, …), and a
//! replicate is a count per row. Each pass over the rows collects statistics per stratum —
//! a confusion matrix, compensated sums, or for ROC AUC the pairwise win counts between strata
//! — from which every subset's value follows exactly, so a pass serves all subsets at once.
//! What does not decompose by stratum (average precision, Spearman) takes one pass per subset.
//!
//! Counts are integers: ROC AUC is a ratio of exact integers, confusion matrices are exact,
//! and sums of losses are compensated (Neumaier), so a row counted `w` times contributes
//! exactly what `w` copies of it would, up to the last bits of a float sum.

use std::ops::Range;
use std::sync::OnceLock;

use holdout_schema::Metric;

use crate::metrics::{Confusion, LOG_LOSS_EPS, Neumaier, Predictions, Score, Truth};

/// Strata at most.
pub const MAX_STRATA: usize = 8;

/// A set of strata: bit `s` is stratum `s`.
pub type Strata = u8;

/// Columns at least this long are sorted on two threads.
const PARALLEL_SORT: usize = 1 << 16;

/// Bit 7 of a [`Ranked`] tag: the row starts a group of tied values.
const FIRST: u8 = 0x80;

/// Predictions and truth ready to be scored, with what several metrics share computed once
/// on first use (sort orders, predicted classes, per-row log loss).
pub struct Scorer<'a> {
    labels: &'a [i64],
    truth: &'a Truth,
    predictions: &'a Predictions,
    strata: Vec<Range<usize>>,
    /// Stratum of each row.
    stratum: Vec<u8>,
    predicted: OnceLock<Option<Vec<usize>>>,
    losses: OnceLock<Option<Vec<f64>>>,
    /// The prediction columns (one, or one per class), each in ascending order.
    by_prediction: OnceLock<Vec<Ranked>>,
    /// A regression truth in ascending order.
    by_truth: OnceLock<Option<Ranked>>,
}

impl std::fmt::Debug for Scorer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scorer").field("rows", &self.stratum.len()).field("strata", &self.strata).finish()
    }
}

impl<'a> Scorer<'a> {
    /// `strata` partition the rows `0..n` in order; `labels` are the contest's class labels
    /// (empty for regression).
    ///
    /// # Panics
    /// If truth and predictions differ in length, the strata are not consecutive ranges
    /// covering every row, or there are more than [`MAX_STRATA`] or more than 65,535 labels.
    pub fn new(
        labels: &'a [i64],
        truth: &'a Truth,
        predictions: &'a Predictions,
        strata: &[Range<usize>],
    ) -> Scorer<'a> {
        let n = truth.len();
        assert_eq!(n, predictions.len(), "one prediction per row of the truth");
        assert!(strata.len() <= MAX_STRATA, "at most {MAX_STRATA} strata");
        assert!(u16::try_from(labels.len()).is_ok(), "at most 65,535 labels");
        let mut stratum = vec![0u8; n];
        let mut end = 0;
        for (s, r) in strata.iter().enumerate() {
            assert_eq!(r.start, end, "strata must be consecutive ranges from row 0");
            stratum[r.clone()].fill(s as u8);
            end = r.end;
        }
        assert_eq!(end, n, "the strata must cover every row");
        Scorer {
            labels,
            truth,
            predictions,
            strata: strata.to_vec(),
            stratum,
            predicted: OnceLock::new(),
            losses: OnceLock::new(),
            by_prediction: OnceLock::new(),
            by_truth: OnceLock::new(),
        }
    }

    /// All rows as one stratum.
    pub fn whole(labels: &'a [i64], truth: &'a Truth, predictions: &'a Predictions) -> Scorer<'a> {
        Scorer::new(labels, truth, predictions, std::slice::from_ref(&(0..truth.len())))
    }

    pub fn rows(&self) -> usize {
        self.stratum.len()
    }

    pub fn strata(&self) -> &[Range<usize>] {
        &self.strata
    }

    /// Every metric on every subset (`result[subset][metric]`), each row counted once, or
    /// `counts[row]` times (a bootstrap replicate).
    pub fn scores(&self, metrics: &[Metric], subsets: &[Strata], counts: Option<&[u32]>) -> Vec<Vec<Score>> {
        match counts {
            None => self.scores_with(metrics, subsets, &Ones),
            Some(c) => {
                assert_eq!(c.len(), self.rows(), "one count per row");
                self.scores_with(metrics, subsets, &Counts(c))
            }
        }
    }

    /// Computes on parallel threads what `metrics` will share (sort orders, per-row losses,
    /// predicted classes), so that a first [`Scorer::scores`] call does not do it in turn.
    pub fn prepare(&self, metrics: &[Metric]) {
        let ranks = metrics.iter().any(|m| {
            matches!(
                m,
                Metric::RocAuc
                    | Metric::AveragePrecision
                    | Metric::RocAucOvrMacro
                    | Metric::RocAucOvrWeighted
                    | Metric::Spearman
            )
        });
        std::thread::scope(|scope| {
            if ranks {
                scope.spawn(|| {
                    self.by_prediction();
                    self.by_truth();
                });
            }
            if metrics.contains(&Metric::LogLoss) {
                scope.spawn(|| self.losses());
            }
            self.predicted();
        });
    }

    /// One metric on all rows, each once.
    pub fn score(&self, metric: Metric) -> Score {
        self.scores(&[metric], &[all(self.strata.len())], None)[0][0]
    }

    /// Rows of the strata in `subset`.
    pub(crate) fn subset_rows(&self, subset: Strata) -> usize {
        members(subset, self.strata.len()).map(|s| self.strata[s].len()).sum()
    }

    /// Whether `metric` is computed from the confusion matrix of the truth and the predicted
    /// classes alone, so that a resample is a resample of that matrix.
    pub(crate) fn uses_confusion(&self, metric: Metric) -> bool {
        matches!(self.truth, Truth::Classes(_))
            && self.predicted().is_some()
            && !matches!(
                metric,
                Metric::LogLoss
                    | Metric::RocAuc
                    | Metric::AveragePrecision
                    | Metric::RocAucOvrMacro
                    | Metric::RocAucOvrWeighted
            )
    }

    /// Whether [`Scorer::influence`] has a closed form for `metric`.
    pub(crate) fn has_influence(&self, metric: Metric) -> bool {
        match (self.truth, self.predictions, metric) {
            (Truth::Classes(_), Predictions::Probability(_), Metric::RocAuc)
            | (Truth::Values(_), Predictions::Values(_), Metric::Rmse | Metric::Mae | Metric::R2) => true,
            (Truth::Classes(_), _, Metric::LogLoss) => self.losses().is_some(),
            _ => false,
        }
    }

    /// Rows of each class in `subset` (binary truth: negatives, positives).
    pub(crate) fn class_counts(&self, subset: Strata) -> [u64; 2] {
        let Truth::Classes(y) = self.truth else { return [0, 0] };
        let mut counts = [0u64; 2];
        for s in members(subset, self.strata.len()) {
            for &c in &y[self.strata[s].clone()] {
                counts[usize::from(c != 0)] += 1;
            }
        }
        counts
    }

    /// The truth and the predicted class of each row, for metrics computed from a confusion
    /// matrix (see [`Scorer::uses_confusion`]).
    pub(crate) fn classes(&self) -> Option<(&[usize], &[usize])> {
        match (self.truth, self.predicted()) {
            (Truth::Classes(y), Some(p)) => Some((y, p)),
            _ => None,
        }
    }

    pub(crate) fn labels(&self) -> usize {
        self.labels.len()
    }

    /// `metric` on each subset from given per-stratum confusion matrices (`tables[stratum]`,
    /// `k × k`, rows the truth) instead of the rows: a resampled matrix gives the resample's
    /// value exactly.
    pub(crate) fn scores_from_tables(&self, metric: Metric, subsets: &[Strata], tables: Vec<Vec<u64>>) -> Vec<Score> {
        let mut totals = [0u64; MAX_STRATA];
        for (t, table) in totals.iter_mut().zip(&tables) {
            *t = table.iter().sum();
        }
        let mut stats = Stats { totals: Some(totals), confusion: Some(tables), ..Stats::default() };
        subsets.iter().map(|&subset| self.metric(metric, subset, &Ones, &mut stats)).collect()
    }

    /// The metric on `subset` and each row's first-order influence on it: a resample that
    /// counts row `i` `wᵢ` times scores about `estimate + Σ (wᵢ − 1) φᵢ` (`φᵢ` is 0 outside the
    /// subset). For ROC AUC, `φ` is DeLong's placement of the row among the other class,
    /// centred and scaled; for a mean of per-row losses, the loss over the row count; RMSE and
    /// R² follow by the delta method.
    ///
    /// # Panics
    /// Unless [`Scorer::has_influence`] holds for `metric`.
    pub(crate) fn influence(&self, metric: Metric, subset: Strata) -> Result<(f64, Vec<f64>), &'static str> {
        assert!(self.has_influence(metric), "no closed form for {}", metric.name());
        let estimate = match self.scores(&[metric], &[subset], None)[0][0] {
            Score::Value(v) => v,
            Score::Undefined(why) => return Err(why),
        };
        let inside = |s: u8| subset & (1 << s) != 0;
        let rows = self.subset_rows(subset) as f64;
        let mut phi = vec![0.0; self.rows()];
        match (self.truth, self.predictions) {
            (Truth::Classes(_), Predictions::Probability(_)) if metric == Metric::RocAuc => {
                let ranked = &self.by_prediction()[0];
                let [negatives, positives] = self.class_counts(subset).map(|c| c as f64);
                let (mut neg_below, mut pos_below, mut start) = (0.0, 0.0, 0);
                while start < ranked.rows.len() {
                    let mut end = start + 1;
                    while end < ranked.rows.len() && ranked.tags[end] & FIRST == 0 {
                        end += 1;
                    }
                    let (mut pos, mut neg) = (0.0, 0.0);
                    for i in start..end {
                        if inside(ranked.tags[i] & !FIRST) {
                            if ranked.classes[i] == 1 {
                                pos += 1.0;
                            } else {
                                neg += 1.0;
                            }
                        }
                    }
                    // A positive's share of negatives ranked below it, ties half, and a
                    // negative's share of positives ranked above it.
                    let v10 = (neg_below + 0.5 * neg) / negatives;
                    let v01 = (positives - pos_below - pos + 0.5 * pos) / positives;
                    for i in start..end {
                        if inside(ranked.tags[i] & !FIRST) {
                            phi[ranked.rows[i] as usize] = if ranked.classes[i] == 1 {
                                (v10 - estimate) / positives
                            } else {
                                (v01 - estimate) / negatives
                            };
                        }
                    }
                    neg_below += neg;
                    pos_below += pos;
                    start = end;
                }
            }
            (Truth::Classes(_), _) => {
                let losses = self.losses().expect("has_influence checked the losses");
                self.each_row(subset, |i| phi[i] = losses[i] / rows);
            }
            (Truth::Values(y), Predictions::Values(p)) => match metric {
                Metric::Rmse if estimate > 0.0 => self.each_row(subset, |i| {
                    let e = y[i] - p[i];
                    phi[i] = e * e / (2.0 * estimate * rows);
                }),
                Metric::Rmse => {}
                Metric::Mae => self.each_row(subset, |i| phi[i] = (y[i] - p[i]).abs() / rows),
                _ => {
                    let mut mean = Neumaier::default();
                    self.each_row(subset, |i| mean.add(y[i]));
                    let mean = mean.total() / rows;
                    let mut spread = Neumaier::default();
                    self.each_row(subset, |i| spread.add((y[i] - mean) * (y[i] - mean)));
                    let spread = spread.total() / rows;
                    self.each_row(subset, |i| {
                        let (error, deviation) = (y[i] - p[i], y[i] - mean);
                        phi[i] = -(error * error - (1.0 - estimate) * deviation * deviation) / (spread * rows);
                    });
                }
            },
            _ => unreachable!("has_influence checked the pair"),
        }
        Ok((estimate, phi))
    }

    /// The variance of `Σ wᵢ φᵢ` over the stratified bootstrap (each stratum of `subset` draws
    /// its own size of rows with replacement): `Σₛ Σ_{i∈s} (φᵢ − φ̄ₛ)²`.
    pub(crate) fn resampling_variance(&self, subset: Strata, phi: &[f64]) -> f64 {
        let mut total = Neumaier::default();
        for s in members(subset, self.strata.len()) {
            let rows = &phi[self.strata[s].clone()];
            if rows.is_empty() {
                continue;
            }
            let mut mean = Neumaier::default();
            for &x in rows {
                mean.add(x);
            }
            let mean = mean.total() / rows.len() as f64;
            let mut squares = Neumaier::default();
            for &x in rows {
                squares.add((x - mean) * (x - mean));
            }
            total.add(squares.total());
        }
        total.total()
    }

    fn each_row(&self, subset: Strata, mut f: impl FnMut(usize)) {
        for s in members(subset, self.strata.len()) {
            self.strata[s].clone().for_each(&mut f);
        }
    }

    fn scores_with<W: Weights>(&self, metrics: &[Metric], subsets: &[Strata], w: &W) -> Vec<Vec<Score>> {
        let mut stats = Stats::default();
        subsets.iter().map(|&subset| metrics.iter().map(|&m| self.metric(m, subset, w, &mut stats)).collect()).collect()
    }

    fn metric<W: Weights>(&self, metric: Metric, subset: Strata, w: &W, stats: &mut Stats) -> Score {
        let totals = stats.totals.get_or_insert_with(|| self.totals(w));
        if sum(subset, totals) == 0 {
            return Score::Undefined("no rows to score");
        }
        match (self.truth, metric) {
            (Truth::Classes(_), Metric::Rmse | Metric::Mae) => {
                let Some(c) = self.confusion(subset, w, stats) else {
                    return Score::Undefined("needs class predictions");
                };
                let (mut total, k) = (Neumaier::default(), c.k);
                for t in 0..k {
                    for p in 0..k {
                        let d = (self.labels[t] - self.labels[p]) as f64;
                        total.add(c.at(t, p) * if metric == Metric::Rmse { d * d } else { d.abs() });
                    }
                }
                let mean = total.total() / c.n;
                Score::Value(if metric == Metric::Rmse { mean.sqrt() } else { mean })
            }
            (Truth::Classes(_), _) => self.classification(metric, subset, w, stats),
            (Truth::Values(y), _) => {
                let Predictions::Values(p) = self.predictions else {
                    return Score::Undefined("needs value predictions");
                };
                match metric {
                    Metric::Rmse | Metric::Mae | Metric::R2 => {
                        let sums = stats.sums.get_or_insert_with(|| self.regression_sums(y, p, w));
                        regression(metric, subset, sums)
                    }
                    Metric::Spearman => {
                        let (by_y, by_p) = (self.by_truth(), &self.by_prediction()[0]);
                        spearman(by_y.expect("a regression truth is ranked"), by_p, subset, w, self.rows())
                    }
                    _ => Score::Undefined("not a regression metric"),
                }
            }
        }
    }

    fn classification<W: Weights>(&self, metric: Metric, subset: Strata, w: &W, stats: &mut Stats) -> Score {
        match metric {
            Metric::LogLoss => {
                let Some(losses) = self.losses() else { return Score::Undefined("needs probabilities") };
                let sums = stats.log_loss.get_or_insert_with(|| self.stratum_sums(losses, w));
                let (mut total, mut weight) = (Neumaier::default(), 0);
                for s in members(subset, self.strata.len()) {
                    total.add(sums[s].0.total());
                    weight += sums[s].1;
                }
                Score::Value(total.total() / weight as f64)
            }
            Metric::RocAuc => {
                if !matches!(self.predictions, Predictions::Probability(_)) {
                    return Score::Undefined("needs probabilities");
                }
                let auc = stats.auc.get_or_insert_with(|| vec![self.auc_stats(&self.by_prediction()[0], 1, w)]);
                auc[0].auc(subset).map_or(Score::Undefined("only one class present in the truth"), Score::Value)
            }
            Metric::AveragePrecision => {
                if !matches!(self.predictions, Predictions::Probability(_)) {
                    return Score::Undefined("needs probabilities");
                }
                average_precision(&self.by_prediction()[0], 1, subset, w)
            }
            Metric::RocAucOvrMacro | Metric::RocAucOvrWeighted => {
                let Predictions::ClassProbabilities { classes, .. } = self.predictions else {
                    return Score::Undefined("needs class probabilities");
                };
                let auc = stats.auc.get_or_insert_with(|| {
                    let columns = self.by_prediction();
                    (0..*classes).map(|c| self.auc_stats(&columns[c], c as u16, w)).collect()
                });
                let total_weight = members(subset, self.strata.len()).fold(0, |t, s| t + auc[0].pos[s] + auc[0].neg[s]);
                let (mut total, mut weights) = (0.0, 0.0);
                for stats in auc.iter() {
                    let Some(value) = stats.auc(subset) else {
                        return Score::Undefined(
                            "a class is absent from the truth, so its one-vs-rest AUC is undefined",
                        );
                    };
                    let weight = if metric == Metric::RocAucOvrWeighted {
                        sum(subset, &stats.pos) as f64 / total_weight as f64
                    } else {
                        1.0
                    };
                    total += weight * value;
                    weights += weight;
                }
                Score::Value(total / weights)
            }
            _ => {
                let Some(c) = self.confusion(subset, w, stats) else {
                    return Score::Undefined("needs class predictions");
                };
                c.metric(metric)
            }
        }
    }

    /// The subset's confusion matrix over the contest's labels, or `None` for predictions
    /// that are not classes.
    fn confusion<W: Weights>(&self, subset: Strata, w: &W, stats: &mut Stats) -> Option<Confusion> {
        let (Truth::Classes(y), Some(p)) = (self.truth, self.predicted()) else { return None };
        let k = self.labels.len();
        let per_stratum = stats.confusion.get_or_insert_with(|| {
            self.strata
                .iter()
                .map(|range| {
                    let mut counts = vec![0u64; k * k];
                    for i in range.clone() {
                        counts[y[i] * k + p[i]] += w.at(i);
                    }
                    counts
                })
                .collect()
        });
        let mut counts = vec![0u64; k * k];
        for s in members(subset, self.strata.len()) {
            for (total, c) in counts.iter_mut().zip(&per_stratum[s]) {
                *total += c;
            }
        }
        Some(Confusion::from_counts(k, counts))
    }

    /// Total count per stratum.
    fn totals<W: Weights>(&self, w: &W) -> [u64; MAX_STRATA] {
        let mut totals = [0; MAX_STRATA];
        for (s, range) in self.strata.iter().enumerate() {
            totals[s] = range.clone().map(|i| w.at(i)).sum();
        }
        totals
    }

    /// Σ count × value per stratum, with the total count.
    fn stratum_sums<W: Weights>(&self, values: &[f64], w: &W) -> Vec<(Neumaier, u64)> {
        self.strata
            .iter()
            .map(|range| {
                let (mut total, mut weight) = (Neumaier::default(), 0);
                for i in range.clone() {
                    let c = w.at(i);
                    if c > 0 {
                        total.add(c as f64 * values[i]);
                        weight += c;
                    }
                }
                (total, weight)
            })
            .collect()
    }

    fn regression_sums<W: Weights>(&self, truth: &[f64], predicted: &[f64], weights: &W) -> Vec<RegressionSums> {
        // Deviations are taken from the mean of all rows, so that the total sum of squares of
        // any subset loses no digits to cancellation.
        let center = truth.iter().sum::<f64>() / truth.len() as f64;
        self.strata
            .iter()
            .map(|range| {
                let mut sums = RegressionSums::default();
                for i in range.clone() {
                    let count = weights.at(i);
                    if count == 0 {
                        continue;
                    }
                    let (times, error, deviation) = (count as f64, truth[i] - predicted[i], truth[i] - center);
                    sums.weight += count;
                    sums.squared.add(times * error * error);
                    sums.absolute.add(times * error.abs());
                    sums.deviation.add(times * deviation);
                    sums.deviation2.add(times * deviation * deviation);
                    sums.min = sums.min.min(truth[i]);
                    sums.max = sums.max.max(truth[i]);
                }
                sums
            })
            .collect()
    }

    /// Pairwise win counts for ROC AUC of class `positive` against the rest.
    fn auc_stats<W: Weights>(&self, ranked: &Ranked, positive: u16, w: &W) -> AucStats {
        let s = self.strata.len();
        let mut stats = AucStats::default();
        let (mut pos, mut neg, mut touched) = ([0u64; MAX_STRATA], [0u64; MAX_STRATA], 0u8);
        for ((&row, &tag), &class) in ranked.rows.iter().zip(&ranked.tags).zip(&ranked.classes) {
            if tag & FIRST != 0 && touched != 0 {
                stats.close(&mut pos, &mut neg, touched, s);
                touched = 0;
            }
            let c = w.at(row as usize);
            let k = usize::from(tag & !FIRST);
            if class == positive {
                pos[k] += c;
            } else {
                neg[k] += c;
            }
            touched |= 1 << k;
        }
        if touched != 0 {
            stats.close(&mut pos, &mut neg, touched, s);
        }
        stats
    }

    fn predicted(&self) -> Option<&[usize]> {
        self.predicted.get_or_init(|| self.predictions.classes()).as_deref()
    }

    /// −ln p(true class) per row, Kaggle's way: probabilities clipped to [1e-15, 1 − 1e-15]
    /// and each row renormalised to sum 1; a binary probability p is clipped and becomes the
    /// row [1 − p, p] (the complement of the clipped value, as Kaggle and scikit-learn do: a p
    /// of 1 gives 1 − (1 − 1e-15), not exactly 1e-15).
    fn losses(&self) -> Option<&[f64]> {
        self.losses
            .get_or_init(|| {
                let Truth::Classes(y) = self.truth else { return None };
                let clip = |p: f64| p.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
                match self.predictions {
                    Predictions::Probability(p) => Some(
                        y.iter()
                            .zip(p)
                            .map(|(&c, &p)| {
                                let q1 = clip(p);
                                -(if c == 1 { q1 } else { 1.0 - q1 }).ln()
                            })
                            .collect(),
                    ),
                    Predictions::ClassProbabilities { classes, values } if *classes == self.labels.len() => Some(
                        y.iter()
                            .zip(values.chunks(*classes))
                            .map(|(&c, row)| {
                                let total: f64 = row.iter().map(|&p| clip(p)).sum();
                                -(clip(row[c]) / total).ln()
                            })
                            .collect(),
                    ),
                    _ => None,
                }
            })
            .as_deref()
    }

    fn by_prediction(&self) -> &[Ranked] {
        self.by_prediction.get_or_init(|| {
            let classes = match self.truth {
                Truth::Classes(y) => Some(y.as_slice()),
                Truth::Values(_) => None,
            };
            match self.predictions {
                Predictions::Probability(v) | Predictions::Values(v) => {
                    vec![Ranked::new(v.len(), |i| v[i], &self.stratum, classes)]
                }
                // One column at a time (each sorts on two threads), to bound memory.
                Predictions::ClassProbabilities { classes: k, values } => (0..*k)
                    .map(|c| Ranked::new(values.len() / k, |i| values[i * k + c], &self.stratum, classes))
                    .collect(),
                Predictions::Labels(_) => Vec::new(),
            }
        })
    }

    fn by_truth(&self) -> Option<&Ranked> {
        self.by_truth
            .get_or_init(|| match self.truth {
                Truth::Values(y) => Some(Ranked::new(y.len(), |i| y[i], &self.stratum, None)),
                Truth::Classes(_) => None,
            })
            .as_ref()
    }
}

/// The subset of every one of `n` strata.
pub fn all(n: usize) -> Strata {
    ((1u16 << n) - 1) as Strata
}

fn members(subset: Strata, n: usize) -> impl Iterator<Item = usize> {
    (0..n).filter(move |s| subset & (1 << s) != 0)
}

fn sum(subset: Strata, per_stratum: &[u64; MAX_STRATA]) -> u64 {
    members(subset, MAX_STRATA).map(|s| per_stratum[s]).sum()
}

/// How often each row counts.
trait Weights: Sync {
    fn at(&self, row: usize) -> u64;
}

/// Every row once.
struct Ones;

impl Weights for Ones {
    #[inline]
    fn at(&self, _: usize) -> u64 {
        1
    }
}

/// A bootstrap replicate's counts.
struct Counts<'c>(&'c [u32]);

impl Weights for Counts<'_> {
    #[inline]
    fn at(&self, row: usize) -> u64 {
        u64::from(self.0[row])
    }
}

/// Statistics of one pass, shared by the metrics and subsets of one [`Scorer::scores`] call.
#[derive(Default)]
struct Stats {
    totals: Option<[u64; MAX_STRATA]>,
    confusion: Option<Vec<Vec<u64>>>,
    log_loss: Option<Vec<(Neumaier, u64)>>,
    sums: Option<Vec<RegressionSums>>,
    /// Per positive class: one for binary ROC AUC, one per class for one-vs-rest.
    auc: Option<Vec<AucStats>>,
}

/// One column's rows in ascending order of value.
struct Ranked {
    rows: Vec<u32>,
    /// Per position: the row's stratum, and [`FIRST`] if its value differs from the previous.
    tags: Vec<u8>,
    /// Per position: the row's true class (empty for a regression truth).
    classes: Vec<u16>,
}

impl Ranked {
    fn new(n: usize, value: impl Fn(usize) -> f64, stratum: &[u8], classes: Option<&[usize]>) -> Ranked {
        // Finite floats sort like these integers (`+ 0.0` makes −0 equal to 0).
        let key = |x: f64| {
            let bits = (x + 0.0).to_bits();
            if bits >> 63 == 1 { !bits } else { bits | 1 << 63 }
        };
        // The row's stratum and class ride along in what would be padding, so that the pass
        // over the sorted order reads nothing at random.
        let class = |i: usize| classes.map_or(0, |y| y[i] as u16);
        let mut keyed: Vec<(u64, u32, u16, u8)> =
            (0..n).map(|i| (key(value(i)), i as u32, class(i), stratum[i])).collect();
        let mut ranked = Ranked { rows: Vec::with_capacity(n), tags: Vec::with_capacity(n), classes: Vec::new() };
        if classes.is_some() {
            ranked.classes.reserve(n);
        }
        let mut previous = None;
        let mut push = |(k, row, class, stratum): (u64, u32, u16, u8)| {
            ranked.rows.push(row);
            ranked.tags.push(stratum | if previous == Some(k) { 0 } else { FIRST });
            if classes.is_some() {
                ranked.classes.push(class);
            }
            previous = Some(k);
        };
        // Large columns are sorted in two halves on two threads, then merged.
        if n >= PARALLEL_SORT {
            let (low, high) = keyed.split_at_mut(n / 2);
            std::thread::scope(|scope| {
                scope.spawn(|| low.sort_unstable());
                high.sort_unstable();
            });
            let (mut i, mut j) = (0, 0);
            while i < low.len() && j < high.len() {
                if low[i] <= high[j] {
                    push(low[i]);
                    i += 1;
                } else {
                    push(high[j]);
                    j += 1;
                }
            }
            low[i..].iter().chain(&high[j..]).for_each(|&x| push(x));
        } else {
            keyed.sort_unstable();
            keyed.into_iter().for_each(push);
        }
        ranked
    }
}

/// Mann–Whitney counts between strata: `wins2[a][b]` is twice the number of (positive in
/// stratum `a`, negative in stratum `b`) pairs ordered correctly, ties counting half.
#[derive(Debug, Default)]
struct AucStats {
    pos: [u64; MAX_STRATA],
    neg: [u64; MAX_STRATA],
    wins2: [[u64; MAX_STRATA]; MAX_STRATA],
}

impl AucStats {
    /// Adds a tie group: its positives beat every negative below and tie with the group's.
    fn close(&mut self, pos: &mut [u64; MAX_STRATA], neg: &mut [u64; MAX_STRATA], touched: u8, strata: usize) {
        for a in members(touched, strata) {
            if pos[a] > 0 {
                for (b, wins) in self.wins2[a].iter_mut().enumerate().take(strata) {
                    *wins += pos[a] * (2 * self.neg[b] + neg[b]);
                }
            }
        }
        for a in members(touched, strata) {
            self.pos[a] += pos[a];
            self.neg[a] += neg[a];
            pos[a] = 0;
            neg[a] = 0;
        }
    }

    /// ROC AUC on a subset, if it holds both classes: an exact ratio of integers.
    fn auc(&self, subset: Strata) -> Option<f64> {
        let (p, n) = (sum(subset, &self.pos), sum(subset, &self.neg));
        let wins2: u64 = members(subset, MAX_STRATA)
            .flat_map(|a| members(subset, MAX_STRATA).map(move |b| (a, b)))
            .map(|(a, b)| self.wins2[a][b])
            .sum();
        (p > 0 && n > 0).then(|| wins2 as f64 / (2.0 * p as f64 * n as f64))
    }
}

#[derive(Debug)]
struct RegressionSums {
    weight: u64,
    squared: Neumaier,
    absolute: Neumaier,
    /// Σ (y − c) and Σ (y − c)² for the overall mean c.
    deviation: Neumaier,
    deviation2: Neumaier,
    min: f64,
    max: f64,
}

impl Default for RegressionSums {
    fn default() -> Self {
        RegressionSums {
            weight: 0,
            squared: Neumaier::default(),
            absolute: Neumaier::default(),
            deviation: Neumaier::default(),
            deviation2: Neumaier::default(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

fn regression(metric: Metric, subset: Strata, sums: &[RegressionSums]) -> Score {
    let parts: Vec<&RegressionSums> = members(subset, sums.len()).map(|s| &sums[s]).collect();
    let total = |f: fn(&RegressionSums) -> f64| {
        let mut t = Neumaier::default();
        for p in &parts {
            t.add(f(p));
        }
        t.total()
    };
    let n = parts.iter().map(|p| p.weight).sum::<u64>() as f64;
    match metric {
        Metric::Rmse => Score::Value((total(|s| s.squared.total()) / n).sqrt()),
        Metric::Mae => Score::Value(total(|s| s.absolute.total()) / n),
        _ => {
            let (min, max) =
                parts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.min), hi.max(p.max)));
            if min == max {
                return Score::Undefined("the truth is constant");
            }
            let d = total(|s| s.deviation.total());
            let tot = total(|s| s.deviation2.total()) - d * d / n;
            Score::Value(1.0 - total(|s| s.squared.total()) / tot)
        }
    }
}

/// Average precision Σ (Rₙ − Rₙ₋₁) Pₙ over the distinct thresholds, from the highest score
/// down, not interpolated (scikit-learn's definition).
fn average_precision<W: Weights>(ranked: &Ranked, positive: u16, subset: Strata, w: &W) -> Score {
    let weight = |i: usize| {
        if subset & (1 << (ranked.tags[i] & !FIRST)) == 0 { 0 } else { w.at(ranked.rows[i] as usize) }
    };
    let n_pos: u64 = (0..ranked.rows.len()).filter(|&i| ranked.classes[i] == positive).map(weight).sum();
    if n_pos == 0 {
        return Score::Undefined("no positive rows in the truth");
    }
    let n_pos = n_pos as f64;
    let (mut tp, mut seen, mut group, mut previous_recall, mut ap) = (0u64, 0u64, 0u64, 0.0, 0.0);
    for i in (0..ranked.rows.len()).rev() {
        let c = weight(i);
        group += c;
        if ranked.classes[i] == positive {
            tp += c;
        }
        if ranked.tags[i] & FIRST != 0 && group > 0 {
            seen += group;
            group = 0;
            let recall = tp as f64 / n_pos;
            ap += (recall - previous_recall) * (tp as f64 / seen as f64);
            previous_recall = recall;
        }
    }
    Score::Value(ap.max(0.0))
}

/// Spearman's ρ: the Pearson correlation of average ranks, each row counted as often as its
/// weight.
fn spearman<W: Weights>(by_truth: &Ranked, by_prediction: &Ranked, subset: Strata, weights: &W, rows: usize) -> Score {
    let (truth_ranks, total) = mid_ranks(by_truth, subset, weights, rows);
    let (predicted_ranks, _) = mid_ranks(by_prediction, subset, weights, rows);
    // Average ranks of W rows always have the mean (W + 1) / 2.
    let mean = f64::midpoint(total as f64, 1.0);
    let (mut cov, mut var_truth, mut var_predicted) = (0.0, 0.0, 0.0);
    for (row, (rt, rp)) in truth_ranks.iter().zip(&predicted_ranks).enumerate() {
        if rt.is_nan() {
            continue;
        }
        let times = weights.at(row) as f64;
        let (dt, dp) = (rt - mean, rp - mean);
        cov += times * dt * dp;
        var_truth += times * dt * dt;
        var_predicted += times * dp * dp;
    }
    if var_truth == 0.0 || var_predicted == 0.0 {
        return Score::Undefined("the truth or the predictions are constant");
    }
    Score::Value(cov / (var_truth * var_predicted).sqrt())
}

/// The average rank of each row of the subset (NaN for rows outside it or counted 0 times),
/// and the total count.
fn mid_ranks<W: Weights>(ranked: &Ranked, subset: Strata, w: &W, n: usize) -> (Vec<f64>, u64) {
    let mut ranks = vec![f64::NAN; n];
    let (mut below, mut group, mut start) = (0u64, 0u64, 0usize);
    let close = |ranks: &mut Vec<f64>, from: usize, to: usize, below: &mut u64, group: u64| {
        // Ranks below+1 ..= below+group share their mean.
        let rank = (2 * *below + group + 1) as f64 / 2.0;
        for i in from..to {
            let row = ranked.rows[i] as usize;
            if subset & (1 << (ranked.tags[i] & !FIRST)) != 0 && w.at(row) > 0 {
                ranks[row] = rank;
            }
        }
        *below += group;
    };
    for i in 0..ranked.rows.len() {
        if ranked.tags[i] & FIRST != 0 && i > 0 {
            close(&mut ranks, start, i, &mut below, group);
            (group, start) = (0, i);
        }
        if subset & (1 << (ranked.tags[i] & !FIRST)) != 0 {
            group += w.at(ranked.rows[i] as usize);
        }
    }
    close(&mut ranks, start, ranked.rows.len(), &mut below, group);
    (ranks, below)
}
