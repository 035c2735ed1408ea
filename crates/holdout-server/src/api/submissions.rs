//! Submissions: upload (stored by SHA-256, checked by the shared validator, queued), the
//! team's own list, files and signed receipts, quotas, final selections, and the judges' rescore,
//! disqualification and paired comparison.

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use holdout_score::i18n::Lang as I18nLang;
use holdout_score::problem::{Invalid, Problem};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::contests::{Phase, load, open_phase, phases, settings_of};
use super::{Caller, JsonBody, Lang, Path, Query, Role, User, doc};
use crate::audit::Event;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use crate::state::{AppState, Contest};
use crate::store::Incoming;
use crate::time;

/// Longest description accepted.
const MAX_DESCRIPTION: usize = 1000;

use crate::db::submissions::{Inserted, Shown};

/// The caller's team in a contest, required for competitors.
async fn own_team(state: &AppState, contest: i64, user: &User) -> ApiResult<(i64, String)> {
    super::accounts::team_of(state, contest, user.id)
        .await?
        .ok_or_else(|| ApiError::forbidden("join or create a team in this contest first").code(ErrorCode::NoTeam))
}

/// Submissions charged today and in total.
async fn used(state: &AppState, team: i64, now: chrono::DateTime<chrono::Utc>) -> ApiResult<(i64, i64)> {
    let since = time::text(time::day_start(now));
    let mut conn = state.pool.acquire().await?;
    Ok(db::submissions::used(&mut conn, team, &since).await?)
}

fn quota_json(
    daily: i64,
    total: i64,
    today: i64,
    all: i64,
    now: chrono::DateTime<chrono::Utc>,
    open: Option<&Phase>,
) -> Value {
    json!({
        "daily_limit": daily,
        "used_today": today,
        "remaining_today": (daily - today).max(0).min((total - all).max(0)),
        "total_limit": total,
        "used_total": all,
        "remaining_total": (total - all).max(0),
        "next_reset_at": time::text(time::next_reset(now)),
        "open_phase": open.map(|p| &p.name),
    })
}

/// The caller's team's quota (competitors with a team).
#[utoipa::path(
    get,
    path = "/contests/{contest}/quota",
    tag = "submissions",
    params(doc::params::ContestPath),
    responses(
        (status = 200, description = "The quota.", body = doc::Quota),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a competitor, or without a team (`no_team`).", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn quota(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
) -> ApiResult<Json<Value>> {
    let u = caller.require(&[Role::Competitor])?.clone();
    let c = load(&state, &contest).await?;
    let (team, _) = own_team(&state, c.id, &u).await?;
    let s = settings_of(&state, c.id).await?;
    let now = state.now();
    let (today, all) = used(&state, team, now).await?;
    let phases = phases(&state, c.id).await?;
    Ok(Json(quota_json(s.daily, s.total, today, all, now, open_phase(&phases, &time::text(now)))))
}

fn too_many(message: String) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::QuotaExhausted, message)
}

/// Checks the quota; the error names the limit and the next reset.
fn check_quota(daily: i64, total: i64, today: i64, all: i64, now: chrono::DateTime<chrono::Utc>) -> ApiResult<()> {
    if all >= total {
        return Err(too_many(format!("the team has used all {total} submissions of the contest")));
    }
    if today >= daily {
        return Err(too_many(format!(
            "the team has used its {daily} submissions for today; the quota resets at {} (00:00 Asia/Shanghai)",
            time::text(time::next_reset(now))
        )));
    }
    Ok(())
}

/// One problem of a refused submission in the API: its code and parameters as the validator
/// reported them, how many rows, the first places, and the sentence in the asked language
/// (the same details either way: lines, ids, counts, the expected header).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemView {
    /// A [`holdout_score::problem::Kind`]'s code (`duplicate_id`, `missing_column` …).
    #[schema(schema_with = problem_code)]
    pub code: &'static str,
    /// The code's parameters (`{"column": "label"}`; `{}` when it has none).
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, Value>,
    /// Rows with the problem (for `missing_predictions`: test ids without one); 1 for the
    /// whole file or its header.
    pub count: u64,
    /// The first places, at most 3, in file order.
    pub examples: Vec<ExampleView>,
    /// The whole problem as one sentence with its count and examples.
    pub message: String,
}

/// Where a problem occurred: a [`holdout_score::problem::Example`]'s code, its parameters
/// (`line`, `id` …) and the place in words.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExampleView {
    /// A [`holdout_score::problem::Example`]'s code (`line`, `id` …).
    #[schema(schema_with = example_code)]
    pub code: &'static str,
    /// The place (`{"line": 7}`).
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, Value>,
    /// The place in words, in the asked language.
    pub message: String,
}

/// The committed final selections with the calling team's own.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamCommitment {
    #[serde(flatten)]
    #[schema(inline)]
    pub commitment: super::contests::SelectionCommitment,
    /// The team's committed submissions (empty when it has none), ascending.
    pub submission_ids: Vec<i64>,
    /// Whether the team selected them (else its best public submission is its default).
    pub chosen: bool,
}

/// `ProblemView::code`'s schema: every code the validator can report, from its catalogue.
fn problem_code() -> utoipa::openapi::schema::Object {
    code_enum(
        holdout_score::problem::problem_codes(),
        "A problem's code: every code the validator can report (holdout-score's `problem` catalogue).",
    )
}

/// `ExampleView::code`'s schema: every kind of place the validator can name.
fn example_code() -> utoipa::openapi::schema::Object {
    code_enum(
        holdout_score::problem::example_codes(),
        "A place's code: every kind of place the validator can name (holdout-score's `example` catalogue).",
    )
}

fn code_enum(codes: Vec<&'static str>, description: &str) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(codes))
        .description(Some(description))
        .build()
}

/// A tagged value's fields other than `code`.
fn params<T: Serialize>(tagged: &T) -> serde_json::Map<String, Value> {
    match serde_json::to_value(tagged) {
        Ok(Value::Object(mut m)) => {
            m.remove("code");
            m
        }
        _ => serde_json::Map::new(),
    }
}

/// Problems as the API shows them, in `lang`.
pub fn problem_views(problems: &[Problem], lang: I18nLang) -> Vec<ProblemView> {
    problems
        .iter()
        .map(|p| ProblemView {
            code: p.kind.code(),
            params: params(&p.kind),
            count: p.count,
            examples: p
                .examples
                .iter()
                .map(|e| ExampleView { code: e.code(), params: params(e), message: e.render(lang) })
                .collect(),
            message: p.render(lang),
        })
        .collect()
}

/// A row's message in `lang` and its problems: rendered from the stored problems when there
/// are some; a row refused before problems were stored, or one that failed, has its English
/// message only.
fn message_of(r: &Shown, lang: I18nLang) -> (String, Vec<ProblemView>) {
    match r.problems.as_deref().and_then(|s| serde_json::from_str::<Vec<Problem>>(s).ok()) {
        Some(problems) => {
            let message = problems.iter().map(|p| p.render(lang)).collect::<Vec<_>>().join("\n");
            (message, problem_views(&problems, lang))
        }
        None => (r.message.clone(), Vec::new()),
    }
}

/// One submission as `caller` may see it, its messages in `lang`.
fn view(r: &Shown, staff: bool, revealed: bool, ladder: bool, lang: I18nLang) -> Value {
    let released = r.released;
    let hide_public = ladder && !released && !staff;
    let show_private = staff || revealed;
    let scores: Value = r.scores.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or(Value::Null);
    // Before the reveal a competitor sees only the public subsets' scores: `all` and the private
    // subsets include hidden rows.
    let scores = match scores {
        Value::Array(list) if !show_private => Value::Array(
            list.into_iter()
                .filter(|s| s["subset"].as_str().is_some_and(|n| n.ends_with("public")) && !hide_public)
                .collect(),
        ),
        other => other,
    };
    let ci = |lo: Option<f64>, hi: Option<f64>| match (lo, hi) {
        (Some(a), Some(b)) => json!([a, b]),
        _ => Value::Null,
    };
    let (message, problems) = message_of(r, lang);
    let mut v = json!({
        "id": r.id,
        "team_id": r.team_id,
        "team": r.team,
        "user": r.user_name,
        "phase": r.phase,
        "sha256": r.sha256,
        "bytes": r.bytes,
        "description": r.description,
        "status": r.status,
        "message": message,
        "problems": problems,
        "created_at": r.created_at,
        "scored_at": r.scored_at,
        "public_score": if hide_public { Value::Null } else { json!(r.public_score) },
        "public_ci": if hide_public { Value::Null } else { ci(r.public_low, r.public_high) },
        "released": released,
        "selected": r.selected,
        "disqualified_reason": r.disqualified_reason,
        "scores": scores,
    });
    if show_private {
        v["private_score"] = json!(r.private_score);
        v["private_ci"] = ci(r.private_low, r.private_high);
    }
    if hide_public {
        v["ladder_note"] = json!("not released: it did not beat the team's best public score by the Ladder's step");
    }
    v
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Staff only: one team's (by id).
    #[serde(default, deserialize_with = "super::whole::option")]
    team: Option<i64>,
    /// Only this phase's.
    phase: Option<String>,
}

/// Submissions: a competitor's team's, or for staff every team's (optionally one team's).
#[utoipa::path(
    get,
    path = "/contests/{contest}/submissions",
    tag = "submissions",
    operation_id = "list_submissions",
    params(doc::params::ContestPath, ListQuery),
    responses(
        (status = 200, description = "The submissions, oldest first.", body = doc::SubmissionList),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "A competitor without a team (`no_team`).", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Lang(lang): Lang,
    Path(contest): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let u = caller.user()?.clone();
    let c = load(&state, &contest).await?;
    let s = settings_of(&state, c.id).await?;
    let team = if u.role.staff() { q.team } else { Some(own_team(&state, c.id, &u).await?.0) };
    let rows = db::submissions::list(&state.pool, c.id, team, q.phase.as_deref()).await?;
    let list: Vec<Value> =
        rows.iter().map(|r| view(r, u.role.staff(), s.revealed_at.is_some(), s.ladder, lang)).collect();
    Ok(Json(json!({"submissions": list})))
}

/// A submission the caller may see, or 404.
async fn visible(state: &AppState, caller: &Caller, c: &Contest, id: i64) -> ApiResult<Shown> {
    let u = caller.user()?;
    let row = db::submissions::in_contest(&state.pool, c.id, id).await?.ok_or_else(ApiError::not_found)?;
    if !u.role.staff() {
        let team = super::accounts::team_of(state, c.id, u.id).await?.map(|t| t.0);
        if team != Some(row.team_id) {
            return Err(ApiError::not_found());
        }
    }
    Ok(row)
}

/// One submission (its team and staff).
#[utoipa::path(
    get,
    path = "/contests/{contest}/submissions/{id}",
    tag = "submissions",
    operation_id = "show_submission",
    params(doc::params::SubmissionPath),
    responses(
        (status = 200, description = "The submission.", body = doc::Submission),
        (status = 401, response = doc::Unauthorized),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Lang(lang): Lang,
    Path((contest, id)): Path<(String, i64)>,
) -> ApiResult<Json<Value>> {
    let c = load(&state, &contest).await?;
    let row = visible(&state, &caller, &c, id).await?;
    let s = settings_of(&state, c.id).await?;
    Ok(Json(view(&row, caller.staff(), s.revealed_at.is_some(), s.ladder, lang)))
}

/// The submitted file (its team and staff).
#[utoipa::path(
    get,
    path = "/contests/{contest}/submissions/{id}/file",
    tag = "submissions",
    operation_id = "submission_file",
    params(doc::params::SubmissionPath),
    responses(
        (status = 200, description = "The file, as an attachment.", content_type = "text/csv; charset=utf-8", body = String),
        (status = 401, response = doc::Unauthorized),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path((contest, id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    let c = load(&state, &contest).await?;
    let row = visible(&state, &caller, &c, id).await?;
    let sha = row.sha256;
    let path = crate::store::local(&state.pool, &state.dir, &sha).await.map_err(|e| ApiError::internal(&e))?;
    super::attachment(&path, "text/csv; charset=utf-8", &format!("submission-{id}.csv")).await
}

/// The submission's newest signed receipt (`holdout-receipt/1`), byte for byte as issued: for
/// the submitting team and staff, like the submission itself.
#[utoipa::path(
    get,
    path = "/contests/{contest}/submissions/{id}/receipt",
    tag = "submissions",
    params(doc::params::SubmissionPath),
    responses(
        (status = 200, description = "The receipt file, as an attachment.", body = crate::receipt::Signed),
        (status = 401, response = doc::Unauthorized),
        (status = 404, description = "No such submission, one the caller may not see, or one without a receipt yet (`no_receipt`).", body = ErrorBody),
    )
)]
pub async fn receipt(
    State(state): State<AppState>,
    caller: Caller,
    Path((contest, id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    let c = load(&state, &contest).await?;
    visible(&state, &caller, &c, id).await?;
    let body = db::receipts::latest(&state.pool, id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NoReceipt,
            format!("submission {id} has no receipt: receipts are issued when a submission is scored"),
        )
    })?;
    let disposition = format!("attachment; filename=\"receipt-{}-{id}.json\"", c.name);
    Ok((
        [
            (header::CONTENT_TYPE, header::HeaderValue::from_static("application/json")),
            (
                header::CONTENT_DISPOSITION,
                header::HeaderValue::from_str(&disposition).map_err(|e| ApiError::internal(&e))?,
            ),
        ],
        body,
    )
        .into_response())
}

/// Receives the multipart body: the file into the store (at most `limit` bytes) and the
/// description.
async fn receive(state: &AppState, mut multipart: Multipart, limit: u64) -> ApiResult<(String, u64, String)> {
    let malformed =
        |e: axum::extract::multipart::MultipartError| ApiError::bad_request(format!("malformed upload: {e}"));
    let mut description = String::new();
    let mut stored = None;
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("description") => {
                description = field.text().await.map_err(malformed)?;
                if description.chars().count() > MAX_DESCRIPTION {
                    return Err(ApiError::bad_request(format!(
                        "the description is longer than {MAX_DESCRIPTION} characters"
                    )));
                }
            }
            Some("file") if stored.is_none() => {
                let incoming = Incoming::create(&state.dir)?;
                stored = Some(receive_file(state, field, incoming, limit).await?);
            }
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "unexpected form field `{other}`: send `file` and `description`"
                )));
            }
            None => return Err(ApiError::bad_request("a form field without a name")),
        }
    }
    let (sha, bytes) = stored.ok_or_else(|| ApiError::bad_request("the upload has no `file` field"))?;
    Ok((sha, bytes, description.trim().to_owned()))
}

/// Streams the file field into the store. Chunks gather in memory up to 1 MiB; the disk
/// writes run off the async threads. A partial file is removed on any error.
async fn receive_file(
    state: &AppState,
    mut field: axum::extract::multipart::Field<'_>,
    mut incoming: Incoming,
    limit: u64,
) -> ApiResult<(String, u64)> {
    const FLUSH: usize = 1 << 20;
    let mut buffer: Vec<u8> = Vec::with_capacity(FLUSH);
    let mut received = 0u64;
    loop {
        let chunk = match field.chunk().await {
            Ok(c) => c,
            Err(e) => {
                incoming.discard();
                return Err(ApiError::bad_request(format!("malformed upload: {e}")));
            }
        };
        if let Some(c) = &chunk {
            received += c.len() as u64;
            if received > limit {
                incoming.discard();
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::TooLarge,
                    format!("the file is larger than the contest's limit of {limit} bytes"),
                ));
            }
            buffer.extend_from_slice(c);
        }
        if buffer.len() >= FLUSH || (chunk.is_none() && !buffer.is_empty()) {
            let full = std::mem::replace(&mut buffer, Vec::with_capacity(FLUSH));
            incoming = incoming.append(full).await?;
        }
        if chunk.is_none() {
            break;
        }
    }
    let dir = state.dir.clone();
    let (sha, bytes) =
        tokio::task::spawn_blocking(move || incoming.finish(&dir)).await.map_err(|e| ApiError::internal(&e))??;
    if let Err(e) = crate::store::publish(&state.pool, &state.dir, &sha).await {
        forget(state, &sha).await;
        return Err(ApiError::internal(&e));
    }
    Ok((sha, bytes))
}

/// The shared validator on a stored file, against the public test ids (the solution is the
/// scorer's alone): `Err` holds the file's problems.
async fn validate(state: &AppState, c: &std::sync::Arc<Contest>, sha: &str) -> ApiResult<Result<(), Invalid>> {
    state.public_file(c, "test.csv").await.map_err(|e| ApiError::internal(&e))?;
    let (contest, path) = (c.clone(), crate::store::path(&state.dir, sha));
    tokio::task::spawn_blocking(move || -> Result<Result<(), Invalid>, String> {
        let ids = contest.public_ids()?;
        let file = std::fs::File::open(&path).map_err(|e| format!("cannot read the stored file: {e}"))?;
        let parsed = holdout_score::submission::parse(
            std::io::BufReader::with_capacity(1 << 16, file),
            contest.format,
            &contest.labels,
            contest.max_bytes,
        );
        Ok(parsed.and_then(|p| p.check(&ids)).map(|_| ()))
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| ApiError::internal(&e))
}

/// The open phase, or why nothing can be submitted now.
fn open_or_refuse(phases: &[Phase], now: chrono::DateTime<chrono::Utc>) -> ApiResult<Phase> {
    let now = time::text(now);
    if let Some(p) = open_phase(phases, &now) {
        return Ok(p.clone());
    }
    let message = match phases.iter().find(|p| p.starts_at > now) {
        Some(p) => format!("no phase is open; `{}` opens at {}", p.name, p.starts_at),
        None => "the contest has ended; no more submissions".to_owned(),
    };
    Err(ApiError::new(StatusCode::FORBIDDEN, ErrorCode::PhaseClosed, message))
}

/// Uploads a submission (competitors with a team, while a phase is open): stored, checked by
/// the shared validator and queued; an invalid file is recorded and not charged.
#[utoipa::path(
    post,
    path = "/contests/{contest}/submissions",
    tag = "submissions",
    operation_id = "upload",
    params(doc::params::ContestPath),
    request_body(content = doc::UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Valid and queued for scoring.", body = doc::UploadResult),
        (status = 400, description = "A malformed form, an unexpected field, no `file`, or a description over 1000 characters.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a competitor, without a team (`no_team`), a disqualified team, or no phase open (`phase_closed`).", body = ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 409, description = "The team submitted this file before (`duplicate_file`; not charged again).", body = ErrorBody),
        (status = 413, description = "The file is larger than the contest's `max_file_bytes` (`too_large`).", body = ErrorBody),
        (status = 415, description = "Not `multipart/form-data` (`unsupported_media_type`).", body = ErrorBody),
        (status = 422, description = "The file is invalid: recorded with `status` `invalid` and the validator's message; not charged.", body = doc::UploadResult),
        (status = 429, description = "The team's daily or total submissions are used up (`quota_exhausted`).", body = ErrorBody),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Lang(lang): Lang,
    Path(contest): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    let u = caller.require(&[Role::Competitor])?.clone();
    let c = load(&state, &contest).await?;
    let (team, team_name) = own_team(&state, c.id, &u).await?;
    let multipart_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "upload the file as multipart/form-data with fields `file` and `description`",
        ));
    }
    let multipart = multipart.map_err(|e| ApiError::bad_request(format!("malformed upload: {e}")))?;
    if let Some(reason) = db::accounts::team_disqualified(&state.pool, team).await? {
        return Err(ApiError::forbidden(format!("the team is disqualified: {reason}")));
    }
    let s = settings_of(&state, c.id).await?;
    let now = state.now();
    let phase = open_or_refuse(&phases(&state, c.id).await?, now)?;
    let (today, all) = used(&state, team, now).await?;
    check_quota(s.daily, s.total, today, all, now)?;

    let (sha, bytes, description) = receive(&state, multipart, s.max_upload_bytes as u64).await?;
    let upload = Upload { contest: &c, user: &u, team, team_name: &team_name, phase: &phase, now, lang };
    let result = record_upload(&state, &upload, &sha, bytes, &description).await;
    if result.is_err() {
        forget(&state, &sha).await;
    }
    result
}

/// Removes a stored file that no submission refers to (an upload refused after it was stored).
async fn forget(state: &AppState, sha: &str) {
    let path = crate::store::path(&state.dir, sha);
    let remove = async || {
        let _ = tokio::fs::remove_file(&path).await;
    };
    if let Err(e) = db::submissions::forget_unused(&state.pool, sha, remove).await {
        tracing::warn!("cannot check whether stored file {sha} is used: {e}");
    }
}

/// Who uploads what, where.
struct Upload<'a> {
    contest: &'a std::sync::Arc<Contest>,
    user: &'a User,
    team: i64,
    team_name: &'a str,
    phase: &'a Phase,
    now: chrono::DateTime<chrono::Utc>,
    /// The language of the answer's messages.
    lang: I18nLang,
}

/// Validates a stored upload and records it, queued or invalid, within the quota.
async fn record_upload(
    state: &AppState,
    up: &Upload<'_>,
    sha: &str,
    bytes: u64,
    description: &str,
) -> ApiResult<Response> {
    let (c, team, now) = (up.contest, up.team, up.now);
    let s = settings_of(state, c.id).await?;
    let verdict = validate(state, c, sha).await?;
    let status = if verdict.is_ok() { "queued" } else { "invalid" };
    let message = verdict.as_ref().err().map(ToString::to_string).unwrap_or_default();
    let problems = verdict.as_ref().err().map(|e| &e.problems);
    let problems_json = problems.map(serde_json::to_string).transpose().map_err(|e| ApiError::internal(&e))?;
    let created_at = time::text(now);
    let since = time::text(time::day_start(now));
    let row = db::submissions::NewUpload {
        contest: c.id,
        team,
        user: Some(up.user.id),
        phase: &up.phase.name,
        sha256: sha,
        bytes: bytes as i64,
        description,
        status,
        message: &message,
        problems: problems_json.as_deref(),
        created_at: &created_at,
    };
    let quota = db::submissions::Quota { daily: s.daily, total: s.total, since: &since };
    let event = |id| Event {
        at: state.now_text(),
        actor: format!("user:{}", up.user.name),
        action: "submission.upload".into(),
        subject: format!("submission:{id}"),
        detail: json!({"contest": c.name, "team": up.team_name, "phase": up.phase.name, "sha256": sha,
            "bytes": bytes, "status": status, "message": message, "problems": problems})
        .to_string(),
    };
    let id = match db::submissions::insert_upload(&state.pool, &row, quota, event).await? {
        Inserted::Id(id) => id,
        Inserted::Duplicate(id) => {
            return Err(ApiError::conflict(format!(
                "this file was already submitted as submission {id}; it was not charged again"
            ))
            .code(ErrorCode::DuplicateFile));
        }
        Inserted::OverQuota { today, all } => {
            check_quota(s.daily, s.total, today, all, now)?;
            return Err(too_many("the team has used its submissions".into()));
        }
    };
    if status == "queued" {
        state.queued();
    }
    let row = db::submissions::shown(&state.pool, id).await?;
    let mut body = view(&row, false, s.revealed_at.is_some(), s.ladder, up.lang);
    let (today, all) = used(state, team, now).await?;
    body["quota"] = quota_json(s.daily, s.total, today, all, now, Some(up.phase));
    let code = if status == "queued" { StatusCode::ACCEPTED } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((code, Json(body)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// 1–2000 characters after trimming.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    reason: String,
}

fn reason(r: &Reason) -> ApiResult<&str> {
    let t = r.reason.trim();
    if t.is_empty() || t.chars().count() > 2000 {
        return Err(ApiError::bad_request("give a reason (1–2000 characters)"));
    }
    Ok(t)
}

/// Queues a submission to be scored again (judges and organizers).
#[utoipa::path(
    post,
    path = "/contests/{contest}/submissions/{id}/rescore",
    tag = "submissions",
    params(doc::params::SubmissionPath),
    responses(
        (status = 202, description = "Queued.", body = doc::Requeued),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a judge or organizer.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 409, description = "Queued or being scored already.", body = ErrorBody),
    )
)]
pub async fn rescore(
    State(state): State<AppState>,
    caller: Caller,
    Path((contest, id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    caller.require(&[Role::Organizer, Role::Judge])?;
    let c = load(&state, &contest).await?;
    visible(&state, &caller, &c, id).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    if !db::submissions::requeue(&mut tx, id).await? {
        return Err(ApiError::conflict("the submission is queued or being scored already"));
    }
    super::contests::audit_event(
        &state,
        &mut tx,
        caller.actor(),
        "submission.rescore",
        format!("submission:{id}"),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    state.queued();
    Ok((StatusCode::ACCEPTED, Json(json!({"id": id, "status": "queued"}))).into_response())
}

async fn set_disqualified(
    state: &AppState,
    caller: &Caller,
    contest: &str,
    id: i64,
    disqualified: bool,
    body: &Reason,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Organizer, Role::Judge])?;
    let why = reason(body)?;
    let c = load(state, contest).await?;
    visible(state, caller, &c, id).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    db::submissions::set_disqualified(&mut tx, id, disqualified.then_some(why)).await?;
    let action = if disqualified { "submission.disqualify" } else { "submission.reinstate" };
    super::contests::audit_event(
        state,
        &mut tx,
        caller.actor(),
        action,
        format!("submission:{id}"),
        json!({"reason": why}),
    )
    .await?;
    tx.commit().await?;
    state.invalidate(c.id);
    Ok(Json(json!({"id": id, "disqualified": disqualified, "reason": why})))
}

/// Disqualifies a submission (judges and organizers).
#[utoipa::path(
    post,
    path = "/contests/{contest}/submissions/{id}/disqualify",
    tag = "submissions",
    params(doc::params::SubmissionPath),
    request_body = Reason,
    responses(
        (status = 200, description = "Disqualified.", body = doc::Verdict),
        (status = 400, description = "No reason, or one over 2000 characters.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a judge or organizer.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn disqualify(
    State(state): State<AppState>,
    caller: Caller,
    Path((contest, id)): Path<(String, i64)>,
    JsonBody(body): JsonBody<Reason>,
) -> ApiResult<Json<Value>> {
    set_disqualified(&state, &caller, &contest, id, true, &body).await
}

/// Reinstates a disqualified submission (judges and organizers).
#[utoipa::path(
    post,
    path = "/contests/{contest}/submissions/{id}/reinstate",
    tag = "submissions",
    params(doc::params::SubmissionPath),
    request_body = Reason,
    responses(
        (status = 200, description = "Reinstated.", body = doc::Verdict),
        (status = 400, description = "No reason, or one over 2000 characters.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a judge or organizer.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn reinstate(
    State(state): State<AppState>,
    caller: Caller,
    Path((contest, id)): Path<(String, i64)>,
    JsonBody(body): JsonBody<Reason>,
) -> ApiResult<Json<Value>> {
    set_disqualified(&state, &caller, &contest, id, false, &body).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamVerdict {
    /// 1–2000 characters after trimming.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    reason: String,
    /// `false` reinstates the team.
    disqualified: bool,
}

/// Disqualifies or reinstates a team (judges and organizers).
#[utoipa::path(
    post,
    path = "/contests/{contest}/teams/{team}/disqualify",
    tag = "teams",
    params(doc::params::TeamPath),
    request_body = TeamVerdict,
    responses(
        (status = 200, description = "Done.", body = doc::TeamVerdictResult),
        (status = 400, description = "No reason, or one over 2000 characters.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a judge or organizer.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn disqualify_team(
    State(state): State<AppState>,
    caller: Caller,
    Path((contest, team)): Path<(String, i64)>,
    JsonBody(body): JsonBody<TeamVerdict>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Organizer, Role::Judge])?;
    let why = reason(&Reason { reason: body.reason.clone() })?.to_owned();
    let c = load(&state, &contest).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    if !db::accounts::set_team_disqualified(&mut tx, c.id, team, body.disqualified.then_some(why.as_str())).await? {
        return Err(ApiError::not_found());
    }
    let action = if body.disqualified { "team.disqualify" } else { "team.reinstate" };
    super::contests::audit_event(
        &state,
        &mut tx,
        caller.actor(),
        action,
        format!("team:{team}"),
        json!({"reason": why}),
    )
    .await?;
    tx.commit().await?;
    state.invalidate(c.id);
    Ok(Json(json!({"team_id": team, "disqualified": body.disqualified, "reason": why})))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// A submission id.
    #[serde(deserialize_with = "super::whole::one")]
    a: i64,
    /// Another submission id.
    #[serde(deserialize_with = "super::whole::one")]
    b: i64,
}

/// Two submissions over the same bootstrap resamples (judges and organizers).
#[utoipa::path(
    get,
    path = "/contests/{contest}/compare",
    tag = "submissions",
    params(doc::params::ContestPath, CompareQuery),
    responses(
        (status = 200, description = "The paired comparison on every subset.", body = doc::Comparison),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a judge or organizer.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 409, description = "A file cannot be compared (e.g. an invalid one).", body = ErrorBody),
    )
)]
pub async fn compare(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
    Query(q): Query<CompareQuery>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Organizer, Role::Judge])?;
    let c = load(&state, &contest).await?;
    let (ra, rb) = (visible(&state, &caller, &c, q.a).await?, visible(&state, &caller, &c, q.b).await?);
    let (sa, sb) = (ra.sha256, rb.sha256);
    let seed = db::contests::bootstrap_seed(&state.pool, c.id).await?;
    state.private_files(&c).await.map_err(|e| ApiError::internal(&e))?;
    state.fetch_files(vec![sa.clone(), sb.clone()]).await.map_err(|e| ApiError::internal(&e))?;
    let (dir, replicates) = (state.dir.clone(), state.config.replicates);
    let result = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, String> {
        let solution = c.solution()?;
        let read = |sha: &str| -> Result<holdout_score::metrics::Predictions, String> {
            let file = std::fs::File::open(crate::store::path(&dir, sha)).map_err(|e| e.to_string())?;
            let parsed = holdout_score::submission::parse(std::io::BufReader::new(file), c.format, &c.labels, c.max_bytes)
                .map_err(|e| e.to_string())?;
            parsed.check(&solution.ids).map_err(|e| e.to_string())
        };
        let (pa, pb) = (read(&sa)?, read(&sb)?);
        let boot = holdout_score::evaluate::Bootstrap { replicates, seed: seed as u64, level: 0.95 };
        Ok(holdout_score::evaluate::compare(&solution, &pa, &pb, c.primary, boot)
            .into_iter()
            .map(|x| json!({"subset": x.subset.name, "rows": x.subset.rows, "a": x.a.value(), "b": x.b.value(), "probability_a_better": x.probability_a_better, "method": x.method.name()}))
            .collect())
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| ApiError::conflict(format!("cannot compare: {e}")))?;
    Ok(Json(json!({"a": q.a, "b": q.b, "replicates": replicates, "subsets": result})))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PhaseQuery {
    /// A phase name. Default: the open phase, else the last one started, else the first.
    phase: Option<String>,
}

async fn phase_named(state: &AppState, c: &Contest, name: Option<&str>) -> ApiResult<Phase> {
    let all = phases(state, c.id).await?;
    let now = state.now_text();
    match name {
        Some(n) => all.into_iter().find(|p| p.name == n).ok_or_else(ApiError::not_found),
        None => super::contests::board_phase(&all, &now).cloned().ok_or_else(ApiError::not_found),
    }
}

/// The caller's team's final selections in a phase (competitors with a team).
#[utoipa::path(
    get,
    path = "/contests/{contest}/selections",
    tag = "submissions",
    params(doc::params::ContestPath, PhaseQuery),
    responses(
        (status = 200, description = "The selections.", body = doc::Selections),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a competitor, or without a team (`no_team`).", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn selections(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
    Query(q): Query<PhaseQuery>,
) -> ApiResult<Json<Value>> {
    let u = caller.require(&[Role::Competitor])?.clone();
    let c = load(&state, &contest).await?;
    let (team, _) = own_team(&state, c.id, &u).await?;
    let phase = phase_named(&state, &c, q.phase.as_deref()).await?;
    let s = settings_of(&state, c.id).await?;
    let ids = db::selections::selected_ids(&state.pool, team, &phase.name).await?;
    let mut body = json!({
        "phase": phase.name, "submission_ids": ids, "limit": s.final_selections,
        "default": if ids.is_empty() { "none selected: the team's best public submission counts" } else { "the selected submissions count" },
        "committed": Value::Null,
    });
    if let Some(cm) = super::contests::committed(&state, &c).await?
        && cm.phase == phase.name
        && let Some(list) = db::selections::document(&state.pool, c.id, &c.name).await?
    {
        let mine = list.teams.iter().find(|t| t.team_id == team);
        let committed = TeamCommitment {
            commitment: super::contests::commitment_view(&c, &cm),
            submission_ids: mine.map(|t| t.submissions.iter().map(|s| s.id).collect()).unwrap_or_default(),
            chosen: mine.is_some_and(|t| t.chosen),
        };
        body["committed"] = serde_json::to_value(committed).map_err(|e| ApiError::internal(&e))?;
    }
    Ok(Json(body))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// The team's scored, not disqualified submissions of the phase; at most
    /// `final_selections` (repeats are dropped). An empty list clears the selection.
    #[serde(deserialize_with = "super::whole::list")]
    submission_ids: Vec<i64>,
    /// Default: the open phase, else the last one started, else the first.
    phase: Option<String>,
}

/// Replaces the caller's team's final selections in a phase, until the phase ends
/// (competitors with a team).
#[utoipa::path(
    put,
    path = "/contests/{contest}/selections",
    tag = "submissions",
    params(doc::params::ContestPath),
    request_body = Selection,
    responses(
        (status = 200, description = "The selections, replaced.", body = doc::SelectionsUpdated),
        (status = 400, description = "More than `final_selections`, or a submission that is not the team's, not in the phase, not scored, or disqualified.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a competitor, without a team (`no_team`), or the phase has ended.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 409, description = "The selections can no longer change (`selections_closed`, `selections_committed`).", body = ErrorBody),
    )
)]
pub async fn select(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
    JsonBody(body): JsonBody<Selection>,
) -> ApiResult<Json<Value>> {
    let u = caller.require(&[Role::Competitor])?.clone();
    let c = load(&state, &contest).await?;
    let (team, _) = own_team(&state, c.id, &u).await?;
    let phase = phase_named(&state, &c, body.phase.as_deref()).await?;
    if state.now_text() >= phase.ends_at {
        let last = phases(&state, c.id).await?.last().is_some_and(|p| p.name == phase.name);
        if !last {
            return Err(ApiError::forbidden(format!(
                "phase `{}` ended at {}; selections are final",
                phase.name, phase.ends_at
            ))
            .code(ErrorCode::SelectionsClosed));
        }
        let message = match super::contests::committed(&state, &c).await? {
            Some(cm) => format!(
                "the contest closed at {}; the final selections were committed at {} (sha256 {}) and can no longer change",
                cm.closed_at, cm.committed_at, cm.sha256
            ),
            None => format!(
                "the contest closed at {}; the final selections can no longer change (they are committed once its last submissions are scored, or at the reveal)",
                phase.ends_at
            ),
        };
        return Err(ApiError::conflict(message).code(ErrorCode::SelectionsCommitted));
    }
    let s = settings_of(&state, c.id).await?;
    let mut ids = body.submission_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() as i64 > s.final_selections {
        return Err(ApiError::bad_request(format!("select at most {} submissions", s.final_selections)));
    }
    let mut tx = crate::db::begin(&state.pool).await?;
    for id in &ids {
        let ok = db::selections::selectable_status(&mut tx, *id, team, &phase.name).await?;
        match ok.as_deref() {
            None => {
                return Err(ApiError::bad_request(format!(
                    "submission {id} is not one of your team's in phase `{}`",
                    phase.name
                )));
            }
            Some("scored") => {}
            Some(status) => {
                return Err(ApiError::bad_request(format!(
                    "submission {id} is {status}; only scored ones can be selected"
                )));
            }
        }
    }
    db::selections::set_selected(&mut tx, team, &phase.name, &ids).await?;
    super::contests::audit_event(
        &state,
        &mut tx,
        caller.actor(),
        "selection.update",
        format!("team:{team}"),
        json!({"phase": phase.name, "submission_ids": ids}),
    )
    .await?;
    tx.commit().await?;
    state.invalidate(c.id);
    Ok(Json(json!({"phase": phase.name, "submission_ids": ids, "limit": s.final_selections})))
}
