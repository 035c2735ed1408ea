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
