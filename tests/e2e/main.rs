//! End-to-end tests of the real `holdout` binary: exit codes, messages, determinism of the
//! written files, and that failures leave nothing behind.

#![allow(clippy::unwrap_used, clippy::format_collect, reason = "test helpers fail loudly; reports are small")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod audit;
mod baseline;
mod browser;
mod database;
mod demo;
mod prepare;
mod receipt;
mod scale;
mod score;
mod serve;
mod tduck;

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the binary with `args`, in English whatever the locale of the test run (messages about
/// a submission follow `LC_ALL`, `LC_MESSAGES` and `LANG`).
pub(crate) fn holdout(args: &[&str]) -> Output {
    holdout_in(args, &[])
}

/// Runs the binary with `args` and the locale variables `env` (no other locale variable set).
pub(crate) fn holdout_in(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_holdout"));
    command.args(args).current_dir(repo());
    // `HOLDOUT_DATABASE_URL` would send `--data-dir` commands to a PostgreSQL database.
    for name in ["LC_ALL", "LC_MESSAGES", "LANG", "HOLDOUT_DATABASE_URL"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied()).output().expect("runs the binary")
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn help_is_available_for_every_command() {
    let o = holdout(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("synth") && stdout(&o).contains("check"));
    for command in ["synth", "check"] {
        let o = holdout(&[command, "--help"]);
        assert_eq!(o.status.code(), Some(0), "{command} --help");
    }
    let o = holdout(&["no-such-command"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn synth_twice_gives_identical_files_and_a_truth_side_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).display().to_string();
    for name in ["a.csv", "b.csv"] {
        let o = holdout(&["synth", "--rows", "3000", "--seed", "7", "--out", &out(name), "--quiet"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let a = std::fs::read(out("a.csv")).unwrap();
    assert_eq!(a, std::fs::read(out("b.csv")).unwrap(), "same --rows --seed, same bytes");
    let text = String::from_utf8(a).unwrap();
    assert!(text.starts_with("serial_number,form_key,version,"));
    assert_eq!(text.lines().count(), 3001);
    assert!(!text.contains("bot_burst") && !text.contains("straightliner"), "the truth never enters the export");

    let o = holdout(&[
        "synth",
        "--rows",
        "3000",
        "--seed",
        "7",
        "--out",
        &out("c.parquet"),
        "--truth",
        &out("truth.csv"),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let parquet = std::fs::read(out("c.parquet")).unwrap();
    assert_eq!(&parquet[..4], b"PAR1");
    let truth = std::fs::read_to_string(out("truth.csv")).unwrap();
    assert!(truth.starts_with("serial_number,invalid,duplicate_of,pii\n1,"));
    assert_eq!(truth.lines().count(), 3001);
    assert_eq!(files_in(dir.path()), ["a.csv", "b.csv", "c.parquet", "truth.csv"], "no temporary files remain");
}

#[test]
fn zero_rows_give_a_header_only_export() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["empty.csv", "empty.parquet"] {
        let path = dir.path().join(name).display().to_string();
        let o = holdout(&["synth", "--rows", "0", "--out", &path, "-q"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let csv = std::fs::read_to_string(dir.path().join("empty.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1);
    assert!(std::fs::read(dir.path().join("empty.parquet")).unwrap().starts_with(b"PAR1"));
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let o = holdout(&["synth", "--rows", "10", "--out", &dir.path().join("raw.xlsx").display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("must be .csv or .parquet"), "{}", stderr(&o));

    let o = holdout(&["synth", "--rows", "10", "--out", &dir.path().join("missing/raw.csv").display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));

    let o = holdout(&["synth", "--rows", "ten", "--out", "x.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--rows"), "{}", stderr(&o));
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn a_broken_schema_is_reported_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = dir.path().join("netizen-survey-2024");
    std::fs::create_dir_all(dataset.join("hierarchies")).unwrap();
    let source = repo().join("datasets/netizen-survey-2024");
    for entry in std::fs::read_dir(source.join("hierarchies")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dataset.join("hierarchies").join(entry.file_name())).unwrap();
    }
    let schema = std::fs::read_to_string(source.join("schema.toml")).unwrap();
    let broken = schema.replacen("kind = \"rating\"", "kind = \"stars\"", 1);
    let line = broken.lines().position(|l| l.contains("\"stars\"")).unwrap() + 1;
    std::fs::write(dataset.join("schema.toml"), broken).unwrap();

    let out = dir.path().join("raw.csv");
    let o = holdout(&[
        "synth",
        "--rows",
        "10",
        "--dataset",
        &dataset.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let message = stderr(&o);
    assert!(message.contains(&format!("schema.toml:{line}:8: unknown variant `stars`")), "{message}");
    assert!(!out.exists());

    let o = holdout(&["check", &dataset.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn runtime_failures_exit_1_and_leave_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    // The target exists as a directory: the final rename fails after all rows were written.
    std::fs::create_dir(dir.path().join("raw.csv")).unwrap();
    let o = holdout(&["synth", "--rows", "100", "--out", &dir.path().join("raw.csv").display().to_string()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot move output"), "{}", stderr(&o));
    assert_eq!(files_in(dir.path()), ["raw.csv"]);
}

#[test]
fn check_validates_every_shipped_contest() {
    for contest in ["security-sense", "fraud-exposure", "satisfaction-index"] {
        let o = holdout(&["check", &format!("datasets/{contest}")]);
        assert_eq!(o.status.code(), Some(0), "{contest}: {}", stderr(&o));
        assert!(stdout(&o).contains(&format!("contest {contest}")));
    }
    let o = holdout(&["check", "datasets/netizen-survey-2024"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("columns     113"));
}

#[test]
fn check_refuses_a_contest_that_publishes_background_knowledge_unprotected() {
    // A copy of security-sense that publishes income without protecting it, beside the survey.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo().join("datasets/netizen-survey-2024"), dir.path().join("netizen-survey-2024"))
        .unwrap();
    let contest = dir.path().join("unprotected-income");
    std::fs::create_dir(&contest).unwrap();
    let text = std::fs::read_to_string(repo().join("datasets/security-sense/competition.toml")).unwrap();
    let entry = "[[privacy.quasi_identifier]]\ncolumn = \"q20_income\"\nhierarchy = \"income\"\nimportance = 1\n";
    assert!(text.contains(entry));
    std::fs::write(contest.join("competition.toml"), text.replace(entry, "")).unwrap();
    let o = holdout(&["check", &contest.display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let message = stderr(&o);
    let line = text.lines().position(|l| l == "[features]").unwrap() + 1;
    assert!(
        message.contains(&format!("competition.toml:{line}:1: feature `q20_income` is background knowledge")),
        "{message}"
    );
    assert!(message.contains("[[privacy.quasi_identifier]]"), "it says how to fix it: {message}");
}
