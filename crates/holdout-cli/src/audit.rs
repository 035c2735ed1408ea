//! `holdout audit verify`: checks a data directory's audit log offline — every entry linked to
//! the one before by its hash, every hash recomputed from the entry's content.

use std::path::PathBuf;

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
    /// Check the hash chain of the audit log.
    Verify {
        /// The service's data directory (with holdout.db).
        #[arg(long)]
        data_dir: PathBuf,
    },
}

pub fn run(args: &Args) -> Outcome {
    let Command::Verify { data_dir } = &args.command;
    if !data_dir.join(db::FILE).is_file() {
        return Err(Failure::BadInput(anyhow!("{} has no {}", data_dir.display(), db::FILE)));
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let pool = db::open(data_dir, false).await.map_err(|e| Failure::Runtime(anyhow!(e)))?;
        let outcome = db::verify(&pool).await;
        pool.close().await;
        match outcome {
            Ok(n) => {
                say!("{}: audit log intact, {n} entries", data_dir.join(db::FILE).display());
                Ok(())
            }
            Err(e) => Err(Failure::Runtime(anyhow!("{}: {e}", data_dir.join(db::FILE).display()))),
        }
    })
}
