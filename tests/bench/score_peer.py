#!/usr/bin/env python3
"""A pandas + scikit-learn peer of `holdout score --solution`, for benchmarking.

What a competent data scientist would write to score a contest submission against a bare
solution file (`id,target[,usage]`): read both CSVs with pandas (pyarrow reader), validate the
submission, align it to the solution by id, and compute with scikit-learn every metric holdout
computes for the task, on all rows and on the public and private rows. Optionally, a percentile
bootstrap of ROC AUC done the usual way: numpy index resampling and one
`roc_auc_score` call per replicate, on each of the same three subsets holdout bootstraps.

Validation (vectorized; the same checks holdout makes on a well-formed file, reported as counts
and a few example ids; ids are matched with one hash lookup, pandas.Index.get_indexer, which
also aligns the submission to the solution):
  - the header is exactly `id,probability` (binary) or `id,<label>,...` (class probabilities);
  - no empty ids; no duplicate ids; every id is a solution id and every solution id is present
    (ids compared after stripping surrounding white space, as holdout does);
  - every value is a number (no empty or non-numeric cells) and finite;
  - probabilities lie in [0, 1]; class-probability rows sum to 1 within 1e-6;
  - every solution target is one of the task's labels.
holdout also diagnoses malformed files (encodings, delimiters, misspelt headers, repeated
headers, ragged rows, size limit) with friendlier messages; on this benchmark's clean files
none of that triggers, so the peer skips it.

Metrics, called as scikit-learn documents them (the same calls as holdout's parity oracle,
crates/holdout-score/tests/data/sklearn_oracle.py):
  binary + probability: accuracy, balanced_accuracy, precision/recall/f1 macro, f1 micro and
    weighted, matthews_corrcoef (labels from p >= 0.5), log_loss (Kaggle's: clip to
    [1e-15, 1 - 1e-15], renormalise rows), roc_auc, average_precision;
  ordinal + class probabilities: the label metrics (labels from the arg-max column), quadratic
    weighted kappa with labels=[1..5], rmse and mae of the labels, log_loss, and one-vs-rest
    ROC AUC, macro and weighted.

The bootstrap first runs --pilot replicates (50) on every subset; if finishing all
--bootstrap replicates would take longer than --budget-minutes (10), it stops there and
extrapolates the time linearly to --bootstrap replicates, and says so.

Usage: score_peer.py --task binary|ordinal --solution S.csv --submission P.csv
                     [--labels 1,2,3,4,5] [--json OUT.json] [--bootstrap 1000] [--seed 0]
Prints library versions, the metrics and the time of each phase; --json writes the metrics
(and the bootstrap) in the shape of `holdout score --json`, plus a "timings" object.
Exits 1 if the submission is invalid.
"""

from __future__ import annotations

import time

T_IMPORT = time.perf_counter()

import argparse
import json
import platform
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import scipy
import sklearn
from sklearn import metrics as skm

CLIP_LO, CLIP_HI = 1e-15, 1 - 1e-15  # Kaggle's log-loss clipping, which holdout uses
SUM_TOLERANCE = 1e-6
EXAMPLES = 3

T0 = time.perf_counter()  # the clock of the phases starts after the imports
TIMINGS: dict[str, float] = {}


class Phase:
    """Times a block into TIMINGS[name] and prints it."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        dt = time.perf_counter() - self.t
        TIMINGS[self.name] = TIMINGS.get(self.name, 0.0) + dt
        print(f"  [{time.perf_counter() - T0:7.1f} s] {self.name}: {dt:.2f} s", flush=True)


def read_csv(path: Path) -> pd.DataFrame:
    # Ids as text (an id like 0012 must stay 0012); numbers parsed by pyarrow. A column with a
    # stray non-number comes back as text and is diagnosed cell by cell in `numbers`.
    return pd.read_csv(path, dtype={"id": str, "usage": str}, engine="pyarrow")


def examples(ids: pd.Series, mask) -> str:
    shown = ids[np.asarray(mask)].head(EXAMPLES).tolist()
    return ", ".join(f"`{i}`" for i in shown) + (", …" if int(np.sum(mask)) > len(shown) else "")


def numbers(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column as float64 and, per cell, "" (a finite number) or the kind of problem."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        v = col.to_numpy(dtype=np.float64, na_value=np.nan)
        kind = np.where(np.isnan(v), "empty or NaN", np.where(np.isinf(v), "infinite", ""))
        return v, kind
    # Slow path, only for a column holding something that is not a number.
    text = col.astype(str).str.strip().fillna("")
    v = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    nan_word = text.str.lower().str.lstrip("+-").isin(["nan", "inf", "infinity"]).to_numpy()
    kind = np.where(np.isfinite(v), "",
                    np.where(text.to_numpy() == "", "empty or NaN",
                             np.where(nan_word | ~np.isnan(v), "infinite", "non-numeric")))
    return v, kind


def validate(sub: pd.DataFrame, sol_ids: pd.Series, value_columns: list[str], fmt: str):
    """Returns (for each solution row, the submission row holding its id; the submission's
    values as a float64 matrix), or exits with every problem found."""
    problems: list[str] = []

    def problem(message: str, mask, ids) -> None:
        n = int(np.sum(mask))
        if n:
            problems.append(f"{message} ({n} rows): {examples(ids, mask)}")

    want = ["id", *value_columns]
    header = [c.strip().lstrip("\ufeff") for c in sub.columns]
    if header != want:
        sys.exit(f"invalid submission: expected the header `{','.join(want)}`, found `{','.join(header)}`")
    ids = sub["id"].str.strip()
    empty = (ids.isna() | (ids == "")).to_numpy()
    dup = ids.duplicated().to_numpy() & ~empty
    problem("rows without an id", empty, ids)
    problem("duplicate ids", dup, ids)
    # Id sets: one hash lookup of the solution ids among the (first occurrences of the)
    # submission ids gives both the missing ids and, for each solution row, its submission row.
    # (Series.isin on pandas 3's `str` dtype takes 6-8 s per call on 1 M ids, so it is used only
    # to list examples once a problem is known.)
    first = np.flatnonzero(~dup & ~empty)
    found = pd.Index(ids.to_numpy()[first]).get_indexer(sol_ids)
    missing = found < 0
    row = np.where(missing, -1, first[np.maximum(found, 0)])
    if len(first) > int((~missing).sum()):
        problem("ids that are not test ids", ~ids.isin(sol_ids).to_numpy() & ~empty, ids)
    if missing.any():
        problems.append(f"{int(missing.sum())} test ids have no prediction: {examples(sol_ids, missing)}")
    values = np.empty((len(sub), len(value_columns)))
    finite = np.ones(len(sub), dtype=bool)
    for j, c in enumerate(value_columns):
        values[:, j], kind = numbers(sub[c])
        for k in ("empty or NaN", "non-numeric", "infinite"):
            problem(f"{k} value in `{c}`", kind == k, ids)
        finite &= kind == ""
    if fmt in ("probability", "class_probabilities"):
        outside = finite & ((values < 0) | (values > 1)).any(axis=1)
        problem("probabilities outside [0, 1]", outside, ids)
    if fmt == "class_probabilities":
        sums = values.sum(axis=1)
        problem(f"class probabilities that do not sum to 1 ± {SUM_TOLERANCE:g}",
                finite & ~outside & (np.abs(sums - 1) > SUM_TOLERANCE), ids)
    if problems:
        sys.exit("invalid submission:\n" + "\n".join(problems))
    return row, values


def metrics(task: str, labels: list[int], y: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Every metric holdout computes for the task, in holdout's order."""
    L = labels
    out: dict[str, float] = {}
    if task == "binary":
        p = values[:, 0]
        yl = (p >= 0.5).astype(np.int64)
    else:
        P = values
        yl = np.asarray(L)[np.argmax(P, axis=1)]
    out["accuracy"] = skm.accuracy_score(y, yl)
    out["balanced_accuracy"] = skm.balanced_accuracy_score(y, yl)
    out["precision_macro"] = skm.precision_score(y, yl, labels=L, average="macro", zero_division=0)
    out["recall_macro"] = skm.recall_score(y, yl, labels=L, average="macro", zero_division=0)
    out["f1_macro"] = skm.f1_score(y, yl, labels=L, average="macro", zero_division=0)
    out["f1_micro"] = skm.f1_score(y, yl, labels=L, average="micro", zero_division=0)
    out["f1_weighted"] = skm.f1_score(y, yl, labels=L, average="weighted", zero_division=0)
    out["matthews_corrcoef"] = skm.matthews_corrcoef(y, yl)
    if task == "ordinal":
        out["cohen_kappa_quadratic"] = skm.cohen_kappa_score(y, yl, weights="quadratic", labels=L)
    if task == "binary":
        q = np.clip(p, CLIP_LO, CLIP_HI)
        out["log_loss"] = skm.log_loss(y, np.column_stack([1.0 - q, q]), labels=L)
        out["roc_auc"] = skm.roc_auc_score(y, p)
    else:
        Q = np.clip(P, CLIP_LO, CLIP_HI)
        out["log_loss"] = skm.log_loss(y, Q / Q.sum(axis=1, keepdims=True), labels=L)
        out["roc_auc_ovr_macro"] = skm.roc_auc_score(y, P, multi_class="ovr", average="macro", labels=L)
        out["roc_auc_ovr_weighted"] = skm.roc_auc_score(y, P, multi_class="ovr", average="weighted", labels=L)
    if task == "binary":
        out["average_precision"] = skm.average_precision_score(y, p)
    if task == "ordinal":
        out["rmse"] = skm.root_mean_squared_error(y.astype(float), yl.astype(float))
        out["mae"] = skm.mean_absolute_error(y.astype(float), yl.astype(float))
    return {k: float(v) + 0.0 for k, v in out.items()}


def bootstrap(subsets: dict, replicates: int, pilot: int, seed: int, budget_s: float) -> dict:
    """Percentile bootstrap of ROC AUC per subset: index resampling + roc_auc_score."""
    state = {}
    for name, (y, p) in subsets.items():
        state[name] = {"rng": np.random.default_rng(seed), "values": [], "seconds": 0.0, "y": y, "p": p}

    def run(name: str, count: int) -> None:
        s = state[name]
        n = len(s["y"])
        t = time.perf_counter()
        for _ in range(count):
            idx = s["rng"].integers(0, n, size=n)
            s["values"].append(skm.roc_auc_score(s["y"][idx], s["p"][idx]))
        s["seconds"] += time.perf_counter() - t

    first = min(pilot, replicates)
    for name in state:
        run(name, first)
        s = state[name]
        print(f"    {name}: {first} replicates in {s['seconds']:.1f} s "
              f"({1000 * s['seconds'] / first:.0f} ms each, {len(s['y'])} rows)", flush=True)
    spent = sum(s["seconds"] for s in state.values())
    projected = sum(s["seconds"] * replicates / first for s in state.values())
    extrapolated = projected > budget_s and first < replicates
    if extrapolated:
        print(f"    {replicates} replicates would take about {projected / 60:.1f} min > the "
              f"{budget_s / 60:g} min budget: stopping at {first} and extrapolating linearly", flush=True)
    else:
        for name in state:
            run(name, replicates - first)
    out = {}
    for name, s in state.items():
        v = np.asarray(s["values"])
        low, high = np.percentile(v, [2.5, 97.5])
        out[name] = {
            "low": float(low),
            "high": float(high),
            "replicates": len(v),
            "seconds": s["seconds"],
            f"seconds_for_{replicates}": s["seconds"] * replicates / len(v),
        }
    total = sum(o[f"seconds_for_{replicates}"] for o in out.values())
    return {"subsets": out, "replicates_requested": replicates, "extrapolated": extrapolated,
            "seconds_run": spent if extrapolated else sum(s["seconds"] for s in state.values()),
            f"seconds_for_{replicates}": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=["binary", "ordinal"], required=True)
    ap.add_argument("--solution", type=Path, required=True)
    ap.add_argument("--submission", type=Path, required=True)
    ap.add_argument("--labels", default="1,2,3,4,5", help="ordinal labels (binary: 0,1)")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--bootstrap", type=int, default=0, help="ROC AUC bootstrap replicates (binary)")
    ap.add_argument("--pilot", type=int, default=50)
    ap.add_argument("--budget-minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.bootstrap and args.task != "binary":
        ap.error("--bootstrap is for the binary task (ROC AUC)")

    print(f"python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}, "
          f"scikit-learn {sklearn.__version__}, scipy {scipy.__version__}, pyarrow {pyarrow.__version__}")
    print(f"imports: {T0 - T_IMPORT:.2f} s (not counted in the phases below)", flush=True)
    labels = [0, 1] if args.task == "binary" else [int(x) for x in args.labels.split(",")]
    fmt = "probability" if args.task == "binary" else "class_probabilities"
    value_columns = ["probability"] if fmt == "probability" else [str(l) for l in labels]

    with Phase("read solution"):
        sol = read_csv(args.solution)
    with Phase("read submission"):
        sub = read_csv(args.submission)
    with Phase("validate"):
        if list(sol.columns[:2]) != ["id", "target"]:
            sys.exit(f"{args.solution}: expected `id,target[,usage]`, found `{','.join(sol.columns)}`")
        sol_ids = sol["id"].str.strip()
        target, kind = numbers(sol["target"])
        bad = (kind != "") | ~np.isin(target, labels)
        if bad.any():
            sys.exit(f"{args.solution}: {int(bad.sum())} targets are not one of the labels {labels}: "
                     f"{examples(sol['target'], bad)}")
        if sol_ids.duplicated().any():
            sys.exit(f"{args.solution}: duplicate ids")
        row, values = validate(sub, sol_ids, value_columns, fmt)
    with Phase("align by id"):
        # The submission rows in solution order (the positions come from the id lookup above).
        y_all = target.astype(np.int64)
        v_all = values[row]
        usage = sol["usage"].to_numpy() if "usage" in sol else np.full(len(sol), "")
    subsets = {"all": np.ones(len(sol), dtype=bool)}
    for u in ("public", "private"):
        if (usage == u).any():
            subsets[u] = usage == u
    report: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would mean a metric is not what it seems
        for name, mask in subsets.items():
            with Phase(f"metrics {name}"):
                report[name] = metrics(args.task, labels, y_all[mask], v_all[mask])
                report[name]["rows"] = int(mask.sum())
    print(f"metrics: {sum(v for k, v in TIMINGS.items() if k.startswith('metrics')):.2f} s in all")
    for name, values_ in report.items():
        cells = " ".join(f"{k}={v:.6f}" for k, v in values_.items() if k != "rows")
        print(f"  {name:<8} rows={values_['rows']:<8} {cells}")
    boot = None
    if args.bootstrap:
        print(f"bootstrap of ROC AUC, {args.bootstrap} replicates per subset "
              f"(numpy index resampling + roc_auc_score):", flush=True)
        with Phase("bootstrap (run)"):
            boot = bootstrap({k: (y_all[m], v_all[m, 0]) for k, m in subsets.items()},
                             args.bootstrap, args.pilot, args.seed, 60 * args.budget_minutes)
        for name, b in boot["subsets"].items():
            print(f"  {name:<8} 95% CI of roc_auc: [{b['low']:.6f}, {b['high']:.6f}] "
                  f"from {b['replicates']} replicates")
        key = f"seconds_for_{args.bootstrap}"
        how = (f"EXTRAPOLATED linearly from {args.pilot} replicates per subset"
               if boot["extrapolated"] else "measured")
        print(f"bootstrap time for {args.bootstrap} replicates on {len(subsets)} subsets: "
              f"{boot[key]:.1f} s ({how})")
    total = time.perf_counter() - T0
    print("phases (s): " + ", ".join(f"{k} {v:.2f}" for k, v in TIMINGS.items()) + f"; total {total:.2f}")
    if args.json:
        out = dict(report)
        for name, b in (boot or {}).get("subsets", {}).items():
            out[name]["primary_interval_95"] = {"low": b["low"], "high": b["high"], "replicates": b["replicates"]}
        out["timings"] = {**TIMINGS, "total": total}
        if boot:
            out["bootstrap"] = {k: v for k, v in boot.items() if k != "subsets"}
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
