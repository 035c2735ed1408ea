//! Uploaded files, stored in the data directory under their SHA-256 (`files/ab/abcdef…`), never
//! under a name someone chose. A file is written to `files/tmp/`, synced, then renamed into
//! place, so a stored file is always whole.
//!
//! On PostgreSQL the database holds every file (`db::blobs`): a stored file is also written
//! there, and the data directory is this process's local copy, filled on demand ([`local`],
//! [`contest_files`]: each of a contest's files where it is first read, so a replica that only
//! serves never fetches the solution) and checked against the hash, so any replica or worker can read any file
//! with only the database URL.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use crate::db::{self, Backend, DbError};

/// Why a stored file cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored file {0}: {1}")]
    Io(String, io::Error),
    #[error("stored file {0} is in neither the data directory nor the database")]
    Missing(String),
    #[error("stored file {0}: the database's copy does not hash to its name")]
    Corrupt(String),
}

/// Where the file with this SHA-256 lives (the caller has checked it is 64 hex digits).
pub fn path(dir: &Path, sha256: &str) -> PathBuf {
    dir.join("files").join(&sha256[..2]).join(sha256)
}

/// A file being received.
#[derive(Debug)]
pub struct Incoming {
    temp: PathBuf,
    file: io::BufWriter<fs::File>,
    hasher: Sha256,
    pub bytes: u64,
}

impl Incoming {
    pub fn create(dir: &Path) -> io::Result<Incoming> {
        let tmp = dir.join("files").join("tmp");
        fs::create_dir_all(&tmp)?;
        let name = crate::auth::token("upload").map_err(io::Error::other)?;
        let partial = tmp.join(name);
        let file = io::BufWriter::with_capacity(1 << 16, fs::File::create(&partial)?);
        Ok(Incoming { temp: partial, file, hasher: Sha256::new(), bytes: 0 })
    }

    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
        self.file.write_all(chunk)
    }

    /// Syncs and moves the file into place; returns its SHA-256 and size.
    pub fn finish(self, dir: &Path) -> io::Result<(String, u64)> {
        let Incoming { temp, file, hasher, bytes } = self;
        let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        let sha = hex::encode(hasher.finalize());
        let target = path(dir, &sha);
        fs::create_dir_all(target.parent().expect("a stored file has a parent"))?;
        fs::rename(&temp, &target)?;
        Ok((sha, bytes))
    }

    /// Drops a partial file.
    pub fn discard(self) {
        let _ = fs::remove_file(&self.temp);
    }
}

/// Stores a copy of a local file; returns its SHA-256 and size.
pub fn put(dir: &Path, source: &Path) -> io::Result<(String, u64)> {
    let mut input = io::BufReader::with_capacity(1 << 16, fs::File::open(source)?);
    let mut incoming = Incoming::create(dir)?;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                incoming.discard();
                return Err(e);
            }
        };
        if let Err(e) = incoming.write(&buffer[..n]) {
            incoming.discard();
            return Err(e);
        }
    }
    incoming.finish(dir)
}

/// Whether the database holds the stored files (PostgreSQL), rather than only the data
/// directory (SQLite).
pub fn in_database(pool: &AnyPool) -> bool {
    db::backend(pool) == Backend::Postgres
}

/// After a file was stored in the data directory: writes it to the database too when the
/// database holds the files.
pub async fn publish(pool: &AnyPool, dir: &Path, sha256: &str) -> Result<(), StoreError> {
    if !in_database(pool) {
        return Ok(());
    }
    put_local(pool, &path(dir, sha256), sha256).await
}

/// Writes the local file `from`, stored under `sha256`, to the database unless it is there.
async fn put_local(pool: &AnyPool, from: &Path, sha256: &str) -> Result<(), StoreError> {
    if db::blobs::has(pool, sha256).await? {
        return Ok(());
    }
    let content = tokio::fs::read(from).await.map_err(|e| StoreError::Io(from.display().to_string(), e))?;
    db::blobs::put(pool, sha256, &content).await?;
    Ok(())
}

/// The local path of the stored file with this SHA-256, fetched from the database first if the
/// database holds the files and this process has no copy yet.
pub async fn local(pool: &AnyPool, dir: &Path, sha256: &str) -> Result<PathBuf, StoreError> {
    let target = path(dir, sha256);
    if !in_database(pool) || target.is_file() {
        return Ok(target);
    }
    let content = db::blobs::get(pool, sha256).await?.ok_or_else(|| StoreError::Missing(sha256.to_owned()))?;
    let (dir, sha, to) = (dir.to_path_buf(), sha256.to_owned(), target.clone());
    tokio::task::spawn_blocking(move || write_checked(&dir, &sha, &content, &to, false))
        .await
        .map_err(|e| StoreError::Io(sha256.to_owned(), io::Error::other(e)))??;
    Ok(target)
}

/// Writes `content`, which must hash to `sha256`, to `to` whole (a temporary file in the store,
/// synced, renamed into place); `private`: readable by the owner only.
fn write_checked(dir: &Path, sha256: &str, content: &[u8], to: &Path, private: bool) -> Result<(), StoreError> {
    if hex::encode(Sha256::digest(content)) != sha256 {
        return Err(StoreError::Corrupt(sha256.to_owned()));
    }
    let io = |e| StoreError::Io(sha256.to_owned(), e);
    let tmp = dir.join("files").join("tmp");
    fs::create_dir_all(&tmp).map_err(io)?;
    let partial = tmp.join(crate::auth::token("fetch").map_err(|e| io(io::Error::other(e)))?);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let written = options.open(&partial).and_then(|mut f| {
        f.write_all(content)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&partial);
        return Err(io(e));
    }
    fs::create_dir_all(to.parent().expect("a stored file has a parent")).map_err(io)?;
    fs::rename(&partial, to).map_err(io)
}

/// The files under a contest's directory `root` (relative path with `/`, SHA-256), by path.
pub fn list_contest(root: &Path) -> io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for sub in ["public", "private", "keys"] {
        let Ok(entries) = fs::read_dir(root.join(sub)) else { continue };
        for entry in entries {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            out.push((format!("{sub}/{name}"), hex::encode(Sha256::digest(fs::read(entry.path())?))));
        }
    }
    out.sort();
    Ok(out)
}

/// Writes a new contest's files (listed by [`list_contest`]) to the database when it holds the
/// files.
pub async fn publish_contest(pool: &AnyPool, root: &Path, files: &[(String, String)]) -> Result<(), StoreError> {
    if !in_database(pool) {
        return Ok(());
    }
    for (rel, sha) in files {
        put_local(pool, &root.join(rel), sha).await?;
    }
    Ok(())
}

/// Makes sure this process has a copy of contest `id`'s files under `root` whose path starts
/// with one of `parts` (`public/`, `private/`, `keys/`) when the database holds the files:
/// each file missing here is fetched and checked (the private ones and the receipt key
/// readable by the owner only).
pub async fn contest_files(pool: &AnyPool, dir: &Path, id: i64, root: &Path, parts: &[&str]) -> Result<(), StoreError> {
    if !in_database(pool) {
        return Ok(());
    }
    for (rel, sha) in db::blobs::contest_files(pool, id).await? {
        if !parts.iter().any(|p| rel.starts_with(p)) {
            continue;
        }
        let to = root.join(&rel);
        if to.is_file() {
            continue;
        }
        let content = db::blobs::get(pool, &sha).await?.ok_or_else(|| StoreError::Missing(sha.clone()))?;
        let private = !rel.starts_with("public/");
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || write_checked(&dir, &sha, &content, &to, private))
            .await
            .map_err(|e| StoreError::Io(rel.clone(), io::Error::other(e)))??;
    }
    Ok(())
}
