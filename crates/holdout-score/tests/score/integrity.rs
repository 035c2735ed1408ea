//! The integrity report's small statistics: Kendall's τ-b against scipy
//! (`tests/data/integrity_oracle.json`), and the invariants of τ, the shake-up, the probing
//! indicator and the same-file groups.

use holdout_score::integrity::{SubmissionRef, kendall_tau_b, probing, same_files, shake_up};
use proptest::prelude::*;
use serde_json::Value;

const ORACLE: &str = include_str!("../data/integrity_oracle.json");

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn kendall_tau_b_matches_scipy() {
    let oracle: Value = serde_json::from_str(ORACLE).unwrap();
    let cases = oracle["kendall"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let got = kendall_tau_b(&numbers(&case["x"]), &numbers(&case["y"]));
        match (got, case["tau_b"].as_f64()) {
            (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-12, "{name}: {a} vs scipy {b}"),
            (a, b) => assert_eq!(a, b, "{name}"),
        }
    }
}

fn paired() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (2usize..40).prop_flat_map(|n| {
        let value = (0u8..6).prop_map(f64::from);
        (proptest::collection::vec(value.clone(), n), proptest::collection::vec(value, n))
    })
}

proptest! {
    #[test]
    fn kendall_tau_b_is_symmetric_bounded_and_rank_based((x, y) in paired()) {
        let t = kendall_tau_b(&x, &y);
        prop_assert_eq!(t, kendall_tau_b(&y, &x));
        if let Some(t) = t {
            prop_assert!((-1.0..=1.0).contains(&t));
            // A strictly increasing transform keeps every pair's order; a decreasing one flips the sign.
            let up: Vec<f64> = x.iter().map(|v| v.powi(3) + 7.0).collect();
            prop_assert_eq!(kendall_tau_b(&up, &y), Some(t));
            let down: Vec<f64> = x.iter().map(|v| -v).collect();
            prop_assert!((kendall_tau_b(&down, &y).unwrap() + t).abs() < 1e-12);
        }
        if x.iter().any(|v| *v != x[0]) {
            prop_assert!((kendall_tau_b(&x, &x).unwrap() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn shake_up_ignores_team_order_and_stays_below_one(
        public in Just((1u32..=20).collect::<Vec<_>>()).prop_shuffle(),
        private in Just((1u32..=20).collect::<Vec<_>>()).prop_shuffle(),
        rotate in 0usize..20,
    ) {
        let s = shake_up(&public, &private).unwrap();
        prop_assert!(s.shake_up >= 0.0 && s.shake_up < 1.0);
        prop_assert!((s.shake_up * 20.0 - s.mean_rank_change).abs() < 1e-12);
        let (mut p, mut q) = (public.clone(), private.clone());
        p.rotate_left(rotate);
        q.rotate_left(rotate);
        prop_assert_eq!(shake_up(&p, &q), Some(s));
        prop_assert_eq!(shake_up(&public, &public).unwrap().shake_up, 0.0);
    }

    #[test]
    fn probing_reads_a_loss_as_its_negated_score(
        history in proptest::collection::vec(
            (proptest::option::weighted(0.9, 0u16..1000), proptest::option::weighted(0.9, 0u16..1000)),
            0..30,
        ),
    ) {
        let scale = |v: Option<u16>| v.map(|v| f64::from(v) / 1000.0);
        let up: Vec<(Option<f64>, Option<f64>)> = history.iter().map(|&(a, b)| (scale(a), scale(b))).collect();
        let down: Vec<(Option<f64>, Option<f64>)> = up.iter().map(|&(a, b)| (a.map(|v| -v), b.map(|v| -v))).collect();
        let (g, l) = (probing(&up, true, 0.01), probing(&down, false, 0.01));
        prop_assert_eq!((g.best_public, g.small_gains, g.submissions), (l.best_public, l.small_gains, l.submissions));
        prop_assert_eq!(g.gap, l.gap);
        prop_assert!(g.score >= 0.0 && g.small_gains < history.len().max(1));
    }

    #[test]
    fn same_files_cover_every_cross_team_repeat(
        files in proptest::collection::vec((0i64..6, 0u8..5), 0..40),
    ) {
        let hashes = ["aa", "bb", "cc", "dd", "ee"];
        let input: Vec<(SubmissionRef, &str)> = files
            .iter()
            .enumerate()
            .map(|(i, &(team, h))| (SubmissionRef { team, submission: i as i64 }, hashes[h as usize]))
            .collect();
        let groups = same_files(input.iter().copied());
        for g in &groups {
            prop_assert!(g.teams >= 2);
        }
        for (i, a) in input.iter().enumerate() {
            for b in &input[i + 1..] {
                if a.1 == b.1 && a.0.team != b.0.team {
                    let group = groups.iter().find(|g| g.sha256 == a.1);
                    prop_assert!(group.is_some_and(|g| g.submissions.contains(&a.0) && g.submissions.contains(&b.0)));
                }
            }
        }
    }
}
