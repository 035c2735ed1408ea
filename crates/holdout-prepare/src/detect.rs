//! A second, independent look at free text before it is published: what personal data may
//! still be in text the scrubber has already been through.
//!
//! Two checks. First, the scrubber itself, run again: anything [`Scrubber::find`] still matches.
//! Second, a deliberately dumb one that shares no code with the scrubber's number scanner: every
//! digit-like character (ASCII, full-width, Chinese numerals including `〇零幺两`) stands for a
//! digit, separators between digits (spaces, dots, dashes, brackets, `，` `、` `。`) are dropped,
//! and any run of seven or more digits left is flagged, whatever kind it might be. Placeholders
//! (`[手机号]`) are not digits, so scrubbed text passes.
//!
//! The only numbers let through are the ordinary ones the scrubber keeps on purpose, recognised
//! here by their own rules: dates at the start of a run (`2024-07-17 14:30`, `20240717`), years
//! (`2019-2023`), decimals (`12345.67`, two decimal places at most) and ranges with a unit or currency (`3000-5000元`), and
//! words made of numerals (`，两个月`, `，2024年` do not continue the number before them).
//!
//! Cheap enough for every published cell: no regex is compiled per call, and a text without
//! digits costs one pass over its characters plus the scrubber's own pass.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::scrub::{PiiType, Scrubber};
// The words that make a number ordinary (`2024年`, `一直`) are the scrubber's list: it keeps
// those numbers, so the detector must not flag them. The detection itself is independent.
use crate::scrub::{NUMERAL_WORDS, UNITS};

/// What kind of personal data may be left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResidualKind {
    /// Seven or more digits in a row, once numerals are mapped and separators dropped.
    LongDigits,
    /// Something the scrubber would still replace.
    FirstPass(PiiType),
}

/// A suspicious span of the checked text (byte offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Residual {
    pub kind: ResidualKind,
    pub start: usize,
    pub end: usize,
}

/// Residuals counted per kind, accumulated over many texts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResidualCounts {
    pub long_digits: usize,
    pub first_pass: BTreeMap<PiiType, usize>,
}

impl ResidualCounts {
    pub fn add(&mut self, kind: ResidualKind) {
        match kind {
            ResidualKind::LongDigits => self.long_digits += 1,
            ResidualKind::FirstPass(kind) => *self.first_pass.entry(kind).or_insert(0) += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.long_digits + self.first_pass.values().sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

/// Personal data that may remain in `text` (already scrubbed), in text order: long digit runs,
/// then what the scrubber would still find.
pub fn residual_pii(scrubber: &Scrubber, text: &str) -> Vec<Residual> {
    let mut out = Vec::new();
    long_digit_runs(text, |start, end| out.push(Residual { kind: ResidualKind::LongDigits, start, end }));
    out.extend(scrubber.find(text).into_iter().map(|f| Residual {
        kind: ResidualKind::FirstPass(f.kind),
        start: f.start,
        end: f.end,
    }));
    out.sort_by_key(|r| (r.start, r.end));
    out
}

/// Adds the residuals of `text` to `counts`; returns how many `text` has. For a release gate
/// over every published free-text cell.
pub fn count_residuals(scrubber: &Scrubber, text: &str, counts: &mut ResidualCounts) -> usize {
    let mut n = 0;
    long_digit_runs(text, |_, _| {
        counts.add(ResidualKind::LongDigits);
        n += 1;
    });
    for f in scrubber.find(text) {
        counts.add(ResidualKind::FirstPass(f.kind));
        n += 1;
    }
    n
}

/// The digit `c` stands for.
fn digit(c: char) -> Option<u32> {
    const NUMERALS: [&str; 10] = ["〇零", "一幺壹", "二两贰", "三叁", "四肆", "五伍", "六陆", "七柒", "八捌", "九玖"];
    match c {
        '0'..='9' => Some(u32::from(c) - u32::from('0')),
        '０'..='９' => Some(u32::from(c) - u32::from('０')),
        _ if c.is_ascii() => None,
        _ => NUMERALS.iter().position(|n| n.contains(c)).map(|d| d as u32),
    }
}

fn is_numeral(c: char) -> bool {
    !c.is_ascii_digit() && !('０'..='９').contains(&c) && digit(c).is_some()
}

const SEPARATORS: &str = " \t\u{a0}\u{3000}.．-－‐‑‒–—―·•・，、。()（）[]【】";
const DASHES: &str = "-－–—";
const CURRENCY: &str = "¥￥$";

/// A group of digits of one script: byte range, digit count and value (of its first nine
/// digits, enough for dates and ranges).
#[derive(Debug, Clone, Copy)]
struct Digits {
    start: usize,
    end: usize,
    count: usize,
    value: u64,
}

/// Calls `flag(start, end)` for every run of seven or more digits in `text`.
fn long_digit_runs(text: &str, mut flag: impl FnMut(usize, usize)) {
    let mut groups: Vec<Digits> = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let Some(c) = text[at..].chars().next() else { break };
        if digit(c).is_none() {
            at += c.len_utf8();
            continue;
        }
        // One number: groups of one script, joined over separators or a change of script.
        groups.clear();
        loop {
            let g = group(text, at);
            groups.push(g);
            let after = &text[g.end..];
            let skip = after.len() - after.trim_start_matches(|c| SEPARATORS.contains(c)).len();
            let next = g.end + skip;
            if next < text.len() && !is_word(text, next) {
                at = next;
            } else {
                at = g.end;
                break;
            }
        }
        check(text, &groups, &mut flag);
    }
}

/// The group of one script (ASCII/full-width digits, or numerals) starting at `at`.
fn group(text: &str, at: usize) -> Digits {
    let mut g = Digits { start: at, end: at, count: 0, value: 0 };
    let mut script = None;
    for c in text[at..].chars() {
        let Some(d) = digit(c) else { break };
        if *script.get_or_insert(is_numeral(c)) != is_numeral(c) {
            break;
        }
        g.end += c.len_utf8();
        g.count += 1;
        if g.count <= 9 {
            g.value = g.value * 10 + u64::from(d);
        }
    }
    g
}

/// Whether the text at `at` is not a digit group that continues a number: not a digit at all,
/// or a word (up to four digits before a unit, one or two numerals before a character that
/// makes a word of them: `一直`, `三方`).
fn is_word(text: &str, at: usize) -> bool {
    let Some(first) = text[at..].chars().next() else { return true };
    if digit(first).is_none() {
        return true;
    }
    let g = group(text, at);
    let Some(next) = text[g.end..].chars().next() else { return false };
    (is_numeral(first) && g.count <= 2 && NUMERAL_WORDS.contains(next)) || (g.count <= 4 && UNITS.contains(next))
}

fn date(y: u64, m: u64, d: u64) -> bool {
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (1900..=2099).contains(&y) && (1..=12).contains(&m) && d >= 1 && d <= days[(m - 1) as usize]
}

/// Flags a number unless it is made of the ordinary numbers people write.
fn check(text: &str, groups: &[Digits], flag: &mut impl FnMut(usize, usize)) {
    let mut g = groups;
    // Dates at the start: `2024-07-17`, `20240717`, and a second one after it.
    loop {
        match g {
            [a, ..] if a.count == 8 && date(a.value / 10_000, a.value / 100 % 100, a.value % 100) => g = &g[1..],
            [y, m, d, ..] if y.count == 4 && m.count <= 2 && d.count <= 2 && date(y.value, m.value, d.value) => {
                g = &g[3..];
            }
            _ => break,
        }
    }
    let (Some(first), Some(last)) = (g.first(), g.last()) else { return };
    if g.iter().map(|d| d.count).sum::<usize>() < 7 {
        return;
    }
    if g.len() >= 2 && g.iter().all(|d| d.count == 4 && (1900..=2099).contains(&d.value)) {
        return;
    }
    if let [a, b] = g {
        let between = &text[a.end..b.start];
        if (between == "." || between == "．") && a.count <= 6 && b.count <= 2 {
            return;
        }
        let mut dash = between.trim().chars();
        let one_dash = dash.next().is_some_and(|c| DASHES.contains(c)) && dash.next().is_none();
        let unit = text[b.end..].trim_start().starts_with(|c| UNITS.contains(c));
        let currency = text[..a.start].ends_with(|c| CURRENCY.contains(c));
        if one_dash && a.count <= 6 && b.count <= 6 && a.value < b.value && (unit || currency) {
            return;
        }
    }
    flag(first.start, last.end);
}
