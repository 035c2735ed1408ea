//! Uploaded files, stored in the data directory under their SHA-256 (`files/ab/abcdef…`), never
//! under a name someone chose. A file is written to `files/tmp/`, synced, then renamed into
//! place, so a stored file is always whole.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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
