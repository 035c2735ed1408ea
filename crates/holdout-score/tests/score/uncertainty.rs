//! The fast intervals against the row bootstrap they replace: on 50 generated cases per metric
//! family, the table bootstrap's and the normal interval's endpoints lie within Monte Carlo
//! error of the 1,000-replicate percentile bootstrap, and so do paired comparisons.

use holdout_schema::Metric;
use holdout_score::bootstrap::{interval, replicates};
use holdout_score::metrics::{Predictions, Truth};
use holdout_score::scorer::{Scorer, Strata};
use holdout_score::uncertainty::{
    Bootstrap, Method, NORMAL_MIN_ROWS, intervals, intervals_by, method, normal_cdf, normal_quantile, paired,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const REPLICATES: usize = 1000;
const SUBSETS: [Strata; 3] = [0b11, 0b01, 0b10];

fn settings(seed: u64) -> Bootstrap {
    Bootstrap { replicates: REPLICATES, seed, level: 0.95 }
}

/// Public 30 %, private 70 %.
fn strata(n: usize) -> [std::ops::Range<usize>; 2] {
    let public = n * 3 / 10;
    [0..public, public..n]
}

/// A standard normal draw (Box–Muller), so scores have full float precision.
fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.r#gen::<f64>().max(1e-300), rng.r#gen());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// A binary truth with prevalence `rate` and a model's probabilities of separation `signal`.
fn binary(n: usize, rate: f64, signal: f64, rng: &mut ChaCha8Rng) -> (Vec<usize>, Vec<f64>) {
    let y: Vec<usize> = (0..n).map(|_| usize::from(rng.gen_bool(rate))).collect();
    let p = y.iter().map(|&c| 1.0 / (1.0 + (-(signal * (c as f64 - 0.5) + gauss(rng))).exp())).collect();
    (y, p)
}

/// Five ordered classes and a model's class probabilities around the truth.
fn ordinal(n: usize, noise: f64, rng: &mut ChaCha8Rng) -> (Vec<usize>, Vec<f64>) {
    let y: Vec<usize> = (0..n).map(|_| rng.gen_range(0..5)).collect();
    let mut values = Vec::with_capacity(n * 5);
    for &c in &y {
        let centre = c as f64 + noise * gauss(rng);
        let row: Vec<f64> = (0..5u8).map(|k| (-(f64::from(k) - centre).powi(2)).exp() + 1e-3).collect();
        let total: f64 = row.iter().sum();
        values.extend(row.iter().map(|x| x / total));
    }
    (y, values)
}

/// A regression truth and predictions with errors of scale `noise`, some of them heavy-tailed.
fn regression(n: usize, noise: f64, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
    let y: Vec<f64> = (0..n).map(|_| 50.0 + 15.0 * gauss(rng)).collect();
    let p = y
        .iter()
        .map(|&v| {
            let scale = if rng.gen_bool(0.05) { 4.0 * noise } else { noise };
            v + scale * gauss(rng)
        })
        .collect();
    (y, p)
}

/// The Monte Carlo standard error of a percentile `q` estimated from `values.len()` bootstrap
/// replicates: `√(q(1 − q)/R) / f(x_q)`, the density taken as the normal one with the
/// replicates' standard deviation (steadier than order-statistic spacings at R = 1,000).
fn quantile_se(values: &[f64], q: f64) -> f64 {
    let r = values.len() as f64;
    let mean = values.iter().sum::<f64>() / r;
    let sd = (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
    let z = normal_quantile(q);
    let density = (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    (q * (1.0 - q) / r).sqrt() * sd / density
}

/// Checks that every interval `scorer` computes for `metric` by its own method (`expected` on
/// all rows; the 30 % public subset may be small enough for the row bootstrap) lies within
/// `allowance` Monte Carlo standard errors of an independent row bootstrap's (√2 more where
/// both sides resample), and returns the signed distances, in those standard errors.
fn agrees(scorer: &Scorer<'_>, metric: Metric, expected: Method, seed: u64, allowance: f64, what: &str) -> Vec<f64> {
    let fast = intervals(scorer, metric, &SUBSETS, settings(seed));
    let values = replicates(scorer, metric, &SUBSETS, REPLICATES, seed + 1);
    let estimates = scorer.scores(&[metric], &SUBSETS, None);
    let reference: Vec<_> =
        (0..SUBSETS.len()).map(|j| interval(estimates[j][0], values.iter().map(|v| v[j]), 0.95)).collect();
    let mut distances = Vec::new();
    for (j, (f, r)) in fast.iter().zip(&reference).enumerate() {
        let (f, r) = (f.as_ref().unwrap(), r.as_ref().unwrap());
        assert_eq!(f.method, method(scorer, metric, SUBSETS[j]), "{what}: subset {j}");
        if j == 0 {
            assert_eq!(f.method, expected, "{what}: all rows");
        }
        let both = if f.method == Method::Normal { 1.0 } else { std::f64::consts::SQRT_2 };
        assert_eq!(f.estimate, r.estimate, "{what}");
        let column: Vec<f64> = values.iter().filter_map(|v| v[j]).collect();
        for (q, a, b) in [(0.025, f.low, r.low), (0.975, f.high, r.high)] {
            let se = both * quantile_se(&column, q).max(1e-12);
            let distance = (a - b).abs() / se;
            distances.push((a - b) / se);
            assert!(
                distance <= allowance,
                "{what}, subset {j}, percentile {q}: {a} vs the bootstrap's {b} ({distance:.2} standard errors of {se:.2e}); {f:?} {r:?}"
            );
        }
    }
    distances
}

/// The distances of a family of cases: none beyond the allowance (checked by `agrees`), and
/// no systematic shift — their mean is near 0 — nor excess spread — their RMS near 1.
fn summarize(what: &str, distances: &[f64]) {
    let n = distances.len() as f64;
    let mean = distances.iter().sum::<f64>() / n;
    let rms = (distances.iter().map(|d| d * d).sum::<f64>() / n).sqrt();
    let worst = distances.iter().fold(0.0f64, |w, d| w.max(d.abs()));
    println!(
        "{what}: {} endpoints, mean {mean:+.3}, RMS {rms:.3}, largest {worst:.2} standard errors",
        distances.len()
    );
    assert!(mean.abs() <= 0.4, "{what}: the endpoints are shifted by {mean:+.3} standard errors on average");
    assert!(rms <= 1.6, "{what}: the endpoints spread {rms:.3} standard errors (RMS)");
}

#[test]
fn table_intervals_agree_with_the_row_bootstrap() {
    // Both sides are Monte Carlo estimates of the same percentiles: √2 standard errors apart
    // on average, so 4√2 (`agrees` adds the √2) is a wide but meaningful allowance.
    let allowance = 5.0;
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    let mut distances = Vec::new();
    for case in 0..50u64 {
        let n = rng.gen_range(2_000..8_000);
        let strata = strata(n);
        if case % 2 == 0 {
            // Five-class quadratic weighted kappa from class probabilities, and accuracy.
            let (y, values) = ordinal(n, rng.gen_range(0.5..1.5), &mut rng);
            let (truth, p) = (Truth::Classes(y), Predictions::ClassProbabilities { classes: 5, values });
            let labels = [1, 2, 3, 4, 5];
            let scorer = Scorer::new(&labels, &truth, &p, &strata);
            for metric in [Metric::CohenKappaQuadratic, Metric::Accuracy] {
                distances.extend(agrees(
                    &scorer,
                    metric,
                    Method::Table,
                    case,
                    allowance,
                    &format!("case {case} {metric:?}"),
                ));
            }
        } else {
            // Binary labels: F1, MCC, balanced accuracy.
            let (y, probability) = binary(n, rng.gen_range(0.1..0.5), rng.gen_range(1.0..3.0), &mut rng);
            let labels: Vec<usize> = probability.iter().map(|&q| usize::from(q >= 0.5)).collect();
            let (truth, p) = (Truth::Classes(y), Predictions::Labels(labels));
            let scorer = Scorer::new(&[0, 1], &truth, &p, &strata);
            for metric in [Metric::F1Macro, Metric::MatthewsCorrcoef, Metric::BalancedAccuracy] {
                distances.extend(agrees(
                    &scorer,
                    metric,
                    Method::Table,
                    case,
                    allowance,
                    &format!("case {case} {metric:?}"),
                ));
            }
        }
    }
    summarize("table vs row bootstrap, 50 cases", &distances);
}

#[test]
fn normal_intervals_agree_with_the_row_bootstrap() {
    // The normal interval has no Monte Carlo error of its own; what separates it from the
    // percentile bootstrap is the bootstrap's error and the skew the normal shape ignores.
    let allowance = 4.5;
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let mut distances = [Vec::new(), Vec::new(), Vec::new()];
    for case in 0..50u64 {
        // The private 70 % reaches the normal method's size; the public 30 % mostly not.
        let n = rng.gen_range(NORMAL_MIN_ROWS * 10 / 7 + 100..25_000);
        let strata = strata(n);
        let (y, probability) = binary(n, rng.gen_range(0.15..0.5), rng.gen_range(0.5..3.0), &mut rng);
        let truth = Truth::Classes(y);
        let p = Predictions::Probability(probability);
        let scorer = Scorer::new(&[0, 1], &truth, &p, &strata);
        let what = format!("case {case} ROC AUC, {n} rows");
        distances[0].extend(agrees(&scorer, Metric::RocAuc, Method::Normal, case, allowance, &what));
        distances[1].extend(agrees(&scorer, Metric::LogLoss, Method::Normal, case, allowance, &what));
        let (y, predicted) = regression(n, rng.gen_range(1.0..10.0), &mut rng);
        let (truth, p) = (Truth::Values(y), Predictions::Values(predicted));
        let scorer = Scorer::new(&[], &truth, &p, &strata);
        for metric in [Metric::Rmse, Metric::Mae, Metric::R2] {
            let what = format!("case {case} {metric:?}, {n} rows");
            distances[2].extend(agrees(&scorer, metric, Method::Normal, case, allowance, &what));
        }
    }
    for (family, d) in ["ROC AUC", "log loss", "RMSE, MAE, R²"].iter().zip(&distances) {
        summarize(&format!("normal vs row bootstrap, 50 cases, {family}"), d);
    }
}

/// Two submissions close in quality, compared by `paired` and by the paired row bootstrap.
fn paired_agrees(a: &Scorer<'_>, b: &Scorer<'_>, metric: Metric, expected: Method, seed: u64, what: &str) {
    let fast = paired(a, b, metric, &SUBSETS, settings(seed));
    let reference = holdout_score::bootstrap::paired_replicates(&[a, b], metric, &SUBSETS, REPLICATES, seed + 1);
    for (j, f) in fast.iter().enumerate() {
        if j == 0 {
            assert_eq!(f.method, expected, "{what}");
        }
        // Resampled on both sides: √2 Monte Carlo errors; the closed form has none of its own.
        let both = if f.method == Method::Normal { 1.0 } else { std::f64::consts::SQRT_2 };
        let (xa, xb): (Vec<_>, Vec<_>) =
            (reference[0].iter().map(|r| r[j]).collect(), reference[1].iter().map(|r| r[j]).collect());
        let p = holdout_score::bootstrap::probability_better(metric, xa.clone(), xb.clone()).unwrap();
        let d: Vec<f64> = xa.iter().zip(&xb).map(|(x, y)| x.unwrap() - y.unwrap()).collect();
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (d.len() - 1) as f64).sqrt();
        let (fp, fsd) = (f.probability_a_better.unwrap(), f.difference_sd.unwrap());
        // Binomial error of the reference's share (and the table's own), and the standard
        // deviation's relative error 1/√(2R), each four times over.
        let p_se = (p.max(0.02) * (1.0 - p).max(0.02) / REPLICATES as f64).sqrt();
        assert!((fp - p).abs() <= 4.0 * both * p_se + 0.01, "{what}, subset {j}: P(a better) {fp} vs {p}");
        let relative = 1.0 / (2.0 * REPLICATES as f64).sqrt();
        assert!((fsd / sd - 1.0).abs() <= 4.0 * both * relative, "{what}, subset {j}: sd {fsd} vs {sd}");
    }
}

#[test]
fn paired_comparisons_agree_with_the_paired_row_bootstrap() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for case in 0..12u64 {
        let n = rng.gen_range(15_000..25_000);
        let strata = strata(n);
        // ROC AUC: b is a with a little independent noise, so neither wins every resample.
        let (y, pa) = binary(n, 0.3, 1.5, &mut rng);
        let pb: Vec<f64> = pa.iter().map(|&q| (q + 0.08 * gauss(&mut rng)).clamp(0.0, 1.0)).collect();
        let truth = Truth::Classes(y);
        let (a, b) = (Predictions::Probability(pa), Predictions::Probability(pb));
        let (sa, sb) = (Scorer::new(&[0, 1], &truth, &a, &strata), Scorer::new(&[0, 1], &truth, &b, &strata));
        paired_agrees(&sa, &sb, Metric::RocAuc, Method::Normal, case, &format!("case {case} ROC AUC"));
        // Quadratic weighted kappa from class probabilities: b moves some rows one class.
        let (y, va) = ordinal(n / 3, 1.0, &mut rng);
        let mut vb = va.clone();
        for row in vb.chunks_mut(5) {
            if rng.gen_bool(0.05) {
                row.rotate_right(1);
            }
        }
        let truth = Truth::Classes(y);
        let (a, b) = (
            Predictions::ClassProbabilities { classes: 5, values: va },
            Predictions::ClassProbabilities { classes: 5, values: vb },
        );
        let labels = [1, 2, 3, 4, 5];
        let strata = self::strata(n / 3);
        let (sa, sb) = (Scorer::new(&labels, &truth, &a, &strata), Scorer::new(&labels, &truth, &b, &strata));
        paired_agrees(&sa, &sb, Metric::CohenKappaQuadratic, Method::Table, case, &format!("case {case} QWK"));
    }
}

#[test]
fn methods_follow_the_metric_and_the_size() {
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let (y, probability) = binary(30_000, 0.3, 1.0, &mut rng);
    let truth = Truth::Classes(y.clone());
    let p = Predictions::Probability(probability.clone());
    let scorer = Scorer::new(&[0, 1], &truth, &p, &strata(30_000));
    assert_eq!(method(&scorer, Metric::RocAuc, 0b11), Method::Normal);
    assert_eq!(method(&scorer, Metric::RocAuc, 0b01), Method::Bootstrap, "9,000 public rows are bootstrapped");
    assert_eq!(method(&scorer, Metric::AveragePrecision, 0b11), Method::Bootstrap, "no closed form");
    assert_eq!(method(&scorer, Metric::F1Macro, 0b01), Method::Table, "labels from p ≥ 0.5");
    // Rare positives: ROC AUC on 30,000 rows with 300 positives is bootstrapped.
    let rare = Truth::Classes((0..30_000).map(|i| usize::from(i % 100 == 0)).collect());
    let scorer = Scorer::new(&[0, 1], &rare, &p, &strata(30_000));
    assert_eq!(method(&scorer, Metric::RocAuc, 0b11), Method::Bootstrap);
    // A mixed request: each subset by its own method, the small one still resampled by rows.
    let scorer = Scorer::new(&[0, 1], &truth, &p, &strata(30_000));
    let got = intervals(&scorer, Metric::RocAuc, &SUBSETS, settings(3));
    let methods: Vec<Method> = got.iter().map(|i| i.unwrap().method).collect();
    assert_eq!(methods, vec![Method::Normal, Method::Bootstrap, Method::Normal]);
    assert_eq!(got[1].unwrap().replicates, REPLICATES);
    // The public subset's row bootstrap is the same whether or not other subsets are drawn.
    let alone = intervals(&scorer, Metric::RocAuc, &[0b01], settings(3));
    assert_eq!(alone[0], got[1]);
    // Forcing the row bootstrap on all rows gives a percentile interval near the normal one.
    let forced = intervals_by(&scorer, Metric::RocAuc, &[0b11], &[Method::Bootstrap], settings(3))[0].unwrap();
    let normal = got[0].unwrap();
    assert_eq!((forced.method, forced.replicates, normal.replicates), (Method::Bootstrap, REPLICATES, 0));
    assert!((forced.low - normal.low).abs() < 0.1 * (normal.high - normal.low), "{forced:?} {normal:?}");
}

#[test]
fn a_submission_against_itself_ties_by_every_method() {
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let (y, probability) = binary(20_000, 0.3, 1.0, &mut rng);
    let truth = Truth::Classes(y);
    let p = Predictions::Probability(probability);
    let scorer = Scorer::new(&[0, 1], &truth, &p, &strata(20_000));
    for metric in [Metric::RocAuc, Metric::LogLoss, Metric::Accuracy, Metric::AveragePrecision] {
        for pair in paired(&scorer, &scorer, metric, &SUBSETS, Bootstrap { replicates: 50, seed: 1, level: 0.95 }) {
            assert_eq!(pair.probability_a_better, Some(0.5), "{metric:?} {pair:?}");
            assert_eq!(pair.difference_sd, Some(0.0), "{metric:?} {pair:?}");
        }
    }
}

#[test]
fn intervals_are_deterministic_and_bracket_the_estimate() {
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let (y, values) = ordinal(5_000, 1.0, &mut rng);
    let truth = Truth::Classes(y);
    let p = Predictions::ClassProbabilities { classes: 5, values };
    let labels = [1, 2, 3, 4, 5];
    let scorer = Scorer::new(&labels, &truth, &p, &strata(5_000));
    let a = intervals(&scorer, Metric::CohenKappaQuadratic, &SUBSETS, settings(9));
    assert_eq!(a, intervals(&scorer, Metric::CohenKappaQuadratic, &SUBSETS, settings(9)));
    assert_ne!(a, intervals(&scorer, Metric::CohenKappaQuadratic, &SUBSETS, settings(10)));
    for i in a {
        let i = i.unwrap();
        assert!(i.low <= i.estimate && i.estimate <= i.high && i.replicates == REPLICATES, "{i:?}");
    }
    // Undefined stays undefined, with its reason, by every method.
    let one = Truth::Classes(vec![1; 20_000]);
    let p = Predictions::Probability(vec![0.4; 20_000]);
    let scorer = Scorer::new(&[0, 1], &one, &p, &strata(20_000));
    assert_eq!(intervals(&scorer, Metric::RocAuc, &[0b11], settings(1))[0], Err("only one class present in the truth"));
}

#[test]
fn the_normal_quantile_inverts_the_distribution_function() {
    assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-13);
    assert!(normal_quantile(0.5).abs() < 1e-15);
    for i in 1..1000 {
        let p = f64::from(i) / 1000.0;
        assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-14, "{p}");
        assert!((normal_quantile(p) + normal_quantile(1.0 - p)).abs() < 1e-9, "{p}");
    }
    assert!((normal_quantile(1e-10) + 6.361_340_902_404_056).abs() < 1e-9);
}

/// The primary metric's interval on all/public/private of 1,000,000 rows with predictions as
/// models write them (every score distinct), by the method holdout picks and by the row
/// bootstrap it replaces:
/// `cargo test --release -p holdout-score --test score interval_speed -- --ignored --nocapture`
#[test]
#[ignore = "a benchmark, not a test: run by hand"]
fn interval_speed() {
    let n = 1_000_000;
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let strata = strata(n);
    let (y, probability) = binary(n, 0.3, 1.5, &mut rng);
    let distinct = {
        let mut p = probability.clone();
        p.sort_by(f64::total_cmp);
        p.dedup();
        p.len()
    };
    let (truth, p) = (Truth::Classes(y), Predictions::Probability(probability));
    let binary_scorer = Scorer::new(&[0, 1], &truth, &p, &strata);
    let (y, values) = ordinal(n, 1.0, &mut rng);
    let (five, q) = (Truth::Classes(y), Predictions::ClassProbabilities { classes: 5, values });
    let labels = [1, 2, 3, 4, 5];
    let ordinal_scorer = Scorer::new(&labels, &five, &q, &strata);
    println!("{n} rows, {distinct} distinct binary scores, subsets all/public/private, {REPLICATES} replicates");
    for (name, scorer, metric) in [
        ("ROC AUC", &binary_scorer, Metric::RocAuc),
        ("QWK, class probabilities", &ordinal_scorer, Metric::CohenKappaQuadratic),
    ] {
        // The sort orders and predicted classes are shared with the scores, computed once first.
        scorer.prepare(&[metric]);
        let _ = scorer.score(metric);
        let start = std::time::Instant::now();
        let fast = intervals(scorer, metric, &SUBSETS, settings(1));
        let fast_s = start.elapsed().as_secs_f64();
        let start = std::time::Instant::now();
        let slow = intervals_by(scorer, metric, &SUBSETS, &[Method::Bootstrap; 3], settings(1));
        let slow_s = start.elapsed().as_secs_f64();
        let all = (fast[0].unwrap(), slow[0].unwrap());
        println!(
            "{name}: {:?} {fast_s:.3} s, row bootstrap {slow_s:.2} s ({:.0}x); all rows [{:.6}, {:.6}] vs [{:.6}, {:.6}]",
            all.0.method,
            slow_s / fast_s,
            all.0.low,
            all.0.high,
            all.1.low,
            all.1.high
        );
    }
}
