//! The `receipts` table: signed score receipts as issued, each the exact bytes a team
//! downloads. They are written inside the transaction that records what they attest (a score,
//! the reveal), next to its audit entry, so a receipt never names an audit head that was rolled
//! back.

use sqlx::{AnyConnection, AnyPool, Row};

use super::DbError;

/// The newest receipt of a submission.
pub async fn latest(pool: &AnyPool, submission: i64) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar("SELECT body FROM receipts WHERE submission_id = $1 ORDER BY id DESC LIMIT 1")
        .bind(submission)
        .fetch_optional(pool)
        .await?)
}

/// Adds a receipt inside the caller's transaction.
pub(super) async fn insert(
    conn: &mut AnyConnection,
    submission: i64,
    issued_at: &str,
    audit_seq: i64,
    body: &str,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO receipts (submission_id, issued_at, audit_seq, body) VALUES ($1, $2, $3, $4)")
        .bind(submission)
        .bind(issued_at)
        .bind(audit_seq)
        .bind(body)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the private board of the submission's contest has been revealed (read inside the
/// transaction that issues a receipt, so a receipt and the reveal agree on it).
pub(super) async fn revealed(conn: &mut AnyConnection, submission: i64) -> Result<bool, DbError> {
    let at: Option<Option<String>> = sqlx::query_scalar(
        "SELECT c.revealed_at FROM contests c JOIN submissions s ON s.contest_id = c.id WHERE s.id = $1",
    )
    .bind(submission)
    .fetch_optional(conn)
    .await?;
    Ok(at.flatten().is_some())
}

/// A scored submission as the reveal's receipts need it.
#[derive(Debug, Clone)]
pub struct ScoredRow {
    pub id: i64,
    pub team: String,
    pub phase: String,
    /// The phase's board (`a` or `b`).
    pub board: String,
    pub sha256: String,
    pub public: Option<f64>,
    pub private: Option<f64>,
    pub released: bool,
    /// Every metric on every subset, JSON (names the subsets scored).
    pub scores: Option<String>,
}

/// Every scored submission of a contest, oldest first.
pub(super) async fn scored(conn: &mut AnyConnection, contest: i64) -> Result<Vec<ScoredRow>, DbError> {
    let rows = sqlx::query(
        "SELECT s.id, t.name AS team, s.phase, p.board, s.sha256, s.public_score, s.private_score, CAST(s.released AS INTEGER) AS released, s.scores \
         FROM submissions s JOIN teams t ON t.id = s.team_id \
         JOIN phases p ON p.contest_id = s.contest_id AND p.name = s.phase \
         WHERE s.contest_id = $1 AND s.status = 'scored' ORDER BY s.id",
    )
    .bind(contest)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| ScoredRow {
            id: r.get("id"),
            team: r.get("team"),
            phase: r.get("phase"),
            board: r.get("board"),
            sha256: r.get("sha256"),
            public: r.get("public_score"),
            private: r.get("private_score"),
            released: crate::db::flag(r, "released"),
            scores: r.get("scores"),
        })
        .collect())
}
