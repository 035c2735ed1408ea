//! `holdout rescore --all --data-dir DIR CONTEST`: scores every scored submission of a contest
//! again (e.g. after a scorer fix) with this binary's scorer, audits each changed score, and
//! publishes (audit log) and prints the boards' old → new ranks.

use anyhow::anyhow;
use holdout_server::{Config, worker};

use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Every scored submission of the contest (the only mode so far; a single submission is
    /// rescored through the API).
    #[arg(long, required = true)]
    all: bool,
    /// The service's data directory (with holdout.db).
    #[command(flatten)]
    place: crate::place::Place,
    /// The contest.
    contest: String,
    /// Scoring workers.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Bootstrap replicates for each score's interval (as the service was started with).
    #[arg(long, default_value_t = 1000)]
    replicates: usize,
    /// Who the audit log names.
    #[arg(long, default_value = "system:rescore-all")]
    actor: String,
    /// The result as JSON.
    #[arg(long)]
    json: bool,
}

fn opt<T: std::fmt::Display>(x: Option<T>) -> String {
    x.map_or_else(|| "—".to_owned(), |v| v.to_string())
}

pub fn run(args: &Args) -> Outcome {
    let runtime = crate::serve::runtime()?;
    runtime.block_on(async {
        let config = Config { workers: args.workers.max(1), replicates: args.replicates, ..Config::default() };
        let state = args.place.open(false, config).await?;
        let workers = worker::spawn(&state, args.workers.max(1));
        let outcome = holdout_server::rescore::rescore_all(&state, &args.contest, &args.actor).await;
        for w in workers {
            w.abort();
        }
        let result = match outcome {
            Ok(Some(r)) => r,
            Ok(None) => return Err(Failure::BadInput(anyhow!("no contest `{}` in {}", args.contest, args.place.label()))),
            Err(e) => return Err(Failure::Runtime(anyhow!(e))),
        };
        state.pool.close().await;
        if args.json {
            say!("{}", serde_json::to_string_pretty(&result).map_err(|e| Failure::Runtime(anyhow!(e)))?);
            return Ok(());
        }
        say!(
            "{}: {} submissions rescored (audit #{}), {} scores changed, {} board rows changed (published as audit #{})",
            result.contest,
            result.submissions,
            result.started_seq,
            result.changed.len(),
            result.ranks.len(),
            result.published_seq
        );
        for c in &result.changed {
            say!(
                "  submission {} ({}): public {} → {}, private {} → {}",
                c.submission_id,
                c.team,
                opt(c.previous_public),
                opt(c.public),
                opt(c.previous_private),
                opt(c.private)
            );
        }
        for r in &result.ranks {
            say!(
                "  {} {} board, {}: rank {} → {}, score {} → {}",
                r.phase,
                r.board,
                r.team,
                opt(r.old_rank),
                opt(r.new_rank),
                opt(r.old_score),
                opt(r.new_score)
            );
        }
        Ok(())
    })
}
