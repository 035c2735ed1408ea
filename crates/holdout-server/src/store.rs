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
        Incoming::create_as(dir, false)
    }

    /// A new temporary file in the store; `private`: readable by the owner only.
    fn create_as(dir: &Path, private: bool) -> io::Result<Incoming> {
        let tmp = dir.join("files").join("tmp");
        fs::create_dir_all(&tmp)?;
        let name = crate::auth::token("upload").map_err(io::Error::other)?;
        let partial = tmp.join(name);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let file = io::BufWriter::with_capacity(1 << 16, options.open(&partial)?);
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

    /// [`Incoming::write`] off the async threads, for a piece of a file arriving over the
    /// network or from the database; the partial file is removed on an error.
    pub async fn append(mut self, piece: Vec<u8>) -> io::Result<Incoming> {
        tokio::task::spawn_blocking(move || match self.write(&piece) {
            Ok(()) => Ok(self),
            Err(e) => {
                self.discard();
                Err(e)
            }
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Drops a partial file.
    pub fn discard(self) {
        let _ = fs::remove_file(&self.temp);
    }

    /// A file fetched from the database: checks that it is `bytes` long and hashes to
    /// `sha256`, then syncs it and moves it to `to`; otherwise removes it.
    fn install(self, to: &Path, sha256: &str, bytes: u64) -> Result<(), StoreError> {
        let Incoming { temp, file, hasher, bytes: written } = self;
        let io = |e| StoreError::Io(sha256.to_owned(), e);
        let synced = file.into_inner().map_err(io::IntoInnerError::into_error).and_then(|f| f.sync_all());
        if let Err(e) = synced {
            let _ = fs::remove_file(&temp);
            return Err(io(e));
        }
        if written != bytes || hex::encode(hasher.finalize()) != sha256 {
            let _ = fs::remove_file(&temp);
            return Err(StoreError::Corrupt(sha256.to_owned()));
        }
        fs::create_dir_all(to.parent().expect("a stored file has a parent")).map_err(io)?;
        fs::rename(&temp, to).map_err(io)
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
    if !db::blobs::has(pool, sha256).await? {
        db::blobs::store(pool, from, sha256).await?;
    }
    Ok(())
}

/// [`fetch`] unless `to` is here, one fetch per local file at a time in this process:
/// concurrent readers of a file not yet here (a burst of uploads, each validated against the
/// test ids) wait for the first fetch instead of each fetching it. Measured: 200 uploads at
/// once each fetched the test set (several pieces) themselves, and the burst took twice as
/// long.
async fn fetch_once(pool: &AnyPool, dir: &Path, sha256: &str, to: &Path, private: bool) -> Result<(), StoreError> {
    type Gates = std::collections::HashMap<PathBuf, std::sync::Arc<tokio::sync::Mutex<()>>>;
    static FETCHING: std::sync::LazyLock<std::sync::Mutex<Gates>> = std::sync::LazyLock::new(Default::default);
    let gate =
        FETCHING.lock().expect("the fetch gates' lock is never poisoned").entry(to.to_path_buf()).or_default().clone();
    let result = {
        let _turn = gate.lock().await;
        if to.is_file() { Ok(()) } else { fetch(pool, dir, sha256, to, private).await }
    };
    let mut gates = FETCHING.lock().expect("the fetch gates' lock is never poisoned");
    // The map's reference and ours: nobody else is waiting, so the gate can go.
    if std::sync::Arc::strong_count(&gate) == 2 {
        gates.remove(to);
    }
    result
}

/// Fetches the stored file `sha256` from the database into `to`, one piece at a time: into a
/// temporary file in the store (readable by the owner only with `private`), hashed as it
/// comes, and moved into place only whole and matching its name.
async fn fetch(pool: &AnyPool, dir: &Path, sha256: &str, to: &Path, private: bool) -> Result<(), StoreError> {
    let bytes = db::blobs::size(pool, sha256).await?.ok_or_else(|| StoreError::Missing(sha256.to_owned()))?;
    let io = |e| StoreError::Io(sha256.to_owned(), e);
    let joined = |e: tokio::task::JoinError| StoreError::Io(sha256.to_owned(), io::Error::other(e));
    let mut partial = Incoming::create_as(dir, private).map_err(io)?;
    for seq in 0i64.. {
        let piece = match db::blobs::chunk(pool, sha256, seq).await {
            Ok(Some(piece)) => piece,
            Ok(None) => break,
            Err(e) => {
                partial.discard();
                return Err(e.into());
            }
        };
        partial = partial.append(piece).await.map_err(io)?;
    }
    let (sha, to) = (sha256.to_owned(), to.to_path_buf());
    tokio::task::spawn_blocking(move || partial.install(&to, &sha, bytes)).await.map_err(joined)?
}

/// The local path of the stored file with this SHA-256, fetched from the database first if the
/// database holds the files and this process has no copy yet.
pub async fn local(pool: &AnyPool, dir: &Path, sha256: &str) -> Result<PathBuf, StoreError> {
    let target = path(dir, sha256);
    if !in_database(pool) || target.is_file() {
        return Ok(target);
    }
    fetch_once(pool, dir, sha256, &target, false).await?;
    Ok(target)
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
            // Hashed as it is read: a training set may be larger than memory allows.
            let (mut file, mut hasher, mut buffer) = (fs::File::open(entry.path())?, Sha256::new(), vec![0u8; 1 << 16]);
            loop {
                match file.read(&mut buffer)? {
                    0 => break,
                    n => hasher.update(&buffer[..n]),
                }
            }
            out.push((format!("{sub}/{name}"), hex::encode(hasher.finalize())));
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
        fetch_once(pool, dir, &sha, &to, !rel.starts_with("public/")).await?;
    }
    Ok(())
}
