#!/usr/bin/env bash
# Cost of the judges' integrity report (`holdout integrity`) for TEAMS teams × SUBMISSIONS
# submissions each (500 × 20 by default) over the test rows of the security-sense contest
# prepared from ROWS raw rows (360,000 by default, about 100,000 test rows). The data directory
# is seeded directly (tests/bench/integrity_seed.py): every submission a real, distinct label
# file stored by its SHA-256 (about 1.2 MB each at 100,000 rows: ~12 GB for 10,000 files), two
# planted near-copies and one file shared by two teams. Then `holdout integrity --json` runs once
# under /usr/bin/time -v; reported: wall time, peak RSS, and what it found (pairs flagged, the
# planted ones among them, shared files). The report reads every file once (parse + check, as
# the scorer does), keeps the sampled rows only, and compares every cross-team pair.
# Usage: [SMALL=1] [ROWS=360000] [TEAMS=500] [SUBMISSIONS=20] [PYTHON=python3]
#        [BENCH_DIR=/tmp/bench-integrity] [HOLDOUT_BIN=path] tests/bench/integrity.sh
#   (SMALL=1: 20,000 raw rows, 50 teams × 5 submissions, a smoke test; the raw export and the
#   bundle are reused from BENCH_DIR, the data directory and its files are made afresh)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
if [[ "${SMALL:-0}" == 1 ]]; then
  rows="${ROWS:-20000}" teams="${TEAMS:-50}" submissions="${SUBMISSIONS:-5}"
else
  rows="${ROWS:-360000}" teams="${TEAMS:-500}" submissions="${SUBMISSIONS:-20}"
fi
python="${PYTHON:-python3}"
bench="${BENCH_DIR:-/tmp/bench-integrity}"
name=security-sense
bundle="$bench/$name-$rows"
data="$bench/data"

build_holdout
synth_raw "$rows"
if [[ ! -s "$bundle/public/MANIFEST.json" ]]; then
  rm -rf "$bundle" "$bundle.partial"
  run prepare "$bin" prepare "datasets/$name" --raw "$raw" --secret-file datasets/demo.key --out "$bundle.partial" --quiet
  mv "$bundle.partial" "$bundle"
else
  echo "reusing $bundle"
fi
rm -rf "$data"
run contest "$bin" contest create --data-dir "$data" "$bundle"
run seed "$python" tests/bench/integrity_seed.py --data "$data" --contest "$name" --teams "$teams" \
  --submissions "$submissions"
tail -n 1 "$bench/seed.stdout"
sync
run integrity "$bin" integrity --data-dir "$data" "$name" --json
run integrity-md "$bin" integrity --data-dir "$data" "$name" --lang en
report="$bench/integrity.stdout"
"$python" - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d = r["near_duplicates"]
planted = {"Team 0012", "Team 0022"}  # teams 11 and 21 (1-based names) hold the copies
hits = [p for p in d["pairs"] if {p["a"]["team"], p["b"]["team"]} & planted]
print(f"teams {r['teams']}, submissions {r['submissions']}, rows sampled {d['rows']}, compared {d['compared']}")
print(f"pairs flagged {d['flagged']} (threshold {d['threshold']}), involving the planted copies: {len(hits)}")
print(f"shared files: {len(r['same_files'])}; kendall tau {r['agreement']['kendall_tau']}")
PY
echo "integrity report: $(seconds integrity) s wall, $(peak_mb integrity) MB peak RSS" \
  "($teams teams × $submissions submissions, $rows raw rows; binary: ${HOLDOUT_BIN:-release})"
