#!/usr/bin/env bash
# Side-by-side benchmark of `holdout score --solution` and its pandas + scikit-learn peer
# (tests/bench/score_peer.py) on 1 M seeded rows (tests/bench/score_data.py), for
#   (a) validation + every metric on all/public/private rows (`--replicates 0`), binary with a
#       probability column and ordinal (labels 1..5) with class probabilities;
#   (b) the primary metric's 95 % interval on all/public/private (ROC AUC for binary, quadratic
#       weighted kappa for ordinal) with 1000 replicates, on two kinds of submission: "tied"
#       (scores rounded to 4 or 6 decimals, few distinct values) and "full" (float64 printed in
#       full, as models write them: nearly every score distinct). The interval's cost is the
#       `--replicates 1000` run minus the `--replicates 0` run. With HOLDOUT_BEFORE=path (an
#       older holdout binary), the same runs of that binary are measured beside, in the same
#       run of this script: the before/after ratio. The peer bootstraps ROC AUC the usual way
#       (numpy index resampling, one roc_auc_score per replicate; extrapolated linearly from 50
#       replicates per subset if 1000 would take over 10 min), on the tied binary submission.
# holdout uses both cores (the solution is read while the submission is parsed; large files
# are parsed, looked up and sorted in two halves); the peer is single-threaded apart from
# pyarrow's CSV reader.
# Each run is timed under /usr/bin/time -v (wall time, peak RSS); holdout runs twice (the
# machine is noisy), the peer once. Then every metric value of holdout is compared with the
# peer's (tolerance 1e-9); the script exits 1 if any differs.
# Usage: [ROWS=1000000] [REPLICATES=1000] [PYTHON=python3] [BENCH_DIR=target/bench]
#        [HOLDOUT_BEFORE=old/holdout] tests/bench/score.sh
#   (run from anywhere; builds the release binary first; data and logs go to BENCH_DIR/score,
#   the data is reused when present)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
rows="${ROWS:-1000000}"
replicates="${REPLICATES:-1000}"
python="${PYTHON:-python3}"
bench="${BENCH_DIR:-target/bench}/score"
seed=20260917

require_python "pandas numpy pyarrow scipy sklearn" "pandas scikit-learn scipy pyarrow"
build_holdout
"$python" tests/bench/score_data.py "$bench" --rows "$rows" --seed "$seed"

# holdout TASK NAME REPLICATES [ARGS...]: scores TASK's tied submission ($sub, when set, names
# another: "full" for the full-precision one) with $bin ($with, when set, names another binary)
holdout() {
  local task="$1" name="$2" reps="$3" file="$bench/$1-submission.csv"
  shift 3
  [[ "${sub:-}" == full ]] && file="$bench/$task-full-submission.csv"
  run "$name" "${with:-$bin}" score --solution "$bench/$task-solution.csv" --task "$task" "$@" \
    "$file" --json --replicates "$reps" --seed 0
}
labels() { [[ "$1" == ordinal ]] && echo --labels 1,2,3,4,5; }
# peer TASK NAME [ARGS...]
peer() {
  local task="$1" name="$2"
  shift 2
  run "$name" "$python" tests/bench/score_peer.py --task "$task" --solution "$bench/$task-solution.csv" \
    --submission "$bench/$task-submission.csv" --json "$bench/$name.json" --seed 0 "$@"
  sed -n '/^python /p; /^imports/p; /^phases/p; /^bootstrap time/p; /EXTRAPOLATED\|would take/p' "$bench/$name.stdout"
}

# (a) validation + all metrics
holdout binary holdout-binary-1 0
holdout binary holdout-binary-2 0
peer binary peer-binary
holdout ordinal holdout-ordinal-1 0 --labels 1,2,3,4,5
holdout ordinal holdout-ordinal-2 0 --labels 1,2,3,4,5
peer ordinal peer-ordinal --labels 1,2,3,4,5
# (b) the primary metric's interval: tied and full-precision submissions, this build and before
builds=(now)
[[ -n "${HOLDOUT_BEFORE:-}" ]] && builds+=(before)
for build in "${builds[@]}"; do
  with=""
  [[ "$build" == before ]] && with="$HOLDOUT_BEFORE"
  for sub in tied full; do
    for task in binary ordinal; do
      for r in 1 2; do
        # shellcheck disable=SC2046
        holdout "$task" "$build-$sub-$task-0-$r" 0 $(labels "$task")
        # shellcheck disable=SC2046
        holdout "$task" "$build-$sub-$task-ci-$r" "$replicates" $(labels "$task")
      done
    done
  done
done
with="" sub=""
# the runs (a)'s comparison and the bootstrap check below read
cp "$bench/now-tied-binary-ci-1.stdout" "$bench/holdout-boot-1.stdout"
peer binary peer-boot --bootstrap "$replicates"

echo
echo "== $rows rows, $(nproc) cores; (a) validate + all metrics on all/public/private, --replicates 0"
printf '%-9s %-10s %9s %12s %16s\n' task run wall_s peak_RSS_MB 'peer/holdout'
for task in binary ordinal; do
  for r in 1 2; do
    printf '%-9s %-10s %9.2f %12s %16s\n' "$task" "holdout-$r" "$(seconds "holdout-$task-$r")" "$(peak_mb "holdout-$task-$r")" ""
  done
  p=$(seconds "peer-$task")
  printf '%-9s %-10s %9.2f %12s %16s\n' "$task" peer "$p" "$(peak_mb "peer-$task")" \
    "$(awk -v p="$p" -v a="$(seconds "holdout-$task-1")" -v b="$(seconds "holdout-$task-2")" \
      'BEGIN { printf "%.1f / %.1f", p / a, p / b }')"
done
echo "(peer/holdout: wall time against holdout run 1 / run 2)"

echo
echo "== (b) the primary metric's 95 % interval, $replicates replicates, on all/public/private"
echo "   (interval_s = wall of --replicates $replicates minus wall of --replicates 0, same build, data and run number)"
printf '%-7s %-5s %-8s %-4s %9s %11s %12s %-30s %s\n' build data task run wall_s interval_s peak_RSS_MB methods 'before/now (wall)'
for sub in tied full; do
  for task in binary ordinal; do
    for build in "${builds[@]}"; do
      for r in 1 2; do
        t=$(seconds "$build-$sub-$task-ci-$r") t0=$(seconds "$build-$sub-$task-0-$r")
        methods=$("$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(",".join(d[s]["primary_interval_95"].get("method","bootstrap") for s in ("all","public","private")))' \
          "$bench/$build-$sub-$task-ci-$r.stdout")
        ratio=""
        if [[ "$build" == before ]]; then
          ratio=$(awk -v b="$t" -v n="$(seconds "now-$sub-$task-ci-$r")" 'BEGIN { printf "%.1f x", b / n }')
        fi
        printf '%-7s %-5s %-8s %-4s %9.2f %11.2f %12s %-30s %s\n' "$build" "$sub" "$task" "$r" "$t" \
          "$(awk -v t="$t" -v a="$t0" 'BEGIN { print t - a }')" "$(peak_mb "$build-$sub-$task-ci-$r")" "$methods" "$ratio"
      done
    done
  done
done
boot_peer=$("$python" -c 'import json,sys; b=json.load(open(sys.argv[1]))["bootstrap"]; print(b["seconds_for_" + sys.argv[2]], b["seconds_run"], int(b["extrapolated"]))' \
  "$bench/peer-boot.json" "$replicates")
read -r peer_boot peer_run peer_extrapolated <<< "$boot_peer"
printf 'peer (numpy + roc_auc_score per replicate), tied binary: bootstrap %.2f s%s; peer bootstrap / holdout whole run with the interval (run 1): %s\n' \
  "$peer_boot" "$( ((peer_extrapolated)) && echo ", EXTRAPOLATED from the replicates it ran in $(printf '%.1f' "$peer_run") s")" \
  "$(awk -v p="$peer_boot" -v t="$(seconds now-tied-binary-ci-1)" 'BEGIN { printf "%.0f", p / t }')"
echo "(an interval_s near 0 or below is within the noise of two runs: the interval itself is timed in"
echo " isolation by: cargo test --release -p holdout-score --test score interval_speed -- --ignored --nocapture)"
echo "(methods: bootstrap = percentile over row resamples; table = the same resamples drawn as"
echo " confusion-matrix counts; normal = the bootstrap's variance in closed form, DeLong for ROC AUC)"

echo
echo "== metric values, holdout (run 1) vs scikit-learn (tolerance 1e-9)"
"$python" - "$bench" "$replicates" <<'EOF'
import json, sys
from pathlib import Path

bench, replicates = Path(sys.argv[1]), sys.argv[2]
TOL = 1e-9
bad = 0
print(f"{'task':<8} {'subset':<8} {'metric':<22} {'holdout':>20} {'scikit-learn':>20} {'|diff|':>9}")
for task in ("binary", "ordinal"):
    h = json.loads((bench / f"holdout-{task}-1.stdout").read_text())
    p = json.loads((bench / f"peer-{task}.json").read_text())
    for subset in ("all", "public", "private"):
        hs, ps = h[subset], p[subset]
        if hs["rows"] != ps["rows"]:
            bad += 1
            print(f"{task:<8} {subset:<8} rows: holdout {hs['rows']}, peer {ps['rows']}  <-- differ")
        names = [k for k in ps if k != "rows"] + [k for k in hs if k not in ps and k != "rows"]
        for m in names:
            a, b = hs.get(m), ps.get(m)
            if not isinstance(a, float | int) or not isinstance(b, float | int):
                bad += 1
                print(f"{task:<8} {subset:<8} {m:<22} {a!s:>20} {b!s:>20}  <-- missing or undefined")
                continue
            d = abs(a - b)
            mark = "  <-- DIFFERS" if d > TOL else ""
            bad += d > TOL
            print(f"{task:<8} {subset:<8} {m:<22} {a:>20.15f} {b:>20.15f} {d:>9.1e}{mark}")
print(f"{'all values agree' if not bad else f'{bad} DISAGREEMENTS'} (tolerance {TOL:g})")

# The bootstrap intervals come from different resamples (ChaCha8 vs numpy PCG64), so they only
# agree up to Monte Carlo error; the point metrics of the bootstrap run must equal run (a)'s.
h = json.loads((bench / "holdout-boot-1.stdout").read_text())
h0 = json.loads((bench / "holdout-binary-1.stdout").read_text())
p = json.loads((bench / "peer-boot.json").read_text())
print(f"\n95 % interval of roc_auc ({replicates} replicates; different resamples, so only roughly equal)")
print(f"{'subset':<8} {'holdout low':>12} {'high':>9} {'n':>5}   {'peer low':>9} {'high':>9} {'n':>5}")
for subset in ("all", "public", "private"):
    a, b = h[subset]["primary_interval_95"], p[subset]["primary_interval_95"]
    print(f"{subset:<8} {a['low']:>12.6f} {a['high']:>9.6f} {a['replicates']:>5}   "
          f"{b['low']:>9.6f} {b['high']:>9.6f} {b['replicates']:>5}")
    same = all(h[subset][k] == h0[subset][k] for k in h0[subset])
    if not same:
        bad += 1
        print(f"  holdout's metrics on {subset} differ between --replicates 0 and {replicates}")
sys.exit(1 if bad else 0)
EOF
