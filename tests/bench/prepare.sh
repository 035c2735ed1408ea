#!/usr/bin/env bash
# Side-by-side benchmark of `holdout prepare` and its pandas peer (tests/bench/prepare_peer.py)
# on one synthetic raw export: wall time and peak resident memory of each, and the ratio
# peer time / holdout time. holdout runs twice (the machine is noisy), the peer once. The peer
# does less work than holdout (no lattice search, HMAC, PII scrubbing, risk estimation, leakage
# audit or Parquet copies; see its docstring), so the comparison favours the peer.
# At full scale (3.23 M rows) the peer needs about 10 GB of RAM.
# Usage: [ROWS=3230000] [PYTHON=python3] [BENCH_DIR=target/bench] tests/bench/prepare.sh
#   (run from anywhere; builds the release binary first; reuses the raw export if present)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
rows="${ROWS:-3230000}"
python="${PYTHON:-python3}"
bench="${BENCH_DIR:-target/bench}"
contest=datasets/security-sense

require_python "pandas numpy pyarrow" "pandas numpy pyarrow"
build_holdout
synth_raw "$rows"
key="$(mktemp "$bench/key.XXXXXX")"
trap 'rm -f "$key"' EXIT
head -c 48 /dev/urandom > "$key"

# fresh NAME OUTDIR COMMAND...: run, after removing OUTDIR (the bundle COMMAND writes)
fresh() {
  local name="$1" out="$2"
  shift 2
  rm -rf "$out"
  run "$name" "$@"
}

fresh holdout-1 "$bench/prepare-holdout-1" \
  "$bin" prepare "$contest" --raw "$raw" --secret-file "$key" --out "$bench/prepare-holdout-1" --quiet
fresh holdout-2 "$bench/prepare-holdout-2" \
  "$bin" prepare "$contest" --raw "$raw" --secret-file "$key" --out "$bench/prepare-holdout-2" --quiet
cat "$bench/holdout-2.stdout"
peer_ok=1
fresh peer "$bench/prepare-peer" "$python" tests/bench/prepare_peer.py "$raw" --out "$bench/prepare-peer" || peer_ok=0
if ((peer_ok)); then
  sed -n '/== split/,$p' "$bench/peer.stdout"
elif grep -qE 'MemoryError|Killed|signal 9' "$bench/peer.stderr" "$bench/peer.time"; then
  echo "the pandas peer ran out of memory" >&2
fi

echo
echo "== $rows rows ($(du -h "$raw" | cut -f1) CSV), $(nproc) cores"
printf '%-10s %10s %12s %16s\n' run wall_s peak_RSS_MB 'peer/holdout'
for r in holdout-1 holdout-2; do
  printf '%-10s %10.1f %12s %16s\n' "$r" "$(seconds "$r")" "$(peak_mb "$r")" ""
done
if ((peer_ok)); then
  p=$(seconds peer)
  printf '%-10s %10.1f %12s %16s\n' peer "$p" "$(peak_mb peer)" \
    "$(awk -v p="$p" -v a="$(seconds holdout-1)" -v b="$(seconds holdout-2)" \
      'BEGIN { printf "%.2f / %.2f", p / a, p / b }')"
else
  printf '%-10s %10s %12s %16s\n' peer failed "$(peak_mb peer)" ""
fi
echo "(peer/holdout: against holdout run 1 / run 2)"
((peer_ok)) || exit 1

echo
echo "== screening and split counts (rows; 'only' = flagged by no other rule)"
"$python" - "$bench/prepare-holdout-1" "$bench/prepare-peer/peer_report.json" <<'EOF'
import csv, json, sys
from collections import Counter
from pathlib import Path

h_dir, p = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
h = json.loads((h_dir / "private" / "screening_report.json").read_text())
manifest = json.loads((h_dir / "public" / "MANIFEST.json").read_text())
with open(h_dir / "private" / "solution.csv", newline="") as f:
    usage = Counter(r["usage"] for r in csv.DictReader(f))
rows = [("rows read", h["rows"], p["rows"]), ("screened out", h["invalid"], p["invalid"])]
for r in h["rules"]:
    q = p["rules"][r["rule"]]
    rows += [(r["rule"], r["rows"], q["rows"]), (f"  {r['rule']} only", r["only"], q["only"])]
rows += [
    ("exact duplicates", h["exact_duplicates"], p["exact_duplicates"]),
    ("near duplicates", h["near_duplicates"], p["near_duplicates"]),
    ("bursts", h["bursts"], p["bursts"]),
]
rows += [(f"contradiction {name}", n, p["contradictions"][name]) for name, _, n in h["contradictions"]]
rows += [
    ("train", manifest["train_rows"], p["train"]),
    ("test", manifest["test_rows"], p["test"]),
    ("  public", usage["public"], p["public"]),
    ("  private", usage["private"], p["private"]),
]
print(f"{'':<42} {'holdout':>9} {'peer':>9} {'diff %':>8}")
for name, a, b in rows:
    d = 100 * (b - a) / a if a else (0.0 if a == b else float("inf"))
    mark = "  <-- > 1 %" if abs(d) > 1 else ""
    print(f"{name:<42} {a:>9} {b:>9} {d:>8.2f}{mark}")
print(f"speeder threshold: holdout {h['speeder_threshold_seconds']:.3f} s, peer {p['speeder_threshold_seconds']:.3f} s")
print("(suppression differs by design: holdout searches the levels, the peer uses fixed ones:", end=" ")
print(" ".join(f"{c}={lv}" for c, lv in p["levels"].items()) + ")")
EOF
