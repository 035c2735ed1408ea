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
        println!("contest {} ({} / {})", c.name, c.title.zh, c.title.en);
        println!("  survey      {} ({} columns)", dataset.survey.name, dataset.survey.columns.len());
        println!(
            "  target      {} — {} task, primary metric {}",
            c.target.name,
            c.task.name(),
            c.primary_metric.name()
        );
        println!(
            "  features    {} columns; withheld as target sources: {}",
            c.features.len(),
            c.target.sources.join(", ")
        );
        println!("  privacy     k = {}, {} quasi-identifiers", c.privacy.k, c.privacy.quasi_identifiers.len());
        for p in &c.phases {
            println!("  phase       {} {} → {} (UTC)", p.name, p.start.to_rfc3339(), p.end.to_rfc3339());
        }
    } else {
        let dataset = load_dataset(&args.dir)?;
        let s = &dataset.survey;
        println!("survey {} ({} / {})", s.name, s.zh, s.en);
        println!("  columns     {}", s.columns.len());
        println!("  hierarchies {}", dataset.hierarchies.keys().cloned().collect::<Vec<_>>().join(", "));
    }
    Ok(())
}
