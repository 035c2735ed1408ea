//! Loading a prepared bundle into the service (`holdout contest create`): its public files are
//! copied to `DIR/contests/<name>/public/`, its solution and salt to `…/private/` (read only by
//! the scoring worker), a new Ed25519 key that signs the contest's score receipts is written to
//! `…/keys/receipt.key`, and the contest, its phases and limits go into the database with audit
//! entries recording the solution commitment and the receipt key's public half, both shown
//! publicly from then on. Baselines are loaded as marked teams whose submissions go through the
//! same queue.

use std::fs;
use std::path::{Path, PathBuf};

use holdout_prepare::manifest::Manifest;
use serde_json::json;
use sqlx::AnyPool;

use crate::audit::Event;
use crate::db::{self, DbError};
use crate::receipt;

/// A contest's directory in the data directory.
pub fn root(dir: &Path, name: &str) -> PathBuf {
    dir.join("contests").join(name)
}

/// The secret key that signs a contest's receipts, in the contest's directory `root`: kept
/// apart from `private/`, whose solution and salt are published after the reveal, because the
/// key never is (a published key would let anyone sign receipts).
pub fn key_path(root: &Path) -> PathBuf {
    root.join("keys").join("receipt.key")
}

/// Makes a new receipt key from the system's random source and writes its secret half to
/// [`key_path`] under `root` (readable by the owner only); returns it.
fn new_key(root: &Path) -> Result<ed25519_dalek::SigningKey, ContestError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| ContestError::Io(format!("the system random source failed: {e}")))?;
    let key = receipt::signing_key(seed);
    let path = key_path(root);
    let parent = path.parent().expect("the key file has a directory");
    fs::create_dir_all(parent).map_err(|e| ContestError::Io(format!("cannot create {}: {e}", parent.display())))?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&path).and_then(|mut f| {
        std::io::Write::write_all(&mut f, receipt::secret_text(&key).as_bytes())?;
        f.sync_all()
    });
    written.map_err(|e| ContestError::Io(format!("cannot write {}: {e}", path.display())))?;
    Ok(key)
}

#[derive(Debug, thiserror::Error)]
pub enum ContestError {
    #[error("{0}")]
    Bad(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Io(String),
}

impl From<sqlx::Error> for ContestError {
    fn from(e: sqlx::Error) -> ContestError {
        ContestError::Db(DbError::Sql(e))
    }
}

/// A contest name is a path component and part of URLs: lower-case letters, digits, `-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: i64,
    pub name: String,
    pub commitment: String,
    /// The public half of the contest's receipt key, hex.
    pub receipt_key: String,
    pub phases: usize,
}

fn copy_dir(from: &Path, to: &Path, names: &[&str]) -> Result<(), ContestError> {
    fs::create_dir_all(to).map_err(|e| ContestError::Io(format!("cannot create {}: {e}", to.display())))?;
    for name in names {
        let (src, dst) = (from.join(name), to.join(name));
        fs::copy(&src, &dst).map_err(|e| ContestError::Io(format!("cannot copy {}: {e}", src.display())))?;
        fs::File::open(&dst)
            .and_then(|f| f.sync_all())
            .map_err(|e| ContestError::Io(format!("cannot write {}: {e}", dst.display())))?;
    }
    Ok(())
}

/// Loads a bundle (already verified against its manifest by the caller) into the data
/// directory `dir`. `now` is the RFC 3339 time recorded.
pub async fn create(pool: &AnyPool, dir: &Path, bundle: &Path, now: &str) -> Result<Created, ContestError> {
    let (public, private) = (bundle.join("public"), bundle.join("private"));
    let path = public.join("MANIFEST.json");
    let text =
        fs::read_to_string(&path).map_err(|e| ContestError::Bad(format!("cannot read {}: {e}", path.display())))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| ContestError::Bad(format!("{}: not a holdout manifest: {e}", path.display())))?;
    let Some(rules) = manifest.rules.clone() else {
        return Err(ContestError::Bad(format!(
            "{}: the manifest has no contest rules (phases, limits); prepare the bundle again with this holdout",
            path.display()
        )));
    };
    let name = manifest.contest.clone();
    if !valid_name(&name) {
        return Err(ContestError::Bad(format!(
            "{}: contest name `{name}` must be lower-case letters, digits and -",
            path.display()
        )));
    }
    if rules.phases.is_empty() {
        return Err(ContestError::Bad(format!("{}: the contest has no phases", path.display())));
    }
    let mut phases = Vec::new();
    for p in &rules.phases {
        let (Some(start), Some(end)) = (crate::time::parse(&p.start), crate::time::parse(&p.end)) else {
            return Err(ContestError::Bad(format!("{}: phase {}: times are not RFC 3339", path.display(), p.name)));
        };
        phases.push((p, crate::time::text(start), crate::time::text(end)));
    }
    if db::contests::id(pool, &name).await?.is_some() {
        return Err(ContestError::Bad(format!("contest `{name}` already exists in {}", dir.display())));
    }

    // Files first, into a temporary directory renamed into place; then the database.
    let target = root(dir, &name);
    let partial = dir.join("contests").join(format!(".{name}.partial"));
    let _ = fs::remove_dir_all(&partial);
    let public_names: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).chain(["MANIFEST.json"]).collect();
    copy_dir(&public, &partial.join("public"), &public_names)?;
    copy_dir(&private, &partial.join("private"), &["solution.csv", "salt.txt"])?;
    let key = receipt::key_hex(&new_key(&partial)?.verifying_key());
    if target.exists() {
        // Left by an earlier attempt whose database insert failed: the database is the record.
        fs::remove_dir_all(&target)
            .map_err(|e| ContestError::Io(format!("cannot replace {}: {e}", target.display())))?;
    }
    fs::rename(&partial, &target).map_err(|e| ContestError::Io(format!("cannot create {}: {e}", target.display())))?;

    let result = async {
        let files = crate::store::list_contest(&target)
            .map_err(|e| ContestError::Io(format!("cannot read {}: {e}", target.display())))?;
        crate::store::publish_contest(pool, &target, &files).await.map_err(|e| ContestError::Io(e.to_string()))?;
        insert(pool, &manifest, &text, &phases, &files, &key, now).await
    }
    .await;
    if result.is_err() {
        let _ = fs::remove_dir_all(&target);
    }
    let id = result?;
    Ok(Created {
        id,
        name,
        commitment: manifest.solution_commitment.sha256.clone(),
        receipt_key: key,
        phases: phases.len(),
    })
}

async fn insert(
    pool: &AnyPool,
    manifest: &Manifest,
    text: &str,
    phases: &[(&holdout_prepare::manifest::PhaseRule, String, String)],
    files: &[(String, String)],
    receipt_key: &str,
    now: &str,
) -> Result<i64, ContestError> {
    let rules = manifest.rules.as_ref().expect("checked by create");
    // The bootstrap seed is fixed per contest (every submission resampled alike) and derived from
    // the commitment, so nobody picks it.
    let seed = i64::from_str_radix(&manifest.solution_commitment.sha256[..15], 16).unwrap_or(0);
    let phases: Vec<db::contests::NewPhase<'_>> = phases
        .iter()
        .map(|(p, start, end)| {
            let board = match p.board {
                holdout_schema::Board::A => "a",
                holdout_schema::Board::B => "b",
            };
            (p.name.as_str(), p.zh.as_str(), p.en.as_str(), start.as_str(), end.as_str(), board)
        })
        .collect();
    let row = db::contests::NewContest {
        name: &manifest.contest,
        manifest: text,
        commitment: &manifest.solution_commitment.sha256,
        daily: i64::from(rules.daily_submissions),
        total: i64::from(rules.total_submissions),
        final_selections: i64::from(rules.final_selections),
        team_max_size: i64::from(rules.team_max_size),
        max_upload_bytes: i64::from(manifest.submission.max_file_mb) * 1_000_000,
        bootstrap_seed: seed,
        receipt_key,
        created_at: now,
    };
    let detail = json!({
        "commitment": manifest.solution_commitment.sha256,
        "scheme": manifest.solution_commitment.scheme,
        "files": manifest.files.iter().map(|f| json!({"path": f.path, "sha256": f.sha256})).collect::<Vec<_>>(),
    });
    let event = |action: &str, detail: serde_json::Value| Event {
        at: now.to_owned(),
        actor: "system".into(),
        action: action.into(),
        subject: format!("contest:{}", manifest.contest),
        detail: detail.to_string(),
    };
    let key = json!({"algorithm": "ed25519", "public_key": receipt_key, "signs": receipt::FORMAT});
    let events = vec![event("contest.create", detail), event("contest.receipt_key", key)];
    Ok(db::contests::insert(pool, &row, &phases, files, events).await?)
}

/// Loads a baseline's submission file as a marked team `baseline-<model>`; it is queued and
/// scored by the service like any other. Returns the submission id.
pub async fn add_baseline(
    pool: &AnyPool,
    dir: &Path,
    contest: &str,
    model: &str,
    file: &Path,
    now: &str,
) -> Result<i64, ContestError> {
    let row = db::contests::first_phase(pool, contest).await?;
    let Some((contest_id, phase)) = row else { return Err(ContestError::Bad(format!("no contest `{contest}`"))) };
    let (sha, bytes) =
        crate::store::put(dir, file).map_err(|e| ContestError::Io(format!("cannot store {}: {e}", file.display())))?;
    crate::store::publish(pool, dir, &sha).await.map_err(|e| ContestError::Io(e.to_string()))?;
    let team_name = format!("baseline-{model}");
    let description = format!("baseline {model}");
    let event = |id| Event {
        at: now.to_owned(),
        actor: "system".into(),
        action: "submission.upload".into(),
        subject: format!("submission:{id}"),
        detail: json!({"contest": contest, "team": team_name, "sha256": sha, "bytes": bytes, "baseline": true})
            .to_string(),
    };
    Ok(db::contests::insert_baseline(
        pool,
        contest_id,
        &team_name,
        &phase,
        &sha,
        bytes as i64,
        &description,
        now,
        event,
    )
    .await?)
}
