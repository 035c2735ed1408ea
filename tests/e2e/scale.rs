//! Scale-out on PostgreSQL with real processes: two `holdout serve --workers 0` replicas and
//! `holdout worker` processes on one database. A worker is killed with `kill -9` while scoring
//! and another finishes its job once the lease runs out; 200 uploads spread over both replicas
//! are each scored exactly once; 20 parallel uploads of one team with 5 left, over both
//! replicas, give exactly 5 accepted; a disqualification made through one replica shows on the
//! other's board within 1 s; the audit chain verifies. Also `holdout db copy` of a data
//! directory into PostgreSQL, served from there with the same board, audit head and files.
//!
//! Needs a PostgreSQL server: `HOLDOUT_TEST_POSTGRES` (`.ci/run` starts a throwaway one and
//! sets `HOLDOUT_REQUIRE_POSTGRES=1`, so CI cannot skip these); without it they are skipped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::prepare::{fixture, prepare};
use crate::serve::{Server, http};
use crate::{holdout, repo, stderr, stdout};

/// A new, empty database on the test server, or `None` (skip) when there is no server and CI
/// does not require one.
pub(crate) fn database() -> Option<String> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let Some(admin) = std::env::var("HOLDOUT_TEST_POSTGRES").ok().filter(|u| !u.is_empty()) else {
        assert!(
            std::env::var("HOLDOUT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "HOLDOUT_REQUIRE_POSTGRES=1 but HOLDOUT_TEST_POSTGRES names no server"
        );
        eprintln!("skipped: no PostgreSQL server (set HOLDOUT_TEST_POSTGRES, e.g. from .ci/postgres start DIR)");
        return None;
    };
    let name = format!("holdout_e2e_{}_{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await.unwrap();
    });
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

/// The sample submission with labels that spell `k` in base 5 over the first rows: a distinct
/// valid file for every `k` below 5^8.
fn distinct(sample: &Path, out: &Path, k: usize) {
    use std::fmt::Write as _;
    let text = std::fs::read_to_string(sample).unwrap();
    let mut lines = text.lines();
    let mut s = format!("{}\n", lines.next().unwrap());
    for (i, line) in lines.enumerate() {
        let id = line.split(',').next().unwrap();
        let label = if i < 8 { k / 5usize.pow(i as u32) % 5 + 1 } else { (i * 7) % 5 + 1 };
        let _ = writeln!(s, "{id},{label}");
    }
    std::fs::write(out, s).unwrap();
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_holdout"))
        .args(args)
        .current_dir(repo())
        .env_remove("HOLDOUT_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A replica serving `url` without scoring, its local files in `local`.
fn replica(url: &str, local: &Path) -> Server {
    let mut child = spawn(&[
        "serve",
        "--database",
        url,
        "--data-dir",
        &local.display().to_string(),
        "--workers",
        "0",
        "--bind",
        "127.0.0.1:0",
    ]);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(address.starts_with("http://127.0.0.1:"), "{line}");
    Server::new(child, address)
}

/// A process killed when dropped (a failed test leaves none behind).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scoring worker on `url` (ready once it says so).
fn worker(url: &str, replicates: &str, lease: &str) -> Killed {
    let mut child = spawn(&["worker", "--database", url, "--replicates", replicates, "--lease", lease]);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("holdout worker scoring"), "{line}");
    Killed(child)
}

fn query<T>(url: &str, f: impl AsyncFnOnce(&sqlx::AnyPool) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let pool =
            holdout_server::db::connect_at(&holdout_server::db::Location::Url(url.to_owned()), false).await.unwrap();
        let out = f(&pool).await;
        pool.close().await;
        out
    })
}

fn statuses(url: &str) -> Vec<(String, i64)> {
    query(url, async |pool| {
        sqlx::query_as("SELECT status, COUNT(*) FROM submissions GROUP BY status ORDER BY status")
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

fn upload(server: &str, token: &str, file: &Path) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(std::fs::read(file).unwrap()).file_name("s.csv"));
        let r = reqwest::Client::new()
            .post(format!("{server}/api/v1/contests/security-sense/submissions"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    })
}

#[test]
#[expect(
    clippy::too_many_lines,
    clippy::many_single_char_names,
    reason = "the fleet's story, step by step, with the service tests' short names"
)]
fn replicas_and_workers_share_one_postgresql() {
    let Some(url) = database() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = |x: &Path| x.display().to_string();
    let (_, raw, key) = fixture();
    let bundle = dir.path().join("ss");
    let o = prepare("datasets/security-sense", raw, key, &bundle);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = holdout(&["contest", "create", "--database", &url, &p(&bundle)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut tokens = Vec::new();
    for i in 0..11 {
        let (name, role) = if i == 0 { ("olga".to_owned(), "organizer") } else { (format!("user{i}"), "competitor") };
        let o = Command::new(env!("CARGO_BIN_EXE_holdout"))
            .args(["user", "create", "--database", &url, &name, "--role", role])
            .env("HOLDOUT_PASSWORD", "a long password")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let o = holdout(&["token", "create", "--database", &url, &name]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        tokens.push(stdout(&o).trim().to_owned());
    }
    let (org, competitors) = (tokens[0].clone(), tokens[1..].to_vec());
    let (r1, r2) = (replica(&url, &dir.path().join("r1")), replica(&url, &dir.path().join("r2")));
    let api = |r: &Server| format!("{}/api/v1/contests/security-sense", r.url);
    for (phase, start, end) in [
        ("final", "2099-01-01T00:00:00+08:00", "2099-02-01T00:00:00+08:00"),
        ("preliminary", "2020-01-01T00:00:00+08:00", "2098-01-01T00:00:00+08:00"),
    ] {
        let (s, v) = http(
            "PUT",
            &format!("{}/phases/{phase}", api(&r1)),
            &org,
            Some(json!({"starts_at": start, "ends_at": end})),
        );
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = http("PATCH", &api(&r2), &org, Some(json!({"daily_submissions": 1000, "total_submissions": 1000})));
    assert_eq!(s, 200, "{v}");
    let mut teams = Vec::new();
    for (i, t) in competitors.iter().enumerate() {
        let r = if i % 2 == 0 { &r1 } else { &r2 };
        let (s, v) = http("POST", &format!("{}/teams", api(r)), t, Some(json!({"name": format!("team {i}")})));
        assert_eq!(s, 201, "{v}");
        teams.push(v["id"].as_i64().unwrap());
    }

    // A slow worker (many replicates) takes the first upload and is killed while scoring.
    let sample = bundle.join("public/sample_submission.csv");
    let first = dir.path().join("first.csv");
    distinct(&sample, &first, 0);
    let slow = worker(&url, "400000", "2");
    assert_eq!(upload(&r1.url, &competitors[0], &first), 202);
    let deadline = Instant::now() + Duration::from_secs(30);
    while statuses(&url) != [("scoring".to_owned(), 1)] {
        assert!(Instant::now() < deadline, "the slow worker never claimed the upload: {:?}", statuses(&url));
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(slow); // kill -9
    let fleet = vec![worker(&url, "50", "2"), worker(&url, "50", "2")];

    // 200 uploads (20 per team), spread over both replicas, 10 at a time.
    std::thread::scope(|scope| {
        for (i, t) in competitors.iter().enumerate() {
            let (dir, sample, r) = (dir.path(), &sample, if i % 2 == 0 { &r2 } else { &r1 });
            scope.spawn(move || {
                for k in 0..20 {
                    let f = dir.join(format!("t{i}-{k}.csv"));
                    distinct(sample, &f, 1 + i * 20 + k);
                    assert_eq!(upload(&r.url, t, &f), 202, "team {i} upload {k}");
                }
            });
        }
    });
    let deadline = Instant::now() + Duration::from_mins(3);
    while statuses(&url) != [("scored".to_owned(), 201)] {
        assert!(Instant::now() < deadline, "not all scored: {:?}", statuses(&url));
        std::thread::sleep(Duration::from_millis(200));
    }
    let (scores, twice, retried): (i64, i64, i64) = query(&url, async |pool| {
        let scores = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'submission.score'")
            .fetch_one(pool)
            .await
            .unwrap();
        let twice = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT subject FROM audit_log WHERE action = 'submission.score' \
             GROUP BY subject HAVING COUNT(*) > 1) AS t",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        let retried =
            sqlx::query_scalar("SELECT attempts FROM submissions ORDER BY id LIMIT 1").fetch_one(pool).await.unwrap();
        (scores, twice, retried)
    });
    assert_eq!((scores, twice), (201, 0), "every submission scored exactly once");
    assert_eq!(retried, 2, "the killed worker's job was claimed again after its lease ran out");

    // The quota race: team 1 has used 20; with a total of 25, 20 parallel uploads over both
    // replicas leave exactly 5 accepted.
    let (s, v) = http("PATCH", &api(&r1), &org, Some(json!({"total_submissions": 25})));
    assert_eq!(s, 200, "{v}");
    let codes: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|k| {
                let (dir, sample, t, r) = (dir.path(), &sample, &competitors[1], if k % 2 == 0 { &r1 } else { &r2 });
                scope.spawn(move || {
                    let f = dir.join(format!("race-{k}.csv"));
                    distinct(sample, &f, 5000 + k);
                    upload(&r.url, t, &f)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(codes.iter().filter(|&&c| c == 202).count(), 5, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&c| c == 429).count(), 15, "{codes:?}");

    // A disqualification through replica 1 shows on replica 2's (cached) board within 1 s.
    let board = |r: &Server| http("GET", &format!("{}/leaderboard", api(r)), &competitors[0], None).1;
    let named = |b: &Value, team: &str| b["rows"].as_array().unwrap().iter().any(|row| row["team"] == team);
    assert!(named(&board(&r2), "team 3"), "{}", board(&r2));
    let (s, v) = http(
        "POST",
        &format!("{}/teams/{}/disqualify", api(&r1), teams[3]),
        &org,
        Some(json!({"reason": "shared accounts", "disqualified": true})),
    );
    assert_eq!(s, 200, "{v}");
    let changed = Instant::now();
    while named(&board(&r2), "team 3") {
        assert!(changed.elapsed() < Duration::from_secs(1), "replica 2 still shows the disqualified team");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop((fleet, r1, r2));
    let o = holdout(&["audit", "verify", "--database", &url]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `holdout db copy` of a data directory into PostgreSQL: served from there, the board, the
/// audit head and a submission's file are the same.
/// `token`: an organizer's.
#[expect(clippy::many_single_char_names, reason = "the service tests' short names")]
pub(crate) fn copy_and_compare(data: &Path, token: &str, contest: &str) {
    let Some(url) = database() else { return };
    let p = |x: &Path| x.display().to_string();
    let o = holdout(&["db", "copy", "--from", &p(data), "--to", &url]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("copied to"), "{}", stdout(&o));
    // A second copy into the same database is refused, as bad input.
    let o = holdout(&["db", "copy", "--from", &p(data), "--to", &url]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not empty"), "{}", stderr(&o));
    let o = holdout(&["audit", "verify", "--database", &url]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let local = tempfile::tempdir().unwrap();
    let sqlite = crate::serve::serve(data);
    let pg = replica(&url, local.path());
    let get = |s: &Server, path: &str| http("GET", &format!("{}/api/v1{path}", s.url), token, None);
    let board = format!("/contests/{contest}/leaderboard");
    assert_eq!(get(&sqlite, &board), get(&pg, &board), "the same board");
    let (s, audit) = get(&sqlite, "/audit?limit=1");
    assert_eq!(s, 200, "{audit}");
    let copied = get(&pg, "/audit?limit=1").1;
    for field in ["intact", "entries", "head"] {
        assert_eq!(audit["verification"][field], copied["verification"][field], "the same audit head: {field}");
    }
    let mine = get(&sqlite, &format!("/contests/{contest}/submissions")).1;
    let id = mine["submissions"][0]["id"].as_i64().unwrap();
    let file = |s: &Server| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let r = reqwest::Client::new()
                .get(format!("{}/api/v1/contests/{contest}/submissions/{id}/file", s.url))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap())
        })
    };
    let (a, b) = (file(&sqlite), file(&pg));
    assert_eq!(a.0, 200);
    assert_eq!(a, b, "the same stored file");
}

/// Scoring in separate processes needs PostgreSQL: on a data directory both commands refuse,
/// saying why, and create nothing.
#[test]
fn workers_apart_from_the_service_need_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").display().to_string();
    let o = holdout(&["worker", "--data-dir", &data]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("PostgreSQL database"), "{}", stderr(&o));
    let o = holdout(&["serve", "--data-dir", &data, "--workers", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--workers 0 serves without scoring"), "{}", stderr(&o));
    assert!(!dir.path().join("data").exists(), "nothing created");
}

/// A replica or worker on another machine reaches PostgreSQL over TLS, with the server's
/// certificate verified: `sslmode=verify-full` against the right CA connects (and the session is
/// encrypted); against CAs that did not sign it, nothing connects. `.ci/postgres` gives its
/// server a certificate for 127.0.0.1 signed by a throwaway CA, which
/// `HOLDOUT_TEST_POSTGRES_CA` names.
#[test]
fn postgresql_over_verified_tls() {
    let Some(url) = database() else { return };
    let Some(ca) = std::env::var("HOLDOUT_TEST_POSTGRES_CA").ok().filter(|c| !c.is_empty()) else {
        assert!(
            std::env::var("HOLDOUT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "HOLDOUT_REQUIRE_POSTGRES=1 but HOLDOUT_TEST_POSTGRES_CA names no certificate"
        );
        eprintln!("skipped: no CA certificate for the PostgreSQL server (HOLDOUT_TEST_POSTGRES_CA)");
        return;
    };
    let verified = format!("{url}?sslmode=verify-full&sslrootcert={ca}");
    let o = holdout(&["db", "migrate", "--database", &verified]);
    assert!(o.status.success(), "{}", stderr(&o));
    let encrypted: bool = query(&verified, async |pool| {
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(pool).await.unwrap()
    });
    assert!(encrypted);

    // The system's CAs did not sign the test server's certificate.
    let wrong = format!("{url}?sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt");
    let o = holdout(&["db", "migrate", "--database", &wrong]);
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stderr(&o).to_lowercase().contains("certificate"), "{}", stderr(&o));
}
