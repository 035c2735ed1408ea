//! Re-identification risk of a released table, computed from its equivalence-class sizes with ARX's
//! definitions: the sample summary of `RiskModelSampleSummary` (prosecutor and marketer risk) and the
//! population uniqueness of `RiskModelPopulationUniqueness` (Pitman, Zayatz and SNB estimators combined
//! by Dankar et al.'s decision rule).
//!
//! Input is one size per equivalence class (records sharing one combination of generalized
//! quasi-identifier values). Suppressed records belong to no class: they are counted apart and take no
//! part in any figure, as in ARX. The classes are first folded into a [`ClassSizeHistogram`] (size →
//! number of classes), which the population models work on. Everything is linear: Pitman makes a
//! bounded number of Newton passes over the classes, Zayatz one pass over sizes up to the largest class.
//!
//! Where this module departs from ARX (all documented at the item):
//! - no random restarts: the solvers restart from fixed points, so the same input gives the same bits;
//! - the Pitman solution must be a local maximum of the likelihood, not just a stationary point, and a
//!   try is abandoned once α < −1000 (Newton running off to infinity);
//! - Zayatz uses the exact population size (ARX caps it at `i32::MAX`, about 2.1 billion);
//! - SNB uses the textbook Shlosser estimator and expected-doubletons equation, where ARX's code has
//!   two slips (see [`snb_uniques`]).

use std::collections::BTreeMap;

use serde::Serialize;

/// Bad input to the risk computations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RiskError {
    /// An equivalence class of size zero: a class holds at least one record.
    #[error("equivalence class #{index} has size 0; a class holds at least one record")]
    EmptyClass { index: usize },
    /// The class sizes add up to more than `u64::MAX` records.
    #[error("the class sizes add up to more than {max} records", max = u64::MAX)]
    TooManyRecords,
    /// The population is smaller than the sample drawn from it.
    #[error("population size {population} is smaller than the {records} records of the sample")]
    PopulationTooSmall { population: u64, records: u64 },
    /// The per-record risk threshold is not a probability.
    #[error("risk threshold {0} is not a probability in [0, 1]")]
    InvalidThreshold(f64),
}

/// Equivalence classes folded by size: how many classes have each size. The validated input of every
/// risk figure (no class of size 0, record count fits in `u64`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClassSizeHistogram {
    /// `(size, number of classes of that size)`, ascending by size, sizes distinct, counts non-zero.
    entries: Vec<(u64, u64)>,
    records: u64,
    classes: u64,
}

/// Sizes below this are counted in a dense array, larger ones in a map; there are at most
/// √(2n) distinct sizes, so the map stays tiny and building the histogram stays linear.
const DENSE_SIZES: usize = 1024;

impl ClassSizeHistogram {
    /// Folds one size per equivalence class. Errors on a class of size 0 or a record count that
    /// overflows `u64`.
    pub fn from_class_sizes(class_sizes: &[u64]) -> Result<Self, RiskError> {
        let mut dense = vec![0_u64; DENSE_SIZES];
        let mut sparse: BTreeMap<u64, u64> = BTreeMap::new();
        let mut records: u64 = 0;
        for (index, &size) in class_sizes.iter().enumerate() {
            if size == 0 {
                return Err(RiskError::EmptyClass { index });
            }
            records = records.checked_add(size).ok_or(RiskError::TooManyRecords)?;
            match usize::try_from(size) {
                Ok(small) if small < DENSE_SIZES => dense[small] += 1,
                _ => *sparse.entry(size).or_insert(0) += 1,
            }
        }
        let entries: Vec<(u64, u64)> = (1..DENSE_SIZES)
            .filter(|&size| dense[size] > 0)
            .map(|size| (size as u64, dense[size]))
            .chain(sparse)
            .collect();
        Ok(Self { entries, records, classes: class_sizes.len() as u64 })
    }

    /// Builds the histogram from `(size, number of classes)` pairs in any order; repeated sizes are
    /// added up and pairs with no classes are ignored. Errors like [`Self::from_class_sizes`].
    pub fn from_size_counts(size_counts: &[(u64, u64)]) -> Result<Self, RiskError> {
        let mut map: BTreeMap<u64, u64> = BTreeMap::new();
        let mut records: u64 = 0;
        let mut classes: u64 = 0;
        for (index, &(size, count)) in size_counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            if size == 0 {
                return Err(RiskError::EmptyClass { index });
            }
            records = size.checked_mul(count).and_then(|r| r.checked_add(records)).ok_or(RiskError::TooManyRecords)?;
            classes = classes.checked_add(count).ok_or(RiskError::TooManyRecords)?;
            *map.entry(size).or_insert(0) += count;
        }
        Ok(Self { entries: map.into_iter().collect(), records, classes })
    }

    /// `(size, number of classes of that size)`, ascending by size, each size once, no zero counts.
    pub fn entries(&self) -> &[(u64, u64)] {
        &self.entries
    }

    /// Number of records in all classes (n).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Number of classes (u).
    pub fn classes(&self) -> u64 {
        self.classes
    }

    /// Number of classes of exactly this size (c₁ for size 1, c₂ for size 2, …).
    pub fn classes_of_size(&self, size: u64) -> u64 {
        self.entries.binary_search_by_key(&size, |&(s, _)| s).map_or(0, |i| self.entries[i].1)
    }

    /// Size of the smallest class, 0 when there are no classes.
    pub fn min_size(&self) -> u64 {
        self.entries.first().map_or(0, |&(size, _)| size)
    }

    /// Size of the largest class, 0 when there are no classes.
    pub fn max_size(&self) -> u64 {
        self.entries.last().map_or(0, |&(size, _)| size)
    }
}

/// Which estimator Dankar et al.'s decision rule used for [`RiskSummary::population_uniques`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PopulationModel {
    /// Pitman's sampling formula fitted by maximum likelihood (Hoshino 2001); sampling fraction ≤ 10 %.
    Pitman,
    /// Zayatz (1991): the fallback when Pitman fails, and the smaller of Zayatz and SNB above 10 %.
    Zayatz,
    /// Slide negative binomial (Chen & Keller-McNulty 1998); sampling fraction above 10 %.
    Snb,
    /// No estimator ran: the sample has no unique records (or no records), so the estimate is 0.
    None,
}

/// One bar of [`RiskSummary::class_size_histogram`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClassSizeBucket {
    /// Smallest class size in the bucket.
    pub min_size: u64,
    /// Largest class size in the bucket, inclusive; `None` for the open last bucket.
    pub max_size: Option<u64>,
    /// Number of classes whose size falls in the bucket.
    pub classes: u64,
    /// Number of records in those classes.
    pub records: u64,
}

/// Bucket bounds of the report histogram: every size from 1 to 20 on its own (k-anonymity targets
/// live there: 2, 3, 5, 10, 20), then 21–50, 51–100, 101–1000 and 1001 and more.
const BUCKET_BOUNDS: [(u64, Option<u64>); 24] = {
    let mut bounds = [(0, None); 24];
    let mut size = 1;
    while size <= 20 {
        bounds[size as usize - 1] = (size, Some(size));
        size += 1;
    }
    bounds[20] = (21, Some(50));
    bounds[21] = (51, Some(100));
    bounds[22] = (101, Some(1000));
    bounds[23] = (1001, None);
    bounds
};

/// Re-identification risk of a released table, in ARX's terms. All shares are fractions in [0, 1],
/// never NaN; with no records every figure is 0 and the model is [`PopulationModel::None`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskSummary {
    /// n: records in the equivalence classes (suppressed records excluded).
    pub records: u64,
    /// Records suppressed before release; counted here only, they take no part in any figure.
    pub suppressed: u64,
    /// u: number of equivalence classes.
    pub classes: u64,
    /// N: size of the population the sample was drawn from.
    pub population: u64,
    /// π = n / N (suppressed records excluded from n, as in ARX).
    pub sampling_fraction: f64,
    /// Size of the smallest class: the table is k-anonymous for every k up to this.
    pub min_class_size: u64,
    /// Prosecutor highest risk `r_B = 1 / min f_k`: the risk of the most exposed record.
    pub prosecutor_highest: f64,
    /// Prosecutor lowest risk `1 / max f_k`: the risk of the best hidden record.
    pub prosecutor_lowest: f64,
    /// Prosecutor success rate `r_C = u / n`: the mean of `1 / f_k` over records, i.e. the expected share
    /// of records an attacker who targets every record re-identifies.
    pub prosecutor_average: f64,
    /// Prosecutor records at risk `r_A`: share of records whose risk `1 / f_k` is strictly above
    /// `threshold` (computed as `1.0 / f_k as f64 > threshold`, as ARX does).
    pub records_at_risk: f64,
    /// The per-record risk threshold t used for `records_at_risk`.
    pub threshold: f64,
    /// Marketer success rate `(1/n) Σ_k f_k / F_k` with `F_k = f_k` (no population table), i.e. u / n.
    pub marketer: f64,
    /// Share of records that are unique in the sample: c₁ / n.
    pub sample_uniques: f64,
    /// The estimator Dankar et al.'s rule chose for `population_uniques`.
    pub population_model: PopulationModel,
    /// Estimated share of the population that is unique: the estimated number of population records
    /// whose quasi-identifier combination occurs exactly once among the N, divided by N (ARX's
    /// `getFractionOfUniqueTuplesDankar`). 0 when the sample has no uniques.
    pub population_uniques: f64,
    /// Classes and records by class size, ascending; only non-empty buckets. Sizes 1 to 20 each get a
    /// bucket, then 21–50, 51–100, 101–1000 and an open bucket from 1001.
    pub class_size_histogram: Vec<ClassSizeBucket>,
}

/// Summarizes the risk of a table from its class sizes (one per equivalence class), the number of
/// suppressed records, the population size N and the per-record risk threshold t.
pub fn summarize(
    class_sizes: &[u64],
    suppressed: u64,
    population: u64,
    threshold: f64,
) -> Result<RiskSummary, RiskError> {
    summarize_histogram(&ClassSizeHistogram::from_class_sizes(class_sizes)?, suppressed, population, threshold)
}

/// [`summarize`] for classes already folded into a histogram.
pub fn summarize_histogram(
    histogram: &ClassSizeHistogram,
    suppressed: u64,
    population: u64,
    threshold: f64,
) -> Result<RiskSummary, RiskError> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(RiskError::InvalidThreshold(threshold));
    }
    let records = histogram.records();
    if population < records {
        return Err(RiskError::PopulationTooSmall { population, records });
    }
    let class_size_histogram = buckets(histogram);
    let mut summary = RiskSummary {
        records,
        suppressed,
        classes: histogram.classes(),
        population,
        sampling_fraction: 0.0,
        min_class_size: histogram.min_size(),
        prosecutor_highest: 0.0,
        prosecutor_lowest: 0.0,
        prosecutor_average: 0.0,
        records_at_risk: 0.0,
        threshold,
        marketer: 0.0,
        sample_uniques: 0.0,
        population_model: PopulationModel::None,
        population_uniques: 0.0,
        class_size_histogram,
    };
    if records == 0 {
        return Ok(summary);
    }
    let n = records as f64;
    let at_risk: u64 = histogram
        .entries()
        .iter()
        .filter(|&&(size, _)| 1.0 / size as f64 > threshold)
        .map(|&(size, count)| size * count)
        .sum();
    let (model, uniques) = dankar_uniques(histogram, population);
    summary.sampling_fraction = n / population as f64;
    summary.prosecutor_highest = 1.0 / histogram.min_size() as f64;
    summary.prosecutor_lowest = 1.0 / histogram.max_size() as f64;
    summary.prosecutor_average = histogram.classes() as f64 / n;
    summary.records_at_risk = at_risk as f64 / n;
    summary.marketer = histogram.classes() as f64 / n;
    summary.sample_uniques = histogram.classes_of_size(1) as f64 / n;
    summary.population_model = model;
    summary.population_uniques = uniques / population as f64;
    Ok(summary)
}

fn buckets(histogram: &ClassSizeHistogram) -> Vec<ClassSizeBucket> {
    let mut out: Vec<ClassSizeBucket> = Vec::new();
    let mut bounds = BUCKET_BOUNDS.iter().peekable();
    for &(size, count) in histogram.entries() {
        while let Some(&&(_, Some(max))) = bounds.peek() {
            if size <= max {
                break;
            }
            bounds.next();
        }
        let Some(&&(min_size, max_size)) = bounds.peek() else { break };
        match out.last_mut() {
            Some(last) if last.min_size == min_size => {
                last.classes += count;
                last.records += size * count;
            }
            _ => out.push(ClassSizeBucket { min_size, max_size, classes: count, records: size * count }),
        }
    }
    out
}

/// Number of records in classes smaller than k: the records that violate k-anonymity.
pub fn k_anonymity_violations(class_sizes: &[u64], k: u64) -> u64 {
    class_sizes.iter().filter(|&&size| size < k).fold(0_u64, |sum, &size| sum.saturating_add(size))
}

/// Estimated number of population uniques by Dankar et al.'s decision rule (ARX
/// `getNumUniqueTuplesDankar`), with the model it used:
/// - no sample uniques (c₁ = 0) or no records: 0, [`PopulationModel::None`];
/// - π ≤ 0.1: Pitman, or Zayatz when Pitman gives no valid estimate;
/// - π > 0.1: the smaller of Zayatz and SNB, or Zayatz when SNB gives no valid estimate.
///
/// Divide by N for the fraction. A population smaller than the sample gives `(None, 0.0)`.
pub fn dankar_uniques(histogram: &ClassSizeHistogram, population: u64) -> (PopulationModel, f64) {
    let records = histogram.records();
    if records == 0 || histogram.classes_of_size(1) == 0 || population < records {
        return (PopulationModel::None, 0.0);
    }
    let zayatz = || zayatz_uniques(histogram, population).map(|z| (PopulationModel::Zayatz, z));
    let chosen = if records as f64 / population as f64 <= 0.1 {
        pitman_uniques(histogram, population).map(|p| (PopulationModel::Pitman, p)).or_else(zayatz)
    } else {
        match (zayatz(), snb_uniques(histogram, population)) {
            (Some((_, z)), Some(s)) if s <= z => Some((PopulationModel::Snb, s)),
            (Some(z), _) => Some(z),
            (None, s) => s.map(|s| (PopulationModel::Snb, s)),
        }
    };
    // Unreachable for validated input: Zayatz always has an estimate when c₁ > 0 and N ≥ n.
    chosen.unwrap_or((PopulationModel::None, 0.0))
}

/// Parameters of Pitman's sampling formula fitted to a sample: concentration θ and discount α.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PitmanFit {
    pub theta: f64,
    pub alpha: f64,
}

/// Maximum-likelihood fit of Pitman's sampling formula (Hoshino 2001), as ARX's `ModelPitman`: 2-D
/// Newton–Raphson on the score
///
/// ```text
/// ∂L/∂θ = Σ_{i=1}^{u-1} 1/(θ+iα) − Σ_{i=1}^{n-1} 1/(θ+i)
/// ∂L/∂α = Σ_{i=1}^{u-1} i/(θ+iα) − Σ_j c_j Σ_{l=1}^{j-1} 1/(l−α)
/// ```
///
/// from ARX's moment-like starting point (from c₁, c₂, u, n), then from fixed points in the box
/// between 0 and that start (ARX restarts from random points there). The sums over classes are taken
/// term by term (exact for any α), the others with digamma/trigamma.
///
/// The fit ranges over the whole domain of the formula (α < 1, θ + α > 0, θ + (u−1)α > 0), so θ may
/// be negative and, for small samples, α too; [`pitman_uniques`] then applies ARX's constraint θ ≥ 0.
/// Unlike ARX, the stationary point must be a local maximum (negative definite Hessian).
///
/// `None` when no start converges to a local maximum: the supremum lies on the boundary, as when
/// every class is a singleton (the likelihood grows towards α = 1), or there are fewer than 2 classes.
pub fn pitman_fit(histogram: &ClassSizeHistogram) -> Option<PitmanFit> {
    let u = histogram.classes();
    let n = histogram.records();
    let c1 = histogram.classes_of_size(1);
    if u < 2 || c1 == u {
        return None;
    }
    let (u_f, n_f, c1_f) = (u as f64, n as f64, c1 as f64);
    let c2_f = histogram.classes_of_size(2).max(1) as f64; // ARX: "overestimate" c₂ when it is 0
    let c = c1_f * (c1_f - 1.0) / c2_f;
    let theta0 = (n_f * u_f * c - c1_f * (n_f - 1.0) * (2.0 * u_f + c)) / (2.0 * c1_f * u_f + c1_f * c - n_f * c);
    let alpha0 = (theta0 * (c1_f - n_f) + (n_f - 1.0) * c1_f) / (n_f * u_f);
    let box_theta = if theta0.is_finite() && theta0 > 0.0 { theta0 } else { u_f };
    let box_alpha = if alpha0.is_finite() && alpha0 > 0.0 && alpha0 < 1.0 { alpha0 } else { 0.5 };
    let starts =
        std::iter::once((theta0, alpha0)).chain(RESTARTS.iter().map(|&(ft, fa)| (ft * box_theta, fa * box_alpha)));
    for (theta, alpha) in starts {
        if let Some(fit) = pitman_newton(histogram, theta, alpha) {
            return Some(fit);
        }
    }
    None
}

/// Fractions of the start box for the restarts (fixed, so that results are reproducible).
const RESTARTS: [(f64, f64); 6] = [(0.5, 0.5), (0.25, 0.75), (0.75, 0.25), (0.1, 0.9), (0.9, 0.1), (0.05, 0.05)];

/// Most Newton iterations per start.
const MAX_ITERATIONS: usize = 100;

/// A Pitman try is abandoned once α drops below this. Without a maximum, Newton often runs off along
/// θ ≈ −mα, α → −∞ (the likelihood keeps growing towards a uniform multinomial over m classes); a fit
/// that far out would estimate (mα/N)^|α|-tiny uniques anyway. Stopping early keeps the worst case
/// at a few dozen passes over the classes.
const LOWEST_ALPHA: f64 = -1e3;

fn pitman_newton(histogram: &ClassSizeHistogram, theta0: f64, alpha0: f64) -> Option<PitmanFit> {
    let u = histogram.classes() as f64;
    let in_domain = |theta: f64, alpha: f64| {
        theta.is_finite()
            && alpha.is_finite()
            && alpha < 1.0
            && theta > -1.0
            && theta + alpha > 0.0
            && theta + (u - 1.0) * alpha > 0.0
    };
    if !in_domain(theta0, alpha0) {
        return None;
    }
    let (mut theta, mut alpha) = (theta0, alpha0);
    for _ in 0..MAX_ITERATIONS {
        let PitmanScore { grad, hess } = pitman_score(histogram, theta, alpha);
        let step = newton_direction(hess, grad)?;
        let ([next_theta, next_alpha], full_step) = damped_step([theta, alpha], step, in_domain)?;
        (theta, alpha) = (next_theta, next_alpha);
        if alpha < LOWEST_ALPHA {
            return None;
        }
        let converged = full_step
            && step[0].abs() <= 1e-11 * theta.abs().max(1.0)
            && step[1].abs() <= 1e-11 * alpha.abs().max(1e-3);
        if converged {
            let PitmanScore { hess, .. } = pitman_score(histogram, theta, alpha);
            let local_max = hess[0][0] < 0.0 && hess[0][0] * hess[1][1] - hess[0][1] * hess[1][0] > 0.0;
            return local_max.then_some(PitmanFit { theta, alpha });
        }
    }
    None
}

/// The Newton step `−J⁻¹·r` for a 2×2 system; `None` when J is singular or not finite.
fn newton_direction(jacobian: [[f64; 2]; 2], residual: [f64; 2]) -> Option<[f64; 2]> {
    let [[j11, j12], [j21, j22]] = jacobian;
    let det = j11 * j22 - j12 * j21;
    if !det.is_finite() || det == 0.0 {
        return None;
    }
    Some([-(j22 * residual[0] - j12 * residual[1]) / det, -(j11 * residual[1] - j21 * residual[0]) / det])
}

/// Moves from `at` along `step`, halving the step until `in_domain` holds (at most 40 times). Returns
/// the new point and whether the full step was taken.
fn damped_step(at: [f64; 2], step: [f64; 2], in_domain: impl Fn(f64, f64) -> bool) -> Option<([f64; 2], bool)> {
    let mut scale = 1.0;
    for halvings in 0..40 {
        let next = [at[0] + scale * step[0], at[1] + scale * step[1]];
        if in_domain(next[0], next[1]) {
            return Some((next, halvings == 0));
        }
        scale /= 2.0;
    }
    None
}

struct PitmanScore {
    grad: [f64; 2],
    hess: [[f64; 2]; 2],
}

/// Score (gradient of the log-likelihood) and Hessian of Pitman's sampling formula at (θ, α).
fn pitman_score(histogram: &ClassSizeHistogram, theta: f64, alpha: f64) -> PitmanScore {
    let n = histogram.records() as f64;
    // Σ_{i=1}^{u-1} of 1/(θ+iα), i/(θ+iα) and the squares: term by term, linear in u.
    let (mut s0, mut s1, mut q0, mut q1, mut q2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut i = 1.0;
    for _ in 1..histogram.classes() {
        let w = 1.0 / (theta + i * alpha);
        let w2 = w * w;
        s0 += w;
        s1 += i * w;
        q0 += w2;
        q1 += i * w2;
        q2 += i * i * w2;
        i += 1.0;
    }
    // Σ_j c_j Σ_{l=1}^{j-1} 1/(l−α) and its derivative, with polygamma differences.
    let (psi_1a, tri_1a) = (special::digamma(1.0 - alpha), special::trigamma(1.0 - alpha));
    let (mut r0, mut r1) = (0.0, 0.0);
    for &(size, count) in histogram.entries().iter().filter(|&&(size, _)| size >= 2) {
        let x = size as f64 - alpha;
        r0 += count as f64 * (special::digamma(x) - psi_1a);
        r1 += count as f64 * (tri_1a - special::trigamma(x));
    }
    // Σ_{i=1}^{n-1} 1/(θ+i) = ψ(θ+n) − ψ(θ+1), and its derivative.
    let t0 = special::digamma(theta + n) - special::digamma(theta + 1.0);
    let t1 = special::trigamma(theta + 1.0) - special::trigamma(theta + n);
    PitmanScore { grad: [s0 - t0, s1 - r0], hess: [[t1 - q0, -q1], [-q1, -q2 - r1]] }
}

/// Estimated number of population uniques under Pitman's model (ARX `ModelPitman`):
/// Γ(θ+1) / Γ(θ+α) · N^α with the fitted (θ, α) of [`pitman_fit`], computed in logarithms with an
/// asymptotic expansion that stays exact for large θ. 0 when the sample has no uniques (as ARX).
///
/// `None` when there is no fit, when the fit breaks ARX's constraints θ ≥ 0 and α ≠ 0, or when the
/// estimate is not in (0, N] (ARX also rejects values above N).
/// ARX additionally evaluates Γ(θ+1)/Γ(θ+α) directly and keeps the larger of the two roundings; here
/// there is one, accurate evaluation.
pub fn pitman_uniques(histogram: &ClassSizeHistogram, population: u64) -> Option<f64> {
    if !valid_population(histogram, population)? {
        return Some(0.0);
    }
    let PitmanFit { theta, alpha } = pitman_fit(histogram)?;
    if theta < 0.0 || alpha == 0.0 {
        return None;
    }
    let ln_uniques = special::ln_gamma_ratio(theta + alpha, 1.0 - alpha) + alpha * (population as f64).ln();
    within_population(ln_uniques.exp(), population)
}

/// Estimated number of population uniques under Zayatz's model (ARX `ModelZayatz`):
/// c₁ · P(population-unique | sample-unique) / π, where
///
/// ```text
/// P(population-unique | sample-unique) = (c₁/u)·h₁ / Σ_s (c_s/u)·h_s
/// ```
///
/// and `h_s = P(X = 1)` for X hypergeometric with population N, s marked records and n draws. The
/// ratios `h_s/h₁ = s·Π_{j=1}^{s−1} (N−n−j+1)/(N−j)` are accumulated in logarithms over the sorted sizes,
/// which is exact for any N (ARX caps N at `i32::MAX`). 0 when the sample has no uniques.
///
/// `None` for an empty sample or a population smaller than the sample.
pub fn zayatz_uniques(histogram: &ClassSizeHistogram, population: u64) -> Option<f64> {
    if !valid_population(histogram, population)? {
        return Some(0.0);
    }
    let n = histogram.records();
    let shrink = (n - 1) as f64;
    // ln Π_{j=1}^{s−1} (1 − (n−1)/(N−j)), extended as s grows.
    let (mut ln_product, mut j) = (0.0_f64, 1_u64);
    let mut weighted = 0.0; // Σ_s c_s · h_s/h₁
    for &(size, count) in histogram.entries() {
        while j < size && ln_product > -800.0 {
            ln_product += (-shrink / (population - j) as f64).ln_1p();
            j += 1;
        }
        if ln_product <= -800.0 {
            break; // s·Π underflows for this and every larger size (s < e^45)
        }
        weighted += count as f64 * size as f64 * ln_product.exp();
    }
    let c1 = histogram.classes_of_size(1) as f64;
    let uniqueness = c1 / weighted;
    within_population(c1 * uniqueness * population as f64 / n as f64, population)
}

/// Estimated number of population uniques under the slide negative binomial model (Chen &
/// Keller-McNulty 1998; ARX `ModelSNB`): K·β^α, where K estimates the number of non-empty population
/// classes (Shlosser's estimator in Haas & Stokes' form):
///
/// ```text
/// K = u + c₁ · [Σ_s s π² (1−π²)^{s−1} c_s / Σ_s (1−π)^s ((1+π)^s − 1) c_s]
///           · [Σ_s (1−π)^s c_s / Σ_s s π (1−π)^{s−1} c_s]²
/// ```
///
/// and (α, β) solve E[c₁] = c₁, E[c₂] = c₂ with d = (1−π)(1−β):
///
/// ```text
/// E[c₁] = K π (β/(1−d))^α (1 + α d/(1−d))
/// E[c₂] = K α β^α π² (1−β)/2 · (1−d)^{−(α+2)} (2 − (1−α) d)
/// ```
///
/// Two departures from ARX's code, which appear to be slips: ARX subtracts 1 once per distinct size in
/// the first denominator (`val2 * Math.pow(1 + f, val0) - 1` instead of `val2 * (… - 1)`), and ARX's
/// E[c₂] multiplies by (1−d)^{α+2} where the model (and ARX's own Jacobian) divides.
///
/// `None` when there are no classes of size 2, K is not finite, the equations have no solution with
/// α > 0, 0 < β < 1, or the estimate is not in (0, N]. 0 when the sample has no uniques.
pub fn snb_uniques(histogram: &ClassSizeHistogram, population: u64) -> Option<f64> {
    if !valid_population(histogram, population)? {
        return Some(0.0);
    }
    let f = histogram.records() as f64 / population as f64;
    let c1 = histogram.classes_of_size(1) as f64;
    let c2 = histogram.classes_of_size(2) as f64;
    if c2 == 0.0 || f >= 1.0 {
        return None;
    }
    let k = shlosser_classes(histogram, f);
    if !k.is_finite() || k <= 0.0 {
        return None;
    }
    let equations = SnbEquations { population_classes: k, fraction: f, c1, c2 };
    let (alpha, beta) = SNB_STARTS.iter().find_map(|&(alpha, beta)| equations.solve(alpha, beta))?;
    within_population(k * beta.powf(alpha), population)
}

/// Shlosser's estimate of the number of non-empty population classes (Haas & Stokes 1998, `D_Sh3`).
fn shlosser_classes(histogram: &ClassSizeHistogram, f: f64) -> f64 {
    let f2 = f * f;
    let (mut num1, mut den1, mut num2, mut den2) = (0.0, 0.0, 0.0, 0.0);
    for &(size, count) in histogram.entries() {
        let (s, c) = (size as f64, count as f64);
        let kept = (1.0 - f).powf(s);
        num1 += s * f2 * (1.0 - f2).powf(s - 1.0) * c;
        den1 += ((1.0 - f2).powf(s) - kept) * c;
        num2 += kept * c;
        den2 += s * f * (1.0 - f).powf(s - 1.0) * c;
    }
    let c1 = histogram.classes_of_size(1) as f64;
    histogram.classes() as f64 + c1 * (num1 / den1) * (num2 / den2) * (num2 / den2)
}

/// Starting points (α, β) for the SNB solver (ARX starts at (1, 1), on the boundary, then at random).
const SNB_STARTS: [(f64, f64); 7] =
    [(1.0, 0.5), (0.5, 0.5), (2.0, 0.5), (1.0, 0.1), (1.0, 0.9), (0.1, 0.01), (10.0, 0.5)];

/// The two SNB moment equations in logarithms, `ln E[c₁] − ln c₁` and `ln E[c₂] − ln c₂`, as functions
/// of (α, β).
struct SnbEquations {
    population_classes: f64,
    fraction: f64,
    c1: f64,
    c2: f64,
}

impl SnbEquations {
    fn residuals(&self, alpha: f64, beta: f64) -> [f64; 2] {
        let Self { population_classes, fraction, c1, c2 } = *self;
        let d = (1.0 - fraction) * (1.0 - beta);
        let g = 1.0 - d;
        let common = population_classes.ln() + alpha * (beta.ln() - g.ln());
        let e1 = common + fraction.ln() + (alpha * d / g).ln_1p() - c1.ln();
        let e2 = common + alpha.ln() + 2.0 * fraction.ln() + (1.0 - beta).ln() - std::f64::consts::LN_2 - 2.0 * g.ln()
            + (2.0 - (1.0 - alpha) * d).ln()
            - c2.ln();
        [e1, e2]
    }

    fn jacobian(&self, alpha: f64, beta: f64) -> [[f64; 2]; 2] {
        let f = self.fraction;
        let d = (1.0 - f) * (1.0 - beta);
        let g = 1.0 - d;
        let h = 2.0 - (1.0 - alpha) * d;
        let log_ratio = beta.ln() - g.ln();
        [
            [
                log_ratio + d / (g + alpha * d),
                alpha / beta - alpha * (1.0 - f) / g - alpha * (1.0 - f) / (g * (g + alpha * d)),
            ],
            [
                1.0 / alpha + log_ratio + d / h,
                alpha / beta - 1.0 / (1.0 - beta) - (alpha + 2.0) * (1.0 - f) / g + (1.0 - alpha) * (1.0 - f) / h,
            ],
        ]
    }

    /// Newton–Raphson from (α₀, β₀), kept inside α > 0, 0 < β < 1.
    fn solve(&self, alpha0: f64, beta0: f64) -> Option<(f64, f64)> {
        let in_domain = |alpha: f64, beta: f64| alpha.is_finite() && alpha > 0.0 && beta > 0.0 && beta < 1.0;
        let (mut alpha, mut beta) = (alpha0, beta0);
        for _ in 0..MAX_ITERATIONS {
            let residual = self.residuals(alpha, beta);
            if residual[0].abs() <= 1e-12 && residual[1].abs() <= 1e-12 {
                return Some((alpha, beta));
            }
            let step = newton_direction(self.jacobian(alpha, beta), residual)?;
            ([alpha, beta], _) = damped_step([alpha, beta], step, in_domain)?;
        }
        None
    }
}

/// `Some(true)` when the population models apply and there are sample uniques, `Some(false)` when
/// there are no sample uniques (estimate 0), `None` for an empty sample or N < n.
fn valid_population(histogram: &ClassSizeHistogram, population: u64) -> Option<bool> {
    let records = histogram.records();
    if records == 0 || population < records {
        return None;
    }
    Some(histogram.classes_of_size(1) > 0)
}

fn within_population(uniques: f64, population: u64) -> Option<f64> {
    (uniques.is_finite() && uniques > 0.0 && uniques <= population as f64).then_some(uniques)
}

pub mod special {
    //! Log-gamma, digamma and trigamma for positive arguments: recurrence up to x ≥ 10, then the
    //! asymptotic (Stirling) series, accurate to a few ulps of the result's magnitude.

    /// Below this the functions step up with their recurrences before using the asymptotic series.
    const ASYMPTOTIC_FROM: f64 = 10.0;

    /// ½ ln(2π).
    const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

    /// Stirling correction S(x) = ln Γ(x) − [(x−½) ln x − x + ½ ln 2π], for x ≥ 10.
    fn stirling_correction(x: f64) -> f64 {
        let r = 1.0 / x;
        let r2 = r * r;
        r * (1.0 / 12.0
            - r2 * (1.0 / 360.0
                - r2 * (1.0 / 1260.0
                    - r2 * (1.0 / 1680.0 - r2 * (1.0 / 1188.0 - r2 * (691.0 / 360_360.0 - r2 / 156.0))))))
    }

    /// ln Γ(x) for x > 0 (NaN otherwise).
    pub fn ln_gamma(x: f64) -> f64 {
        if x.is_nan() || x <= 0.0 {
            return f64::NAN;
        }
        let mut x = x;
        let mut shift = 0.0;
        while x < ASYMPTOTIC_FROM {
            shift += x.ln();
            x += 1.0;
        }
        (x - 0.5) * x.ln() - x + HALF_LN_2PI + stirling_correction(x) - shift
    }

    /// ln Γ(b+d) − ln Γ(b) for b > 0, b + d > 0, without the cancellation of two large logarithms when
    /// b is large: with both arguments ≥ 10 it is d·ln b + (b+d−½)·ln(1+d/b) − d + S(b+d) − S(b).
    pub fn ln_gamma_ratio(b: f64, d: f64) -> f64 {
        let a = b + d;
        if b.is_nan() || a.is_nan() || b <= 0.0 || a <= 0.0 {
            return f64::NAN;
        }
        if b < ASYMPTOTIC_FROM || a < ASYMPTOTIC_FROM {
            return ln_gamma(a) - ln_gamma(b);
        }
        d * b.ln() + (b + d - 0.5) * (d / b).ln_1p() - d + (stirling_correction(a) - stirling_correction(b))
    }

    /// Digamma ψ(x) = d/dx ln Γ(x), for x > 0 (NaN otherwise).
    pub fn digamma(x: f64) -> f64 {
        if x.is_nan() || x <= 0.0 {
            return f64::NAN;
        }
        let mut x = x;
        let mut shift = 0.0;
        while x < ASYMPTOTIC_FROM {
            shift += 1.0 / x;
            x += 1.0;
        }
        let r2 = 1.0 / (x * x);
        let series = r2
            * (1.0 / 12.0
                - r2 * (1.0 / 120.0
                    - r2 * (1.0 / 252.0 - r2 * (1.0 / 240.0 - r2 * (1.0 / 132.0 - r2 * 691.0 / 32_760.0)))));
        x.ln() - 0.5 / x - series - shift
    }

    /// Trigamma ψ′(x), for x > 0 (NaN otherwise).
    pub fn trigamma(x: f64) -> f64 {
        if x.is_nan() || x <= 0.0 {
            return f64::NAN;
        }
        let mut x = x;
        let mut shift = 0.0;
        while x < ASYMPTOTIC_FROM {
            shift += 1.0 / (x * x);
            x += 1.0;
        }
        let r = 1.0 / x;
        let r2 = r * r;
        // 1/x + 1/(2x²) + Σ B_2k / x^(2k+1)
        let series = r
            * r2
            * (1.0 / 6.0
                - r2 * (1.0 / 30.0
                    - r2 * (1.0 / 42.0
                        - r2 * (1.0 / 30.0 - r2 * (5.0 / 66.0 - r2 * (691.0 / 2730.0 - r2 * 7.0 / 6.0))))));
        r + 0.5 * r2 + series + shift
    }
}
