//! The committed final selections (`final_selections`, `selection_commitments`): the commit
//! when the last phase closes, the list rebuilt from its rows (the canonical
//! [`Document`](crate::selections::Document)), and the check the reveal makes.

use rustc_hash::FxHashSet;
use serde::Serialize;
use sqlx::{AnyConnection, AnyPool, Row};

use super::{DbError, append, begin};
use crate::audit::Event;
use crate::board::{Entry, Final};
use crate::selections::{Document, FORMAT, Selected, TeamSelection};

/// A contest's commitment, as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commitment {
    pub phase: String,
    pub closed_at: String,
    /// SHA-256 of the canonical list, hex.
    pub sha256: String,
    pub committed_at: String,
    /// The `selection.commit` audit entry.
    pub audit_seq: i64,
    /// The `board.reveal` audit entry that found the list unchanged; `None` before the reveal.
    pub verified_seq: Option<i64>,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Commit {
    /// Committed now.
    Done(Commitment),
    /// Committed before.
    Already(Commitment),
    /// Not yet: this many submissions of the phase are still queued or being scored, and a
    /// team's default (its best public submission) may be among them.
    Pending(i64),
    /// Not on a read: no team (baselines aside) submitted anything in the phase, so there is
    /// nothing to commit, and the phase's times may still be moved (a contest created with
    /// past dates, as the demo's are, is set up this way).
    Empty,
}

/// The contest's commitment, if made.
pub async fn commitment(pool: &AnyPool, contest: i64) -> Result<Option<Commitment>, DbError> {
    let mut conn = pool.acquire().await?;
    load(&mut conn, contest).await
}

async fn load(conn: &mut AnyConnection, contest: i64) -> Result<Option<Commitment>, DbError> {
    let row = sqlx::query(
        "SELECT phase, closed_at, sha256, committed_at, audit_seq, verified_seq FROM selection_commitments \
         WHERE contest_id = $1",
    )
    .bind(contest)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| Commitment {
        phase: r.get("phase"),
        closed_at: r.get("closed_at"),
        sha256: r.get("sha256"),
        committed_at: r.get("committed_at"),
        audit_seq: r.get("audit_seq"),
        verified_seq: r.get("verified_seq"),
    }))
}

/// The committed submissions' ids (empty before the commit).
pub async fn committed_ids(pool: &AnyPool, contest: i64) -> Result<FxHashSet<i64>, DbError> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT submission_id FROM final_selections WHERE contest_id = $1")
        .bind(contest)
        .fetch_all(pool)
        .await?;
    Ok(ids.into_iter().collect())
}

/// The committed list as its rows say now: the submissions' files read from `submissions`, the
/// teams' names from `teams`. `None` before the commit.
pub async fn document(pool: &AnyPool, contest: i64, name: &str) -> Result<Option<Document>, DbError> {
    let mut conn = pool.acquire().await?;
    let Some(c) = load(&mut conn, contest).await? else { return Ok(None) };
    Ok(Some(rebuild(&mut conn, contest, name, &c.phase, &c.closed_at).await?))
}

async fn rebuild(
    conn: &mut AnyConnection,
    contest: i64,
    name: &str,
    phase: &str,
    closed_at: &str,
) -> Result<Document, DbError> {
    let rows = sqlx::query(
        "SELECT f.team_id, t.name, CAST(f.chosen AS INTEGER) AS chosen, f.submission_id, s.sha256 FROM final_selections f \
         JOIN teams t ON t.id = f.team_id JOIN submissions s ON s.id = f.submission_id \
         WHERE f.contest_id = $1 ORDER BY f.team_id, f.submission_id",
    )
    .bind(contest)
    .fetch_all(&mut *conn)
    .await?;
    let mut teams: Vec<TeamSelection> = Vec::new();
    for r in &rows {
        let team: i64 = r.get("team_id");
        if teams.last().is_none_or(|t| t.team_id != team) {
            teams.push(TeamSelection {
                team_id: team,
                team: r.get("name"),
                chosen: crate::db::flag(r, "chosen"),
                submissions: vec![],
            });
        }
        if let Some(t) = teams.last_mut() {
            t.submissions.push(Selected { id: r.get("submission_id"), sha256: r.get("sha256") });
        }
    }
    Ok(Document {
        format: FORMAT.into(),
        contest: name.to_owned(),
        phase: phase.to_owned(),
        closed_at: closed_at.to_owned(),
        teams,
    })
}

/// Commits the final selections of `phase` (the last one, closed at `closed_at`) at `now`: the
/// entries of every team (disqualified teams too, so a reinstated team keeps its own) go
/// through `finals`, the result is written with the audit event `event(sha256, teams)`, all in
/// one transaction. Nothing is written while a submission of the phase is still queued or
/// being scored, or if the contest was committed before; nor, unless `always` (the reveal's
/// commit), when no team but a baseline submitted anything in the phase.
#[expect(clippy::too_many_arguments, reason = "what a commitment records")]
pub async fn commit(
    pool: &AnyPool,
    always: bool,
    contest: i64,
    name: &str,
    phase: &str,
    closed_at: &str,
    now: &str,
    finals: impl FnOnce(&[Entry]) -> Vec<Final>,
    event: impl FnOnce(&str, usize) -> Event,
) -> Result<Commit, DbError> {
    let mut tx = begin(pool).await?;
    if let Some(c) = load(&mut tx, contest).await? {
        return Ok(Commit::Already(c));
    }
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM submissions WHERE contest_id = $1 AND phase = $2 AND status IN ('queued', 'scoring')",
    )
    .bind(contest)
    .bind(phase)
    .fetch_one(&mut *tx)
    .await?;
    if pending > 0 {
        return Ok(Commit::Pending(pending));
    }
    if !always {
        let submitted: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM submissions s JOIN teams t ON t.id = s.team_id \
             WHERE s.contest_id = $1 AND s.phase = $2 AND NOT t.baseline",
        )
        .bind(contest)
        .bind(phase)
        .fetch_one(&mut *tx)
        .await?;
        if submitted == 0 {
            return Ok(Commit::Empty);
        }
    }
    let entries = super::boards::select_entries(&mut tx, contest, phase, true, None).await?;
    let chosen = finals(&entries);
    for f in &chosen {
        for id in &f.submissions {
            sqlx::query(
                "INSERT INTO final_selections (contest_id, team_id, submission_id, chosen) VALUES ($1, $2, $3, $4)",
            )
            .bind(contest)
            .bind(f.team)
            .bind(id)
            .bind(f.chosen)
            .execute(&mut *tx)
            .await?;
        }
    }
    let document = rebuild(&mut tx, contest, name, phase, closed_at).await?;
    let sha256 = document.sha256();
    let entry = append(&mut tx, event(&sha256, document.teams.len())).await?;
    sqlx::query(
        "INSERT INTO selection_commitments (contest_id, phase, closed_at, sha256, committed_at, audit_seq) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(contest)
    .bind(phase)
    .bind(closed_at)
    .bind(&sha256)
    .bind(now)
    .bind(entry.seq)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Commit::Done(Commitment {
        phase: phase.to_owned(),
        closed_at: closed_at.to_owned(),
        sha256,
        committed_at: now.to_owned(),
        audit_seq: entry.seq,
        verified_seq: None,
    }))
}

/// What the reveal found of the committed list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The list rebuilt from its rows hashes to the published hash, which its audit entry
    /// records.
    Unchanged(Commitment),
    /// Something differs: the published hash, and what was found instead.
    Changed { published: String, found: String },
    /// Nothing was committed.
    Missing,
}

/// Rebuilds the committed list inside the caller's transaction and checks it against the
/// published hash and the hash its audit entry recorded.
pub(super) async fn check(conn: &mut AnyConnection, contest: i64, name: &str) -> Result<Check, DbError> {
    let Some(c) = load(conn, contest).await? else { return Ok(Check::Missing) };
    let found = rebuild(conn, contest, name, &c.phase, &c.closed_at).await?.sha256();
    let audited: Option<(String, String)> = sqlx::query_as("SELECT action, detail FROM audit_log WHERE seq = $1")
        .bind(c.audit_seq)
        .fetch_optional(&mut *conn)
        .await?;
    let recorded = audited
        .filter(|(action, _)| action == "selection.commit")
        .and_then(|(_, detail)| serde_json::from_str::<serde_json::Value>(&detail).ok())
        .and_then(|d| d["sha256"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if found != c.sha256 {
        return Ok(Check::Changed { published: c.sha256, found });
    }
    if recorded != c.sha256 {
        return Ok(Check::Changed { published: c.sha256, found: format!("{recorded} (audit entry {})", c.audit_seq) });
    }
    Ok(Check::Unchanged(c))
}

/// Records that the reveal's audit entry `seq` checked the commitment.
pub(super) async fn verified(conn: &mut AnyConnection, contest: i64, seq: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE selection_commitments SET verified_seq = $1 WHERE contest_id = $2")
        .bind(seq)
        .bind(contest)
        .execute(conn)
        .await?;
    Ok(())
}

/// The ids of a team's selected submissions in a phase.
pub async fn selected_ids(pool: &AnyPool, team: i64, phase: &str) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM submissions WHERE team_id = $1 AND phase = $2 AND selected = TRUE ORDER BY id",
    )
    .bind(team)
    .bind(phase)
    .fetch_all(pool)
    .await?)
}

/// The status of a team's not disqualified submission in a phase, inside a transaction;
/// `None` if it is not one.
pub async fn selectable_status(
    conn: &mut AnyConnection,
    id: i64,
    team: i64,
    phase: &str,
) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT status FROM submissions WHERE id = $1 AND team_id = $2 AND phase = $3 AND disqualified_reason IS NULL",
    )
    .bind(id)
    .bind(team)
    .bind(phase)
    .fetch_optional(conn)
    .await?)
}

/// Replaces a team's selections in a phase with `ids` (inside the caller's transaction, which
/// checks them and audits it).
pub async fn set_selected(conn: &mut AnyConnection, team: i64, phase: &str, ids: &[i64]) -> Result<(), DbError> {
    sqlx::query("UPDATE submissions SET selected = FALSE WHERE team_id = $1 AND phase = $2")
        .bind(team)
        .bind(phase)
        .execute(&mut *conn)
        .await?;
    for id in ids {
        sqlx::query("UPDATE submissions SET selected = TRUE WHERE id = $1").bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}
