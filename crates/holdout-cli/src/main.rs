//! `holdout`: the one binary. Parses arguments, sets up logging and progress, does all file IO
//! and maps failures to exit codes (0 success, 1 runtime error, 2 bad input or usage).

/// Prints a line to stdout; a closed pipe (`holdout … | head`) is not an error worth a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod audit;
mod baseline;
mod check;
mod client;
mod database;
mod demo;
mod files;
mod integrity;
mod place;
mod prepare;
mod progress;
mod receipt;
mod rescore;
mod schema;
mod score;
mod serve;
mod synth;
mod utility;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// holdout — a harness for data-mining contests on survey data.
#[derive(Debug, Parser)]
#[command(name = "holdout", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// No progress bars and only errors on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The whole harness at once: a synthetic survey, three contests, baselines, people and
    /// submissions, served on 127.0.0.1:8080 (a second run reuses what exists).
    Demo(demo::Args),
    /// Generate a realistic synthetic raw survey export (CSV or Parquet).
    Synth(synth::Args),
    /// Validate a survey dataset directory or a contest definition and summarize it.
    Check(check::Args),
    /// Write a survey schema skeleton from the survey platform's form definition.
    Schema(schema::Args),
    /// Screen, anonymize and split a raw export into a publishable contest bundle.
    Prepare(prepare::Args),
    /// Check a bundle's files (and its solution commitment) against MANIFEST.json.
    Verify(prepare::VerifyArgs),
    /// Check a submission against a bundle's public files, offline (no labels needed).
    Validate(score::ValidateArgs),
    /// Validate and score a submission against a bundle's private solution.
    Score(score::ScoreArgs),
    /// Compare two submissions on the primary metric over the same bootstrap resamples.
    Compare(score::CompareArgs),
    /// Train the baseline models on a bundle, cross-validate them and write their submissions.
    Baseline(baseline::Args),
    /// Check the service's hash-chained audit log offline.
    Audit(audit::Args),
    /// Back up (a consistent snapshot, while the service runs) or migrate a data directory's
    /// database.
    Db(database::Args),
    /// Check a signed score receipt offline (and, after the reveal, rescore its submission).
    Receipt(receipt::Args),
    /// The judges' integrity report of a contest (boards' agreement, probing, near-duplicate
    /// files across teams, shared files, changed rescores), from a data directory.
    Integrity(integrity::Args),
    /// Score every submission of a contest again (e.g. after a scorer fix), audit each change
    /// and publish the boards' old → new ranks.
    Rescore(rescore::Args),
    /// Run the leaderboard service (JSON API and scoring workers) on a data directory or a
    /// PostgreSQL database (any number of replicas).
    Serve(serve::ServeArgs),
    /// Score the queue of a PostgreSQL database, with no HTTP (any number, on any machines).
    Worker(serve::WorkerArgs),
    /// Load a prepared contest bundle (and its baselines) into a data directory.
    Contest(serve::ContestArgs),
    /// Create an account on the server machine (the first organizer is made this way).
    User(serve::UserArgs),
    /// Issue an API token for an account on the server machine.
    Token(serve::TokenArgs),
    /// Print the service's `OpenAPI` document, generated from its code (`--write FILE` to save
    /// it: `holdout openapi --write leaderboard/openapi.json`).
    Openapi(serve::OpenapiArgs),
    /// Upload a submission to a running service (validated locally first).
    Submit(client::SubmitArgs),
    /// List your team's submissions on a running service.
    Submissions(client::ListArgs),
    /// Show a contest's leaderboard on a running service.
    Leaderboard(client::BoardArgs),
    /// Select your team's submissions for the final ranking.
    Select(client::SelectArgs),
}

/// A failure and the exit code it maps to.
#[derive(Debug)]
pub enum Failure {
    /// The user's input is wrong (exit 2).
    BadInput(anyhow::Error),
    /// Something went wrong while doing the work (exit 1).
    Runtime(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Runtime(e.into())
    }
}

pub type Outcome = Result<(), Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();

    let progress = progress::Progress::new(cli.quiet);
    let outcome = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Synth(args) => synth::run(&args, progress, cli.quiet),
        Command::Check(args) => check::run(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Prepare(args) => prepare::run(&args),
        Command::Verify(args) => prepare::verify(&args),
        Command::Validate(args) => score::run_validate(&args),
        Command::Score(args) => score::run_score(&args),
        Command::Compare(args) => score::run_compare(&args),
        Command::Baseline(args) => baseline::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Db(args) => database::run(&args),
        Command::Receipt(args) => receipt::run(&args),
        Command::Integrity(args) => integrity::run_command(&args),
        Command::Rescore(args) => rescore::run(&args),
        Command::Serve(args) => serve::serve(&args),
        Command::Worker(args) => serve::worker(&args),
        Command::Contest(args) => serve::contest(&args),
        Command::User(args) => serve::user(&args),
        Command::Token(args) => serve::token(&args),
        Command::Openapi(args) => serve::openapi(&args),
        Command::Submit(args) => client::submit(&args),
        Command::Submissions(args) => client::submissions(&args),
        Command::Leaderboard(args) => client::leaderboard(&args),
        Command::Select(args) => client::select(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
