//! The website in headless Chromium (through chromedriver's `WebDriver` API): a competitor logs
//! in, uploads a submission and sees it scored and on the board, and an invalid one explained in
//! Chinese with its line numbers; the page switches to English;
//! a judge logs in and disqualifies it with a reason; no page logs a console error (so the
//! Content-Security-Policy blocks nothing the site needs: its violations are console errors).
//!
//! Needs `chromium` and `chromium-driver` (Debian); `.ci/run` installs them and sets
//! `HOLDOUT_BROWSER_TEST=1`, which makes their absence a failure instead of a skip. With
//! `HOLDOUT_SCREENSHOTS=DIR` the main pages are saved there as PNG files.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::repo;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Driver {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
    session: String,
    shots: Option<PathBuf>,
}

impl Driver {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.runtime.block_on(async {
            let url = format!("{}/session/{}{path}", self.base, self.session);
            let mut r = self.http.request(method.parse().unwrap(), url);
            if let Some(b) = body {
                r = r.header("content-type", "application/json").body(b.to_string());
            }
            let text = r.send().await.unwrap().text().await.unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            assert!(v["value"]["error"].is_null(), "{method} {path}: {v}");
            v["value"].clone()
        })
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/value"), Some(json!({"text": text})));
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    /// The page once it contains `text` (navigation after a click may still be under way).
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let page = self.source();
            if page.contains(text) {
                return page;
            }
            assert!(Instant::now() < deadline, "waited for `{text}` in: {page}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn source(&self) -> String {
        self.call("GET", "/source", None).as_str().unwrap().to_owned()
    }

    /// Console messages at level SEVERE since the last call.
    fn console_errors(&self) -> Vec<String> {
        let v = self.call("POST", "/se/log", Some(json!({"type": "browser"})));
        v.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].to_string())
            .collect()
    }

    fn shot(&self, name: &str) {
        let Some(dir) = &self.shots else { return };
        let png = decode_base64(self.call("GET", "/screenshot", None).as_str().unwrap());
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = text.bytes().filter(|c| !matches!(c, b'=' | b'\n' | b'\r')).collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, c)| acc | (u32::from(value(*c)) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
#[allow(clippy::too_many_lines, reason = "one visit, step by step")]
fn a_competitor_and_a_judge_use_the_site_in_a_real_browser() {
    let required = std::env::var("HOLDOUT_BROWSER_TEST").is_ok_and(|v| v == "1");
    if Command::new("chromedriver").arg("--version").output().is_err() {
        assert!(!required, "chromedriver is missing: apt-get install -y chromium chromium-driver");
        eprintln!("skipped: no chromedriver (apt-get install -y chromium chromium-driver)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_holdout"))
        .args(["demo", "--rows", "6000", "--data-dir", &data.display().to_string(), "--bind", "127.0.0.1:0"])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = demo.stdout.take().unwrap();
    let _demo = Killed(demo);
    let url = BufReader::new(out)
        .lines()
        .map(Result::unwrap)
        .find_map(|l| l.strip_prefix("holdout demo serving ").map(|r| r.split_whitespace().nth(2).unwrap().to_owned()))
        .unwrap();

    let port = free_port();
    let _driver = Killed(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while runtime.block_on(http.get(format!("{base}/status")).send()).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"]},
        "goog:loggingPrefs": {"browser": "ALL"}
    }}});
    let created: Value = runtime.block_on(async {
        let r = http
            .post(format!("{base}/session"))
            .header("content-type", "application/json")
            .body(caps.to_string())
            .send()
            .await
            .unwrap();
        serde_json::from_str(&r.text().await.unwrap()).unwrap()
    });
    let session = created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
    let d = Driver { runtime, http, base, session, shots: std::env::var_os("HOLDOUT_SCREENSHOTS").map(PathBuf::from) };
    let mut errors = Vec::new();

    // A competitor logs in (the site is in Chinese), uploads, and sees the file scored.
    d.go(&format!("{url}/contests/security-sense"));
    d.shot("overview-zh");
    assert!(d.source().contains("赛程（北京时间）"));
    d.go(&format!("{url}/login?next=/contests/security-sense/submit"));
    d.type_into("#name", "alice");
    d.type_into("#password", "holdout-demo-2024");
    d.click("form.stack button[type=submit]");
    d.wait_for("今天剩余");
    d.shot("submit-zh");
    let file = data.join("work/security-sense/public/sample_submission.csv");
    d.type_into("#file", &file.display().to_string());
    d.type_into("#description", "from the browser");
    d.click("form.stack button[type=submit]");
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        let page = d.source();
        if page.contains("from the browser")
            && page.split("from the browser").next().unwrap().rsplit("<tr>").next().unwrap().contains("已评分")
        {
            break;
        }
        assert!(Instant::now() < deadline, "not scored: {page}");
        std::thread::sleep(Duration::from_millis(300));
        d.go(&format!("{url}/contests/security-sense/submissions"));
    }
    d.shot("submissions-zh");
    let page = d.source();
    let row = page.split("<tr>").find(|r| r.contains("from the browser")).unwrap();
    let id: String = row.trim_start().trim_start_matches("<td>").chars().take_while(char::is_ascii_digit).collect();
    assert!(!id.is_empty());

    // An invalid file (the first test id given twice): refused, and the page says why in
    // Chinese with the lines, as the validator found them.
    let sample = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = sample.lines().collect();
    lines[2] = lines[1];
    let bad = dir.path().join("duplicate.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    d.go(&format!("{url}/contests/security-sense/submit"));
    d.type_into("#file", &bad.display().to_string());
    d.type_into("#description", "a duplicate id");
    d.click("form.stack button[type=submit]");
    let page = d.wait_for("首次出现在第 2 行");
    let first_id = lines[1].split(',').next().unwrap();
    assert!(page.contains("重复的 id") && page.contains("第 3 行") && page.contains(first_id), "{page}");
    d.shot("invalid-zh");
    d.go(&format!("{url}/contests/security-sense/leaderboard"));
    let page = d.wait_for("安全小队");
    assert!(page.contains("<svg"), "{page}");
    d.shot("leaderboard-zh");
    errors.extend(d.console_errors());

    // English, from the toggle; it stays English on the next page.
    d.click("a.lang");
    d.wait_for("Public board");
    d.shot("leaderboard-en");
    d.go(&format!("{url}/contests/security-sense/team"));
    assert!(d.source().contains("API tokens"));
    d.shot("team-en");
    d.click("form[action='/logout'] button");
    d.wait_for("/signup");

    // A judge disqualifies it with a reason.
    d.go(&format!("{url}/login?next=/contests/security-sense/review/{id}"));
    d.type_into("#name", "judy");
    d.type_into("#password", "holdout-demo-2024");
    d.click("form.stack button[type=submit]");
    d.wait_for("Status history");
    d.type_into("#reason", "copied from another team");
    d.click("button.danger");
    let page = d.wait_for("Reinstate");
    assert!(page.contains("disqualified: copied from another team") && page.contains("Reinstate"), "{page}");
    assert!(page.contains("submission.disqualify"));
    d.shot("review-en");
    d.go(&format!("{url}/contests/security-sense/review"));
    d.shot("review-list-en");
    d.go(&format!("{url}/audit"));
    assert!(d.source().contains("Hash chain intact"));
    d.shot("audit-en");
    errors.extend(d.console_errors());
    d.call("DELETE", "", None);
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
