//! The paired bootstrap: the fast AUC path agrees with scoring each replicate's rows, the
//! resamples are the same for every submission, and intervals and comparisons behave.

use holdout_schema::Metric;
use holdout_score::bootstrap::{counts, interval, probability_better, replicates};
use holdout_score::metrics::{Predictions, Truth, score};
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

#[test]
fn the_fast_auc_path_equals_scoring_each_replicate() {
    let (truth, p) = binary(3000, 1, 0.8);
    let fast = replicates(Metric::RocAuc, &[0, 1], &truth, &p, 40, 9);
    let mut weights = Vec::new();
    for (r, value) in fast.iter().enumerate() {
        counts(3000, 9, r, &mut weights);
        let rows: Vec<usize> =
            weights.iter().enumerate().flat_map(|(i, &w)| std::iter::repeat_n(i, w as usize)).collect();
        let direct = score(Metric::RocAuc, &[0, 1], &truth.select(&rows), &p.select(&rows)).value().unwrap();
        assert!((value.unwrap() - direct).abs() < 1e-12, "replicate {r}: {value:?} vs {direct}");
    }
}

#[test]
fn resamples_are_seeded_and_shared_by_every_submission() {
    let (truth, a) = binary(500, 2, 0.5);
    let (_, b) = binary(500, 3, 0.9);
    assert_eq!(
        replicates(Metric::RocAuc, &[0, 1], &truth, &a, 50, 4),
        replicates(Metric::RocAuc, &[0, 1], &truth, &a, 50, 4)
    );
    let mut x = Vec::new();
    let mut y = Vec::new();
    counts(500, 4, 7, &mut x);
    counts(500, 4, 7, &mut y);
    assert_eq!(x, y);
    assert_eq!(x.iter().sum::<u32>(), 500);
    // A clearly better submission wins (almost) every paired replicate, and not the reverse.
    let better = probability_better(Metric::RocAuc, &[0, 1], &truth, &a, &b, 200, 4).unwrap();
    assert!(better > 0.99, "{better}");
    let worse = probability_better(Metric::RocAuc, &[0, 1], &truth, &b, &a, 200, 4).unwrap();
    assert!((better + worse - 1.0).abs() < 1e-12);
    // Against itself: every replicate ties.
    assert_eq!(probability_better(Metric::RocAuc, &[0, 1], &truth, &a, &a, 50, 4), Some(0.5));
}

#[test]
fn intervals_bracket_the_estimate_and_narrow_with_more_rows() {
    let (small_truth, small) = binary(400, 5, 0.8);
    let (large_truth, large) = binary(20_000, 5, 0.8);
    let s = interval(Metric::RocAuc, &[0, 1], &small_truth, &small, 300, 1, 0.95).unwrap();
    let l = interval(Metric::RocAuc, &[0, 1], &large_truth, &large, 300, 1, 0.95).unwrap();
    assert!(s.low <= s.estimate && s.estimate <= s.high, "{s:?}");
    assert!(l.high - l.low < (s.high - s.low) / 3.0, "{s:?} {l:?}");
    // Label metrics go through the generic path.
    let labels = [1, 2, 3];
    let truth = Truth::Classes((0..300).map(|i| i % 3).collect());
    let predicted = Predictions::Labels((0..300).map(|i| (i / 2) % 3).collect());
    let k = interval(Metric::CohenKappaQuadratic, &labels, &truth, &predicted, 100, 2, 0.9).unwrap();
    assert!(k.low <= k.estimate && k.estimate <= k.high && k.replicates == 100, "{k:?}");
    // Undefined stays undefined.
    let one_class = Truth::Classes(vec![1; 50]);
    let p = Predictions::Probability(vec![0.3; 50]);
    assert!(interval(Metric::RocAuc, &[0, 1], &one_class, &p, 10, 1, 0.95).is_err());
}

/// `cargo test --release -p holdout-score --test score bootstrap_speed -- --ignored --nocapture`
#[test]
#[ignore = "a timing, not a test: run by hand"]
fn bootstrap_speed() {
    let (truth, p) = binary(1_000_000, 11, 0.7);
    let start = std::time::Instant::now();
    let i = interval(Metric::RocAuc, &[0, 1], &truth, &p, 1000, 1, 0.95).unwrap();
    println!("1,000 replicates of ROC AUC on 1,000,000 rows: {:.2} s, {i:?}", start.elapsed().as_secs_f64());
}
