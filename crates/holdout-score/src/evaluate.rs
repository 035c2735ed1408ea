//! A submission scored the way holdout shows it: every metric on every subset of the
//! solution, and the primary metric's bootstrap interval; or two submissions compared.
//! The CLI and the server both call these.

use holdout_schema::Metric;

use crate::bootstrap::{Interval, interval, paired_replicates, probability_better, replicates};
use crate::metrics::{Predictions, Score};
use crate::scorer::{Scorer, Strata};
use crate::solution::{Solution, Subset};

/// The paired bootstrap's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bootstrap {
    pub replicates: usize,
    /// Keep it fixed for a contest, so that every submission is resampled the same way.
    pub seed: u64,
    /// Of the interval, e.g. 0.95.
    pub level: f64,
}

/// One subset's scores.
#[derive(Debug, Clone, PartialEq)]
pub struct SubsetScores {
    pub subset: Subset,
    /// In the order the metrics were asked for.
    pub scores: Vec<(Metric, Score)>,
    /// The primary metric's interval, when a bootstrap was asked for.
    pub interval: Option<Result<Interval, &'static str>>,
}

/// Scores `predictions` (in the solution's row order, as the validator returns them) with
/// every metric in `metrics` on every subset, and bootstraps `primary` if asked.
pub fn evaluate(
    solution: &Solution,
    predictions: &Predictions,
    metrics: &[Metric],
    primary: Metric,
    bootstrap: Option<Bootstrap>,
) -> Vec<SubsetScores> {
    let scorer = Scorer::new(&solution.labels, &solution.truth, predictions, &solution.ranges());
    let subsets = solution.subsets();
    let masks: Vec<Strata> = subsets.iter().map(|s| s.strata).collect();
    scorer.prepare(metrics);
    let values = scorer.scores(metrics, &masks, None);
    let intervals: Option<Vec<_>> = bootstrap.map(|b| {
        let estimates = scorer.scores(&[primary], &masks, None);
        let values = replicates(&scorer, primary, &masks, b.replicates, b.seed);
        (0..masks.len()).map(|j| interval(estimates[j][0], values.iter().map(|r| r[j]), b.level)).collect()
    });
    subsets
        .into_iter()
        .zip(values)
        .enumerate()
        .map(|(j, (subset, values))| SubsetScores {
            subset,
            scores: metrics.iter().copied().zip(values).collect(),
            interval: intervals.as_ref().map(|i| i[j]),
        })
        .collect()
}

/// Two submissions on one subset: their scores and how often `a` beat `b` over the paired
/// replicates.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub subset: Subset,
    pub a: Score,
    pub b: Score,
    /// `None` where the metric is undefined on every replicate for either.
    pub probability_a_better: Option<f64>,
}

/// Compares two submissions on `metric` over the same bootstrap resamples.
pub fn compare(
    solution: &Solution,
    a: &Predictions,
    b: &Predictions,
    metric: Metric,
    bootstrap: Bootstrap,
) -> Vec<Comparison> {
    let ranges = solution.ranges();
    let (sa, sb) = (
        Scorer::new(&solution.labels, &solution.truth, a, &ranges),
        Scorer::new(&solution.labels, &solution.truth, b, &ranges),
    );
    let subsets = solution.subsets();
    let masks: Vec<Strata> = subsets.iter().map(|s| s.strata).collect();
    let (ea, eb) = (sa.scores(&[metric], &masks, None), sb.scores(&[metric], &masks, None));
    let mut paired = paired_replicates(&[&sa, &sb], metric, &masks, bootstrap.replicates, bootstrap.seed);
    let (rb, ra) = (paired.pop().unwrap_or_default(), paired.pop().unwrap_or_default());
    subsets
        .into_iter()
        .enumerate()
        .map(|(j, subset)| Comparison {
            subset,
            a: ea[j][0],
            b: eb[j][0],
            probability_a_better: probability_better(metric, ra.iter().map(|r| r[j]), rb.iter().map(|r| r[j])),
        })
        .collect()
}
