//! Generalizing quasi-identifiers to k-anonymity: the lattice of per-column hierarchy levels,
//! searched for the node with the least information loss whose train split, test split (and so
//! their union) are k-anonymous and l-diverse within the suppression limit.
//!
//! The search uses two monotonicity facts. Generalizing a node can only merge classes, so the
//! rows that must be suppressed never increase and the labels in a class only accumulate: if a
//! node satisfies the policy, every node above it does; if it fails, every node below it does.
//! Projections help too: a node on all quasi-identifiers fails whenever its projection on any two
//! of them (the rest at `*`) fails, and those projections are cheap to count densely. The nodes
//! are then visited in order of their information loss (which grows with every level), skipping
//! those a failing projection rules out, each counted by rolling up the frequency set of an
//! already counted node below it instead of re-reading the rows.

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
    bits: u32,
    shift: u32,
}

impl Domain {
    pub fn height(&self) -> usize {
        self.levels.len() - 1
    }

    fn code_index(code: u16, dictionary_len: usize) -> usize {
        if code == MISSING { dictionary_len } else { usize::from(code) }
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
    #[error("the quasi-identifiers need {0} bits per key; at most 64 fit")]
    TooWide(u32),
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

type FrequencySet = HashMap<u64, Cell>;

/// What a node does to the data.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub suppressed_train: u64,
    pub suppressed_test: u64,
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
    pub loss: f64,
    pub outcome: Outcome,
    pub lattice_size: u64,
    pub evaluated: u64,
    pub pruned_by_projection: u64,
    /// Per published row: whether its quasi-identifiers are suppressed.
    #[serde(skip)]
    pub suppressed: Vec<bool>,
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
            bits,
            shift,
        });
        shift += bits;
    }
    if shift > 64 {
        return Err(GeneralizeError::TooWide(shift));
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

/// Searches the lattice for the least-loss node that satisfies `privacy`.
#[expect(clippy::too_many_lines, reason = "counting, ordering, pruning and choosing read best in one place")]
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

    // The bottom frequency set, counted from the rows.
    let mut bottom: FrequencySet = HashMap::default();
    for i in 0..n {
        let mut key = 0u64;
        for (d, c) in domains.iter().zip(&codes) {
            key |= u64::from(c[i]) << d.shift;
        }
        let cell = bottom.entry(key).or_default();
        if rows.test[i] {
            cell.test += 1;
        } else {
            cell.train += 1;
            cell.labels |= 1 << rows.class[i];
        }
    }

    // All nodes, in order of loss (then height, then levels: deterministic).
    let heights: Vec<usize> = domains.iter().map(Domain::height).collect();
    let mut nodes: Vec<Node> = vec![Vec::new()];
    for &h in &heights {
        nodes = nodes.into_iter().flat_map(|n| (0..=h as u8).map(move |l| [n.clone(), vec![l]].concat())).collect();
    }
    let loss = |node: &Node| -> f64 {
        domains.iter().zip(node).map(|(d, &l)| d.entropy_loss[usize::from(l)]).sum::<f64>() / domains.len() as f64
    };
    let mut order: Vec<(f64, usize, Node)> =
        nodes.into_iter().map(|n| (loss(&n), n.iter().map(|&l| usize::from(l)).sum(), n)).collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let lattice_size = order.len() as u64;

    // Pairwise projections: the least level pairs at which each pair of columns passes.
    let failing_pairs = pair_failures(&domains, &bottom, &up, &policy);

    let mut cache: Vec<(Node, FrequencySet)> = Vec::new();
    let bottom_node: Node = vec![0; domains.len()];
    let mut evaluated = 0;
    let mut pruned = 0;
    let mut chosen = None;
    for (node_loss, _, node) in &order {
        if failing_pairs.iter().any(|(a, b, la, lb)| node[*a] <= *la && node[*b] <= *lb) {
            pruned += 1;
            continue;
        }
        // Roll up from the smallest counted set below this node.
        let (from_node, from_set) = cache
            .iter()
            .filter(|(c, _)| c.iter().zip(node).all(|(a, b)| a <= b))
            .min_by_key(|(_, s)| s.len())
            .map_or((&bottom_node, &bottom), |(c, s)| (c, s));
        let set = roll_up(&domains, &up, from_set, from_node, node);
        evaluated += 1;
        let outcome = policy.evaluate(&set);
        if outcome.passes {
            chosen = Some((node.clone(), *node_loss, outcome, set));
            break;
        }
        cache.push((node.clone(), set));
        // Keep the cache bounded: at most this many entries in all.
        let mut total: usize = cache.iter().map(|(_, s)| s.len()).sum();
        while total > CACHE_ENTRIES && cache.len() > 1 {
            let largest = (0..cache.len()).max_by_key(|&i| cache[i].1.len()).unwrap_or(0);
            total -= cache[largest].1.len();
            cache.swap_remove(largest);
        }
    }
    // The top node (everything `*`) always has one class per split; reaching here without a
    // passing node means even that fails (fewer than k rows), which the risk gate reports.
    let (node, node_loss, outcome, set) = chosen.unwrap_or_else(|| {
        let top: Node = heights.iter().map(|&h| h as u8).collect();
        let set = roll_up(&domains, &up, &bottom, &bottom_node, &top);
        let outcome = policy.evaluate(&set);
        (top.clone(), loss(&top), outcome, set)
    });
    let suppressed = (0..n)
        .map(|i| {
            let mut key = 0u64;
            for (q, (d, c)) in domains.iter().zip(&codes).enumerate() {
                key |= u64::from(up[q][0][usize::from(node[q])][c[i] as usize]) << d.shift;
            }
            set.get(&key).is_some_and(|cell| policy.suppresses(*cell, rows.test[i]))
        })
        .collect();
    let levels = domains
        .iter()
        .zip(&node)
        .map(|(d, &l)| (d.column.clone(), d.hierarchy.clone(), d.level_names[usize::from(l)].clone()))
        .collect();
    let g = Generalization {
        node,
        levels,
        loss: node_loss,
        outcome,
        lattice_size,
        evaluated,
        pruned_by_projection: pruned,
        suppressed,
    };
    (domains, g)
}

/// Frequency-set entries kept for rolling up, in all (about 24 bytes each).
const CACHE_ENTRIES: usize = 20_000_000;

fn roll_up(domains: &[Domain], up: &[Vec<Vec<Vec<u32>>>], set: &FrequencySet, from: &Node, to: &Node) -> FrequencySet {
    if from == to {
        return set.clone();
    }
    let mut out: FrequencySet = HashMap::with_capacity_and_hasher(set.len() / 2, rustc_hash::FxBuildHasher);
    for (&key, &cell) in set {
        let mut new = 0u64;
        for (q, d) in domains.iter().enumerate() {
            let id = (key >> d.shift) & ((1u64 << d.bits) - 1);
            new |= u64::from(up[q][usize::from(from[q])][usize::from(to[q])][id as usize]) << d.shift;
        }
        out.entry(new).or_default().add(cell);
    }
    out
}

/// `(a, b, la, lb)`: the projection on columns `a` and `b` at levels `la`, `lb` (others `*`)
/// fails, so every node with levels at or below those on `a` and `b` fails.
fn pair_failures(
    domains: &[Domain],
    bottom: &FrequencySet,
    up: &[Vec<Vec<Vec<u32>>>],
    policy: &Policy,
) -> Vec<(usize, usize, u8, u8)> {
    let mut failing = Vec::new();
    for a in 0..domains.len() {
        for b in a + 1..domains.len() {
            // Dense counts at the raw levels of a and b.
            let (na, nb) = (domains[a].labels[0].len(), domains[b].labels[0].len());
            let mut dense = vec![Cell::default(); na * nb];
            let (da, db) = (&domains[a], &domains[b]);
            for (&key, &cell) in bottom {
                let ia = ((key >> da.shift) & ((1u64 << da.bits) - 1)) as usize;
                let ib = ((key >> db.shift) & ((1u64 << db.bits) - 1)) as usize;
                dense[ia * nb + ib].add(cell);
            }
            for la in 0..=da.height() {
                for lb in 0..=db.height() {
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
                        cells.into_iter().map(|((x, y), c)| ((u64::from(x) << 32) | u64::from(y), c)).collect();
                    if !policy.evaluate(&set).passes {
                        failing.push((a, b, la as u8, lb as u8));
                    }
                }
            }
        }
    }
    failing
}

/// The privacy policy as a test on a frequency set.
#[derive(Debug)]
struct Policy {
    k: u32,
    l: u32,
    max_suppressed_train: u64,
    max_suppressed_test: u64,
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
            max_average_risk: privacy.max_average_risk,
            train_rows,
            test_rows,
        }
    }

    /// Whether the rows of `cell` in the given split are suppressed.
    fn suppresses(&self, cell: Cell, test: bool) -> bool {
        if test { cell.test < self.k } else { cell.train < self.k || cell.labels.count_ones() < self.l }
    }

    fn evaluate(&self, set: &FrequencySet) -> Outcome {
        let (mut st, mut ss, mut ct, mut cs) = (0u64, 0u64, 0u64, 0u64);
        for &cell in set.values() {
            if cell.train > 0 {
                if self.suppresses(cell, false) {
                    st += u64::from(cell.train);
                } else {
                    ct += 1;
                }
            }
            if cell.test > 0 {
                if self.suppresses(cell, true) {
                    ss += u64::from(cell.test);
                } else {
                    cs += 1;
                }
            }
        }
        let average = |classes: u64, rows: u64| if rows == 0 { 0.0 } else { classes as f64 / rows as f64 };
        let passes = st <= self.max_suppressed_train
            && ss <= self.max_suppressed_test
            && average(ct, self.train_rows - st) <= self.max_average_risk
            && average(cs, self.test_rows - ss) <= self.max_average_risk;
        Outcome { suppressed_train: st, suppressed_test: ss, classes_train: ct, classes_test: cs, passes }
    }
}

impl Domain {
    /// The published text of dictionary code `code` (or missing) at lattice level `level`.
    pub fn label(&self, code: u16, dictionary_len: usize, level: u8) -> &str {
        let id = self.id[usize::from(level)][Domain::code_index(code, dictionary_len)];
        &self.labels[usize::from(level)][id as usize]
    }
}
