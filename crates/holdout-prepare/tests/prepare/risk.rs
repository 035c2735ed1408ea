//! Re-identification risk: hand-checked cases, and every figure against the numpy/scipy oracle in
//! `tests/data/risk_oracle.json` (regenerate with `python3 tests/data/risk_oracle.py`).
#![expect(clippy::float_cmp, reason = "hand-checked figures are exact: 4/9 is 4.0 / 9.0 to the bit")]

use holdout_prepare::risk::{
    ClassSizeBucket, ClassSizeHistogram, PitmanFit, PopulationModel, RiskError, dankar_uniques, k_anonymity_violations,
    pitman_fit, pitman_uniques, snb_uniques, special, summarize, summarize_histogram, zayatz_uniques,
};
use rand::{Rng, SeedableRng};
use serde::Deserialize;

/// Relative tolerance against the oracle. Sample figures agree to rounding; the population models
/// come out of two different solvers (Newton with hand-written polygamma here, Nelder–Mead + hybrid
/// root-finding with scipy.special there) and still agree to about 6e-12 (printed by the test).
const RTOL: f64 = 1e-9;

#[derive(Debug, Deserialize)]
struct Oracle {
    cases: Vec<Case>,
    special: Vec<SpecialValue>,
    ln_gamma_ratio: Vec<GammaRatio>,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    population: u64,
    threshold: f64,
    suppressed: u64,
    histogram: Vec<(u64, u64)>,
    records: u64,
    classes: u64,
    min_class_size: u64,
    prosecutor_highest: f64,
    prosecutor_lowest: f64,
    prosecutor_average: f64,
    records_at_risk: f64,
    marketer: f64,
    sample_uniques: f64,
    sampling_fraction: f64,
    k_anonymity_violations_5: u64,
    class_size_histogram: Vec<Bucket>,
    pitman_fit: Option<Fit>,
    pitman_uniques: Option<f64>,
    zayatz_uniques: Option<f64>,
    snb_uniques: Option<f64>,
    population_model: String,
    population_uniques: f64,
}

#[derive(Debug, Deserialize)]
struct Bucket {
    min_size: u64,
    max_size: Option<u64>,
    classes: u64,
    records: u64,
}

#[derive(Debug, Deserialize)]
struct Fit {
    theta: f64,
    alpha: f64,
}

#[derive(Debug, Deserialize)]
struct SpecialValue {
    x: f64,
    ln_gamma: f64,
    digamma: f64,
    trigamma: f64,
}

#[derive(Debug, Deserialize)]
struct GammaRatio {
    b: f64,
    d: f64,
    ln_ratio: f64,
}

fn oracle() -> Oracle {
    serde_json::from_str(include_str!("../data/risk_oracle.json")).expect("risk_oracle.json parses")
}

fn expand(histogram: &[(u64, u64)]) -> Vec<u64> {
    histogram.iter().flat_map(|&(size, count)| std::iter::repeat_n(size, count as usize)).collect()
}

fn close(actual: f64, expected: f64, rtol: f64) -> bool {
    actual == expected || (actual - expected).abs() <= rtol * actual.abs().max(expected.abs())
}

fn relative_error(actual: f64, expected: f64) -> f64 {
    if actual == expected { 0.0 } else { (actual - expected).abs() / actual.abs().max(expected.abs()) }
}

/// Compares every figure of one oracle case; returns the mismatches (empty when all agree) and the
/// largest relative error seen on a population-model figure.
fn check(case: &Case) -> (Vec<String>, f64) {
    let mut errors = Vec::new();
    let mut worst: f64 = 0.0;
    let sizes = expand(&case.histogram);
    let s = summarize(&sizes, case.suppressed, case.population, case.threshold).expect("oracle input is valid");
    let mut exact = |what: &str, actual: u64, expected: u64| {
        if actual != expected {
            errors.push(format!("{}: {what} = {actual}, oracle {expected}", case.name));
        }
    };
    exact("records", s.records, case.records);
    exact("classes", s.classes, case.classes);
    exact("min_class_size", s.min_class_size, case.min_class_size);
    exact("suppressed", s.suppressed, case.suppressed);
    exact("k_anonymity_violations(5)", k_anonymity_violations(&sizes, 5), case.k_anonymity_violations_5);
    let mut approx = |what: &str, actual: Option<f64>, expected: Option<f64>, track: bool| match (actual, expected) {
        (Some(a), Some(e)) => {
            if track {
                worst = worst.max(relative_error(a, e));
            }
            if !a.is_finite() || !close(a, e, RTOL) {
                errors.push(format!("{}: {what} = {a:e}, oracle {e:e} (rel {:e})", case.name, relative_error(a, e)));
            }
        }
        (None, None) => {}
        (a, e) => errors.push(format!("{}: {what} = {a:?}, oracle {e:?}", case.name)),
    };
    approx("prosecutor_highest", Some(s.prosecutor_highest), Some(case.prosecutor_highest), false);
    approx("prosecutor_lowest", Some(s.prosecutor_lowest), Some(case.prosecutor_lowest), false);
    approx("prosecutor_average", Some(s.prosecutor_average), Some(case.prosecutor_average), false);
    approx("records_at_risk", Some(s.records_at_risk), Some(case.records_at_risk), false);
    approx("marketer", Some(s.marketer), Some(case.marketer), false);
    approx("sample_uniques", Some(s.sample_uniques), Some(case.sample_uniques), false);
    approx("sampling_fraction", Some(s.sampling_fraction), Some(case.sampling_fraction), false);
    approx("population_uniques", Some(s.population_uniques), Some(case.population_uniques), true);

    let histogram = ClassSizeHistogram::from_class_sizes(&sizes).expect("oracle sizes are valid");
    let fit = pitman_fit(&histogram);
    approx("pitman theta", fit.map(|f| f.theta), case.pitman_fit.as_ref().map(|f| f.theta), true);
    approx("pitman alpha", fit.map(|f| f.alpha), case.pitman_fit.as_ref().map(|f| f.alpha), true);
    let population = case.population;
    approx("pitman_uniques", pitman_uniques(&histogram, population), case.pitman_uniques, true);
    approx("zayatz_uniques", zayatz_uniques(&histogram, population), case.zayatz_uniques, true);
    approx("snb_uniques", snb_uniques(&histogram, population), case.snb_uniques, true);

    let model = serde_json::to_value(s.population_model).expect("a model serializes");
    if model != case.population_model.as_str() {
        errors.push(format!("{}: population_model = {model}, oracle {}", case.name, case.population_model));
    }
    let buckets: Vec<ClassSizeBucket> = case
        .class_size_histogram
        .iter()
        .map(|b| ClassSizeBucket { min_size: b.min_size, max_size: b.max_size, classes: b.classes, records: b.records })
        .collect();
    if s.class_size_histogram != buckets {
        errors.push(format!("{}: class_size_histogram = {:?}, oracle {buckets:?}", case.name, s.class_size_histogram));
    }
    (errors, worst)
}

#[test]
fn every_figure_matches_the_oracle() {
    let oracle = oracle();
    assert!(oracle.cases.len() >= 30, "oracle has {} cases", oracle.cases.len());
    let mut errors = Vec::new();
    let mut worst: f64 = 0.0;
    for case in &oracle.cases {
        let (case_errors, case_worst) = check(case);
        errors.extend(case_errors);
        worst = worst.max(case_worst);
    }
    eprintln!("largest relative error on a population-model figure: {worst:e}");
    assert!(errors.is_empty(), "{} mismatches:\n{}", errors.len(), errors.join("\n"));
}

#[test]
fn oracle_covers_every_branch_of_the_decision_rule() {
    let oracle = oracle();
    let models: Vec<&str> = oracle.cases.iter().map(|c| c.population_model.as_str()).collect();
    for model in ["pitman", "zayatz", "snb", "none"] {
        assert!(models.contains(&model), "no oracle case selects {model}");
    }
    // Pitman failing below 10 % (fallback to Zayatz) is covered too.
    assert!(oracle.cases.iter().any(|c| c.sampling_fraction <= 0.1 && c.population_model == "zayatz"));
}

#[test]
fn special_functions_match_scipy() {
    let oracle = oracle();
    for v in &oracle.special {
        // absolute error relative to the magnitude (these functions cross zero)
        let ok = |actual: f64, expected: f64| (actual - expected).abs() <= 1e-13 * expected.abs().max(1.0);
        let (lg, dg, tg) = (special::ln_gamma(v.x), special::digamma(v.x), special::trigamma(v.x));
        assert!(ok(lg, v.ln_gamma), "ln_gamma({}) = {lg:e}, scipy {:e}", v.x, v.ln_gamma);
        assert!(ok(dg, v.digamma), "digamma({}) = {dg:e}, scipy {:e}", v.x, v.digamma);
        assert!(close(tg, v.trigamma, 1e-13), "trigamma({}) = {tg:e}, scipy {:e}", v.x, v.trigamma);
    }
    for r in &oracle.ln_gamma_ratio {
        let actual = special::ln_gamma_ratio(r.b, r.d);
        assert!(
            (actual - r.ln_ratio).abs() <= 1e-12 * r.ln_ratio.abs().max(1.0),
            "ln Γ({0}+{1}) − ln Γ({0}) = {actual:e}, scipy {2:e}",
            r.b,
            r.d,
            r.ln_ratio
        );
    }
    assert!(special::ln_gamma(0.0).is_nan() && special::digamma(-1.0).is_nan() && special::trigamma(f64::NAN).is_nan());
}

#[test]
fn hand_checked_small_table() {
    // classes of 1, 1, 2 and 5 records; 3 more records suppressed; a population of 1000
    let s = summarize(&[1, 1, 2, 5], 3, 1000, 0.2).unwrap();
    assert_eq!((s.records, s.suppressed, s.classes, s.population, s.min_class_size), (9, 3, 4, 1000, 1));
    assert_eq!(s.sampling_fraction, 9.0 / 1000.0);
    assert_eq!(s.prosecutor_highest, 1.0);
    assert_eq!(s.prosecutor_lowest, 1.0 / 5.0);
    assert_eq!(s.prosecutor_average, 4.0 / 9.0);
    // 1/5 = 0.2 is not strictly above the threshold 0.2: the class of 5 is not at risk
    assert_eq!(s.records_at_risk, 4.0 / 9.0);
    assert_eq!(s.marketer, 4.0 / 9.0);
    assert_eq!(s.sample_uniques, 2.0 / 9.0);
    assert_eq!(
        s.class_size_histogram,
        [
            ClassSizeBucket { min_size: 1, max_size: Some(1), classes: 2, records: 2 },
            ClassSizeBucket { min_size: 2, max_size: Some(2), classes: 1, records: 2 },
            ClassSizeBucket { min_size: 5, max_size: Some(5), classes: 1, records: 5 },
        ]
    );
    assert_eq!(s.population_model, PopulationModel::Pitman);
    assert!(s.population_uniques > 0.0 && s.population_uniques < 1.0);
    assert_eq!([1, 3, 5, 6].map(|k| k_anonymity_violations(&[1, 1, 2, 5], k)), [0, 4, 4, 9]);
}

#[test]
fn threshold_is_a_strict_bound() {
    let sizes = [1, 2, 4, 5, 10, 20, 21];
    let at_risk = |t: f64| summarize(&sizes, 0, 10_000, t).unwrap().records_at_risk;
    assert_eq!(at_risk(0.05), 22.0 / 63.0); // 1/20 = 0.05 is not above 0.05: sizes 1..=10
    assert_eq!(at_risk(0.0), 1.0);
    assert_eq!(at_risk(1.0), 0.0);
    assert_eq!(at_risk(0.5), 1.0 / 63.0);
}

#[test]
fn empty_table_gives_zeros() {
    let s = summarize(&[], 12, 1000, 0.05).unwrap();
    assert_eq!((s.records, s.suppressed, s.classes, s.min_class_size), (0, 12, 0, 0));
    let figures = [
        s.sampling_fraction,
        s.prosecutor_highest,
        s.prosecutor_lowest,
        s.prosecutor_average,
        s.records_at_risk,
        s.marketer,
        s.sample_uniques,
        s.population_uniques,
    ];
    assert_eq!(figures, [0.0; 8]);
    assert_eq!(s.population_model, PopulationModel::None);
    assert!(s.class_size_histogram.is_empty());
    // even with no population at all
    assert_eq!(summarize(&[], 0, 0, 0.05).unwrap().population_uniques, 0.0);
    let empty = ClassSizeHistogram::default();
    assert_eq!((pitman_uniques(&empty, 10), zayatz_uniques(&empty, 10), snb_uniques(&empty, 10)), (None, None, None));
}

#[test]
fn all_singletons_make_the_whole_population_unique() {
    // Pitman's likelihood grows towards α = 1 without a maximum, so Dankar falls back to Zayatz:
    // every sampled class is unique, hence so is every population record.
    let sizes = vec![1; 5000];
    let s = summarize(&sizes, 0, 1_000_000, 0.05).unwrap();
    assert_eq!((s.prosecutor_highest, s.prosecutor_lowest, s.prosecutor_average), (1.0, 1.0, 1.0));
    assert_eq!((s.records_at_risk, s.sample_uniques), (1.0, 1.0));
    assert_eq!(s.population_model, PopulationModel::Zayatz);
    assert!(close(s.population_uniques, 1.0, 1e-12), "{}", s.population_uniques);
    assert_eq!(pitman_fit(&ClassSizeHistogram::from_class_sizes(&sizes).unwrap()), None);
}

#[test]
fn single_class() {
    let s = summarize(&[7], 0, 100, 0.05).unwrap();
    assert_eq!((s.prosecutor_highest, s.prosecutor_lowest, s.prosecutor_average), (1.0 / 7.0, 1.0 / 7.0, 1.0 / 7.0));
    assert_eq!((s.sample_uniques, s.population_uniques, s.population_model), (0.0, 0.0, PopulationModel::None));
    let s = summarize(&[1], 0, 100, 0.05).unwrap();
    assert_eq!((s.prosecutor_highest, s.sample_uniques), (1.0, 1.0));
    assert_eq!(s.population_model, PopulationModel::Zayatz);
    assert!(close(s.population_uniques, 1.0, 1e-12));
}

#[test]
fn no_sample_uniques_means_no_population_uniques() {
    let h = ClassSizeHistogram::from_class_sizes(&[2, 3, 3, 5, 8, 20]).unwrap();
    assert_eq!(dankar_uniques(&h, 10_000), (PopulationModel::None, 0.0));
    assert_eq!((pitman_uniques(&h, 10_000), zayatz_uniques(&h, 10_000)), (Some(0.0), Some(0.0)));
    assert_eq!(snb_uniques(&h, 10_000), Some(0.0));
}

#[test]
fn zayatz_by_hand() {
    // n = 3 (sizes 1 and 2) of N = 10: h₂/h₁ = 2·(N−n)/(N−1) = 14/9, so
    // P(population-unique | sample-unique) = 1 / (1 + 14/9) = 9/23 and uniques = (9/23)·N/n = 30/23.
    let h = ClassSizeHistogram::from_class_sizes(&[1, 2]).unwrap();
    let uniques = zayatz_uniques(&h, 10).unwrap();
    assert!(close(uniques, 30.0 / 23.0, 1e-14), "{uniques}");
    // A census (N = n): sample uniques are exactly the population uniques.
    let h = ClassSizeHistogram::from_class_sizes(&[1, 1, 1, 2, 2, 3, 4]).unwrap();
    assert!(close(zayatz_uniques(&h, 14).unwrap(), 3.0, 1e-14));
    assert_eq!(dankar_uniques(&h, 14).0, PopulationModel::Zayatz);
}

#[test]
fn pitman_is_rejected_with_negative_theta() {
    // Likelihood peaks at θ ≈ −0.59 (valid for Pitman, but ARX constrains θ ≥ 0): Dankar uses Zayatz.
    let mut sizes = vec![1; 20];
    sizes.extend([2, 500, 500, 500]);
    let h = ClassSizeHistogram::from_class_sizes(&sizes).unwrap();
    let fit = pitman_fit(&h).unwrap();
    assert!(fit.theta < 0.0 && fit.theta > -fit.alpha, "{fit:?}");
    assert_eq!(pitman_uniques(&h, 200_000), None);
    assert_eq!(dankar_uniques(&h, 200_000).0, PopulationModel::Zayatz);
}

#[test]
fn bad_input_is_named() {
    assert_eq!(summarize(&[3, 0, 2], 0, 100, 0.05), Err(RiskError::EmptyClass { index: 1 }));
    assert_eq!(summarize(&[3, 4], 0, 5, 0.05), Err(RiskError::PopulationTooSmall { population: 5, records: 7 }));
    for t in [-0.1, 1.5] {
        assert_eq!(summarize(&[1], 0, 5, t), Err(RiskError::InvalidThreshold(t)));
    }
    assert!(matches!(summarize(&[1], 0, 5, f64::NAN), Err(RiskError::InvalidThreshold(t)) if t.is_nan()));
    assert_eq!(summarize(&[u64::MAX, 1], 0, u64::MAX, 0.05), Err(RiskError::TooManyRecords));
    assert_eq!(
        RiskError::PopulationTooSmall { population: 5, records: 7 }.to_string(),
        "population size 5 is smaller than the 7 records of the sample"
    );
    assert_eq!(ClassSizeHistogram::from_size_counts(&[(2, 1), (0, 3)]), Err(RiskError::EmptyClass { index: 1 }));
}

#[test]
fn histogram_from_sizes_or_counts_is_the_same() {
    let sizes = [5, 1, 2000, 1, 2, 5, 5, 70_000, 1023, 1024];
    let a = ClassSizeHistogram::from_class_sizes(&sizes).unwrap();
    let b = ClassSizeHistogram::from_size_counts(&[
        (5, 2),
        (1, 2),
        (2000, 1),
        (2, 1),
        (5, 1),
        (70_000, 1),
        (1023, 1),
        (1024, 1),
        (9, 0),
    ])
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.entries(), [(1, 2), (2, 1), (5, 3), (1023, 1), (1024, 1), (2000, 1), (70_000, 1)]);
    assert_eq!((a.records(), a.classes(), a.min_size(), a.max_size()), (74_066, 10, 1, 70_000));
    assert_eq!((a.classes_of_size(5), a.classes_of_size(3)), (3, 0));
    let s = summarize_histogram(&a, 0, 1_000_000, 0.05).unwrap();
    assert_eq!(s, summarize(&sizes, 0, 1_000_000, 0.05).unwrap());
    assert_eq!(
        s.class_size_histogram.last(),
        Some(&ClassSizeBucket { min_size: 1001, max_size: None, classes: 4, records: 1023 + 1024 + 2000 + 70_000 })
    );
}

#[test]
fn summary_serializes_with_readable_names() {
    let s = summarize(&[1, 1, 2, 5], 3, 1000, 0.2).unwrap();
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["population_model"], "pitman");
    assert_eq!(
        json["class_size_histogram"][0],
        serde_json::json!({"min_size": 1, "max_size": 1, "classes": 2, "records": 2})
    );
    let fit: PitmanFit = pitman_fit(&ClassSizeHistogram::from_class_sizes(&[1, 1, 2, 5]).unwrap()).unwrap();
    assert!(fit.alpha < 0.0, "{fit:?}"); // small samples can fit a negative discount
}

/// A million classes with a heavy tail, as a 3 M-respondent survey could produce.
fn million_classes() -> Vec<u64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_240_601);
    (0..1_000_000).map(|_| ((1.0 - rng.r#gen::<f64>()).powf(-0.8) as u64).min(1_000_000)).collect()
}

#[test]
fn a_million_classes_summarize_deterministically_in_any_order() {
    let sizes = million_classes();
    let s = summarize(&sizes, 0, 1_100_000_000, 0.05).unwrap();
    assert_eq!(s.classes, 1_000_000);
    assert!(matches!(s.population_model, PopulationModel::Pitman | PopulationModel::Zayatz));
    assert!(s.population_uniques > 0.0 && s.population_uniques < 1.0, "{}", s.population_uniques);
    let mut reversed = sizes.clone();
    reversed.reverse();
    assert_eq!(summarize(&reversed, 0, 1_100_000_000, 0.05).unwrap(), s);
}

#[test]
#[ignore = "timing print; run with --release -- --ignored --nocapture"]
fn a_million_classes_timing() {
    let sizes = million_classes();
    let start = std::time::Instant::now();
    let s = summarize(&sizes, 0, 1_100_000_000, 0.05).unwrap();
    eprintln!(
        "1 M classes, {} records: {:?} ({:?}, {:e} of the population unique)",
        s.records,
        start.elapsed(),
        s.population_model,
        s.population_uniques
    );
    // Worst case for the Pitman solver: no maximum (sizes 1 to 5 uniformly), every start runs out.
    let sizes: Vec<u64> = (0..1_000_000).map(|i| 1 + i % 5).collect();
    let start = std::time::Instant::now();
    let s = summarize(&sizes, 0, 1_100_000_000, 0.05).unwrap();
    eprintln!("1 M classes without a Pitman maximum: {:?} ({:?})", start.elapsed(), s.population_model);
}
