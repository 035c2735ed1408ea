//! The CLI client of a running service, Kaggle-CLI-like: `holdout submit`, `holdout
//! submissions`, `holdout leaderboard`, `holdout select`. Tables for people, `--json` for
//! scripts; a submission is checked locally with the shared validator before it is uploaded.
//! Exit codes: 2 when the server refuses the request (4xx) or the file is invalid, 1 when the
//! server or the network fails.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use holdout_schema::PredictionFormat;
use serde_json::{Value, json};

use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Server {
    /// The service's URL.
    #[arg(long = "server", env = "HOLDOUT_SERVER", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An API token (`holdout token create`, or the website's team page).
    #[arg(long, env = "HOLDOUT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The contest's name.
    #[arg(long, env = "HOLDOUT_CONTEST")]
    contest: String,
    /// Print the server's JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    server: Server,
    /// The submission CSV.
    file: PathBuf,
    /// A description of the submission.
    #[arg(short, long, default_value = "")]
    message: String,
    /// Wait until it is scored and print the result.
    #[arg(long)]
    wait: bool,
    /// Seconds to wait at most with --wait.
    #[arg(long, default_value_t = 600)]
    wait_seconds: u64,
    /// The bundle's public directory, to also check the ids against test.csv locally.
    #[arg(long)]
    public: Option<PathBuf>,
    #[command(flatten)]
    lang: crate::score::LangArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    server: Server,
}

#[derive(Debug, clap::Args)]
pub struct BoardArgs {
    #[command(flatten)]
    server: Server,
    /// The private board (organizers and judges; everyone after the reveal).
    #[arg(long)]
    private: bool,
    /// A phase other than the current one.
    #[arg(long)]
    phase: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    #[command(flatten)]
    server: Server,
    /// Submission ids for the final ranking (none: clear the selection, so the best public
    /// submission counts).
    ids: Vec<i64>,
    #[arg(long)]
    phase: Option<String>,
}

fn bad(message: String) -> Failure {
    Failure::BadInput(anyhow!(message))
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    contest: String,
}

impl Client {
    fn new(s: &Server) -> Result<Client, Failure> {
        let http = reqwest::Client::builder().timeout(Duration::from_mins(5)).build()?;
        let base = format!("{}/api/v1", s.url.trim_end_matches('/'));
        Ok(Client { http, base, token: s.token.clone(), contest: s.contest.clone() })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/contests/{}{path}", self.base, self.contest)
    }

    fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends a request; a 2xx answer's JSON, or the server's error as a failure.
    async fn send(&self, r: reqwest::RequestBuilder) -> Result<(u16, Value), Failure> {
        let response =
            self.auth(r).send().await.map_err(|e| Failure::Runtime(anyhow!("cannot reach the server: {e}")))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| Failure::Runtime(anyhow!("reading the answer: {e}")))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() || status.as_u16() == 422 {
            return Ok((status.as_u16(), body));
        }
        let message = body["error"]["message"].as_str().map_or_else(|| body.to_string(), str::to_owned);
        let message = format!("the server answered {status}: {message}");
        if status.is_client_error() { Err(bad(message)) } else { Err(Failure::Runtime(anyhow!(message))) }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

fn num(v: &Value) -> String {
    v.as_f64().map_or_else(|| "—".to_owned(), |x| format!("{x:.5}"))
}

fn ci(v: &Value) -> String {
    match (v[0].as_f64(), v[1].as_f64()) {
        (Some(a), Some(b)) => format!("[{a:.4}, {b:.4}]"),
        _ => String::new(),
    }
}

/// An RFC 3339 UTC time in Asia/Shanghai, for people.
fn local(v: &Value) -> String {
    v.as_str()
        .and_then(holdout_server::time::parse)
        .map(|t| t.with_timezone(&holdout_server::time::shanghai()).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Prints rows as aligned columns.
fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count()))).collect();
        say!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| (*h).to_owned()).collect());
    for r in rows {
        line(r.clone());
    }
}

fn print_json(v: &Value) {
    say!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Checks a submission locally against the contest's rules (and the ids, given the bundle).
fn check_locally(contest: &Value, args: &SubmitArgs) -> Outcome {
    let format: PredictionFormat = serde_json::from_value(contest["prediction_format"].clone())
        .map_err(|e| Failure::Runtime(anyhow!("the server's contest description: {e}")))?;
    let labels: Vec<i64> = serde_json::from_value(contest["labels"].clone()).unwrap_or_default();
    let max = contest["max_file_bytes"].as_u64().unwrap_or(u64::MAX);
    let lang = args.lang.lang();
    let parsed = holdout_score::submission::parse(crate::score::open(&args.file)?, format, &labels, max)
        .map_err(|e| crate::score::invalid_in(&args.file, &e, lang))?;
    // Without the bundle, the file's own ids stand in for the test set: everything but missing
    // or unknown ids is checked (header, values, repeats); the server checks the rest.
    let ids = match &args.public {
        Some(public) => crate::score::test_ids(&public.join("test.csv"))?,
        None => own_ids(&args.file)?,
    };
    parsed.check(&ids).map_err(|e| crate::score::invalid_in(&args.file, &e, lang))?;
    Ok(())
}

/// The distinct ids in a CSV file's first column.
fn own_ids(path: &std::path::Path) -> Result<holdout_score::ids::TestIds, Failure> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(crate::score::open(path)?);
    let mut seen = rustc_hash::FxHashSet::default();
    let mut ids = Vec::new();
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|e| bad(format!("{}: {e}", path.display())))? {
        let id = String::from_utf8_lossy(&record[0]).trim().to_owned();
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    holdout_score::ids::TestIds::build(ids.iter().map(String::as_str))
        .map_err(|_| bad(format!("{}: repeated ids", path.display())))
}

pub fn submit(args: &SubmitArgs) -> Outcome {
    let client = Client::new(&args.server)?;
    runtime()?.block_on(async {
        let (_, contest) = client.send(client.http.get(client.url(""))).await?;
        check_locally(&contest, args)?;
        let bytes = std::fs::read(&args.file).map_err(|e| bad(format!("cannot read {}: {e}", args.file.display())))?;
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name("submission.csv")
            .mime_str("text/csv")
            .map_err(|e| Failure::Runtime(anyhow!(e)))?;
        let form = reqwest::multipart::Form::new().text("description", args.message.clone()).part("file", part);
        // The server's problems, should it refuse the file, in the language asked for here.
        let post = client.http.post(client.url("/submissions")).header("accept-language", args.lang.lang().code());
        let (code, mut body) = client.send(post.multipart(form)).await?;
        let id = body["id"].as_i64().unwrap_or_default();
        if code == 422 {
            if args.server.json {
                print_json(&body);
            }
            return Err(bad(format!("submission {id} is invalid: {}", body["message"].as_str().unwrap_or_default())));
        }
        if !args.server.json {
            let q = &body["quota"];
            say!(
                "submission {id} queued ({} left today, next reset {} Asia/Shanghai)",
                q["remaining_today"],
                local(&q["next_reset_at"])
            );
        }
        if args.wait {
            let deadline = Instant::now() + Duration::from_secs(args.wait_seconds);
            loop {
                let (_, now) = client.send(client.http.get(client.url(&format!("/submissions/{id}")))).await?;
                body = now;
                let status = body["status"].as_str().unwrap_or_default();
                if !matches!(status, "queued" | "scoring") {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(Failure::Runtime(anyhow!(
                        "submission {id} is still {status} after {} s",
                        args.wait_seconds
                    )));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        if args.server.json {
            print_json(&body);
        } else if args.wait {
            say!(
                "submission {id}: {} — public {} {}{}",
                body["status"].as_str().unwrap_or_default(),
                num(&body["public_score"]),
                ci(&body["public_ci"]),
                body["message"].as_str().filter(|m| !m.is_empty()).map(|m| format!(" ({m})")).unwrap_or_default()
            );
        }
        match body["status"].as_str() {
            Some("invalid") => {
                Err(bad(format!("submission {id} is invalid: {}", body["message"].as_str().unwrap_or_default())))
            }
            Some("failed") => Err(Failure::Runtime(anyhow!(
                "submission {id} failed: {}",
                body["message"].as_str().unwrap_or_default()
            ))),
            _ => Ok(()),
        }
    })
}

pub fn submissions(args: &ListArgs) -> Outcome {
    let client = Client::new(&args.server)?;
    runtime()?.block_on(async {
        let (_, body) = client.send(client.http.get(client.url("/submissions"))).await?;
        if args.server.json {
            print_json(&body);
            return Ok(());
        }
        let rows: Vec<Vec<String>> = body["submissions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|s| {
                vec![
                    s["id"].to_string(),
                    local(&s["created_at"]),
                    s["phase"].as_str().unwrap_or_default().to_owned(),
                    s["status"].as_str().unwrap_or_default().to_owned(),
                    num(&s["public_score"]),
                    if s["selected"].as_bool() == Some(true) { "✓".into() } else { String::new() },
                    s["description"].as_str().unwrap_or_default().to_owned(),
                    s["message"].as_str().unwrap_or_default().chars().take(80).collect(),
                ]
            })
            .collect();
        table(
            &["id", "submitted (Asia/Shanghai)", "phase", "status", "public", "selected", "description", "message"],
            &rows,
        );
        Ok(())
    })
}

pub fn leaderboard(args: &BoardArgs) -> Outcome {
    let client = Client::new(&args.server)?;
    runtime()?.block_on(async {
        let mut query = vec![("board", if args.private { "private" } else { "public" }.to_owned())];
        if let Some(p) = &args.phase {
            query.push(("phase", p.clone()));
        }
        let (_, body) = client.send(client.http.get(client.url("/leaderboard")).query(&query)).await?;
        if args.server.json {
            print_json(&body);
            return Ok(());
        }
        say!(
            "{} — phase {}, {} board, {} ({})",
            body["contest"].as_str().unwrap_or_default(),
            body["phase"].as_str().unwrap_or_default(),
            body["board"].as_str().unwrap_or_default(),
            body["metric"].as_str().unwrap_or_default(),
            if body["greater_is_better"].as_bool() == Some(true) { "higher is better" } else { "lower is better" }
        );
        let rows: Vec<Vec<String>> = body["rows"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let mut row = vec![
                    r["rank"].as_u64().map_or_else(|| "—".to_owned(), |v| v.to_string()),
                    r["band"].as_u64().map(|v| v.to_string()).unwrap_or_default(),
                    format!(
                        "{}{}",
                        r["team"].as_str().unwrap_or_default(),
                        if r["baseline"].as_bool() == Some(true) { " (baseline)" } else { "" }
                    ),
                    num(&r["score"]),
                    ci(&r["ci"]),
                    r["entries"].to_string(),
                    local(&r["last_submission_at"]),
                ];
                if args.private {
                    let shake = r["shakeup"].as_i64().map(|s| match s.signum() {
                        1 => format!("↑{s}"),
                        -1 => format!("↓{}", -s),
                        _ => "=".into(),
                    });
                    row.push(r["public_rank"].as_u64().map(|v| v.to_string()).unwrap_or_default());
                    row.push(shake.unwrap_or_default());
                }
                row
            })
            .collect();
        let mut header = vec!["rank", "band", "team", "score", "95% CI", "entries", "last (Asia/Shanghai)"];
        if args.private {
            header.extend(["public rank", "shake-up"]);
        }
        table(&header, &rows);
        Ok(())
    })
}

pub fn select(args: &SelectArgs) -> Outcome {
    let client = Client::new(&args.server)?;
    runtime()?.block_on(async {
        let body = json!({"submission_ids": args.ids, "phase": args.phase});
        let (_, answer) = client
            .send(
                client
                    .http
                    .put(client.url("/selections"))
                    .header("content-type", "application/json")
                    .body(body.to_string()),
            )
            .await?;
        if args.server.json {
            print_json(&answer);
        } else if args.ids.is_empty() {
            say!("no submissions selected: the team's best public submission counts");
        } else {
            say!("selected for phase {}: {}", answer["phase"].as_str().unwrap_or_default(), answer["submission_ids"]);
        }
        Ok(())
    })
}
