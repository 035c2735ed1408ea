#!/usr/bin/env bash
# Benchmark of the leaderboard service (`holdout serve`) on the security-sense contest prepared
# from a synthetic raw export of ROWS rows (360,000 by default, which gives about 100,000 test
# rows: test is about 28 % of the raw rows once screened and split).
# Part A, leaderboard reads: the database is seeded directly (tests/bench/serve_seed.py) with
# TEAMS teams of one competitor each and SUBMISSIONS scored submissions in phase `preliminary`
# (500 and 10,000 by default), then wrk (2 threads, 256 connections, DURATION seconds, default
# 20) reads GET /api/v1/contests/security-sense/leaderboard?phase=preliminary and then
# …/leaderboard.csv?phase=preliminary. Reported for each: requests/s and p50/p99 latency;
# targets >= 5,000 req/s and p99 <= 20 ms. Also the time of the first (uncached) request,
# which computes the board. Last, the HTML page /contests/security-sense/leaderboard (Chinese, anonymous).
# (wrk is a closed loop: with 256 connections always busy, mean latency = 256 / throughput, so
# p99 <= 20 ms can only hold at >= 12,800 req/s.)
# Part B, upload burst: an organizer (`holdout user create`, `holdout token create`) moves the
# final phase and then the preliminary one through the API so that preliminary is open now;
# UPLOADERS teams (200 by default) of one competitor with an API token each are seeded, each
# with its own valid submission file (the sample submission with labels drawn per team); all
# uploads are fired at once (one thread each) at POST …/submissions, and the database is polled
# until none is queued or scoring. Reported: upload wall time and per-upload latency, the drain
# time (burst start → every upload scored), the count by status (must be UPLOADERS scored, none
# lost), and the server's peak RSS (VmHWM, read before stopping it; after part A and at the end).
# Then `holdout audit verify` must pass.
# The client (wrk, Python) runs on the same machine as the service and competes for its cores.
# Exits 1 if a check fails (a non-2xx read, an upload not answered 202, an upload not scored or
# lost, the audit chain); a missed read target also fails the run, except with SMALL=1.
# CONTEST=fraud-exposure runs it on that contest instead (ROC AUC; the burst's files then hold
# probabilities in full float64 precision, as models write them).
# Usage: [SMALL=1] [CONTEST=security-sense] [ROWS=360000] [TEAMS=500] [SUBMISSIONS=10000] [UPLOADERS=200] [DURATION=20]
#        [PORT=18090] [WORKERS=2] [REPLICATES=1000] [PYTHON=python3] [BENCH_DIR=/tmp/bench-serve]
#        [HOLDOUT_BIN=path] tests/bench/serve.sh
#   (run from anywhere; builds the release binary first unless HOLDOUT_BIN names a holdout
#   binary; SMALL=1 makes the defaults 20,000 raw rows, 50 teams, 1,000 submissions,
#   20 uploaders and 5 s per wrk run, for a quick smoke test; the raw export and the prepared
#   bundle are kept in BENCH_DIR and reused, the service's data directory is made afresh;
#   WORKERS and REPLICATES are `holdout serve --workers/--replicates`)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
if [[ "${SMALL:-0}" == 1 ]]; then
  small=1 rows="${ROWS:-20000}" teams="${TEAMS:-50}" submissions="${SUBMISSIONS:-1000}"
  uploaders="${UPLOADERS:-20}" duration="${DURATION:-5}"
else
  small=0 rows="${ROWS:-360000}" teams="${TEAMS:-500}" submissions="${SUBMISSIONS:-10000}"
  uploaders="${UPLOADERS:-200}" duration="${DURATION:-20}"
fi
port="${PORT:-18090}"
workers="${WORKERS:-2}"
replicates="${REPLICATES:-1000}"
python="${PYTHON:-python3}"
bench="${BENCH_DIR:-/tmp/bench-serve}"
name="${CONTEST:-security-sense}"
contest="datasets/$name"
bundle="$bench/$name-$rows"
data="$bench/data"
base="http://127.0.0.1:$port"
api="$base/api/v1/contests/$name"
seed=tests/bench/serve_seed.py

command -v wrk > /dev/null || { echo "error: wrk is missing; install it with: apt-get install -y wrk" >&2; exit 1; }
command -v curl > /dev/null || { echo "error: curl is missing; install it with: apt-get install -y curl" >&2; exit 1; }
if curl -s -o /dev/null "$base/"; then
  echo "error: something already answers on $base; stop it or set PORT" >&2
  exit 1
fi
build_holdout
bin_note="release"
[[ -n "${HOLDOUT_BIN:-}" ]] && bin_note="HOLDOUT_BIN=$HOLDOUT_BIN"

synth_raw "$rows"
if [[ ! -s "$bundle/public/MANIFEST.json" ]]; then
  rm -rf "$bundle" "$bundle.partial"
  run prepare "$bin" prepare "$contest" --raw "$raw" --secret-file datasets/demo.key --out "$bundle.partial" --quiet
  mv "$bundle.partial" "$bundle"
else
  echo "reusing $bundle"
fi

rm -rf "$data" "$bench/files" "$bench/tokens.tsv" "$bench/burst.json"
run contest "$bin" contest create --data-dir "$data" "$bundle"
run org env HOLDOUT_PASSWORD=bench-organizer-password "$bin" user create --data-dir "$data" org --role organizer
run org-token "$bin" token create --data-dir "$data" org
org_token=$(grep -m1 -o '^hol_[0-9a-f]\{64\}$' "$bench/org-token.stdout") || {
  echo "error: no token in the output of holdout token create:" >&2
  cat "$bench/org-token.stdout" >&2
  exit 1
}

# The database is seeded while the service is stopped.
run seed-board "$python" "$seed" board --db "$data/holdout.db" --contest "$name" --phase preliminary \
  --teams "$teams" --submissions "$submissions"
cat "$bench/seed-board.stdout"
run seed-uploaders "$python" "$seed" uploaders --db "$data/holdout.db" --contest "$name" --teams "$uploaders" \
  --tokens "$bench/tokens.tsv"
run files "$python" "$seed" files --sample "$bundle/public/sample_submission.csv" --out "$bench/files" \
  --count "$uploaders"
cat "$bench/files.stdout"

echo "== serve: $bin serve --data-dir $data --bind 127.0.0.1:$port --workers $workers --replicates $replicates"
"$bin" serve --data-dir "$data" --bind "127.0.0.1:$port" --workers "$workers" --replicates "$replicates" \
  > "$bench/serve.log" 2>&1 &
server=$!
stop_server() {
  if [[ -n "${server:-}" ]] && kill -0 "$server" 2> /dev/null; then
    kill -TERM "$server" 2> /dev/null || true
    wait "$server" 2> /dev/null || true
  fi
  server=
}
trap stop_server EXIT
for ((i = 0; ; i++)); do
  if curl -fsS -o /dev/null "$base/api/v1/contests" 2> /dev/null; then break; fi
  if ! kill -0 "$server" 2> /dev/null || ((i > 600)); then
    echo "error: the service did not come up; its log:" >&2
    tail -n 20 "$bench/serve.log" >&2
    exit 1
  fi
  sleep 0.1
done
hwm() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status"; }

# Part A: leaderboard reads. The first request of each computes (and caches) the board.
declare -A cold
for kind in json gzip csv page; do
  case $kind in
    csv) url="$api/leaderboard.csv?phase=preliminary" ;;
    page) url="$base/contests/$name/leaderboard?phase=preliminary" ;;
    *) url="$api/leaderboard?phase=preliminary" ;;
  esac
  # gzip: the JSON board as browsers ask for it (Accept-Encoding: gzip), served precompressed.
  header=(-H "Accept-Encoding: identity")
  if [[ $kind == gzip || $kind == page ]]; then header=(-H "Accept-Encoding: gzip"); fi  # the page as browsers ask for it
  code=$(curl -sS "${header[@]}" -o "$bench/board.$kind" -w '%{http_code} %{time_total}' "$url") || true
  [[ ${code%% *} == 200 ]] || { echo "error: GET $url answered ${code%% *}" >&2; head -c 500 "$bench/board.$kind" >&2; exit 1; }
  cold[$kind]=${code#* }
  run "wrk-$kind" wrk -t2 -c256 -d"${duration}s" --latency "${header[@]}" "$url"
done
hwm_reads=$(hwm)

# Part B: upload burst. Open the preliminary phase now (the final phase first: phases may not overlap).
at() { date -u -d "@$(($(date +%s) + 8 * 3600 + $1))" +%Y-%m-%dT%H:%M:%S+08:00; }
put_phase() {
  local code
  code=$(curl -sS -o "$bench/phase-$1.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $org_token" \
    -H 'Content-Type: application/json' --data "{\"starts_at\": \"$2\", \"ends_at\": \"$3\"}" "$api/phases/$1")
  [[ $code == 200 ]] || { echo "error: PUT phases/$1 answered $code:" >&2; cat "$bench/phase-$1.json" >&2; exit 1; }
  echo "== phase $1: $2 .. $3"
}
put_phase final "$(at $((2 * 86400)))" "$(at $((3 * 86400)))"
put_phase preliminary "$(at -3600)" "$(at 86400)"
run burst "$python" "$seed" burst --url "$base" --contest "$name" --tokens "$bench/tokens.tsv" \
  --files "$bench/files" --db "$data/holdout.db" --out "$bench/burst.json"
cat "$bench/burst.stdout"
hwm_end=$(hwm)
stop_server
run audit "$bin" audit verify --data-dir "$data"

echo
"$python" - "$bench" "$bundle" "$small" "$(nproc)" "$bin_note" "$teams" "$submissions" "$duration" \
  "${cold[json]}" "${cold[csv]}" "$hwm_reads" "$hwm_end" "$workers" "$replicates" "$uploaders" "${cold[gzip]}" "${cold[page]}" <<'EOF'
import csv, io, json, re, sys
from pathlib import Path

bench, bundle = Path(sys.argv[1]), Path(sys.argv[2])
small, cpus, bin_note = sys.argv[3] == "1", sys.argv[4], sys.argv[5]
teams, submissions, duration = int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
cold = {"json": float(sys.argv[9]), "csv": float(sys.argv[10]), "gzip": float(sys.argv[16]), "page": float(sys.argv[17])}
hwm_reads, hwm_end = sys.argv[11], sys.argv[12]
workers, replicates, uploaders = sys.argv[13], sys.argv[14], int(sys.argv[15])
manifest = json.loads((bundle / "public" / "MANIFEST.json").read_text())
burst = json.loads((bench / "burst.json").read_text())
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def ms(s):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", s)
    return float(m.group(1)) * UNIT[m.group(2)] if m else float("nan")


def wrk(kind):
    out = (bench / f"wrk-{kind}.stdout").read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errs = sum(map(int, m.groups())) if (m := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)) else 0
    return rps, lat.get("50", float("nan")), lat.get("99", float("nan")), requests, non2xx, errs


failures, missed = [], []
rows = (bench / "board.json").read_text()
board_rows = len(json.loads(rows)["rows"])
csv_rows = (bench / "board.csv").read_text().count("\n") - 1
if board_rows != teams or csv_rows != teams:
    failures.append(f"the board has {board_rows} rows (CSV {csv_rows}), expected one per seeded team ({teams})")
# Some seeded team names hold a comma and quotes: every CSV record must still have the header's fields.
records = list(csv.reader(io.StringIO((bench / "board.csv").read_text())))
ragged = [r for r in records[1:] if len(r) != len(records[0])]
warnings = [f"leaderboard.csv does not parse as CSV: {len(ragged)} of {len(records) - 1} records do not have "
            f"{len(records[0])} fields (team names with a comma or quote are not quoted), e.g. {ragged[0]}"] if ragged else []
print(f"== holdout serve, {manifest.get('name', 'the contest')} from {manifest['train_rows'] + manifest['test_rows']} screened rows: "
      f"{manifest['test_rows']} test rows; {cpus} cores shared with the clients; binary: {bin_note}")
print(f"Part A, leaderboard reads: {teams} teams, {submissions} scored submissions in preliminary; "
      f"wrk 2 threads, 256 connections, {duration} s each")
print(f"{'endpoint':<18} {'req/s':>9} {'p50_ms':>8} {'p99_ms':>8} {'requests':>9} {'non2xx':>7} {'sock_err':>8} "
      f"{'cold_ms':>8}   target: >= 5000 req/s, p99 <= 20 ms")
for kind, label in (("json", "leaderboard"), ("gzip", "leaderboard gzip"), ("csv", "leaderboard.csv"),
                    ("page", "leaderboard page")):
    rps, p50, p99, n, non2xx, errs = wrk(kind)
    ok = rps >= 5000 and p99 <= 20
    if not ok:
        missed.append(f"{label}: {rps:.0f} req/s, p99 {p99:.1f} ms")
    if non2xx:
        failures.append(f"{label}: {non2xx} responses were not 2xx")
    print(f"{label:<18} {rps:>9.0f} {p50:>8.2f} {p99:>8.2f} {n:>9} {non2xx:>7} {errs:>8} "
          f"{cold[kind] * 1000:>8.1f}   {'PASS' if ok else 'FAIL'}")
print("(cold_ms: the first request, which computes the board; later ones are served from the cache. "
      "The HTML page re-renders its shell per request; its content is cached for at most 5 s.)")
print(f"(wrk keeps all 256 connections busy, so mean latency = 256 / (req/s): p99 <= 20 ms needs at least "
      f"12,800 req/s; responses: JSON {(bench / 'board.json').stat().st_size / 1e3:.0f} kB, "
      f"gzip {(bench / 'board.gzip').stat().st_size / 1e3:.0f} kB, CSV {(bench / 'board.csv').stat().st_size / 1e3:.0f} kB)")
print(f"(server peak RSS after part A: {hwm_reads} MB)")
print()
st = burst["statuses"]
scored = st.get("scored", 0)
print(f"Part B, upload burst: {burst['uploads']} teams upload at once, {burst['bytes_each'] / 1e6:.2f} MB each; "
      f"{workers} scoring workers, {replicates} bootstrap replicates")
print(f"{'answered_202':>12} {'upload_wall_s':>13} {'p50_s':>7} {'p99_s':>7} {'max_s':>7} {'drain_s':>8} "
      f"{'scored':>7} {'invalid':>8} {'failed':>7} {'queued':>7} {'lost':>5} {'peak_RSS_MB':>11}")
print(f"{burst['codes'].get('202', 0):>12} {burst['upload_wall_s']:>13.2f} {burst['upload_latency_p50_s']:>7.2f} "
      f"{burst['upload_latency_p99_s']:>7.2f} {burst['upload_latency_max_s']:>7.2f} {burst['drain_s']:>8.2f} "
      f"{scored:>7} {st.get('invalid', 0):>8} {st.get('failed', 0):>7} "
      f"{st.get('queued', 0) + st.get('scoring', 0):>7} {burst['lost']:>5} {hwm_end:>11}")
server_s = burst["server_first_created_to_last_scored_s"]
print(f"(drain_s: from the burst's start until every accepted upload is scored, "
      f"{burst['drain_after_upload_s']:.2f} s after the last upload was answered; server-side, first created_at "
      f"to last scored_at: {server_s if server_s is None else f'{server_s:.2f}'} s; peak RSS: VmHWM of the "
      f"service over the whole run)")
if burst["codes"].get("202", 0) != uploaders:
    failures.append(f"uploads answered {burst['codes']} instead of {uploaders} × 202; first errors: {burst['errors']}")
if scored != uploaders or burst["lost"] or burst["drain_timed_out"]:
    failures.append(f"{scored} of {uploaders} uploads scored, {burst['lost']} lost, statuses {st}"
                    + (" (the drain timed out)" if burst["drain_timed_out"] else "")
                    + (f"; messages: {burst['messages']}" if burst["messages"] else ""))
audit = (bench / "audit.stdout").read_text().strip()
print(f"audit verify: PASS ({audit})")
print()
for w in warnings:
    print(f"warning: {w}")
for m in missed:
    print(f"target missed: {m}" + (" (not enforced with SMALL=1)" if small else ""))
for f in failures:
    print(f"FAILED: {f}")
print("result: " + ("every check passed" if not failures else f"{len(failures)} check(s) FAILED")
      + ("" if not missed else f"; {len(missed)} read target(s) missed"))
sys.exit(1 if failures or (missed and not small) else 0)
EOF
