//! The audit log's hash chain, pure: an entry's hash covers its sequence number, time, actor,
//! action, subject, detail and the hash of the entry before it (64 zeros for the first). Each
//! field enters the hash with its length, so no two different entries hash the same bytes.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// RFC 3339, UTC, e.g. `2024-09-02T02:00:00Z`.
    pub at: String,
    /// Who did it: `user:<name>`, `anonymous`, `system`, `worker`.
    pub actor: String,
    /// What was done: `upload`, `score`, `status`, `disqualify`, `phase`, `reveal`, …
    pub action: String,
    /// What it was done to: `submission:<id>`, `contest:<name>`, …
    pub subject: String,
    /// Compact JSON with the particulars (file sha256, scores, reason, …).
    pub detail: String,
}

/// A chained entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub seq: i64,
    #[serde(flatten)]
    pub event: Event,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of `event` as entry `seq` after an entry hashed `prev`.
pub fn hash(seq: i64, event: &Event, prev: &str) -> String {
    let mut h = Sha256::new();
    let seq = seq.to_string();
    for field in [&seq, &event.at, &event.actor, &event.action, &event.subject, &event.detail, prev] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Chains `event` after `last` (`None`: the first entry).
pub fn chain(last: Option<&Entry>, event: Event) -> Entry {
    let (seq, prev) = last.map_or((1, GENESIS.to_owned()), |e| (e.seq + 1, e.hash.clone()));
    let hash = hash(seq, &event, &prev);
    Entry { seq, event, prev_hash: prev, hash }
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error("entry {seq}: expected sequence number {expected}")]
    Sequence { seq: i64, expected: i64 },
    #[error("entry {seq}: its previous hash is not the hash of entry {}", seq - 1)]
    Link { seq: i64 },
    #[error("entry {seq}: its content does not match its hash (changed after it was written)")]
    Content { seq: i64 },
}

/// Checks a whole log, in sequence order: numbers 1, 2, 3, … each linked to the one before and
/// each hash recomputed from the content.
pub fn verify(entries: &[Entry]) -> Result<(), Broken> {
    verify_after(0, GENESIS, entries)
}

/// Checks the entries that follow entry `seq` hashed `hash` (0 and [`GENESIS`]: the whole log):
/// numbers `seq + 1`, `seq + 2`, … each linked to the one before and each hash recomputed from
/// the content.
pub fn verify_after(seq: i64, hash: &str, entries: &[Entry]) -> Result<(), Broken> {
    let mut prev = hash;
    for (i, e) in entries.iter().enumerate() {
        let expected = seq + i as i64 + 1;
        if e.seq != expected {
            return Err(Broken::Sequence { seq: e.seq, expected });
        }
        if e.prev_hash != prev {
            return Err(Broken::Link { seq: e.seq });
        }
        if self::hash(e.seq, &e.event, &e.prev_hash) != e.hash {
            return Err(Broken::Content { seq: e.seq });
        }
        prev = &e.hash;
    }
    Ok(())
}
