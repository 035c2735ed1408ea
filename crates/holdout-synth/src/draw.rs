//! Small sampling helpers shared by the generator's modules.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Index drawn with probability proportional to `weights` (which need not sum to 1).
pub(crate) fn pick(rng: &mut impl Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.r#gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

pub(crate) fn chance(rng: &mut impl Rng, p: f64) -> bool {
    rng.r#gen::<f64>() < p
}

pub(crate) fn normal(rng: &mut impl Rng) -> f64 {
    StandardNormal.sample(rng)
}

pub(crate) fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Index of the first threshold above `z` (ordered-probit style cut points).
pub(crate) fn cut(z: f64, thresholds: &[f64]) -> usize {
    thresholds.iter().position(|t| z < *t).unwrap_or(thresholds.len())
}

/// Cut points that give `shares` for a standard normal latent variable.
pub(crate) fn probit_thresholds(shares: &[f64]) -> Vec<f64> {
    let total: f64 = shares.iter().sum();
    let mut acc = 0.0;
    shares[..shares.len() - 1]
        .iter()
        .map(|s| {
            acc += s / total;
            inverse_normal_cdf(acc)
        })
        .collect()
}

/// Acklam's rational approximation of the standard normal quantile (|error| < 1.2e-9).
pub(crate) fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.024_25 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.024_25 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_accurate() {
        assert!((inverse_normal_cdf(0.5)).abs() < 1e-9);
        assert!((inverse_normal_cdf(0.975) - 1.959_963_985).abs() < 1e-6);
        assert!((inverse_normal_cdf(0.01) + 2.326_347_874).abs() < 1e-6);
    }

    #[test]
    fn thresholds_reproduce_shares() {
        let t = probit_thresholds(&[26.0, 36.0, 29.0, 6.0, 3.0]);
        assert_eq!(t.len(), 4);
        assert_eq!(cut(-5.0, &t), 0);
        assert_eq!(cut(5.0, &t), 4);
    }
}
