//! `holdout db`: the operator's commands on a data directory's database. `backup` writes a
//! consistent snapshot while the service runs (SQLite's `VACUUM INTO`); `migrate` applies the
//! migrations this holdout knows (the service also applies them at start).

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use holdout_server::db;

use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Write a consistent snapshot of the database to OUT, even while the service runs.
    Backup {
        /// The service's data directory (with holdout.db).
        #[arg(long)]
        data_dir: PathBuf,
        /// The snapshot to write (a new file; an existing one is refused).
        out: PathBuf,
    },
    /// Apply the migrations the database has not seen and list them.
    Migrate {
        /// The service's data directory (with holdout.db).
        #[arg(long)]
        data_dir: PathBuf,
    },
}

pub fn run(args: &Args) -> Outcome {
    match &args.command {
        Command::Backup { data_dir, out } => backup(data_dir, out),
        Command::Migrate { data_dir } => migrate(data_dir),
    }
}

fn existing(data_dir: &Path) -> Result<PathBuf, Failure> {
    let file = data_dir.join(db::FILE);
    if file.is_file() {
        Ok(file)
    } else {
        Err(Failure::BadInput(anyhow!("{} has no {}", data_dir.display(), db::FILE)))
    }
}

fn backup(data_dir: &Path, out: &Path) -> Outcome {
    let file = existing(data_dir)?;
    if out.symlink_metadata().is_ok() {
        return Err(Failure::BadInput(anyhow!("{} already exists; name a new file", out.display())));
    }
    if out.to_str().is_none() {
        return Err(Failure::BadInput(anyhow!("{}: SQLite needs a UTF-8 path", out.display())));
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(Failure::BadInput(anyhow!("{} is not a directory", parent.display())));
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        // As it is: a backup copies the database, it does not migrate it.
        let pool = db::connect(data_dir, false).await.map_err(|e| anyhow!("{}: {e}", file.display()))?;
        let outcome = db::backup(&pool, out).await;
        pool.close().await;
        outcome.map_err(|e| anyhow!("{} → {}: {e}", file.display(), out.display()))?;
        let bytes = std::fs::metadata(out).map_or(0, |m| m.len());
        say!("{}: snapshot written to {} ({bytes} bytes)", file.display(), out.display());
        Ok(())
    })
}

fn migrate(data_dir: &Path) -> Outcome {
    let file = existing(data_dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let pool = db::connect(data_dir, false).await.map_err(|e| anyhow!("{}: {e}", file.display()))?;
        let outcome = db::migrate(&pool).await;
        pool.close().await;
        let applied = outcome.map_err(|e| anyhow!("{}: {e}", file.display()))?;
        if applied.is_empty() {
            say!("{}: up to date, nothing to apply", file.display());
        }
        for (version, name) in applied {
            say!("{}: applied {version:04}_{name}", file.display());
        }
        Ok(())
    })
}
