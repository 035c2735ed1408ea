#!/usr/bin/env bash
# The service's upload burst before and after a change, in one run: tests/bench/serve.sh runs
# first with HOLDOUT_BEFORE (an older holdout binary), then with this build (or HOLDOUT_BIN),
# on the same bundle and the same generated submission files, and the drain times (burst start
# → every upload scored) are compared. CONTEST picks the contest (security-sense: labels,
# quadratic weighted kappa; fraud-exposure: probabilities written in full float64 precision,
# ROC AUC). Part A of serve.sh (the reads) runs too, shortened to DURATION seconds (default 5);
# its read targets are not this script's concern, so serve.sh's exit status is reported but
# only a missing burst result fails this script.
# Usage: HOLDOUT_BEFORE=old/holdout [CONTEST=fraud-exposure] [ROWS=360000] [UPLOADERS=200]
#        [BENCH_DIR=/tmp/bench-burst] [HOLDOUT_BIN=path] tests/bench/burst.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -x "${HOLDOUT_BEFORE:-}" ]] || { echo "error: set HOLDOUT_BEFORE to an older holdout binary" >&2; exit 1; }
contest="${CONTEST:-fraud-exposure}"
bench="${BENCH_DIR:-/tmp/bench-burst}/$contest"
mkdir -p "$bench"
if [[ -z "${HOLDOUT_BIN:-}" ]]; then
  cargo build --release -p holdout-cli --quiet
  HOLDOUT_BIN="${CARGO_TARGET_DIR:-target}/release/holdout"
fi
for build in before now; do
  bin="$HOLDOUT_BIN"
  [[ "$build" == before ]] && bin="$HOLDOUT_BEFORE"
  echo "== $build: $bin"
  status=0
  CONTEST="$contest" BENCH_DIR="$bench" HOLDOUT_BIN="$bin" DURATION="${DURATION:-5}" \
    bash tests/bench/serve.sh > "$bench/serve-$build.log" 2>&1 || status=$?
  [[ -s "$bench/burst.json" ]] || { echo "error: no burst result; see $bench/serve-$build.log" >&2; tail -n 20 "$bench/serve-$build.log" >&2; exit 1; }
  cp "$bench/burst.json" "$bench/burst-$build.json"
  sed -n '/^Part B/,/^(drain_s/p' "$bench/serve-$build.log"
  echo "(serve.sh exit status $status)"
done
python3 - "$bench" <<'EOF'
import json, sys
from pathlib import Path

bench = Path(sys.argv[1])
b, n = (json.loads((bench / f"burst-{x}.json").read_text()) for x in ("before", "now"))
for name, r in (("before", b), ("now", n)):
    print(f"{name:<7} uploads {r['uploads']}, {r['bytes_each'] / 1e6:.2f} MB each: drain {r['drain_s']:.2f} s, "
          f"statuses {r['statuses']}, lost {r['lost']}")
print(f"drain before / now: {b['drain_s'] / n['drain_s']:.2f}x")
bad = [x for x, r in (("before", b), ("now", n)) if r["lost"] or r["statuses"].get("scored", 0) != r["uploads"]]
sys.exit(f"uploads not all scored: {bad}" if bad else 0)
EOF
