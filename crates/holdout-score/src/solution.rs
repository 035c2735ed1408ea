//! A contest's solution: the hidden truth of every test row, which rows are public or private
//! (and on which board), read from `solution.csv`: `id`, the target (under any name), and
//! optionally `usage` (`public`/`private`) and `board`.
//!
//! The rows are kept grouped by stratum — (usage, board) in a fixed order, file order within
//! each — because the [`Scorer`](crate::scorer::Scorer) and the bootstrap work on strata as
//! consecutive ranges. The validator returns predictions in this same order.

use std::fmt;
use std::io::Read;
use std::ops::Range;

use holdout_schema::text;

use crate::ids::TestIds;
use crate::metrics::Truth;
use crate::scorer::{MAX_STRATA, Strata};

/// Public or private rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Usage {
    Public,
    Private,
}

impl Usage {
    pub fn name(self) -> &'static str {
        match self {
            Usage::Public => "public",
            Usage::Private => "private",
        }
    }
}

/// One group of rows with the same usage and board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stratum {
    /// `None` when the solution has no `usage` column.
    pub usage: Option<Usage>,
    /// The test board (`a`, `b`) when the contest has A/B boards.
    pub board: Option<String>,
    pub rows: Range<usize>,
}

/// A named set of strata that is scored: `all`, `public`, `private`, and per board
/// `a_public`, `a_private`, `b_public`, `b_private`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subset {
    pub name: String,
    pub strata: Strata,
    pub rows: usize,
}

#[derive(Debug)]
pub struct Solution {
    /// Test ids, grouped by stratum.
    pub ids: TestIds,
    /// The truth in the same order.
    pub truth: Truth,
    /// The contest's class labels (empty for regression).
    pub labels: Vec<i64>,
    pub strata: Vec<Stratum>,
}

/// A problem in a solution file: the line (1 = the header) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SolutionError {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for SolutionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 { write!(f, "{}", self.message) } else { write!(f, "line {}: {}", self.line, self.message) }
    }
}

fn error(line: u64, message: impl Into<String>) -> SolutionError {
    SolutionError { line, message: message.into() }
}

impl Solution {
    /// Reads a solution CSV. `labels` are the contest's class labels (targets must be one of
    /// them), or empty for a regression (targets are finite numbers).
    pub fn read<R: Read>(reader: R, labels: &[i64]) -> Result<Solution, SolutionError> {
        let decoded = text::decode(reader).map_err(|e| error(0, e.to_string()))?;
        let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(decoded);
        let header = csv.headers().map_err(|e| error(1, e.to_string()))?.clone();
        let column = |name: &str| header.iter().position(|h| h.trim_start_matches('\u{feff}') == name);
        if column("id") != Some(0) || header.len() < 2 || [Some(1)].contains(&column("usage")) {
            let found: Vec<&str> = header.iter().collect();
            return Err(error(
                1,
                format!("expected the header `id,<target>[,usage[,board]]`, found `{}`", found.join(",")),
            ));
        }
        let (usage, board) = (column("usage"), column("board"));
        if board.is_some() && usage.is_none() {
            return Err(error(1, "a `board` column needs a `usage` column"));
        }
        // Ids one after another (indexed at the end, in stratum order), with their lines.
        let (mut text, mut ends, mut id_lines) = (String::new(), Vec::<u32>::new(), Vec::<u32>::new());
        let mut targets = Vec::new();
        // The stratum of each row, by index into `found` (in the order first met).
        let (mut stratum, mut found) = (Vec::new(), Vec::<(Option<Usage>, Option<String>)>::new());
        let mut record = csv::StringRecord::new();
        while csv
            .read_record(&mut record)
            .map_err(|e| error(e.position().map_or(0, csv::Position::line), e.to_string()))?
        {
            let line = record.position().map_or(0, csv::Position::line);
            if record.len() != header.len() {
                return Err(error(line, format!("{} fields, but the header has {}", record.len(), header.len())));
            }
            let id = record[0].trim();
            if id.is_empty() {
                return Err(error(line, "an empty id"));
            }
            text.push_str(id);
            ends.push(u32::try_from(text.len()).map_err(|_| error(line, "more than 4 GiB of ids"))?);
            id_lines.push(u32::try_from(line).unwrap_or(u32::MAX));
            let target = record[1].trim();
            let value = target.parse::<f64>().ok().filter(|t| t.is_finite());
            let value = match (value, labels.is_empty()) {
                (Some(v), true) => v + 0.0,
                (Some(v), false) => match labels.iter().position(|&l| l as f64 == v) {
                    Some(class) => class as f64,
                    None => return Err(error(line, format!("target `{target}` is not one of the labels {labels:?}"))),
                },
                (None, _) => return Err(error(line, format!("target `{target}` is not a finite number"))),
            };
            targets.push(value);
            let usage = match usage.map(|u| record[u].trim()) {
                None => None,
                Some("public") => Some(Usage::Public),
                Some("private") => Some(Usage::Private),
                Some(other) => return Err(error(line, format!("usage `{other}` is neither `public` nor `private`"))),
            };
            let board = board.map(|b| record[b].trim());
            if board == Some("") {
                return Err(error(line, "an empty board"));
            }
            let s = match found.iter().position(|(u, b)| *u == usage && b.as_deref() == board) {
                Some(s) => s,
                None if found.len() == MAX_STRATA => {
                    return Err(error(line, format!("more than {MAX_STRATA} (usage, board) groups")));
                }
                None => {
                    found.push((usage, board.map(str::to_owned)));
                    found.len() - 1
                }
            };
            stratum.push(s as u8);
        }
        if ends.is_empty() {
            return Err(error(0, "the solution has no rows"));
        }
        let (strata, order) = group(&stratum, &found);
        let id = |i: u32| &text[if i == 0 { 0 } else { ends[i as usize - 1] as usize }..ends[i as usize] as usize];
        let ids = TestIds::build(order.iter().map(|&i| id(i))).map_err(|d| {
            let (first, second) = (order[d.first].min(order[d.second]), order[d.first].max(order[d.second]));
            let line = |i: u32| u64::from(id_lines[i as usize]);
            error(line(second), format!("id `{}` repeats the id on line {}", id(second), line(first)))
        })?;
        let truth = if labels.is_empty() {
            Truth::Values(order.iter().map(|&i| targets[i as usize]).collect())
        } else {
            Truth::Classes(order.iter().map(|&i| targets[i as usize] as usize).collect())
        };
        Ok(Solution { ids, truth, labels: labels.to_vec(), strata })
    }

    /// The row ranges of the strata, in order.
    pub fn ranges(&self) -> Vec<Range<usize>> {
        self.strata.iter().map(|s| s.rows.clone()).collect()
    }

    /// The subsets scored: `all`, then each usage present, then each (board, usage) present.
    pub fn subsets(&self) -> Vec<Subset> {
        let mut out = Vec::new();
        let mut add = |name: String, keep: &dyn Fn(&Stratum) -> bool| {
            let mut strata: Strata = 0;
            let mut rows = 0;
            for (s, stratum) in self.strata.iter().enumerate() {
                if keep(stratum) {
                    strata |= 1 << s;
                    rows += stratum.rows.len();
                }
            }
            if rows > 0 {
                out.push(Subset { name, strata, rows });
            }
        };
        add("all".into(), &|_| true);
        for usage in [Usage::Public, Usage::Private] {
            add(usage.name().into(), &|s| s.usage == Some(usage));
        }
        let mut boards: Vec<&String> = self.strata.iter().filter_map(|s| s.board.as_ref()).collect();
        boards.dedup();
        for board in boards {
            for usage in [Usage::Public, Usage::Private] {
                add(format!("{board}_{}", usage.name()), &|s| {
                    s.usage == Some(usage) && s.board.as_ref() == Some(board)
                });
            }
        }
        out
    }
}

/// The strata in their fixed order — by board, then public before private — and the file rows
/// in stratum order, file order within each (a counting sort). `stratum[row]` indexes `found`.
fn group(stratum: &[u8], found: &[(Option<Usage>, Option<String>)]) -> (Vec<Stratum>, Vec<u32>) {
    let mut rank: Vec<usize> = (0..found.len()).collect();
    rank.sort_by(|&a, &b| (&found[a].1, found[a].0).cmp(&(&found[b].1, found[b].0)));
    let mut sizes = vec![0usize; found.len()];
    for &s in stratum {
        sizes[usize::from(s)] += 1;
    }
    let (mut strata, mut next) = (Vec::with_capacity(found.len()), vec![0usize; found.len()]);
    let mut start = 0;
    for &s in &rank {
        let (usage, board) = found[s].clone();
        strata.push(Stratum { usage, board, rows: start..start + sizes[s] });
        next[s] = start;
        start += sizes[s];
    }
    let mut order = vec![0u32; stratum.len()];
    for (i, &s) in stratum.iter().enumerate() {
        order[next[usize::from(s)]] = i as u32;
        next[usize::from(s)] += 1;
    }
    (strata, order)
}
