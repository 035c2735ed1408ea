//! A realistic synthetic raw export of the netizen cyber-security survey
//! (网民网络安全感满意度调查), generated row by row in bounded memory.
//!
//! The survey's real data is confidential; this generator stands in for it. It follows the
//! sourced marginals and dependencies in `shared/reference/survey.md` §9, injects the invalid
//! samples a real export contains (duplicates, speeders, straight-liners, contradictions, bot
//! bursts) and personal data in free text, and reports the truth about every row through
//! [`Truth`] — never inside the export itself.
//!
//! Determinism: the output is a function of the [`Dataset`], the row count and the seed only.

mod draw;
mod geo;
mod layout;
mod meta;
mod model;
mod pii;
mod row;
pub mod sink;
pub mod tduck;

use std::collections::VecDeque;

use chrono::{Duration, NaiveDateTime};
use holdout_schema::{Code, Dataset};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::draw::{chance, normal, pick};
use crate::geo::Geography;
use crate::layout::{Choice, Field, Layout, Other, Set};
use crate::meta::{Device, TimeProfile};
use crate::model::{Answers, Model};
use crate::pii::Comment;

pub use crate::pii::{PiiKind, luhn_check, mod11_2_check};

/// What the typed "其他" answers say, picked by serial number (no randomness needed).
const OTHER_TEXTS: [&str; 4] = ["自由撰稿", "待业中", "农民,兼职司机", "个体经营"];

/// The text respondent `serial` typed after choosing 其他.
pub(crate) fn other_text(serial: u64) -> &'static str {
    OTHER_TEXTS[(serial % OTHER_TEXTS.len() as u64) as usize]
}
pub use crate::row::{Cell, Row};

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("the survey schema does not fit the generator: {0}")]
    Schema(String),
    #[error("the survey dataset is incomplete: {0}")]
    Dataset(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Why a row is invalid. Exactly one reason per injected row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InvalidKind {
    /// A resubmission of an earlier respondent (same openid or device), possibly perturbed.
    Duplicate,
    /// Filled in faster than anyone can read the questions, answers at random.
    Speeder,
    /// The same value on all 16 rows of the rating matrices.
    Straightliner,
    /// Demographics that cannot all be true (a 15-year-old with a doctorate).
    Contradiction,
    /// Part of a scripted burst from one source id.
    BotBurst,
}

impl InvalidKind {
    pub const ALL: [InvalidKind; 5] = [
        InvalidKind::Duplicate,
        InvalidKind::Speeder,
        InvalidKind::Straightliner,
        InvalidKind::Contradiction,
        InvalidKind::BotBurst,
    ];

    pub fn name(self) -> &'static str {
        match self {
            InvalidKind::Duplicate => "duplicate",
            InvalidKind::Speeder => "speeder",
            InvalidKind::Straightliner => "straightliner",
            InvalidKind::Contradiction => "contradiction",
            InvalidKind::BotBurst => "bot_burst",
        }
    }
}

/// What the generator knows about a row it emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truth {
    pub serial: u64,
    pub invalid: Option<InvalidKind>,
    /// For duplicates: the serial number of the response it copies.
    pub duplicate_of: Option<u64>,
    /// [`PiiKind`] bits present in the comment.
    pub pii: u32,
}

/// A column of the export as sinks need it.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub name: String,
    /// Written as Int64 in Parquet.
    pub integer: bool,
    /// How CSV writes a missing value.
    pub missing: String,
}

/// Shares of injected invalid rows among non-bot rows, and of bot rows overall.
const SHARE_DUPLICATE: f64 = 0.018;
const SHARE_SPEEDER: f64 = 0.018;
const SHARE_STRAIGHT: f64 = 0.014;
const SHARE_CONTRADICTION: f64 = 0.005;
const SHARE_BOT: f64 = 0.015;
/// Share of genuine respondents who leave a comment (2021: 162,036 of 2.85 M), and of comments
/// that contain personal data.
const SHARE_COMMENT: f64 = 0.06;
const SHARE_COMMENT_PII: f64 = 0.05;
/// Recent genuine responses a duplicate may copy; bounds memory.
const RING: usize = 4096;

#[derive(Debug, Clone)]
struct Record {
    serial: u64,
    answers: Answers,
    source_id: u32,
    seconds: f64,
    duration_ms: u32,
    device: Device,
    address_city: usize,
    comment: Option<Comment>,
}

/// A planned scripted burst: many submissions from one channel, seconds apart.
#[derive(Debug, Clone)]
struct Burst {
    start: f64,
    gap: f64,
    size: u32,
    emitted: u32,
    source_id: u32,
    os: u8,
    ua: String,
    ips: [[u8; 4]; 3],
    duration_ms: f64,
    narrow: bool,
}

impl Burst {
    fn next_time(&self) -> f64 {
        self.start + self.gap * f64::from(self.emitted)
    }
}

/// Streams the rows of a synthetic export.
#[derive(Debug)]
pub struct Generator {
    layout: Layout,
    geo: Geography,
    model: Model,
    profile: TimeProfile,
    rng: ChaCha8Rng,
    total: u64,
    emitted: u64,
    organic_total: u64,
    organic_done: u64,
    /// Bursts not yet started, latest first.
    pending: Vec<Burst>,
    active: Vec<Burst>,
    ring: VecDeque<Record>,
    start: NaiveDateTime,
    window_seconds: f64,
}

impl std::fmt::Debug for TimeProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TimeProfile")
    }
}

impl Generator {
    pub fn new(dataset: &Dataset, rows: u64, seed: u64) -> Result<Generator, SynthError> {
        let survey = &dataset.survey;
        let geography = dataset
            .hierarchies
            .get("geography")
            .ok_or_else(|| SynthError::Dataset("no hierarchies/geography.csv".into()))?;
        let mut plan = ChaCha8Rng::seed_from_u64(seed);
        plan.set_stream(1);
        let geo = Geography::new(geography, &mut plan)?;
        let layout = Layout::new(survey, &geo)?;
        let window_seconds = (survey.collection_end - survey.collection_start).num_seconds() as f64;
        let profile = TimeProfile::new((window_seconds / 3600.0).ceil() as usize);

        let pending = plan_bursts(&mut plan, &geo, &profile, rows, window_seconds);
        let bot_rows: u64 = pending.iter().map(|b| u64::from(b.size)).sum();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(2);
        Ok(Generator {
            layout,
            geo,
            model: Model::new(),
            profile,
            rng,
            total: rows,
            emitted: 0,
            organic_total: rows - bot_rows,
            organic_done: 0,
            pending,
            active: Vec::new(),
            ring: VecDeque::with_capacity(RING),
            start: survey.collection_start,
            window_seconds,
        })
    }

    /// The export's columns, in order.
    pub fn columns(&self) -> Vec<ColumnInfo> {
        self.layout
            .slots
            .iter()
            .map(|s| ColumnInfo { name: s.name.clone(), integer: s.integer, missing: s.missing.clone() })
            .collect()
    }

    pub fn total_rows(&self) -> u64 {
        self.total
    }

    /// Fills `row` with the next row and returns what is true about it, or `None` at the end.
    pub fn next_row(&mut self, row: &mut Row) -> Option<Truth> {
        if self.emitted == self.total {
            return None;
        }
        let organic_time = (self.organic_done < self.organic_total)
            .then(|| self.profile.seconds_at((self.organic_done as f64 + 0.5) / self.organic_total as f64));
        // Start bursts whose time has come, then pick the earliest next event.
        let horizon = organic_time.unwrap_or(f64::INFINITY);
        while self.pending.last().is_some_and(|b| b.start <= horizon) {
            if let Some(b) = self.pending.pop() {
                self.active.push(b);
            }
        }
        let bot = self.active.iter().enumerate().map(|(i, b)| (i, b.next_time())).min_by(|a, b| a.1.total_cmp(&b.1));
        self.emitted += 1;
        let serial = self.emitted;
        let (record, truth) = match (bot, organic_time) {
            (Some((i, t)), o) if o.is_none_or(|o| t <= o) => self.bot_row(i, serial, t),
            (_, Some(t)) => {
                self.organic_done += 1;
                self.organic_row(serial, t)
            }
            _ => unreachable!("rows remain, so an organic or a bot row is due"),
        };
        self.encode(&record, row);
        Some(truth)
    }

    fn organic_row(&mut self, serial: u64, seconds: f64) -> (Record, Truth) {
        let u: f64 = self.rng.r#gen();
        let kind = if u < SHARE_DUPLICATE && !self.ring.is_empty() {
            Some(InvalidKind::Duplicate)
        } else if u < SHARE_DUPLICATE + SHARE_SPEEDER {
            Some(InvalidKind::Speeder)
        } else if u < SHARE_DUPLICATE + SHARE_SPEEDER + SHARE_STRAIGHT {
            Some(InvalidKind::Straightliner)
        } else if u < SHARE_DUPLICATE + SHARE_SPEEDER + SHARE_STRAIGHT + SHARE_CONTRADICTION {
            Some(InvalidKind::Contradiction)
        } else {
            None
        };
        if kind == Some(InvalidKind::Duplicate) {
            let original = &self.ring[self.rng.gen_range(0..self.ring.len())];
            let mut copy = original.clone();
            let of = copy.serial;
            copy.serial = serial;
            copy.seconds = seconds;
            copy.duration_ms = meta::genuine_duration_ms(&mut self.rng, copy.answers.practitioner);
            if chance(&mut self.rng, 0.7) {
                for _ in 0..self.rng.gen_range(1..=3) {
                    let cell = self.rng.gen_range(0..16);
                    if let Some(r) = copy.answers.matrix_mut().nth(cell) {
                        *r = if *r == 10 || (*r > 1 && chance(&mut self.rng, 0.5)) { *r - 1 } else { *r + 1 };
                    }
                }
            }
            if chance(&mut self.rng, 0.2) {
                copy.device.ip = meta::random_ip(&mut self.rng);
            }
            if chance(&mut self.rng, 0.1) {
                copy.source_id = self.geo.any_channel(&mut self.rng);
            }
            let pii = copy.comment.as_ref().map_or(0, |c| c.pii);
            return (copy, Truth { serial, invalid: kind, duplicate_of: Some(of), pii });
        }

        let mut answers = self.model.respondent(&mut self.rng, &self.geo);
        let mut duration_ms = meta::genuine_duration_ms(&mut self.rng, answers.practitioner);
        match kind {
            Some(InvalidKind::Speeder) => {
                randomize_answers(&mut self.rng, &mut answers, false);
                duration_ms = self.rng.gen_range(20_000..60_000);
            }
            Some(InvalidKind::Straightliner) => {
                let v = [10, 1, 5][pick(&mut self.rng, &[0.5, 0.2, 0.3])];
                answers.matrix_mut().for_each(|r| *r = v);
                duration_ms = duration_ms.max(61_000);
            }
            Some(InvalidKind::Contradiction) => contradict(&mut self.rng, &mut answers),
            _ => {}
        }
        let device = meta::genuine_device(&mut self.rng);
        let province = self.geo.cities[answers.city].province;
        let source_id = self.geo.sample_channel(&mut self.rng, province);
        let address_city = if chance(&mut self.rng, 0.92) { answers.city } else { self.geo.sample_city(&mut self.rng) };
        let comment = (kind.is_none() && chance(&mut self.rng, SHARE_COMMENT)).then(|| {
            let city = self.geo.mainland_city(&mut self.rng, answers.city).clone();
            let province = &self.geo.provinces[self.geo.cities[answers.city].province];
            pii::comment(
                &mut self.rng,
                SHARE_COMMENT_PII,
                &city,
                province,
                answers.effective_age().max(16),
                answers.female,
            )
        });
        let pii = comment.as_ref().map_or(0, |c| c.pii);
        let record = Record { serial, answers, source_id, seconds, duration_ms, device, address_city, comment };
        if kind.is_none() {
            if self.ring.len() == RING {
                self.ring.pop_front();
            }
            self.ring.push_back(record.clone());
        }
        (record, Truth { serial, invalid: kind, duplicate_of: None, pii })
    }

    fn bot_row(&mut self, i: usize, serial: u64, seconds: f64) -> (Record, Truth) {
        let rng = &mut self.rng;
        let burst = &mut self.active[i];
        burst.emitted += 1;
        let mut answers = self.model.respondent(rng, &self.geo);
        randomize_answers(rng, &mut answers, burst.narrow);
        // Scripts pick the residence uniformly from the picker.
        answers.city = rng.gen_range(0..self.geo.cities.len());
        let record = Record {
            serial,
            answers,
            source_id: burst.source_id,
            seconds,
            duration_ms: (burst.duration_ms + 1500.0 * normal(rng)).max(5000.0) as u32,
            device: Device {
                os: burst.os,
                browser: meta::BR_CHROME,
                ua: burst.ua.clone(),
                ip: burst.ips[rng.gen_range(0..3)],
                openid: None,
            },
            address_city: self.geo.sample_city(rng),
            comment: None,
        };
        if burst.emitted == burst.size {
            self.active.swap_remove(i);
        }
        (record, Truth { serial, invalid: Some(InvalidKind::BotBurst), duplicate_of: None, pii: 0 })
    }

    /// The record's answers to a multi-select item as a bit set (`None` when not asked).
    fn bits(r: &Record, set: Set) -> Option<u32> {
        let a = &r.answers;
        let prac = a.prac.as_ref();
        match set {
            Set::Apps => Some(a.apps),
            Set::Exposure => Some(a.exposure),
            Set::Actions => Some(a.actions),
            Set::Roles => Some(a.roles),
            Set::Difficulties => prac.map(|p| p.difficulties),
            Set::Priorities => prac.map(|p| p.priorities),
        }
    }

    /// The level index the record chose (`None` when not asked or not answered).
    fn choice(&self, r: &Record, choice: Choice) -> Option<u8> {
        let a = &r.answers;
        let prac = a.prac.as_ref();
        match choice {
            Choice::FormKey | Choice::Version => Some(u8::from(a.practitioner)),
            Choice::Os => Some(r.device.os),
            Choice::Browser => Some(r.device.browser),
            Choice::DailyHours => Some(a.daily_hours),
            Choice::Fee => Some(a.fee),
            Choice::Burden => Some(a.burden),
            Choice::Q10 => Some(a.q10),
            Choice::Q11 => Some(a.q11),
            Choice::Gender => Some(u8::from(a.female)),
            Choice::AgeGroup => Some(a.age_group),
            Choice::Education => Some(a.education),
            Choice::Occupation => Some(a.occupation),
            Choice::Province => Some(self.layout.province_level[self.geo.cities[a.city].province] as u8),
            Choice::Rural => Some(u8::from(a.rural)),
            Choice::Income => a.income,
            Choice::OrgType => prac.map(|p| p.org_type),
            Choice::JobRole => prac.map(|p| p.job_role),
            Choice::OrgSize => prac.map(|p| p.org_size),
            Choice::IndustryYears => prac.map(|p| p.industry_years),
            Choice::Overcollection => prac.map(|p| p.overcollection),
        }
    }

    #[expect(clippy::many_single_char_names, reason = "`r` record and `a` answers are read on every line")]
    fn encode(&self, r: &Record, row: &mut Row) {
        row.clear();
        let a = &r.answers;
        for slot in &self.layout.slots {
            let level = |idx: Option<u8>, row: &mut Row| match idx.and_then(|i| slot.codes.get(usize::from(i))) {
                Some(Code::Int(v)) => row.int(*v),
                Some(Code::Text(s)) => row.text(s),
                None => row.missing(),
            };
            match slot.field {
                Field::Serial => row.int(r.serial as i64),
                Field::SourceId => row.fmt(format_args!("{:06}", r.source_id)),
                Field::CreateTime => {
                    let secs = r.seconds.min(self.window_seconds - 1.0).max(0.0) as i64;
                    row.fmt(format_args!("{}", (self.start + Duration::seconds(secs)).format("%Y-%m-%d %H:%M:%S")));
                }
                Field::Duration => row.int(i64::from(r.duration_ms)),
                Field::UserAgent => row.text(&r.device.ua),
                Field::Ip => {
                    let [a, b, c, d] = r.device.ip;
                    row.fmt(format_args!("{a}.{b}.{c}.{d}"));
                }
                Field::Address => {
                    let c = &self.geo.cities[r.address_city];
                    let p = &self.geo.provinces[c.province];
                    if *p == c.name { row.text(p) } else { row.fmt(format_args!("{p} {}", c.name)) }
                }
                Field::OpenId => match &r.device.openid {
                    Some(o) => row.text(o),
                    None => row.missing(),
                },
                Field::NetYears => row.int(i64::from(a.net_years)),
                Field::Age => match a.age {
                    Some(v) => row.int(i64::from(v)),
                    None => row.missing(),
                },
                Field::City => row.text(&self.geo.cities[a.city].name),
                Field::Comment => match &r.comment {
                    Some(c) => row.text(&c.text),
                    None => row.missing(),
                },
                Field::Rating(block, i) => {
                    let v = match block {
                        0 => a.q08[usize::from(i)],
                        1 => a.q09[usize::from(i)],
                        _ => a.q12[usize::from(i)],
                    };
                    row.int(i64::from(v));
                }
                Field::Bit(set, bit) => match Self::bits(r, set) {
                    Some(b) => row.int(i64::from((b >> bit) & 1)),
                    None => row.missing(),
                },
                Field::Choice(choice) => level(self.choice(r, choice), row),
                Field::Other(other) => {
                    let chosen = match other {
                        Other::Bit(set, bit) => Self::bits(r, set).is_some_and(|b| (b >> bit) & 1 == 1),
                        Other::Level(choice, level) => self.choice(r, choice) == Some(level),
                    };
                    if chosen { row.text(other_text(r.serial)) } else { row.missing() }
                }
            }
        }
    }
}

/// Bursts covering about [`SHARE_BOT`] of all rows, sized 50–500 rows for full-size exports
/// (scaled down for small ones), spread over the window like genuine traffic.
fn plan_bursts(rng: &mut ChaCha8Rng, geo: &Geography, profile: &TimeProfile, rows: u64, window: f64) -> Vec<Burst> {
    if rows < 2000 {
        return Vec::new();
    }
    let hi = (rows / 400).clamp(20, 500) as u32;
    let lo = (hi / 10).clamp(10, 50);
    let mut remaining = (rows as f64 * SHARE_BOT).round() as u32;
    let mut bursts = Vec::new();
    while remaining >= lo {
        let size = rng.gen_range(lo..=hi).min(remaining);
        remaining -= size;
        let gap = rng.gen_range(0.6..2.0);
        let start = profile.seconds_at(rng.gen_range(0.01..0.99)).min(window - gap * f64::from(size) - 1.0).max(0.0);
        let (os, ua) = meta::bot_user_agent(rng);
        bursts.push(Burst {
            start,
            gap,
            size,
            emitted: 0,
            source_id: geo.any_channel(rng),
            os,
            ua,
            ips: [meta::random_ip(rng), meta::random_ip(rng), meta::random_ip(rng)],
            duration_ms: rng.gen_range(30_000.0..100_000.0),
            narrow: chance(rng, 0.5),
        });
    }
    // Latest first, so the next to start is popped from the end.
    bursts.sort_by(|a, b| b.start.total_cmp(&a.start));
    bursts
}

/// Answers of someone (or something) clicking without reading: uniform choices, two to five
/// ticks per multi-select that avoid the exclusive option, ratings uniform or all within 7–9.
/// Demographics keep their (consistent) values.
fn randomize_answers(rng: &mut ChaCha8Rng, a: &mut Answers, narrow: bool) {
    for r in a.matrix_mut() {
        *r = if narrow { rng.gen_range(7..=9) } else { rng.gen_range(1..=10) };
    }
    a.q10 = rng.gen_range(0..5);
    a.q11 = rng.gen_range(0..5);
    a.daily_hours = rng.gen_range(0..5);
    a.fee = rng.gen_range(0..5);
    a.burden = rng.gen_range(0..5);
    let ticks = |rng: &mut ChaCha8Rng, options: u32| {
        let mut bits = 0u32;
        for _ in 0..rng.gen_range(2..=5u32).min(options) {
            bits |= 1 << rng.gen_range(0..options);
        }
        bits
    };
    a.apps = ticks(rng, 21);
    a.exposure = ticks(rng, 7);
    a.actions = ticks(rng, 11);
}

/// Makes one demographic combination impossible (survey.md §8 rule R4).
fn contradict(rng: &mut ChaCha8Rng, a: &mut Answers) {
    use model::{AGE_UNDER_10, EDU_DOCTOR, EDU_MASTER, OCC_ENTERPRISE, OCC_GOV, OCC_RETIRED, OCC_STUDENT};
    let set_age = |a: &mut Answers, age: u8| {
        a.age = Some(age);
        a.age_group = match age {
            10..=20 => 1,
            21..=30 => 2,
            31..=40 => 3,
            41..=50 => 4,
            51..=60 => 5,
            _ => 6,
        };
    };
    match rng.gen_range(0..5) {
        0 => {
            set_age(a, rng.gen_range(14..=17));
            a.occupation = OCC_STUDENT;
            a.education = if chance(rng, 0.5) { EDU_MASTER } else { EDU_DOCTOR };
            a.net_years = a.net_years.min(8);
        }
        1 => {
            let age = rng.gen_range(12..=25);
            set_age(a, age);
            a.net_years = (age - 3 + rng.gen_range(3..=8)).min(31);
            a.education = a.education.min(2);
            if age < 18 {
                a.occupation = OCC_STUDENT;
            }
        }
        2 => {
            set_age(a, rng.gen_range(22..=38));
            a.occupation = OCC_RETIRED;
            a.net_years = a.net_years.min(a.age.unwrap_or(22) - 3);
        }
        3 => {
            set_age(a, rng.gen_range(46..=60));
            a.occupation = OCC_STUDENT;
            a.income = Some(5);
        }
        _ => {
            a.age_group = AGE_UNDER_10;
            a.age = None;
            a.occupation = [OCC_GOV, OCC_ENTERPRISE, OCC_RETIRED][rng.gen_range(0..3)];
            a.net_years = rng.gen_range(1..=3);
            a.education = model::EDU_MIDDLE;
        }
    }
}
