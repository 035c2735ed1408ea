//! Rescore-all (`holdout rescore --all CONTEST`, e.g. after a scorer fix): every scored
//! submission of a contest is queued again (each with a `submission.rescore` audit entry, the
//! whole with `contest.rescore_all`), scored by the workers — whose `submission.score` entries
//! record each score's previous value and whether it changed —, and the boards' ranks before
//! and after are compared and published in the audit log (`contest.rescore_ranks`).

use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::json;

use crate::audit::Event;
use crate::board::{self, Row};
use crate::db::{self, DbError};
use crate::state::AppState;

/// What a rescore-all did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RescoreAll {
    pub contest: String,
    /// Submissions scored again.
    pub submissions: usize,
    /// The `contest.rescore_all` audit entry.
    pub started_seq: i64,
    /// The `contest.rescore_ranks` audit entry that published the rank changes.
    pub published_seq: i64,
    /// Scores that changed, in log order.
    pub changed: Vec<crate::integrity::RescoreLine>,
    /// Every board row whose rank, score or submission changed.
    pub ranks: Vec<RankChange>,
}

/// A team's row on one board before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankChange {
    pub phase: String,
    /// `public` or `private`.
    pub board: &'static str,
    pub team_id: i64,
    pub team: String,
    pub old_rank: Option<u32>,
    pub new_rank: Option<u32>,
    pub old_score: Option<f64>,
    pub new_score: Option<f64>,
    pub old_submission: Option<i64>,
    pub new_submission: Option<i64>,
}

/// Every phase's public and private board: (phase, `public`/`private`, rows).
pub type Boards = Vec<(String, &'static str, Vec<Row>)>;

async fn boards(state: &AppState, contest: i64, greater: bool) -> Result<Boards, DbError> {
    let phases = db::integrity::phase_names(&state.pool, contest).await?;
    let settings = db::contests::settings(&state.pool, contest).await?;
    let commitment = db::selections::commitment(&state.pool, contest).await?;
    let mut out = Vec::new();
    for phase in phases {
        let entries = db::boards::entries(&state.pool, contest, &phase, None).await?;
        let finals = match &commitment {
            Some(cm) if cm.phase == phase => Some(db::selections::committed_ids(&state.pool, contest).await?),
            _ => None,
        };
        out.push((phase.clone(), "public", board::public(&entries, greater, settings.ladder)));
        out.push((phase, "private", board::private_from(&entries, greater, settings.ladder, finals.as_ref())));
    }
    Ok(out)
}

/// The rows that differ between two sets of the same boards.
pub fn rank_changes(before: &Boards, after: &Boards) -> Vec<RankChange> {
    let mut out = Vec::new();
    for ((phase, board, old), (_, _, new)) in before.iter().zip(after) {
        let old_by: FxHashMap<i64, &Row> = old.iter().map(|r| (r.team_id, r)).collect();
        let new_by: FxHashMap<i64, &Row> = new.iter().map(|r| (r.team_id, r)).collect();
        let mut teams: Vec<i64> = old_by.keys().chain(new_by.keys()).copied().collect();
        teams.sort_unstable();
        teams.dedup();
        for team in teams {
            let (o, n) = (old_by.get(&team), new_by.get(&team));
            let same = match (o, n) {
                (Some(o), Some(n)) => {
                    o.rank == n.rank
                        && o.submission_id == n.submission_id
                        && o.score.map(f64::to_bits) == n.score.map(f64::to_bits)
                }
                _ => false,
            };
            if same {
                continue;
            }
            let name = o.or(n).map(|r| r.team.clone()).unwrap_or_default();
            out.push(RankChange {
                phase: phase.clone(),
                board,
                team_id: team,
                team: name,
                old_rank: o.and_then(|r| r.rank),
                new_rank: n.and_then(|r| r.rank),
                old_score: o.and_then(|r| r.score),
                new_score: n.and_then(|r| r.score),
                old_submission: o.map(|r| r.submission_id),
                new_submission: n.map(|r| r.submission_id),
            });
        }
    }
    out
}

/// Rescores every scored submission of contest `name` by `actor` and waits for the workers
/// (this process's or another's on the same data directory) to finish. `None`: no such contest.
pub async fn rescore_all(state: &AppState, name: &str, actor: &str) -> Result<Option<RescoreAll>, DbError> {
    let Some(c) = state.contest(name).await? else { return Ok(None) };
    let greater = c.primary.greater_is_better();
    let before = boards(state, c.id, greater).await?;
    let now = state.now_text();
    let (ids, started) = {
        db::queue::requeue_scored(
            &state.pool,
            c.id,
            |id| Event {
                at: now.clone(),
                actor: actor.to_owned(),
                action: "submission.rescore".into(),
                subject: format!("submission:{id}"),
                detail: json!({"all": true}).to_string(),
            },
            |n| Event {
                at: now.clone(),
                actor: actor.to_owned(),
                action: "contest.rescore_all".into(),
                subject: format!("contest:{name}"),
                detail: json!({"submissions": n}).to_string(),
            },
        )
        .await?
    };
    state.invalidate(c.id);
    state.queued();
    crate::worker::drain(state).await?;
    state.invalidate(c.id);
    let after = boards(state, c.id, greater).await?;
    let ranks = rank_changes(&before, &after);
    let changed: Vec<crate::integrity::RescoreLine> = db::integrity::changed_scores(&state.pool, c.id)
        .await?
        .into_iter()
        .filter(|x| x.seq > started.seq)
        .map(|x| {
            let d: serde_json::Value = serde_json::from_str(&x.detail).unwrap_or_default();
            crate::integrity::RescoreLine {
                seq: x.seq,
                at: x.at,
                submission_id: x.submission,
                team: x.team,
                previous_public: d["previous"]["public"].as_f64(),
                previous_private: d["previous"]["private"].as_f64(),
                public: d["public"].as_f64(),
                private: d["private"].as_f64(),
            }
        })
        .collect();
    let published = db::queue::audit(
        &state.pool,
        Event {
            at: state.now_text(),
            actor: actor.to_owned(),
            action: "contest.rescore_ranks".into(),
            subject: format!("contest:{name}"),
            detail: json!({"rescore_all_seq": started.seq, "submissions": ids.len(), "scores_changed": changed.len(), "ranks": ranks})
                .to_string(),
        },
    )
    .await?;
    state.invalidate(c.id);
    Ok(Some(RescoreAll {
        contest: name.to_owned(),
        submissions: ids.len(),
        started_seq: started.seq,
        published_seq: published.seq,
        changed,
        ranks,
    }))
}
