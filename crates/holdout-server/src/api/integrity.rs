//! The judges' integrity report (`GET /contests/{c}/integrity`, organizers and judges): see
//! [`crate::integrity`].

use axum::Json;
use axum::extract::State;
use holdout_score::duplicates::DuplicateSettings;
use serde::Deserialize;

use super::{Caller, Path, Query, Role, doc};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::integrity::{IntegrityError, Report, Settings, run};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IntegrityQuery {
    /// The phase; by default the last one with a team's scored submission.
    pub phase: Option<String>,
    /// Near-duplicate threshold on the deviations' Spearman ρ (default 0.9).
    pub threshold: Option<f64>,
    /// Test rows sampled for the near-duplicate search (default 2,000; 100–100,000).
    pub sample_rows: Option<usize>,
}

/// The judges' integrity report: near-duplicate files across teams, probing, shared files
/// (judges and organizers; see `crate::integrity`).
#[utoipa::path(
    get,
    path = "/contests/{contest}/integrity",
    tag = "boards",
    params(doc::params::ContestPath, IntegrityQuery),
    responses(
        (status = 200, description = "The report.", body = Report),
        (status = 400, description = "A threshold or sample size out of range.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a judge or organizer.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn integrity(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
    Query(q): Query<IntegrityQuery>,
) -> ApiResult<Json<Report>> {
    caller.require(&[Role::Organizer, Role::Judge])?;
    if q.threshold.is_some_and(|t| !(t > -1.0 && t <= 1.0)) {
        return Err(ApiError::bad_request("threshold is a correlation, above −1 and at most 1"));
    }
    if q.sample_rows.is_some_and(|n| !(100..=100_000).contains(&n)) {
        return Err(ApiError::bad_request("sample_rows is between 100 and 100000"));
    }
    let mut duplicates = DuplicateSettings::default();
    if let Some(t) = q.threshold {
        duplicates.threshold = t;
    }
    let settings = Settings { phase: q.phase, sample_rows: q.sample_rows, duplicates };
    match run(&state, &contest, settings).await {
        Ok(Some(r)) => Ok(Json(r)),
        Ok(None) | Err(IntegrityError::NoPhase(_)) => Err(ApiError::not_found()),
        Err(IntegrityError::Db(e)) => Err(e.into()),
        Err(IntegrityError::Solution(e)) => Err(ApiError::internal(&e)),
    }
}
