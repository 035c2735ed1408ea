//! The public and private boards of a phase, as JSON or CSV, computed by [`crate::board`] from
//! the scored submissions and cached until something changes them.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::Row;

use super::contests::{audit_event, board_phase, load, phases, settings_of};
use super::{Caller, JsonBody, Path, Query, Role};
use crate::board::{self, Entry};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, BoardKey, Contest};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    phase: Option<String>,
    /// `public` (default) or `private`.
    board: Option<String>,
}

async fn entries(state: &AppState, contest: i64, phase: &str) -> ApiResult<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT s.id, s.team_id, t.name, t.baseline, s.created_at, s.public_score, s.public_low, s.public_high, \
         s.private_score, s.private_low, s.private_high, s.released, s.selected \
         FROM submissions s JOIN teams t ON t.id = s.team_id \
         WHERE s.contest_id = ? AND (s.phase = ? OR t.baseline = TRUE) AND s.status = 'scored' \
         AND s.disqualified_reason IS NULL AND t.disqualified_reason IS NULL ORDER BY s.id",
    )
    .bind(contest)
    .bind(phase)
    .fetch_all(&state.pool)
    .await?;
    let ci = |r: &sqlx::sqlite::SqliteRow, lo: &str, hi: &str| match (
        r.get::<Option<f64>, _>(lo),
        r.get::<Option<f64>, _>(hi),
    ) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    };
    Ok(rows
        .iter()
        .map(|r| Entry {
            submission: r.get("id"),
            team: r.get("team_id"),
            team_name: r.get("name"),
            baseline: r.get("baseline"),
            created_at: r.get("created_at"),
            public: r.get("public_score"),
            public_ci: ci(r, "public_low", "public_high"),
            private: r.get("private_score"),
            private_ci: ci(r, "private_low", "private_high"),
            released: r.get("released"),
            selected: r.get("selected"),
        })
        .collect())
}

/// The rows of a board.
async fn rows(state: &AppState, c: &Contest, phase: &str, private: bool) -> ApiResult<(Vec<board::Row>, bool)> {
    let s = settings_of(state, c.id).await?;
    let e = entries(state, c.id, phase).await?;
    let greater = c.primary.greater_is_better();
    let rows = if private { board::private(&e, greater, s.ladder) } else { board::public(&e, greater, s.ladder) };
    Ok((rows, s.ladder))
}

/// A board as CSV (also what snapshots hash).
pub async fn render_csv(state: &AppState, c: &Contest, phase: &str, private: bool) -> ApiResult<Bytes> {
    let (rows, _) = rows(state, c, phase, private).await?;
    let mut out = String::from("rank,band,team,baseline,submission_id,score,ci_low,ci_high,entries,last_submission_at");
    if private {
        out.push_str(",public_rank,shakeup");
    }
    out.push('\n');
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            r.rank.map(|v| v.to_string()).unwrap_or_default(),
            r.band.map(|v| v.to_string()).unwrap_or_default(),
            holdout_score::submission::escape(&r.team),
            r.baseline,
            r.submission_id,
            opt(r.score),
            opt(r.ci.map(|c| c.0)),
            opt(r.ci.map(|c| c.1)),
            r.entries,
            r.last_submission_at,
        );
        if private {
            let _ = write!(
                out,
                ",{},{}",
                r.public_rank.map(|v| v.to_string()).unwrap_or_default(),
                r.shakeup.map(|v| v.to_string()).unwrap_or_default()
            );
        }
        out.push('\n');
    }
    Ok(Bytes::from(out))
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
    if private && !caller.staff() && settings_of(state, c.id).await?.revealed_at.is_none() {
        return Err(ApiError::forbidden(
            "the private board is hidden until the organizers reveal it after the contest",
        ));
    }
    let all = phases(state, c.id).await?;
    let phase = match &q.phase {
        Some(p) => all.iter().find(|x| &x.name == p).ok_or_else(ApiError::not_found)?,
        None => board_phase(&all, &state.now_text()).ok_or_else(ApiError::not_found)?,
    };
    Ok((c, phase.name.clone(), private))
}

async fn cached(state: &AppState, key: BoardKey, c: &Contest) -> ApiResult<Bytes> {
    if let Some(b) = state.boards.lock().expect("the board cache lock is never poisoned").get(&key) {
        return Ok(b.clone());
    }
    let generation = state.generation.load(Ordering::SeqCst);
    let bytes = if key.csv {
        render_csv(state, c, &key.phase, key.private).await?
    } else {
        render_json(state, c, &key.phase, key.private).await?
    };
    let mut boards = state.boards.lock().expect("the board cache lock is never poisoned");
    // Cache it only if nothing changed while it was computed.
    if state.generation.load(Ordering::SeqCst) == generation {
        boards.insert(key, bytes.clone());
    }
    Ok(bytes)
}

pub async fn leaderboard(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
    Query(q): Query<BoardQuery>,
) -> ApiResult<Response> {
    let (c, phase, private) = resolve(&state, &caller, &contest, &q).await?;
    let bytes = cached(&state, BoardKey { contest: c.id, phase, private, csv: false }, &c).await?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response())
}

pub async fn leaderboard_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
    Query(q): Query<BoardQuery>,
) -> ApiResult<Response> {
    let (c, phase, private) = resolve(&state, &caller, &contest, &q).await?;
    let name =
        format!("attachment; filename=\"{}-{phase}-{}.csv\"", c.name, if private { "private" } else { "public" });
    let bytes = cached(&state, BoardKey { contest: c.id, phase, private, csv: true }, &c).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_str(&name).map_err(|e| ApiError::internal(&e))?),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotBody {
    phase: Option<String>,
    board: Option<String>,
}

/// Records the SHA-256 of a board's CSV in the audit log (organizers).
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
    let mut tx = state.pool.begin().await?;
    let detail = json!({"phase": phase, "board": board, "sha256": sha, "rows": csv.split(|b| *b == b'\n').count().saturating_sub(2)});
    audit_event(&state, &mut tx, caller.actor(), "board.snapshot", format!("contest:{}", c.name), detail.clone())
        .await?;
    tx.commit().await?;
    Ok(super::created(detail))
}
