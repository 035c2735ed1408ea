//! The pages. Each reads and writes through the API ([`super::api`]) as the viewer.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Form;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Viewer, failure, get_json, render, send_json};
use crate::api::Role;
use crate::state::AppState;

/// `?msg=` after a redirect: what the last action did.
#[derive(Debug, Deserialize, Default)]
pub struct Flash {
    msg: Option<String>,
    error: Option<String>,
    phase: Option<String>,
    board: Option<String>,
    team: Option<i64>,
    a: Option<i64>,
    b: Option<i64>,
    next: Option<String>,
}

fn flash(f: &Flash) -> Value {
    json!({"msg": f.msg, "error": f.error})
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Back to `to` with a message (`ok`) or an error.
fn back(to: &str, ok: bool, text: &str) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}{}={}", if ok { "msg" } else { "error" }, enc(text))).into_response()
}

/// Back to `to` after a form's API call: "done", or the API's error in the viewer's language.
fn done(to: &str, viewer: &Viewer, answer: &super::Answer) -> Response {
    if answer.ok() { back(to, true, "done") } else { back(to, false, &answer.message(viewer.lang)) }
}

/// An API answer that may be refused (403) for this viewer: (body, refused), or the error page.
#[allow(clippy::result_large_err, reason = "the error is the page answered, as axum handlers return it")]
fn allowed_or_hidden(viewer: &Viewer, answer: super::Answer) -> Result<(Value, bool), Response> {
    match answer.status {
        s if s.is_success() => Ok((answer.body, false)),
        StatusCode::FORBIDDEN => Ok((Value::Null, true)),
        _ => Err(failure(viewer, &answer)),
    }
}

/// The 404 page for someone who may not see a staff page.
fn not_staff(viewer: &Viewer) -> Option<Response> {
    (!viewer.user.as_ref().is_some_and(|u| u.role.staff()))
        .then(|| render(viewer, StatusCode::NOT_FOUND, "error.html", json!({"status": 404})))
}

/// The preamble of a staff page of contest `name`: a 404 page for anyone but organizers and
/// judges, else the contest's header (or the page its failure renders).
async fn staff_header(state: &AppState, viewer: &Viewer, name: &str) -> Result<Value, Response> {
    if let Some(r) = not_staff(viewer) {
        return Err(r);
    }
    header_of(state, viewer, name).await
}

/// A local path to go to after logging in (never another site).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

pub async fn index(State(state): State<AppState>, viewer: Viewer, Query(f): Query<Flash>) -> Response {
    let a = get_json(&state, &viewer, "/contests").await;
    if !a.ok() {
        return failure(&viewer, &a);
    }
    render(&viewer, StatusCode::OK, "index.html", json!({"contests": a.body["contests"], "flash": flash(&f)}))
}

/// The contest's phases with their state, and the next deadline for the countdown.
fn timeline(contest: &Value, now: &str) -> (Vec<Value>, Value) {
    let mut out = Vec::new();
    let mut deadline = Value::Null;
    for p in contest["phases"].as_array().into_iter().flatten() {
        let (start, end) = (p["starts_at"].as_str().unwrap_or_default(), p["ends_at"].as_str().unwrap_or_default());
        let status = if now < start {
            "upcoming"
        } else if now < end {
            "open"
        } else {
            "ended"
        };
        if deadline.is_null() && status == "open" {
            deadline = json!({"at": end, "kind": "ends"});
        } else if deadline.is_null() && status == "upcoming" {
            deadline = json!({"at": start, "kind": "starts"});
        }
        let mut p = p.clone();
        p["status"] = json!(status);
        out.push(p);
    }
    (out, deadline)
}

/// The contest's header for a page that needs a logged-in viewer (else: to the login page).
async fn signed_in(state: &AppState, viewer: &Viewer, name: &str) -> Result<Value, Response> {
    if viewer.user.is_none() {
        return Err(Redirect::to(&format!("/login?next={}", viewer.path)).into_response());
    }
    header_of(state, viewer, name).await
}

/// What every contest page shows in its header.
async fn header_of(state: &AppState, viewer: &Viewer, name: &str) -> Result<Value, Response> {
    let a = get_json(state, viewer, &format!("/contests/{name}")).await;
    if a.ok() { Ok(a.body) } else { Err(failure(viewer, &a)) }
}

pub async fn contest(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let c = match header_of(&state, &viewer, &name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (phases, deadline) = timeline(&c, &state.now_text());
    let card = match state.contest(&name).await {
        Ok(Some(loaded)) => match state.public_file(&loaded, "README.md").await {
            Ok(path) => std::fs::read_to_string(path).map(|markdown| super::card::html(&markdown)).unwrap_or_default(),
            Err(_) => String::new(),
        },
        _ => String::new(),
    };
    render(
        &viewer,
        StatusCode::OK,
        "contest.html",
        json!({"contest": c, "phases": phases, "deadline": deadline, "card": card, "flash": flash(&f)}),
    )
}

/// A cached page, gzip-compressed when the browser accepts it.
fn html_response(page: &crate::state::CachedBoard, headers: &HeaderMap) -> Response {
    let gzip = !page.gzip.is_empty() && crate::api::accepts_gzip(headers);
    let mut response = if gzip { page.gzip.clone() } else { page.plain.clone() }.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::VARY, axum::http::HeaderValue::from_static("accept-encoding, cookie"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, axum::http::HeaderValue::from_static("gzip"));
    }
    response
}

/// How long a rendered leaderboard page's content is reused at most.
const PAGE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn leaderboard(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(f): Query<Flash>,
    headers: HeaderMap,
) -> Response {
    let private = f.board.as_deref() == Some("private");
    // The public board's content is the same for everyone: cached (the private one depends on
    // who looks, and is rarely looked at). For visitors who are not logged in the whole page
    // is the same too: cached whole, plain and gzip.
    // Staff see the live board during a freeze, everyone else the frozen one.
    let staff = viewer.user.as_ref().is_some_and(|u| u.role.staff());
    let key = format!("{name}|{}|{}|{staff}", f.phase.as_deref().unwrap_or(""), viewer.lang.code());
    let whole = viewer.user.is_none() && !private && f.msg.is_none() && f.error.is_none() && !viewer.lang_changed;
    let visitor_lookup = || {
        let pages = state.visitor_pages.lock().expect("the page cache lock is never poisoned");
        pages.get(&key).filter(|(at, _)| at.elapsed() < PAGE_TTL).map(|(_, page)| page.clone())
    };
    if let Some(page) = visitor_lookup().filter(|_| whole) {
        return html_response(&page, &headers);
    }
    let lookup = || {
        let pages = state.pages.lock().expect("the page cache lock is never poisoned");
        pages.get(&key).filter(|(at, _)| at.elapsed() < PAGE_TTL).map(|(_, page)| page.clone())
    };
    // Misses are built once: concurrent ones wait for that build instead of all building.
    let _building =
        if !private && (whole || lookup().is_none()) { Some(state.page_building.lock().await) } else { None };
    if let Some(page) = visitor_lookup().filter(|_| whole) {
        return html_response(&page, &headers);
    }
    let page = if let Some(page) = lookup().filter(|_| !private) {
        page
    } else {
        let generation = state.generation.load(std::sync::atomic::Ordering::SeqCst);
        let page = match board_page(&state, &viewer, &name, &f, private).await {
            Ok(p) => std::sync::Arc::new(p),
            Err(r) => return r,
        };
        if !private && state.generation.load(std::sync::atomic::Ordering::SeqCst) == generation {
            let entry = (std::time::Instant::now(), page.clone());
            state.pages.lock().expect("the page cache lock is never poisoned").insert(key.clone(), entry);
        }
        page
    };
    let (contest, body) = (&page.0, &page.1);
    // During the freeze a team still sees its own newest best score (the API's `own`).
    let own = if !private && viewer.role() == Some(Role::Competitor) && !contest["frozen_since"].is_null() {
        let mut path = format!("/contests/{name}/leaderboard?board=public");
        if let Some(p) = &f.phase {
            let _ = write!(path, "&phase={}", enc(p));
        }
        get_json(&state, &viewer, &path).await.body["own"].clone()
    } else {
        Value::Null
    };
    let shell = json!({"contest": contest, "body": body, "private": private, "own": own, "flash": flash(&f)});
    if whole {
        let generation = state.generation.load(std::sync::atomic::Ordering::SeqCst);
        if let Some(html) = super::render_html(&viewer, "leaderboard.html", shell.clone()) {
            let gzip = crate::api::gzip(html.as_bytes()).unwrap_or_default();
            let page = std::sync::Arc::new(crate::state::CachedBoard { plain: html.into(), gzip });
            if state.generation.load(std::sync::atomic::Ordering::SeqCst) == generation {
                let entry = (std::time::Instant::now(), page.clone());
                state.visitor_pages.lock().expect("the page cache lock is never poisoned").insert(key, entry);
            }
            return html_response(&page, &headers);
        }
    }
    render(&viewer, StatusCode::OK, "leaderboard.html", shell)
}

/// The contest's header and the rendered content of a leaderboard page.
async fn board_page(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    f: &Flash,
    private: bool,
) -> Result<(Value, String), Response> {
    let c = header_of(state, viewer, name).await?;
    let mut path = format!("/contests/{name}/leaderboard?board={}", if private { "private" } else { "public" });
    if let Some(p) = &f.phase {
        let _ = write!(path, "&phase={}", enc(p));
    }
    let a = get_json(state, viewer, &path).await;
    let (mut board, hidden) = allowed_or_hidden(viewer, a)?;
    // The private board carries each ranked team's rank uncertainty in its rows.
    let mut ranks = Value::Null;
    if private && !board.is_null() {
        let path =
            format!("/contests/{name}/rank-uncertainty?phase={}", enc(board["phase"].as_str().unwrap_or_default()));
        let u = get_json(state, viewer, &path).await;
        if u.ok() {
            ranks = u.body;
            let by_team: rustc_hash::FxHashMap<i64, &Value> = ranks["teams"]
                .as_array()
                .map(|t| t.iter().filter_map(|x| Some((x["team_id"].as_i64()?, x))).collect())
                .unwrap_or_default();
            if let Some(rows) = board["rows"].as_array_mut() {
                for row in rows {
                    if let Some(t) = row["team_id"].as_i64().and_then(|id| by_team.get(&id)) {
                        row["uncertainty"] = (*t).clone();
                    }
                }
            }
        }
    }
    let chart = if board.is_null() {
        String::new()
    } else {
        super::chart::top_teams(state, &c, &board, 8).await.unwrap_or_default()
    };
    let revealed = !c["revealed_at"].is_null();
    let context = json!({"lang": viewer.lang.code(), "contest": c, "board": board, "hidden": hidden, "private": private, "chart": chart, "ranks": ranks, "revealed": revealed});
    let body =
        super::environment().get_template("leaderboard_body.html").and_then(|t| t.render(&context)).map_err(|e| {
            tracing::error!("rendering leaderboard_body.html: {e:#}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })?;
    Ok((c, body))
}

pub async fn login_page(viewer: Viewer, Query(f): Query<Flash>) -> Response {
    render(
        &viewer,
        StatusCode::OK,
        "login.html",
        json!({"mode": "login", "next": safe_next(f.next.as_deref()), "flash": flash(&f)}),
    )
}

pub async fn signup_page(viewer: Viewer, Query(f): Query<Flash>) -> Response {
    render(
        &viewer,
        StatusCode::OK,
        "login.html",
        json!({"mode": "signup", "next": safe_next(f.next.as_deref()), "flash": flash(&f)}),
    )
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// Logs in through the API and hands its session cookie to the browser.
async fn session(state: &AppState, viewer: &Viewer, form: &Credentials, mode: &str) -> Response {
    let a = send_json(state, viewer, Method::POST, "/sessions", &json!({"name": form.name, "password": form.password}))
        .await;
    if !a.ok() {
        let mut page = render(
            viewer,
            a.status,
            "login.html",
            json!({"mode": mode, "next": safe_next(form.next.as_deref()), "name": form.name, "flash": {"error": a.message(viewer.lang)}}),
        );
        // A throttled login's page says the wait in words and in the header.
        if let Some(wait) = a.headers.get(header::RETRY_AFTER) {
            page.headers_mut().insert(header::RETRY_AFTER, wait.clone());
        }
        return page;
    }
    let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    if let Some(cookie) = a.headers.get(header::SET_COOKIE) {
        response.headers_mut().insert(header::SET_COOKIE, cookie.clone());
    }
    response
}

pub async fn log_in(State(state): State<AppState>, viewer: Viewer, Form(form): Form<Credentials>) -> Response {
    session(&state, &viewer, &form, "login").await
}

pub async fn sign_up(State(state): State<AppState>, viewer: Viewer, Form(form): Form<Credentials>) -> Response {
    let a = send_json(&state, &viewer, Method::POST, "/users", &json!({"name": form.name, "password": form.password}))
        .await;
    if !a.ok() {
        return render(
            &viewer,
            a.status,
            "login.html",
            json!({"mode": "signup", "next": safe_next(form.next.as_deref()), "name": form.name, "flash": {"error": a.message(viewer.lang)}}),
        );
    }
    session(&state, &viewer, &form, "signup").await
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(rename = "_csrf")]
    csrf: String,
}

pub async fn log_out(State(state): State<AppState>, viewer: Viewer, Form(form): Form<CsrfOnly>) -> Response {
    if let Err(r) = viewer.check(&form.csrf) {
        return r;
    }
    let a = super::api(&state, &viewer, Method::DELETE, "/sessions/current", Body::empty(), None).await;
    let mut response = Redirect::to("/").into_response();
    if let Some(cookie) = a.headers.get(header::SET_COOKIE) {
        response.headers_mut().insert(header::SET_COOKIE, cookie.clone());
    }
    response
}

pub async fn team(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    team_page(&state, &viewer, &name, &f, None).await
}

async fn team_page(state: &AppState, viewer: &Viewer, name: &str, f: &Flash, new_token: Option<Value>) -> Response {
    let c = match signed_in(state, viewer, name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mine = get_json(state, viewer, &format!("/contests/{name}/teams/mine")).await;
    let tokens = get_json(state, viewer, "/tokens").await;
    if !mine.ok() {
        return failure(viewer, &mine);
    }
    let chart = match mine.body["team"]["id"].as_i64() {
        Some(team) => super::chart::one_team(state, &c, team).await.unwrap_or_default(),
        None => String::new(),
    };
    render(
        viewer,
        StatusCode::OK,
        "team.html",
        json!({"contest": c, "mine": mine.body, "tokens": tokens.body["tokens"], "new_token": new_token, "chart": chart, "flash": flash(f)}),
    )
}

#[derive(Debug, Deserialize)]
pub struct TeamForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    id: Option<i64>,
}

pub async fn team_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<TeamForm>,
) -> Response {
    if let Err(r) = viewer.check(&form.csrf) {
        return r;
    }
    let here = format!("/contests/{name}/team");
    let id = form.id.unwrap_or_default();
    let a = match form.action.as_str() {
        "create" => {
            send_json(&state, &viewer, Method::POST, &format!("/contests/{name}/teams"), &json!({"name": form.name}))
                .await
        }
        "invite" => {
            send_json(
                &state,
                &viewer,
                Method::POST,
                &format!("/contests/{name}/teams/{id}/invites"),
                &json!({"user": form.user}),
            )
            .await
        }
        "accept" => {
            super::api(
                &state,
                &viewer,
                Method::POST,
                &format!("/contests/{name}/teams/{id}/accept"),
                Body::empty(),
                None,
            )
            .await
        }
        "token" => {
            let a = send_json(&state, &viewer, Method::POST, "/tokens", &json!({"name": form.name})).await;
            if a.ok() {
                // Shown once, on this page; never in a URL.
                return team_page(&state, &viewer, &name, &Flash::default(), Some(a.body)).await;
            }
            a
        }
        "revoke" => super::api(&state, &viewer, Method::DELETE, &format!("/tokens/{id}"), Body::empty(), None).await,
        _ => return StatusCode::BAD_REQUEST.into_response(),
    };
    done(&here, &viewer, &a)
}

pub async fn submit_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let c = match signed_in(&state, &viewer, &name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let quota = get_json(&state, &viewer, &format!("/contests/{name}/quota")).await;
    let (quota, need_team) = match quota.status {
        s if s.is_success() => (quota.body, false),
        StatusCode::FORBIDDEN => (Value::Null, viewer.role() == Some(Role::Competitor)),
        _ => return failure(&viewer, &quota),
    };
    render(
        &viewer,
        StatusCode::OK,
        "submit.html",
        json!({"contest": c, "quota": quota, "need_team": need_team, "flash": flash(&f)}),
    )
}

#[derive(Debug, Deserialize)]
pub struct CsrfQuery {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// The upload form: the multipart body goes to the API as it came (the CSRF token rides in the
/// form's action URL, because the API accepts only `file` and `description`).
pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(q): Query<CsrfQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = viewer.check(&q.csrf) {
        return r;
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let a = super::api(
        &state,
        &viewer,
        Method::POST,
        &format!("/contests/{name}/submissions"),
        body,
        content_type.as_deref(),
    )
    .await;
    match a.status {
        StatusCode::ACCEPTED => {
            back(&format!("/contests/{name}/submissions"), true, &format!("#{} queued", a.body["id"]))
        }
        StatusCode::UNPROCESSABLE_ENTITY => back(
            &format!("/contests/{name}/submissions"),
            false,
            &format!("#{}: {}", a.body["id"], a.body["message"].as_str().unwrap_or_default()),
        ),
        _ => back(&format!("/contests/{name}/submit"), false, &a.message(viewer.lang)),
    }
}

pub async fn submissions(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let c = match signed_in(&state, &viewer, &name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let list = get_json(&state, &viewer, &format!("/contests/{name}/submissions")).await;
    if !list.ok() {
        return failure(&viewer, &list);
    }
    let selections = get_json(&state, &viewer, &format!("/contests/{name}/selections")).await;
    render(
        &viewer,
        StatusCode::OK,
        "submissions.html",
        json!({"contest": c, "submissions": list.body["submissions"], "selections": selections.body, "flash": flash(&f)}),
    )
}

/// The final-selection form: checkboxes named `select_<id>`.
pub async fn select(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    if let Err(r) = viewer.check(form.get("_csrf").map_or("", String::as_str)) {
        return r;
    }
    let ids: Vec<i64> = form.keys().filter_map(|k| k.strip_prefix("select_")?.parse().ok()).collect();
    let a = send_json(
        &state,
        &viewer,
        Method::PUT,
        &format!("/contests/{name}/selections"),
        &json!({"submission_ids": ids}),
    )
    .await;
    let here = format!("/contests/{name}/submissions");
    done(&here, &viewer, &a)
}

pub async fn review(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(q): Query<Flash>,
) -> Response {
    let c = match staff_header(&state, &viewer, &name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let query = q.team.map(|t| format!("?team={t}")).unwrap_or_default();
    let list = get_json(&state, &viewer, &format!("/contests/{name}/submissions{query}")).await;
    let teams = get_json(&state, &viewer, &format!("/contests/{name}/teams")).await;
    let compare = match (q.a, q.b) {
        (Some(first), Some(second)) => {
            let answer = get_json(&state, &viewer, &format!("/contests/{name}/compare?a={first}&b={second}")).await;
            if answer.ok() { answer.body } else { json!({"error": answer.message(viewer.lang)}) }
        }
        _ => Value::Null,
    };
    render(
        &viewer,
        StatusCode::OK,
        "review.html",
        json!({"contest": c, "submissions": list.body["submissions"], "teams": teams.body["teams"], "team": q.team,
               "compare": compare, "a": q.a, "b": q.b, "flash": flash(&q)}),
    )
}

pub async fn review_one(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
    Query(f): Query<Flash>,
) -> Response {
    let c = match staff_header(&state, &viewer, &name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = get_json(&state, &viewer, &format!("/contests/{name}/submissions/{id}")).await;
    if !s.ok() {
        return failure(&viewer, &s);
    }
    let log = get_json(&state, &viewer, &format!("/audit?subject=submission:{id}")).await;
    let history: Vec<Value> = log.body["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let mut e = e.clone();
            e["detail"] = serde_json::from_str(e["detail"].as_str().unwrap_or("{}")).unwrap_or(Value::Null);
            e
        })
        .collect();
    // The last rescore's outcome: the newest score entry that carries the previous scores.
    let rescore = history
        .iter()
        .rev()
        .find(|e| e["action"] == "submission.score" && !e["detail"]["previous"].is_null())
        .map(|e| e["detail"].clone());
    render(
        &viewer,
        StatusCode::OK,
        "review_one.html",
        json!({"contest": c, "s": s.body, "history": history, "rescore": rescore, "flash": flash(&f)}),
    )
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    action: String,
    #[serde(default)]
    reason: String,
}

pub async fn review_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((name, id)): Path<(String, i64)>,
    Form(form): Form<ReviewForm>,
) -> Response {
    if let Err(r) = viewer.check(&form.csrf) {
        return r;
    }
    let here = format!("/contests/{name}/review/{id}");
    let path = format!("/contests/{name}/submissions/{id}/{}", form.action);
    let a = match form.action.as_str() {
        "rescore" => super::api(&state, &viewer, Method::POST, &path, Body::empty(), None).await,
        "disqualify" | "reinstate" => {
            send_json(&state, &viewer, Method::POST, &path, &json!({"reason": form.reason})).await
        }
        _ => return StatusCode::BAD_REQUEST.into_response(),
    };
    done(&here, &viewer, &a)
}

pub async fn audit(State(state): State<AppState>, viewer: Viewer) -> Response {
    let a = get_json(&state, &viewer, "/audit?limit=5000").await;
    if !a.ok() {
        return failure(&viewer, &a);
    }
    let mut entries: Vec<Value> = a.body["entries"].as_array().cloned().unwrap_or_default();
    entries.reverse();
    render(&viewer, StatusCode::OK, "audit.html", json!({"verification": a.body["verification"], "entries": entries}))
}

pub async fn console(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    if viewer.role() != Some(Role::Organizer) {
        return render(&viewer, StatusCode::NOT_FOUND, "error.html", json!({"status": 404}));
    }
    let c = match header_of(&state, &viewer, &name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (phases, _) = timeline(&c, &state.now_text());
    let throttles = get_json(&state, &viewer, "/throttles").await;
    if !throttles.ok() {
        return failure(&viewer, &throttles);
    }
    render(
        &viewer,
        StatusCode::OK,
        "console.html",
        json!({"contest": c, "phases": phases, "throttles": throttles.body["throttles"], "flash": flash(&f)}),
    )
}

#[derive(Debug, Deserialize)]
pub struct ConsoleForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    action: String,
    #[serde(default)]
    phase: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    daily: Option<u32>,
    #[serde(default)]
    total: Option<u32>,
    #[serde(default)]
    selections: Option<u32>,
    #[serde(default)]
    ladder: Option<String>,
    #[serde(default)]
    rubric_weight: Option<f64>,
    #[serde(default)]
    finalists: Option<u32>,
    #[serde(default)]
    freeze_days: Option<u32>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    /// A throttled key to lift: `account` or `address`, and its name.
    #[serde(default)]
    scope: String,
    #[serde(default)]
    key: String,
}

/// `2024-09-02 10:00` (Asia/Shanghai) as RFC 3339.
fn shanghai(s: &str) -> String {
    let s = s.trim().replace('T', " ");
    let with_seconds = if s.len() == 16 { format!("{s}:00") } else { s };
    format!("{}+08:00", with_seconds.replace(' ', "T"))
}

pub async fn console_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<ConsoleForm>,
) -> Response {
    if let Err(r) = viewer.check(&form.csrf) {
        return r;
    }
    let here = format!("/contests/{name}/console");
    let a = match form.action.as_str() {
        "phase" => {
            let body = json!({"starts_at": shanghai(&form.starts_at), "ends_at": shanghai(&form.ends_at)});
            send_json(&state, &viewer, Method::PUT, &format!("/contests/{name}/phases/{}", form.phase), &body).await
        }
        "settings" => {
            let body = json!({"daily_submissions": form.daily, "total_submissions": form.total,
                              "final_selections": form.selections, "ladder": form.ladder.as_deref() == Some("on"),
                              "rubric_weight": form.rubric_weight, "finalists": form.finalists,
                              "freeze_days": form.freeze_days});
            send_json(&state, &viewer, Method::PATCH, &format!("/contests/{name}"), &body).await
        }
        "reveal" => {
            super::api(&state, &viewer, Method::POST, &format!("/contests/{name}/reveal"), Body::empty(), None).await
        }
        "snapshot" => {
            send_json(&state, &viewer, Method::POST, &format!("/contests/{name}/snapshots"), &json!({})).await
        }
        "judge" => {
            send_json(
                &state,
                &viewer,
                Method::POST,
                "/users",
                &json!({"name": form.name, "password": form.password, "role": "judge"}),
            )
            .await
        }
        "lift" => {
            let path = format!("/throttles/{}/{}", enc(&form.scope), enc(&form.key));
            super::api(&state, &viewer, Method::DELETE, &path, Body::empty(), None).await
        }
        _ => return StatusCode::BAD_REQUEST.into_response(),
    };
    done(&here, &viewer, &a)
}

pub async fn final_ranking(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let c = match header_of(&state, &viewer, &name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let a = get_json(&state, &viewer, &format!("/contests/{name}/final")).await;
    let (body, hidden) = match allowed_or_hidden(&viewer, a) {
        Ok(x) => x,
        Err(r) => return r,
    };
    render(
        &viewer,
        StatusCode::OK,
        "final.html",
        json!({"contest": c, "final": body, "hidden": hidden, "flash": flash(&f)}),
    )
}

#[derive(Debug, Deserialize)]
pub struct RubricForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    team: i64,
    score: f64,
    #[serde(default)]
    comment: String,
}

pub async fn rubric(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<RubricForm>,
) -> Response {
    if let Err(r) = viewer.check(&form.csrf) {
        return r;
    }
    let body = json!({"score": form.score, "comment": form.comment});
    let a = send_json(&state, &viewer, Method::PUT, &format!("/contests/{name}/rubric/{}", form.team), &body).await;
    let here = format!("/contests/{name}/final");
    done(&here, &viewer, &a)
}

/// The judges' integrity report (organizers and judges; 404 for anyone else), with two plots.
pub async fn integrity(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let c = match staff_header(&state, &viewer, &name).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut path = format!("/contests/{name}/integrity");
    if let Some(p) = &f.phase {
        let _ = write!(path, "?phase={}", enc(p));
    }
    let a = get_json(&state, &viewer, &path).await;
    if !a.ok() {
        return failure(&viewer, &a);
    }
    let report = a.body;
    let t = |key: &str| super::text(key, viewer.lang);
    let ranks: Vec<super::chart::Dot> = report["agreement"]["points"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|p| {
                    Some(super::chart::Dot {
                        x: p["public_rank"].as_f64()?,
                        y: p["private_rank"].as_f64()?,
                        size: 1.0,
                        label: format!("{} {} → {}", p["team"].as_str()?, p["public_rank"], p["private_rank"]),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let probing: Vec<super::chart::Dot> = report["team_lines"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|p| {
                    let score = p["probing"].as_f64()?;
                    Some(super::chart::Dot {
                        x: p["submissions"].as_f64()?,
                        y: p["gap"].as_f64()?,
                        size: 1.0 + score.max(0.0).ln_1p(),
                        label: format!("{} · {} {score:.2}", p["team"].as_str()?, t("integrity_probing_score")),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let plots = json!({
        "ranks": super::chart::scatter(&ranks, &t("integrity_plot_ranks"), &t("integrity_public_rank"), &t("integrity_private_rank"), true),
        "probing": super::chart::scatter(&probing, &t("integrity_plot_probing"), &t("integrity_submissions"), &t("integrity_gap"), false),
    });
    render(&viewer, StatusCode::OK, "integrity.html", json!({"contest": c, "report": report, "plots": plots}))
}
