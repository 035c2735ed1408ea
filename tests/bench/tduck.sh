#!/usr/bin/env bash
# Real exports at full scale: the same synthetic survey (ROWS rows, seed 7) in holdout's own
# format, as the two TDuck admin CSV exports (one per form) and as the fm_user_form_data
# database dump (CSV), each prepared into a `security-sense` bundle in one run, ROUNDS times
# (default 2) in turn: wall time, read time and peak RSS of each, and the ratio to the native
# run of the same round (target ≤ 1.3); every input is read into the page cache before its
# run. The database dump's bundle must be byte-identical to the native one. Then the xlsx
# reader on XLSX_ROWS rows written as the admin's xlsx exports: `holdout check --raw` (read and
# map every cell, nothing else) on the xlsx files beside the CSV files of the same rows.
# Usage: [ROWS=3230000] [ROUNDS=2] [XLSX_ROWS=1000000] [BENCH_DIR=target/bench] [HOLDOUT_BIN=path] tests/bench/tduck.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
rows="${ROWS:-3230000}"
xlsx_rows="${XLSX_ROWS:-1000000}"
bench="${BENCH_DIR:-target/bench}"
contest=datasets/security-sense

build_holdout
synth_raw "$rows"
key="$(mktemp "$bench/key.XXXXXX")"
trap 'rm -f "$key"' EXIT
head -c 48 /dev/urandom > "$key"

# layout DIR ROWS ARGS...: the synthetic survey of ROWS rows written by `synth ARGS` into DIR, once
layout() {
  local dir="$1" n="$2"
  shift 2
  if [[ ! -d "$dir" ]]; then
    echo "generating $dir"
    rm -rf "$dir.partial"
    "$bin" synth --rows "$n" --seed 7 --out "$dir.partial" --quiet "$@"
    mv "$dir.partial" "$dir"
  fi
}
layout "$bench/tduck-export-$rows" "$rows" --layout tduck-export
layout "$bench/tduck-db-$rows" "$rows" --layout tduck-db

# prep NAME ARGS...: a security-sense bundle from the inputs ARGS (after --raw), read once
# beforehand so that every run reads from the page cache: the figure is the reader's, not the
# disk's (the database dump is 4× the size of holdout's own file).
prep() {
  local name="$1"
  shift
  rm -rf "$bench/$name"
  find "$@" -type f -exec cat {} + > /dev/null
  sync # the previous run's bundle is on disk, not written back during this one
  run "$name" "$bin" -v prepare "$contest" --raw "$@" --secret-file "$key" --out "$bench/$name"
}
# read_s NAME: the seconds run NAME spent reading its input (from its log)
read_s() { grep -oE 'read [0-9]+ rows in [0-9.]+ s' "$bench/$1.stderr" | awk '{ print $5 }'; }

rounds="${ROUNDS:-2}"
for round in $(seq "$rounds"); do
  prep "native-$round" "$raw"
  prep "export-$round" "$bench/tduck-export-$rows"
  prep "db-$round" "$bench/tduck-db-$rows/fm_user_form_data.csv"
done

for f in public/train.csv public/test.csv private/solution.csv; do
  cmp -s "$bench/native-1/$f" "$bench/db-1/$f" || { echo "error: the database dump's $f differs from the native one" >&2; exit 1; }
done

layout "$bench/tduck-xlsx-$xlsx_rows" "$xlsx_rows" --layout tduck-export --xlsx
layout "$bench/tduck-export-$xlsx_rows" "$xlsx_rows" --layout tduck-export
run check-xlsx "$bin" check datasets/netizen-survey-2024 --raw "$bench/tduck-xlsx-$xlsx_rows"
run check-csv "$bin" check datasets/netizen-survey-2024 --raw "$bench/tduck-export-$xlsx_rows"

printf '\n%-34s %6s %10s %8s %12s %10s\n' "input ($rows rows → $contest)" round wall_s read_s peak_RSS_MB "÷ native"
for round in $(seq "$rounds"); do
  native="$(seconds "native-$round")"
  for name in native export db; do
    s="$(seconds "$name-$round")"
    printf '%-34s %6s %10.1f %8s %12s %10.2f\n' "$name" "$round" "$s" "$(read_s "$name-$round")" \
      "$(peak_mb "$name-$round")" "$(echo "$s / $native" | bc -l)"
  done
done
printf '\n%-44s %10s %12s\n' "holdout check --raw ($xlsx_rows rows)" "wall_s" "peak_RSS_MB"
for name in check-xlsx check-csv; do
  printf '%-44s %10.1f %12s\n' "$name" "$(seconds "$name")" "$(peak_mb "$name")"
done
du -sh "$bench/tduck-xlsx-$xlsx_rows" "$bench/tduck-export-$xlsx_rows" | sed 's/^/size: /'
echo "the database dump's bundle is byte-identical to the native one"
