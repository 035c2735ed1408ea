//! `holdout prepare` and `holdout verify` end to end: every contest, determinism, tamper
//! detection, bad input, and the release gate — each failure leaving nothing behind.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::{files_in, holdout, stderr, stdout};

const KEY: &[u8] = b"an organizer's secret of at least thirty-two bytes\n";

/// A synthetic export and a key file, made once for all tests.
pub(crate) fn fixture() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static FIXTURE: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw.csv");
        let o = holdout(&["synth", "--rows", "6000", "--seed", "5", "--out", &raw.display().to_string(), "--quiet"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let key = dir.path().join("key");
        std::fs::write(&key, KEY).unwrap();
        (dir, raw, key)
    })
}

pub(crate) fn prepare(contest: &str, raw: &Path, key: &Path, out: &Path) -> std::process::Output {
    prepare_with(contest, raw, key, out, &[])
}

/// `prepare` with more options after the usual ones.
pub(crate) fn prepare_with(contest: &str, raw: &Path, key: &Path, out: &Path, more: &[&str]) -> std::process::Output {
    let (raw, key, out) = (raw.display().to_string(), key.display().to_string(), out.display().to_string());
    let mut args = vec!["prepare", contest, "--raw", &raw, "--secret-file", &key, "--out", &out];
    args.extend(more);
    holdout(&args)
}

/// `holdout prepare` with `--raw` given once per input.
pub(crate) fn prepare_many(contest: &str, raws: &[&Path], key: &Path, out: &Path) -> std::process::Output {
    let raws: Vec<String> = raws.iter().map(|r| r.display().to_string()).collect();
    let mut args = vec!["prepare", contest];
    for r in &raws {
        args.extend(["--raw", r.as_str()]);
    }
    let key = key.display().to_string();
    let out = out.display().to_string();
    args.extend(["--secret-file", &key, "--out", &out]);
    holdout(&args)
}

/// Nothing but `keep` is left in `dir`: no output, no temporary directory.
pub(crate) fn assert_nothing_written(dir: &Path, keep: &[&str]) {
    let left: Vec<String> = files_in(dir).into_iter().filter(|f| !keep.contains(&f.as_str())).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn every_contest_prepares_verifies_and_is_deterministic() {
    let (_, raw, key) = fixture();
    let dir = tempfile::tempdir().unwrap();
    for contest in ["security-sense", "fraud-exposure", "satisfaction-index"] {
        let a = dir.path().join(format!("{contest}-a"));
        let b = dir.path().join(format!("{contest}-b"));
        for out in [&a, &b] {
            let o = prepare(&format!("datasets/{contest}"), raw, key, out);
            assert_eq!(o.status.code(), Some(0), "{contest}: {}", stderr(&o));
        }
        assert_eq!(
            files_in(&a.join("public")),
            [
                "MANIFEST.json",
                "README.md",
                "sample_submission.csv",
                "test.csv",
                "test.parquet",
                "train.csv",
                "train.parquet"
            ]
        );
        assert_eq!(
            files_in(&a.join("private")),
            [
                "leakage_report.json",
                "leakage_report.md",
                "risk_report.json",
                "risk_report.md",
                "salt.txt",
                "screening_report.json",
                "screening_report.md",
                "solution.csv"
            ]
        );
        let manifest = std::fs::read_to_string(a.join("public/MANIFEST.json")).unwrap();
        assert_eq!(manifest, std::fs::read_to_string(b.join("public/MANIFEST.json")).unwrap(), "{contest}");
        for private in ["solution.csv", "risk_report.json", "salt.txt"] {
            assert_eq!(
                std::fs::read(a.join("private").join(private)).unwrap(),
                std::fs::read(b.join("private").join(private)).unwrap()
            );
        }
        let o = holdout(&[
            "verify",
            &a.join("public").display().to_string(),
            "--private",
            &a.join("private").display().to_string(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains("matches its commitment"));

        // The risk report: every background column protected, the declared attacker simulated,
        // and what protection cost the contest measured.
        let risk: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(a.join("private/risk_report.json")).unwrap()).unwrap();
        assert_eq!(risk["columns"].as_array().unwrap().len(), 22, "{contest}: the 22 background columns are QIs");
        let attack = &risk["linkage_attack"];
        assert!(attack["sampled"].as_u64().unwrap() > 0);
        assert!(attack["expected_match_rate"].as_f64().unwrap() <= 0.1, "{contest}: {attack}");
        let price = &risk["utility_price"];
        assert_eq!(price["model"], "gbdt", "{contest}: {price}");
        assert!(price["raw"].is_number() && price["published"].is_number(), "{contest}: {price}");
        let md = std::fs::read_to_string(a.join("private/risk_report.md")).unwrap();
        assert!(md.contains("## Linkage attack") && md.contains("## What anonymization cost"), "{contest}");

        // Nothing that identifies a respondent reaches a public file.
        let train = std::fs::read_to_string(a.join("public/train.csv")).unwrap();
        let header = train.lines().next().unwrap();
        for never in ["serial_number", "wx_open_id", "submit_ip", "submit_ua", "source_id", "create_time"] {
            assert!(!header.split(',').any(|h| h == never), "{contest}: {never} published");
        }
        let raw_text = std::fs::read_to_string(raw).unwrap();
        let openid = raw_text.lines().nth(1).unwrap().split(',').find(|f| f.starts_with('o') && f.len() == 28);
        if let Some(openid) = openid {
            assert!(!train.contains(openid));
        }
        let solution = std::fs::read_to_string(a.join("private/solution.csv")).unwrap();
        let test = std::fs::read_to_string(a.join("public/test.csv")).unwrap();
        assert_eq!(solution.lines().count(), test.lines().count());
        assert!(solution.lines().next().unwrap().ends_with(",usage"));
    }
    // The scrubbed contest publishes comments, the others do not.
    let card = std::fs::read_to_string(dir.path().join("satisfaction-index-a/public/README.md")).unwrap();
    assert!(card.contains("`comment`"));
    let train = std::fs::read_to_string(dir.path().join("satisfaction-index-a/public/train.csv")).unwrap();
    assert!(train.lines().next().unwrap().contains(",comment,"));
    assert!(!train.contains("@qq.com"), "emails in comments are scrubbed");
}

#[test]
fn verify_detects_a_tampered_file_and_a_swapped_solution() {
    let (_, raw, key) = fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    assert_eq!(prepare("datasets/fraud-exposure", raw, key, &out).status.code(), Some(0));
    let public = out.join("public");
    let private = out.join("private");

    let test_csv = public.join("test.csv");
    let original = std::fs::read(&test_csv).unwrap();
    let mut tampered = original.clone();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
    std::fs::write(&test_csv, &tampered).unwrap();
    let o = holdout(&["verify", &public.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("test.csv"), "{}", stderr(&o));
    std::fs::write(&test_csv, &original).unwrap();

    std::fs::write(public.join("extra.csv"), "id\n").unwrap();
    let o = holdout(&["verify", &public.display().to_string()]);
    assert!(stderr(&o).contains("extra.csv: not in the manifest"), "{}", stderr(&o));
    std::fs::remove_file(public.join("extra.csv")).unwrap();

    let solution = private.join("solution.csv");
    let text = std::fs::read_to_string(&solution).unwrap();
    let swapped = text.replacen(",1,", ",0,", 1);
    assert_ne!(swapped, text);
    std::fs::write(&solution, swapped).unwrap();
    let o = holdout(&["verify", &public.display().to_string(), "--private", &private.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not match the commitment"), "{}", stderr(&o));
}

#[test]
fn excel_gb18030_crlf_and_parquet_exports_give_the_same_bundle() {
    let (_, raw, key) = fixture();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(raw).unwrap();
    let crlf = text.replace('\n', "\r\n");
    let (gbk, _, _) = encoding_rs::GB18030.encode(&crlf);
    let excel = dir.path().join("excel.csv");
    std::fs::write(&excel, &*gbk).unwrap();
    let parquet = dir.path().join("raw.parquet");
    let o = holdout(&["synth", "--rows", "6000", "--seed", "5", "--out", &parquet.display().to_string(), "--quiet"]);
    assert_eq!(o.status.code(), Some(0));
    let mut manifests = Vec::new();
    for (name, input) in [("utf8", raw.clone()), ("excel", excel), ("parquet", parquet)] {
        let out = dir.path().join(name);
        let o = prepare("datasets/security-sense", &input, key, &out);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        manifests.push(std::fs::read_to_string(out.join("public/MANIFEST.json")).unwrap());
    }
    assert_eq!(manifests[0], manifests[1], "GB18030 + CRLF reads as the UTF-8 original");
    let csv_files = |m: &str| m.split("\"path\": \"train.parquet\"").next().unwrap().to_owned();
    assert_eq!(csv_files(&manifests[0]), csv_files(&manifests[2]), "Parquet input gives the same CSV files");
}

#[test]
fn bad_input_exits_2_names_the_problem_and_writes_nothing() {
    let (_, raw, key) = fixture();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(raw).unwrap();
    let write = |name: &str, content: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    };
    // Rewrites the export record by record (fields may be quoted and hold commas).
    let rewrite = |name: &str, edit: &dyn Fn(usize, &mut Vec<String>)| {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
        let mut out = csv::Writer::from_writer(Vec::new());
        for (i, record) in reader.records().enumerate() {
            let mut fields: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
            edit(i, &mut fields);
            out.write_record(&fields).unwrap();
        }
        write(name, &out.into_inner().unwrap())
    };
    let header: Vec<String> = text.lines().next().unwrap().split(',').map(str::to_owned).collect();
    let age = header.iter().position(|h| h == "q14_age").unwrap();
    // Line 3 (the second data row) gets an age of "abc".
    let bad_value = rewrite("bad_value.csv", &|i, f| {
        if i == 2 {
            f[age] = "abc".into();
        }
    });
    let missing_column = rewrite("missing_column.csv", &|_, f| {
        f.pop();
    });
    let extra_column = rewrite("extra_column.csv", &|i, f| f.push(if i == 0 { "mystery".into() } else { "1".into() }));
    let mut undecodable = text.as_bytes().to_vec();
    let second_line = text.find('\n').unwrap() + 1 + text[text.find('\n').unwrap() + 1..].find('\n').unwrap() + 1;
    undecodable.splice(second_line..second_line, b"\xff\xfe".iter().copied());
    let undecodable = write("undecodable.csv", &undecodable);
    let empty = write("empty.csv", b"");
    let parquet = dir.path().join("whole.parquet");
    assert_eq!(
        holdout(&["synth", "--rows", "500", "--seed", "1", "--out", &parquet.display().to_string(), "-q"])
            .status
            .code(),
        Some(0)
    );
    let bytes = std::fs::read(&parquet).unwrap();
    let truncated = write("truncated.parquet", &bytes[..bytes.len() / 2]);
    let short_key = write("short.key", b"too short\n");

    let cases: Vec<(&str, PathBuf, PathBuf, &str)> = vec![
        ("bad value", bad_value, key.clone(), "bad_value.csv:3: column `q14_age`: `abc` is not an integer"),
        ("missing column", missing_column, key.clone(), "missing `comment`"),
        ("extra column", extra_column, key.clone(), "not in schema `netizen-survey-2024`: `mystery`"),
        ("undecodable", undecodable, key.clone(), "undecodable"),
        ("empty", empty, key.clone(), "the file is empty"),
        ("truncated parquet", truncated, key.clone(), "not a readable Parquet file"),
        ("short secret", raw.clone(), short_key, "at least 32 random bytes"),
        ("no such raw file", dir.path().join("absent.csv"), key.clone(), "cannot read"),
    ];
    let keep: Vec<String> = files_in(dir.path());
    let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
    for (what, input, key, message) in cases {
        let o = prepare("datasets/security-sense", &input, &key, &dir.path().join("out"));
        assert_eq!(o.status.code(), Some(2), "{what}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{what}: expected `{message}` in: {}", stderr(&o));
        assert_nothing_written(dir.path(), &keep);
    }

    // An existing output directory is never overwritten; a missing parent is reported.
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/keep.txt"), "precious").unwrap();
    let o = prepare("datasets/security-sense", raw, key, &dir.path().join("taken"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"));
    assert_eq!(std::fs::read_to_string(dir.path().join("taken/keep.txt")).unwrap(), "precious");
    let o = prepare("datasets/security-sense", raw, key, &dir.path().join("no/such/dir/out"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
}

#[test]
fn the_release_gate_blocks_and_publishes_nothing() {
    let (_, raw, key) = fixture();
    let dir = tempfile::tempdir().unwrap();
    // A contest whose privacy policy no generalization can meet: every class at least 5,000
    // rows with nothing suppressed, in a test split of about 1,700 rows.
    let contests = dir.path().join("datasets");
    std::fs::create_dir(&contests).unwrap();
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    };
    let survey = crate::repo().join("datasets/netizen-survey-2024");
    copy(&survey, &contests.join("netizen-survey-2024"));
    copy(&survey.join("hierarchies"), &contests.join("netizen-survey-2024/hierarchies"));
    let contest = contests.join("strict");
    std::fs::create_dir(&contest).unwrap();
    let toml = std::fs::read_to_string(crate::repo().join("datasets/security-sense/competition.toml")).unwrap();
    std::fs::write(
        contest.join("competition.toml"),
        toml.replace("k = 10", "k = 5000").replace("max_suppression = 0.02", "max_suppression = 0.0"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = prepare(&contest.display().to_string(), raw, key, &out);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("release blocked"), "{}", stderr(&o));
    assert!(stderr(&o).contains("below k = 5000") || stderr(&o).contains("suppressed"), "{}", stderr(&o));
    assert_nothing_written(dir.path(), &["datasets"]);
}

#[test]
fn a_prepared_bundle_validates_and_scores_submissions() {
    let (_, raw, key) = fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    assert_eq!(prepare("datasets/security-sense", raw, key, &out).status.code(), Some(0));
    let public = out.join("public").display().to_string();
    let private = out.join("private").display().to_string();
    let sample = out.join("public/sample_submission.csv").display().to_string();
    let o = holdout(&["validate", &public, &sample]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // The solution itself, as a submission, scores perfectly; the constant sample scores κ = 0.
    let solution = std::fs::read_to_string(out.join("private/solution.csv")).unwrap();
    let perfect: String = std::iter::once("id,label\n".to_owned())
        .chain(solution.lines().skip(1).map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{}\n", f[0], f[1])
        }))
        .collect();
    let perfect_path = dir.path().join("perfect.csv");
    std::fs::write(&perfect_path, perfect).unwrap();
    let o = holdout(&["score", &private, &perfect_path.display().to_string(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for subset in ["all", "public", "private"] {
        assert_eq!(report[subset]["cohen_kappa_quadratic"], 1.0, "{subset}");
        assert_eq!(report[subset]["accuracy"], 1.0, "{subset}");
    }
    let o = holdout(&["score", &private, &sample, "--json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["all"]["cohen_kappa_quadratic"], 0.0);
    assert!(report["all"]["matthews_corrcoef"]["undefined"].is_string(), "a constant prediction has no MCC");

    // A broken submission: exit 2 and the validator's message, no hidden information.
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "id;label\n").unwrap();
    let o = holdout(&["validate", &public, &broken.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("separated by semicolons"), "{}", stderr(&o));
}

#[test]
fn score_takes_a_bare_solution_for_any_task() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let solution = write("solution.csv", "id,target,usage\na,1,public\nb,0,private\nc,1,private\nd,0,public\n");
    let submission = write("sub.csv", "id,probability\nd,0.2\nc,0.9\nb,0.4\na,0.6\n");
    let o =
        holdout(&["score", "--solution", &solution, "--task", "binary", &submission, "--json", "--replicates", "50"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["all"]["roc_auc"], 1.0);
    assert_eq!(report["public"]["rows"], 2);
    assert!(report["all"]["primary_interval_95"]["low"].is_number());

    let values = write("values.csv", "id,target\na,1.5\nb,2.5\nc,3.5\n");
    let predicted = write("pred.csv", "id,value\na,1.0\nb,3.0\nc,3.5\n");
    let o =
        holdout(&["score", "--solution", &values, "--task", "regression", &predicted, "--json", "--replicates", "0"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!((report["all"]["mae"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);

    let o = holdout(&["score", "--solution", &solution, "--task", "ordinal", &submission]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs --labels"), "{}", stderr(&o));
}
