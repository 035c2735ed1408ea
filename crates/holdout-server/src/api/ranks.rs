//! Rank uncertainty of a phase's private board (`GET /contests/{c}/rank-uncertainty`): to
//! organizers and judges at any time, to everyone after the reveal, like the private board.
//! Computed by [`crate::ranks`] off the async threads and kept (`db::ranks`) until the board's
//! inputs change.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::boards::{BoardQuery, resolve, rows};
use super::{Caller, Path, Query, doc};
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ranks::{Input, Inputs, PROCEDURE};
use crate::state::AppState;
use holdout_score::ranking::TeamRank;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RankQuery {
    /// The phase; by default the board's default phase.
    pub phase: Option<String>,
}

/// How sure the private board's ranks are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RankUncertaintyView {
    pub contest: String,
    pub phase: String,
    pub metric: String,
    pub greater_is_better: bool,
    /// The subset scored (`private`, or `a_private`… with A/B boards).
    pub subset: String,
    /// `R`: every team is scored on the same `R` row-bootstrap replicates.
    pub replicates: usize,
    /// Of the rank intervals (0.95).
    pub level: f64,
    /// Family-wise error rate of the tests against the leader (0.05).
    pub alpha: f64,
    /// How every figure is computed, in words.
    pub procedure: String,
    /// The team first on the point scores.
    pub leader_team_id: Option<i64>,
    /// The fewest replicates with which any team could be told apart from the leader.
    pub replicates_needed: usize,
    /// The leader and the teams not distinguishable from it at `alpha`, in board order.
    pub indistinguishable_from_leader: Vec<i64>,
    /// One per ranked team, in board order.
    pub teams: Vec<TeamRankView>,
    /// RFC 3339 UTC.
    pub computed_at: String,
}

/// One team's rank and how sure it is: who, and the library's figures for it
/// ([`TeamRank`], flattened), so each fact has one definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TeamRankView {
    pub team_id: i64,
    pub team: String,
    pub submission_id: i64,
    pub score: Option<f64>,
    #[serde(flatten)]
    #[schema(inline)]
    pub rank: TeamRank,
}

/// How sure the private board's ranks are (staff; everyone after the reveal).
#[utoipa::path(
    get,
    path = "/contests/{contest}/rank-uncertainty",
    tag = "boards",
    params(doc::params::ContestPath, RankQuery),
    responses(
        (status = 200, description = "The rank uncertainty.", body = RankUncertaintyView),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Before the reveal, for anyone but staff (`board_hidden`).", body = ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 409, description = "The board cannot be ranked now.", body = ErrorBody),
    )
)]
pub async fn rank_uncertainty(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
    Query(q): Query<RankQuery>,
) -> ApiResult<Json<RankUncertaintyView>> {
    let view =
        resolve(&state, &caller, &contest, &BoardQuery { phase: q.phase, board: Some("private".into()) }).await?;
    let c = view.c.clone();
    let (board_rows, _) = rows(&state, &c, &view.phase, true, None).await?;
    let ranked: Vec<&crate::board::Row> = board_rows.iter().filter(|r| r.rank.is_some() && !r.baseline).collect();
    let ids: Vec<i64> = ranked.iter().map(|r| r.submission_id).collect();
    let files: rustc_hash::FxHashMap<i64, String> =
        db::ranks::files(&state.pool, c.id, &ids).await?.into_iter().collect();
    let input: Vec<Input> = ranked
        .iter()
        .filter_map(|r| {
            Some(Input {
                team_id: r.team_id,
                team: r.team.clone(),
                submission_id: r.submission_id,
                sha256: files.get(&r.submission_id)?.clone(),
                score: r.score,
            })
        })
        .collect();
    let phase = super::contests::phases(&state, c.id)
        .await?
        .into_iter()
        .find(|p| p.name == view.phase)
        .ok_or_else(ApiError::not_found)?;
    let seed = db::ranks::seed(&state.pool, c.id).await?;
    let count = state.config.replicates.max(1);
    state.private_files(&c).await.map_err(|e| ApiError::internal(&e))?;
    let loaded = c.clone();
    let board = phase.board.clone();
    let subset = tokio::task::spawn_blocking(move || crate::ranks::private_subset(&loaded, &board))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    let key = Inputs {
        format: "holdout-rank-uncertainty/1",
        metric: c.primary.name(),
        subset: &subset,
        seed,
        replicates: count,
        rows: &input,
    }
    .sha256();
    if let Some(kept) = db::ranks::cached(&state.pool, c.id, &view.phase, &key).await?
        && let Ok(v) = serde_json::from_str::<RankUncertaintyView>(&kept)
    {
        return Ok(Json(v));
    }
    let _building = state.analysing.lock().await;
    if let Some(kept) = db::ranks::cached(&state.pool, c.id, &view.phase, &key).await?
        && let Ok(v) = serde_json::from_str::<RankUncertaintyView>(&kept)
    {
        return Ok(Json(v));
    }
    state.fetch_files(input.iter().map(|r| r.sha256.clone()).collect()).await.map_err(|e| ApiError::internal(&e))?;
    let (dir, loaded, rows_in, sub) = (state.dir.clone(), c.clone(), input.clone(), subset.clone());
    let result = tokio::task::spawn_blocking(move || {
        let replicates = crate::ranks::replicates(&loaded, &dir, &rows_in, &sub, seed, count)?;
        Ok::<_, String>(crate::ranks::compute(&loaded, &rows_in, &replicates))
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| ApiError::conflict(format!("cannot compute the rank uncertainty: {e}")))?;
    let indistinguishable: Vec<i64> = result.indistinguishable_from_leader.iter().map(|&t| input[t].team_id).collect();
    let out = RankUncertaintyView {
        contest: c.name.clone(),
        phase: view.phase.clone(),
        metric: c.primary.name().to_owned(),
        greater_is_better: c.primary.greater_is_better(),
        subset,
        replicates: result.replicates,
        level: result.level,
        alpha: result.alpha,
        procedure: PROCEDURE.to_owned(),
        leader_team_id: result.leader.map(|l| input[l].team_id),
        replicates_needed: result.replicates_needed,
        teams: result
            .teams
            .iter()
            .zip(&input)
            .map(|(t, i)| TeamRankView {
                team_id: i.team_id,
                team: i.team.clone(),
                submission_id: i.submission_id,
                score: i.score,
                rank: t.clone(),
            })
            .collect(),
        indistinguishable_from_leader: indistinguishable,
        computed_at: state.now_text(),
    };
    let text = serde_json::to_string(&out).map_err(|e| ApiError::internal(&e))?;
    db::ranks::store(&state.pool, c.id, &view.phase, &key, &out.computed_at, &text).await?;
    Ok(Json(out))
}
