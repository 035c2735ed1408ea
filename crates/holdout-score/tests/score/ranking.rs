//! Rank uncertainty: against scipy, numpy and statsmodels on the boards of
//! `tests/data/integrity_oracle.json` (regenerate with `tests/data/integrity_oracle.py`), its
//! invariants on random boards, and on real submissions' replicate scores.

use holdout_schema::Metric;
use holdout_score::bootstrap::{counts, paired_replicates, replicate_scores};
use holdout_score::metrics::{Predictions, Truth};
use holdout_score::ranking::{RankSettings, rank_uncertainty, ranks};
use holdout_score::scorer::Scorer;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

const ORACLE: &str = include_str!("../data/integrity_oracle.json");

fn option(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-12, "{what}: {a} vs {b}");
}

#[test]
fn rank_uncertainty_matches_scipy_numpy_and_statsmodels() {
    let oracle: Value = serde_json::from_str(ORACLE).unwrap();
    let cases = oracle["ranks"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let greater = case["greater_is_better"].as_bool().unwrap();
        let points: Vec<Option<f64>> = case["points"].as_array().unwrap().iter().map(option).collect();
        let replicates: Vec<Vec<Option<f64>>> = case["replicates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row.as_array().unwrap().iter().map(option).collect())
            .collect();
        let got = rank_uncertainty(&points, &replicates, greater, RankSettings::default());
        assert_eq!(got.leader, case["leader"].as_u64().map(|l| l as usize), "{name}");
        let want: Vec<usize> = case["indistinguishable_from_leader"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(got.indistinguishable_from_leader, want, "{name}");
        for (t, (ours, theirs)) in got.teams.iter().zip(case["teams"].as_array().unwrap()).enumerate() {
            let what = format!("{name} team {t}");
            assert_eq!(u64::from(ours.rank), theirs["rank"].as_u64().unwrap(), "{what} rank");
            assert_eq!(u64::from(ours.rank_low), theirs["rank_low"].as_u64().unwrap(), "{what} low");
            assert_eq!(u64::from(ours.rank_high), theirs["rank_high"].as_u64().unwrap(), "{what} high");
            close(ours.probability_first, theirs["probability_first"].as_f64().unwrap(), &what);
            match (ours.p_value, option(&theirs["p_value"])) {
                (Some(a), Some(b)) => close(a, b, &what),
                (a, b) => assert_eq!(a, b, "{what} p"),
            }
            match (ours.p_holm, option(&theirs["p_holm"])) {
                (Some(a), Some(b)) => close(a, b, &what),
                (a, b) => assert_eq!(a, b, "{what} Holm"),
            }
            assert_eq!(ours.leader_better, theirs["leader_better"].as_bool().unwrap(), "{what} rejected");
        }
        let total: f64 = got.teams.iter().map(|t| t.probability_first).sum();
        close(total, 1.0, name);
    }
}

/// P(rank = 1) counted directly from the scores: in each replicate the best defined score (all
/// teams when none is defined) and the teams holding it, `1/k` each.
fn first_by_count(replicates: &[Vec<Option<f64>>], greater: bool) -> Vec<f64> {
    let count = replicates[0].len();
    let mut first = vec![0.0; replicates.len()];
    for r in 0..count {
        let column: Vec<Option<f64>> = replicates.iter().map(|row| row[r]).collect();
        let best = column.iter().flatten().copied().reduce(|a, b| if (a > b) == greater { a } else { b });
        let winners: Vec<usize> = (0..column.len()).filter(|&t| column[t] == best).collect();
        for &t in &winners {
            first[t] += 1.0 / winners.len() as f64;
        }
    }
    first.iter().map(|f| f / count as f64).collect()
}

/// Point scores, replicate scores (`[team][replicate]`) and the metric's direction.
type Board = (Vec<Option<f64>>, Vec<Vec<Option<f64>>>, bool);

fn board() -> impl Strategy<Value = Board> {
    // Few distinct values, so ties and undefined scores are common.
    let score = prop_oneof![1 => Just(None), 6 => (0u8..5).prop_map(|v| Some(f64::from(v) / 4.0))];
    (1usize..8, 1usize..60, any::<bool>()).prop_flat_map(move |(teams, count, greater)| {
        (
            proptest::collection::vec(score.clone(), teams),
            proptest::collection::vec(proptest::collection::vec(score.clone(), count), teams),
            Just(greater),
        )
    })
}

proptest! {
    #[test]
    fn first_places_sum_to_one_and_match_a_direct_count((points, replicates, greater) in board()) {
        let got = rank_uncertainty(&points, &replicates, greater, RankSettings::default());
        let total: f64 = got.teams.iter().map(|t| t.probability_first).sum();
        prop_assert!((total - 1.0).abs() <= 1e-12, "{total}");
        for (t, direct) in first_by_count(&replicates, greater).into_iter().enumerate() {
            prop_assert!((got.teams[t].probability_first - direct).abs() <= 1e-12);
        }
    }

    #[test]
    fn intervals_hold_the_level_and_the_leader_is_never_told_apart_from_itself(
        (points, replicates, greater) in board()
    ) {
        let got = rank_uncertainty(&points, &replicates, greater, RankSettings::default());
        let count = replicates[0].len();
        let by_replicate: Vec<Vec<u32>> = (0..count)
            .map(|r| ranks(&replicates.iter().map(|row| row[r]).collect::<Vec<_>>(), greater))
            .collect();
        for (t, team) in got.teams.iter().enumerate() {
            prop_assert!(1 <= team.rank_low && team.rank_low <= team.rank_high);
            let inside = by_replicate.iter().filter(|r| (team.rank_low..=team.rank_high).contains(&r[t])).count();
            prop_assert!(inside as f64 >= 0.95 * count as f64, "{inside} of {count}");
            if let (Some(p), Some(holm)) = (team.p_value, team.p_holm) {
                prop_assert!(p <= holm && holm <= 1.0 && p >= 1.0 / (count + 1) as f64);
            }
            // One source: the list is the teams whose flag is set, the flag the leader's test.
            prop_assert_eq!(team.indistinguishable_from_leader, got.indistinguishable_from_leader.contains(&t));
            prop_assert_eq!(
                team.indistinguishable_from_leader,
                got.leader.is_some() && !team.leader_better,
                "the leader, or a team it is not better than"
            );
        }
        match got.leader {
            Some(l) => {
                prop_assert!(got.indistinguishable_from_leader.contains(&l));
                prop_assert_eq!(got.teams[l].rank, 1);
                prop_assert!(got.teams[l].p_value.is_none());
                // A team with the leader's replicate scores is never told apart from it.
                for t in 0..points.len() {
                    if replicates[t] == replicates[l] {
                        prop_assert!(got.indistinguishable_from_leader.contains(&t));
                    }
                }
            }
            None => prop_assert!(points.iter().all(Option::is_none)),
        }
    }
}

#[test]
fn holm_rejects_only_with_enough_replicates() {
    // The leader beats nine teams in every replicate: p = 1/(R + 1) for each.
    let m = 9;
    let settings = RankSettings::default();
    let board = |count: usize| -> Vec<Vec<Option<f64>>> {
        (0..=m).map(|t| vec![Some(1.0 - t as f64 / 100.0); count]).collect()
    };
    let points: Vec<Option<f64>> = (0..=m).map(|t| Some(1.0 - t as f64 / 100.0)).collect();
    let needed = rank_uncertainty(&points, &board(10), true, settings).replicates_needed;
    assert_eq!(needed, 179);
    let enough = rank_uncertainty(&points, &board(needed), true, settings);
    assert_eq!(enough.indistinguishable_from_leader, vec![0]);
    assert!(enough.teams[1..].iter().all(|t| t.leader_better && t.p_holm == Some(0.05)));
    let short = rank_uncertainty(&points, &board(needed - 1), true, settings);
    assert_eq!(short.indistinguishable_from_leader, (0..=m).collect::<Vec<_>>());
    // Every replicate ranks the teams in point order, so each interval is its point rank.
    assert!(short.teams.iter().all(|t| t.rank_low == t.rank && t.rank_high == t.rank));
    assert_eq!(short.teams[0].probability_first, 1.0);
}

/// A binary truth and `teams` submissions of decreasing quality, the last a copy of the first.
fn submissions(n: usize, teams: usize, seed: u64) -> (Truth, Vec<Predictions>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let y: Vec<usize> = (0..n).map(|_| usize::from(rng.gen_bool(0.3))).collect();
    let mut out: Vec<Predictions> = (0..teams - 1)
        .map(|t| {
            let noise = 0.7 + 0.05 * t as f64;
            Predictions::Probability(y.iter().map(|&c| c as f64 * (1.0 - noise) + rng.r#gen::<f64>() * noise).collect())
        })
        .collect();
    out.push(out[0].clone());
    (Truth::Classes(y), out)
}

#[test]
fn replicate_scores_are_paired_and_rank_real_submissions() {
    let strata = [0..1500, 1500..4000];
    let (truth, predictions) = submissions(4000, 6, 21);
    let scorers: Vec<Scorer<'_>> = predictions.iter().map(|p| Scorer::new(&[0, 1], &truth, p, &strata)).collect();
    let (count, seed, private) = (300, 17, 0b10);
    let rows: Vec<Vec<Option<f64>>> =
        scorers.iter().map(|s| replicate_scores(s, Metric::RocAuc, private, count, seed)).collect();
    // One submission at a time gives what drawing once for all of them gives.
    let refs: Vec<&Scorer<'_>> = scorers.iter().collect();
    let paired = paired_replicates(&refs, Metric::RocAuc, &[private], count, seed);
    for (row, all) in rows.iter().zip(&paired) {
        assert_eq!(*row, all.iter().map(|r| r[0]).collect::<Vec<_>>());
    }
    // Entry r is the metric on replicate r's row counts.
    let mut weights = Vec::new();
    counts(&strata, seed, 5, &mut weights);
    weights[..1500].fill(0);
    assert_eq!(rows[2][5], scorers[2].scores(&[Metric::RocAuc], &[private], Some(&weights))[0][0].value());
    assert!(rows.iter().flatten().all(Option::is_some));

    let points: Vec<Option<f64>> =
        scorers.iter().map(|s| s.scores(&[Metric::RocAuc], &[private], None)[0][0].value()).collect();
    let board = rank_uncertainty(&points, &rows, true, RankSettings::default());
    assert_eq!(board.leader, Some(0));
    // The copy ties the leader in every replicate: first places split evenly between them.
    assert_eq!(board.teams[0].probability_first, board.teams[5].probability_first);
    assert_eq!(board.teams[0].probability_first, 0.5);
    assert_eq!(board.teams[5].p_value, Some(1.0));
    assert_eq!(board.teams[5].rank, 1);
    // The far weaker teams are told apart (R = 300 resolves up to 15 teams at 0.05).
    assert_eq!(board.indistinguishable_from_leader, vec![0, 5]);
    assert!(board.teams[4].rank_low >= 4, "{:?}", board.teams[4]);
}

#[test]
fn undefined_replicates_stay_aligned_and_rank_last() {
    // Twelve rows with one positive: replicates that miss it leave ROC AUC undefined.
    let truth = Truth::Classes((0..12).map(|i| usize::from(i == 3)).collect());
    let good =
        Predictions::Probability((0..12).map(|i| if i == 3 { 0.9 } else { 0.1 + f64::from(i) / 100.0 }).collect());
    let poor =
        Predictions::Probability((0..12).map(|i| if i == 3 { 0.05 } else { 0.1 + f64::from(i) / 100.0 }).collect());
    let (a, b) = (Scorer::whole(&[0, 1], &truth, &good), Scorer::whole(&[0, 1], &truth, &poor));
    let (ra, rb) = (replicate_scores(&a, Metric::RocAuc, 1, 200, 3), replicate_scores(&b, Metric::RocAuc, 1, 200, 3));
    assert_eq!(ra.len(), 200);
    let undefined: Vec<usize> = (0..200).filter(|&r| ra[r].is_none()).collect();
    assert!(!undefined.is_empty() && undefined.len() < 200, "{}", undefined.len());
    // The same replicates are undefined for both: the draws are shared.
    assert!(undefined.iter().all(|&r| rb[r].is_none()));
    let board = rank_uncertainty(&[Some(1.0), Some(0.0)], &[ra, rb], true, RankSettings::default());
    // Both undefined ties: those replicates' first place is shared.
    let share = undefined.len() as f64 / 200.0;
    assert!((board.teams[1].probability_first - share / 2.0).abs() < 1e-12, "{board:?}");
    assert!((board.teams[0].probability_first - (1.0 - share / 2.0)).abs() < 1e-12);
}
