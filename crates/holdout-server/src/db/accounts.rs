//! Users, sessions, API tokens, teams, members and invites.

use sqlx::AnyPool;

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
