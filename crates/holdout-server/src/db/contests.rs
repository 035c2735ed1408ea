//! The `contests` table as the service's loaders read it, and the reveal.

use sqlx::{AnyConnection, AnyPool, Row};

use super::receipts::{self, ScoredRow};
use super::selections::{self, Check, Commitment};
use super::{DbError, append, begin};
use crate::audit::{Entry, Event};
use crate::state::{Phase, Settings};

/// A contest's id, published manifest (JSON text) and receipt key (public, hex; `None` for a
/// contest created before receipts), by name.
pub async fn by_name(pool: &AnyPool, name: &str) -> Result<Option<(i64, String, Option<String>)>, DbError> {
    Ok(sqlx::query_as("SELECT id, manifest, receipt_key FROM contests WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?)
}

/// Every contest's name, in creation order.
pub async fn names(pool: &AnyPool) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar("SELECT name FROM contests ORDER BY id").fetch_all(pool).await?)
}

/// A contest's phases, in order.
pub async fn phases(pool: &AnyPool, contest: i64) -> Result<Vec<Phase>, DbError> {
    let rows = sqlx::query(
        "SELECT name, zh, en, starts_at, ends_at, board FROM phases WHERE contest_id = $1 ORDER BY position",
    )
    .bind(contest)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Phase {
            name: r.get("name"),
            zh: r.get("zh"),
            en: r.get("en"),
            starts_at: r.get("starts_at"),
            ends_at: r.get("ends_at"),
            board: r.get("board"),
        })
        .collect())
}

/// Moves a phase of a contest (inside the caller's transaction, which audits it).
pub async fn set_phase_times(
    conn: &mut AnyConnection,
    contest: i64,
    phase: &str,
    starts_at: &str,
    ends_at: &str,
) -> Result<(), DbError> {
    sqlx::query("UPDATE phases SET starts_at = $1, ends_at = $2 WHERE contest_id = $3 AND name = $4")
        .bind(starts_at)
        .bind(ends_at)
        .bind(contest)
        .bind(phase)
        .execute(conn)
        .await?;
    Ok(())
}

/// The seed of a contest's bootstrap resamples.
pub async fn bootstrap_seed(pool: &AnyPool, contest: i64) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT bootstrap_seed FROM contests WHERE id = $1").bind(contest).fetch_one(pool).await?)
}

/// A contest's id and team size limit, by name.
pub async fn team_limit(pool: &AnyPool, name: &str) -> Result<Option<(i64, i64)>, DbError> {
    Ok(sqlx::query_as("SELECT id, team_max_size FROM contests WHERE name = $1").bind(name).fetch_optional(pool).await?)
}

/// A contest's mutable settings.
pub async fn settings(pool: &AnyPool, contest: i64) -> Result<Settings, DbError> {
    let r = sqlx::query(
        "SELECT daily_submissions, total_submissions, final_selections, team_max_size, max_upload_bytes, CAST(ladder AS INTEGER) AS ladder, revealed_at, \
         rubric_weight, finalists, freeze_days \
         FROM contests WHERE id = $1",
    )
    .bind(contest)
    .fetch_one(pool)
    .await?;
    Ok(Settings {
        daily: r.get("daily_submissions"),
        total: r.get("total_submissions"),
        final_selections: r.get("final_selections"),
        team_max_size: r.get("team_max_size"),
        max_upload_bytes: r.get("max_upload_bytes"),
        ladder: crate::db::flag(&r, "ladder"),
        revealed_at: r.get("revealed_at"),
        rubric_weight: r.get("rubric_weight"),
        finalists: r.get("finalists"),
        freeze_days: r.get("freeze_days"),
    })
}

/// The settings an organizer changes; `None` keeps a setting.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub ladder: Option<bool>,
    pub daily: Option<i64>,
    pub total: Option<i64>,
    pub final_selections: Option<i64>,
    pub rubric_weight: Option<f64>,
    pub finalists: Option<i64>,
    pub freeze_days: Option<i64>,
}

/// Changes a contest's settings with the audit event, in one transaction.
pub async fn update_settings(
    pool: &AnyPool,
    contest: i64,
    change: &SettingsChange,
    event: Event,
) -> Result<(), DbError> {
    let mut tx = begin(pool).await?;
    sqlx::query(
        "UPDATE contests SET ladder = COALESCE($1, ladder), daily_submissions = COALESCE($2, daily_submissions), \
         total_submissions = COALESCE($3, total_submissions), final_selections = COALESCE($4, final_selections), \
         rubric_weight = COALESCE($5, rubric_weight), finalists = COALESCE($6, finalists), \
         freeze_days = COALESCE($7, freeze_days) WHERE id = $8",
    )
    .bind(change.ladder)
    .bind(change.daily)
    .bind(change.total)
    .bind(change.final_selections)
    .bind(change.rubric_weight)
    .bind(change.finalists)
    .bind(change.freeze_days)
    .bind(contest)
    .execute(&mut *tx)
    .await?;
    append(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}

/// A contest's id, by name.
pub async fn id(pool: &AnyPool, name: &str) -> Result<Option<i64>, DbError> {
    Ok(sqlx::query_scalar("SELECT id FROM contests WHERE name = $1").bind(name).fetch_optional(pool).await?)
}

/// A new contest's row.
#[derive(Debug)]
pub struct NewContest<'a> {
    pub name: &'a str,
    /// The published `MANIFEST.json`.
    pub manifest: &'a str,
    pub commitment: &'a str,
    pub daily: i64,
    pub total: i64,
    pub final_selections: i64,
    pub team_max_size: i64,
    pub max_upload_bytes: i64,
    pub bootstrap_seed: i64,
    /// The public half of the contest's receipt key, hex.
    pub receipt_key: &'a str,
    pub created_at: &'a str,
}

/// A new phase's row: name, Chinese and English titles, start, end (RFC 3339 UTC), board.
pub type NewPhase<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str);

/// Inserts a contest, its phases (in order) and the list of its files (path under its
/// directory, SHA-256) with the audit events, in one transaction; returns the contest's id.
pub async fn insert(
    pool: &AnyPool,
    c: &NewContest<'_>,
    phases: &[NewPhase<'_>],
    files: &[(String, String)],
    events: Vec<Event>,
) -> Result<i64, DbError> {
    let mut tx = begin(pool).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO contests (name, manifest, commitment, daily_submissions, total_submissions, final_selections, \
         team_max_size, max_upload_bytes, bootstrap_seed, receipt_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         RETURNING id",
    )
    .bind(c.name)
    .bind(c.manifest)
    .bind(c.commitment)
    .bind(c.daily)
    .bind(c.total)
    .bind(c.final_selections)
    .bind(c.team_max_size)
    .bind(c.max_upload_bytes)
    .bind(c.bootstrap_seed)
    .bind(c.receipt_key)
    .bind(c.created_at)
    .fetch_one(&mut *tx)
    .await?;
    for (position, &(name, zh, en, start, end, board)) in phases.iter().enumerate() {
        sqlx::query(
            "INSERT INTO phases (contest_id, position, name, zh, en, starts_at, ends_at, board) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(position as i64)
        .bind(name)
        .bind(zh)
        .bind(en)
        .bind(start)
        .bind(end)
        .bind(board)
        .execute(&mut *tx)
        .await?;
    }
    super::blobs::add_contest_files(&mut tx, id, files).await?;
    for event in events {
        append(&mut tx, event).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// What the reveal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revealed {
    /// Revealed, with its audit entry's sequence number and the receipts issued.
    Done { seq: i64, receipts: usize },
    /// Revealed before (nothing written).
    Already,
    /// The committed final selections no longer hash to the published hash (nothing written).
    SelectionsChanged { published: String, found: String },
    /// No final selections were committed (nothing written).
    NotCommitted,
}

/// Reveals a contest's private board at `now`, in one transaction: the committed final
/// selections are rebuilt from their rows and checked against the published hash (and the
/// commitment marked checked by this reveal), the audit event `event(the commitment)` is
/// appended, and every scored submission gets a receipt — `issue(the reveal's audit entry,
/// submission)`, `None` for none. Nothing is written unless the selections are unchanged and
/// the contest was not revealed before.
pub async fn reveal(
    pool: &AnyPool,
    contest: i64,
    name: &str,
    now: &str,
    event: impl FnOnce(&Commitment) -> Event,
    issue: impl Fn(&Entry, &ScoredRow) -> Option<String>,
) -> Result<Revealed, DbError> {
    let mut tx = begin(pool).await?;
    let done = sqlx::query("UPDATE contests SET revealed_at = $1 WHERE id = $2 AND revealed_at IS NULL")
        .bind(now)
        .bind(contest)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if done == 0 {
        return Ok(Revealed::Already);
    }
    let commitment = match selections::check(&mut tx, contest, name).await? {
        Check::Unchanged(c) => c,
        Check::Changed { published, found } => return Ok(Revealed::SelectionsChanged { published, found }),
        Check::Missing => return Ok(Revealed::NotCommitted),
    };
    let entry = append(&mut tx, event(&commitment)).await?;
    selections::verified(&mut tx, contest, entry.seq).await?;
    let mut issued = 0;
    for row in receipts::scored(&mut tx, contest).await? {
        if let Some(body) = issue(&entry, &row) {
            receipts::insert(&mut tx, row.id, now, entry.seq, &body).await?;
            issued += 1;
        }
    }
    tx.commit().await?;
    Ok(Revealed::Done { seq: entry.seq, receipts: issued })
}

/// A contest's id and its first phase's name, by contest name.
pub async fn first_phase(pool: &AnyPool, contest: &str) -> Result<Option<(i64, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT c.id, p.name FROM contests c JOIN phases p ON p.contest_id = c.id WHERE c.name = $1 ORDER BY p.position LIMIT 1",
    )
    .bind(contest)
    .fetch_optional(pool)
    .await?)
}

/// Queues a baseline's file as team `team_name` (a marked baseline team, created if missing)
/// with the audit event `event(submission id)`, in one transaction; returns the submission id.
#[expect(clippy::too_many_arguments, reason = "one row's columns")]
pub async fn insert_baseline(
    pool: &AnyPool,
    contest_id: i64,
    team_name: &str,
    phase: &str,
    sha256: &str,
    bytes: i64,
    description: &str,
    now: &str,
    event: impl FnOnce(i64) -> Event,
) -> Result<i64, DbError> {
    let mut tx = begin(pool).await?;
    let team: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE contest_id = $1 AND name = $2")
        .bind(contest_id)
        .bind(team_name)
        .fetch_optional(&mut *tx)
        .await?;
    let team = match team {
        Some(t) => t,
        None => {
            sqlx::query_scalar(
                "INSERT INTO teams (contest_id, name, baseline, created_at) VALUES ($1, $2, TRUE, $3) RETURNING id",
            )
            .bind(contest_id)
            .bind(team_name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    let up = super::submissions::NewUpload {
        contest: contest_id,
        team,
        user: None,
        phase,
        sha256,
        bytes,
        description,
        status: "queued",
        message: "",
        problems: None,
        created_at: now,
    };
    let id = super::submissions::insert(&mut tx, &up).await?;
    append(&mut tx, event(id)).await?;
    tx.commit().await?;
    Ok(id)
}
