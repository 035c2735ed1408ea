#!/usr/bin/env bash
# Side-by-side benchmark of `holdout baseline` and its scikit-learn peer
# (tests/bench/baseline_peer.py) on the security-sense contest prepared from a synthetic raw
# export of ROWS rows (770,000 by default, which gives about 500,000 train rows: train is about
# 65 % of the raw rows once screened and split).
# holdout fits its logistic and boosted-tree baselines and exports the matrices it encoded
# (`--export-design`); the peer fits LogisticRegression(C=1) on the same linear matrix and
# HistGradientBoostingClassifier(random_state=0) on the same tree matrix, so both sides fit the
# same numbers. Every submission (holdout's and the peer's) is then scored by `holdout score`
# on the private rows. Reported, per model family: the primary metric (quadratic weighted
# kappa) of each side and their difference (must be within 0.005, else the script exits 1),
# each side's fit time (holdout: fit_seconds from its results.json, which also covers encoding
# the matrices and predicting test; peer: the time of `fit`, and of `fit` + `predict_proba`)
# and the ratio holdout / scikit-learn fit (target for logistic: <= 1.0, reported, not enforced);
# and the wall time and peak RSS of the whole holdout run (reading the bundle, encoding, both
# fits, scoring, export) and of the whole peer run (loading the matrices, both fits, prediction).
# Each side runs once, under /usr/bin/time -v. Run it on an otherwise idle machine: when the
# cores are busy, OpenBLAS's and OpenMP's spinning threads make scikit-learn many times slower
# (the report shows how busy the CPUs were just before each run and warns when they were).
# Usage: [SMALL=1] [ROWS=770000] [PYTHON=python3] [BENCH_DIR=target/bench] [HOLDOUT=path]
#        [PEER_THREADS=n] [PEER_ARGS=--categorical] tests/bench/baseline.sh
#   (run from anywhere; builds the release binary first unless HOLDOUT names a holdout binary;
#   SMALL=1 makes the default ROWS 50,000 for a quick smoke test; data and logs go to
#   BENCH_DIR/baseline, and the raw export and prepared bundle are reused when present;
#   PEER_ARGS are extra arguments of the peer, e.g. --categorical to let
#   HistGradientBoosting treat the categorical codes as categories; PEER_THREADS caps the
#   peer's OpenMP and BLAS threads, which by default are one per core)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
if [[ "${SMALL:-0}" == 1 ]]; then rows="${ROWS:-50000}"; else rows="${ROWS:-770000}"; fi
python="${PYTHON:-python3}"
bench="${BENCH_DIR:-target/bench}/baseline"
contest=datasets/security-sense
tolerance=0.005
key="$bench/secret.key"
bundle="$bench/security-sense-$rows"
out="$bench/out"
design="$bench/design"
peer="$bench/peer"
read -r -a peer_args <<< "${PEER_ARGS:-}"
peer_env=()
if [[ -n "${PEER_THREADS:-}" ]]; then
  peer_env=(OMP_NUM_THREADS="$PEER_THREADS" OPENBLAS_NUM_THREADS="$PEER_THREADS" MKL_NUM_THREADS="$PEER_THREADS")
fi

# The holdout side, in one place (adjust here if the command line of `holdout baseline` changes).
# It must write $out/results.json, $out/baselines/{logistic,gbdt}.csv and the design in $design.
baseline_args=(baseline --public "$bundle/public" --private "$bundle/private" --models logistic,gbdt
  --folds 0 --export-design "$design" --seed 7 --quiet "$out")

require_python "numpy sklearn" "numpy scikit-learn"
if [[ -n "${HOLDOUT:-}" ]]; then
  bin="$HOLDOUT"
  mkdir -p "$bench"
else
  build_holdout
fi

synth_raw "$rows"
# a fixed key, so that a reused bundle is the one this script would prepare
[[ -s "$key" ]] || head -c 48 /dev/zero > "$key"
if [[ ! -s "$bundle/public/MANIFEST.json" ]]; then
  rm -rf "$bundle" "$bundle.partial"
  run prepare "$bin" prepare "$contest" --raw "$raw" --secret-file "$key" --out "$bundle.partial" --quiet
  mv "$bundle.partial" "$bundle"
else
  echo "reusing $bundle"
fi

# busy: percentage of all CPU time spent not idle over the next second (other processes' load)
busy() {
  local a b
  a=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2];
    printf "%.0f", (t > 0 ? 100 * (1 - (y[1] - x[1]) / t) : 0) }'
}

rm -rf "$out" "$design" "$peer"
busy_holdout=$(busy)
run holdout "$bin" "${baseline_args[@]}"
for f in "$out/results.json" "$out/baselines/logistic.csv" "$out/baselines/gbdt.csv" "$design/design.json"; do
  [[ -s "$f" ]] || { echo "error: holdout baseline did not write $f" >&2; exit 1; }
done
busy_peer=$(busy)
run peer env "${peer_env[@]}" "$python" tests/bench/baseline_peer.py "$design" "$peer" "${peer_args[@]}"

# every submission scored by holdout's scorer, without the bootstrap
for side in holdout peer; do
  for model in logistic gbdt; do
    if [[ $side == holdout ]]; then sub="$out/baselines/$model.csv"; else sub="$peer/$model.csv"; fi
    run "score-$side-$model" "$bin" score "$bundle/private" "$sub" --json --replicates 0 --quiet
  done
done

echo
"$python" - "$bench" "$bundle" "$out" "$tolerance" "$rows" "$(nproc)" \
  "$(seconds holdout)" "$(peak_mb holdout)" "$(seconds peer)" "$(peak_mb peer)" "$busy_holdout" "$busy_peer" <<'EOF'
import json, sys
from pathlib import Path

bench, bundle, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
tol, raw_rows, cpus = float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
h_wall, h_peak, p_wall, p_peak = float(sys.argv[7]), sys.argv[8], float(sys.argv[9]), sys.argv[10]
busy_h, busy_p = float(sys.argv[11]), float(sys.argv[12])
manifest = json.loads((bundle / "public" / "MANIFEST.json").read_text())
metric = manifest.get("submission", {}).get("primary_metric", "cohen_kappa_quadratic")
results = json.loads((out / "results.json").read_text())
peer = json.loads((bench / "peer.stdout").read_text())
design = json.loads((out.parent / "design" / "design.json").read_text())
models = results.get("models", [])
by_name = models if isinstance(models, dict) else {m.get("name"): m for m in models}


def private_score(name):
    s = json.loads((bench / f"{name}.stdout").read_text())["private"][metric]
    return s if isinstance(s, (int, float)) else float("nan")  # {"undefined": ...}


def num(x):
    return float(x) if isinstance(x, (int, float)) else float("nan")


print(f"== security-sense from {raw_rows} raw rows: {manifest['train_rows']} train rows, "
      f"{manifest['test_rows']} test rows; {cpus} cores; scikit-learn {peer['sklearn']}")
print(f"   linear design {len(design['linear']['columns'])} columns, "
      f"tree design {len(design['tree']['columns'])} columns "
      f"({len(design['tree'].get('categorical', []))} categorical)")
print(f"   {metric} on the private rows, both sides scored by `holdout score`")
print(f"{'family':<9} {'holdout':>9} {'sklearn':>9} {'|diff|':>8} {'parity':>8}   "
      f"{'holdout_fit_s':>13} {'sklearn_fit_s':>13} {'holdout/sklearn':>15} {'sklearn_fit+pred_s':>18} {'ratio':>6}")
bad, warn = 0, []
for family in ("logistic", "gbdt"):
    h, p = private_score(f"score-holdout-{family}"), private_score(f"score-peer-{family}")
    d = abs(h - p)
    ok = d <= tol  # false for NaN too
    bad += not ok
    m = by_name.get(family, {})
    subsets = m.get("test") if isinstance(m.get("test"), dict) else m
    reported = num((subsets.get("private") or {}).get(metric))
    if not abs(reported - h) <= 1e-9:
        warn.append(f"{family}: results.json says private {metric} = {reported}, "
                    f"`holdout score` on baselines/{family}.csv says {h}")
    hf, pf = num(m.get("fit_seconds")), peer[f"{family}_fit_seconds"]
    pfp = pf + peer[f"{family}_predict_seconds"]
    ratio = hf / pf
    target = ("  (target <= 1.0: " + ("met" if ratio <= 1.0 else "MISSED") + ")") if family == "logistic" else ""
    print(f"{family:<9} {h:>9.5f} {p:>9.5f} {d:>8.5f} {'PASS' if ok else 'FAIL':>8}   "
          f"{hf:>13.2f} {pf:>13.2f} {ratio:>15.2f} {pfp:>18.2f} {hf / pfp:>6.2f}{target}")
print("(holdout_fit_s: results.json's fit_seconds, which covers encoding, fitting and predicting test; "
      "ratio: holdout_fit_s / sklearn_fit+pred_s)")
print(f"(parity: |diff| <= {tol}; sklearn logistic: {peer['logistic_iterations']} lbfgs iterations of "
      f"{peer['logistic_max_iter']}{'' if peer['logistic_converged'] else ', NOT converged'}; "
      f"sklearn gbdt: {peer['gbdt_iterations']} boosting iterations)")
print()
print(f"{'side':<9} {'total_wall_s':>12} {'peak_RSS_MB':>12}")
print(f"{'holdout':<9} {h_wall:>12.1f} {h_peak:>12}   (read bundle, encode, fit both, score, export design)")
print(f"{'sklearn':<9} {p_wall:>12.1f} {p_peak:>12}   (python start-up {peer['import_seconds']:.1f} s, "
      f"load matrices {peer['load_seconds']:.1f} s, fit both, predict, write)")
threads = ", ".join(f"{t['lib']} {t['threads']}" for t in peer.get("threadpools", []))
print(f"(CPUs busy with other work in the second before the holdout run {busy_h:.0f} %, before the peer "
      f"run {busy_p:.0f} %; sklearn threads: {threads or 'unknown'})")
if max(busy_h, busy_p) > 20:
    warn.append("the machine was busy with other work (> 20 % of the CPUs): the timings are unreliable, "
                "the peer's multi-threaded OpenBLAS/OpenMP ones especially")
print(f"(peer peak RSS after the logistic fit {peer['peak_rss_mb_after_logistic']:.0f} MB, "
      f"after the gbdt fit {peer['peak_rss_mb_after_gbdt']:.0f} MB)")
for w in warn:
    print(f"warning: {w}")
print("parity: " + ("every family within tolerance" if not bad else f"{bad} famil{'y' if bad == 1 else 'ies'} OUT OF TOLERANCE"))
sys.exit(1 if bad else 0)
EOF
