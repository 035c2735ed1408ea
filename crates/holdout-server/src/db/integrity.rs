//! What the judges' integrity report reads: a phase's scored submissions with their teams, and
//! the audit log's scores that changed on a rescore.

use sqlx::{AnyPool, Row};

use super::DbError;

/// One scored submission of a phase.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scored {
    pub id: i64,
    pub team_id: i64,
    pub team: String,
    pub baseline: bool,
    pub sha256: String,
    pub created_at: String,
    pub public: Option<f64>,
    pub private: Option<f64>,
    pub public_ci: Option<(f64, f64)>,
    pub disqualified: bool,
}

/// Every scored submission of the contest (disqualified ones too) with its phase, in upload
/// order.
pub async fn scored(pool: &AnyPool, contest: i64) -> Result<Vec<(String, Scored)>, DbError> {
    let rows = sqlx::query(
        "SELECT s.phase, s.id, s.team_id, t.name, CAST(t.baseline AS INTEGER) AS baseline, s.sha256, s.created_at, s.public_score, s.private_score, \
         s.public_low, s.public_high, CAST((s.disqualified_reason IS NOT NULL OR t.disqualified_reason IS NOT NULL) AS INTEGER) AS dq \
         FROM submissions s JOIN teams t ON t.id = s.team_id \
         WHERE s.contest_id = $1 AND s.status = 'scored' ORDER BY s.created_at, s.id",
    )
    .bind(contest)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let (low, high): (Option<f64>, Option<f64>) = (r.get("public_low"), r.get("public_high"));
            (
                r.get("phase"),
                Scored {
                    id: r.get("id"),
                    team_id: r.get("team_id"),
                    team: r.get("name"),
                    baseline: crate::db::flag(r, "baseline"),
                    sha256: r.get("sha256"),
                    created_at: r.get("created_at"),
                    public: r.get("public_score"),
                    private: r.get("private_score"),
                    public_ci: low.zip(high),
                    disqualified: crate::db::flag(r, "dq"),
                },
            )
        })
        .collect())
}

/// A score of a contest's submission that a rescore changed, from its `submission.score` audit
/// entry (`changed`, with the `previous` scores).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Changed {
    pub seq: i64,
    pub at: String,
    pub submission: i64,
    pub team: String,
    pub detail: String,
}

/// Every changed score of the contest's submissions, in log order.
pub async fn changed_scores(pool: &AnyPool, contest: i64) -> Result<Vec<Changed>, DbError> {
    let rows = sqlx::query(
        "SELECT a.seq, a.at, s.id, t.name, a.detail FROM audit_log a \
         JOIN submissions s ON a.subject = 'submission:' || s.id JOIN teams t ON t.id = s.team_id \
         WHERE a.action = 'submission.score' AND s.contest_id = $1 ORDER BY a.seq",
    )
    .bind(contest)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Changed {
            seq: r.get("seq"),
            at: r.get("at"),
            submission: r.get("id"),
            team: r.get("name"),
            detail: r.get("detail"),
        })
        .filter(|c| serde_json::from_str::<serde_json::Value>(&c.detail).is_ok_and(|d| d["changed"] == true))
        .collect())
}

/// The contest's phase names, in order.
pub async fn phase_names(pool: &AnyPool, contest: i64) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar("SELECT name FROM phases WHERE contest_id = $1 ORDER BY position")
        .bind(contest)
        .fetch_all(pool)
        .await?)
}
