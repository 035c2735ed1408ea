//! What rank uncertainty reads and keeps: the contest's bootstrap seed, the files of a board's
//! submissions, and the computed result per phase (`rank_uncertainty`), with the hash of the
//! inputs it was computed from.

use sqlx::{AnyPool, Row};

use super::DbError;

/// The contest's bootstrap seed (every replicate of every score of the contest is drawn from it).
pub async fn seed(pool: &AnyPool, contest: i64) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("SELECT bootstrap_seed FROM contests WHERE id = $1").bind(contest).fetch_one(pool).await?)
}

/// The SHA-256 of each of the contest's submissions `ids` (in the order given; a submission of
/// another contest or none is left out).
pub async fn files(pool: &AnyPool, contest: i64, ids: &[i64]) -> Result<Vec<(i64, String)>, DbError> {
    let mut out = Vec::with_capacity(ids.len());
    let mut conn = pool.acquire().await?;
    for &id in ids {
        let sha: Option<String> =
            sqlx::query_scalar("SELECT sha256 FROM submissions WHERE id = $1 AND contest_id = $2")
                .bind(id)
                .bind(contest)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(sha) = sha {
            out.push((id, sha));
        }
    }
    Ok(out)
}

/// The kept result of a phase, if it was computed from `inputs` (their SHA-256).
pub async fn cached(pool: &AnyPool, contest: i64, phase: &str, inputs: &str) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT inputs_sha256, result FROM rank_uncertainty WHERE contest_id = $1 AND phase = $2")
        .bind(contest)
        .bind(phase)
        .fetch_optional(pool)
        .await?;
    Ok(row.filter(|r| r.get::<String, _>("inputs_sha256") == inputs).map(|r| r.get("result")))
}

/// Keeps a phase's result (replacing an earlier one).
pub async fn store(
    pool: &AnyPool,
    contest: i64,
    phase: &str,
    inputs: &str,
    computed_at: &str,
    result: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO rank_uncertainty (contest_id, phase, inputs_sha256, computed_at, result) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (contest_id, phase) DO UPDATE SET inputs_sha256 = excluded.inputs_sha256, \
         computed_at = excluded.computed_at, result = excluded.result",
    )
    .bind(contest)
    .bind(phase)
    .bind(inputs)
    .bind(computed_at)
    .bind(result)
    .execute(pool)
    .await?;
    Ok(())
}
