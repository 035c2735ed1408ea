//! What the boards, the chart and the judges' rubric read and write of `submissions`, `teams`
//! and `rubric_scores`.

use sqlx::{AnyConnection, AnyPool, Row};

use super::DbError;
use crate::board::Entry;

/// A team's scored, released, not disqualified public scores in a phase (a baseline's in every
/// phase), in upload order: (uploaded at, public score); with `until`, of those uploaded before
/// it only (the frozen board's chart).
pub async fn public_series(
    pool: &AnyPool,
    contest: &str,
    phase: &str,
    team: i64,
    until: Option<&str>,
) -> Result<Vec<(String, f64)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT s.created_at, s.public_score FROM submissions s JOIN contests c ON c.id = s.contest_id \
         WHERE c.name = $1 AND s.team_id = $2 AND (s.phase = $3 OR EXISTS (SELECT 1 FROM teams t WHERE t.id = s.team_id AND t.baseline)) \
         AND s.status = 'scored' AND s.public_score IS NOT NULL AND s.disqualified_reason IS NULL \
         AND (s.released OR NOT c.ladder) AND ($4 IS NULL OR s.created_at < $5) ORDER BY s.created_at, s.id",
    )
    .bind(contest)
    .bind(team)
    .bind(phase)
    .bind(until)
    .bind(until)
    .fetch_all(pool)
    .await?)
}

/// The scored, not disqualified submissions of a phase (a baseline's of every phase) of
/// teams not disqualified, in upload order: what the boards rank. With `until`, only those
/// uploaded before it (the frozen public board).
pub async fn entries(pool: &AnyPool, contest: i64, phase: &str, until: Option<&str>) -> Result<Vec<Entry>, DbError> {
    let mut conn = pool.acquire().await?;
    select_entries(&mut conn, contest, phase, false, until).await
}

/// The boards' entries (see [`entries`]); with `any_team`, those of disqualified teams too
/// (what a team would have had, were it reinstated: committed final selections cover them).
pub(super) async fn select_entries(
    conn: &mut AnyConnection,
    contest: i64,
    phase: &str,
    any_team: bool,
    until: Option<&str>,
) -> Result<Vec<Entry>, DbError> {
    let rows = sqlx::query(
        "SELECT s.id, s.team_id, t.name, CAST(t.baseline AS INTEGER) AS baseline, s.created_at, s.public_score, s.public_low, s.public_high, \
         s.private_score, s.private_low, s.private_high, CAST(s.released AS INTEGER) AS released, CAST(s.selected AS INTEGER) AS selected \
         FROM submissions s JOIN teams t ON t.id = s.team_id \
         WHERE s.contest_id = $1 AND (s.phase = $2 OR t.baseline = TRUE) AND s.status = 'scored' \
         AND s.disqualified_reason IS NULL AND ($3 OR t.disqualified_reason IS NULL) \
         AND ($4 IS NULL OR s.created_at < $5) ORDER BY s.id",
    )
    .bind(contest)
    .bind(phase)
    .bind(any_team)
    .bind(until)
    .bind(until)
    .fetch_all(&mut *conn)
    .await?;
    let ci =
        |r: &sqlx::any::AnyRow, lo: &str, hi: &str| match (r.get::<Option<f64>, _>(lo), r.get::<Option<f64>, _>(hi)) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        };
    Ok(rows
        .iter()
        .map(|r| Entry {
            submission: r.get("id"),
            team: r.get("team_id"),
            team_name: r.get("name"),
            baseline: crate::db::flag(r, "baseline"),
            created_at: r.get("created_at"),
            public: r.get("public_score"),
            public_ci: ci(r, "public_low", "public_high"),
            private: r.get("private_score"),
            private_ci: ci(r, "private_low", "private_high"),
            released: crate::db::flag(r, "released"),
            selected: crate::db::flag(r, "selected"),
        })
        .collect())
}

/// The judges' rubric scores of a contest's teams: (team id, judge id, score, comment), by team
/// then judge.
pub async fn rubric_scores(pool: &AnyPool, contest: i64) -> Result<Vec<(i64, i64, f64, String)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT team_id, judge_id, score, comment FROM rubric_scores WHERE contest_id = $1 ORDER BY team_id, judge_id",
    )
    .bind(contest)
    .fetch_all(pool)
    .await?)
}

/// A judge's rubric score of a team, replacing the judge's earlier one (inside the caller's
/// transaction, which audits it).
pub async fn set_rubric_score(
    conn: &mut AnyConnection,
    contest: i64,
    team: i64,
    judge: i64,
    score: f64,
    comment: &str,
    now: &str,
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM rubric_scores WHERE contest_id = $1 AND team_id = $2 AND judge_id = $3")
        .bind(contest)
        .bind(team)
        .bind(judge)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO rubric_scores (contest_id, team_id, judge_id, score, comment, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(contest)
        .bind(team)
        .bind(judge)
        .bind(score)
        .bind(comment)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
