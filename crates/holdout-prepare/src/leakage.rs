//! The leakage audit of a split before release: can a model tell train from test
//! (adversarial validation)? does one feature give the target away? do identical feature
//! vectors straddle the split? do ids or row order follow the target?

use std::hash::{Hash, Hasher};

use holdout_score::metrics;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

/// Adversarial validation may not beat this AUC on a random split.
pub const MAX_ADVERSARIAL_AUC: f64 = 0.55;
/// A feature explaining this share of the target's uncertainty on its own is a leak.
pub const MAX_FEATURE_SCORE: f64 = 0.95;
/// Test rows whose feature vector also appears in train, as a share of test rows.
pub const MAX_CROSS_DUPLICATES: f64 = 0.01;
/// Rows sampled for adversarial validation (each half fits, the other scores).
const ADVERSARIAL_SAMPLE: usize = 200_000;

/// A categorical feature as the audit sees it: one small code per row.
#[derive(Debug)]
pub struct Feature<'a> {
    pub name: &'a str,
    pub codes: &'a [u16],
}

#[derive(Debug, Clone, Serialize)]
pub struct FeatureScore {
    pub feature: String,
    /// Share of the target's entropy (classification) or variance (regression, η²) the feature
    /// explains on its own, in the training rows.
    pub score: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeakageReport {
    pub adversarial_auc: f64,
    /// Features that separate train from test most (log-likelihood ratio spread).
    pub adversarial_top_features: Vec<FeatureScore>,
    pub top_target_features: Vec<FeatureScore>,
    pub cross_split_duplicates: u64,
    /// Of those, the share whose train twin has the same target.
    pub cross_split_duplicate_label_agreement: f64,
    /// Spearman correlation of the row position in the published file with the target, in
    /// train and in test. Files are ordered by id, so this is also the id's correlation.
    pub row_order_target_correlation_train: f64,
    pub row_order_target_correlation_test: f64,
    pub failures: Vec<String>,
}

/// Audits a split. `test` marks test rows; `target` and `class` are per row; `position` is
/// each row's line in its file (files are ordered by id).
pub fn audit(
    features: &[Feature<'_>],
    test: &[bool],
    target: &[f64],
    class: &[u8],
    classification: bool,
    position: &[usize],
    seed: u64,
) -> LeakageReport {
    // Adversarial validation is the heaviest part: on a second thread.
    std::thread::scope(|scope| {
        let adversarial = scope.spawn(|| adversarial(features, test, seed));
        let rest = audit_split(features, test, target, class, classification, position);
        let (adversarial_auc, adversarial_top_features) =
            adversarial.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let mut report = LeakageReport { adversarial_auc, adversarial_top_features, ..rest };
        if adversarial_auc > MAX_ADVERSARIAL_AUC {
            report.failures.insert(
                0,
                format!(
                    "adversarial validation tells train from test with AUC {adversarial_auc:.4} > {MAX_ADVERSARIAL_AUC}"
                ),
            );
        }
        report
    })
}

/// Everything of the audit but adversarial validation (its fields left empty).
fn audit_split(
    features: &[Feature<'_>],
    test: &[bool],
    target: &[f64],
    class: &[u8],
    classification: bool,
    position: &[usize],
) -> LeakageReport {
    let n = test.len();
    let train: Vec<usize> = (0..n).filter(|&i| !test[i]).collect();
    let test_rows: Vec<usize> = (0..n).filter(|&i| test[i]).collect();

    let mut top_target_features: Vec<FeatureScore> = features
        .iter()
        .map(|f| FeatureScore {
            feature: f.name.to_owned(),
            score: if classification {
                entropy_explained(&train, f.codes, class)
            } else {
                variance_explained(&train, f.codes, target)
            },
        })
        .collect();
    top_target_features.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.feature.cmp(&b.feature)));
    top_target_features.truncate(10);

    // Identical feature vectors on both sides.
    let hash_row = |i: usize| {
        let mut h = rustc_hash::FxHasher::default();
        for f in features {
            f.codes[i].hash(&mut h);
        }
        h.finish()
    };
    let mut train_hashes: HashMap<u64, usize> =
        HashMap::with_capacity_and_hasher(train.len(), rustc_hash::FxBuildHasher);
    for &i in &train {
        train_hashes.entry(hash_row(i)).or_insert(i);
    }
    let (mut dup, mut agree) = (0u64, 0u64);
    for &i in &test_rows {
        if let Some(&j) = train_hashes.get(&hash_row(i))
            && features.iter().all(|f| f.codes[i] == f.codes[j])
        {
            dup += 1;
            agree += u64::from(target[i] == target[j]);
        }
    }

    let values = |rows: &[usize]| -> Vec<f64> { rows.iter().map(|&i| target[i]).collect() };
    let positions = |rows: &[usize]| -> Vec<f64> { rows.iter().map(|&i| position[i] as f64).collect() };
    // A constant target (or a single row) has no rank correlation: nothing to leak.
    let rho = |x: Vec<f64>, y: Vec<f64>| metrics::spearman(&x, &y).value().unwrap_or(0.0);
    let pos_train = rho(positions(&train), values(&train));
    let pos_test = rho(positions(&test_rows), values(&test_rows));

    let mut failures = Vec::new();
    for f in top_target_features.iter().filter(|f| f.score >= MAX_FEATURE_SCORE) {
        failures.push(format!("feature `{}` alone explains {:.1} % of the target", f.feature, f.score * 100.0));
    }
    if !test_rows.is_empty() && dup as f64 / test_rows.len() as f64 > MAX_CROSS_DUPLICATES {
        failures.push(format!("{dup} test rows have an identical twin in train"));
    }
    // A correlation beyond chance: four standard errors plus a small floor.
    for (what, rho, m) in [("train", pos_train, train.len()), ("test", pos_test, test_rows.len())] {
        let limit = 0.01 + 4.0 / (m.max(1) as f64).sqrt();
        if rho.abs() > limit {
            failures.push(format!(
                "{what}: row order (= id order) follows the target (Spearman {rho:.4}, limit {limit:.4})"
            ));
        }
    }
    LeakageReport {
        adversarial_auc: 0.5,
        adversarial_top_features: Vec::new(),
        top_target_features,
        cross_split_duplicates: dup,
        cross_split_duplicate_label_agreement: if dup == 0 { 0.0 } else { agree as f64 / dup as f64 },
        row_order_target_correlation_train: pos_train,
        row_order_target_correlation_test: pos_test,
        failures,
    }
}

/// Adversarial validation with a categorical naive Bayes model (Laplace smoothing), fitted on
/// one half of a seeded sample and scored on the other, both ways. Naive Bayes sees every
/// feature's distribution shift at once and is exact and fast at this size.
fn adversarial(features: &[Feature<'_>], test: &[bool], seed: u64) -> (f64, Vec<FeatureScore>) {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let n = test.len();
    let mut sample: Vec<usize> = (0..n).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    sample.shuffle(&mut rng);
    sample.truncate(ADVERSARIAL_SAMPLE);
    let (a, b) = sample.split_at(sample.len() / 2);
    let mut scores = Vec::with_capacity(sample.len());
    let mut spread = vec![0.0; features.len()];
    for (fit, score) in [(a, b), (b, a)] {
        let (fit_test, fit_train) =
            fit.iter().fold((0.0, 0.0), |(t, r), &i| if test[i] { (t + 1.0, r) } else { (t, r + 1.0) });
        // Per feature, the log-likelihood ratio of each code (dense: codes are small), and
        // whether the fitting half saw it.
        let tables: Vec<(Vec<f64>, Vec<bool>)> = features
            .iter()
            .map(|f| {
                let values = f.codes.iter().copied().max().map_or(1, |m| usize::from(m) + 1);
                let mut counts = vec![[0.0f64; 2]; values];
                for &i in fit {
                    counts[usize::from(f.codes[i])][usize::from(test[i])] += 1.0;
                }
                let fitted: Vec<bool> = counts.iter().map(|c| c[0] + c[1] > 0.0).collect();
                let distinct = (fitted.iter().filter(|&&s| s).count() + 1) as f64;
                let llr = counts
                    .iter()
                    .map(|c| ((c[1] + 1.0) / (fit_test + distinct)).ln() - ((c[0] + 1.0) / (fit_train + distinct)).ln())
                    .collect();
                (llr, fitted)
            })
            .collect();
        for (q, (llr, seen)) in tables.iter().enumerate() {
            let (lo, hi) = llr
                .iter()
                .zip(seen)
                .filter(|&(_, &s)| s)
                .fold((0.0f64, 0.0f64), |(lo, hi), (&v, _)| (lo.min(v), hi.max(v)));
            spread[q] += (hi - lo) / 2.0;
        }
        for &i in score {
            let s: f64 = tables.iter().zip(features).map(|((llr, _), f)| llr[usize::from(f.codes[i])]).sum();
            scores.push((s, test[i]));
        }
    }
    let mut top: Vec<FeatureScore> =
        features.iter().zip(spread).map(|(f, s)| FeatureScore { feature: f.name.to_owned(), score: s }).collect();
    top.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.feature.cmp(&b.feature)));
    top.truncate(5);
    let (scores, is_test): (Vec<f64>, Vec<bool>) = scores.into_iter().unzip();
    // One split empty in the sample: nothing tells them apart.
    (metrics::roc_auc(&scores, &is_test).value().unwrap_or(0.5), top)
}

fn entropy(counts: impl Iterator<Item = f64>) -> f64 {
    let counts: Vec<f64> = counts.filter(|&c| c > 0.0).collect();
    let total: f64 = counts.iter().sum();
    counts.iter().map(|&c| -(c / total) * (c / total).ln()).sum()
}

/// 1 − H(class | feature) / H(class).
fn entropy_explained(rows: &[usize], codes: &[u16], class: &[u8]) -> f64 {
    let classes = class.iter().copied().max().map_or(1, |m| usize::from(m) + 1);
    let values = codes.iter().copied().max().map_or(1, |m| usize::from(m) + 1);
    let mut joint = vec![0.0; values * classes];
    let mut marginal = vec![0.0; classes];
    for &i in rows {
        joint[usize::from(codes[i]) * classes + usize::from(class[i])] += 1.0;
        marginal[usize::from(class[i])] += 1.0;
    }
    let h = entropy(marginal.iter().copied());
    if h == 0.0 {
        return 0.0;
    }
    let n = rows.len() as f64;
    let conditional: f64 = joint.chunks(classes).map(|c| c.iter().sum::<f64>() / n * entropy(c.iter().copied())).sum();
    1.0 - conditional / h
}

/// η²: the share of the target's variance explained by the feature's value means.
fn variance_explained(rows: &[usize], codes: &[u16], target: &[f64]) -> f64 {
    let n = rows.len() as f64;
    let mean = rows.iter().map(|&i| target[i]).sum::<f64>() / n;
    let total: f64 = rows.iter().map(|&i| (target[i] - mean).powi(2)).sum();
    let mut groups: HashMap<u16, (f64, f64)> = HashMap::default();
    for &i in rows {
        let g = groups.entry(codes[i]).or_default();
        g.0 += target[i];
        g.1 += 1.0;
    }
    let between: f64 = groups.values().map(|(s, c)| c * (s / c - mean).powi(2)).sum();
    if total == 0.0 { 0.0 } else { between / total }
}
