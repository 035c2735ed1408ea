//! Real survey exports end to end: the synthetic survey written as the platform (`TDuck`) gives
//! it — the admin's exports of both forms (CSV and xlsx) and the `fm_user_form_data` dump (CSV
//! and JSON lines) — prepares like holdout's own format; a corpus of broken exports fails with
//! every problem collected, exit 2, nothing written.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::prepare::{fixture, prepare_many, prepare_with};
use crate::{files_in, holdout, stderr, stdout};

const ROWS: &str = "6000";
const SEED: &str = "5";

/// The fixture's survey (6,000 rows, seed 5) in every `TDuck` layout, made once.
fn layouts() -> &'static (tempfile::TempDir, [PathBuf; 4]) {
    static LAYOUTS: OnceLock<(tempfile::TempDir, [PathBuf; 4])> = OnceLock::new();
    LAYOUTS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let made = [
            ("db", vec!["--layout", "tduck-db"]),
            ("db-jsonl", vec!["--layout", "tduck-db", "--jsonl"]),
            ("export", vec!["--layout", "tduck-export"]),
            ("export-xlsx", vec!["--layout", "tduck-export", "--xlsx"]),
        ]
        .map(|(name, layout)| {
            let out = dir.path().join(name);
            let out_text = out.display().to_string();
            let mut args = vec!["synth", "--rows", ROWS, "--seed", SEED, "--out", &out_text, "--quiet"];
            args.extend(layout);
            let o = holdout(&args);
            assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
            out
        });
        (dir, made)
    })
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const COMPARED: [&str; 3] = ["public/train.csv", "public/test.csv", "private/solution.csv"];

#[test]
fn the_database_dump_prepares_byte_identically_to_the_native_export() {
    let (_, raw, key) = fixture();
    let (_, [db, jsonl, ..]) = layouts();
    assert_eq!(files_in(db), ["fm_user_form_data.csv", "fm_user_form_item.jsonl"]);
    let dir = tempfile::tempdir().unwrap();
    let native = dir.path().join("native");
    let o = prepare_many("datasets/security-sense", &[raw], key, &native);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (name, input) in [("db", db.join("fm_user_form_data.csv")), ("jsonl", jsonl.join("fm_user_form_data.jsonl"))] {
        let out = dir.path().join(name);
        let o = prepare_many("datasets/security-sense", &[&input], key, &out);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert!(stdout(&o).contains("TDuck database dump"), "{name}: the format is named: {}", stdout(&o));
        for file in COMPARED {
            assert!(read(&native.join(file)) == read(&out.join(file)), "{name}: {file} differs from the native run");
        }
        // Where a contest publishes free text, the typed 其他 answers (TDuck's `…other`
        // siblings) are published, scrubbed, as the native export's `*_other` columns.
        let (native_si, out_si) = (dir.path().join("native-si"), dir.path().join(format!("{name}-si")));
        if !native_si.exists() {
            let o = prepare_many("datasets/satisfaction-index", &[raw], key, &native_si);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        }
        let o = prepare_many("datasets/satisfaction-index", &[&input], key, &out_si);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        for file in COMPARED {
            assert!(read(&native_si.join(file)) == read(&out_si.join(file)), "{name}: satisfaction-index {file}");
        }
        let train = String::from_utf8(read(&out_si.join("public/train.csv"))).unwrap();
        let header = train.lines().next().unwrap();
        assert!(header.contains("q05_app_other"), "the 其他 text of an answer is a feature there");
        assert!(
            !header.contains("q16_occupation_other"),
            "an occupation typed after 其他 is background knowledge, never published"
        );
        assert!(train.contains("\"农民,兼职司机\""), "a typed 其他 with a comma survives whole");
        // The dump has every metadata column (the channel's sourceId is in `ext_value`), so
        // every screening rule ran.
        let report = std::fs::read_to_string(out.join("private/screening_report.json")).unwrap();
        assert!(!report.contains("\"not_run\":\"needs"), "{name}: {report}");
    }
}

/// The rules the admin export cannot run: it has no openid, IP, user agent or fill duration.
const NOT_RUN: [(&str, &str); 4] = [
    ("repeat_person", "needs wx_open_id"),
    ("repeat_device", "needs submit_ip, submit_ua"),
    ("speeder", "needs complete_time_ms"),
    ("bot_burst", "needs complete_time_ms"),
];

#[test]
fn the_admin_exports_prepare_like_the_native_export_but_for_the_rules_they_cannot_run() {
    let (_, raw, key) = fixture();
    let (_, [_, _, csv_dir, xlsx_dir]) = layouts();
    assert_eq!(files_in(csv_dir), ["Hx24Prc3_practitioner.csv", "Hx24Pub7_public.csv"]);
    let first = std::fs::read(csv_dir.join("Hx24Pub7_public.csv")).unwrap();
    assert!(!first.starts_with(b"\xEF\xBB\xBF") && first.windows(2).any(|w| w == b"\r\n"), "no BOM, CRLF");
    let dir = tempfile::tempdir().unwrap();
    let native = dir.path().join("native");
    assert_eq!(prepare_many("datasets/security-sense", &[raw], key, &native).status.code(), Some(0));
    let native_report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(native.join("private/screening_report.json")).unwrap()).unwrap();

    let mut bundles = Vec::new();
    for (name, input) in [("csv", csv_dir), ("xlsx", xlsx_dir)] {
        let out = dir.path().join(name);
        // A directory: every file in it, one per form.
        let o = prepare_many("datasets/security-sense", &[input], key, &out);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert!(stdout(&o).contains("TDuck admin export"), "{}", stdout(&o));
        let text = std::fs::read_to_string(out.join("private/screening_report.json")).unwrap();
        let report: serde_json::Value = serde_json::from_str(&text).unwrap();
        for rule in report["rules"].as_array().unwrap() {
            let name = rule["rule"].as_str().unwrap();
            if let Some((_, why)) = NOT_RUN.iter().find(|(r, _)| *r == name) {
                assert_eq!(rule["not_run"], *why, "{name}");
                assert_eq!(rule["rows"], 0, "{name} flags nothing when it cannot run");
            } else {
                assert!(rule["not_run"].is_null(), "{name} ran");
                let native_rule =
                    native_report["rules"].as_array().unwrap().iter().find(|r| r["rule"] == name).unwrap();
                assert_eq!(rule["rows"], native_rule["rows"], "{name}: the same rows as on the native export");
            }
        }
        assert_eq!(report["rows"], native_report["rows"]);
        assert_eq!(report["files"].as_array().unwrap().len(), 2, "one entry per form's file");
        let md = std::fs::read_to_string(out.join("private/screening_report.md")).unwrap();
        assert!(md.contains("speeder (not run: needs complete_time_ms)"), "{md}");
        bundles.push(out);
    }
    for file in COMPARED {
        assert!(read(&bundles[0].join(file)) == read(&bundles[1].join(file)), "xlsx and CSV exports differ in {file}");
    }
}

/// The public form's CSV export as records (header first).
fn public_export() -> Vec<Vec<String>> {
    let (_, [_, _, csv_dir, _]) = layouts();
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).from_path(csv_dir.join("Hx24Pub7_public.csv")).unwrap();
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

fn column(records: &[Vec<String>], title_start: &str) -> usize {
    records[0].iter().position(|h| h.starts_with(title_start)).unwrap_or_else(|| panic!("no column {title_start}"))
}

fn csv_bytes(records: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    for r in records {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// An xlsx workbook of `records` on one sheet, then `edit` on it.
fn xlsx_bytes(records: &[Vec<String>], edit: impl FnOnce(&mut rust_xlsxwriter::Workbook)) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, record) in records.iter().enumerate() {
        for (c, v) in record.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, v).unwrap();
        }
    }
    edit(&mut book);
    book.save_to_buffer().unwrap()
}

#[test]
#[expect(clippy::too_many_lines, reason = "one block per broken export of the corpus")]
fn every_broken_export_of_the_corpus_fails_with_collected_problems_and_writes_nothing() {
    let (_, _, key) = fixture();
    let good = public_export();
    let dir = tempfile::tempdir().unwrap();
    let gender = column(&good, "13.");
    let q5 = column(&good, "5.");
    let q6 = column(&good, "6.");
    let q8 = column(&good, "8.");
    let time = column(&good, "提交时间");
    let small: Vec<Vec<String>> = good.iter().take(40).cloned().collect();

    let mut corpus: Vec<(&str, Vec<u8>, Vec<&str>)> = Vec::new();

    let mut renamed = good.clone();
    renamed[0][gender] = "13. 性别".to_owned();
    corpus.push((
        "renamed_header.csv",
        csv_bytes(&renamed),
        vec!["`13. 性别`: unknown header", "the export has no column for item `radio-1779700704959`"],
    ));

    let mut unknown = good.clone();
    let mut changed = 0;
    for r in unknown.iter_mut().skip(1) {
        if r[gender] == "男性" {
            r[gender] = "男".to_owned();
            changed += 1;
        }
    }
    let expected = format!("`男` is not one of the item's options — {changed}× (line 2");
    corpus.push(("unknown_label.csv", csv_bytes(&unknown), vec![expected.as_str()]));

    let merged = xlsx_bytes(&small, |book| {
        let sheet = book.worksheet_from_index(0).unwrap();
        sheet.merge_range(5, 0, 6, 0, "合并", &rust_xlsxwriter::Format::new()).unwrap();
    });
    corpus.push(("merged_cells.xlsx", merged, vec!["merged cells (A6:A7)"]));

    let two_sheets = xlsx_bytes(&small, |book| {
        book.add_worksheet().set_name("统计").unwrap();
    });
    corpus.push(("second_sheet.xlsx", two_sheets, vec!["the workbook has 2 sheets", "统计"]));

    let dates = xlsx_bytes(&small, |book| {
        let sheet = book.worksheet_from_index(0).unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        let when = rust_xlsxwriter::ExcelDateTime::parse_from_str("2024-07-20 20:15:33").unwrap();
        for r in 1..4 {
            sheet.write_datetime_with_format(r, time as u16, &when, &format).unwrap();
        }
    });
    corpus.push((
        "excel_dates.xlsx",
        dates,
        vec!["`提交时间`: a date cell", "3× (Excel row 2, Excel row 3, Excel row 4)"],
    ));

    // 其他 typed text with a comma in an item that has no 其他 option (Q6).
    let mut other = small.clone();
    other[3][q6] = format!("{},我自己写的,含逗号", other[3][q6]);
    corpus.push((
        "other_text_with_comma.csv",
        csv_bytes(&other),
        vec!["`我自己写的,含逗号` is not one of the item's options"],
    ));
    // …while in Q5, which has one, it is read (the other rows of this file are fine).
    assert!(good.iter().any(|r| r[q5].contains("农民,兼职司机")), "the synthetic export types a comma into 其他");

    let mut matrix = small.clone();
    let cell = matrix[2][q8].clone();
    let cut = cell.find('）').unwrap() + '）'.len_utf8();
    matrix[2][q8] = cell[cut..].to_owned();
    corpus.push((
        "matrix_row_missing.csv",
        csv_bytes(&matrix),
        vec!["matrix row `网络不良信息治理成效：` is missing — 1× (line 3)"],
    ));

    let whole = xlsx_bytes(&small, |_| {});
    corpus.push(("truncated.xlsx", whole[..whole.len() / 2].to_vec(), vec!["not a readable xlsx workbook"]));

    // Re-saved by Excel on a Chinese Windows: GBK, and times as Excel shows them.
    let mut excel = small.clone();
    for r in excel.iter_mut().skip(1) {
        let t = r[time].clone();
        let (date, clock) = t.split_once(' ').unwrap();
        let mut d = date.split('-').map(|p| p.trim_start_matches('0'));
        let (y, m, day) = (d.next().unwrap(), d.next().unwrap(), d.next().unwrap());
        r[time] = format!("{y}/{m}/{day} {}", &clock[..5]);
    }
    let text = String::from_utf8(csv_bytes(&excel)).unwrap();
    let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
    corpus.push((
        "gbk_resaved_by_excel.csv",
        gbk.into_owned(),
        vec!["`提交时间`: `2024/", "is not a time like 2024-07-20 20:15:33 — 39×"],
    ));

    // Two forms' exports pasted into one file.
    let (_, [_, _, csv_dir, _]) = layouts();
    let mut mixed = csv_bytes(&small);
    mixed.extend(std::fs::read(csv_dir.join("Hx24Prc3_practitioner.csv")).unwrap());
    corpus.push(("mixed_forms.csv", mixed, vec!["a second header row", "more fields than the header's"]));

    for (name, bytes, expected) in &corpus {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        let out = dir.path().join(format!("{name}.out"));
        let o = prepare_many("datasets/security-sense", &[&input], key, &out);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("nothing was written"), "{name}: {err}");
        for e in expected {
            assert!(err.contains(e), "{name}: expected `{e}` in:\n{err}");
        }
        assert!(!out.exists(), "{name}: nothing is written");
        let o = holdout(&["check", "datasets/netizen-survey-2024", "--raw", &input.display().to_string()]);
        assert_eq!(o.status.code(), Some(2), "check --raw {name}");
    }
    let names: Vec<String> = corpus.iter().map(|(n, ..)| (*n).to_owned()).collect();
    let left: Vec<String> = files_in(dir.path()).into_iter().filter(|f| !names.contains(f)).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn check_raw_prints_the_table_of_unmatched_labels_and_passes_a_good_export() {
    let (_, [_, _, csv_dir, _]) = layouts();
    let o = holdout(&["check", "datasets/netizen-survey-2024", "--raw", &csv_dir.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("maps onto netizen-survey-2024"), "{}", stdout(&o));

    let mut records = public_export();
    let gender = column(&records, "13.");
    records[4][gender] = "保密".to_owned();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, csv_bytes(&records)).unwrap();
    let o = holdout(&["check", "datasets/netizen-survey-2024", "--raw", &bad.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    let table = stdout(&o);
    assert!(table.contains("| 13. 您的性别： | `保密` is not one of the item's options | 1 | line 5 |  |"), "{table}");
}

/// A synthetic admin export of a form, from its `fm_user_form_item` rows: every option,
/// matrix level and cascader branch used in turn.
fn export_of_form(items: &str, rows: usize) -> Vec<u8> {
    let items: Vec<serde_json::Value> = items
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|i| i["is_display_type"] != 1)
        .collect();
    let scheme =
        |i: &serde_json::Value| -> serde_json::Value { serde_json::from_str(i["scheme"].as_str().unwrap()).unwrap() };
    let mut header: Vec<String> = items.iter().map(|i| i["label"].as_str().unwrap().to_owned()).collect();
    header.extend(["提交序号", "扩展字段", "修改用户", "提交用户", "提交时间", "修改时间"].map(str::to_owned));
    let mut records = vec![header];
    for r in 0..rows {
        let mut record = Vec::new();
        for item in &items {
            let s = scheme(item);
            let options = s["config"]["options"].as_array().cloned().unwrap_or_default();
            let label = |k: usize| options[k % options.len()]["label"].as_str().unwrap().to_owned();
            let cell = match item["type"].as_str().unwrap() {
                "RADIO" => label(r),
                "CHECKBOX" => format!("{},{}", label(r), label(r + 1)),
                "MATRIX_SCALE" => {
                    let level = s["table"]["level"].as_u64().unwrap() as usize;
                    s["table"]["rows"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .enumerate()
                        .map(|(k, row)| format!("{}：（{}）", row["label"].as_str().unwrap(), (r + k) % level + 1))
                        .collect()
                }
                "CASCADER" => {
                    let branch = &options[r % options.len()];
                    match branch["children"].as_array() {
                        Some(children) if !children.is_empty() => {
                            format!("{},{}", label(r), children[r % children.len()]["label"].as_str().unwrap())
                        }
                        _ => label(r),
                    }
                }
                "PROVINCE_CITY" => "广东省,深圳市,南山区科技园1号".to_owned(),
                other => panic!("the fixture has no {other} item"),
            };
            record.push(cell);
        }
        let time = format!("2026-03-01 10:{:02}:00", r % 60);
        record.extend([(r + 1).to_string(), String::new(), String::new(), String::new(), time.clone(), time]);
        records.push(record);
    }
    csv_bytes(&records)
}

#[test]
fn schema_init_on_the_2026_form_round_trips_through_a_synthetic_export() {
    let items_path = crate::repo().join("tests/data/tduck/questionnaire-2026-public.items.jsonl");
    let items = std::fs::read_to_string(&items_path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let survey = dir.path().join("survey-2026");
    std::fs::create_dir(&survey).unwrap();
    let schema = survey.join("schema.toml");
    let o = holdout(&[
        "schema",
        "init",
        "--tduck-form",
        &items_path.display().to_string(),
        "--out",
        &schema.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let skeleton = std::fs::read_to_string(&schema).unwrap();
    assert!(skeleton.contains("id = \"matrix_scale1780387046308\""), "the mapping is filled in");
    assert!(skeleton.contains("{ label = \"少于 1 小时\", code = 1 }"), "labels as the form has them");
    // Each choice with 其他 gets a free-text column for what respondents type there.
    let others: Vec<&str> = skeleton.lines().filter(|l| l.starts_with("other = \"")).collect();
    assert_eq!(others.len(), 2, "{others:?}");
    for line in others {
        let column = line.trim_start_matches("other = \"").trim_end_matches('"');
        let block = &skeleton[skeleton.find(&format!("name = \"{column}\"")).unwrap()..];
        assert!(block.lines().take(6).any(|l| l == "role = \"free_text\""), "{column}: {block:.200}");
    }

    // With the roles left blank, loading names the first one by file, line and column.
    let o = holdout(&["check", &survey.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    let line = skeleton.lines().position(|l| l.starts_with("role = \"\"")).unwrap() + 1;
    assert!(stderr(&o).contains(&format!("schema.toml:{line}:")), "{}", stderr(&o));

    // Once the organizer sets them, the skeleton loads and maps an export of that form.
    std::fs::write(&schema, skeleton.replace("role = \"\"  # TODO", "role = \"answer\"")).unwrap();
    let o = holdout(&["check", &survey.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let export = dir.path().join("export.csv");
    std::fs::write(&export, export_of_form(&items, 120)).unwrap();
    let o = holdout(&["check", &survey.display().to_string(), "--raw", &export.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("TDuck admin export (CSV), form yCWFPyRr (public)"), "{}", stdout(&o));
}

/// Rows per `source_id` in the native export, counted here independently of holdout.
fn rows_per_channel(raw: &Path) -> std::collections::BTreeMap<String, u64> {
    let mut reader = csv::Reader::from_path(raw).unwrap();
    let at = reader.headers().unwrap().iter().position(|h| h == "source_id").unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for record in reader.records() {
        *counts.entry(record.unwrap()[at].trim().to_owned()).or_insert(0) += 1;
    }
    counts
}

fn screening_report(bundle: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(bundle.join("private/screening_report.json")).unwrap()).unwrap()
}

#[test]
fn screening_counts_valid_samples_per_channel_and_per_initiating_unit_exactly_on_every_layout() {
    let (_, raw, key) = fixture();
    let (_, [db, _, csv_dir, _]) = layouts();
    let expected = rows_per_channel(raw);
    assert!(expected.len() > 20, "the fixture has many channels: {}", expected.len());
    // The organizer's table: every channel but the last three, in three units by their first digit.
    let channels: Vec<&String> = expected.keys().filter(|c| !c.is_empty()).collect();
    let (listed, unlisted) = channels.split_at(channels.len() - 3);
    let unit = |c: &str| format!("单位{}", u32::from(c.as_bytes()[0]) % 3);
    let mut table: String = "source_id,unit\r\n".to_owned();
    table.extend(listed.iter().map(|c| format!("{c},{}\r\n", unit(c))));
    table.push_str("999999,没有回收样本的单位\r\n");
    let dir = tempfile::tempdir().unwrap();
    let table_path = dir.path().join("channels.csv");
    std::fs::write(&table_path, &table).unwrap();

    let mut reports = Vec::new();
    for (name, input) in
        [("native", raw.clone()), ("db", db.join("fm_user_form_data.csv")), ("export", csv_dir.clone())]
    {
        let out = dir.path().join(name);
        let table_text = table_path.display().to_string();
        let o = prepare_with("datasets/security-sense", &input, key, &out, &["--channels", &table_text]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let report = screening_report(&out);
        // Every row is counted under its channel, valid or not, exactly as the raw file has it.
        let mut seen = std::collections::BTreeMap::new();
        let (mut valid, mut invalid) = (0, 0);
        for c in report["channels"].as_array().unwrap() {
            let (v, i) = (c["valid"].as_u64().unwrap(), c["invalid"].as_u64().unwrap());
            seen.insert(c["channel"].as_str().unwrap().to_owned(), v + i);
            valid += v;
            invalid += i;
        }
        assert_eq!(seen, expected, "{name}: rows per channel");
        assert_eq!((valid, invalid), (report["valid"].as_u64().unwrap(), report["invalid"].as_u64().unwrap()));
        // Per unit: the sums of its channels; the unlisted channels apart; the idle unit at zero.
        let units = report["units"].as_array().unwrap();
        let by_channel: std::collections::HashMap<&str, (u64, u64)> = report["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["channel"].as_str().unwrap(), (c["valid"].as_u64().unwrap(), c["invalid"].as_u64().unwrap())))
            .collect();
        for u in units {
            let members: Vec<&str> = u["channels"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
            let sum = members.iter().filter_map(|c| by_channel.get(c)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            assert_eq!((u["valid"].as_u64().unwrap(), u["invalid"].as_u64().unwrap()), sum, "{name}: {u}");
        }
        let idle = units.iter().find(|u| u["unit"] == "没有回收样本的单位").unwrap();
        assert_eq!((idle["valid"].as_u64(), idle["invalid"].as_u64()), (Some(0), Some(0)));
        let rest = units.iter().find(|u| u["unit"].is_null()).unwrap();
        let mut rest_channels: Vec<&str> =
            rest["channels"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        rest_channels.retain(|c| !c.is_empty());
        assert_eq!(rest_channels, unlisted.iter().map(|c| c.as_str()).collect::<Vec<_>>(), "{name}");
        let md = std::fs::read_to_string(out.join("private/screening_report.md")).unwrap();
        assert!(md.contains("## Valid samples per initiating unit"), "{name}: {md}");
        // Never in the public files.
        for file in files_in(&out.join("public")) {
            let text = String::from_utf8_lossy(&read(&out.join("public").join(&file))).into_owned();
            assert!(!text.contains("单位0"), "{name}: {file} mentions a unit");
        }
        reports.push((report["channels"].clone(), report["units"].clone()));
    }
    // The rules the admin export cannot run flag nothing there, so its counts differ from the
    // native ones only through those rules; the database dump's are the native ones exactly.
    assert_eq!(reports[0], reports[1], "native and database dump");

    // A channel listed twice: exit 2, the line named, nothing written.
    std::fs::write(&table_path, format!("{table}{},单位X\r\n", listed[0])).unwrap();
    let out = dir.path().join("twice");
    let o = prepare_with("datasets/security-sense", raw, key, &out, &["--channels", &table_path.display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let line = listed.len() + 3;
    assert!(
        stderr(&o).contains(&format!("line {line}: channel `{}` is listed twice (first on line 2)", listed[0])),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn two_files_in_holdouts_own_format_read_as_one_survey_and_an_unknown_header_in_either_is_named() {
    let (_, raw, key) = fixture();
    let text = std::fs::read_to_string(raw).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let lines: Vec<&str> = body.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    let half = lines.len() / 2;
    std::fs::write(&a, format!("{header}\n{}\n", lines[..half].join("\n"))).unwrap();
    std::fs::write(&b, format!("{header}\n{}\n", lines[half..].join("\n"))).unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    assert_eq!(prepare_many("datasets/security-sense", &[raw], key, &one).status.code(), Some(0));
    let o = prepare_many("datasets/security-sense", &[&a, &b], key, &two);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for file in COMPARED {
        assert!(read(&one.join(file)) == read(&two.join(file)), "{file} differs when the rows come in two files");
    }

    let mut extra = format!("{header},mystery\n");
    for line in &lines[half..] {
        extra.push_str(line);
        extra.push_str(",1\n");
    }
    std::fs::write(&b, extra).unwrap();
    let out = dir.path().join("bad");
    let o = prepare_many("datasets/security-sense", &[&a, &b], key, &out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("b.csv: holdout's own format, but these headers are not in the schema: `mystery`"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn the_zone_of_the_platforms_times_is_declared_and_stated_in_the_report() {
    let (_, _, key) = fixture();
    let (_, [_, jsonl, ..]) = layouts();
    let input = jsonl.join("fm_user_form_data.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let run = |zone: Option<&str>, out: &Path| {
        let more = zone.map_or_else(Vec::new, |z| vec!["--raw-timezone", z]);
        prepare_with("datasets/security-sense", &input, key, out, &more)
    };
    for (zone, stated) in [(None, "Asia/Shanghai"), (Some("UTC"), "UTC")] {
        let out = dir.path().join(stated.replace('/', "-"));
        let o = run(zone, &out);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let said = format!("times read in {stated}");
        assert!(stdout(&o).contains(&said), "{}", stdout(&o));
        let report = screening_report(&out);
        assert!(report["files"][0]["format"].as_str().unwrap().ends_with(&said), "{report}");
    }
    let out = dir.path().join("mars");
    let o = run(Some("Mars/Olympus"), &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unsupported time zone `Mars/Olympus`"), "{}", stderr(&o));
    assert!(!out.exists());
}
