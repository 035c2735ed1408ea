//! Files kept in the database (`blobs`, content-addressed by SHA-256) and the list of each
//! contest's files (`contest_files`). See `leaderboard/migrations/0012_blobs.sql`.

use sqlx::{AnyConnection, AnyPool, Row};

use super::DbError;

/// Stores `content` under its SHA-256 `sha256` (the caller computed it), on a pool or inside a
/// transaction; storing the same file again changes nothing.
pub async fn put<'e>(
    conn: impl sqlx::Executor<'e, Database = sqlx::Any>,
    sha256: &str,
    content: &[u8],
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO blobs (sha256, bytes, content) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
        .bind(sha256)
        .bind(content.len() as i64)
        .bind(content)
        .execute(conn)
        .await?;
    Ok(())
}

/// The stored file with this SHA-256, if the database holds it.
pub async fn get(pool: &AnyPool, sha256: &str) -> Result<Option<Vec<u8>>, DbError> {
    Ok(sqlx::query_scalar("SELECT content FROM blobs WHERE sha256 = $1").bind(sha256).fetch_optional(pool).await?)
}

/// Whether the database holds the file with this SHA-256.
pub async fn has(pool: &AnyPool, sha256: &str) -> Result<bool, DbError> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM blobs WHERE sha256 = $1").bind(sha256).fetch_one(pool).await?;
    Ok(n > 0)
}

/// Removes a stored file (the caller checked that nothing refers to it), inside the caller's
/// transaction.
pub async fn remove(conn: &mut AnyConnection, sha256: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM blobs WHERE sha256 = $1").bind(sha256).execute(conn).await?;
    Ok(())
}

/// Records a contest's files (path under its directory, SHA-256), inside the transaction that
/// creates it.
pub async fn add_contest_files(
    conn: &mut AnyConnection,
    contest: i64,
    files: &[(String, String)],
) -> Result<(), DbError> {
    for (path, sha256) in files {
        sqlx::query("INSERT INTO contest_files (contest_id, path, sha256) VALUES ($1, $2, $3)")
            .bind(contest)
            .bind(path)
            .bind(sha256)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A contest's files: (path under its directory, SHA-256), by path.
pub async fn contest_files(pool: &AnyPool, contest: i64) -> Result<Vec<(String, String)>, DbError> {
    let rows = sqlx::query("SELECT path, sha256 FROM contest_files WHERE contest_id = $1 ORDER BY path")
        .bind(contest)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(|r| (r.get("path"), r.get("sha256"))).collect())
}
