//! A submission scored the way holdout shows it: every metric on every subset of the
//! solution, and the primary metric's interval; or two submissions compared.
//! The CLI and the server both call these.

use holdout_schema::Metric;

use crate::bootstrap::Interval;
use crate::metrics::{Predictions, Score};
use crate::scorer::{Scorer, Strata};
use crate::solution::{Solution, Subset};
pub use crate::uncertainty::{Bootstrap, Method};
use crate::uncertainty::{intervals, paired};

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
    let intervals: Option<Vec<_>> = bootstrap.map(|b| intervals(&scorer, primary, &masks, b));
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
    pub method: Method,
}

/// Compares two submissions on `metric` over the same resamples (or the same closed form).
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
    let pairs = paired(&sa, &sb, metric, &masks, bootstrap);
    subsets
        .into_iter()
        .zip(pairs)
        .enumerate()
        .map(|(j, (subset, pair))| Comparison {
            subset,
            a: ea[j][0],
            b: eb[j][0],
            probability_a_better: pair.probability_a_better,
            method: pair.method,
        })
        .collect()
}
