//! Submission problems as codes with parameters: representative bad files give every code the
//! validator can reach, with its parameters, rendered in Chinese and English; and Kaggle's rule
//! — what a competitor reads about a file checked against the solution depends on no hidden
//! label and on no row's part of the test set.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, Read};

use holdout_schema::PredictionFormat;
use holdout_score::i18n::{CATALOGUE, Lang};
use holdout_score::ids::TestIds;
use holdout_score::solution::Solution;
use holdout_score::submission::{Expected, Invalid, Kind, parse, validate};
use serde_json::{Value, json};

use crate::corpus::{MAX_BYTES, expected, ids};

fn invalid(format: &str, file: &[u8], max_bytes: u64) -> Invalid {
    let ids = ids();
    validate(file, &Expected { max_bytes, ..expected(&ids, format) }).expect_err("refused")
}

/// A bad file, its problems as the API serializes them, and a fragment of each rendering.
struct Case {
    format: &'static str,
    file: Vec<u8>,
    problems: Value,
    en: &'static str,
    zh: &'static str,
    max_bytes: u64,
}

fn case(format: &'static str, file: impl AsRef<[u8]>, problems: Value, en: &'static str, zh: &'static str) -> Case {
    Case { format, file: file.as_ref().to_vec(), problems, en, zh, max_bytes: MAX_BYTES }
}

/// A problem of the whole file or its header, as serialized.
fn whole(mut kind: Value) -> Value {
    kind["count"] = json!(1);
    kind["examples"] = json!([]);
    kind
}

fn expected_header(header: &[&str]) -> Value {
    whole(json!({"code": "expected_header", "header": header}))
}

#[expect(clippy::too_many_lines, reason = "one table of cases")]
fn cases() -> Vec<Case> {
    let label = ["id", "label"];
    // 0.3 + 0.3 + 0.3 as the validator adds it (0.8999999999999999, shown as 0.9).
    let thirds = [0.3, 0.3, 0.3].iter().sum::<f64>();
    let too_large = [b"id,label\n".as_slice(), &b"a1,1\n".repeat(500)].concat();
    // A bad byte past the 64 KiB from which the encoding is guessed (before it, the file would
    // be read as GB18030).
    let not_utf8 = [b"id,label\n".as_slice(), &b"a1,1\n".repeat(14_000), b"a2,\xff\n"].concat();
    vec![
        case("label", b"", json!([whole(json!({"code": "empty"}))]), "the file is empty", "文件是空的"),
        case(
            "label",
            too_large,
            json!([whole(json!({"code": "too_large", "max_bytes": MAX_BYTES}))]),
            "larger than the limit of 2 kB",
            "文件超过了大小上限 2 kB",
        ),
        case(
            "label",
            b"PK\x03\x04\x14\x00\x06\x00",
            json!([whole(json!({"code": "not_csv", "format": "zip"}))]),
            "it looks like a zip archive (an .xlsx workbook is one)",
            "这不是 CSV 文本文件：它看起来是一个 zip 压缩包",
        ),
        Case {
            max_bytes: 1 << 20,
            ..case(
                "label",
                not_utf8,
                json!([whole(json!({"code": "not_utf8", "line": 14_002}))]),
                "line 14002: bytes that are not valid UTF-8 text (save the file as UTF-8)",
                "第 14002 行：含有不是有效 UTF-8 文本的字节（请将文件保存为 UTF-8 编码）",
            )
        },
        case(
            "label",
            "id,label\n\n,\n",
            json!([whole(json!({"code": "no_predictions", "test_ids": 6}))]),
            "expected one row for each of the 6 test ids",
            "文件只有表头，没有预测：每个测试 id 应各占一行，共 6 行",
        ),
        case(
            "label",
            "id,label\n0,1\n1,2\n",
            json!([
                {"code": "unknown_id", "count": 2, "examples": [
                    {"code": "line_id", "line": 2, "id": "0"}, {"code": "line_id", "line": 3, "id": "1"}]},
                {"code": "missing_predictions", "count": 6, "examples": [
                    {"code": "id", "id": "a1"}, {"code": "id", "id": "a2"}, {"code": "id", "id": "a3"}]},
                whole(json!({"code": "no_test_ids"})),
            ]),
            "ids that are not test ids (2 rows): line 2 (id `0`), line 3 (id `1`)",
            "不属于测试集的 id（共 2 行）：第 2 行（id `0`）；第 3 行（id `1`）\n6 个测试 id 没有预测：id `a1`；id `a2`；id `a3`等\n文件中没有一个 id 属于测试集",
        ),
        case(
            "label",
            "a1,1\na2,2\n",
            json!([whole(json!({"code": "header_is_prediction", "id": "a1", "header": label}))]),
            "the first line is a prediction (id `a1`), not the header: add the line `id,label` at the top",
            "第一行是一条预测（id `a1`），不是表头：请在文件开头加上一行 `id,label`",
        ),
        case(
            "label",
            "id;label\na1;1\n",
            json!([whole(json!({"code": "header_delimiter", "delimiter": "semicolon", "header": label}))]),
            "the header is separated by semicolons, not commas: expected the header `id,label`",
            "表头用分号分隔，而不是逗号：表头应为 `id,label`",
        ),
        case(
            "label",
            "id\u{ff0c}label\na1\u{ff0c}1\n",
            json!([whole(json!({"code": "header_delimiter", "delimiter": "fullwidth_comma", "header": label}))]),
            "separated by full-width commas (，)",
            "表头用全角逗号（，）分隔",
        ),
        case(
            "label",
            ",id,label\n0,a1,1\n",
            json!([whole(json!({"code": "unnamed_first_column"})), expected_header(&label)]),
            "the first column has no name: remove it (pandas writes its row index unless you pass index=False)",
            "第一列没有列名：请删除这一列（pandas 默认会写出行索引，除非传入 index=False）\n表头应为 `id,label`",
        ),
        case(
            "label",
            "id,label,\na1,1,\n",
            json!([whole(json!({"code": "unnamed_column"})), expected_header(&label)]),
            "the header has a column without a name",
            "表头中有一列没有列名",
        ),
        case(
            "label",
            "id,label,label\n",
            json!([
                whole(json!({"code": "duplicated_columns", "columns": {"names": ["label"], "more": 0}})),
                expected_header(&label),
            ]),
            "duplicated header columns: `label`\nexpected the header `id,label`",
            "表头列重复：`label`\n表头应为 `id,label`",
        ),
        case(
            "label",
            "id,lable\n",
            json!([
                whole(json!({"code": "misspelled_column", "found": "lable", "expected": "label"})),
                expected_header(&label),
            ]),
            "header column `lable` should be `label`",
            "表头列 `lable` 应为 `label`",
        ),
        case(
            "label",
            "id\na1\n",
            json!([whole(json!({"code": "missing_column", "column": "label"})), expected_header(&label)]),
            "missing header column `label`",
            "预测文件缺少表头列 `label`",
        ),
        case(
            "label",
            "id,label,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10\n",
            json!([
                whole(json!({"code": "unexpected_columns", "columns": {
                    "names": ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"], "more": 2}})),
                expected_header(&label),
            ]),
            "unexpected header columns: `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8` and 2 more",
            "多余的表头列：`c1`、`c2`、`c3`、`c4`、`c5`、`c6`、`c7`、`c8`，另有 2 列",
        ),
        case(
            "label",
            "label,id\n",
            json!([whole(json!({"code": "columns_out_of_order"})), expected_header(&label)]),
            "the header columns are in the wrong order",
            "表头列的顺序不对",
        ),
        case(
            "label",
            "id,label\na1,1\n\"a2\n\",3\nid,label\na3,1,9\n,4\nzz,1\nA4,2\na1,2\na5,\na6,cat\na2,7\n",
            json!([
                {"code": "multiline_field", "count": 1, "examples": [{"code": "line_text", "line": 3, "text": "a2\\n"}]},
                {"code": "repeated_header", "count": 1, "examples": [{"code": "line", "line": 5}]},
                {"code": "wrong_field_count", "expected": 2, "count": 1, "examples": [
                    {"code": "line_fields", "line": 6, "fields": 3}]},
                {"code": "missing_id", "count": 1, "examples": [{"code": "line", "line": 7}]},
                {"code": "unknown_id", "count": 1, "examples": [{"code": "line_id", "line": 8, "id": "zz"}]},
                {"code": "id_case_mismatch", "count": 1, "examples": [
                    {"code": "line_id_should_be", "line": 9, "id": "A4", "test_id": "a4"}]},
                {"code": "duplicate_id", "count": 1, "examples": [
                    {"code": "line_id_first_on", "line": 10, "id": "a1", "first_line": 2}]},
                {"code": "empty_value", "column": "label", "count": 1, "examples": [
                    {"code": "line_id", "line": 11, "id": "a5"}]},
                {"code": "non_numeric", "column": "label", "count": 1, "examples": [
                    {"code": "line_id_text", "line": 12, "id": "a6", "text": "cat"}]},
                {"code": "label_outside_set", "labels": [1, 2, 3, 4, 5], "count": 1, "examples": [
                    {"code": "line_id_value", "line": 13, "id": "a2", "value": 7.0}]},
                {"code": "missing_predictions", "count": 2, "examples": [
                    {"code": "id", "id": "a3"}, {"code": "id", "id": "a4"}]},
            ]),
            "a quoted field runs over several lines (is a closing quote missing?): line 3 (`a2\\n`)\n\
             the header is repeated: line 5\n\
             wrong number of fields: expected 2 like the header: line 6 has 3\n\
             rows without an id: line 7\n\
             ids that are not test ids: line 8 (id `zz`)\n\
             ids that differ from a test id only in upper/lower case: line 9 (id `A4` should be `a4`)\n\
             duplicate ids: line 10 (id `a1`, first on line 2)\n\
             empty value in `label`: line 11 (id `a5`)\n\
             non-numeric value in `label`: line 12 (id `a6`: `cat`)\n\
             labels outside {1, 2, 3, 4, 5}: line 13 (id `a2`: 7)\n\
             2 test ids have no prediction: id `a3`, id `a4`",
            "带引号的字段跨越了多行（是否缺少右引号？）：第 3 行（`a2\\n`）\n\
             表头重复出现：第 5 行\n\
             字段个数不对（应与表头一样有 2 个）：第 6 行有 3 个\n\
             没有 id 的行：第 7 行\n\
             不属于测试集的 id：第 8 行（id `zz`）\n\
             与测试 id 仅大小写不同的 id：第 9 行（id `A4` 应为 `a4`）\n\
             重复的 id：第 10 行（id `a1`，首次出现在第 2 行）\n\
             `label` 列中有空值：第 11 行（id `a5`）\n\
             `label` 列中有不是数字的值：第 12 行（id `a6`：`cat`）\n\
             标签不在 {1, 2, 3, 4, 5} 之中：第 13 行（id `a2`：7）\n\
             2 个测试 id 没有预测：id `a3`；id `a4`",
        ),
        case(
            "label",
            "id,label\na1;3\na2;1\n",
            json!([
                {"code": "wrong_field_count", "expected": 2, "count": 2, "examples": [
                    {"code": "line_one_field", "line": 2, "text": "a1;3"},
                    {"code": "line_one_field", "line": 3, "text": "a2;1"}]},
                {"code": "missing_predictions", "count": 6, "examples": [
                    {"code": "id", "id": "a1"}, {"code": "id", "id": "a2"}, {"code": "id", "id": "a3"}]},
            ]),
            "wrong number of fields: expected 2 like the header (2 rows): line 2 has 1 (`a1;3`), line 3 has 1 (`a2;1`)",
            "字段个数不对（应与表头一样有 2 个）（共 2 行）：第 2 行只有 1 个（`a1;3`）；第 3 行只有 1 个（`a2;1`）",
        ),
        case(
            "probability",
            "id,probability\na1,NaN\na2,1e400\na3,\"0,5\"\na4,50%\na5,1.5\na6,inf\n",
            json!([
                {"code": "nan_or_infinite", "column": "probability", "count": 2, "examples": [
                    {"code": "line_id_text", "line": 2, "id": "a1", "text": "NaN"},
                    {"code": "line_id_text", "line": 7, "id": "a6", "text": "inf"}]},
                {"code": "number_too_large", "column": "probability", "count": 1, "examples": [
                    {"code": "line_id_text", "line": 3, "id": "a2", "text": "1e400"}]},
                {"code": "decimal_comma", "column": "probability", "count": 1, "examples": [
                    {"code": "line_id_text", "line": 4, "id": "a3", "text": "0,5"}]},
                {"code": "percentage", "column": "probability", "count": 1, "examples": [
                    {"code": "line_id_text", "line": 5, "id": "a4", "text": "50%"}]},
                {"code": "probability_outside_range", "count": 1, "examples": [
                    {"code": "line_id_value", "line": 6, "id": "a5", "value": 1.5}]},
            ]),
            "NaN or infinite value in `probability` (2 rows): line 2 (id `a1`: `NaN`), line 7 (id `a6`: `inf`)\n\
             number too large for a 64-bit float in `probability`: line 3 (id `a2`: `1e400`)\n\
             commas in numbers in `probability`, which must use a point as the decimal mark and no thousands separator: line 4 (id `a3`: `0,5`)\n\
             percentages in `probability`, which must be fractions like 0.5, not 50%: line 5 (id `a4`: `50%`)\n\
             probabilities outside [0, 1]: line 6 (id `a5`: 1.5)",
            "`probability` 列中有 NaN 或无穷大（共 2 行）：第 2 行（id `a1`：`NaN`）；第 7 行（id `a6`：`inf`）\n\
             `probability` 列中有超出 64 位浮点数范围的数：第 3 行（id `a2`：`1e400`）\n\
             `probability` 列的数字中有逗号（小数点必须用英文句点，且不能有千位分隔符）：第 4 行（id `a3`：`0,5`）\n\
             `probability` 列中有百分数（必须写成 0.5 这样的小数，而不是 50%）：第 5 行（id `a4`：`50%`）\n\
             概率不在 [0, 1] 之间：第 6 行（id `a5`：1.5）",
        ),
        case(
            "class_probabilities",
            "id,1,2,3\na1,-0.1,0.6,0.5\na2,0.5,0.5,0.5\na3,1,0,0\na4,1,0,0\na5,1,0,0\na6,0.3,0.3,0.3\n",
            json!([
                {"code": "probability_outside_range", "count": 1, "examples": [
                    {"code": "line_id_value_in_column", "line": 2, "id": "a1", "value": -0.1, "column": "1"}]},
                {"code": "sum_not_one", "tolerance": 1e-6, "count": 2, "examples": [
                    {"code": "line_id_sum", "line": 3, "id": "a2", "sum": 1.5, "off_by": 0.5},
                    {"code": "line_id_sum", "line": 7, "id": "a6", "sum": thirds, "off_by": thirds - 1.0}]},
            ]),
            "probabilities outside [0, 1]: line 2 (id `a1`: -0.1 in column `1`)\n\
             class probabilities that do not sum to 1 ± 1e-6 (2 rows): line 3 (id `a2`: sum 1.5, off by +0.5), line 7 (id `a6`: sum 0.9, off by -0.1)",
            "概率不在 [0, 1] 之间：第 2 行（id `a1`：`1` 列为 -0.1）\n\
             各类概率之和不为 1 ± 1e-6（共 2 行）：第 3 行（id `a2`：和为 1.5，偏差 +0.5）；第 7 行（id `a6`：和为 0.9，偏差 -0.1）",
        ),
    ]
}

/// The problem codes of the catalogue.
fn catalogued_codes() -> BTreeSet<String> {
    let catalogue: toml::Table = toml::from_str(CATALOGUE).unwrap();
    catalogue["problem"].as_table().unwrap().keys().cloned().collect()
}

#[test]
fn representative_bad_files_give_every_code_with_its_parameters_in_both_languages() {
    let mut seen = BTreeSet::new();
    for Case { format, file, problems, en, zh, max_bytes } in cases() {
        let what = String::from_utf8_lossy(&file[..file.len().min(60)]).into_owned();
        let e = invalid(format, &file, max_bytes);
        assert_eq!(serde_json::to_value(&e).unwrap(), json!({ "problems": problems }), "{what}");
        assert_eq!(serde_json::from_value::<Invalid>(json!({ "problems": problems })).unwrap(), e, "{what}");
        let (english, chinese) = (e.render(Lang::En), e.render(Lang::Zh));
        assert_eq!(english, e.to_string(), "Display is English");
        assert!(english.contains(en), "{what}: `{en}` not in\n{english}");
        assert!(chinese.contains(zh), "{what}: `{zh}` not in\n{chinese}");
        assert_eq!(english.lines().count(), e.problems.len());
        assert_eq!(chinese.lines().count(), e.problems.len());
        for (p, line) in e.problems.iter().zip(chinese.lines()) {
            assert_eq!(p.render(Lang::Zh), line);
            // Every line of the Chinese message is Chinese, not the English sentence.
            assert!(line.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{line}");
            assert!(!line.contains('{') || p.kind.code() == "label_outside_set", "{line}");
        }
        seen.extend(e.codes().into_iter().map(str::to_owned));
    }
    // Every code but the CSV reader's own errors, which the reader of a byte slice with
    // flexible records never raises besides invalid UTF-8, and the reader's failure, below.
    let mut reached = seen.clone();
    reached.extend(["unreadable_csv".to_owned(), "unreadable".to_owned()]);
    assert_eq!(reached, catalogued_codes());
}

/// A reader that fails after the header.
struct Failing(&'static [u8]);

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = self.0.len().min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn a_failing_reader_is_unreadable_in_both_languages() {
    let e = parse(Failing(b"id,label\na1,1\n"), PredictionFormat::Label, &[1, 2], 1_000).unwrap_err();
    assert_eq!(e.codes(), ["unreadable"]);
    assert!(matches!(&e.problems[0].kind, Kind::Unreadable { error } if error.contains("disk on fire")));
    assert_eq!(e.to_string(), "cannot read the file: disk on fire");
    assert_eq!(e.render(Lang::Zh), "无法读取文件：disk on fire");
}

/// Ids of the Kaggle-rule contest, as test.csv lists them (sorted: published rows are ordered by
/// their random id).
fn contest_ids() -> Vec<String> {
    let mut ids: Vec<String> =
        (0..60u64).map(|i| format!("{:08x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32)).collect();
    ids.sort();
    ids
}

/// A solution of `ids` whose labels and usage come from `seed`, rows in an order from it too.
fn solution(ids: &[String], seed: u64) -> Solution {
    let mut rows: Vec<(u64, String)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let h = (i as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D ^ seed.wrapping_mul(0x9E37_79B9));
            let (label, usage, board) = (
                1 + (h >> 7) % 5,
                ["public", "private"][((h >> 13) % 2) as usize],
                ["a", "b"][((h >> 17) % 2) as usize],
            );
            (h >> 3, format!("{id},{label},{usage},{board}\n"))
        })
        .collect();
    rows.sort();
    let text: String =
        std::iter::once("id,target,usage,board\n".to_owned()).chain(rows.into_iter().map(|r| r.1)).collect();
    Solution::read(text.as_bytes(), &[1, 2, 3, 4, 5]).unwrap()
}

#[test]
fn messages_against_the_solution_tell_no_label_and_no_part_of_the_test_set() {
    let ids = contest_ids();
    let public: TestIds = ids.iter().map(String::as_str).collect();
    let solutions: Vec<Solution> = (1..=6).map(|seed| solution(&ids, seed)).collect();
    // The solutions differ in labels and in which rows are public, and list their ids in
    // another order than test.csv (grouped by usage and board).
    assert!(solutions.iter().any(|s| s.ids.iter().ne(public.iter())));
    assert!(solutions.windows(2).all(|w| w[0].truth != w[1].truth && w[0].strata != w[1].strata));

    let mut files: Vec<String> = Vec::new();
    // Most rows missing, the rest with every row problem.
    let mut f = String::from("id,label\n");
    let _ = writeln!(
        f,
        "{},3\n{},1\n{},9\n{},x\n{},\nzz,1\n{},2",
        ids[40],
        ids[40],
        ids[41],
        ids[42],
        ids[43],
        ids[44].to_uppercase()
    );
    files.push(f);
    // Every id but a few, each predicted with the label it has in the first solution.
    let first = &solutions[0];
    let mut f = String::from("id,label\n");
    for id in ids.iter().skip(5).rev() {
        let row = first.ids.find(id).unwrap();
        let holdout_score::metrics::Truth::Classes(classes) = &first.truth else { unreachable!() };
        let _ = writeln!(f, "{id},{}", [1, 2, 3, 4, 5][classes[row]]);
    }
    let _ = writeln!(f, "{},1", ids[7]);
    files.push(f);
    files.push("id,label\n".into());
    files.push(format!("{},1\n", ids[3]));
    files.push("id,lable\n".into());
    files.push((0..60).fold(String::from("id,label\n"), |mut f, i| {
        let _ = writeln!(f, "{i},1");
        f
    }));

    for file in &files {
        let check = |ids: &TestIds| {
            let expected =
                Expected { ids, format: PredictionFormat::Label, labels: &[1, 2, 3, 4, 5], max_bytes: 1 << 20 };
            validate(file.as_bytes(), &expected).expect_err("refused")
        };
        let against_test_csv = check(&public);
        let shown: Vec<String> = Lang::ALL.iter().map(|&l| against_test_csv.render(l)).collect();
        for s in &solutions {
            let against_solution = check(&s.ids);
            // The same problems, parameters and examples, hence the same words in any language.
            assert_eq!(against_solution, against_test_csv, "{file}");
            for (lang, text) in Lang::ALL.iter().zip(&shown) {
                assert_eq!(&against_solution.render(*lang), text);
            }
            // The scorer's path too: parse once, check against the solution's ids.
            let parsed = parse(file.as_bytes(), PredictionFormat::Label, &[1, 2, 3, 4, 5], 1 << 20).unwrap();
            assert_eq!(parsed.check(&s.ids).unwrap_err(), against_test_csv);
        }
        for text in &shown {
            for word in ["public", "private", "公开", "私有", "solution", "target"] {
                assert!(!text.contains(word), "`{word}` in:\n{text}");
            }
        }
    }
}
