#!/usr/bin/env python3
"""A pandas peer of `holdout prepare` for the security-sense contest, for benchmarking.

What a competent data scientist would write to turn the raw survey export into a contest
release: read the CSV, screen out invalid samples with the same rules and parameters as holdout
(taken from the same `competition.toml` and `schema.toml`), derive the target, generalize the
quasi-identifiers to a fixed set of hierarchy levels, split 70/30 stratified by target, enforce
k-anonymity and l-diversity by suppression, and write train.csv, test.csv and solution.csv.
Vectorized with pandas/numpy (pyarrow CSV reader and writer); Python loops only run over the
few duplicate blocks that need resolving in order and over candidate bot-burst windows.

What holdout does that this peer does NOT (so the comparison favours the peer):
  - no search of the generalization lattice: the levels are fixed on the command line (by
    default the levels holdout chose at full scale), so the peer does a single k-anonymity
    check instead of evaluating hundreds of lattice nodes;
  - no keyed HMAC digests of direct identifiers (it compares the raw strings), no secret key;
  - no validation of every cell against the schema (options, ranges, questionnaire version);
  - no PII scrubbing of free text (the contest drops it anyway), no re-identification risk
    estimation (prosecutor risk, population uniqueness), no information-loss measures;
  - no leakage audit (adversarial validation, target/feature checks);
  - no Parquet copies, no README, manifest, sample submission or solution commitment;
  - the split is stratified by target but not group-aware (holdout keeps rows sharing a
    person or device key on one side).

Usage: prepare_peer.py RAW.csv --out DIR [--levels col=level ...] [--seed N]
Prints the rows per screening rule and per split, for comparison with holdout's
OUT/private/screening_report.md and its summary line, and writes them to DIR/peer_report.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONTEST = ROOT / "datasets" / "security-sense"
DEFAULT_LEVELS = [
    "q13_gender=code",
    "q14_age_group=code",
    "q14_age=band5",
    "q15_education=code",
    "q16_occupation=code",
    "q18_province=region",
    "q18_city=region",
    "q19_urban_rural=code",
]
RULES = [
    ("repeat_person", 1),
    ("repeat_device", 2),
    ("duplicate_answers", 4),
    ("speeder", 8),
    ("straightliner", 16),
    ("contradiction", 32),
    ("bot_burst", 64),
]
BIT = dict(RULES)
NEAR_DUPLICATE_CELLS = 3
MISSING = -1  # ratings: missing value in the int16 matrix

T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f} s] {msg}", file=sys.stderr, flush=True)


def load_config(contest_dir: Path):
    contest = tomllib.loads((contest_dir / "competition.toml").read_text())
    dataset_dir = contest_dir.parent / contest["survey"]
    schema = tomllib.loads((dataset_dir / "schema.toml").read_text())
    return contest, schema, dataset_dir


def read_raw(path: Path, schema: dict) -> pd.DataFrame:
    """The export with typed columns: integers (options, ratings, ticks, years) as nullable
    int64, timestamps as timestamps, the rest as strings; empty cells are missing."""

    def integer(c: dict) -> bool:
        if c["kind"] in ("rating", "multi_select", "integer"):
            return True
        levels = c.get("levels")
        return c["kind"] in ("categorical", "ordinal") and all(isinstance(lv["code"], int) for lv in levels)

    text = {
        c["name"]: pd.ArrowDtype(pa.string())
        for c in schema["column"]
        if not integer(c) and c["kind"] != "timestamp"
    }
    return pd.read_csv(
        path, engine="pyarrow", dtype_backend="pyarrow", dtype=text, na_values=[""], keep_default_na=False
    )


def number(s: pd.Series) -> np.ndarray:
    """A numeric column as float64, NaN where missing."""
    return s.to_numpy(dtype="float64", na_value=np.nan)


# --------------------------------------------------------------------------------------------
# Screening
# --------------------------------------------------------------------------------------------


def screen(df: pd.DataFrame, contest: dict, schema: dict):
    cfg = contest["screening"]
    n = len(df)
    flags = np.zeros(n, dtype=np.uint8)
    report: dict = {}

    # Submission time in seconds; "keep the first" means the earliest (ties: file order).
    sec = df["create_time"].to_numpy(dtype="datetime64[s]").astype(np.int64)
    order = np.argsort(sec, kind="stable")
    duration = number(df["complete_time_ms"]) * 0.001  # the schema says ms

    # Repeat person: same WeChat openid as an earlier response.
    if cfg["duplicates"]:
        openid = df["wx_open_id"].str.strip().iloc[order]
        repeat = (openid.duplicated() & openid.notna()).to_numpy()
        flags[order[repeat]] |= BIT["repeat_person"]

        # Repeat device: same IP + user agent within 24 h of the response that opened the
        # device's window; a later response opens a new window. Peeled window by window.
        device = df.groupby(["submit_ip", "submit_ua"], sort=False, dropna=False).ngroup().to_numpy()
        window = int(24 * 3600)
        known = (df["submit_ip"].notna() & df["submit_ua"].notna()).to_numpy()[order]
        dev, t, rows = device[order][known], sec[order][known], order[known]
        while len(rows):
            d = pd.Series(dev)
            start = pd.Series(t).groupby(dev).transform("first").to_numpy()
            opener = (d.groupby(dev).cumcount() == 0).to_numpy()
            inside = t - start <= window
            flags[rows[inside & ~opener]] |= BIT["repeat_device"]
            keep = ~inside
            dev, t, rows = dev[keep], t[keep], rows[keep]
        log("repeat person/device screened")

    # Duplicate answer vectors: same non-rating answers, and ratings equal (exact) or at most
    # NEAR_DUPLICATE_CELLS of them off by one (near) relative to an earlier kept response.
    cols = schema["column"]
    answered = [c["name"] for c in cols if c["role"] in ("answer", "quasi_identifier", "sensitive")]
    ratings = [c["name"] for c in cols if c["role"] == "answer" and c["kind"] == "rating"]
    others = [c for c in answered if c not in ratings]
    rating_matrix = np.column_stack([number(df[c]) for c in ratings])
    R = np.where(np.isnan(rating_matrix), MISSING, rating_matrix).astype(np.int16)
    exact = near = 0
    if cfg["duplicates"] or cfg["near_duplicates"]:
        h = pd.util.hash_pandas_object(df[others], index=False).to_numpy()
        cand = np.flatnonzero(pd.Series(h).duplicated(keep=False).to_numpy())
        # Exact grouping on the (few) candidate rows; the hash only proposes.
        block = df.iloc[cand].groupby(others, sort=False, dropna=False).ngroup().to_numpy()
        o = np.lexsort((cand, sec[cand], block))
        rows, block = cand[o], block[o]
        first = np.r_[True, block[1:] != block[:-1]]
        starts = np.flatnonzero(first)
        size = np.diff(np.r_[starts, len(rows)])
        head = rows[np.repeat(starts, size)]  # the earliest row of each block
        diff = R[rows] != R[head]
        far = (
            (diff & ((R[rows] == MISSING) | (R[head] == MISSING) | (np.abs(R[rows] - R[head]) > 1)))
            .any(axis=1)
        )
        dist = diff.sum(axis=1)
        # Blocks where every later row is close to the first: the first is the only kept row.
        bad_block = np.zeros(len(starts), dtype=bool)
        np.logical_or.at(bad_block, np.cumsum(first) - 1, far & ~first)
        simple = ~np.repeat(bad_block, size) & ~first
        is_exact = simple & (dist == 0)
        is_near = simple & (dist > 0) & (dist <= NEAR_DUPLICATE_CELLS)
        hit = np.zeros(len(rows), dtype=bool)
        if cfg["duplicates"]:
            hit |= is_exact
            exact += int(is_exact.sum())
        if cfg["near_duplicates"]:
            hit |= is_near
            near += int(is_near.sum())
        # Blocks with a response far from the first: several kept rows, resolved in order. A
        # row is a duplicate if ANY earlier kept row is close. (holdout's screen.rs takes the
        # min of Option<distance>, where None, "far", sorts first, so it keeps a row as soon as
        # one kept row is far: 1 row fewer at 200 k rows, 20 fewer at 3.23 M.)
        for b in np.flatnonzero(bad_block):
            members = rows[starts[b] : starts[b] + size[b]]
            kept = [members[0]]
            for j, r in enumerate(members[1:], start=starts[b] + 1):
                K = R[kept]
                d = R[r] != K
                ok = ~(d & ((K == MISSING) | (R[r] == MISSING) | (np.abs(K - R[r]) > 1))).any(axis=1)
                best = d.sum(axis=1)[ok].min() if ok.any() else None
                if best == 0 and cfg["duplicates"]:
                    exact += 1
                    hit[j] = True
                elif best is not None and 0 < best <= NEAR_DUPLICATE_CELLS and cfg["near_duplicates"]:
                    near += 1
                    hit[j] = True
                else:
                    kept.append(r)
        flags[rows[hit]] |= BIT["duplicate_answers"]
        log(f"duplicates screened ({len(cand)} rows in {len(starts)} candidate blocks, {bad_block.sum()} resolved in order)")
    report["exact_duplicates"], report["near_duplicates"] = exact, near

    # Speeders: faster than the fixed minimum or the percentile, whichever is larger.
    finite = duration[np.isfinite(duration)]
    pct = cfg["speeder_percentile"]
    k = int(np.floor(pct / 100.0 * len(finite)))
    percentile = float(np.partition(finite, k)[k]) if pct > 0 and k < len(finite) else 0.0
    threshold = max(cfg["speeder_min_seconds"], percentile)
    report["speeder_threshold"] = threshold
    if threshold > 0:
        flags[duration < threshold] |= BIT["speeder"]

    # Straight-liners: every rating answered (at least five) with one value.
    if cfg["straightlining"]:
        present = R != MISSING
        hi = np.where(present, R, -1).max(axis=1)
        lo = np.where(present, R, 1000).min(axis=1)
        flags[(present.sum(axis=1) >= 5) & (hi == lo)] |= BIT["straightliner"]

    # Contradictions, as declared in the schema.
    report["contradictions"] = []
    if cfg["contradictions"]:
        for rule in schema.get("contradiction", []):
            m = np.ones(n, dtype=bool)
            for cond in rule["all"]:
                col = df[cond["column"]]
                if "in" in cond:
                    m &= col.isin(cond["in"]).to_numpy(dtype=bool, na_value=False)
                elif "not_in" in cond:
                    m &= (col.notna() & ~col.isin(cond["not_in"])).to_numpy(dtype=bool, na_value=False)
                elif "above" in cond:
                    m &= number(col) > number(df[cond["above"]]) + cond.get("by", 0)
                else:
                    v = number(col)
                    m &= (v >= cond.get("min", -np.inf)) & (v <= cond.get("max", np.inf))
            flags[m] |= BIT["contradiction"]
            report["contradictions"].append((rule["name"], int(m.sum())))

    # Bot bursts: >= min_count responses from one channel within the window whose durations
    # cluster around the window median with CV <= max_duration_cv. Candidate windows (enough
    # rows) are found with searchsorted; only those are examined, stepping like holdout does.
    bb = cfg["bot_burst"]
    min_count, win, max_cv = max(bb["min_count"], 2), bb["window_minutes"] * 60, bb["max_duration_cv"]
    channel, _ = pd.factorize(df["source_id"])  # -1 where missing
    ok = np.flatnonzero((channel >= 0) & np.isfinite(duration))
    ok = ok[np.lexsort((ok, sec[ok], channel[ok]))]
    ch, t, dur = channel[ok], sec[ok] - sec.min(), duration[ok]
    key = ch.astype(np.int64) * (1 << 32) + t
    end = np.searchsorted(key, key + win, side="right")  # window [i, end) per position
    candidates = np.flatnonzero(end - np.arange(len(ok)) >= min_count)
    # Replays holdout's walk over each channel's rows: a window that is not a candidate moves
    # one row on (and ends a burst), a candidate window moves a quarter of its length on.
    bursts, in_burst, next_i, last_ch = 0, False, 0, -1
    burst_rows = []
    for i in candidates:
        if ch[i] != last_ch:  # a new channel: its walk starts at its first row
            in_burst = False
        elif i < next_i:
            continue
        elif i > next_i:  # non-candidate rows were visited in between
            in_burst = False
        j = end[i]
        d = dur[i:j]
        med = np.sort(d)[len(d) // 2]
        members = np.flatnonzero(np.abs(d - med) <= 3.0 * max_cv * med)
        m = d[members]
        steady = len(m) >= min_count and m.mean() > 0 and m.std() / m.mean() <= max_cv
        if steady:
            bursts += not in_burst
            burst_rows.append(ok[i + members])
        in_burst = steady
        next_i, last_ch = i + max((j - i) // 4, 1), ch[i]
    if burst_rows:
        flags[np.concatenate(burst_rows)] |= BIT["bot_burst"]
    report["bursts"] = bursts
    log("speeders, straight-liners, contradictions, bot bursts screened")
    return flags, report


def print_screening(flags: np.ndarray, report: dict) -> None:
    n = len(flags)
    invalid = int((flags != 0).sum())
    print(f"\n== screening (pandas peer) ==\n{n} rows read; {n - invalid} valid; {invalid} screened out ({100 * invalid / n:.2f} %)")
    print(f"{'rule':<20} {'rows':>9} {'only':>9}")
    for name, bit in RULES:
        print(f"{name:<20} {int((flags & bit != 0).sum()):>9} {int((flags == bit).sum()):>9}")
    print(
        f"exact duplicates: {report['exact_duplicates']}; near duplicates: {report['near_duplicates']}; "
        f"speeder threshold: {report['speeder_threshold']:.1f} s; bursts: {report['bursts']}"
    )
    for name, count in report["contradictions"]:
        print(f"  contradiction {name:<30} {count:>7}")


# --------------------------------------------------------------------------------------------
# Target, generalization, split, k-anonymity
# --------------------------------------------------------------------------------------------


def generalize(df: pd.DataFrame, contest: dict, dataset_dir: Path, levels: dict[str, str]) -> pd.DataFrame:
    """The quasi-identifiers at the requested hierarchy levels (missing values stay empty)."""
    out = {}
    for qi in contest["privacy"]["quasi_identifier"]:
        col, target_level = qi["column"], levels[qi["column"]]
        h = pd.read_csv(
            dataset_dir / "hierarchies" / f"{qi['hierarchy']}.csv", dtype=str, keep_default_na=False
        )
        raw_level = qi.get("level", h.columns[0])
        h = h.drop_duplicates(raw_level)  # a coarser raw level: its first row (rows form a tree)
        mapping = dict(zip(h[raw_level], h[target_level]))
        codes, uniques = pd.factorize(df[col])  # -1 where missing
        uniques = [str(u) for u in uniques]
        unknown = [u for u in uniques if u not in mapping]
        if unknown:
            raise SystemExit(f"{col}: values not in hierarchy {qi['hierarchy']}: {unknown[:5]}")
        missing = "*" if target_level == "*" else ""
        labels = np.array([mapping[u] for u in uniques] + [missing], dtype=object)
        out[col] = pd.Series(labels[codes], index=df.index, dtype="str")
    return pd.DataFrame(out)


def stratified_split(cls: np.ndarray, share: float, public_share: float, rng: np.random.Generator):
    """Per class: shuffle, the first round(n * share) are test, of which the first
    round(n_test * public_share) are public."""
    n = len(cls)
    o = np.lexsort((rng.random(n), cls))
    sorted_cls = cls[o]
    classes, start, count = np.unique(sorted_cls, return_index=True, return_counts=True)
    idx = np.searchsorted(classes, sorted_cls)
    pos = np.arange(n) - start[idx]
    n_test = np.floor(count * share + 0.5).astype(np.int64)
    n_public = np.floor(n_test * public_share + 0.5).astype(np.int64)
    test = np.empty(n, dtype=bool)
    public = np.empty(n, dtype=bool)
    test[o] = pos < n_test[idx]
    public[o] = pos < n_public[idx]
    return test, public & test


def random_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unique 12-character Crockford base-32 ids (60 random bits)."""
    v = rng.integers(0, 1 << 60, size=n, dtype=np.uint64)
    while True:
        _, first = np.unique(v, return_index=True)
        if len(first) == n:
            break
        dup = np.setdiff1d(np.arange(n), first)
        v[dup] = rng.integers(0, 1 << 60, size=len(dup), dtype=np.uint64)
    alphabet = np.frombuffer(b"0123456789abcdefghjkmnpqrstvwxyz", dtype=np.uint8)
    shifts = np.arange(55, -1, -5, dtype=np.uint64)
    chars = alphabet[((v[:, None] >> shifts) & np.uint64(31)).astype(np.intp)]
    return np.ascontiguousarray(chars).view("S12").ravel().astype(str)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    # Nothing published needs quoting (free text is dropped); pyarrow raises if a value does.
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.OSFile(str(path), "wb") as f:
        f.write((",".join(frame.columns) + "\n").encode())  # pyarrow would quote the names
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        pacsv.write_csv(table, f, write_options=options)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("raw", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--contest", type=Path, default=DEFAULT_CONTEST)
    ap.add_argument("--levels", nargs="+", default=DEFAULT_LEVELS, metavar="COLUMN=LEVEL")
    ap.add_argument("--seed", type=int, default=None, help="default: the contest's split seed")
    args = ap.parse_args()
    contest, schema, dataset_dir = load_config(args.contest)
    levels = dict(lv.split("=", 1) for lv in args.levels)
    privacy, split_cfg = contest["privacy"], contest["split"]
    rng = np.random.default_rng(split_cfg["seed"] if args.seed is None else args.seed)

    df = read_raw(args.raw, schema)
    log(f"read {len(df)} rows x {df.shape[1]} columns")

    flags, report = screen(df, contest, schema)
    print_screening(flags, report)

    # Target: banded rating; rows without one are dropped.
    tgt = contest["target"]
    v = number(df[tgt["column"]])
    target = np.full(len(df), np.nan)
    for i, (lo, hi) in enumerate(tgt["bands"]):
        target[(v >= lo) & (v <= hi)] = i + 1
    valid = flags == 0
    missing_target = int((valid & np.isnan(target)).sum())
    keep = np.flatnonzero(valid & ~np.isnan(target))
    y = target[keep].astype(np.int64)

    # Published features: answers, quasi-identifiers and sensitive columns, plus the extra
    # metadata, minus the target's source and free text (dropped by the contest's policy).
    extra = set(contest.get("features", {}).get("extra", []))
    features = [
        c["name"]
        for c in schema["column"]
        if (c["role"] in ("answer", "quasi_identifier", "sensitive") or c["name"] in extra)
        and c["name"] != tgt["column"]
    ]
    data = df[features].iloc[keep].reset_index(drop=True)
    del df
    log(f"{len(keep)} valid rows with a target ({missing_target} without)")

    # Generalize to the fixed levels, split, then k-anonymity / l-diversity by suppression.
    qi_cols = [q["column"] for q in privacy["quasi_identifier"]]
    gen = generalize(data, contest, dataset_dir, levels)
    test, public = stratified_split(y, split_cfg["test_share"], split_cfg["public_share"], rng)
    k, l_div = privacy["k"], privacy.get("l_diversity", 1)
    cls = gen.groupby(qi_cols, sort=False).ngroup().to_numpy()
    frame = pd.DataFrame({"cls": cls, "y": y, "test": test})
    g = frame.groupby(["test", "cls"], sort=False)
    size = g["y"].transform("size").to_numpy()
    labels = g["y"].transform("nunique").to_numpy()
    suppressed = np.where(test, size < k, (size < k) | (labels < l_div))
    gen.loc[suppressed, qi_cols] = "*"
    data[qi_cols] = gen[qi_cols]
    log("generalized, split, k-anonymized")

    # Random ids; rows ordered by id (a random order) in every file.
    ids = random_ids(len(data), rng)
    data.insert(0, "id", ids)
    by_id = np.argsort(ids)
    train_rows, test_rows = by_id[~test[by_id]], by_id[test[by_id]]
    args.out.mkdir(parents=True, exist_ok=True)
    name = contest["target"]["name"]
    write_csv(data.take(train_rows).assign(**{name: y[train_rows]}), args.out / "train.csv")
    write_csv(data.take(test_rows), args.out / "test.csv")
    usage = np.where(public[test_rows], "public", "private")
    write_csv(pd.DataFrame({"id": ids[test_rows], name: y[test_rows], "usage": usage}), args.out / "solution.csv")
    log("written")

    n_train, n_test = int((~test).sum()), int(test.sum())
    print("\n== split (pandas peer) ==")
    print(f"valid rows with a target: {len(data)} (no target: {missing_target})")
    print(f"train {n_train}  test {n_test} ({int(public.sum())} public, {n_test - int(public.sum())} private)")
    for name, part in (("train", ~test), ("test", test)):
        s = int((suppressed & part).sum())
        classes = len(np.unique(cls[part & ~suppressed]))
        print(f"  {name:<5} suppressed {s:>7} ({100 * s / max(int(part.sum()), 1):.2f} %)  classes {classes}")
    print("  levels: " + " ".join(f"{c}={levels[c]}" for c in qi_cols))
    summary = {
        "rows": int(len(flags)),
        "invalid": int((flags != 0).sum()),
        "rules": {name: {"rows": int((flags & bit != 0).sum()), "only": int((flags == bit).sum())} for name, bit in RULES},
        "exact_duplicates": report["exact_duplicates"],
        "near_duplicates": report["near_duplicates"],
        "speeder_threshold_seconds": report["speeder_threshold"],
        "bursts": report["bursts"],
        "contradictions": dict(report["contradictions"]),
        "missing_target": missing_target,
        "train": n_train,
        "test": n_test,
        "public": int(public.sum()),
        "private": n_test - int(public.sum()),
        "suppressed_train": int((suppressed & ~test).sum()),
        "suppressed_test": int((suppressed & test).sum()),
        "levels": {c: levels[c] for c in qi_cols},
    }
    (args.out / "peer_report.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
