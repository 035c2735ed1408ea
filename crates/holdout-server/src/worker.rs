//! The scoring queue's workers. The queue is the `submissions` table ([`crate::db::queue`]): a
//! worker claims the oldest `queued` row, or a `scoring` row whose lease expired (→ `scoring`
//! under a new lease token, [`Config::lease`](crate::state::Config) long), scores it off the
//! async threads while renewing the lease every third of it, and records the result
//! (→ `scored`, or `invalid`/`failed` with the message) in one transaction with its audit
//! entry — and a score with its signed receipt ([`crate::receipt`]) —, guarded on the claim's
//! token so nothing is recorded twice. Workers in any number of
//! processes share the queue: a killed worker's row is taken by another once its lease expires
//! (nothing is requeued at start).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use holdout_score::evaluate::{Bootstrap, evaluate};
use holdout_score::metrics::Predictions;
use holdout_score::scorer::Scorer;
use holdout_score::solution::Solution;
use holdout_score::submission::{Invalid, parse};
use holdout_score::uncertainty::paired;
use serde_json::{Value, json};

use crate::audit::{Entry, Event};
use crate::db::DbError;
use crate::db::queue::{self, Recorded};
use crate::state::{AppState, Attested, Contest};
use crate::{board, receipt};

/// A claim beyond this many means scoring keeps getting interrupted: the row fails.
const MAX_ATTEMPTS: i64 = 3;

/// Level of the intervals.
const LEVEL: f64 = 0.95;

pub use crate::db::queue::Job;

fn event(now: &str, action: &str, id: i64, detail: &Value) -> Event {
    Event {
        at: now.to_owned(),
        actor: "worker".into(),
        action: action.into(),
        subject: format!("submission:{id}"),
        detail: detail.to_string(),
    }
}

/// The time a lease taken or renewed now runs out.
fn lease_until(state: &AppState) -> String {
    let lease = chrono::Duration::from_std(state.config.lease).unwrap_or(chrono::Duration::seconds(30));
    crate::time::text(state.now() + lease)
}

/// Claims the oldest queued submission, or one whose lease expired, under a new lease.
pub async fn claim(state: &AppState) -> Result<Option<Job>, DbError> {
    let now = state.now_text();
    let token = crate::auth::token("lease")?;
    let job = queue::claim(&state.pool, &now, &lease_until(state), &token, |job| {
        if job.reclaimed {
            let detail =
                json!({"status": "scoring", "attempt": job.attempts, "reason": "the previous claim's lease expired"});
            event(&now, "submission.reclaim", job.id, &detail)
        } else {
            event(&now, "submission.status", job.id, &json!({"status": "scoring", "attempt": job.attempts}))
        }
    })
    .await?;
    if let Some(job) = &job
        && job.reclaimed
    {
        tracing::warn!("submission {}: the previous claim's lease expired; scoring it again", job.id);
        crate::metrics::Metrics::bump(&state.metrics.lease_reclaims);
    }
    Ok(job)
}

/// Extends a claim's lease; `false` if the claim is gone.
pub async fn renew(state: &AppState, job: &Job) -> Result<bool, DbError> {
    queue::renew(&state.pool, job.id, &job.lease, &lease_until(state)).await
}

/// What scoring found.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Scored(Scored),
    /// The file is not a valid submission (the competitor's problem; not charged): its problems.
    Invalid(Invalid),
    /// holdout could not score it (not charged).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub public: Option<f64>,
    pub public_ci: Option<(f64, f64)>,
    pub private: Option<f64>,
    pub private_ci: Option<(f64, f64)>,
    /// Every metric on every subset.
    pub all: Value,
    pub released: bool,
    /// The names of the phase's public and private subsets (`public`/`private`, or with A/B
    /// boards `a_public`/…).
    pub subsets: (String, String),
}

/// The released best of the team in the phase, for the Ladder: its file and public score.
async fn leader(state: &AppState, job: &Job) -> Result<Option<(String, Option<f64>)>, DbError> {
    let rows = queue::released(&state.pool, job.team, &job.phase, job.id).await?;
    let c = state.contest(&job.contest).await?;
    let greater = c.is_none_or(|c| c.primary.greater_is_better());
    Ok(rows.into_iter().fold(None, |best: Option<(String, Option<f64>)>, (sha, s)| match (&best, s) {
        (None, Some(_)) => Some((sha, s)),
        (Some((_, Some(b))), Some(v)) if (greater && v > *b) || (!greater && v < *b) => Some((sha, s)),
        _ => best,
    }))
}

/// The stored file's predictions, for what reads scored files again (rank uncertainty, the
/// integrity report): an invalid file is an error like an unreadable one, in English.
pub(crate) fn read_scored_predictions(
    contest: &Contest,
    solution: &Solution,
    path: &Path,
) -> Result<Predictions, String> {
    read_predictions(contest, solution, path)?.map_err(|e| e.to_string())
}

/// The stored file's predictions, `Ok(Err(…))` if it is invalid, `Err` if it cannot be read.
pub(crate) fn read_predictions(
    contest: &Contest,
    solution: &Solution,
    path: &Path,
) -> Result<Result<Predictions, Invalid>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the stored file: {e}"))?;
    let parsed =
        parse(std::io::BufReader::with_capacity(1 << 16, file), contest.format, &contest.labels, contest.max_bytes);
    Ok(parsed.and_then(|p| p.check(&solution.ids)))
}

/// Scores a stored file (blocking: parsing and the bootstrap use the CPU).
pub fn score(
    contest: &Contest,
    dir: &Path,
    job: &Job,
    replicates: usize,
    leader: Option<(String, Option<f64>)>,
) -> Outcome {
    let solution = match contest.solution() {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(format!("the solution cannot be read: {e}")),
    };
    let predictions = match read_predictions(contest, &solution, &crate::store::path(dir, &job.sha256)) {
        Ok(Ok(p)) => p,
        Ok(Err(invalid)) => return Outcome::Invalid(invalid),
        Err(e) => return Outcome::Failed(e),
    };
    let bootstrap = Bootstrap { replicates, seed: job.seed as u64, level: LEVEL };
    let results = evaluate(&solution, &predictions, &contest.metrics, contest.primary, Some(bootstrap));
    let has_boards = results.iter().any(|s| s.subset.name.starts_with("a_") || s.subset.name.starts_with("b_"));
    let (public_name, private_name) = contest.subset_names(&job.board, has_boards);
    let pick = |name: &str| {
        results.iter().find(|s| s.subset.name == name).map_or((None, None), |s| {
            let value = s.scores.first().and_then(|(_, v)| v.value());
            let ci = s.interval.and_then(Result::ok).map(|i| (i.low, i.high));
            (value, ci)
        })
    };
    let (public, public_ci) = pick(&public_name);
    let (private, private_ci) = pick(&private_name);
    let all: Vec<Value> = results
        .iter()
        .map(|s| {
            let scores: serde_json::Map<String, Value> =
                s.scores.iter().map(|(m, v)| (m.name().to_owned(), v.value().map_or(Value::Null, Value::from))).collect();
            let undefined: serde_json::Map<String, Value> = s
                .scores
                .iter()
                .filter_map(|(m, v)| match v {
                    holdout_score::metrics::Score::Undefined(why) => Some((m.name().to_owned(), Value::from(*why))),
                    holdout_score::metrics::Score::Value(_) => None,
                })
                .collect();
            let interval = match s.interval {
                Some(Ok(i)) => json!({"low": i.low, "high": i.high, "replicates": i.replicates, "level": LEVEL, "method": i.method.name()}),
                Some(Err(why)) => json!({"undefined": why}),
                None => Value::Null,
            };
            json!({"subset": s.subset.name, "rows": s.subset.rows, "scores": scores, "undefined": undefined, "interval": interval})
        })
        .collect();
    let released = if job.ladder {
        ladder(contest, &solution, &predictions, dir, &public_name, public, leader, job.seed as u64, replicates)
    } else {
        true
    };
    Outcome::Scored(Scored {
        public,
        public_ci,
        private,
        private_ci,
        all: Value::Array(all),
        released,
        subsets: (public_name, private_name),
    })
}

/// The Ladder's decision for a new public score against the team's released best.
#[allow(clippy::too_many_arguments)]
fn ladder(
    contest: &Contest,
    solution: &Solution,
    predictions: &Predictions,
    dir: &Path,
    public_name: &str,
    public: Option<f64>,
    leader: Option<(String, Option<f64>)>,
    seed: u64,
    replicates: usize,
) -> bool {
    let greater = contest.primary.greater_is_better();
    let Some((sha, leader_score)) = leader else { return board::ladder_releases(public, None, None, greater) };
    let Ok(Ok(best)) = read_predictions(contest, solution, &crate::store::path(dir, &sha)) else {
        return board::ladder_releases(public, None, None, greater);
    };
    let ranges = solution.ranges();
    let Some(mask) = solution.subsets().into_iter().find(|s| s.name == public_name).map(|s| s.strata) else {
        return false;
    };
    let (a, b) = (
        Scorer::new(&solution.labels, &solution.truth, predictions, &ranges),
        Scorer::new(&solution.labels, &solution.truth, &best, &ranges),
    );
    let settings = Bootstrap { replicates: replicates.max(2), seed, level: LEVEL };
    let step = paired(&a, &b, contest.primary, &[mask], settings).first().and_then(|p| p.difference_sd);
    board::ladder_releases(public, leader_score, step, greater)
}

/// The contest's receipt key, read off the async threads (once: the contest keeps it); `None`
/// for a contest without one, or (logged) a key that cannot be read: the score is recorded
/// without a receipt rather than not at all.
async fn signing_key(contest: Option<Arc<Contest>>) -> Option<Arc<SigningKey>> {
    let c = contest?;
    let name = c.name.clone();
    match tokio::task::spawn_blocking(move || c.signing_key()).await {
        Ok(Ok(key)) => key,
        Ok(Err(e)) => {
            tracing::error!("contest {name}: no receipts can be issued: {e}");
            None
        }
        Err(e) => {
            tracing::error!("contest {name}: reading the receipt key panicked: {e}");
            None
        }
    }
}

/// Records an outcome, if the row is still this claim's. A score comes with its receipt,
/// signed in the same transaction with the audit entry recording it as the log's head.
pub async fn record(state: &AppState, job: &Job, outcome: &Outcome) -> Result<bool, DbError> {
    let contest = state.contest(&job.contest).await?;
    let key = if matches!(outcome, Outcome::Scored(_)) { signing_key(contest.clone()).await } else { None };
    let now = state.now_text();
    let (all, message, problems);
    let (result, action, mut detail) = match outcome {
        Outcome::Scored(s) => {
            all = s.all.to_string();
            let result = Recorded::Scored {
                public: s.public,
                public_ci: s.public_ci,
                private: s.private,
                private_ci: s.private_ci,
                scores: &all,
                released: s.released,
            };
            let detail = json!({"sha256": job.sha256, "public": s.public, "private": s.private, "released": s.released, "scores": s.all});
            (result, "submission.score", detail)
        }
        Outcome::Invalid(invalid) => {
            message = invalid.to_string();
            problems = serde_json::to_string(&invalid.problems).ok();
            let result = Recorded::Status { status: "invalid", message: &message, problems: problems.as_deref() };
            let detail = json!({"status": "invalid", "message": message, "problems": invalid.problems});
            (result, "submission.status", detail)
        }
        Outcome::Failed(m) => (
            Recorded::Status { status: "failed", message: m, problems: None },
            "submission.status",
            json!({"status": "failed", "message": m}),
        ),
    };
    let new = match outcome {
        Outcome::Scored(s) => Some((s.public, s.private)),
        _ => None,
    };
    let receipt = |head: &Entry, revealed: bool| {
        let (Outcome::Scored(s), Some(c), Some(key)) = (outcome, &contest, &key) else { return None };
        let (public, private) = (&s.subsets.0, &s.subsets.1);
        let withheld = job.ladder && !s.released;
        let scores = receipt::shown((public, s.public), (private, s.private), withheld, revealed);
        let what =
            Attested { submission: job.id, team: &job.team_name, phase: &job.phase, sha256: &job.sha256, scores };
        String::from_utf8(receipt::sign(&c.receipt(what, &now, head), key)).ok()
    };
    let done = queue::record(
        &state.pool,
        job.id,
        &job.lease,
        &now,
        &result,
        |previous| {
            if let (Some(new), Some((p, q))) = (new, previous) {
                detail["previous"] = json!({"public": p, "private": q});
                detail["changed"] = json!((p, q) != new);
            }
            event(&now, action, job.id, &detail)
        },
        receipt,
    )
    .await?;
    if !done {
        return Ok(false);
    }
    if let Some(c) = contest {
        state.invalidate(c.id);
    }
    Ok(true)
}

/// Scores one claimed job end to end.
pub async fn process(state: &AppState, job: Job) -> Result<(), DbError> {
    let outcome = if job.attempts > MAX_ATTEMPTS {
        Outcome::Failed(format!("scoring was interrupted {MAX_ATTEMPTS} times; the organizers have been told"))
    } else if let Some(contest) = state.contest(&job.contest).await? {
        let leader = if job.ladder { leader(state, &job).await? } else { None };
        let files = [Some(job.sha256.clone()), leader.as_ref().map(|(sha, _)| sha.clone())];
        let fetched = match state.private_files(&contest).await {
            Ok(()) => state.fetch_files(files.into_iter().flatten().collect()).await,
            Err(e) => Err(e),
        };
        if let Err(e) = fetched {
            // Unreadable now (the database is away): the lease runs out and a worker tries again.
            tracing::warn!("submission {}: {e}", job.id);
            return Ok(());
        }
        let (dir, replicates, j) = (state.dir.clone(), state.config.replicates, job.clone());
        let started = std::time::Instant::now();
        let scoring = tokio::task::spawn_blocking(move || score(&contest, &dir, &j, replicates, leader));
        match renewing(state, &job, scoring).await {
            Ok(o) => {
                state.metrics.scored(started.elapsed());
                o
            }
            Err(e) => {
                tracing::error!("scoring submission {} panicked: {e}", job.id);
                Outcome::Failed(
                    "holdout failed while scoring this file (a bug); it does not count against the quota".into(),
                )
            }
        }
    } else {
        Outcome::Failed(format!("contest `{}` is not loaded", job.contest))
    };
    if let Outcome::Failed(m) = &outcome {
        tracing::error!("submission {} failed: {m}", job.id);
    }
    // A result is never dropped for a passing database error: it is retried, and if it still
    // cannot be written the row stays `scoring` until its lease expires and a worker takes it.
    let mut attempt = 0;
    loop {
        match record(state, &job, &outcome).await {
            Ok(_) => return Ok(()),
            Err(e) if attempt < 5 => {
                attempt += 1;
                tracing::warn!("recording submission {} failed (attempt {attempt}): {e}", job.id);
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Waits for a scoring task, renewing the job's lease every third of its length meanwhile.
/// A lost lease is logged; scoring goes on (the result will be refused).
async fn renewing<T>(
    state: &AppState,
    job: &Job,
    mut task: tokio::task::JoinHandle<T>,
) -> Result<T, tokio::task::JoinError> {
    let mut every = tokio::time::interval(state.config.lease / 3);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    let mut held = true;
    loop {
        tokio::select! {
            done = &mut task => return done,
            _ = every.tick(), if held => match renew(state, job).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("submission {}: the lease was lost while scoring; its result will not be recorded", job.id);
                    held = false;
                }
                Err(e) => tracing::warn!("submission {}: renewing the lease failed: {e}", job.id),
            },
        }
    }
}

/// Starts `n` workers; they run until the runtime stops.
pub fn spawn(state: &AppState, n: usize) -> Vec<tokio::task::JoinHandle<()>> {
    (0..n)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move {
                loop {
                    match claim(&state).await {
                        Ok(Some(job)) => {
                            if let Err(e) = process(&state, job).await {
                                tracing::error!("recording a score failed: {e}");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                        Ok(None) => {
                            let _ = tokio::time::timeout(Duration::from_secs(2), state.wake.notified()).await;
                        }
                        Err(e) => {
                            tracing::error!("claiming a submission failed: {e}");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            })
        })
        .collect()
}

/// Waits until no submission is queued or being scored (tests, `holdout demo`).
pub async fn drain(state: &AppState) -> Result<(), DbError> {
    loop {
        let busy = queue::busy(&state.pool).await?;
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
