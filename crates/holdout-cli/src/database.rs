//! `holdout db`: the operator's commands on the service's database. `backup` writes a
//! consistent snapshot of a SQLite data directory while the service runs (SQLite's
//! `VACUUM INTO`; PostgreSQL is backed up with `pg_dump`); `migrate` applies the migrations this
//! holdout knows (the service also applies them at start); `copy` moves a data directory into
//! an empty PostgreSQL database.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use holdout_server::db;

use crate::place::Place;
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Write a consistent snapshot of a data directory's database to OUT, even while the
    /// service runs (PostgreSQL: use `pg_dump`, see the README).
    Backup {
        /// The service's data directory (with holdout.db).
        #[arg(long)]
        data_dir: PathBuf,
        /// The snapshot to write (a new file; an existing one is refused).
        out: PathBuf,
    },
    /// Apply the migrations the database has not seen and list them.
    Migrate {
        #[command(flatten)]
        place: Place,
    },
    /// Copy a data directory (database, audit chain, stored files, contests' files) into an
    /// empty PostgreSQL database, which the service then runs on (`--database`).
    Copy {
        /// The data directory to copy (with holdout.db); read in one snapshot, never changed.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// The PostgreSQL database to copy into (migrated here; must hold no users, contests
        /// or audit entries).
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

pub fn run(args: &Args) -> Outcome {
    match &args.command {
        Command::Backup { data_dir, out } => backup(data_dir, out),
        Command::Migrate { place } => migrate(place),
        Command::Copy { from, to } => copy(from, to),
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

fn migrate(place: &Place) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let pool = place.connect(false).await?;
        let outcome = db::migrate(&pool).await;
        pool.close().await;
        let applied = outcome.map_err(|e| anyhow!("{}: {e}", place.label()))?;
        if applied.is_empty() {
            say!("{}: up to date, nothing to apply", place.label());
        }
        for (version, name) in applied {
            say!("{}: applied {version:04}_{name}", place.label());
        }
        Ok(())
    })
}

fn copy(from: &Path, to: &str) -> Outcome {
    let file = existing(from)?;
    let target = Place { data_dir: None, database: Some(to.to_owned()) };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        // The source is brought to this holdout's schema first, so both have the same tables.
        let source = db::open(from, false).await.map_err(|e| anyhow!("{}: {e}", file.display()))?;
        let into = db::open_at(&target.location(), false).await.map_err(|e| anyhow!("{}: {e}", target.label()))?;
        let outcome = db::copy::copy(&source, from, &into).await;
        source.close().await;
        into.close().await;
        let copied = match outcome {
            Ok(copied) => copied,
            Err(e) => {
                // Copying into a database in use is the user's mistake, not a failure of the copy.
                let mistake = matches!(e, db::DbError::NotEmpty);
                let e = anyhow!("{} → {}: {e}", file.display(), target.label());
                return Err(if mistake { Failure::BadInput(e) } else { Failure::Runtime(e) });
            }
        };
        let rows: u64 = copied.rows.iter().map(|(_, n)| n).sum();
        say!(
            "{} copied to {}: {rows} rows, {} files ({} bytes)",
            file.display(),
            target.label(),
            copied.files,
            copied.bytes
        );
        for (table, n) in copied.rows.iter().filter(|(_, n)| *n > 0) {
            say!("  {table}: {n}");
        }
        Ok(())
    })
}
