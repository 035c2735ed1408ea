//! The test ids of a contest, stored once and found by hash: what the validator matches a
//! submission's first column against, and what the scorer orders predictions by.
//!
//! Matching a million submitted ids is bound by memory latency, not by arithmetic, so an
//! index slot holds the first [`INLINE`] bytes of its id and its length: ids that short (the
//! 12-character ids of prepared bundles among them) are compared without touching the id text.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// Bytes of an id kept in its index slot.
const INLINE: usize = 16;

/// Distinct ids in a fixed order, in one buffer, with a hash index from id to position.
#[derive(Default, Clone)]
pub struct TestIds {
    text: String,
    /// Start and length of each id in `text`.
    spans: Vec<(u32, u32)>,
    index: HashTable<Slot>,
}

/// An index entry: the position of an id, with its length and first bytes.
#[derive(Debug, Clone, Copy)]
struct Slot {
    head: [u8; INLINE],
    len: u32,
    position: u32,
}

impl Slot {
    fn new(id: &str, position: u32) -> Slot {
        let mut head = [0; INLINE];
        let n = id.len().min(INLINE);
        head[..n].copy_from_slice(&id.as_bytes()[..n]);
        Slot { head, len: id.len() as u32, position }
    }

    /// Whether this slot holds `id` (`probe` is `Slot::new(id, _)`), reading the id text only
    /// for ids longer than [`INLINE`] bytes.
    fn holds(&self, probe: &Slot, id: &str, ids: &TestIds) -> bool {
        self.len == probe.len
            && self.head == probe.head
            && (id.len() <= INLINE || ids.get(self.position as usize) == id)
    }
}

impl std::fmt::Debug for TestIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIds").field("len", &self.len()).finish_non_exhaustive()
    }
}

/// An id given twice, with the position of its first occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the id is already at position {first}")]
pub struct Duplicate {
    pub first: usize,
}

/// The hash of an id; keyed by a constant, so that nothing depends on the process.
pub fn hash(id: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0x686f_6c64_6f75_7421).hash_one(id)
}

impl TestIds {
    pub fn new() -> TestIds {
        TestIds::default()
    }

    /// Room for `n` ids, so that the index is never rebuilt while they are added.
    pub fn with_capacity(n: usize) -> TestIds {
        TestIds { spans: Vec::with_capacity(n), index: HashTable::with_capacity(n), ..TestIds::default() }
    }

    /// Appends `id` at the next position, unless it is already there.
    ///
    /// # Panics
    /// Past 2³² − 1 ids, or 4 GiB of id text.
    pub fn push(&mut self, id: &str) -> Result<(), Duplicate> {
        let h = hash(id);
        if let Some(first) = self.find_hashed(id, h) {
            return Err(Duplicate { first });
        }
        let position = u32::try_from(self.spans.len()).expect("fewer than 2^32 test ids");
        let start = u32::try_from(self.text.len()).expect("less than 4 GiB of test ids");
        self.text.push_str(id);
        self.spans.push((start, id.len() as u32));
        let text = &self.text;
        self.index.insert_unique(h, Slot::new(id, position), |s| hash(span(text, s.position, &self.spans)));
        Ok(())
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

    /// The position of `id`, whose [`hash`] is `h`.
    pub fn find_hashed(&self, id: &str, h: u64) -> Option<usize> {
        let probe = Slot::new(id, 0);
        self.index.find(h, |s| s.holds(&probe, id, self)).map(|s| s.position as usize)
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
        for slot in &mut self.index {
            slot.position = new_position[slot.position as usize];
        }
        self.text = text;
        self.spans = spans;
        self
    }
}

fn span<'t>(text: &'t str, position: u32, spans: &[(u32, u32)]) -> &'t str {
    let (start, len) = spans[position as usize];
    &text[start as usize..(start + len) as usize]
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
        let mut ids = TestIds::new();
        for id in ["b", "a", "", "ab", "数据", long, "an id longer than sixteen bytez"] {
            ids.push(id).unwrap();
        }
        assert_eq!(ids.push("a"), Err(Duplicate { first: 1 }));
        assert_eq!(ids.push(long), Err(Duplicate { first: 5 }));
        assert_eq!(ids.len(), 7);
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            ["b", "a", "", "ab", "数据", long, "an id longer than sixteen bytez"]
        );
        assert_eq!(ids.find("ab"), Some(3));
        assert_eq!(ids.find(""), Some(2));
        assert_eq!(ids.find("数据"), Some(4));
        assert_eq!(ids.find(long), Some(5));
        assert_eq!(ids.find(long_twin), None, "same first bytes, other length");
        assert_eq!(ids.find("an id longer than sixteen bytey"), None, "same head and length, other text");
        assert_eq!(ids.find("A"), None);
        assert_eq!(ids.find("a\0"), None, "padding is not a byte of the id");
        let p = ids.permuted(&[6, 5, 4, 3, 2, 1, 0]);
        assert_eq!(p.get(0), "an id longer than sixteen bytez");
        assert_eq!(p.find("b"), Some(6));
        assert_eq!(p.find(long), Some(1));
    }
}
