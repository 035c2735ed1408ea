//! The judges' integrity report of a contest (`holdout integrity`, `GET
//! /contests/{c}/integrity`, the staff page): how far the private board agrees with the public
//! one (Kendall's τ-b, the shake-up), per team its submissions, public − private gap and probing
//! indicator, near-duplicate prediction files across teams, files submitted by several teams,
//! and every rescore that changed a score. The statistics are `holdout_score`'s
//! ([`integrity`](holdout_score::integrity), [`duplicates`](holdout_score::duplicates)); this
//! module gathers their inputs from the database and the stored files and renders the result.
//!
//! Everything in it is a lead for the judges, never a verdict.

use std::fmt::Write as _;
use std::path::Path;

use holdout_score::duplicates::{self, Candidate, DuplicateSettings, Measure};
use holdout_score::integrity::{self, ShakeUp, SubmissionRef};
use holdout_score::metrics::Predictions;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::db;
use crate::db::integrity::Scored;
use crate::state::Contest;
use crate::web::Lang;

/// A team's `(public, private)` scores in upload order.
type History = Vec<(Option<f64>, Option<f64>)>;

/// The report's format name.
pub const FORMAT: &str = "holdout-integrity/1";

/// Mixed into the contest's bootstrap seed for the row sample, so the sample is not the
/// bootstrap's draws.
const SAMPLE_SEED: u64 = 0x696e_7465_6772_6974;

/// What the report is asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// The phase; by default the last one with a team's scored submission.
    pub phase: Option<String>,
    /// Rows sampled for the near-duplicate search; by default 2,000 (divided by the number of
    /// classes for one-hot labels and class probabilities).
    pub sample_rows: Option<usize>,
    pub duplicates: DuplicateSettings,
}

/// The judges' integrity report (`holdout-integrity/1`): leads for the judges, never verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = IntegrityReport)]
pub struct Report {
    /// Always `holdout-integrity/1`.
    pub format: &'static str,
    pub contest: String,
    pub phase: String,
    pub metric: String,
    pub greater_is_better: bool,
    /// RFC 3339 UTC.
    pub generated_at: String,
    /// Teams (baselines aside) with a scored submission in the phase.
    pub teams: usize,
    /// Their scored submissions.
    pub submissions: usize,
    pub agreement: Agreement,
    /// The public score's noise the probing indicator counts steps in: the median over the
    /// phase's submissions of the bootstrap SD of the public score (95 % interval width / 3.92).
    pub noise: Option<f64>,
    /// One per team, the highest probing indicator first.
    pub team_lines: Vec<TeamLine>,
    pub near_duplicates: NearDuplicateLines,
    /// Files submitted by two or more teams (any phase; baselines included).
    pub same_files: Vec<SameFileLine>,
    /// Every rescore that changed a score, in log order.
    pub rescores: Vec<RescoreLine>,
}

/// The public board against the private one, over the phase's ranked teams.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Agreement {
    /// Kendall's τ-b of the teams' public and private ranks; `None` with fewer than two teams.
    pub kendall_tau: Option<f64>,
    pub shake_up: Option<ShakeUp>,
    /// Each ranked team, in private-board order.
    pub points: Vec<RankPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RankPoint {
    pub team_id: i64,
    pub team: String,
    pub submission_id: i64,
    pub public_rank: u32,
    pub private_rank: u32,
}

/// One team's submissions read for probing.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TeamLine {
    pub team_id: i64,
    pub team: String,
    pub disqualified: bool,
    pub submissions: usize,
    /// The best public submission's public − private gap, positive when the private score is
    /// worse (in the metric's units).
    pub gap: Option<f64>,
    /// Steps up the team's best public score within `noise`.
    pub small_gains: usize,
    /// `small_gains × max(gap, 0) / noise`.
    pub probing: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NearDuplicateLines {
    pub measure: Measure,
    pub threshold: f64,
    /// Test rows sampled (seeded) and compared.
    pub rows: usize,
    pub compared: usize,
    /// Pairs of different teams at or above the threshold (leads, not verdicts).
    pub flagged: usize,
    /// The strongest of them.
    pub pairs: Vec<PairLine>,
    /// Submissions whose file could not be read again: `[submission id, why]`.
    pub unreadable: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PairLine {
    pub a: Side,
    pub b: Side,
    /// Spearman's ρ of the deviations from the consensus (the flag by default).
    pub deviations: Option<f64>,
    /// Pearson's r of prediction − truth.
    pub residuals: Option<f64>,
    /// Pearson's r of the predictions.
    pub predictions: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Side {
    pub team_id: i64,
    pub team: String,
    pub submission_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SameFileLine {
    pub sha256: String,
    pub teams: usize,
    pub submissions: Vec<Side>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RescoreLine {
    /// The `submission.score` audit entry.
    pub seq: i64,
    pub at: String,
    pub submission_id: i64,
    pub team: String,
    pub previous_public: Option<f64>,
    pub previous_private: Option<f64>,
    pub public: Option<f64>,
    pub private: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("no phase `{0}`")]
    NoPhase(String),
    #[error("{0}")]
    Solution(String),
}

/// What the report is computed from, read from the database.
#[derive(Debug, Clone, Serialize)]
pub struct Inputs {
    pub phase: String,
    pub seed: i64,
    pub ladder: bool,
    /// The phase's private board.
    pub board: Vec<crate::board::Row>,
    /// Every scored submission of the contest, with its phase.
    pub scored: Vec<(String, Scored)>,
    pub changed: Vec<db::integrity::Changed>,
}

impl Inputs {
    /// The SHA-256 of everything a report on these inputs with `settings` is computed from
    /// (the stored files are named by their SHA-256, which the inputs hold, and the solution
    /// and the code do not change while the service runs): the key its cache is kept under.
    pub fn sha256(&self, settings: &Settings) -> String {
        let d = &settings.duplicates;
        let all = serde_json::json!({
            "format": FORMAT,
            "inputs": self,
            "sample_rows": settings.sample_rows,
            "measure": d.measure,
            "threshold": d.threshold,
            "max_pairs": d.max_pairs,
        });
        crate::auth::digest_bytes(all.to_string().as_bytes())
    }
}

/// Reads the report's inputs. `phases` in order; the phase's private board is computed from
/// the committed final selections if they are the phase's.
pub async fn inputs(
    pool: &sqlx::AnyPool,
    contest: &Contest,
    phases: &[String],
    phase: Option<&str>,
) -> Result<Inputs, IntegrityError> {
    let scored = db::integrity::scored(pool, contest.id).await?;
    let phase = match phase {
        Some(p) if phases.iter().any(|x| x == p) => p.to_owned(),
        Some(p) => return Err(IntegrityError::NoPhase(p.to_owned())),
        None => phases
            .iter()
            .rev()
            .find(|p| scored.iter().any(|(q, s)| q == *p && !s.baseline))
            .or(phases.last())
            .cloned()
            .ok_or_else(|| IntegrityError::NoPhase(String::new()))?,
    };
    let settings = db::contests::settings(pool, contest.id).await?;
    let entries = db::boards::entries(pool, contest.id, &phase, None).await?;
    let finals = match db::selections::commitment(pool, contest.id).await? {
        Some(cm) if cm.phase == phase => Some(db::selections::committed_ids(pool, contest.id).await?),
        _ => None,
    };
    let greater = contest.primary.greater_is_better();
    let board = crate::board::private_from(&entries, greater, settings.ladder, finals.as_ref());
    let seed = db::ranks::seed(pool, contest.id).await?;
    let changed = db::integrity::changed_scores(pool, contest.id).await?;
    Ok(Inputs { phase, seed, ladder: settings.ladder, board, scored, changed })
}

/// Computes the report (blocking: reads every scored file of the phase, up to 8 at a time).
#[expect(clippy::too_many_lines, reason = "the report's sections, one after another")]
pub fn compute(
    contest: &Contest,
    dir: &Path,
    inputs: &Inputs,
    settings: &Settings,
    now: &str,
) -> Result<Report, IntegrityError> {
    let greater = contest.primary.greater_is_better();
    let phase = &inputs.phase;
    let in_phase: Vec<&Scored> =
        inputs.scored.iter().filter(|(p, s)| p == phase && !s.baseline).map(|(_, s)| s).collect();

    // The boards' agreement.
    let points: Vec<RankPoint> = inputs
        .board
        .iter()
        .filter(|r| !r.baseline)
        .filter_map(|r| {
            Some(RankPoint {
                team_id: r.team_id,
                team: r.team.clone(),
                submission_id: r.submission_id,
                public_rank: r.public_rank?,
                private_rank: r.rank?,
            })
        })
        .collect();
    let public: Vec<u32> = points.iter().map(|p| p.public_rank).collect();
    let private: Vec<u32> = points.iter().map(|p| p.private_rank).collect();
    let as_f64 = |v: &[u32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
    let agreement = Agreement {
        kendall_tau: integrity::kendall_tau_b(&as_f64(&public), &as_f64(&private)),
        shake_up: integrity::shake_up(&public, &private),
        points,
    };

    // Probing, per team.
    let mut widths: Vec<f64> = in_phase
        .iter()
        .filter_map(|s| s.public_ci.map(|(l, h)| (h - l) / 3.92))
        .filter(|w| w.is_finite() && *w > 0.0)
        .collect();
    widths.sort_by(f64::total_cmp);
    let noise = (!widths.is_empty()).then(|| widths[widths.len() / 2]);
    let mut by_team: Vec<(i64, String, bool, History)> = Vec::new();
    for s in &in_phase {
        match by_team.iter_mut().find(|t| t.0 == s.team_id) {
            Some(t) => {
                t.2 |= s.disqualified;
                t.3.push((s.public, s.private));
            }
            None => by_team.push((s.team_id, s.team.clone(), s.disqualified, vec![(s.public, s.private)])),
        }
    }
    let mut team_lines: Vec<TeamLine> = by_team
        .into_iter()
        .map(|(team_id, team, disqualified, history)| {
            let p = integrity::probing(&history, greater, noise.unwrap_or(f64::MAX));
            TeamLine {
                team_id,
                team,
                disqualified,
                submissions: p.submissions,
                gap: p.gap,
                small_gains: if noise.is_some() { p.small_gains } else { 0 },
                probing: if noise.is_some() { p.score } else { 0.0 },
            }
        })
        .collect();
    team_lines.sort_by(|a, b| b.probing.total_cmp(&a.probing).then(a.team_id.cmp(&b.team_id)));

    // Near-duplicates on a seeded sample of the test rows.
    let solution = contest.solution().map_err(IntegrityError::Solution)?;
    let classes = contest.labels.len();
    let wide = matches!(
        contest.format,
        holdout_schema::PredictionFormat::Label | holdout_schema::PredictionFormat::ClassProbabilities
    );
    let sample_size = settings
        .sample_rows
        .unwrap_or(if wide && classes > 0 {
            duplicates::DEFAULT_SAMPLE_ROWS / classes
        } else {
            duplicates::DEFAULT_SAMPLE_ROWS
        })
        .max(2);
    let sample = duplicates::sample_rows(solution.truth.len(), sample_size, inputs.seed as u64 ^ SAMPLE_SEED);
    let truth = solution.truth.select(&sample);
    let read = |s: &Scored| {
        crate::worker::read_scored_predictions(contest, &solution, &crate::store::path(dir, &s.sha256))
            .map(|p| p.select(&sample))
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8);
    let chunk = in_phase.len().div_ceil(threads).max(1);
    let mut read_back: Vec<Result<Predictions, String>> = Vec::with_capacity(in_phase.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = in_phase
            .chunks(chunk)
            .map(|part| (part.len(), scope.spawn(move || part.iter().map(|&s| read(s)).collect::<Vec<_>>())))
            .collect();
        for (len, h) in handles {
            match h.join() {
                Ok(part) => read_back.extend(part),
                Err(_) => read_back.extend((0..len).map(|_| Err("reading the file panicked".to_owned()))),
            }
        }
    });
    let mut unreadable = Vec::new();
    let mut candidates = Vec::new();
    for (s, p) in in_phase.iter().zip(&read_back) {
        match p {
            Ok(p) => {
                candidates.push(Candidate { id: SubmissionRef { team: s.team_id, submission: s.id }, predictions: p });
            }
            Err(e) => unreadable.push((s.id, e.clone())),
        }
    }
    let names: FxHashMap<i64, &str> = inputs.scored.iter().map(|(_, s)| (s.team_id, s.team.as_str())).collect();
    let who = |r: SubmissionRef| Side {
        team_id: r.team,
        team: names.get(&r.team).copied().unwrap_or_default().to_owned(),
        submission_id: r.submission,
    };
    let found = if candidates.is_empty() {
        None
    } else {
        Some(duplicates::near_duplicates(classes, &truth, &candidates, settings.duplicates))
    };
    let near_duplicates = NearDuplicateLines {
        measure: settings.duplicates.measure,
        threshold: settings.duplicates.threshold,
        rows: sample.len(),
        compared: candidates.len(),
        flagged: found.as_ref().map_or(0, |f| f.flagged),
        pairs: found
            .map(|f| f.pairs)
            .unwrap_or_default()
            .into_iter()
            .map(|p| PairLine {
                a: who(p.a),
                b: who(p.b),
                deviations: p.deviations,
                residuals: p.residuals,
                predictions: p.predictions,
            })
            .collect(),
        unreadable,
    };

    let same_files = integrity::same_files(
        inputs.scored.iter().map(|(_, s)| (SubmissionRef { team: s.team_id, submission: s.id }, s.sha256.as_str())),
    )
    .into_iter()
    .map(|f| SameFileLine {
        sha256: f.sha256,
        teams: f.teams,
        submissions: f.submissions.into_iter().map(who).collect(),
    })
    .collect();

    let rescores = inputs
        .changed
        .iter()
        .map(|c| {
            let d: serde_json::Value = serde_json::from_str(&c.detail).unwrap_or_default();
            RescoreLine {
                seq: c.seq,
                at: c.at.clone(),
                submission_id: c.submission,
                team: c.team.clone(),
                previous_public: d["previous"]["public"].as_f64(),
                previous_private: d["previous"]["private"].as_f64(),
                public: d["public"].as_f64(),
                private: d["private"].as_f64(),
            }
        })
        .collect();

    let mut teams: Vec<i64> = in_phase.iter().map(|s| s.team_id).collect();
    teams.sort_unstable();
    teams.dedup();
    Ok(Report {
        format: FORMAT,
        contest: contest.name.clone(),
        phase: phase.clone(),
        metric: contest.primary.name().to_owned(),
        greater_is_better: greater,
        generated_at: now.to_owned(),
        teams: teams.len(),
        submissions: in_phase.len(),
        agreement,
        noise,
        team_lines,
        near_duplicates,
        same_files,
        rescores,
    })
}

fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), |v| format!("{v:.4}"))
}

/// The report as Markdown, in `lang` (every text from `leaderboard/i18n.toml`).
#[expect(clippy::too_many_lines, reason = "the report's sections, one after another")]
pub fn markdown(r: &Report, lang: Lang) -> String {
    let t = |key: &str| crate::web::text(key, lang);
    let mut out = String::new();
    let _ = writeln!(out, "# {} — {}\n", t("integrity_title"), r.contest);
    let _ = writeln!(
        out,
        "{}: `{}` · {}: `{}` · {}: {} · {}: {} · {}: {}\n",
        t("phase"),
        r.phase,
        t("metric"),
        r.metric,
        t("integrity_teams"),
        r.teams,
        t("integrity_submissions"),
        r.submissions,
        t("integrity_generated"),
        r.generated_at
    );
    let _ = writeln!(out, "> {}\n", t("integrity_leads"));
    let _ = writeln!(out, "## {}\n", t("integrity_agreement"));
    let a = &r.agreement;
    let _ = writeln!(out, "- Kendall τ-b: {}", num(a.kendall_tau));
    if let Some(s) = &a.shake_up {
        let _ = writeln!(
            out,
            "- {}: {:.4} ({}: {:.2})",
            t("integrity_shake_up"),
            s.shake_up,
            t("integrity_mean_change"),
            s.mean_rank_change
        );
        let _ = writeln!(out, "- {}: {:.4}", t("integrity_shake_up_top"), s.shake_up_top_decile);
    }
    let _ = writeln!(out, "\n## {}\n", t("integrity_probing"));
    let _ = writeln!(out, "{} {}\n", t("integrity_probing_help"), num(r.noise));
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |\n|---|---:|---:|---:|---:|",
        t("team"),
        t("integrity_submissions"),
        t("integrity_gap"),
        t("integrity_small_gains"),
        t("integrity_probing_score")
    );
    for l in &r.team_lines {
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {} | {:.2} |",
            md(&l.team),
            if l.disqualified { format!(" ({})", t("integrity_disqualified")) } else { String::new() },
            l.submissions,
            num(l.gap),
            l.small_gains,
            l.probing
        );
    }
    let d = &r.near_duplicates;
    let _ = writeln!(out, "\n## {}\n", t("integrity_duplicates"));
    let _ = writeln!(
        out,
        "{}\n\n{}",
        t("integrity_duplicates_help"),
        t("integrity_duplicates_found")
            .replace("{rows}", &d.rows.to_string())
            .replace("{compared}", &d.compared.to_string())
            .replace("{threshold}", &d.threshold.to_string())
            .replace("{flagged}", &d.flagged.to_string())
    );
    if !d.pairs.is_empty() {
        let _ = writeln!(
            out,
            "\n| {} A | {} B | ρ ({}) | r ({}) | r ({}) |\n|---|---|---:|---:|---:|",
            t("team"),
            t("team"),
            t("integrity_deviations"),
            t("integrity_residuals"),
            t("integrity_predictions")
        );
        for p in &d.pairs {
            let _ = writeln!(
                out,
                "| {} #{} | {} #{} | {} | {} | {} |",
                md(&p.a.team),
                p.a.submission_id,
                md(&p.b.team),
                p.b.submission_id,
                num(p.deviations),
                num(p.residuals),
                num(p.predictions)
            );
        }
    }
    for (id, why) in &d.unreadable {
        let _ = writeln!(out, "- {} #{id}: {}", t("integrity_unreadable"), md(why));
    }
    let _ = writeln!(out, "\n## {}\n", t("integrity_same_files"));
    if r.same_files.is_empty() {
        let _ = writeln!(out, "{}", t("integrity_none"));
    }
    for f in &r.same_files {
        let who: Vec<String> = f.submissions.iter().map(|s| format!("{} #{}", md(&s.team), s.submission_id)).collect();
        let _ = writeln!(out, "- `{}` ({} {}): {}", f.sha256, f.teams, t("integrity_teams"), who.join(", "));
    }
    let _ = writeln!(out, "\n## {}\n", t("integrity_rescores"));
    if r.rescores.is_empty() {
        let _ = writeln!(out, "{}", t("integrity_none"));
    }
    for c in &r.rescores {
        let _ = writeln!(
            out,
            "- #{} {} ({}), {}: {} → {} / {} → {} ({} #{})",
            c.submission_id,
            md(&c.team),
            c.at,
            t("integrity_public_private"),
            num(c.previous_public),
            num(c.public),
            num(c.previous_private),
            num(c.private),
            t("integrity_audit_entry"),
            c.seq
        );
    }
    out
}

/// Text in a Markdown table cell: no pipes or line breaks.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The report of contest `name` as the service sees it now (`None`: no such contest): inputs
/// read from the database, computed off the async threads, one heavy statistic at a time
/// (`AppState::analysing`). A report is kept in memory by contest and phase with the SHA-256
/// of its inputs ([`Inputs::sha256`]) and served again, with the time it was generated, until
/// they change.
pub async fn run(state: &crate::AppState, name: &str, settings: Settings) -> Result<Option<Report>, IntegrityError> {
    let Some(c) = state.contest(name).await? else { return Ok(None) };
    let phases = db::integrity::phase_names(&state.pool, c.id).await?;
    let inputs = inputs(&state.pool, &c, &phases, settings.phase.as_deref()).await?;
    let key = inputs.sha256(&settings);
    let slot = (c.id, inputs.phase.clone());
    let kept = || {
        let cache = state.integrity.lock().expect("the integrity cache lock is never poisoned");
        cache.get(&slot).filter(|(k, _)| *k == key).map(|(_, r)| Report::clone(r))
    };
    if let Some(r) = kept() {
        return Ok(Some(r));
    }
    let _one = state.analysing.lock().await;
    if let Some(r) = kept() {
        return Ok(Some(r));
    }
    let fetched = match state.private_files(&c).await {
        Ok(()) => state.fetch_files(inputs.scored.iter().map(|(_, s)| s.sha256.clone()).collect()).await,
        Err(e) => Err(e),
    };
    fetched.map_err(|e| IntegrityError::Solution(e.to_string()))?;
    let (dir, now) = (state.dir.clone(), state.now_text());
    let report = tokio::task::spawn_blocking(move || compute(&c, &dir, &inputs, &settings, &now))
        .await
        .map_err(|e| IntegrityError::Solution(format!("the report's computation failed: {e}")))??;
    state
        .integrity
        .lock()
        .expect("the integrity cache lock is never poisoned")
        .insert(slot, (key, std::sync::Arc::new(report.clone())));
    Ok(Some(report))
}
