//! `holdout validate`, `holdout score` and `holdout compare` end to end on prepared bundles of
//! every contest and on bare solutions: each score the binary prints equals the library's
//! metric (tested against scikit-learn) on the rows of that subset, found independently here.

use std::fmt::Write as _;
use std::path::Path;

use holdout_schema::Metric;
use holdout_score::metrics::{Predictions, Score, Truth, score};
use serde_json::Value;

use crate::prepare::{fixture, prepare};
use crate::{holdout, holdout_in, stderr, stdout};

/// A solution as the test reads it: (id, target text, usage, board) per row.
type Rows = Vec<(String, String, String, String)>;

fn read_solution(path: &Path) -> Rows {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let board = header.iter().position(|h| *h == "board");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned(), board.map_or(String::new(), |b| f[b].to_owned()))
        })
        .collect()
}

/// A deliberately imperfect prediction for row `i` with target `t`, in `column`'s format.
fn noisy(column: &str, i: usize, t: &str) -> String {
    match column {
        "label" => {
            let t: i64 = t.parse().unwrap();
            (if i.is_multiple_of(3) {
                (t + 1).min(5)
            } else if i.is_multiple_of(7) {
                (t - 2).max(1)
            } else {
                t
            })
            .to_string()
        }
        "probability" => {
            let base = if t == "1" { 0.55 } else { 0.35 };
            format!("{:.2}", base + (i % 9) as f64 * 0.05 - 0.2)
        }
        _ => format!("{}", t.parse::<f64>().unwrap() + (i % 5) as f64 * 0.5 - 1.0),
    }
}

/// Truth and predictions of the rows `rows` as the library takes them.
fn library_inputs(rows: &[(usize, &str, &str)], column: &str, labels: &[i64]) -> (Truth, Predictions) {
    let class = |x: &str| labels.iter().position(|&l| l as f64 == x.parse::<f64>().unwrap()).unwrap();
    match column {
        "value" => (
            Truth::Values(rows.iter().map(|r| r.1.parse().unwrap()).collect()),
            Predictions::Values(rows.iter().map(|r| r.2.parse().unwrap()).collect()),
        ),
        "probability" => (
            Truth::Classes(rows.iter().map(|r| class(r.1)).collect()),
            Predictions::Probability(rows.iter().map(|r| r.2.parse().unwrap()).collect()),
        ),
        _ => (
            Truth::Classes(rows.iter().map(|r| class(r.1)).collect()),
            Predictions::Labels(rows.iter().map(|r| class(r.2)).collect()),
        ),
    }
}

/// Every metric value of `report[subset]` equals the library's on the subset's rows.
fn assert_report_matches(report: &Value, subset: &str, rows: &[(usize, &str, &str)], column: &str, labels: &[i64]) {
    let (truth, predictions) = library_inputs(rows, column, labels);
    let shown = report[subset].as_object().unwrap_or_else(|| panic!("no subset {subset} in {report}"));
    assert_eq!(shown["rows"], rows.len(), "{subset}");
    let mut checked = 0;
    for (name, value) in shown {
        let Some(&metric) = Metric::ALL.iter().find(|m| m.name() == name) else { continue };
        match score(metric, labels, &truth, &predictions) {
            Score::Value(v) => {
                let got = value.as_f64().unwrap_or_else(|| panic!("{subset} {name}: {value}"));
                assert!((got - v).abs() <= 1e-12 * v.abs().max(1.0), "{subset} {name}: {got} vs {v}");
            }
            Score::Undefined(why) => assert_eq!(value["undefined"], why, "{subset} {name}"),
        }
        checked += 1;
    }
    assert!(checked >= 4, "{subset}: only {checked} metrics");
}

#[test]
fn every_contest_validates_scores_and_compares_end_to_end() {
    let (_, raw, key) = fixture();
    let dir = tempfile::tempdir().unwrap();
    for contest in ["security-sense", "fraud-exposure", "satisfaction-index"] {
        let out = dir.path().join(contest);
        let o = prepare(&format!("datasets/{contest}"), raw, key, &out);
        assert_eq!(o.status.code(), Some(0), "{contest}: {}", stderr(&o));
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("public/MANIFEST.json")).unwrap()).unwrap();
        let column = manifest["submission"]["columns"][1].as_str().unwrap().to_owned();
        let labels: Vec<i64> =
            manifest["submission"]["labels"].as_array().unwrap().iter().map(|l| l.as_i64().unwrap()).collect();
        let primary = manifest["submission"]["primary_metric"].as_str().unwrap().to_owned();
        let solution = read_solution(&out.join("private/solution.csv"));

        // A noisy submission, in reverse order, and the solution itself as a perfect one.
        let predicted: Vec<String> = solution.iter().enumerate().map(|(i, r)| noisy(&column, i, &r.1)).collect();
        let mut text = format!("id,{column}\n");
        for (r, p) in solution.iter().zip(&predicted).rev() {
            let _ = writeln!(text, "{},{p}", r.0);
        }
        let noisy_path = dir.path().join(format!("{contest}-noisy.csv"));
        std::fs::write(&noisy_path, text).unwrap();
        let perfect_path = dir.path().join(format!("{contest}-perfect.csv"));
        let perfect: String = std::iter::once(format!("id,{column}\n"))
            .chain(solution.iter().map(|r| format!("{},{}\n", r.0, r.1)))
            .collect();
        std::fs::write(&perfect_path, perfect).unwrap();
        let (public, private) = (out.join("public").display().to_string(), out.join("private").display().to_string());
        let (noisy_arg, perfect_arg) = (noisy_path.display().to_string(), perfect_path.display().to_string());

        for submission in [&noisy_arg, &perfect_arg, &out.join("public/sample_submission.csv").display().to_string()] {
            let o = holdout(&["validate", &public, submission]);
            assert_eq!(o.status.code(), Some(0), "{contest} {submission}: {}", stderr(&o));
        }
        let o = holdout(&["score", &private, &noisy_arg, "--json", "--replicates", "200"]);
        assert_eq!(o.status.code(), Some(0), "{contest}: {}", stderr(&o));
        let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let rows: Vec<(usize, &str, &str, &str)> = solution
            .iter()
            .zip(&predicted)
            .enumerate()
            .map(|(i, (r, p))| (i, r.1.as_str(), p.as_str(), r.2.as_str()))
            .collect();
        for subset in ["all", "public", "private"] {
            let chosen: Vec<(usize, &str, &str)> =
                rows.iter().filter(|r| subset == "all" || r.3 == subset).map(|r| (r.0, r.1, r.2)).collect();
            assert_report_matches(&report, subset, &chosen, &column, &labels);
            let ci = &report[subset]["primary_interval_95"];
            let estimate = report[subset][&primary].as_f64().unwrap();
            assert!(
                ci["low"].as_f64().unwrap() <= estimate && estimate <= ci["high"].as_f64().unwrap(),
                "{contest} {subset}: {ci}"
            );
        }
        assert_eq!(report.as_object().unwrap().len(), 3, "{contest}: no boards, so all, public and private");

        // The perfect submission beats the noisy one on every paired replicate.
        let o = holdout(&["compare", &private, &perfect_arg, &noisy_arg, "--json", "--replicates", "100"]);
        assert_eq!(o.status.code(), Some(0), "{contest}: {}", stderr(&o));
        let comparison: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(comparison["metric"], primary.as_str());
        for subset in ["all", "public", "private"] {
            assert_eq!(comparison["subsets"][subset]["probability_a_better"], 1.0, "{contest} {subset}: {comparison}");
        }
        let o = holdout(&["compare", &private, &perfect_arg, &noisy_arg, "--replicates", "100"]);
        assert!(stdout(&o).contains("P(A better than B)=1.000"), "{}", stdout(&o));
    }
}

#[test]
fn a_solution_with_boards_scores_every_board_and_usage() {
    let dir = tempfile::tempdir().unwrap();
    let (mut solution, mut submission) = ("id,target,usage,board\n".to_owned(), "id,probability\n".to_owned());
    let mut rows = Vec::new();
    for i in 0..400usize {
        let (usage, board) = (["public", "private"][i % 2], ["a", "b"][(i / 2) % 2]);
        let target = if (i * 7) % 5 < 2 { "1" } else { "0" };
        let p = format!("{:.2}", ((i * 37) % 100) as f64 / 100.0 * 0.6 + if target == "1" { 0.3 } else { 0.0 });
        let _ = writeln!(solution, "r{i},{target},{usage},{board}");
        rows.push((i, target.to_owned(), p.clone(), usage, board));
    }
    for r in rows.iter().rev() {
        let _ = writeln!(submission, "r{},{}", r.0, r.2);
    }
    let (s, p) = (dir.path().join("solution.csv"), dir.path().join("submission.csv"));
    std::fs::write(&s, solution).unwrap();
    std::fs::write(&p, submission).unwrap();
    let (s, p) = (s.display().to_string(), p.display().to_string());
    let o = holdout(&["score", "--solution", &s, "--task", "binary", &p, "--json", "--replicates", "100"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let names: Vec<&String> = report.as_object().unwrap().keys().collect();
    assert_eq!(names.len(), 7, "{names:?}");
    for (name, keep) in [
        ("all", &(|_: &str, _: &str| true) as &dyn Fn(&str, &str) -> bool),
        ("public", &|u, _| u == "public"),
        ("private", &|u, _| u == "private"),
        ("a_public", &|u, b| u == "public" && b == "a"),
        ("a_private", &|u, b| u == "private" && b == "a"),
        ("b_public", &|u, b| u == "public" && b == "b"),
        ("b_private", &|u, b| u == "private" && b == "b"),
    ] {
        let chosen: Vec<(usize, &str, &str)> =
            rows.iter().filter(|r| keep(r.3, r.4)).map(|r| (r.0, r.1.as_str(), r.2.as_str())).collect();
        let expected_rows = match name {
            "all" => 400,
            "public" | "private" => 200,
            _ => 100,
        };
        assert_eq!(chosen.len(), expected_rows, "{name}");
        assert_report_matches(&report, name, &chosen, "probability", &[0, 1]);
        assert!(report[name]["primary_interval_95"]["low"].is_number(), "{name}");
    }
}

#[test]
fn a_broken_solution_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub.csv");
    std::fs::write(&sub, "id,probability\na,0.5\nb,0.5\n").unwrap();
    for (solution, message) in [
        ("id,target,usage\na,1,public\nb,0,hidden\n", "line 3: usage `hidden` is neither `public` nor `private`"),
        ("id,target\na,1\na,0\n", "line 3: id `a` repeats the id on line 2"),
        ("id,target\na,1\nb,2\n", "line 3: target `2` is not one of the labels [0, 1]"),
        ("id,target\na,1\nb\n", "line 3: 1 fields, but the header has 2"),
        ("target,id\n1,a\n", "line 1: expected the header `id,<target>[,usage[,board]]`"),
    ] {
        let path = dir.path().join("solution.csv");
        std::fs::write(&path, solution).unwrap();
        let o = holdout(&[
            "score",
            "--solution",
            &path.display().to_string(),
            "--task",
            "binary",
            &sub.display().to_string(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{solution}");
        assert!(stderr(&o).contains(message), "{solution}: {}", stderr(&o));
    }
}

/// Every file of the validator's corpus, through the binary: refused files exit 2 with the
/// validator's message, valid ones exit 0 (the size limit of `label__too_large.csv` is the
/// library test's own, so that file is left to it).
#[test]
fn every_corpus_file_exits_as_the_validator_says() {
    use holdout_schema::PredictionFormat;
    use holdout_score::ids::TestIds;
    use holdout_score::submission::{Expected, validate};

    let corpus = crate::repo().join("crates/holdout-score/tests/data/submissions");
    let dir = tempfile::tempdir().unwrap();
    let ids = ["a1", "a2", "a3", "a4", "a5", "a6"];
    let test_ids: TestIds = ids.into_iter().collect();
    let formats: [(&str, PredictionFormat, &[i64], &[&str]); 4] = [
        ("label", PredictionFormat::Label, &[1, 2, 3, 4, 5], &["--task", "ordinal", "--labels", "1,2,3,4,5"]),
        ("probability", PredictionFormat::Probability, &[0, 1], &["--task", "binary"]),
        (
            "class_probabilities",
            PredictionFormat::ClassProbabilities,
            &[1, 2, 3],
            &["--task", "multiclass", "--labels", "1,2,3"],
        ),
        ("value", PredictionFormat::Value, &[], &["--task", "regression"]),
    ];
    let mut files: Vec<_> = std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut refused = 0;
    for file in files.iter().filter(|f| !f.to_string_lossy().contains("too_large")) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let (format_name, _) = name.split_once("__").unwrap();
        let (_, format, labels, task) = formats.iter().find(|f| f.0 == format_name).unwrap();
        let solution = dir.path().join(format!("{format_name}.csv"));
        let target = labels.first().map_or("1.5".to_owned(), ToString::to_string);
        let rows: String = ids.iter().map(|id| format!("{id},{target}\n")).collect();
        std::fs::write(&solution, format!("id,target\n{rows}")).unwrap();
        let expected = Expected { ids: &test_ids, format: *format, labels, max_bytes: u64::MAX - 1 };
        let outcome = validate(std::fs::read(file).unwrap().as_slice(), &expected);
        let (solution, file) = (solution.display().to_string(), file.display().to_string());
        let mut args = vec!["score", "--solution", &solution, "--format", format_name, "--replicates", "0"];
        args.extend_from_slice(task);
        args.push(&file);
        let o = holdout(&args);
        match outcome {
            Ok(_) => assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o)),
            Err(e) => {
                refused += 1;
                assert_eq!(o.status.code(), Some(2), "{name}");
                assert!(stderr(&o).contains(&e.to_string()), "{name}: {}\nwanted: {e}", stderr(&o));
            }
        }
        assert_eq!(o.status.code() == Some(0), name.contains("__valid_"), "{name}");
    }
    assert!(refused >= 45, "{refused} refused");
}

/// A run of the binary: command, language flag, locale variables, lines expected on stderr.
type Run<'a> = (&'a [&'a str], &'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str; 5]);

/// A refused submission's problems in the language asked for: `--lang zh`, or a Chinese locale
/// (`LC_ALL`, then `LC_MESSAGES`, then `LANG`); English otherwise. Exit code 2 either way, and
/// the same lines and ids in both languages.
#[test]
fn a_refused_submission_is_explained_in_the_language_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(path("solution.csv"), "id,target\na1,1\na2,0\na3,1\n").unwrap();
    std::fs::write(path("sub.csv"), "id,probability\na1,0.5\na1,0.7\nzz,1.5\nA2,50%\n").unwrap();
    std::fs::create_dir(path("public")).unwrap();
    std::fs::write(path("public/test.csv"), "id,x\na1,1\na2,2\na3,3\n").unwrap();
    let manifest = serde_json::json!({
        "contest": "tiny", "survey": "tiny", "holdout_version": "0", "train_rows": 0, "test_rows": 3,
        "submission": {"task": "binary", "labels": [0, 1], "prediction_format": "probability",
            "columns": ["id", "probability"], "primary_metric": "roc_auc", "max_file_mb": 1},
        "files": [], "solution_commitment": {"scheme": "none", "sha256": "0"},
    });
    std::fs::write(path("public/MANIFEST.json"), manifest.to_string()).unwrap();
    let (solution, sub, public) = (path("solution.csv"), path("sub.csv"), path("public"));
    let score = ["score", "--solution", &solution, "--task", "binary", &sub, "--replicates", "0"];
    let validate = ["validate", &public, &sub];

    let chinese = [
        "sub.csv 不是有效的提交文件：",
        "重复的 id：第 3 行（id `a1`，首次出现在第 2 行）",
        "不属于测试集的 id：第 4 行（id `zz`）",
        "与测试 id 仅大小写不同的 id：第 5 行（id `A2` 应为 `a2`）",
        "2 个测试 id 没有预测：id `a2`；id `a3`",
    ];
    let english = [
        "sub.csv is not a valid submission:",
        "duplicate ids: line 3 (id `a1`, first on line 2)",
        "ids that are not test ids: line 4 (id `zz`)",
        "ids that differ from a test id only in upper/lower case: line 5 (id `A2` should be `a2`)",
        "2 test ids have no prediction: id `a2`, id `a3`",
    ];
    let runs: [Run<'_>; 9] = [
        (&score, &["--lang", "zh"], &[], &chinese),
        (&score, &[], &[("LANG", "zh_CN.UTF-8")], &chinese),
        (&score, &[], &[("LC_MESSAGES", "zh_CN.UTF-8"), ("LANG", "en_US.UTF-8")], &chinese),
        (&score, &[], &[("LC_ALL", "en_US.UTF-8"), ("LANG", "zh_CN.UTF-8")], &english),
        (&score, &["--lang", "en"], &[("LANG", "zh_CN.UTF-8")], &english),
        (&score, &[], &[("LANG", "C.UTF-8")], &english),
        (&score, &[], &[], &english),
        (&validate, &["--lang", "zh"], &[], &chinese),
        (&validate, &[], &[("LC_ALL", "zh_CN.UTF-8")], &chinese),
    ];
    for (command, lang, env, wanted) in runs {
        let args = [command, lang].concat();
        let o = holdout_in(&args, env);
        assert_eq!(o.status.code(), Some(2), "{args:?} {env:?}");
        let err = stderr(&o);
        for line in wanted {
            assert!(err.contains(line), "{args:?} {env:?}: `{line}` not in:\n{err}");
        }
        let other = if *wanted == chinese { &english } else { &chinese };
        assert!(other.iter().all(|line| !err.contains(line)), "{args:?} {env:?}: both languages in:\n{err}");
    }
    let o = holdout(&[&score[..], &["--lang", "fr"]].concat());
    assert_eq!(o.status.code(), Some(2), "an unknown language is a usage error");
}
