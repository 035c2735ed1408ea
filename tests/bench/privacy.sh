#!/usr/bin/env bash
# The privacy search at full scale, before and now, in one run: `holdout prepare` of one contest
# (default security-sense) on one synthetic export, by an older holdout (its own checkout, whose
# contest definitions it reads) and by this one; wall time and peak RSS of each, then from this
# run's risk report the levels chosen, the cells generalized and suppressed per column, the
# whole rows suppressed, the linkage attack's figures and the utility price. The split comes from the demo key, so
# every run searches the same release.
# Usage: BEFORE_TREE=path/to/older/checkout BEFORE_BIN=path/to/its/holdout \
#   [ROWS=3230000] [CONTEST=security-sense] [HOLDOUT_BIN=…] [BENCH_DIR=target/bench] tests/bench/privacy.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
rows="${ROWS:-3230000}"
contest="${CONTEST:-security-sense}"
bench="$(realpath -m "${BENCH_DIR:-target/bench}")"
: "${BEFORE_TREE:?set BEFORE_TREE to a checkout of the older holdout}"
: "${BEFORE_BIN:?set BEFORE_BIN to the older holdout binary}"
python="${PYTHON:-python3}"

build_holdout
synth_raw "$rows"
# The demo key (synthetic data only): the same split, so the same search, every run.
key="$PWD/datasets/demo.key"
rm -rf "$bench/privacy-before" "$bench/privacy-now"
(cd "$BEFORE_TREE" && run before "$BEFORE_BIN" prepare "datasets/$contest" --raw "$raw" --secret-file "$key" \
  --out "$bench/privacy-before" --quiet)
run now "$bin" prepare "datasets/$contest" --raw "$raw" --secret-file "$key" --out "$bench/privacy-now" --quiet

echo
echo "== $rows rows, $contest, $(nproc) cores"
printf '%-8s %10s %12s\n' run wall_s peak_RSS_MB
for r in before now; do
  printf '%-8s %10.1f %12s\n' "$r" "$(seconds "$r")" "$(peak_mb "$r")"
done
echo
echo "-- before: $(grep -m1 'levels:' "$bench/before.stdout" || true)"
"$python" - "$bench/privacy-now/private/risk_report.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
g = r["generalization"]
o = g["outcome"]
print(f"-- now: loss {g['loss']:.4f} (levels {g['generalization_loss']:.4f}); "
      f"{g['evaluated']} nodes counted of {g['lattice_size']}")
print(f"{'column':22} {'imp':>4} {'level':>10} {'generalized':>12} {'suppressed':>11}")
for c in r["columns"]:
    print(f"{c['column']:22} {c['importance']:>4.0f} {c['level']:>10} "
          f"{100 * c['generalized_share']:>11.2f}% {100 * c['suppressed_share']:>10.2f}%")
print(f"rows in classes below k at these levels: {o['unsafe_train']} train, {o['unsafe_test']} test; "
      f"rows with a blanked cell {o['rows_with_suppressed_cells']}, cells {o['cells_suppressed']}, "
      f"whole rows {o['rows_suppressed']}")
for t in r["tables"]:
    s = t["risk"]
    print(f"{t['table']:6} smallest class {s['min_class_size']}, highest risk {s['prosecutor_highest']:.4f}, "
          f"average {s['prosecutor_average']:.4f}")
a = r["linkage_attack"]
print(f"linkage attack: {a['sampled']} tried, {a['reidentified']} re-identified "
      f"({100 * a['reidentified_share']:.2f} %), {a['within_k']} within k, fewest candidates "
      f"{a['fewest_candidates']}, expected match rate {a['expected_match_rate']:.5f} (gate {a['threshold']:.4f})")
p = r.get("utility_price")
if p:
    print(f"utility price: {p['model']} on {p['training_rows']} training / {p['test_rows']} test rows, "
          f"{p['metric']} {p['raw']} raw → {p['published']} published")
u = r["answer_uniqueness"]
print(f"answer vectors: {u['unique_rows']} of {u['rows']} rows unique on {u['columns']} answer columns "
      f"({100 * u['unique_share']:.1f} %)")
EOF
