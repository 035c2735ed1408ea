//! Screening out invalid samples (有效样本筛选): repeat respondents, duplicate answer vectors,
//! speeders, straight-liners, self-contradicting answers and scripted bursts. Every rule runs on
//! every row, so the report can show overlaps; a row flagged by any rule is dropped.

use std::hash::{Hash, Hasher};

use holdout_schema::{Code, ColumnKind, Dataset, Role, Screening, Test};
use rustc_hash::FxHashMap as HashMap;
use rustc_hash::FxHasher;
use serde::Serialize;

use crate::raw::{MISSING, RawColumn, RawTable, Values, composite_key};

/// The screening rules, one bit each in [`Screened::flags`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The same person (openid, phone) answered before.
    RepeatPerson = 1,
    /// The same device (IP and user agent) answered before, within the window.
    RepeatDevice = 2,
    /// The same answers, or the same answers but for a few ratings off by one, were given before.
    DuplicateAnswers = 4,
    Speeder = 8,
    Straightliner = 16,
    Contradiction = 32,
    BotBurst = 64,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::RepeatPerson,
        Rule::RepeatDevice,
        Rule::DuplicateAnswers,
        Rule::Speeder,
        Rule::Straightliner,
        Rule::Contradiction,
        Rule::BotBurst,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::RepeatPerson => "repeat_person",
            Rule::RepeatDevice => "repeat_device",
            Rule::DuplicateAnswers => "duplicate_answers",
            Rule::Speeder => "speeder",
            Rule::Straightliner => "straightliner",
            Rule::Contradiction => "contradiction",
            Rule::BotBurst => "bot_burst",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Rule::RepeatPerson => "同一人重复作答",
            Rule::RepeatDevice => "同一设备重复作答",
            Rule::DuplicateAnswers => "答案重复或近似重复",
            Rule::Speeder => "作答过快",
            Rule::Straightliner => "矩阵题直线作答",
            Rule::Contradiction => "回答自相矛盾",
            Rule::BotBurst => "同一渠道脚本批量提交",
        }
    }

    pub fn bit(self) -> u8 {
        self as u8
    }
}

/// Rows differing from an earlier row in at most this many ratings (each by one point), and
/// nowhere else, are near-duplicates.
pub const NEAR_DUPLICATE_CELLS: usize = 3;

#[derive(Debug, Clone, Serialize)]
pub struct RuleCount {
    pub rule: &'static str,
    pub zh: &'static str,
    pub enabled: bool,
    /// Why the rule could not run on any row (`needs complete_time_ms`), if it could not:
    /// never a silent pass.
    pub not_run: Option<String>,
    /// Rows the rule flags.
    pub rows: u64,
    /// Rows no other rule flags.
    pub only: u64,
    /// 1-based data rows of the first few flagged rows, for the organizer to inspect.
    pub examples: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScreeningReport {
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    pub rules: Vec<RuleCount>,
    /// Rows flagged by both rules, for every pair that shares any.
    pub overlaps: Vec<(&'static str, &'static str, u64)>,
    /// Rows per contradiction rule of the survey.
    pub contradictions: Vec<(String, String, u64)>,
    pub exact_duplicates: u64,
    pub near_duplicates: u64,
    /// The fill duration below which a response is a speeder (the larger of the fixed threshold
    /// and the percentile).
    pub speeder_threshold_seconds: f64,
    pub bursts: u64,
    /// Which rules ran on which input file.
    pub files: Vec<FileRules>,
    /// Valid and invalid rows per distribution channel (`sourceId`), when the channel's text
    /// was kept; ordered by channel. Private: never published.
    pub channels: Vec<ChannelCount>,
    /// The same counts per initiating unit, given the organizer's channel table.
    pub units: Option<Vec<UnitCount>>,
}

/// Rows from one distribution channel; `channel` is empty for rows without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelCount {
    pub channel: String,
    pub valid: u64,
    pub invalid: u64,
}

/// Rows from the channels of one initiating unit (发起单位). `unit` is `None` for the channels
/// the table does not list (and the rows without a channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitCount {
    pub unit: Option<String>,
    /// The unit's channels that responses came through / that the table lists.
    pub channels: Vec<String>,
    pub valid: u64,
    pub invalid: u64,
}

/// The organizer's channel table: `sourceId` → initiating unit, in the table's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelTable {
    pub entries: Vec<(String, String)>,
}

/// Counts per channel, from the channel column's kept text; empty when it was not kept.
fn channel_counts(column: &RawColumn, flags: &[u8]) -> Vec<ChannelCount> {
    let (Values::Keyed(digests), Some(originals)) = (&column.values, &column.originals) else { return Vec::new() };
    let mut counts: HashMap<u64, (u64, u64)> = HashMap::default();
    for (d, f) in digests.iter().zip(flags) {
        let c = counts.entry(*d).or_default();
        if *f == 0 {
            c.0 += 1;
        } else {
            c.1 += 1;
        }
    }
    let mut out: Vec<ChannelCount> = counts
        .into_iter()
        .map(|(d, (valid, invalid))| ChannelCount {
            channel: originals.get(&d).map_or_else(String::new, ToString::to_string),
            valid,
            invalid,
        })
        .collect();
    out.sort_by(|a, b| a.channel.cmp(&b.channel));
    out
}

/// Counts per initiating unit: every unit of the table (in its order, with zero counts if no
/// response came through its channels), then the rows whose channel it does not list.
pub fn unit_counts(channels: &[ChannelCount], table: &ChannelTable) -> Vec<UnitCount> {
    let mut units: Vec<UnitCount> = Vec::new();
    let mut unit_of: HashMap<&str, usize> = HashMap::default();
    let mut listed: HashMap<&str, usize> = HashMap::default();
    for (id, unit) in &table.entries {
        let i = *unit_of.entry(unit.as_str()).or_insert_with(|| {
            units.push(UnitCount { unit: Some(unit.clone()), channels: Vec::new(), valid: 0, invalid: 0 });
            units.len() - 1
        });
        units[i].channels.push(id.clone());
        listed.insert(id.as_str(), i);
    }
    let mut unlisted = UnitCount { unit: None, channels: Vec::new(), valid: 0, invalid: 0 };
    for c in channels {
        let unit = if let Some(&i) = listed.get(c.channel.as_str()) {
            &mut units[i]
        } else {
            unlisted.channels.push(c.channel.clone());
            &mut unlisted
        };
        unit.valid += c.valid;
        unit.invalid += c.invalid;
    }
    if !unlisted.channels.is_empty() {
        units.push(unlisted);
    }
    units
}

/// The rules that ran, and those that could not, on one input file.
#[derive(Debug, Clone, Serialize)]
pub struct FileRules {
    pub file: String,
    pub format: String,
    pub rows: u64,
    pub ran: Vec<&'static str>,
    /// Each rule that could not run and the columns it needs that the file lacks.
    pub not_run: Vec<(&'static str, Vec<String>)>,
}

/// The columns a rule needs beyond the answers.
fn needs(config: &Screening, rule: Rule) -> Vec<&str> {
    match rule {
        Rule::RepeatPerson => config.person_keys.iter().map(String::as_str).collect(),
        Rule::RepeatDevice => config.device_key.iter().map(String::as_str).collect(),
        Rule::Speeder => vec![config.duration.as_str()],
        Rule::BotBurst => vec![config.channel.as_str(), config.duration.as_str()],
        Rule::DuplicateAnswers | Rule::Straightliner | Rule::Contradiction => Vec::new(),
    }
}

/// Per file, the rules whose columns it has; per rule, what it lacks where it cannot run.
fn coverage(config: &Screening, table: &RawTable) -> Vec<FileRules> {
    table
        .sources
        .iter()
        .map(|source| {
            let mut ran = Vec::new();
            let mut not_run = Vec::new();
            for rule in Rule::ALL {
                let lacking: Vec<String> =
                    needs(config, rule).into_iter().filter(|c| source.lacks(c)).map(str::to_owned).collect();
                if lacking.is_empty() {
                    ran.push(rule.name());
                } else {
                    not_run.push((rule.name(), lacking));
                }
            }
            FileRules {
                file: source.file.clone(),
                format: source.format.clone(),
                rows: source.rows as u64,
                ran,
                not_run,
            }
        })
        .collect()
}

/// The verdict on every row.
#[derive(Debug, Clone)]
pub struct Screened {
    /// Bit set of [`Rule`]s per row; 0 is a valid row.
    pub flags: Vec<u8>,
    pub report: ScreeningReport,
}

impl Screened {
    pub fn is_valid(&self, row: usize) -> bool {
        self.flags[row] == 0
    }
}

const EXAMPLES: usize = 5;

#[derive(Debug, thiserror::Error)]
#[error("screening needs column `{0}` in a form it can read")]
pub struct ScreenError(pub String);

/// Runs every enabled rule on every row.
#[expect(clippy::too_many_lines, reason = "one block per rule, in the order the report lists them")]
pub fn screen(dataset: &Dataset, config: &Screening, table: &RawTable) -> Result<Screened, ScreenError> {
    let n = table.rows;
    let survey = &dataset.survey;
    let col = |name: &str| table.column(name).ok_or_else(|| ScreenError(name.to_owned()));
    let mut flags = vec![0u8; n];

    let submitted = match &col(&config.submitted)?.values {
        Values::Number(v) => v.clone(),
        _ => return Err(ScreenError(config.submitted.clone())),
    };
    // Rows in the order they arrived; "keep the first" means the earliest.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&r| (submitted[r], r));

    let seconds_per_unit = match survey.column(&config.duration).map(|c| &c.kind) {
        Some(ColumnKind::Integer { unit: Some(u), .. }) if u == "ms" => 0.001,
        _ => 1.0,
    };
    let duration_column = col(&config.duration)?;
    let duration: Vec<f64> =
        (0..n).map(|r| duration_column.number(r).map_or(f64::NAN, |d| d as f64 * seconds_per_unit)).collect();

    // Repeat respondents: keyed digests of person and device identifiers.
    if config.duplicates {
        for key in &config.person_keys {
            let Values::Keyed(digests) = &col(key)?.values else { return Err(ScreenError(key.clone())) };
            let mut seen = HashMap::with_capacity_and_hasher(n, rustc_hash::FxBuildHasher);
            for &r in &order {
                if digests[r] != 0 && seen.insert(digests[r], r).is_some() {
                    flags[r] |= Rule::RepeatPerson.bit();
                }
            }
        }
        let device: Vec<&Vec<u64>> = config
            .device_key
            .iter()
            .map(|k| match &col(k)?.values {
                Values::Keyed(d) => Ok(d),
                _ => Err(ScreenError(k.clone())),
            })
            .collect::<Result<_, _>>()?;
        if !device.is_empty() {
            let window = (config.device_window_hours * 3600.0) as i64;
            let mut last: HashMap<u128, i64> = HashMap::with_capacity_and_hasher(n, rustc_hash::FxBuildHasher);
            for &r in &order {
                let Some(key) = composite_key(&device, r) else { continue };
                match last.get(&key) {
                    // The first response from the device opens a window; later ones inside it repeat.
                    Some(&start) if submitted[r] - start <= window => flags[r] |= Rule::RepeatDevice.bit(),
                    _ => {
                        last.insert(key, submitted[r]);
                    }
                }
            }
        }
    }

    // Duplicate answer vectors, exact and near: rows agreeing on every answer but the ratings
    // fall in one block; within a block, ratings decide.
    let is_rating = |c: &holdout_schema::Column| c.role == Role::Answer && matches!(c.kind, ColumnKind::Rating { .. });
    let answered = || {
        survey
            .columns
            .iter()
            .zip(&table.columns)
            .filter(|(c, _)| matches!(c.role, Role::Answer | Role::QuasiIdentifier | Role::Sensitive))
    };
    let ratings: Vec<&[u16]> = answered().filter(|(c, _)| is_rating(c)).filter_map(|(_, t)| t.codes()).collect();
    let others: Vec<&RawColumn> = answered().filter(|(c, _)| !is_rating(c)).map(|(_, t)| t).collect();
    let (mut exact, mut near) = (0u64, 0u64);
    if config.duplicates || config.near_duplicates {
        let mut blocks: HashMap<u64, Vec<usize>> = HashMap::with_capacity_and_hasher(n, rustc_hash::FxBuildHasher);
        for &r in &order {
            let mut h = FxHasher::default();
            for c in &others {
                hash_cell(c, r, &mut h);
            }
            let kept = blocks.entry(h.finish()).or_default();
            // The hash only proposes; the other answers must really be equal.
            // The closest earlier row that differs only in ratings, each by at most one point
            // (rows further apart give `None` and must not hide a closer one).
            let earlier = kept
                .iter()
                .filter(|&&k| others.iter().all(|c| same_cell(c, k, r)))
                .filter_map(|&k| rating_distance(&ratings, k, r))
                .min();
            match earlier {
                Some(0) if config.duplicates => {
                    exact += 1;
                    flags[r] |= Rule::DuplicateAnswers.bit();
                }
                Some(d) if config.near_duplicates && d <= NEAR_DUPLICATE_CELLS => {
                    near += 1;
                    flags[r] |= Rule::DuplicateAnswers.bit();
                }
                _ => kept.push(r),
            }
        }
    }

    // Speeders.
    let mut sorted: Vec<f64> = duration.iter().copied().filter(|d| d.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let percentile = sorted
        .get(((config.speeder_percentile / 100.0) * sorted.len() as f64).floor() as usize)
        .copied()
        .filter(|_| config.speeder_percentile > 0.0)
        .unwrap_or(0.0);
    let speeder_threshold = config.speeder_min_seconds.max(percentile);
    if speeder_threshold > 0.0 {
        for (r, d) in duration.iter().enumerate() {
            if *d < speeder_threshold {
                flags[r] |= Rule::Speeder.bit();
            }
        }
    }

    // Straight-liners: every rating asked answered with one value.
    if config.straightlining && !ratings.is_empty() {
        for (r, flag) in flags.iter_mut().enumerate() {
            let mut asked = ratings.iter().map(|c| c[r]).filter(|&v| v != MISSING);
            if let Some(first) = asked.next() {
                let (count, same) = asked.fold((1, true), |(n, same), v| (n + 1, same && v == first));
                if same && count >= 5 {
                    *flag |= Rule::Straightliner.bit();
                }
            }
        }
    }

    // Contradictions.
    let mut contradictions = Vec::new();
    if config.contradictions {
        for rule in &survey.contradictions {
            let tests: Vec<Box<dyn Fn(usize) -> bool + '_>> =
                rule.all.iter().map(|c| condition(table, &c.column, &c.test)).collect::<Result<_, _>>()?;
            let mut count = 0;
            for (r, flag) in flags.iter_mut().enumerate() {
                if tests.iter().all(|t| t(r)) {
                    *flag |= Rule::Contradiction.bit();
                    count += 1;
                }
            }
            contradictions.push((rule.name.clone(), rule.zh.clone(), count));
        }
    }

    // Scripted bursts from one channel.
    let bursts = match &col(&config.channel)?.values {
        Values::Keyed(channel) => bot_bursts(config, channel, &submitted, &duration, &mut flags),
        _ => return Err(ScreenError(config.channel.clone())),
    };

    let mut report = report(config, &flags, contradictions, exact, near, speeder_threshold, bursts);
    report.files = coverage(config, table);
    report.channels = channel_counts(col(&config.channel)?, &flags);
    for rule in &mut report.rules {
        let lacking: Vec<&Vec<String>> = report
            .files
            .iter()
            .filter_map(|f| f.not_run.iter().find(|(r, _)| *r == rule.rule).map(|(_, c)| c))
            .collect();
        if !report.files.is_empty() && lacking.len() == report.files.len() {
            let mut columns: Vec<&str> = lacking.iter().flat_map(|c| c.iter().map(String::as_str)).collect();
            columns.sort_unstable();
            columns.dedup();
            rule.not_run = Some(format!("needs {}", columns.join(", ")));
        }
    }
    Ok(Screened { flags, report })
}

fn same_cell(column: &RawColumn, a: usize, b: usize) -> bool {
    match &column.values {
        Values::Coded { codes, .. } => codes[a] == codes[b],
        Values::Number(v) => v[a] == v[b],
        Values::Keyed(v) => v[a] == v[b],
        Values::Text(v) => v[a] == v[b],
    }
}

fn hash_cell(column: &RawColumn, row: usize, h: &mut FxHasher) {
    match &column.values {
        Values::Coded { codes, .. } => codes[row].hash(h),
        Values::Number(v) => v[row].hash(h),
        Values::Keyed(v) => v[row].hash(h),
        Values::Text(v) => v[row].hash(h),
    }
}

/// Ratings that differ between rows `a` and `b`, or `None` if any differs by more than one point.
fn rating_distance(ratings: &[&[u16]], a: usize, b: usize) -> Option<usize> {
    let mut differ = 0;
    for c in ratings {
        if c[a] != c[b] {
            if c[a] == MISSING || c[b] == MISSING || c[a].abs_diff(c[b]) > 1 {
                return None;
            }
            differ += 1;
        }
    }
    Some(differ)
}

type RowTest<'t> = Box<dyn Fn(usize) -> bool + 't>;

fn condition<'t>(table: &'t RawTable, column: &str, test: &Test) -> Result<RowTest<'t>, ScreenError> {
    let c = table.column(column).ok_or_else(|| ScreenError(column.to_owned()))?;
    let codes_of = |list: &[Code]| -> Result<Vec<u16>, ScreenError> {
        let Values::Coded { dictionary, .. } = &c.values else { return Err(ScreenError(column.to_owned())) };
        Ok(list
            .iter()
            .filter_map(|code| dictionary.iter().position(|d| *d == code.to_string()).map(|i| i as u16))
            .collect())
    };
    Ok(match test {
        Test::Range { min, max } => {
            let (min, max) = (min.unwrap_or(i64::MIN), max.unwrap_or(i64::MAX));
            Box::new(move |r| c.number(r).is_some_and(|v| v >= min && v <= max))
        }
        Test::In(list) => {
            let set = codes_of(list)?;
            let codes = c.codes().unwrap_or_default();
            Box::new(move |r| set.contains(&codes[r]))
        }
        Test::NotIn(list) => {
            let set = codes_of(list)?;
            let codes = c.codes().unwrap_or_default();
            Box::new(move |r| codes[r] != MISSING && !set.contains(&codes[r]))
        }
        Test::Above { column: other, by } => {
            let o = table.column(other).ok_or_else(|| ScreenError(other.clone()))?;
            let by = *by;
            Box::new(move |r| matches!((c.number(r), o.number(r)), (Some(v), Some(w)) if v > w + by))
        }
    })
}

/// Flags runs of at least `min_count` responses from one channel within the window whose fill
/// durations are nearly equal (coefficient of variation at most `max_duration_cv`): what a
/// script replaying one answer sheet produces. Returns the number of bursts found.
fn bot_bursts(config: &Screening, channel: &[u64], submitted: &[i64], duration: &[f64], flags: &mut [u8]) -> u64 {
    let rule = &config.bot_burst;
    let min_count = rule.min_count.max(2) as usize;
    let window = i64::from(rule.window_minutes) * 60;
    let mut rows: Vec<usize> = (0..channel.len()).filter(|&r| channel[r] != 0 && duration[r].is_finite()).collect();
    rows.sort_by_key(|&r| (channel[r], submitted[r], r));
    let mut bursts = 0;
    let mut start = 0;
    while start < rows.len() {
        let ch = channel[rows[start]];
        let end = start + rows[start..].iter().take_while(|&&r| channel[r] == ch).count();
        let group = &rows[start..end];
        let mut in_burst = false;
        let (mut i, mut j) = (0, 0);
        while i < group.len() {
            while j < group.len() && submitted[group[j]] - submitted[group[i]] <= window {
                j += 1;
            }
            let window_rows = &group[i..j];
            let mut step = 1;
            if window_rows.len() >= min_count {
                let members = steady_members(window_rows, duration, rule.max_duration_cv);
                if members.len() >= min_count {
                    if !in_burst {
                        bursts += 1;
                    }
                    in_burst = true;
                    for &r in &members {
                        flags[r] |= Rule::BotBurst.bit();
                    }
                } else {
                    in_burst = false;
                }
                step = (window_rows.len() / 4).max(1);
            } else {
                in_burst = false;
            }
            i += step;
        }
        start = end;
    }
    bursts
}

/// The rows whose durations cluster around the window's median tightly enough to be scripted.
fn steady_members(rows: &[usize], duration: &[f64], max_cv: f64) -> Vec<usize> {
    let mut d: Vec<f64> = rows.iter().map(|&r| duration[r]).collect();
    d.sort_by(f64::total_cmp);
    let median = d[d.len() / 2];
    let band = 3.0 * max_cv * median;
    let members: Vec<usize> = rows.iter().copied().filter(|&r| (duration[r] - median).abs() <= band).collect();
    let mean = members.iter().map(|&r| duration[r]).sum::<f64>() / members.len() as f64;
    let var = members.iter().map(|&r| (duration[r] - mean).powi(2)).sum::<f64>() / members.len() as f64;
    if mean > 0.0 && var.sqrt() / mean <= max_cv { members } else { Vec::new() }
}

/// Rows flagged by exactly `flags == value`.
fn bytecount(flags: &[u8], value: u8) -> u64 {
    flags.iter().map(|&f| u64::from(f == value)).sum()
}

fn report(
    config: &Screening,
    flags: &[u8],
    contradictions: Vec<(String, String, u64)>,
    exact_duplicates: u64,
    near_duplicates: u64,
    speeder_threshold_seconds: f64,
    bursts: u64,
) -> ScreeningReport {
    let enabled = |rule: Rule| match rule {
        Rule::RepeatPerson | Rule::RepeatDevice => config.duplicates,
        Rule::DuplicateAnswers => config.duplicates || config.near_duplicates,
        Rule::Speeder => speeder_threshold_seconds > 0.0,
        Rule::Straightliner => config.straightlining,
        Rule::Contradiction => config.contradictions,
        Rule::BotBurst => true,
    };
    let rules = Rule::ALL
        .iter()
        .map(|&rule| {
            let hit = |f: &&u8| **f & rule.bit() != 0;
            RuleCount {
                rule: rule.name(),
                zh: rule.zh(),
                enabled: enabled(rule),
                not_run: None,
                rows: flags.iter().filter(hit).count() as u64,
                only: bytecount(flags, rule.bit()),
                examples: flags
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| hit(f))
                    .take(EXAMPLES)
                    .map(|(r, _)| r as u64 + 1)
                    .collect(),
            }
        })
        .collect();
    let mut overlaps = Vec::new();
    for (i, a) in Rule::ALL.iter().enumerate() {
        for b in &Rule::ALL[i + 1..] {
            let both = a.bit() | b.bit();
            let count = flags.iter().filter(|f| **f & both == both).count() as u64;
            if count > 0 {
                overlaps.push((a.name(), b.name(), count));
            }
        }
    }
    let invalid = flags.iter().filter(|f| **f != 0).count() as u64;
    ScreeningReport {
        rows: flags.len() as u64,
        valid: flags.len() as u64 - invalid,
        invalid,
        rules,
        overlaps,
        contradictions,
        exact_duplicates,
        near_duplicates,
        speeder_threshold_seconds,
        bursts,
        files: Vec::new(),
        channels: Vec::new(),
        units: None,
    }
}
