//! `holdout validate` (a competitor's offline check against the public bundle), `holdout
//! score` (an organizer's or judge's scoring against the private solution) and `holdout
//! compare` (two submissions over the same bootstrap resamples). All use the one validator,
//! solution reader and scorer of `holdout-score`.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use holdout_prepare::manifest::Manifest;
use holdout_schema::{Metric, PredictionFormat, Task};
use holdout_score::bootstrap::DEFAULT_REPLICATES;
use holdout_score::evaluate::{Bootstrap, compare, evaluate};
use holdout_score::i18n::Lang;
use holdout_score::ids::TestIds;
use holdout_score::metrics::{Predictions, Score, applicable};
use holdout_score::solution::Solution;
use holdout_score::submission::{Parsed, parse};
use serde_json::{Value, json};

use crate::{Failure, Outcome};

/// The level of every interval shown.
const LEVEL: f64 = 0.95;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The bundle's public directory (MANIFEST.json, test.csv).
    public: PathBuf,
    /// The submission CSV.
    submission: PathBuf,
    #[command(flatten)]
    lang: LangArgs,
}

/// The language a submission's problems are told in; shared by every command that validates one.
#[derive(Debug, clap::Args)]
pub struct LangArgs {
    /// The language of the problems found in the submission: zh (简体中文) or en [default: from
    /// `LC_ALL`, `LC_MESSAGES` or `LANG` — zh… is Chinese, anything else English]
    #[arg(long, value_parser = ["zh", "en"])]
    lang: Option<String>,
}

impl LangArgs {
    pub(crate) fn lang(&self) -> Lang {
        self.lang.as_deref().and_then(Lang::parse).unwrap_or_else(|| {
            // POSIX's order: the first of these that is set and not empty decides.
            let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
            locale.map_or(Lang::En, |l| Lang::from_locale(&l))
        })
    }
}

/// Where the truth comes from, and how to show results; shared by `score` and `compare`.
#[derive(Debug, clap::Args)]
pub struct SolutionArgs {
    /// A bare solution file (`id,target[,usage[,board]]`) instead of a bundle.
    #[arg(long, requires = "task")]
    solution: Option<PathBuf>,
    /// The task of a bare solution.
    #[arg(long, value_parser = ["binary", "multiclass", "ordinal", "regression"])]
    task: Option<String>,
    /// Class labels of a bare multiclass or ordinal solution, e.g. `1,2,3,4,5`.
    #[arg(long, value_delimiter = ',')]
    labels: Vec<i64>,
    /// The prediction format with a bare solution (default: read off the submission's header:
    /// `label`, `probability`, `value`, or one column per class).
    #[arg(long, requires = "solution", value_parser = ["label", "probability", "class_probabilities", "value"])]
    format: Option<String>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Bootstrap replicates (0 for none).
    #[arg(long, default_value_t = DEFAULT_REPLICATES)]
    replicates: usize,
    /// Seed of the bootstrap resamples (keep it fixed so that submissions are paired).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    lang: LangArgs,
}

#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// `PRIVATE SUBMISSION`: a bundle's private directory (solution.csv; its sibling public/
    /// holds MANIFEST.json) and the submission — or only `SUBMISSION` with `--solution`.
    #[arg(num_args = 1..=2, required = true, value_name = "PATHS")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    common: SolutionArgs,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// `PRIVATE A B`: a bundle's private directory and two submissions — or only `A B` with
    /// `--solution`.
    #[arg(num_args = 2..=3, required = true, value_name = "PATHS")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    common: SolutionArgs,
}

pub(crate) fn bad(message: String) -> Failure {
    Failure::BadInput(anyhow!(message))
}

pub(crate) fn open(path: &Path) -> Result<BufReader<fs::File>, Failure> {
    let file = fs::File::open(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    Ok(BufReader::with_capacity(1 << 16, file))
}

pub(crate) fn manifest(public: &Path) -> Result<Manifest, Failure> {
    let path = public.join("MANIFEST.json");
    let text = fs::read_to_string(&path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| bad(format!("{}: not a holdout manifest: {e}", path.display())))
}

/// The ids in the first column of a CSV file, after its header.
pub(crate) fn test_ids(path: &Path) -> Result<TestIds, Failure> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(open(path)?);
    let (mut ids, mut lines) = (Vec::new(), Vec::new());
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|e| bad(format!("{}: {e}", path.display())))? {
        let line = record.position().map_or(0, csv::Position::line);
        let id = std::str::from_utf8(&record[0]).map_err(|_| bad(format!("{}:{line}: not UTF-8", path.display())))?;
        ids.push(id.to_owned());
        lines.push(line);
    }
    TestIds::build(ids.iter().map(String::as_str)).map_err(|d| {
        bad(format!("{}:{}: id `{}` repeats line {}", path.display(), lines[d.second], ids[d.second], lines[d.first]))
    })
}

/// What is scored, from a bundle's manifest or from the command line.
struct Spec {
    contest: String,
    task: Task,
    labels: Vec<i64>,
    format: PredictionFormat,
    primary: Metric,
    max_bytes: u64,
    /// The language of the submissions' problems.
    lang: Lang,
}

impl Spec {
    fn of(m: &Manifest) -> Spec {
        let labels = m.submission.labels.clone();
        let task = match m.submission.task.as_str() {
            "binary" => Task::Binary,
            "multiclass" => Task::Multiclass { labels: labels.clone() },
            "ordinal" => Task::Ordinal { labels: labels.clone() },
            _ => Task::Regression,
        };
        Spec {
            contest: m.contest.clone(),
            task,
            labels,
            format: m.submission.prediction_format,
            primary: m.submission.primary_metric,
            max_bytes: u64::from(m.submission.max_file_mb) * 1_000_000,
            lang: Lang::En,
        }
    }

    /// A bare solution's spec: the format is read off the submission's header.
    fn bare(args: &SolutionArgs, submission: &Path) -> Result<Spec, Failure> {
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
        let second = match &args.format {
            Some(format) => format.clone(),
            None => first_line(submission)?.split(',').nth(1).unwrap_or_default().trim().trim_matches('"').to_owned(),
        };
        let format = match second.as_str() {
            "class_probabilities" => PredictionFormat::ClassProbabilities,
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
        Ok(Spec { contest: "solution".into(), task, labels, format, primary, max_bytes: u64::MAX - 1, lang: Lang::En })
    }
}

fn first_line(path: &Path) -> Result<String, Failure> {
    use std::io::BufRead;
    let mut line = String::new();
    let _ = open(path)?.read_line(&mut line);
    Ok(line.trim_start_matches('\u{feff}').trim_end().to_owned())
}

pub(crate) fn invalid(path: &Path, e: &holdout_score::submission::Invalid) -> Failure {
    invalid_in(path, e, Lang::En)
}

/// A refused submission, every problem in `lang`.
pub(crate) fn invalid_in(path: &Path, e: &holdout_score::submission::Invalid, lang: Lang) -> Failure {
    let problems = e.render(lang);
    match lang {
        Lang::En => bad(format!("{} is not a valid submission:\n{problems}", path.display())),
        Lang::Zh => bad(format!("{} 不是有效的提交文件：\n{problems}", path.display())),
    }
}

/// Reads a submission as far as it can be checked without the test ids.
fn parse_submission(path: &Path, spec: &Spec) -> Result<Parsed, Failure> {
    parse(open(path)?, spec.format, &spec.labels, spec.max_bytes).map_err(|e| invalid_in(path, &e, spec.lang))
}

fn read_submission(path: &Path, ids: &TestIds, spec: &Spec) -> Result<Predictions, Failure> {
    parse_submission(path, spec)?.check(ids).map_err(|e| invalid_in(path, &e, spec.lang))
}

pub fn run_validate(args: &ValidateArgs) -> Outcome {
    let m = manifest(&args.public)?;
    let ids = test_ids(&args.public.join("test.csv"))?;
    let spec = Spec { lang: args.lang.lang(), ..Spec::of(&m) };
    let predictions = read_submission(&args.submission, &ids, &spec)?;
    say!(
        "{}: a valid submission to {} — {} predictions, header `{}`",
        args.submission.display(),
        m.contest,
        predictions.len(),
        m.submission.columns.join(",")
    );
    Ok(())
}

/// A validated submission and its path.
type Submission = (PathBuf, Predictions);

/// The spec, the solution and the validated submissions of `score` or `compare`. The solution
/// is read on another thread while the first submission is parsed.
fn load(
    common: &SolutionArgs,
    paths: &[PathBuf],
    submissions: usize,
) -> Result<(Spec, Solution, Vec<Submission>), Failure> {
    let (spec, solution_path, subs) = match (&common.solution, paths.len() - submissions) {
        (Some(solution), 0) => (Spec::bare(common, &paths[0])?, solution.clone(), paths.to_vec()),
        (None, 1) => {
            let private = &paths[0];
            let public = private.parent().unwrap_or(Path::new(".")).join("public");
            (Spec::of(&manifest(&public)?), private.join("solution.csv"), paths[1..].to_vec())
        }
        (Some(_), _) => return Err(bad(format!("with --solution, give only the {submissions} submission path(s)"))),
        (None, _) => return Err(bad("give the bundle's private directory before the submission path(s)".into())),
    };
    let spec = Spec { lang: common.lang.lang(), ..spec };
    let labels: &[i64] = if matches!(spec.task, Task::Regression) { &[] } else { &spec.labels };
    let source = open(&solution_path)?;
    let (solution, first) = std::thread::scope(|scope| {
        let solution = scope.spawn(|| Solution::read(source, labels));
        let first = parse_submission(&subs[0], &spec);
        (solution.join().expect("reading the solution does not panic"), first)
    });
    let solution = solution.map_err(|e| bad(format!("{}: {e}", solution_path.display())))?;
    let checked = first?.check(&solution.ids).map_err(|e| invalid_in(&subs[0], &e, spec.lang))?;
    let mut predictions = vec![(subs[0].clone(), checked)];
    for path in &subs[1..] {
        predictions.push((path.clone(), read_submission(path, &solution.ids, &spec)?));
    }
    Ok((spec, solution, predictions))
}

pub(crate) fn json_score(score: Score) -> Value {
    match score {
        Score::Value(v) => json!(v),
        Score::Undefined(why) => json!({ "undefined": why }),
    }
}

fn shown(score: Score) -> String {
    score.value().map_or_else(|| "undefined".to_owned(), |x| format!("{x:.6}"))
}

pub fn run_score(args: &ScoreArgs) -> Outcome {
    let common = &args.common;
    let (spec, solution, submissions) = load(common, &args.paths, 1)?;
    let (path, predictions) = &submissions[0];
    let metrics = applicable(&spec.task, spec.format);
    let bootstrap =
        (common.replicates > 0).then_some(Bootstrap { replicates: common.replicates, seed: common.seed, level: LEVEL });
    let report = evaluate(&solution, predictions, &metrics, spec.primary, bootstrap);
    if common.json {
        let mut out = serde_json::Map::new();
        for s in &report {
            let mut values: serde_json::Map<String, Value> =
                s.scores.iter().map(|&(m, score)| (m.name().to_owned(), json_score(score))).collect();
            values.insert("rows".into(), json!(s.subset.rows));
            if let Some(ci) = s.interval {
                values.insert(
                    "primary_interval_95".into(),
                    match ci {
                        Ok(i) => json!({ "low": i.low, "high": i.high, "replicates": i.replicates, "method": i.method.name() }),
                        Err(why) => json!({ "undefined": why }),
                    },
                );
            }
            out.insert(s.subset.name.clone(), Value::Object(values));
        }
        say!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let primary = spec.primary.name();
    say!("{} — {} (primary metric: {primary})", spec.contest, path.display());
    // A table: one row per metric, one column per subset.
    let row = |name: &str, cells: Vec<String>| {
        let cells: Vec<String> = cells.iter().map(|c| format!("{c:>19}")).collect();
        say!("  {name:<22} {}", cells.join(" "));
    };
    row("", report.iter().map(|s| s.subset.name.clone()).collect());
    row("rows", report.iter().map(|s| s.subset.rows.to_string()).collect());
    for (j, &metric) in metrics.iter().enumerate() {
        let name = if metric == spec.primary { format!("{} *", metric.name()) } else { metric.name().to_owned() };
        row(&name, report.iter().map(|s| shown(s.scores[j].1)).collect());
    }
    if bootstrap.is_some() {
        let interval = |s: &holdout_score::evaluate::SubsetScores| match s.interval {
            Some(Ok(i)) => format!("[{:.6}, {:.6}]", i.low, i.high),
            _ => "undefined".to_owned(),
        };
        row(&format!("{primary} 95% CI"), report.iter().map(interval).collect());
        let method = |s: &holdout_score::evaluate::SubsetScores| match s.interval {
            Some(Ok(i)) => i.method.name().to_owned(),
            _ => String::new(),
        };
        row("  computed by", report.iter().map(method).collect());
        say!(
            "  (bootstrap: percentile over row resamples; table: the same resamples drawn as confusion-matrix counts;"
        );
        say!("   normal: the bootstrap's variance in closed form, DeLong for ROC AUC, delta method otherwise)");
    }
    // Why each undefined value is undefined, once per metric and reason.
    let mut reasons: Vec<(Metric, &str)> = Vec::new();
    for (metric, why) in report.iter().flat_map(|s| &s.scores).filter_map(|&(m, v)| match v {
        Score::Undefined(why) => Some((m, why)),
        Score::Value(_) => None,
    }) {
        if !reasons.contains(&(metric, why)) {
            reasons.push((metric, why));
        }
    }
    for (metric, why) in reasons {
        say!("  {} is undefined: {why}", metric.name());
    }
    Ok(())
}

pub fn run_compare(args: &CompareArgs) -> Outcome {
    let common = &args.common;
    let (spec, solution, submissions) = load(common, &args.paths, 2)?;
    let [(path_a, a), (path_b, b)] = &submissions[..] else { unreachable!("two submissions") };
    let replicates = if common.replicates == 0 { DEFAULT_REPLICATES } else { common.replicates };
    let bootstrap = Bootstrap { replicates, seed: common.seed, level: LEVEL };
    let report = compare(&solution, a, b, spec.primary, bootstrap);
    let primary = spec.primary.name();
    if common.json {
        let out: serde_json::Map<String, Value> = report
            .iter()
            .map(|c| {
                let value = json!({
                    "rows": c.subset.rows,
                    "a": json_score(c.a),
                    "b": json_score(c.b),
                    "probability_a_better": c.probability_a_better,
                    "method": c.method.name(),
                });
                (c.subset.name.clone(), value)
            })
            .collect();
        say!(
            "{}",
            serde_json::to_string_pretty(&json!({ "metric": primary, "replicates": replicates, "subsets": out }))?
        );
        return Ok(());
    }
    say!("{} — {primary}, paired: {replicates} shared resamples, or the closed form (method per subset)", spec.contest);
    say!("  A = {}", path_a.display());
    say!("  B = {}", path_b.display());
    for c in &report {
        let p = c.probability_a_better.map_or_else(|| "undefined".to_owned(), |p| format!("{p:.3}"));
        say!(
            "  {:<10} rows={:<8} A={} B={} P(A better than B)={p} ({})",
            c.subset.name,
            c.subset.rows,
            shown(c.a),
            shown(c.b),
            c.method.name()
        );
    }
    Ok(())
}
