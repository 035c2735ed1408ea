//! The one place that knows SQL: the contest database (a SQLite file in the data directory,
//! WAL, foreign keys on), its migrations (`leaderboard/migrations/*.sql`, embedded and applied
//! in order at start, each once, each in a transaction), and one module of typed functions per
//! group of tables. Handlers, pages and the worker call these and contain no SQL.

pub mod accounts;
pub mod audit_log;
pub mod boards;
pub mod contests;
pub mod integrity;
pub mod queue;
pub mod ranks;
pub mod receipts;
pub mod selections;
pub mod submissions;
pub mod throttle;

pub use audit_log::{append, entries, verify};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::audit;

/// The database file in a data directory.
pub const FILE: &str = "holdout.db";

/// Every migration, in order: (version, name, SQL).
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "audit_log", include_str!("../../../../leaderboard/migrations/0001_audit_log.sql")),
    (2, "contests", include_str!("../../../../leaderboard/migrations/0002_contests.sql")),
    (3, "rubric", include_str!("../../../../leaderboard/migrations/0003_rubric.sql")),
    (4, "leases", include_str!("../../../../leaderboard/migrations/0004_leases.sql")),
    (5, "receipts", include_str!("../../../../leaderboard/migrations/0005_receipts.sql")),
    (6, "final_selections", include_str!("../../../../leaderboard/migrations/0006_final_selections.sql")),
    (7, "board_freeze", include_str!("../../../../leaderboard/migrations/0007_board_freeze.sql")),
    (8, "rank_uncertainty", include_str!("../../../../leaderboard/migrations/0008_rank_uncertainty.sql")),
    (10, "problems", include_str!("../../../../leaderboard/migrations/0010_problems.sql")),
    (11, "login_throttle", include_str!("../../../../leaderboard/migrations/0011_login_throttle.sql")),
];

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error("the database is at schema version {found}, newer than this holdout ({known}); use a newer holdout")]
    Newer { found: i64, known: i64 },
    #[error("audit log: {0}")]
    Broken(#[from] audit::Broken),
    #[error(transparent)]
    Secret(#[from] crate::auth::SecretError),
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
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations").fetch_all(pool).await?;
    let found = applied.iter().copied().max().unwrap_or(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if found > known {
        return Err(DbError::Newer { found, known });
    }
    // Each migration not yet recorded, not only those above the highest: numbers are reserved
    // per branch (0006–0008 and 0010–0011 were written side by side), so a database may have
    // met a later number before an earlier one lands.
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| !applied.contains(&m.0)) {
        let mut tx = begin(pool).await?;
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
