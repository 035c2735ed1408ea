//! The two languages holdout speaks to people (简体中文 and English) and holdout-score's
//! catalogue: the sentences of every submission problem ([`crate::problem`]) and the display
//! names of tasks and metrics ([`DisplayName`]). The API keeps codes and scikit-learn's
//! identifiers; only what a person reads is translated.
//!
//! The catalogue is data, `crates/holdout-score/i18n.toml`, in the website's format
//! (`key = { zh = "…", en = "…" }`, as in `leaderboard/i18n.toml`), so a translator edits text
//! rather than Rust; it is embedded at compile time (`include_str!`: no file IO) and parsed once.
//! A `match` per language would make a missing translation a compile error; here the tests do
//! that work instead: they build every problem code and example, and fail if an entry is
//! missing, lacks a language, or the languages' `{placeholders}` differ from the code's
//! parameters. A template is filled without ever failing: a placeholder without an argument is
//! left as written.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use holdout_schema::{Metric, Task};
use serde::{Deserialize, Serialize};

/// A language of the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Simplified Chinese (`zh`, `zh-CN`).
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// The language's code: `zh` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// A language tag or locale (`zh`, `zh-CN`, `zh_CN.UTF-8`, `en`, `en-US` …) by its primary
    /// subtag, in any case; `None` for any other language.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_', '.', '@']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("zh") {
            Some(Lang::Zh)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language for a POSIX locale such as `LANG` holds: Chinese for `zh…` (`zh_CN.UTF-8`,
    /// `zh_TW`), English for anything else (`C`, `POSIX`, `en_US.UTF-8`, `de_DE`).
    pub fn from_locale(locale: &str) -> Lang {
        if Lang::parse(locale) == Some(Lang::Zh) { Lang::Zh } else { Lang::En }
    }
}

/// A name shown to people, in either language, for what the API names by an identifier.
pub trait DisplayName {
    /// E.g. `二次加权Kappa` / `quadratic weighted kappa` for `cohen_kappa_quadratic`.
    fn display_name(&self, lang: Lang) -> &'static str;
}

impl DisplayName for Metric {
    fn display_name(&self, lang: Lang) -> &'static str {
        template("metric", self.name(), lang, false)
    }
}

impl DisplayName for Task {
    fn display_name(&self, lang: Lang) -> &'static str {
        template("task", self.name(), lang, false)
    }
}

/// The catalogue's text, embedded.
pub const CATALOGUE: &str = include_str!("../i18n.toml");

/// One entry: both languages, and optionally their forms for a count of 1.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    pub(crate) zh: String,
    pub(crate) en: String,
    #[serde(default)]
    pub(crate) zh_one: Option<String>,
    #[serde(default)]
    pub(crate) en_one: Option<String>,
}

/// Entries by table (`problem`, `example`, `metric` …) and key.
pub(crate) type Catalogue = BTreeMap<String, BTreeMap<String, Entry>>;

pub(crate) fn catalogue() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| toml::from_str(CATALOGUE).expect("crates/holdout-score/i18n.toml is valid (tested)"))
}

/// The text of `table.key` in `lang` (its `_one` form if `one` and it has one). Every key the
/// code asks for exists (tested); were one missing, its name is returned rather than a panic.
pub(crate) fn template(table: &str, key: &'static str, lang: Lang, one: bool) -> &'static str {
    let Some(e) = catalogue().get(table).and_then(|t| t.get(key)) else { return key };
    match (lang, one) {
        (Lang::Zh, true) if e.zh_one.is_some() => e.zh_one.as_deref().unwrap_or_default(),
        (Lang::En, true) if e.en_one.is_some() => e.en_one.as_deref().unwrap_or_default(),
        (Lang::Zh, _) => &e.zh,
        (Lang::En, _) => &e.en,
    }
}

/// `template` with each `{name}` replaced by the argument of that name.
pub(crate) fn fill(template: &str, args: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').map(|close| (&after[..close], close)) {
            Some((name, close)) if args.iter().any(|(n, _)| *n == name) => {
                out.push_str(args.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or_default());
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `table.key` in `lang`, filled with `args`.
pub(crate) fn text(table: &str, key: &'static str, lang: Lang, args: &[(&str, String)]) -> String {
    fill(template(table, key, lang, false), args)
}

/// The names between braces in a template, in order (for the tests); `Err` on a brace that
/// opens no well-formed placeholder.
#[cfg(test)]
pub(crate) fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    loop {
        let (open, close) = (rest.find('{'), rest.find('}'));
        match (open, close) {
            (None, None) => return Ok(names),
            (Some(o), Some(c)) if o < c => {
                let name = &rest[o + 1..c];
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    return Err(format!("`{{{name}}}` in `{template}`"));
                }
                names.push(name);
                rest = &rest[c + 1..];
            }
            _ => return Err(format!("a stray brace in `{template}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use holdout_schema::{Metric, Task};

    use super::{DisplayName, Lang, catalogue, fill, placeholders};

    #[test]
    fn every_entry_has_both_languages_with_the_same_placeholders() {
        let c = catalogue();
        assert!(c.len() >= 7, "{:?}", c.keys().collect::<Vec<_>>());
        for (table, entries) in c {
            for (key, e) in entries {
                let at = format!("{table}.{key}");
                assert!(!e.zh.trim().is_empty() && !e.en.trim().is_empty(), "{at}: empty text");
                let set = |t: &str| -> BTreeSet<String> {
                    placeholders(t).unwrap_or_else(|m| panic!("{at}: {m}")).into_iter().map(str::to_owned).collect()
                };
                assert_eq!(set(&e.zh), set(&e.en), "{at}: the languages use different placeholders");
                for one in [&e.zh_one, &e.en_one].into_iter().flatten() {
                    assert!(set(one).is_subset(&set(&e.en)), "{at}: the form for 1 uses another placeholder");
                }
                if e.zh_one.is_some() || e.en_one.is_some() {
                    assert!(set(&e.en).contains("count"), "{at}: a form for 1 where no count is shown");
                }
                // Chinese in the Chinese text of every sentence and name (glue is punctuation).
                if ["problem", "binary_format", "delimiter", "task"].contains(&table.as_str()) {
                    assert!(e.zh.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)), "{at}: `{}`", e.zh);
                }
            }
        }
    }

    #[test]
    fn every_task_and_metric_has_a_display_name_in_both_languages() {
        let tasks = [
            Task::Binary,
            Task::Multiclass { labels: vec![1, 2, 3] },
            Task::Ordinal { labels: vec![1, 2, 3] },
            Task::Regression,
        ];
        let mut names = BTreeSet::new();
        for lang in Lang::ALL {
            for task in &tasks {
                assert!(catalogue()["task"].contains_key(task.name()), "{}: no entry", task.name());
                names.insert((lang, task.display_name(lang)));
            }
            for metric in Metric::ALL {
                let shown = metric.display_name(lang);
                assert!(catalogue()["metric"].contains_key(metric.name()), "{}: no entry", metric.name());
                assert!(!shown.is_empty() && !shown.contains('_'), "{}: {shown}", metric.name());
                names.insert((lang, shown));
            }
        }
        assert_eq!(names.len(), 2 * (tasks.len() + Metric::ALL.len()), "two things share a display name");
        assert_eq!(catalogue()["metric"].len(), Metric::ALL.len(), "an entry for a metric that does not exist");
        assert_eq!(catalogue()["task"].len(), tasks.len(), "an entry for a task that does not exist");
        assert_eq!(Metric::CohenKappaQuadratic.display_name(Lang::Zh), "二次加权Kappa");
        assert_eq!(Metric::Rmse.display_name(Lang::Zh), "均方根误差");
        assert_eq!(Metric::RocAuc.display_name(Lang::En), "ROC AUC");
        assert_eq!(Task::Ordinal { labels: vec![1, 2] }.display_name(Lang::Zh), "有序分类");
        assert_eq!(Task::Ordinal { labels: vec![1, 2] }.display_name(Lang::En), "ordinal classification");
    }

    #[test]
    fn languages_from_tags_and_locales() {
        for (tag, lang) in [
            ("zh", Some(Lang::Zh)),
            ("zh-CN", Some(Lang::Zh)),
            ("ZH_cn", Some(Lang::Zh)),
            ("en", Some(Lang::En)),
            ("en-US", Some(Lang::En)),
            ("fr", None),
            ("", None),
        ] {
            assert_eq!(Lang::parse(tag), lang, "{tag}");
        }
        for (locale, lang) in [
            ("zh_CN.UTF-8", Lang::Zh),
            ("zh_TW.Big5", Lang::Zh),
            ("zh", Lang::Zh),
            ("C", Lang::En),
            ("C.UTF-8", Lang::En),
            ("POSIX", Lang::En),
            ("en_US.UTF-8", Lang::En),
            ("de_DE@euro", Lang::En),
            ("", Lang::En),
        ] {
            assert_eq!(Lang::from_locale(locale), lang, "{locale}");
        }
    }

    #[test]
    fn filling_replaces_known_placeholders_only() {
        let args = [("line", "5".to_owned()), ("id", "x}{".to_owned())];
        assert_eq!(fill("第 {line} 行（id `{id}`）", &args), "第 5 行（id `x}{`）");
        assert_eq!(fill("{other} {line}{", &args), "{other} 5{");
        assert_eq!(placeholders("a {b} c {d_e}").unwrap(), ["b", "d_e"]);
        assert!(placeholders("{1, 2}").is_err() && placeholders("a } b").is_err() && placeholders("{a").is_err());
    }
}
