//! The scoring queue: the `submissions` table's `status` column (`queued` → `scoring` →
//! `scored`/`invalid`/`failed`). Each state change is written with its audit entry in one
//! transaction.

use sqlx::{Row, SqlitePool};

use super::{DbError, append, begin};
use crate::audit::Event;

/// A claimed submission, with what scoring it needs from its contest and phase.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub contest: String,
    pub team: i64,
    pub phase: String,
    pub board: String,
    pub sha256: String,
    /// This claim's attempt (1 for the first).
    pub attempts: i64,
    pub ladder: bool,
    pub seed: i64,
}

/// What a worker records for a claim.
#[derive(Debug, Clone)]
pub enum Recorded<'a> {
    /// The primary metric's public and private scores with their intervals, every score as
    /// JSON text, and whether the Ladder released the public score.
    Scored {
        public: Option<f64>,
        public_ci: Option<(f64, f64)>,
        private: Option<f64>,
        private_ci: Option<(f64, f64)>,
        scores: &'a str,
        released: bool,
    },
    /// `invalid` or `failed`, with the message.
    Status { status: &'a str, message: &'a str },
}

/// Puts rows left `scoring` back in the queue, each with the audit event `event(id)`; returns
/// their ids.
pub async fn requeue_scoring(pool: &SqlitePool, event: impl Fn(i64) -> Event) -> Result<Vec<i64>, DbError> {
    let mut tx = begin(pool).await?;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM submissions WHERE status = 'scoring' ORDER BY id")
        .fetch_all(&mut *tx)
        .await?;
    for id in &ids {
        sqlx::query("UPDATE submissions SET status = 'queued' WHERE id = ?").bind(id).execute(&mut *tx).await?;
        append(&mut tx, event(*id)).await?;
    }
    tx.commit().await?;
    Ok(ids)
}

/// Claims the oldest queued submission (→ `scoring`, one more attempt), with the audit event
/// `event(&job)`.
pub async fn claim(pool: &SqlitePool, event: impl Fn(&Job) -> Event) -> Result<Option<Job>, DbError> {
    let mut tx = begin(pool).await?;
    let row = sqlx::query(
        "SELECT s.id, c.name AS contest, s.team_id, s.phase, p.board, s.sha256, s.attempts, c.ladder, c.bootstrap_seed \
         FROM submissions s JOIN contests c ON c.id = s.contest_id \
         JOIN phases p ON p.contest_id = s.contest_id AND p.name = s.phase \
         WHERE s.status = 'queued' ORDER BY s.id LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let job = Job {
        id: r.get("id"),
        contest: r.get("contest"),
        team: r.get("team_id"),
        phase: r.get("phase"),
        board: r.get("board"),
        sha256: r.get("sha256"),
        attempts: r.get::<i64, _>("attempts") + 1,
        ladder: r.get("ladder"),
        seed: r.get("bootstrap_seed"),
    };
    sqlx::query("UPDATE submissions SET status = 'scoring', attempts = ? WHERE id = ?")
        .bind(job.attempts)
        .bind(job.id)
        .execute(&mut *tx)
        .await?;
    append(&mut tx, event(&job)).await?;
    tx.commit().await?;
    Ok(Some(job))
}

/// The team's released, scored, not disqualified submissions in a phase other than `except`,
/// oldest first: (file, public score). The Ladder's candidates for the team's best.
pub async fn released(
    pool: &SqlitePool,
    team: i64,
    phase: &str,
    except: i64,
) -> Result<Vec<(String, Option<f64>)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT sha256, public_score FROM submissions WHERE team_id = ? AND phase = ? AND status = 'scored' \
         AND released = TRUE AND disqualified_reason IS NULL AND id <> ? ORDER BY id",
    )
    .bind(team)
    .bind(phase)
    .bind(except)
    .fetch_all(pool)
    .await?)
}

/// Records a claim's result, if the row is still `scoring`, with the audit event that
/// `event(previous)` makes from the scores of an earlier scoring (a rescore); `false` if the
/// claim is gone (nothing written).
pub async fn record(
    pool: &SqlitePool,
    id: i64,
    now: &str,
    result: &Recorded<'_>,
    event: impl FnOnce(Option<(Option<f64>, Option<f64>)>) -> Event,
) -> Result<bool, DbError> {
    let mut tx = begin(pool).await?;
    let previous: Option<(Option<f64>, Option<f64>)> =
        sqlx::query_as("SELECT public_score, private_score FROM submissions WHERE id = ? AND scored_at IS NOT NULL")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let done = match *result {
        Recorded::Scored { public, public_ci, private, private_ci, scores, released } => sqlx::query(
            "UPDATE submissions SET status = 'scored', message = '', scored_at = ?, public_score = ?, public_low = ?, \
             public_high = ?, private_score = ?, private_low = ?, private_high = ?, scores = ?, released = ? \
             WHERE id = ? AND status = 'scoring'",
        )
        .bind(now)
        .bind(public)
        .bind(public_ci.map(|c| c.0))
        .bind(public_ci.map(|c| c.1))
        .bind(private)
        .bind(private_ci.map(|c| c.0))
        .bind(private_ci.map(|c| c.1))
        .bind(scores)
        .bind(released)
        .bind(id),
        Recorded::Status { status, message } => {
            sqlx::query("UPDATE submissions SET status = ?, message = ? WHERE id = ? AND status = 'scoring'")
                .bind(status)
                .bind(message)
                .bind(id)
        }
    }
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !done {
        return Ok(false);
    }
    append(&mut tx, event(previous)).await?;
    tx.commit().await?;
    Ok(true)
}

/// How many submissions are queued or being scored.
pub async fn busy(pool: &SqlitePool) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM submissions WHERE status IN ('queued', 'scoring')")
        .fetch_one(pool)
        .await?)
}
