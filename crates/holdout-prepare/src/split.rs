//! The target, respondent groups, and the seeded, group-aware, stratified split into train and
//! test (public/private rows, and boards A/B when configured), with fresh opaque row ids.

use holdout_schema::{ColumnKind, Competition, Dataset, Screening, TargetDerivation, Task};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::keys::Secret;
use crate::raw::{RawTable, Values, composite_key};

/// Deciles stand in for classes of a continuous target (stratification, l-diversity).
const REGRESSION_BINS: usize = 10;

/// The target of every raw row (`None` where its sources are missing).
pub fn targets(dataset: &Dataset, contest: &Competition, table: &RawTable) -> Vec<Option<f64>> {
    let n = table.rows;
    match &contest.target.derivation {
        TargetDerivation::Bands { column, bands } => {
            let c = table.column(column);
            (0..n)
                .map(|r| {
                    let v = c?.number(r)?;
                    bands.iter().position(|(lo, hi)| v >= *lo && v <= *hi).map(|i| (i + 1) as f64)
                })
                .collect()
        }
        TargetDerivation::Option { column } => {
            let c = table.column(column);
            (0..n).map(|r| c?.number(r).map(|v| v as f64)).collect()
        }
        TargetDerivation::Index { blocks } => {
            let scaled: Vec<Vec<(&crate::raw::RawColumn, i64, bool)>> = blocks
                .iter()
                .map(|b| {
                    b.columns
                        .iter()
                        .filter_map(|name| {
                            let ColumnKind::Rating { max, reverse, .. } = dataset.survey.column(name)?.kind else {
                                return None;
                            };
                            Some((table.column(name)?, max, reverse))
                        })
                        .collect()
                })
                .collect();
            let weight: f64 = blocks.iter().map(|b| b.weight).sum();
            (0..n)
                .map(|r| {
                    let mut total = 0.0;
                    for (block, columns) in blocks.iter().zip(&scaled) {
                        let mut sum = 0.0;
                        for (c, max, reverse) in columns {
                            let v = c.number(r)? as f64;
                            let m = *max as f64;
                            sum += if *reverse { (m + 1.0 - v) / m * 100.0 } else { v / m * 100.0 };
                        }
                        total += block.weight * sum / columns.len() as f64;
                    }
                    Some((total / weight * 1e4).round() / 1e4)
                })
                .collect()
        }
    }
}

/// A class index (< 64) per target value: the label's position for classification, the decile
/// for regression.
pub fn classes(task: &Task, values: &[f64]) -> Vec<u8> {
    if let Some(labels) = task.labels() {
        return values.iter().map(|v| labels.iter().position(|&l| l as f64 == *v).unwrap_or(0) as u8).collect();
    }
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let cuts: Vec<f64> =
        (1..REGRESSION_BINS).map(|i| sorted[(i * sorted.len() / REGRESSION_BINS).min(sorted.len() - 1)]).collect();
    values.iter().map(|v| cuts.iter().filter(|c| v >= c).count() as u8).collect()
}

/// Groups of rows that belong to one respondent: rows sharing a person key or a device key.
pub fn groups(config: &Screening, table: &RawTable, rows: &[usize]) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..rows.len()).collect();
    let keyed = |name: &str| match table.column(name).map(|c| &c.values) {
        Some(Values::Keyed(v)) => Some(v),
        _ => None,
    };
    let mut keys: Vec<Vec<&Vec<u64>>> = config.person_keys.iter().filter_map(|k| keyed(k)).map(|k| vec![k]).collect();
    keys.push(config.device_key.iter().filter_map(|k| keyed(k)).collect());
    for key in keys.iter().filter(|k| !k.is_empty()) {
        let mut first: HashMap<u128, usize> = HashMap::default();
        for (i, &r) in rows.iter().enumerate() {
            let Some(k) = composite_key(key, r) else { continue };
            match first.get(&k) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a.max(b)] = a.min(b);
                }
                None => {
                    first.insert(k, i);
                }
            }
        }
    }
    (0..rows.len()).map(|i| find(&mut parent, i)).collect()
}

/// The root of `i` in a union-find forest, halving paths on the way.
fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Where a published row goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Train,
    /// A test row scored on the public board, in test set A or B.
    Public {
        b: bool,
    },
    Private {
        b: bool,
    },
}

impl Part {
    pub fn is_test(self) -> bool {
        self != Part::Train
    }
}

/// Splits groups (whole respondents) into train and test, stratified by class when asked, and
/// test rows into public/private (and A/B) the same way. Seeded from the secret and the
/// contest's seed, so nobody without the secret can recompute it.
pub fn split(contest: &Competition, secret: &Secret, group: &[usize], class: &[u8]) -> Vec<Part> {
    let cfg = &contest.split;
    let mut rng = ChaCha20Rng::from_seed(secret.seed("split", cfg.seed));
    // Groups in order of first row, each with its stratum (the class of its first row).
    let mut strata: HashMap<u8, Vec<usize>> = HashMap::default();
    let mut seen = HashSet::default();
    for (i, &g) in group.iter().enumerate() {
        if seen.insert(g) {
            strata.entry(if cfg.stratify { class[i] } else { 0 }).or_default().push(g);
        }
    }
    let mut strata: Vec<(u8, Vec<usize>)> = strata.into_iter().collect();
    strata.sort_by_key(|(s, _)| *s);
    let mut part_of_group: HashMap<usize, Part> = HashMap::default();
    for (_, mut members) in strata {
        members.shuffle(&mut rng);
        let test = share_count(members.len(), cfg.test_share);
        let (test_groups, train_groups) = members.split_at(test);
        for &g in train_groups {
            part_of_group.insert(g, Part::Train);
        }
        let b = cfg.b_share.map_or(0, |s| share_count(test_groups.len(), s));
        let (b_groups, a_groups) = test_groups.split_at(b);
        for (board_groups, is_b) in [(a_groups, false), (b_groups, true)] {
            let public = share_count(board_groups.len(), cfg.public_share);
            for (i, &g) in board_groups.iter().enumerate() {
                part_of_group.insert(g, if i < public { Part::Public { b: is_b } } else { Part::Private { b: is_b } });
            }
        }
    }
    group.iter().map(|g| part_of_group[g]).collect()
}

fn share_count(n: usize, share: f64) -> usize {
    ((n as f64) * share).round() as usize
}

/// Fresh random row ids: 12 characters of Crockford base 32 (60 bits), unique, drawn from a
/// generator seeded by the secret, so they carry nothing about raw order, time or label.
pub fn ids(secret: &Secret, seed: u64, n: usize) -> Vec<String> {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut rng = ChaCha20Rng::from_seed(secret.seed("ids", seed));
    let mut drawn = HashSet::with_capacity_and_hasher(n, rustc_hash::FxBuildHasher);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let v: u64 = rng.r#gen::<u64>() >> 4;
        if drawn.insert(v) {
            out.push((0..12).rev().map(|i| char::from(ALPHABET[((v >> (5 * i)) & 31) as usize])).collect());
        }
    }
    out
}
