//! Failed logins per account and per address (`login_failures`, see `crate::throttle` for the
//! policy): whether a key is blocked, recording a failure (and, when it starts a block, its
//! audit entry `session.throttled` in the same transaction), clearing an account after a
//! successful login, and the organizer's list and lift (`session.throttle_lift`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::AnyPool;

use super::{DbError, append, begin};
use crate::audit::Event;
use crate::throttle::{Policy, Scope};
use crate::time;

/// One counted key, as the organizer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counted {
    /// `account` or `address`.
    pub scope: String,
    /// The account's name or the address (an IPv6 client's /64 network).
    pub name: String,
    /// Failures in a row.
    pub failures: i64,
    pub last_failure_at: String,
    /// Refused until then (RFC 3339 UTC); `None`: not blocked (or no longer).
    pub blocked_until: Option<String>,
}

/// Until when `name` is blocked in `scope`, if it is at `now`.
pub async fn blocked(
    pool: &AnyPool,
    scope: Scope,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let until: Option<Option<String>> =
        sqlx::query_scalar("SELECT blocked_until FROM login_failures WHERE scope = $1 AND name = $2")
            .bind(scope.name())
            .bind(name)
            .fetch_optional(pool)
            .await?;
    Ok(until.flatten().and_then(|t| time::parse(&t)).filter(|t| *t > now))
}

/// Counts one failure at `now` for each `(scope, name)` in one transaction; returns the latest
/// block it starts, if any. Every block started gets its audit entry (`event(scope, name,
/// failures, until)`).
pub async fn fail(
    pool: &AnyPool,
    keys: &[(Scope, &str)],
    now: DateTime<Utc>,
    policy: &Policy,
    event: impl Fn(Scope, &str, u64, DateTime<Utc>) -> Event,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let mut tx = begin(pool).await?;
    let mut latest: Option<DateTime<Utc>> = None;
    for &(scope, name) in keys {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT failures, last_failure_at FROM login_failures WHERE scope = $1 AND name = $2")
                .bind(scope.name())
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        let (before, last) = row.map_or((0, None), |(f, t)| (u64::try_from(f).unwrap_or(0), time::parse(&t)));
        let failures = policy.count(before, last, now);
        let until = policy.delay(scope, failures).map(|d| now + d);
        sqlx::query(
            "INSERT INTO login_failures (scope, name, failures, last_failure_at, blocked_until) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (scope, name) DO UPDATE SET failures = excluded.failures, \
             last_failure_at = excluded.last_failure_at, blocked_until = excluded.blocked_until",
        )
        .bind(scope.name())
        .bind(name)
        .bind(i64::try_from(failures).unwrap_or(i64::MAX))
        .bind(time::text(now))
        .bind(until.map(time::text))
        .execute(&mut *tx)
        .await?;
        if let Some(u) = until {
            append(&mut tx, event(scope, name, failures, u)).await?;
            latest = Some(latest.map_or(u, |l| l.max(u)));
        }
    }
    tx.commit().await?;
    Ok(latest)
}

/// Forgets an account's failures (after a successful login).
pub async fn clear(pool: &AnyPool, scope: Scope, name: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM login_failures WHERE scope = $1 AND name = $2")
        .bind(scope.name())
        .bind(name)
        .execute(pool)
        .await?;
    Ok(())
}

/// Every counted key, blocked ones first, then by the latest failure.
pub async fn list(pool: &AnyPool) -> Result<Vec<Counted>, DbError> {
    let rows: Vec<(String, String, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT scope, name, failures, last_failure_at, blocked_until FROM login_failures \
         ORDER BY blocked_until IS NULL, last_failure_at DESC, scope, name",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(scope, name, failures, last_failure_at, blocked_until)| Counted {
            scope,
            name,
            failures,
            last_failure_at,
            blocked_until,
        })
        .collect())
}

/// Lifts a key's block and forgets its failures, with the audit entry `event`; `false` if the
/// key has no row.
pub async fn lift(pool: &AnyPool, scope: Scope, name: &str, event: Event) -> Result<bool, DbError> {
    let mut tx = begin(pool).await?;
    let done = sqlx::query("DELETE FROM login_failures WHERE scope = $1 AND name = $2")
        .bind(scope.name())
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Ok(false);
    }
    append(&mut tx, event).await?;
    tx.commit().await?;
    Ok(true)
}
