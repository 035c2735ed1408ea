//! Scores do not depend on row order.
use holdout_schema::{PredictionFormat, Task};
use holdout_score::metrics::{Predictions, Truth, applicable, score};
use proptest::prelude::*;

proptest! {
    /// Shuffling the rows (truth and predictions together) never changes any score.
    #[test]
    fn row_order_never_changes_a_score(
        rows in prop::collection::vec((0usize..5, 0usize..5, 0.0f64..1.0, 0u8..4), 2..300),
        rotation in 0usize..300,
    ) {
        let labels = [1i64, 2, 3, 4, 5];
        let task = Task::Ordinal { labels: labels.to_vec() };
        let build = |rows: &[(usize, usize, f64, u8)]| {
            let truth = Truth::Classes(rows.iter().map(|r| r.0).collect());
            let label = Predictions::Labels(rows.iter().map(|r| r.1).collect());
            // Class probabilities with ties: a coarse score spread over the classes.
            let values = rows
                .iter()
                .flat_map(|r| {
                    let mut p = [0.1; 5];
                    p[r.1] = 0.1 + f64::from(r.3) * 0.1;
                    let s: f64 = p.iter().sum();
                    p.map(|x| x / s)
                })
                .collect();
            (truth, label, Predictions::ClassProbabilities { classes: 5, values })
        };
        let mut shuffled = rows.clone();
        shuffled.rotate_left(rotation % rows.len());
        shuffled.reverse();
        let (t1, l1, p1) = build(&rows);
        let (t2, l2, p2) = build(&shuffled);
        for (format, a, b) in [(PredictionFormat::Label, &l1, &l2), (PredictionFormat::ClassProbabilities, &p1, &p2)] {
            for m in applicable(&task, format) {
                let (x, y) = (score(m, &labels, &t1, a), score(m, &labels, &t2, b));
                match (x.value(), y.value()) {
                    (Some(x), Some(y)) => prop_assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0), "{}: {x} vs {y}", m.name()),
                    (None, None) => {}
                    _ => prop_assert!(false, "{}: {x:?} vs {y:?}", m.name()),
                }
            }
        }
    }
}
