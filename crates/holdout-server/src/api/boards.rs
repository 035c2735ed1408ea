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
use super::contests::{audit_event, board_phase, load, settings_of};
use super::{Caller, JsonBody, Path, Query, doc};
use crate::board::{self, Entry};
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use crate::state::{AppState, BoardKey, CachedBoard, Contest};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// A phase name. Default: the open phase, else the last one started, else the first.
    phase: Option<String>,
    /// `public` (default) or `private`.
    #[param(value_type = Option<doc::Board>)]
    board: Option<String>,
}

async fn entries(state: &AppState, contest: i64, phase: &str) -> ApiResult<Vec<Entry>> {
    Ok(crate::db::boards::entries(&state.pool, contest, phase).await?)
}

/// The rows of a board.
async fn rows(state: &AppState, c: &Contest, phase: &str, private: bool) -> ApiResult<(Vec<board::Row>, bool)> {
    let s = settings_of(state, c.id).await?;
    let e = entries(state, c.id, phase).await?;
    let greater = c.primary.greater_is_better();
    let rows = if private { board::private(&e, greater, s.ladder) } else { board::public(&e, greater, s.ladder) };
    Ok((rows, s.ladder))
}

/// A cell as a spreadsheet will not run it: text starting with `=`, `+`, `-`, `@`, tab or
/// carriage return gets a leading `'` (OWASP's advice against CSV injection).
fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

/// A board as CSV (also what snapshots hash).
pub async fn render_csv(state: &AppState, c: &Contest, phase: &str, private: bool) -> ApiResult<Bytes> {
    let (rows, _) = rows(state, c, phase, private).await?;
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

async fn render_json(state: &AppState, c: &Contest, phase: &str, private: bool) -> ApiResult<Bytes> {
    let (rows, ladder) = rows(state, c, phase, private).await?;
    let body = json!({
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

/// Which board the caller asked for, checking the private board's visibility.
async fn resolve(
    state: &AppState,
    caller: &Caller,
    contest: &str,
    q: &BoardQuery,
) -> ApiResult<(std::sync::Arc<Contest>, String, bool)> {
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
    let phase = match &q.phase {
        Some(p) => all.iter().find(|x| &x.name == p).ok_or_else(ApiError::not_found)?,
        None => board_phase(all, &state.now_text()).ok_or_else(ApiError::not_found)?,
    };
    Ok((c, phase.name.clone(), private))
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
async fn cached(state: &AppState, key: BoardKey, c: &Contest) -> ApiResult<Arc<CachedBoard>> {
    let lookup = || state.boards.lock().expect("the board cache lock is never poisoned").get(&key).cloned();
    if let Some(b) = lookup() {
        return Ok(b);
    }
    let _building = state.building.lock().await;
    if let Some(b) = lookup() {
        return Ok(b);
    }
    let generation = state.generation.load(Ordering::SeqCst);
    let plain = if key.csv {
        render_csv(state, c, &key.phase, key.private).await?
    } else {
        render_json(state, c, &key.phase, key.private).await?
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
    let (c, phase, private) = resolve(&state, &caller, &contest, &q).await?;
    let board = cached(&state, BoardKey { contest: c.id, phase, private, csv: false }, &c).await?;
    respond(&board, &headers, "application/json", None)
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
    let (c, phase, private) = resolve(&state, &caller, &contest, &q).await?;
    let name =
        format!("attachment; filename=\"{}-{phase}-{}.csv\"", c.name, if private { "private" } else { "public" });
    let board = cached(&state, BoardKey { contest: c.id, phase, private, csv: true }, &c).await?;
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
    let (c, phase, private) = resolve(&state, &caller, &contest, &q).await?;
    let csv = render_csv(&state, &c, &phase, private).await?;
    let sha = crate::auth::digest_bytes(&csv);
    let board = if private { "private" } else { "public" };
    let _w = state.write.lock().await;
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
    let (private, _) = rows(&state, &c, &phase, true).await?;
    let scores: Vec<(i64, i64, f64, String)> = sqlx::query_as(
        "SELECT team_id, judge_id, score, comment FROM rubric_scores WHERE contest_id = ? ORDER BY team_id, judge_id",
    )
    .bind(c.id)
    .fetch_all(&state.pool)
    .await?;
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
    let (private, _) = rows(&state, &c, &phase, true).await?;
    let finalists = usize::try_from(meta.settings.finalists).unwrap_or(0);
    let finalist = board::final_ranking(&private, finalists, &std::collections::BTreeMap::new(), 0.0)
        .iter()
        .any(|r| r.team_id == team);
    if !finalist {
        return Err(ApiError::bad_request(format!("team {team} is not among the {finalists} finalists")));
    }
    let now = state.now_text();
    let _w = state.write.lock().await;
    let mut tx = crate::db::begin(&state.pool).await?;
    sqlx::query("DELETE FROM rubric_scores WHERE contest_id = ? AND team_id = ? AND judge_id = ?")
        .bind(c.id)
        .bind(team)
        .bind(judge.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO rubric_scores (contest_id, team_id, judge_id, score, comment, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(c.id)
        .bind(team)
        .bind(judge.id)
        .bind(body.score)
        .bind(&body.comment)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    let detail = json!({"contest": contest, "score": body.score, "comment": body.comment});
    audit_event(&state, &mut tx, caller.actor(), "rubric.score", format!("team:{team}"), detail).await?;
    tx.commit().await?;
    Ok(Json(json!({"team_id": team, "score": body.score, "comment": body.comment})))
}
