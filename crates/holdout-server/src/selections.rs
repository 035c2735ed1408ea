//! Committed final selections, pure: the canonical list `holdout-selections/1` whose SHA-256 the
//! service publishes when the last phase closes, before any private score is shown to the teams.
//!
//! The list names, per team (ascending id), the submissions its private score will be taken
//! from — the ones it selected, or else its best public one (`chosen: false`) — each with the
//! SHA-256 of its file (ascending id). It is serialized as compact JSON with the fields in the
//! order of the types below and no whitespace, so the same selections always give the same
//! bytes; `sha256` is the SHA-256 of exactly those bytes, hex. Anyone can fetch the list
//! (`GET /contests/{c}/selections/committed`), hash it, compare it with the published hash, and
//! check the private board's rows against it.

use serde::{Deserialize, Serialize};

/// The list's format name.
pub const FORMAT: &str = "holdout-selections/1";

/// The committed list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SelectionList)]
pub struct Document {
    /// Always `holdout-selections/1`.
    pub format: String,
    pub contest: String,
    /// The last phase, whose private board the selections are for.
    pub phase: String,
    /// When that phase closed (RFC 3339 UTC): no selection could change after it.
    pub closed_at: String,
    /// Ascending team id.
    pub teams: Vec<TeamSelection>,
}

/// One team's final submissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamSelection {
    pub team_id: i64,
    pub team: String,
    /// `true`: the team selected these; `false`: it selected none and its best public
    /// submission is its default.
    pub chosen: bool,
    /// Ascending id.
    pub submissions: Vec<Selected>,
}

/// A submission and its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Selected {
    pub id: i64,
    /// SHA-256 of the submitted file, hex.
    pub sha256: String,
}

impl Document {
    /// The canonical bytes: the teams and submissions sorted, compact JSON.
    pub fn canonical(&self) -> Vec<u8> {
        let mut sorted = self.clone();
        sorted.teams.sort_by_key(|t| t.team_id);
        for t in &mut sorted.teams {
            t.submissions.sort_by_key(|s| s.id);
        }
        serde_json::to_vec(&sorted).expect("a selection list serializes")
    }

    /// The SHA-256 of [`Document::canonical`], hex: what is published.
    pub fn sha256(&self) -> String {
        crate::auth::digest_bytes(&self.canonical())
    }

    /// Every submission listed.
    pub fn submissions(&self) -> impl Iterator<Item = (i64, &Selected)> {
        self.teams.iter().flat_map(|t| t.submissions.iter().map(move |s| (t.team_id, s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(teams: Vec<TeamSelection>) -> Document {
        Document {
            format: FORMAT.into(),
            contest: "tiny".into(),
            phase: "final".into(),
            closed_at: "2024-11-03T15:59:59.000Z".into(),
            teams,
        }
    }

    fn team(id: i64, subs: &[i64]) -> TeamSelection {
        TeamSelection {
            team_id: id,
            team: format!("t{id}"),
            chosen: subs.len() > 1,
            submissions: subs.iter().map(|&s| Selected { id: s, sha256: format!("{s:064x}") }).collect(),
        }
    }

    #[test]
    fn the_canonical_form_is_sorted_compact_and_hashes_what_it_says() {
        let a = doc(vec![team(2, &[9, 4]), team(1, &[3])]);
        let b = doc(vec![team(1, &[3]), team(2, &[4, 9])]);
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(a.sha256(), crate::auth::digest_bytes(&b.canonical()));
        let text = String::from_utf8(a.canonical()).unwrap();
        assert!(text.starts_with(
            "{\"format\":\"holdout-selections/1\",\"contest\":\"tiny\",\"phase\":\"final\",\"closed_at\":\"2024-11-03T15:59:59.000Z\",\"teams\":[{\"team_id\":1,\"team\":\"t1\",\"chosen\":false,\"submissions\":[{\"id\":3,"
        ));
        assert!(!text.contains(' ') && !text.contains('\n'));
        let back: Document = serde_json::from_str(&text).unwrap();
        assert_eq!(back.canonical(), a.canonical());
        // Any change changes the hash.
        let mut c = b.clone();
        c.teams[1].submissions[0].sha256.replace_range(0..1, "f");
        assert_ne!(c.sha256(), b.sha256());
        let mut d = b.clone();
        d.teams[0].chosen = true;
        assert_ne!(d.sha256(), b.sha256());
        assert_eq!(b.submissions().map(|(t, s)| (t, s.id)).collect::<Vec<_>>(), [(1, 3), (2, 4), (2, 9)]);
    }
}
