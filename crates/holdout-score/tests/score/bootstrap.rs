//! The scoring engine on weighted rows and strata, and the paired bootstrap: a row counted `w`
//! times scores exactly as `w` copies of it, subsets scored together equal subsets scored
//! alone, resamples are the same for every submission, intervals and comparisons behave.

use std::ops::Range;

use holdout_schema::{Metric, PredictionFormat, Task};
use holdout_score::bootstrap::{counts, interval, paired_replicates, probability_better, replicates};
use holdout_score::metrics::{Predictions, Score, Truth, applicable, score};
use holdout_score::scorer::{Scorer, Strata};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn binary(n: usize, seed: u64, noise: f64) -> (Truth, Predictions) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let y: Vec<usize> = (0..n).map(|_| usize::from(rng.gen_bool(0.4))).collect();
    // Coarse scores (two decimals) so ties are common.
    let p =
        y.iter().map(|&c| ((c as f64 * (1.0 - noise) + rng.r#gen::<f64>() * noise) * 100.0).round() / 100.0).collect();
    (Truth::Classes(y), Predictions::Probability(p))
}

/// A task with its labels, truth, and predictions in each format.
type Case = (Task, Vec<i64>, Truth, Vec<(PredictionFormat, Predictions)>);

/// A case of every task and prediction format.
fn cases(n: usize, seed: u64) -> Vec<Case> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (truth, probability) = binary(n, seed, 0.7);
    let Truth::Classes(y) = &truth else { unreachable!() };
    let labels01 = Predictions::Labels(y.iter().map(|&c| if rng.gen_bool(0.2) { 1 - c } else { c }).collect());
    let five: Vec<usize> = (0..n).map(|_| rng.gen_range(0..5)).collect();
    let five_labels = Predictions::Labels(five.iter().map(|&c| (c + rng.gen_range(0..2)) % 5).collect());
    let five_probs = Predictions::ClassProbabilities {
        classes: 5,
        values: five
            .iter()
            .flat_map(|&c| {
                let mut p: Vec<f64> = (0..5).map(|_| f64::from(rng.gen_range(1u8..4))).collect();
                p[c] += 2.0;
                let s: f64 = p.iter().sum();
                p.into_iter().map(move |x| x / s)
            })
            .collect(),
    };
    let values: Vec<f64> = (0..n).map(|_| f64::from(rng.gen_range(0u8..20))).collect();
    let predicted =
        Predictions::Values(values.iter().map(|v| (v + rng.gen_range(-3.0..3.0) * 2.0).round() / 2.0).collect());
    vec![
        (
            Task::Binary,
            vec![0, 1],
            truth.clone(),
            vec![(PredictionFormat::Probability, probability), (PredictionFormat::Label, labels01)],
        ),
        (
            Task::Ordinal { labels: vec![1, 2, 3, 4, 5] },
            vec![1, 2, 3, 4, 5],
            Truth::Classes(five),
            vec![(PredictionFormat::Label, five_labels), (PredictionFormat::ClassProbabilities, five_probs)],
        ),
        (Task::Regression, vec![], Truth::Values(values), vec![(PredictionFormat::Value, predicted)]),
    ]
}

fn close(a: Score, b: Score, what: &str) {
    match (a, b) {
        (Score::Value(x), Score::Value(y)) => assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0), "{what}: {x} vs {y}"),
        (Score::Undefined(x), Score::Undefined(y)) => assert_eq!(x, y, "{what}"),
        _ => panic!("{what}: {a:?} vs {b:?}"),
    }
}

/// The rows of `rows` repeated by `weights`, in order.
fn expand(rows: Range<usize>, weights: &[u32]) -> Vec<usize> {
    rows.flat_map(|i| std::iter::repeat_n(i, weights[i] as usize)).collect()
}

#[test]
fn weighted_rows_and_strata_score_as_copies_and_subsets_alone() {
    let n = 600;
    let strata = [0..150, 150..400, 400..600];
    let subsets: [Strata; 5] = [0b111, 0b001, 0b010, 0b110, 0b101];
    for (task, labels, truth, formats) in cases(n, 3) {
        for (format, predictions) in formats {
            let metrics = applicable(&task, format);
            let scorer = Scorer::new(&labels, &truth, &predictions, &strata);
            let mut weights = Vec::new();
            for replicate in 0..6 {
                // Replicate 0 counts every row once; the others are bootstrap draws.
                if replicate == 0 {
                    weights = vec![1; n];
                } else {
                    counts(&strata, 5, replicate, &mut weights);
                }
                let together = scorer.scores(&metrics, &subsets, Some(&weights));
                for (j, &subset) in subsets.iter().enumerate() {
                    let rows: Vec<usize> = strata
                        .iter()
                        .enumerate()
                        .filter(|(s, _)| subset & (1 << s) != 0)
                        .flat_map(|(_, r)| expand(r.clone(), &weights))
                        .collect();
                    let (t, p) = (truth.select(&rows), predictions.select(&rows));
                    for (m, &metric) in metrics.iter().enumerate() {
                        let alone = score(metric, &labels, &t, &p);
                        close(
                            together[j][m],
                            alone,
                            &format!("{task:?} {format:?} {} subset {subset:b} replicate {replicate}", metric.name()),
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn resamples_are_stratified_seeded_and_shared_by_every_submission() {
    let strata = [0..100, 100..350, 350..500];
    let (mut x, mut y) = (Vec::new(), Vec::new());
    counts(&strata, 4, 7, &mut x);
    counts(&strata, 4, 7, &mut y);
    assert_eq!(x, y);
    for r in &strata {
        assert_eq!(x[r.clone()].iter().sum::<u32>() as usize, r.len(), "each stratum draws its own size");
    }
    counts(&strata, 4, 8, &mut y);
    assert_ne!(x, y, "replicates differ");
    counts(&strata, 5, 7, &mut y);
    assert_ne!(x, y, "seeds differ");

    let (truth, a) = binary(500, 2, 0.5);
    let (_, b) = binary(500, 3, 0.9);
    let (sa, sb) = (Scorer::new(&[0, 1], &truth, &a, &strata), Scorer::new(&[0, 1], &truth, &b, &strata));
    let subsets = [0b111, 0b010];
    assert_eq!(replicates(&sa, Metric::RocAuc, &subsets, 50, 4), replicates(&sa, Metric::RocAuc, &subsets, 50, 4));
    let (ra, rb) =
        (replicates(&sa, Metric::RocAuc, &subsets, 200, 4), replicates(&sb, Metric::RocAuc, &subsets, 200, 4));
    // Paired: the draws made once serve both, with the same values as drawing for each alone.
    assert_eq!(paired_replicates(&[&sa, &sb], Metric::RocAuc, &subsets, 200, 4), vec![ra.clone(), rb.clone()]);
    let column = |r: &[Vec<Option<f64>>], j: usize| r.iter().map(|v| v[j]).collect::<Vec<_>>();
    // A clearly better submission wins (almost) every paired replicate, and not the reverse.
    let better = probability_better(Metric::RocAuc, column(&ra, 0), column(&rb, 0)).unwrap();
    assert!(better > 0.99, "{better}");
    let worse = probability_better(Metric::RocAuc, column(&rb, 0), column(&ra, 0)).unwrap();
    assert!((better + worse - 1.0).abs() < 1e-12);
    // Against itself: every replicate ties.
    assert_eq!(probability_better(Metric::RocAuc, column(&ra, 1), column(&ra, 1)), Some(0.5));
    // Lower is better for losses.
    assert_eq!(probability_better(Metric::LogLoss, [Some(0.2)], [Some(0.3)]), Some(1.0));
}

#[test]
fn intervals_bracket_the_estimate_and_narrow_with_more_rows() {
    let ci = |truth: &Truth, p: &Predictions, metric: Metric, labels: &[i64], count: usize| {
        let scorer = Scorer::whole(labels, truth, p);
        let values = replicates(&scorer, metric, &[1], count, 1);
        interval(scorer.score(metric), values.into_iter().map(|v| v[0]), 0.95)
    };
    let (small_truth, small) = binary(400, 5, 0.8);
    let (large_truth, large) = binary(20_000, 5, 0.8);
    let s = ci(&small_truth, &small, Metric::RocAuc, &[0, 1], 300).unwrap();
    let l = ci(&large_truth, &large, Metric::RocAuc, &[0, 1], 300).unwrap();
    assert!(s.low <= s.estimate && s.estimate <= s.high, "{s:?}");
    assert!(l.high - l.low < (s.high - s.low) / 3.0, "{s:?} {l:?}");
    let labels = [1, 2, 3];
    let truth = Truth::Classes((0..300).map(|i| i % 3).collect());
    let predicted = Predictions::Labels((0..300).map(|i| (i / 2) % 3).collect());
    let k = ci(&truth, &predicted, Metric::CohenKappaQuadratic, &labels, 100).unwrap();
    assert!(k.low <= k.estimate && k.estimate <= k.high && k.replicates == 100, "{k:?}");
    // Undefined stays undefined, with its reason.
    let one_class = Truth::Classes(vec![1; 50]);
    let p = Predictions::Probability(vec![0.3; 50]);
    assert_eq!(ci(&one_class, &p, Metric::RocAuc, &[0, 1], 10), Err("only one class present in the truth"));
}

/// `cargo test --release -p holdout-score --test score bootstrap_speed -- --ignored --nocapture`
#[test]
#[ignore = "a timing, not a test: run by hand"]
fn bootstrap_speed() {
    let (truth, p) = binary(1_000_000, 11, 0.7);
    let scorer = Scorer::new(&[0, 1], &truth, &p, &[0..300_000, 300_000..1_000_000]);
    let start = std::time::Instant::now();
    let values = replicates(&scorer, Metric::RocAuc, &[0b11, 0b01, 0b10], 1000, 1);
    let i = interval(scorer.score(Metric::RocAuc), values.into_iter().map(|v| v[0]), 0.95).unwrap();
    println!(
        "1,000 replicates of ROC AUC on 1,000,000 rows (all, public, private): {:.2} s, {i:?}",
        start.elapsed().as_secs_f64()
    );
}
