//! Contests: the public overview and files, the organizer's settings, phases and reveal, and
//! the audit log for judges.

use axum::Json;
use axum::extract::State;

use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::{Caller, JsonBody, Path, Query, Role, doc};
use crate::audit::Event;
use crate::db;
use crate::db::selections::{Commit, Commitment};
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use crate::state::{AppState, Attested, Contest};
use crate::time;

pub use crate::state::{Phase, Settings};

/// A contest's phases and settings, from the cache (cleared by every change).
pub(super) async fn meta(state: &AppState, contest: i64) -> ApiResult<std::sync::Arc<crate::state::Meta>> {
    if let Some(m) = state.metas.lock().expect("the meta cache lock is never poisoned").get(&contest) {
        return Ok(m.clone());
    }
    let generation = state.generation.load(std::sync::atomic::Ordering::SeqCst);
    let m = std::sync::Arc::new(crate::state::Meta {
        phases: load_phases(state, contest).await?,
        settings: load_settings(state, contest).await?,
        commitment: db::selections::commitment(&state.pool, contest).await?,
    });
    if state.generation.load(std::sync::atomic::Ordering::SeqCst) == generation {
        state.metas.lock().expect("the meta cache lock is never poisoned").insert(contest, m.clone());
    }
    Ok(m)
}

pub(super) async fn phases(state: &AppState, contest: i64) -> ApiResult<Vec<Phase>> {
    Ok(meta(state, contest).await?.phases.clone())
}

pub(super) async fn settings_of(state: &AppState, contest: i64) -> ApiResult<Settings> {
    Ok(meta(state, contest).await?.settings.clone())
}

async fn load_phases(state: &AppState, contest: i64) -> ApiResult<Vec<Phase>> {
    Ok(db::contests::phases(&state.pool, contest).await?)
}

/// The phase open at `now`.
pub(super) fn open_phase<'a>(phases: &'a [Phase], now: &str) -> Option<&'a Phase> {
    phases.iter().find(|p| p.starts_at.as_str() <= now && now < p.ends_at.as_str())
}

/// The phase whose board is shown by default: the open one, else the last one started, else
/// the first.
pub(super) fn board_phase<'a>(phases: &'a [Phase], now: &str) -> Option<&'a Phase> {
    open_phase(phases, now)
        .or_else(|| phases.iter().rev().find(|p| p.starts_at.as_str() <= now))
        .or_else(|| phases.first())
}

/// The loaded contest, or 404.
pub(super) async fn load(state: &AppState, name: &str) -> ApiResult<std::sync::Arc<Contest>> {
    state.contest(name).await?.ok_or_else(ApiError::not_found)
}

/// The contest's committed final selections, committing them now if the last phase has closed,
/// a team submitted something in it, and nobody has committed yet (audited as
/// `selection.commit` by `system`): every read that could show or use them asks here first, so
/// they are fixed and published before anything else happens after the close. `None` before
/// the close, while submissions of the last phase are still queued or being scored (a team's
/// default may be among them), and while nobody has submitted in the last phase (nothing to
/// commit; its times may still move, as the demo moves a contest created with past dates).
pub(super) async fn committed(state: &AppState, c: &Contest) -> ApiResult<Option<Commitment>> {
    commit_if_closed(state, c, false).await
}

/// [`committed`], or with `always` (the reveal) committing even an empty last phase.
pub(super) async fn commit_if_closed(state: &AppState, c: &Contest, always: bool) -> ApiResult<Option<Commitment>> {
    let m = meta(state, c.id).await?;
    if let Some(cm) = &m.commitment {
        return Ok(Some(cm.clone()));
    }
    let Some(last) = m.phases.last() else { return Ok(None) };
    let now = state.now_text();
    if now < last.ends_at {
        return Ok(None);
    }
    let (greater, ladder) = (c.primary.greater_is_better(), m.settings.ladder);
    let event = |sha256: &str, teams: usize| Event {
        at: now.clone(),
        actor: "system".into(),
        action: "selection.commit".into(),
        subject: format!("contest:{}", c.name),
        detail: json!({"format": crate::selections::FORMAT, "phase": last.name, "closed_at": last.ends_at,
            "sha256": sha256, "teams": teams})
        .to_string(),
    };
    let outcome = {
        let finals = |entries: &[crate::board::Entry]| crate::board::finals(entries, greater, ladder);
        db::selections::commit(&state.pool, always, c.id, &c.name, &last.name, &last.ends_at, &now, finals, event)
            .await?
    };
    match outcome {
        Commit::Done(cm) | Commit::Already(cm) => {
            state.invalidate(c.id);
            Ok(Some(cm))
        }
        Commit::Pending(_) | Commit::Empty => Ok(None),
    }
}

/// The committed final selections as the API shows them (on the contest, its last phase's
/// boards and a team's selections).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SelectionCommitment {
    /// Always `holdout-selections/1`.
    pub format: &'static str,
    /// The last phase, whose private board the selections are for.
    pub phase: String,
    /// When that phase closed: no selection could change after it.
    #[schema(format = DateTime)]
    pub closed_at: String,
    /// SHA-256 of the committed list's canonical bytes (`url`), hex.
    pub sha256: String,
    #[schema(format = DateTime)]
    pub committed_at: String,
    /// The `selection.commit` audit entry.
    pub audit_seq: i64,
    /// The `board.reveal` audit entry that found the list unchanged; null before the reveal.
    #[schema(required = true)]
    pub verified_seq: Option<i64>,
    /// `/api/v1/contests/{contest}/selections/committed`: the list itself.
    pub url: String,
}

/// A commitment as the API shows it.
pub(super) fn commitment_view(c: &Contest, cm: &Commitment) -> SelectionCommitment {
    SelectionCommitment {
        format: crate::selections::FORMAT,
        phase: cm.phase.clone(),
        closed_at: cm.closed_at.clone(),
        sha256: cm.sha256.clone(),
        committed_at: cm.committed_at.clone(),
        audit_seq: cm.audit_seq,
        verified_seq: cm.verified_seq,
        url: format!("/api/v1/contests/{}/selections/committed", c.name),
    }
}

/// [`commitment_view`] as JSON.
pub(super) fn commitment_json(c: &Contest, cm: &Commitment) -> Value {
    serde_json::to_value(commitment_view(c, cm)).unwrap_or(Value::Null)
}

/// The committed list `holdout-selections/1`, byte for byte what was hashed (anyone; 404
/// `not_committed` before the last phase closes).
#[utoipa::path(
    get,
    path = "/contests/{contest}/selections/committed",
    tag = "submissions",
    params(doc::params::ContestPath),
    responses(
        (status = 200, description = "The committed list, canonical JSON (compact, teams and submissions by ascending id): its SHA-256 is the published `sha256`.", body = crate::selections::Document),
        (status = 404, description = "No such contest, or nothing committed yet (`not_committed`).", body = ErrorBody),
    )
)]
pub async fn committed_list(State(state): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let c = load(&state, &name).await?;
    let missing = || {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            ErrorCode::NotCommitted,
            "the final selections are committed when the last phase closes and its submissions are scored",
        )
    };
    committed(&state, &c).await?.ok_or_else(missing)?;
    let document = db::selections::document(&state.pool, c.id, &c.name).await?.ok_or_else(missing)?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], document.canonical()).into_response())
}

async fn load_settings(state: &AppState, contest: i64) -> ApiResult<Settings> {
    Ok(db::contests::settings(&state.pool, contest).await?)
}

/// Every contest (anyone).
#[utoipa::path(
    get,
    path = "/contests",
    tag = "contests",
    operation_id = "list_contests",
    responses(
        (status = 200, description = "The contests.", body = doc::ContestList),
    )
)]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let names = db::contests::names(&state.pool).await?;
    let mut out = Vec::new();
    for name in names {
        let c = load(&state, &name).await?;
        let rules = c.manifest.rules.as_ref();
        out.push(json!({"name": name, "title": rules.map(|r| &r.title), "task": c.manifest.submission.task}));
    }
    Ok(Json(json!({"contests": out})))
}

/// A contest's overview: rules, limits, phases, files, commitment and receipt key (anyone).
#[utoipa::path(
    get,
    path = "/contests/{contest}",
    tag = "contests",
    operation_id = "show_contest",
    params(doc::params::ContestPath),
    responses(
        (status = 200, description = "The contest.", body = doc::Contest),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn show(State(state): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    let c = load(&state, &name).await?;
    let commitment = committed(&state, &c).await?;
    let s = settings_of(&state, c.id).await?;
    let phases = phases(&state, c.id).await?;
    let now = state.now_text();
    let m = &c.manifest;
    let rules = m.rules.as_ref();
    Ok(Json(json!({
        "name": c.name,
        "title": rules.map(|r| &r.title),
        "description": rules.map(|r| &r.description),
        "survey": m.survey,
        "task": m.submission.task,
        "labels": m.submission.labels,
        "prediction_format": m.submission.prediction_format,
        "columns": m.submission.columns,
        "primary_metric": c.primary.name(),
        "greater_is_better": c.primary.greater_is_better(),
        "metrics": c.metrics.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "max_file_bytes": s.max_upload_bytes,
        "train_rows": m.train_rows,
        "test_rows": m.test_rows,
        "daily_submissions": s.daily,
        "total_submissions": s.total,
        "final_selections": s.final_selections,
        "team_max_size": s.team_max_size,
        "ladder": s.ladder,
        "revealed_at": s.revealed_at,
        "rubric_weight": s.rubric_weight,
        "finalists": s.finalists,
        "freeze_days": s.freeze_days,
        "freeze_starts_at": s.freeze_starts_at(&phases),
        "frozen_since": s.frozen_since(&phases, &now),
        "phases": phases,
        "open_phase": open_phase(&phases, &now).map(|p| &p.name),
        "time_zone": "Asia/Shanghai",
        "now": now,
        "solution_commitment": m.solution_commitment,
        "receipt_key": c.receipt_key,
        "selection_commitment": commitment.as_ref().map(|cm| commitment_json(&c, cm)),
        "files": m.files.iter().map(|f| json!({
            "path": f.path, "bytes": f.bytes, "sha256": f.sha256,
            "url": format!("/api/v1/contests/{}/files/{}", c.name, f.path),
        })).collect::<Vec<_>>(),
    })))
}

/// A public file of the bundle; only names the manifest lists (and the manifest itself).
#[utoipa::path(
    get,
    path = "/contests/{contest}/files/{file}",
    tag = "contests",
    params(doc::params::FilePath),
    responses(
        (status = 200, description = "The file, as an attachment.", content(("text/csv; charset=utf-8"), ("application/json"), ("text/markdown; charset=utf-8"), ("application/octet-stream"))),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn download(
    State(state): State<AppState>,
    Path((name, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    let c = load(&state, &name).await?;
    let listed = file == "MANIFEST.json" || c.manifest.files.iter().any(|f| f.path == file);
    if !listed {
        return Err(ApiError::not_found());
    }
    let content_type = match file.rsplit('.').next() {
        Some("csv") => "text/csv; charset=utf-8",
        Some("json") => "application/json",
        Some("md") => "text/markdown; charset=utf-8",
        _ => "application/octet-stream",
    };
    let path = state.public_file(&c, &file).await.map_err(|e| ApiError::internal(&e))?;
    super::attachment(&path, content_type, &file).await
}

pub(super) async fn audit_event(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    actor: String,
    action: &str,
    subject: String,
    detail: Value,
) -> ApiResult<()> {
    db::append(tx, Event { at: state.now_text(), actor, action: action.into(), subject, detail: detail.to_string() })
        .await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    ladder: Option<bool>,
    /// At least 1.
    #[serde(default, deserialize_with = "super::whole::option")]
    #[schema(minimum = 1, maximum = 4_294_967_295_u32, format = Int64)]
    daily_submissions: Option<u32>,
    /// At least 1.
    #[serde(default, deserialize_with = "super::whole::option")]
    #[schema(minimum = 1, maximum = 4_294_967_295_u32, format = Int64)]
    total_submissions: Option<u32>,
    /// At least 1.
    #[serde(default, deserialize_with = "super::whole::option")]
    #[schema(minimum = 1, maximum = 4_294_967_295_u32, format = Int64)]
    final_selections: Option<u32>,
    /// The judges' share of the final ranking, 0–1.
    #[schema(minimum = 0, maximum = 1)]
    rubric_weight: Option<f64>,
    /// How many teams of the private board are finalists; at least 1.
    #[serde(default, deserialize_with = "super::whole::option")]
    #[schema(minimum = 1, maximum = 4_294_967_295_u32, format = Int64)]
    finalists: Option<u32>,
    /// Freeze the public boards this many days before the last phase ends (0: never).
    freeze_days: Option<u32>,
}

/// Changes a contest's settings; answers the contest as changed (organizers).
#[utoipa::path(
    patch,
    path = "/contests/{contest}",
    tag = "contests",
    params(doc::params::ContestPath),
    request_body = SettingsPatch,
    responses(
        (status = 200, description = "The contest, changed.", body = doc::Contest),
        (status = 400, description = "A limit of 0, or `rubric_weight` outside 0–1.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not an organizer.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<SettingsPatch>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Organizer])?;
    let c = load(&state, &name).await?;
    if [body.daily_submissions, body.total_submissions, body.final_selections, body.finalists].contains(&Some(0)) {
        return Err(ApiError::bad_request("limits are at least 1"));
    }
    if body.rubric_weight.is_some_and(|w| !(0.0..=1.0).contains(&w)) {
        return Err(ApiError::bad_request("rubric_weight is between 0 and 1"));
    }
    if body.freeze_days.is_some_and(|d| d > 366) {
        return Err(ApiError::bad_request("freeze_days is between 0 (no freeze) and 366"));
    }
    let change = db::contests::SettingsChange {
        ladder: body.ladder,
        daily: body.daily_submissions.map(i64::from),
        total: body.total_submissions.map(i64::from),
        final_selections: body.final_selections.map(i64::from),
        rubric_weight: body.rubric_weight,
        finalists: body.finalists.map(i64::from),
        freeze_days: body.freeze_days.map(i64::from),
    };
    let detail = json!({
        "ladder": body.ladder, "daily_submissions": body.daily_submissions,
        "total_submissions": body.total_submissions, "final_selections": body.final_selections,
        "rubric_weight": body.rubric_weight, "finalists": body.finalists, "freeze_days": body.freeze_days,
    });
    let event = Event {
        at: state.now_text(),
        actor: caller.actor(),
        action: "contest.settings".into(),
        subject: format!("contest:{name}"),
        detail: detail.to_string(),
    };
    db::contests::update_settings(&state.pool, c.id, &change, event).await?;
    state.invalidate(c.id);
    show(State(state), Path(name)).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseTimes {
    /// RFC 3339 with an offset, e.g. `2024-09-02T10:00:00+08:00`.
    #[schema(format = DateTime)]
    starts_at: String,
    /// RFC 3339 with an offset; after `starts_at`.
    #[schema(format = DateTime)]
    ends_at: String,
}

/// Moves a phase's start and end (organizers); phases stay in order without overlapping.
#[utoipa::path(
    put,
    path = "/contests/{contest}/phases/{phase}",
    tag = "contests",
    params(doc::params::PhasePath),
    request_body = PhaseTimes,
    responses(
        (status = 200, description = "Every phase, changed.", body = doc::PhaseList),
        (status = 400, description = "Times that do not parse, end before they start, or overlap a neighbouring phase.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not an organizer.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 409, description = "The final selections are committed: the phases are fixed (`selections_committed`).", body = ErrorBody),
    )
)]
pub async fn set_phase(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, phase)): Path<(String, String)>,
    JsonBody(body): JsonBody<PhaseTimes>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Organizer])?;
    let c = load(&state, &name).await?;
    let (Some(start), Some(end)) = (time::parse(&body.starts_at), time::parse(&body.ends_at)) else {
        return Err(ApiError::bad_request("starts_at and ends_at are RFC 3339 times, e.g. 2024-09-02T10:00:00+08:00"));
    };
    if start >= end {
        return Err(ApiError::bad_request("a phase ends after it starts"));
    }
    let (start, end) = (time::text(start), time::text(end));
    let all = phases(&state, c.id).await?;
    let Some(i) = all.iter().position(|p| p.name == phase) else { return Err(ApiError::not_found()) };
    if i + 1 == all.len()
        && let Some(cm) = committed(&state, &c).await?
    {
        return Err(ApiError::conflict(format!(
            "the last phase closed at {} and the final selections were committed (sha256 {}); its times can no longer change",
            cm.closed_at, cm.sha256
        ))
        .code(ErrorCode::SelectionsCommitted));
    }
    if i > 0 && all[i - 1].ends_at > start {
        return Err(ApiError::bad_request(format!(
            "phase `{}` before it ends at {}",
            all[i - 1].name,
            all[i - 1].ends_at
        )));
    }
    if let Some(next) = all.get(i + 1)
        && next.starts_at < end
    {
        return Err(ApiError::bad_request(format!("phase `{}` after it starts at {}", next.name, next.starts_at)));
    }
    let mut tx = crate::db::begin(&state.pool).await?;
    db::contests::set_phase_times(&mut tx, c.id, &phase, &start, &end).await?;
    let detail = json!({"phase": phase, "starts_at": start, "ends_at": end,
        "was": {"starts_at": all[i].starts_at, "ends_at": all[i].ends_at}});
    audit_event(&state, &mut tx, caller.actor(), "phase.update", format!("contest:{name}"), detail).await?;
    tx.commit().await?;
    state.invalidate(c.id);
    Ok(Json(json!({"phases": phases(&state, c.id).await?})))
}

/// Makes the private board public; only after the last phase has ended and its final
/// selections were committed. Rebuilds the committed selections from their rows and checks
/// them against the published hash (refusing to reveal if they differ), records a snapshot of
/// each private board (its SHA-256) and the checked hash in the audit log, and issues every
/// scored submission a receipt that now carries its private score too.
#[utoipa::path(
    post,
    path = "/contests/{contest}/reveal",
    tag = "contests",
    params(doc::params::ContestPath),
    responses(
        (status = 200, description = "Revealed.", body = doc::Reveal),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not an organizer.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 409, description = "The last phase has not ended, or the board is revealed already.", body = ErrorBody),
    )
)]
pub async fn reveal(State(state): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Organizer])?;
    let c = load(&state, &name).await?;
    let all = phases(&state, c.id).await?;
    let now = state.now_text();
    if let Some(last) = all.last()
        && now < last.ends_at
    {
        return Err(ApiError::conflict(format!(
            "the private board can be revealed after the contest ends ({})",
            last.ends_at
        )));
    }
    let s = settings_of(&state, c.id).await?;
    if let Some(at) = s.revealed_at {
        return Err(ApiError::conflict(format!("already revealed at {at}")));
    }
    let Some(commitment) = commit_if_closed(&state, &c, true).await? else {
        return Err(ApiError::conflict(
            "submissions of the last phase are still being scored; the final selections are committed, and the board can be revealed, once they are",
        )
        .code(ErrorCode::ScoringUnfinished));
    };
    let mut snapshots = Vec::new();
    for p in &all {
        let csv = super::boards::render_csv(&state, &c, &p.name, true).await?;
        snapshots.push(json!({"phase": p.name, "board": "private", "sha256": crate::auth::digest_bytes(&csv)}));
    }
    state.private_files(&c).await.map_err(|e| ApiError::internal(&e))?;
    let loaded = c.clone();
    let key = tokio::task::spawn_blocking(move || loaded.signing_key())
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    let selections = json!({"sha256": commitment.sha256, "commitment_seq": commitment.audit_seq});
    let event = |checked: &Commitment| {
        Event {
        at: now.clone(),
        actor: caller.actor(),
        action: "board.reveal".into(),
        subject: format!("contest:{name}"),
        detail: json!({"snapshots": snapshots, "selections": {"sha256": checked.sha256, "commitment_seq": checked.audit_seq}})
            .to_string(),
    }
    };
    let issue = |head: &crate::audit::Entry, row: &db::receipts::ScoredRow| {
        let key = key.as_ref()?;
        let scores: Value = row.scores.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null);
        let has_boards = scores.as_array().is_some_and(|list| {
            list.iter().any(|s| s["subset"].as_str().is_some_and(|n| n.starts_with("a_") || n.starts_with("b_")))
        });
        let (public, private) = c.subset_names(&row.board, has_boards);
        let withheld = s.ladder && !row.released;
        let scores = crate::receipt::shown((&public, row.public), (&private, row.private), withheld, true);
        let what = Attested { submission: row.id, team: &row.team, phase: &row.phase, sha256: &row.sha256, scores };
        String::from_utf8(crate::receipt::sign(&c.receipt(what, &now, head), key)).ok()
    };
    let (seq, receipts) = match db::contests::reveal(&state.pool, c.id, &c.name, &now, event, issue).await? {
        db::contests::Revealed::Done { seq, receipts } => (seq, receipts),
        db::contests::Revealed::Already => return Err(ApiError::conflict("already revealed")),
        db::contests::Revealed::NotCommitted => {
            return Err(ApiError::internal(&format!("contest {name}: no committed final selections at the reveal")));
        }
        db::contests::Revealed::SelectionsChanged { published, found } => {
            tracing::error!(
                "contest {name}: the committed final selections hash to {found}, not the published {published}"
            );
            return Err(ApiError::conflict(format!(
                "the committed final selections no longer match their published hash {published} (they hash to {found}); nothing was revealed"
            ))
            .code(ErrorCode::SelectionsChanged));
        }
    };
    state.invalidate(c.id);
    let mut selections = selections;
    selections["verified_seq"] = json!(seq);
    Ok(Json(json!({"revealed_at": now, "snapshots": snapshots, "receipts": receipts, "selections": selections})))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries about this subject, e.g. `submission:12`.
    subject: Option<String>,
    /// Entries after this sequence number.
    #[serde(default, deserialize_with = "super::whole::option")]
    after: Option<i64>,
    /// At most this many entries (1–5000, default 500).
    #[serde(default, deserialize_with = "super::whole::option")]
    limit: Option<i64>,
}

/// The audit log (judges and organizers): a page of entries and the chain's verification.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "contests",
    params(AuditQuery),
    responses(
        (status = 200, description = "The entries asked for and the chain's verification (see `Verification`: the whole chain at most `verified_at` ago, the entries appended since on every call).", body = doc::AuditLog),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a judge or organizer.", body = ErrorBody),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Organizer, Role::Judge])?;
    let verification = verification(&state).await?;
    let limit = q.limit.unwrap_or(500).clamp(1, 5000);
    let entries = db::audit_log::page(&state.pool, q.after.unwrap_or(0), q.subject.as_deref(), limit).await?;
    Ok(Json(json!({"verification": verification, "entries": entries})))
}

/// The chain's verification without reading the whole log on every call: the entries appended
/// since the last check are checked against the last entry checked (which must still be there,
/// unchanged), and the whole chain is verified again from its first entry when the last such
/// verification is `Config::audit_reverify` old (or the log was broken). So an edit of an
/// older entry shows at the next whole verification, at most that long after.
async fn verification(state: &AppState) -> ApiResult<Value> {
    let mut known = state.audit_verified.lock().await;
    let now = state.now();
    let window =
        chrono::Duration::from_std(state.config.audit_reverify).unwrap_or_else(|_| chrono::Duration::days(365));
    let checked = match known.as_ref().filter(|k| now - k.whole_at < window) {
        Some(k) => since(state, k).await?,
        None => None,
    };
    let outcome = if let Some(extended) = checked {
        Ok(extended)
    } else {
        let all = db::entries(&state.pool).await?;
        crate::audit::verify(&all).map(|()| crate::state::AuditVerified {
            seq: all.last().map_or(0, |e| e.seq),
            hash: all.last().map_or_else(|| crate::audit::GENESIS.to_owned(), |e| e.hash.clone()),
            whole_at: now,
        })
    };
    Ok(match outcome {
        Ok(v) => {
            let body = json!({"intact": true, "entries": v.seq, "head": (v.seq > 0).then(|| v.hash.clone()),
                "verified_at": time::text(v.whole_at)});
            *known = Some(v);
            body
        }
        Err(b) => {
            *known = None;
            let entries = db::audit_log::count(&state.pool).await?;
            json!({"intact": false, "entries": entries, "broken": b.to_string(), "verified_at": time::text(now)})
        }
    })
}

/// The chain verified up to `k` extended by the entries appended since; `None` when `k`'s last
/// entry is gone or changed, or what follows does not chain on (a whole verification says
/// where).
async fn since(state: &AppState, k: &crate::state::AuditVerified) -> ApiResult<Option<crate::state::AuditVerified>> {
    let tail = db::audit_log::from(&state.pool, k.seq.max(1)).await?;
    let rest = if k.seq == 0 {
        &tail[..]
    } else {
        match tail.split_first() {
            Some((head, rest))
                if head.seq == k.seq
                    && head.hash == k.hash
                    && crate::audit::hash(head.seq, &head.event, &head.prev_hash) == head.hash =>
            {
                rest
            }
            _ => return Ok(None),
        }
    };
    if crate::audit::verify_after(k.seq, &k.hash, rest).is_err() {
        return Ok(None);
    }
    Ok(Some(match rest.last() {
        Some(last) => crate::state::AuditVerified { seq: last.seq, hash: last.hash.clone(), whole_at: k.whole_at },
        None => k.clone(),
    }))
}
