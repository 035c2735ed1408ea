//! Near-duplicate prediction files: a planted copy is flagged and honest teams are not (on
//! synthetic contests of every prediction format), the pruned search finds exactly what comparing
//! every pair finds, and Pearson's r matches numpy (`tests/data/integrity_oracle.json`).

use holdout_score::duplicates::{
    Candidate, DuplicateSettings, Measure, NearDuplicates, near_duplicates, pearson, sample_rows,
};
use holdout_score::integrity::SubmissionRef;
use holdout_score::metrics::{Predictions, Truth, spearman};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde_json::Value;

const ORACLE: &str = include_str!("../data/integrity_oracle.json");

const ROWS: usize = 2000;
const CLASSES: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Values,
    Probability,
    Labels,
    ClassProbabilities,
}

/// A synthetic contest: the truth on the sampled rows and every submission.
struct World {
    truth: Truth,
    labels: usize,
    submissions: Vec<(SubmissionRef, Predictions)>,
}

impl World {
    fn candidates(&self) -> Vec<Candidate<'_>> {
        self.submissions.iter().map(|(id, predictions)| Candidate { id: *id, predictions }).collect()
    }

    fn find(&self, settings: DuplicateSettings) -> NearDuplicates {
        near_duplicates(self.labels, &self.truth, &self.candidates(), settings)
    }
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(StandardNormal)
}

fn class_of(latent: f64) -> usize {
    [-1.0, 0.0, 1.0].iter().filter(|&&cut| latent >= cut).count()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// A model's predictions from its estimate of the latent signal.
fn predict(kind: Kind, estimate: &[f64]) -> Predictions {
    match kind {
        Kind::Values => Predictions::Values(estimate.iter().map(|e| 8.0 * e).collect()),
        Kind::Probability => Predictions::Probability(estimate.iter().map(|e| sigmoid(1.2 * e - 1.0)).collect()),
        Kind::Labels => Predictions::Labels(estimate.iter().map(|&e| class_of(e)).collect()),
        Kind::ClassProbabilities => Predictions::ClassProbabilities {
            classes: CLASSES,
            values: estimate
                .iter()
                .flat_map(|e| {
                    let w: Vec<f64> = [-1.5, -0.5, 0.5, 1.5].iter().map(|c| (-2.0 * (e - c) * (e - c)).exp()).collect();
                    let total: f64 = w.iter().sum();
                    w.into_iter().map(move |x| x / total)
                })
                .collect(),
        },
    }
}

/// Honest teams: each estimates the latent signal `s` with the error of its family of models
/// (three families: teams using similar methods err alike) and its own, and submits `per_team`
/// variations of it. The truth is noisy as holdout's contests are (the best regression explains
/// about a quarter of the variance). Team ids are 0..teams, submission ids 100·team + k.
fn honest(kind: Kind, teams: usize, per_team: usize, family: f64, own: f64, seed: u64) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s: Vec<f64> = (0..ROWS).map(|_| normal(&mut rng)).collect();
    let truth = match kind {
        Kind::Values => Truth::Values(s.iter().map(|x| 8.0 * x + 13.75 * normal(&mut rng)).collect()),
        Kind::Probability => {
            Truth::Classes(s.iter().map(|x| usize::from(rng.gen_bool(sigmoid(1.2 * x - 1.0)))).collect())
        }
        Kind::Labels | Kind::ClassProbabilities => {
            Truth::Classes(s.iter().map(|x| class_of(x + 0.6 * normal(&mut rng))).collect())
        }
    };
    let families: Vec<Vec<f64>> = (0..3).map(|_| (0..ROWS).map(|_| normal(&mut rng)).collect()).collect();
    let mut submissions = Vec::new();
    for team in 0..teams {
        let base: Vec<f64> =
            (0..ROWS).map(|i| s[i] + family * families[team % 3][i] + own * normal(&mut rng)).collect();
        for k in 0..per_team {
            let estimate: Vec<f64> = base.iter().map(|b| b + 0.1 * own * normal(&mut rng)).collect();
            let id = SubmissionRef { team: team as i64, submission: (100 * team + k) as i64 };
            submissions.push((id, predict(kind, &estimate)));
        }
    }
    let labels = if kind == Kind::Values {
        0
    } else if kind == Kind::Probability {
        2
    } else {
        CLASSES
    };
    World { truth, labels, submissions }
}

/// Team `team`'s copy of the first submission, with 2 % of its rows (a seeded sample)
/// perturbed: a value moved by a normal of the predictions' spread, a probability or a class's
/// probabilities redrawn uniformly, a label moved to another class.
fn plant_copy(world: &mut World, team: i64, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut copy = world.submissions[0].1.clone();
    for row in sample_rows(ROWS, ROWS / 50, seed) {
        match &mut copy {
            Predictions::Values(v) => v[row] += 8.0 * normal(&mut rng),
            Predictions::Probability(p) => p[row] = rng.r#gen(),
            Predictions::Labels(c) => c[row] = (c[row] + rng.gen_range(1..CLASSES)) % CLASSES,
            Predictions::ClassProbabilities { classes, values } => {
                let cells = &mut values[row * *classes..(row + 1) * *classes];
                for p in cells.iter_mut() {
                    *p = rng.r#gen::<f64>();
                }
                let total: f64 = cells.iter().sum();
                for p in cells.iter_mut() {
                    *p /= total;
                }
            }
        }
    }
    world.submissions.push((SubmissionRef { team, submission: 100 * team }, copy));
}

#[test]
fn a_planted_copy_is_flagged_and_fifty_honest_teams_are_not() {
    let (teams, per_team) = (50, 3);
    let honest_pairs = teams * per_team * (teams - 1) * per_team / 2;
    let mut false_positives = 0;
    let mut report = Vec::new();
    for (w, kind) in [Kind::Values, Kind::Probability, Kind::Labels, Kind::ClassProbabilities].into_iter().enumerate() {
        for (f, (family, own)) in [(0.2, 0.2), (0.3, 0.3), (0.5, 0.5), (0.0, 0.3)].into_iter().enumerate() {
            let seed = 100 + 10 * w as u64 + f as u64;
            let mut world = honest(kind, teams, per_team, family, own, seed);
            plant_copy(&mut world, teams as i64, seed);
            let found = world.find(DuplicateSettings::default());
            let planted = |p: &holdout_score::duplicates::Pair| p.b.team == teams as i64 || p.a.team == teams as i64;
            let honest_flags = found.pairs.iter().filter(|p| !planted(p)).count();
            false_positives += honest_flags;
            // The copy pairs with the submission it copies first, and with nothing but team 0's.
            let top = found.pairs.first().unwrap_or_else(|| panic!("{kind:?} {family}/{own}: the copy is not flagged"));
            assert_eq!((top.a, top.b.team), (world.submissions[0].0, teams as i64), "{kind:?} {family}/{own}");
            assert!(found.pairs.iter().filter(|p| planted(p)).all(|p| p.a.team == 0), "{:?}", found.pairs);
            // The highest honest value, for the record (pairs ≥ 0.5 only).
            let low = world.find(DuplicateSettings { threshold: 0.5, ..DuplicateSettings::default() });
            let highest =
                low.pairs.iter().filter(|p| !planted(p)).filter_map(|p| p.deviations).fold(f64::NAN, f64::max);
            report.push(format!(
                "{kind:?} family {family} own {own}: copy ρ {:.3} (residual r {:.3}), highest honest ρ {}",
                top.deviations.unwrap(),
                top.residuals.unwrap(),
                if highest.is_nan() { "< 0.5".to_owned() } else { format!("{highest:.3}") },
            ));
        }
    }
    println!("{}", report.join("\n"));
    assert_eq!(
        false_positives,
        0,
        "{false_positives} flagged of {} honest cross-team pairs (50 teams × 3 submissions, 16 contests)",
        16 * honest_pairs
    );
    println!("false positives: 0 of {} honest cross-team pairs over 16 contests", 16 * honest_pairs);
}

#[test]
fn residuals_against_the_truth_cannot_tell_honest_teams_from_a_copy_on_noisy_tasks() {
    // Why the default is deviations from the consensus: on a noisy regression every good
    // model's residual is mostly the same noise, so strong honest teams' residuals all
    // correlate above 0.98, as a copy's do.
    let mut world = honest(Kind::Values, 20, 1, 0.1, 0.1, 7);
    plant_copy(&mut world, 20, 7);
    let residuals =
        world.find(DuplicateSettings { measure: Measure::Residuals, threshold: 0.98, ..DuplicateSettings::default() });
    let honest = residuals.pairs.iter().filter(|p| p.b.team != 20).count();
    assert_eq!(honest, 190, "honest pairs with residual r ≥ 0.98");
    let deviations = world.find(DuplicateSettings::default());
    assert_eq!(deviations.pairs.len(), 1, "{:?}", deviations.pairs);
}

/// Every cross-team pair's three correlations, computed here on their own (consensus, encoding).
fn every_pair(world: &World) -> Vec<(SubmissionRef, SubmissionRef, [Option<f64>; 3])> {
    let encode = |p: &Predictions| -> Vec<f64> {
        match p {
            Predictions::Values(v) => v.clone(),
            Predictions::Labels(c) => {
                c.iter().flat_map(|&c| (0..CLASSES).map(move |k| if k == c { 1.0 } else { 0.0 })).collect()
            }
            _ => unreachable!("values and labels only"),
        }
    };
    let truth = match &world.truth {
        Truth::Values(v) => v.clone(),
        Truth::Classes(y) => encode(&Predictions::Labels(y.clone())),
    };
    let encoded: Vec<Vec<f64>> = world.submissions.iter().map(|(_, p)| encode(p)).collect();
    // The mean over teams of each team's mean, teams in ascending order.
    let mut teams: Vec<i64> = world.submissions.iter().map(|(id, _)| id.team).collect();
    teams.sort_unstable();
    teams.dedup();
    let mut consensus = vec![0.0; truth.len()];
    for &team in &teams {
        let mine: Vec<&Vec<f64>> =
            (0..encoded.len()).filter(|&s| world.submissions[s].0.team == team).map(|s| &encoded[s]).collect();
        for (i, c) in consensus.iter_mut().enumerate() {
            *c += mine.iter().fold(0.0, |sum, e| sum + e[i]) / mine.len() as f64;
        }
    }
    for c in &mut consensus {
        *c /= teams.len() as f64;
    }
    let minus = |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x - y).collect() };
    let mut out = Vec::new();
    for i in 0..encoded.len() {
        for j in i + 1..encoded.len() {
            let (a, b) = (world.submissions[i].0, world.submissions[j].0);
            if a.team == b.team {
                continue;
            }
            let deviations = spearman(&minus(&encoded[i], &consensus), &minus(&encoded[j], &consensus)).value();
            let residuals = pearson(&minus(&encoded[i], &truth), &minus(&encoded[j], &truth));
            out.push((a, b, [deviations, residuals, pearson(&encoded[i], &encoded[j])]));
        }
    }
    out
}

#[test]
fn the_pruned_search_finds_exactly_the_pairs_every_comparison_finds() {
    for kind in [Kind::Values, Kind::Labels] {
        // Strongly related teams, so that many pairs sit near every threshold.
        let mut world = honest(kind, 14, 2, 0.9, 0.4, 3);
        plant_copy(&mut world, 14, 3);
        let all = every_pair(&world);
        for (m, measure) in [Measure::Deviations, Measure::Residuals, Measure::Predictions].into_iter().enumerate() {
            for threshold in [0.2, 0.45, 0.7, 0.9, 0.99] {
                let found = world.find(DuplicateSettings { measure, threshold, ..DuplicateSettings::default() });
                let want: Vec<_> = all.iter().filter(|(_, _, v)| v[m].is_some_and(|v| v >= threshold)).collect();
                let what = format!("{kind:?} {measure:?} {threshold}");
                assert_eq!(found.flagged, want.len(), "{what}");
                assert_eq!(found.pairs.len(), want.len(), "{what}");
                for (a, b, values) in want {
                    let got = found.pairs.iter().find(|p| (p.a, p.b) == (*a, *b)).expect(&what);
                    for (ours, theirs) in [got.deviations, got.residuals, got.predictions].iter().zip(values) {
                        assert!((ours.unwrap() - theirs.unwrap()).abs() < 1e-12, "{what}");
                    }
                }
                let values: Vec<f64> = found.pairs.iter().map(|p| p.value(measure).unwrap()).collect();
                assert!(values.windows(2).all(|w| w[0] >= w[1]), "strongest first: {what}");
                // Listing fewer keeps the strongest, in the same order.
                let five = world.find(DuplicateSettings { measure, threshold, max_pairs: 5 });
                assert_eq!((five.flagged, &five.pairs[..]), (found.flagged, &found.pairs[..found.flagged.min(5)]));
            }
        }
    }
}

#[test]
fn identical_files_correlate_fully_and_constant_ones_are_set_aside() {
    let mut world = honest(Kind::Probability, 6, 1, 0.3, 0.3, 11);
    let copy = world.submissions[2].1.clone();
    world.submissions.push((SubmissionRef { team: 9, submission: 900 }, copy));
    world.submissions.push((SubmissionRef { team: 10, submission: 1000 }, Predictions::Probability(vec![0.5; ROWS])));
    world.submissions.push((SubmissionRef { team: 11, submission: 1100 }, Predictions::Probability(vec![0.5; ROWS])));
    let found = world.find(DuplicateSettings::default());
    // The two constant files deviate from the consensus alike too: a lead for the judges.
    let pairs: Vec<(i64, i64)> = found.pairs.iter().map(|p| (p.a.team, p.b.team)).collect();
    assert_eq!(pairs, vec![(2, 9), (10, 11)], "{:?}", found.pairs);
    assert!((found.pairs[0].deviations.unwrap() - 1.0).abs() < 1e-12, "{:?}", found.pairs[0]);
    assert!((found.pairs[0].predictions.unwrap() - 1.0).abs() < 1e-12);
    assert_eq!(found.pairs[1].predictions, None, "a constant file has no correlation of predictions");
    let by_predictions = world.find(DuplicateSettings {
        measure: Measure::Predictions,
        threshold: 0.999,
        ..DuplicateSettings::default()
    });
    assert_eq!(by_predictions.constant.iter().map(|s| s.team).collect::<Vec<_>>(), vec![10, 11]);
    assert_eq!(by_predictions.pairs.len(), 1);
    // Same input, same output; candidates in another order, the same pairs.
    assert_eq!(world.find(DuplicateSettings::default()), found);
    world.submissions.reverse();
    let reversed = world.find(DuplicateSettings::default());
    let mut again: Vec<(i64, i64)> =
        reversed.pairs.iter().map(|p| (p.a.team.min(p.b.team), p.a.team.max(p.b.team))).collect();
    again.sort_unstable();
    assert_eq!(again, pairs);
}

#[test]
fn pearson_matches_numpy() {
    let oracle: Value = serde_json::from_str(ORACLE).unwrap();
    for case in oracle["pearson"].as_array().unwrap() {
        let numbers = |v: &Value| -> Vec<f64> { v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect() };
        let r = pearson(&numbers(&case["x"]), &numbers(&case["y"])).unwrap();
        let want = case["r"].as_f64().unwrap();
        assert!((r - want).abs() < 1e-12, "{}: {r} vs numpy {want}", case["name"]);
    }
    assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), None);
}

/// `cargo test --release -p holdout-score --test score near_duplicate_speed -- --ignored --nocapture`
#[test]
#[ignore = "a timing, not a test: run by hand"]
fn near_duplicate_speed() {
    let teams: usize = std::env::var("TEAMS").ok().and_then(|t| t.parse().ok()).unwrap_or(100);
    let world = honest(Kind::Values, teams, 20, 0.3, 0.3, 5);
    let start = std::time::Instant::now();
    let found = world.find(DuplicateSettings::default());
    println!(
        "{} submissions ({teams} teams × 20) × {ROWS} rows: {:.2} s, {} pairs flagged",
        world.submissions.len(),
        start.elapsed().as_secs_f64(),
        found.pairs.len()
    );
}
