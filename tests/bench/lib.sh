# Helpers shared by the benchmark scripts; source it after setting $bench (the output folder).

# run NAME COMMAND...: runs COMMAND under /usr/bin/time -v, keeping its report, stdout and
# stderr in $bench/NAME.{time,stdout,stderr}; on failure prints their last lines and fails.
run() {
  local name="$1"
  shift
  echo "== $name: $*"
  /usr/bin/time -v -o "$bench/$name.time" "$@" > "$bench/$name.stdout" 2> "$bench/$name.stderr" || {
    echo "$name failed (exit $?); last lines of its output:" >&2
    tail -n 20 "$bench/$name.stdout" "$bench/$name.stderr" "$bench/$name.time" >&2
    return 1
  }
}

# seconds NAME, peak_mb NAME: wall time and peak RSS from the time -v report of run NAME
seconds() {
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' \
    "$bench/$1.time"
}
peak_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$bench/$1.time"; }

# require_python MODULES PACKAGES: fails with an install hint unless $python imports every one
# of MODULES (space-separated; PACKAGES is what pip installs them from).
require_python() {
  if ! "$python" -c "import ${1// /, }" 2>/dev/null; then
    echo "error: the peer needs $1 for $python; install them with:" >&2
    echo "  $python -m pip install $2" >&2
    exit 1
  fi
}

# build_holdout: builds the release binary and sets $bin to it; creates $bench. With
# HOLDOUT_BIN set, nothing is built and $bin is that binary (e.g. a debug build for a smoke test).
build_holdout() {
  if [[ -n "${HOLDOUT_BIN:-}" ]]; then
    [[ -x "$HOLDOUT_BIN" ]] || { echo "error: HOLDOUT_BIN=$HOLDOUT_BIN is not an executable" >&2; exit 1; }
    bin="$HOLDOUT_BIN"
  else
    cargo build --release -p holdout-cli --quiet
    bin="${CARGO_TARGET_DIR:-target}/release/holdout"
  fi
  mkdir -p "$bench"
}

# synth_raw ROWS: sets $raw to a synthetic export of ROWS rows (seed 7) in $bench, generating
# it once (written under a temporary name, so an interrupted run is not reused).
synth_raw() {
  raw="$bench/raw-$1-seed7.csv"
  if [[ ! -s "$raw" ]]; then
    echo "generating $raw ($1 rows, seed 7)"
    "$bin" synth --rows "$1" --seed 7 --out "$raw.partial.csv" --quiet
    mv "$raw.partial.csv" "$raw"
  else
    echo "reusing $raw"
  fi
}
