//! The declared attacker, simulated: an acquaintance who knows a respondent's background columns
//! (the raw answers, before any generalization) looks for that respondent in the published rows.
//!
//! A published row is a candidate when each of its quasi-identifier values is what the raw value
//! generalizes to at the chosen level, or `*` (generalized away or suppressed: it contradicts
//! nothing). The candidates of one person are counted without a pass over the rows: the published
//! rows are grouped by their pattern of `*` cells (few distinct patterns), and per pattern by
//! their values; a person's candidates are the sum, over the patterns, of the rows whose values
//! equal the person's own with that pattern's cells starred.

use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

/// The published quasi-identifier columns, as the attacker links against them.
#[derive(Debug)]
pub struct Published<'a> {
    /// Per quasi-identifier, the published code of every published row.
    pub columns: Vec<&'a [u16]>,
    /// Per quasi-identifier, the code that stands for `*`.
    pub star: Vec<u16>,
}

/// One person the attacker targets.
#[derive(Debug, Clone)]
pub struct Target {
    /// Per quasi-identifier, the code the attacker's raw knowledge generalizes to.
    pub view: Vec<u16>,
    /// The person's published row, if the person was published at all.
    pub row: Option<usize>,
}

/// What the attack achieved.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LinkageAttack {
    /// People the attacker tried, drawn with a seed from the valid (screened) respondents.
    pub sampled: u64,
    /// Of them, those who are in the published rows at all.
    pub published: u64,
    /// The attacker's match is unique and is the right person.
    pub reidentified: u64,
    pub reidentified_share: f64,
    /// The right person is among at most k candidates.
    pub within_k: u64,
    pub within_k_share: f64,
    /// Σ 1/|candidates| over the people who are published, divided by everyone tried: the
    /// expected share the attacker identifies by picking one candidate at random.
    pub expected_match_rate: f64,
    /// The fewest candidates any published person had.
    pub fewest_candidates: u64,
    /// The release gate: the expected match rate may not exceed this.
    pub threshold: f64,
}

/// Links each target to the published rows and counts how well the attacker does.
pub fn link(published: &Published<'_>, targets: &[Target], k: u32, threshold: f64) -> LinkageAttack {
    let q = published.columns.len();
    let n = published.columns.first().map_or(0, |c| c.len());
    // Rows grouped by their `*` pattern (bit q set: column q is `*`), then by their values.
    let mut patterns: HashMap<u64, HashMap<Vec<u16>, u64>> = HashMap::default();
    let mut key = vec![0u16; q];
    for row in 0..n {
        let mut mask = 0u64;
        for (c, column) in published.columns.iter().enumerate() {
            key[c] = column[row];
            if key[c] == published.star[c] {
                mask |= 1 << c;
            }
        }
        *patterns.entry(mask).or_default().entry(key.clone()).or_default() += 1;
    }
    let mut patterns: Vec<(u64, HashMap<Vec<u16>, u64>)> = patterns.into_iter().collect();
    patterns.sort_unstable_by_key(|(mask, _)| *mask);

    let (mut in_release, mut unique, mut within_k, mut expected) = (0u64, 0u64, 0u64, 0.0f64);
    let mut fewest = u64::MAX;
    for target in targets {
        let Some(_) = target.row else { continue };
        in_release += 1;
        // A value the attacker's knowledge already generalizes to `*` matches only rows whose
        // pattern stars it too.
        let view_mask = target
            .view
            .iter()
            .zip(&published.star)
            .enumerate()
            .fold(0u64, |m, (c, (v, s))| m | (u64::from(v == s) << c));
        let mut candidates = 0u64;
        for (mask, rows) in &patterns {
            if view_mask & !mask != 0 {
                continue;
            }
            for (c, slot) in key.iter_mut().enumerate() {
                *slot = if mask & (1 << c) == 0 { target.view[c] } else { published.star[c] };
            }
            candidates += rows.get(&key).copied().unwrap_or(0);
        }
        debug_assert!(candidates >= 1, "a person's own row always matches their own knowledge");
        let candidates = candidates.max(1);
        fewest = fewest.min(candidates);
        unique += u64::from(candidates == 1);
        within_k += u64::from(candidates <= u64::from(k));
        expected += 1.0 / candidates as f64;
    }
    let tried = targets.len() as u64;
    let share = |x: u64| if tried == 0 { 0.0 } else { x as f64 / tried as f64 };
    LinkageAttack {
        sampled: tried,
        published: in_release,
        reidentified: unique,
        reidentified_share: share(unique),
        within_k,
        within_k_share: share(within_k),
        expected_match_rate: if tried == 0 { 0.0 } else { expected / tried as f64 },
        fewest_candidates: if in_release == 0 { 0 } else { fewest },
        threshold,
    }
}

/// How many published rows are alone on their whole answer vector (information only: answers
/// are not background knowledge, but a respondent who shows someone their answers could be
/// found by them).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AnswerUniqueness {
    pub columns: u64,
    pub rows: u64,
    pub unique_rows: u64,
    pub unique_share: f64,
}

/// Per row, its values over `columns` as one number: the codes packed side by side, renumbered
/// densely whenever the next column would not fit in 128 bits. Equal keys, equal values.
pub(crate) fn row_keys(columns: &[&[u16]]) -> Vec<u128> {
    let n = columns.first().map_or(0, |c| c.len());
    let mut keys = vec![0u128; n];
    let mut used = 0u32;
    for column in columns {
        let bits = u16::BITS - column.iter().copied().max().unwrap_or(0).leading_zeros();
        if used + bits > u128::BITS {
            let mut ids: HashMap<u128, u128> = HashMap::default();
            for key in &mut keys {
                let next = ids.len() as u128;
                *key = *ids.entry(*key).or_insert(next);
            }
            used = u128::BITS - (ids.len() as u128).leading_zeros();
        }
        for (key, &code) in keys.iter_mut().zip(*column) {
            *key = (*key << bits) | u128::from(code);
        }
        used += bits;
    }
    keys
}

/// Counts the rows whose values over `columns` no other row shares.
pub fn answer_uniqueness(columns: &[&[u16]]) -> AnswerUniqueness {
    let keys = row_keys(columns);
    let mut seen: HashMap<u128, u32> = HashMap::with_capacity_and_hasher(keys.len(), rustc_hash::FxBuildHasher);
    for key in keys {
        *seen.entry(key).or_default() += 1;
    }
    let n = columns.first().map_or(0, |c| c.len());
    let unique = seen.values().filter(|&&c| c == 1).count() as u64;
    AnswerUniqueness {
        columns: columns.len() as u64,
        rows: n as u64,
        unique_rows: unique,
        unique_share: if n == 0 { 0.0 } else { unique as f64 / n as f64 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAR: u16 = 9;

    fn published(columns: &[Vec<u16>]) -> Published<'_> {
        Published { columns: columns.iter().map(Vec::as_slice).collect(), star: vec![STAR; columns.len()] }
    }

    /// The candidates of each target, counted directly: every row compatible with the view.
    fn direct(columns: &[Vec<u16>], view: &[u16]) -> u64 {
        (0..columns[0].len()).filter(|&r| columns.iter().zip(view).all(|(c, &v)| c[r] == STAR || c[r] == v)).count()
            as u64
    }

    #[test]
    fn candidates_count_every_compatible_row_and_stars_match_anything() {
        // Two columns; rows: (1,1) ×3, (1,*) ×2, (*,*) ×1, (2,1) ×1.
        let columns = vec![vec![1, 1, 1, 1, 1, STAR, 2], vec![1, 1, 1, STAR, STAR, STAR, 1]];
        let p = published(&columns);
        let targets = vec![
            Target { view: vec![1, 1], row: Some(0) },
            Target { view: vec![2, 1], row: Some(6) },
            Target { view: vec![2, 2], row: None },
        ];
        let a = link(&p, &targets, 3, 0.5);
        // (1,1): 3 + 2 + 1 = 6 candidates; (2,1): itself + (*,*) = 2; the third is not published.
        assert_eq!(direct(&columns, &[1, 1]), 6);
        assert_eq!(direct(&columns, &[2, 1]), 2);
        assert_eq!(a.sampled, 3);
        assert_eq!(a.published, 2);
        assert_eq!(a.reidentified, 0);
        assert_eq!(a.within_k, 1);
        assert_eq!(a.fewest_candidates, 2);
        assert!((a.expected_match_rate - (1.0 / 6.0 + 1.0 / 2.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_column_generalized_to_star_matches_only_starred_rows() {
        // Column 1 is `*` for everyone (its level is `*`): the view says `*` too.
        let columns = vec![vec![1, 1, 2], vec![STAR, STAR, STAR]];
        let a = link(&published(&columns), &[Target { view: vec![2, STAR], row: Some(2) }], 2, 0.5);
        assert_eq!(a.reidentified, 1);
        assert!((a.expected_match_rate - 1.0).abs() < 1e-12);
    }

    #[test]
    fn agrees_with_a_direct_count_on_random_releases() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..30 {
            let q = rng.gen_range(1..5);
            let n = rng.gen_range(1..200);
            let columns: Vec<Vec<u16>> = (0..q)
                .map(|_| (0..n).map(|_| if rng.gen_bool(0.2) { STAR } else { rng.gen_range(0..3) }).collect())
                .collect();
            let targets: Vec<Target> = (0..50)
                .map(|_| {
                    let row = rng.gen_range(0..n);
                    // The view agrees with the row wherever the row is not `*`.
                    let view =
                        columns.iter().map(|c| if c[row] == STAR { rng.gen_range(0..3) } else { c[row] }).collect();
                    Target { view, row: Some(row) }
                })
                .collect();
            let a = link(&published(&columns), &targets, 5, 1.0);
            let expected = targets.iter().map(|t| 1.0 / direct(&columns, &t.view) as f64).sum::<f64>() / 50.0;
            assert!((a.expected_match_rate - expected).abs() < 1e-12, "{} vs {expected}", a.expected_match_rate);
            let unique = targets.iter().filter(|t| direct(&columns, &t.view) == 1).count() as u64;
            assert_eq!(a.reidentified, unique);
        }
    }

    #[test]
    fn answer_uniqueness_counts_rows_no_other_row_shares() {
        let a = [1u16, 1, 2, 3];
        let b = [5u16, 5, 5, 5];
        let u = answer_uniqueness(&[&a, &b]);
        assert_eq!((u.rows, u.unique_rows), (4, 2));
    }

    #[test]
    fn row_keys_are_equal_exactly_when_the_values_are() {
        // Ten columns of 16 bits each: past 128 bits the keys are renumbered on the way.
        let rows: Vec<Vec<u16>> = (0..200u16).map(|r| (0..10).map(|c| (r * 7 + c * 13) % 5 * 9000).collect()).collect();
        let columns: Vec<Vec<u16>> = (0..10).map(|c| rows.iter().map(|r| r[c]).collect()).collect();
        let qi: Vec<&[u16]> = columns.iter().map(Vec::as_slice).collect();
        let keys = row_keys(&qi);
        for a in 0..rows.len() {
            for b in 0..rows.len() {
                assert_eq!(keys[a] == keys[b], rows[a] == rows[b], "rows {a} and {b}");
            }
        }
    }
}
