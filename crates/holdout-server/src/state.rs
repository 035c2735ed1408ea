//! The service's shared state: the database pool, the data directory, the clock, each
//! contest's loaded files, the queue's wake-up signal and the boards' cache.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use axum::body::Bytes;
use ed25519_dalek::SigningKey;
use holdout_prepare::manifest::Manifest;
use holdout_schema::{Metric, PredictionFormat, Task};
use holdout_score::ids::TestIds;
use holdout_score::metrics::applicable;
use holdout_score::solution::Solution;
use rustc_hash::FxHashMap;
use sqlx::AnyPool;
use tokio::sync::Notify;

use crate::audit::Entry;
use crate::receipt::{self, Receipt, SubsetScore};
use crate::time::Clock;

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Scoring workers (each scores one submission at a time).
    pub workers: usize,
    /// Bootstrap replicates for each score's interval.
    pub replicates: usize,
    /// How long a browser session lasts.
    pub session_hours: i64,
    /// Mark session cookies `Secure` (the service is reached over HTTPS, e.g. behind a proxy).
    pub secure_cookies: bool,
    /// How long a worker's claim on a submission lasts unless renewed (it is renewed every
    /// third of this while scoring); a dead worker's submission is taken by another after it.
    pub lease: std::time::Duration,
    /// How failed logins are throttled.
    pub throttle: crate::throttle::Policy,
    /// Take the client's address from the last `X-Forwarded-For` entry (the one the proxy in
    /// front appended) rather than the connection's: set only behind such a proxy, since a
    /// client could send the header itself.
    pub trust_forwarded_for: bool,
    /// How often `GET /audit` verifies the audit log's whole chain again from its first entry;
    /// in between it checks only the entries appended since the last check (and that the last
    /// entry it checked is still there, unchanged).
    pub audit_reverify: std::time::Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            workers: 2,
            replicates: 1000,
            session_hours: 24 * 7,
            secure_cookies: false,
            lease: std::time::Duration::from_secs(30),
            throttle: crate::throttle::Policy::default(),
            trust_forwarded_for: false,
            audit_reverify: std::time::Duration::from_mins(1),
        }
    }
}

/// A contest's immutable parts, loaded once.
#[derive(Debug)]
pub struct Contest {
    pub id: i64,
    pub name: String,
    pub manifest: Manifest,
    pub task: Task,
    pub labels: Vec<i64>,
    pub format: PredictionFormat,
    pub primary: Metric,
    /// Every metric that applies, primary first.
    pub metrics: Vec<Metric>,
    pub max_bytes: u64,
    /// `DIR/contests/<name>`.
    pub root: PathBuf,
    /// The public half of the key that signs the contest's receipts, hex (`None` for a contest
    /// created before receipts: it issues none).
    pub receipt_key: Option<String>,
    public_ids: OnceLock<Arc<TestIds>>,
    solution: OnceLock<Arc<Solution>>,
    signing_key: OnceLock<Arc<SigningKey>>,
}

/// A task from its manifest name and class labels.
pub fn task(name: &str, labels: &[i64]) -> Task {
    match name {
        "binary" => Task::Binary,
        "multiclass" => Task::Multiclass { labels: labels.to_vec() },
        "ordinal" => Task::Ordinal { labels: labels.to_vec() },
        _ => Task::Regression,
    }
}

/// The metrics a submission is scored with: the primary one first, then every other one that
/// applies. (A metric's value does not depend on the others computed with it; this is the
/// list the service uses, and `holdout receipt verify` rescores with it too.)
pub fn metrics(task: &Task, format: PredictionFormat, primary: Metric) -> Vec<Metric> {
    let mut metrics = vec![primary];
    metrics.extend(applicable(task, format).into_iter().filter(|m| *m != primary));
    metrics
}

/// What a receipt says of one submission besides the contest's particulars.
#[derive(Debug, Clone)]
pub struct Attested<'a> {
    pub submission: i64,
    pub team: &'a str,
    pub phase: &'a str,
    pub sha256: &'a str,
    pub scores: Vec<SubsetScore>,
}

impl Contest {
    pub fn new(id: i64, manifest: Manifest, root: PathBuf, receipt_key: Option<String>) -> Contest {
        let s = &manifest.submission;
        let labels = s.labels.clone();
        let task = task(&s.task, &labels);
        let metrics = metrics(&task, s.prediction_format, s.primary_metric);
        Contest {
            id,
            name: manifest.contest.clone(),
            task,
            labels,
            format: s.prediction_format,
            primary: s.primary_metric,
            metrics,
            max_bytes: u64::from(s.max_file_mb) * 1_000_000,
            manifest,
            root,
            receipt_key,
            public_ids: OnceLock::new(),
            solution: OnceLock::new(),
            signing_key: OnceLock::new(),
        }
    }

    /// The key that signs the contest's receipts, read from [`crate::contest::key_path`] once
    /// and checked against the public half in the database; `None` for a contest without one.
    /// Blocking.
    pub fn signing_key(&self) -> Result<Option<Arc<SigningKey>>, String> {
        let Some(public) = &self.receipt_key else { return Ok(None) };
        if let Some(k) = self.signing_key.get() {
            return Ok(Some(k.clone()));
        }
        let path = crate::contest::key_path(&self.root);
        let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let key = receipt::parse_secret(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if receipt::key_hex(&key.verifying_key()) != *public {
            return Err(format!("{}: not the contest's receipt key {public}", path.display()));
        }
        Ok(Some(self.signing_key.get_or_init(|| Arc::new(key)).clone()))
    }

    /// A receipt of this contest for `what`, issued at `issued_at` with the audit log's head
    /// `head`.
    pub fn receipt(&self, what: Attested<'_>, issued_at: &str, head: &Entry) -> Receipt {
        let s = &self.manifest.submission;
        Receipt {
            format: receipt::FORMAT.into(),
            contest: self.name.clone(),
            submission: what.submission,
            team: what.team.to_owned(),
            phase: what.phase.to_owned(),
            sha256: what.sha256.to_owned(),
            solution_commitment: self.manifest.solution_commitment.sha256.clone(),
            scorer: receipt::scorer(),
            task: s.task.clone(),
            labels: s.labels.clone(),
            prediction_format: s.prediction_format,
            metric: s.primary_metric,
            scores: what.scores,
            issued_at: issued_at.to_owned(),
            audit_seq: head.seq,
            audit_head: head.hash.clone(),
        }
    }

    pub fn public_dir(&self) -> PathBuf {
        self.root.join("public")
    }

    /// The test ids, from the public `test.csv` (what the upload check uses: the solution is
    /// read only by the scorer). Blocking.
    pub fn public_ids(&self) -> Result<Arc<TestIds>, String> {
        if let Some(ids) = self.public_ids.get() {
            return Ok(ids.clone());
        }
        let ids = Arc::new(read_ids(&self.public_dir().join("test.csv"))?);
        Ok(self.public_ids.get_or_init(|| ids).clone())
    }

    /// The hidden solution; only the scoring worker calls this. Blocking.
    pub fn solution(&self) -> Result<Arc<Solution>, String> {
        if let Some(s) = self.solution.get() {
            return Ok(s.clone());
        }
        let path = self.root.join("private").join("solution.csv");
        let file = fs::File::open(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let s = Solution::read(BufReader::new(file), &self.labels).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(self.solution.get_or_init(|| Arc::new(s)).clone())
    }

    /// The subset names of a phase's board: `public`/`private`, or `a_public`/… with A/B boards.
    pub fn subset_names(&self, board: &str, has_boards: bool) -> (String, String) {
        if has_boards {
            (format!("{board}_public"), format!("{board}_private"))
        } else {
            ("public".into(), "private".into())
        }
    }
}

/// The ids in the first column of a CSV file, after its header.
fn read_ids(path: &Path) -> Result<TestIds, String> {
    let file = fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(BufReader::with_capacity(1 << 16, file));
    let mut ids = Vec::new();
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|e| format!("{}: {e}", path.display()))? {
        let id = std::str::from_utf8(&record[0]).map_err(|_| format!("{}: an id is not UTF-8", path.display()))?;
        ids.push(id.to_owned());
    }
    TestIds::build(ids.iter().map(String::as_str))
        .map_err(|d| format!("{}: id `{}` repeats", path.display(), ids[d.second]))
}

/// A phase as stored; open from `starts_at` (inclusive) to `ends_at` (exclusive).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Phase {
    pub name: String,
    /// The phase's name in Chinese.
    pub zh: String,
    /// The phase's name in English.
    pub en: String,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// Which test board (`a` or `b`: the A/B split of the hidden rows) the phase scores on.
    pub board: String,
}

/// A contest's mutable settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub daily: i64,
    pub total: i64,
    pub final_selections: i64,
    pub team_max_size: i64,
    pub max_upload_bytes: i64,
    pub ladder: bool,
    pub revealed_at: Option<String>,
    /// The judges' share of the final ranking (0–1).
    pub rubric_weight: f64,
    /// How many teams of the private board are finalists.
    pub finalists: i64,
    /// The public boards freeze this many days before the last phase ends (0: never).
    pub freeze_days: i64,
}

impl Settings {
    /// When the public boards freeze: `freeze_days` before the last of `phases` ends; `None`
    /// without a freeze.
    pub fn freeze_starts_at(&self, phases: &[Phase]) -> Option<String> {
        let end = crate::time::parse(&phases.last()?.ends_at)?;
        (self.freeze_days > 0).then(|| crate::time::text(end - chrono::Duration::days(self.freeze_days)))
    }

    /// Whether the public boards are frozen at `now` (from the freeze until the reveal), and
    /// since when.
    pub fn frozen_since(&self, phases: &[Phase], now: &str) -> Option<String> {
        self.freeze_starts_at(phases).filter(|since| now >= since.as_str() && self.revealed_at.is_none())
    }
}

/// What the hot paths read of a contest's rows, cached until something changes.
#[derive(Debug)]
pub struct Meta {
    pub phases: Vec<Phase>,
    pub settings: Settings,
    /// The final selections committed when the last phase closed, if it has.
    pub commitment: Option<crate::db::selections::Commitment>,
}

/// A rendered page's content with the contest header it was made from, and when it was made.
pub type CachedPage = (std::time::Instant, Arc<(serde_json::Value, String)>);

/// A cached board, plain and gzip-compressed.
#[derive(Debug)]
pub struct CachedBoard {
    pub plain: Bytes,
    pub gzip: Bytes,
}

/// Which cached board.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoardKey {
    pub contest: i64,
    pub phase: String,
    pub private: bool,
    pub csv: bool,
    /// The frozen view of a public board (what everyone but staff sees during the freeze).
    pub frozen: bool,
}

#[derive(Debug)]
pub struct Inner {
    pub pool: AnyPool,
    pub dir: PathBuf,
    pub clock: ClockBox,
    pub config: Config,
    pub contests: RwLock<FxHashMap<String, Arc<Contest>>>,
    /// Rung when a submission is queued.
    pub wake: Notify,
    pub boards: Mutex<FxHashMap<BoardKey, Arc<CachedBoard>>>,
    /// One board is computed at a time: concurrent misses wait for it instead of all
    /// recomputing it.
    pub building: tokio::sync::Mutex<()>,
    pub metas: Mutex<FxHashMap<i64, Arc<Meta>>>,
    /// Rendered public leaderboard pages' content, by contest, phase and language, with the
    /// contest's header: kept a few seconds at most (the open phase moves with the clock) and
    /// cleared by every change.
    pub pages: Mutex<FxHashMap<String, CachedPage>>,
    /// Whole public leaderboard pages for visitors who are not logged in, plain and gzip.
    pub visitor_pages: Mutex<FxHashMap<String, (std::time::Instant, Arc<CachedBoard>)>>,
    /// One page content is built at a time (not `building`, which the API calls inside take).
    pub page_building: tokio::sync::Mutex<()>,
    /// One heavy statistic (rank uncertainty, the integrity report) is computed at a time,
    /// apart from the boards' `building` so boards are served meanwhile.
    pub analysing: tokio::sync::Mutex<()>,
    /// Bumped by every invalidation, so a board computed across one is not cached.
    pub generation: std::sync::atomic::AtomicU64,
    /// What `/metrics` reports of this process.
    pub metrics: crate::metrics::Metrics,
    /// How far `GET /audit` has verified the audit log's chain (`None`: not yet, or it was
    /// broken); held while verifying, so one request verifies at a time.
    pub audit_verified: tokio::sync::Mutex<Option<AuditVerified>>,
    /// The integrity reports computed, by contest and phase, each with the SHA-256 of its inputs.
    pub integrity: Mutex<FxHashMap<(i64, String), KeptReport>>,
}

/// An integrity report kept with the SHA-256 of its inputs.
pub type KeptReport = (String, Arc<crate::integrity::Report>);

/// The audit log's chain as verified: entries 1 to `seq` chain to `hash`.
#[derive(Debug, Clone)]
pub struct AuditVerified {
    /// The last entry verified (0: the log was empty).
    pub seq: i64,
    /// Its hash ([`crate::audit::GENESIS`] for 0).
    pub hash: String,
    /// When the whole chain was last verified from its first entry.
    pub whole_at: chrono::DateTime<chrono::Utc>,
}

/// The clock, printable.
pub struct ClockBox(pub Clock);

impl std::fmt::Debug for ClockBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

#[derive(Debug, Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// The service's state; on PostgreSQL it also starts listening for other processes'
    /// changes ([`crate::changes::listen`]), so it must be made inside a Tokio runtime.
    pub fn new(pool: AnyPool, dir: PathBuf, clock: Clock, config: Config) -> AppState {
        let state = AppState(Arc::new(Inner {
            pool,
            dir,
            clock: ClockBox(clock),
            config,
            contests: RwLock::new(FxHashMap::default()),
            wake: Notify::new(),
            boards: Mutex::new(FxHashMap::default()),
            building: tokio::sync::Mutex::new(()),
            metas: Mutex::new(FxHashMap::default()),
            pages: Mutex::new(FxHashMap::default()),
            page_building: tokio::sync::Mutex::new(()),
            analysing: tokio::sync::Mutex::new(()),
            visitor_pages: Mutex::new(FxHashMap::default()),
            metrics: crate::metrics::Metrics::default(),
            generation: std::sync::atomic::AtomicU64::new(0),
            audit_verified: tokio::sync::Mutex::new(None),
            integrity: Mutex::new(FxHashMap::default()),
        }));
        drop(crate::changes::listen(&state));
        state
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.clock.0)()
    }

    pub fn now_text(&self) -> String {
        crate::time::text(self.now())
    }

    /// Drops every cached board and setting of a contest (after anything that changes them), in
    /// this process and, on PostgreSQL, in every other process on the database
    /// ([`crate::changes`]).
    pub fn invalidate(&self, contest: i64) {
        self.invalidate_here(contest);
        crate::changes::announce(self, Some(contest));
    }

    /// Wakes a scoring worker: one of this process's, and on PostgreSQL the other processes'
    /// (a `holdout worker` elsewhere would otherwise find the submission at its next poll).
    pub fn queued(&self) {
        self.wake.notify_one();
        crate::changes::announce_queued(self);
    }

    /// [`AppState::invalidate`] in this process only (another process announced the change).
    pub fn invalidate_here(&self, contest: i64) {
        self.clear(Some(contest));
    }

    /// Drops every contest's cached boards and settings in this process.
    pub fn invalidate_all_here(&self) {
        self.clear(None);
    }

    /// Drops the cached boards and settings of one contest (`None`: of all) in this process.
    fn clear(&self, contest: Option<i64>) {
        let hit = |c: i64| contest.is_none_or(|x| x == c);
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.boards.lock().expect("the board cache lock is never poisoned").retain(|k, _| !hit(k.contest));
        self.metas.lock().expect("the meta cache lock is never poisoned").retain(|c, _| !hit(*c));
        self.pages.lock().expect("the page cache lock is never poisoned").clear();
        self.visitor_pages.lock().expect("the page cache lock is never poisoned").clear();
    }

    /// Makes sure this process has a local copy of each stored file (fetched from the database
    /// when it holds the files) before blocking code reads them by path.
    pub async fn fetch_files(&self, shas: Vec<String>) -> Result<(), crate::store::StoreError> {
        for sha in &shas {
            crate::store::local(&self.pool, &self.dir, sha).await?;
        }
        Ok(())
    }

    /// Makes sure this process has the contest's solution, salt and receipt key, before
    /// blocking code reads them (`Contest::solution`, `Contest::signing_key`). On PostgreSQL
    /// they are fetched only by the processes that score, report or reveal, so a replica that
    /// only serves keeps no copy of the hidden labels.
    pub async fn private_files(&self, c: &Contest) -> Result<(), crate::store::StoreError> {
        crate::store::contest_files(&self.pool, &self.dir, c.id, &c.root, &["private/", "keys/"]).await
    }

    /// The local path of one of the contest's public files (`test.csv`, `README.md`, …),
    /// fetched first on PostgreSQL if this process has no copy: a contest loads without its
    /// files, and each is fetched when first read.
    pub async fn public_file(&self, c: &Contest, name: &str) -> Result<PathBuf, crate::store::StoreError> {
        let path = c.public_dir().join(name);
        if !path.is_file() {
            let rel = format!("public/{name}");
            crate::store::contest_files(&self.pool, &self.dir, c.id, &c.root, &[rel.as_str()]).await?;
        }
        Ok(path)
    }

    /// A contest by name, loaded on first use; `None` if there is none.
    pub async fn contest(&self, name: &str) -> Result<Option<Arc<Contest>>, crate::db::DbError> {
        if let Some(c) = self.contests.read().expect("the contest lock is never poisoned").get(name) {
            return Ok(Some(c.clone()));
        }
        let row = crate::db::contests::by_name(&self.pool, name).await?;
        let Some((id, manifest, receipt_key)) = row else { return Ok(None) };
        let manifest: Manifest =
            serde_json::from_str(&manifest).map_err(|e| crate::db::DbError::Corrupt(e.to_string()))?;
        let root = crate::contest::root(&self.dir, name);
        let c = Arc::new(Contest::new(id, manifest, root, receipt_key));
        self.contests.write().expect("the contest lock is never poisoned").insert(name.to_owned(), c.clone());
        Ok(Some(c))
    }
}
