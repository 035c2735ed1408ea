//! `holdout integrity --data-dir DIR CONTEST`: the judges' integrity report of a contest, read
//! offline from a service's data directory, as Markdown (Chinese or English) or JSON.

use std::io::Write as _;

use anyhow::anyhow;
use holdout_score::duplicates::DuplicateSettings;
use holdout_server::Config;
use holdout_server::integrity::{IntegrityError, Settings, markdown, run};
use holdout_server::web::Lang;

use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service's data directory (with holdout.db).
    #[command(flatten)]
    place: crate::place::Place,
    /// The contest.
    contest: String,
    /// The phase [default: the last one with a team's scored submission].
    #[arg(long)]
    phase: Option<String>,
    /// Near-duplicate pairs are flagged from this Spearman ρ of their deviations from the
    /// consensus.
    #[arg(long, default_value_t = holdout_score::duplicates::DEFAULT_THRESHOLD)]
    threshold: f64,
    /// Test rows sampled (seeded) for the near-duplicate search [default: 2000, divided by the
    /// number of classes for labels and class probabilities].
    #[arg(long)]
    sample_rows: Option<usize>,
    /// Near-duplicate pairs listed at most (the strongest).
    #[arg(long, default_value_t = holdout_score::duplicates::DEFAULT_MAX_PAIRS)]
    max_pairs: usize,
    /// The report as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
    /// The language of the Markdown report: zh (简体中文) or en [default: from `LC_ALL`,
    /// `LC_MESSAGES` or `LANG` — zh… is Chinese, anything else English].
    #[arg(long, value_parser = ["zh", "en"])]
    lang: Option<String>,
}

fn lang(args: &Args) -> Lang {
    let chosen = args.lang.as_deref().map(|l| l == "zh").or_else(|| {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
            .map(|l| l.starts_with("zh"))
    });
    if chosen == Some(true) { Lang::Zh } else { Lang::En }
}

pub fn run_command(args: &Args) -> Outcome {
    if !(args.threshold > -1.0 && args.threshold <= 1.0) {
        return Err(Failure::BadInput(anyhow!("--threshold is a correlation, above -1 and at most 1")));
    }
    let runtime = crate::serve::runtime()?;
    runtime.block_on(async {
        let state = args.place.open(false, Config { workers: 0, ..Config::default() }).await?;
        let duplicates =
            DuplicateSettings { threshold: args.threshold, max_pairs: args.max_pairs, ..DuplicateSettings::default() };
        let settings = Settings { phase: args.phase.clone(), sample_rows: args.sample_rows, duplicates };
        let report = match run(&state, &args.contest, settings).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Err(Failure::BadInput(anyhow!("no contest `{}` in {}", args.contest, args.place.label())));
            }
            Err(IntegrityError::NoPhase(p)) => {
                return Err(Failure::BadInput(anyhow!("contest `{}` has no phase `{p}`", args.contest)));
            }
            Err(e) => return Err(Failure::Runtime(anyhow!(e))),
        };
        state.pool.close().await;
        let text = if args.json {
            serde_json::to_string_pretty(&report).map_err(|e| Failure::Runtime(anyhow!(e)))? + "\n"
        } else {
            markdown(&report, lang(args))
        };
        std::io::stdout().lock().write_all(text.as_bytes())?;
        Ok(())
    })
}
