//! `holdout validate` (a competitor's offline check against the public bundle) and
//! `holdout score` (an organizer's or judge's scoring against the private solution). Both use
//! the one validator of `holdout-score`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use holdout_prepare::manifest::Manifest;
use holdout_schema::{Metric, PredictionFormat, Task};
use holdout_score::metrics::{Predictions, Score, Truth, applicable, score};
use holdout_score::submission::{Expected, validate};

use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The bundle's public directory (MANIFEST.json, test.csv).
    public: PathBuf,
    /// The submission CSV.
    submission: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// `PRIVATE SUBMISSION`: a bundle's private directory (solution.csv; its sibling public/
    /// holds MANIFEST.json) and the submission — or only `SUBMISSION` with `--solution`.
    #[arg(num_args = 1..=2, required = true, value_name = "PATHS")]
    paths: Vec<PathBuf>,
    /// A bare solution file (`id,target[,usage]`) instead of a bundle.
    #[arg(long, requires = "task")]
    solution: Option<PathBuf>,
    /// The task of a bare solution.
    #[arg(long, value_parser = ["binary", "multiclass", "ordinal", "regression"])]
    task: Option<String>,
    /// Class labels of a bare multiclass or ordinal solution, e.g. `1,2,3,4,5`.
    #[arg(long, value_delimiter = ',')]
    labels: Vec<i64>,
    /// Print every metric of every subset as JSON.
    #[arg(long)]
    json: bool,
    /// Bootstrap replicates for the primary metric's 95 % interval (0 for none).
    #[arg(long, default_value_t = holdout_score::bootstrap::DEFAULT_REPLICATES)]
    replicates: usize,
    /// Seed of the bootstrap resamples (keep it fixed so intervals of submissions are paired).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn bad(message: String) -> Failure {
    Failure::BadInput(anyhow!(message))
}

fn manifest(public: &Path) -> Result<Manifest, Failure> {
    let path = public.join("MANIFEST.json");
    let text = fs::read_to_string(&path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| bad(format!("{}: not a holdout manifest: {e}", path.display())))
}

/// The first column of a CSV file, after its header.
fn first_column(path: &Path) -> Result<Vec<String>, Failure> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    reader
        .records()
        .map(|r| {
            r.map(|r| r.get(0).unwrap_or_default().to_owned()).map_err(|e| bad(format!("{}: {e}", path.display())))
        })
        .collect()
}

/// What is scored, from a bundle's manifest or from the command line.
struct Spec {
    contest: String,
    task: Task,
    labels: Vec<i64>,
    format: PredictionFormat,
    primary: Metric,
    max_bytes: u64,
}

impl Spec {
    fn of(m: &Manifest) -> Spec {
        Spec {
            contest: m.contest.clone(),
            task: task(m),
            labels: m.submission.labels.clone(),
            format: m.submission.prediction_format,
            primary: m.submission.primary_metric,
            max_bytes: u64::from(m.submission.max_file_mb) * 1_000_000,
        }
    }

    /// A bare solution's spec: the format is read off the submission's header.
    fn bare(args: &ScoreArgs, submission: &Path) -> Result<Spec, Failure> {
        let name = args.task.as_deref().unwrap_or_default();
        let labels = match name {
            "binary" => vec![0, 1],
            "regression" => Vec::new(),
            _ if args.labels.len() >= 2 => args.labels.clone(),
            _ => return Err(bad(format!("the {name} task needs --labels, e.g. --labels 1,2,3,4,5"))),
        };
        let task = match name {
            "binary" => Task::Binary,
            "multiclass" => Task::Multiclass { labels: labels.clone() },
            "ordinal" => Task::Ordinal { labels: labels.clone() },
            _ => Task::Regression,
        };
        let header = first_line(submission)?;
        let second = header.split(',').nth(1).unwrap_or_default().trim().trim_matches('"').to_owned();
        let format = match second.as_str() {
            "label" => PredictionFormat::Label,
            "probability" => PredictionFormat::Probability,
            "value" => PredictionFormat::Value,
            _ if !labels.is_empty() => PredictionFormat::ClassProbabilities,
            _ => PredictionFormat::Value,
        };
        let primary = match (&task, format) {
            (Task::Binary, PredictionFormat::Probability) => Metric::RocAuc,
            (Task::Ordinal { .. }, _) => Metric::CohenKappaQuadratic,
            (Task::Regression, _) => Metric::Rmse,
            (_, PredictionFormat::ClassProbabilities) => Metric::LogLoss,
            _ => Metric::Accuracy,
        };
        Ok(Spec { contest: "solution".into(), task, labels, format, primary, max_bytes: u64::MAX - 1 })
    }
}

fn first_line(path: &Path) -> Result<String, Failure> {
    use std::io::BufRead;
    let file = fs::File::open(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    let mut line = String::new();
    let _ = std::io::BufReader::new(file).read_line(&mut line);
    Ok(line.trim_start_matches('\u{feff}').trim_end().to_owned())
}

fn read_submission(path: &Path, ids: &[String], spec: &Spec) -> Result<Predictions, Failure> {
    let file = fs::File::open(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    let expected = Expected { ids, format: spec.format, labels: &spec.labels, max_bytes: spec.max_bytes };
    validate(std::io::BufReader::new(file), &expected)
        .map_err(|e| bad(format!("{} is not a valid submission:\n{e}", path.display())))
}

pub fn run_validate(args: &ValidateArgs) -> Outcome {
    let m = manifest(&args.public)?;
    let ids = first_column(&args.public.join("test.csv"))?;
    let predictions = read_submission(&args.submission, &ids, &Spec::of(&m))?;
    say!(
        "{}: a valid submission to {} — {} predictions, header `{}`",
        args.submission.display(),
        m.contest,
        predictions.len(),
        m.submission.columns.join(",")
    );
    Ok(())
}

fn task(m: &Manifest) -> Task {
    let labels = m.submission.labels.clone();
    match m.submission.task.as_str() {
        "binary" => Task::Binary,
        "multiclass" => Task::Multiclass { labels },
        "ordinal" => Task::Ordinal { labels },
        _ => Task::Regression,
    }
}

/// Rows of one subset of the solution.
struct Subset {
    name: String,
    rows: Vec<usize>,
}

pub fn run_score(args: &ScoreArgs) -> Outcome {
    let (spec, solution_path, submission) = match (&args.solution, args.paths.as_slice()) {
        (Some(solution), [submission]) => (Spec::bare(args, submission)?, solution.clone(), submission.clone()),
        (None, [private, submission]) => {
            let public = private.parent().unwrap_or(Path::new(".")).join("public");
            (Spec::of(&manifest(&public)?), private.join("solution.csv"), submission.clone())
        }
        (Some(_), _) => return Err(bad("with --solution, give only the submission".into())),
        (None, _) => return Err(bad("give the bundle's private directory and the submission".into())),
    };
    let mut reader = csv::Reader::from_path(&solution_path)
        .map_err(|e| bad(format!("cannot read {}: {e}", solution_path.display())))?;
    let header = reader.headers().map_err(|e| bad(format!("{}: {e}", solution_path.display())))?.clone();
    let usage_column = header.iter().position(|h| h == "usage");
    let board = header.iter().position(|h| h == "board");
    let (mut ids, mut targets, mut usage, mut boards) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for record in reader.records() {
        let r = record.map_err(|e| bad(format!("{}: {e}", solution_path.display())))?;
        let line = r.position().map_or(0, csv::Position::line);
        if r.len() < 2 {
            return Err(bad(format!("{}:{line}: expected `id,target[,usage]`", solution_path.display())));
        }
        ids.push(r[0].to_owned());
        let target = r[1].parse::<f64>().ok().filter(|t| t.is_finite());
        let target = target.filter(|t| spec.labels.is_empty() || spec.labels.iter().any(|&l| l as f64 == *t));
        targets.push(target.ok_or_else(|| {
            bad(format!("{}:{line}: target `{}` is not a number of the task's labels", solution_path.display(), &r[1]))
        })?);
        usage.push(usage_column.map(|u| r[u].to_owned()).unwrap_or_default());
        boards.push(board.map(|b| r[b].to_owned()));
    }
    let predictions = read_submission(&submission, &ids, &spec)?;
    let Spec { task, labels, .. } = &spec;
    let truth_of = |rows: &[usize]| -> Truth {
        if matches!(task, Task::Regression) {
            Truth::Values(rows.iter().map(|&i| targets[i]).collect())
        } else {
            Truth::Classes(
                rows.iter().map(|&i| labels.iter().position(|&l| l as f64 == targets[i]).unwrap_or(0)).collect(),
            )
        }
    };
    let mut subsets = vec![Subset { name: "all".into(), rows: (0..ids.len()).collect() }];
    for u in ["public", "private"] {
        subsets.push(Subset { name: u.into(), rows: (0..ids.len()).filter(|&i| usage[i] == u).collect() });
    }
    if board.is_some() {
        for b in ["a", "b"] {
            for u in ["public", "private"] {
                let rows = (0..ids.len()).filter(|&i| usage[i] == u && boards[i].as_deref() == Some(b)).collect();
                subsets.push(Subset { name: format!("{b}_{u}"), rows });
            }
        }
    }
    let metrics: Vec<Metric> = applicable(task, spec.format);
    let mut report = serde_json::Map::new();
    for subset in subsets.iter().filter(|s| !s.rows.is_empty()) {
        let truth = truth_of(&subset.rows);
        let p = predictions.select(&subset.rows);
        let mut values = serde_json::Map::new();
        for &metric in &metrics {
            let v = match score(metric, labels, &truth, &p) {
                Score::Value(v) => serde_json::json!(v),
                Score::Undefined(why) => serde_json::json!({ "undefined": why }),
            };
            values.insert(metric.name().to_owned(), v);
        }
        values.insert("rows".into(), serde_json::json!(subset.rows.len()));
        if args.replicates > 0 {
            let ci =
                holdout_score::bootstrap::interval(spec.primary, labels, &truth, &p, args.replicates, args.seed, 0.95);
            values.insert(
                "primary_interval_95".into(),
                match ci {
                    Ok(i) => serde_json::json!({ "low": i.low, "high": i.high, "replicates": i.replicates }),
                    Err(why) => serde_json::json!({ "undefined": why }),
                },
            );
        }
        report.insert(subset.name.clone(), serde_json::Value::Object(values));
    }
    if args.json {
        say!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let primary = spec.primary;
    say!("{} — {} (primary: {})", spec.contest, submission.display(), primary.name());
    for (name, values) in &report {
        let cells: Vec<String> = metrics
            .iter()
            .map(|metric| {
                let v = &values[metric.name()];
                let shown = v.as_f64().map_or_else(|| "undefined".to_owned(), |x| format!("{x:.6}"));
                format!("{}={shown}", metric.name())
            })
            .collect();
        let ci = values.get("primary_interval_95").and_then(|v| Some((v["low"].as_f64()?, v["high"].as_f64()?)));
        let ci = ci.map_or(String::new(), |(lo, hi)| format!(" 95% CI of {}: [{lo:.6}, {hi:.6}]", primary.name()));
        say!("  {name:<10} rows={:<8} {}{ci}", values["rows"], cells.join(" "));
    }
    Ok(())
}
