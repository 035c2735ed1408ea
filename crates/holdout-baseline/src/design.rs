//! Design matrices, derived from the column description and fitted on training rows only:
//!
//! - **linear** (logistic regression, naive Bayes, linear regression): ratings and counts
//!   standardized (mean 0, sd 1 on the training rows) with missing values at the mean plus a
//!   missing-indicator column; every categorical or ordinal answer and every generalized
//!   quasi-identifier one-hot, with "missing" and "suppressed" as levels of their own and the
//!   most frequent level dropped as the reference. Indicator columns equal to another one, or to
//!   its complement, are left out (the practitioner-only questions share one missing pattern,
//!   which is also the questionnaire version), so the matrix has no exact collinearity.
//! - **tree** (decision tree, boosted trees): one column per feature that is not constant on the
//!   training rows: the number, the rank of an ordinal answer, or the code of a categorical one
//!   (listed in `categorical`); missing and suppressed values are NaN, or a value below every
//!   real one for models that need a number.
//!
//! Matrices are column-major (`ndarray`'s Fortran order): linfa's logistic regression computes
//! `Xᵀ·r` about 20× faster that way, and `forust-ml` reads the same buffer without a copy.

use rustc_hash::FxHashSet as HashSet;

use holdout_schema::{ColumnInfo, FeatureKind};
use ndarray::{Array2, ShapeBuilder};

use crate::table::{Feature, Table};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Linear {
    Standardized { feature: usize, mean: f64, sd: f64 },
    Missing { feature: usize },
    Level { feature: usize, code: u16 },
}

/// The encodings of one training set, to apply to any rows of any table read with the same
/// column description.
#[derive(Debug, Clone)]
pub struct Encoder {
    linear: Vec<Linear>,
    linear_names: Vec<String>,
    /// The features with a tree column: those not constant on the training rows.
    tree_features: Vec<usize>,
    /// Per tree column: whether it holds categorical codes.
    tree_categorical: Vec<bool>,
    tree_names: Vec<String>,
}

impl Encoder {
    /// Fits the encodings on `rows` of `table`.
    pub fn fit(columns: &[ColumnInfo], table: &Table, rows: &[usize]) -> Encoder {
        let mut linear = Vec::new();
        let mut linear_names = Vec::new();
        let mut seen: HashSet<Vec<u64>> = HashSet::default();
        // Adds an indicator column unless it (or its complement) is constant or already there.
        let mut indicator = |is: &dyn Fn(usize) -> bool| -> bool {
            let mut bits = vec![0u64; rows.len().div_ceil(64)];
            let flip = rows.first().is_some_and(|&r| is(r));
            let mut ones = 0usize;
            for (i, &r) in rows.iter().enumerate() {
                if is(r) != flip {
                    bits[i / 64] |= 1 << (i % 64);
                    ones += 1;
                }
            }
            ones > 0 && seen.insert(bits)
        };
        for (f, (c, feature)) in table.features.iter().enumerate() {
            let info = &columns[*c];
            match feature {
                Feature::Number(v) => {
                    let (mut sum, mut n) = (0.0, 0usize);
                    for &r in rows {
                        if !v[r].is_nan() {
                            sum += v[r];
                            n += 1;
                        }
                    }
                    if n == 0 {
                        continue;
                    }
                    let mean = sum / n as f64;
                    let ss: f64 = rows.iter().map(|&r| v[r]).filter(|x| !x.is_nan()).map(|x| (x - mean).powi(2)).sum();
                    let sd = (ss / n as f64).sqrt();
                    if sd > 0.0 {
                        linear.push(Linear::Standardized { feature: f, mean, sd });
                        linear_names.push(info.name.clone());
                    }
                    if n < rows.len() && indicator(&|r| v[r].is_nan()) {
                        linear.push(Linear::Missing { feature: f });
                        linear_names.push(format!("{}:missing", info.name));
                    }
                }
                Feature::Codes { codes, values } => {
                    let mut counts = vec![0usize; usize::from(*values) + 2];
                    for &r in rows {
                        counts[usize::from(codes[r])] += 1;
                    }
                    // The reference level: the most frequent (the first of equals).
                    let reference = counts.iter().enumerate().rev().max_by_key(|(_, n)| **n).map_or(0, |(c, _)| c);
                    for (code, &n) in counts.iter().enumerate() {
                        let code = code as u16;
                        if n == 0 || usize::from(code) == reference || !indicator(&|r| codes[r] == code) {
                            continue;
                        }
                        linear.push(Linear::Level { feature: f, code });
                        linear_names.push(format!("{}={}", info.name, level_name(info, code, *values)));
                    }
                }
            }
        }
        // A feature constant on the training rows (a quasi-identifier suppressed everywhere)
        // cannot split a tree: left out.
        let tree_features: Vec<usize> = (0..table.features.len())
            .filter(|&f| match &table.features[f].1 {
                Feature::Number(v) => rows.iter().any(|&r| v[r].to_bits() != v[rows[0]].to_bits()),
                Feature::Codes { codes, .. } => rows.iter().any(|&r| codes[r] != codes[rows[0]]),
            })
            .collect();
        let tree_categorical = tree_features
            .iter()
            .map(|&f| {
                let (c, feature) = &table.features[f];
                matches!(feature, Feature::Codes { .. }) && columns[*c].kind != FeatureKind::Ordinal
            })
            .collect();
        let tree_names = tree_features.iter().map(|&f| columns[table.features[f].0].name.clone()).collect();
        Encoder { linear, linear_names, tree_features, tree_categorical, tree_names }
    }

    pub fn linear_names(&self) -> &[String] {
        &self.linear_names
    }

    pub fn tree_names(&self) -> &[String] {
        &self.tree_names
    }

    /// Indices of the tree columns that hold categorical codes.
    pub fn tree_categorical(&self) -> Vec<usize> {
        self.tree_categorical.iter().enumerate().filter(|(_, c)| **c).map(|(i, _)| i).collect()
    }

    /// The linear design of `rows` of `table` (rows × columns, column-major).
    pub fn linear(&self, table: &Table, rows: &[usize]) -> Array2<f64> {
        let n = rows.len();
        let mut data = Vec::with_capacity(n * self.linear.len());
        for column in &self.linear {
            match *column {
                Linear::Standardized { feature, mean, sd } => {
                    let Feature::Number(v) = &table.features[feature].1 else { unreachable!("numbers") };
                    data.extend(rows.iter().map(|&r| if v[r].is_nan() { 0.0 } else { (v[r] - mean) / sd }));
                }
                Linear::Missing { feature } => {
                    let Feature::Number(v) = &table.features[feature].1 else { unreachable!("numbers") };
                    data.extend(rows.iter().map(|&r| f64::from(u8::from(v[r].is_nan()))));
                }
                Linear::Level { feature, code } => {
                    let Feature::Codes { codes, .. } = &table.features[feature].1 else { unreachable!("codes") };
                    data.extend(rows.iter().map(|&r| f64::from(u8::from(codes[r] == code))));
                }
            }
        }
        Array2::from_shape_vec((n, self.linear.len()).f(), data).expect("rows × columns values")
    }

    /// The tree design of `rows` of `table` (rows × features, column-major); missing and
    /// suppressed values become `missing`.
    pub fn tree(&self, table: &Table, rows: &[usize], missing: f64) -> Array2<f64> {
        let n = rows.len();
        let mut data = Vec::with_capacity(n * self.tree_features.len());
        for &f in &self.tree_features {
            match &table.features[f].1 {
                Feature::Number(v) => data.extend(rows.iter().map(|&r| if v[r].is_nan() { missing } else { v[r] })),
                Feature::Codes { codes, values } => {
                    data.extend(rows.iter().map(|&r| if codes[r] >= *values { missing } else { f64::from(codes[r]) }));
                }
            }
        }
        Array2::from_shape_vec((n, self.tree_features.len()).f(), data).expect("rows × columns values")
    }
}

fn level_name(info: &ColumnInfo, code: u16, values: u16) -> String {
    if code == Feature::missing_code(values) {
        "missing".to_owned()
    } else if code == Feature::suppressed_code(values) {
        "suppressed".to_owned()
    } else {
        info.values[usize::from(code)].value.clone()
    }
}
