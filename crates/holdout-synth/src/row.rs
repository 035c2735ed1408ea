//! A reusable row buffer: one allocation for all text cells of a row, reused row after row.

use std::fmt;

/// A cell as sinks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    Missing,
    Int(i64),
    Text(&'a str),
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Missing,
    Int(i64),
    Text(u32, u32),
}

/// The cells of one generated row, in schema column order.
#[derive(Debug, Default)]
pub struct Row {
    text: String,
    slots: Vec<Slot>,
}

impl Row {
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.slots.clear();
    }

    pub(crate) fn missing(&mut self) {
        self.slots.push(Slot::Missing);
    }

    pub(crate) fn int(&mut self, v: i64) {
        self.slots.push(Slot::Int(v));
    }

    pub(crate) fn text(&mut self, s: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        self.slots.push(Slot::Text(start, self.text.len() as u32));
    }

    pub(crate) fn fmt(&mut self, args: fmt::Arguments<'_>) {
        let start = self.text.len() as u32;
        let _ = fmt::Write::write_fmt(&mut self.text, args);
        self.slots.push(Slot::Text(start, self.text.len() as u32));
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn cells(&self) -> impl Iterator<Item = Cell<'_>> + '_ {
        self.slots.iter().map(|s| match *s {
            Slot::Missing => Cell::Missing,
            Slot::Int(v) => Cell::Int(v),
            Slot::Text(a, b) => Cell::Text(&self.text[a as usize..b as usize]),
        })
    }
}
