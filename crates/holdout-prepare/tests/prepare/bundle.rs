//! Properties of a prepared release: the split partitions the published rows and never
//! separates a respondent; k-anonymity (and l-diversity) hold on train, on test and on their
//! union; ids never repeat; the same inputs give the same bytes.

use std::collections::{HashMap, HashSet};

use holdout_prepare::bundle::{Bundle, PrepareError, PublishedValues, Table, prepare};
use holdout_prepare::detect::residual_pii;
use holdout_prepare::keys::Secret;
use holdout_prepare::raw::{MISSING, RawTable, Values};
use holdout_prepare::scrub::Scrubber;
use holdout_prepare::split::{Part, split};
use proptest::prelude::*;

use crate::support::{competition, dataset, secret, table};

/// Per equivalence class: its rows and the distinct targets among them.
type Classes = HashMap<Vec<String>, (u64, HashSet<u64>)>;

/// Rows per equivalence class of every published background column (what an acquaintance can
/// know, by the schema — not only the contest's declared quasi-identifiers), in train, test and
/// both, counted on the published text literally: `*` is a value like any other, as a `groupby`
/// on the files would count it.
fn class_sizes(bundle: &Bundle<'_>) -> [Classes; 3] {
    let survey = &bundle.dataset.survey;
    let columns: Vec<_> =
        bundle.columns.iter().filter(|c| survey.column(&c.name).is_some_and(|s| s.background)).collect();
    assert!(columns.len() >= 10, "the background columns are published as quasi-identifiers");
    let mut out: [Classes; 3] = Default::default();
    for (table, index) in [(Table::Train, 0), (Table::Test, 1)] {
        let rows: Vec<usize> =
            (0..bundle.ids.len()).filter(|&i| bundle.part[i].is_test() == (table == Table::Test)).collect();
        for i in rows {
            let key: Vec<String> = columns.iter().map(|c| c.text(i).to_owned()).collect();
            for slot in [index, 2] {
                let e = out[slot].entry(key.clone()).or_default();
                e.0 += 1;
                e.1.insert(bundle.target[i].to_bits());
            }
        }
    }
    out
}

fn check_release(bundle: &Bundle<'_>, raw: &RawTable) {
    let k = u64::from(bundle.contest.privacy.k);
    // Local suppression blanks quasi-identifier cells only: every other coded cell is published
    // as the raw value.
    let qis: Vec<&str> = bundle.contest.privacy.quasi_identifiers.iter().map(|q| q.column.as_str()).collect();
    for column in bundle.columns.iter().filter(|c| !qis.contains(&c.name.as_str())) {
        let Some(Values::Coded { codes, dictionary }) = raw.column(&column.name).map(|c| &c.values) else { continue };
        for (i, &r) in bundle.raw_rows.iter().enumerate() {
            let expected = if codes[r] == MISSING { "" } else { dictionary[usize::from(codes[r])].as_str() };
            assert_eq!(column.text(i), expected, "{} row {i} changed", column.name);
        }
    }
    // The declared attacker finds no one more often than one in k.
    let attack = bundle.risk.linkage_attack.as_ref().expect("the release reports its linkage attack");
    assert!(attack.sampled > 0);
    assert!(
        attack.expected_match_rate <= 1.0 / k as f64 + 1e-12,
        "expected match rate {} > 1/k",
        attack.expected_match_rate
    );
    assert_eq!(attack.reidentified, 0);
    let [train, test, union] = class_sizes(bundle);
    for (name, classes) in [("train", &train), ("test", &test), ("union", &union)] {
        let smallest = classes.values().map(|c| c.0).min().unwrap_or(k);
        assert!(smallest >= k, "{name}: a class of {smallest} < k = {k}");
    }
    if let Some(l) = bundle.contest.privacy.l_diversity {
        let poorest = train.values().map(|c| c.1.len()).min().unwrap_or(l as usize);
        assert!(poorest >= l as usize, "train: a class with {poorest} distinct targets < l = {l}");
    }
    let ids: HashSet<&String> = bundle.ids.iter().collect();
    assert_eq!(ids.len(), bundle.ids.len(), "a published id repeats");
    assert_eq!(bundle.counts.train + bundle.counts.test, bundle.ids.len() as u64, "train and test partition the rows");
    assert_eq!(bundle.counts.public + bundle.counts.private, bundle.counts.test);
    for column in &bundle.columns {
        if let PublishedValues::Coded { codes, labels } = &column.values {
            assert!(codes.iter().all(|&c| usize::from(c) < labels.len()));
        }
    }
}

fn csv_bytes(bundle: &Bundle<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    bundle.write_csv(Table::Train, &mut out).unwrap();
    bundle.write_csv(Table::Test, &mut out).unwrap();
    bundle.write_solution(&mut out).unwrap();
    out
}

#[test]
fn the_same_inputs_give_the_same_release_and_another_secret_another() {
    let (raw, _) = table(8000, 3);
    let contest = competition("security-sense");
    let a = prepare(dataset(), &contest, raw, &secret()).unwrap();
    let b = prepare(dataset(), &contest, raw, &secret()).unwrap();
    assert_eq!(csv_bytes(&a), csv_bytes(&b));
    let other = Secret::new(b"another secret, also at least thirty-two bytes long").unwrap();
    let c = prepare(dataset(), &contest, raw, &other).unwrap();
    assert_ne!(a.ids, c.ids, "ids come from the secret");
    assert!(a.dataset_card().contains("sample_submission.csv"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn every_release_is_k_anonymous_on_train_test_and_union(
        rows in 3000u64..9000,
        seed in 0u64..1000,
        contest in prop::sample::select(vec!["security-sense", "fraud-exposure", "satisfaction-index"]),
    ) {
        let (raw, _) = table(rows, seed);
        let contest = competition(contest);
        match prepare(dataset(), &contest, raw, &secret()) {
            Ok(bundle) => check_release(&bundle, raw),
            // Small random exports may fail a leakage check by chance; never a privacy one.
            Err(PrepareError::Blocked(failures)) => {
                prop_assert!(failures.iter().all(|f| !f.contains("risk") && !f.contains("below k")), "{failures:?}");
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn the_split_partitions_rows_and_keeps_respondents_whole(
        groups in prop::collection::vec(0usize..400, 1..2000),
        classes in prop::collection::vec(0u8..5, 2000),
        seed in any::<u64>(),
    ) {
        let mut contest = competition("security-sense");
        contest.split.seed = seed;
        contest.split.b_share = Some(0.5);
        let class = &classes[..groups.len()];
        let parts = split(&contest, &secret(), &groups, class);
        prop_assert_eq!(parts.len(), groups.len());
        let mut side: HashMap<usize, Part> = HashMap::new();
        for (g, p) in groups.iter().zip(&parts) {
            prop_assert_eq!(*side.entry(*g).or_insert(*p), *p, "group {} is split", g);
        }
        let distinct = side.len() as f64;
        let test = side.values().filter(|p| p.is_test()).count() as f64;
        // Stratified rounding: at most half a group per stratum off the share.
        prop_assert!((test - distinct * contest.split.test_share).abs() <= 5.0 * 0.5 + 1.0, "{test} of {distinct}");
    }
}

#[test]
fn the_linkage_gate_blocks_a_release_an_acquaintance_can_link() {
    // k = 2 on 3,000 rows leaves classes of a few people: an acquaintance who knows a
    // respondent's background picks the right row in about 2.5 % of tries, above the 1 % this
    // contest allows.
    let (raw, _) = table(3000, 11);
    let mut contest = competition("security-sense");
    contest.privacy.k = 2;
    contest.privacy.l_diversity = None;
    contest.privacy.max_record_risk = 1.0;
    contest.privacy.max_average_risk = 1.0;
    contest.privacy.max_linkage_rate = 0.01;
    let failures = match prepare(dataset(), &contest, raw, &secret()) {
        Err(PrepareError::Blocked(failures)) => failures,
        Ok(b) => panic!("the release must be blocked: {:?} {:?}", b.risk.linkage_attack, b.risk.generalization.levels),
        Err(e) => panic!("{e}"),
    };
    assert!(failures.iter().any(|f| f.starts_with("linkage attack:")), "{failures:?}");
    // The same data at the contest's own k passes the gate.
    let contest = competition("security-sense");
    let bundle = prepare(dataset(), &contest, raw, &secret()).unwrap();
    let attack = bundle.risk.linkage_attack.as_ref().unwrap();
    assert!(attack.expected_match_rate <= 0.1, "{attack:?}");
}

#[test]
fn the_second_detector_finds_nothing_in_any_published_free_text() {
    let (raw, _) = table(8000, 5);
    let scrubber = Scrubber::new();
    for name in ["security-sense", "fraud-exposure", "satisfaction-index"] {
        let contest = competition(name);
        let bundle = prepare(dataset(), &contest, raw, &secret()).unwrap();
        let texts: Vec<&str> = bundle
            .columns
            .iter()
            .filter(|c| matches!(c.values, PublishedValues::Text(_)))
            .flat_map(|c| (0..bundle.ids.len()).map(move |i| c.text(i)))
            .collect();
        if name == "satisfaction-index" {
            assert!(bundle.risk.free_text.texts_with_pii > 0, "the generated comments carry personal data");
            assert!(!texts.is_empty());
        }
        for text in texts {
            assert!(residual_pii(&scrubber, text).is_empty(), "{name}: {text}");
        }
        assert!(bundle.risk.free_text.residual.is_empty(), "{name}");
    }
}
