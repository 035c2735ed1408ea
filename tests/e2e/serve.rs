//! The real binary as a service: `holdout contest create`, `user create`, `token create`,
//! `serve`, and the CLI client against it; then a `kill -9` and a restart.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::prepare::{fixture, prepare};
use crate::{holdout, repo, stderr, stdout};

pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
}

impl Server {
    pub(crate) fn new(child: Child, url: String) -> Server {
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn serve(data: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_holdout"))
        .args(["serve", "--data-dir", &data.display().to_string(), "--bind", "127.0.0.1:0", "--replicates", "50"])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    Server { child, url }
}

pub(crate) fn http(method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut r = client.request(method.parse().unwrap(), url).bearer_auth(token);
        if let Some(b) = body {
            r = r.header("content-type", "application/json").body(b.to_string());
        }
        let response = r.send().await.unwrap();
        let status = response.status().as_u16();
        (status, serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null))
    })
}

/// The sample submission with labels shifted by `k`: a distinct valid file.
pub(crate) fn variant(sample: &Path, out: &Path, k: usize) {
    let text = std::fs::read_to_string(sample).unwrap();
    let mut lines = text.lines();
    let mut s = format!("{}\n", lines.next().unwrap());
    for (i, line) in lines.enumerate() {
        let id = line.split(',').next().unwrap();
        let _ = writeln!(s, "{id},{}", (i * 7 + k) % 5 + 1);
    }
    std::fs::write(out, s).unwrap();
}

/// A data directory with the security-sense contest, its `prior` baseline, an organizer and a
/// competitor: (organizer token, competitor token).
#[allow(clippy::many_single_char_names)]
pub(crate) fn load(dir: &Path) -> (String, String) {
    let (_, raw, key) = fixture();
    let (bundle, bl, data) = (dir.join("ss"), dir.join("bl"), dir.join("data"));
    let o = prepare("datasets/security-sense", raw, key, &bundle);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let p = |x: &Path| x.display().to_string();
    let o = holdout(&[
        "baseline",
        &p(&bl),
        "--public",
        &p(&bundle.join("public")),
        "--models",
        "prior",
        "--folds",
        "2",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = holdout(&["contest", "create", "--data-dir", &p(&data), &p(&bundle), "--baselines", &p(&bl)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("contest security-sense loaded: 2 phases"), "{}", stdout(&o));
    // Loading it twice is refused, and a bundle without rules or a broken one is refused.
    let o = holdout(&["contest", "create", "--data-dir", &p(&data), &p(&bundle)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));

    let mut tokens = Vec::new();
    for (name, role) in [("olga", "organizer"), ("alice", "competitor")] {
        let o = Command::new(env!("CARGO_BIN_EXE_holdout"))
            .args(["user", "create", "--data-dir", &p(&data), name, "--role", role])
            .env("HOLDOUT_PASSWORD", "a long password")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let o = holdout(&["token", "create", "--data-dir", &p(&data), name]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        tokens.push(stdout(&o).trim().to_owned());
    }
    let o = Command::new(env!("CARGO_BIN_EXE_holdout"))
        .args(["user", "create", "--data-dir", &p(&data), "bob", "--role", "competitor"])
        .env("HOLDOUT_PASSWORD", "short")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("at least 10 characters"), "{}", stderr(&o));
    (tokens[0].clone(), tokens[1].clone())
}

#[test]
#[allow(clippy::many_single_char_names, clippy::too_many_lines, reason = "one contest's story, step by step")]
fn a_contest_runs_through_the_service_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (org, alice) = load(dir.path());
    let (bundle, data) = (dir.path().join("ss"), dir.path().join("data"));
    let p = |x: &Path| x.display().to_string();
    let server = serve(&data);
    let api = format!("{}/api/v1/contests/security-sense", server.url);
    // Open the preliminary phase around now (the final one moves first: phases do not overlap).
    let (s, v) = http(
        "PUT",
        &format!("{api}/phases/final"),
        &org,
        Some(json!({"starts_at": "2099-01-01T00:00:00+08:00", "ends_at": "2099-02-01T00:00:00+08:00"})),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = http(
        "PUT",
        &format!("{api}/phases/preliminary"),
        &org,
        Some(json!({"starts_at": "2020-01-01T00:00:00+08:00", "ends_at": "2098-01-01T00:00:00+08:00"})),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = http("POST", &format!("{api}/teams"), &alice, Some(json!({"name": "安全小队"})));
    assert_eq!(s, 201, "{v}");

    let client = |args: &[&str]| {
        let mut all = vec![args[0], "--server", &server.url, "--contest", "security-sense"];
        all.extend_from_slice(&args[1..]);
        holdout(&all)
    };
    let sample = bundle.join("public/sample_submission.csv");
    let first = dir.path().join("first.csv");
    variant(&sample, &first, 0);
    let o = client(&["submit", "--token", &alice, &p(&first), "-m", "第一次", "--wait"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("scored — public"), "{}", stdout(&o));
    // Checked locally: a file with the wrong header never reaches the server.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,prediction\nx,1\n").unwrap();
    let o = client(&["submit", "--token", &alice, &p(&bad)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.csv"), "{}", stderr(&o));
    // A bad token.
    let o = client(&["submit", "--token", "hol_nope", &p(&first)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("401"), "{}", stderr(&o));

    let o = client(&["submissions", "--token", &alice, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let list: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(list["submissions"].as_array().unwrap().len(), 1, "the invalid file was not uploaded");
    let id = list["submissions"][0]["id"].as_i64().unwrap();
    let o = client(&["submissions", "--token", &alice]);
    assert!(stdout(&o).contains("第一次") && stdout(&o).contains("scored"), "{}", stdout(&o));
    let o = client(&["leaderboard"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("安全小队") && stdout(&o).contains("baseline-prior (baseline)"), "{}", stdout(&o));
    let o = client(&["leaderboard", "--private", "--token", &alice]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("hidden until the organizers reveal it"), "{}", stderr(&o));
    let o = client(&["leaderboard", "--private", "--token", &org]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("shake-up"), "{}", stdout(&o));
    let o = client(&["select", "--token", &alice, &id.to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains(&format!("[{id}]")), "{}", stdout(&o));

    // Three more, then kill -9 at once; a restart scores each exactly once.
    for k in 1..=3 {
        let f = dir.path().join(format!("v{k}.csv"));
        variant(&sample, &f, k);
        let o = client(&["submit", "--token", &alice, &p(&f)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    drop(server);
    let server = serve(&data);
    let o = holdout(&[
        "submit",
        "--server",
        &server.url,
        "--contest",
        "security-sense",
        "--token",
        &alice,
        &p(&first),
        "--wait",
    ]);
    assert_eq!(o.status.code(), Some(2), "the same file again is refused");
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    loop {
        let (_, v) = http("GET", &format!("{}/api/v1/contests/security-sense/submissions", server.url), &alice, None);
        let statuses: Vec<&str> =
            v["submissions"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
        assert_eq!(statuses.len(), 4);
        if statuses.iter().all(|s| *s == "scored") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {statuses:?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(server);
    let o = holdout(&["audit", "verify", "--data-dir", &p(&data)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let pool = holdout_server::db::open(&data, false).await.unwrap();
        let twice: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT subject FROM audit_log WHERE action = 'submission.score' GROUP BY subject HAVING COUNT(*) > 1) AS t",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(twice, 0, "a submission was scored twice");
        pool.close().await;
    });
}
