//! The website, server-rendered: templates in `leaderboard/templates/` (minijinja, every value
//! HTML-escaped), every string from the catalogue `leaderboard/i18n.toml` (Chinese by default,
//! English by the toggle), static assets from `leaderboard/static/`.
//!
//! Pages are a thin layer over the JSON API: a page reads and writes through the same routes
//! (called in-process with the visitor's session), so every rule, check and audit entry is the
//! API's. Forms carry the session's CSRF token, checked here before anything is forwarded.

mod card;
mod chart;
mod pages;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Environment, State as Jinja};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Role, SESSION_COOKIE, User};
use crate::auth;
use crate::state::AppState;

/// The languages of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The same language for holdout-score's catalogue (problems, task and metric names).
    pub fn score(self) -> holdout_score::i18n::Lang {
        match self {
            Lang::Zh => holdout_score::i18n::Lang::Zh,
            Lang::En => holdout_score::i18n::Lang::En,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Entry {
    zh: String,
    en: String,
}

/// The catalogue, embedded.
pub const CATALOGUE: &str = include_str!("../../../../leaderboard/i18n.toml");

fn catalogue() -> &'static BTreeMap<String, Entry> {
    static C: OnceLock<BTreeMap<String, Entry>> = OnceLock::new();
    C.get_or_init(|| toml::from_str(CATALOGUE).expect("leaderboard/i18n.toml is valid (tested)"))
}

/// A catalogue text in `lang` (the key itself if the catalogue lacks it: the tests hold every
/// key used).
pub fn text(key: &str, lang: Lang) -> String {
    catalogue().get(key).map_or_else(|| key.to_owned(), |e| if lang == Lang::En { e.en.clone() } else { e.zh.clone() })
}

/// The catalogue's keys (for tests).
pub fn catalogue_keys() -> Vec<String> {
    catalogue().keys().cloned().collect()
}

/// Every template, embedded: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../../../leaderboard/templates/base.html")),
    ("index.html", include_str!("../../../../leaderboard/templates/index.html")),
    ("contest.html", include_str!("../../../../leaderboard/templates/contest.html")),
    ("leaderboard.html", include_str!("../../../../leaderboard/templates/leaderboard.html")),
    ("leaderboard_body.html", include_str!("../../../../leaderboard/templates/leaderboard_body.html")),
    ("login.html", include_str!("../../../../leaderboard/templates/login.html")),
    ("team.html", include_str!("../../../../leaderboard/templates/team.html")),
    ("submit.html", include_str!("../../../../leaderboard/templates/submit.html")),
    ("submissions.html", include_str!("../../../../leaderboard/templates/submissions.html")),
    ("review.html", include_str!("../../../../leaderboard/templates/review.html")),
    ("review_one.html", include_str!("../../../../leaderboard/templates/review_one.html")),
    ("audit.html", include_str!("../../../../leaderboard/templates/audit.html")),
    ("console.html", include_str!("../../../../leaderboard/templates/console.html")),
    ("final.html", include_str!("../../../../leaderboard/templates/final.html")),
    ("integrity.html", include_str!("../../../../leaderboard/templates/integrity.html")),
    ("error.html", include_str!("../../../../leaderboard/templates/error.html")),
];

const CSS: &str = include_str!("../../../../leaderboard/static/holdout.css");
const JS: &str = include_str!("../../../../leaderboard/static/holdout.js");
const ICON: &str = include_str!("../../../../leaderboard/static/favicon.svg");

/// `t("key")` in a template: the key's text in the page's language; a missing key is an error.
fn translate(state: &Jinja<'_, '_>, key: &str) -> Result<String, minijinja::Error> {
    let en = state.lookup("lang").is_some_and(|l| l.as_str() == Some("en"));
    let e = catalogue().get(key).ok_or_else(|| {
        minijinja::Error::new(minijinja::ErrorKind::UndefinedError, format!("no catalogue entry `{key}`"))
    })?;
    Ok(if en { e.en.clone() } else { e.zh.clone() })
}

/// The page's language in a template.
fn page_lang(state: &Jinja<'_, '_>) -> holdout_score::i18n::Lang {
    let en = state.lookup("lang").is_some_and(|l| l.as_str() == Some("en"));
    if en { Lang::En.score() } else { Lang::Zh.score() }
}

/// `m | metric` in a template: a metric's scikit-learn identifier (what the API says) as its
/// display name in the page's language (`cohen_kappa_quadratic` → 二次加权Kappa); an unknown
/// identifier as it is.
fn metric(state: &Jinja<'_, '_>, name: &str) -> String {
    use holdout_score::i18n::DisplayName as _;
    holdout_schema::Metric::ALL
        .iter()
        .find(|m| m.name() == name)
        .map_or_else(|| name.to_owned(), |m| m.display_name(page_lang(state)).to_owned())
}

/// `t | task` in a template: a task's identifier as its display name (`ordinal` → 有序分类).
fn task(state: &Jinja<'_, '_>, name: &str) -> String {
    use holdout_schema::Task;
    use holdout_score::i18n::DisplayName as _;
    let task = match name {
        "binary" => Task::Binary,
        "multiclass" => Task::Multiclass { labels: Vec::new() },
        "ordinal" => Task::Ordinal { labels: Vec::new() },
        "regression" => Task::Regression,
        _ => return name.to_owned(),
    };
    task.display_name(page_lang(state)).to_owned()
}

/// `x | local` in a template: an RFC 3339 time as `YYYY-MM-DD HH:MM` in Asia/Shanghai.
fn local(value: &str) -> String {
    crate::time::parse(value)
        .map(|t| t.with_timezone(&crate::time::shanghai()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// `x | num` in a template: a score with 4 decimals, or — when undefined.
fn num(value: minijinja::Value) -> String {
    f64::try_from(value).map_or_else(|_| "—".to_owned(), |v| format!("{v:.4}"))
}

/// `bytes | size`: a file size for people.
fn size(value: u64) -> String {
    match value {
        v if v >= 1_000_000 => format!("{:.1} MB", v as f64 / 1e6),
        v if v >= 1_000 => format!("{:.1} kB", v as f64 / 1e3),
        v => format!("{v} B"),
    }
}

pub fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).expect("the templates parse (tested)");
        }
        env.add_function("t", translate);
        env.add_filter("local", local);
        env.add_filter("num", num);
        env.add_filter("size", size);
        env.add_filter("metric", metric);
        env.add_filter("task", task);
        env
    })
}

/// Who is looking, in which language.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: Option<User>,
    /// The session's cookie value and CSRF token.
    session: Option<(String, String)>,
    pub lang: Lang,
    /// `?lang=` asked for a change: the response sets the cookie.
    pub lang_changed: bool,
    /// The path, for the language toggle and `next`.
    pub path: String,
    /// The query string without `lang`, kept by the language toggle.
    pub query: String,
    /// The connection's peer and `X-Forwarded-For`, passed on to the API (login throttling
    /// counts by the client's address).
    peer: Option<axum::extract::ConnectInfo<std::net::SocketAddr>>,
    forwarded: Option<HeaderValue>,
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let query_lang =
            parts.uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang="))).and_then(Lang::parse);
        let lang = query_lang.or_else(|| cookie(&parts.headers, "lang").and_then(Lang::parse)).unwrap_or(Lang::Zh);
        let mut viewer = Viewer {
            user: None,
            session: None,
            lang,
            lang_changed: query_lang.is_some(),
            path: parts.uri.path().to_owned(),
            peer: parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().copied(),
            forwarded: parts.headers.get_all("x-forwarded-for").iter().next_back().cloned(),
            query: parts
                .uri
                .query()
                .unwrap_or_default()
                .split('&')
                .filter(|kv| {
                    !kv.is_empty() && !kv.starts_with("lang=") && !kv.starts_with("msg=") && !kv.starts_with("error=")
                })
                .collect::<Vec<_>>()
                .join("&"),
        };
        if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            let row = crate::db::accounts::session_user(&state.pool, &auth::digest(token))
                .await
                .map_err(|e| crate::error::ApiError::from(e).into_response())?;
            if let Some((id, name, role, csrf, expires)) = row
                && expires > state.now_text()
                && let Some(role) = Role::parse(&role)
            {
                viewer.user = Some(User { id, name, role });
                viewer.session = Some((token.to_owned(), csrf));
            }
        }
        Ok(viewer)
    }
}

impl Viewer {
    pub fn csrf(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.1.as_str())
    }

    /// Checks a form's CSRF token against the session's.
    #[allow(clippy::result_large_err, reason = "the error is the page answered, as axum handlers return it")]
    pub fn check(&self, sent: &str) -> Result<(), Response> {
        match &self.session {
            Some((_, csrf)) if auth::same(sent, csrf) => Ok(()),
            Some(_) => Err(StatusCode::FORBIDDEN.into_response()),
            None => Err(Redirect::to(&format!("/login?next={}", self.path)).into_response()),
        }
    }

    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role)
    }
}

/// An answer of the API, called in-process.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The API's error in the page's language: the catalogue's `err_<code>` when there is one
    /// (`{seconds}` filled from `Retry-After`), else the API's own message.
    pub fn message(&self, lang: Lang) -> String {
        let code = self.body["error"]["code"].as_str().unwrap_or_default();
        if let Some(e) = catalogue().get(&format!("err_{code}")) {
            let text = if lang == Lang::En { &e.en } else { &e.zh };
            let wait = self.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).unwrap_or("?");
            return text.replace("{seconds}", wait);
        }
        self.body["error"]["message"].as_str().map_or_else(|| self.status.to_string(), str::to_owned)
    }
}

/// Calls the API as the viewer (their session cookie and, for unsafe methods, its CSRF
/// token — the caller has checked the form's token first).
pub async fn api(
    state: &AppState,
    viewer: &Viewer,
    method: Method,
    path: &str,
    body: Body,
    content_type: Option<&str>,
) -> Answer {
    // The API's messages (a refused file's problems) in the page's language.
    let mut r = Request::builder()
        .method(method)
        .uri(format!("/api/v1{path}"))
        .header(header::ACCEPT_LANGUAGE, viewer.lang.score().code());
    if let Some((token, csrf)) = &viewer.session {
        r = r.header(header::COOKIE, format!("{SESSION_COOKIE}={token}")).header(crate::api::CSRF_HEADER, csrf);
    }
    if let Some(ct) = content_type {
        r = r.header(header::CONTENT_TYPE, ct);
    }
    if let Some(f) = &viewer.forwarded {
        r = r.header("x-forwarded-for", f.clone());
    }
    if let Some(peer) = viewer.peer {
        r = r.extension(peer);
    }
    let request = r.body(body).expect("a well-formed internal request");
    let (status, headers, body) = crate::api::handle(state, request).await;
    Answer { status, body, headers }
}

/// A GET of the API as the viewer.
pub async fn get_json(state: &AppState, viewer: &Viewer, path: &str) -> Answer {
    api(state, viewer, Method::GET, path, Body::empty(), None).await
}

/// A JSON call of the API as the viewer.
pub async fn send_json(state: &AppState, viewer: &Viewer, method: Method, path: &str, body: &Value) -> Answer {
    api(state, viewer, method, path, Body::from(body.to_string()), Some("application/json")).await
}

/// A page's HTML with the common context (language, viewer, CSRF token, path); `None` (logged)
/// if the template fails.
pub fn render_html(viewer: &Viewer, template: &str, mut context: Value) -> Option<String> {
    context["lang"] = json!(viewer.lang.code());
    context["user"] = json!(viewer.user);
    context["csrf"] = json!(viewer.csrf());
    context["path"] = json!(viewer.path);
    context["query"] = json!(viewer.query);
    environment()
        .get_template(template)
        .and_then(|t| t.render(&context))
        .map_err(|e| tracing::error!("rendering {template}: {e:#}"))
        .ok()
}

/// Renders a page (and sets the language cookie when the visitor switched).
pub fn render(viewer: &Viewer, status: StatusCode, template: &str, context: Value) -> Response {
    let Some(html) = render_html(viewer, template, context) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    let mut response = (status, Html(html)).into_response();
    if viewer.lang_changed {
        let cookie = format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax", viewer.lang.code());
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The error page for an API answer that failed (404 for anything not visible).
pub fn failure(viewer: &Viewer, answer: &Answer) -> Response {
    if answer.status == StatusCode::UNAUTHORIZED {
        return Redirect::to(&format!("/login?next={}", viewer.path)).into_response();
    }
    let status = if answer.status.is_client_error() || answer.status.is_server_error() {
        answer.status
    } else {
        StatusCode::BAD_GATEWAY
    };
    render(viewer, status, "error.html", json!({"message": answer.message(viewer.lang), "status": status.as_u16()}))
}

async fn static_file(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "holdout.css" => (CSS, "text/css; charset=utf-8"),
        "holdout.js" => (JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (ICON, "image/svg+xml"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::index))
        .route("/static/{name}", get(static_file))
        .route("/login", get(pages::login_page).post(pages::log_in))
        .route("/signup", get(pages::signup_page).post(pages::sign_up))
        .route("/logout", post(pages::log_out))
        .route("/audit", get(pages::audit))
        .route("/contests/{c}", get(pages::contest))
        .route("/contests/{c}/leaderboard", get(pages::leaderboard))
        .route("/contests/{c}/team", get(pages::team).post(pages::team_action))
        .route("/contests/{c}/submit", get(pages::submit_page).post(pages::submit))
        .route("/contests/{c}/submissions", get(pages::submissions).post(pages::select))
        .route("/contests/{c}/review", get(pages::review))
        .route("/contests/{c}/review/{id}", get(pages::review_one).post(pages::review_action))
        .route("/contests/{c}/console", get(pages::console).post(pages::console_action))
        .route("/contests/{c}/final", get(pages::final_ranking).post(pages::rubric))
        .route("/contests/{c}/integrity", get(pages::integrity))
}
