//! The respondent model: demographics with their dependencies, a latent sense of security and
//! of governance satisfaction, and the answers that follow from them.
//!
//! Calibration targets and directions come from `shared/reference/survey.md` §9 (marked there as
//! sourced or inferred). Indices below are positions in the schema's level lists, which
//! [`crate::layout`] checks against the schema at start-up.

use rand::Rng;

use crate::draw::{chance, cut, logit, normal, pick, probit_thresholds, sigmoid};
use crate::geo::{Geography, Region};

pub(crate) const OCC_GOV: u8 = 0;
pub(crate) const OCC_ENTERPRISE: u8 = 1;
pub(crate) const OCC_FREELANCE: u8 = 2;
pub(crate) const OCC_RETIRED: u8 = 3;
pub(crate) const OCC_STUDENT: u8 = 4;
pub(crate) const OCC_OTHER: u8 = 5;

pub(crate) const EDU_MIDDLE: u8 = 0;
pub(crate) const EDU_BACHELOR: u8 = 4;
pub(crate) const EDU_MASTER: u8 = 5;
pub(crate) const EDU_DOCTOR: u8 = 6;

/// Age groups of Q14 (levels in schema order).
pub(crate) const AGE_UNDER_10: u8 = 0;
pub(crate) const AGE_OVER_70: u8 = 7;
const AGE_GROUP_RANGES: [(u8, u8); 8] = [(6, 9), (10, 20), (21, 30), (31, 40), (41, 50), (51, 60), (61, 70), (71, 80)];

/// Income option "prefer not to say".
pub(crate) const INCOME_UNDISCLOSED: u8 = 6;

/// Q6 option indices (schema order 1..8); option 8 "none of these" is exclusive.
pub(crate) const Q6_FRAUD: usize = 0;
pub(crate) const Q6_NONE: usize = 7;
/// Q7 option 12 "did nothing" is exclusive.
pub(crate) const Q7_NOTHING: usize = 11;
/// Q17 option 8 "ordinary consumer" is exclusive.
pub(crate) const Q17_CONSUMER: usize = 7;
/// P6 option 6 "no notable difficulty" is exclusive.
pub(crate) const P6_NONE: usize = 5;

/// Weekly-use rates of the Q5 apps, in schema order (options 1..20, then 0 = other).
const APP_RATES: [f64; 21] = [
    0.95, 0.72, 0.68, 0.90, 0.80, 0.45, 0.55, 0.82, 0.35, 0.18, 0.20, 0.25, 0.12, 0.28, 0.30, 0.40, 0.60, 0.35, 0.14,
    0.20, 0.03,
];
/// Q6 base rates (options 1..7).
const EXPOSURE_RATES: [f64; 7] = [0.60, 0.12, 0.085, 0.55, 0.28, 0.16, 0.27];
/// Q7 base rates (options 1..11; 12 is handled as exclusive).
const ACTION_RATES: [f64; 11] = [0.55, 0.32, 0.12, 0.22, 0.15, 0.08, 0.07, 0.04, 0.03, 0.015, 0.33];

/// The answers of one practitioner-only block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Practitioner {
    pub org_type: u8,
    pub job_role: u8,
    pub org_size: u8,
    pub industry_years: u8,
    pub overcollection: u8,
    pub difficulties: u32,
    pub priorities: u32,
}

/// One questionnaire as filled in (before metadata), in compact form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answers {
    pub practitioner: bool,
    pub city: usize,
    pub female: bool,
    pub age_group: u8,
    pub age: Option<u8>,
    pub education: u8,
    pub occupation: u8,
    pub income: Option<u8>,
    pub rural: bool,
    pub net_years: u8,
    pub daily_hours: u8,
    pub fee: u8,
    pub burden: u8,
    pub apps: u32,
    pub exposure: u32,
    pub actions: u32,
    pub roles: u32,
    pub q08: [u8; 5],
    pub q09: [u8; 5],
    pub q12: [u8; 6],
    pub q10: u8,
    pub q11: u8,
    pub prac: Option<Practitioner>,
}

impl Answers {
    pub fn matrix_mut(&mut self) -> impl Iterator<Item = &mut u8> {
        self.q08.iter_mut().chain(self.q09.iter_mut()).chain(self.q12.iter_mut())
    }

    /// Age used for consistency rules: the single year, or a representative of the open groups.
    pub fn effective_age(&self) -> u8 {
        effective_age(self.age, self.age_group)
    }
}

/// Precomputed cut points for the ordinal items.
#[derive(Debug)]
pub(crate) struct Model {
    q10: Vec<f64>,
    q11: Vec<f64>,
}

impl Model {
    pub fn new() -> Model {
        Model {
            q10: probit_thresholds(&[26.0, 36.0, 29.0, 6.0, 3.0]),
            q11: probit_thresholds(&[30.0, 36.0, 27.0, 5.0, 2.0]),
        }
    }

    /// A valid, internally consistent respondent.
    #[expect(clippy::too_many_lines, reason = "one generative story, read top to bottom")]
    pub fn respondent(&self, rng: &mut impl Rng, geo: &Geography) -> Answers {
        let practitioner = chance(rng, 0.12);
        let city = geo.sample_city(rng);
        let region = geo.cities[city].region;

        // Age: minors come in through school pushes (ages 12–17 spike).
        let age_group = if practitioner {
            pick(rng, &[0.0, 2.0, 35.0, 38.0, 18.0, 6.5, 0.5, 0.0])
        } else {
            pick(rng, &[0.3, 24.0, 26.0, 28.4, 15.0, 5.6, 0.6, 0.1])
        } as u8;
        let age = match age_group {
            AGE_UNDER_10 | AGE_OVER_70 => None,
            1 if practitioner => Some(18 + rng.gen_range(0..3)),
            1 => {
                const W: [f64; 11] = [0.02, 0.04, 0.09, 0.12, 0.13, 0.14, 0.14, 0.12, 0.07, 0.065, 0.065];
                Some(10 + pick(rng, &W) as u8)
            }
            g => {
                let (lo, hi) = AGE_GROUP_RANGES[g as usize];
                Some(rng.gen_range(lo..=hi))
            }
        };
        let eff_age = effective_age(age, age_group);
        let minor = eff_age < 18;
        let female = chance(rng, if practitioner { 0.36 } else { 0.57 });

        let occupation = if practitioner {
            // Retired and student practitioners only where their age allows it.
            let retired = if eff_age >= 55 { 0.3 } else { 0.0 };
            let student = if eff_age <= 24 { 0.1 } else { 0.0 };
            pick(rng, &[0.35, 0.55, 0.04, retired, student, 0.04])
        } else if age_group == AGE_UNDER_10 || eff_age <= 17 {
            if eff_age <= 15 || chance(rng, 0.985) { OCC_STUDENT as usize } else { OCC_OTHER as usize }
        } else {
            let w: [f64; 6] = match eff_age {
                18..=22 => [0.06, 0.20, 0.06, 0.0, 0.60, 0.08],
                23..=24 => [0.16, 0.36, 0.10, 0.0, 0.26, 0.12],
                25..=49 => [0.29, 0.43, 0.125, 0.0, 0.025, 0.13],
                50..=59 => [0.24, 0.28, 0.10, 0.28, 0.0, 0.10],
                _ => [0.08, 0.07, 0.05, 0.70, 0.0, 0.10],
            };
            pick(rng, &w)
        } as u8;

        // Education is capped by age: no 本科 under 19, no 硕士 under 22, no 博士 under 25.
        let mut edu_w: [f64; 7] = if practitioner {
            [0.02, 0.05, 0.04, 0.20, 0.55, 0.12, 0.02]
        } else {
            match eff_age {
                0..=14 => [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                15..=17 => [0.55, 0.30, 0.15, 0.0, 0.0, 0.0, 0.0],
                18 => [0.15, 0.45, 0.25, 0.15, 0.0, 0.0, 0.0],
                19..=21 => [0.06, 0.16, 0.10, 0.32, 0.36, 0.0, 0.0],
                22..=24 => [0.05, 0.08, 0.06, 0.24, 0.50, 0.07, 0.0],
                25..=44 => [0.05, 0.08, 0.06, 0.24, 0.46, 0.09, 0.02],
                45..=59 => [0.16, 0.17, 0.09, 0.23, 0.30, 0.04, 0.01],
                _ => [0.36, 0.25, 0.09, 0.14, 0.13, 0.02, 0.01],
            }
        };
        match occupation {
            OCC_GOV => edu_w[4..].iter_mut().for_each(|w| *w *= 1.5),
            OCC_FREELANCE | OCC_RETIRED => edu_w[..3].iter_mut().for_each(|w| *w *= 1.5),
            _ => {}
        }
        let caps = [(19, 4usize), (22, 5), (25, 6)];
        for (min_age, level) in caps {
            if eff_age < min_age {
                edu_w[level..].iter_mut().for_each(|w| *w = 0.0);
            }
        }
        let education = pick(rng, &edu_w) as u8;

        // Years online never exceed age − 3.
        let max_years = eff_age.saturating_sub(3).clamp(1, 31);
        let mu = (0.55 * (f64::from(eff_age) - 6.0)).min(15.0);
        let net_years = ((mu + 4.0 * normal(rng)).round() as i64).clamp(1, i64::from(max_years)) as u8;

        let rural_p = match region {
            Region::East => 0.21,
            Region::Central => 0.31,
            Region::West | Region::Northeast => 0.34,
            Region::HkMoTw | Region::Overseas => 0.02,
        };
        let rural = chance(rng, rural_p);

        // Income (index 0..5 = brackets, 6 = prefer not to say); optional, so sometimes empty.
        let income = if chance(rng, 0.04) {
            None
        } else if chance(rng, 0.135) {
            Some(INCOME_UNDISCLOSED)
        } else {
            let w: [f64; 6] = match occupation {
                OCC_STUDENT => [0.86, 0.09, 0.03, 0.015, 0.005, 0.0],
                OCC_RETIRED => [0.12, 0.33, 0.33, 0.16, 0.05, 0.01],
                OCC_GOV => [0.02, 0.08, 0.30, 0.44, 0.13, 0.03],
                _ => [0.05, 0.10, 0.27, 0.38, 0.15, 0.05],
            };
            let mut w = w;
            if rural {
                w[0] *= 1.6;
                w[1] *= 1.4;
            }
            Some(pick(rng, &w) as u8)
        };
        let inc = income.filter(|&i| i != INCOME_UNDISCLOSED).map_or(2.0, f64::from);

        let young = eff_age < 30;
        let daily_hours =
            pick(rng, if young { &[0.03, 0.13, 0.32, 0.28, 0.24] } else { &[0.05, 0.21, 0.36, 0.22, 0.16] }) as u8;
        let fee =
            cut(0.35 * (inc - 2.0) + 0.15 * f64::from(daily_hours) - 0.3 + normal(rng), &[0.05, 1.0, 1.6, 2.0]) as u8;
        let burden = cut(-0.3 * (inc - 2.0) + 0.25 * f64::from(fee) + normal(rng), &[-1.35, -0.7, 1.0, 1.9]) as u8;

        let mut apps = 0u32;
        for (i, &rate) in APP_RATES.iter().enumerate() {
            let mult = match (i, minor, eff_age >= 50) {
                (8, true, _) => 1.6,     // games
                (13, true, _) => 1.8,    // online education
                (3 | 4, true, _) => 0.6, // payment, shopping
                (15 | 18 | 14, true, _) => 0.3,
                (8, _, true) => 0.5,
                (16, _, true) => 1.2,
                _ => 1.0,
            };
            if chance(rng, (rate * mult).min(0.98)) {
                apps |= 1 << i;
            }
        }
        if apps == 0 {
            apps = 1;
        }

        // Exposure to online risk: a latent propensity shared by the Q6 options.
        let e = normal(rng);
        let money_apps = [3usize, 4, 18].iter().filter(|&&i| apps & (1 << i) != 0).count() as f64;
        let mut exposure = 0u32;
        for (i, &rate) in EXPOSURE_RATES.iter().enumerate() {
            let mut x = logit(rate) + 0.9 * e;
            if i == Q6_FRAUD {
                x += 0.22 * (f64::from(daily_hours) - 2.5) + 0.18 * money_apps - 0.15;
                x += match eff_age {
                    0..=17 => -0.7,
                    40..=59 => 0.35,
                    _ => 0.0,
                };
                x += if region == Region::East { 0.15 } else { 0.0 } + if practitioner { 0.15 } else { 0.0 };
                x += 0.12 * (inc - 2.0);
            }
            if chance(rng, sigmoid(x)) {
                exposure |= 1 << i;
            }
        }
        if exposure == 0 {
            exposure = 1 << Q6_NONE;
        }
        let victim = exposure & 0b111 != 0;

        // What they do about problems.
        let actions = if chance(rng, 0.08) {
            1 << Q7_NOTHING
        } else {
            let mut a = 0u32;
            for (i, &rate) in ACTION_RATES.iter().enumerate() {
                let mult = match i {
                    3 if victim => 1.5,
                    4 if victim => 1.8,
                    2 if occupation == OCC_STUDENT => 1.5,
                    _ => 1.0,
                };
                if chance(rng, (rate * mult).min(0.95)) {
                    a |= 1 << i;
                }
            }
            if a == 0 { 1 } else { a }
        };

        let roles = if practitioner {
            let mut r = 0u32;
            for (i, p) in [0.25, 0.10, 0.03, 0.08, 0.45, 0.20, 0.15].iter().enumerate() {
                if chance(rng, *p) {
                    r |= 1 << i;
                }
            }
            if r == 0 { 1 << 4 } else { r }
        } else if chance(rng, 0.72) {
            1 << Q17_CONSUMER
        } else {
            let mut r = 0u32;
            for (i, p) in [0.14, 0.18, 0.11, 0.14, 0.21, 0.18, 0.11].iter().enumerate() {
                if chance(rng, *p) {
                    r |= 1 << i;
                }
            }
            if r == 0 { 1 << pick(rng, &[4.0, 5.0, 3.0, 4.0, 6.0, 5.0, 3.0]) } else { r }
        };

        // Latent sense of security (s) and governance satisfaction (g), in SD units.
        let edu_effect = match education {
            EDU_MASTER => -0.15,
            EDU_DOCTOR => -0.3,
            e if e < EDU_BACHELOR => 0.05,
            _ => 0.0,
        };
        let region_effect = match region {
            Region::East => 0.05,
            Region::West | Region::Northeast => -0.06,
            _ => 0.0,
        };
        let s = normal(rng)
            + if minor { 0.45 } else { 0.0 }
            + edu_effect
            + if victim { -0.4 } else { 0.0 }
            + if practitioner { 0.3 } else { 0.0 }
            + region_effect
            - 0.2 * e
            - if eff_age >= 60 { 0.1 } else { 0.0 };
        let g = 0.7 * s + 0.71 * normal(rng) + if minor { 0.2 } else { 0.0 };

        let enthusiast = chance(rng, if minor { 0.13 } else { 0.085 });
        let mut rating = |mu: f64, ls: f64, lg: f64, sigma: f64| -> u8 {
            let x = mu + 2.0 * (ls * s + lg * g) + sigma * normal(rng);
            heap(rng, x.round().clamp(1.0, 10.0) as u8)
        };
        let mut q08 = [0u8; 5];
        for (i, r) in q08.iter_mut().enumerate() {
            *r = rating(if i >= 3 { 6.8 } else { 7.1 }, 0.2, 0.65, 1.3);
        }
        let mut q09 = [
            rating(7.05, 0.85, 0.0, 1.1),
            rating(6.8, 0.5, 0.15, 1.4),
            rating(5.6, -0.2, 0.0, 2.0),
            rating(6.2, -0.2, 0.0, 2.0),
            rating(7.3, 0.45, 0.25, 1.3),
        ];
        let mut q12 = [0u8; 6];
        for (i, r) in q12.iter_mut().enumerate() {
            let mu = match i {
                0 => 7.35,
                4 => 6.75,
                5 => 7.75,
                _ => 7.2,
            };
            *r = rating(mu, 0.15, 0.75, 1.2);
        }
        if enthusiast {
            q08 = [10; 5];
            q12 = [10; 6];
            q09[0] = 10;
            q09[1] = 10;
            q09[4] = 10;
        }
        // No genuine respondent gives all 16 rows one value: that pattern is reserved for the
        // straight-liners the generator injects (and the screener flags).
        if q08.iter().chain(&q09).chain(&q12).all(|&r| r == q08[0]) {
            q09[2] = if q09[2] > 1 { q09[2] - 1 } else { 2 };
        }

        let z10 = 0.55 * s + 0.84 * normal(rng);
        let q10 = cut(-z10, &self.q10) as u8;
        let z11 = 0.45 * s + 0.3 * z10 + 0.8 * normal(rng);
        let q11 = cut(-z11, &self.q11) as u8;

        let prac = practitioner.then(|| {
            let difficulties = if chance(rng, 0.1) {
                1 << P6_NONE
            } else {
                let mut d = 0u32;
                for (i, p) in [0.45, 0.40, 0.30, 0.50, 0.28].iter().enumerate() {
                    if chance(rng, *p) {
                        d |= 1 << i;
                    }
                }
                if d == 0 { 1 << 3 } else { d }
            };
            let mut priorities = 0u32;
            for (i, p) in [0.62, 0.58, 0.40, 0.33, 0.18].iter().enumerate() {
                if chance(rng, *p) {
                    priorities |= 1 << i;
                }
            }
            if priorities == 0 {
                priorities = 1;
            }
            let years_cap = match eff_age {
                0..=22 => 2,
                23..=26 => 3,
                27..=32 => 4,
                _ => 5,
            };
            Practitioner {
                org_type: pick(rng, &[0.20, 0.12, 0.28, 0.04, 0.14, 0.10, 0.07, 0.05]) as u8,
                job_role: pick(rng, &[0.15, 0.30, 0.20, 0.08, 0.12, 0.15]) as u8,
                org_size: pick(rng, &[0.22, 0.28, 0.20, 0.16, 0.14]) as u8,
                industry_years: pick(rng, &[0.08, 0.2, 0.22, 0.27, 0.23][..years_cap]) as u8,
                overcollection: pick(rng, &[0.30, 0.40, 0.20, 0.10]) as u8,
                difficulties,
                priorities,
            }
        });

        Answers {
            practitioner,
            city,
            female,
            age_group,
            age,
            education,
            occupation,
            income,
            rural,
            net_years,
            daily_hours,
            fee,
            burden,
            apps,
            exposure,
            actions,
            roles,
            q08,
            q09,
            q12,
            q10,
            q11,
            prac,
        }
    }
}

/// The single year of age, or a representative of the open groups (under 10, over 70).
fn effective_age(age: Option<u8>, group: u8) -> u8 {
    age.unwrap_or(if group == AGE_UNDER_10 { 8 } else { 72 })
}

/// Heaping on 10-point scales: people round 9 up to 10, 7 up to 8, and 4 and 6 to the middle 5.
fn heap(rng: &mut impl Rng, r: u8) -> u8 {
    match r {
        9 if chance(rng, 0.3) => 10,
        7 if chance(rng, 0.25) => 8,
        4 | 6 if chance(rng, 0.2) => 5,
        _ => r,
    }
}
