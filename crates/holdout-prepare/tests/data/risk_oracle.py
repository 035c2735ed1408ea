#!/usr/bin/env python3
"""Independent oracle for holdout_prepare::risk (re-identification risk, ARX definitions).

Generates seeded equivalence-class size vectors and computes every figure of the Rust module with
numpy/scipy, written to risk_oracle.json next to this file. Test-time only, never a runtime dependency:

    pip install numpy scipy
    python3 crates/holdout-prepare/tests/data/risk_oracle.py

How each figure is computed here (independently of the Rust code):
- prosecutor / marketer / uniques / buckets: directly on the expanded array of class sizes;
- Pitman: maximum of the Pitman sampling-formula log-likelihood (scipy.optimize Nelder-Mead from
  several starts over the whole domain alpha < 1, theta > max(-alpha, -(u-1) alpha)), polished with
  scipy.optimize.root on the score; a supremum on the boundary counts as "no estimate", and so does
  a maximum with theta < 0 (ARX's constraint).
  Uniques = poch(theta + alpha, 1 - alpha) * N**alpha (scipy's poch is accurate for large theta);
- Zayatz: hypergeometric P(X = 1) ratios from a log1p product, checked against
  scipy.stats.hypergeom.pmf to 1e-5 relative (scipy itself is only ~1e-7 accurate at N ~ 1e9);
- SNB: Shlosser estimator (Haas & Stokes' D_Sh3) and the two raw moment equations solved with
  scipy.optimize.fsolve from several starts;
- Dankar et al.'s decision rule on top.
"""

import json
import math
import warnings
from pathlib import Path

import numpy as np
from scipy import optimize, special, stats

OUT = Path(__file__).with_name("risk_oracle.json")


# ----------------------------------------------------------------------------- generators


def histogram(sizes):
    values, counts = np.unique(np.asarray(sizes, dtype=np.int64), return_counts=True)
    return [[int(v), int(c)] for v, c in zip(values, counts)]


def binomial_sample(rng, population_sizes, fraction):
    """Samples each population record with probability `fraction`; returns the non-empty class sizes."""
    f = rng.binomial(population_sizes, fraction)
    return f[f > 0], int(population_sizes.sum())


def zipf_population(rng, classes, exponent, cap):
    return np.minimum(rng.zipf(exponent, size=classes), cap).astype(np.int64)


def pareto_population(rng, classes, shape, scale):
    return (1 + np.floor(scale * rng.pareto(shape, size=classes))).astype(np.int64)


def crp(rng, n, theta, alpha):
    """Chinese restaurant process with Pitman-Yor (theta, alpha): class sizes of n records. A seated
    record is drawn uniformly (weight = class size) and kept with probability (size - alpha) / size."""
    owner = np.empty(n, dtype=np.int64)  # class of each seated record
    sizes = []
    for i in range(n):
        k = len(sizes)
        if i == 0 or rng.random() * (theta + i) < theta + alpha * k:
            sizes.append(1)
            owner[i] = k
        else:
            # pick a seated record uniformly (weight size) and reject by (size - alpha) / size
            while True:
                j = owner[rng.integers(i)]
                if rng.random() * sizes[j] < sizes[j] - alpha:
                    break
            sizes[j] += 1
            owner[i] = j
    return np.asarray(sizes, dtype=np.int64)


# ----------------------------------------------------------------------------- figures


def sample_figures(sizes, threshold):
    sizes = np.asarray(sizes, dtype=np.int64)
    n = int(sizes.sum())
    if n == 0:
        return dict(records=0, classes=0, min_class_size=0, prosecutor_highest=0.0, prosecutor_lowest=0.0,
                    prosecutor_average=0.0, records_at_risk=0.0, marketer=0.0, sample_uniques=0.0)
    per_record_risk = np.repeat(1.0 / sizes, sizes)  # one entry per record
    return dict(
        records=n,
        classes=int(sizes.size),
        min_class_size=int(sizes.min()),
        prosecutor_highest=float(per_record_risk.max()),
        prosecutor_lowest=float(per_record_risk.min()),
        prosecutor_average=float(math.fsum(per_record_risk) / n),
        records_at_risk=float(np.count_nonzero(per_record_risk > threshold) / n),
        marketer=float(sizes.size / n),
        sample_uniques=float(np.count_nonzero(sizes == 1) / n),
    )


BUCKETS = [(s, s) for s in range(1, 21)] + [(21, 50), (51, 100), (101, 1000), (1001, None)]


def buckets(sizes):
    sizes = np.asarray(sizes, dtype=np.int64)
    out = []
    for lo, hi in BUCKETS:
        mask = (sizes >= lo) & ((sizes <= hi) if hi is not None else True)
        if mask.any():
            out.append(dict(min_size=lo, max_size=hi, classes=int(mask.sum()), records=int(sizes[mask].sum())))
    return out


def pitman_loglik(theta, alpha, hist, u, n):
    """Log-likelihood of Pitman's sampling formula, constant terms dropped (alpha < 1, theta + i alpha > 0)."""
    i = np.arange(1, u, dtype=float)
    ll = np.sum(np.log(theta + i * alpha)) - (special.gammaln(theta + n) - special.gammaln(theta + 1))
    for size, count in hist:
        if size >= 2:
            ll += count * (special.gammaln(size - alpha) - special.gammaln(1 - alpha))
    return ll


def pitman_score(x, hist, u, n):
    """Gradient of the log-likelihood and the scale of its terms (for a relative convergence test)."""
    theta, alpha = x
    i = np.arange(1, u, dtype=float)
    w = 1.0 / (theta + i * alpha)
    t = special.digamma(theta + n) - special.digamma(theta + 1)
    r = sum(c * (special.digamma(s - alpha) - special.digamma(1 - alpha)) for s, c in hist if s >= 2)
    g = np.array([np.sum(w) - t, np.sum(i * w) - r])
    return g, np.array([abs(t) + np.sum(np.abs(w)), abs(r) + np.sum(np.abs(i * w))])


def pitman_fit(hist):
    """Interior maximum of the likelihood over alpha < 1, theta > max(-alpha, -(u-1) alpha) (the whole
    domain of Pitman's formula); None when the supremum lies on the boundary. ARX further requires
    theta >= 0, checked by the caller."""
    u = sum(c for _, c in hist)
    n = sum(s * c for s, c in hist)
    c1 = sum(c for s, c in hist if s == 1)
    if u < 2 or c1 == u:
        return None

    def unpack(z):
        alpha = 1.0 - math.exp(z[1])
        return max(-alpha, -(u - 1) * alpha) + math.exp(z[0]), alpha

    def objective(z):
        if max(abs(z[0]), abs(z[1])) > 700:
            return 1e300  # exp overflows: far outside any plausible fit
        theta, alpha = unpack(z)
        value = -pitman_loglik(theta, alpha, hist, u, n)
        return value if math.isfinite(value) else 1e300

    best = None
    for theta0 in (1.0, u / 10, u, 10 * u):
        for alpha0 in (-0.5, 0.2, 0.5, 0.8):
            z0 = [math.log(theta0), math.log(1 - alpha0)]
            res = optimize.minimize(objective, z0, method="Nelder-Mead",
                                    options=dict(xatol=1e-10, fatol=1e-12, maxiter=4000, maxfev=8000))
            if best is None or res.fun < best.fun:
                best = res
    root = optimize.root(lambda x: pitman_score(x, hist, u, n)[0], unpack(best.x), method="hybr")
    theta, alpha = root.x
    if not (alpha < 1 and theta + alpha > 0 and theta + (u - 1) * alpha > 0):
        return None
    grad, scale = pitman_score(root.x, hist, u, n)
    if np.any(np.abs(grad) > 1e-9 * scale):
        return None  # no stationary point: the supremum is on the boundary
    # a local maximum: numerical Hessian of the log-likelihood negative definite
    h = np.empty((2, 2))
    for k, e in enumerate(np.eye(2)):
        step = 1e-6 * max(abs(root.x[k]), 1e-3)
        h[:, k] = (pitman_score(root.x + step * e, hist, u, n)[0]
                   - pitman_score(root.x - step * e, hist, u, n)[0]) / (2 * step)
    if not (h[0, 0] < 0 and np.linalg.det(h) > 0):
        return None
    return float(theta), float(alpha)


def pitman_uniques(fit, population):
    if fit is None:
        return None
    theta, alpha = fit
    if theta < 0 or alpha == 0:
        return None  # ARX constrains theta >= 0
    uniques = special.poch(theta + alpha, 1 - alpha) * float(population) ** alpha
    return float(uniques) if math.isfinite(uniques) and 0 < uniques <= population else None


def zayatz_uniques(hist, population):
    n = sum(s * c for s, c in hist)
    c1 = sum(c for s, c in hist if s == 1)
    max_size = max(s for s, _ in hist)
    j = np.arange(1, max_size, dtype=np.int64)
    with np.errstate(divide="ignore"):
        # a factor (N - n - j + 1) / (N - j) <= 0 means the class cannot be drawn exactly once
        ln_terms = np.log1p(np.maximum(-(n - 1) / (population - j).astype(float), -1.0))
    ln_prod = np.concatenate([[0.0], np.cumsum(ln_terms)])  # ln_prod[s-1] = sum_{j<s}
    ratio = {s: s * math.exp(ln_prod[s - 1]) for s, _ in hist}
    # cross-check the ratio h_s / h_1 against scipy's hypergeometric pmf
    h1 = stats.hypergeom.pmf(1, population, 1, n)
    for s, _ in hist[:20]:
        expected = stats.hypergeom.pmf(1, population, s, n) / h1
        assert math.isclose(ratio[s], expected, rel_tol=1e-5, abs_tol=1e-300), (s, ratio[s], expected)
    weighted = math.fsum(c * ratio[s] for s, c in hist)
    uniqueness = c1 / weighted
    uniques = c1 * uniqueness / (n / population)
    return float(uniques) if 0 < uniques <= population else None


def shlosser(hist, f):
    s = np.array([h[0] for h in hist], dtype=float)
    c = np.array([h[1] for h in hist], dtype=float)
    c1 = c[s == 1].sum()
    num1 = np.sum(s * f**2 * (1 - f**2) ** (s - 1) * c)
    den1 = np.sum(((1 - f**2) ** s - (1 - f) ** s) * c)  # (1-f)^s ((1+f)^s - 1), without overflow
    num2 = np.sum((1 - f) ** s * c)
    den2 = np.sum(s * f * (1 - f) ** (s - 1) * c)
    return c.sum() + c1 * (num1 / den1) * (num2 / den2) ** 2


def snb_uniques(hist, population):
    n = sum(s * c for s, c in hist)
    c1 = sum(c for s, c in hist if s == 1)
    c2 = sum(c for s, c in hist if s == 2)
    f = n / population
    if c2 == 0 or f >= 1:
        return None, None
    k = shlosser(hist, f)
    if not (math.isfinite(k) and k > 0):
        return None, None

    def expected(a, b):
        d = (1 - f) * (1 - b)
        e1 = k * f * (b / (1 - d)) ** a * (1 + a * d / (1 - d))
        e2 = k * a * b**a * f**2 * (1 - b) / 2 * (1 - d) ** (-(a + 2)) * (2 - (1 - a) * d)
        return e1, e2

    def equations(x):
        """ln E[c1] - ln c1 and ln E[c2] - ln c2: the raw equations are too badly scaled for fsolve."""
        a, b = x
        if not (a > 0 and 0 < b < 1):
            return [1e3, 1e3]
        e1, e2 = expected(a, b)
        return [math.log(e1 / c1), math.log(e2 / c2)]

    roots = []
    for a0 in (1.0, 0.5, 2.0, 0.1, 10.0):
        for b0 in (0.5, 0.1, 0.9, 0.01):
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # "not making good progress" from bad starts
                x = optimize.fsolve(equations, [a0, b0], xtol=1e-14)
            if x[0] > 0 and 0 < x[1] < 1 and max(abs(v) for v in equations(x)) < 1e-10:
                roots.append((float(x[0]), float(x[1])))
    if not roots:
        return k, None
    distinct = {(round(a, 6), round(b, 8)) for a, b in roots}
    assert len(distinct) == 1, f"several SNB roots: {distinct}"
    a, b = roots[0]
    uniques = k * b**a
    return float(k), (float(uniques) if 0 < uniques <= population else None)


def population_figures(hist, population):
    n = sum(s * c for s, c in hist)
    c1 = sum(c for s, c in hist if s == 1)
    out = dict(pitman_fit=None, pitman_uniques=None, zayatz_uniques=None, snb_uniques=None)
    fit = pitman_fit(hist) if n > 0 else None
    if fit is not None:
        out.update(pitman_fit=dict(theta=fit[0], alpha=fit[1]))
    if n == 0 or c1 == 0:
        out.update(population_model="none", population_uniques=0.0)
        if n > 0:
            out.update(pitman_uniques=0.0, zayatz_uniques=0.0, snb_uniques=0.0)
        return out
    pitman = pitman_uniques(fit, population)
    zayatz = zayatz_uniques(hist, population)
    _, snb = snb_uniques(hist, population)
    out.update(pitman_uniques=pitman, zayatz_uniques=zayatz, snb_uniques=snb)
    if n / population <= 0.1:
        model, uniques = ("pitman", pitman) if pitman is not None else ("zayatz", zayatz)
    elif snb is not None and snb <= zayatz:
        model, uniques = "snb", snb
    else:
        model, uniques = "zayatz", zayatz
    out.update(population_model=model, population_uniques=uniques / population)
    return out


# ----------------------------------------------------------------------------- cases


def cases():
    rng = np.random.default_rng(20240601)
    out = []

    def add(name, sizes, population, threshold=0.05, suppressed=0):
        out.append((name, np.asarray(sizes, dtype=np.int64), int(population), threshold, suppressed))

    # hand-checkable
    add("hand_1_1_2_5", [1, 1, 2, 5], 1000, threshold=0.2, suppressed=3)
    add("empty", [], 1000)
    add("single_class_of_one", [1], 100)
    add("single_class_of_seven", [7], 100)
    add("all_singletons", [1] * 50, 10_000)
    add("no_uniques", [2, 3, 3, 5, 8, 20], 10_000)
    add("census_small", [1, 1, 1, 2, 2, 3, 4], 14)
    add("threshold_edge", [1, 2, 4, 5, 10, 20, 21], 10_000, threshold=0.05)

    # Pitman-Yor samples (the model Pitman's estimator assumes), pi <= 0.1
    for i, (n, theta, alpha, pi) in enumerate([(2000, 50.0, 0.5, 0.01), (5000, 500.0, 0.3, 0.003),
                                              (20000, 2000.0, 0.6, 0.05), (20000, 100.0, 0.8, 0.1),
                                              (50000, 10000.0, 0.4, 0.001)]):
        sizes = crp(rng, n, theta, alpha)
        add(f"pitman_yor_{i}", sizes, round(n / pi))

    # binomial samples of heavy-tailed populations at various fractions
    for i, (classes, exponent, pi) in enumerate([(20000, 1.6, 0.01), (20000, 2.0, 0.05), (50000, 1.8, 0.003),
                                                (5000, 1.5, 0.1), (5000, 1.7, 0.2), (20000, 2.2, 0.5),
                                                (3000, 1.6, 0.9), (10000, 1.4, 0.3)]):
        pop = zipf_population(rng, classes, exponent, cap=200_000)
        sizes, population = binomial_sample(rng, pop, pi)
        add(f"zipf_{i}_pi{pi}", sizes, population, threshold=0.1)
    for i, (classes, shape, scale, pi) in enumerate([(30000, 1.2, 5.0, 0.02), (30000, 0.8, 2.0, 0.005),
                                                    (10000, 1.5, 20.0, 0.15), (10000, 2.5, 10.0, 0.6)]):
        pop = pareto_population(rng, classes, shape, scale)
        sizes, population = binomial_sample(rng, pop, pi)
        add(f"pareto_{i}_pi{pi}", sizes, population, threshold=0.02, suppressed=17)

    # survey scale: ~3 M respondents of ~1.1 billion netizens (pi ~ 0.0027)
    pop = pareto_population(rng, 2_000_000, 1.1, 60.0)
    sizes, population = binomial_sample(rng, pop, 0.0027)
    add("survey_scale", sizes, population, threshold=0.05, suppressed=1234)

    pop = zipf_population(rng, 500_000, 1.3, cap=5_000_000)
    sizes, population = binomial_sample(rng, pop, 0.003)
    add("zipf_survey_scale", sizes, population, threshold=0.05)
    add("pitman_yor_large_theta", crp(rng, 100_000, 50_000.0, 0.2), 50_000_000)
    add("uniform_small_classes", rng.integers(1, 6, size=2000), 1_000_000, threshold=0.3)

    # skewed: a few huge classes plus a tail of uniques
    add("skewed_giants", np.concatenate([[250_000, 100_000, 40_000], rng.integers(1, 4, size=3000)]), 40_000_000)
    # Pitman's likelihood peaks at theta < 0: ARX's constraint rejects it, Dankar falls back to Zayatz
    add("pitman_negative_theta", [1] * 20 + [2] + [500] * 3, 200_000)
    # sample with many small classes, large pi, no size-2 classes (SNB impossible)
    add("no_doubletons_pi_half", [1] * 30 + [3] * 20 + [7] * 5, 250)
    return out


def main():
    records = []
    for name, sizes, population, threshold, suppressed in cases():
        hist = histogram(sizes)
        figures = sample_figures(sizes, threshold)
        record = dict(name=name, population=population, threshold=threshold, suppressed=suppressed,
                      histogram=hist, **figures,
                      sampling_fraction=figures["records"] / population,
                      k_anonymity_violations_5=int(sizes[sizes < 5].sum()),
                      class_size_histogram=buckets(sizes))
        record.update(population_figures(hist, population))
        records.append(record)
        print(f"{name:28s} n={figures['records']:>8d} u={figures['classes']:>8d} pi={record['sampling_fraction']:.4g} "
              f"model={record['population_model']:7s} uniques={record['population_uniques']:.6g} "
              f"pitman={record['pitman_fit']}")

    xs = [1e-8, 0.01, 0.3, 0.5, 1.0, 1.4616321449683622, 2.0, 3.7, 9.99, 10.0, 10.01, 25.3, 1e3, 123456.789, 1e10]
    special_values = [dict(x=x, ln_gamma=float(special.gammaln(x)), digamma=float(special.digamma(x)),
                           trigamma=float(special.polygamma(1, x))) for x in xs]
    ratios = [dict(b=b, d=d, ln_ratio=float(math.log(special.poch(b, d))))
              for b, d in [(0.3, 0.7), (2.5, 0.4), (9.5, 0.5), (12.0, 0.25), (1234.5, 0.6), (1e6 + 0.3, 0.7),
                           (3.2e8, 0.55), (5.0, 100.0), (40.0, -0.5)]]
    # one case per line: compact, yet diffs show which case changed
    sections = [("cases", records), ("special", special_values), ("ln_gamma_ratio", ratios)]
    text = "{\n" + ",\n".join(
        f'"{key}": [\n' + ",\n".join(json.dumps(item) for item in items) + "\n]" for key, items in sections) + "\n}\n"
    json.loads(text)
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
