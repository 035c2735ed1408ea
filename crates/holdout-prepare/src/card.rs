//! Human-readable texts of a release: the bilingual dataset card (`README.md`) competitors
//! read, and the markdown versions of the three reports organizers and judges read.

use std::fmt::Write as _;

use holdout_schema::{ColumnInfo, ColumnKind, FeatureKind, SUPPRESSED, Task, ValueInfo};

use crate::bundle::{Bundle, PublishedValues};

/// Value sets longer than this are summarized.
const SHOWN_VALUES: usize = 12;

impl Bundle<'_> {
    /// The dataset card, Chinese first, then English.
    pub fn dataset_card(&self) -> String {
        let c = self.contest;
        let mut s = String::new();
        let _ = writeln!(s, "# {} / {}\n", c.title.zh, c.title.en);
        let _ = writeln!(s, "{}\n\n{}\n", c.description.zh, c.description.en);
        let _ = writeln!(s, "## 任务 / Task\n");
        let labels = c.task.labels().map(|l| l.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "));
        let _ = writeln!(s, "- 目标 / target: `{}` — {} / {}", c.target.name, c.target.zh, c.target.en);
        let _ = writeln!(
            s,
            "- 任务类型 / task: {}{}",
            c.task.name(),
            labels.map(|l| format!(" (labels: {l})")).unwrap_or_default()
        );
        let _ = writeln!(s, "- 主要指标 / primary metric: `{}`", c.primary_metric.name());
        if !c.secondary_metrics.is_empty() {
            let m: Vec<&str> = c.secondary_metrics.iter().map(|m| m.name()).collect();
            let _ = writeln!(s, "- 其他指标 / also reported: {}", m.join(", "));
        }
        let _ = writeln!(s, "\n## 文件 / Files\n");
        let _ = writeln!(s, "| 文件 file | 行数 rows | 内容 contents |\n|---|---:|---|");
        let _ =
            writeln!(s, "| `train.csv`, `train.parquet` | {} | id, features, `{}` |", self.counts.train, c.target.name);
        let _ = writeln!(s, "| `test.csv`, `test.parquet` | {} | id, features |", self.counts.test);
        let _ = writeln!(s, "| `sample_submission.csv` | {} | a valid submission |", self.counts.test);
        let _ = writeln!(s, "| `MANIFEST.json` | – | SHA-256 of every file; commitment to the hidden solution |");
        let _ = writeln!(
            s,
            "\n测试集中约 {:.0}% 的行用于公开榜，其余用于最终（私有）榜；你不知道哪些行属于哪一部分。\n\
             About {:.0} % of the test rows score the public leaderboard, the rest the final (private) one; \
             which rows are which is hidden.",
            c.split.public_share * 100.0,
            c.split.public_share * 100.0
        );
        let _ = writeln!(s, "\n## 如何提交 / How to submit\n");
        let cols = self.prediction_columns();
        let _ = writeln!(s, "CSV (UTF-8), header `id,{}`, one row per test id:\n", cols.join(","));
        let example = match c.prediction {
            holdout_schema::PredictionFormat::Label => "each row's predicted label",
            holdout_schema::PredictionFormat::Probability => "the probability that the target is 1",
            holdout_schema::PredictionFormat::ClassProbabilities => "one probability per class, summing to 1",
            holdout_schema::PredictionFormat::Value => "the predicted value",
        };
        let _ = writeln!(s, "- 预测列 / prediction: {example}. See `sample_submission.csv`.");
        let _ = writeln!(s, "- 离线检查 / check offline: `holdout validate public/ my_submission.csv`");
        let _ = writeln!(s, "\n## 隐私保护 / Privacy\n");
        let r = &self.risk;
        let _ = writeln!(
            s,
            "直接标识信息（手机号、微信、IP、设备、时间、渠道等）均已删除；熟人可能知道的信息（人口学、收入、问卷版本等）已泛化，\
             个别单元格以 `*` 隐去，使训练集、测试集及两者合并后每种组合（`*` 也算一个取值）至少有 {k} 人。\
             Direct identifiers (phone, WeChat, IP, device, times, channel) are removed. What an acquaintance may know \
             (demographics, income, questionnaire version) is generalized, and single cells are blanked to `*`, so that \
             every combination of those columns (with `*` counted as a value) covers at least {k} respondents in train, \
             in test and in both together.",
            k = r.k
        );
        let levels: Vec<String> = r.generalization.levels.iter().map(|(c, _, l)| format!("`{c}` → {l}")).collect();
        let _ = writeln!(s, "\nGeneralization: {}.", levels.join(", "));
        let _ = writeln!(s, "\n## 字段 / Columns\n");
        let _ = writeln!(s, "| 字段 column | 中文 | English | 取值 values |\n|---|---|---|---|");
        let _ = writeln!(s, "| `id` | 随机编号 | random opaque id | – |");
        for col in &self.columns {
            let schema = self.dataset.survey.column(&col.name);
            let (zh, en) = schema.map_or(("", ""), |c| (c.zh.as_str(), c.en.as_str()));
            let values = match (&col.values, schema.map(|c| &c.kind)) {
                (PublishedValues::Text(_), _) => "free text, personal data replaced by [类型] placeholders".to_owned(),
                (_, Some(ColumnKind::Rating { min, max, reverse, .. })) => {
                    format!("{min}–{max}{}", if *reverse { " (reverse-keyed: high = bad)" } else { "" })
                }
                (_, Some(ColumnKind::MultiSelect { .. })) => "1 ticked, 0 not".to_owned(),
                (PublishedValues::Coded { codes, labels }, kind) => {
                    let mut used = vec![false; labels.len()];
                    for &c in codes {
                        used[usize::from(c)] = true;
                    }
                    value_set(labels, &used, kind)
                }
            };
            let _ = writeln!(s, "| `{}` | {zh} | {en} | {values} |", col.name);
        }
        if !matches!(c.task, Task::Regression) {
            let _ = writeln!(s, "\n`{}`: {} / {}", c.target.name, c.target.zh, c.target.en);
        }
        s
    }

    pub fn screening_markdown(&self) -> String {
        let r = &self.screening;
        let mut s = format!(
            "# Screening report — {}\n\n{} rows read; {} valid; {} screened out ({:.2} %).\n\n| rule | 规则 | rows | only this rule | first rows |\n|---|---|---:|---:|---|\n",
            self.contest.name,
            r.rows,
            r.valid,
            r.invalid,
            100.0 * r.invalid as f64 / r.rows.max(1) as f64
        );
        for rule in &r.rules {
            let ex: Vec<String> = rule.examples.iter().map(ToString::to_string).collect();
            let _ = writeln!(
                s,
                "| {}{} | {} | {} | {} | {} |",
                rule.rule,
                match (&rule.not_run, rule.enabled) {
                    (Some(why), true) => format!(" (not run: {why})"),
                    (_, false) => " (off)".to_owned(),
                    (None, true) => String::new(),
                },
                rule.zh,
                rule.rows,
                rule.only,
                ex.join(", ")
            );
        }
        let _ = writeln!(
            s,
            "\nExact duplicate answer vectors: {}; near duplicates: {}. Speeder threshold: {:.1} s. Bursts: {}.",
            r.exact_duplicates, r.near_duplicates, r.speeder_threshold_seconds, r.bursts
        );
        if r.files.len() > 1 || r.files.iter().any(|f| !f.not_run.is_empty()) {
            let _ = writeln!(
                s,
                "\n## Rules per input file\n\n| file | format | rows | ran | not run |\n|---|---|---:|---|---|"
            );
            for f in &r.files {
                let not_run: Vec<String> =
                    f.not_run.iter().map(|(rule, lacking)| format!("{rule} (needs {})", lacking.join(", "))).collect();
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    f.file,
                    f.format,
                    f.rows,
                    f.ran.join(", "),
                    not_run.join("; ")
                );
            }
        }
        if !r.overlaps.is_empty() {
            let _ = writeln!(s, "\n## Overlaps\n\n| rule | rule | rows |\n|---|---|---:|");
            for (a, b, n) in &r.overlaps {
                let _ = writeln!(s, "| {a} | {b} | {n} |");
            }
        }
        if !r.contradictions.is_empty() {
            let _ = writeln!(s, "\n## Contradictions\n\n| rule | 规则 | rows |\n|---|---|---:|");
            for (name, zh, n) in &r.contradictions {
                let _ = writeln!(s, "| {name} | {zh} | {n} |");
            }
        }
        if let Some(units) = &r.units {
            let _ = writeln!(
                s,
                "\n## Valid samples per initiating unit (发起单位)\n\n| unit (单位) | channels | valid | invalid |\n|---|---:|---:|---:|"
            );
            for u in units {
                let name = u.unit.as_deref().unwrap_or("(not in the channel table / 渠道表未列出)");
                let _ = writeln!(s, "| {name} | {} | {} | {} |", u.channels.len(), u.valid, u.invalid);
            }
        }
        if !r.channels.is_empty() {
            let _ = writeln!(
                s,
                "\n## Valid samples per channel (sourceId)\n\n| channel | valid | invalid |\n|---|---:|---:|"
            );
            for c in &r.channels {
                let name = if c.channel.is_empty() { "(none)" } else { c.channel.as_str() };
                let _ = writeln!(s, "| {name} | {} | {} |", c.valid, c.invalid);
            }
        }
        let _ = writeln!(s, "\nRows with no target after screening: {}.", self.counts.missing_target);
        s
    }

    pub fn risk_markdown(&self) -> String {
        let r = &self.risk;
        let mut s = format!(
            "# Re-identification risk report — {}\n\nPolicy: k = {}, l = {}, suppression ≤ {:.2} %, record risk ≤ {}, average risk ≤ {}, population N = {}.\n\n",
            self.contest.name,
            r.k,
            r.l_diversity.map_or("–".to_owned(), |l| l.to_string()),
            r.max_suppression * 100.0,
            r.max_record_risk,
            r.max_average_risk,
            r.population
        );
        protection_markdown(&mut s, r);
        let _ = writeln!(
            s,
            "## Risk\n\n| table | records | suppressed | classes | smallest class | highest | average | at risk | sample uniques | population uniques (model) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for t in &r.tables {
            let risk = &t.risk;
            let _ = writeln!(
                s,
                "| {} | {} | {} ({:.2} %) | {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.3e} ({:?}) |",
                t.table,
                risk.records,
                risk.suppressed,
                t.suppressed_share * 100.0,
                risk.classes,
                risk.min_class_size,
                risk.prosecutor_highest,
                risk.prosecutor_average,
                risk.records_at_risk,
                risk.sample_uniques,
                risk.population_uniques,
                risk.population_model
            );
        }
        let loss = &r.information_loss;
        let _ = writeln!(
            s,
            "\n## Information loss\n\n- entropy loss (search objective): {:.4}\n- generalization intensity: {:.4}\n- discernibility: {:.4e}\n- non-uniform entropy: {:.4} bits per record\n",
            loss.entropy_loss, loss.generalization_intensity, loss.discernibility, loss.non_uniform_entropy_bits
        );
        let _ = writeln!(s, "Suppressed share by target class: {}", {
            let v: Vec<String> =
                r.suppression_by_class.iter().map(|(c, x)| format!("{c}: {:.2} %", x * 100.0)).collect();
            v.join(", ")
        });
        attack_markdown(&mut s, r);
        let _ = writeln!(
            s,
            "\n## Never published\n\n{}",
            r.dropped_columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        );
        let text = &r.free_text;
        let _ = writeln!(
            s,
            "\n## Free text\n\nPolicy: {}. Texts: {}; with personal data: {}.",
            text.policy, text.texts, text.texts_with_pii
        );
        for (kind, n) in &text.found {
            let _ = writeln!(s, "- {kind}: {n}");
        }
        if text.texts > 0 {
            let _ = writeln!(
                s,
                "\nSecond detector on the scrubbed texts (runs of ≥ 7 digits in any notation, and anything the scrubber would still match): {} found{}.",
                text.residual.total(),
                if text.residual.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", serde_json::to_string(&text.residual).unwrap_or_default())
                }
            );
        }
        s
    }

    pub fn leakage_markdown(&self) -> String {
        let r = &self.leakage;
        let mut s = format!(
            "# Leakage audit — {}\n\n| check | value | limit |\n|---|---:|---:|\n| adversarial validation AUC (train vs test) | {:.4} | {} |\n| test rows with an identical train twin | {} | {:.0} % of test |\n| row (= id) order vs target (Spearman), train / test | {:.4} / {:.4} | ≈ 0 |\n",
            self.contest.name,
            r.adversarial_auc,
            crate::leakage::MAX_ADVERSARIAL_AUC,
            r.cross_split_duplicates,
            crate::leakage::MAX_CROSS_DUPLICATES * 100.0,
            r.row_order_target_correlation_train,
            r.row_order_target_correlation_test
        );
        let _ =
            writeln!(s, "\n## Strongest single features on the target\n\n| feature | share explained |\n|---|---:|");
        for f in &r.top_target_features {
            let _ = writeln!(s, "| `{}` | {:.4} |", f.feature, f.score);
        }
        let _ =
            writeln!(s, "\n## Features that differ most between train and test\n\n| feature | spread |\n|---|---:|");
        for f in &r.adversarial_top_features {
            let _ = writeln!(s, "| `{}` | {:.4} |", f.feature, f.score);
        }
        let _ = writeln!(
            s,
            "\nVerdict: {}",
            if r.failures.is_empty() { "pass".to_owned() } else { format!("FAIL — {}", r.failures.join("; ")) }
        );
        s
    }
}

fn value_set(labels: &[String], used: &[bool], kind: Option<&ColumnKind>) -> String {
    let named = |code: &str| {
        kind.and_then(ColumnKind::levels)
            .and_then(|levels| levels.iter().find(|l| l.code.to_string() == code))
            .map_or(code.to_owned(), |l| format!("{code} = {} / {}", l.zh, l.en))
    };
    let present: Vec<&String> = labels.iter().zip(used).filter(|(l, u)| **u && !l.is_empty()).map(|(l, _)| l).collect();
    let shown: Vec<String> = present
        .iter()
        .take(SHOWN_VALUES)
        .map(|l| if *l == "*" { "`*` suppressed".to_owned() } else { named(l) })
        .collect();
    let mut s = shown.join("; ");
    if present.len() > SHOWN_VALUES {
        let _ = write!(s, "; … ({} values)", present.len());
    }
    if labels.iter().zip(used).any(|(l, u)| *u && l.is_empty()) {
        s.push_str("; empty = not asked / not answered");
    }
    s
}

impl Bundle<'_> {
    /// The machine-readable description of every published feature column (`columns` in
    /// `MANIFEST.json`), in file order.
    pub fn column_infos(&self) -> Vec<ColumnInfo> {
        let levels: std::collections::HashMap<&str, &str> =
            self.risk.generalization.levels.iter().map(|(c, _, l)| (c.as_str(), l.as_str())).collect();
        self.columns
            .iter()
            .map(|col| {
                let schema = self.dataset.survey.column(&col.name);
                let generalized = levels.get(col.name.as_str()).map(|l| (*l).to_owned());
                let (mut used, labels): (Vec<bool>, &[String]) = match &col.values {
                    PublishedValues::Coded { codes, labels } => {
                        let mut used = vec![false; labels.len()];
                        for &c in codes {
                            used[usize::from(c)] = true;
                        }
                        (used, labels)
                    }
                    PublishedValues::Text(t) => (vec![t.iter().any(String::is_empty)], &[][..]),
                };
                let has_missing = match &col.values {
                    PublishedValues::Coded { .. } => labels.iter().zip(&used).any(|(l, u)| *u && l.is_empty()),
                    PublishedValues::Text(_) => used.pop().unwrap_or(false),
                };
                let has_suppressed = labels.iter().zip(&used).any(|(l, u)| *u && l == SUPPRESSED);
                let mut info = ColumnInfo {
                    name: col.name.clone(),
                    zh: schema.map(|c| c.zh.clone()).unwrap_or_default(),
                    en: schema.map(|c| c.en.clone()).unwrap_or_default(),
                    kind: FeatureKind::Categorical,
                    values: Vec::new(),
                    min: None,
                    max: None,
                    reverse: false,
                    item: schema.and_then(|c| c.item.clone()),
                    generalized: generalized.clone(),
                    has_missing,
                    has_suppressed,
                };
                let kind = schema.map(|c| &c.kind);
                // The values that occur (besides empty and `*`), with their labels.
                let occurring = || -> Vec<ValueInfo> {
                    labels
                        .iter()
                        .zip(&used)
                        .filter(|(l, u)| **u && !l.is_empty() && *l != SUPPRESSED)
                        .map(|(l, _)| level_info(kind, l))
                        .collect()
                };
                if matches!(col.values, PublishedValues::Text(_)) {
                    info.kind = FeatureKind::Text;
                } else if generalized.as_deref().is_some_and(|l| l != "code") {
                    // Published at a coarser level: categorical over the values that occur.
                    info.values = occurring();
                } else {
                    match kind {
                        Some(ColumnKind::Categorical { levels } | ColumnKind::Ordinal { levels }) => {
                            if matches!(kind, Some(ColumnKind::Ordinal { .. })) {
                                info.kind = FeatureKind::Ordinal;
                            }
                            info.values = levels
                                .iter()
                                .map(|l| ValueInfo { value: l.code.to_string(), zh: l.zh.clone(), en: l.en.clone() })
                                .collect();
                        }
                        Some(ColumnKind::Rating { min, max, reverse, .. }) => {
                            info.kind = FeatureKind::Rating;
                            (info.min, info.max, info.reverse) = (Some(*min), Some(*max), *reverse);
                        }
                        Some(ColumnKind::MultiSelect { .. }) => {
                            info.kind = FeatureKind::MultiSelect;
                            (info.min, info.max) = (Some(0), Some(1));
                        }
                        Some(ColumnKind::Integer { min, max, .. }) => {
                            info.kind = FeatureKind::Integer;
                            (info.min, info.max) = (Some(*min), Some(*max));
                        }
                        // Columns without a schema entry or of other kinds.
                        _ => info.values = occurring(),
                    }
                }
                info
            })
            .collect()
    }
}

/// A published value with its labels when the schema names it.
fn level_info(kind: Option<&ColumnKind>, value: &str) -> ValueInfo {
    kind.and_then(ColumnKind::levels)
        .and_then(|levels| levels.iter().find(|l| l.code.to_string() == value))
        .map_or_else(
            || ValueInfo { value: value.to_owned(), zh: value.to_owned(), en: value.to_owned() },
            |l| ValueInfo { value: value.to_owned(), zh: l.zh.clone(), en: l.en.clone() },
        )
}

/// The linkage attack, the answer vectors' uniqueness and the utility price, for the risk report.
fn attack_markdown(s: &mut String, r: &crate::bundle::RiskReport) {
    if let Some(u) = &r.utility_price {
        let show = |v: Option<f64>| v.map_or("undefined".to_owned(), |v| format!("{v:.4}"));
        let _ = writeln!(
            s,
            "\n## What anonymization cost\n\n`{}` fitted on {} training rows and scored on {} test rows, `{}`: {} with the raw quasi-identifiers, {} as published.",
            u.model,
            u.training_rows,
            u.test_rows,
            u.metric,
            show(u.raw),
            show(u.published)
        );
    }
    if let Some(a) = &r.linkage_attack {
        let _ = writeln!(
            s,
            "\n## Linkage attack\n\nAn acquaintance knows {} valid respondents' background columns (raw values) and looks for them in train and test: {} of them are published; {} ({:.2} %) matched uniquely and rightly, {} ({:.2} %) among at most k candidates, fewest candidates {}. Expected match rate {:.4} (gate: ≤ {:.4}).",
            a.sampled,
            a.published,
            a.reidentified,
            a.reidentified_share * 100.0,
            a.within_k,
            a.within_k_share * 100.0,
            a.fewest_candidates,
            a.expected_match_rate,
            a.threshold
        );
    }
    if let Some(u) = &r.answer_uniqueness {
        let _ = writeln!(
            s,
            "\nInformation only: {} of {} published rows ({:.2} %) are alone on their {} answer columns.",
            u.unique_rows,
            u.rows,
            u.unique_share * 100.0,
            u.columns
        );
    }
}

/// The levels, the local suppression and the search, for the risk report.
fn protection_markdown(s: &mut String, r: &crate::bundle::RiskReport) {
    let search = &r.generalization;
    let _ = writeln!(
        s,
        "## Generalization and local suppression\n\n| column | hierarchy | importance | level | cells generalized | cells suppressed |\n|---|---|---:|---|---:|---:|"
    );
    for ((c, h, l), p) in search.levels.iter().zip(&r.columns) {
        let _ = writeln!(
            s,
            "| `{c}` | {h} | {} | {l} | {:.2} % | {:.2} % |",
            p.importance,
            p.generalized_share * 100.0,
            p.suppressed_share * 100.0
        );
    }
    let o = &search.outcome;
    let _ = writeln!(
        s,
        "\nLattice of {} nodes: {} counted, {} finished by local suppression, {} ruled out by a bound on their loss. \
             Loss {:.4} (levels {:.4}). At these levels {} train and {} test rows were in classes below k (or l); \
             {} rows lost at least one cell ({} cells), {} rows every quasi-identifier.\n",
        search.lattice_size,
        search.evaluated,
        search.locally_suppressed,
        search.pruned_by_bound,
        search.loss,
        search.generalization_loss,
        o.unsafe_train,
        o.unsafe_test,
        o.rows_with_suppressed_cells,
        o.cells_suppressed,
        o.rows_suppressed
    );
}
