//! The contest database: a SQLite file in the data directory (WAL, foreign keys on), its
//! migrations (`leaderboard/migrations/*.sql`, embedded and applied in order at start, each
//! once, each in a transaction) and the audit log's storage.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqliteConnection};

use crate::audit::{self, Entry, Event};

/// The database file in a data directory.
pub const FILE: &str = "holdout.db";

/// Every migration, in order: (version, name, SQL).
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "audit_log", include_str!("../../../leaderboard/migrations/0001_audit_log.sql")),
    (2, "contests", include_str!("../../../leaderboard/migrations/0002_contests.sql")),
    (3, "rubric", include_str!("../../../leaderboard/migrations/0003_rubric.sql")),
];

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error("the database is at schema version {found}, newer than this holdout ({known}); use a newer holdout")]
    Newer { found: i64, known: i64 },
    #[error("audit log: {0}")]
    Broken(#[from] audit::Broken),
    #[error("the database holds something unreadable: {0}")]
    Corrupt(String),
}

/// Opens (creating if `create`) the database of a data directory and applies the migrations.
pub async fn open(dir: &Path, create: bool) -> Result<SqlitePool, DbError> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(dir.join(FILE))
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Begins a write transaction that holds SQLite's write lock from its first statement
/// (`BEGIN IMMEDIATE`), so it waits for other writers (busy timeout) instead of failing when a
/// read inside it would have to be upgraded after someone else committed.
pub async fn begin(pool: &SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Applies the migrations the database has not seen, each in its own transaction.
pub async fn migrate(pool: &SqlitePool) -> Result<(), DbError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL)",
    )
    .execute(pool)
    .await?;
    let found: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(pool).await?;
    let found = found.unwrap_or(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if found > known {
        return Err(DbError::Newer { found, known });
    }
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        let mut tx = crate::db::begin(pool).await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO schema_migrations (version, name) VALUES (?, ?)")
            .bind(version)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Appends an event to the audit log, chained to the last entry, inside the caller's
/// transaction (so the entry and what it records commit together).
pub async fn append(conn: &mut SqliteConnection, event: Event) -> Result<Entry, DbError> {
    let last = sqlx::query(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| entry(&r));
    let e = audit::chain(last.as_ref(), event);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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

fn entry(r: &sqlx::sqlite::SqliteRow) -> Entry {
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
pub async fn entries(pool: &SqlitePool) -> Result<Vec<Entry>, DbError> {
    let rows =
        sqlx::query("SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ORDER BY seq")
            .fetch_all(pool)
            .await?;
    Ok(rows.iter().map(entry).collect())
}

/// Reads and checks the whole log; returns its length.
pub async fn verify(pool: &SqlitePool) -> Result<usize, DbError> {
    let all = entries(pool).await?;
    audit::verify(&all)?;
    Ok(all.len())
}
