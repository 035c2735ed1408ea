//! Rank uncertainty on the final board: how sure each team's rank is, from every team's score on
//! the same bootstrap replicates ([`replicate_scores`](crate::bootstrap::replicate_scores) with
//! the contest's seed, one row per team).
//!
//! Each replicate is ranked as the board is ranked, 1 = best, by [`ranks`]: competition ("min")
//! ranks, so teams that tie share the best of their places and the next team's rank counts every
//! team above it (1, 2, 2, 4); an undefined score ranks after every defined one. The board itself
//! breaks exact ties by the earlier submission; a replicate has no such order, so its ties stay
//! ties. From those ranks, per team ([`rank_uncertainty`]):
//!
//! - **P(rank = 1)**: the share of replicates in which the team ranks first, a first place shared
//!   by `k` teams counting `1/k` to each, so that the probabilities of all teams sum to 1.
//! - **The rank interval** at `level` (95 %): the `(1 − level)/2` and `(1 + level)/2` quantiles
//!   of the team's replicate ranks by the inverted empirical distribution function (numpy's
//!   `method="inverted_cdf"`: the smallest rank `v` with at least a share `q` of the replicates
//!   at rank ≤ `v`), so the interval's ends are ranks that occurred and it holds at least
//!   `level` of the replicates.
//! - **The test against the leader** (the team first on the point scores): one-sided paired
//!   bootstrap tests of "the leader is better than team `j`", with `b_j` the number of replicates
//!   in which `j` ranks at least as well as the leader (a tie counts for `j`) and
//!   `p_j = (b_j + 1) / (R + 1)` over `R` replicates; then Holm's step-down correction across the
//!   `m` other teams (`p` sorted ascending, the `i`-th rejected while
//!   `p_(i) ≤ α / (m − i + 1)` for it and every smaller one). The teams not rejected at `α`
//!   (0.05, family-wise) are *not distinguishable from the leader*. As the smallest `p` is
//!   `1/(R + 1)`, nothing can be rejected unless `R + 1 ≥ m/α` (500 teams at α = 0.05: 9,979
//!   replicates); [`RankUncertainty::replicates_needed`] says so.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::metrics::Neumaier;

/// The levels of the rank intervals and of the tests against the leader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankSettings {
    /// Of each team's rank interval, e.g. 0.95.
    pub level: f64,
    /// Family-wise error rate of the tests against the leader (Holm), e.g. 0.05.
    pub alpha: f64,
}

impl Default for RankSettings {
    fn default() -> RankSettings {
        RankSettings { level: 0.95, alpha: 0.05 }
    }
}

/// How sure the final board's ranks are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankUncertainty {
    /// `R`, the replicates every team was scored on.
    pub replicates: usize,
    pub level: f64,
    pub alpha: f64,
    /// The index of the team ranked first on the point scores (the first given of those tied:
    /// pass teams in board order); `None` when no team has a defined score.
    pub leader: Option<usize>,
    /// One per team, in the order given.
    pub teams: Vec<TeamRank>,
    /// The leader and every team not distinguishable from it at `alpha`, in the order given.
    pub indistinguishable_from_leader: Vec<usize>,
    /// The fewest replicates with which Holm's procedure could reject any team at `alpha`:
    /// `⌈m/α⌉ − 1` for `m` teams besides the leader. With fewer, every team is
    /// indistinguishable from the leader, however far behind.
    pub replicates_needed: usize,
}

/// One team's rank and how sure it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamRank {
    /// On the point scores, by [`ranks`].
    pub rank: u32,
    /// The share of replicates in which the team ranks first (shared firsts split evenly).
    pub probability_first: f64,
    /// The rank interval at `level` (inverted-CDF quantiles of the replicate ranks).
    pub rank_low: u32,
    pub rank_high: u32,
    /// `(b + 1) / (R + 1)` for "the leader is better than this team"; `None` for the leader
    /// and when there is none.
    pub p_value: Option<f64>,
    /// Holm's adjusted p-value (the smallest `α` at which this team is told apart).
    pub p_holm: Option<f64>,
    /// Whether the leader is better at `alpha` (`p_holm ≤ alpha`).
    pub leader_better: bool,
    /// The leader itself, or a team the leader is not better than at `alpha` (`false` for
    /// every team when there is no leader).
    pub indistinguishable_from_leader: bool,
}

/// `a` against `b`, best first: defined before undefined (`None` or not finite), then by the
/// metric's direction; equal values (`0.0` and `-0.0` too) are equal.
pub fn order(a: Option<f64>, b: Option<f64>, greater_is_better: bool) -> Ordering {
    match (a.filter(|v| v.is_finite()), b.filter(|v| v.is_finite())) {
        (Some(x), Some(y)) if x == y => Ordering::Equal,
        (Some(x), Some(y)) => {
            if (x > y) == greater_is_better {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Competition ("min") ranks of `scores`, 1 = best: one plus the number of scores strictly
/// better (see [`order`]), so ties share the best of their places (1, 2, 2, 4) and undefined
/// scores share the place after the last defined one.
pub fn ranks(scores: &[Option<f64>], greater_is_better: bool) -> Vec<u32> {
    let mut by_score: Vec<usize> = (0..scores.len()).collect();
    by_score.sort_by(|&a, &b| order(scores[a], scores[b], greater_is_better));
    let mut out = vec![0u32; scores.len()];
    for (place, &team) in by_score.iter().enumerate() {
        let tied = place > 0 && order(scores[by_score[place - 1]], scores[team], greater_is_better).is_eq();
        out[team] = if tied { out[by_score[place - 1]] } else { place as u32 + 1 };
    }
    out
}

/// Rank uncertainty of a board: `points[t]` is team `t`'s score, `replicates[t][r]` its score on
/// replicate `r` (`None` where undefined), every team on the same replicates. See the module
/// documentation for each figure's definition.
///
/// # Panics
/// If `replicates` does not hold one row per team, the rows differ in length, or there are
/// teams and no replicates.
pub fn rank_uncertainty(
    points: &[Option<f64>],
    replicates: &[Vec<Option<f64>>],
    greater_is_better: bool,
    settings: RankSettings,
) -> RankUncertainty {
    assert_eq!(replicates.len(), points.len(), "one row of replicate scores per team");
    let count = replicates.first().map_or(0, Vec::len);
    assert!(replicates.iter().all(|r| r.len() == count), "every team is scored on the same replicates");
    assert!(count > 0 || points.is_empty(), "at least one replicate");
    let by_team = replicate_ranks(replicates, count, greater_is_better);
    let first = probability_first(&by_team, count);
    let point_ranks = ranks(points, greater_is_better);
    let leader = point_ranks.iter().position(|&r| r == 1).filter(|&l| points[l].is_some_and(f64::is_finite));
    let mut tests: Vec<Option<Test>> = vec![None; points.len()];
    for test in leader.map(|l| tests_against(&by_team, l)).unwrap_or_default() {
        tests[test.team] = Some(test);
    }
    let tail = (1.0 - settings.level) / 2.0;
    let teams: Vec<TeamRank> = by_team
        .iter()
        .enumerate()
        .map(|(t, ranks)| {
            let mut sorted = ranks.clone();
            sorted.sort_unstable();
            let test = tests[t];
            let p_holm = test.map(|test| test.p_holm);
            let leader_better = p_holm.is_some_and(|p| p <= settings.alpha);
            TeamRank {
                rank: point_ranks[t],
                probability_first: first[t],
                rank_low: inverted_cdf(&sorted, tail),
                rank_high: inverted_cdf(&sorted, 1.0 - tail),
                p_value: test.map(|test| test.p_value),
                p_holm,
                leader_better,
                indistinguishable_from_leader: leader.is_some() && !leader_better,
            }
        })
        .collect();
    let indistinguishable_from_leader = (0..teams.len()).filter(|&t| teams[t].indistinguishable_from_leader).collect();
    RankUncertainty {
        replicates: count,
        level: settings.level,
        alpha: settings.alpha,
        leader,
        replicates_needed: replicates_needed(points.len().saturating_sub(1), settings.alpha),
        teams,
        indistinguishable_from_leader,
    }
}

/// Each team's rank in each replicate (`result[team][replicate]`).
fn replicate_ranks(replicates: &[Vec<Option<f64>>], count: usize, greater_is_better: bool) -> Vec<Vec<u32>> {
    let mut by_team = vec![Vec::with_capacity(count); replicates.len()];
    let mut column = Vec::with_capacity(replicates.len());
    for r in 0..count {
        column.clear();
        column.extend(replicates.iter().map(|team| team[r]));
        for (team, rank) in by_team.iter_mut().zip(ranks(&column, greater_is_better)) {
            team.push(rank);
        }
    }
    by_team
}

/// Each team's share of replicates ranked first, a first place shared by `k` teams counting
/// `1/k` to each (compensated sums, so the shares add up to 1 to the last bits).
fn probability_first(by_team: &[Vec<u32>], count: usize) -> Vec<f64> {
    let mut sums = vec![Neumaier::default(); by_team.len()];
    for r in 0..count {
        let firsts = by_team.iter().filter(|ranks| ranks[r] == 1).count();
        for (sum, ranks) in sums.iter_mut().zip(by_team) {
            if ranks[r] == 1 {
                sum.add(1.0 / firsts as f64);
            }
        }
    }
    sums.iter().map(|s| s.total() / count as f64).collect()
}

/// The `q` quantile of sorted values by the inverted empirical distribution function (numpy's
/// `method="inverted_cdf"`): the smallest value `v` with at least `⌈q·n⌉` values ≤ `v`. A `q·n`
/// within 1e-9 of an integer is taken as that integer, so that `(1 − 0.95) / 2` means 2.5 %.
fn inverted_cdf(sorted: &[u32], q: f64) -> u32 {
    let Some(&last) = sorted.last() else { return 0 };
    let at = q * sorted.len() as f64;
    let k = if (at - at.round()).abs() < 1e-9 { at.round() } else { at.ceil() };
    sorted.get((k as usize).max(1) - 1).copied().unwrap_or(last)
}

/// One team's test against the leader.
#[derive(Debug, Clone, Copy)]
struct Test {
    team: usize,
    p_value: f64,
    p_holm: f64,
}

/// The paired bootstrap test of every other team against `leader`, with Holm's adjusted
/// p-values: sorted ascending, `p_holm_(i) = min(1, max_{k ≤ i} (m − k + 1) p_(k))`.
fn tests_against(by_team: &[Vec<u32>], leader: usize) -> Vec<Test> {
    let count = by_team[leader].len();
    let mut at_least_as_good: Vec<(usize, usize)> = (0..by_team.len())
        .filter(|&t| t != leader)
        .map(|t| (t, by_team[t].iter().zip(&by_team[leader]).filter(|(team, lead)| team <= lead).count()))
        .collect();
    at_least_as_good.sort_by_key(|&(t, b)| (b, t));
    let m = at_least_as_good.len();
    let mut running = 0.0f64;
    at_least_as_good
        .iter()
        .enumerate()
        .map(|(i, &(team, b))| {
            // From integers, one rounding: (b + 1)(m − i) / (R + 1).
            running = running.max(((b + 1) * (m - i)) as f64 / (count + 1) as f64).min(1.0);
            Test { team, p_value: (b + 1) as f64 / (count + 1) as f64, p_holm: running }
        })
        .collect()
}

/// The fewest replicates `R` with `1/(R + 1) ≤ α/m`: below it, Holm's first step cannot reject.
fn replicates_needed(m: usize, alpha: f64) -> usize {
    if m == 0 {
        return 0;
    }
    (m as f64 / alpha - 1.0 - 1e-9).ceil().max(0.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_are_competition_ranks_with_undefined_last() {
        let scores = [Some(0.7), None, Some(0.9), Some(0.7), Some(0.1), None, Some(f64::NAN)];
        assert_eq!(ranks(&scores, true), vec![2, 5, 1, 2, 4, 5, 5]);
        assert_eq!(ranks(&scores, false), vec![2, 5, 4, 2, 1, 5, 5]);
        assert_eq!(ranks(&[Some(0.0), Some(-0.0)], true), vec![1, 1]);
        assert!(ranks(&[], true).is_empty());
    }

    #[test]
    fn inverted_cdf_is_the_smallest_value_covering_the_share() {
        let sorted: Vec<u32> = (1..=1000).collect();
        assert_eq!(inverted_cdf(&sorted, (1.0 - 0.95) / 2.0), 25);
        assert_eq!(inverted_cdf(&sorted, 1.0 - (1.0 - 0.95) / 2.0), 975);
        assert_eq!(inverted_cdf(&sorted, 0.0), 1);
        assert_eq!(inverted_cdf(&sorted, 1.0), 1000);
        assert_eq!(inverted_cdf(&[1, 1, 2], 0.5), 1);
        assert_eq!(inverted_cdf(&[1, 2, 2], 0.34), 2);
    }

    #[test]
    fn replicates_needed_is_the_first_count_holm_can_reject_with() {
        assert_eq!(replicates_needed(0, 0.05), 0);
        assert_eq!(replicates_needed(1, 0.05), 19);
        assert_eq!(replicates_needed(499, 0.05), 9979);
        for m in [1, 3, 40, 499] {
            let r = replicates_needed(m, 0.05);
            assert!((m as f64) / (r + 1) as f64 <= 0.05, "{m}");
            assert!((m as f64) / r as f64 > 0.05, "{m}");
        }
    }
}
