//! A `schema.toml` skeleton from a `TDuck` form definition (`fm_user_form_item` rows, as JSON
//! lines or a JSON array): every question with its kind, labels, options and `[tduck]`
//! mapping filled in; the roles, English texts and hierarchies left for the organizer, marked
//! `TODO` (an empty `role` fails to load, with its file, line and column, until it is set).

#![expect(clippy::format_collect, reason = "a small text, written once")]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Why a form definition cannot be turned into a skeleton.
#[derive(Debug, thiserror::Error)]
pub enum SkeletonError {
    #[error("line {line}: not a JSON object ({message})")]
    Json { line: usize, message: String },
    #[error("item {index}: `{key}` is missing or not {what}")]
    Field { index: usize, key: &'static str, what: &'static str },
    #[error("the form definition has no items")]
    Empty,
    #[error("{0} forms: holdout's survey versions are `public` and `practitioner`, so at most two")]
    TooManyForms(usize),
}

/// One `fm_user_form_item` row.
#[derive(Debug)]
struct Item {
    form_key: String,
    id: String,
    kind: String,
    title: String,
    sort: i64,
    scheme: Value,
}

fn items(text: &str) -> Result<Vec<Item>, SkeletonError> {
    let rows: Vec<Value> = if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<Value>>(text)
            .map_err(|e| SkeletonError::Json { line: e.line(), message: e.to_string() })?
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| SkeletonError::Json { line: i + 1, message: e.to_string() })
            })
            .collect::<Result<_, _>>()?
    };
    let mut out = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let text = |key: &'static str| {
            row.get(key).and_then(Value::as_str).map(str::to_owned).ok_or(SkeletonError::Field {
                index,
                key,
                what: "text",
            })
        };
        if row.get("is_display_type").and_then(Value::as_i64) == Some(1) {
            continue;
        }
        let scheme = match row.get("scheme") {
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
            Some(v) => v.clone(),
            None => Value::Null,
        };
        out.push(Item {
            form_key: text("form_key")?,
            id: text("form_item_id")?,
            kind: text("type")?,
            title: text("label")?,
            sort: row.get("sort").and_then(Value::as_i64).unwrap_or(index as i64),
            scheme,
        });
    }
    out.sort_by(|a, b| a.form_key.cmp(&b.form_key).then(a.sort.cmp(&b.sort)));
    Ok(out)
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn code(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n.as_i64().map(|i| i.to_string()),
        Value::String(s) => Some(q(s)),
        _ => None,
    }
}

/// Options of a scheme as `(label, code text as TOML)`.
fn options(scheme: &Value) -> Vec<(String, String, &Value)> {
    scheme
        .pointer("/config/options")
        .and_then(Value::as_array)
        .map(|o| {
            o.iter()
                .filter_map(|o| {
                    let label = o.get("label")?.as_str()?.to_owned();
                    Some((label, code(o.get("value")?)?, o))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The question number a title starts with (`5. 您经常…` → 5), if any.
fn number(title: &str) -> Option<u32> {
    let digits: String = title.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// What a skeleton column declares besides its name and labels.
struct Column {
    name: String,
    zh: String,
    body: String,
}

/// The skeleton's text for a form definition.
#[expect(clippy::too_many_lines, reason = "one arm per item type")]
pub fn skeleton(text: &str) -> Result<String, SkeletonError> {
    let items = items(text)?;
    if items.is_empty() {
        return Err(SkeletonError::Empty);
    }
    let mut forms: Vec<String> = items.iter().map(|i| i.form_key.clone()).collect();
    forms.dedup();
    if forms.len() > 2 {
        return Err(SkeletonError::TooManyForms(forms.len()));
    }
    let versions = ["public", "practitioner"];
    let all_versions: Vec<String> = versions[..forms.len()].iter().map(|v| q(v)).collect();
    let mut columns: BTreeMap<String, (Column, Vec<&str>)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut mapping = String::new();
    let mut skipped = Vec::new();
    for (f, form) in forms.iter().enumerate() {
        let version = versions[f];
        let _ = write!(
            mapping,
            "\n[[tduck.form]]\nkey = {}\nversion = \"{version}\"\nname = \"TODO: the form's title\"\n",
            q(form)
        );
        for (n, item) in items.iter().filter(|i| i.form_key == *form).enumerate() {
            let base = format!("q{:02}", number(&item.title).map_or(n as u32 + 1, |v| v));
            let zh = holdout_title(&item.title);
            let mut add = |name: String, zh: String, body: String| {
                let entry = columns.entry(name.clone()).or_insert_with(|| {
                    order.push(name.clone());
                    (Column { name, zh, body }, Vec::new())
                });
                entry.1.push(version);
            };
            let _ = write!(mapping, "\n[[tduck.form.item]]\nid = {}\ntitle = {}\n", q(&item.id), q(&item.title));
            match item.kind.as_str() {
                "RADIO" | "SELECT" => {
                    let opts = options(&item.scheme);
                    let levels: String = opts
                        .iter()
                        .map(|(l, c, _)| format!("  {{ code = {c}, zh = {}, en = \"TODO\" }},\n", q(l)))
                        .collect();
                    add(
                        base.clone(),
                        zh.clone(),
                        format!("kind = \"categorical\"\nmissing = \"\"\nlevels = [\n{levels}]\n"),
                    );
                    let other = other_column(&opts, &base, &zh, &mut add);
                    let _ = write!(
                        mapping,
                        "type = \"radio\"\ncolumn = \"{base}\"\n{other}options = [\n{}]\n",
                        option_list(&opts)
                    );
                }
                "CHECKBOX" => {
                    let opts = options(&item.scheme);
                    let group = format!("Q{}", &base[1..].trim_start_matches('0'));
                    for (label, c, _) in &opts {
                        let Ok(option) = c.parse::<i64>() else { continue };
                        add(
                            format!("{base}_{option}"),
                            label.clone(),
                            format!("item = \"{group}\"\nkind = \"multi_select\"\noption = {option}\n"),
                        );
                    }
                    let other = other_column(&opts, &base, &zh, &mut add);
                    let _ = write!(
                        mapping,
                        "type = \"checkbox\"\nitem = \"{group}\"\n{other}options = [\n{}]\n",
                        option_list(&opts)
                    );
                }
                "MATRIX_SCALE" => {
                    let level = item.scheme.pointer("/table/level").and_then(Value::as_i64).unwrap_or(5);
                    let rows =
                        item.scheme.pointer("/table/rows").and_then(Value::as_array).cloned().unwrap_or_default();
                    let mut list = String::new();
                    for (r, row) in rows.iter().enumerate() {
                        let label = row.get("label").and_then(Value::as_str).unwrap_or_default();
                        let id = row
                            .get("id")
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                            .unwrap_or_default();
                        let name = format!("{base}_{}", r + 1);
                        add(
                            name.clone(),
                            label.trim_end_matches('：').to_owned(),
                            format!(
                                "item = \"Q{}.{}\"\nkind = \"rating\"\nmin = 1\nmax = {level}\n",
                                base[1..].trim_start_matches('0'),
                                r + 1
                            ),
                        );
                        let _ = writeln!(list, "  {{ id = {}, label = {}, column = \"{name}\" }},", q(&id), q(label));
                    }
                    let _ = write!(mapping, "type = \"matrix_scale\"\nrows = [\n{list}]\n");
                }
                "RATE" => {
                    let max = item.scheme.get("max").and_then(Value::as_i64).unwrap_or(5);
                    add(base.clone(), zh, format!("kind = \"rating\"\nmissing = \"\"\nmin = 1\nmax = {max}\n"));
                    let _ = write!(mapping, "type = \"rate\"\ncolumn = \"{base}\"\n");
                }
                "CASCADER" => {
                    let opts = options(&item.scheme);
                    let levels: String = opts
                        .iter()
                        .map(|(l, c, _)| format!("  {{ code = {c}, zh = {}, en = \"TODO\" }},\n", q(l)))
                        .collect();
                    let group = format!("{base}_group");
                    add(
                        group.clone(),
                        format!("{zh}（第一级）"),
                        format!("kind = \"categorical\"\nlevels = [\n{levels}]\n"),
                    );
                    // A numeric second level (years, ages) becomes an integer column.
                    let mut ranges = Vec::new();
                    for (label, c, o) in &opts {
                        let children: Vec<i64> = o
                            .get("children")
                            .and_then(Value::as_array)
                            .map(|ch| {
                                ch.iter().filter_map(|c| c.get("label").and_then(Value::as_str)?.parse().ok()).collect()
                            })
                            .unwrap_or_default();
                        let range = children.iter().min().zip(children.iter().max());
                        ranges.push((label.clone(), c.clone(), range.map(|(a, b)| (*a, *b))));
                    }
                    let lo = ranges.iter().filter_map(|r| r.2).map(|r| r.0).min();
                    let hi = ranges.iter().filter_map(|r| r.2).map(|r| r.1).max();
                    let list: String = ranges
                        .iter()
                        .map(|(l, c, r)| {
                            let range = r.map(|(a, b)| format!(", min = {a}, max = {b}")).unwrap_or_default();
                            format!("  {{ label = {}, code = {c}{range} }},\n", q(l))
                        })
                        .collect();
                    let second = if let (Some(lo), Some(hi)) = (lo, hi) {
                        add(base.clone(), zh, format!("kind = \"integer\"\nmissing = \"\"\nmin = {lo}\nmax = {hi}\n"));
                        format!("second = \"{base}\"\n")
                    } else {
                        String::new()
                    };
                    let _ = write!(mapping, "type = \"cascader\"\nfirst = \"{group}\"\n{second}options = [\n{list}]\n");
                }
                "PROVINCE_CITY" => {
                    add(
                        format!("{base}_province"),
                        format!("{zh}（省）"),
                        "kind = \"text\"\n# TODO: hierarchy = \"geography\"\n".into(),
                    );
                    add(
                        format!("{base}_city"),
                        format!("{zh}（市）"),
                        "kind = \"text\"\n# TODO: hierarchy = \"geography\"\n".into(),
                    );
                    let _ = write!(
                        mapping,
                        "type = \"province_city\"\nprovince = \"{base}_province\"\ncity = \"{base}_city\"\n"
                    );
                }
                "INPUT" | "TEXTAREA" => {
                    add(base.clone(), zh, "kind = \"text\"\nmissing = \"\"\n".into());
                    let _ = write!(mapping, "type = \"textarea\"\ncolumn = \"{base}\"\n");
                }
                "NUMBER" => {
                    add(
                        base.clone(),
                        zh,
                        "kind = \"integer\"\nmissing = \"\"\nmin = 0\nmax = 1000000  # TODO\n".into(),
                    );
                    let _ = write!(mapping, "type = \"number\"\ncolumn = \"{base}\"\n");
                }
                other => {
                    // Drop the half-written item: holdout has no mapping for this type.
                    if let Some(at) = mapping.rfind("\n[[tduck.form.item]]") {
                        mapping.truncate(at);
                        mapping.push('\n');
                    }
                    skipped.push(format!("{} ({other})", item.id));
                }
            }
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "# Skeleton written by `holdout schema init --tduck-form` from {} form(s).\n\
         # TODO for the organizer: set every `role = \"\"` (direct_identifier, quasi_identifier,\n\
         # sensitive, answer, free_text, metadata), the `en` texts, the hierarchies of the\n\
         # quasi-identifiers, ordinal vs categorical, exclusive options, and the dates below.\n",
        forms.len()
    );
    if !skipped.is_empty() {
        let _ = writeln!(out, "# Items left out (no holdout mapping for their type): {}", skipped.join(", "));
    }
    let _ = write!(
        out,
        "\nname = \"TODO-survey\"\nzh = \"TODO\"\nen = \"TODO\"\nyear = 2026\ntimezone = \"Asia/Shanghai\"\n\
         collection_start = \"2026-01-01 00:00:00\"  # TODO\ncollection_end = \"2026-12-31 00:00:00\"  # TODO\n\
         versions = [{}]\n",
        all_versions.join(", ")
    );
    let form_levels: String =
        forms.iter().map(|f| format!("  {{ code = {}, zh = {}, en = {} }},\n", q(f), q(f), q(f))).collect();
    let version_levels: String = versions[..forms.len()]
        .iter()
        .map(|v| format!("  {{ code = \"{v}\", zh = \"{v}\", en = \"{v}\" }},\n"))
        .collect();
    let system = [
        ("serial_number", "提交序号", "kind = \"identifier\"\nrole = \"direct_identifier\"\n".to_owned()),
        ("form_key", "表单标识", format!("kind = \"categorical\"\nrole = \"metadata\"\nlevels = [\n{form_levels}]\n")),
        (
            "version",
            "问卷版本",
            format!("kind = \"categorical\"\nrole = \"metadata\"\nlevels = [\n{version_levels}]\n"),
        ),
        ("source_id", "来源渠道编号", "kind = \"identifier\"\nrole = \"direct_identifier\"\nmissing = \"\"\n".into()),
        (
            "create_time",
            "提交时间",
            "kind = \"timestamp\"\nrole = \"metadata\"\nformat = \"%Y-%m-%d %H:%M:%S\"\n".into(),
        ),
        (
            "complete_time_ms",
            "填写用时",
            "kind = \"integer\"\nrole = \"metadata\"\nmin = 0\nmax = 86400000\nunit = \"ms\"\n".into(),
        ),
        ("submit_os", "操作系统", "kind = \"text\"\nrole = \"metadata\"\nmissing = \"\"\n".into()),
        ("submit_browser", "浏览器", "kind = \"text\"\nrole = \"metadata\"\nmissing = \"\"\n".into()),
        ("submit_ua", "用户代理", "kind = \"text\"\nrole = \"direct_identifier\"\nmissing = \"\"\n".into()),
        ("submit_ip", "提交IP", "kind = \"identifier\"\nrole = \"direct_identifier\"\nmissing = \"\"\n".into()),
        ("submit_address", "IP归属地", "kind = \"text\"\nrole = \"metadata\"\nmissing = \"\"\n".into()),
        ("wx_open_id", "微信OpenID", "kind = \"identifier\"\nrole = \"direct_identifier\"\nmissing = \"\"\n".into()),
    ];
    for (name, zh, body) in &system {
        let _ = write!(
            out,
            "\n[[column]]\nname = \"{name}\"\nzh = \"{zh}\"\nen = \"TODO\"\n{body}versions = [{}]\n",
            all_versions.join(", ")
        );
    }
    for name in &order {
        let (c, asked) = &columns[name];
        let asked: Vec<String> = asked.iter().map(|v| q(v)).collect();
        // A column whose role can only be one thing declares it in its body.
        let role = if c.body.starts_with("role = ") { "" } else { "role = \"\"  # TODO\n" };
        let _ = write!(
            out,
            "\n[[column]]\nname = \"{}\"\nzh = {}\nen = \"TODO\"\n{role}versions = [{}]\n{}",
            c.name,
            q(&c.zh),
            asked.join(", "),
            c.body
        );
    }
    let _ = write!(
        out,
        "\n[tduck]\ntimezone = \"Asia/Shanghai\"\nfields = {{ serial_number = \"serial_number\", create_time = \"create_time\", \
         complete_time = \"complete_time_ms\", submit_request_ip = \"submit_ip\", submit_ua = \"submit_ua\", \
         submit_os = \"submit_os\", submit_browser = \"submit_browser\", submit_address = \"submit_address\", \
         wx_open_id = \"wx_open_id\", form_key = \"form_key\", ext_value = \"source_id\" }}\nversion_column = \"version\"\n"
    );
    out.push_str(&mapping);
    Ok(out)
}

/// A title without its leading number, as a column label (`5. 您经常…` → `您经常…`).
fn holdout_title(title: &str) -> String {
    let t = title.trim();
    let rest = t.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.trim_start_matches(['.', '、', ' ', '．']);
    crate::tduck::normalize(if rest.is_empty() { t } else { rest })
}

/// For a choice with the 其他 option (`TDuck` gives it the value 0), the free-text column
/// `{base}_other` that keeps what respondents typed, and the mapping's `other = …` line; else
/// nothing.
fn other_column(
    opts: &[(String, String, &Value)],
    base: &str,
    zh: &str,
    add: &mut impl FnMut(String, String, String),
) -> String {
    if !opts.iter().any(|(_, c, _)| c == "0") {
        return String::new();
    }
    let name = format!("{base}_other");
    add(
        name.clone(),
        format!("{zh}（其他，请注明）"),
        "role = \"free_text\"\nkind = \"text\"\nmissing = \"\"\nmax_len = 200\n".into(),
    );
    format!("other = \"{name}\"\n")
}

fn option_list(opts: &[(String, String, &Value)]) -> String {
    opts.iter().map(|(l, c, _)| format!("  {{ label = {}, code = {c} }},\n", q(l))).collect()
}
