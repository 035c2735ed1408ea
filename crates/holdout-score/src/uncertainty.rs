//! How sure a score is: the interval of a metric on each subset, and for two submissions the
//! probability that one beats the other and the spread of their difference.
//!
//! Everything here estimates one thing, the stratified row bootstrap (see [`bootstrap`]): each
//! stratum of the subset draws its own size of rows with replacement. Three ways get there,
//! chosen per metric and subset by [`method`]:
//!
//! - [`Method::Table`] for every metric computed from the confusion matrix (accuracy, F1,
//!   quadratic weighted kappa, MCC, …): a row resample's matrix is exactly a multinomial draw of
//!   the stratum's matrix, so replicates draw cell counts (conditional binomials) instead of
//!   rows. Same distribution, same percentile interval up to Monte Carlo error, and a replicate
//!   costs `k²` draws instead of a pass over the rows. Paired: the joint table of the truth and
//!   both predicted classes (`k³` cells) is drawn once for both submissions.
//! - [`Method::Normal`] for ROC AUC (binary), log loss, RMSE, MAE and R² on subsets of at least
//!   [`NORMAL_MIN_ROWS`] rows (ROC AUC: [`NORMAL_MIN_CLASS`] of each class): the bootstrap's
//!   variance in closed form (DeLong's placements for ROC AUC, the delta method for the
//!   others), `Σₛ Σ_{i∈s} (φᵢ − φ̄ₛ)²` over the rows' influences `φ`, and the normal interval
//!   around the estimate. Paired: the same formula on `φᵃ − φᵇ`. An approximation of the
//!   percentile bootstrap that is close at these sizes (tested against it), computed in one
//!   pass over the rows.
//! - [`Method::Bootstrap`] otherwise: the row bootstrap itself (small subsets, where it is
//!   cheap and the normal approximation is not to be trusted; metrics without a closed form).

use holdout_schema::Metric;
use rand::distributions::Distribution;
use rand_distr::Binomial;
use serde::Serialize;

use crate::bootstrap::{self, Interval, interval, paired_replicates, probability_better, replicates};
use crate::metrics::Score;
use crate::scorer::{Scorer, Strata};

/// Subsets at least this large get a [`Method::Normal`] interval where the metric has one.
pub const NORMAL_MIN_ROWS: usize = 10_000;

/// And for ROC AUC, at least this many rows of each class.
pub const NORMAL_MIN_CLASS: u64 = 500;

/// The resampling settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bootstrap {
    pub replicates: usize,
    /// Keep it fixed for a contest, so that every submission is resampled the same way.
    pub seed: u64,
    /// Of the interval, e.g. 0.95.
    pub level: f64,
}

/// How an interval or a comparison was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The stratified row bootstrap: percentile interval over the replicates.
    Bootstrap,
    /// The same bootstrap drawn from the per-stratum confusion matrices (multinomial cell
    /// counts): the same distribution, percentile interval over the replicates.
    Table,
    /// The normal approximation with the bootstrap's variance in closed form (DeLong for ROC
    /// AUC, the delta method otherwise).
    Normal,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Bootstrap => "bootstrap",
            Method::Table => "table",
            Method::Normal => "normal",
        }
    }
}

/// How `metric`'s uncertainty on `subset` is computed for this scorer's predictions.
pub fn method(scorer: &Scorer<'_>, metric: Metric, subset: Strata) -> Method {
    if scorer.uses_confusion(metric) {
        return Method::Table;
    }
    let large = scorer.subset_rows(subset) >= NORMAL_MIN_ROWS
        && (metric != Metric::RocAuc || scorer.class_counts(subset).iter().all(|&c| c >= NORMAL_MIN_CLASS));
    if large && scorer.has_influence(metric) {
        return Method::Normal;
    }
    Method::Bootstrap
}

/// The interval of `metric` on each subset, each by its [`method`].
pub fn intervals(
    scorer: &Scorer<'_>,
    metric: Metric,
    subsets: &[Strata],
    settings: Bootstrap,
) -> Vec<Result<Interval, &'static str>> {
    let methods: Vec<Method> = subsets.iter().map(|&s| method(scorer, metric, s)).collect();
    intervals_by(scorer, metric, subsets, &methods, settings)
}

/// [`intervals`] with the method of each subset given (e.g. [`Method::Bootstrap`] throughout
/// for the reference the others are tested against).
///
/// # Panics
/// If `methods` and `subsets` differ in length, or a method does not apply (a table for a
/// metric not computed from a confusion matrix, a normal interval for one with no closed form).
pub fn intervals_by(
    scorer: &Scorer<'_>,
    metric: Metric,
    subsets: &[Strata],
    methods: &[Method],
    settings: Bootstrap,
) -> Vec<Result<Interval, &'static str>> {
    assert_eq!(subsets.len(), methods.len(), "one method per subset");
    let estimates = scorer.scores(&[metric], subsets, None);
    let mut out = vec![Err("not computed"); subsets.len()];
    for kind in [Method::Bootstrap, Method::Table] {
        let chosen: Vec<usize> = (0..subsets.len()).filter(|&j| methods[j] == kind).collect();
        if chosen.is_empty() {
            continue;
        }
        let masks: Vec<Strata> = chosen.iter().map(|&j| subsets[j]).collect();
        let values = if kind == Method::Table {
            table_replicates(&[scorer], metric, &masks, settings).pop().unwrap_or_default()
        } else {
            replicates(scorer, metric, &masks, settings.replicates, settings.seed)
        };
        for (t, &j) in chosen.iter().enumerate() {
            out[j] = interval(estimates[j][0], values.iter().map(|r| r[t]), settings.level)
                .map(|i| Interval { method: kind, ..i });
        }
    }
    for (j, &subset) in subsets.iter().enumerate() {
        if methods[j] == Method::Normal {
            out[j] = scorer.influence(metric, subset).map(|(estimate, phi)| {
                let spread = scorer.resampling_variance(subset, &phi).sqrt();
                let z = normal_quantile(0.5 + settings.level / 2.0);
                let (low, high) = bounds(metric, estimate - z * spread, estimate + z * spread);
                Interval { estimate, low, high, replicates: 0, method: Method::Normal }
            });
        }
    }
    out
}

/// Two submissions compared on one subset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    pub method: Method,
    /// How often `a` scores better than `b` over the resamples (ties half), or the normal
    /// approximation's probability that the difference favours `a`. `None` where the metric
    /// is undefined for either.
    pub probability_a_better: Option<f64>,
    /// The standard deviation of the difference `a − b` over the resamples.
    pub difference_sd: Option<f64>,
}

/// `a` against `b` (two submissions to the same solution) on each subset, over the same
/// resamples or the same closed form for both.
///
/// # Panics
/// If the scorers' strata differ.
pub fn paired(a: &Scorer<'_>, b: &Scorer<'_>, metric: Metric, subsets: &[Strata], settings: Bootstrap) -> Vec<Paired> {
    assert!(a.strata() == b.strata(), "paired submissions share the solution's strata");
    let methods: Vec<Method> = subsets
        .iter()
        .map(|&s| {
            let (ma, mb) = (method(a, metric, s), method(b, metric, s));
            if ma == mb { ma } else { Method::Bootstrap }
        })
        .collect();
    let mut out =
        vec![Paired { method: Method::Bootstrap, probability_a_better: None, difference_sd: None }; subsets.len()];
    for kind in [Method::Bootstrap, Method::Table] {
        let chosen: Vec<usize> = (0..subsets.len()).filter(|&j| methods[j] == kind).collect();
        if chosen.is_empty() {
            continue;
        }
        let masks: Vec<Strata> = chosen.iter().map(|&j| subsets[j]).collect();
        let mut values = if kind == Method::Table {
            table_replicates(&[a, b], metric, &masks, settings)
        } else {
            paired_replicates(&[a, b], metric, &masks, settings.replicates, settings.seed)
        };
        let (vb, va) = (values.pop().unwrap_or_default(), values.pop().unwrap_or_default());
        for (t, &j) in chosen.iter().enumerate() {
            let (xa, xb) = (va.iter().map(|r| r[t]), vb.iter().map(|r| r[t]));
            let differences: Vec<f64> = xa.clone().zip(xb.clone()).filter_map(|(x, y)| Some(x? - y?)).collect();
            out[j] = Paired {
                method: kind,
                probability_a_better: probability_better(metric, xa, xb),
                difference_sd: sample_sd(&differences),
            };
        }
    }
    for (j, &subset) in subsets.iter().enumerate() {
        if methods[j] != Method::Normal {
            continue;
        }
        out[j] = match (a.influence(metric, subset), b.influence(metric, subset)) {
            (Ok((ea, pa)), Ok((eb, pb))) => {
                let difference: Vec<f64> = pa.iter().zip(&pb).map(|(x, y)| x - y).collect();
                let sd = a.resampling_variance(subset, &difference).sqrt();
                let gap = if metric.greater_is_better() { ea - eb } else { eb - ea };
                let p = if sd > 0.0 {
                    normal_cdf(gap / sd)
                } else if gap == 0.0 {
                    0.5
                } else {
                    f64::from(u8::from(gap > 0.0))
                };
                Paired { method: Method::Normal, probability_a_better: Some(p), difference_sd: Some(sd) }
            }
            _ => Paired { method: Method::Normal, probability_a_better: None, difference_sd: None },
        };
    }
    out
}

/// The sample standard deviation, `None` for fewer than two values.
fn sample_sd(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    Some((values.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt())
}

/// Replicates from the confusion matrices (`result[scorer][replicate][subset]`): per
/// replicate and stratum, the joint table of the truth and every scorer's predicted class is
/// drawn as multinomial counts, then split into each scorer's matrix. Replicate `r` of
/// stratum `s` uses the random stream of the row bootstrap's replicate `r`, stratum `s`.
fn table_replicates(
    scorers: &[&Scorer<'_>],
    metric: Metric,
    subsets: &[Strata],
    settings: Bootstrap,
) -> Vec<Vec<Vec<Option<f64>>>> {
    let Some(first) = scorers.first() else { return Vec::new() };
    let k = first.labels();
    let strata = first.strata();
    let draw = subsets.iter().fold(0, |d, s| d | s);
    // Cell of each (truth, class of scorer 0, class of scorer 1, …), row-major.
    let cells = k.pow(scorers.len() as u32 + 1);
    let joint: Vec<Vec<u64>> = strata
        .iter()
        .map(|range| {
            let mut table = vec![0u64; cells];
            let columns: Vec<(&[usize], &[usize])> =
                scorers.iter().map(|s| s.classes().expect("a table method has classes")).collect();
            for i in range.clone() {
                let cell = columns.iter().fold(columns[0].0[i], |cell, (_, p)| cell * k + p[i]);
                table[cell] += 1;
            }
            table
        })
        .collect();
    let mut out = vec![Vec::with_capacity(settings.replicates); scorers.len()];
    let mut drawn = vec![0u64; cells];
    for r in 0..settings.replicates {
        let mut split: Vec<Vec<Vec<u64>>> = vec![vec![vec![0u64; k * k]; strata.len()]; scorers.len()];
        for (s, table) in joint.iter().enumerate() {
            if draw & (1 << s) == 0 {
                continue;
            }
            multinomial(&mut bootstrap::stream(settings.seed, r, s), table, &mut drawn);
            for (cell, &count) in drawn.iter().enumerate().filter(|(_, c)| **c > 0) {
                // Digits of the cell in base k: truth first, then each scorer's class.
                let truth = cell / k.pow(scorers.len() as u32);
                for (m, matrices) in split.iter_mut().enumerate() {
                    let predicted = cell / k.pow((scorers.len() - 1 - m) as u32) % k;
                    matrices[s][truth * k + predicted] += count;
                }
            }
        }
        for (m, tables) in split.into_iter().enumerate() {
            out[m].push(scorers[m].scores_from_tables(metric, subsets, tables).into_iter().map(Score::value).collect());
        }
    }
    out
}

/// A multinomial draw of `cells.iter().sum()` items over cells weighted by `cells`: each cell
/// in turn takes a binomial share of what is left.
fn multinomial(rng: &mut impl rand::Rng, cells: &[u64], out: &mut [u64]) {
    let (mut items, mut mass): (u64, u64) = (cells.iter().sum(), cells.iter().sum());
    for (o, &c) in out.iter_mut().zip(cells) {
        *o = if items == 0 || c == 0 {
            0
        } else if c == mass {
            items
        } else {
            Binomial::new(items, c as f64 / mass as f64).expect("a probability in [0, 1]").sample(rng)
        };
        items -= *o;
        mass -= c;
    }
}

/// A normal interval kept within the metric's range.
fn bounds(metric: Metric, low: f64, high: f64) -> (f64, f64) {
    let (lo, hi) = match metric {
        Metric::RocAuc => (0.0, 1.0),
        Metric::R2 => (f64::NEG_INFINITY, 1.0),
        _ => (0.0, f64::INFINITY),
    };
    (low.clamp(lo, hi), high.clamp(lo, hi))
}

/// The standard normal distribution function.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal quantile, for `p` in (0, 1): Acklam's rational approximation, then
/// Halley steps on [`normal_cdf`] to full precision.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    assert!(p > 0.0 && p < 1.0, "a probability strictly between 0 and 1");
    let tail = |q: f64| {
        let q = (-2.0 * q.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let mut x = if p < 0.024_25 {
        tail(p)
    } else if p > 1.0 - 0.024_25 {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    for _ in 0..2 {
        let e = normal_cdf(x) - p;
        let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
        x -= u / (1.0 + x * u / 2.0);
    }
    x
}
