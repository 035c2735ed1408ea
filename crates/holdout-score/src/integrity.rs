//! The judges' integrity report, its small statistics: how far the private board agrees with the
//! public one (Kendall's τ-b, the shake-up), which teams' histories look like probing of the
//! public board, and which teams submitted the very same file. Near-duplicate prediction files
//! are in [`duplicates`](crate::duplicates).
//!
//! Everything here is a lead for the judges to look into, never a verdict: honest teams shake up,
//! overfit the public board by selection alone, and may submit a public baseline unchanged.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ranking::order;

/// One submission of one team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SubmissionRef {
    pub team: i64,
    pub submission: i64,
}

/// Kendall's τ-b of two paired samples (e.g. each team's public and private score), ties
/// corrected as scipy's `kendalltau` (variant `b`): `(C − D) / √((C + D + Tᵧ)(C + D + Tₓ))` over
/// the `n(n − 1)/2` pairs, `C` concordant, `D` discordant, `Tₓ` tied in `x` only and `Tᵧ` in `y`
/// only. Counted pair by pair, `O(n²)` (10,000 teams: 5·10⁷ comparisons).
///
/// `None` when fewer than two pairs, a value is not finite, or either sample is constant.
///
/// # Panics
/// If `x` and `y` differ in length.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "paired samples");
    if x.len() < 2 || !x.iter().chain(y).all(|v| v.is_finite()) {
        return None;
    }
    let (mut concordant, mut discordant, mut tied_x, mut tied_y) = (0u64, 0u64, 0u64, 0u64);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            let (dx, dy) = (x[i] - x[j], y[i] - y[j]);
            match (dx == 0.0, dy == 0.0) {
                (true, true) => {}
                (true, false) => tied_x += 1,
                (false, true) => tied_y += 1,
                (false, false) if (dx > 0.0) == (dy > 0.0) => concordant += 1,
                (false, false) => discordant += 1,
            }
        }
    }
    let (untied_x, untied_y) = (concordant + discordant + tied_y, concordant + discordant + tied_x);
    if untied_x == 0 || untied_y == 0 {
        return None;
    }
    Some((concordant as f64 - discordant as f64) / ((untied_x as f64) * (untied_y as f64)).sqrt())
}

/// How much the ranks moved from the public board to the private one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShakeUp {
    /// `N`, the teams on both boards.
    pub teams: usize,
    /// The mean over teams of |public rank − private rank|.
    pub mean_rank_change: f64,
    /// The shake-up as Kaggle's community computes it (`BreakfastPirate`'s "mean absolute
    /// percentage change in rank"): `mean_rank_change / N`. 0 when nothing moved; a board
    /// reversed end to end gives about 0.5.
    pub shake_up: f64,
    /// The same over the private board's top 10 % (the teams of private rank ≤ ⌈N/10⌉), still
    /// divided by `N`.
    pub shake_up_top_decile: f64,
}

/// The shake-up between the public and the private ranks of the same teams (`public[t]`,
/// `private[t]`, as the boards rank them). `None` without teams.
///
/// # Panics
/// If the two slices differ in length.
pub fn shake_up(public: &[u32], private: &[u32]) -> Option<ShakeUp> {
    assert_eq!(public.len(), private.len(), "one public and one private rank per team");
    let teams = public.len();
    if teams == 0 {
        return None;
    }
    let change = |t: usize| f64::from(public[t].abs_diff(private[t]));
    let mean_rank_change = (0..teams).map(change).sum::<f64>() / teams as f64;
    let decile = teams.div_ceil(10) as u32;
    let top: Vec<usize> = (0..teams).filter(|&t| private[t] <= decile).collect();
    let top_mean = if top.is_empty() { 0.0 } else { top.iter().map(|&t| change(t)).sum::<f64>() / top.len() as f64 };
    Some(ShakeUp {
        teams,
        mean_rank_change,
        shake_up: mean_rank_change / teams as f64,
        shake_up_top_decile: top_mean / teams as f64,
    })
}

/// A team's submission history read for signs of probing the public board.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Probing {
    pub submissions: usize,
    /// The position in the history of the best public score (the earliest of ties), `None` when
    /// no public score is defined.
    pub best_public: Option<usize>,
    /// How much worse that submission's private score is than its public one, in the metric's
    /// units: public − private when greater is better, private − public otherwise (positive:
    /// the private score is worse). `None` where either is undefined.
    pub gap: Option<f64>,
    /// Submissions that raised the team's running best public score by more than 0 and at most
    /// `small_gain`: climbing the public board by steps within its noise.
    pub small_gains: usize,
    /// `small_gains × max(gap, 0) / small_gain`: many steps within the noise, then a private
    /// drop measured in the same noise units. 0 without a drop or without small steps.
    pub score: f64,
}

/// The probing indicator of one team from its submissions' `(public, private)` scores in time
/// order. `small_gain` is the public score's noise, e.g. the bootstrap standard deviation of a
/// submission's public score (its 95 % interval's width / 3.92).
///
/// A lead, not a verdict: picking the best of many honest public scores alone yields a positive
/// gap (the winner's curse grows with the number of submissions), so compare a team's score
/// with the other teams', and read its history.
///
/// # Panics
/// Unless `small_gain` is positive and finite.
pub fn probing(history: &[(Option<f64>, Option<f64>)], greater_is_better: bool, small_gain: f64) -> Probing {
    assert!(small_gain > 0.0 && small_gain.is_finite(), "a positive noise scale");
    let mut best: Option<usize> = None;
    let mut small_gains = 0;
    for (i, &(public, _)) in history.iter().enumerate() {
        let Some(value) = public.filter(|v| v.is_finite()) else { continue };
        match best.and_then(|b| history[b].0) {
            None => best = Some(i),
            Some(previous) if order(Some(value), Some(previous), greater_is_better).is_lt() => {
                if (value - previous).abs() <= small_gain {
                    small_gains += 1;
                }
                best = Some(i);
            }
            Some(_) => {}
        }
    }
    let gap = best.and_then(|b| match history[b] {
        (Some(public), Some(private)) if private.is_finite() => {
            Some(if greater_is_better { public - private } else { private - public })
        }
        _ => None,
    });
    let score = small_gains as f64 * gap.unwrap_or(0.0).max(0.0) / small_gain;
    Probing { submissions: history.len(), best_public: best, gap, small_gains, score }
}

/// Submissions of two or more teams with the same file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SameFile {
    /// Lowercase hex.
    pub sha256: String,
    /// Distinct teams among `submissions`.
    pub teams: usize,
    /// Every submission with this file, sorted.
    pub submissions: Vec<SubmissionRef>,
}

/// The files (by SHA-256, compared case-insensitively) submitted by at least two teams, most
/// teams first, then by hash.
pub fn same_files<'a>(files: impl IntoIterator<Item = (SubmissionRef, &'a str)>) -> Vec<SameFile> {
    let mut by_hash: BTreeMap<String, Vec<SubmissionRef>> = BTreeMap::new();
    for (submission, sha256) in files {
        by_hash.entry(sha256.to_ascii_lowercase()).or_default().push(submission);
    }
    let mut out: Vec<SameFile> = by_hash
        .into_iter()
        .filter_map(|(sha256, mut submissions)| {
            submissions.sort_unstable();
            let mut teams: Vec<i64> = submissions.iter().map(|s| s.team).collect();
            teams.dedup();
            (teams.len() >= 2).then_some(SameFile { sha256, teams: teams.len(), submissions })
        })
        .collect();
    out.sort_by(|a, b| b.teams.cmp(&a.teams).then_with(|| a.sha256.cmp(&b.sha256)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kendall_tau_b_counts_pairs() {
        assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), Some(1.0));
        assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        // C = 2, D = 0, one pair tied in x only: 2 / √(2 · 3).
        let t = kendall_tau_b(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]).unwrap();
        assert!((t - 2.0 / 6f64.sqrt()).abs() < 1e-15, "{t}");
        assert_eq!(kendall_tau_b(&[1.0, 1.0], &[1.0, 2.0]), None);
        assert_eq!(kendall_tau_b(&[1.0], &[1.0]), None);
        assert_eq!(kendall_tau_b(&[1.0, f64::NAN], &[1.0, 2.0]), None);
    }

    #[test]
    fn shake_up_is_the_mean_rank_change_over_the_teams() {
        let none = shake_up(&[1, 2, 3, 4], &[1, 2, 3, 4]).unwrap();
        assert_eq!((none.mean_rank_change, none.shake_up, none.shake_up_top_decile), (0.0, 0.0, 0.0));
        let reversed = shake_up(&[1, 2, 3, 4], &[4, 3, 2, 1]).unwrap();
        assert_eq!(reversed.mean_rank_change, 2.0);
        assert_eq!(reversed.shake_up, 0.5);
        // The private top decile of 4 teams is the private winner, who was 4th: |4 − 1| / 4.
        assert_eq!(reversed.shake_up_top_decile, 0.75);
        assert_eq!(shake_up(&[], &[]), None);
    }

    #[test]
    fn probing_counts_small_public_steps_and_the_private_drop() {
        // Greater is better; steps of 0.001 within a noise of 0.005, then a private drop of 0.02.
        let history = [
            (Some(0.80), Some(0.80)),
            (Some(0.801), Some(0.795)),
            (None, None),
            (Some(0.802), Some(0.79)),
            (Some(0.79), Some(0.79)),
            (Some(0.803), Some(0.783)),
        ];
        let p = probing(&history, true, 0.005);
        assert_eq!((p.submissions, p.best_public, p.small_gains), (6, Some(5), 3));
        assert!((p.gap.unwrap() - 0.02).abs() < 1e-12);
        assert!((p.score - 3.0 * 4.0).abs() < 1e-9, "{p:?}");
        // A big honest step is not small; a private score better than the public is no drop.
        let honest = probing(&[(Some(0.5), Some(0.5)), (Some(0.7), Some(0.72))], true, 0.005);
        assert_eq!((honest.small_gains, honest.score), (0, 0.0));
        assert!((honest.gap.unwrap() + 0.02).abs() < 1e-12);
        // Lower is better: ties keep the earlier submission.
        let loss = probing(&[(Some(0.3), Some(0.4)), (Some(0.3), Some(0.3)), (Some(0.299), None)], false, 0.01);
        assert_eq!((loss.best_public, loss.small_gains, loss.gap), (Some(2), 1, None));
        let empty = probing(&[], true, 1.0);
        assert_eq!((empty.best_public, empty.gap, empty.score), (None, None, 0.0));
    }

    #[test]
    fn same_files_groups_hashes_across_teams_only() {
        let s = |team, submission| SubmissionRef { team, submission };
        let files = [
            (s(1, 10), "AA"),
            (s(1, 11), "aa"),
            (s(2, 20), "bb"),
            (s(2, 21), "bb"),
            (s(3, 30), "aa"),
            (s(4, 40), "cc"),
            (s(5, 50), "cc"),
            (s(6, 60), "cc"),
        ];
        let groups = same_files(files);
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!((groups[0].sha256.as_str(), groups[0].teams), ("cc", 3));
        assert_eq!(groups[1].sha256, "aa");
        assert_eq!(groups[1].submissions, vec![s(1, 10), s(1, 11), s(3, 30)]);
    }
}
