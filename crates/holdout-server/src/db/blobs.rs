//! Files kept in the database (`blobs`, content-addressed by SHA-256) and the list of each
//! contest's files (`contest_files`); a file's content is kept in pieces (`blob_chunks`). See
//! `leaderboard/migrations/0012_blobs.sql` and `0013_blob_chunks.sql`.

use std::io::{self, Read as _};
use std::path::Path;

use sha2::{Digest as _, Sha256};
use sqlx::{AnyConnection, AnyPool, Row};

use super::DbError;

/// The size of the pieces a stored file is kept in (`blob_chunks`): what one statement carries
/// and what a process holds of a file at once while it stores or fetches it.
pub const CHUNK: usize = 8 << 20;

/// Stores the local file `path`, which must hash to `sha256`, on a pool: its pieces and then
/// its `blobs` row, together or not at all. Storing the same file again changes nothing. Its
/// size.
pub async fn store(pool: &AnyPool, path: &Path, sha256: &str) -> Result<u64, DbError> {
    let unreadable = |e: io::Error| DbError::Corrupt(format!("cannot read {}: {e}", path.display()));
    let size = std::fs::metadata(path).map_err(unreadable)?.len();
    if super::backend(pool) != super::Backend::Postgres || size > CHUNK as u64 {
        let mut tx = pool.begin().await?;
        let bytes = put_file(&mut tx, path, sha256).await?;
        tx.commit().await?;
        return Ok(bytes);
    }
    // One piece (every upload) on PostgreSQL: read and checked before a connection is taken,
    // then one statement, so a burst of uploads holds each pool connection for one round trip
    // (it shares the pool with transactions waiting for the write lock).
    let file = path.to_path_buf();
    let content = tokio::task::spawn_blocking(move || std::fs::read(file))
        .await
        .map_err(|e| unreadable(io::Error::other(e)))?
        .map_err(unreadable)?;
    if hex::encode(Sha256::digest(&content)) != sha256 {
        return Err(DbError::Corrupt(format!("{} does not hash to {sha256}", path.display())));
    }
    let bytes = content.len() as u64;
    sqlx::query(
        "WITH piece AS (INSERT INTO blob_chunks (sha256, seq, content) VALUES ($1, 0, $3) \
         ON CONFLICT (sha256, seq) DO NOTHING) \
         INSERT INTO blobs (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(sha256)
    .bind(bytes as i64)
    .bind(content)
    .execute(pool)
    .await?;
    Ok(bytes)
}

async fn put_chunk(conn: &mut AnyConnection, sha256: &str, seq: i64, piece: Vec<u8>) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO blob_chunks (sha256, seq, content) VALUES ($1, $2, $3) ON CONFLICT (sha256, seq) DO NOTHING",
    )
    .bind(sha256)
    .bind(seq)
    .bind(piece)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The `blobs` row, written after every piece.
async fn put_whole(conn: &mut AnyConnection, sha256: &str, bytes: u64) -> Result<(), DbError> {
    sqlx::query("INSERT INTO blobs (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING")
        .bind(sha256)
        .bind(bytes as i64)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// [`store`] inside the caller's transaction (`holdout db copy`). The file is read one piece at
/// a time off the async threads and hashed as it goes; a file that does not hash to `sha256`
/// (changed or damaged on disk) is an error before anything is recorded.
pub async fn put_file(conn: &mut AnyConnection, path: &Path, sha256: &str) -> Result<u64, DbError> {
    let unreadable = |e: io::Error| DbError::Corrupt(format!("cannot read {}: {e}", path.display()));
    let mut reader = (std::fs::File::open(path).map_err(unreadable)?, Sha256::new());
    let mut bytes = 0u64;
    for seq in 0i64.. {
        let (mut file, mut hasher) = reader;
        let (file, hasher, piece) = tokio::task::spawn_blocking(move || -> io::Result<_> {
            let mut piece = Vec::with_capacity(CHUNK);
            (&mut file).take(CHUNK as u64).read_to_end(&mut piece)?;
            hasher.update(&piece);
            Ok((file, hasher, piece))
        })
        .await
        .map_err(|e| unreadable(io::Error::other(e)))?
        .map_err(unreadable)?;
        if piece.is_empty() {
            if hex::encode(hasher.finalize()) != sha256 {
                return Err(DbError::Corrupt(format!("{} does not hash to {sha256}", path.display())));
            }
            break;
        }
        bytes += piece.len() as u64;
        put_chunk(conn, sha256, seq, piece).await?;
        reader = (file, hasher);
    }
    put_whole(conn, sha256, bytes).await?;
    Ok(bytes)
}

/// The size of the stored file with this SHA-256, if the database holds it (whole: its `blobs`
/// row is written after its pieces).
pub async fn size(pool: &AnyPool, sha256: &str) -> Result<Option<u64>, DbError> {
    let bytes: Option<i64> =
        sqlx::query_scalar("SELECT bytes FROM blobs WHERE sha256 = $1").bind(sha256).fetch_optional(pool).await?;
    Ok(bytes.map(|b| b as u64))
}

/// Piece `seq` (from 0) of the stored file with this SHA-256; `None` past its last piece.
pub async fn chunk(pool: &AnyPool, sha256: &str, seq: i64) -> Result<Option<Vec<u8>>, DbError> {
    Ok(sqlx::query_scalar("SELECT content FROM blob_chunks WHERE sha256 = $1 AND seq = $2")
        .bind(sha256)
        .bind(seq)
        .fetch_optional(pool)
        .await?)
}

/// Whether the database holds the file with this SHA-256.
pub async fn has(pool: &AnyPool, sha256: &str) -> Result<bool, DbError> {
    Ok(size(pool, sha256).await?.is_some())
}

/// Removes a stored file (the caller checked that nothing refers to it), inside the caller's
/// transaction.
pub async fn remove(conn: &mut AnyConnection, sha256: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM blobs WHERE sha256 = $1").bind(sha256).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM blob_chunks WHERE sha256 = $1").bind(sha256).execute(&mut *conn).await?;
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
