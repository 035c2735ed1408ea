#!/usr/bin/env python3
"""Seeded test data for the scoring benchmark (tests/bench/score.sh): a solution and a matching
submission for two tasks, written into OUT_DIR:

  binary-solution.csv     id,target,usage        target 0/1 (about 30 % positives)
  binary-submission.csv   id,probability         4 decimals, so many tied scores
  ordinal-solution.csv    id,target,usage        target 1..5
  ordinal-submission.csv  id,1,2,3,4,5           class probabilities, 6 decimals, each row
                                                 summing to exactly 1 in decimal

and, for the same solutions, the submissions as a model really writes them (float64 printed
in full, as numpy/pandas `to_csv` does by default: nearly every score distinct):

  binary-full-submission.csv   id,probability    shortest round-trip repr of each float64
  ordinal-full-submission.csv  id,1,2,3,4,5      each row's probabilities in full precision

Ids are random 12-character strings (unique); `usage` marks exactly 30 % of the rows public
and the rest private; each submission lists the rows in a different random order from its
solution. The predictions are informative but noisy (ROC AUC about 0.8, QWK about 0.6), like a
real model's.

Usage: score_data.py OUT_DIR [--rows 1000000] [--seed 20260917]
Writes each file under a temporary name and renames it, so an interrupted run leaves no
half-written file. Files already present are kept if OUT_DIR/params.txt says they were made
with the same --rows and --seed (delete them to regenerate).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ALPHABET = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)
ID_LENGTH = 12
LABELS = [1, 2, 3, 4, 5]
PUBLIC_SHARE = 0.30


def random_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct random strings of ID_LENGTH lower-case letters and digits."""
    while True:
        codes = ALPHABET[rng.integers(0, len(ALPHABET), size=(n, ID_LENGTH))]
        ids = codes.view(f"S{ID_LENGTH}").ravel()
        if len(np.unique(ids)) == n:  # 36^12 possibilities: a collision is very unlikely
            return ids.astype(str).astype(object)


def usage(rng: np.random.Generator, n: int) -> np.ndarray:
    out = np.full(n, "private", dtype=object)
    out[rng.permutation(n)[: round(PUBLIC_SHARE * n)]] = "public"
    return out


def write(df: pd.DataFrame, path: Path, float_format: str | None = None) -> None:
    partial = path.with_name(path.name + ".partial")
    df.to_csv(partial, index=False, float_format=float_format, lineterminator="\n")
    os.replace(partial, path)
    print(f"wrote {path} ({len(df)} rows, {path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)


def binary(rng: np.random.Generator, n: int, out: Path) -> None:
    ids = random_ids(rng, n)
    latent = rng.normal(size=n)
    target = (rng.random(n) < 1 / (1 + np.exp(-(1.6 * latent - 1.2)))).astype(np.int64)
    # The model sees the latent through noise; scores rounded to 4 decimals (ties).
    score = 1 / (1 + np.exp(-(1.3 * (latent + rng.normal(scale=0.6, size=n)) - 1.0)))
    probability = np.round(score, 4)
    solution = pd.DataFrame({"id": ids, "target": target, "usage": usage(rng, n)})
    order = rng.permutation(n)
    submission = pd.DataFrame({"id": ids[order], "probability": probability[order]})
    write(solution, out / "binary-solution.csv")
    write(submission, out / "binary-submission.csv", float_format="%.4f")
    full = pd.DataFrame({"id": ids[order], "probability": score[order]})
    write(full, out / "binary-full-submission.csv")
    distinct = len(np.unique(score))
    print(f"binary: {distinct} distinct scores in full precision, {len(np.unique(probability))} rounded", file=sys.stderr)


def ordinal(rng: np.random.Generator, n: int, out: Path) -> None:
    ids = random_ids(rng, n)
    k = len(LABELS)
    cuts = np.array([-1.5, -0.5, 0.4, 1.3])
    latent = rng.normal(size=n)
    target = 1 + np.searchsorted(cuts, latent + rng.normal(scale=0.5, size=n))
    # Ordered-logit class probabilities around a noisy estimate of the latent.
    guess = latent + rng.normal(scale=0.6, size=n)
    cdf = 1 / (1 + np.exp(-(cuts[None, :] - guess[:, None]) * 2.0))
    p = np.diff(np.column_stack([np.zeros(n), cdf, np.ones(n)]), axis=1)
    # Six decimals as integer millionths, the largest column absorbing the rounding so that
    # every row sums to exactly 1 in decimal (and within about 1e-15 once parsed).
    micro = np.rint(p * 1e6).astype(np.int64)
    top = np.argmax(micro, axis=1)
    micro[np.arange(n), top] += 1_000_000 - micro.sum(axis=1)
    assert micro.min() >= 0 and np.all(micro.sum(axis=1) == 1_000_000)
    solution = pd.DataFrame({"id": ids, "target": target.astype(np.int64), "usage": usage(rng, n)})
    order = rng.permutation(n)
    submission = pd.DataFrame({"id": ids[order]})
    for j, label in enumerate(LABELS):
        submission[str(label)] = micro[order, j] / 1e6
    write(solution, out / "ordinal-solution.csv")
    write(submission, out / "ordinal-submission.csv", float_format="%.6f")
    full = pd.DataFrame({"id": ids[order]})
    for j, label in enumerate(LABELS):
        full[str(label)] = p[order, j]
    write(full, out / "ordinal-full-submission.csv")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20260917)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = args.out / "params.txt"
    params = f"rows={args.rows} seed={args.seed}\n"
    same = stamp.is_file() and stamp.read_text() == params
    if not same:
        stamp.unlink(missing_ok=True)
    for i, (task, make) in enumerate((("binary", binary), ("ordinal", ordinal))):
        files = [args.out / f"{task}-{kind}.csv" for kind in ("solution", "submission", "full-submission")]
        if same and all(f.is_file() and f.stat().st_size > 0 for f in files):
            print(f"reusing {', '.join(map(str, files))}", file=sys.stderr)
            continue
        t = time.perf_counter()
        # One independent stream per task, so each task's data depends only on the seed.
        make(np.random.default_rng([args.seed, i]), args.rows, args.out)
        print(f"{task}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    stamp.write_text(params)


if __name__ == "__main__":
    main()
