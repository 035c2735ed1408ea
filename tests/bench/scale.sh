#!/usr/bin/env bash
# Benchmark of issue 15's scale-out, in one run: the leaderboard service on SQLite against
# PostgreSQL with one and two service replicas, and the upload burst scored by one and two
# `holdout worker` processes. Everything runs on this machine (one PostgreSQL, the replicas, the
# workers and the clients share its cores).
# Seeding as in tests/bench/serve.sh: the security-sense contest prepared from a synthetic raw
# export of ROWS rows (360,000 by default) is loaded into a SQLite data directory (the template),
# with an organizer and its API token, TEAMS teams and SUBMISSIONS scored submissions in phase
# `preliminary` (500 and 10,000 by default; tests/bench/serve_seed.py board) and UPLOADERS
# teams with an API token each (200; serve_seed.py uploaders). PostgreSQL databases get the same
# data with `holdout db copy --from TEMPLATE --to URL` (each run its own fresh database; the copy
# time is reported).
# Part A, reads: GET /api/v1/contests/security-sense/leaderboard?phase=preliminary with wrk
# (2 threads, DURATION seconds, default 20, --latency): (a) SQLite, `holdout serve --data-dir`,
# 256 connections; (b) PostgreSQL, one `holdout serve --database --workers 0` replica, 256
# connections; (c) two replicas, two wrk processes at once with 128 connections each, one per
# replica (reported: the sum of req/s and each one's p50/p99). Targets: >= 5,000 req/s and
# p99 <= 20 ms each.
# Part B, the upload burst (serve_seed.py burst: UPLOADERS uploads fired at once, then the
# database polled until every one is scored), after the organizer opens the preliminary phase
# through the API: (a) SQLite, `serve --workers 1`; (b) PostgreSQL, one `serve --workers 0`
# replica and one `holdout worker` process; (c) the same with two worker processes. Reported:
# drain time (burst start → every upload scored), upload p50/p99, lost (must be 0), and
# `holdout audit verify` (must pass) on each database afterwards.
# Order: seeding, the SQLite runs, then PostgreSQL (started or reached, the databases copied,
# reads, bursts). The summary gives the ratios 2 vs 1 replicas, 2 vs 1 workers and PostgreSQL
# vs SQLite.
# Exits 1 if a check fails (a non-2xx read or a socket error, an upload not answered 202, an
# upload not scored or lost, the audit chain); a missed read target also fails the run, except
# with SMALL=1.
# PostgreSQL: PG_URL is the admin URL of a running server (e.g. what `.ci/postgres start DIR`
# prints, postgres://holdout@127.0.0.1:PORT/postgres); its role must be allowed to create
# databases. The script drops and creates databases named holdout_bench_scale_* there (and leaves
# them, for a look afterwards). Without PG_URL, a throwaway cluster is started in
# BENCH_DIR/pg with .ci/postgres and stopped at the end.
# Usage: HOLDOUT_BIN=path [SMALL=1] [PG_URL=postgres://…] [ROWS=360000] [TEAMS=500]
#        [SUBMISSIONS=10000] [UPLOADERS=200] [DURATION=20] [PORT=18091] [REPLICATES=1000]
#        [LEASE=30] [PYTHON=python3] [BENCH_DIR=/tmp/bench-scale] tests/bench/scale.sh
#   (run from anywhere; HOLDOUT_BIN is required: this script builds nothing; the replicas listen
#   on PORT and PORT+1; SMALL=1 makes the defaults 20,000 raw rows, 50 teams, 1,000
#   submissions, 20 uploaders and 5 s per wrk run; the raw export and the prepared bundle are
#   kept in BENCH_DIR and reused, the data directories and databases are made afresh;
#   REPLICATES is --replicates of the scoring processes, LEASE is `holdout worker --lease`)
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
port="${PORT:-18091}"
port2=$((port + 1))
replicates="${REPLICATES:-1000}"
lease="${LEASE:-30}"
python="${PYTHON:-python3}"
bench="${BENCH_DIR:-/tmp/bench-scale}"
name=security-sense
contest="datasets/$name"
bundle="$bench/$name-$rows"
template="$bench/template"
sqlite_dir="$bench/sqlite"
seed=tests/bench/serve_seed.py
path="/api/v1/contests/$name"
board_path="$path/leaderboard?phase=preliminary"

[[ -n "${HOLDOUT_BIN:-}" ]] || { echo "error: set HOLDOUT_BIN to a holdout binary (this script builds nothing)" >&2; exit 1; }
for tool in wrk curl psql; do
  command -v "$tool" > /dev/null || {
    echo "error: $tool is missing; install it with: apt-get install -y ${tool/psql/postgresql-client}" >&2
    exit 1
  }
done
for p in "$port" "$port2"; do
  if curl -s -o /dev/null "http://127.0.0.1:$p/"; then
    echo "error: something already answers on 127.0.0.1:$p; stop it or set PORT" >&2
    exit 1
  fi
done
build_holdout  # with HOLDOUT_BIN: checks it and sets $bin; creates $bench
"$bin" worker --help > /dev/null 2>&1 || { echo "error: $bin has no \`worker\` subcommand (issue 15's branch)" >&2; exit 1; }

# Every process this script starts (services, workers) is stopped at exit, by its pid; so is the
# throwaway PostgreSQL cluster if the script started it.
pids=()
pg_started=0
stop_pids() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2> /dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2> /dev/null || true
  done
  pids=()
}
cleanup() {
  stop_pids
  if ((pg_started)); then .ci/postgres stop "$bench/pg" || true; fi
}
trap cleanup EXIT

synth_raw "$rows"
if [[ ! -s "$bundle/public/MANIFEST.json" ]]; then
  rm -rf "$bundle" "$bundle.partial"
  run prepare "$bin" prepare "$contest" --raw "$raw" --secret-file datasets/demo.key --out "$bundle.partial" --quiet
  mv "$bundle.partial" "$bundle"
else
  echo "reusing $bundle"
fi

# The template data directory: every run starts from it (SQLite: a copy of it; PostgreSQL: db copy).
rm -rf "$template" "$sqlite_dir" "$bench/files" "$bench/tokens.tsv" "$bench"/burst-*.json
run contest "$bin" contest create --data-dir "$template" "$bundle"
run org env HOLDOUT_PASSWORD=bench-organizer-password "$bin" user create --data-dir "$template" org --role organizer
run org-token "$bin" token create --data-dir "$template" org
org_token=$(grep -m1 -o '^hol_[0-9a-f]\{64\}$' "$bench/org-token.stdout") || {
  echo "error: no token in the output of holdout token create:" >&2
  cat "$bench/org-token.stdout" >&2
  exit 1
}
run seed-board "$python" "$seed" board --db "$template/holdout.db" --contest "$name" --phase preliminary \
  --teams "$teams" --submissions "$submissions"
cat "$bench/seed-board.stdout"
run seed-uploaders "$python" "$seed" uploaders --db "$template/holdout.db" --contest "$name" --teams "$uploaders" \
  --tokens "$bench/tokens.tsv"
run files "$python" "$seed" files --sample "$bundle/public/sample_submission.csv" --out "$bench/files" \
  --count "$uploaders"
cat "$bench/files.stdout"

# SQLite runs on a copy: the template stays as seeded, for db copy.
cp -a "$template" "$sqlite_dir"

# start NAME READY COMMAND...: starts a long-running process in the background (output in
# $bench/NAME.log), remembers its pid in $started and waits (up to 60 s) until its log has a
# line matching READY (an extended regular expression).
start() {
  local name="$1" ready="$2" i
  shift 2
  echo "== $name: $*"
  "$@" > "$bench/$name.log" 2>&1 &
  started=$!
  pids+=("$started")
  for ((i = 0; ; i++)); do
    if grep -q -E "$ready" "$bench/$name.log"; then break; fi
    if ! kill -0 "$started" 2> /dev/null || ((i > 600)); then
      echo "error: $name did not come up; its log:" >&2
      tail -n 20 "$bench/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
}
serve() {  # serve NAME PORT ARGS...
  local name="$1" p="$2"
  shift 2
  start "$name" "^holdout serving .* on http://" "$bin" serve --bind "127.0.0.1:$p" --replicates "$replicates" "$@"
}
worker() {  # worker NAME URL
  start "$1" "^holdout worker scoring" "$bin" worker --database "$2" --replicates "$replicates" --lease "$lease"
}
hwm() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# cold KIND PORT: the first (uncached) board request on that service; its time in $bench/cold-KIND.
cold() {
  local code
  code=$(curl -sS -H "Accept-Encoding: identity" -o "$bench/board-$1.json" -w '%{http_code} %{time_total}' \
    "http://127.0.0.1:$2$board_path") || true
  [[ ${code%% *} == 200 ]] || {
    echo "error: GET $board_path on port $2 answered ${code%% *}" >&2
    head -c 500 "$bench/board-$1.json" >&2
    exit 1
  }
  echo "${code#* }" > "$bench/cold-$1"
}
# wrk_run NAME PORT CONNECTIONS: wrk on the board, its report in $bench/wrk-NAME.stdout.
wrk_run() {
  run "wrk-$1" wrk -t2 -c"$3" -d"${duration}s" --latency -H "Accept-Encoding: identity" "http://127.0.0.1:$2$board_path"
}

# The organizer opens the preliminary phase now (the final phase first: phases may not overlap).
at() { date -u -d "@$(($(date +%s) + 8 * 3600 + $1))" +%Y-%m-%dT%H:%M:%S+08:00; }
put_phase() {  # put_phase RUN PORT PHASE STARTS ENDS
  local code
  code=$(curl -sS -o "$bench/phase-$1-$3.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $org_token" \
    -H 'Content-Type: application/json' --data "{\"starts_at\": \"$4\", \"ends_at\": \"$5\"}" \
    "http://127.0.0.1:$2$path/phases/$3")
  [[ $code == 200 ]] || { echo "error: PUT phases/$3 answered $code:" >&2; cat "$bench/phase-$1-$3.json" >&2; exit 1; }
  echo "== $1: phase $3: $4 .. $5"
}
open_phase() {  # open_phase RUN PORT
  put_phase "$1" "$2" final "$(at $((2 * 86400)))" "$(at $((3 * 86400)))"
  put_phase "$1" "$2" preliminary "$(at -3600)" "$(at 86400)"
}
burst() {  # burst RUN PORT --db FILE | --pg URL
  local run_name="$1" p="$2"
  shift 2
  run "burst-$run_name" "$python" "$seed" burst --url "http://127.0.0.1:$p" --contest "$name" \
    --tokens "$bench/tokens.tsv" --files "$bench/files" --out "$bench/burst-$run_name.json" "$@"
  cat "$bench/burst-$run_name.stdout"
}

# SQLite: reads (a), then the burst (a), on one `serve --workers 1`.
serve serve-sqlite "$port" --data-dir "$sqlite_dir" --workers 1
sqlite_pid=$started
cold sqlite "$port"
wrk_run sqlite "$port" 256
open_phase sqlite "$port"
burst sqlite "$port" --db "$sqlite_dir/holdout.db"
hwm_sqlite=$(hwm "$sqlite_pid")
stop_pids
run audit-sqlite "$bin" audit verify --data-dir "$sqlite_dir"

# PostgreSQL: the given server, or a throwaway cluster.
if [[ -n "${PG_URL:-}" ]]; then
  admin="$PG_URL"
  pg_note="PG_URL"
else
  if [[ -e "$bench/pg" ]]; then .ci/postgres stop "$bench/pg"; fi  # left by an interrupted run
  echo "== postgres: .ci/postgres start $bench/pg"
  pg_started=1
  admin=$(.ci/postgres start "$bench/pg")
  pg_note="throwaway cluster (.ci/postgres)"
fi
echo "== postgres at ${admin%%\?*}"
psql "$admin" -X -Atc 'SELECT version()' > "$bench/pg-version.txt"
# db_url NAME: the admin URL with its database replaced by NAME (query string kept).
db_url() {
  local base="${admin%%\?*}"
  echo "${base%/*}/$1${admin#"$base"}"
}
# fresh_db NAME: drops and creates the database NAME; prints its URL.
fresh_db() {
  psql "$admin" -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >&2
  db_url "$1"
}
reads_url=$(fresh_db holdout_bench_scale_reads)
w1_url=$(fresh_db holdout_bench_scale_workers1)
w2_url=$(fresh_db holdout_bench_scale_workers2)
# Copied while nothing runs on the template (db copy reads it in one snapshot, never changes it).
run copy-reads "$bin" db copy --from "$template" --to "$reads_url"
cat "$bench/copy-reads.stdout"
run copy-workers1 "$bin" db copy --from "$template" --to "$w1_url"
run copy-workers2 "$bin" db copy --from "$template" --to "$w2_url"

# PostgreSQL reads: (b) one replica, then (c) two replicas, one wrk each, at once.
serve serve-pg-r1 "$port" --database "$reads_url" --workers 0
r1_pid=$started
cold pg1 "$port"
wrk_run pg1 "$port" 256
serve serve-pg-r2 "$port2" --database "$reads_url" --workers 0
r2_pid=$started
cold pg2 "$port2"
wrk_run pg2a "$port" 128 &
wrk_a=$!
wrk_run pg2b "$port2" 128 &
wrk_b=$!
wait "$wrk_a"
wait "$wrk_b"
hwm_r1=$(hwm "$r1_pid") hwm_r2=$(hwm "$r2_pid")
stop_pids
run audit-reads "$bin" audit verify --database "$reads_url"

# PostgreSQL bursts: one `serve --workers 0` replica and N `holdout worker` processes, started
# (and ready) before the burst.
for n in 1 2; do
  url=$w1_url
  [[ $n == 2 ]] && url=$w2_url
  serve "serve-pg-w$n" "$port" --database "$url" --workers 0
  open_phase "pg-w$n" "$port"
  for ((k = 1; k <= n; k++)); do
    worker "worker-w$n-$k" "$url"
  done
  burst "pg-w$n" "$port" --pg "$url"
  stop_pids
  run "audit-pg-w$n" "$bin" audit verify --database "$url"
done

echo
"$python" - "$bench" "$bundle" "$small" "$(nproc)" "$HOLDOUT_BIN" "$teams" "$submissions" "$duration" \
  "$uploaders" "$replicates" "$pg_note" "$hwm_sqlite" "$hwm_r1" "$hwm_r2" <<'EOF'
import json, re, sys
from pathlib import Path

bench, bundle = Path(sys.argv[1]), Path(sys.argv[2])
small, cpus, bin_path = sys.argv[3] == "1", sys.argv[4], sys.argv[5]
teams, submissions, duration = int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
uploaders, replicates, pg_note = int(sys.argv[9]), sys.argv[10], sys.argv[11]
hwm = {"sqlite": sys.argv[12], "r1": sys.argv[13], "r2": sys.argv[14]}
manifest = json.loads((bundle / "public" / "MANIFEST.json").read_text())
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}
NAN = float("nan")


def ms(s):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", s)
    return float(m.group(1)) * UNIT[m.group(2)] if m else NAN


def wrk(kind):
    out = (bench / f"wrk-{kind}.stdout").read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errs = sum(map(int, m.groups())) if (m := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)) else 0
    return {"rps": rps, "p50": lat.get("50", NAN), "p99": lat.get("99", NAN), "n": requests, "non2xx": non2xx,
            "errs": errs}


def seconds(name):
    text = (bench / f"{name}.time").read_text()
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    s = 0.0
    for part in m.group(1).split(":"):
        s = s * 60 + float(part)
    return s


def ratio(a, b):
    return a / b if b else NAN


failures, missed = [], []
print(f"== issue 15 scale-out, {manifest.get('name', 'security-sense')}: {manifest['test_rows']} test rows; "
      f"{cpus} cores shared by PostgreSQL, the services, the workers and the clients")
print(f"binary: {bin_path}; PostgreSQL: {pg_note}, {(bench / 'pg-version.txt').read_text().split(',')[0].strip()}")
copies = {k: seconds(f"copy-{k}") for k in ("reads", "workers1", "workers2")}
print(f"holdout db copy of the seeded SQLite data directory ({teams} + {uploaders} teams, {submissions} submissions): "
      f"{copies['reads']:.2f} s (then {copies['workers1']:.2f} s and {copies['workers2']:.2f} s for the burst databases)")
print()

# Part A
for kind in ("sqlite", "pg1", "pg2"):
    rows = len(json.loads((bench / f"board-{kind}.json").read_text())["rows"])
    if rows != teams:
        failures.append(f"the board on {kind} has {rows} rows, expected one per seeded team ({teams})")
cold = {k: float((bench / f"cold-{k}").read_text()) * 1000 for k in ("sqlite", "pg1", "pg2")}
runs = {k: wrk(k) for k in ("sqlite", "pg1", "pg2a", "pg2b")}
print(f"Part A, leaderboard reads (GET …/leaderboard?phase=preliminary, {teams} teams, {submissions} scored "
      f"submissions): wrk 2 threads, {duration} s")
print(f"{'run':<33} {'conns':>5} {'req/s':>9} {'p50_ms':>8} {'p99_ms':>8} {'requests':>9} {'non2xx':>7} "
      f"{'sock_err':>8} {'cold_ms':>8}   target: >= 5000 req/s, p99 <= 20 ms")
lines = (("sqlite", "(a) SQLite, serve --data-dir", 256, cold["sqlite"]),
         ("pg1", "(b) PostgreSQL, 1 replica", 256, cold["pg1"]),
         ("pg2a", "(c) PostgreSQL, replica 1 of 2", 128, cold["pg1"]),
         ("pg2b", "(c) PostgreSQL, replica 2 of 2", 128, cold["pg2"]))
for kind, label, conns, c in lines:
    r = runs[kind]
    ok = r["rps"] >= 5000 and r["p99"] <= 20
    if kind in ("pg2a", "pg2b"):
        ok = r["p99"] <= 20  # the throughput target applies to the sum below
    if not ok:
        missed.append(f"{label}: {r['rps']:.0f} req/s, p99 {r['p99']:.1f} ms")
    if r["non2xx"] or r["errs"]:
        failures.append(f"{label}: {r['non2xx']} responses were not 2xx, {r['errs']} socket errors")
    print(f"{label:<33} {conns:>5} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['n']:>9} {r['non2xx']:>7} "
          f"{r['errs']:>8} {c:>8.1f}   {'PASS' if ok else 'FAIL'}")
two = runs["pg2a"]["rps"] + runs["pg2b"]["rps"]
if two < 5000:
    missed.append(f"(c) two replicas: {two:.0f} req/s in all")
# The sum row passes only if the sum clears the throughput target and each replica its p99.
ok = two >= 5000 and max(runs["pg2a"]["p99"], runs["pg2b"]["p99"]) <= 20
print(f"{'(c) PostgreSQL, 2 replicas, sum':<33} {256:>5} {two:>9.0f} {'':>8} "
      f"{max(runs['pg2a']['p99'], runs['pg2b']['p99']):>8.2f} {runs['pg2a']['n'] + runs['pg2b']['n']:>9} "
      f"{'':>7} {'':>8} {'':>8}   {'PASS' if ok else 'FAIL'}")
print(f"ratios: 2 replicas / 1 replica {ratio(two, runs['pg1']['rps']):.2f}×; "
      f"PostgreSQL 1 replica / SQLite {ratio(runs['pg1']['rps'], runs['sqlite']['rps']):.2f}×; "
      f"PostgreSQL 2 replicas / SQLite {ratio(two, runs['sqlite']['rps']):.2f}× (req/s)")
print(f"(cold_ms: the first request on that service, which computes the board; p99 of the sum row: the worse "
      f"of the two. Peak RSS (VmHWM): SQLite service {hwm['sqlite']} MB, replicas {hwm['r1']} and {hwm['r2']} MB. "
      f"wrk keeps every connection busy: mean latency = connections / (req/s).)")
print()

# Part B
bursts = {k: json.loads((bench / f"burst-{k}.json").read_text()) for k in ("sqlite", "pg-w1", "pg-w2")}
print(f"Part B, upload burst: {uploaders} teams upload at once, "
      f"{bursts['sqlite']['bytes_each'] / 1e6:.2f} MB each; {replicates} bootstrap replicates")
print(f"{'run':<48} {'202':>5} {'upload_s':>8} {'p50_s':>7} {'p99_s':>7} {'drain_s':>8} {'scored':>7} "
      f"{'invalid':>7} {'failed':>6} {'queued':>6} {'lost':>5} {'audit':>6}")
for kind, label, audit in (("sqlite", "(a) SQLite, serve --workers 1", "audit-sqlite"),
                           ("pg-w1", "(b) PostgreSQL, replica --workers 0 + 1 worker", "audit-pg-w1"),
                           ("pg-w2", "(c) PostgreSQL, replica --workers 0 + 2 workers", "audit-pg-w2")):
    b = bursts[kind]
    st = b["statuses"]
    scored = st.get("scored", 0)
    print(f"{label:<48} {b['codes'].get('202', 0):>5} {b['upload_wall_s']:>8.2f} {b['upload_latency_p50_s']:>7.2f} "
          f"{b['upload_latency_p99_s']:>7.2f} {b['drain_s']:>8.2f} {scored:>7} {st.get('invalid', 0):>7} "
          f"{st.get('failed', 0):>6} {st.get('queued', 0) + st.get('scoring', 0):>6} {b['lost']:>5} {'PASS':>6}")
    if b["codes"].get("202", 0) != uploaders:
        failures.append(f"{label}: uploads answered {b['codes']} instead of {uploaders} × 202; first errors: {b['errors']}")
    if scored != uploaders or b["lost"] or b["drain_timed_out"]:
        failures.append(f"{label}: {scored} of {uploaders} uploads scored, {b['lost']} lost, statuses {st}"
                        + (" (the drain timed out)" if b["drain_timed_out"] else "")
                        + (f"; messages: {b['messages']}" if b["messages"] else ""))
d = {k: bursts[k]["drain_s"] for k in bursts}
print(f"ratios (drain time): 1 worker / 2 workers {ratio(d['pg-w1'], d['pg-w2']):.2f}× (the speed-up of the second "
      f"worker); PostgreSQL 1 worker / SQLite {ratio(d['pg-w1'], d['sqlite']):.2f}×; "
      f"PostgreSQL 2 workers / SQLite {ratio(d['pg-w2'], d['sqlite']):.2f}×")
print("(drain_s: from the burst's start until every accepted upload is scored; audit: `holdout audit verify` "
      "on that database afterwards, which also passed on the read replicas' database)")
for kind in ("sqlite", "pg-w1", "pg-w2"):
    print(f"  {kind}: audit verify: {(bench / f'audit-{kind}.stdout').read_text().strip()}")
print()
for m in missed:
    print(f"target missed: {m}" + (" (not enforced with SMALL=1)" if small else ""))
for f in failures:
    print(f"FAILED: {f}")
print("result: " + ("every check passed" if not failures else f"{len(failures)} check(s) FAILED")
      + ("" if not missed else f"; {len(missed)} read target(s) missed"))
sys.exit(1 if failures or (missed and not small) else 0)
EOF
