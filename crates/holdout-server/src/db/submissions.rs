//! Submissions as uploads: the quota's counts and the guarded insert that keeps the quota and
//! the duplicate rule whatever number of processes upload at once.

use sqlx::{AnyConnection, AnyPool, Row};

use super::{DbError, append, begin};
use crate::audit::Event;

/// Statuses that count against the quota: invalid files and holdout's failures do not.
pub const CHARGED: &str = "('queued', 'scoring', 'scored')";

/// A team's submissions charged since `since` (RFC 3339 UTC) and in total.
pub async fn used(conn: &mut AnyConnection, team: i64, since: &str) -> Result<(i64, i64), DbError> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN created_at >= $1 THEN 1 ELSE 0 END), 0) AS today \
         FROM submissions WHERE team_id = $2 AND status IN {CHARGED}"
    )))
    .bind(since)
    .bind(team)
    .fetch_one(&mut *conn)
    .await?;
    Ok((r.get("today"), r.get("total")))
}

/// An upload's row.
#[derive(Debug)]
pub struct NewUpload<'a> {
    pub contest: i64,
    pub team: i64,
    /// The uploader; `None` for a baseline queued by the service.
    pub user: Option<i64>,
    pub phase: &'a str,
    pub sha256: &'a str,
    pub bytes: i64,
    pub description: &'a str,
    /// `queued` (valid: charged) or `invalid` (not charged).
    pub status: &'a str,
    /// The English rendering of an invalid file's problems (empty when queued).
    pub message: &'a str,
    /// An invalid file's problems, JSON (`holdout_score::problem::Problem`s); `None` when queued.
    pub problems: Option<&'a str>,
    pub created_at: &'a str,
}

/// The daily and total limits, and when today began (RFC 3339 UTC).
#[derive(Debug, Clone, Copy)]
pub struct Quota<'a> {
    pub daily: i64,
    pub total: i64,
    pub since: &'a str,
}

/// What became of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Recorded, with this id.
    Id(i64),
    /// The team already has this file in the phase, charged, as this submission: not recorded.
    Duplicate(i64),
    /// A charged upload beyond the quota (the counts today and in total): not recorded.
    OverQuota { today: i64, all: i64 },
}

/// Records an upload with the audit event `event(id)` unless it duplicates a charged one or
/// (if it is charged) exceeds the quota. The checks and the insert are one write transaction
/// (`BEGIN IMMEDIATE`), so concurrent uploads of one team, from any process, are counted one
/// after another.
pub async fn insert_upload(
    pool: &AnyPool,
    up: &NewUpload<'_>,
    quota: Quota<'_>,
    event: impl FnOnce(i64) -> Event,
) -> Result<Inserted, DbError> {
    let mut tx = begin(pool).await?;
    let duplicate: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM submissions WHERE team_id = $1 AND sha256 = $2 AND phase = $3 AND status IN {CHARGED} ORDER BY id LIMIT 1"
    )))
    .bind(up.team)
    .bind(up.sha256)
    .bind(up.phase)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = duplicate {
        return Ok(Inserted::Duplicate(id));
    }
    if up.status == "queued" {
        let (today, all) = used(&mut tx, up.team, quota.since).await?;
        if today >= quota.daily || all >= quota.total {
            return Ok(Inserted::OverQuota { today, all });
        }
    }
    let id = insert(&mut tx, up).await?;
    append(&mut tx, event(id)).await?;
    tx.commit().await?;
    Ok(Inserted::Id(id))
}

/// Runs `remove` (deleting a stored file) and deletes the file from the database's blobs if
/// no submission and no contest refers to it, holding the database's write lock meanwhile, so
/// no upload of the same file commits in between.
pub async fn forget_unused(pool: &AnyPool, sha256: &str, remove: impl AsyncFnOnce()) -> Result<(), DbError> {
    let mut tx = begin(pool).await?;
    let used: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM submissions WHERE sha256 = $1) + (SELECT COUNT(*) FROM contest_files WHERE sha256 = $1)",
    )
    .bind(sha256)
    .fetch_one(&mut *tx)
    .await?;
    if used == 0 {
        remove().await;
        super::blobs::remove(&mut tx, sha256).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Inserts a submission's row; returns its id.
pub(super) async fn insert(conn: &mut AnyConnection, up: &NewUpload<'_>) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO submissions (contest_id, team_id, user_id, phase, sha256, bytes, description, status, message, problems, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(up.contest)
    .bind(up.team)
    .bind(up.user)
    .bind(up.phase)
    .bind(up.sha256)
    .bind(up.bytes)
    .bind(up.description)
    .bind(up.status)
    .bind(up.message)
    .bind(up.problems)
    .bind(up.created_at)
    .fetch_one(conn)
    .await?)
}

/// A submission as the API shows it. The columns are named (not `s.*`): a boolean column is
/// read as an integer on both backends (`db::Flag`).
const SELECT: &str = "SELECT s.id, s.contest_id, s.team_id, s.user_id, s.phase, s.sha256, s.bytes, s.description, s.status, \
                      s.message, s.problems, s.created_at, s.scored_at, s.attempts, s.public_score, s.public_low, \
                      s.public_high, s.private_score, s.private_low, s.private_high, s.scores, \
                      CAST(s.released AS INTEGER) AS released, CAST(s.selected AS INTEGER) AS selected, \
                      s.disqualified_reason, t.name AS team, u.name AS user_name \
                      FROM submissions s JOIN teams t ON t.id = s.team_id LEFT JOIN users u ON u.id = s.user_id";

/// A submission as the API shows it, with its team's name and its uploader's.
#[derive(Debug, Clone)]
pub struct Shown {
    pub id: i64,
    pub team_id: i64,
    /// The team's name.
    pub team: String,
    /// The uploader's name; `None` for a baseline.
    pub user_name: Option<String>,
    pub phase: String,
    pub sha256: String,
    pub bytes: i64,
    pub description: String,
    pub status: String,
    /// The English message (an invalid file's problems rendered, or why scoring failed).
    pub message: String,
    /// An invalid file's problems, JSON (`holdout_score::problem::Problem`s).
    pub problems: Option<String>,
    pub created_at: String,
    pub scored_at: Option<String>,
    pub public_score: Option<f64>,
    pub public_low: Option<f64>,
    pub public_high: Option<f64>,
    pub private_score: Option<f64>,
    pub private_low: Option<f64>,
    pub private_high: Option<f64>,
    /// Every subset's score, JSON.
    pub scores: Option<String>,
    pub released: bool,
    pub selected: bool,
    pub disqualified_reason: Option<String>,
}

impl Shown {
    fn of(r: &sqlx::any::AnyRow) -> Shown {
        Shown {
            id: r.get("id"),
            team_id: r.get("team_id"),
            team: r.get("team"),
            user_name: r.get("user_name"),
            phase: r.get("phase"),
            sha256: r.get("sha256"),
            bytes: r.get("bytes"),
            description: r.get("description"),
            status: r.get("status"),
            message: r.get("message"),
            problems: r.get("problems"),
            created_at: r.get("created_at"),
            scored_at: r.get("scored_at"),
            public_score: r.get("public_score"),
            public_low: r.get("public_low"),
            public_high: r.get("public_high"),
            private_score: r.get("private_score"),
            private_low: r.get("private_low"),
            private_high: r.get("private_high"),
            scores: r.get("scores"),
            released: super::flag(r, "released"),
            selected: super::flag(r, "selected"),
            disqualified_reason: r.get("disqualified_reason"),
        }
    }
}

/// A contest's submissions, oldest first; with `team`, one team's; with `phase`, one phase's.
pub async fn list(pool: &AnyPool, contest: i64, team: Option<i64>, phase: Option<&str>) -> Result<Vec<Shown>, DbError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE s.contest_id = $1 AND ($2 IS NULL OR s.team_id = $3) AND ($4 IS NULL OR s.phase = $5) ORDER BY s.id"
    )))
    .bind(contest)
    .bind(team)
    .bind(team)
    .bind(phase)
    .bind(phase)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(Shown::of).collect())
}

/// A submission of a contest.
pub async fn in_contest(pool: &AnyPool, contest: i64, id: i64) -> Result<Option<Shown>, DbError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE s.contest_id = $1 AND s.id = $2")))
        .bind(contest)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(Shown::of))
}

/// A submission that exists (one just recorded).
pub async fn shown(pool: &AnyPool, id: i64) -> Result<Shown, DbError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE s.id = $1"))).bind(id).fetch_one(pool).await?;
    Ok(Shown::of(&row))
}

/// Queues a scored, invalid or failed submission to be scored again (inside the caller's
/// transaction, which audits it); whether it was (not if queued or being scored already).
pub async fn requeue(conn: &mut AnyConnection, id: i64) -> Result<bool, DbError> {
    let done = sqlx::query("UPDATE submissions SET status = 'queued', attempts = 0 WHERE id = $1 AND status IN ('scored', 'invalid', 'failed')")
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(done > 0)
}

/// Disqualifies a submission for `reason`, or reinstates it with `None` (inside the caller's
/// transaction, which audits it).
pub async fn set_disqualified(conn: &mut AnyConnection, id: i64, reason: Option<&str>) -> Result<(), DbError> {
    sqlx::query("UPDATE submissions SET disqualified_reason = $1 WHERE id = $2")
        .bind(reason)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
