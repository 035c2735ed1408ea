//! The baseline library on small seeded tables: reading, encoding, every model on every task,
//! the trivial models' known scores, determinism, cross-validation folds.

#![allow(clippy::unwrap_used, clippy::many_single_char_names, reason = "tests fail loudly; short names for cases")]

use holdout_baseline::design::Encoder;
use holdout_baseline::models::Output;
use holdout_baseline::table::{Feature, Table, TableBuilder};
use holdout_baseline::{
    BaselineError, Contest, Inputs, Model, TrainTarget, cross_validate, fit_predict, folds, predictions, submission_csv,
};
use holdout_schema::{ColumnInfo, FeatureKind, Metric, PredictionFormat, ValueInfo};
use holdout_score::metrics::{Predictions, Truth, score};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn info(name: &str, kind: FeatureKind, values: &[&str]) -> ColumnInfo {
    ColumnInfo {
        name: name.to_owned(),
        zh: name.to_owned(),
        en: name.to_owned(),
        kind,
        values: values
            .iter()
            .map(|v| ValueInfo { value: (*v).to_owned(), zh: (*v).to_owned(), en: (*v).to_owned() })
            .collect(),
        min: None,
        max: None,
        reverse: false,
        item: None,
        generalized: None,
        has_missing: true,
        has_suppressed: false,
    }
}

fn columns() -> Vec<ColumnInfo> {
    let mut region = info("region", FeatureKind::Categorical, &["north", "south", "west"]);
    region.generalized = Some("code".to_owned());
    region.has_suppressed = true;
    let mut rating = info("rating", FeatureKind::Rating, &[]);
    (rating.min, rating.max) = (Some(1), Some(10));
    let mut ticked = info("ticked", FeatureKind::MultiSelect, &[]);
    (ticked.min, ticked.max) = (Some(0), Some(1));
    let mut ticked2 = ticked.clone();
    "ticked2".clone_into(&mut ticked2.name);
    let often = info("often", FeatureKind::Ordinal, &["1", "2", "3", "4"]);
    let comment = info("comment", FeatureKind::Text, &[]);
    vec![region, rating, ticked, ticked2, often, comment]
}

/// A CSV-like table: the target rises with the rating and `often`; `ticked` is missing in
/// about a fifth of the rows (with `ticked2`: the same pattern).
fn rows(n: usize, seed: u64, task: &str) -> Vec<Vec<String>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for i in 0..n {
        let region = ["north", "south", "west", "*", ""][rng.gen_range(0..5)];
        let rating: i64 = rng.gen_range(1..=10);
        let missing = rng.gen_bool(0.2);
        let ticked = if missing { String::new() } else { rng.gen_range(0..2).to_string() };
        let ticked2 = if missing { String::new() } else { rng.gen_range(0..2).to_string() };
        let often: i64 = rng.gen_range(1..=4);
        let signal = rating as f64 / 2.0 + often as f64 + rng.gen_range(-1.5..1.5);
        let target = match task {
            "ordinal" => ((signal - 1.0) / 1.6).clamp(0.0, 4.0).floor() as i64 + 1,
            "binary" => i64::from(signal > 6.5),
            _ => (signal * 10.0).round() as i64,
        };
        out.push(vec![
            format!("r{i:05}"),
            region.to_owned(),
            rating.to_string(),
            ticked,
            ticked2,
            often.to_string(),
            "free, text".to_owned(),
            target.to_string(),
        ]);
    }
    out
}

const HEADER: [&str; 8] = ["id", "region", "rating", "ticked", "ticked2", "often", "comment", "y"];

fn table(columns: &[ColumnInfo], rows: &[Vec<String>], train: bool) -> Table {
    let header: Vec<&str> = if train { HEADER.to_vec() } else { HEADER[..7].to_vec() };
    let mut b = TableBuilder::new("t.csv", columns, &header, train.then_some("y")).unwrap();
    for (i, r) in rows.iter().enumerate() {
        let fields: Vec<&str> = r.iter().take(header.len()).map(String::as_str).collect();
        b.push(i as u64 + 2, &fields).unwrap();
    }
    b.finish()
}

fn contest(task: &str) -> Contest {
    match task {
        "ordinal" => Contest::new("ordinal", vec![1, 2, 3, 4, 5], PredictionFormat::Label, Metric::CohenKappaQuadratic),
        "binary" => Contest::new("binary", vec![0, 1], PredictionFormat::Probability, Metric::RocAuc),
        _ => Contest::new("regression", vec![], PredictionFormat::Value, Metric::Rmse),
    }
    .unwrap()
}

struct Case {
    columns: Vec<ColumnInfo>,
    contest: Contest,
    train: Table,
    test: Table,
    y: TrainTarget,
    truth: Truth,
    rows: Vec<usize>,
}

fn case(task: &str, n: usize) -> Case {
    let columns = columns();
    let contest = contest(task);
    let train = table(&columns, &rows(n, 1, task), true);
    let test_rows = rows(n / 2, 2, task);
    let test = table(&columns, &test_rows, false);
    let y = TrainTarget::of(&contest, &train, "train.csv").unwrap();
    let truth = match task {
        "regression" => Truth::Values(test_rows.iter().map(|r| r[7].parse().unwrap()).collect()),
        _ => Truth::Classes(
            test_rows.iter().map(|r| contest.labels.iter().position(|l| l.to_string() == r[7]).unwrap()).collect(),
        ),
    };
    let rows = (0..train.rows()).collect();
    Case { columns, contest, train, test, y, truth, rows }
}

impl Case {
    fn inputs(&self, seed: u64) -> Inputs<'_> {
        Inputs {
            contest: &self.contest,
            columns: &self.columns,
            train: &self.train,
            target: &self.y,
            rows: &self.rows,
            seed,
        }
    }

    fn primary(&self, p: &Predictions) -> f64 {
        score(self.contest.primary, &self.contest.labels, &self.truth, p).value().unwrap()
    }
}

#[test]
fn the_table_reads_every_kind_and_leaves_text_out() {
    let c = case("ordinal", 50);
    assert_eq!(c.train.rows(), 50);
    assert_eq!(c.train.features.len(), 5, "the text column is not read");
    let Feature::Codes { codes, values } = &c.train.features[0].1 else { panic!("region is coded") };
    assert_eq!(*values, 3);
    assert!(codes.iter().all(|&c| c <= Feature::suppressed_code(3)));
    let Feature::Number(ticked) = &c.train.features[2].1 else { panic!("ticked is a number") };
    assert!(ticked.iter().any(|v| v.is_nan()), "missing answers are NaN");
}

#[test]
fn bad_tables_are_refused_with_the_file_line_and_column() {
    let columns = columns();
    let err = |header: &[&str], row: &[&str]| -> String {
        match TableBuilder::new("train.csv", &columns, header, Some("y")) {
            Err(e) => e.to_string(),
            Ok(mut b) => b.push(7, row).unwrap_err().to_string(),
        }
    };
    let ok_row = ["a", "north", "3", "1", "1", "2", "", "4"];
    assert_eq!(
        err(&["id", "region", "rating", "ticked", "ticked2", "often", "comment", "y", "extra"], &ok_row),
        "train.csv, line 1: column 9 `extra` is not described in MANIFEST.json"
    );
    assert_eq!(
        err(&["id", "region", "rating", "ticked", "ticked2", "comment", "y"], &ok_row),
        "train.csv, line 1: column `often` of MANIFEST.json is missing"
    );
    assert_eq!(
        err(&["id", "region", "rating", "ticked", "ticked2", "often", "comment"], &ok_row),
        "train.csv, line 1: no target column `y`"
    );
    assert_eq!(
        err(&HEADER, &["a", "east", "3", "1", "1", "2", "", "4"]),
        "train.csv, line 7: column 2 (region): `east` is not one of the column's values"
    );
    assert_eq!(
        err(&HEADER, &["a", "north", "11", "1", "1", "2", "", "4"]),
        "train.csv, line 7: column 3 (rating): 11 is outside 1..=10"
    );
    assert_eq!(
        err(&HEADER, &["a", "north", "x", "1", "1", "2", "", "4"]),
        "train.csv, line 7: column 3 (rating): `x` is not a number"
    );
    assert_eq!(err(&HEADER, &["a", "north"]), "train.csv, line 7: 2 fields, the header has 8");
    assert_eq!(
        err(&HEADER, &["a", "north", "3", "1", "1", "2", "", "high"]),
        "train.csv, line 7: column 8 (target): target `high` is not a number"
    );
    // A target that is not a label.
    let contest = contest("ordinal");
    let mut b = TableBuilder::new("train.csv", &columns, &HEADER, Some("y")).unwrap();
    b.push(2, &ok_row).unwrap();
    b.push(3, &["b", "north", "3", "1", "1", "2", "", "9"]).unwrap();
    let e = TrainTarget::of(&contest, &b.finish(), "train.csv").unwrap_err();
    assert_eq!(e.to_string(), "train.csv, line 3: target 9 is not one of the labels [1, 2, 3, 4, 5]");
}

#[test]
fn the_header_order_does_not_matter() {
    let columns = columns();
    let rows = rows(30, 3, "ordinal");
    let a = table(&columns, &rows, true);
    let order = [0, 5, 3, 1, 7, 2, 6, 4];
    let header: Vec<&str> = order.iter().map(|&i| HEADER[i]).collect();
    let mut b = TableBuilder::new("t.csv", &columns, &header, Some("y")).unwrap();
    for (i, r) in rows.iter().enumerate() {
        let fields: Vec<&str> = order.iter().map(|&j| r[j].as_str()).collect();
        b.push(i as u64 + 2, &fields).unwrap();
    }
    let b = b.finish();
    assert_eq!(format!("{:?}", a.features), format!("{:?}", b.features), "NaN-aware");
    assert_eq!(a.target, b.target);
}

#[test]
fn the_linear_design_is_standardized_one_hot_and_free_of_exact_collinearity() {
    let c = case("ordinal", 400);
    let e = Encoder::fit(&c.columns, &c.train, &c.rows);
    let x = e.linear(&c.train, &c.rows);
    let names = e.linear_names();
    assert_eq!(x.ncols(), names.len());
    // The rating: mean 0, sd 1 on the training rows.
    let r = names.iter().position(|n| n == "rating").unwrap();
    let col = x.column(r);
    let mean = col.sum() / col.len() as f64;
    let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / col.len() as f64).sqrt();
    assert!(mean.abs() < 1e-12 && (sd - 1.0).abs() < 1e-12, "{mean} {sd}");
    // Region: 5 levels (3 values, missing, suppressed), the most frequent dropped.
    assert_eq!(names.iter().filter(|n| n.starts_with("region=")).count(), 4, "{names:?}");
    assert!(names.contains(&"region=suppressed".to_owned()) || names.contains(&"region=missing".to_owned()));
    // `ticked` and `ticked2` share their missing pattern: one indicator.
    assert!(names.contains(&"ticked:missing".to_owned()));
    assert!(!names.contains(&"ticked2:missing".to_owned()), "{names:?}");
    // No two indicator columns equal or complementary.
    for i in 0..x.ncols() {
        for j in 0..i {
            let (a, b) = (x.column(i), x.column(j));
            let binary = |v: ndarray::ArrayView1<'_, f64>| v.iter().all(|&x| x == 0.0 || x == 1.0);
            if binary(a) && binary(b) {
                assert!(a != b, "{} = {}", names[i], names[j]);
                assert!(a.iter().zip(b).any(|(x, y)| x + y != 1.0), "{} = 1 - {}", names[i], names[j]);
            }
        }
    }
    // Column-major, so linfa's Xᵀ·r and forust read it without a copy.
    assert!(x.t().is_standard_layout());
}

#[test]
fn the_tree_design_has_one_column_per_feature_with_missing_marked() {
    let c = case("ordinal", 200);
    let e = Encoder::fit(&c.columns, &c.train, &c.rows);
    let x = e.tree(&c.train, &c.rows, f64::NAN);
    assert_eq!(e.tree_names(), ["region", "rating", "ticked", "ticked2", "often"]);
    assert_eq!(e.tree_categorical(), [0], "region is categorical, `often` is ordinal");
    let Feature::Codes { codes, .. } = &c.train.features[0].1 else { panic!() };
    for (i, &code) in codes.iter().enumerate() {
        assert_eq!(x[[i, 0]].is_nan(), code >= 3, "missing and suppressed are NaN");
    }
    assert!(x.column(4).iter().all(|v| (0.0..=3.0).contains(v)), "ordinal ranks 0..=3");
}

#[test]
fn a_feature_constant_in_training_has_no_tree_column() {
    // Regression: a quasi-identifier suppressed in every row gave an all-NaN column, which
    // scikit-learn's HistGradientBoosting (the benchmark's peer) cannot bin.
    let columns = columns();
    let mut rows = rows(100, 4, "ordinal");
    for r in &mut rows {
        r[1] = "*".to_owned();
    }
    let t = table(&columns, &rows, true);
    let all: Vec<usize> = (0..t.rows()).collect();
    let e = Encoder::fit(&columns, &t, &all);
    assert_eq!(e.tree_names(), ["rating", "ticked", "ticked2", "often"]);
    assert_eq!(e.tree(&t, &all, f64::NAN).ncols(), 4);
    assert!(e.tree_categorical().is_empty());
    assert!(!e.linear_names().iter().any(|n| n.starts_with("region")));
}

#[test]
fn trivial_models_give_their_known_scores() {
    let o = case("ordinal", 600);
    for model in [Model::Prior, Model::Median] {
        let p = fit_predict(model, &o.inputs(0), &o.test).unwrap();
        let Predictions::Labels(l) = &p else { panic!() };
        assert!(l.iter().all(|&x| x == l[0]), "{model:?} predicts one level");
        assert_eq!(o.primary(&p), 0.0, "{model:?}: a constant prediction has QWK 0");
    }
    // The median: the level of the middle training row.
    let Predictions::Labels(l) = fit_predict(Model::Median, &o.inputs(0), &o.test).unwrap() else { panic!() };
    let TrainTarget::Classes(y) = &o.y else { panic!() };
    let mut sorted = y.clone();
    sorted.sort_unstable();
    assert_eq!(l[0], sorted[(sorted.len() - 1) / 2]);

    let b = case("binary", 600);
    let p = fit_predict(Model::Prior, &b.inputs(0), &b.test).unwrap();
    assert_eq!(b.primary(&p), 0.5, "the prior's ROC AUC");
    let Predictions::Probability(p) = p else { panic!() };
    let TrainTarget::Classes(y) = &b.y else { panic!() };
    let share = y.iter().filter(|&&c| c == 1).count() as f64 / y.len() as f64;
    assert!(p.iter().all(|&v| v == share), "the prior predicts the training share");

    let r = case("regression", 600);
    let p = fit_predict(Model::Mean, &r.inputs(0), &r.test).unwrap();
    let TrainTarget::Values(y) = &r.y else { panic!() };
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let Predictions::Values(v) = &p else { panic!() };
    assert!(v.iter().all(|&x| x == mean));
    let Truth::Values(t) = &r.truth else { panic!() };
    let rmse = (t.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / t.len() as f64).sqrt();
    assert!((r.primary(&p) - rmse).abs() < 1e-12);
}

#[test]
fn every_model_runs_on_every_task_and_real_models_beat_the_trivial_ones() {
    for task in ["ordinal", "binary", "regression"] {
        let c = case(task, 3000);
        let trivial = if task == "regression" { Model::Mean } else { Model::Prior };
        let reference = c.primary(&fit_predict(trivial, &c.inputs(0), &c.test).unwrap());
        for model in Model::for_task(&c.contest.task) {
            let p = fit_predict(model, &c.inputs(0), &c.test).unwrap();
            assert_eq!(p.len(), c.test.rows(), "{task} {model:?}");
            let s = c.primary(&p);
            if !model.trivial() {
                let better = if task == "regression" { s < reference * 0.8 } else { s > reference + 0.2 };
                assert!(better, "{task} {model:?}: {s} against the trivial {reference}");
            }
        }
    }
}

#[test]
fn models_that_do_not_apply_are_refused() {
    let c = case("regression", 100);
    let p = fit_predict(Model::Logistic, &c.inputs(0), &c.test);
    assert!(matches!(p, Err(BaselineError::Model { model: "logistic", .. })), "{p:?}");
    assert!(!Model::Linear.applies(&holdout_schema::Task::Binary));
    assert_eq!(Model::parse("gbdt"), Some(Model::Gbdt));
    assert_eq!(Model::parse("xgboost"), None);
}

#[test]
fn every_model_is_deterministic_for_a_seed() {
    for task in ["ordinal", "binary", "regression"] {
        let c = case(task, 800);
        for model in Model::for_task(&c.contest.task) {
            let a = fit_predict(model, &c.inputs(9), &c.test).unwrap();
            let b = fit_predict(model, &c.inputs(9), &c.test).unwrap();
            assert_eq!(a, b, "{task} {model:?}");
        }
        let a = fit_predict(Model::Stratified, &c.inputs(1), &c.test).unwrap();
        let b = fit_predict(Model::Stratified, &c.inputs(2), &c.test).unwrap();
        assert_ne!(a, b, "the seed drives the stratified draws");
    }
}

#[test]
fn binary_logistic_probabilities_are_those_of_class_one_even_when_class_zero_is_more_frequent() {
    // linfa 0.8.1 calls the more frequent class "positive" (#393).
    let c = case("binary", 2000);
    let TrainTarget::Classes(y) = &c.y else { panic!() };
    let ones = y.iter().filter(|&&k| k == 1).count();
    assert!(ones * 2 < y.len(), "class 0 is the majority here ({ones} of {})", y.len());
    let p = fit_predict(Model::Logistic, &c.inputs(0), &c.test).unwrap();
    assert!(c.primary(&p) > 0.8, "AUC {}", c.primary(&p));
}

#[test]
fn ordinal_labels_come_from_the_expected_level() {
    let c = contest("ordinal");
    let out = Output::Probabilities {
        classes: 5,
        values: vec![
            0.5, 0.0, 0.0, 0.0, 0.5, // expected 2.0 → level 3 (argmax would say 1)
            0.0, 0.6, 0.4, 0.0, 0.0, // 1.4 → level 2
            0.0, 0.0, 0.0, 0.1, 0.9, // 3.9 → level 5
        ],
    };
    assert_eq!(predictions(&c, out.clone()), Predictions::Labels(vec![2, 1, 4]));
    let nominal = Contest::new("multiclass", vec![1, 2, 3, 4, 5], PredictionFormat::Label, Metric::Accuracy).unwrap();
    assert_eq!(predictions(&nominal, out), Predictions::Labels(vec![0, 1, 4]), "argmax, first of equals");
}

#[test]
fn folds_partition_the_rows_and_keep_class_shares() {
    let c = case("ordinal", 1000);
    let f = folds(&c.y, &c.rows, 5, 3);
    let mut all: Vec<usize> = f.iter().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, c.rows);
    let TrainTarget::Classes(y) = &c.y else { panic!() };
    for k in 0..5 {
        let total = y.iter().filter(|&&v| v == k).count();
        for fold in &f {
            let n = fold.iter().filter(|&&r| y[r] == k).count();
            assert!(n.abs_diff(total / 5) <= 1, "class {k}: {n} of {total}");
        }
    }
    assert_eq!(f, folds(&c.y, &c.rows, 5, 3));
    assert_ne!(f, folds(&c.y, &c.rows, 5, 4));
}

#[test]
fn cross_validation_scores_every_metric_on_every_fold() {
    let c = case("binary", 1000);
    let cv = cross_validate(Model::Prior, &c.inputs(0), 4).unwrap();
    assert_eq!(cv.len(), c.contest.metrics.len());
    let auc = cv.iter().find(|s| s.metric == Metric::RocAuc).unwrap();
    assert_eq!(auc.folds, vec![Some(0.5); 4]);
    assert_eq!((auc.mean, auc.sd), (Some(0.5), Some(0.0)));
    let lr = cross_validate(Model::Logistic, &c.inputs(0), 4).unwrap();
    let auc = lr.iter().find(|s| s.metric == Metric::RocAuc).unwrap();
    assert!(auc.mean.unwrap() > 0.8 && auc.sd.unwrap() < 0.05, "{auc:?}");
    assert!(matches!(cross_validate(Model::Prior, &c.inputs(0), 1), Err(BaselineError::Usage(_))));
}

#[test]
fn submissions_have_the_contest_header_and_one_row_per_id() {
    let c = case("binary", 200);
    let p = fit_predict(Model::Logistic, &c.inputs(0), &c.test).unwrap();
    let csv = submission_csv(&c.contest, &c.test.ids, &p);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,probability");
    assert_eq!(lines.len(), c.test.rows() + 1);
    // Probabilities are written exactly (shortest round-trip form).
    let Predictions::Probability(v) = &p else { panic!() };
    assert_eq!(lines[1], format!("{},{}", c.test.ids[0], v[0]));
    assert_eq!(lines[1].split(',').nth(1).unwrap().parse::<f64>().unwrap(), v[0]);
}

#[test]
fn a_training_subsample_is_seeded() {
    let c = case("ordinal", 500);
    let a = holdout_baseline::training_rows(&c.train, Some(100), 1);
    assert_eq!(a.len(), 100);
    assert!(a.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(a, holdout_baseline::training_rows(&c.train, Some(100), 1));
    assert_ne!(a, holdout_baseline::training_rows(&c.train, Some(100), 2));
    assert_eq!(holdout_baseline::training_rows(&c.train, None, 1).len(), 500);
}
