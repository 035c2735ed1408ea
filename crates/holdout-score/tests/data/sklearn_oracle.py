#!/usr/bin/env python3
"""scikit-learn oracle for holdout's metric suite.

Generates seeded cases and writes `sklearn_oracle.json` beside this file, holding
scikit-learn 1.9.1's value for every metric that applies to each case, or
{"undefined": reason} where the metric has no value (holdout's policy, ml.md §6.2).
Where holdout says "undefined", the case also records under "sklearn_conventions"
what scikit-learn itself returns (null for NaN or an exception).

Regenerate (Python 3.11):
    pip install scikit-learn==1.9.1 scipy==1.17.1 numpy==2.4.6
    python3 crates/holdout-score/tests/data/sklearn_oracle.py

The output is deterministic: two runs give identical bytes.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from collections import Counter, OrderedDict
from pathlib import Path

import numpy as np
import scipy
import sklearn
from scipy import stats
from sklearn import metrics as skm

SKLEARN_VERSION = "1.9.1"
NUMPY_VERSION = "2.4.6"
SCIPY_VERSION = "1.17.1"
SEED = 20260917
OUT = Path(__file__).with_name("sklearn_oracle.json")

# Kaggle's log-loss policy, which holdout uses.
CLIP_LO = 1e-15
CLIP_HI = 1 - 1e-15

# holdout's fixed order (holdout_score::metrics::applicable).
METRIC_ORDER = [
    "accuracy",
    "balanced_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "f1_micro",
    "f1_weighted",
    "matthews_corrcoef",
    "cohen_kappa_quadratic",
    "log_loss",
    "roc_auc",
    "roc_auc_ovr_macro",
    "roc_auc_ovr_weighted",
    "average_precision",
    "rmse",
    "mae",
    "r2",
    "spearman",
]

if sklearn.__version__ != SKLEARN_VERSION:
    sys.exit(f"scikit-learn {SKLEARN_VERSION} is required, found {sklearn.__version__}: "
             f"pip install scikit-learn=={SKLEARN_VERSION} scipy=={SCIPY_VERSION} numpy=={NUMPY_VERSION}")
for _name, _have, _want in (("numpy", np.__version__, NUMPY_VERSION), ("scipy", scipy.__version__, SCIPY_VERSION)):
    if _have != _want:
        print(f"warning: {_name} {_have} is not the pinned {_want}; the seeded data may differ", file=sys.stderr)

rng = np.random.default_rng(SEED)

# ----------------------------------------------------------------------------------------------
# Calling scikit-learn and recording what it does
# ----------------------------------------------------------------------------------------------

# (metric, category: message) -> count, for warnings on metrics holdout treats as defined
DEFINED_WARNINGS: Counter = Counter()
# (metric, reason, sklearn value, what sklearn said) -> count, for undefined metrics
UNDEFINED_SEEN: Counter = Counter()
UNDEFINED_SAID: dict = {}


def call(fn):
    """Runs fn; returns (value or None for NaN/exception, messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 - we record what sklearn does
            msgs = [f"{type(exc).__name__}: {exc}"]
            return None, "exception", msgs
    msgs = []
    for w in caught:
        m = f"{w.category.__name__}: {w.message}"
        if m not in msgs:
            msgs.append(m)
    value = float(value)
    if math.isnan(value):
        return None, "nan", msgs
    if math.isinf(value):
        raise AssertionError(f"scikit-learn returned {value}")
    return value + 0.0, "value", msgs  # + 0.0 turns -0.0 into 0.0


def short(msg: str) -> str:
    msg = " ".join(msg.split())
    return msg if len(msg) <= 110 else msg[:107] + "..."


# ----------------------------------------------------------------------------------------------
# Metric definitions: sklearn call + holdout's undefined rule (decided from the data, not from
# what sklearn returns)
# ----------------------------------------------------------------------------------------------


def derived_labels(task, labels, fmt, y_pred, y_proba):
    if fmt in ("label", "value"):
        return np.asarray(y_pred)
    if fmt == "probability":
        return np.where(np.asarray(y_pred) >= 0.5, 1, 0)
    # class_probabilities: arg-max column of the submitted row, ties to the first (lowest) label
    return np.asarray(labels)[np.argmax(np.asarray(y_proba), axis=1)]


def kaggle_proba(fmt, y_pred, y_proba):
    """Clip to [1e-15, 1 - 1e-15], then renormalise rows (a no-op for binary [1-p, p])."""
    if fmt == "probability":
        p = np.clip(np.asarray(y_pred, dtype=np.float64), CLIP_LO, CLIP_HI)
        return np.column_stack([1.0 - p, p])
    P = np.clip(np.asarray(y_proba, dtype=np.float64), CLIP_LO, CLIP_HI)
    return P / P.sum(axis=1, keepdims=True)


def mcc_denominator_zero(yt, yp, labels):
    # MCC = (c·s − t·p) / sqrt((s² − p·p)(s² − t·t)); exact integer arithmetic
    s = len(yt)
    t = [int(np.sum(yt == l)) for l in labels]
    p = [int(np.sum(yp == l)) for l in labels]
    return s * s - sum(x * x for x in p) == 0 or s * s - sum(x * x for x in t) == 0


def qwk_denominator_zero(yt, yp, labels):
    # Σ w·E with w = (i − j)², E ∝ outer(hist_true, hist_pred); exact integer arithmetic
    t = [int(np.sum(yt == l)) for l in labels]
    p = [int(np.sum(yp == l)) for l in labels]
    k = len(labels)
    return sum((i - j) ** 2 * t[i] * p[j] for i in range(k) for j in range(k)) == 0


def ovr_auc(y_true, y_proba, labels, average):
    if len(labels) > 2:
        return skm.roc_auc_score(y_true, y_proba, multi_class="ovr", average=average, labels=labels)
    # roc_auc_score(multi_class="ovr") raises for two columns; compute what it does for K >= 3:
    # a binary roc_auc_score per class column, then the (prevalence-weighted) mean.
    aucs = [skm.roc_auc_score((y_true == l).astype(int), y_proba[:, c]) for c, l in enumerate(labels)]
    weights = [float(np.sum(y_true == l)) for l in labels] if average == "weighted" else [1.0] * len(labels)
    return float(np.average(aucs, weights=weights))


def compute_metrics(task, labels, fmt, y_true, y_pred, y_proba):
    """Returns (metrics, sklearn_conventions)."""
    out = OrderedDict()
    conv = OrderedDict()
    yt = np.asarray(y_true)
    names = []
    plan = {}  # name -> (undefined reason or None, sklearn callable)

    if task != "regression":
        yl = derived_labels(task, labels, fmt, y_pred, y_proba)
        L = list(labels)
        plan["accuracy"] = (None, lambda: skm.accuracy_score(yt, yl))
        plan["balanced_accuracy"] = (None, lambda: skm.balanced_accuracy_score(yt, yl))
        plan["precision_macro"] = (None, lambda: skm.precision_score(yt, yl, labels=L, average="macro", zero_division=0))
        plan["recall_macro"] = (None, lambda: skm.recall_score(yt, yl, labels=L, average="macro", zero_division=0))
        plan["f1_macro"] = (None, lambda: skm.f1_score(yt, yl, labels=L, average="macro", zero_division=0))
        plan["f1_micro"] = (None, lambda: skm.f1_score(yt, yl, labels=L, average="micro", zero_division=0))
        plan["f1_weighted"] = (None, lambda: skm.f1_score(yt, yl, labels=L, average="weighted", zero_division=0))
        plan["matthews_corrcoef"] = (
            "denominator is 0 (y_true or y_pred holds a single class)" if mcc_denominator_zero(yt, yl, L) else None,
            lambda: skm.matthews_corrcoef(yt, yl),
        )
        if task == "ordinal":
            plan["cohen_kappa_quadratic"] = (
                "denominator is 0 (y_true and y_pred are one and the same label)"
                if qwk_denominator_zero(yt, yl, L) else None,
                lambda: skm.cohen_kappa_score(yt, yl, weights="quadratic", labels=L),
            )
            plan["rmse"] = (None, lambda: skm.root_mean_squared_error(yt.astype(float), yl.astype(float)))
            plan["mae"] = (None, lambda: skm.mean_absolute_error(yt.astype(float), yl.astype(float)))
        if fmt in ("probability", "class_probabilities"):
            P = kaggle_proba(fmt, y_pred, y_proba)
            plan["log_loss"] = (None, lambda: skm.log_loss(yt, P, labels=L))
        if task == "binary" and fmt == "probability":
            p = np.asarray(y_pred, dtype=np.float64)
            plan["roc_auc"] = (
                "only one class present in y_true" if len(np.unique(yt)) < 2 else None,
                lambda: skm.roc_auc_score(yt, p),
            )
            plan["average_precision"] = (
                "no positive samples in y_true" if not np.any(yt == 1) else None,
                lambda: skm.average_precision_score(yt, p),
            )
        if task in ("multiclass", "ordinal") and fmt == "class_probabilities":
            Pr = np.asarray(y_proba, dtype=np.float64)
            present = set(np.unique(yt).tolist())
            if len(present) < 2:
                why = "only one class present in y_true"
            elif any(l not in present for l in L):
                why = "a label is absent from y_true (its one-vs-rest AUC is undefined)"
            else:
                why = None
            for avg in ("macro", "weighted"):
                if len(L) > 2:
                    fn = (lambda avg=avg: skm.roc_auc_score(yt, Pr, multi_class="ovr", average=avg, labels=L))
                else:
                    # what sklearn itself does with two columns (it raises) is what we record
                    # when undefined; the defined value comes from the per-class computation
                    fn = (lambda avg=avg: skm.roc_auc_score(yt, Pr, multi_class="ovr", average=avg, labels=L)) \
                        if why else (lambda avg=avg: ovr_auc(yt, Pr, L, avg))
                plan[f"roc_auc_ovr_{avg}"] = (why, fn)
    else:
        yp = np.asarray(y_pred, dtype=np.float64)
        ytf = yt.astype(np.float64)
        plan["rmse"] = (None, lambda: skm.root_mean_squared_error(ytf, yp))
        plan["mae"] = (None, lambda: skm.mean_absolute_error(ytf, yp))
        plan["r2"] = ("y_true is constant" if np.all(ytf == ytf[0]) else None, lambda: skm.r2_score(ytf, yp))
        plan["spearman"] = (
            "y_true or y_pred is constant" if np.all(ytf == ytf[0]) or np.all(yp == yp[0]) else None,
            lambda: stats.spearmanr(ytf, yp).statistic,
        )

    for name in METRIC_ORDER:
        if name not in plan:
            continue
        why, fn = plan[name]
        value, kind, msgs = call(fn)
        if why is None:
            if kind != "value":
                raise AssertionError(f"{name}: holdout calls it defined but scikit-learn gave {kind}: {msgs}")
            for m in msgs:
                DEFINED_WARNINGS[(name, short(m))] += 1
            out[name] = value
        else:
            out[name] = {"undefined": why}
            conv[name] = value
            if value is None:
                returned = "null (exception)" if kind == "exception" else "null (NaN)"
            elif value in (0.0, 1.0):
                returned = repr(value)
            else:
                returned = "a finite number"
            UNDEFINED_SEEN[(name, why, returned)] += 1
            UNDEFINED_SAID.setdefault((name, why, returned), set()).update(short(m) for m in msgs or ["(silent)"])
    return out, conv


# ----------------------------------------------------------------------------------------------
# Case bookkeeping
# ----------------------------------------------------------------------------------------------

CASES: list = []
NAMES: set = set()


def add(slug, task, labels, fmt, y_true, y_pred=None, y_proba=None, note=None):
    name = f"{task}_{fmt}_{slug}_{len(CASES):03d}"
    assert name not in NAMES, name
    NAMES.add(name)
    y_true = np.asarray(y_true)
    n = len(y_true)
    assert n >= 1
    case = OrderedDict()
    case["name"] = name
    case["task"] = task
    case["labels"] = None if labels is None else [int(l) for l in labels]
    case["format"] = fmt
    if task == "regression":
        case["y_true"] = [float(v) for v in y_true.astype(np.float64)]
    else:
        assert set(np.unique(y_true).tolist()) <= set(labels), name
        case["y_true"] = [int(v) for v in y_true]
    if fmt == "label":
        y_pred = np.asarray(y_pred)
        assert len(y_pred) == n and set(np.unique(y_pred).tolist()) <= set(labels), name
        case["y_pred"] = [int(v) for v in y_pred]
    elif fmt in ("probability", "value"):
        y_pred = np.asarray(y_pred, dtype=np.float64)
        assert len(y_pred) == n and np.all(np.isfinite(y_pred)), name
        if fmt == "probability":
            assert np.all((y_pred >= 0) & (y_pred <= 1)), name
        case["y_pred"] = [float(v) for v in y_pred]
    else:
        y_proba = np.asarray(y_proba, dtype=np.float64)
        assert y_proba.shape == (n, len(labels)), name
        assert np.all((y_proba >= 0) & (y_proba <= 1)), name
        assert np.all(np.abs(y_proba.sum(axis=1) - 1) <= 1.01e-7), name
        case["y_proba"] = [[float(v) for v in row] for row in y_proba]
    metrics, conv = compute_metrics(task, labels, fmt, y_true, y_pred, y_proba)
    case["metrics"] = metrics
    if conv:
        case["sklearn_conventions"] = conv
    if note:
        case["note"] = note
    CASES.append(case)


# ----------------------------------------------------------------------------------------------
# Data generators
# ----------------------------------------------------------------------------------------------


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def bin_truth(n, prevalence):
    y = (rng.random(n) < prevalence).astype(int)
    return y


def bin_scores(y, sep, noise=1.0):
    return sigmoid(sep * (2 * y - 1) + rng.normal(0.0, noise, len(y)))


def flip_labels(y, labels, err, allowed=None):
    """Keeps each label with probability 1 - err, else draws another label from `allowed`."""
    allowed = list(labels if allowed is None else allowed)
    y = np.asarray(y).copy()
    out = y.copy()
    for i in range(len(y)):
        if rng.random() < err:
            choices = [l for l in allowed if l != y[i]] or allowed
            out[i] = choices[rng.integers(len(choices))]
        elif y[i] not in allowed:
            out[i] = allowed[rng.integers(len(allowed))]
    return out


def class_truth(n, labels, weights=None):
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    return np.asarray(labels)[rng.choice(len(labels), size=n, p=w / w.sum())]


def class_probs(y, labels, signal, noise=1.0):
    idx = np.searchsorted(labels, y)
    z = rng.normal(0.0, noise, (len(y), len(labels)))
    z[np.arange(len(y)), idx] += signal
    return softmax(z)


def ordinal_probs(y, labels, spread, jitter=0.7):
    idx = np.searchsorted(labels, y).astype(float)
    centre = idx + rng.normal(0.0, jitter, len(y))
    j = np.arange(len(labels))[None, :]
    z = -((j - centre[:, None]) ** 2) / (2 * spread**2) + rng.normal(0.0, 0.3, (len(y), len(labels)))
    return softmax(z)


def round_rows(P, decimals):
    """Rows rounded to `decimals` places that still sum to exactly 1 in units of 10^-decimals."""
    units = 10**decimals
    f = P * units
    base = np.floor(f).astype(np.int64)
    short_by = units - base.sum(axis=1)
    frac = f - base
    for i in range(P.shape[0]):
        order = np.argsort(-frac[i], kind="stable")
        base[i, order[: short_by[i]]] += 1
    return base / units


def perturb_rows(P, rel=1e-7):
    """Each entry times (1 + u), |u| <= rel: rows then sum to 1 only within ~1e-7."""
    Q = P * (1.0 + rng.uniform(-rel, rel, P.shape))
    return np.minimum(Q, 1.0)


def size_mid():
    return int(rng.integers(20, 501))


# ----------------------------------------------------------------------------------------------
# Binary, label format
# ----------------------------------------------------------------------------------------------
B = [0, 1]
for n, prev, err in [(20, 0.5, 0.2), (37, 0.3, 0.1), (50, 0.5, 0.4), (64, 0.2, 0.25), (100, 0.5, 0.05),
                     (150, 0.6, 0.3), (200, 0.45, 0.15), (333, 0.35, 0.5), (480, 0.7, 0.2), (1000, 0.5, 0.1),
                     (3000, 0.4, 0.25)]:
    y = bin_truth(n, prev)
    add(f"random_n{n}_err{int(err * 100)}", "binary", B, "label", y, flip_labels(y, B, err))
for yt, yp in [([0], [0]), ([1], [1]), ([0], [1]), ([1], [0])]:
    add(f"single_row_true{yt[0]}_pred{yp[0]}", "binary", B, "label", yt, yp)
add("two_rows_perfect", "binary", B, "label", [0, 1], [0, 1])
add("two_rows_swapped", "binary", B, "label", [0, 1], [1, 0])
add("two_rows_same_truth", "binary", B, "label", [1, 1], [0, 1])
y = np.zeros(80, int)
add("single_class_truth_zeros", "binary", B, "label", y, flip_labels(y, B, 0.3))
add("single_class_truth_zeros_perfect", "binary", B, "label", y, y)
y = np.ones(45, int)
add("single_class_truth_ones", "binary", B, "label", y, flip_labels(y, B, 0.2))
add("single_class_truth_ones_all_wrong", "binary", B, "label", y, 1 - y)
y = bin_truth(120, 0.4)
add("constant_prediction_zeros", "binary", B, "label", y, np.zeros_like(y))
add("constant_prediction_ones", "binary", B, "label", y, np.ones_like(y))
add("perfect", "binary", B, "label", y, y)
add("inverted", "binary", B, "label", y, 1 - y)
y = bin_truth(1000, 0.01)
y[:3] = 1
add("rare_positives_1pct", "binary", B, "label", y, flip_labels(y, B, 0.02))
y = bin_truth(500, 0.05)
add("rare_positives_5pct", "binary", B, "label", y, flip_labels(y, B, 0.1))
y = bin_truth(300, 0.95)
add("rare_negatives_5pct", "binary", B, "label", y, flip_labels(y, B, 0.1))

# ----------------------------------------------------------------------------------------------
# Binary, probability format
# ----------------------------------------------------------------------------------------------
for n, prev, sep in [(20, 0.5, 1.0), (33, 0.4, 0.5), (75, 0.5, 2.0), (128, 0.3, 1.0), (200, 0.5, 0.0),
                     (256, 0.6, 1.5), (310, 0.2, 0.8), (400, 0.5, 3.0), (499, 0.45, 0.3), (1200, 0.35, 1.0),
                     (3000, 0.5, 1.2)]:
    y = bin_truth(n, prev)
    add(f"random_n{n}_sep{int(sep * 10)}", "binary", B, "probability", y, bin_scores(y, sep))
for n, dec in [(40, 1), (90, 1), (250, 1), (500, 1), (2500, 1), (60, 2), (150, 2), (300, 2), (480, 2), (3000, 2)]:
    y = bin_truth(n, float(rng.uniform(0.2, 0.7)))
    add(f"ties_{dec}dp_n{n}", "binary", B, "probability", y, np.round(bin_scores(y, 1.0), dec))
y = bin_truth(100, 0.4)
for c in (0.5, 0.3, 0.7, 0.0, 1.0):
    add(f"constant_score_{str(c).replace('.', 'p')}", "binary", B, "probability", y, np.full(len(y), c))
y = bin_truth(60, 0.5)
p = np.where(y == 1, 1.0, 0.0)
add("exact_zero_one_perfect", "binary", B, "probability", y, p)
add("exact_zero_one_inverted", "binary", B, "probability", y, 1.0 - p)
p2 = p.copy()
p2[:10] = 1.0 - p2[:10]
add("exact_zero_one_some_confidently_wrong", "binary", B, "probability", y, p2)
y = bin_truth(200, 0.5)
p = bin_scores(y, 1.0)
p[rng.random(len(y)) < 0.3] = 0.0
p[rng.random(len(y)) < 0.3] = 1.0
add("exact_zero_one_mixed", "binary", B, "probability", y, p)
y = bin_truth(50, 0.5)
for tiny, slug in [(1e-20, "1e-20"), (1e-300, "1e-300"), (5e-324, "5e-324")]:
    p = bin_scores(y, 1.0)
    p[::3] = tiny
    add(f"tiny_{slug}", "binary", B, "probability", y, p)
p = bin_scores(y, 1.0)
p[::4] = 1e-20
p[1::4] = 1e-300
add("tiny_1e-20_and_1e-300_distinct_ranks", "binary", B, "probability", y, p)
p = bin_scores(y, 1.0)
p[::3] = 1.0 - 1e-16  # 0.9999999999999999, above the clip at 1 - 1e-15
p[1::5] = 1.0 - 1e-12
add("near_one", "binary", B, "probability", y, p)
y = np.zeros(70, int)
add("single_class_truth_zeros", "binary", B, "probability", y, bin_scores(y, 1.0))
add("single_class_truth_zeros_scores_zero", "binary", B, "probability", y, np.zeros(len(y)))
y = np.ones(70, int)
add("single_class_truth_ones", "binary", B, "probability", y, bin_scores(y, 1.0))
add("single_class_truth_ones_scores_one", "binary", B, "probability", y, np.ones(len(y)))
add("single_class_truth_ones_ties", "binary", B, "probability", y, np.round(bin_scores(y, 0.5), 1))
y = bin_truth(150, 0.5)
p = np.where(y == 1, rng.uniform(0.6, 1.0, len(y)), rng.uniform(0.0, 0.6, len(y)))
add("perfect_separation", "binary", B, "probability", y, p)
add("perfect_separation_inverted", "binary", B, "probability", y, 1.0 - p)
p = np.where(y == 1, rng.choice([0.6, 0.8, 1.0], len(y)), rng.choice([0.0, 0.2, 0.6], len(y)))
add("boundary_tie_at_0p6", "binary", B, "probability", y, p)
y = bin_truth(80, 0.5)
p = np.round(bin_scores(y, 1.0), 1)
p[::5] = 0.5
add("threshold_exactly_0p5", "binary", B, "probability", y, p)
p = bin_scores(y, 1.0)
p[::4] = np.nextafter(0.5, 0.0)
p[1::4] = 0.5
add("threshold_just_below_0p5", "binary", B, "probability", y, p)
add("single_row_positive", "binary", B, "probability", [1], [0.7])
add("single_row_negative_half", "binary", B, "probability", [0], [0.5])
add("two_rows_correct_order", "binary", B, "probability", [0, 1], [0.2, 0.9])
add("two_rows_tied", "binary", B, "probability", [1, 0], [0.4, 0.4])
add("three_rows_wrong_order", "binary", B, "probability", [1, 0, 1], [0.1, 0.8, 0.3])
for n, prev in [(1000, 0.01), (500, 0.03), (300, 0.08)]:
    y = bin_truth(n, prev)
    y[0] = 1
    add(f"rare_positives_n{n}", "binary", B, "probability", y, bin_scores(y, 1.5))
y = bin_truth(400, 0.05)
y[0] = 1
add("rare_positives_ties_2dp", "binary", B, "probability", y, np.round(bin_scores(y, 1.2), 2))
y = bin_truth(250, 0.92)
add("rare_negatives", "binary", B, "probability", y, bin_scores(y, 1.0))

# ----------------------------------------------------------------------------------------------
# Multi-class, label format
# ----------------------------------------------------------------------------------------------
M3a, M3b, M5, M4 = [0, 1, 2], [1, 2, 3], [0, 1, 2, 3, 4], [0, 1, 2, 3]
M2, MS = [1, 2], [2, 5, 9]
for labels, n, err in [(M3a, 20, 0.2), (M3a, 90, 0.4), (M3b, 150, 0.3), (M3b, 333, 0.1), (M3a, 500, 0.6),
                       (M5, 40, 0.3), (M5, 120, 0.5), (M5, 260, 0.2), (M5, 480, 0.7), (M5, 2000, 0.35),
                       (M4, 100, 0.3)]:
    y = class_truth(n, labels)
    add(f"{len(labels)}class_random_n{n}_err{int(err * 100)}", "multiclass", labels, "label", y,
        flip_labels(y, labels, err))
y = class_truth(200, M5, [5, 3, 1, 0.5, 0.2])
add("5class_imbalanced", "multiclass", M5, "label", y, flip_labels(y, M5, 0.3))
y = class_truth(100, [0, 1])  # label 2 absent from y_true
add("3class_label_missing_from_truth", "multiclass", M3a, "label", y, flip_labels(y, M3a, 0.3))
y = class_truth(150, [0, 2, 4])
add("5class_two_labels_missing_from_truth", "multiclass", M5, "label", y, flip_labels(y, M5, 0.3))
y = class_truth(90, [1, 2])
add("3class_label_missing_from_truth_and_pred", "multiclass", M3b, "label", y, flip_labels(y, M3b, 0.3, [1, 2]))
y = class_truth(120, M3a)
add("3class_label_missing_from_pred", "multiclass", M3a, "label", y, flip_labels(y, M3a, 0.3, [0, 1]))
y = class_truth(250, M5)
add("5class_labels_missing_from_pred", "multiclass", M5, "label", y, flip_labels(y, M5, 0.3, [0, 1, 4]))
y = np.full(60, 2)
add("3class_single_class_truth", "multiclass", M3a, "label", y, flip_labels(y, M3a, 0.4))
add("3class_single_class_truth_perfect", "multiclass", M3a, "label", y, y)
y = np.full(35, 3)
add("5class_single_class_truth_other_constant_pred", "multiclass", M5, "label", y, np.full(35, 1))
y = class_truth(110, M3b)
add("3class_constant_prediction", "multiclass", M3b, "label", y, np.full(len(y), 2))
y = class_truth(210, M5)
add("5class_constant_prediction", "multiclass", M5, "label", y, np.full(len(y), 0))
add("5class_perfect", "multiclass", M5, "label", y, y)
y = class_truth(45, M3a)
add("3class_perfect", "multiclass", M3a, "label", y, y)
add("3class_single_row", "multiclass", M3a, "label", [1], [2])
add("3class_single_row_correct", "multiclass", M3a, "label", [1], [1])
add("3class_two_rows", "multiclass", M3a, "label", [0, 2], [2, 2])
add("5class_three_rows", "multiclass", M5, "label", [4, 0, 2], [4, 1, 2])
y = class_truth(80, M2)
add("2class_random", "multiclass", M2, "label", y, flip_labels(y, M2, 0.3))
add("2class_constant_prediction", "multiclass", M2, "label", y, np.full(len(y), 1))
y = class_truth(140, MS)
add("3class_noncontiguous_labels", "multiclass", MS, "label", y, flip_labels(y, MS, 0.35))

# ----------------------------------------------------------------------------------------------
# Multi-class, class_probabilities format
# ----------------------------------------------------------------------------------------------
for labels, n, sig in [(M3a, 20, 1.0), (M3a, 100, 2.0), (M3b, 180, 0.5), (M3b, 400, 1.5), (M3a, 500, 0.0),
                       (M5, 50, 1.0), (M5, 150, 2.5), (M5, 300, 0.7), (M5, 480, 1.2), (M4, 200, 1.0),
                       (M5, 1500, 1.0)]:
    y = class_truth(n, labels)
    add(f"{len(labels)}class_random_n{n}_sig{int(sig * 10)}", "multiclass", labels, "class_probabilities", y,
        y_proba=class_probs(y, labels, sig))
for labels, n, dec in [(M3a, 60, 1), (M3b, 240, 1), (M5, 120, 1), (M3a, 300, 2), (M5, 450, 2), (M5, 3000, 2)]:
    y = class_truth(n, labels)
    add(f"{len(labels)}class_ties_{dec}dp_n{n}", "multiclass", labels, "class_probabilities", y,
        y_proba=round_rows(class_probs(y, labels, 1.0), dec))
y = class_truth(30, M3a)
P = np.tile([0.4, 0.4, 0.2], (30, 1))
P[::3] = [0.2, 0.4, 0.4]
P[1::3] = [0.3, 0.3, 0.4]
add("3class_argmax_ties_to_first_label", "multiclass", M3a, "class_probabilities", y, y_proba=P)
y = class_truth(100, M5)
P = round_rows(class_probs(y, M5, 0.5), 1)
P[::2] = [0.2, 0.2, 0.2, 0.2, 0.2]
add("5class_uniform_rows_and_ties", "multiclass", M5, "class_probabilities", y, y_proba=P)
y = class_truth(70, M3b)
P = np.eye(3)[np.searchsorted(M3b, y)]
add("3class_one_hot_perfect", "multiclass", M3b, "class_probabilities", y, y_proba=P)
P = P.copy()
P[:12] = np.roll(P[:12], 1, axis=1)
add("3class_one_hot_some_confidently_wrong", "multiclass", M3b, "class_probabilities", y, y_proba=P)
y = class_truth(90, M5)
P = class_probs(y, M5, 1.5)
P[::4, 0] = 1e-20
P[1::4, 1] = 1e-300
P[2::4, 2] = 5e-324
P[:, 4] = 1.0 - P[:, :4].sum(axis=1)
add("5class_tiny_probabilities", "multiclass", M5, "class_probabilities", y, y_proba=P)
y = class_truth(60, M3a)
P = class_probs(y, M3a, 1.0)
P[::3] = [1e-300, 1e-20, 1.0]
add("3class_tiny_and_exact_one", "multiclass", M3a, "class_probabilities", y, y_proba=P)
for labels, n in [(M3a, 150), (M5, 250), (M5, 40)]:
    y = class_truth(n, labels)
    add(f"{len(labels)}class_rows_sum_within_1e-7_n{n}", "multiclass", labels, "class_probabilities", y,
        y_proba=perturb_rows(class_probs(y, labels, 1.0)))
y = class_truth(120, [0, 1])
add("3class_label_missing_from_truth", "multiclass", M3a, "class_probabilities", y,
    y_proba=class_probs(y, M3a, 1.0))
y = class_truth(200, [0, 1, 3])
add("5class_labels_missing_from_truth", "multiclass", M5, "class_probabilities", y,
    y_proba=class_probs(y, M5, 1.0))
y = class_truth(80, [1, 2, 3, 4])
add("5class_label_missing_from_truth_ties", "multiclass", M5, "class_probabilities", y,
    y_proba=round_rows(class_probs(y, M5, 1.0), 1))
y = class_truth(150, M3a)
P = class_probs(y, M3a, 1.0)
P[:, 1] *= 0.2
P = P / P.sum(axis=1, keepdims=True)
add("3class_label_never_argmax", "multiclass", M3a, "class_probabilities", y, y_proba=P)
y = np.full(50, 1)
add("3class_single_class_truth", "multiclass", M3a, "class_probabilities", y, y_proba=class_probs(y, M3a, 1.0))
y = np.full(25, 4)
add("5class_single_class_truth_one_hot", "multiclass", M5, "class_probabilities", y, y_proba=np.eye(5)[y])
y = class_truth(90, M3b)
add("3class_constant_rows", "multiclass", M3b, "class_probabilities", y, y_proba=np.tile([0.2, 0.5, 0.3], (90, 1)))
y = class_truth(160, M5)
add("5class_prior_rows", "multiclass", M5, "class_probabilities", y,
    y_proba=np.tile(np.bincount(np.searchsorted(M5, y), minlength=5) / len(y), (len(y), 1)))
add("3class_single_row", "multiclass", M3a, "class_probabilities", [2], y_proba=[[0.2, 0.3, 0.5]])
add("3class_three_rows_all_present", "multiclass", M3a, "class_probabilities", [0, 1, 2],
    y_proba=[[0.5, 0.25, 0.25], [0.1, 0.3, 0.6], [0.3, 0.3, 0.4]])
note2 = ("roc_auc_score(multi_class='ovr') raises ValueError for two columns; the defined ovr values are "
         "roc_auc_score per class column, averaged unweighted / by prevalence, as sklearn does for K >= 3")
y = class_truth(100, M2)
add("2class_random", "multiclass", M2, "class_probabilities", y, y_proba=class_probs(y, M2, 1.0), note=note2)
y = class_truth(200, M2)
add("2class_ties_1dp", "multiclass", M2, "class_probabilities", y,
    y_proba=round_rows(class_probs(y, M2, 1.0), 1), note=note2)
y = np.full(30, 2)
add("2class_single_class_truth", "multiclass", M2, "class_probabilities", y, y_proba=class_probs(y, M2, 1.0),
    note=note2)
y = class_truth(130, MS)
add("3class_noncontiguous_labels", "multiclass", MS, "class_probabilities", y, y_proba=class_probs(y, MS, 1.0))

# ----------------------------------------------------------------------------------------------
# Ordinal, label format
# ----------------------------------------------------------------------------------------------
O5, O3 = [1, 2, 3, 4, 5], [1, 2, 3]


def ordinal_noise(y, labels, scale):
    lo, hi = labels[0], labels[-1]
    return np.clip(np.asarray(y) + np.round(rng.normal(0.0, scale, len(y))).astype(int), lo, hi)


add("ml_md_3_5_example_qwk_0p6212", "ordinal", O5, "label", [1, 1, 2, 2, 5, 5, 1, 2, 5, 2],
    [1, 2, 2, 5, 5, 2, 1, 1, 5, 2], note="ml.md §3.5: QWK 0.6212 with labels=[1..5] (0.6667 without labels=)")
add("ml_md_3_5_example_swapped", "ordinal", O5, "label", [1, 2, 2, 5, 5, 2, 1, 1, 5, 2],
    [1, 1, 2, 2, 5, 5, 1, 2, 5, 2])
for n, scale, w in [(20, 0.7, None), (55, 1.0, None), (100, 0.5, [1, 2, 4, 2, 1]), (180, 1.5, None),
                    (250, 0.8, [3, 4, 2, 1, 0.5]), (333, 0.3, None), (400, 1.2, [1, 1, 1, 3, 5]),
                    (499, 2.5, None), (1000, 0.9, [2, 3, 5, 3, 2]), (3000, 1.0, [1, 3, 5, 4, 2])]:
    y = class_truth(n, O5, w)
    add(f"5level_near_diagonal_n{n}_s{int(scale * 10)}", "ordinal", O5, "label", y, ordinal_noise(y, O5, scale))
y = class_truth(60, [1, 2, 5])
add("5level_levels_3_4_absent_from_both", "ordinal", O5, "label", y, flip_labels(y, O5, 0.3, [1, 2, 5]))
y = class_truth(120, [2, 3, 4])
add("5level_extremes_absent_from_truth", "ordinal", O5, "label", y, ordinal_noise(y, O5, 1.2))
y = class_truth(150, O5)
add("5level_levels_absent_from_pred", "ordinal", O5, "label", y, np.clip(ordinal_noise(y, O5, 0.8), 2, 4))
y = class_truth(90, [1, 3, 5])
add("5level_even_levels_absent_from_truth", "ordinal", O5, "label", y, ordinal_noise(y, O5, 0.9))
y = class_truth(200, [1, 2, 3, 4])
add("5level_top_level_absent_from_both", "ordinal", O5, "label", y, np.clip(ordinal_noise(y, O5, 0.7), 1, 4))
y = class_truth(140, O5, [1, 2, 4, 2, 1])
add("5level_constant_median_prediction", "ordinal", O5, "label", y, np.full(len(y), 3))
add("5level_constant_extreme_prediction", "ordinal", O5, "label", y, np.full(len(y), 5))
y = np.full(50, 3)
add("5level_constant_truth_varied_prediction", "ordinal", O5, "label", y, ordinal_noise(y, O5, 1.0))
add("5level_constant_truth_same_constant_prediction", "ordinal", O5, "label", y, y)
add("5level_constant_truth_other_constant_prediction", "ordinal", O5, "label", y, np.full(len(y), 4))
y = np.full(12, 1)
add("5level_constant_truth_level1_perfect", "ordinal", O5, "label", y, y)
y = class_truth(130, O5)
add("5level_perfect", "ordinal", O5, "label", y, y)
add("5level_reversed", "ordinal", O5, "label", y, 6 - y)
add("5level_single_row", "ordinal", O5, "label", [4], [2])
add("5level_single_row_correct", "ordinal", O5, "label", [3], [3])
add("5level_two_rows", "ordinal", O5, "label", [1, 5], [2, 4])
for n, scale in [(30, 0.6), (160, 0.8), (450, 1.2)]:
    y = class_truth(n, O3)
    add(f"3level_near_diagonal_n{n}", "ordinal", O3, "label", y, ordinal_noise(y, O3, scale))
y = class_truth(70, [1, 3])
add("3level_middle_absent_from_truth", "ordinal", O3, "label", y, ordinal_noise(y, O3, 0.8))

# ----------------------------------------------------------------------------------------------
# Ordinal, class_probabilities format
# ----------------------------------------------------------------------------------------------
for n, spread, w in [(25, 0.8, None), (80, 1.0, [1, 2, 4, 2, 1]), (150, 0.6, None), (220, 1.5, None),
                     (300, 0.9, [3, 4, 2, 1, 0.5]), (480, 1.2, None), (2000, 1.0, [1, 3, 5, 4, 2])]:
    y = class_truth(n, O5, w)
    add(f"5level_random_n{n}", "ordinal", O5, "class_probabilities", y, y_proba=ordinal_probs(y, O5, spread))
for n, dec in [(100, 1), (260, 1), (200, 2), (500, 2)]:
    y = class_truth(n, O5)
    add(f"5level_ties_{dec}dp_n{n}", "ordinal", O5, "class_probabilities", y,
        y_proba=round_rows(ordinal_probs(y, O5, 1.0), dec))
y = class_truth(90, [1, 2, 5])
add("5level_levels_absent_from_truth", "ordinal", O5, "class_probabilities", y,
    y_proba=ordinal_probs(y, O5, 1.0))
y = class_truth(150, [2, 3, 4])
add("5level_extremes_absent_from_truth", "ordinal", O5, "class_probabilities", y,
    y_proba=round_rows(ordinal_probs(y, O5, 1.0), 2))
y = class_truth(120, [1, 2, 3, 4])
add("5level_top_absent_from_truth", "ordinal", O5, "class_probabilities", y, y_proba=ordinal_probs(y, O5, 0.8))
y = class_truth(200, O5)
P = ordinal_probs(y, O5, 0.7)
P[:, 0] *= 0.01
P[:, 4] *= 0.01
P = P / P.sum(axis=1, keepdims=True)
add("5level_extremes_never_argmax", "ordinal", O5, "class_probabilities", y, y_proba=P)
y = np.full(40, 3)
add("5level_single_class_truth", "ordinal", O5, "class_probabilities", y, y_proba=ordinal_probs(y, O5, 1.0))
add("5level_single_class_truth_one_hot", "ordinal", O5, "class_probabilities", y, y_proba=np.eye(5)[y - 1])
y = class_truth(110, O5)
P = np.eye(5)[y - 1]
P[::7] = np.eye(5)[(y[::7] + 1) % 5]
add("5level_one_hot_some_wrong", "ordinal", O5, "class_probabilities", y, y_proba=P)
y = class_truth(100, O5)
P = ordinal_probs(y, O5, 0.5)
P[P < 1e-3] = 0.0
P[::5, 0] = 1e-300
P[1::5, 4] = 1e-20
P = P / P.sum(axis=1, keepdims=True)
add("5level_exact_zeros_and_tiny", "ordinal", O5, "class_probabilities", y, y_proba=P)
for n in (90, 350):
    y = class_truth(n, O5)
    add(f"5level_rows_sum_within_1e-7_n{n}", "ordinal", O5, "class_probabilities", y,
        y_proba=perturb_rows(ordinal_probs(y, O5, 1.0)))
y = class_truth(140, O5, [1, 2, 4, 2, 1])
add("5level_prior_rows", "ordinal", O5, "class_probabilities", y, y_proba=np.tile([0.1, 0.2, 0.4, 0.2, 0.1], (140, 1)))
add("5level_argmax_ties", "ordinal", O5, "class_probabilities", y,
    y_proba=np.tile([0.1, 0.35, 0.35, 0.1, 0.1], (140, 1)))
add("5level_single_row", "ordinal", O5, "class_probabilities", [2], y_proba=[[0.1, 0.2, 0.4, 0.2, 0.1]])
for n in (35, 150, 420):
    y = class_truth(n, O3)
    add(f"3level_random_n{n}", "ordinal", O3, "class_probabilities", y, y_proba=ordinal_probs(y, O3, 0.8))
y = class_truth(100, [1, 2])
add("3level_top_absent_from_truth", "ordinal", O3, "class_probabilities", y,
    y_proba=round_rows(ordinal_probs(y, O3, 0.8), 1))

# ----------------------------------------------------------------------------------------------
# Regression, value format
# ----------------------------------------------------------------------------------------------
for n, noise in [(20, 0.5), (45, 1.0), (100, 0.2), (150, 2.0), (222, 1.0), (300, 0.05), (400, 5.0),
                 (500, 1.0), (1000, 0.7), (3000, 1.0)]:
    y = rng.normal(10.0, 3.0, n)
    add(f"random_n{n}_noise{int(noise * 100)}", "regression", None, "value", y, y + rng.normal(0.0, noise, n))
for n in (30, 120, 480):
    y = np.round(rng.normal(50.0, 10.0, n))
    add(f"ties_integers_n{n}", "regression", None, "value", y, np.round(y + rng.normal(0.0, 5.0, n)))
y = np.round(rng.uniform(0, 5, 200) * 2) / 2
add("ties_halves_both", "regression", None, "value", y, np.round((y + rng.normal(0.0, 1.0, 200)) * 2) / 2)
y = np.round(rng.uniform(1, 5, 250))
add("likert_truth_continuous_pred", "regression", None, "value", y, np.clip(y + rng.normal(0, 0.8, 250), 1, 5))
y = rng.uniform(0, 100, 150)
add("heavy_ties_in_pred", "regression", None, "value", y, np.round(y / 25) * 25)
y = np.full(60, 7.5)
add("constant_truth_varied_pred", "regression", None, "value", y, y + rng.normal(0.0, 1.0, 60))
add("constant_truth_perfect", "regression", None, "value", y, y)
add("constant_truth_other_constant_pred", "regression", None, "value", y, np.full(60, 8.0))
y = rng.normal(0.0, 1.0, 90)
add("constant_prediction_mean", "regression", None, "value", y, np.full(90, float(np.mean(y))))
add("constant_prediction_zero", "regression", None, "value", y, np.zeros(90))
y = rng.normal(3.0, 2.0, 110)
add("perfect", "regression", None, "value", y, y)
add("perfect_rank_monotone_transform", "regression", None, "value", y, np.exp(y / 3))
add("anticorrelated", "regression", None, "value", y, -y + rng.normal(0, 0.5, 110))
add("single_row", "regression", None, "value", [2.5], [3.0])
add("single_row_perfect", "regression", None, "value", [2.5], [2.5])
add("two_rows", "regression", None, "value", [1.0, 2.0], [2.0, 1.0])
add("two_rows_tied_pred", "regression", None, "value", [1.0, 2.0], [1.5, 1.5])
add("three_rows", "regression", None, "value", [1.0, 2.0, 4.0], [1.5, 1.0, 5.0])
y = 1e6 + rng.normal(0.0, 1.0, 200)
add("large_offset_1e6", "regression", None, "value", y, y + rng.normal(0.0, 0.3, 200))
y = rng.normal(0.0, 1e-6, 200)
add("tiny_scale_1e-6", "regression", None, "value", y, y + rng.normal(0.0, 3e-7, 200))
y = rng.standard_t(2, 300) * 10
add("heavy_tailed", "regression", None, "value", y, y + rng.standard_t(2, 300) * 5)
y = rng.normal(0.0, 1.0, 250)
yp = y + rng.normal(0.0, 0.5, 250)
yp[:5] += 100.0
add("prediction_outliers", "regression", None, "value", y, yp)
y = rng.normal(0.0, 1.0, 80)
add("negative_r2", "regression", None, "value", y, rng.normal(0.0, 1.5, 80))


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------


def main():
    counts = Counter((c["task"], c["format"]) for c in CASES)
    case_counts = OrderedDict((f"{t}/{f}", counts[(t, f)]) for t, f in sorted(counts))
    undefined_cases = Counter()
    for c in CASES:
        for m, v in c["metrics"].items():
            if isinstance(v, dict):
                undefined_cases[m] += 1
    differences = [
        OrderedDict(metric=m, holdout="undefined: " + why, sklearn_returns=val,
                    sklearn_says=sorted(UNDEFINED_SAID[(m, why, val)]), cases=k)
        for (m, why, val), k in sorted(UNDEFINED_SEEN.items(),
                                       key=lambda kv: (METRIC_ORDER.index(kv[0][0]), kv[0][1:]))
    ]
    header = OrderedDict()
    header["generator"] = "crates/holdout-score/tests/data/sklearn_oracle.py"
    header["sklearn_version"] = sklearn.__version__
    header["numpy_version"] = np.__version__
    header["scipy_version"] = scipy.__version__
    header["python"] = f"{sys.version_info.major}.{sys.version_info.minor}"
    header["seed"] = SEED
    header["policy"] = OrderedDict(
        labels="label metrics use labels=<case labels> and zero_division=0 where the function takes them; "
               "balanced_accuracy uses sklearn's function without labels",
        derived_labels="binary probability: p >= 0.5 -> 1 else 0; class_probabilities: arg-max column of the "
                       "submitted row, ties to the first (lowest) label",
        log_loss="clip to [1e-15, 1 - 1e-15], renormalise each row to sum 1 (binary: columns [1 - p, p] after "
                 "clipping), then sklearn log_loss(y_true, P, labels=labels)",
        roc_auc="computed on the submitted (unclipped) scores",
        undefined="{\"undefined\": reason} where the metric has no value; sklearn_conventions holds what "
                  "scikit-learn returns there (null for NaN or an exception)",
    )
    header["case_count"] = len(CASES)
    header["case_counts"] = case_counts
    header["undefined_metric_counts"] = OrderedDict((m, undefined_cases[m]) for m in METRIC_ORDER if undefined_cases[m])
    header["differences"] = differences

    lines = ["{"]
    for k, v in header.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, allow_nan=False)},")
    lines.append('  "cases": [')
    body = [f"    {json.dumps(c, ensure_ascii=False, allow_nan=False)}" for c in CASES]
    lines.append(",\n".join(body))
    lines.append("  ]")
    lines.append("}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")

    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, scipy {scipy.__version__}")
    print(f"wrote {len(CASES)} cases to {OUT} ({OUT.stat().st_size} bytes)")
    for k, v in case_counts.items():
        print(f"  {k}: {v}")
    print("where holdout says undefined, scikit-learn returns:")
    for d in differences:
        print(f"  {d['metric']}: {d['sklearn_returns']} x{d['cases']} ({d['holdout']})")
        for said in d["sklearn_says"]:
            print(f"      {said}")
    print("warnings from scikit-learn on values holdout treats as defined:")
    for (m, msg), k in sorted(DEFINED_WARNINGS.items()):
        print(f"  {m}: {msg} x{k}")


if __name__ == "__main__":
    main()
