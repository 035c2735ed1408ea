//! Generalizing quasi-identifiers to k-anonymity: per column a hierarchy level, finished by local
//! suppression, chosen for the release with the least information loss whose train split, test
//! split and their union are k-anonymous (and train l-diverse), counted on the published values
//! literally.
//!
//! **Local suppression** (cell-level, as sdcMicro's `localSuppression`): at a node of the lattice
//! of levels, a class that is too small (or, in train, has too few distinct targets) has cells of
//! all its rows blanked to `*` — the cheapest column first, by the contest's importance and what
//! the cell still carries — until it lands in a class that is large enough. A `*` is a value like
//! any other, so an outside tool grouping the published files by their quasi-identifiers sees the
//! same classes. Blanking every column of a row is whole-row suppression, the last resort,
//! bounded by `max_suppression`; the rows that may lose cells at all by `max_cell_suppression`.
//!
//! **The search** specializes greedily from the top (every column `*`): each step tries every
//! column at every finer level, finishes each candidate by local suppression and moves to the
//! one with the least total loss (importance-weighted entropy lost by the levels plus by the
//! blanked cells), until no step lowers it. At 20-odd columns the lattice has about 10⁹ nodes;
//! this visits a few hundred. Candidates are counted from the rows' classes at the current node,
//! one pass over the rows per column, and skipped unread when a bound says they cannot win: a
//! node's classes refine those of its projection on any two columns (the rest at `*`), so the
//! projection's unsafe rows, counted densely once, bound the node's from below, and every unsafe
//! row costs at least the cheapest cell.

use holdout_schema::{Dataset, Privacy};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use crate::raw::{MISSING, RawTable, Values};

/// One quasi-identifier, its hierarchy levels reduced to those that change the partition.
#[derive(Debug, Clone)]
pub struct Domain {
    pub column: String,
    pub hierarchy: String,
    /// Hierarchy level (column index in the hierarchy file) of each lattice level.
    pub levels: Vec<usize>,
    pub level_names: Vec<String>,
    /// `id[l][code]`: the value id at lattice level `l` of each dictionary code (the last code
    /// stands for a missing value).
    id: Vec<Vec<u32>>,
    /// `labels[l][id]`: the published text of each value at level `l`.
    pub labels: Vec<Vec<String>>,
    /// Share of the column's entropy lost at each level (0 at the raw level, 1 at `*`).
    pub entropy_loss: Vec<f64>,
    /// The contest's weight for keeping this column.
    pub importance: f64,
    bits: u32,
    shift: u32,
}

impl Domain {
    pub fn height(&self) -> usize {
        self.levels.len() - 1
    }

    pub fn code_index(code: u16, dictionary_len: usize) -> usize {
        if code == MISSING { dictionary_len } else { usize::from(code) }
    }

    /// The id a locally suppressed cell takes in a key: above every value's id at any level.
    fn star(&self) -> Key {
        (1 << self.bits) - 1
    }

    fn field(&self, key: Key) -> Key {
        (key >> self.shift) & ((1 << self.bits) - 1)
    }
}

/// A lattice node: the level of each quasi-identifier.
pub type Node = Vec<u8>;

#[derive(Debug, thiserror::Error)]
pub enum GeneralizeError {
    #[error("quasi-identifier `{0}` is not a coded column")]
    NotCoded(String),
    #[error("value `{value}` of quasi-identifier `{column}` is not in hierarchy `{hierarchy}`")]
    NotInHierarchy { column: String, hierarchy: String, value: String },
    #[error("no hierarchy `{0}`")]
    NoHierarchy(String),
    #[error("the quasi-identifiers need {0} bits per key; at most 128 fit")]
    TooWide(u32),
    #[error("{0} quasi-identifiers; at most 32 are supported")]
    TooMany(usize),
}

/// Counts of one equivalence class.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    train: u32,
    test: u32,
    /// Target classes seen among the class's training rows (bit per class).
    labels: u64,
}

impl Cell {
    fn add(&mut self, other: Cell) {
        self.train += other.train;
        self.test += other.test;
        self.labels |= other.labels;
    }
}

/// A class's values packed side by side, a few bits per quasi-identifier.
type Key = u128;

type FrequencySet = HashMap<Key, Cell>;

/// What the chosen node and its local suppression do to the data.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// Rows in classes too small (or too uniform) at the node's levels, before local suppression.
    pub unsafe_train: u64,
    pub unsafe_test: u64,
    /// Rows with at least one cell suppressed.
    pub rows_with_suppressed_cells: u64,
    /// Rows with every quasi-identifier `*` (whole-row suppression).
    pub rows_suppressed: u64,
    pub cells_suppressed: u64,
    /// Equivalence classes of the published values.
    pub classes_train: u64,
    pub classes_test: u64,
    pub passes: bool,
}

/// The rows to anonymize: which split each is in and its target class (for l-diversity).
#[derive(Debug)]
pub struct Rows<'a> {
    /// Raw-table row indices of the published rows.
    pub rows: &'a [usize],
    /// Per published row: true for test.
    pub test: &'a [bool],
    /// Per published row: target class index (< 64) for l-diversity.
    pub class: &'a [u8],
}

/// The chosen transformation and how the search went.
#[derive(Debug, Clone, Serialize)]
pub struct Generalization {
    pub node: Node,
    /// Per quasi-identifier: column, hierarchy, chosen level name.
    pub levels: Vec<(String, String, String)>,
    /// The search objective: the importance-weighted share of information lost, by the levels
    /// and by the suppressed cells.
    pub loss: f64,
    /// The levels' part of `loss`.
    pub generalization_loss: f64,
    /// The release's counts; the risk report has each column's share of blanked cells.
    pub outcome: Outcome,
    pub lattice_size: u64,
    /// Nodes whose rows were counted, and those finished by local suppression.
    pub evaluated: u64,
    pub locally_suppressed: u64,
    /// Nodes skipped because a lower bound of their loss exceeded the best found.
    pub pruned_by_bound: u64,
    /// Per published row: bit `q` set when quasi-identifier `q`'s cell is suppressed.
    #[serde(skip)]
    pub suppressed: Vec<u32>,
}

/// The quasi-identifier domains of a contest.
pub fn domains(dataset: &Dataset, privacy: &Privacy, table: &RawTable) -> Result<Vec<Domain>, GeneralizeError> {
    let mut out = Vec::new();
    let mut shift = 0;
    for qi in &privacy.quasi_identifiers {
        let column = table.column(&qi.column).ok_or_else(|| GeneralizeError::NotCoded(qi.column.clone()))?;
        let Values::Coded { dictionary, .. } = &column.values else {
            return Err(GeneralizeError::NotCoded(qi.column.clone()));
        };
        let h =
            dataset.hierarchies.get(&qi.hierarchy).ok_or_else(|| GeneralizeError::NoHierarchy(qi.hierarchy.clone()))?;
        let top = h.depth() - 1;
        // Path of every dictionary value (and of "missing") through the hierarchy levels.
        let mut paths: Vec<Vec<String>> = Vec::with_capacity(dictionary.len() + 1);
        for value in dictionary {
            let path = (qi.level..=top)
                .map(|l| h.generalize_from(value, qi.level, l).map(str::to_owned))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| GeneralizeError::NotInHierarchy {
                    column: qi.column.clone(),
                    hierarchy: qi.hierarchy.clone(),
                    value: value.clone(),
                })?;
            paths.push(path);
        }
        paths.push((qi.level..=top).map(|l| if l == top { "*".to_owned() } else { String::new() }).collect());

        // Keep a level only if it merges something the level below it kept apart (the rows
        // form a tree, so a level is coarser exactly when it has fewer values), and always `*`.
        let mut levels = Vec::new();
        let mut id: Vec<Vec<u32>> = Vec::new();
        let mut labels: Vec<Vec<String>> = Vec::new();
        for (offset, level) in (qi.level..=top).enumerate() {
            let mut index: HashMap<&str, u32> = HashMap::default();
            let mut level_labels = Vec::new();
            let ids: Vec<u32> = paths
                .iter()
                .map(|p| {
                    let text = p[offset].as_str();
                    *index.entry(text).or_insert_with(|| {
                        level_labels.push(text.to_owned());
                        (level_labels.len() - 1) as u32
                    })
                })
                .collect();
            if labels.last().is_none_or(|l| level_labels.len() < l.len()) || level == top {
                levels.push(level);
                id.push(ids);
                labels.push(level_labels);
            }
        }
        let bits = (u32::BITS - (labels[0].len() as u32).leading_zeros()).max(1);
        let level_names = levels.iter().map(|&l| h.levels[l].clone()).collect();
        out.push(Domain {
            column: qi.column.clone(),
            hierarchy: qi.hierarchy.clone(),
            levels,
            level_names,
            id,
            labels,
            entropy_loss: Vec::new(),
            importance: f64::from(qi.importance),
            bits,
            shift,
        });
        shift += bits;
    }
    if shift > Key::BITS {
        return Err(GeneralizeError::TooWide(shift));
    }
    if out.len() > 32 {
        return Err(GeneralizeError::TooMany(out.len()));
    }
    Ok(out)
}

/// Code index (dictionary code, or the missing slot) of each published row, per domain.
fn row_codes(domains: &[Domain], table: &RawTable, rows: &[usize]) -> Vec<Vec<u32>> {
    domains
        .iter()
        .map(|d| {
            let column = table.column(&d.column).and_then(|c| match &c.values {
                Values::Coded { codes, dictionary } => Some((codes, dictionary.len())),
                _ => None,
            });
            let Some((codes, len)) = column else { return Vec::new() };
            rows.iter().map(|&r| d.id[0][Domain::code_index(codes[r], len)]).collect()
        })
        .collect()
}

/// `up[q][from][to][id]`: the id at lattice level `to` of a value with id `id` at level `from`.
fn up_maps(domains: &[Domain]) -> Vec<Vec<Vec<Vec<u32>>>> {
    domains
        .iter()
        .map(|d| {
            (0..d.levels.len())
                .map(|from| {
                    (0..d.levels.len())
                        .map(|to| {
                            let mut map = vec![0; d.labels[from].len()];
                            for (code, &id) in d.id[from].iter().enumerate() {
                                map[id as usize] = d.id[to.max(from)][code];
                            }
                            map
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// What one thread found among a step's candidates: the best (total loss, loss of the levels,
/// node, local suppression, the column it changes) and the counts.
#[derive(Default)]
struct Found {
    step: Option<(f64, f64, Node, Local, usize)>,
    evaluated: u64,
    finished: u64,
    pruned: u64,
}

/// Searches the lattice for the node whose levels and local suppression lose the least
/// information while satisfying `privacy`.
#[expect(clippy::too_many_lines, reason = "counting, ordering, bounding and choosing read best in one place")]
pub fn search(
    mut domains: Vec<Domain>,
    privacy: &Privacy,
    table: &RawTable,
    rows: &Rows<'_>,
) -> (Vec<Domain>, Generalization) {
    let n = rows.rows.len();
    let codes = row_codes(&domains, table, rows.rows);
    let up = up_maps(&domains);
    // Entropy lost at each level, from the marginal distribution of the published rows.
    for (q, (d, c)) in domains.iter_mut().zip(&codes).enumerate() {
        let entropy = |level: usize| {
            let mut counts = vec![0u64; d.labels[level].len()];
            for &id in c {
                counts[up[q][0][level][id as usize] as usize] += 1;
            }
            counts
                .iter()
                .filter(|&&k| k > 0)
                .map(|&k| -(k as f64 / n as f64) * (k as f64 / n as f64).log2())
                .sum::<f64>()
        };
        let raw = entropy(0);
        d.entropy_loss = (0..d.levels.len()).map(|l| if raw > 0.0 { (raw - entropy(l)) / raw } else { 0.0 }).collect();
    }
    let policy = Policy::new(privacy, rows);
    let costs = Costs::new(&domains, n);

    // Greedy specialization from the top (every column `*`): each step tries every column at
    // every finer level, finishes each candidate by local suppression, and moves to the one with
    // the least total loss while that beats where it stands. The lattice (the product of the
    // columns' levels) is far too large to enumerate at 20-odd columns; this evaluates at most
    // (Σ levels)² of its nodes.
    let heights: Vec<usize> = domains.iter().map(Domain::height).collect();
    let lattice_size = heights.iter().fold(1u64, |size, &h| size.saturating_mul(h as u64 + 1));
    // Unsafe rows of every two-column projection: a lower bound for every node above.
    let mut partition = Partition::new(&domains, &up, &codes, rows, &top_node(&heights));
    let pairs = pair_bounds(&domains, &codes, &partition.cells, &up, &policy);
    let top = top_node(&heights);
    let (mut evaluated, mut finished, mut pruned) = (0, 0, 0);
    let top_set = partition.set();
    let mut best: Option<(f64, f64, Node, Local)> =
        suppress_locally(&domains, &top, &top_set, &policy, &costs).map(|local| {
            let level_loss = costs.levels(&top);
            (level_loss + local.loss, level_loss, top.clone(), local)
        });
    drop(top_set);
    let mut at = top.clone();
    loop {
        let standing = best.as_ref().map_or(f64::INFINITY, |b| b.0);
        // The step's candidates of the columns `q ≡ part (mod 2)`, in order: the best one
        // (the first of equals) and the counts. Each half on its own thread, each with its
        // own running best, so that the counts do not depend on timing.
        let try_columns = |part: usize| {
            let mut found = Found::default();
            for q in (part..domains.len()).step_by(2) {
                if at[q] == 0 {
                    continue;
                }
                // Column q at its raw level, the rest where they stand: every candidate of
                // this column rolls up from it.
                let mut finest = at.clone();
                finest[q] = 0;
                let base = partition.with_raw(&domains[q], &codes[q]);
                found.evaluated += 1;
                // Coarser levels first: once one is beyond local suppression, every finer one is.
                for level in (0..at[q]).rev() {
                    let mut node = at.clone();
                    node[q] = level;
                    let level_loss = costs.levels(&node);
                    let to_beat = found.step.as_ref().map_or(standing, |b| b.0.min(standing));
                    let cheapest = costs.cheapest_cell(&domains, &node);
                    let bound = |rows: u64| if rows == 0 { level_loss } else { level_loss + rows as f64 * cheapest };
                    let projected = pairs.iter().map(|p| p.unsafe_rows(&node)).max().unwrap_or(0);
                    if projected > policy.max_cell_rows {
                        found.pruned += 1;
                        break;
                    }
                    if bound(projected) >= to_beat {
                        found.pruned += 1;
                        continue;
                    }
                    let set = roll_up(&domains, &up, &base, &finest, &node);
                    found.evaluated += 1;
                    let must_move = policy.unsafe_split_rows(&set);
                    if must_move > policy.max_cell_rows {
                        break;
                    }
                    if bound(must_move) >= to_beat {
                        continue;
                    }
                    found.finished += 1;
                    if let Some(local) = suppress_locally(&domains, &node, &set, &policy, &costs) {
                        let total = level_loss + local.loss;
                        if total < to_beat {
                            found.step = Some((total, level_loss, node, local, q));
                        }
                    }
                }
            }
            found
        };
        let (even, odd) = std::thread::scope(|scope| {
            let odd = scope.spawn(|| try_columns(1));
            let even = try_columns(0);
            (even, odd.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        evaluated += even.evaluated + odd.evaluated;
        finished += even.finished + odd.finished;
        pruned += even.pruned + odd.pruned;
        // The least loss; between equals, the lower column (as one pass in column order would).
        let step = match (even.step, odd.step) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 || (b.0 == a.0 && b.4 < a.4) { b } else { a }),
            (a, b) => a.or(b),
        }
        .map(|(total, level_loss, node, local, _)| (total, level_loss, node, local));
        match step {
            Some(next) if next.0 < standing => {
                let q = (0..at.len()).find(|&q| at[q] != next.2[q]).expect("a step changes one column");
                partition.refine(&domains[q], &up[q][0][usize::from(next.2[q])], &codes[q]);
                at.clone_from(&next.2);
                tracing::debug!(loss = next.0, node = ?at, "specialized");
                best = Some(next);
            }
            _ => break,
        }
    }
    tracing::info!(evaluated, finished, pruned, lattice = lattice_size, "lattice searched");
    // The top node (everything `*`) is one class per split; no feasible node means even that
    // fails (fewer than k rows, or too few targets), which the risk gate reports.
    let (loss, level_loss, node, local) = best.unwrap_or_else(|| {
        let local = Local::unchanged(&Partition::new(&domains, &up, &codes, rows, &top).set(), &policy);
        (costs.levels(&top), costs.levels(&top), top, local)
    });

    // Each row's suppressed cells: where its class at the node went.
    let stars: Vec<Key> = domains.iter().map(Domain::star).collect();
    let mut suppressed = vec![0u32; n];
    if !local.moved.is_empty() {
        for (i, mask) in suppressed.iter_mut().enumerate() {
            let mut key: Key = 0;
            for (q, (d, c)) in domains.iter().zip(&codes).enumerate() {
                key |= Key::from(up[q][0][usize::from(node[q])][c[i] as usize]) << d.shift;
            }
            if let Some(&to) = local.moved.get(&key) {
                for (q, d) in domains.iter().enumerate() {
                    if d.field(to) == stars[q] {
                        *mask |= 1 << q;
                    }
                }
            }
        }
    }
    let levels = domains
        .iter()
        .zip(&node)
        .map(|(d, &l)| (d.column.clone(), d.hierarchy.clone(), d.level_names[usize::from(l)].clone()))
        .collect();
    let g = Generalization {
        node,
        levels,
        loss,
        generalization_loss: level_loss,
        outcome: local.outcome,
        lattice_size,
        evaluated,
        locally_suppressed: finished,
        pruned_by_bound: pruned,
        suppressed,
    };
    (domains, g)
}

/// The rows' classes at the node the greedy search stands on, by dense id: what each step's
/// candidates are counted from, one pass over the rows per column instead of a roll-up of the
/// (nearly row-sized) bottom frequency set.
struct Partition {
    /// Per published row: its class.
    class: Vec<u32>,
    /// Per class: its key at the node.
    keys: Vec<Key>,
    /// Per published row: its counts as a class of one.
    cells: Vec<Cell>,
}

impl Partition {
    fn new(
        domains: &[Domain],
        up: &[Vec<Vec<Vec<u32>>>],
        codes: &[Vec<u32>],
        rows: &Rows<'_>,
        node: &[u8],
    ) -> Partition {
        let n = rows.rows.len();
        let key = |i: usize| -> Key {
            domains
                .iter()
                .enumerate()
                .fold(0, |k, (q, d)| k | (Key::from(up[q][0][usize::from(node[q])][codes[q][i] as usize]) << d.shift))
        };
        // At the top every row is in one class (all `*`).
        let keys = if n == 0 { Vec::new() } else { vec![key(0)] };
        let cells = (0..n)
            .map(|i| {
                if rows.test[i] {
                    Cell { test: 1, ..Cell::default() }
                } else {
                    Cell { train: 1, test: 0, labels: 1 << rows.class[i] }
                }
            })
            .collect();
        Partition { class: vec![0; n], keys, cells }
    }

    /// The frequency set of the partition's classes.
    fn set(&self) -> FrequencySet {
        let mut counts = vec![Cell::default(); self.keys.len()];
        for (&c, &cell) in self.class.iter().zip(&self.cells) {
            counts[c as usize].add(cell);
        }
        self.keys.iter().copied().zip(counts).collect()
    }

    /// Splits every class by column `d`'s value `ids[raw id]`.
    fn refine(&mut self, d: &Domain, ids: &[u32], raw: &[u32]) {
        let mut index: HashMap<(u32, u32), u32> = HashMap::default();
        let mut keys = Vec::new();
        for (class, &r) in self.class.iter_mut().zip(raw) {
            let id = ids[r as usize];
            let old = *class;
            *class = *index.entry((old, id)).or_insert_with(|| {
                keys.push(with_field(d, self.keys[old as usize], Key::from(id)));
                (keys.len() - 1) as u32
            });
        }
        self.keys = keys;
    }

    /// The frequency set with column `d` at its raw level (`raw`: each row's raw id) and every
    /// other column as the partition stands.
    fn with_raw(&self, d: &Domain, raw: &[u32]) -> FrequencySet {
        let values = d.labels[0].len();
        let classes = self.keys.len();
        let mut out = FrequencySet::default();
        if classes.saturating_mul(values) <= (2 * self.class.len()).max(1 << 20) {
            let mut dense = vec![Cell::default(); classes * values];
            for ((&c, &r), &cell) in self.class.iter().zip(raw).zip(&self.cells) {
                dense[c as usize * values + r as usize].add(cell);
            }
            for (slot, cell) in dense.into_iter().enumerate() {
                if cell.train + cell.test > 0 {
                    let key = with_field(d, self.keys[slot / values], (slot % values) as Key);
                    out.insert(key, cell);
                }
            }
        } else {
            for ((&c, &r), &cell) in self.class.iter().zip(raw).zip(&self.cells) {
                out.entry(with_field(d, self.keys[c as usize], Key::from(r))).or_default().add(cell);
            }
        }
        out
    }
}

/// Every column at `*`.
fn top_node(heights: &[usize]) -> Node {
    heights.iter().map(|&h| h as u8).collect()
}

/// `key` with domain `d`'s field set to `value`.
fn with_field(d: &Domain, key: Key, value: Key) -> Key {
    (key & !(((1 << d.bits) - 1) << d.shift)) | (value << d.shift)
}

/// The search objective's prices: what a level and a suppressed cell cost, as a share of all the
/// information the quasi-identifiers carry, weighted by importance.
struct Costs {
    /// Σ importance.
    weight: f64,
    /// `importance × entropy_loss[level]` per domain and level.
    level: Vec<Vec<f64>>,
    /// What one suppressed cell costs at each level: the rest of its column's information.
    cell: Vec<Vec<f64>>,
}

impl Costs {
    fn new(domains: &[Domain], rows: usize) -> Costs {
        let weight: f64 = domains.iter().map(|d| d.importance).sum::<f64>().max(f64::MIN_POSITIVE);
        let rows = rows.max(1) as f64;
        Costs {
            weight,
            level: domains.iter().map(|d| d.entropy_loss.iter().map(|&e| d.importance * e).collect()).collect(),
            cell: domains
                .iter()
                .map(|d| d.entropy_loss.iter().map(|&e| d.importance * (1.0 - e) / (weight * rows)).collect())
                .collect(),
        }
    }

    /// The levels' share of the loss.
    fn levels(&self, node: &[u8]) -> f64 {
        self.level.iter().zip(node).map(|(l, &at)| l[usize::from(at)]).sum::<f64>() / self.weight
    }

    fn cell(&self, q: usize, level: u8) -> f64 {
        self.cell[q][usize::from(level)]
    }

    /// The cheapest cell a row in an unsafe class could lose at this node (infinite at the top,
    /// where nothing is left to suppress).
    fn cheapest_cell(&self, domains: &[Domain], node: &[u8]) -> f64 {
        (0..domains.len())
            .filter(|&q| usize::from(node[q]) < domains[q].height())
            .map(|q| self.cell(q, node[q]))
            .fold(f64::INFINITY, f64::min)
    }
}

/// A node finished by local suppression.
#[derive(Debug)]
struct Local {
    /// Key at the node → the key its rows were moved to (only the moved ones).
    moved: HashMap<Key, Key>,
    /// The suppressed cells' share of the loss.
    loss: f64,
    outcome: Outcome,
}

impl Local {
    fn unchanged(set: &FrequencySet, policy: &Policy) -> Local {
        let (unsafe_train, unsafe_test) = policy.unsafe_rows(set);
        let (classes_train, classes_test) = Policy::classes(set.values());
        Local {
            moved: HashMap::default(),
            loss: 0.0,
            outcome: Outcome {
                unsafe_train,
                unsafe_test,
                classes_train,
                classes_test,
                passes: unsafe_train + unsafe_test == 0 && policy.average_risk_ok(classes_train, classes_test),
                ..Outcome::default()
            },
        }
    }
}

/// Blanks cells of the rows in unsafe classes until every class is safe, cheapest cells first;
/// `None` when that takes more whole rows than the policy allows, or cannot succeed.
///
/// A class moves whole, its training and test rows together, whichever of them is unsafe: a
/// blanked cell then says nothing about which file its row is in.
fn suppress_locally(
    domains: &[Domain],
    node: &[u8],
    set: &FrequencySet,
    policy: &Policy,
    costs: &Costs,
) -> Option<Local> {
    let stars: Vec<Key> = domains.iter().map(Domain::star).collect();
    let eligible: Vec<usize> = (0..domains.len()).filter(|&q| usize::from(node[q]) < domains[q].height()).collect();
    let (unsafe_train, unsafe_test) = policy.unsafe_rows(set);
    if unsafe_train + unsafe_test == 0 {
        return Some(Local::unchanged(set, policy));
    }
    let mut current: FrequencySet = set.clone();
    // Keys holding moved classes → the original keys whose rows they hold (original keys carry
    // no star, and a moved class always gains one, so the two never mix).
    let mut members: HashMap<Key, Vec<Key>> = HashMap::default();
    let has_star = |key: Key| domains.iter().zip(&stars).any(|(d, &s)| d.field(key) == s);
    loop {
        let mut unsafe_classes: Vec<(Key, Cell)> =
            current.iter().filter(|(_, c)| !policy.safe(**c)).map(|(&key, &cell)| (key, cell)).collect();
        if unsafe_classes.is_empty() {
            break;
        }
        unsafe_classes.sort_unstable_by_key(|m| m.0);
        // Where the unsafe classes could go: each candidate key with everything that might join it.
        let mut potential: HashMap<Key, Cell> = HashMap::default();
        for &(key, cell) in &unsafe_classes {
            for &q in &eligible {
                if domains[q].field(key) != stars[q] {
                    potential.entry(star_field(&domains[q], key)).or_default().add(cell);
                }
            }
        }
        let mut moves: Vec<(Key, Cell, Key)> = Vec::with_capacity(unsafe_classes.len());
        for &(key, cell) in &unsafe_classes {
            let mut choice: Option<(bool, f64, Key)> = None;
            for &q in &eligible {
                if domains[q].field(key) == stars[q] {
                    continue;
                }
                let to = star_field(&domains[q], key);
                let mut there = current.get(&to).copied().unwrap_or_default();
                there.add(potential.get(&to).copied().unwrap_or_default());
                let safe = policy.safe(there);
                // Safe landings first, the cheapest of them; otherwise the most company per cost.
                let price = costs.cell(q, node[q]);
                let score = if safe { price } else { price / f64::from(there.train + there.test).max(1.0) };
                if choice.is_none_or(|(s, c, _)| (safe && !s) || (safe == s && score < c)) {
                    choice = Some((safe, score, to));
                }
            }
            // A class with nothing left to suppress stays; others may still join it.
            if let Some((_, _, to)) = choice {
                moves.push((key, cell, to));
            }
        }
        if moves.is_empty() {
            // Every unsafe class is already `*` everywhere: nothing more can help.
            return None;
        }
        // Take every mover out first, then put each where it goes.
        let mut taken: Vec<(Cell, Key, Vec<Key>)> = Vec::with_capacity(moves.len());
        for (key, cell, to) in moves {
            current.remove(&key);
            let origins = if has_star(key) { members.remove(&key).unwrap_or_default() } else { vec![key] };
            taken.push((cell, to, origins));
        }
        for (cell, to, origins) in taken {
            current.entry(to).or_default().add(cell);
            members.entry(to).or_default().extend(origins);
        }
    }

    let mut moved = HashMap::default();
    for (to, origins) in members {
        for from in origins {
            moved.insert(from, to);
        }
    }
    // Cells and whole rows suppressed, from the classes the moved rows landed in.
    let mut outcome = Outcome { unsafe_train, unsafe_test, ..Outcome::default() };
    let mut cells = vec![0u64; domains.len()];
    let (mut whole_train, mut whole_test) = (0u64, 0u64);
    for (&from, &to) in &moved {
        let cell = set[&from];
        let rows = u64::from(cell.train + cell.test);
        let mut all = true;
        for &q in &eligible {
            if domains[q].field(to) == stars[q] {
                cells[q] += rows;
            } else {
                all = false;
            }
        }
        outcome.rows_with_suppressed_cells += rows;
        if all {
            whole_train += u64::from(cell.train);
            whole_test += u64::from(cell.test);
        }
    }
    outcome.rows_suppressed = whole_train + whole_test;
    outcome.cells_suppressed = cells.iter().sum();
    let loss = eligible.iter().map(|&q| cells[q] as f64 * costs.cell(q, node[q])).sum();
    let (classes_train, classes_test) = Policy::classes(current.values());
    outcome.classes_train = classes_train;
    outcome.classes_test = classes_test;
    outcome.passes = whole_train <= policy.max_suppressed_train
        && whole_test <= policy.max_suppressed_test
        && outcome.rows_with_suppressed_cells <= policy.max_cell_rows
        && policy.average_risk_ok(classes_train, classes_test);
    outcome.passes.then_some(Local { moved, loss, outcome })
}

/// `key` with domain `d`'s field set to the suppressed cell.
fn star_field(d: &Domain, key: Key) -> Key {
    with_field(d, key, d.star())
}

fn roll_up(domains: &[Domain], up: &[Vec<Vec<Vec<u32>>>], set: &FrequencySet, from: &Node, to: &Node) -> FrequencySet {
    if from == to {
        return set.clone();
    }
    let mut out: FrequencySet = HashMap::with_capacity_and_hasher(set.len() / 2, rustc_hash::FxBuildHasher);
    for (&key, &cell) in set {
        let mut new: Key = 0;
        for (q, d) in domains.iter().enumerate() {
            let id = d.field(key);
            new |= Key::from(up[q][usize::from(from[q])][usize::from(to[q])][id as usize]) << d.shift;
        }
        out.entry(new).or_default().add(cell);
    }
    out
}

/// The unsafe rows of the projection on two columns `a`, `b` (the rest at `*`) at every pair of
/// their levels.
struct PairBound {
    a: usize,
    b: usize,
    /// `unsafe_rows[la][lb]`.
    unsafe_rows: Vec<Vec<u64>>,
}

impl PairBound {
    fn unsafe_rows(&self, node: &[u8]) -> u64 {
        self.unsafe_rows[usize::from(node[self.a])][usize::from(node[self.b])]
    }
}

fn pair_bounds(
    domains: &[Domain],
    codes: &[Vec<u32>],
    cells: &[Cell],
    up: &[Vec<Vec<Vec<u32>>>],
    policy: &Policy,
) -> Vec<PairBound> {
    let mut out = Vec::new();
    for a in 0..domains.len() {
        for b in a + 1..domains.len() {
            // Dense counts at the raw levels of a and b.
            let (da, db) = (&domains[a], &domains[b]);
            let (na, nb) = (da.labels[0].len(), db.labels[0].len());
            let mut dense = vec![Cell::default(); na * nb];
            for ((&ia, &ib), &cell) in codes[a].iter().zip(&codes[b]).zip(cells) {
                dense[ia as usize * nb + ib as usize].add(cell);
            }
            let mut unsafe_rows = vec![vec![0; db.height() + 1]; da.height() + 1];
            for (la, row) in unsafe_rows.iter_mut().enumerate() {
                for (lb, slot) in row.iter_mut().enumerate() {
                    let mut cells: HashMap<(u32, u32), Cell> = HashMap::default();
                    for ia in 0..na {
                        for ib in 0..nb {
                            let c = dense[ia * nb + ib];
                            if c.train + c.test > 0 {
                                cells.entry((up[a][0][la][ia], up[b][0][lb][ib])).or_default().add(c);
                            }
                        }
                    }
                    let set: FrequencySet =
                        cells.into_iter().map(|((x, y), c)| ((Key::from(x) << 32) | Key::from(y), c)).collect();
                    *slot = policy.unsafe_split_rows(&set);
                }
            }
            out.push(PairBound { a, b, unsafe_rows });
        }
    }
    out
}

/// The privacy policy as tests on classes.
#[derive(Debug)]
struct Policy {
    k: u32,
    l: u32,
    max_suppressed_train: u64,
    max_suppressed_test: u64,
    /// Rows that may lose cells to local suppression.
    max_cell_rows: u64,
    max_average_risk: f64,
    train_rows: u64,
    test_rows: u64,
}

impl Policy {
    fn new(privacy: &Privacy, rows: &Rows<'_>) -> Policy {
        let test_rows = rows.test.iter().filter(|&&t| t).count() as u64;
        let train_rows = rows.test.len() as u64 - test_rows;
        Policy {
            k: privacy.k,
            l: privacy.l_diversity.unwrap_or(1),
            max_suppressed_train: (privacy.max_suppression * train_rows as f64).floor() as u64,
            max_suppressed_test: (privacy.max_suppression * test_rows as f64).floor() as u64,
            max_cell_rows: (privacy.max_cell_suppression * rows.test.len() as f64).floor() as u64,
            max_average_risk: privacy.max_average_risk,
            train_rows,
            test_rows,
        }
    }

    /// Whether a class's training rows may be published as they are.
    fn safe_train(&self, cell: Cell) -> bool {
        cell.train >= self.k && cell.labels.count_ones() >= self.l
    }

    fn safe_test(&self, cell: Cell) -> bool {
        cell.test >= self.k
    }

    /// Whether a class may be published as it is: each of its splits is empty or safe.
    fn safe(&self, cell: Cell) -> bool {
        (cell.train == 0 || self.safe_train(cell)) && (cell.test == 0 || self.safe_test(cell))
    }

    /// Rows of train and of test in classes that are not safe: all of them move.
    fn unsafe_rows(&self, set: &FrequencySet) -> (u64, u64) {
        let (mut train, mut test) = (0, 0);
        for &cell in set.values().filter(|&&c| !self.safe(c)) {
            train += u64::from(cell.train);
            test += u64::from(cell.test);
        }
        (train, test)
    }

    /// Rows whose own split of their class is unsafe: fewer than [`Policy::unsafe_rows`], but
    /// monotone — a row counted here is counted at every finer node (its class there has no
    /// more rows of its split, and no more targets) — so a projection's count bounds a node's.
    fn unsafe_split_rows(&self, set: &FrequencySet) -> u64 {
        set.values()
            .map(|&c| {
                let train = if c.train > 0 && !self.safe_train(c) { c.train } else { 0 };
                let test = if c.test > 0 && !self.safe_test(c) { c.test } else { 0 };
                u64::from(train + test)
            })
            .sum()
    }

    fn classes<'a>(cells: impl Iterator<Item = &'a Cell>) -> (u64, u64) {
        cells.fold((0, 0), |(t, s), c| (t + u64::from(c.train > 0), s + u64::from(c.test > 0)))
    }

    /// Average prosecutor risk (classes per row) within the limit on both splits.
    fn average_risk_ok(&self, classes_train: u64, classes_test: u64) -> bool {
        let average = |classes: u64, rows: u64| if rows == 0 { 0.0 } else { classes as f64 / rows as f64 };
        average(classes_train, self.train_rows) <= self.max_average_risk
            && average(classes_test, self.test_rows) <= self.max_average_risk
    }
}

impl Domain {
    /// Per dictionary code (the last entry: missing), whether its value at `level` covers more
    /// than that one raw value.
    pub fn coarser(&self, level: u8, dictionary_len: usize) -> Vec<bool> {
        let ids = &self.id[usize::from(level)];
        let mut covers = vec![0u32; self.labels[usize::from(level)].len()];
        for &id in &ids[..=dictionary_len.min(ids.len() - 1)] {
            covers[id as usize] += 1;
        }
        (0..=dictionary_len).map(|c| ids.get(c).is_some_and(|&id| covers[id as usize] > 1)).collect()
    }

    /// The published text of dictionary code `code` (or missing) at lattice level `level`.
    pub fn label(&self, code: u16, dictionary_len: usize, level: u8) -> &str {
        let id = self.id[usize::from(level)][Domain::code_index(code, dictionary_len)];
        &self.labels[usize::from(level)][id as usize]
    }
}
