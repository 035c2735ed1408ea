//! The paired bootstrap over test rows: a confidence interval for a metric, and for two
//! submissions the probability that one beats the other.
//!
//! Resampling is stratified: replicate `r` draws, within each stratum of the [`Scorer`] (the
//! public and private rows of each board), as many rows as the stratum holds, with
//! replacement. So each subset's interval is that of resampling the subset alone, and the
//! draws depend only on the seed, `r` and the strata — every submission to a contest is
//! resampled the same way, and comparisons are paired.
//!
//! A replicate is a count per row, never a copy of rows: the [`Scorer`] weighs each row by its
//! count, on sort orders computed once.

use holdout_schema::Metric;
use rand::SeedableRng;
use rand::distributions::{Distribution, Uniform};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::metrics::Score;
use crate::scorer::{Scorer, Strata};
use crate::uncertainty::Method;

/// Replicates unless the contest says otherwise.
pub const DEFAULT_REPLICATES: usize = 1000;

/// How often each row is drawn in replicate `replicate`: `strata` are consecutive ranges of
/// rows, and each draws its own length of rows with replacement.
pub fn counts(strata: &[std::ops::Range<usize>], seed: u64, replicate: usize, out: &mut Vec<u32>) {
    counts_of(strata, crate::scorer::all(strata.len()), seed, replicate, out);
}

/// [`counts`] for the strata in `draw` only (the others' rows count 0). Each stratum's draws
/// come from its own position of the replicate's random stream, so a stratum is resampled the
/// same way whichever others are drawn with it.
pub fn counts_of(strata: &[std::ops::Range<usize>], draw: Strata, seed: u64, replicate: usize, out: &mut Vec<u32>) {
    out.clear();
    out.resize(strata.last().map_or(0, |r| r.end), 0);
    for (s, range) in strata.iter().enumerate() {
        let Ok(len) = u32::try_from(range.len()) else { panic!("a stratum holds fewer than 2^32 rows") };
        if len == 0 || draw & (1 << s) == 0 {
            continue;
        }
        let mut rng = stream(seed, replicate, s);
        let rows = &mut out[range.clone()];
        let uniform = Uniform::new(0, len);
        for _ in 0..len {
            rows[uniform.sample(&mut rng) as usize] += 1;
        }
    }
}

/// The random stream of stratum `stratum` in replicate `replicate`: ChaCha8 from `seed`, the
/// replicate's stream, and 2^60 words reserved for each stratum.
pub(crate) fn stream(seed: u64, replicate: usize, stratum: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(replicate as u64);
    rng.set_word_pos((stratum as u128) << 60);
    rng
}

/// An interval of a metric: the percentile interval over bootstrap replicates, or a normal
/// interval from the bootstrap's variance in closed form (see [`Method`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// Replicates where the metric was defined (the others are left out); 0 for a normal
    /// interval.
    pub replicates: usize,
    pub method: Method,
}

/// The metric on each subset for each replicate (`result[replicate][subset]`, `None` where
/// undefined on that replicate's rows). Replicates are spread over the machine's cores.
pub fn replicates(
    scorer: &Scorer<'_>,
    metric: Metric,
    subsets: &[Strata],
    count: usize,
    seed: u64,
) -> Vec<Vec<Option<f64>>> {
    paired_replicates(&[scorer], metric, subsets, count, seed).pop().unwrap_or_default()
}

/// One submission's score on `subset` in each of `count` replicates of the contest's bootstrap
/// (`seed`): entry `r` is the metric on the rows that replicate `r` draws, which are the same
/// rows for every submission to the solution, so the entries of two submissions compare pairwise
/// and a board of them can be ranked replicate by replicate
/// ([`ranking::rank_uncertainty`](crate::ranking::rank_uncertainty)). Submissions can be scored
/// one at a time (or on different threads or machines): nothing is shared but the seed.
///
/// Always the row bootstrap, whatever [`method`](crate::uncertainty::method) picks for the
/// metric's interval: its draws are the only ones that any number of submissions share (the
/// table method draws one joint table per set of submissions compared).
///
/// Undefined replicates are explicit: entry `r` is `None` where the metric has no value on
/// replicate `r`'s rows (ROC AUC when a replicate of a small subset draws a single class, …).
/// It is not dropped, so entries stay aligned across submissions; the ranking places such a
/// replicate after every defined score, as the board places an undefined score.
pub fn replicate_scores(
    scorer: &Scorer<'_>,
    metric: Metric,
    subset: Strata,
    count: usize,
    seed: u64,
) -> Vec<Option<f64>> {
    replicates(scorer, metric, &[subset], count, seed).into_iter().map(|values| values[0]).collect()
}

/// [`replicates`] of several submissions to one solution (`result[scorer][replicate][subset]`),
/// each replicate's draws made once and used for all of them.
///
/// # Panics
/// If the scorers' strata differ.
pub fn paired_replicates(
    scorers: &[&Scorer<'_>],
    metric: Metric,
    subsets: &[Strata],
    count: usize,
    seed: u64,
) -> Vec<Vec<Vec<Option<f64>>>> {
    let Some(first) = scorers.first() else { return Vec::new() };
    assert!(scorers.iter().all(|s| s.strata() == first.strata()), "paired submissions share the solution's strata");
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8);
    let chunk = count.div_ceil(threads).max(1);
    let draw = subsets.iter().fold(0, |d, s| d | s);
    // Per replicate, every scorer's values; regrouped by scorer at the end.
    let mut out: Vec<Vec<Vec<Option<f64>>>> = vec![Vec::new(); count];
    std::thread::scope(|scope| {
        for (part, slots) in out.chunks_mut(chunk).enumerate() {
            scope.spawn(move || {
                let mut weights = Vec::new();
                for (j, slot) in slots.iter_mut().enumerate() {
                    counts_of(first.strata(), draw, seed, part * chunk + j, &mut weights);
                    *slot = scorers
                        .iter()
                        .map(|s| {
                            s.scores(&[metric], subsets, Some(&weights)).into_iter().map(|v| v[0].value()).collect()
                        })
                        .collect();
                }
            });
        }
    });
    (0..scorers.len()).map(|k| out.iter_mut().map(|r| std::mem::take(&mut r[k])).collect()).collect()
}

/// The two-sided percentile interval at `level` (e.g. 0.95) of one subset's replicate values
/// around its estimate.
pub fn interval(
    estimate: Score,
    values: impl IntoIterator<Item = Option<f64>>,
    level: f64,
) -> Result<Interval, &'static str> {
    let estimate = match estimate {
        Score::Value(v) => v,
        Score::Undefined(why) => return Err(why),
    };
    let mut values: Vec<f64> = values.into_iter().flatten().collect();
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
    Ok(Interval { estimate, low: at(tail), high: at(1.0 - tail), replicates: values.len(), method: Method::Bootstrap })
}

/// The share of replicates in which `a` scores better than `b` (ties count half), over the
/// replicates where both are defined; `a` and `b` are one subset's values from [`replicates`]
/// of two submissions with the same seed.
pub fn probability_better(
    metric: Metric,
    a: impl IntoIterator<Item = Option<f64>>,
    b: impl IntoIterator<Item = Option<f64>>,
) -> Option<f64> {
    let (mut wins, mut total) = (0.0, 0.0);
    for (x, y) in a.into_iter().zip(b) {
        if let (Some(x), Some(y)) = (x, y) {
            total += 1.0;
            let better = if metric.greater_is_better() { x > y } else { x < y };
            wins += if x == y { 0.5 } else { f64::from(u8::from(better)) };
        }
    }
    (total > 0.0).then(|| wins / total)
}
