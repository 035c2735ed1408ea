//! The public and private boards of a phase, as JSON or CSV, computed by [`crate::board`] from
//! the scored submissions and cached until something changes them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::Role;
use super::contests::{audit_event, board_phase, committed, load, settings_of};
use super::{Caller, JsonBody, Path, Query, doc};
use crate::board::{self, Entry};
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use crate::state::{AppState, BoardKey, CachedBoard, Contest};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// A phase name. Default: the open phase, else the last one started, else the first.
    pub phase: Option<String>,
    /// `public` (default) or `private`.
    #[param(value_type = Option<doc::Board>)]
    pub board: Option<String>,
}

/// A phase's entries; with `until`, only those uploaded before it (the frozen view).
async fn entries(state: &AppState, contest: i64, phase: &str, until: Option<&str>) -> ApiResult<Vec<Entry>> {
    Ok(crate::db::boards::entries(&state.pool, contest, phase, until).await?)
}

/// The rows of a board; with `until`, of the submissions uploaded before it only (the frozen
/// public board). The private board of the phase whose final selections were committed is
/// computed from exactly those (committing them first if the last phase has just closed).
pub(super) async fn rows(
    state: &AppState,
    c: &Contest,
    phase: &str,
    private: bool,
    until: Option<&str>,
) -> ApiResult<(Vec<board::Row>, bool)> {
    let commitment = if private { committed(state, c).await? } else { None };
    let s = settings_of(state, c.id).await?;
    let e = entries(state, c.id, phase, until).await?;
    let greater = c.primary.greater_is_better();
    let rows = if private {
        let finals = match commitment {
            Some(cm) if cm.phase == phase => Some(crate::db::selections::committed_ids(&state.pool, c.id).await?),
            _ => None,
        };
        board::private_from(&e, greater, s.ladder, finals.as_ref())
    } else {
        board::public(&e, greater, s.ladder)
    };
    Ok((rows, s.ladder))
}

/// A cell as a spreadsheet will not run it: text starting with `=`, `+`, `-`, `@`, tab or
/// carriage return gets a leading `'` (OWASP's advice against CSV injection).
fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

/// A board as CSV, live (what snapshots and the reveal hash).
pub async fn render_csv(state: &AppState, c: &Contest, phase: &str, private: bool) -> ApiResult<Bytes> {
    render_csv_until(state, c, phase, private, None).await
}

/// A board as CSV; with `until`, frozen then.
async fn render_csv_until(
    state: &AppState,
    c: &Contest,
    phase: &str,
    private: bool,
    until: Option<&str>,
) -> ApiResult<Bytes> {
    let (rows, _) = rows(state, c, phase, private, until).await?;
    let mut w = csv::Writer::from_writer(Vec::with_capacity(64 * (rows.len() + 1)));
    let mut header = vec![
        "rank",
        "band",
        "team",
        "baseline",
        "submission_id",
        "score",
        "ci_low",
        "ci_high",
        "entries",
        "last_submission_at",
    ];
    if private {
        header.extend(["public_rank", "shakeup"]);
    }
    let fail = |e: csv::Error| ApiError::internal(&e);
    w.write_record(&header).map_err(fail)?;
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    let int = |x: Option<u32>| x.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        let mut record = vec![
            int(r.rank),
            int(r.band),
            inert(&r.team),
            r.baseline.to_string(),
            r.submission_id.to_string(),
            opt(r.score),
            opt(r.ci.map(|c| c.0)),
            opt(r.ci.map(|c| c.1)),
            r.entries.to_string(),
            r.last_submission_at,
        ];
        if private {
            record.push(int(r.public_rank));
            record.push(r.shakeup.map(|v| v.to_string()).unwrap_or_default());
        }
        w.write_record(&record).map_err(fail)?;
    }
    Ok(Bytes::from(w.into_inner().map_err(|e| ApiError::internal(&e.to_string()))?))
}

/// A board as JSON. `freeze`: since when the public boards are frozen, and whether this view
/// is the frozen one (else: staff's live view).
async fn render_json(
    state: &AppState,
    c: &Contest,
    phase: &str,
    private: bool,
    freeze: Option<(&str, bool)>,
) -> ApiResult<Bytes> {
    let until = freeze.and_then(|(since, applied)| applied.then_some(since));
    let (rows, ladder) = rows(state, c, phase, private, until).await?;
    let selections = match committed(state, c).await? {
        Some(cm) if cm.phase == phase => super::contests::commitment_json(c, &cm),
        _ => Value::Null,
    };
    let body = json!({
        "freeze": freeze.map(|(since, applied)| json!({"since": since, "applied": applied})),
        "selections": selections,
        "contest": c.name,
        "phase": phase,
        "board": if private { "private" } else { "public" },
        "metric": c.primary.name(),
        "greater_is_better": c.primary.greater_is_better(),
        "ladder": ladder,
        "rows": rows,
    });
    Ok(Bytes::from(body.to_string()))
}

/// A board as a caller may see it.
pub(super) struct View {
    pub c: std::sync::Arc<Contest>,
    pub phase: String,
    pub private: bool,
    /// Since when the public boards are frozen, if they are.
    frozen_since: Option<String>,
    /// Whether the caller sees the frozen board (everyone but staff).
    frozen: bool,
}

/// Which board the caller asked for, checking the private board's visibility and the freeze.
pub(super) async fn resolve(state: &AppState, caller: &Caller, contest: &str, q: &BoardQuery) -> ApiResult<View> {
    let c = load(state, contest).await?;
    let private = match q.board.as_deref() {
        None | Some("public") => false,
        Some("private") => true,
        Some(other) => return Err(ApiError::bad_request(format!("unknown board `{other}`: public or private"))),
    };
    let meta = super::contests::meta(state, c.id).await?;
    if private && !caller.staff() && meta.settings.revealed_at.is_none() {
        return Err(ApiError::forbidden(
            "the private board is hidden until the organizers reveal it after the contest",
        )
        .code(ErrorCode::BoardHidden));
    }
    let all = &meta.phases;
    let now = state.now_text();
    let phase = match &q.phase {
        Some(p) => all.iter().find(|x| &x.name == p).ok_or_else(ApiError::not_found)?,
        None => board_phase(all, &now).ok_or_else(ApiError::not_found)?,
    };
    let frozen_since = if private { None } else { meta.settings.frozen_since(all, &now) };
    let frozen = frozen_since.is_some() && !caller.staff();
    Ok(View { c, phase: phase.name.clone(), private, frozen_since, frozen })
}

/// Whether the request accepts a gzip-encoded answer.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().split(';').next() == Some("gzip")))
}

pub(crate) fn gzip(bytes: &[u8]) -> ApiResult<Bytes> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::default());
    e.write_all(bytes)?;
    Ok(Bytes::from(e.finish()?))
}

/// A board from the cache, or computed (one at a time) and cached unless something changed
/// meanwhile.
async fn cached(state: &AppState, view: &View, csv: bool) -> ApiResult<Arc<CachedBoard>> {
    let c = &view.c;
    let key = BoardKey { contest: c.id, phase: view.phase.clone(), private: view.private, csv, frozen: view.frozen };
    let lookup = || state.boards.lock().expect("the board cache lock is never poisoned").get(&key).cloned();
    if let Some(b) = lookup() {
        crate::metrics::Metrics::bump(&state.metrics.board_hits);
        return Ok(b);
    }
    let _building = state.building.lock().await;
    if let Some(b) = lookup() {
        crate::metrics::Metrics::bump(&state.metrics.board_hits);
        return Ok(b);
    }
    crate::metrics::Metrics::bump(&state.metrics.board_misses);
    let generation = state.generation.load(Ordering::SeqCst);
    let since = view.frozen_since.as_deref();
    let plain = if key.csv {
        render_csv_until(state, c, &key.phase, key.private, since.filter(|_| view.frozen)).await?
    } else {
        render_json(state, c, &key.phase, key.private, since.map(|s| (s, view.frozen))).await?
    };
    let board = Arc::new(CachedBoard { gzip: gzip(&plain)?, plain });
    if state.generation.load(Ordering::SeqCst) == generation {
        state.boards.lock().expect("the board cache lock is never poisoned").insert(key, board.clone());
    }
    Ok(board)
}

/// The board in the encoding the client accepts.
fn respond(
    board: &CachedBoard,
    headers: &HeaderMap,
    content_type: &'static str,
    disposition: Option<String>,
) -> ApiResult<Response> {
    let gzip = accepts_gzip(headers);
    let mut response = if gzip { board.gzip.clone() } else { board.plain.clone() }.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if let Some(d) = disposition {
        h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&d).map_err(|e| ApiError::internal(&e))?);
    }
    Ok(response)
}

/// A phase's public board (anyone), or its private board (staff; everyone after the reveal).
/// Gzip-compressed when the request accepts it.
#[utoipa::path(
    get,
    path = "/contests/{contest}/leaderboard",
    tag = "boards",
    params(doc::params::ContestPath, BoardQuery),
    responses(
        (status = 200, description = "The board.", body = doc::Leaderboard),
        (status = 400, description = "An unknown board.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "The private board before the reveal (`board_hidden`).", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn leaderboard(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
    Query(q): Query<BoardQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let view = resolve(&state, &caller, &contest, &q).await?;
    let board = cached(&state, &view, false).await?;
    // During the freeze a team still sees its own newest scores: its live row beside the
    // frozen board (not cached: it is the team's alone).
    if view.frozen
        && let Some(user) = caller.user.as_ref().filter(|u| u.role == Role::Competitor)
        && let Some((team, _)) = super::accounts::team_of(&state, view.c.id, user.id).await?
    {
        let mut body: Value = serde_json::from_slice(&board.plain).map_err(|e| ApiError::internal(&e))?;
        body["own"] = json!(own_row(&state, &view.c, &view.phase, team).await?);
        return Ok(Json(body).into_response());
    }
    respond(&board, &headers, "application/json", None)
}

/// A team's live public row (unranked): its best public score including what it submitted
/// during the freeze.
async fn own_row(state: &AppState, c: &Contest, phase: &str, team: i64) -> ApiResult<Option<board::Row>> {
    let s = settings_of(state, c.id).await?;
    let mine: Vec<Entry> = entries(state, c.id, phase, None).await?.into_iter().filter(|e| e.team == team).collect();
    Ok(board::public(&mine, c.primary.greater_is_better(), s.ladder).into_iter().next().map(|mut r| {
        r.rank = None;
        r.band = None;
        r
    }))
}

/// The same board as CSV (spreadsheet formulas defused).
#[utoipa::path(
    get,
    path = "/contests/{contest}/leaderboard.csv",
    tag = "boards",
    params(doc::params::ContestPath, BoardQuery),
    responses(
        (status = 200, description = "The board as CSV, as an attachment.", content_type = "text/csv; charset=utf-8", body = String),
        (status = 400, description = "An unknown board.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "The private board before the reveal (`board_hidden`).", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn leaderboard_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
    Query(q): Query<BoardQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let view = resolve(&state, &caller, &contest, &q).await?;
    let name = format!(
        "attachment; filename=\"{}-{}-{}.csv\"",
        view.c.name,
        view.phase,
        if view.private { "private" } else { "public" }
    );
    let board = cached(&state, &view, true).await?;
    respond(&board, &headers, "text/csv; charset=utf-8", Some(name))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotBody {
    /// Default: the open phase, else the last one started, else the first.
    phase: Option<String>,
    /// `public` (default) or `private`.
    #[schema(value_type = Option<doc::Board>)]
    board: Option<String>,
}

/// Records the SHA-256 of a board's CSV in the audit log (organizers).
#[utoipa::path(
    post,
    path = "/contests/{contest}/snapshots",
    tag = "boards",
    params(doc::params::ContestPath),
    request_body = SnapshotBody,
    responses(
        (status = 201, description = "Recorded.", body = doc::Snapshot),
        (status = 400, description = "An unknown board.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not an organizer.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn snapshot(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
    JsonBody(body): JsonBody<SnapshotBody>,
) -> ApiResult<Response> {
    caller.require(&[Role::Organizer])?;
    let q = BoardQuery { phase: body.phase, board: body.board };
    let View { c, phase, private, .. } = resolve(&state, &caller, &contest, &q).await?;
    let csv = render_csv(&state, &c, &phase, private).await?;
    let sha = crate::auth::digest_bytes(&csv);
    let board = if private { "private" } else { "public" };
    let mut tx = crate::db::begin(&state.pool).await?;
    let detail = json!({"phase": phase, "board": board, "sha256": sha, "rows": csv.split(|b| *b == b'\n').count().saturating_sub(2)});
    audit_event(&state, &mut tx, caller.actor(), "board.snapshot", format!("contest:{}", c.name), detail.clone())
        .await?;
    tx.commit().await?;
    Ok(super::created(detail))
}

/// The final ranking of the last phase's private board with the judges' scores (judges and
/// organizers; everyone after the reveal). A judge also gets their own scores.
#[utoipa::path(
    get,
    path = "/contests/{contest}/final",
    tag = "boards",
    params(doc::params::ContestPath),
    responses(
        (status = 200, description = "The final ranking.", body = doc::FinalRanking),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Before the reveal, for anyone but staff.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn final_ranking(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = load(&state, &contest).await?;
    let meta = super::contests::meta(&state, c.id).await?;
    if !caller.staff() && meta.settings.revealed_at.is_none() {
        return Err(ApiError::forbidden("the final ranking is shown after the organizers reveal the private board"));
    }
    let phase = meta.phases.last().ok_or_else(ApiError::not_found)?.name.clone();
    let (private, _) = rows(&state, &c, &phase, true, None).await?;
    let scores = crate::db::boards::rubric_scores(&state.pool, c.id).await?;
    let mut by_team: std::collections::BTreeMap<i64, Vec<f64>> = std::collections::BTreeMap::new();
    for (team, _, score, _) in &scores {
        by_team.entry(*team).or_default().push(*score);
    }
    let finalists = usize::try_from(meta.settings.finalists).unwrap_or(0);
    let rows = board::final_ranking(&private, finalists, &by_team, meta.settings.rubric_weight);
    let mine: serde_json::Map<String, Value> = match &caller.user {
        Some(u) if u.role == Role::Judge => scores
            .iter()
            .filter(|s| s.1 == u.id)
            .map(|(team, _, score, comment)| (team.to_string(), json!({"score": score, "comment": comment})))
            .collect(),
        _ => serde_json::Map::new(),
    };
    Ok(Json(
        json!({"phase": phase, "rubric_weight": meta.settings.rubric_weight, "finalists": finalists, "rows": rows, "my_scores": mine}),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RubricBody {
    /// 0–100.
    #[schema(minimum = 0, maximum = 100)]
    score: f64,
    /// At most 5000 characters.
    #[serde(default)]
    #[schema(max_length = 5000)]
    comment: String,
}

/// A judge scores a finalist's write-up and presentation (0–100); a new score replaces the
/// judge's earlier one. Audited.
#[utoipa::path(
    put,
    path = "/contests/{contest}/rubric/{team}",
    tag = "boards",
    params(doc::params::TeamPath),
    request_body = RubricBody,
    responses(
        (status = 200, description = "Recorded.", body = doc::RubricScored),
        (status = 400, description = "A score outside 0–100, a comment over 5000 characters, or a team that is not a finalist.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a judge.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn rubric(
    State(state): State<AppState>,
    caller: Caller,
    Path((contest, team)): Path<(String, i64)>,
    JsonBody(body): JsonBody<RubricBody>,
) -> ApiResult<Json<Value>> {
    let judge = caller.require(&[Role::Judge])?.clone();
    if !(0.0..=100.0).contains(&body.score) {
        return Err(ApiError::bad_request("a score is between 0 and 100"));
    }
    if body.comment.chars().count() > 5000 {
        return Err(ApiError::bad_request("a comment is at most 5000 characters"));
    }
    let c = load(&state, &contest).await?;
    let meta = super::contests::meta(&state, c.id).await?;
    let phase = meta.phases.last().ok_or_else(ApiError::not_found)?.name.clone();
    let (private, _) = rows(&state, &c, &phase, true, None).await?;
    let finalists = usize::try_from(meta.settings.finalists).unwrap_or(0);
    let finalist = board::final_ranking(&private, finalists, &std::collections::BTreeMap::new(), 0.0)
        .iter()
        .any(|r| r.team_id == team);
    if !finalist {
        return Err(ApiError::bad_request(format!("team {team} is not among the {finalists} finalists")));
    }
    let now = state.now_text();
    let mut tx = crate::db::begin(&state.pool).await?;
    crate::db::boards::set_rubric_score(&mut tx, c.id, team, judge.id, body.score, &body.comment, &now).await?;
    let detail = json!({"contest": contest, "score": body.score, "comment": body.comment});
    audit_event(&state, &mut tx, caller.actor(), "rubric.score", format!("team:{team}"), detail).await?;
    tx.commit().await?;
    Ok(Json(json!({"team_id": team, "score": body.score, "comment": body.comment})))
}
