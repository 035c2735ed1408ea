//! `holdout receipt verify`: checks a signed score receipt offline — its canonical form, that
//! the contest's key signed it, the Ed25519 signature — and prints what it attests. After the
//! reveal, `--private DIR SUBMISSION` also checks the published solution and salt against the
//! receipt's commitment and the file against its SHA-256, and rescores the file with
//! `holdout-score` as the service does: the same validator, the same metric list, the same
//! subsets. Scores are compared exactly, as IEEE-754 doubles: the receipt holds the very double
//! the service recorded (the shortest decimal that reads back as it).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use holdout_prepare::manifest;
use holdout_score::evaluate::evaluate;
use holdout_score::solution::Solution;
use holdout_score::submission::parse;
use holdout_server::receipt::{self, Receipt};
use holdout_server::state;

use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check a receipt's signature offline and print what it attests; with `--private DIR
    /// SUBMISSION` (after the reveal) also rescore the submission against the published solution.
    Verify {
        /// The receipt file, as downloaded from the submissions page or the API.
        receipt: PathBuf,
        /// The contest's receipt key (its overview page and API show it): 64 hex digits, or a
        /// file holding them.
        #[arg(long)]
        key: String,
        /// The published private directory (solution.csv, salt.txt), after the reveal; give
        /// the submitted file after it.
        #[arg(long, value_name = "DIR", requires = "submission")]
        private: Option<PathBuf>,
        /// The submitted file (with --private).
        #[arg(requires = "private")]
        submission: Option<PathBuf>,
    },
}

fn bad(message: String) -> Failure {
    Failure::BadInput(anyhow!(message))
}

/// The key given as hex, or read from a file.
fn key(given: &str) -> Result<receipt::VerifyingKey, Failure> {
    if let Ok(k) = receipt::parse_key(given) {
        return Ok(k);
    }
    let path = Path::new(given);
    let text = fs::read_to_string(path)
        .map_err(|e| bad(format!("--key: `{given}` is neither 64 hex digits nor a file that can be read ({e})")))?;
    receipt::parse_key(&text).map_err(|e| bad(format!("--key: {}: {e}", path.display())))
}

fn score(value: Option<f64>) -> String {
    value.map_or_else(|| "undefined".to_owned(), |v| v.to_string())
}

pub fn run(args: &Args) -> Outcome {
    let Command::Verify { receipt: path, key: given, private, submission } = &args.command;
    let bytes = fs::read(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    let key = key(given)?;
    let r = receipt::verify(&bytes, &key).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    say!("{}: a valid {} signed by {}", path.display(), receipt::FORMAT, receipt::key_hex(&key));
    say!("  contest      {} (phase {})", r.contest, r.phase);
    say!("  submission   {} by team {}", r.submission, r.team);
    say!("  file sha256  {}", r.sha256);
    say!("  solution     commitment {}", r.solution_commitment);
    say!("  scored by    {}", r.scorer);
    for s in &r.scores {
        say!("  {} on {}: {}", r.metric.name(), s.subset, score(s.value));
    }
    if !r.scores.iter().any(|s| s.subset.ends_with("private")) {
        say!("  (no private score: the receipt was issued before the private board was revealed)");
    }
    say!("  issued at    {}, audit log entry {} ({})", r.issued_at, r.audit_seq, r.audit_head);
    if let (Some(dir), Some(file)) = (private, submission) {
        rescore(&r, dir, file)?;
    }
    Ok(())
}

/// The published solution against the commitment, the file against its SHA-256, and the
/// file rescored against the receipt's scores.
fn rescore(r: &Receipt, dir: &Path, file: &Path) -> Outcome {
    let (salt_path, solution_path) = (dir.join("salt.txt"), dir.join("solution.csv"));
    let salt = fs::read_to_string(&salt_path).map_err(|e| bad(format!("cannot read {}: {e}", salt_path.display())))?;
    let salt = manifest::parse_salt(&salt)
        .ok_or_else(|| bad(format!("{}: not a salt (64 hex digits)", salt_path.display())))?;
    let solution =
        fs::read(&solution_path).map_err(|e| bad(format!("cannot read {}: {e}", solution_path.display())))?;
    let committed = manifest::commitment(&salt, &solution);
    if committed != r.solution_commitment {
        return Err(bad(format!(
            "{} and {} do not match the receipt's solution commitment: sha256(salt ‖ solution) is {committed}, \
             the receipt says {}",
            salt_path.display(),
            solution_path.display(),
            r.solution_commitment
        )));
    }
    say!("  solution     {} and salt.txt match the commitment", solution_path.display());

    let (_, sha) = crate::prepare::hash_file(file).map_err(|e| bad(format!("{e:#}")))?;
    if sha != r.sha256 {
        return Err(bad(format!(
            "{} is not the file the receipt is for: its sha256 is {sha}, the receipt says {}",
            file.display(),
            r.sha256
        )));
    }
    say!("  file         {} has the receipt's sha256", file.display());

    // As the service scores it (worker::score): the solution with the contest's labels, the
    // submission through the one validator, every applicable metric with the primary first.
    let task = state::task(&r.task, &r.labels);
    let solution =
        Solution::read(solution.as_slice(), &r.labels).map_err(|e| bad(format!("{}: {e}", solution_path.display())))?;
    let source = std::io::BufReader::with_capacity(1 << 16, fs::File::open(file)?);
    let predictions = parse(source, r.prediction_format, &r.labels, u64::MAX)
        .and_then(|p| p.check(&solution.ids))
        .map_err(|e| bad(format!("{} is not a valid submission:\n{e}", file.display())))?;
    let metrics = state::metrics(&task, r.prediction_format, r.metric);
    let results = evaluate(&solution, &predictions, &metrics, r.metric, None);
    let mut problems = Vec::new();
    let mut same = Vec::new();
    for s in &r.scores {
        let Some(found) = results.iter().find(|x| x.subset.name == s.subset) else {
            problems.push(format!("the solution has no subset `{}`", s.subset));
            continue;
        };
        let rescored = found.scores.first().and_then(|(_, v)| v.value());
        // Exact: both are the double the scorer computed (never NaN: undefined is `None`).
        if rescored == s.value {
            same.push(format!("{} {}", s.subset, score(rescored)));
        } else {
            problems.push(format!(
                "{} on {}: rescored {}, the receipt says {}",
                r.metric.name(),
                s.subset,
                score(rescored),
                score(s.value)
            ));
        }
    }
    if !problems.is_empty() {
        return Err(bad(format!("rescoring does not reproduce the receipt:\n  - {}", problems.join("\n  - "))));
    }
    if same.is_empty() {
        say!("  rescored     nothing to compare: the receipt carries no score");
    } else {
        say!("  rescored     {} — equal to the receipt's", same.join(", "));
    }
    Ok(())
}
