//! A service on a tiny hand-made bundle (binary task, 240 test rows, public/private), a
//! settable clock, accounts for every role, and helpers to call the router with `oneshot`.

#![allow(
    dead_code,
    missing_debug_implementations,
    clippy::unwrap_used,
    clippy::format_push_string,
    clippy::format_collect
)]

pub mod contract;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use holdout_server::api::{Role, create_user, issue_token};
use holdout_server::{AppState, Config, contest, db, time, worker};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const CONTEST: &str = "tiny";
pub const ROWS: usize = 240;
/// Inside the preliminary phase.
pub const OPEN: &str = "2024-09-10T04:00:00Z";

pub fn truth(i: usize) -> u8 {
    u8::from((i * 7) % 10 < 4)
}

/// A probability submission whose quality grows with `w` (0: noise, 1: the truth).
pub fn submission(w: f64, salt: usize) -> String {
    let mut s = String::from("id,probability\n");
    for i in 0..ROWS {
        let noise = ((i * 37 + salt * 11) % 101) as f64 / 101.0;
        let p = w * f64::from(truth(i)) + (1.0 - w) * noise;
        s.push_str(&format!("r{i:03},{p:.6}\n"));
    }
    s
}

fn sha(bytes: &[u8]) -> String {
    holdout_server::auth::digest_bytes(bytes)
}

/// Writes the bundle: public/{MANIFEST.json,test.csv}, private/{solution.csv,salt.txt}.
pub fn bundle(dir: &Path) -> PathBuf {
    let root = dir.join("bundle");
    std::fs::create_dir_all(root.join("public")).unwrap();
    std::fs::create_dir_all(root.join("private")).unwrap();
    let mut test = String::from("id,x\n");
    let mut solution = String::from("id,y,usage\n");
    for i in 0..ROWS {
        test.push_str(&format!("r{i:03},{}\n", i % 5));
        solution.push_str(&format!("r{i:03},{},{}\n", truth(i), if i % 3 == 0 { "public" } else { "private" }));
    }
    std::fs::write(root.join("public/test.csv"), &test).unwrap();
    std::fs::write(root.join("private/solution.csv"), &solution).unwrap();
    let salt = [7u8; 32];
    std::fs::write(root.join("private/salt.txt"), format!("{}\n", hex(&salt))).unwrap();
    let mut committed = salt.to_vec();
    committed.extend_from_slice(solution.as_bytes());
    let manifest = json!({
        "contest": CONTEST, "survey": "test", "holdout_version": "test", "train_rows": 0, "test_rows": ROWS,
        "submission": {"task": "binary", "labels": [0, 1], "prediction_format": "probability",
            "columns": ["id", "probability"], "primary_metric": "roc_auc", "max_file_mb": 1},
        "files": [{"path": "test.csv", "bytes": test.len(), "sha256": sha(test.as_bytes())}],
        "solution_commitment": {"scheme": "test", "sha256": sha(&committed)},
        "columns": [],
        "rules": {
            "title": {"zh": "测试", "en": "Test"}, "description": {"zh": "测试", "en": "Test"},
            "daily_submissions": 3, "total_submissions": 5, "final_selections": 2, "team_max_size": 2,
            "phases": [
                {"name": "preliminary", "zh": "初赛", "en": "Preliminary", "start": "2024-09-02T02:00:00Z", "end": "2024-10-20T15:59:59Z", "board": "a"},
                {"name": "final", "zh": "复赛", "en": "Final", "start": "2024-10-21T02:00:00Z", "end": "2024-11-03T15:59:59Z", "board": "a"}
            ]
        }
    });
    std::fs::write(root.join("public/MANIFEST.json"), serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    root
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Anon,
    /// alice, team A.
    A,
    /// bob, team B.
    B,
    Judge,
    Org,
    /// carol, a competitor without a team.
    Carol,
}

pub const MATRIX: [Who; 5] = [Who::Anon, Who::A, Who::B, Who::Judge, Who::Org];

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub state: AppState,
    pub clock: Arc<Mutex<DateTime<Utc>>>,
    pub tokens: Vec<(Who, String)>,
    pub team_a: i64,
    pub team_b: i64,
    pub workers: Vec<tokio::task::JoinHandle<()>>,
}

/// The database of a test's data directory: SQLite in `dir`, or, with
/// `HOLDOUT_TEST_BACKEND=postgres`, a new database of its own on the PostgreSQL server
/// `HOLDOUT_TEST_POSTGRES` names (`.ci/run` starts one and runs these tests on both), created on
/// first use and named in `dir/database-url` so a restart in the test opens the same one.
pub async fn database(dir: &Path) -> db::Location {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    if std::env::var("HOLDOUT_TEST_BACKEND").as_deref() != Ok("postgres") {
        return db::Location::Dir(dir.to_path_buf());
    }
    let admin = std::env::var("HOLDOUT_TEST_POSTGRES").ok().filter(|u| !u.is_empty()).expect(
        "HOLDOUT_TEST_BACKEND=postgres needs HOLDOUT_TEST_POSTGRES, a PostgreSQL server's URL (.ci/postgres start)",
    );
    let named = dir.join("database-url");
    if let Ok(url) = std::fs::read_to_string(&named) {
        return db::Location::Url(url);
    }
    let name = format!(
        "holdout_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
    );
    sqlx::any::install_default_drivers();
    let mut admin_conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin_conn).await.unwrap();
    <sqlx::AnyConnection as sqlx::Connection>::close(admin_conn).await.unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    std::fs::write(&named, url.as_str()).unwrap();
    db::Location::Url(url.to_string())
}

pub async fn state_at(dir: &Path, clock: Arc<Mutex<DateTime<Utc>>>) -> AppState {
    let pool = db::open_at(&database(dir).await, true).await.unwrap();
    let c = clock.clone();
    let config = Config { workers: 1, replicates: 50, session_hours: 1, secure_cookies: true, ..Config::default() };
    AppState::new(pool, dir.to_path_buf(), Arc::new(move || *c.lock().unwrap()), config)
}

impl Harness {
    /// A loaded contest, the preliminary phase open, teams A (alice) and B (bob), a judge, an
    /// organizer and carol (no team); one scoring worker.
    pub async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(Mutex::new(time::parse(OPEN).unwrap()));
        let state = state_at(dir.path(), clock.clone()).await;
        let b = bundle(dir.path());
        contest::create(&state.pool, dir.path(), &b, &time::text(time::parse(OPEN).unwrap())).await.unwrap();
        let mut tokens = Vec::new();
        for (who, name, role) in [
            (Who::A, "alice", Role::Competitor),
            (Who::B, "bob", Role::Competitor),
            (Who::Judge, "judy", Role::Judge),
            (Who::Org, "olga", Role::Organizer),
            (Who::Carol, "carol", Role::Competitor),
        ] {
            let id = create_user(&state, name, "a long password", role, "system").await.unwrap();
            tokens.push((who, issue_token(&state, id, "test").await.unwrap().1));
        }
        let workers = worker::spawn(&state, 1);
        let mut h = Harness { dir, state, clock, tokens, team_a: 0, team_b: 0, workers };
        let (s, v) = h.call(Who::A, "POST", "/contests/tiny/teams", Some(json!({"name": "Team A"}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        h.team_a = v["id"].as_i64().unwrap();
        let (s, v) = h.call(Who::B, "POST", "/contests/tiny/teams", Some(json!({"name": "Team B"}))).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        h.team_b = v["id"].as_i64().unwrap();
        h
    }

    pub fn set_time(&self, t: &str) {
        *self.clock.lock().unwrap() = time::parse(t).unwrap();
    }

    pub fn token(&self, who: Who) -> Option<&str> {
        self.tokens.iter().find(|(w, _)| *w == who).map(|(_, t)| t.as_str())
    }

    /// Sends a request through the router; an API response is held to the `OpenAPI` document.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        send_to(self.state.clone(), request).await
    }

    pub fn request(&self, who: Who, method: &str, path: &str) -> axum::http::request::Builder {
        let mut r = Request::builder().method(method).uri(format!("/api/v1{path}"));
        if let Some(t) = self.token(who) {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r
    }

    /// A JSON call; the answer parsed (or a string when it is not JSON).
    pub async fn call(&self, who: Who, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let r = self.request(who, method, path);
        let request = match body {
            Some(b) => r.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
            None => r.body(Body::empty()).unwrap(),
        };
        let (s, bytes, _) = self.send(request).await;
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (s, v)
    }

    pub async fn upload(&self, who: Who, file: &str, description: &str) -> (StatusCode, Value) {
        upload_to(self.state.clone(), self.token(who).map(str::to_owned), file.to_owned(), description.to_owned()).await
    }

    /// Uploads and waits until scored; returns the submission.
    pub async fn scored(&self, who: Who, file: &str) -> Value {
        let (s, v) = self.upload(who, file, "").await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        self.drain().await;
        let (s, v) = self.call(who, "GET", &format!("/contests/tiny/submissions/{}", v["id"]), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["status"], "scored", "{v}");
        v
    }

    pub async fn drain(&self) {
        tokio::time::timeout(std::time::Duration::from_mins(1), worker::drain(&self.state)).await.unwrap().unwrap();
    }

    /// How many audit entries have this action and subject.
    pub async fn audited(&self, action: &str, subject: &str) -> usize {
        db::entries(&self.state.pool)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.event.action == action && e.event.subject == subject)
            .count()
    }
}

/// Sends a request through `state`'s router; an API response is held to the `OpenAPI` document.
pub async fn send_to(state: AppState, request: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let (method, path) = (request.method().to_string(), request.uri().to_string());
    let response = holdout_server::router(state).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    contract::hold(&method, &path, status, &headers, &body);
    (status, body, headers)
}

/// An upload of `file` to the `tiny` contest through `state` (any service replica's), with a
/// bearer token.
pub async fn upload_to(
    state: AppState,
    token: Option<String>,
    file: String,
    description: String,
) -> (StatusCode, Value) {
    let boundary = "XyZzY";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n{description}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n\
         --{boundary}--\r\n"
    );
    let mut r = Request::builder().method("POST").uri("/api/v1/contests/tiny/submissions");
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    let request =
        r.header("content-type", format!("multipart/form-data; boundary={boundary}")).body(Body::from(body)).unwrap();
    let (s, bytes, _) = send_to(state, request).await;
    (s, serde_json::from_slice(&bytes).unwrap())
}
