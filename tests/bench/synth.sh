#!/usr/bin/env bash
# Benchmark of `holdout synth` at full survey scale (3.23 M responses, the 2024 collection):
# wall time, rows per second and peak resident memory, for CSV and Parquet output.
# Targets (issue 2): ≤ 60 s and ≤ 1 GB peak RSS on the 2-core machine.
# Usage: tests/bench/synth.sh [ROWS]   (run from anywhere; builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/../.."
rows="${1:-3230000}"
cargo build --release -p holdout-cli --quiet
bin="${CARGO_TARGET_DIR:-target}/release/holdout"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
printf '%-8s %10s %9s %12s %12s %10s\n' format rows seconds rows/s peak_RSS_MB size_MB
for ext in csv parquet; do
  /usr/bin/time -f '%e %M' -o "$out/time" "$bin" synth --rows "$rows" --seed 7 --out "$out/raw.$ext" --quiet
  read -r secs kb < "$out/time"
  size=$(stat -c %s "$out/raw.$ext")
  awk -v f="$ext" -v n="$rows" -v s="$secs" -v kb="$kb" -v b="$size" \
    'BEGIN { printf "%-8s %10d %9.1f %12.0f %12.1f %10.1f\n", f, n, s, n / s, kb / 1024, b / 1048576 }'
done
