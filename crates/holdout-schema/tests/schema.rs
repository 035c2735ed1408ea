//! Schema, hierarchy and contest-definition loading: the shipped datasets load, and every kind
//! of mistake gets a message naming file, line and column (snapshotted).

#![allow(clippy::unwrap_used, clippy::format_collect, reason = "test helpers fail loudly; reports are small")]

use std::path::PathBuf;

use holdout_schema::{Competition, Dataset, Metric, Source, TargetDerivation, Task};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> Source {
    let path = repo().join(rel);
    Source::new(rel, std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn shipped_dataset() -> Dataset {
    let dir = "datasets/netizen-survey-2024";
    let mut hierarchies = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(repo().join(dir).join("hierarchies"))
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        hierarchies.push((name.clone(), read(&format!("{dir}/hierarchies/{name}.csv"))));
    }
    Dataset::from_sources(&read(&format!("{dir}/schema.toml")), &hierarchies).expect("shipped dataset is valid")
}

/// A small valid schema that the error cases below modify.
const BASE: &str = r#"name = "mini"
zh = "迷你"
en = "Mini"
year = 2024
timezone = "Asia/Shanghai"
collection_start = "2024-07-17 00:00:00"
collection_end = "2024-07-27 00:00:00"
versions = ["public", "practitioner"]

[[column]]
name = "serial_number"
zh = "序号"
en = "Serial number"
kind = "identifier"
role = "direct_identifier"
versions = ["public", "practitioner"]

[[column]]
name = "q13_gender"
zh = "性别"
en = "Gender"
kind = "categorical"
role = "quasi_identifier"
versions = ["public", "practitioner"]
levels = [
  { code = 1, zh = "男", en = "Male" },
  { code = 2, zh = "女", en = "Female" },
]

[[column]]
name = "q09_1"
zh = "总体安全感"
en = "Overall security"
kind = "rating"
role = "answer"
versions = ["public", "practitioner"]
min = 1
max = 10
bands = [
  { min = 1, max = 5, zh = "低", en = "Low" },
  { min = 6, max = 10, zh = "高", en = "High" },
]

[[column]]
name = "q06_exp_1"
zh = "诈骗"
en = "Fraud"
item = "Q6"
kind = "multi_select"
role = "answer"
versions = ["public", "practitioner"]
option = 1

[[column]]
name = "q06_exp_8"
zh = "以上均不符合"
en = "None"
item = "Q6"
kind = "multi_select"
role = "answer"
versions = ["public", "practitioner"]
option = 8
exclusive = true
"#;

/// Parses a schema text as `schema.toml` with the given hierarchies and renders the outcome.
fn check(text: &str, hierarchies: &[(&str, &str)]) -> String {
    let hierarchies: Vec<(String, Source)> = hierarchies
        .iter()
        .map(|(name, text)| ((*name).to_owned(), Source::new(format!("hierarchies/{name}.csv"), *text)))
        .collect();
    match Dataset::from_sources(&Source::new("schema.toml", text), &hierarchies) {
        Ok(d) => format!("ok: {} columns", d.survey.columns.len()),
        Err(e) => e.to_string(),
    }
}

fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "fixture does not contain {from:?}");
    BASE.replacen(from, to, 1)
}

#[test]
fn base_fixture_is_valid() {
    assert_eq!(check(BASE, &[]), "ok: 5 columns");
}

#[test]
fn schema_errors_name_file_line_and_column() {
    let cases = [
        ("unknown_kind", edit(r#"kind = "rating""#, r#"kind = "stars""#)),
        ("bad_role", edit(r#"role = "quasi_identifier""#, r#"role = "demographic""#)),
        ("duplicate_column", edit(r#"name = "q09_1""#, r#"name = "q13_gender""#)),
        (
            "empty_levels",
            edit(
                "levels = [\n  { code = 1, zh = \"男\", en = \"Male\" },\n  { code = 2, zh = \"女\", en = \"Female\" },\n]",
                "levels = []",
            ),
        ),
        ("duplicate_level_code", edit("{ code = 2, zh", "{ code = 1, zh")),
        ("key_of_other_kind", edit("option = 1\n", "option = 1\nlevels = []\n")),
        ("band_gap", edit("{ min = 6, max = 10", "{ min = 7, max = 10")),
        ("rating_without_max", edit("max = 10\n", "")),
        (
            "multi_select_without_item",
            edit(
                "item = \"Q6\"\nkind = \"multi_select\"\nrole = \"answer\"\nversions = [\"public\", \"practitioner\"]\noption = 1",
                "kind = \"multi_select\"\nrole = \"answer\"\nversions = [\"public\", \"practitioner\"]\noption = 1",
            ),
        ),
        ("two_exclusive_options", edit("option = 1\n", "option = 1\nexclusive = true\n")),
        (
            "unknown_version",
            edit(
                r#"versions = ["public", "practitioner"]

[[column]]
name = "serial_number""#,
                r#"versions = ["public", "judges"]

[[column]]
name = "serial_number""#,
            ),
        ),
        ("unsupported_time_zone", edit("Asia/Shanghai", "Europe/Berlin")),
        ("bad_datetime", edit("2024-07-27 00:00:00", "2024-07-27T24:00")),
        ("unknown_key", edit("en = \"Gender\"\n", "en = \"Gender\"\nlabel = \"x\"\n")),
        ("bad_column_name", edit(r#"name = "q09_1""#, r#"name = "Q9.1""#)),
        (
            "missing_hierarchy",
            edit("role = \"quasi_identifier\"\n", "role = \"quasi_identifier\"\nhierarchy = \"gender\"\n"),
        ),
        (
            "quasi_identifier_not_background",
            edit("role = \"quasi_identifier\"\n", "role = \"quasi_identifier\"\nbackground = false\n"),
        ),
    ];
    let report: String = cases.iter().map(|(name, text)| format!("{name}: {}\n", check(text, &[]))).collect();
    insta::assert_snapshot!("schema_errors", report);
}

#[test]
fn hierarchy_errors_name_line_and_column() {
    let schema = edit("role = \"quasi_identifier\"\n", "role = \"quasi_identifier\"\nhierarchy = \"gender\"\n");
    let cases = [
        ("valid", "code,label,*\n1,男,*\n2,女,*\n"),
        ("no_star_column", "code,label\n1,男\n"),
        ("not_a_tree", "age,band,group,*\n10,10-14,<18,*\n11,10-14,18+,*\n"),
        ("duplicate_raw_value", "code,label,*\n1,男,*\n1,女,*\n"),
        ("short_row", "code,label,*\n1,男\n"),
        ("star_level_not_star", "code,label,*\n1,男,all\n"),
        ("empty_value", "code,label,*\n1,,*\n"),
        ("no_rows", "code,label,*\n"),
    ];
    let report: String =
        cases.iter().map(|(name, csv)| format!("{name}: {}\n", check(&schema, &[("gender", csv)]))).collect();
    insta::assert_snapshot!("hierarchy_errors", report);
}

#[test]
fn shipped_survey_schema_loads() {
    let d = shipped_dataset();
    let s = &d.survey;
    assert_eq!(s.columns.len(), 113);
    let background: Vec<&str> = s.columns.iter().filter(|c| c.background).map(|c| c.name.as_str()).collect();
    assert_eq!(background.len(), 25, "22 demographic and workplace items and three 其他 texts: {background:?}");
    for name in ["q13_gender", "q17_role_8", "q20_income", "version", "p04_industry_years", "q16_occupation_other"] {
        assert!(background.contains(&name), "{name} is background knowledge");
    }
    assert_eq!(s.item_options("Q6").count(), 8);
    assert_eq!(s.item_options("Q5").count(), 21);
    let rating_rows = s.columns.iter().filter(|c| matches!(c.kind, holdout_schema::ColumnKind::Rating { .. })).count();
    assert_eq!(rating_rows, 16, "three rating matrices with 5 + 5 + 6 rows");
    assert!(d.hierarchies.contains_key("geography"));
    assert_eq!(d.hierarchies["age"].generalize("15", 3), Some("<18"));
    assert_eq!(d.hierarchies["geography"].generalize("深圳市", 2), Some("东部"));
    // Province values sit at level 1 of the geography hierarchy.
    assert_eq!(d.hierarchies["geography"].generalize_from("黑龙江省", 1, 2), Some("东北"));
    assert_eq!(d.hierarchies["geography"].generalize_from("黑龙江省", 1, 3), Some("*"));
    assert_eq!(d.hierarchies["geography"].generalize_from("黑龙江省", 1, 0), Some("黑龙江省"), "never below `from`");
    assert_eq!(d.hierarchies["geography"].generalize_from("火星", 1, 2), None);
}

fn competition(name: &str, dataset: &Dataset) -> Result<Competition, String> {
    Competition::parse(&read(&format!("datasets/{name}/competition.toml")), dataset).map_err(|e| e.to_string())
}

#[test]
fn shipped_competitions_load_and_withhold_their_target_sources() {
    let d = shipped_dataset();
    let security = competition("security-sense", &d).unwrap();
    assert_eq!(security.task, Task::Ordinal { labels: vec![1, 2, 3, 4, 5] });
    assert_eq!(security.primary_metric, Metric::CohenKappaQuadratic);
    assert!(!security.features.iter().any(|f| f == "q09_1"));
    assert!(security.features.iter().any(|f| f == "q09_2"));
    // 10:00 in Asia/Shanghai is 02:00 UTC.
    assert_eq!(security.phases[0].start.to_rfc3339(), "2024-09-02T02:00:00+00:00");

    let fraud = competition("fraud-exposure", &d).unwrap();
    assert_eq!(fraud.task, Task::Binary);
    assert_eq!(fraud.target.sources, ["q06_exp_1", "q06_exp_8"], "the exclusive option gives the answer away");
    assert!(!fraud.features.iter().any(|f| f == "q06_exp_8" || f == "q06_exp_1"));

    let index = competition("satisfaction-index", &d).unwrap();
    let TargetDerivation::Index { blocks } = &index.target.derivation else { panic!("index target") };
    assert_eq!(blocks.iter().map(|b| b.columns.len()).sum::<usize>(), 16);
    assert!(!index.features.iter().any(|f| f.starts_with("q08_") || f.starts_with("q09_") || f.starts_with("q12_")));
    assert!(index.features.iter().any(|f| f == "comment"), "satisfaction-index publishes scrubbed comments");
    assert!(!security.features.iter().any(|f| f == "comment"), "security-sense drops free text");

    for c in [&security, &fraud, &index] {
        for f in &c.features {
            let column = d.survey.column(f).unwrap();
            assert!(column.role != holdout_schema::Role::DirectIdentifier, "{}: {f} must never be a feature", c.name);
            assert!(
                !column.background || c.privacy.quasi_identifiers.iter().any(|q| &q.column == f),
                "{}: background column {f} is published only as a quasi-identifier",
                c.name
            );
            let scrubbed = c.privacy.free_text == holdout_schema::FreeTextPolicy::Scrub;
            assert!(
                column.role != holdout_schema::Role::FreeText || scrubbed,
                "{}: free text {f} is a feature only when scrubbed",
                c.name
            );
        }
    }
}

#[test]
fn competition_errors_name_file_line_and_column() {
    let d = shipped_dataset();
    let base = read("datasets/security-sense/competition.toml").text;
    let cases = [
        (
            "unknown_feature",
            base.replacen("extra = [\"version\"]", "extra = [\"version\"]\nexclude = [\"q99_nothing\"]", 1),
        ),
        ("metric_does_not_apply", base.replacen("primary = \"cohen_kappa_quadratic\"", "primary = \"roc_auc\"", 1)),
        ("unknown_metric", base.replacen("primary = \"cohen_kappa_quadratic\"", "primary = \"kappa\"", 1)),
        ("duplicate_metric", base.replacen("secondary = [\"accuracy\"", "secondary = [\"cohen_kappa_quadratic\"", 1)),
        ("labels_do_not_match_bands", base.replacen("labels = [1, 2, 3, 4, 5]", "labels = [1, 2, 3]", 1)),
        ("bands_do_not_tile", base.replacen("[[1, 2], [3, 4]", "[[1, 2], [4, 4]", 1)),
        ("identifier_as_feature", base.replacen("extra = [\"version\"]", "extra = [\"version\", \"create_time\"]", 1)),
        (
            "unprotected_quasi_identifier",
            base.replacen(
                "[[privacy.quasi_identifier]]\ncolumn = \"q19_urban_rural\"\nhierarchy = \"urban_rural\"\n",
                "",
                1,
            ),
        ),
        (
            "unprotected_background_income",
            base.replacen("[[privacy.quasi_identifier]]\ncolumn = \"q20_income\"\nhierarchy = \"income\"\n", "", 1),
        ),
        (
            "unprotected_background_extra",
            base.replacen("[[privacy.quasi_identifier]]\ncolumn = \"version\"\nhierarchy = \"version\"\n", "", 1),
        ),
        (
            "unprotected_background_role",
            base.replacen("[[privacy.quasi_identifier]]\ncolumn = \"q17_role_3\"\nhierarchy = \"role\"\n", "", 1),
        ),
        (
            "unprotected_background_practitioner",
            base.replacen("[[privacy.quasi_identifier]]\ncolumn = \"p02_job_role\"\nhierarchy = \"job_role\"\n", "", 1),
        ),
        (
            "quasi_identifier_not_background",
            base.replacen("column = \"q19_urban_rural\"", "column = \"q01_net_years\"", 1),
        ),
        (
            "quasi_identifier_twice",
            base.replacen(
                "column = \"q20_income\"\nhierarchy = \"income\"",
                "column = \"version\"\nhierarchy = \"version\"",
                1,
            ),
        ),
        ("unknown_hierarchy", base.replacen("hierarchy = \"urban_rural\"", "hierarchy = \"village\"", 1)),
        ("unknown_hierarchy_level", base.replacen("level = \"province\"", "level = \"county\"", 1)),
        ("overlapping_phases", base.replacen("start = \"2024-10-21 10:00:00\"", "start = \"2024-10-20 10:00:00\"", 1)),
        ("phase_ends_before_start", base.replacen("end = \"2024-11-03 23:59:59\"", "end = \"2024-10-01 23:59:59\"", 1)),
        ("board_b_without_ab_split", base.replacen("board = \"a\"\n\n[[phase]]", "board = \"b\"\n\n[[phase]]", 1)),
        ("share_out_of_range", base.replacen("test_share = 0.3", "test_share = 1.5", 1)),
        ("k_too_small", base.replacen("k = 10", "k = 1", 1)),
        ("wrong_survey", base.replacen("survey = \"netizen-survey-2024\"", "survey = \"other-survey\"", 1)),
    ];
    let report: String = cases
        .iter()
        .map(|(name, text)| {
            assert_ne!(text, &base, "case {name} did not change the file");
            let outcome = Competition::parse(&Source::new("competition.toml", text.as_str()), &d)
                .map_or_else(|e| e.to_string(), |c| format!("ok: {}", c.name));
            format!("{name}: {outcome}\n")
        })
        .collect();
    insta::assert_snapshot!("competition_errors", report);
}
