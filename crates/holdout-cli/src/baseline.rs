//! `holdout baseline`: trains every baseline on a bundle's train set, cross-validates it with
//! holdout's scorer, writes one validated submission per model and, given the private
//! directory, scores them on the public and private test rows. Results go to
//! `OUT/results.json` and `OUT/results.md`.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, anyhow};
use holdout_baseline::table::{Table, TableBuilder};
use holdout_baseline::{Contest, CvScore, Inputs, Model, TrainTarget, cross_validate, fit_predict, submission_csv};
use holdout_prepare::manifest::Manifest;
use holdout_schema::{ColumnInfo, Task};
use holdout_score::evaluate::evaluate;
use holdout_score::ids::TestIds;
use holdout_score::metrics::Score;
use holdout_score::solution::Solution;
use holdout_score::submission::parse;
use serde_json::{Value, json};

use crate::files::AtomicFile;
use crate::score::{bad, invalid, json_score, manifest, open};
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write `baselines/<model>.csv`, `results.json` and `results.md`.
    out: PathBuf,
    /// The bundle's public directory (MANIFEST.json, train.csv, test.csv).
    #[arg(long)]
    public: PathBuf,
    /// The bundle's private directory: score each submission on the public and private rows.
    #[arg(long)]
    private: Option<PathBuf>,
    /// `all`, or model names separated by commas (`prior`, `mean`, `median`, `stratified`,
    /// `cell`, `logistic`, `gaussian_nb`, `bernoulli_nb`, `tree`, `linear`, `gbdt`).
    #[arg(long, default_value = "all")]
    models: String,
    /// Cross-validation folds (0: no cross-validation).
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Train on a seeded subsample of at most this many rows.
    #[arg(long)]
    max_train_rows: Option<usize>,
    /// Seed of every random choice (folds, subsamples, stratified draws, boosting).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write the encoded train and test matrices (column-major little-endian f64) and
    /// their column names to this directory, for other tools.
    #[arg(long)]
    export_design: Option<PathBuf>,
}

/// Reads train or test with the bundle's column description.
fn read_table(path: &Path, columns: &[ColumnInfo], target: Option<&str>) -> Result<Table, Failure> {
    let file = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(open(path)?);
    let mut record = csv::StringRecord::new();
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, csv::Position::line);
        bad(format!("{file}, line {line}: {e}"))
    };
    if !reader.read_record(&mut record).map_err(csv_error)? {
        return Err(bad(format!("{file} is empty")));
    }
    let header: Vec<&str> = record.iter().collect();
    let mut builder = TableBuilder::new(&file, columns, &header, target).map_err(|e| bad(e.to_string()))?;
    while reader.read_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, csv::Position::line);
        let fields: Vec<&str> = record.iter().collect();
        builder.push(line, &fields).map_err(|e| bad(e.to_string()))?;
    }
    Ok(builder.finish())
}

/// The models asked for, checked against the task.
fn selected(names: &str, task: &Task) -> Result<Vec<Model>, Failure> {
    if names == "all" {
        return Ok(Model::for_task(task));
    }
    let mut models = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let model = Model::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
            bad(format!("unknown model `{name}`; the models are {}", known.join(", ")))
        })?;
        if !model.applies(task) {
            let fit: Vec<&str> = Model::for_task(task).iter().map(|m| m.name()).collect();
            return Err(bad(format!(
                "model `{name}` does not apply to a {} task; these do: {}",
                task.name(),
                fit.join(", ")
            )));
        }
        if !models.contains(&model) {
            models.push(model);
        }
    }
    if models.is_empty() {
        return Err(bad("no model given".into()));
    }
    Ok(models)
}

/// Writes `bytes` to `path` under a temporary name, renamed when complete.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let (file, mut w) = AtomicFile::create(path)?;
    w.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
    file.commit(w)
}

/// One model's results.
struct Run {
    model: Model,
    cv: Option<Vec<CvScore>>,
    cv_seconds: f64,
    fit_seconds: f64,
    /// Per subset of the solution (`all`, `public`, `private`, …): metric scores.
    test: Vec<(String, Vec<(holdout_schema::Metric, Score)>)>,
    submission: String,
}

pub fn run(args: &Args) -> Outcome {
    let m = manifest(&args.public)?;
    if m.columns.is_empty() {
        return Err(bad(format!(
            "{}: the manifest does not describe the feature columns (made by an older holdout); prepare the bundle again",
            args.public.join("MANIFEST.json").display()
        )));
    }
    let contest = Contest::new(
        &m.submission.task,
        m.submission.labels.clone(),
        m.submission.prediction_format,
        m.submission.primary_metric,
    )
    .map_err(|e| bad(e.to_string()))?;
    let models = selected(&args.models, &contest.task)?;
    if args.folds == 1 {
        return Err(bad("--folds must be 0 (no cross-validation) or at least 2".into()));
    }
    let target = target_name(&m, &args.public)?;
    let (train, test) = std::thread::scope(|s| {
        let train = s.spawn(|| read_table(&args.public.join("train.csv"), &m.columns, Some(&target)));
        let test = read_table(&args.public.join("test.csv"), &m.columns, None);
        (train.join().expect("reading train does not panic"), test)
    });
    let (train, test) = (train?, test?);
    let y = TrainTarget::of(&contest, &train, &args.public.join("train.csv").display().to_string())
        .map_err(|e| bad(e.to_string()))?;
    let test_ids = TestIds::build(test.ids.iter().map(String::as_str))
        .map_err(|d| bad(format!("test.csv: id `{}` appears twice", test.ids[d.second])))?;
    let solution = match &args.private {
        Some(private) => {
            let path = private.join("solution.csv");
            let labels: &[i64] = if matches!(contest.task, Task::Regression) { &[] } else { &contest.labels };
            Some(Solution::read(open(&path)?, labels).map_err(|e| bad(format!("{}: {e}", path.display())))?)
        }
        None => None,
    };
    if let Some(dir) = &args.export_design {
        export_design(dir, &m, &contest, &train, &test, &y)?;
    }

    let rows = holdout_baseline::training_rows(&train, args.max_train_rows, args.seed);
    let inputs =
        Inputs { contest: &contest, columns: &m.columns, train: &train, target: &y, rows: &rows, seed: args.seed };
    let dir = args.out.join("baselines");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut runs = Vec::new();
    for &model in &models {
        tracing::info!("{}", model.name());
        let started = Instant::now();
        let cv = if args.folds >= 2 {
            Some(cross_validate(model, &inputs, args.folds).map_err(|e| Failure::Runtime(anyhow!(e)))?)
        } else {
            None
        };
        let cv_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let predictions = fit_predict(model, &inputs, &test).map_err(|e| Failure::Runtime(anyhow!(e)))?;
        let fit_seconds = started.elapsed().as_secs_f64();
        let csv = submission_csv(&contest, &test.ids, &predictions);
        let path = dir.join(format!("{}.csv", model.name()));
        // The shared validator checks every file before it is written.
        let max_bytes = u64::from(m.submission.max_file_mb) * 1_000_000;
        let parsed = parse(csv.as_bytes(), contest.format, &contest.labels, max_bytes).map_err(|e| {
            Failure::Runtime(anyhow!("holdout wrote an invalid {}: {}", path.display(), invalid(&path, &e).message()))
        })?;
        parsed.clone().check(&test_ids).map_err(|e| Failure::Runtime(anyhow!("{}", invalid(&path, &e).message())))?;
        write_atomically(&path, csv.as_bytes())?;
        let mut scored = Vec::new();
        if let (Some(solution), Some(private)) = (&solution, &args.private) {
            // The same parse, matched against the solution's ids (in its row order).
            let ps = parsed.check(&solution.ids).map_err(|e| {
                bad(format!(
                    "{}: the solution does not match test.csv: {}",
                    private.display(),
                    invalid(&path, &e).message()
                ))
            })?;
            for s in evaluate(solution, &ps, &contest.metrics, contest.primary, None) {
                scored.push((s.subset.name, s.scores));
            }
        }
        runs.push(Run {
            model,
            cv,
            cv_seconds,
            fit_seconds,
            test: scored,
            submission: format!("baselines/{}.csv", model.name()),
        });
        say!("{}", line(&contest, runs.last().expect("just pushed")));
    }
    let json = results_json(args, &m, &contest, train.rows(), rows.len(), test.rows(), &runs);
    let mut pretty = serde_json::to_string_pretty(&json)?;
    pretty.push('\n');
    write_atomically(&args.out.join("results.json"), pretty.as_bytes())?;
    write_atomically(&args.out.join("results.md"), results_markdown(args, &m, &contest, &runs).as_bytes())?;
    say!("wrote {} submissions, results.json and results.md to {}", runs.len(), args.out.display());
    Ok(())
}

impl Failure {
    fn message(&self) -> String {
        match self {
            Failure::BadInput(e) | Failure::Runtime(e) => format!("{e:#}"),
        }
    }
}

/// The target column: the one column of train.csv that test.csv lacks.
fn target_name(m: &Manifest, public: &Path) -> Result<String, Failure> {
    let path = public.join("train.csv");
    let mut reader = csv::ReaderBuilder::new().from_reader(open(&path)?);
    let header = reader.headers().map_err(|e| bad(format!("{}: {e}", path.display())))?;
    let extra: Vec<&str> = header.iter().filter(|h| *h != "id" && !m.columns.iter().any(|c| c.name == *h)).collect();
    match extra.as_slice() {
        [one] => Ok((*one).to_owned()),
        _ => Err(bad(format!(
            "{}, line 1: expected one target column besides the described features, found {}",
            path.display(),
            if extra.is_empty() { "none".to_owned() } else { extra.join(", ") }
        ))),
    }
}

fn primary_of(contest: &Contest, run: &Run) -> (Option<f64>, Option<f64>) {
    let cv = run.cv.as_ref().and_then(|cv| cv.iter().find(|s| s.metric == contest.primary));
    (cv.and_then(|s| s.mean), cv.and_then(|s| s.sd))
}

fn subset_primary(contest: &Contest, run: &Run, subset: &str) -> Option<Score> {
    run.test
        .iter()
        .find(|(name, _)| name == subset)
        .and_then(|(_, scores)| scores.iter().find(|(m, _)| *m == contest.primary).map(|(_, s)| *s))
}

fn shown(score: Option<Score>) -> String {
    match score {
        Some(Score::Value(v)) => format!("{v:.4}"),
        Some(Score::Undefined(_)) => "undefined".to_owned(),
        None => "–".to_owned(),
    }
}

fn line(contest: &Contest, run: &Run) -> String {
    let (mean, sd) = primary_of(contest, run);
    let cv = match (mean, sd) {
        (Some(m), Some(s)) => format!("{m:.4} ± {s:.4}"),
        (Some(m), None) => format!("{m:.4}"),
        _ => "–".to_owned(),
    };
    format!(
        "  {:<13} {} cv {cv:<17} public {:<9} private {:<9} fit {:.2} s",
        run.model.name(),
        contest.primary.name(),
        shown(subset_primary(contest, run, "public")),
        shown(subset_primary(contest, run, "private")),
        run.fit_seconds
    )
}

fn results_json(
    args: &Args,
    m: &Manifest,
    contest: &Contest,
    train_rows: usize,
    used_rows: usize,
    test_rows: usize,
    runs: &[Run],
) -> Value {
    let models: Vec<Value> = runs
        .iter()
        .map(|r| {
            let cv = r.cv.as_ref().map(|cv| {
                cv.iter()
                    .map(|s| (s.metric.name().to_owned(), json!({ "mean": s.mean, "sd": s.sd, "folds": s.folds })))
                    .collect::<serde_json::Map<_, _>>()
            });
            let test: serde_json::Map<String, Value> = r
                .test
                .iter()
                .map(|(subset, scores)| {
                    let values: serde_json::Map<String, Value> =
                        scores.iter().map(|(m, s)| (m.name().to_owned(), json_score(*s))).collect();
                    (subset.clone(), Value::Object(values))
                })
                .collect();
            json!({
                "name": r.model.name(),
                "trivial": r.model.trivial(),
                "fit_seconds": (r.fit_seconds * 1000.0).round() / 1000.0,
                "cv_seconds": (r.cv_seconds * 1000.0).round() / 1000.0,
                "cv": cv,
                "test": test,
                "submission": r.submission,
            })
        })
        .collect();
    json!({
        "contest": m.contest,
        "holdout_version": env!("CARGO_PKG_VERSION"),
        "task": contest.task.name(),
        "primary_metric": contest.primary.name(),
        "seed": args.seed,
        "folds": args.folds,
        "max_train_rows": args.max_train_rows,
        "rows": { "train": train_rows, "train_used": used_rows, "test": test_rows },
        "models": models,
    })
}

fn results_markdown(args: &Args, m: &Manifest, contest: &Contest, runs: &[Run]) -> String {
    let mut s = String::new();
    let primary = contest.primary.name();
    let _ = writeln!(s, "# Baselines — {}\n", m.contest);
    let _ = writeln!(
        s,
        "Task {}, primary metric `{primary}`; {} train rows, {} test rows; seed {}, {} folds{}.\n",
        contest.task.name(),
        m.train_rows,
        m.test_rows,
        args.seed,
        args.folds,
        args.max_train_rows.map(|n| format!(", at most {n} training rows")).unwrap_or_default()
    );
    let _ = writeln!(s, "| model | kind | CV {primary} (mean ± sd) | public | private | fit (s) |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|");
    for r in runs {
        let (mean, sd) = primary_of(contest, r);
        let cv = match (mean, sd) {
            (Some(m), Some(sd)) => format!("{m:.4} ± {sd:.4}"),
            (Some(m), None) => format!("{m:.4}"),
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {cv} | {} | {} | {:.2} |",
            r.model.name(),
            if r.model.trivial() { "trivial" } else { "model" },
            shown(subset_primary(contest, r, "public")),
            shown(subset_primary(contest, r, "private")),
            r.fit_seconds
        );
    }
    let _ = writeln!(
        s,
        "\nFit time: training on all of train and predicting test, on this machine. Every score is \
         computed by holdout's scorer. Reproduce with `holdout baseline` and the options above."
    );
    s
}

/// Writes the encoded matrices: `design.json`, `{train,test}_{linear,tree}.f64` (column-major
/// little-endian f64), `y_train.f64` and `test_ids.txt`.
fn export_design(
    dir: &Path,
    m: &Manifest,
    contest: &Contest,
    train: &Table,
    test: &Table,
    y: &TrainTarget,
) -> Result<(), Failure> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let d = holdout_baseline::models::designs(&m.columns, train, test);
    let write = |name: &str, values: &[f64]| -> Result<(), Failure> {
        let mut bytes = Vec::with_capacity(values.len() * 8);
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        write_atomically(&dir.join(name), &bytes)
    };
    let slice = |a: &ndarray::Array2<f64>| a.as_slice_memory_order().map(<[f64]>::to_vec).unwrap_or_default();
    write("train_linear.f64", &slice(&d.train_linear))?;
    write("test_linear.f64", &slice(&d.test_linear))?;
    write("train_tree.f64", &slice(&d.train_tree))?;
    write("test_tree.f64", &slice(&d.test_tree))?;
    let target: Vec<f64> = match y {
        TrainTarget::Classes(c) => c.iter().map(|&k| contest.labels[k] as f64).collect(),
        TrainTarget::Values(v) => v.clone(),
    };
    write("y_train.f64", &target)?;
    let mut ids = test.ids.join("\n");
    ids.push('\n');
    write_atomically(&dir.join("test_ids.txt"), ids.as_bytes())?;
    let meta = json!({
        "train_rows": train.rows(),
        "test_rows": test.rows(),
        "task": contest.task.name(),
        "labels": contest.labels,
        "linear": { "columns": d.linear_names },
        "tree": { "columns": d.tree_names, "categorical": d.tree_categorical },
    });
    write_atomically(&dir.join("design.json"), serde_json::to_string_pretty(&meta)?.as_bytes())?;
    Ok(())
}
