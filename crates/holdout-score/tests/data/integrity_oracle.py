#!/usr/bin/env python3
"""Oracle for holdout's rank uncertainty and integrity statistics.

Writes `integrity_oracle.json` beside this file (read by `tests/score/integrity.rs`):

- `kendall`: scipy.stats.kendalltau (variant "b") on seeded cases, with and without ties;
  null where scipy returns NaN (a constant side).
- `pearson`: numpy.corrcoef on seeded cases.
- `ranks`: boards of replicate scores (teams x R, NaN = undefined), and from them, computed here
  independently of holdout: per-replicate competition ranks (scipy.stats.rankdata, method "min",
  undefined last), P(rank = 1) by a direct count (shared firsts split evenly), the rank interval
  by numpy.percentile(method="inverted_cdf") at 2.5 and 97.5, the paired bootstrap p-values
  (b + 1) / (R + 1) against the leader, and Holm's correction by
  statsmodels.stats.multitest.multipletests(method="holm").

Regenerate (Python 3.11):
    pip install numpy==2.4.6 scipy==1.17.1 statsmodels==0.15.0
    python3 crates/holdout-score/tests/data/integrity_oracle.py

The output is deterministic: two runs give identical bytes.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests

PINS = {"numpy": (np, "2.4.6"), "scipy": (scipy, "1.17.1"), "statsmodels": (statsmodels, "0.15.0")}
SEED = 20260917
OUT = Path(__file__).with_name("integrity_oracle.json")
ALPHA = 0.05


def finite_or_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def kendall_cases(rng: np.random.Generator) -> list[dict]:
    cases = [
        ("perfect", [1, 2, 3, 4, 5], [2, 4, 6, 8, 10]),
        ("reversed", [1, 2, 3, 4, 5], [5, 4, 3, 2, 1]),
        ("ties_in_x", [1, 1, 2, 3, 3, 4], [1, 2, 3, 4, 5, 6]),
        ("ties_in_y", [1, 2, 3, 4, 5, 6], [2, 2, 2, 5, 1, 1]),
        ("ties_in_both", [1, 1, 2, 2, 3, 3, 3], [1, 2, 2, 1, 3, 3, 0]),
        ("constant_x", [7, 7, 7, 7], [1, 2, 3, 4]),
        ("two", [0.3, 0.1], [0.5, 0.9]),
    ]
    out = [{"name": n, "x": [float(v) for v in x], "y": [float(v) for v in y]} for n, x, y in cases]
    # Public and private scores of a board: correlated, rounded so that ties are common.
    for i, (n, decimals) in enumerate([(30, 2), (100, 2), (250, 3), (500, 2)]):
        public = rng.normal(0.7, 0.03, n)
        private = public + rng.normal(0, 0.015, n)
        out.append({"name": f"board_{i}_{n}", "x": list(np.round(public, decimals)), "y": list(np.round(private, decimals))})
    for case in out:
        case["x"] = [float(v) for v in case["x"]]
        case["y"] = [float(v) for v in case["y"]]
        case["tau_b"] = finite_or_none(stats.kendalltau(case["x"], case["y"], variant="b").statistic)
    return out


def pearson_cases(rng: np.random.Generator) -> list[dict]:
    out = []
    for i, n in enumerate([3, 50, 2000]):
        x = rng.normal(0, 1, n)
        y = 0.6 * x + rng.normal(0, 1, n) + 100.0
        out.append({"name": f"pearson_{i}", "x": [float(v) for v in x], "y": [float(v) for v in y]})
    for case in out:
        case["r"] = float(np.corrcoef(case["x"], case["y"])[0, 1])
    return out


def min_ranks(column: np.ndarray, greater_is_better: bool) -> np.ndarray:
    """Competition ranks, 1 = best, undefined (NaN) after every defined score."""
    key = -column if greater_is_better else column.copy()
    key = np.where(np.isnan(key), np.inf, key)
    return stats.rankdata(key, method="min").astype(int)


def rank_case(name: str, rng: np.random.Generator, teams: int, replicates: int, greater: bool,
              spread: float, noise: float, decimals: int, undefined: float) -> dict:
    means = np.sort(rng.normal(0.7, spread, teams))[::-1] if greater else np.sort(rng.normal(0.5, spread, teams))
    common = rng.normal(0, noise, replicates)
    values = means[:, None] + common[None, :] + rng.normal(0, noise, (teams, replicates))
    values = np.round(values, decimals)
    values[rng.random((teams, replicates)) < undefined] = np.nan
    points = np.round(means, decimals)
    ranks = np.array([min_ranks(values[:, r], greater) for r in range(replicates)]).T  # teams x R
    first = np.zeros(teams)
    for r in range(replicates):
        winners = ranks[:, r] == 1
        first[winners] += 1.0 / winners.sum()
    first /= replicates
    point_ranks = min_ranks(points, greater)
    leader = int(np.flatnonzero(point_ranks == 1)[0])
    others = [t for t in range(teams) if t != leader]
    b = np.array([(ranks[t] <= ranks[leader]).sum() for t in others])
    p = (b + 1) / (replicates + 1)
    reject, p_holm, _, _ = multipletests(p, alpha=ALPHA, method="holm")
    tests = {t: (float(p[i]), float(p_holm[i]), bool(reject[i])) for i, t in enumerate(others)}
    expected = []
    for t in range(teams):
        low, high = np.percentile(ranks[t], [2.5, 97.5], method="inverted_cdf")
        test = tests.get(t)
        expected.append({
            "rank": int(point_ranks[t]),
            "probability_first": float(first[t]),
            "rank_low": int(low),
            "rank_high": int(high),
            "p_value": test[0] if test else None,
            "p_holm": test[1] if test else None,
            "leader_better": test[2] if test else False,
        })
    return {
        "name": name,
        "greater_is_better": greater,
        "points": [float(v) for v in points],
        "replicates": [[finite_or_none(v) for v in row] for row in values],
        "leader": leader,
        "teams": expected,
        "indistinguishable_from_leader": [t for t in range(teams) if t == leader or not tests[t][2]],
    }


def layout(oracle: dict) -> str:
    """One line per case, as `sklearn_oracle.json` is laid out."""
    lines = ["{"]
    for i, (key, value) in enumerate(oracle.items()):
        end = "," if i < len(oracle) - 1 else ""
        if isinstance(value, list):
            cases = [f"    {json.dumps(c, sort_keys=True, allow_nan=False)}" for c in value]
            lines.append(f"  {json.dumps(key)}: [\n" + ",\n".join(cases) + f"\n  ]{end}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, sort_keys=True)}{end}")
    return "\n".join(lines) + "\n}\n"


def main() -> None:
    for module, (mod, pin) in PINS.items():
        if mod.__version__ != pin:
            print(f"warning: {module} {mod.__version__}, pinned {pin}: the seeded data may change", file=sys.stderr)
    rng = np.random.default_rng(SEED)
    # R + 1 is never a multiple of 20, so no (b + 1)(m - i) / (R + 1) lands exactly on 0.05.
    ranks = [
        rank_case("close_top_greater", rng, 8, 200, True, 0.01, 0.01, 3, 0.0),
        rank_case("spread_loss", rng, 12, 1000, False, 0.05, 0.01, 3, 0.0),
        rank_case("coarse_ties", rng, 10, 500, True, 0.01, 0.01, 2, 0.0),
        rank_case("undefined_replicates", rng, 6, 300, True, 0.02, 0.01, 3, 0.1),
        rank_case("sixteen_teams", rng, 16, 800, True, 0.01, 0.005, 4, 0.0),
        # 59 teams behind the leader need 1,179 replicates: with 1,000 none is told apart.
        rank_case("many_teams", rng, 60, 1000, True, 0.03, 0.005, 4, 0.01),
    ]
    oracle = {
        "generator": "tests/data/integrity_oracle.py",
        "versions": {k: m.__version__ for k, (m, _) in PINS.items()},
        "seed": SEED,
        "kendall": kendall_cases(rng),
        "pearson": pearson_cases(rng),
        "ranks": ranks,
    }
    OUT.write_text(layout(oracle))
    print(f"wrote {OUT}: {len(oracle['kendall'])} Kendall, {len(oracle['pearson'])} Pearson, {len(ranks)} rank cases")


if __name__ == "__main__":
    main()
