//! `holdout check`: validates a survey dataset or a contest definition and prints a summary.

use std::path::PathBuf;

use crate::Outcome;
use crate::files::{load_competition, load_dataset};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A survey dataset directory (with schema.toml) or a contest directory (with competition.toml).
    dir: PathBuf,
}

pub fn run(args: &Args) -> Outcome {
    if args.dir.join("competition.toml").is_file() {
        let (dataset, c) = load_competition(&args.dir)?;
        say!("contest {} ({} / {})", c.name, c.title.zh, c.title.en);
        say!("  survey      {} ({} columns)", dataset.survey.name, dataset.survey.columns.len());
        say!("  target      {} — {} task, primary metric {}", c.target.name, c.task.name(), c.primary_metric.name());
        say!("  features    {} columns; withheld as target sources: {}", c.features.len(), c.target.sources.join(", "));
        say!("  privacy     k = {}, {} quasi-identifiers", c.privacy.k, c.privacy.quasi_identifiers.len());
        for p in &c.phases {
            say!("  phase       {} {} → {} (UTC)", p.name, p.start.to_rfc3339(), p.end.to_rfc3339());
        }
    } else {
        let dataset = load_dataset(&args.dir)?;
        let s = &dataset.survey;
        say!("survey {} ({} / {})", s.name, s.zh, s.en);
        say!("  columns     {}", s.columns.len());
        say!("  hierarchies {}", dataset.hierarchies.keys().cloned().collect::<Vec<_>>().join(", "));
    }
    Ok(())
}
