//! The synthetic export: deterministic, realistic in its marginals and dependencies, with the
//! injected invalid samples and personal data where the generator says they are — and nowhere else.

#![allow(clippy::unwrap_used, clippy::format_collect, reason = "test helpers fail loudly; reports are small")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use holdout_schema::{Dataset, Source};
use holdout_synth::sink::{CsvSink, ParquetSink, Sink};
use holdout_synth::{Generator, InvalidKind, PiiKind, Row, Truth, mod11_2_check};

fn dataset() -> &'static Dataset {
    static DATASET: OnceLock<Dataset> = OnceLock::new();
    DATASET.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/netizen-survey-2024");
        let read = |p: PathBuf| Source::new(p.display().to_string(), std::fs::read_to_string(&p).unwrap());
        let mut hierarchies: Vec<(String, Source)> = std::fs::read_dir(dir.join("hierarchies"))
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (p.file_stem().unwrap().to_string_lossy().into_owned(), read(p))
            })
            .collect();
        hierarchies.sort_by(|a, b| a.0.cmp(&b.0));
        Dataset::from_sources(&read(dir.join("schema.toml")), &hierarchies).unwrap()
    })
}

fn csv_bytes(rows: u64, seed: u64) -> (Vec<u8>, Vec<Truth>) {
    let mut generator = Generator::new(dataset(), rows, seed).unwrap();
    let mut out = Vec::new();
    let mut truths = Vec::new();
    {
        let mut sink = CsvSink::new(&mut out, &generator.columns()).unwrap();
        let mut row = Row::default();
        while let Some(t) = generator.next_row(&mut row) {
            sink.write_row(&row).unwrap();
            truths.push(t);
        }
        sink.finish().unwrap();
    }
    (out, truths)
}

fn parquet_bytes(rows: u64, seed: u64) -> Vec<u8> {
    let mut generator = Generator::new(dataset(), rows, seed).unwrap();
    let mut out = Vec::new();
    let mut sink = ParquetSink::new(&mut out, &generator.columns()).unwrap();
    let mut row = Row::default();
    while generator.next_row(&mut row).is_some() {
        sink.write_row(&row).unwrap();
    }
    sink.finish().unwrap();
    drop(sink);
    out
}

/// A generated export parsed back, with the generator's truth per row.
struct Export {
    header: BTreeMap<String, usize>,
    rows: Vec<Vec<String>>,
    truth: Vec<Truth>,
}

impl Export {
    fn get<'a>(&self, row: &'a [String], column: &str) -> &'a str {
        &row[*self.header.get(column).unwrap_or_else(|| panic!("no column {column}"))]
    }

    fn int(&self, row: &[String], column: &str) -> Option<i64> {
        self.get(row, column).parse().ok()
    }

    fn valid(&self) -> impl Iterator<Item = &Vec<String>> {
        self.rows.iter().zip(&self.truth).filter(|(_, t)| t.invalid.is_none()).map(|(r, _)| r)
    }

    fn share(rows: &[&Vec<String>], pred: impl Fn(&[String]) -> bool) -> f64 {
        rows.iter().filter(|r| pred(r)).count() as f64 / rows.len() as f64
    }
}

fn parse(bytes: &[u8], truth: Vec<Truth>) -> Export {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().iter().enumerate().map(|(i, h)| (h.to_owned(), i)).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    Export { header, rows, truth }
}

/// One shared 60,000-row export (seed 11) for the statistical tests.
fn export() -> &'static Export {
    static EXPORT: OnceLock<Export> = OnceLock::new();
    EXPORT.get_or_init(|| {
        let (bytes, truth) = csv_bytes(60_000, 11);
        parse(&bytes, truth)
    })
}

fn assert_near(what: &str, actual: f64, expected: f64, tolerance: f64) {
    assert!((actual - expected).abs() <= tolerance, "{what}: {actual:.4}, expected {expected} ± {tolerance}");
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, _) = csv_bytes(5_000, 7);
    let (b, _) = csv_bytes(5_000, 7);
    let (c, _) = csv_bytes(5_000, 8);
    assert!(a == b, "same rows and seed must give byte-identical output");
    assert!(a != c);

    assert!(parquet_bytes(3_000, 7) == parquet_bytes(3_000, 7), "Parquet output is deterministic too");
}

#[test]
fn parquet_holds_the_same_rows_as_csv() {
    use polars::prelude::*;
    let rows = 2_000;
    let (csv, _) = csv_bytes(rows, 3);
    let csv = parse(&csv, Vec::new());
    let frame = ParquetReader::new(std::io::Cursor::new(parquet_bytes(rows, 3))).finish().unwrap();
    assert_eq!(frame.height(), rows as usize);
    assert_eq!(frame.width(), csv.header.len());
    let serial = frame.column("serial_number").unwrap().i64().unwrap().get(1999);
    assert_eq!(serial, Some(2000));
    let city = frame.column("q18_city").unwrap().str().unwrap().get(10).unwrap().to_owned();
    assert_eq!(city, csv.get(&csv.rows[10], "q18_city"));
    // Missing values are nulls in Parquet, empty strings in CSV.
    let openid = frame.column("wx_open_id").unwrap().str().unwrap();
    let empty_in_csv = csv.rows.iter().filter(|r| csv.get(r, "wx_open_id").is_empty()).count();
    assert_eq!(openid.null_count(), empty_in_csv);
}

#[test]
fn marginals_follow_the_sourced_figures() {
    let e = export();
    let valid: Vec<_> = e.valid().collect();
    let public: Vec<_> = valid.iter().copied().filter(|r| e.get(r, "version") == "public").collect();
    let practitioners: Vec<_> = valid.iter().copied().filter(|r| e.get(r, "version") == "practitioner").collect();

    assert_near("practitioner share", practitioners.len() as f64 / valid.len() as f64, 0.12, 0.01);
    let safe = |r: &[String]| e.int(r, "q09_1").unwrap() >= 7;
    let safe_public = Export::share(&public, safe);
    assert_near("safe share (public, Q9.1 ≥ 7)", safe_public, 0.60, 0.03);
    assert!(Export::share(&practitioners, safe) > safe_public + 0.015, "practitioners feel safer");
    assert_near("female share", Export::share(&public, |r| e.get(r, "q13_gender") == "1779700704959"), 0.56, 0.02);
    assert_near("minors", Export::share(&public, |r| e.int(r, "q14_age").is_some_and(|a| a < 18)), 0.198, 0.02);
    assert_near("students", Export::share(&public, |r| e.get(r, "q16_occupation") == "5"), 0.28, 0.025);
    assert_near("rural", Export::share(&public, |r| e.get(r, "q19_urban_rural") == "1779701037188"), 0.26, 0.02);
    assert_near("WeChat", Export::share(&valid, |r| e.get(r, "submit_browser") == "WeChat"), 0.85, 0.02);

    let geography = &dataset().hierarchies["geography"];
    let region = |r: &[String]| geography.generalize(e.get(r, "q18_city"), 2).unwrap().to_owned();
    for (name, target) in [("东部", 0.559), ("中部", 0.213), ("西部", 0.112), ("东北", 0.115)] {
        assert_near(name, Export::share(&public, |r| region(r) == name), target, 0.015);
    }
    // Provinces agree with cities.
    assert!(valid.iter().all(|r| geography.generalize(e.get(r, "q18_city"), 1) == Some(e.get(r, "q18_province"))));
}

#[test]
fn dependencies_between_fields_hold() {
    let e = export();
    let valid: Vec<_> = e.valid().collect();
    let mean = |rows: &[&Vec<String>], column: &str| {
        rows.iter().map(|r| e.int(r, column).unwrap() as f64).sum::<f64>() / rows.len() as f64
    };
    let victims: Vec<_> =
        valid.iter().copied().filter(|r| (1..=3).any(|i| e.get(r, &format!("q06_exp_{i}")) == "1")).collect();
    let others: Vec<_> =
        valid.iter().copied().filter(|r| (1..=3).all(|i| e.get(r, &format!("q06_exp_{i}")) == "0")).collect();
    assert!(mean(&others, "q09_1") - mean(&victims, "q09_1") > 0.5, "victimisation lowers the sense of security");
    assert!(mean(&others, "q12_1") > mean(&victims, "q12_1"));

    let minors: Vec<_> = valid.iter().copied().filter(|r| e.int(r, "q14_age").is_some_and(|a| a < 18)).collect();
    let adults: Vec<_> = valid.iter().copied().filter(|r| e.int(r, "q14_age").is_some_and(|a| a >= 18)).collect();
    assert!(mean(&minors, "q09_1") > mean(&adults, "q09_1") + 0.4, "minors are more satisfied");

    // Regional gradient: the east feels safer than the west and the northeast.
    let geography = &dataset().hierarchies["geography"];
    let in_region = |names: &[&str]| -> Vec<&Vec<String>> {
        valid
            .iter()
            .copied()
            .filter(|r| names.contains(&geography.generalize(e.get(r, "q18_city"), 2).unwrap()))
            .collect()
    };
    assert!(mean(&in_region(&["东部"]), "q09_1") > mean(&in_region(&["西部", "东北"]), "q09_1") + 0.1);

    // Heaping at 10, 8 and 5.
    let mut counts = [0usize; 11];
    for r in &valid {
        counts[e.int(r, "q09_1").unwrap() as usize] += 1;
    }
    assert!(counts[10] > counts[9] && counts[8] > counts[7] && counts[5] > counts[4] && counts[5] > counts[6]);

    // Age bounds education (no 本科 under 19, 硕士 under 22, 博士 under 25) and years online.
    let levels: Vec<String> = dataset()
        .survey
        .column("q15_education")
        .unwrap()
        .kind
        .levels()
        .unwrap()
        .iter()
        .map(|l| l.code.to_string())
        .collect();
    for r in &valid {
        let Some(age) = e.int(r, "q14_age") else { continue };
        let years = e.int(r, "q01_net_years").unwrap();
        assert!(years <= (age - 3).max(1), "years online {years} at age {age}");
        let education = levels.iter().position(|l| l == e.get(r, "q15_education")).unwrap();
        let minimum_age = [0, 0, 0, 0, 19, 22, 25][education];
        assert!(age >= minimum_age, "education level {education} at age {age}");
    }
    // Students are young, retirees old.
    let ages = |occupation: &str| -> Vec<i64> {
        valid.iter().filter(|r| e.get(r, "q16_occupation") == occupation).filter_map(|r| e.int(r, "q14_age")).collect()
    };
    let students = ages("5");
    assert!(students.iter().filter(|a| **a <= 24).count() * 10 >= students.len() * 9);
    assert!(ages("4").iter().all(|a| *a >= 50));
}

/// Survey.md §8 rule R4: demographic combinations that cannot be true.
fn contradictory(e: &Export, r: &[String]) -> bool {
    let age = e.int(r, "q14_age");
    let under_10 = e.get(r, "q14_age_group") == "8f0b";
    let education = e.get(r, "q15_education");
    let occupation = e.get(r, "q16_occupation");
    let postgraduate = education == "1779700704963" || education == "1779700704964";
    let years = e.int(r, "q01_net_years").unwrap();
    let effective_age = age.unwrap_or(if under_10 { 9 } else { 71 });
    (age.is_some_and(|a| a < 18) && postgraduate)
        || years > (effective_age - 3).max(1)
        || (occupation == "4" && age.is_some_and(|a| a < 40))
        || (occupation == "5" && age.is_some_and(|a| a > 45) && e.get(r, "q20_income") == "6")
        || (under_10 && occupation != "5")
}

#[test]
fn invalid_samples_are_injected_in_the_declared_shares() {
    let e = export();
    let n = e.rows.len() as f64;
    let share = |kind: InvalidKind| e.truth.iter().filter(|t| t.invalid == Some(kind)).count() as f64 / n;
    assert_near("invalid in total", e.truth.iter().filter(|t| t.invalid.is_some()).count() as f64 / n, 0.07, 0.008);
    assert_near("duplicates", share(InvalidKind::Duplicate), 0.018, 0.003);
    assert_near("speeders", share(InvalidKind::Speeder), 0.018, 0.003);
    assert_near("straight-liners", share(InvalidKind::Straightliner), 0.014, 0.003);
    assert_near("contradictions", share(InvalidKind::Contradiction), 0.005, 0.0015);
    assert_near("bot bursts", share(InvalidKind::BotBurst), 0.015, 0.001);
}

#[test]
fn each_invalid_pattern_appears_only_where_injected() {
    let e = export();
    let by_serial: BTreeMap<&str, &Vec<String>> = e.rows.iter().map(|r| (e.get(r, "serial_number"), r)).collect();
    for (r, t) in e.rows.iter().zip(&e.truth) {
        let matrix: Vec<i64> = e
            .header
            .keys()
            .filter(|c| c.starts_with("q08_") || c.starts_with("q09_") || c.starts_with("q12_"))
            .map(|c| e.int(r, c).unwrap())
            .collect();
        assert_eq!(matrix.len(), 16);
        let straight = matrix.iter().all(|v| *v == matrix[0]);
        let seconds = e.int(r, "complete_time_ms").unwrap() as f64 / 1000.0;
        match t.invalid {
            None => {
                assert!(!contradictory(e, r), "valid row {} is contradictory", t.serial);
                assert!(!straight, "valid row {} is straight-lined", t.serial);
                assert!(seconds >= 60.0, "valid row {} took {seconds} s", t.serial);
            }
            Some(InvalidKind::Contradiction) => assert!(contradictory(e, r), "row {} should contradict", t.serial),
            Some(InvalidKind::Straightliner) => assert!(straight),
            Some(InvalidKind::Speeder) => assert!(seconds < 60.0),
            Some(InvalidKind::Duplicate) => {
                let of = t.duplicate_of.expect("duplicates know their original").to_string();
                let original = by_serial[of.as_str()];
                assert!(of.parse::<u64>().unwrap() < t.serial, "the original comes first");
                let same = |c: &str| e.get(r, c) == e.get(original, c);
                assert!(same("q13_gender") && same("q14_age") && same("q18_city") && same("submit_ua"));
                assert!(same("wx_open_id") && (!e.get(r, "wx_open_id").is_empty() || same("submit_ua")));
            }
            Some(InvalidKind::BotBurst) => {
                assert_eq!(e.get(r, "wx_open_id"), "");
                assert_eq!(e.get(r, "submit_browser"), "Chrome");
            }
        }
    }
}

#[test]
fn bot_bursts_come_from_one_source_within_minutes() {
    let e = export();
    let mut by_source: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (r, t) in e.rows.iter().zip(&e.truth) {
        if t.invalid == Some(InvalidKind::BotBurst) {
            by_source.entry(e.get(r, "source_id")).or_default().push(e.get(r, "create_time"));
        }
    }
    assert!(!by_source.is_empty());
    for (source, times) in &by_source {
        assert!(times.len() >= 10, "burst from {source} has {} rows", times.len());
        let first = chrono::NaiveDateTime::parse_from_str(times[0], "%Y-%m-%d %H:%M:%S").unwrap();
        let last = chrono::NaiveDateTime::parse_from_str(times[times.len() - 1], "%Y-%m-%d %H:%M:%S").unwrap();
        assert!(
            (last - first).num_minutes() <= 30,
            "burst from {source} spans {} minutes",
            (last - first).num_minutes()
        );
    }
}

#[test]
fn structure_of_every_row_is_what_the_platform_allows() {
    let e = export();
    let survey = &dataset().survey;
    let mut previous_time = String::new();
    for (i, r) in e.rows.iter().enumerate() {
        assert_eq!(e.int(r, "serial_number"), Some(i as i64 + 1));
        let time = e.get(r, "create_time");
        assert!(time >= previous_time.as_str(), "submission times never go back");
        assert!(("2024-07-17 00:00:00".."2024-07-27 00:00:00").contains(&time));
        previous_time = time.to_owned();
        assert_eq!(e.get(r, "source_id").len(), 6);
        let practitioner = e.get(r, "version") == "practitioner";
        for item in ["Q5", "Q6", "Q7", "Q17", "P6", "P7"] {
            let options: Vec<_> = survey.item_options(item).collect();
            if item.starts_with('P') && !practitioner {
                assert!(options.iter().all(|c| e.get(r, &c.name).is_empty()), "public rows leave {item} empty");
                continue;
            }
            let ticked: Vec<_> = options.iter().filter(|c| e.get(r, &c.name) == "1").collect();
            assert!(!ticked.is_empty(), "row {} answers {item}", i + 1);
            let exclusive = ticked
                .iter()
                .any(|c| matches!(c.kind, holdout_schema::ColumnKind::MultiSelect { exclusive: true, .. }));
            assert!(!exclusive || ticked.len() == 1, "row {}: {item}'s exclusive option stands alone", i + 1);
        }
        assert_eq!(practitioner, !e.get(r, "p01_org_type").is_empty());
    }
}

fn normalize_digits(text: &str) -> String {
    text.chars()
        .filter(|c| *c != ' ' && *c != '-')
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - 0xFF10 + '0' as u32).unwrap(),
            _ => c,
        })
        .collect()
}

/// Runs of digits (with a trailing X for resident ids) in a normalized text.
fn digit_runs(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || (c == 'X' && current.len() == 17) {
            current.push(c);
        } else if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

#[test]
fn personal_data_appears_in_the_expected_share_of_comments_and_is_realistic() {
    let e = export();
    let mut comments = 0;
    let mut with_pii = 0;
    let mut ids = 0;
    for (r, t) in e.rows.iter().zip(&e.truth) {
        let comment = e.get(r, "comment");
        if comment.is_empty() {
            assert_eq!(t.pii, 0);
            continue;
        }
        comments += 1;
        let runs = digit_runs(&normalize_digits(comment));
        if t.pii == 0 {
            assert!(runs.iter().all(|d| d.len() < 5), "PII-free comment has a long number: {comment}");
            continue;
        }
        with_pii += 1;
        if t.pii & PiiKind::ResidentId as u32 != 0 {
            let id = runs.iter().find(|d| d.len() == 18).unwrap_or_else(|| panic!("no resident id in {comment}"));
            assert_eq!(id.chars().last(), Some(mod11_2_check(&id[..17])), "check digit of {id}");
            ids += 1;
        }
        if t.pii & PiiKind::Mobile as u32 != 0 {
            assert!(runs.iter().any(|d| d.len() == 11 && d.starts_with('1')), "no mobile number in {comment}");
        }
        if t.pii & PiiKind::BankCard as u32 != 0 {
            assert!(
                runs.iter().any(|d| (d.len() == 16 || d.len() == 19) && d.starts_with("62")),
                "no card in {comment}"
            );
        }
    }
    let comment_share = f64::from(comments) / e.rows.len() as f64;
    assert_near("comments per response", comment_share, 0.056, 0.01);
    assert_near("comments with personal data", f64::from(with_pii) / f64::from(comments), 0.05, 0.015);
    assert!(ids > 0);
}

#[test]
fn a_schema_the_generator_cannot_fill_is_rejected_up_front() {
    let mut d = dataset().clone();
    d.survey.columns[20].name = "q05_app_unknown".into();
    let d2 = {
        let mut c = d.survey.columns.clone();
        c.push(holdout_schema::Column { name: "q99_extra".into(), ..c[0].clone() });
        c
    };
    d.survey.columns = d2;
    let err = Generator::new(&d, 10, 1).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("q99_extra") && err.contains("does not know how to fill"), "{err}");
}

/// Targets of a contest, derived from the raw columns as its definition says.
fn target(
    e: &Export,
    r: &[String],
    derivation: &holdout_schema::TargetDerivation,
    survey: &holdout_schema::Survey,
) -> f64 {
    use holdout_schema::{ColumnKind, TargetDerivation};
    match derivation {
        TargetDerivation::Bands { column, bands } => {
            let v = e.int(r, column).unwrap();
            (bands.iter().position(|(lo, hi)| (*lo..=*hi).contains(&v)).unwrap() + 1) as f64
        }
        TargetDerivation::Option { column } => e.int(r, column).unwrap() as f64,
        TargetDerivation::Index { blocks } => {
            let mut sum = 0.0;
            let mut weights = 0.0;
            for b in blocks {
                let scores: Vec<f64> = b
                    .columns
                    .iter()
                    .map(|c| {
                        let v = e.int(r, c).unwrap() as f64;
                        let ColumnKind::Rating { max, reverse, .. } = survey.column(c).unwrap().kind else { panic!() };
                        if reverse { (max as f64 + 1.0 - v) / max as f64 * 100.0 } else { v / max as f64 * 100.0 }
                    })
                    .collect();
                sum += b.weight * scores.iter().sum::<f64>() / scores.len() as f64;
                weights += b.weight;
            }
            sum / weights
        }
    }
}

/// Standardized design matrix: one-hot for categorical and ordinal columns, numbers for
/// ratings, counts and ticks, an indicator for missing values; free-text columns skipped.
fn design(
    e: &Export,
    rows: &[&Vec<String>],
    features: &[String],
    survey: &holdout_schema::Survey,
) -> ndarray::Array2<f64> {
    use holdout_schema::ColumnKind;
    let mut columns: Vec<Vec<f64>> = Vec::new();
    for f in features {
        let column = survey.column(f).unwrap();
        match &column.kind {
            ColumnKind::Categorical { levels } | ColumnKind::Ordinal { levels } => {
                for level in levels {
                    let code = level.code.to_string();
                    columns.push(rows.iter().map(|r| f64::from(e.get(r, f) == code)).collect());
                }
            }
            ColumnKind::Rating { .. } | ColumnKind::Integer { .. } | ColumnKind::MultiSelect { .. } => {
                columns.push(rows.iter().map(|r| e.int(r, f).unwrap_or(0) as f64).collect());
            }
            _ => continue,
        }
        if column.missing.is_some() {
            columns.push(rows.iter().map(|r| f64::from(e.get(r, f).is_empty())).collect());
        }
    }
    for c in &mut columns {
        let mean = c.iter().sum::<f64>() / c.len() as f64;
        let sd = (c.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / c.len() as f64).sqrt();
        for v in c.iter_mut() {
            *v = if sd > 0.0 { (*v - mean) / sd } else { 0.0 };
        }
    }
    ndarray::Array2::from_shape_fn((rows.len(), columns.len()), |(i, j)| columns[j][i])
}

fn quadratic_kappa(truth: &[usize], predicted: &[usize], classes: usize) -> f64 {
    let n = truth.len() as f64;
    let mut observed = vec![vec![0.0; classes]; classes];
    let mut rows = vec![0.0; classes];
    let mut cols = vec![0.0; classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        observed[t][p] += 1.0;
        rows[t] += 1.0;
        cols[p] += 1.0;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..classes {
        for j in 0..classes {
            let w = ((i as f64 - j as f64) / (classes as f64 - 1.0)).powi(2);
            num += w * observed[i][j];
            den += w * rows[i] * cols[j] / n;
        }
    }
    1.0 - num / den
}

fn contest(name: &str) -> holdout_schema::Competition {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../datasets/{name}/competition.toml"));
    let source = Source::new(name, std::fs::read_to_string(path).unwrap());
    holdout_schema::Competition::parse(&source, dataset()).unwrap()
}

#[test]
fn contest_targets_are_learnable_but_no_single_column_gives_them_away() {
    use linfa::prelude::{Fit, Predict};
    let e = export();
    let survey = &dataset().survey;
    let valid: Vec<&Vec<String>> = e.valid().collect();
    let (train, test) = (&valid[..20_000], &valid[20_000..30_000]);

    // security-sense: multinomial logistic regression against the majority class.
    let c = contest("security-sense");
    let y = |rows: &[&Vec<String>]| -> Vec<usize> {
        rows.iter().map(|r| target(e, r, &c.target.derivation, survey) as usize - 1).collect()
    };
    let (y_train, y_test) = (y(train), y(test));
    let data = linfa::Dataset::new(design(e, train, &c.features, survey), ndarray::Array1::from(y_train.clone()));
    let model = linfa_logistic::MultiLogisticRegression::default().max_iterations(150).fit(&data).unwrap();
    let predicted: Vec<usize> = model.predict(&design(e, test, &c.features, survey)).to_vec();
    let kappa = quadratic_kappa(&y_test, &predicted, 5);
    let majority = (0..5).max_by_key(|k| y_train.iter().filter(|v| *v == k).count()).unwrap();
    let majority_kappa = quadratic_kappa(&y_test, &vec![majority; y_test.len()], 5);
    assert!(kappa > 0.55 && majority_kappa.abs() < 1e-9, "QWK: logistic {kappa:.3}, majority {majority_kappa:.3}");

    // fraud-exposure: binary logistic regression accuracy against the majority class.
    let c = contest("fraud-exposure");
    let y = |rows: &[&Vec<String>]| -> Vec<usize> {
        rows.iter().map(|r| target(e, r, &c.target.derivation, survey) as usize).collect()
    };
    let (y_train, y_test) = (y(train), y(test));
    let data = linfa::Dataset::new(design(e, train, &c.features, survey), ndarray::Array1::from(y_train));
    let model = linfa_logistic::LogisticRegression::default().max_iterations(150).fit(&data).unwrap();
    let predicted = model.predict(&design(e, test, &c.features, survey));
    let accuracy = predicted.iter().zip(&y_test).filter(|(p, t)| p == t).count() as f64 / y_test.len() as f64;
    let positive = y_test.iter().filter(|v| **v == 1).count() as f64 / y_test.len() as f64;
    let majority_accuracy = positive.max(1.0 - positive);
    assert!(accuracy > majority_accuracy + 0.04, "accuracy: logistic {accuracy:.3}, majority {majority_accuracy:.3}");

    // No feature value pins any contest's target: among rows sharing a value (≥ 1 % of rows),
    // the commonest target class stays below 95 %, and the index is never explained by one column.
    for name in ["security-sense", "fraud-exposure", "satisfaction-index"] {
        let c = contest(name);
        let targets: Vec<f64> = valid.iter().map(|r| target(e, r, &c.target.derivation, survey)).collect();
        for f in &c.features {
            let mut groups: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for (r, t) in valid.iter().zip(&targets) {
                groups.entry(e.get(r, f)).or_default().push(*t);
            }
            if matches!(c.task, holdout_schema::Task::Regression) {
                let mean = targets.iter().sum::<f64>() / targets.len() as f64;
                let total: f64 = targets.iter().map(|t| (t - mean).powi(2)).sum();
                let within: f64 = groups
                    .values()
                    .map(|g| {
                        let m = g.iter().sum::<f64>() / g.len() as f64;
                        g.iter().map(|t| (t - m).powi(2)).sum::<f64>()
                    })
                    .sum();
                assert!(
                    1.0 - within / total < 0.3,
                    "{name}: `{f}` alone explains {:.2} of the variance",
                    1.0 - within / total
                );
                continue;
            }
            for (value, g) in &groups {
                if g.len() * 100 < valid.len() {
                    continue;
                }
                let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
                for t in g {
                    *counts.entry(*t as i64).or_default() += 1;
                }
                let top = *counts.values().max().unwrap() as f64 / g.len() as f64;
                assert!(top < 0.95, "{name}: `{f}` = {value:?} gives the target away ({top:.3})");
            }
        }
    }
}
