//! `holdout audit verify`: checks the audit log of a data directory or a PostgreSQL database offline — every entry linked to
//! the one before by its hash, every hash recomputed from the entry's content.

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
        #[command(flatten)]
        place: crate::place::Place,
    },
}

pub fn run(args: &Args) -> Outcome {
    let Command::Verify { place } = &args.command;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let pool = place.connect(false).await?;
        // Read as it is: a check changes nothing (migrations are not applied).
        let outcome = db::verify(&pool).await;
        pool.close().await;
        match outcome {
            Ok(n) => {
                say!("{}: audit log intact, {n} entries", place.label());
                Ok(())
            }
            Err(e) => Err(Failure::Runtime(anyhow!("{}: {e}", place.label()))),
        }
    })
}
