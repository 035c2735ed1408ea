//! The test ids of a contest, stored once and found by hash: what the validator matches a
//! submission's first column against, and what the scorer orders predictions by.
//!
//! Matching a million submitted ids is bound by memory latency, not by arithmetic, so the
//! index is an open-addressing table (linear probing, at most half full) whose slots hold an
//! id's length and first [`INLINE`] bytes: ids that short (the 12-character ids of prepared
//! bundles among them) are found with one cache miss and no access to the id text. Lookups
//! and insertions come in batches whose slots are loaded first, so that their misses overlap.

use std::hash::BuildHasher;

/// Bytes of an id kept in its index slot.
const INLINE: usize = 16;
/// Ids looked up or inserted together.
const BATCH: usize = 64;
/// The length of an empty slot.
const EMPTY: u32 = u32::MAX;

/// Distinct ids in a fixed order, in one buffer, with a hash index from id to position.
#[derive(Clone, Default)]
pub struct TestIds {
    text: String,
    /// Start and length of each id in `text`.
    spans: Vec<(u32, u32)>,
    /// A power of two of slots (or none), at most half of them used.
    slots: Vec<Slot>,
}

/// An index entry: the position of an id, with its length and first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    head: [u8; INLINE],
    len: u32,
    position: u32,
}

impl Slot {
    const EMPTY: Slot = Slot { head: [0; INLINE], len: EMPTY, position: 0 };

    fn new(id: &str, position: u32) -> Slot {
        let mut head = [0; INLINE];
        let n = id.len().min(INLINE);
        head[..n].copy_from_slice(&id.as_bytes()[..n]);
        Slot { head, len: id.len() as u32, position }
    }
}

impl std::fmt::Debug for TestIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIds").field("len", &self.len()).finish_non_exhaustive()
    }
}

/// An id given twice: the positions of its first and second occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the id at position {second} repeats the one at position {first}")]
pub struct Duplicate {
    pub first: usize,
    pub second: usize,
}

/// The hash of an id; keyed by a constant, so that nothing depends on the process.
fn hash(id: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x686f_6c64_6f75_7421).hash_one(id)
}

impl TestIds {
    pub fn new() -> TestIds {
        TestIds::default()
    }

    /// Ids given one after another, indexed at the end (faster than [`TestIds::push`] for
    /// many ids); the first repeated id is an error.
    ///
    /// # Panics
    /// Past 2³² − 1 ids, or 4 GiB of id text.
    pub fn build<'a>(ids: impl IntoIterator<Item = &'a str>) -> Result<TestIds, Duplicate> {
        let mut out = TestIds::default();
        for id in ids {
            out.append(id);
        }
        out.reindex()?;
        Ok(out)
    }

    /// Appends `id` at the next position, unless it is already there.
    ///
    /// # Panics
    /// Past 2³² − 1 ids, or 4 GiB of id text.
    pub fn push(&mut self, id: &str) -> Result<(), Duplicate> {
        if let Some(first) = self.find(id) {
            return Err(Duplicate { first, second: self.len() });
        }
        self.append(id);
        if 2 * self.len() > self.slots.len() {
            self.reindex().expect("the ids are distinct");
        } else {
            let position = self.len() - 1;
            self.insert(position, hash(id)).expect("the id is new");
        }
        Ok(())
    }

    fn append(&mut self, id: &str) {
        assert!(self.spans.len() < EMPTY as usize, "fewer than 2^32 - 1 test ids");
        let start = u32::try_from(self.text.len()).expect("less than 4 GiB of test ids");
        self.text.push_str(id);
        self.spans.push((start, id.len() as u32));
    }

    /// Rebuilds the index with room for twice the ids, inserting in batches.
    fn reindex(&mut self) -> Result<(), Duplicate> {
        let size = (2 * self.len()).next_power_of_two().max(16);
        self.slots = vec![Slot::EMPTY; size];
        let mut hashes = [0u64; BATCH];
        for start in (0..self.len()).step_by(BATCH) {
            let batch = start..(start + BATCH).min(self.len());
            for (h, i) in hashes.iter_mut().zip(batch.clone()) {
                *h = hash(self.get(i));
            }
            self.touch(&hashes[..batch.len()]);
            for (&h, i) in hashes.iter().zip(batch) {
                self.insert(i, h)?;
            }
        }
        Ok(())
    }

    /// Loads the first slot of each hash, so that the cache misses of a batch overlap.
    fn touch(&self, hashes: &[u64]) {
        let mask = self.slots.len() - 1;
        for &h in hashes {
            std::hint::black_box(self.slots[h as usize & mask].len);
        }
    }

    /// Puts the id at `position` (hash `h`) into the first free slot of its probe sequence.
    fn insert(&mut self, position: usize, h: u64) -> Result<(), Duplicate> {
        let id = self.get(position);
        let probe = Slot::new(id, position as u32);
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot.len == EMPTY {
                self.slots[i] = probe;
                return Ok(());
            }
            if self.holds(slot, &probe, id) {
                return Err(Duplicate { first: slot.position as usize, second: position });
            }
            i = (i + 1) & mask;
        }
    }

    fn holds(&self, slot: Slot, probe: &Slot, id: &str) -> bool {
        slot.len == probe.len
            && slot.head == probe.head
            && (id.len() <= INLINE || self.get(slot.position as usize) == id)
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The id at `position`.
    ///
    /// # Panics
    /// If `position` is out of range.
    pub fn get(&self, position: usize) -> &str {
        let (start, len) = self.spans[position];
        &self.text[start as usize..(start + len) as usize]
    }

    /// The position of `id`.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.find_hashed(id, hash(id))
    }

    fn find_hashed(&self, id: &str, h: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let probe = Slot::new(id, 0);
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot.len == EMPTY {
                return None;
            }
            if self.holds(slot, &probe, id) {
                return Some(slot.position as usize);
            }
            i = (i + 1) & mask;
        }
    }

    /// The positions of many ids (`out[i]` for `ids[i]`), looked up in batches whose cache
    /// misses overlap.
    ///
    /// # Panics
    /// If `out` is shorter than `ids`.
    pub fn find_many(&self, ids: &[&str], out: &mut [Option<usize>]) {
        let mut hashes = [0u64; BATCH];
        for (ids, out) in ids.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            for (h, id) in hashes.iter_mut().zip(ids) {
                *h = hash(id);
            }
            if !self.slots.is_empty() {
                self.touch(&hashes[..ids.len()]);
            }
            for ((o, id), &h) in out.iter_mut().zip(ids).zip(&hashes) {
                *o = self.find_hashed(id, h);
            }
        }
    }

    /// The ids in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The same ids in the order `order` (a permutation of the positions); the index is kept
    /// and only renumbered.
    ///
    /// # Panics
    /// If `order` is not a permutation of `0..len`.
    #[must_use]
    pub fn permuted(mut self, order: &[usize]) -> TestIds {
        assert_eq!(order.len(), self.len(), "a permutation of the ids");
        let mut new_position = vec![u32::MAX; order.len()];
        let mut text = String::with_capacity(self.text.len());
        let mut spans = Vec::with_capacity(order.len());
        for (new, &old) in order.iter().enumerate() {
            assert_eq!(new_position[old], u32::MAX, "a permutation repeats no position");
            new_position[old] = new as u32;
            let id = self.get(old);
            spans.push((text.len() as u32, id.len() as u32));
            text.push_str(id);
        }
        for slot in self.slots.iter_mut().filter(|s| s.len != EMPTY) {
            slot.position = new_position[slot.position as usize];
        }
        self.text = text;
        self.spans = spans;
        self
    }
}

impl<'a> FromIterator<&'a str> for TestIds {
    /// Collects ids, keeping the first of any repeated one.
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> TestIds {
        let mut ids = TestIds::new();
        for id in iter {
            let _ = ids.push(id);
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_id_at_its_position_and_refuses_repeats() {
        let long = "an id longer than sixteen bytes";
        let long_twin = "an id longer than sixteen bytes!";
        let all = ["b", "a", "", "ab", "数据", long, "an id longer than sixteen bytez"];
        let mut ids = TestIds::new();
        for id in all {
            ids.push(id).unwrap();
        }
        assert_eq!(ids.push("a"), Err(Duplicate { first: 1, second: 7 }));
        assert_eq!(ids.push(long), Err(Duplicate { first: 5, second: 7 }));
        assert_eq!(ids.len(), 7);
        assert_eq!(ids.iter().collect::<Vec<_>>(), all);
        let built = TestIds::build(all).unwrap();
        for ids in [&ids, &built] {
            assert_eq!(ids.find("ab"), Some(3));
            assert_eq!(ids.find(""), Some(2));
            assert_eq!(ids.find("数据"), Some(4));
            assert_eq!(ids.find(long), Some(5));
            assert_eq!(ids.find(long_twin), None, "same first bytes, other length");
            assert_eq!(ids.find("an id longer than sixteen bytey"), None, "same head and length, other text");
            assert_eq!(ids.find("A"), None);
            assert_eq!(ids.find("a\0"), None, "padding is not a byte of the id");
            let mut out = vec![None; 3];
            ids.find_many(&["数据", "zz", "b"], &mut out);
            assert_eq!(out, [Some(4), None, Some(0)]);
        }
        assert_eq!(TestIds::build(["x", "y", "x"]).unwrap_err(), Duplicate { first: 0, second: 2 });
        assert_eq!(TestIds::new().find("x"), None);
        let p = ids.permuted(&[6, 5, 4, 3, 2, 1, 0]);
        assert_eq!(p.get(0), "an id longer than sixteen bytez");
        assert_eq!(p.find("b"), Some(6));
        assert_eq!(p.find(long), Some(1));
    }

    #[test]
    fn many_ids_grow_the_index_and_stay_found() {
        let names: Vec<String> = (0..5000).map(|i| format!("id{i}")).collect();
        let mut grown = TestIds::new();
        for n in &names {
            grown.push(n).unwrap();
        }
        let built = TestIds::build(names.iter().map(String::as_str)).unwrap();
        for ids in [&grown, &built] {
            assert!(names.iter().enumerate().all(|(i, n)| ids.find(n) == Some(i)));
            assert_eq!(ids.find("id5000"), None);
        }
    }
}
