//! What a load balancer and an operator ask of the service, outside `/api/v1`: `/healthz`
//! (the process answers; no database access), `/readyz` (the database answers and every
//! migration is applied). No authentication, session or CSRF: they reveal nothing but
//! "ready" or a short reason. And `/metrics` (Prometheus text, [`crate::metrics`]): staff only
//! on the main listener, open on the separate `--metrics-bind` one; the request counter
//! middleware [`count`].

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::api::Caller;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The probes' and the metrics' routes (state supplied by the caller's router).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_for_staff))
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], body).into_response()
}

/// 200 `ok` while the process serves requests.
async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".into())
}

/// 200 `ready` when the database answers and is at this holdout's schema; 503 with the reason
/// otherwise.
async fn readyz(State(state): State<AppState>) -> Response {
    match db::ready(&state.pool).await {
        Ok(()) => text(StatusCode::OK, "ready\n".into()),
        Err(reason) => {
            tracing::warn!("not ready: {reason}");
            text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {reason}\n"))
        }
    }
}

/// Counts a matched request by its route template and the status it was answered with.
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    state.metrics.request(route.as_ref().map_or("unmatched", MatchedPath::as_str), response.status().as_u16());
    response
}

/// `/metrics` on the main listener: organizers and judges only.
pub async fn metrics_for_staff(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    caller.user()?;
    if !caller.staff() {
        return Err(ApiError::forbidden("the metrics are for organizers and judges"));
    }
    Ok(metrics(State(state)).await)
}

/// The exposition, without credentials: only on the separate `--metrics-bind` listener.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match db::queue::depth(&state.pool).await {
        Ok(queue) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))],
            state.metrics.render(&queue),
        )
            .into_response(),
        Err(e) => {
            tracing::error!("metrics: {e}");
            text(StatusCode::SERVICE_UNAVAILABLE, "the database did not answer\n".into())
        }
    }
}

/// The separate metrics listener's router (`holdout serve --metrics-bind`): `/metrics` only,
/// no credentials — bind it where only the monitoring system reaches.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(state)
}
