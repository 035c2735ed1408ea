//! The `contests` table as the service's loaders read it, and the reveal.

use sqlx::SqlitePool;

use super::receipts::{self, ScoredRow};
use super::{DbError, append, begin};
use crate::audit::{Entry, Event};

/// A contest's id, published manifest (JSON text) and receipt key (public, hex; `None` for a
/// contest created before receipts), by name.
pub async fn by_name(pool: &SqlitePool, name: &str) -> Result<Option<(i64, String, Option<String>)>, DbError> {
    Ok(sqlx::query_as("SELECT id, manifest, receipt_key FROM contests WHERE name = ?")
        .bind(name)
        .fetch_optional(pool)
        .await?)
}

/// A contest's id, by name.
pub async fn id(pool: &SqlitePool, name: &str) -> Result<Option<i64>, DbError> {
    Ok(sqlx::query_scalar("SELECT id FROM contests WHERE name = ?").bind(name).fetch_optional(pool).await?)
}

/// A new contest's row.
#[derive(Debug)]
pub struct NewContest<'a> {
    pub name: &'a str,
    /// The published `MANIFEST.json`.
    pub manifest: &'a str,
    pub commitment: &'a str,
    pub daily: i64,
    pub total: i64,
    pub final_selections: i64,
    pub team_max_size: i64,
    pub max_upload_bytes: i64,
    pub bootstrap_seed: i64,
    /// The public half of the contest's receipt key, hex.
    pub receipt_key: &'a str,
    pub created_at: &'a str,
}

/// A new phase's row: name, Chinese and English titles, start, end (RFC 3339 UTC), board.
pub type NewPhase<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str);

/// Inserts a contest and its phases (in order) with the audit events, in one transaction;
/// returns the contest's id.
pub async fn insert(
    pool: &SqlitePool,
    c: &NewContest<'_>,
    phases: &[NewPhase<'_>],
    events: Vec<Event>,
) -> Result<i64, DbError> {
    let mut tx = begin(pool).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO contests (name, manifest, commitment, daily_submissions, total_submissions, final_selections, \
         team_max_size, max_upload_bytes, bootstrap_seed, receipt_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         RETURNING id",
    )
    .bind(c.name)
    .bind(c.manifest)
    .bind(c.commitment)
    .bind(c.daily)
    .bind(c.total)
    .bind(c.final_selections)
    .bind(c.team_max_size)
    .bind(c.max_upload_bytes)
    .bind(c.bootstrap_seed)
    .bind(c.receipt_key)
    .bind(c.created_at)
    .fetch_one(&mut *tx)
    .await?;
    for (position, &(name, zh, en, start, end, board)) in phases.iter().enumerate() {
        sqlx::query(
            "INSERT INTO phases (contest_id, position, name, zh, en, starts_at, ends_at, board) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(position as i64)
        .bind(name)
        .bind(zh)
        .bind(en)
        .bind(start)
        .bind(end)
        .bind(board)
        .execute(&mut *tx)
        .await?;
    }
    for event in events {
        append(&mut tx, event).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Reveals a contest's private board at `now` with the audit event, and issues a receipt for
/// every scored submission — `issue(the reveal's audit entry, submission)`, `None` for none —
/// all in one transaction. Returns how many receipts were issued, or `None` (nothing written)
/// if it was revealed already.
pub async fn reveal(
    pool: &SqlitePool,
    contest: i64,
    now: &str,
    event: Event,
    issue: impl Fn(&Entry, &ScoredRow) -> Option<String>,
) -> Result<Option<usize>, DbError> {
    let mut tx = begin(pool).await?;
    let done = sqlx::query("UPDATE contests SET revealed_at = ? WHERE id = ? AND revealed_at IS NULL")
        .bind(now)
        .bind(contest)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Ok(None);
    }
    let entry = append(&mut tx, event).await?;
    let mut issued = 0;
    for row in receipts::scored(&mut tx, contest).await? {
        if let Some(body) = issue(&entry, &row) {
            receipts::insert(&mut tx, row.id, now, entry.seq, &body).await?;
            issued += 1;
        }
    }
    tx.commit().await?;
    Ok(Some(issued))
}

/// A contest's id and its first phase's name, by contest name.
pub async fn first_phase(pool: &SqlitePool, contest: &str) -> Result<Option<(i64, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT c.id, p.name FROM contests c JOIN phases p ON p.contest_id = c.id WHERE c.name = ? ORDER BY p.position LIMIT 1",
    )
    .bind(contest)
    .fetch_optional(pool)
    .await?)
}

/// Queues a baseline's file as team `team_name` (a marked baseline team, created if missing)
/// with the audit event `event(submission id)`, in one transaction; returns the submission id.
#[expect(clippy::too_many_arguments, reason = "one row's columns")]
pub async fn insert_baseline(
    pool: &SqlitePool,
    contest_id: i64,
    team_name: &str,
    phase: &str,
    sha256: &str,
    bytes: i64,
    description: &str,
    now: &str,
    event: impl FnOnce(i64) -> Event,
) -> Result<i64, DbError> {
    let mut tx = begin(pool).await?;
    let team: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE contest_id = ? AND name = ?")
        .bind(contest_id)
        .bind(team_name)
        .fetch_optional(&mut *tx)
        .await?;
    let team = match team {
        Some(t) => t,
        None => {
            sqlx::query_scalar(
                "INSERT INTO teams (contest_id, name, baseline, created_at) VALUES (?, ?, TRUE, ?) RETURNING id",
            )
            .bind(contest_id)
            .bind(team_name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    let up = super::submissions::NewUpload {
        contest: contest_id,
        team,
        user: None,
        phase,
        sha256,
        bytes,
        description,
        status: "queued",
        message: "",
        problems: None,
        created_at: now,
    };
    let id = super::submissions::insert(&mut tx, &up).await?;
    append(&mut tx, event(id)).await?;
    tx.commit().await?;
    Ok(id)
}
