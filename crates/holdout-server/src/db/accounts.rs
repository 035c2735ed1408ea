//! Users, sessions, API tokens, teams, members and invites.

use sqlx::{AnyConnection, AnyPool};

use super::DbError;

/// The id of the user with this name.
pub async fn user_id(pool: &AnyPool, name: &str) -> Result<Option<i64>, DbError> {
    Ok(sqlx::query_scalar("SELECT id FROM users WHERE name = $1").bind(name).fetch_optional(pool).await?)
}

/// The user an API token (by its SHA-256) belongs to, unless revoked: (id, name, role).
pub async fn token_user(pool: &AnyPool, token_hash: &str) -> Result<Option<(i64, String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?)
}

/// A session (by its token's SHA-256) and its user: (user id, name, role, CSRF token, expiry).
pub async fn session_user(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<(i64, String, String, String, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.name, u.role, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?)
}

/// The id of the user with this name, inside a transaction (sign-up's check that the name is
/// free).
pub async fn user_id_in(conn: &mut AnyConnection, name: &str) -> Result<Option<i64>, DbError> {
    Ok(sqlx::query_scalar("SELECT id FROM users WHERE name = $1").bind(name).fetch_optional(conn).await?)
}

/// Inserts a user (the password's PHC hash, the role's name); returns its id.
pub async fn insert_user(
    conn: &mut AnyConnection,
    name: &str,
    password_hash: &str,
    role: &str,
    now: &str,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO users (name, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(password_hash)
    .bind(role)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// The user with this name and what logging in checks: (id, role, password hash).
pub async fn credentials(pool: &AnyPool, name: &str) -> Result<Option<(i64, String, String)>, DbError> {
    Ok(sqlx::query_as("SELECT id, role, password_hash FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?)
}

/// The id and role of the user with this name, inside a transaction (an invite's invitee).
pub async fn user_role(conn: &mut AnyConnection, name: &str) -> Result<Option<(i64, String)>, DbError> {
    Ok(sqlx::query_as("SELECT id, role FROM users WHERE name = $1").bind(name).fetch_optional(conn).await?)
}

/// Inserts an API token (by its SHA-256) for a user; returns its id.
pub async fn insert_token(pool: &AnyPool, user: i64, name: &str, token_hash: &str, now: &str) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user)
    .bind(name)
    .bind(token_hash)
    .bind(now)
    .fetch_one(pool)
    .await?)
}

/// A user's API tokens, oldest first: (id, name, created at, revoked at).
pub async fn tokens(pool: &AnyPool, user: i64) -> Result<Vec<(i64, String, String, Option<String>)>, DbError> {
    Ok(sqlx::query_as("SELECT id, name, created_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id")
        .bind(user)
        .fetch_all(pool)
        .await?)
}

/// Revokes a user's API token unless revoked already; whether one was.
pub async fn revoke_token(pool: &AnyPool, id: i64, user: i64, now: &str) -> Result<bool, DbError> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .bind(user)
            .execute(pool)
            .await?
            .rows_affected();
    Ok(done > 0)
}

/// A session's row.
#[derive(Debug)]
pub struct NewSession<'a> {
    /// The session token's SHA-256.
    pub token_hash: &'a str,
    pub user: i64,
    pub csrf_token: &'a str,
    pub created_at: &'a str,
    pub expires_at: &'a str,
}

/// Inserts a session.
pub async fn insert_session(pool: &AnyPool, s: &NewSession<'_>) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(s.token_hash)
    .bind(s.user)
    .bind(s.csrf_token)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes a session (by its token's SHA-256).
pub async fn delete_session(pool: &AnyPool, token_hash: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
    Ok(())
}

/// A user's team in a contest: (id, name).
pub async fn team_of<'e>(
    conn: impl sqlx::Executor<'e, Database = sqlx::Any>,
    contest: i64,
    user: i64,
) -> Result<Option<(i64, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.name FROM members m JOIN teams t ON t.id = m.team_id WHERE m.contest_id = $1 AND m.user_id = $2",
    )
    .bind(contest)
    .bind(user)
    .fetch_optional(conn)
    .await?)
}

/// A contest's teams in creation order: (id, name, baseline, number of members).
pub async fn teams(pool: &AnyPool, contest: i64) -> Result<Vec<(i64, String, bool, i64)>, DbError> {
    let rows: Vec<(i64, String, super::Flag, i64)> = sqlx::query_as(
        "SELECT t.id, t.name, CAST(t.baseline AS INTEGER), (SELECT COUNT(*) FROM members m WHERE m.team_id = t.id) FROM teams t \
         WHERE t.contest_id = $1 ORDER BY t.id",
    )
    .bind(contest)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id, name, b, n)| (id, name, b.0, n)).collect())
}

/// The id of a contest's team with this name, inside a transaction.
pub async fn team_named(conn: &mut AnyConnection, contest: i64, name: &str) -> Result<Option<i64>, DbError> {
    Ok(sqlx::query_scalar("SELECT id FROM teams WHERE contest_id = $1 AND name = $2")
        .bind(contest)
        .bind(name)
        .fetch_optional(conn)
        .await?)
}

/// Inserts a team; returns its id.
pub async fn insert_team(conn: &mut AnyConnection, contest: i64, name: &str, now: &str) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("INSERT INTO teams (contest_id, name, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(contest)
        .bind(name)
        .bind(now)
        .fetch_one(conn)
        .await?)
}

/// Makes a user a member of a contest's team.
pub async fn insert_member(
    conn: &mut AnyConnection,
    contest: i64,
    user: i64,
    team: i64,
    now: &str,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO members (contest_id, user_id, team_id, joined_at) VALUES ($1, $2, $3, $4)")
        .bind(contest)
        .bind(user)
        .bind(team)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// The number of a team's members, inside a transaction.
pub async fn team_size(conn: &mut AnyConnection, team: i64) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE team_id = $1").bind(team).fetch_one(conn).await?)
}

/// The names of a team's members, in the order they joined.
pub async fn member_names(pool: &AnyPool, team: i64) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT u.name FROM members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY m.joined_at, u.id",
    )
    .bind(team)
    .fetch_all(pool)
    .await?)
}

/// The teams of a contest that invited a user: (team id, team name).
pub async fn invites_received(pool: &AnyPool, user: i64, contest: i64) -> Result<Vec<(i64, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.name FROM invites i JOIN teams t ON t.id = i.team_id WHERE i.user_id = $1 AND t.contest_id = $2 ORDER BY t.id",
    )
    .bind(user)
    .bind(contest)
    .fetch_all(pool)
    .await?)
}

/// The names of the users a team invited, by name.
pub async fn invites_sent(pool: &AnyPool, team: i64) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT u.name FROM invites i JOIN users u ON u.id = i.user_id WHERE i.team_id = $1 ORDER BY u.name",
    )
    .bind(team)
    .fetch_all(pool)
    .await?)
}

/// Whether a team invited a user, inside a transaction.
pub async fn invited(conn: &mut AnyConnection, team: i64, user: i64) -> Result<bool, DbError> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT user_id FROM invites WHERE team_id = $1 AND user_id = $2")
        .bind(team)
        .bind(user)
        .fetch_optional(conn)
        .await?;
    Ok(exists.is_some())
}

/// Whether a team of this contest invited a user, inside a transaction.
pub async fn invited_in(conn: &mut AnyConnection, team: i64, user: i64, contest: i64) -> Result<bool, DbError> {
    let invited: Option<i64> = sqlx::query_scalar(
        "SELECT i.team_id FROM invites i JOIN teams t ON t.id = i.team_id WHERE i.team_id = $1 AND i.user_id = $2 AND t.contest_id = $3",
    )
    .bind(team)
    .bind(user)
    .bind(contest)
    .fetch_optional(conn)
    .await?;
    Ok(invited.is_some())
}

/// Records a team's invite of a user.
pub async fn insert_invite(
    conn: &mut AnyConnection,
    team: i64,
    user: i64,
    invited_by: i64,
    now: &str,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO invites (team_id, user_id, invited_by, created_at) VALUES ($1, $2, $3, $4)")
        .bind(team)
        .bind(user)
        .bind(invited_by)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a team's invite of a user.
pub async fn delete_invite(conn: &mut AnyConnection, team: i64, user: i64) -> Result<(), DbError> {
    sqlx::query("DELETE FROM invites WHERE team_id = $1 AND user_id = $2").bind(team).bind(user).execute(conn).await?;
    Ok(())
}

/// Why a team is disqualified; `None` when it is not.
pub async fn team_disqualified(pool: &AnyPool, team: i64) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar("SELECT disqualified_reason FROM teams WHERE id = $1").bind(team).fetch_one(pool).await?)
}

/// Disqualifies a contest's team for `reason`, or reinstates it with `None` (inside the
/// caller's transaction, which audits it); whether the contest has that team.
pub async fn set_team_disqualified(
    conn: &mut AnyConnection,
    contest: i64,
    team: i64,
    reason: Option<&str>,
) -> Result<bool, DbError> {
    let done = sqlx::query("UPDATE teams SET disqualified_reason = $1 WHERE id = $2 AND contest_id = $3")
        .bind(reason)
        .bind(team)
        .bind(contest)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(done > 0)
}
