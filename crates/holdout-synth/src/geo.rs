//! Where respondents live and which channel (QR code) brought them: the geography hierarchy
//! with its sampling weights, and a Zipf-distributed set of 6-digit source ids per province.

use std::collections::BTreeSet;

use holdout_schema::Hierarchy;
use rand::Rng;
use rand::distributions::{Distribution, WeightedIndex};

use crate::SynthError;

/// NBS macro-regions plus the two groups outside the mainland.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Region {
    East,
    Central,
    West,
    Northeast,
    HkMoTw,
    Overseas,
}

#[derive(Debug, Clone)]
pub(crate) struct City {
    pub name: String,
    pub province: usize,
    pub region: Region,
    /// First four digits of the GB/T 2260 code, used for resident-id numbers.
    pub code: String,
}

/// Cities, provinces and channels, with their sampling distributions.
#[derive(Debug)]
pub(crate) struct Geography {
    pub cities: Vec<City>,
    pub provinces: Vec<String>,
    city_weights: WeightedIndex<f64>,
    /// Channels (6-digit source ids) of each province, Zipf-weighted.
    channels: Vec<(Vec<u32>, WeightedIndex<f64>)>,
    province_weights: WeightedIndex<f64>,
    mainland: Vec<usize>,
}

/// About how many distinct channels distribute the questionnaire nationally.
const CHANNELS: f64 = 3000.0;

impl Geography {
    pub fn new(hierarchy: &Hierarchy, rng: &mut impl Rng) -> Result<Geography, SynthError> {
        let field = |name: &str| {
            hierarchy
                .field(name)
                .ok_or_else(|| SynthError::Dataset(format!("hierarchy geography has no `{name}` column")))
        };
        let (fc, fp, fr, fcode, fw) =
            (field("city")?, field("province")?, field("region")?, field("city_code")?, field("weight")?);
        let mut provinces: Vec<String> = Vec::new();
        let mut province_weight: Vec<f64> = Vec::new();
        let mut cities = Vec::new();
        let mut weights = Vec::new();
        for row in hierarchy.rows() {
            let region = match row[fr].as_str() {
                "东部" => Region::East,
                "中部" => Region::Central,
                "西部" => Region::West,
                "东北" => Region::Northeast,
                "港澳台" => Region::HkMoTw,
                "海外" => Region::Overseas,
                other => return Err(SynthError::Dataset(format!("geography: unknown region `{other}`"))),
            };
            let weight: f64 =
                row[fw].parse().ok().filter(|w: &f64| *w >= 0.0 && w.is_finite()).ok_or_else(|| {
                    SynthError::Dataset(format!("geography: bad weight `{}` for {}", row[fw], row[fc]))
                })?;
            let province = if let Some(i) = provinces.iter().position(|p| *p == row[fp]) {
                i
            } else {
                provinces.push(row[fp].clone());
                province_weight.push(0.0);
                provinces.len() - 1
            };
            province_weight[province] += weight;
            cities.push(City { name: row[fc].clone(), province, region, code: row[fcode].clone() });
            weights.push(weight);
        }
        let city_weights =
            WeightedIndex::new(&weights).map_err(|e| SynthError::Dataset(format!("geography weights: {e}")))?;
        let province_weights =
            WeightedIndex::new(&province_weight).map_err(|e| SynthError::Dataset(format!("geography weights: {e}")))?;
        let total: f64 = province_weight.iter().sum();

        // Channel ids: unique 6-digit numbers, more of them where more people answer.
        let mut used = BTreeSet::new();
        let mut channels = Vec::with_capacity(provinces.len());
        for w in &province_weight {
            let n = ((CHANNELS * w / total).round() as usize).max(3);
            let mut ids = Vec::with_capacity(n);
            while ids.len() < n {
                let id = rng.gen_range(100_000..1_000_000u32);
                if used.insert(id) {
                    ids.push(id);
                }
            }
            let zipf: Vec<f64> = (0..n).map(|r| 1.0 / ((r + 1) as f64).powf(1.1)).collect();
            channels.push((ids, WeightedIndex::new(&zipf).map_err(|e| SynthError::Dataset(e.to_string()))?));
        }
        let mainland = cities
            .iter()
            .enumerate()
            .filter(|(_, c)| !matches!(c.region, Region::HkMoTw | Region::Overseas) && c.code.len() == 4)
            .map(|(i, _)| i)
            .collect();
        Ok(Geography { cities, provinces, city_weights, channels, province_weights, mainland })
    }

    pub fn sample_city(&self, rng: &mut impl Rng) -> usize {
        self.city_weights.sample(rng)
    }

    /// A channel: mostly one distributed in the respondent's own province.
    pub fn sample_channel(&self, rng: &mut impl Rng, province: usize) -> u32 {
        let province = if rng.gen_bool(0.88) { province } else { self.province_weights.sample(rng) };
        let (ids, w) = &self.channels[province];
        ids[w.sample(rng)]
    }

    /// Any channel, weighted like respondents.
    pub fn any_channel(&self, rng: &mut impl Rng) -> u32 {
        let p = self.province_weights.sample(rng);
        self.sample_channel(rng, p)
    }

    /// A mainland city for things that need a mainland administrative code.
    pub fn mainland_city(&self, rng: &mut impl Rng, preferred: usize) -> &City {
        let c = &self.cities[preferred];
        if self.mainland.contains(&preferred) {
            c
        } else {
            &self.cities[self.mainland[rng.gen_range(0..self.mainland.len())]]
        }
    }
}
