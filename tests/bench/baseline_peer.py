#!/usr/bin/env python3
"""A scikit-learn peer of `holdout baseline`, for benchmarking (tests/bench/baseline.sh).

It fits the scikit-learn counterparts of holdout's logistic and boosted-tree baselines on the
very matrices holdout encoded (`holdout baseline --export-design DESIGN_DIR`), so that the two
sides differ only in the model fitting:
  logistic: LogisticRegression(C=1.0), otherwise the defaults (lbfgs, multinomial, max_iter 100),
    on the linear design (standardized numbers, 0/1 indicators; no missing values);
  gbdt: HistGradientBoostingClassifier(random_state=0), otherwise the defaults (early stopping
    on 10 % of the rows, since there are more than 10,000), on the tree design (missing = NaN;
    categorical codes are plain numbers unless --categorical marks them as categorical).
Each `fit` call is timed (time.perf_counter), and separately each `predict_proba` on the test
rows; loading the matrices and writing the submissions are not. The linear matrix is loaded straight into C order (LogisticRegression
would otherwise copy the column-major file inside fit); the tree matrix stays column-major,
which is the order HistGradientBoosting bins in.

Each test row gets the label with the smallest expected squared index distance under the
predicted class probabilities p_0..p_{K-1} over the sorted labels, the rule holdout uses for
ordinal labels: k = round(sum_j j p_j), clamped to 0..K-1. (For a non-ordinal task the
arg-max is used instead.)

Input, DESIGN_DIR (written by holdout):
  design.json      {"train_rows": n, "test_rows": m, "task": ..., "labels": [...],
                    "linear": {"columns": [...]}, "tree": {"columns": [...], "categorical": [...]}}
  train_linear.f64, test_linear.f64, train_tree.f64, test_tree.f64
                   little-endian float64, column-major: all rows of column 0, then column 1, ...
  y_train.f64      the training labels as floats (or their indices 0..K-1 into "labels")
  test_ids.txt     the test ids, one a line, in the row order of the test matrices
Output, OUT_DIR: logistic.csv and gbdt.csv (`id,label`), and a JSON summary on stdout:
  {"logistic_fit_seconds", "logistic_predict_seconds", "logistic_iterations", "logistic_converged",
   "gbdt_fit_seconds", "gbdt_predict_seconds", "gbdt_iterations", "load_seconds",
   "peak_rss_mb_after_<model>", versions, threads, ...}

Usage: baseline_peer.py DESIGN_DIR OUT_DIR [--models logistic,gbdt] [--categorical]
"""

from __future__ import annotations

import time

T_IMPORT = time.perf_counter()

import argparse
import json
import os
import platform
import resource
import sys
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

T_IMPORTED = time.perf_counter()
BLOCK_BYTES = 64 << 20  # read column-major files in blocks of about this many bytes


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def load_matrix(path: Path, rows: int, cols: int, order: str) -> np.ndarray:
    """Reads a column-major float64 file of rows × cols into an array of the given order ('C'
    or 'F') without holding a second full copy."""
    want = rows * cols * 8
    size = path.stat().st_size
    if size != want:
        sys.exit(f"error: {path} holds {size} bytes; {rows} rows × {cols} columns need {want}")
    if order == "F":
        return np.fromfile(path, dtype="<f8").reshape(cols, rows).T
    x = np.empty((rows, cols), dtype=np.float64, order="C")
    step = max(1, BLOCK_BYTES // max(1, rows * 8))
    with open(path, "rb") as f:
        for j in range(0, cols, step):
            k = min(step, cols - j)
            block = np.fromfile(f, dtype="<f8", count=rows * k)
            if block.size != rows * k:
                sys.exit(f"error: {path} ended early")
            x[:, j : j + k] = block.reshape(k, rows).T
    return x


def load_labels(design_dir: Path, design: dict) -> tuple[np.ndarray, list]:
    """The training labels as indices 0..K-1 into the sorted labels, and those labels."""
    n = design["train_rows"]
    y = np.fromfile(design_dir / "y_train.f64", dtype="<f8")
    if y.size != n:
        sys.exit(f"error: y_train.f64 holds {y.size} values, design.json says {n} train rows")
    if np.isnan(y).any():
        sys.exit("error: y_train.f64 holds NaN")
    labels = design.get("labels")
    if not labels:
        labels = sorted(np.unique(y).tolist())
        log(f"design.json names no labels; using those of y_train: {labels}")
    try:
        numeric = [float(v) for v in labels]
    except (TypeError, ValueError):
        numeric = None
    if numeric is not None and set(np.unique(y).tolist()) <= set(numeric):
        order = np.argsort(numeric, kind="stable")
        labels = [labels[i] for i in order]
        sorted_values = np.array([numeric[i] for i in order])
        return np.searchsorted(sorted_values, y).astype(np.int64), labels
    # otherwise the file holds indices into the labels (e.g. string labels)
    if np.all(y == np.round(y)) and y.min() >= 0 and y.max() < len(labels):
        log("y_train.f64 holds indices into design.json's labels")
        return y.astype(np.int64), list(labels)
    sys.exit(f"error: y_train.f64 holds values that are neither labels {labels} nor indices")


def decide(proba: np.ndarray, classes: np.ndarray, k: int, ordinal: bool) -> np.ndarray:
    """Label indices 0..k-1 from the model's probabilities over its classes_ (indices)."""
    full = np.zeros((proba.shape[0], k))
    full[:, classes] = proba  # classes absent from the training rows get probability 0
    if not ordinal:
        return full.argmax(axis=1)
    expected = full @ np.arange(k, dtype=np.float64)  # argmin_k sum_j p_j (k - j)^2
    return np.clip(np.rint(expected), 0, k - 1).astype(np.int64)


def write_submission(path: Path, ids: list[str], labels: list, idx: np.ndarray) -> None:
    text = [str(int(v)) if isinstance(v, (int, float)) and float(v).is_integer() else str(v) for v in labels]
    with open(path, "w", newline="") as f:
        f.write("id,label\n")
        f.writelines(f"{i},{text[k]}\n" for i, k in zip(ids, idx))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("design_dir", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--models", default="logistic,gbdt", help="comma-separated: logistic, gbdt")
    ap.add_argument("--categorical", action="store_true",
                    help="pass design.json's tree.categorical columns to HistGradientBoosting as categorical")
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m]
    if unknown := set(models) - {"logistic", "gbdt"}:
        sys.exit(f"error: unknown models {sorted(unknown)}")
    args.out_dir.mkdir(parents=True, exist_ok=True)

    design = json.loads((args.design_dir / "design.json").read_text())
    n, m = design["train_rows"], design["test_rows"]
    ordinal = design.get("task", "ordinal") == "ordinal"
    ids = (args.design_dir / "test_ids.txt").read_text().splitlines()
    if len(ids) != m:
        sys.exit(f"error: test_ids.txt holds {len(ids)} ids, design.json says {m} test rows")
    t = time.perf_counter()
    y, labels = load_labels(args.design_dir, design)
    k = len(labels)
    summary: dict = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "cpus": os.cpu_count(),
        "train_rows": n,
        "test_rows": m,
        "labels": labels,
        "decision": "expected index, rounded" if ordinal else "arg-max",
        "import_seconds": T_IMPORTED - T_IMPORT,
    }
    try:
        from threadpoolctl import threadpool_info

        summary["threadpools"] = [
            {"api": p.get("user_api"), "lib": p.get("internal_api"), "threads": p.get("num_threads")}
            for p in threadpool_info()
        ]
    except ImportError:
        pass
    load_seconds = time.perf_counter() - t

    def fit_timed(model, x, name: str) -> float:
        log(f"{name}: fitting on {x.shape[0]} rows × {x.shape[1]} columns")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            t0 = time.perf_counter()
            model.fit(x, y)
            seconds = time.perf_counter() - t0
        for w in caught:
            log(f"{name}: warning: {w.message}".splitlines()[0])
        summary[f"{name}_convergence_warning"] = any(issubclass(w.category, ConvergenceWarning) for w in caught)
        log(f"{name}: fit in {seconds:.2f} s")
        return seconds

    def run(name: str, design_name: str, order: str, make_model, prepare=None):
        """Loads the train matrix, fits (timed), loads test, predicts (timed), writes the file."""
        nonlocal load_seconds
        cols = len(design[design_name]["columns"])
        t = time.perf_counter()
        x = load_matrix(args.design_dir / f"train_{design_name}.f64", n, cols, order)
        load_seconds += time.perf_counter() - t
        model = make_model(x, cols)
        summary[f"{name}_columns"] = cols
        summary[f"{name}_fit_seconds"] = fit_timed(model, x, name)
        if prepare:
            prepare(model)
        del x
        summary[f"peak_rss_mb_after_{name}"] = peak_rss_mb()
        t = time.perf_counter()
        x = load_matrix(args.design_dir / f"test_{design_name}.f64", m, cols, order)
        load_seconds += time.perf_counter() - t
        t = time.perf_counter()
        proba = model.predict_proba(x)
        summary[f"{name}_predict_seconds"] = time.perf_counter() - t
        idx = decide(proba, model.classes_, k, ordinal)
        write_submission(args.out_dir / f"{name}.csv", ids, labels, idx)

    def logistic(x, cols):
        if not np.isfinite(x).all():
            sys.exit("error: train_linear.f64 holds NaN or infinite values")
        return LogisticRegression(C=1.0)

    def logistic_done(model):
        summary["logistic_iterations"] = int(np.max(model.n_iter_))
        summary["logistic_max_iter"] = model.max_iter
        summary["logistic_converged"] = int(np.max(model.n_iter_)) < model.max_iter

    def gbdt(x, cols):
        categorical = None
        if args.categorical and design["tree"].get("categorical"):
            categorical = np.zeros(cols, dtype=bool)
            for j in design["tree"]["categorical"]:
                c = x[:, j]
                c = c[~np.isnan(c)]
                if c.size and (c.min() < 0 or c.max() > 254 or not np.all(c == np.round(c))):
                    log(f"gbdt: column {j} is not a code in 0..254; left numeric")
                else:
                    categorical[j] = True
            summary["gbdt_categorical_columns"] = int(categorical.sum())
        return HistGradientBoostingClassifier(random_state=0, **({"categorical_features": categorical} if categorical is not None else {}))

    def gbdt_done(model):
        summary["gbdt_iterations"] = int(model.n_iter_)

    if "logistic" in models:
        run("logistic", "linear", "C", logistic, logistic_done)
    if "gbdt" in models:
        run("gbdt", "tree", "F", gbdt, gbdt_done)

    summary["load_seconds"] = load_seconds
    summary["peak_rss_mb"] = peak_rss_mb()
    summary["total_seconds"] = time.perf_counter() - T_IMPORT
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
