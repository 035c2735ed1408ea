//! The `audit_log` table: appends chained to the last entry inside the caller's
//! transaction, pages of the log, and the log from an entry on for verification.

use sqlx::{AnyConnection, AnyPool, Row};

use super::DbError;
use crate::audit::{self, Entry, Event};

/// Appends an event to the audit log, chained to the last entry, inside the caller's
/// transaction (so the entry and what it records commit together).
pub async fn append(conn: &mut AnyConnection, event: Event) -> Result<Entry, DbError> {
    let last = sqlx::query(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| entry(&r));
    let e = audit::chain(last.as_ref(), event);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.seq)
    .bind(&e.event.at)
    .bind(&e.event.actor)
    .bind(&e.event.action)
    .bind(&e.event.subject)
    .bind(&e.event.detail)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(&mut *conn)
    .await?;
    Ok(e)
}

fn entry(r: &sqlx::any::AnyRow) -> Entry {
    Entry {
        seq: r.get("seq"),
        event: Event {
            at: r.get("at"),
            actor: r.get("actor"),
            action: r.get("action"),
            subject: r.get("subject"),
            detail: r.get("detail"),
        },
        prev_hash: r.get("prev_hash"),
        hash: r.get("hash"),
    }
}

/// The whole log, in sequence order.
pub async fn entries(pool: &AnyPool) -> Result<Vec<Entry>, DbError> {
    let rows =
        sqlx::query("SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq")
            .fetch_all(pool)
            .await?;
    Ok(rows.iter().map(entry).collect())
}

/// Reads and checks the whole log; returns its length.
pub async fn verify(pool: &AnyPool) -> Result<usize, DbError> {
    let all = entries(pool).await?;
    audit::verify(&all)?;
    Ok(all.len())
}

/// A page of the log in sequence order: at most `limit` entries after `after`, only those
/// about `subject` if given.
pub async fn page(pool: &AnyPool, after: i64, subject: Option<&str>, limit: i64) -> Result<Vec<Entry>, DbError> {
    let rows = match subject {
        Some(subject) => {
            sqlx::query(
                "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log \
                 WHERE seq > $1 AND subject = $2 ORDER BY seq LIMIT $3",
            )
            .bind(after)
            .bind(subject)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query(
                "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
    };
    Ok(rows.iter().map(entry).collect())
}

/// The entries from `seq` on (inclusive), in sequence order: what verifying the chain from a
/// known entry reads.
pub async fn from(pool: &AnyPool, seq: i64) -> Result<Vec<Entry>, DbError> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log WHERE seq >= $1 ORDER BY seq",
    )
    .bind(seq)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(entry).collect())
}

/// How many entries the log holds.
pub async fn count(pool: &AnyPool) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(pool).await?)
}
