#!/usr/bin/env bash
# Records baselines/<contest>/results.{json,md}: every baseline of every contest on the
# default demo data — a synthetic export of 200,000 rows (seed 7), prepared with the demo key
# (datasets/demo.key, synthetic data only), 5-fold cross-validation, seed 0.
# The end-to-end test tests/e2e/baseline.rs rebuilds the same data, re-runs the cheap models
# and checks their recorded numbers. Fit times are this machine's.
# Usage: [HOLDOUT=path/to/holdout] baselines/record.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n "${HOLDOUT:-}" ]]; then
  bin="$HOLDOUT"
else
  cargo build --release --locked -p holdout-cli
  bin="${CARGO_TARGET_DIR:-target}/release/holdout"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" synth --rows 200000 --seed 7 --out "$work/raw.csv" --quiet
for contest in security-sense fraud-exposure satisfaction-index; do
  "$bin" prepare "datasets/$contest" --raw "$work/raw.csv" --secret-file datasets/demo.key \
    --out "$work/$contest" --quiet
  "$bin" baseline "$work/out-$contest" --public "$work/$contest/public" \
    --private "$work/$contest/private" --folds 5 --seed 0 --quiet
  mkdir -p "baselines/$contest"
  cp "$work/out-$contest/results.json" "$work/out-$contest/results.md" "baselines/$contest/"
  echo "recorded baselines/$contest"
done
