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
pub mod doc;
mod integrity;
mod ranks;
pub use ranks::{RankUncertaintyView, TeamRankView};
mod submissions;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;
use crate::{auth, db};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "holdout_session";
/// The header carrying the session's CSRF token on unsafe requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest JSON body accepted.
const JSON_LIMIT: usize = 64 * 1024;

/// Organizers and judges (staff) see everything of every team; competitors see their own
/// team's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
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

#[derive(Debug, Clone, Serialize, ToSchema)]
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
                return Err(
                    ApiError::unauthorized("your session has ended; log in again").code(ErrorCode::SessionExpired)
                );
            };
            if expires <= state.now_text() {
                return Err(
                    ApiError::unauthorized("your session has expired; log in again").code(ErrorCode::SessionExpired)
                );
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

/// JSON bodies, with the envelope for malformed ones. Every body the API takes is a JSON
/// object: anything else (an array, which serde would read into a struct field by field) is
/// refused with 422 like any other wrong shape.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let value = match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(v)) => v,
            Err(e) => {
                let code = match e.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TooLarge,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
                    _ => ErrorCode::BadRequest,
                };
                return Err(ApiError::new(e.status(), code, e.body_text()));
            }
        };
        if !value.is_object() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::BadRequest,
                "the body is a JSON object",
            ));
        }
        T::deserialize(value).map(JsonBody).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::BadRequest,
                format!("Failed to deserialize the JSON body into the target type: {e}"),
            )
        })
    }
}

/// Integers as clients send them: a JSON number with a zero fraction (`3.0`, as JavaScript
/// sends whole numbers) is that integer, as JSON Schema's `integer` says; in a query string,
/// the same text. Used with `#[serde(deserialize_with = …)]` on integer fields of requests.
pub(crate) mod whole {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{self, Deserialize, Deserializer, Unexpected, Visitor};

    struct Whole;

    /// 2⁶³ as a double: the integers of `i64` are the doubles in [−2⁶³, 2⁶³).
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;

    impl Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            if v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
                Ok(v as i64)
            } else {
                Err(E::invalid_value(Unexpected::Float(v), &self))
            }
        }

        /// Query strings: the digits, optionally with a fraction of zeros, read exactly.
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            let whole = match v.split_once('.') {
                Some((whole, fraction)) if !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') => whole,
                Some(_) => return Err(E::invalid_value(Unexpected::Str(v), &self)),
                None => v,
            };
            whole.parse::<i64>().map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
        }
    }

    pub fn one<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
        let v = d.deserialize_any(Whole)?;
        T::try_from(v).map_err(|_| de::Error::invalid_value(Unexpected::Signed(v), &"an integer in range"))
    }

    struct Item<T>(T, PhantomData<T>);

    impl<'de, T: TryFrom<i64>> Deserialize<'de> for Item<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            one(d).map(|v| Item(v, PhantomData))
        }
    }

    pub fn option<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<T>, D::Error> {
        Ok(Option::<Item<T>>::deserialize(d)?.map(|i| i.0))
    }

    pub fn list<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Vec::<Item<T>>::deserialize(d)?.into_iter().map(|i| i.0).collect())
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
            Err(e) => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!("no such resource: {}", e.body_text()),
            )),
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

/// The `OpenAPI` document, generated once (`leaderboard/openapi.json` is a copy, checked).
static OPENAPI: std::sync::LazyLock<String> = std::sync::LazyLock::new(doc::document_text);

/// This `OpenAPI` document (anyone; credentials are not read).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object)),
)]
async fn get_openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI.as_str()).into_response()
}

async fn fallback() -> ApiError {
    ApiError::not_found()
}

/// Every API route with its description. A route is added here through `routes!` (which
/// reads the handler's `#[utoipa::path]`: method, path and what it answers), never with
/// `.route` (a test checks), so the service serves nothing its document does not describe.
/// Handlers sharing a path go into one `routes!`.
pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    // Uploads stream up to the contest's own limit, not the JSON limit.
    let uploads = OpenApiRouter::default()
        .routes(routes!(submissions::list, submissions::upload))
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::with_openapi(<doc::Base as utoipa::OpenApi>::openapi())
        .routes(routes!(get_openapi))
        .routes(routes!(accounts::sign_up))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::log_in))
        .routes(routes!(accounts::log_out))
        .routes(routes!(accounts::tokens, accounts::new_token))
        .routes(routes!(accounts::revoke_token))
        .routes(routes!(accounts::throttles))
        .routes(routes!(accounts::lift_throttle))
        .routes(routes!(contests::audit))
        .routes(routes!(contests::list))
        .routes(routes!(contests::show, contests::settings))
        .routes(routes!(contests::download))
        .routes(routes!(contests::set_phase))
        .routes(routes!(contests::reveal))
        .routes(routes!(accounts::teams, accounts::create_team))
        .routes(routes!(accounts::my_team))
        .routes(routes!(accounts::invite))
        .routes(routes!(accounts::accept))
        .routes(routes!(submissions::disqualify_team))
        .routes(routes!(submissions::quota))
        .merge(uploads)
        .routes(routes!(submissions::show))
        .routes(routes!(submissions::file))
        .routes(routes!(submissions::receipt))
        .routes(routes!(submissions::rescore))
        .routes(routes!(submissions::disqualify))
        .routes(routes!(submissions::reinstate))
        .routes(routes!(submissions::compare))
        .routes(routes!(submissions::selections, submissions::select))
        .routes(routes!(contests::committed_list))
        .routes(routes!(ranks::rank_uncertainty))
        .routes(routes!(integrity::integrity))
        .routes(routes!(boards::leaderboard))
        .routes(routes!(boards::leaderboard_csv))
        .routes(routes!(boards::snapshot))
        .routes(routes!(boards::final_ranking))
        .routes(routes!(boards::rubric))
}

/// The API's routes, built once (a router is made per in-process call).
static API: std::sync::LazyLock<Router<AppState>> = std::sync::LazyLock::new(|| {
    let (api, _) = api_routes().split_for_parts();
    api.fallback(fallback).layer(DefaultBodyLimit::max(JSON_LIMIT))
});

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api/v1", API.clone())
        .merge(crate::web::routes())
        .merge(crate::ops::routes())
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
