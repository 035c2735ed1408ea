//! `holdout serve` runs the leaderboard service on a data directory. `holdout contest create`,
//! `holdout user create` and `holdout token create` are the organizer's commands on the server
//! machine: load a prepared bundle, create the first organizer, issue an API token.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use holdout_server::api::Role;
use holdout_server::{Config, contest, db, worker};

use crate::place::Place;
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Where the data is: a data directory (created if missing) or a PostgreSQL database.
    #[command(flatten)]
    place: Place,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// Scoring workers in this process. 0 (PostgreSQL only): serve without scoring, and run
    /// `holdout worker` processes on the same database.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Bootstrap replicates for each score's interval.
    #[arg(long, default_value_t = 1000)]
    replicates: usize,
    /// Mark session cookies `Secure`: set it when users reach the service over HTTPS (e.g.
    /// behind a TLS-terminating proxy).
    #[arg(long)]
    secure_cookies: bool,
    /// Count failed logins by the client address in the last `X-Forwarded-For` entry rather
    /// than the connection's: set it only behind a proxy that appends that header (else every
    /// client would share the proxy's address, and a client could name any address itself).
    #[arg(long)]
    trust_forwarded_for: bool,
    /// Also serve `GET /metrics` without credentials on this address (for the monitoring
    /// system; bind it where only that reaches). `/metrics` on `--bind` stays for organizers
    /// and judges.
    #[arg(long, value_name = "ADDR")]
    metrics_bind: Option<String>,
}

fn bad(message: String) -> Failure {
    Failure::BadInput(anyhow!(message))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

pub(crate) async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

pub fn serve(args: &ServeArgs) -> Outcome {
    if args.workers == 0 && !args.place.is_postgres() {
        return Err(bad(
            "--workers 0 serves without scoring, for a PostgreSQL database (--database) scored by `holdout worker` processes; \
             with a data directory, this process scores"
                .into(),
        ));
    }
    let config = Config {
        workers: args.workers,
        replicates: args.replicates,
        secure_cookies: args.secure_cookies,
        trust_forwarded_for: args.trust_forwarded_for,
        ..Config::default()
    };
    runtime()?.block_on(async {
        let opened = args.place.open(true, config).await?;
        let state = opened.state.clone();
        let listener = tokio::net::TcpListener::bind(&args.bind)
            .await
            .map_err(|e| bad(format!("cannot listen on {}: {e}", args.bind)))?;
        let metrics = match &args.metrics_bind {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| bad(format!("cannot listen on {addr} (--metrics-bind): {e}")))?,
            ),
            None => None,
        };
        let workers = worker::spawn(&state, args.workers);
        say!("holdout serving {} on http://{}", args.place.label(), listener.local_addr()?);
        let metrics = match metrics {
            Some(m) => {
                say!("metrics on http://{}/metrics", m.local_addr()?);
                let app = holdout_server::ops::metrics_router(state.clone());
                Some(tokio::spawn(async move { axum::serve(m, app).with_graceful_shutdown(shutdown()).await }))
            }
            None => None,
        };
        // The peer's address reaches the handlers (login throttling counts by it).
        let app = holdout_server::router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(nodelay(listener), app).with_graceful_shutdown(shutdown()).await?;
        for w in workers {
            w.abort();
        }
        if let Some(m) = metrics {
            m.abort();
        }
        state.pool.close().await;
        drop(opened);
        Ok(())
    })
}

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// The PostgreSQL database the service replicas use (`--database`); `--data-dir` is this
    /// process's local copy of the stored files (default: a private temporary directory).
    #[command(flatten)]
    place: Place,
    /// Submissions scored at a time by this process.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Bootstrap replicates for each score's interval (the same on every worker and replica).
    #[arg(long, default_value_t = 1000)]
    replicates: usize,
    /// Seconds a claim on a submission lasts unless renewed (renewed every third of it while
    /// scoring): a killed worker's submission is scored by another after this.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    lease: u64,
}

/// `holdout worker`: scores the queue of a PostgreSQL database with no HTTP, until stopped
/// (SIGTERM or Ctrl-C). A killed worker's submission is taken by another once its lease runs
/// out.
pub fn worker(args: &WorkerArgs) -> Outcome {
    if args.workers == 0 {
        return Err(bad("--workers must be at least 1".into()));
    }
    let place = &args.place;
    if !place.is_postgres() {
        return Err(bad(
            "holdout worker scores the queue of a PostgreSQL database: give --database URL (or HOLDOUT_DATABASE_URL); \
             with a data directory, `holdout serve` scores"
                .into(),
        ));
    }
    let config = Config {
        workers: args.workers,
        replicates: args.replicates,
        lease: std::time::Duration::from_secs(args.lease),
        ..Config::default()
    };
    runtime()?.block_on(async {
        let opened = place.open(false, config).await?;
        let workers = worker::spawn(&opened.state, args.workers);
        say!("holdout worker scoring {} ({} at a time)", place.label(), args.workers);
        shutdown().await;
        for w in workers {
            w.abort();
        }
        opened.state.pool.close().await;
        Ok(())
    })
}

#[derive(Debug, clap::Args)]
pub struct ContestArgs {
    #[command(subcommand)]
    command: ContestCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ContestCommand {
    /// Load a prepared bundle (OUT with public/ and private/) into the data directory.
    Create {
        #[command(flatten)]
        place: Place,
        /// The bundle directory written by `holdout prepare`.
        bundle: PathBuf,
        /// A `holdout baseline` output directory: its submissions are loaded as marked teams.
        #[arg(long)]
        baselines: Option<PathBuf>,
    },
}

pub fn contest(args: &ContestArgs) -> Outcome {
    let ContestCommand::Create { place, bundle, baselines } = &args.command;
    // The bundle must match its manifest and its commitment before anything is loaded.
    crate::prepare::verify(&crate::prepare::VerifyArgs {
        public: bundle.join("public"),
        private: Some(bundle.join("private")),
    })?;
    let models: Vec<(String, PathBuf)> = match baselines {
        None => Vec::new(),
        Some(dir) => {
            let dir = dir.join("baselines");
            let mut list = Vec::new();
            for entry in std::fs::read_dir(&dir).map_err(|e| bad(format!("cannot list {}: {e}", dir.display())))? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "csv")
                    && let Some(stem) = path.file_stem()
                {
                    list.push((stem.to_string_lossy().into_owned(), path));
                }
            }
            list.sort();
            if list.is_empty() {
                return Err(bad(format!("{} has no baseline submissions (*.csv)", dir.display())));
            }
            list
        }
    };
    runtime()?.block_on(async {
        let state = place.open(true, Config::default()).await?;
        let now = state.now_text();
        let created = contest::create(&state.pool, &state.dir, bundle, &now).await.map_err(|e| match e {
            contest::ContestError::Bad(m) => bad(m),
            other => Failure::Runtime(anyhow!(other)),
        })?;
        say!("contest {} loaded: {} phases, solution commitment {}", created.name, created.phases, created.commitment);
        say!("  receipt key (Ed25519, public) {}", created.receipt_key);
        for (model, path) in &models {
            let id = contest::add_baseline(&state.pool, &state.dir, &created.name, model, path, &now)
                .await
                .map_err(|e| Failure::Runtime(anyhow!(e)))?;
            say!("  baseline {model}: submission {id}, queued");
        }
        state.pool.close().await;
        Ok(())
    })
}

#[derive(Debug, clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
enum UserCommand {
    /// Create an account (the first organizer is made this way, on the server machine).
    Create {
        #[command(flatten)]
        place: Place,
        name: String,
        #[arg(long, value_parser = ["organizer", "judge", "competitor"])]
        role: String,
        /// Read the password from this file's first line (default: the `HOLDOUT_PASSWORD`
        /// environment variable, else one line of stdin).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

fn password(file: Option<&Path>) -> Result<String, Failure> {
    let text = match file {
        Some(f) => std::fs::read_to_string(f).map_err(|e| bad(format!("cannot read {}: {e}", f.display())))?,
        None => {
            if let Ok(p) = std::env::var("HOLDOUT_PASSWORD") {
                p
            } else {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line
            }
        }
    };
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

fn api_failure(e: holdout_server::error::ApiError) -> Failure {
    if e.status.is_client_error() { bad(e.message) } else { Failure::Runtime(anyhow!(e.message)) }
}

pub fn user(args: &UserArgs) -> Outcome {
    let UserCommand::Create { place, name, role, password_file } = &args.command;
    let role = Role::parse(role).ok_or_else(|| bad(format!("unknown role {role}")))?;
    let password = password(password_file.as_deref())?;
    runtime()?.block_on(async {
        let state = place.open(true, Config::default()).await?;
        let id =
            holdout_server::api::create_user(&state, name, &password, role, "system").await.map_err(api_failure)?;
        say!("user {name} ({}) created, id {id}", role.name());
        state.pool.close().await;
        Ok(())
    })
}

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Issue an API token for a user; it is printed once and stored only as its hash.
    Create {
        #[command(flatten)]
        place: Place,
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

pub fn token(args: &TokenArgs) -> Outcome {
    let TokenCommand::Create { place, user, name } = &args.command;
    runtime()?.block_on(async {
        let state = place.open(false, Config::default()).await?;
        let id = db::accounts::user_id(&state.pool, user).await.map_err(|e| Failure::Runtime(anyhow!(e)))?;
        let id = id.ok_or_else(|| bad(format!("no user `{user}` in {}", place.label())))?;
        let (_, token) = holdout_server::api::issue_token(&state, id, name).await.map_err(api_failure)?;
        say!("{token}");
        state.pool.close().await;
        Ok(())
    })
}

#[derive(Debug, clap::Args)]
pub struct OpenapiArgs {
    /// Write the document to this file (atomically) instead of standard output; the
    /// repository's copy is `leaderboard/openapi.json`.
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
}

/// Prints (or writes) the service's `OpenAPI` document, generated from its code.
pub fn openapi(args: &OpenapiArgs) -> Outcome {
    use std::io::Write as _;
    let text = holdout_server::api::doc::document_text();
    if let Some(path) = &args.write {
        let (file, mut w) = crate::files::AtomicFile::create(path)?;
        w.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
        file.commit(w)
    } else {
        std::io::stdout().lock().write_all(text.as_bytes()).context("cannot write to standard output")?;
        Ok(())
    }
}

/// The listener with `TCP_NODELAY` set on each accepted connection, as HTTP servers do: an
/// answer written in several pieces (a streamed download, a body after its headers) is sent
/// at once rather than its last short segment waiting for the client to acknowledge the one
/// before (Nagle's algorithm).
pub(crate) fn nodelay(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt as _;
    fn set(tcp: &mut tokio::net::TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    }
    listener.tap_io(set as fn(&mut tokio::net::TcpStream))
}
