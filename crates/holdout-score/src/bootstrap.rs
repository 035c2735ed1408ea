//! The paired bootstrap over test rows: a confidence interval for a metric, and for two
//! submissions the probability that one beats the other. Replicate `r` always draws the same
//! rows for a given seed and row count, so every submission to a contest is resampled the same
//! way and comparisons are paired.
//!
//! Binary ROC AUC has a fast path: the rows are ranked once, and each replicate is one pass
//! over the tie groups with its row counts (no re-sorting). Other metrics score each
//! replicate's rows directly.

use holdout_schema::Metric;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::metrics::{Predictions, Score, Truth, score};

/// Replicates unless the contest says otherwise.
pub const DEFAULT_REPLICATES: usize = 1000;

/// How often each row is drawn in replicate `replicate` (n draws with replacement).
pub fn counts(n: usize, seed: u64, replicate: usize, out: &mut Vec<u32>) {
    out.clear();
    out.resize(n, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(replicate as u64);
    for _ in 0..n {
        out[rng.gen_range(0..n)] += 1;
    }
}

/// A percentile interval of a metric over the replicates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// Replicates where the metric was defined (the others are left out).
    pub replicates: usize,
}

/// The replicate values of one metric for one submission, in replicate order (`None` where
/// the metric is undefined on that replicate's rows).
pub fn replicates(
    metric: Metric,
    labels: &[i64],
    truth: &Truth,
    predictions: &Predictions,
    replicates: usize,
    seed: u64,
) -> Vec<Option<f64>> {
    let n = predictions.len();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8);
    let fast = Fast::new(metric, truth, predictions);
    let chunk = replicates.div_ceil(threads).max(1);
    let mut out = vec![None; replicates];
    std::thread::scope(|scope| {
        for (part, slots) in out.chunks_mut(chunk).enumerate() {
            let fast = &fast;
            scope.spawn(move || {
                let mut weights = Vec::new();
                for (j, slot) in slots.iter_mut().enumerate() {
                    counts(n, seed, part * chunk + j, &mut weights);
                    *slot = match fast {
                        Some(f) => f.auc(&weights),
                        None => resampled(metric, labels, truth, predictions, &weights).value(),
                    };
                }
            });
        }
    });
    out
}

/// The point estimate and a two-sided percentile interval at `level` (e.g. 0.95).
pub fn interval(
    metric: Metric,
    labels: &[i64],
    truth: &Truth,
    predictions: &Predictions,
    count: usize,
    seed: u64,
    level: f64,
) -> Result<Interval, &'static str> {
    let estimate = match score(metric, labels, truth, predictions) {
        Score::Value(v) => v,
        Score::Undefined(why) => return Err(why),
    };
    let mut values: Vec<f64> =
        replicates(metric, labels, truth, predictions, count, seed).into_iter().flatten().collect();
    if values.is_empty() {
        return Err("undefined on every bootstrap replicate");
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        // Linear interpolation between order statistics (numpy's default percentile).
        let pos = q * (values.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
    };
    let tail = (1.0 - level) / 2.0;
    Ok(Interval { estimate, low: at(tail), high: at(1.0 - tail), replicates: values.len() })
}

/// The share of replicates in which `a` scores better than `b` (ties count half), over the
/// replicates where both are defined.
pub fn probability_better(
    metric: Metric,
    labels: &[i64],
    truth: &Truth,
    a: &Predictions,
    b: &Predictions,
    count: usize,
    seed: u64,
) -> Option<f64> {
    let ra = replicates(metric, labels, truth, a, count, seed);
    let rb = replicates(metric, labels, truth, b, count, seed);
    let (mut wins, mut total) = (0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        if let (Some(x), Some(y)) = (x, y) {
            total += 1.0;
            let better = if metric.greater_is_better() { x > y } else { x < y };
            wins += if x == y { 0.5 } else { f64::from(u8::from(better)) };
        }
    }
    (total > 0.0).then(|| wins / total)
}

/// The metric on the rows a replicate drew (each row repeated as often as it was drawn).
fn resampled(metric: Metric, labels: &[i64], truth: &Truth, predictions: &Predictions, weights: &[u32]) -> Score {
    let rows: Vec<usize> = weights.iter().enumerate().flat_map(|(i, &w)| std::iter::repeat_n(i, w as usize)).collect();
    score(metric, labels, &truth.select(&rows), &predictions.select(&rows))
}

/// Binary ROC AUC with the rows ranked once: tie groups in ascending score order, each row's
/// class remembered.
#[derive(Debug)]
struct Fast {
    /// Row indices in ascending score order.
    order: Vec<usize>,
    /// Start of each tie group in `order`, plus the end.
    groups: Vec<usize>,
    positive: Vec<bool>,
}

impl Fast {
    fn new(metric: Metric, truth: &Truth, predictions: &Predictions) -> Option<Fast> {
        let (Metric::RocAuc, Truth::Classes(y), Predictions::Probability(p)) = (metric, truth, predictions) else {
            return None;
        };
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
        let mut groups = vec![0];
        for i in 1..order.len() {
            if p[order[i]] != p[order[i - 1]] {
                groups.push(i);
            }
        }
        groups.push(order.len());
        Some(Fast { order, groups, positive: y.iter().map(|&c| c == 1).collect() })
    }

    /// Mann–Whitney with multiplicities: each positive beats the negatives below its group
    /// and ties half of those in it.
    fn auc(&self, weights: &[u32]) -> Option<f64> {
        let (mut below, mut wins, mut positives) = (0.0, 0.0, 0.0);
        for g in self.groups.windows(2) {
            let (mut pos, mut neg) = (0.0, 0.0);
            for &i in &self.order[g[0]..g[1]] {
                let w = f64::from(weights[i]);
                if self.positive[i] {
                    pos += w;
                } else {
                    neg += w;
                }
            }
            wins += pos * (below + 0.5 * neg);
            below += neg;
            positives += pos;
        }
        (positives > 0.0 && below > 0.0).then(|| wins / (positives * below))
    }
}
