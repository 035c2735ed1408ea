//! The JSON API under `/api/v1/`: who is calling ([`Caller`]: a session cookie with its CSRF
//! token, or a bearer API token), the routes, and the `OpenAPI` document.
//!
//! Authorization is decided in each handler from the caller's role and team, and anything a
//! caller may not see answers 404, exactly like something that does not exist.

mod accounts;
pub use accounts::{create_user, issue_token};
mod boards;
pub(crate) use boards::{accepts_gzip, gzip};
mod contests;
mod integrity;
mod ranks;
pub use ranks::{RankUncertaintyView, TeamRankView};
mod submissions;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::{auth, db};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "holdout_session";
/// The header carrying the session's CSRF token on unsafe requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest JSON body accepted.
const JSON_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Organizer,
    Judge,
    Competitor,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "organizer" => Some(Role::Organizer),
            "judge" => Some(Role::Judge),
            "competitor" => Some(Role::Competitor),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Organizer => "organizer",
            Role::Judge => "judge",
            Role::Competitor => "competitor",
        }
    }

    /// Organizers and judges see everything of every team.
    pub fn staff(self) -> bool {
        matches!(self, Role::Organizer | Role::Judge)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: Option<User>,
}

impl Caller {
    pub fn user(&self) -> ApiResult<&User> {
        self.user.as_ref().ok_or_else(|| ApiError::unauthorized("log in or send an API token"))
    }

    pub fn staff(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role.staff())
    }

    pub fn actor(&self) -> String {
        self.user.as_ref().map_or_else(|| "anonymous".into(), |u| format!("user:{}", u.name))
    }

    pub fn require(&self, roles: &[Role]) -> ApiResult<&User> {
        let u = self.user()?;
        if roles.contains(&u.role) {
            Ok(u)
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the role {}",
                roles.iter().map(|r| r.name()).collect::<Vec<_>>().join(" or ")
            )))
        }
    }
}

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(
        |c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        },
    )
}

/// The client's address as login throttling counts it ([`crate::throttle::address_key`]):
/// the connection's peer, or behind a trusted proxy the last `X-Forwarded-For` entry;
/// `unknown` when neither is known (a request made in-process without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client(pub String);

impl Client {
    pub fn of(parts: &Parts, state: &AppState) -> Client {
        let forwarded = state
            .config
            .trust_forwarded_for
            .then(|| parts.headers.get_all("x-forwarded-for").iter().next_back())
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok());
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Client(forwarded.or(peer).map_or_else(|| "unknown".to_owned(), crate::throttle::address_key))
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Client, Self::Rejection> {
        Ok(Client::of(parts, state))
    }
}

/// Refuses a request while any of `keys` is blocked: 429 with the longest wait.
pub(crate) async fn refuse_if_blocked(state: &AppState, keys: &[(crate::throttle::Scope, &str)]) -> ApiResult<()> {
    let now = state.now();
    let mut until = None;
    for &(scope, name) in keys {
        if let Some(u) = db::throttle::blocked(&state.pool, scope, name, now).await? {
            until = Some(until.map_or(u, |t: chrono::DateTime<chrono::Utc>| t.max(u)));
        }
    }
    match until {
        Some(u) => Err(ApiError::throttled(crate::throttle::retry_after(u, now))),
        None => Ok(()),
    }
}

/// Counts a failed login or unknown API token against `keys`: the error to answer (429 when
/// this failure starts a block, else `refused`).
pub(crate) async fn count_failure(
    state: &AppState,
    keys: &[(crate::throttle::Scope, &str)],
    refused: ApiError,
) -> ApiError {
    let now = state.now();
    let event = |scope: crate::throttle::Scope, name: &str, failures: u64, until: chrono::DateTime<chrono::Utc>| {
        crate::audit::Event {
            at: crate::time::text(now),
            actor: "anonymous".into(),
            action: "session.throttled".into(),
            subject: format!("{}:{name}", scope.name()),
            detail: serde_json::json!({
                "failures": failures,
                "blocked_until": crate::time::text(until),
                "seconds": crate::throttle::retry_after(until, now),
            })
            .to_string(),
        }
    };
    match db::throttle::fail(&state.pool, keys, now, &state.config.throttle, event).await {
        Ok(Some(until)) => ApiError::throttled(crate::throttle::retry_after(until, now)),
        Ok(None) => refused,
        Err(e) => ApiError::from(e),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))?;
            // Unknown tokens count against the address; while it is blocked no token is
            // looked up, so a guess that would be right is refused too.
            let client = Client::of(parts, state);
            let keys = [(crate::throttle::Scope::Address, client.0.as_str())];
            refuse_if_blocked(state, &keys).await?;
            let row = db::accounts::token_user(&state.pool, &auth::digest(token.trim())).await?;
            let Some((id, name, role)) = row else {
                return Err(count_failure(state, &keys, ApiError::unauthorized("unknown or revoked API token")).await);
            };
            return Ok(Caller { user: Some(user(id, name, &role)?) });
        }
        if let Some(token) = cookie(parts, SESSION_COOKIE) {
            let row = db::accounts::session_user(&state.pool, &auth::digest(token)).await?;
            let Some((id, name, role, csrf, expires)) = row else {
                return Err(ApiError::unauthorized("your session has ended; log in again").code("session_expired"));
            };
            if expires <= state.now_text() {
                return Err(ApiError::unauthorized("your session has expired; log in again").code("session_expired"));
            }
            if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                if !auth::same(sent, &csrf) {
                    return Err(ApiError::forbidden(format!(
                        "missing or wrong {CSRF_HEADER} header (from the login response)"
                    )));
                }
            }
            return Ok(Caller { user: Some(user(id, name, &role)?) });
        }
        Ok(Caller { user: None })
    }
}

fn user(id: i64, name: String, role: &str) -> ApiResult<User> {
    let role = Role::parse(role).ok_or_else(|| ApiError::internal(&format!("user {id} has unknown role {role}")))?;
    Ok(User { id, name, role })
}

/// JSON bodies, with the envelope for malformed ones.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(ApiError::new(e.status(), "bad_request", e.body_text())),
        }
    }
}

/// Path parameters, with the envelope for malformed ones.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(p) => Ok(Path(p.0)),
            Err(e) => {
                Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such resource: {}", e.body_text())))
            }
        }
    }
}

/// Query parameters, with the envelope for malformed ones. `lang`, which every route takes
/// ([`Lang`]), is not one of them.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let own = query.split('&').filter(|kv| !kv.is_empty() && !kv.starts_with("lang=") && *kv != "lang");
        let uri: axum::http::Uri = format!("/?{}", own.collect::<Vec<_>>().join("&"))
            .parse()
            .map_err(|_| ApiError::bad_request("malformed query string"))?;
        match axum::extract::Query::<T>::try_from_uri(&uri) {
            Ok(q) => Ok(Query(q.0)),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// The language of the messages a person reads in a response (a refused submission's
/// problems): `?lang=zh|en`, else the first of `Accept-Language` (by weight) that is Chinese or
/// English, else English. Codes and identifiers are the same in every language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang(pub holdout_score::i18n::Lang);

impl Lang {
    /// From a request's query string and `Accept-Language` header.
    pub fn of(query: Option<&str>, accept_language: Option<&str>) -> Lang {
        use holdout_score::i18n::Lang as L;
        let asked =
            query.unwrap_or_default().split('&').find_map(|kv| kv.strip_prefix("lang=")).and_then(|v| match v {
                "zh" | "zh-CN" => Some(L::Zh),
                "en" => Some(L::En),
                _ => None,
            });
        Lang(asked.or_else(|| accept_language.and_then(preferred)).unwrap_or(L::En))
    }
}

/// The most wanted language of an `Accept-Language` value that holdout speaks: tags by
/// descending `q` (1 when absent; `q=0` is refused), the first of them kept on a tie.
fn preferred(header: &str) -> Option<holdout_score::i18n::Lang> {
    let mut best: Option<(f32, holdout_score::i18n::Lang)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let Some(lang) = parts.next().and_then(holdout_score::i18n::Lang::parse) else { continue };
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q=").map(|v| v.trim().parse::<f32>().unwrap_or(0.0)))
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let accept = parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        Ok(Lang::of(parts.uri.query(), accept))
    }
}

/// The `OpenAPI` document.
pub const OPENAPI: &str = include_str!("../../../../leaderboard/openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI).into_response()
}

async fn fallback() -> ApiError {
    ApiError::not_found()
}

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/users", post(accounts::sign_up))
        .route("/users/me", get(accounts::me))
        .route("/sessions", post(accounts::log_in))
        .route("/sessions/current", delete(accounts::log_out))
        .route("/tokens", get(accounts::tokens).post(accounts::new_token))
        .route("/tokens/{id}", delete(accounts::revoke_token))
        .route("/throttles", get(accounts::throttles))
        .route("/throttles/{scope}/{name}", delete(accounts::lift_throttle))
        .route("/audit", get(contests::audit))
        .route("/contests", get(contests::list))
        .route("/contests/{contest}", get(contests::show).patch(contests::settings))
        .route("/contests/{contest}/files/{file}", get(contests::download))
        .route("/contests/{contest}/phases/{phase}", put(contests::set_phase))
        .route("/contests/{contest}/reveal", post(contests::reveal))
        .route("/contests/{contest}/teams", get(accounts::teams).post(accounts::create_team))
        .route("/contests/{contest}/teams/mine", get(accounts::my_team))
        .route("/contests/{contest}/teams/{team}/invites", post(accounts::invite))
        .route("/contests/{contest}/teams/{team}/accept", post(accounts::accept))
        .route("/contests/{contest}/teams/{team}/disqualify", post(submissions::disqualify_team))
        .route("/contests/{contest}/quota", get(submissions::quota))
        .route(
            "/contests/{contest}/submissions",
            get(submissions::list).post(submissions::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/contests/{contest}/submissions/{id}", get(submissions::show))
        .route("/contests/{contest}/submissions/{id}/file", get(submissions::file))
        .route("/contests/{contest}/submissions/{id}/receipt", get(submissions::receipt))
        .route("/contests/{contest}/submissions/{id}/rescore", post(submissions::rescore))
        .route("/contests/{contest}/submissions/{id}/disqualify", post(submissions::disqualify))
        .route("/contests/{contest}/submissions/{id}/reinstate", post(submissions::reinstate))
        .route("/contests/{contest}/compare", get(submissions::compare))
        .route("/contests/{contest}/selections", get(submissions::selections).put(submissions::select))
        .route("/contests/{contest}/selections/committed", get(contests::committed_list))
        .route("/contests/{contest}/leaderboard", get(boards::leaderboard))
        .route("/contests/{contest}/leaderboard.csv", get(boards::leaderboard_csv))
        .route("/contests/{contest}/snapshots", post(boards::snapshot))
        .route("/contests/{contest}/final", get(boards::final_ranking))
        .route("/contests/{contest}/rank-uncertainty", get(ranks::rank_uncertainty))
        .route("/contests/{contest}/integrity", get(integrity::integrity))
        .route("/contests/{contest}/rubric/{team}", put(boards::rubric))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(JSON_LIMIT));
    Router::new()
        .nest("/api/v1", api)
        .merge(crate::web::routes())
        .merge(crate::ops::routes())
        .route("/metrics", get(crate::ops::metrics_for_staff))
        // Only matched routes are counted (their template is the label); the fallback's 404s
        // are not.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::ops::count))
        .fallback(fallback)
        .with_state(state)
        .layer(axum::middleware::map_response(security_headers))
}

/// What a page may load: the site's own script, style sheet and images (and `data:` images),
/// requests and form posts to the site itself, no plugins, no `<base>`, no framing by anyone.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Headers on every response, page or API: the policy above, no MIME sniffing, no referrer
/// leaving the site, no framing (for browsers without `frame-ancestors`).
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A file streamed as a download named `filename`.
pub(super) async fn attachment(
    path: &std::path::Path,
    content_type: &'static str,
    filename: &str,
) -> ApiResult<Response> {
    let handle = tokio::fs::File::open(path).await?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::with_capacity(handle, 1 << 16));
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(|e| ApiError::internal(&e))?),
        ],
        body,
    )
        .into_response())
}

/// Runs a request through the service in-process (the website's pages and `holdout demo` call
/// the API this way, so everything they do passes the same checks and audit as a client's).
pub async fn handle(
    state: &AppState,
    request: axum::http::Request<axum::body::Body>,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    use tower::ServiceExt as _;
    let response = match router(state.clone()).oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

/// An API call with a bearer token, in-process.
pub async fn call(
    state: &AppState,
    token: Option<&str>,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let mut r = axum::http::Request::builder().method(method).uri(format!("/api/v1{path}"));
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        r = r.header(header::CONTENT_TYPE, ct);
    }
    let request = r.body(axum::body::Body::from(body)).expect("a well-formed internal request");
    let (status, _, value) = handle(state, request).await;
    (status, value)
}

/// `201 Created` with a JSON body.
pub fn created<T: Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}
