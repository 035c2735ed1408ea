//! `holdout check`: validates a survey dataset or a contest definition and prints a summary;
//! with `--raw`, checks only that export files map onto the survey (headers, labels, matrix
//! rows, times) and prints every problem.

use std::path::PathBuf;

use anyhow::anyhow;
use holdout_prepare::keys::Secret;

use crate::files::{load_competition, load_dataset};
use crate::prepare::{input_files, tduck_reader};
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A survey dataset directory (with schema.toml) or a contest directory (with competition.toml).
    dir: PathBuf,
    /// Export files (or directories of them) to check against the survey's mapping: nothing is
    /// prepared or written.
    #[arg(long)]
    raw: Vec<PathBuf>,
    /// The time zone the platform wrote its zone-less times in (default: the schema's).
    #[arg(long)]
    raw_timezone: Option<String>,
}

/// `--raw`: the mapping check alone, every problem listed, exit 2 if there is any.
fn check_raw(args: &Args) -> Outcome {
    let dataset = if args.dir.join("competition.toml").is_file() {
        load_competition(&args.dir)?.0
    } else {
        load_dataset(&args.dir)?
    };
    // Identifiers are keyed with a throw-away key: nothing keyed leaves this command.
    let secret = Secret::new(&[0x5a; 32]).map_err(|e| Failure::Runtime(anyhow!("{e}")))?;
    let files = input_files(&args.raw)?;
    let reader = tduck_reader(&dataset, &secret, &files, args.raw_timezone.as_deref(), &[])?;
    for (file, found) in reader.found() {
        say!("{file}: {found}");
    }
    let problems = reader.problems();
    if problems.is_empty() {
        say!("every header, label, matrix row and time maps onto {}", dataset.survey.name);
        return Ok(());
    }
    say!("| file | header or column | problem | rows | first rows | other values |");
    say!("|---|---|---|---:|---|---|");
    for p in &problems.problems {
        let first: Vec<String> = p.first.iter().map(ToString::to_string).collect();
        say!(
            "| {} | {} | {} | {} | {} | {} |",
            p.file,
            p.column.as_deref().unwrap_or(""),
            p.message.replace('|', "\\|"),
            p.count,
            first.join(", "),
            p.other_values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
        );
    }
    Err(Failure::BadInput(anyhow!("{} kind(s) of problem; see the table above", problems.problems.len())))
}

pub fn run(args: &Args) -> Outcome {
    if !args.raw.is_empty() {
        return check_raw(args);
    }
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
