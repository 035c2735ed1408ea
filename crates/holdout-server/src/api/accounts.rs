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
    if db::accounts::user_id_in(&mut tx, name).await?.is_some() {
        return Err(ApiError::conflict(format!("the name `{name}` is taken")).code(ErrorCode::NameTaken));
    }
    let id = db::accounts::insert_user(&mut tx, name, &hash, role.name(), &now).await?;
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
    let id = db::accounts::insert_token(&state.pool, user, name, &auth::digest(&token), &state.now_text()).await?;
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
    let row = db::accounts::credentials(&state.pool, &body.name).await?;
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
    let session = db::accounts::NewSession {
        token_hash: &auth::digest(&token),
        user: id,
        csrf_token: &csrf,
        created_at: &crate::time::text(now),
        expires_at: &expires,
    };
    db::accounts::insert_session(&state.pool, &session).await?;
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
    db::accounts::delete_session(&state.pool, &auth::digest(&token)).await?;
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
    let rows = db::accounts::tokens(&state.pool, u.id).await?;
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
    if !db::accounts::revoke_token(&state.pool, id, u.id, &state.now_text()).await? {
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
    db::contests::team_limit(&state.pool, name).await?.ok_or_else(ApiError::not_found)
}

/// The caller's team in a contest.
pub(super) async fn team_of(state: &AppState, contest: i64, user: i64) -> ApiResult<Option<(i64, String)>> {
    Ok(db::accounts::team_of(&state.pool, contest, user).await?)
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
    let rows = db::accounts::teams(&state.pool, id).await?;
    let list: Vec<Value> =
        rows.into_iter().map(|(id, name, b, n)| json!({"id": id, "name": name, "baseline": b, "members": n})).collect();
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
    if db::accounts::team_of(&mut *tx, cid, u.id).await?.is_some() {
        return Err(ApiError::conflict("you are already in a team of this contest").code(ErrorCode::AlreadyInTeam));
    }
    if db::accounts::team_named(&mut tx, cid, &body.name).await?.is_some() {
        return Err(ApiError::conflict(format!("a team named `{}` exists", body.name)).code(ErrorCode::NameTaken));
    }
    let now = state.now_text();
    let id = db::accounts::insert_team(&mut tx, cid, &body.name, &now).await?;
    db::accounts::insert_member(&mut tx, cid, u.id, id, &now).await?;
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
    let received = db::accounts::invites_received(&state.pool, u.id, cid).await?;
    let received: Vec<Value> = received.into_iter().map(|(id, name)| json!({"team_id": id, "team": name})).collect();
    let Some((tid, name)) = team_of(&state, cid, u.id).await? else {
        return Ok(Json(json!({"team": null, "invites_received": received, "max_size": max})));
    };
    let members = db::accounts::member_names(&state.pool, tid).await?;
    let sent = db::accounts::invites_sent(&state.pool, tid).await?;
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
    let mut tx = crate::db::begin(&state.pool).await?;
    if db::accounts::team_of(&mut *tx, cid, u.id).await?.map(|t| t.0) != Some(team) {
        return Err(ApiError::not_found());
    }
    let invitee = db::accounts::user_role(&mut tx, &body.user).await?;
    let Some((iid, role)) = invitee else { return Err(ApiError::bad_request(format!("no user `{}`", body.user))) };
    if role != "competitor" {
        return Err(ApiError::bad_request(format!("`{}` is not a competitor", body.user)));
    }
    if db::accounts::team_of(&mut *tx, cid, iid).await?.is_some() {
        return Err(ApiError::conflict(format!("`{}` is already in a team of this contest", body.user))
            .code(ErrorCode::AlreadyInTeam));
    }
    let size = db::accounts::team_size(&mut tx, team).await?;
    if size >= max {
        return Err(ApiError::conflict(format!("the team is full ({max} members at most)")).code(ErrorCode::TeamFull));
    }
    if db::accounts::invited(&mut tx, team, iid).await? {
        return Err(ApiError::conflict(format!("`{}` is already invited", body.user)));
    }
    db::accounts::insert_invite(&mut tx, team, iid, u.id, &state.now_text()).await?;
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
    if !db::accounts::invited_in(&mut tx, team, u.id, cid).await? {
        return Err(ApiError::not_found());
    }
    if db::accounts::team_of(&mut *tx, cid, u.id).await?.is_some() {
        return Err(ApiError::conflict("you are already in a team of this contest").code(ErrorCode::AlreadyInTeam));
    }
    let size = db::accounts::team_size(&mut tx, team).await?;
    if size >= max {
        return Err(ApiError::conflict(format!("the team is full ({max} members at most)")).code(ErrorCode::TeamFull));
    }
    db::accounts::delete_invite(&mut tx, team, u.id).await?;
    db::accounts::insert_member(&mut tx, cid, u.id, team, &state.now_text()).await?;
    audit(&state, &mut tx, &caller.actor(), "team.join", format!("team:{team}"), json!({"user": u.name})).await?;
    tx.commit().await?;
    Ok(Json(json!({"team_id": team, "user": u.name})))
}
