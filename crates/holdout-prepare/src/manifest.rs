//! `MANIFEST.json`: the size and SHA-256 of every public file, and the commitment to the hidden
//! solution, so anyone can check what was published and, after the contest, that the solution
//! scored against was the one committed to.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// How the value is computed.
    pub scheme: String,
    pub sha256: String,
}

/// What a submission to the contest must hold: enough for anyone to validate one offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionSpec {
    pub task: String,
    /// Class labels of a classification task, in order.
    pub labels: Vec<i64>,
    pub prediction_format: holdout_schema::PredictionFormat,
    /// The header a submission must have.
    pub columns: Vec<String>,
    pub primary_metric: holdout_schema::Metric,
    pub max_file_mb: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub contest: String,
    pub survey: String,
    pub holdout_version: String,
    pub train_rows: u64,
    pub test_rows: u64,
    pub submission: SubmissionSpec,
    pub files: Vec<ManifestFile>,
    pub solution_commitment: Commitment,
    /// Every feature column of train and test, in file order: how to read it.
    #[serde(default)]
    pub columns: Vec<holdout_schema::ColumnInfo>,
    /// The contest's rules (title, phases, limits), which the leaderboard service loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Rules>,
}

/// A contest's published rules: what `holdout contest create` loads into the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub title: holdout_schema::Bilingual,
    pub description: holdout_schema::Bilingual,
    /// Submissions per team per day (the day starts at 00:00 Asia/Shanghai).
    pub daily_submissions: u32,
    /// Submissions per team over the whole contest.
    pub total_submissions: u32,
    /// Submissions a team may select for the final (private) ranking.
    pub final_selections: u32,
    pub team_max_size: u32,
    pub phases: Vec<PhaseRule>,
}

/// One phase; times are RFC 3339 in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseRule {
    pub name: String,
    pub zh: String,
    pub en: String,
    pub start: String,
    pub end: String,
    pub board: holdout_schema::Board,
}

/// The scheme of [`commitment`].
pub const COMMITMENT_SCHEME: &str = "sha256(salt bytes ‖ solution.csv bytes); the salt is private/salt.txt (hex)";

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The commitment to a solution file.
pub fn commitment(salt: &[u8], solution: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(solution);
    hex(&h.finalize())
}

/// A running SHA-256 for files too large to hold in memory.
#[derive(Debug, Default, Clone)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn hex(self) -> String {
        hex(&self.0.finalize())
    }
}

/// Parses a salt written by prepare (64 hex digits).
pub fn parse_salt(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if t.len() != 64 {
        return None;
    }
    (0..32).map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).ok()).collect()
}
