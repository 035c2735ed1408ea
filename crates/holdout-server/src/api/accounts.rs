//! Users, sessions, API tokens and teams.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{Caller, Client, JsonBody, Path, Role, SESSION_COOKIE, created, doc};
use crate::audit::Event;
use crate::auth;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use crate::state::AppState;
use crate::throttle::Scope;

/// A user name: 2–32 letters (any script), digits, `_`, `-` or `.`.
pub fn valid_user_name(name: &str) -> bool {
    let n = name.chars().count();
    (2..=32).contains(&n) && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A team name: 2–40 characters, no control characters, not blank at either end.
pub fn valid_team_name(name: &str) -> bool {
    let n = name.chars().count();
    (2..=40).contains(&n) && !name.chars().any(char::is_control) && name.trim() == name
}

/// Creates a user (the CLI's bootstrap and the API's sign-up). Returns the id.
pub async fn create_user(state: &AppState, name: &str, password: &str, role: Role, actor: &str) -> ApiResult<i64> {
    if !valid_user_name(name) {
        return Err(ApiError::bad_request("a user name is 2–32 letters, digits, `_`, `-` or `.`"));
    }
    if password.chars().count() < auth::MIN_PASSWORD {
        return Err(ApiError::bad_request(format!("a password has at least {} characters", auth::MIN_PASSWORD)));
    }
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    let now = state.now_text();
    let mut tx = crate::db::begin(&state.pool).await?;
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE name = $1").bind(name).fetch_optional(&mut *tx).await?;
    if taken.is_some() {
        return Err(ApiError::conflict(format!("the name `{name}` is taken")).code(ErrorCode::NameTaken));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (name, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(&hash)
    .bind(role.name())
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    db::append(
        &mut tx,
        Event {
            at: now,
            actor: actor.to_owned(),
            action: "user.create".into(),
            subject: format!("user:{name}"),
            detail: json!({"role": role.name()}).to_string(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Issues an API token for a user; returns (id, token). The token is shown once.
pub async fn issue_token(state: &AppState, user: i64, name: &str) -> ApiResult<(i64, String)> {
    let token = auth::token("hol")?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user)
    .bind(name)
    .bind(auth::digest(&token))
    .bind(state.now_text())
    .fetch_one(&state.pool)
    .await?;
    Ok((id, token))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    /// 2–32 letters (any script), digits, `_`, `-` or `.`.
    #[schema(min_length = 2, max_length = 32)]
    name: String,
    /// At least 10 characters.
    #[schema(min_length = 10)]
    password: String,
    /// Default `competitor`; other roles only for organizers.
    #[serde(default)]
    #[schema(value_type = Option<super::Role>)]
    role: Option<String>,
}

/// Anyone may sign up as a competitor; organizers may also create judges and organizers.
#[utoipa::path(
    post,
    path = "/users",
    tag = "accounts",
    request_body = SignUp,
    responses(
        (status = 201, description = "Created.", body = super::User),
        (status = 400, description = "Invalid name, password shorter than 10 characters, or unknown role.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not an organizer (for a role other than `competitor`), or a session without its CSRF header.", body = ErrorBody),
        (status = 409, description = "The name is taken (`name_taken`).", body = ErrorBody),
    )
)]
pub async fn sign_up(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<SignUp>,
) -> ApiResult<Response> {
    let role = match body.role.as_deref() {
        None | Some("competitor") => Role::Competitor,
        Some(r) => {
            let role = Role::parse(r).ok_or_else(|| ApiError::bad_request(format!("unknown role `{r}`")))?;
            caller.require(&[Role::Organizer])?;
            role
        }
    };
    let id = create_user(&state, &body.name, &body.password, role, &caller.actor()).await?;
    Ok(created(json!({"id": id, "name": body.name, "role": role})))
}

/// Who is calling (anyone logged in).
#[utoipa::path(
    get,
    path = "/users/me",
    tag = "accounts",
    responses(
        (status = 200, description = "The caller.", body = super::User),
        (status = 401, response = doc::Unauthorized),
    )
)]
pub async fn me(caller: Caller) -> ApiResult<Json<Value>> {
    let u = caller.user()?;
    Ok(Json(json!(u)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogIn {
    name: String,
    password: String,
}

/// Logs in with a password. Throttled per account and per address (`crate::throttle`): while
/// either is blocked the answer is 429 with `Retry-After`, whatever the password.
#[utoipa::path(
    post,
    path = "/sessions",
    tag = "accounts",
    request_body = LogIn,
    security(()),
    responses(
        (status = 201, description = "Logged in; `Set-Cookie` carries the session.", body = doc::Session, headers(("set-cookie" = String, description = "`holdout_session=…; Path=/; HttpOnly; SameSite=Lax; Max-Age=…`"))),
        (status = 401, description = "Wrong name or password (`bad_credentials`).", body = ErrorBody),
        (status = 429, description = "Too many failed logins from the account or the address (`throttled`); `Retry-After` says how long to wait.", body = ErrorBody, headers(("retry-after" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn log_in(
    State(state): State<AppState>,
    client: Client,
    JsonBody(body): JsonBody<LogIn>,
) -> ApiResult<Response> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    // A name no account can have is counted by address only (the table holds no junk names).
    let mut keys = vec![(Scope::Address, client.0.as_str())];
    if valid_user_name(&body.name) {
        keys.insert(0, (Scope::Account, body.name.as_str()));
    }
    super::refuse_if_blocked(&state, &keys).await?;
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, role, password_hash FROM users WHERE name = $1")
            .bind(&body.name)
            .fetch_optional(&state.pool)
            .await?;
    // Unknown names are verified against a hash too, so timing does not tell which exist.
    let stored = row.as_ref().map(|r| r.2.clone());
    let password = body.password.clone();
    let ok = tokio::task::spawn_blocking(move || {
        let phc = stored.unwrap_or_else(|| {
            DUMMY.get_or_init(|| auth::hash_password("holdout timing dummy").unwrap_or_default()).clone()
        });
        auth::verify_password(&password, &phc)
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let Some((id, role, _)) = row.filter(|_| ok) else {
        let refused = ApiError::unauthorized("wrong name or password").code(ErrorCode::BadCredentials);
        return Err(super::count_failure(&state, &keys, refused).await);
    };
    db::throttle::clear(&state.pool, Scope::Account, &body.name).await?;
    let (token, csrf) = (auth::token("ses")?, auth::token("csrf")?);
    let now = state.now();
    let expires = crate::time::text(now + chrono::Duration::hours(state.config.session_hours));
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(auth::digest(&token))
    .bind(id)
    .bind(&csrf)
    .bind(crate::time::text(now))
    .bind(&expires)
    .execute(&state.pool)
    .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        state.config.session_hours * 3600,
        if state.config.secure_cookies { "; Secure" } else { "" }
    );
    let body = json!({"user": {"id": id, "name": body.name, "role": role}, "csrf_token": csrf, "expires_at": expires});
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(&e))?);
    Ok(response)
}

/// Ends the caller's session (a session cookie is needed) and clears the cookie.
#[utoipa::path(
    delete,
    path = "/sessions/current",
    tag = "accounts",
    security(("cookieAuth" = [], "csrfToken" = [])),
    responses(
        (status = 204, description = "Logged out; the cookie is cleared."),
        (status = 400, description = "Not logged in with a session cookie.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
    )
)]
pub async fn log_out(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    caller.user()?;
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(&format!("{SESSION_COOKIE}=")).map(str::to_owned))
        .ok_or_else(|| ApiError::bad_request("not logged in with a session cookie"))?;
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(auth::digest(&token)).execute(&state.pool).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("holdout_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(response)
}

/// The caller's API tokens (not their secrets).
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "accounts",
    responses(
        (status = 200, description = "The caller's tokens.", body = doc::TokenList),
        (status = 401, response = doc::Unauthorized),
    )
)]
pub async fn tokens(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let u = caller.user()?;
    let rows: Vec<(i64, String, String, Option<String>)> =
        sqlx::query_as("SELECT id, name, created_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id")
            .bind(u.id)
            .fetch_all(&state.pool)
            .await?;
    let list: Vec<Value> = rows
        .into_iter()
        .map(|(id, name, c, r)| json!({"id": id, "name": name, "created_at": c, "revoked_at": r}))
        .collect();
    Ok(Json(json!({"tokens": list})))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// 1–64 characters, not blank.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    name: String,
}

/// Issues an API token for the caller; the secret is shown only in this answer.
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "accounts",
    request_body = NewToken,
    responses(
        (status = 201, description = "Issued.", body = doc::NewApiToken),
        (status = 400, description = "A name that is blank or longer than 64 characters.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
    )
)]
pub async fn new_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewToken>,
) -> ApiResult<Response> {
    let u = caller.user()?;
    if body.name.trim().is_empty() || body.name.chars().count() > 64 {
        return Err(ApiError::bad_request("a token's name is 1–64 characters"));
    }
    let (id, token) = issue_token(&state, u.id, &body.name).await?;
    Ok(created(json!({"id": id, "name": body.name, "token": token})))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "accounts",
    params(doc::params::TokenPath),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, response = doc::Unauthorized),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn revoke_token(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    let u = caller.user()?;
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(state.now_text())
            .bind(id)
            .bind(u.id)
            .execute(&state.pool)
            .await?
            .rows_affected();
    if done == 0 {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A counted login key as organizers see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Throttle {
    /// `account` (a name someone tried) or `address` (a client address; IPv6 by /64).
    pub scope: String,
    pub name: String,
    /// Failed logins (or unknown API tokens) in a row.
    pub failures: i64,
    pub last_failure_at: String,
    /// Attempts are refused until then; `null` when not blocked now.
    pub blocked_until: Option<String>,
    /// Seconds until then (what `Retry-After` says); `null` when not blocked now.
    pub retry_after: Option<u64>,
}

/// The list of counted keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct Throttles {
    pub throttles: Vec<Throttle>,
}

/// Every account and address with failed logins, blocked ones first (organizers).
#[utoipa::path(
    get,
    path = "/throttles",
    tag = "accounts",
    responses(
        (status = 200, description = "The counted keys.", body = Throttles),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not an organizer.", body = ErrorBody),
    )
)]
pub async fn throttles(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Throttles>> {
    caller.require(&[Role::Organizer])?;
    let now = state.now();
    let throttles = db::throttle::list(&state.pool)
        .await?
        .into_iter()
        .map(|c| {
            let until = c.blocked_until.as_deref().and_then(crate::time::parse).filter(|u| *u > now);
            Throttle {
                scope: c.scope,
                name: c.name,
                failures: c.failures,
                last_failure_at: c.last_failure_at,
                blocked_until: until.map(crate::time::text),
                retry_after: until.map(|u| crate::throttle::retry_after(u, now)),
            }
        })
        .collect();
    Ok(Json(Throttles { throttles }))
}

/// Lifts a block and forgets the key's failures (organizers), audited as
/// `session.throttle_lift`.
#[utoipa::path(
    delete,
    path = "/throttles/{scope}/{name}",
    tag = "accounts",
    params(
        ("scope" = String, Path, description = "`account` or `address`."),
        ("name" = String, Path, description = "The account name or the address key."),
    ),
    responses(
        (status = 204, description = "Lifted."),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not an organizer.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn lift_throttle(
    State(state): State<AppState>,
    caller: Caller,
    Path((scope, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.require(&[Role::Organizer])?;
    let scope = Scope::parse(&scope).ok_or_else(ApiError::not_found)?;
    let event = Event {
        at: state.now_text(),
        actor: caller.actor(),
        action: "session.throttle_lift".into(),
        subject: format!("{}:{name}", scope.name()),
        detail: json!({}).to_string(),
    };
    if db::throttle::lift(&state.pool, scope, &name, event).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

/// The contest's id and team size limit, or 404.
pub(super) async fn contest_row(state: &AppState, name: &str) -> ApiResult<(i64, i64)> {
    sqlx::query_as("SELECT id, team_max_size FROM contests WHERE name = $1")
        .bind(name)
        .fetch_optional(&state.pool)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The caller's team in a contest.
pub(super) async fn team_of(state: &AppState, contest: i64, user: i64) -> ApiResult<Option<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.name FROM members m JOIN teams t ON t.id = m.team_id WHERE m.contest_id = $1 AND m.user_id = $2",
    )
    .bind(contest)
    .bind(user)
    .fetch_optional(&state.pool)
    .await?)
}

/// The contest's teams (anyone).
#[utoipa::path(
    get,
    path = "/contests/{contest}/teams",
    tag = "teams",
    params(doc::params::ContestPath),
    responses(
        (status = 200, description = "The teams.", body = doc::TeamList),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn teams(State(state): State<AppState>, Path(contest): Path<String>) -> ApiResult<Json<Value>> {
    let (id, _) = contest_row(&state, &contest).await?;
    let rows: Vec<(i64, String, crate::db::Flag, i64)> = sqlx::query_as(
        "SELECT t.id, t.name, CAST(t.baseline AS INTEGER), (SELECT COUNT(*) FROM members m WHERE m.team_id = t.id) FROM teams t \
         WHERE t.contest_id = $1 ORDER BY t.id",
    )
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let list: Vec<Value> = rows
        .into_iter()
        .map(|(id, name, b, n)| json!({"id": id, "name": name, "baseline": b.0, "members": n}))
        .collect();
    Ok(Json(json!({"teams": list})))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// 2–40 characters, no control characters, no leading or trailing spaces.
    #[schema(
        min_length = 2,
        max_length = 40,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\s](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f\s])?$"
    )]
    name: String,
}

async fn audit(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    actor: &str,
    action: &str,
    subject: String,
    detail: Value,
) -> ApiResult<()> {
    db::append(
        tx,
        Event {
            at: state.now_text(),
            actor: actor.to_owned(),
            action: action.into(),
            subject,
            detail: detail.to_string(),
        },
    )
    .await?;
    Ok(())
}

/// Creates a team with the caller as its first member (competitors without a team).
#[utoipa::path(
    post,
    path = "/contests/{contest}/teams",
    tag = "teams",
    params(doc::params::ContestPath),
    request_body = NewTeam,
    responses(
        (status = 201, description = "Created.", body = doc::CreatedTeam),
        (status = 400, description = "An invalid team name.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a competitor.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 409, description = "The caller is in a team already (`already_in_team`), or the name is taken (`name_taken`).", body = ErrorBody),
    )
)]
pub async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
    JsonBody(body): JsonBody<NewTeam>,
) -> ApiResult<Response> {
    let u = caller.require(&[Role::Competitor])?.clone();
    let (cid, _) = contest_row(&state, &contest).await?;
    if !valid_team_name(&body.name) {
        return Err(ApiError::bad_request("a team name is 2–40 characters without control characters or outer spaces"));
    }
    let mut tx = crate::db::begin(&state.pool).await?;
    if team_of(&state, cid, u.id).await?.is_some() {
        return Err(ApiError::conflict("you are already in a team of this contest").code(ErrorCode::AlreadyInTeam));
    }
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE contest_id = $1 AND name = $2")
        .bind(cid)
        .bind(&body.name)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(ApiError::conflict(format!("a team named `{}` exists", body.name)).code(ErrorCode::NameTaken));
    }
    let now = state.now_text();
    let id: i64 =
        sqlx::query_scalar("INSERT INTO teams (contest_id, name, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(cid)
            .bind(&body.name)
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("INSERT INTO members (contest_id, user_id, team_id, joined_at) VALUES ($1, $2, $3, $4)")
        .bind(cid)
        .bind(u.id)
        .bind(id)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    audit(
        &state,
        &mut tx,
        &caller.actor(),
        "team.create",
        format!("team:{id}"),
        json!({"contest": contest, "name": body.name}),
    )
    .await?;
    tx.commit().await?;
    state.invalidate(cid);
    Ok(created(json!({"id": id, "name": body.name, "members": [u.name]})))
}

/// The caller's team in the contest and the invites they received (anyone logged in).
#[utoipa::path(
    get,
    path = "/contests/{contest}/teams/mine",
    tag = "teams",
    params(doc::params::ContestPath),
    responses(
        (status = 200, description = "The caller's team.", body = doc::MyTeam),
        (status = 401, response = doc::Unauthorized),
        (status = 404, response = doc::NotFound),
    )
)]
pub async fn my_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(contest): Path<String>,
) -> ApiResult<Json<Value>> {
    let u = caller.user()?;
    let (cid, max) = contest_row(&state, &contest).await?;
    let received: Vec<(i64, String)> = sqlx::query_as(
        "SELECT t.id, t.name FROM invites i JOIN teams t ON t.id = i.team_id WHERE i.user_id = $1 AND t.contest_id = $2 ORDER BY t.id",
    )
    .bind(u.id)
    .bind(cid)
    .fetch_all(&state.pool)
    .await?;
    let received: Vec<Value> = received.into_iter().map(|(id, name)| json!({"team_id": id, "team": name})).collect();
    let Some((tid, name)) = team_of(&state, cid, u.id).await? else {
        return Ok(Json(json!({"team": null, "invites_received": received, "max_size": max})));
    };
    let members: Vec<String> = sqlx::query_scalar(
        "SELECT u.name FROM members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY m.joined_at, u.id",
    )
    .bind(tid)
    .fetch_all(&state.pool)
    .await?;
    let sent: Vec<String> = sqlx::query_scalar(
        "SELECT u.name FROM invites i JOIN users u ON u.id = i.user_id WHERE i.team_id = $1 ORDER BY u.name",
    )
    .bind(tid)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(json!({
        "team": {"id": tid, "name": name, "members": members, "invites_sent": sent},
        "invites_received": received,
        "max_size": max,
    })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    /// The invitee's user name (a competitor).
    user: String,
}

/// Invites a competitor to the caller's team (its members).
#[utoipa::path(
    post,
    path = "/contests/{contest}/teams/{team}/invites",
    tag = "teams",
    params(doc::params::TeamPath),
    request_body = Invite,
    responses(
        (status = 201, description = "Invited.", body = doc::TeamMembership),
        (status = 400, description = "No such user, or not a competitor.", body = ErrorBody),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a competitor.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 409, description = "Already in a team (`already_in_team`), the team is full (`team_full`), or already invited.", body = ErrorBody),
    )
)]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Path((contest, team)): Path<(String, i64)>,
    JsonBody(body): JsonBody<Invite>,
) -> ApiResult<Response> {
    let u = caller.require(&[Role::Competitor])?.clone();
    let (cid, max) = contest_row(&state, &contest).await?;
    if team_of(&state, cid, u.id).await?.map(|t| t.0) != Some(team) {
        return Err(ApiError::not_found());
    }
    let mut tx = crate::db::begin(&state.pool).await?;
    let invitee: Option<(i64, String)> =
        sqlx::query_as("SELECT id, role FROM users WHERE name = $1").bind(&body.user).fetch_optional(&mut *tx).await?;
    let Some((iid, role)) = invitee else { return Err(ApiError::bad_request(format!("no user `{}`", body.user))) };
    if role != "competitor" {
        return Err(ApiError::bad_request(format!("`{}` is not a competitor", body.user)));
    }
    if team_of(&state, cid, iid).await?.is_some() {
        return Err(ApiError::conflict(format!("`{}` is already in a team of this contest", body.user))
            .code(ErrorCode::AlreadyInTeam));
    }
    let size: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE team_id = $1").bind(team).fetch_one(&mut *tx).await?;
    if size >= max {
        return Err(ApiError::conflict(format!("the team is full ({max} members at most)")).code(ErrorCode::TeamFull));
    }
    let exists: Option<i64> = sqlx::query_scalar("SELECT user_id FROM invites WHERE team_id = $1 AND user_id = $2")
        .bind(team)
        .bind(iid)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(ApiError::conflict(format!("`{}` is already invited", body.user)));
    }
    sqlx::query("INSERT INTO invites (team_id, user_id, invited_by, created_at) VALUES ($1, $2, $3, $4)")
        .bind(team)
        .bind(iid)
        .bind(u.id)
        .bind(state.now_text())
        .execute(&mut *tx)
        .await?;
    audit(&state, &mut tx, &caller.actor(), "team.invite", format!("team:{team}"), json!({"user": body.user})).await?;
    tx.commit().await?;
    Ok(created(json!({"team_id": team, "user": body.user})))
}

/// Accepts an invite to a team (the invitee).
#[utoipa::path(
    post,
    path = "/contests/{contest}/teams/{team}/accept",
    tag = "teams",
    params(doc::params::TeamPath),
    responses(
        (status = 200, description = "Joined.", body = doc::TeamMembership),
        (status = 401, response = doc::Unauthorized),
        (status = 403, description = "Not a competitor.", body = ErrorBody),
        (status = 404, response = doc::NotFound),
        (status = 409, description = "Already in a team (`already_in_team`), or the team is full (`team_full`).", body = ErrorBody),
    )
)]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Path((contest, team)): Path<(String, i64)>,
) -> ApiResult<Json<Value>> {
    let u = caller.require(&[Role::Competitor])?.clone();
    let (cid, max) = contest_row(&state, &contest).await?;
    let mut tx = crate::db::begin(&state.pool).await?;
    let invited: Option<i64> = sqlx::query_scalar(
        "SELECT i.team_id FROM invites i JOIN teams t ON t.id = i.team_id WHERE i.team_id = $1 AND i.user_id = $2 AND t.contest_id = $3",
    )
    .bind(team)
    .bind(u.id)
    .bind(cid)
    .fetch_optional(&mut *tx)
    .await?;
    if invited.is_none() {
        return Err(ApiError::not_found());
    }
    if team_of(&state, cid, u.id).await?.is_some() {
        return Err(ApiError::conflict("you are already in a team of this contest").code(ErrorCode::AlreadyInTeam));
    }
    let size: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE team_id = $1").bind(team).fetch_one(&mut *tx).await?;
    if size >= max {
        return Err(ApiError::conflict(format!("the team is full ({max} members at most)")).code(ErrorCode::TeamFull));
    }
    sqlx::query("DELETE FROM invites WHERE team_id = $1 AND user_id = $2")
        .bind(team)
        .bind(u.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO members (contest_id, user_id, team_id, joined_at) VALUES ($1, $2, $3, $4)")
        .bind(cid)
        .bind(u.id)
        .bind(team)
        .bind(state.now_text())
        .execute(&mut *tx)
        .await?;
    audit(&state, &mut tx, &caller.actor(), "team.join", format!("team:{team}"), json!({"user": u.name})).await?;
    tx.commit().await?;
    Ok(Json(json!({"team_id": team, "user": u.name})))
}
