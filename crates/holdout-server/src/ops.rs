//! What a load balancer and an operator ask of the service, outside `/api/v1`: `/healthz`
//! (the process answers; no database access), `/readyz` (the database answers and every
//! migration is applied). No authentication, session or CSRF: they reveal nothing but
//! "ready" or a short reason.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::db;
use crate::state::AppState;

/// The probes' routes (state supplied by the caller's router).
pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
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
