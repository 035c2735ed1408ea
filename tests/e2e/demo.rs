//! `holdout demo` end to end at a small size: it builds and serves everything, the site and
//! the API answer with the seeded people and submissions, and a second run reuses it all.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::{repo, stderr, stdout};

#[test]
#[expect(clippy::too_many_lines, reason = "the demo's story, step by step")]
fn the_demo_serves_three_contests_with_people_and_scores_and_reuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo").display().to_string();
    // The demo's log goes to a file, shown if it stops before serving.
    let log = dir.path().join("demo.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_holdout"))
        .args(["demo", "--rows", "6000", "--data-dir", &data, "--bind", "127.0.0.1:0"])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut alice) = (String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.trim_start().starts_with("alice ") {
            alice = line.split_whitespace().last().unwrap().to_owned();
        }
        if let Some(rest) = line.strip_prefix("holdout demo serving ") {
            url = rest.split_whitespace().nth(2).unwrap().to_owned();
            break;
        }
    }
    assert!(
        url.starts_with("http://127.0.0.1:") && alice.starts_with("hol_"),
        "{url} {alice}; the demo's log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let get = |path: &str, token: Option<&str>| {
        runtime.block_on(async {
            let mut r = reqwest::Client::new().get(format!("{url}{path}"));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let response = r.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    };
    let (s, page) = get("/", None);
    assert_eq!(s, 200);
    for contest in ["security-sense", "fraud-exposure", "satisfaction-index"] {
        assert!(page.contains(contest), "{page}");
        let (s, board) = get(&format!("/contests/{contest}/leaderboard"), None);
        assert_eq!(s, 200);
        assert!(board.contains("安全小队") && board.contains("Data Miners") && board.contains("baseline-"), "{board}");
        let (s, mine) = get(&format!("/api/v1/contests/{contest}/submissions"), Some(&alice));
        assert_eq!(s, 200);
        let mine: serde_json::Value = serde_json::from_str(&mine).unwrap();
        let statuses: Vec<&str> =
            mine["submissions"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["scored", "scored"], "{mine}");
        // Each contest signs receipts with its own key (made by `contest create`).
        let (_, c) = get(&format!("/api/v1/contests/{contest}"), None);
        let key = serde_json::from_str::<serde_json::Value>(&c).unwrap()["receipt_key"].as_str().unwrap().to_owned();
        let (s, receipt) = get(
            &format!("/api/v1/contests/{contest}/submissions/{}/receipt", mine["submissions"][0]["id"]),
            Some(&alice),
        );
        assert_eq!(s, 200, "{receipt}");
        let file = dir.path().join(format!("receipt-{contest}.json"));
        std::fs::write(&file, receipt).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_holdout"))
            .args(["receipt", "verify", &file.display().to_string(), "--key", &key])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let (s, page) = get("/contests/security-sense/leaderboard?lang=en", None);
    assert!(s == 200 && page.contains("Public board"));
    child.kill().unwrap();
    child.wait().unwrap();

    // Again: everything is reused; new tokens are printed.
    let o = Command::new(env!("CARGO_BIN_EXE_holdout"))
        .args(["demo", "--rows", "6000", "--data-dir", &data, "--no-serve"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains("== prepare") && !out.contains("== load") && out.contains("holdout-demo-2024"), "{out}");
    // The judges' integrity report of a demo contest, in both languages and as JSON.
    let run =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_holdout")).args(args).env_remove("LANG").output().unwrap();
    let o = run(&["integrity", "--data-dir", &data, "security-sense", "--lang", "en"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(md.contains("# The judges' integrity report — security-sense") && md.contains("Kendall τ-b"), "{md}");
    assert!(md.contains("安全小队") && md.contains("Near-duplicate prediction files across teams"), "{md}");
    let o = run(&["integrity", "--data-dir", &data, "security-sense", "--lang", "zh"]);
    assert!(o.status.code() == Some(0) && stdout(&o).contains("评委诚信报告"), "{}", stderr(&o));
    let o = run(&["integrity", "--data-dir", &data, "security-sense", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["format"], "holdout-integrity/1");
    assert!(report["teams"].as_u64().unwrap() >= 2, "{report}");
    let o = run(&["integrity", "--data-dir", &data, "no-such-contest"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Rescore-all with the same scorer: every submission again, nothing changes.
    let o = run(&["rescore", "--all", "--data-dir", &data, "fraud-exposure", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(r["submissions"].as_u64().unwrap() >= 4, "{r}");
    assert_eq!((r["changed"].as_array().unwrap().len(), r["ranks"].as_array().unwrap().len()), (0, 0), "{r}");
    let o =
        Command::new(env!("CARGO_BIN_EXE_holdout")).args(["audit", "verify", "--data-dir", &data]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The demo's data moved to PostgreSQL serves the same (with a PostgreSQL server for tests).
    let olga = out.lines().find(|l| l.trim_start().starts_with("olga ")).unwrap().split_whitespace().last().unwrap();
    crate::scale::copy_and_compare(std::path::Path::new(&data), olga, "security-sense");
}
