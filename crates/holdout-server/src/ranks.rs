//! Rank uncertainty of a private board: each ranked team's final submission scored on the
//! contest's bootstrap replicates (the same row draws for every team: `holdout_score`'s
//! stratified bootstrap with the contest's seed, the draws every interval of the contest uses),
//! then [`holdout_score::ranking::rank_uncertainty`]: P(rank = 1), the 95 % rank interval, and
//! the teams not distinguishable from the leader at α = 0.05 (one-sided paired bootstrap
//! p-values `(b + 1)/(R + 1)`, `b` the replicates in which the team ranks at least as well as
//! the leader, Holm's step-down correction over the other teams).
//!
//! Blocking (reads the stored files, scores every replicate): call it off the async threads.

use std::path::Path;

use holdout_score::bootstrap::replicate_scores;
use holdout_score::ranking::{RankSettings, RankUncertainty, rank_uncertainty};
use holdout_score::scorer::Scorer;
use serde::{Deserialize, Serialize};

use crate::state::Contest;

/// The procedure, as the API and the pages name it.
pub const PROCEDURE: &str = "paired row bootstrap (the contest's seed, the same draws for every team); \
P(rank = 1) with shared firsts split; 95 % rank interval = inverted-CDF quantiles of the replicate ranks; \
not distinguishable from the leader = not rejected by one-sided paired bootstrap tests p = (b + 1)/(R + 1) \
with Holm's step-down correction over the other teams at alpha = 0.05";

/// One ranked row of the board: what is scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub team_id: i64,
    pub team: String,
    pub submission_id: i64,
    pub sha256: String,
    /// The board's score (the point estimate).
    pub score: Option<f64>,
}

/// What a result is computed from; its SHA-256 keys the kept result.
#[derive(Debug, Serialize)]
pub struct Inputs<'a> {
    pub format: &'static str,
    pub metric: &'a str,
    pub subset: &'a str,
    pub seed: i64,
    pub replicates: usize,
    pub rows: &'a [Input],
}

impl Inputs<'_> {
    pub fn sha256(&self) -> String {
        crate::auth::digest_bytes(&serde_json::to_vec(self).unwrap_or_default())
    }
}

/// The private subset of a phase's board (`private`, or `a_private`… with A/B boards).
pub fn private_subset(contest: &Contest, board: &str) -> Result<String, String> {
    let solution = contest.solution()?;
    let subsets = solution.subsets();
    let has_boards = subsets.iter().any(|s| s.name.starts_with("a_") || s.name.starts_with("b_"));
    Ok(contest.subset_names(board, has_boards).1)
}

/// Every input's replicate scores on `subset` (`result[team][replicate]`), one file at a time.
pub fn replicates(
    contest: &Contest,
    dir: &Path,
    rows: &[Input],
    subset: &str,
    seed: i64,
    count: usize,
) -> Result<Vec<Vec<Option<f64>>>, String> {
    let solution = contest.solution()?;
    let ranges = solution.ranges();
    let mask = solution
        .subsets()
        .into_iter()
        .find(|s| s.name == subset)
        .map(|s| s.strata)
        .ok_or_else(|| format!("the solution has no subset `{subset}`"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let predictions =
            crate::worker::read_scored_predictions(contest, &solution, &crate::store::path(dir, &row.sha256))
                .map_err(|e| format!("submission {}: {e}", row.submission_id))?;
        let scorer = Scorer::new(&solution.labels, &solution.truth, &predictions, &ranges);
        out.push(replicate_scores(&scorer, contest.primary, mask, count, seed as u64));
    }
    Ok(out)
}

/// The board's rank uncertainty from its rows' replicate scores.
pub fn compute(contest: &Contest, rows: &[Input], replicates: &[Vec<Option<f64>>]) -> RankUncertainty {
    let points: Vec<Option<f64>> = rows.iter().map(|r| r.score).collect();
    rank_uncertainty(&points, replicates, contest.primary.greater_is_better(), RankSettings::default())
}
