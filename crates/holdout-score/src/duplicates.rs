//! Near-duplicate prediction files across teams: pairs of submissions from different teams whose
//! predictions on a seeded sample of test rows ([`sample_rows`]) move together far more than
//! independent work would, listed for the judges as leads, never as verdicts.
//!
//! Each submission's predictions are first *encoded* as numbers, `w` per row, row-major:
//! a label as its one-hot indicator over the contest's `k` labels (`w = k`: classes have no
//! order, and a copied label matches in every column), a binary probability as itself (`w = 1`,
//! the truth as 0 or 1), class probabilities as the `k` probabilities (`w = k`, the truth one-hot),
//! a value as itself (`w = 1`). Three correlations compare two encoded submissions `a` and `b`:
//!
//! - [`Measure::Predictions`]: Pearson's r of the encodings.
//! - [`Measure::Residuals`]: Pearson's r of prediction − truth.
//! - [`Measure::Deviations`] (the default): Spearman's ρ of each one's deviation from the
//!   *consensus*, the mean over teams of each team's mean encoding (a team counts once however
//!   often it submits).
//!
//! Pairs are flagged by one of them (`threshold`, default 0.9 on deviations) and report all three.
//! Why deviations: on holdout's contests most of a residual is noise no model can explain (the
//! best regression explains a quarter of the variance), so two honest good models have residuals
//! correlated near 1 (0.93–0.997 in simulation, the same as a copy) and predictions nearly as
//! much. What a copy shares and independent work does not is its departure from what everyone
//! predicts; ranks keep a few perturbed rows (a copy's disguise) from dominating it. This needs
//! at least three teams: with two, the deviations are each other's negatives.
//!
//! Every cross-team pair is compared (`m(m − 1)/2` for `m` submissions, over `L = rows · w`
//! numbers each), exactly, at the cost of a pruned product: the vectors are standardized once
//! (mean 0, norm 1, so a correlation is a dot product; Spearman's after average ranks), stored
//! in blocks of 128 numbers, and each pair is accumulated block by block and dropped as soon as
//! the Cauchy–Schwarz bound (the dot so far plus the product of the remaining blocks' norms)
//! falls below the threshold. Every pair at or above it is counted; the strongest `max_pairs`
//! are listed. 500 teams × 20 submissions × 2,000 rows: about 6 s on two shared cores (1 s of
//! it ranking and standardizing), `8·m·L` bytes (160 MB; with `k` classes, sample `2000/k`
//! rows). Pairs that stay alike cannot be pruned: a contest where most pairs are flagged costs
//! up to the whole product, about ten times as much.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::integrity::SubmissionRef;
use crate::metrics::{Predictions, Truth, spearman};

/// Rows sampled unless the contest says otherwise.
pub const DEFAULT_SAMPLE_ROWS: usize = 2000;

/// The default threshold on [`Measure::Deviations`] (see [`DuplicateSettings`]).
pub const DEFAULT_THRESHOLD: f64 = 0.9;

/// Pairs listed unless the judges ask for more.
pub const DEFAULT_MAX_PAIRS: usize = 1000;

/// Numbers per block of the pruned product (a multiple of the dot product's 8 lanes).
const BLOCK: usize = 128;

/// Submissions per tile: a pair of tiles' blocks (2 × 32 × 1 KB) stays in the L1 cache.
const TILE: usize = 32;

/// Kept below the threshold by the bound, far above the rounding of a sum of 10⁴ products, so
/// that rounding never prunes a pair that reaches the threshold.
const SLACK: f64 = 1e-9;

/// `size` distinct row indices out of `rows`, ascending, drawn by ChaCha8 from `seed` (every row
/// when `size ≥ rows`). Give it a seed of its own, not the bootstrap's.
pub fn sample_rows(rows: usize, size: usize, seed: u64) -> Vec<usize> {
    if size >= rows {
        return (0..rows).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut picked = rand::seq::index::sample(&mut rng, rows, size).into_vec();
    picked.sort_unstable();
    picked
}

/// One submission's predictions on the sampled rows (`Predictions::select(&sample)`).
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub id: SubmissionRef,
    pub predictions: &'a Predictions,
}

/// The correlation that flags a pair (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Spearman's ρ of the deviations from the consensus.
    Deviations,
    /// Pearson's r of prediction − truth.
    Residuals,
    /// Pearson's r of the predictions.
    Predictions,
}

/// Which pairs are listed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DuplicateSettings {
    pub measure: Measure,
    /// Pairs whose `measure` is at least this are flagged.
    pub threshold: f64,
    /// The flagged pairs listed, the strongest (a contest where many teams run one public
    /// notebook can flag thousands).
    pub max_pairs: usize,
}

impl Default for DuplicateSettings {
    /// Deviations at 0.9, up to 1,000 pairs. In `tests/score/duplicates.rs` (16 contests of
    /// 50 honest teams in three families of similar models: regression, binary probability,
    /// four-class labels and probabilities) honest pairs reach 0.52 at most and a copy with 2 %
    /// of its rows perturbed 0.95 at least.
    fn default() -> DuplicateSettings {
        DuplicateSettings { measure: Measure::Deviations, threshold: DEFAULT_THRESHOLD, max_pairs: DEFAULT_MAX_PAIRS }
    }
}

/// Two submissions of different teams and how alike they are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair {
    /// The one given first.
    pub a: SubmissionRef,
    pub b: SubmissionRef,
    /// Spearman's ρ of the deviations from the consensus; `None` where one is constant.
    pub deviations: Option<f64>,
    /// Pearson's r of prediction − truth; `None` where one is constant.
    pub residuals: Option<f64>,
    /// Pearson's r of the predictions; `None` where one is constant.
    pub predictions: Option<f64>,
}

impl Pair {
    /// The value of `measure`.
    pub fn value(&self, measure: Measure) -> Option<f64> {
        match measure {
            Measure::Deviations => self.deviations,
            Measure::Residuals => self.residuals,
            Measure::Predictions => self.predictions,
        }
    }

    fn value_mut(&mut self, measure: Measure) -> &mut Option<f64> {
        match measure {
            Measure::Deviations => &mut self.deviations,
            Measure::Residuals => &mut self.residuals,
            Measure::Predictions => &mut self.predictions,
        }
    }
}

/// The near-duplicate pairs of a set of submissions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearDuplicates {
    pub measure: Measure,
    pub threshold: f64,
    /// Sampled rows.
    pub rows: usize,
    /// Submissions compared.
    pub compared: usize,
    /// Submissions left out because their `measure` vector is constant (no correlation).
    pub constant: Vec<SubmissionRef>,
    /// Pairs of different teams at or above the threshold.
    pub flagged: usize,
    /// The strongest `max_pairs` of them, strongest first (equal ones in the order given).
    pub pairs: Vec<Pair>,
}

/// The pairs of `candidates` from different teams whose `settings.measure` reaches
/// `settings.threshold`. `labels` is the number of the contest's labels (0 for regression);
/// `truth` holds the sampled rows, as every candidate's predictions do.
///
/// # Panics
/// If the candidates' predictions differ in kind or length from each other or from the truth's
/// rows, or a label or class count does not match `labels`.
pub fn near_duplicates(
    labels: usize,
    truth: &Truth,
    candidates: &[Candidate<'_>],
    settings: DuplicateSettings,
) -> NearDuplicates {
    let encoding = Encoding::new(labels, truth, candidates);
    let consensus = encoding.consensus(candidates);
    let unit = Unit::new(&encoding, &consensus, candidates, settings.measure);
    let kept: Vec<usize> = (0..candidates.len()).filter(|&c| unit.defined[c]).collect();
    let teams: Vec<i64> = candidates.iter().map(|c| c.id.team).collect();
    let (flagged, strongest) = unit.similar(&kept, &teams, settings.threshold, settings.max_pairs);
    let pairs = strongest
        .into_iter()
        .map(|found| {
            let (a, b) = (candidates[found.a as usize], candidates[found.b as usize]);
            let mut pair = encoding.pair(&consensus, a, b, settings.measure);
            // A vector's dot with itself may round to a hair above 1.
            *pair.value_mut(settings.measure) = Some(found.value.clamp(-1.0, 1.0));
            pair
        })
        .collect();
    NearDuplicates {
        measure: settings.measure,
        threshold: settings.threshold,
        rows: truth.len(),
        compared: candidates.len(),
        constant: (0..candidates.len()).filter(|&c| !unit.defined[c]).map(|c| candidates[c].id).collect(),
        flagged,
        pairs,
    }
}

/// How predictions and the truth become numbers (see the module documentation).
struct Encoding {
    /// Numbers per row.
    width: usize,
    labels: usize,
    truth: Vec<f64>,
}

impl Encoding {
    fn new(labels: usize, truth: &Truth, candidates: &[Candidate<'_>]) -> Encoding {
        let rows = truth.len();
        let width = candidates.first().map_or(1, |c| match c.predictions {
            Predictions::Labels(_) => labels,
            Predictions::ClassProbabilities { classes, .. } => *classes,
            Predictions::Probability(_) | Predictions::Values(_) => 1,
        });
        for c in candidates {
            let p = c.predictions;
            assert_eq!(p.len(), rows, "predictions on the sampled rows");
            assert_eq!(
                std::mem::discriminant(p),
                std::mem::discriminant(candidates[0].predictions),
                "predictions of one kind"
            );
            if let Predictions::ClassProbabilities { classes, .. } = p {
                assert_eq!(*classes, labels, "one probability per label");
            }
        }
        let truth = match truth {
            Truth::Values(v) => v.clone(),
            Truth::Classes(y) if width == 1 => y.iter().map(|&c| c as f64).collect(),
            Truth::Classes(y) => y.iter().flat_map(|&c| (0..width).map(move |k| f64::from(u8::from(k == c)))).collect(),
        };
        Encoding { width, labels, truth }
    }

    fn len(&self) -> usize {
        self.truth.len()
    }

    /// The predictions as numbers, into `out`.
    fn encode(&self, predictions: &Predictions, out: &mut Vec<f64>) {
        out.clear();
        match predictions {
            Predictions::Labels(c) => {
                for &c in c {
                    assert!(c < self.labels, "a label index below the label count");
                    out.extend((0..self.width).map(|k| f64::from(u8::from(k == c))));
                }
            }
            Predictions::Probability(v) | Predictions::Values(v) => out.extend_from_slice(v),
            Predictions::ClassProbabilities { values, .. } => out.extend_from_slice(values),
        }
        assert_eq!(out.len(), self.len(), "an encoding as long as the truth's");
    }

    /// The mean over teams of each team's mean encoding.
    fn consensus(&self, candidates: &[Candidate<'_>]) -> Vec<f64> {
        let mut teams: BTreeMap<i64, (usize, Vec<f64>)> = BTreeMap::new();
        let mut encoded = Vec::new();
        for c in candidates {
            self.encode(c.predictions, &mut encoded);
            let (count, sum) = teams.entry(c.id.team).or_insert_with(|| (0, vec![0.0; self.len()]));
            *count += 1;
            sum.iter_mut().zip(&encoded).for_each(|(s, x)| *s += x);
        }
        let mut consensus = vec![0.0; self.len()];
        for (count, sum) in teams.values() {
            consensus.iter_mut().zip(sum).for_each(|(c, s)| *c += s / *count as f64);
        }
        let n = teams.len().max(1) as f64;
        for c in &mut consensus {
            *c /= n;
        }
        consensus
    }

    /// `measure`'s vector of `predictions` (before ranking or standardizing), into `out`.
    fn vector(&self, measure: Measure, consensus: &[f64], predictions: &Predictions, out: &mut Vec<f64>) {
        self.encode(predictions, out);
        let reference = match measure {
            Measure::Predictions => return,
            Measure::Residuals => &self.truth,
            Measure::Deviations => consensus,
        };
        out.iter_mut().zip(reference).for_each(|(x, r)| *x -= r);
    }

    /// The correlations of two candidates other than `flagged` (the search's dot product gives
    /// that one), in `f64`: Spearman's by [`metrics::spearman`](crate::metrics::spearman),
    /// Pearson's by [`pearson`].
    fn pair(&self, consensus: &[f64], a: Candidate<'_>, b: Candidate<'_>, flagged: Measure) -> Pair {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let mut measure = |m: Measure| {
            if m == flagged {
                return None;
            }
            self.vector(m, consensus, a.predictions, &mut x);
            self.vector(m, consensus, b.predictions, &mut y);
            match m {
                Measure::Deviations => spearman(&x, &y).value(),
                _ => pearson(&x, &y),
            }
        };
        Pair {
            a: a.id,
            b: b.id,
            deviations: measure(Measure::Deviations),
            residuals: measure(Measure::Residuals),
            predictions: measure(Measure::Predictions),
        }
    }
}

/// Pearson's correlation coefficient (two-pass, centred); `None` for fewer than two values or a
/// constant side.
///
/// # Panics
/// If the slices differ in length.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "paired samples");
    if x.len() < 2 {
        return None;
    }
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// The average ranks (1-based, ties sharing their mean) of `values`, into `out`.
fn average_ranks(values: &[f64], out: &mut [f64]) {
    let mut order: Vec<u32> = (0..values.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| values[a as usize].total_cmp(&values[b as usize]));
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end] as usize] == values[order[start] as usize] {
            end += 1;
        }
        // Positions start..end hold ranks start + 1 ..= end.
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            out[i as usize] = rank;
        }
        start = end;
    }
}

/// Every candidate's `measure` vector standardized (mean 0, norm 1), padded with zeros to
/// whole blocks, with the norm left after each block.
struct Unit {
    blocks: usize,
    /// Candidate `c` at `c · blocks · BLOCK`.
    values: Vec<f64>,
    /// Candidate `c`'s norm over the blocks after `b`, at `c · blocks + b`.
    rest: Vec<f64>,
    /// Whether candidate `c`'s vector is not constant.
    defined: Vec<bool>,
}

impl Unit {
    fn new(encoding: &Encoding, consensus: &[f64], candidates: &[Candidate<'_>], measure: Measure) -> Unit {
        let blocks = encoding.len().div_ceil(BLOCK).max(1);
        let stride = blocks * BLOCK;
        let mut unit = Unit {
            blocks,
            values: vec![0.0; candidates.len() * stride],
            rest: vec![0.0; candidates.len() * blocks],
            defined: vec![false; candidates.len()],
        };
        let per_thread = candidates.len().div_ceil(threads()).max(1);
        std::thread::scope(|scope| {
            let parts = unit
                .values
                .chunks_mut(per_thread * stride)
                .zip(unit.rest.chunks_mut(per_thread * blocks))
                .zip(unit.defined.chunks_mut(per_thread))
                .zip(candidates.chunks(per_thread));
            for (((values, rest), defined), candidates) in parts {
                scope.spawn(move || {
                    let (mut raw, mut ranked) = (Vec::new(), vec![0.0; encoding.len()]);
                    for (c, candidate) in candidates.iter().enumerate() {
                        encoding.vector(measure, consensus, candidate.predictions, &mut raw);
                        if measure == Measure::Deviations {
                            average_ranks(&raw, &mut ranked);
                            std::mem::swap(&mut raw, &mut ranked);
                        }
                        let out = &mut values[c * stride..(c + 1) * stride];
                        defined[c] = standardize(&raw, out, &mut rest[c * blocks..(c + 1) * blocks]);
                    }
                });
            }
        });
        unit
    }

    fn block(&self, candidate: usize, block: usize) -> &[f64] {
        let at = (candidate * self.blocks + block) * BLOCK;
        &self.values[at..at + BLOCK]
    }

    /// How many pairs of `kept` candidates of different `teams` reach `threshold`, and the
    /// strongest `limit` of them, strongest first; tile pair by tile pair on every core.
    fn similar(&self, kept: &[usize], teams: &[i64], threshold: f64, limit: usize) -> (usize, Vec<Found>) {
        let tiles = kept.len().div_ceil(TILE);
        let next = AtomicUsize::new(0);
        let mut strongest = Strongest::new(limit);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads())
                .map(|_| {
                    scope.spawn(|| {
                        let (mut mine, mut alive) = (Strongest::new(limit), Vec::new());
                        loop {
                            let ti = next.fetch_add(1, Ordering::Relaxed);
                            if ti >= tiles {
                                return mine;
                            }
                            for tj in ti..tiles {
                                self.tile_pair(kept, teams, (ti, tj), threshold, &mut alive, &mut mine);
                            }
                        }
                    })
                })
                .collect();
            for worker in workers {
                strongest.merge(worker.join().expect("a pair search thread panicked"));
            }
        });
        (strongest.found, strongest.into_sorted())
    }

    /// One pair of tiles: every cross-team pair starts alive and is accumulated block by block
    /// while `dot so far + ‖rest of a‖·‖rest of b‖` can reach `threshold`.
    fn tile_pair(
        &self,
        kept: &[usize],
        teams: &[i64],
        (ti, tj): (usize, usize),
        threshold: f64,
        alive: &mut Vec<(u32, u32, f64)>,
        out: &mut Strongest,
    ) {
        let range = |t: usize| &kept[t * TILE..((t + 1) * TILE).min(kept.len())];
        alive.clear();
        for &a in range(ti) {
            for &b in range(tj).iter().filter(|&&b| b > a && teams[a] != teams[b]) {
                alive.push((a as u32, b as u32, 0.0));
            }
        }
        for k in 0..self.blocks {
            alive.retain_mut(|(a, b, dot)| {
                let (a, b) = (*a as usize, *b as usize);
                *dot += dot8(self.block(a, k), self.block(b, k));
                *dot + self.rest[a * self.blocks + k] * self.rest[b * self.blocks + k] >= threshold - SLACK
            });
            if alive.is_empty() {
                return;
            }
        }
        for &(a, b, value) in alive.iter().filter(|p| p.2 >= threshold) {
            out.push(Found { value, a, b });
        }
    }
}

/// A flagged pair of candidates (`a` before `b`) and its correlation.
#[derive(Debug, Clone, Copy)]
struct Found {
    value: f64,
    a: u32,
    b: u32,
}

impl Found {
    /// Stronger first: the higher value, then the pair given earlier.
    fn strength(&self, other: &Found) -> std::cmp::Ordering {
        self.value.total_cmp(&other.value).then_with(|| (other.a, other.b).cmp(&(self.a, self.b)))
    }
}

impl PartialEq for Found {
    fn eq(&self, other: &Found) -> bool {
        self.strength(other).is_eq()
    }
}

impl Eq for Found {}

impl PartialOrd for Found {
    fn partial_cmp(&self, other: &Found) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Found {
    fn cmp(&self, other: &Found) -> std::cmp::Ordering {
        self.strength(other)
    }
}

/// A count of flagged pairs and the strongest `limit` of them (a min-heap), in bounded memory
/// however many are flagged; the same whichever thread found which pair.
struct Strongest {
    limit: usize,
    found: usize,
    heap: BinaryHeap<Reverse<Found>>,
}

impl Strongest {
    fn new(limit: usize) -> Strongest {
        Strongest { limit, found: 0, heap: BinaryHeap::new() }
    }

    fn push(&mut self, pair: Found) {
        self.found += 1;
        self.keep(pair);
    }

    fn keep(&mut self, pair: Found) {
        if self.heap.len() < self.limit {
            self.heap.push(Reverse(pair));
        } else if self.heap.peek().is_some_and(|weakest| pair > weakest.0) {
            self.heap.pop();
            self.heap.push(Reverse(pair));
        }
    }

    fn merge(&mut self, other: Strongest) {
        self.found += other.found;
        for Reverse(pair) in other.heap {
            self.keep(pair);
        }
    }

    fn into_sorted(self) -> Vec<Found> {
        // Ascending `Reverse` is descending strength.
        self.heap.into_sorted_vec().into_iter().map(|Reverse(pair)| pair).collect()
    }
}

/// Centres `raw`, scales it to norm 1 into `out` (the padding left 0) and writes the norm
/// remaining after each block into `rest`; `false` if `raw` is constant.
fn standardize(raw: &[f64], out: &mut [f64], rest: &mut [f64]) -> bool {
    let mean = raw.iter().sum::<f64>() / raw.len().max(1) as f64;
    let norm = raw.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return false;
    }
    for (o, x) in out.iter_mut().zip(raw) {
        *o = (x - mean) / norm;
    }
    let mut after = 0.0;
    for b in (0..rest.len()).rev() {
        rest[b] = f64::sqrt(after);
        after += out[b * BLOCK..(b + 1) * BLOCK].iter().map(|x| x * x).sum::<f64>();
    }
    true
}

/// A dot product in 8 independent lanes, so that it compiles to vector instructions.
fn dot8(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    lanes.iter().sum()
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_seeded_sorted_and_distinct() {
        let s = sample_rows(100_000, 2000, 7);
        assert_eq!(s, sample_rows(100_000, 2000, 7));
        assert_ne!(s, sample_rows(100_000, 2000, 8));
        assert_eq!(s.len(), 2000);
        assert!(s.windows(2).all(|w| w[0] < w[1]) && s[1999] < 100_000);
        assert_eq!(sample_rows(5, 10, 1), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn average_ranks_share_ties() {
        let mut out = [0.0; 5];
        average_ranks(&[3.0, 1.0, 3.0, -0.0, 0.0], &mut out);
        assert_eq!(out, [4.5, 3.0, 4.5, 1.5, 1.5]);
    }

    #[test]
    fn standardized_blocks_carry_the_remaining_norm() {
        let raw: Vec<f64> = (0..600).map(|i| f64::from(i % 7)).collect();
        let blocks = 600usize.div_ceil(BLOCK);
        let (mut out, mut rest) = (vec![0.0; blocks * BLOCK], vec![0.0; blocks]);
        assert!(standardize(&raw, &mut out, &mut rest));
        assert!((dot8(&out, &out) - 1.0).abs() < 1e-12);
        assert!(out[600..].iter().all(|&x| x == 0.0));
        assert_eq!(rest[blocks - 1], 0.0);
        assert!((rest[0] * rest[0] - dot8(&out[BLOCK..], &out[BLOCK..])).abs() < 1e-12);
        assert!(!standardize(&[2.0; 10], &mut out, &mut rest));
    }
}
