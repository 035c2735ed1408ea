//! The one place that knows SQL: the contest database (a SQLite file in the data directory,
//! WAL, foreign keys on), its migrations (`leaderboard/migrations/*.sql`, embedded and applied
//! in order at start, each once, each in a transaction), and one module of typed functions per
//! group of tables. Handlers, pages and the worker call these and contain no SQL.

pub mod accounts;
pub mod audit_log;
pub mod blobs;
pub mod boards;
pub mod contests;
pub mod copy;
pub mod integrity;
pub mod queue;
pub mod ranks;
pub mod receipts;
pub mod selections;
pub mod submissions;
pub mod throttle;

pub use audit_log::{append, entries, verify};

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions};

use crate::audit;

/// The database file in a data directory.
pub const FILE: &str = "holdout.db";

/// Which database a pool or connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the data directory: the zero-configuration default.
    Sqlite,
    /// A PostgreSQL server, shared by any number of service replicas and scoring workers.
    Postgres,
}

impl Backend {
    fn of_scheme(scheme: &str) -> Backend {
        if scheme.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite }
    }
}

/// The backend of a pool.
pub fn backend(pool: &AnyPool) -> Backend {
    Backend::of_scheme(pool.connect_options().database_url.scheme())
}

/// The backend of a connection (inside a transaction).
pub fn backend_of(conn: &AnyConnection) -> Backend {
    if conn.backend_name() == "PostgreSQL" { Backend::Postgres } else { Backend::Sqlite }
}

/// Where the contest database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `holdout.db` in this data directory.
    Dir(std::path::PathBuf),
    /// A `postgres://` (or `postgresql://`) URL.
    Url(String),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Dir(dir) => write!(f, "{}", dir.join(FILE).display()),
            // The URL may carry a password: name the server, not the credentials.
            Location::Url(url) => match url::Url::parse(url) {
                Ok(u) => write!(f, "{}://{}{}", u.scheme(), u.host_str().unwrap_or(""), u.path()),
                Err(_) => f.write_str("the database URL"),
            },
        }
    }
}

/// The advisory lock every PostgreSQL write transaction takes first (any number, fixed): the
/// counterpart of SQLite's one writer at a time, held to the transaction's end across every
/// process on the database. Writes are few and short next to reads, every one of them appends
/// to the one audit chain anyway, and a read inside a write transaction then sees every write
/// committed before it — the reasoning the SQLite code was written with holds on both.
pub const WRITE_LOCK: i64 = 0x0068_6f6c_646f_7574; // "holdout" in ASCII

/// One schema change, applied once (recorded in `schema_migrations` by its version).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    /// Portable SQL, spelled for PostgreSQL by [`dialect`].
    pub sql: &'static str,
    /// Only PostgreSQL runs it (storage settings SQLite has no counterpart for); SQLite records
    /// it as applied, so both count the same versions.
    pub postgres_only: bool,
}

const fn migration(version: i64, name: &'static str, sql: &'static str) -> Migration {
    Migration { version, name, sql, postgres_only: false }
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    migration(1, "audit_log", include_str!("../../../../leaderboard/migrations/0001_audit_log.sql")),
    migration(2, "contests", include_str!("../../../../leaderboard/migrations/0002_contests.sql")),
    migration(3, "rubric", include_str!("../../../../leaderboard/migrations/0003_rubric.sql")),
    migration(4, "leases", include_str!("../../../../leaderboard/migrations/0004_leases.sql")),
    migration(5, "receipts", include_str!("../../../../leaderboard/migrations/0005_receipts.sql")),
    migration(6, "final_selections", include_str!("../../../../leaderboard/migrations/0006_final_selections.sql")),
    migration(7, "board_freeze", include_str!("../../../../leaderboard/migrations/0007_board_freeze.sql")),
    migration(8, "rank_uncertainty", include_str!("../../../../leaderboard/migrations/0008_rank_uncertainty.sql")),
    migration(10, "problems", include_str!("../../../../leaderboard/migrations/0010_problems.sql")),
    migration(11, "login_throttle", include_str!("../../../../leaderboard/migrations/0011_login_throttle.sql")),
    migration(12, "blobs", include_str!("../../../../leaderboard/migrations/0012_blobs.sql")),
    migration(13, "blob_chunks", include_str!("../../../../leaderboard/migrations/0013_blob_chunks.sql")),
    Migration {
        version: 14,
        name: "blob_compression",
        sql: include_str!("../../../../leaderboard/migrations/0014_blob_compression.sql"),
        postgres_only: true,
    },
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
    #[error("{0}")]
    BadUrl(String),
    /// `holdout db copy` into a database that holds a contest already.
    #[error("the target database is not empty (it has users, contests or audit entries)")]
    NotEmpty,
    #[error("{0}: SQLite needs a UTF-8 path")]
    NotUtf8(String),
}

/// Opens (creating if `create`) the database of a data directory and applies the migrations.
pub async fn open(dir: &Path, create: bool) -> Result<AnyPool, DbError> {
    open_at(&Location::Dir(dir.to_path_buf()), create).await
}

/// Opens the database at `location` and applies the migrations (`create`: a missing SQLite
/// file is created; a PostgreSQL database must exist).
pub async fn open_at(location: &Location, create: bool) -> Result<AnyPool, DbError> {
    let pool = connect_at(location, create).await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Opens (creating if `create`) the database of a data directory as it is, migrations not
/// applied (`holdout db backup` copies what is there; `holdout db migrate` reports what it
/// applies).
pub async fn connect(dir: &Path, create: bool) -> Result<AnyPool, DbError> {
    connect_at(&Location::Dir(dir.to_path_buf()), create).await
}

/// Connects to the database at `location`, migrations not applied. SQLite: WAL, synchronous
/// writes, foreign keys on, a 10 s busy timeout; PostgreSQL: as the URL says.
pub async fn connect_at(location: &Location, create: bool) -> Result<AnyPool, DbError> {
    sqlx::any::install_default_drivers();
    match location {
        Location::Dir(dir) => {
            let file = dir.join(FILE);
            let path = file.to_str().ok_or_else(|| DbError::NotUtf8(file.display().to_string()))?;
            let mut url = url::Url::parse("sqlite://").map_err(|e| DbError::Corrupt(e.to_string()))?;
            url.set_path(path);
            url.query_pairs_mut().append_pair("mode", if create { "rwc" } else { "rw" });
            let options = AnyConnectOptions::from_url(&url)?;
            Ok(AnyPoolOptions::new()
                .max_connections(8)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 10000;",
                        )
                        .execute(conn)
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await?)
        }
        Location::Url(url) => {
            let parsed = url::Url::parse(url).map_err(|e| DbError::BadUrl(e.to_string()))?;
            if Backend::of_scheme(parsed.scheme()) != Backend::Postgres {
                return Err(DbError::BadUrl(format!("`{}:` is not a PostgreSQL URL (postgres://…)", parsed.scheme())));
            }
            let options = AnyConnectOptions::from_url(&parsed)?;
            Ok(AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?)
        }
    }
}

/// Begins a write transaction that holds the database's write lock from its first statement:
/// SQLite's `BEGIN IMMEDIATE` (it waits for other writers up to the busy timeout instead of
/// failing when a read inside it would have to be upgraded after someone else committed), or
/// PostgreSQL's transaction-scoped advisory lock [`WRITE_LOCK`], which serializes writers
/// across every replica and worker the same way.
pub async fn begin(pool: &AnyPool) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    match backend(pool) {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            lock(&mut tx).await?;
            Ok(tx)
        }
    }
}

/// Takes [`WRITE_LOCK`] in a PostgreSQL transaction (the function returns `void`, which the
/// `Any` driver cannot read: the count of one row is read instead).
async fn lock(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock($1)) AS l").bind(WRITE_LOCK).execute(conn).await?;
    Ok(())
}

/// Sends `payload` on the PostgreSQL notification channel `channel` (`pg_notify`; it returns
/// `void`, which the `Any` driver cannot read, so the count of its one row is read instead).
pub async fn notify(pool: &AnyPool, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS n")
        .bind(channel)
        .bind(payload)
        .execute(pool)
        .await?;
    Ok(())
}

/// A migration's SQL for a backend. The migrations are written in SQL both accept except the
/// row ids (`INTEGER PRIMARY KEY` is SQLite's row id, assigned on insert) and binary columns
/// (`BLOB`), which PostgreSQL spells `BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY` and
/// `BYTEA`.
pub fn dialect(sql: &str, backend: Backend) -> std::borrow::Cow<'_, str> {
    match backend {
        Backend::Sqlite => sql.into(),
        Backend::Postgres => sql
            .replace("INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
            .replace(" BLOB", " BYTEA")
            .into(),
    }
}

/// Applies the migrations the database has not seen, all in one write transaction (so two
/// replicas starting at once apply each migration once): the (version, name) of each one
/// applied, in order.
pub async fn migrate(pool: &AnyPool) -> Result<Vec<(i64, &'static str)>, DbError> {
    let backend = backend(pool);
    let mut tx = begin(pool).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations").fetch_all(&mut *tx).await?;
    let found = applied.iter().copied().max().unwrap_or(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if found > known {
        return Err(DbError::Newer { found, known });
    }
    let mut done = Vec::new();
    // Each migration not yet recorded, not only those above the highest: numbers are reserved
    // per branch (0006–0008 and 0010–0011 were written side by side), so a database may have
    // met a later number before an earlier one lands.
    for &Migration { version, name, sql, postgres_only } in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version))
    {
        if !postgres_only || backend == Backend::Postgres {
            sqlx::raw_sql(sqlx::AssertSqlSafe(dialect(sql, backend).into_owned())).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
            .bind(version)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        done.push((version, name));
    }
    tx.commit().await?;
    Ok(done)
}

/// A boolean column or expression as read: PostgreSQL answers a boolean, SQLite an integer
/// (the `Any` driver maps by the value, and SQLite has no boolean values). Decodes either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl sqlx::Type<sqlx::Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <bool as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        matches!(ty.kind(), sqlx::any::AnyTypeInfoKind::Bool) || ty.kind().is_integer()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Flag, sqlx::error::BoxDynError> {
        match <bool as sqlx::Decode<sqlx::Any>>::decode(value.clone()) {
            Ok(b) => Ok(Flag(b)),
            Err(_) => Ok(Flag(<i64 as sqlx::Decode<sqlx::Any>>::decode(value)? != 0)),
        }
    }
}

/// A boolean column of a row (see [`Flag`]).
pub fn flag(row: &sqlx::any::AnyRow, column: &str) -> bool {
    use sqlx::Row;
    row.get::<Flag, _>(column).0
}

/// Whether the service can serve: the database answers, and every migration in [`MIGRATIONS`]
/// is recorded as applied. `Err` holds a short reason for a load balancer's log.
pub async fn ready(pool: &AnyPool) -> Result<(), String> {
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(pool)
        .await
        .map_err(|e| format!("database unavailable: {e}"))?;
    let missing: Vec<String> = MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| format!("{:04}_{}", m.version, m.name))
        .collect();
    if missing.is_empty() { Ok(()) } else { Err(format!("migrations not applied: {}", missing.join(", "))) }
}

/// Writes a consistent snapshot of the database to `out` (SQLite's `VACUUM INTO`: one read
/// transaction, so concurrent writers are neither blocked for long nor half-copied). `out` must
/// not exist; SQLite refuses to overwrite a non-empty file, and the caller checks first.
pub async fn backup(pool: &AnyPool, out: &Path) -> Result<(), DbError> {
    if backend(pool) == Backend::Postgres {
        return Err(DbError::BadUrl("a PostgreSQL database is backed up with `pg_dump` (see the README)".into()));
    }
    let target = out.to_str().ok_or_else(|| DbError::NotUtf8(out.display().to_string()))?;
    sqlx::query("VACUUM INTO $1").bind(target).execute(pool).await?;
    Ok(())
}
