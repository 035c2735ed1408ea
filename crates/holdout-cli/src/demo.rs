//! `holdout demo`: the whole harness with one command. It generates a synthetic survey,
//! prepares the three contests, trains quick baselines, loads everything into a data
//! directory, creates an organizer, a judge and two competitor teams with a few scored
//! submissions, prints their logins and tokens, and serves the site. A second run reuses every
//! step already done (each step's output is written atomically by the command that makes it).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, anyhow};
use axum::http::{Method, StatusCode};
use holdout_server::api::{Role, call, create_user, issue_token};
use holdout_server::{AppState, Config, db, time, worker};
use serde_json::{Value, json};

use crate::{Failure, Outcome};

/// The demo's contests, each with the baselines quick enough to train at demo size.
const CONTESTS: [(&str, &str); 3] = [
    ("security-sense", "prior,gaussian_nb,logistic"),
    ("fraud-exposure", "prior,gaussian_nb,logistic"),
    ("satisfaction-index", "mean,linear"),
];

/// Everyone's demo password (the demo runs on 127.0.0.1 with synthetic data only).
const PASSWORD: &str = "holdout-demo-2024";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rows of the synthetic survey.
    #[arg(long, default_value_t = 200_000)]
    rows: u64,
    /// Where the demo keeps its data (reused by the next run).
    #[arg(long, default_value = "holdout-demo")]
    data_dir: PathBuf,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// Prepare everything, print the logins, and exit without serving.
    #[arg(long)]
    no_serve: bool,
}

fn bad(message: String) -> Failure {
    Failure::BadInput(anyhow!(message))
}

/// Runs this binary with `args`; its output goes to ours.
fn step(what: &str, args: &[&str]) -> Outcome {
    say!("== {what}");
    let exe = std::env::current_exe().context("cannot find the holdout binary")?;
    let status = Command::new(exe).args(args).status().with_context(|| format!("cannot run {what}"))?;
    if status.success() { Ok(()) } else { Err(Failure::Runtime(anyhow!("{what} failed ({status})"))) }
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// The files: raw export, bundles, baselines (each made once).
fn build(args: &Args, work: &Path) -> Outcome {
    std::fs::create_dir_all(work).with_context(|| format!("cannot create {}", work.display()))?;
    let raw = work.join(format!("raw-{}.csv", args.rows));
    if !raw.exists() {
        step(
            "synthetic survey",
            &["synth", "--rows", &args.rows.to_string(), "--seed", "7", "--out", &p(&raw), "--quiet"],
        )?;
    }
    for (contest, models) in CONTESTS {
        let bundle = work.join(contest);
        if !bundle.exists() {
            let definition = format!("datasets/{contest}");
            step(
                &format!("prepare {contest}"),
                &[
                    "prepare",
                    &definition,
                    "--raw",
                    &p(&raw),
                    "--secret-file",
                    "datasets/demo.key",
                    "--out",
                    &p(&bundle),
                    "--quiet",
                ],
            )?;
        }
        let baselines = work.join(format!("baselines-{contest}"));
        if !baselines.exists() {
            step(
                &format!("baselines {contest}"),
                &[
                    "baseline",
                    &p(&baselines),
                    "--public",
                    &p(&bundle.join("public")),
                    "--models",
                    models,
                    "--folds",
                    "3",
                    "--quiet",
                ],
            )?;
        }
    }
    Ok(())
}

/// Loads the contests and their baselines into the data directory (once).
fn load(args: &Args, work: &Path) -> Outcome {
    for (contest, _) in CONTESTS {
        if args.data_dir.join("contests").join(contest).exists() {
            continue;
        }
        let (bundle, baselines) = (work.join(contest), work.join(format!("baselines-{contest}")));
        step(
            &format!("load {contest}"),
            &["contest", "create", "--data-dir", &p(&args.data_dir), &p(&bundle), "--baselines", &p(&baselines)],
        )?;
    }
    Ok(())
}

async fn user(state: &AppState, name: &str, role: Role) -> Result<i64, Failure> {
    let id = db::accounts::user_id(&state.pool, name).await.map_err(|e| Failure::Runtime(anyhow!(e)))?;
    match id {
        Some(id) => Ok(id),
        None => {
            create_user(state, name, PASSWORD, role, "system").await.map_err(|e| Failure::Runtime(anyhow!(e.message)))
        }
    }
}

async fn api(
    state: &AppState,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, Failure> {
    let (ct, bytes) = body.map_or((None, Vec::new()), |b| (Some("application/json"), b.to_string().into_bytes()));
    let (status, answer) = call(state, Some(token), method, path, ct, bytes).await;
    if status.is_success() || status == StatusCode::CONFLICT {
        Ok(answer)
    } else {
        Err(Failure::Runtime(anyhow!("{path}: {status} {answer}")))
    }
}

/// A submission file: a baseline's predictions, some of them replaced by `shift` (so teams
/// differ from the baselines and from each other).
fn variant(source: &Path, every: usize, shift: &dyn Fn(&str) -> String) -> Result<Vec<u8>, Failure> {
    let text = std::fs::read_to_string(source).with_context(|| format!("cannot read {}", source.display()))?;
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        match line.split_once(',') {
            Some((id, value)) if i > 0 && i % every == 0 => {
                out.push_str(id);
                out.push(',');
                out.push_str(&shift(value));
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    Ok(out.into_bytes())
}

async fn upload(state: &AppState, token: &str, contest: &str, file: Vec<u8>, description: &str) -> Result<(), Failure> {
    let boundary = "holdoutdemoboundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n{description}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    let (status, answer) =
        call(state, Some(token), Method::POST, &format!("/contests/{contest}/submissions"), Some(&ct), body).await;
    match status {
        StatusCode::ACCEPTED | StatusCode::CONFLICT => Ok(()),
        _ => Err(Failure::Runtime(anyhow!("demo upload to {contest}: {status} {answer}"))),
    }
}

/// People, teams, open phases and a few submissions (what exists is kept).
async fn seed(state: &AppState, work: &Path) -> Result<Vec<(String, String, String)>, Failure> {
    let olga = user(state, "olga", Role::Organizer).await?;
    user(state, "judy", Role::Judge).await?;
    let alice = user(state, "alice", Role::Competitor).await?;
    let bob = user(state, "bob", Role::Competitor).await?;
    let issue = |id: i64| issue_token(state, id, "demo");
    let (org, a, b) = (
        issue(olga).await.map_err(|e| Failure::Runtime(anyhow!(e.message)))?.1,
        issue(alice).await.map_err(|e| Failure::Runtime(anyhow!(e.message)))?.1,
        issue(bob).await.map_err(|e| Failure::Runtime(anyhow!(e.message)))?.1,
    );
    let now = state.now();
    let at = |days: i64| time::text(now + chrono::Duration::days(days));
    for (contest, _) in CONTESTS {
        let c = api(state, &org, Method::GET, &format!("/contests/{contest}"), None).await?;
        let phases = c["phases"].as_array().cloned().unwrap_or_default();
        // The demo's first phase is open now: move the phases (the last ones first, so they
        // never overlap), unless an earlier run did.
        if phases.first().is_some_and(|p| p["ends_at"].as_str().unwrap_or_default() < time::text(now).as_str()) {
            for (k, ph) in phases.iter().enumerate().rev() {
                let (start, end) = if k == 0 {
                    (at(-3), at(30))
                } else {
                    (at(31 + 14 * (k as i64 - 1)), at(44 + 14 * (k as i64 - 1)))
                };
                let name = ph["name"].as_str().unwrap_or_default();
                api(
                    state,
                    &org,
                    Method::PUT,
                    &format!("/contests/{contest}/phases/{name}"),
                    Some(&json!({"starts_at": start, "ends_at": end})),
                )
                .await?;
            }
        }
        api(state, &a, Method::POST, &format!("/contests/{contest}/teams"), Some(&json!({"name": "安全小队"}))).await?;
        api(state, &b, Method::POST, &format!("/contests/{contest}/teams"), Some(&json!({"name": "Data Miners"})))
            .await?;
        let mine = api(state, &a, Method::GET, &format!("/contests/{contest}/submissions"), None).await?;
        if mine["submissions"].as_array().is_some_and(|s| !s.is_empty()) {
            continue;
        }
        let dir = work.join(format!("baselines-{contest}")).join("baselines");
        let (first, second) =
            if contest == "satisfaction-index" { ("linear", "mean") } else { ("logistic", "gaussian_nb") };
        // Labels move to the next level; probabilities and values shrink towards the middle.
        let labels = c["prediction_format"] == "label";
        let top = if contest == "satisfaction-index" { 100.0 } else { 1.0 };
        let nudge = move |v: &str| -> String {
            match v.parse::<f64>() {
                Ok(x) if labels => format!("{}", (x as i64 % 5) + 1),
                Ok(x) => format!("{:.6}", (x * 0.9 + 0.05 * top).clamp(0.0, top)),
                Err(_) => v.to_owned(),
            }
        };
        upload(state, &a, contest, variant(&dir.join(format!("{first}.csv")), 7, &nudge)?, "第一版：逻辑回归").await?;
        upload(state, &a, contest, variant(&dir.join(format!("{first}.csv")), 3, &nudge)?, "第二版").await?;
        upload(state, &b, contest, variant(&dir.join(format!("{second}.csv")), 11, &nudge)?, "naive Bayes, first try")
            .await?;
        upload(state, &b, contest, variant(&dir.join(format!("{first}.csv")), 13, &nudge)?, "logistic regression")
            .await?;
    }
    Ok(vec![
        ("olga".into(), "organizer".into(), org),
        ("judy".into(), "judge".into(), String::new()),
        ("alice".into(), "competitor, team 安全小队".into(), a),
        ("bob".into(), "competitor, team Data Miners".into(), b),
    ])
}

pub fn run(args: &Args) -> Outcome {
    if !Path::new("datasets/netizen-survey-2024/schema.toml").is_file() {
        return Err(bad("run `holdout demo` from the repository root (it reads datasets/)".into()));
    }
    // Every demo account shares a printed password: never serve it beyond this machine.
    let loopback = args.bind.parse::<std::net::SocketAddr>().map(|a| a.ip().is_loopback());
    if !args.no_serve && loopback != Ok(true) {
        return Err(bad(format!(
            "--bind {}: the demo serves only on a loopback address (e.g. 127.0.0.1:8080); its accounts share a printed password",
            args.bind
        )));
    }
    let work = args.data_dir.join("work");
    build(args, &work)?;
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    load(args, &work)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let pool = db::open(&args.data_dir, true).await.map_err(|e| Failure::Runtime(anyhow!(e)))?;
        let state = AppState::new(pool, args.data_dir.clone(), time::system(), Config::default());
        let workers = worker::spawn(&state, 2);
        say!("== people, teams and submissions");
        let people = seed(&state, &work).await?;
        worker::drain(&state).await.map_err(|e| Failure::Runtime(anyhow!(e)))?;
        let listener = if args.no_serve {
            None
        } else {
            Some(
                tokio::net::TcpListener::bind(&args.bind)
                    .await
                    .map_err(|e| bad(format!("cannot listen on {}: {e}", args.bind)))?,
            )
        };
        say!("");
        say!("Every account's password is {PASSWORD}. API tokens (for `holdout submit --token …`), new on every run:");
        for (name, role, token) in &people {
            say!("  {name:<6} {role:<30} {}", if token.is_empty() { "-" } else { token });
        }
        let Some(listener) = listener else {
            for w in workers {
                w.abort();
            }
            state.pool.close().await;
            return Ok(());
        };
        say!("");
        say!(
            "holdout demo serving {} on http://{}  (Ctrl-C stops it)",
            args.data_dir.display(),
            listener.local_addr()?
        );
        let app = holdout_server::router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(crate::serve::nodelay(listener), app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        for w in workers {
            w.abort();
        }
        state.pool.close().await;
        Ok(())
    })
}
