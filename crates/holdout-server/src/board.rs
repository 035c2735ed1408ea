//! The boards, pure: from a phase's scored submissions to ranked rows.
//!
//! - **Public**: each team's best public score (ties → the earlier submission), the number of
//!   scored entries and the last one's time, the bootstrap interval of the best, and tie bands:
//!   a team whose interval overlaps the one of the team above is in that team's band.
//!   Undefined scores rank after every defined one, never first. Baselines are placed by their
//!   score but take no rank.
//! - **Private**: each team's final submissions are the ones it selected, or else its best
//!   public one ([`finals`]); once the last phase has closed they are the committed ones
//!   ([`crate::selections`]) and nothing else. The team's private score is the best private
//!   score among them; each row carries its public rank and the shake-up (public rank −
//!   private rank).
//! - **Ladder** (parameter-free, Blum & Hardt 2015, with bootstrap standard errors since the
//!   metrics do not decompose into per-row losses): a new public score is released only if it
//!   beats the team's released best by more than the standard error of their paired difference.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;

/// One scored, not disqualified submission of a phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub submission: i64,
    pub team: i64,
    pub team_name: String,
    pub baseline: bool,
    pub created_at: String,
    pub public: Option<f64>,
    pub public_ci: Option<(f64, f64)>,
    pub private: Option<f64>,
    pub private_ci: Option<(f64, f64)>,
    /// Ladder mode: whether its public score was released.
    pub released: bool,
    pub selected: bool,
}

/// A row of a board.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = BoardRow)]
pub struct Row {
    /// `None` for baselines.
    #[schema(required = true)]
    pub rank: Option<u32>,
    /// Tie band (1 = the leaders'); `None` for baselines and undefined scores.
    #[schema(required = true)]
    pub band: Option<u32>,
    pub team_id: i64,
    pub team: String,
    pub baseline: bool,
    pub submission_id: i64,
    /// `None` (null) when undefined: ranked after every defined score.
    #[schema(required = true)]
    pub score: Option<f64>,
    /// 95 % interval `[low, high]`; null when undefined or not computed.
    #[schema(value_type = Option<Vec<f64>>, min_items = 2, max_items = 2)]
    #[schema(required = true)]
    pub ci: Option<(f64, f64)>,
    /// The team's scored submissions in the phase.
    pub entries: u32,
    #[schema(format = DateTime)]
    pub last_submission_at: String,
    /// Private board only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub public_rank: Option<u32>,
    /// Private board only: public rank − private rank (positive: moved up).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub shakeup: Option<i64>,
}

fn defined(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

/// `a` against `b`, best first: defined before undefined, then by the metric's direction.
fn order(a: Option<f64>, b: Option<f64>, greater_is_better: bool) -> Ordering {
    match (defined(a), defined(b)) {
        (Some(x), Some(y)) if greater_is_better => y.total_cmp(&x),
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

struct Team<'a> {
    /// The team's entries, in submission order.
    entries: Vec<&'a Entry>,
    last: &'a str,
}

/// The teams in first-appearance order, each with its entries (one pass over all entries).
fn teams(entries: &[Entry]) -> (Vec<i64>, FxHashMap<i64, Team<'_>>) {
    let mut order = Vec::new();
    let mut map: FxHashMap<i64, Team<'_>> = FxHashMap::default();
    for e in entries {
        let t = map.entry(e.team).or_insert_with(|| {
            order.push(e.team);
            Team { entries: Vec::new(), last: &e.created_at }
        });
        t.entries.push(e);
        if e.created_at.as_str() > t.last {
            t.last = &e.created_at;
        }
    }
    (order, map)
}

/// The best of `candidates` by `score` (ties → the earlier submission).
fn best<'a>(
    candidates: impl Iterator<Item = &'a Entry>,
    score: impl Fn(&Entry) -> Option<f64>,
    greater: bool,
) -> Option<&'a Entry> {
    candidates.fold(None, |acc: Option<&Entry>, e| match acc {
        None => Some(e),
        Some(b) => match order(score(e), score(b), greater) {
            Ordering::Less => Some(e),
            Ordering::Equal if (e.created_at.as_str(), e.submission) < (b.created_at.as_str(), b.submission) => Some(e),
            _ => Some(b),
        },
    })
}

/// Sorts rows best first, ties by the earlier submission, then ranks and bands them.
fn rank(mut rows: Vec<(Row, String)>, greater: bool) -> Vec<Row> {
    rows.sort_by(|(a, at), (b, bt)| {
        order(a.score, b.score, greater).then_with(|| (at, a.submission_id).cmp(&(bt, b.submission_id)))
    });
    let mut next = 0;
    let mut band = 0;
    let mut above: Option<(f64, f64)> = None;
    let mut out = Vec::with_capacity(rows.len());
    for (mut row, _) in rows {
        if !row.baseline {
            next += 1;
            row.rank = Some(next);
            if defined(row.score).is_some() {
                let overlaps = match (above, row.ci) {
                    (Some((lo_a, hi_a)), Some((lo, hi))) => lo <= hi_a && lo_a <= hi,
                    _ => false,
                };
                if !overlaps {
                    band += 1;
                }
                row.band = Some(band);
                above = row.ci;
            }
        }
        out.push(row);
    }
    out
}

fn row(e: &Entry, t: &Team<'_>, score: Option<f64>, ci: Option<(f64, f64)>) -> Row {
    Row {
        rank: None,
        band: None,
        team_id: e.team,
        team: e.team_name.clone(),
        baseline: e.baseline,
        submission_id: e.submission,
        score: defined(score),
        ci,
        entries: t.entries.len() as u32,
        last_submission_at: t.last.to_owned(),
        public_rank: None,
        shakeup: None,
    }
}

/// A team's best public entry (only released ones under the Ladder).
fn best_public<'a>(t: &Team<'a>, greater: bool, ladder: bool) -> Option<&'a Entry> {
    best(t.entries.iter().copied().filter(|e| e.released || !ladder), |e| e.public, greater)
}

/// The public board of a phase; `entries` in submission order.
pub fn public(entries: &[Entry], greater: bool, ladder: bool) -> Vec<Row> {
    let (order, teams) = teams(entries);
    let rows = order
        .iter()
        .filter_map(|id| {
            let t = &teams[id];
            let e = best_public(t, greater, ladder)?;
            Some((row(e, t, e.public, e.public_ci), e.created_at.clone()))
        })
        .collect();
    rank(rows, greater)
}

/// A team's final entries: the ones it selected (`true`), or else its best public one.
fn final_entries<'a>(t: &Team<'a>, greater: bool, ladder: bool) -> (Vec<&'a Entry>, bool) {
    let selected: Vec<&Entry> = t.entries.iter().copied().filter(|e| e.selected).collect();
    if selected.is_empty() { (best_public(t, greater, ladder).into_iter().collect(), false) } else { (selected, true) }
}

/// One team's final submissions for the private board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Final {
    pub team: i64,
    /// Ascending id.
    pub submissions: Vec<i64>,
    /// Whether the team selected them (else: its best public submission, the default).
    pub chosen: bool,
}

/// Every team's final submissions (teams without any scored public entry have none and are
/// left out), in first-appearance order: what is committed when the last phase closes.
pub fn finals(entries: &[Entry], greater: bool, ladder: bool) -> Vec<Final> {
    let (order, teams) = teams(entries);
    order
        .iter()
        .filter_map(|id| {
            let (chosen_entries, chosen) = final_entries(&teams[id], greater, ladder);
            let mut submissions: Vec<i64> = chosen_entries.iter().map(|e| e.submission).collect();
            submissions.sort_unstable();
            (!submissions.is_empty()).then_some(Final { team: *id, submissions, chosen })
        })
        .collect()
}

/// The private board of a phase, each team's final submissions chosen by [`finals`]' rule.
pub fn private(entries: &[Entry], greater: bool, ladder: bool) -> Vec<Row> {
    private_from::<rustc_hash::FxBuildHasher>(entries, greater, ladder, None)
}

/// The private board of a phase; with `committed`, a team's final submissions are exactly its
/// entries among those ids (a team with none of them has no row), whatever it selects now.
pub fn private_from<S: std::hash::BuildHasher>(
    entries: &[Entry],
    greater: bool,
    ladder: bool,
    committed: Option<&std::collections::HashSet<i64, S>>,
) -> Vec<Row> {
    let public_ranks: FxHashMap<i64, Option<u32>> =
        public(entries, greater, ladder).into_iter().map(|r| (r.team_id, r.rank)).collect();
    let (order, teams) = teams(entries);
    let rows = order
        .iter()
        .filter_map(|id| {
            let t = &teams[id];
            let candidates = match committed {
                Some(set) => t.entries.iter().copied().filter(|e| set.contains(&e.submission)).collect(),
                None => final_entries(t, greater, ladder).0,
            };
            let e = best(candidates.into_iter(), |e| e.private, greater)?;
            let mut r = row(e, t, e.private, e.private_ci);
            r.public_rank = public_ranks.get(id).copied().flatten();
            Some((r, e.created_at.clone()))
        })
        .collect();
    let mut rows = rank(rows, greater);
    for r in &mut rows {
        if let (Some(p), Some(q)) = (r.public_rank, r.rank) {
            r.shakeup = Some(i64::from(p) - i64::from(q));
        }
    }
    rows
}

/// Whether the Ladder releases `new` over the team's released best `leader`.
pub fn ladder_releases(new: Option<f64>, leader: Option<f64>, step: Option<f64>, greater: bool) -> bool {
    match (defined(new), defined(leader)) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(n), Some(l)) => {
            let gain = if greater { n - l } else { l - n };
            gain > step.unwrap_or(0.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(submission: i64, team: i64, public: Option<f64>, private: Option<f64>) -> Entry {
        Entry {
            submission,
            team,
            team_name: format!("t{team}"),
            baseline: false,
            created_at: format!("2024-09-10T00:00:{submission:02}.000Z"),
            public,
            public_ci: public.map(|p| (p - 0.01, p + 0.01)),
            private,
            private_ci: private.map(|p| (p - 0.01, p + 0.01)),
            released: true,
            selected: false,
        }
    }

    fn teams(rows: &[Row]) -> Vec<i64> {
        rows.iter().map(|r| r.team_id).collect()
    }

    #[test]
    fn best_score_per_team_ties_to_the_earlier_and_undefined_last() {
        let e = vec![
            entry(1, 1, Some(0.70), None),
            entry(2, 2, None, None),
            entry(3, 3, Some(0.80), None),
            entry(4, 1, Some(0.80), None),
            entry(5, 4, Some(f64::NAN), None),
        ];
        let rows = public(&e, true, false);
        // Teams 3 and 1 tie at 0.80; team 3 got there first (submission 3 before 4).
        assert_eq!(teams(&rows), vec![3, 1, 2, 4]);
        assert_eq!(rows[1].submission_id, 4);
        assert_eq!(rows[1].entries, 2);
        assert_eq!(rows.iter().map(|r| r.rank).collect::<Vec<_>>(), vec![Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!((rows[2].score, rows[2].band), (None, None), "undefined: no score, no band");
        // Lower is better: still never undefined first.
        let rows = public(&e, false, false);
        assert_eq!(teams(&rows), vec![1, 3, 2, 4]);
    }

    #[test]
    fn bands_group_overlapping_intervals_and_baselines_take_no_rank() {
        let mut e = vec![
            entry(1, 1, Some(0.900), None),
            entry(2, 2, Some(0.885), None),
            entry(3, 3, Some(0.870), None),
            entry(4, 4, Some(0.800), None),
            entry(5, 5, Some(0.850), None),
        ];
        e[4].baseline = true;
        let rows = public(&e, true, false);
        assert_eq!(teams(&rows), vec![1, 2, 3, 5, 4]);
        // 0.900±0.01 overlaps 0.885±0.01, which overlaps 0.870±0.01: one band, chained.
        assert_eq!(rows.iter().map(|r| r.band).collect::<Vec<_>>(), vec![Some(1), Some(1), Some(1), None, Some(2)]);
        assert_eq!(rows.iter().map(|r| r.rank).collect::<Vec<_>>(), vec![Some(1), Some(2), Some(3), None, Some(4)]);
    }

    #[test]
    fn private_board_uses_selections_or_the_best_public_and_shows_the_shakeup() {
        let mut e = vec![
            entry(1, 1, Some(0.90), Some(0.70)),
            entry(2, 1, Some(0.80), Some(0.85)),
            entry(3, 2, Some(0.85), Some(0.80)),
            entry(4, 3, Some(0.70), Some(0.75)),
        ];
        // Team 1 selects nothing: its best public (submission 1, private 0.70) counts.
        let rows = private(&e, true, false);
        assert_eq!(teams(&rows), vec![2, 3, 1]);
        assert_eq!(rows[2].submission_id, 1);
        assert_eq!(
            rows.iter().map(|r| (r.public_rank, r.shakeup)).collect::<Vec<_>>(),
            vec![(Some(2), Some(1)), (Some(3), Some(1)), (Some(1), Some(-2))]
        );
        // Team 1 selects both: the better private one counts.
        e[0].selected = true;
        e[1].selected = true;
        let rows = private(&e, true, false);
        assert_eq!(teams(&rows), vec![1, 2, 3]);
        assert_eq!((rows[0].submission_id, rows[0].score), (2, Some(0.85)));
    }

    #[test]
    fn finals_are_the_selection_or_the_default_and_committed_ones_are_the_only_candidates() {
        let mut e = vec![
            entry(1, 1, Some(0.90), Some(0.70)),
            entry(2, 1, Some(0.80), Some(0.85)),
            entry(3, 2, Some(0.85), Some(0.80)),
            entry(4, 3, None, Some(0.99)),
        ];
        e[1].selected = true;
        // Team 3's only entry has no public score: it is still its default, as the public board
        // still lists the team.
        assert_eq!(
            finals(&e, true, false),
            vec![
                Final { team: 1, submissions: vec![2], chosen: true },
                Final { team: 2, submissions: vec![3], chosen: false },
                Final { team: 3, submissions: vec![4], chosen: false }
            ]
        );
        // Selecting otherwise after the commit changes nothing; a team with nothing committed
        // has no row.
        e[1].selected = false;
        e[0].selected = true;
        let committed: rustc_hash::FxHashSet<i64> = [2, 3].into_iter().collect();
        let rows = private_from(&e, true, false, Some(&committed));
        assert_eq!(teams(&rows), vec![1, 2]);
        assert_eq!((rows[0].submission_id, rows[0].score), (2, Some(0.85)));
        let uncommitted = private(&e, true, false);
        let team_1 = uncommitted.iter().find(|r| r.team_id == 1).unwrap();
        assert_eq!(team_1.submission_id, 1, "uncommitted: team 1's selection now counts");
    }

    #[test]
    fn the_final_ranking_combines_points_and_judges_scores() {
        let e = vec![
            entry(1, 1, Some(0.9), Some(0.90)),
            entry(2, 2, Some(0.8), Some(0.80)),
            entry(3, 3, Some(0.7), Some(0.70)),
        ];
        let board = private(&e, true, false);
        let mut rubric = BTreeMap::new();
        rubric.insert(1, vec![40.0, 60.0]);
        rubric.insert(2, vec![100.0]);
        let rows = final_ranking(&board, 2, &rubric, 0.5);
        // Team 1: points 100, mean 50 → 75; team 2: points 0, mean 100 → 50. Team 3 is not a finalist.
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].team_id, rows[0].combined, rows[0].rank), (1, Some(75.0), Some(1)));
        assert_eq!((rows[1].team_id, rows[1].points, rows[1].combined), (2, 0.0, Some(50.0)));
        // Lower is better: the best (lowest) score still gets 100 points.
        let board = private(&e, false, false);
        let rows = final_ranking(&board, 3, &BTreeMap::new(), 0.3);
        assert_eq!(rows.iter().map(|r| r.team_id).collect::<Vec<_>>(), vec![3, 2, 1]);
        let points: Vec<f64> = rows.iter().map(|r| r.points).collect();
        assert!(
            (points[0] - 100.0).abs() < 1e-9 && (points[1] - 50.0).abs() < 1e-9 && points[2].abs() < 1e-9,
            "{points:?}"
        );
        assert!(rows.iter().all(|r| r.combined.is_none() && r.rank.is_none()), "nobody scored by the judges yet");
    }

    #[test]
    fn the_ladder_shows_only_released_scores() {
        let mut e = vec![entry(1, 1, Some(0.70), None), entry(2, 1, Some(0.71), None)];
        e[1].released = false;
        assert_eq!(public(&e, true, true)[0].score, Some(0.70));
        assert_eq!(public(&e, true, false)[0].score, Some(0.71));
        assert!(ladder_releases(Some(0.70), None, None, true));
        assert!(!ladder_releases(None, None, None, true));
        assert!(!ladder_releases(Some(0.71), Some(0.70), Some(0.02), true));
        assert!(ladder_releases(Some(0.73), Some(0.70), Some(0.02), true));
        assert!(ladder_releases(Some(0.67), Some(0.70), Some(0.02), false));
    }
}

/// A row of the final ranking: the private board combined with the judges' scores.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FinalRow {
    pub team_id: i64,
    pub team: String,
    pub private_rank: u32,
    pub score: f64,
    /// The private score scaled to 0–100 among the finalists (best 100, worst 0).
    pub points: f64,
    #[schema(required = true)]
    pub rubric_mean: Option<f64>,
    pub judges: usize,
    /// `None` until a judge has scored the team.
    #[schema(required = true)]
    pub combined: Option<f64>,
    /// `None` while `combined` is.
    #[schema(required = true)]
    pub rank: Option<u32>,
}

/// The final ranking: the top `finalists` teams of the private board (baselines and undefined
/// scores left out), each combined as `(1 − weight) × points + weight × mean judges' score`.
/// Ties on the combined score keep the private board's order; teams not scored yet come last.
pub fn final_ranking(
    private: &[Row],
    finalists: usize,
    rubric: &BTreeMap<i64, Vec<f64>>,
    weight: f64,
) -> Vec<FinalRow> {
    let chosen: Vec<&Row> =
        private.iter().filter(|r| !r.baseline && r.score.is_some() && r.rank.is_some()).take(finalists).collect();
    let scores: Vec<f64> = chosen.iter().filter_map(|r| r.score).collect();
    let (lo, hi) = scores.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), s| (a.min(*s), b.max(*s)));
    // The board is sorted best first, so the first finalist's score is the best whichever way
    // the metric points.
    let best = scores.first().copied().unwrap_or(0.0);
    let mut rows: Vec<FinalRow> = chosen
        .iter()
        .map(|r| {
            let score = r.score.unwrap_or(f64::NAN);
            let points = if hi > lo { 100.0 * (1.0 - (score - best).abs() / (hi - lo)) } else { 100.0 };
            let given = rubric.get(&r.team_id).map_or(&[][..], Vec::as_slice);
            let rubric_mean = (!given.is_empty()).then(|| given.iter().sum::<f64>() / given.len() as f64);
            FinalRow {
                team_id: r.team_id,
                team: r.team.clone(),
                private_rank: r.rank.unwrap_or(0),
                score,
                points,
                rubric_mean,
                judges: given.len(),
                combined: rubric_mean.map(|m| (1.0 - weight) * points + weight * m),
                rank: None,
            }
        })
        .collect();
    rows.sort_by(|a, b| match (a.combined, b.combined) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.private_rank.cmp(&b.private_rank)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.private_rank.cmp(&b.private_rank),
    });
    for (i, r) in rows.iter_mut().enumerate() {
        if r.combined.is_some() {
            r.rank = Some(i as u32 + 1);
        }
    }
    rows
}
