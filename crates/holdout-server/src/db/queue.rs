//! The scoring queue: the `submissions` table's `status` column (`queued` → `scoring` →
//! `scored`/`invalid`/`failed`) with the claim's lease (`lease_token`, `lease_until`). Each
//! state change is written with its audit entry in one transaction.
//!
//! Correct across processes: a claim picks the oldest row that is `queued` or `scoring` with an
//! expired lease and takes it with a guarded `UPDATE` inside a write transaction (SQLite's
//! `BEGIN IMMEDIATE` holds the database's write lock from the start, PostgreSQL's advisory
//! write lock likewise, and the row is taken `FOR UPDATE SKIP LOCKED` there). Renewal and recording
//! are guarded on the claim's token, so a worker whose lease was taken writes nothing.

use sqlx::{AnyPool, Row};

use super::{DbError, append, begin, receipts};
use crate::audit::{Entry, Event};

/// A claimed submission, with what scoring it needs from its contest and phase.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub contest: String,
    pub team: i64,
    pub team_name: String,
    pub phase: String,
    pub board: String,
    pub sha256: String,
    /// This claim's attempt (1 for the first).
    pub attempts: i64,
    /// The claim's lease token: only its holder renews the lease or records a result.
    pub lease: String,
    /// The row was `scoring` under an expired lease (its worker died or stalled).
    pub reclaimed: bool,
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
    /// `invalid` or `failed`, with the message (English) and an invalid file's problems (JSON).
    Status { status: &'a str, message: &'a str, problems: Option<&'a str> },
}

/// Claims the oldest submission that is queued or whose lease expired by `now` (→ `scoring`,
/// one more attempt, lease `token` until `until`), with the audit event `event(&job)`.
pub async fn claim(
    pool: &AnyPool,
    now: &str,
    until: &str,
    token: &str,
    event: impl Fn(&Job) -> Event,
) -> Result<Option<Job>, DbError> {
    // Which rows are claimable, said alike by every statement: queued, or scoring under an
    // expired (or missing) lease.
    macro_rules! claimable {
        () => {
            "SELECT s.id, s.status, c.name AS contest, s.team_id, t.name AS team_name, s.phase, p.board, s.sha256, CAST(c.ladder AS INTEGER) AS ladder, c.bootstrap_seed \
             FROM submissions s JOIN contests c ON c.id = s.contest_id JOIN teams t ON t.id = s.team_id \
             JOIN phases p ON p.contest_id = s.contest_id AND p.name = s.phase \
             WHERE (s.status = 'queued' OR (s.status = 'scoring' AND (s.lease_until IS NULL OR s.lease_until <= $1))) \
             ORDER BY s.id LIMIT 1"
        };
    }
    // An idle worker polls: look without the write lock first, so idle workers on many
    // machines do not queue behind each other's write transactions for nothing.
    let any: Option<i64> = sqlx::query_scalar(
        "SELECT s.id FROM submissions s WHERE (s.status = 'queued' OR (s.status = 'scoring' AND \
         (s.lease_until IS NULL OR s.lease_until <= $1))) LIMIT 1",
    )
    .bind(now)
    .fetch_optional(pool)
    .await?;
    if any.is_none() {
        return Ok(None);
    }
    let mut tx = begin(pool).await?;
    // PostgreSQL: the row is locked and skipped by other claimers. Every write transaction
    // holds the write lock (`db::begin`) anyway, since the claim's audit entry must be
    // appended one at a time; the row lock keeps the claim right on its own.
    let select = match super::backend(pool) {
        super::Backend::Sqlite => claimable!(),
        super::Backend::Postgres => concat!(claimable!(), " FOR UPDATE OF s SKIP LOCKED"),
    };
    let row = sqlx::query(select).bind(now).fetch_optional(&mut *tx).await?;
    let Some(r) = row else { return Ok(None) };
    let id: i64 = r.get("id");
    let attempts: Option<i64> = sqlx::query_scalar(
        "UPDATE submissions SET status = 'scoring', attempts = attempts + 1, lease_token = $1, lease_until = $2 \
         WHERE id = $3 AND (status = 'queued' OR (status = 'scoring' AND (lease_until IS NULL OR lease_until <= $4))) \
         RETURNING attempts",
    )
    .bind(token)
    .bind(until)
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(attempts) = attempts else { return Ok(None) };
    let job = Job {
        id,
        contest: r.get("contest"),
        team: r.get("team_id"),
        team_name: r.get("team_name"),
        phase: r.get("phase"),
        board: r.get("board"),
        sha256: r.get("sha256"),
        attempts,
        lease: token.to_owned(),
        reclaimed: r.get::<String, _>("status") == "scoring",
        ladder: crate::db::flag(&r, "ladder"),
        seed: r.get("bootstrap_seed"),
    };
    append(&mut tx, event(&job)).await?;
    tx.commit().await?;
    Ok(Some(job))
}

/// Extends a claim's lease to `until`; `false` if the claim is gone (the lease expired and
/// another worker took the row, or a result was recorded).
pub async fn renew(pool: &AnyPool, id: i64, token: &str, until: &str) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE submissions SET lease_until = $1 WHERE id = $2 AND status = 'scoring' AND lease_token = $3",
    )
    .bind(until)
    .bind(id)
    .bind(token)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// The team's released, scored, not disqualified submissions in a phase other than `except`,
/// oldest first: (file, public score). The Ladder's candidates for the team's best.
pub async fn released(
    pool: &AnyPool,
    team: i64,
    phase: &str,
    except: i64,
) -> Result<Vec<(String, Option<f64>)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT sha256, public_score FROM submissions WHERE team_id = $1 AND phase = $2 AND status = 'scored' \
         AND released = TRUE AND disqualified_reason IS NULL AND id <> $3 ORDER BY id",
    )
    .bind(team)
    .bind(phase)
    .bind(except)
    .fetch_all(pool)
    .await?)
}

/// Records a claim's result, if the row is still `scoring` under the claim's lease `token`, with the audit event that
/// `event(previous)` makes from the scores of an earlier scoring (a rescore), and for a score
/// the receipt `receipt(that audit entry, whether the contest's private board is revealed)`
/// makes (`None`: none); `false` if the claim is gone (nothing written).
pub async fn record(
    pool: &AnyPool,
    id: i64,
    token: &str,
    now: &str,
    result: &Recorded<'_>,
    event: impl FnOnce(Option<(Option<f64>, Option<f64>)>) -> Event,
    receipt: impl FnOnce(&Entry, bool) -> Option<String>,
) -> Result<bool, DbError> {
    let mut tx = begin(pool).await?;
    let previous: Option<(Option<f64>, Option<f64>)> =
        sqlx::query_as("SELECT public_score, private_score FROM submissions WHERE id = $1 AND scored_at IS NOT NULL")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let done = match *result {
        Recorded::Scored { public, public_ci, private, private_ci, scores, released } => sqlx::query(
            "UPDATE submissions SET status = 'scored', message = '', problems = NULL, scored_at = $1, public_score = $2, public_low = $3, \
             public_high = $4, private_score = $5, private_low = $6, private_high = $7, scores = $8, released = $9, \
             lease_token = NULL, lease_until = NULL WHERE id = $10 AND status = 'scoring' AND lease_token = $11",
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
        .bind(id)
        .bind(token),
        Recorded::Status { status, message, problems } => sqlx::query(
            "UPDATE submissions SET status = $1, message = $2, problems = $3, lease_token = NULL, lease_until = NULL \
                 WHERE id = $4 AND status = 'scoring' AND lease_token = $5",
        )
        .bind(status)
        .bind(message)
        .bind(problems)
        .bind(id)
        .bind(token),
    }
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !done {
        return Ok(false);
    }
    let entry = append(&mut tx, event(previous)).await?;
    if matches!(result, Recorded::Scored { .. }) {
        let revealed = receipts::revealed(&mut tx, id).await?;
        if let Some(body) = receipt(&entry, revealed) {
            receipts::insert(&mut tx, id, now, entry.seq, &body).await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// How many submissions are queued or being scored.
pub async fn busy(pool: &AnyPool) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM submissions WHERE status IN ('queued', 'scoring')")
        .fetch_one(pool)
        .await?)
}

/// How many submissions are in each status (every status, zeros included), for `/metrics`.
pub async fn depth(pool: &AnyPool) -> Result<Vec<(&'static str, i64)>, DbError> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM submissions GROUP BY status").fetch_all(pool).await?;
    Ok(["queued", "scoring", "scored", "invalid", "failed"]
        .into_iter()
        .map(|s| (s, rows.iter().find(|r| r.0 == s).map_or(0, |r| r.1)))
        .collect())
}

/// Queues every scored submission of a contest for scoring again (rescore-all), each with a
/// `submission.rescore` audit entry (`rescore(id)`) and the whole with `all` — one
/// transaction. Returns the queued ids and the `all` entry.
pub async fn requeue_scored(
    pool: &AnyPool,
    contest: i64,
    rescore: impl Fn(i64) -> Event,
    all: impl FnOnce(usize) -> Event,
) -> Result<(Vec<i64>, crate::audit::Entry), DbError> {
    let mut tx = super::begin(pool).await?;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM submissions WHERE contest_id = $1 AND status = 'scored' ORDER BY id")
            .bind(contest)
            .fetch_all(&mut *tx)
            .await?;
    for &id in &ids {
        sqlx::query("UPDATE submissions SET status = 'queued', attempts = 0 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        super::append(&mut tx, rescore(id)).await?;
    }
    let entry = super::append(&mut tx, all(ids.len())).await?;
    tx.commit().await?;
    Ok((ids, entry))
}

/// Appends one audit entry on its own.
pub async fn audit(pool: &AnyPool, event: Event) -> Result<crate::audit::Entry, DbError> {
    let mut tx = super::begin(pool).await?;
    let entry = super::append(&mut tx, event).await?;
    tx.commit().await?;
    Ok(entry)
}
