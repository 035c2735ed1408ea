#!/usr/bin/env python3
"""Helpers of tests/bench/serve.sh (Python 3.11 standard library only).

Subcommands:
  board      seed a contest database directly (the service stopped) with N teams of one
             competitor each and M scored submissions in one phase: realistic public/private
             quadratic-kappa scores with 95 % intervals, created_at RFC 3339 UTC with
             milliseconds, unique fake SHA-256s. Nothing is written to the audit log (its chain
             stays intact: it only covers what the service recorded).
  uploaders  seed N teams of one competitor each, with an API token each (`hol_` + 64 hex; the
             database keeps only its SHA-256); writes `user<TAB>token` lines.
  files      N distinct submission files: the sample submission with labels drawn per team.
  burst      fire every upload at once (one thread each, released together), then poll the
             database until none of them is queued or scoring; writes a JSON report. The
             database is SQLite (--db FILE) or PostgreSQL (--pg URL, queried with `psql -Atc`,
             so no driver is needed).
"""

import argparse
import concurrent.futures
import datetime as dt
import hashlib
import math
import json
import random
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

UTC = dt.timezone.utc
# Not an Argon2 hash: nobody logs in as a seeded user (they use API tokens or nothing).
PASSWORD_HASH = "$bench$not-a-password-hash"


def text(t: dt.datetime) -> str:
    """The service's time format: fixed-width RFC 3339 UTC with milliseconds."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def connect(db: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=30)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def contest_id(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT id FROM contests WHERE name = ?", (name,)).fetchone()
    if row is None:
        sys.exit(f"error: no contest {name} in the database; run `holdout contest create` first")
    return row[0]


def team_name(prefix: str, i: int) -> str:
    # A few names that exercise the CSV escaping and non-ASCII output.
    if i % 25 == 0:
        return f'{prefix} "{i:04d}", the quoted'
    if i % 10 == 0:
        return f"安全感 {prefix} {i:04d}"
    return f"{prefix} {i:04d}"


def add_teams(conn, cid, prefix, user_prefix, n, created):
    """n teams of one competitor each; returns [(user_id, team_id, user_name)]."""
    out = []
    for i in range(1, n + 1):
        user = f"{user_prefix}-{i:04d}"
        uid = conn.execute(
            "INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, 'competitor', ?) RETURNING id",
            (user, PASSWORD_HASH, created),
        ).fetchone()[0]
        tid = conn.execute(
            "INSERT INTO teams (contest_id, name, created_at) VALUES (?, ?, ?) RETURNING id",
            (cid, team_name(prefix, i), created),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO members (contest_id, user_id, team_id, joined_at) VALUES (?, ?, ?, ?)",
            (cid, uid, tid, created),
        )
        out.append((uid, tid, user))
    return out


def board(a):
    rng = random.Random(a.seed)
    conn = connect(a.db)
    cid = contest_id(conn, a.contest)
    start, end = conn.execute(
        "SELECT starts_at, ends_at FROM phases WHERE contest_id = ? AND name = ?", (cid, a.phase)
    ).fetchone()
    start, end = parse(start), parse(end)
    total_limit, daily = conn.execute(
        "SELECT total_submissions, daily_submissions FROM contests WHERE id = ?", (cid,)
    ).fetchone()
    teams = add_teams(conn, cid, "Team", "board", a.teams, text(start - dt.timedelta(days=3)))

    # Entries per team: one each, the rest spread with a heavy tail (a few teams submit a lot),
    # capped by the contest's total limit.
    weights = [rng.paretovariate(1.2) for _ in teams]
    # Contest days start at 00:00 Asia/Shanghai (16:00 UTC); at most `daily` entries a day.
    day0 = (start + dt.timedelta(hours=8)).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(hours=8)
    days = (end - day0).days + 1
    cap = min(total_limit, days * daily)
    counts = [1] * len(teams)
    left = a.submissions - len(teams)
    if left < 0 or a.submissions > cap * len(teams):
        sys.exit(f"error: {a.submissions} submissions do not fit {len(teams)} teams (1 to {cap} each)")
    while left > 0:
        i = rng.choices(range(len(teams)), weights)[0]
        if counts[i] < cap:
            counts[i] += 1
            left -= 1
    rows = []
    for (uid, tid, _), n in zip(teams, counts):
        skill = min(0.75, max(0.05, rng.gauss(0.42, 0.09)))
        slots = rng.sample([(d, k) for d in range(days) for k in range(daily)], n)
        for d, _k in slots:
            lo = max(day0 + dt.timedelta(days=d), start)
            hi = min(day0 + dt.timedelta(days=d + 1), end)
            t = lo + (hi - lo) * rng.random()
            progress = (t - start) / (end - start)  # teams improve over the phase
            public = min(0.95, max(-0.2, skill + 0.06 * progress + rng.gauss(0, 0.025)))
            private = min(0.95, max(-0.2, public + rng.gauss(-0.005, 0.012)))
            ph, qh = rng.uniform(0.022, 0.032), rng.uniform(0.014, 0.020)  # public ≈ 30 % of test
            rows.append((t, uid, tid, public, ph, private, qh))
    rows.sort(key=lambda r: r[0])
    # Each seeded submission's stored file exists (a short stub under its SHA-256 in the data
    # directory's files/), so the data directory is whole: `holdout db copy` checks every file.
    store = Path(a.db).parent / "files"
    for i, (t, uid, tid, public, ph, private, qh) in enumerate(rows):
        stub = f"bench-board-{a.seed}-{i}".encode()
        digest = hashlib.sha256(stub).hexdigest()
        (store / digest[:2]).mkdir(parents=True, exist_ok=True)
        (store / digest[:2] / digest).write_bytes(stub)
        created = t.replace(microsecond=(t.microsecond // 1000) * 1000)
        conn.execute(
            "INSERT INTO submissions (contest_id, team_id, user_id, phase, sha256, bytes, description, status, message, "
            "created_at, scored_at, attempts, public_score, public_low, public_high, private_score, private_low, "
            "private_high, released, selected) VALUES (?, ?, ?, ?, ?, ?, ?, 'scored', '', ?, ?, 1, ?, ?, ?, ?, ?, ?, "
            "TRUE, FALSE)",
            (
                cid, tid, uid, a.phase, digest,
                rng.randint(1_300_000, 1_700_000), f"seeded entry {i + 1}", text(created),
                text(created + dt.timedelta(seconds=rng.uniform(2, 30))),
                public, public - ph, public + ph, private, private - qh, private + qh,
            ),
        )
    conn.commit()
    print(f"seeded {len(teams)} teams and {len(rows)} scored submissions in phase {a.phase} "
          f"(most by one team: {max(counts)})")


def uploaders(a):
    conn = connect(a.db)
    cid = contest_id(conn, a.contest)
    now = text(dt.datetime.now(UTC))
    teams = add_teams(conn, cid, "Burst", "burst", a.teams, now)
    lines = []
    for uid, _tid, user in teams:
        token = "hol_" + secrets.token_hex(32)
        conn.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, 'bench', ?, ?)",
            (uid, hashlib.sha256(token.encode()).hexdigest(), now),
        )
        lines.append(f"{user}\t{token}\n")
    conn.commit()
    Path(a.tokens).write_text("".join(lines))
    print(f"seeded {len(teams)} teams with an API token each")


def files(a):
    lines = Path(a.sample).read_text().splitlines()
    header, ids = lines[0], [line.split(",", 1)[0] for line in lines[1:] if line]
    if header not in ("id,label", "id,probability"):
        sys.exit(f"error: {a.sample}: header {header!r}, expected id,label or id,probability")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    digests = set()
    for i in range(1, a.count + 1):
        rng = random.Random(a.seed * 100_003 + i)
        if header == "id,label":
            # Labels 1–5 around a team-specific centre, so the scores differ between teams.
            centre = rng.uniform(2.0, 4.0)
            body = header + "\n" + "".join(f"{x},{min(5, max(1, round(rng.gauss(centre, 1.1))))}\n" for x in ids)
        else:
            # Probabilities as a model writes them: float64 in full (repr), nearly all distinct.
            shift = rng.uniform(-1.0, 1.0)
            body = header + "\n" + "".join(f"{x},{1 / (1 + math.exp(-(rng.gauss(shift, 1.5))))!r}\n" for x in ids)
        data = body.encode()
        digests.add(hashlib.sha256(data).hexdigest())
        (out / f"team-{i:04d}.csv").write_bytes(data)
    if len(digests) != a.count:
        sys.exit("error: the submission files are not all distinct")
    print(f"wrote {a.count} distinct submission files of {len(ids)} rows to {out}")


def multipart(description: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "----holdout-bench-" + secrets.token_hex(12)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\n{description}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(p / 100 * len(v)) - 1))] if v else float("nan")


class Sqlite:
    """Read-only queries on a SQLite data directory's database."""

    def __init__(self, db: str):
        self.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)

    def value(self, sql):
        return self.conn.execute(sql).fetchone()[0]

    def counts(self, sql):
        return {k: int(v) for k, v in self.conn.execute(sql).fetchall()}

    def strings(self, sql):
        return [m for (m,) in self.conn.execute(sql)]


class Psql:
    """The same queries on PostgreSQL, through `psql -Atc` (no driver needed); every answer is
    one JSON value, so that text with separators or newlines comes back intact."""

    def __init__(self, url: str):
        self.url = url

    def json(self, sql):
        out = subprocess.run(
            ["psql", self.url, "-X", "-v", "ON_ERROR_STOP=1", "-Atc", sql],
            check=True, capture_output=True, text=True,
        ).stdout
        return json.loads(out)

    def value(self, sql):
        return self.json(f"SELECT COALESCE(to_json(({sql})), 'null')")

    def counts(self, sql):
        pairs = self.json(f"SELECT COALESCE(json_object_agg(t.k, t.n), '{{}}') FROM ({sql}) AS t(k, n)")
        return {k: int(v) for k, v in pairs.items()}

    def strings(self, sql):
        return self.json(f"SELECT COALESCE(json_agg(t.m), '[]') FROM ({sql}) AS t(m)")


def burst(a):
    tokens = [line.split("\t") for line in Path(a.tokens).read_text().splitlines() if line]
    paths = sorted(Path(a.files).glob("team-*.csv"))
    if len(paths) < len(tokens):
        sys.exit(f"error: {len(tokens)} tokens but {len(paths)} files")
    url = f"{a.url}/api/v1/contests/{a.contest}/submissions"
    requests = []
    for (user, token), path in zip(tokens, paths):
        body, ctype = multipart(f"burst upload by {user}", path.name, path.read_bytes())
        requests.append(urllib.request.Request(
            url, data=body, method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": ctype, "Accept": "application/json"},
        ))
    n = len(requests)
    gate = threading.Barrier(n + 1)
    results = [None] * n

    def send(i):
        gate.wait()
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(requests[i], timeout=a.timeout) as r:
                code, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, body = e.code, e.read()
        except Exception as e:  # noqa: BLE001 - connection errors are results too
            code, body = 0, repr(e).encode()
        t1 = time.monotonic()
        results[i] = (code, body, t0, t1)

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(send, i) for i in range(n)]
        gate.wait()  # every thread is at the gate: go
        start = time.monotonic()
        start_wall = dt.datetime.now(UTC)
        for f in futures:
            f.result()
    uploaded = max(r[3] for r in results)
    codes, ids, errors = {}, [], []
    for (user, _), (code, body, _t0, _t1) in zip(tokens, results):
        codes[str(code)] = codes.get(str(code), 0) + 1
        if code == 202:
            ids.append(json.loads(body)["id"])
        elif len(errors) < 5:
            errors.append(f"{user}: {code} {body[:300].decode(errors='replace')}")

    # Drain: poll the database (read-only) until none of the accepted uploads is queued or scoring.
    db = Sqlite(a.db) if a.pg is None else Psql(a.pg)
    listed = ",".join(str(int(i)) for i in ids)  # integer ids, inlined: the same text for both backends
    deadline = time.monotonic() + a.drain_timeout
    timed_out = False
    while ids:
        busy = db.value(f"SELECT COUNT(*) FROM submissions WHERE id IN ({listed}) AND status IN ('queued', 'scoring')")
        if int(busy) == 0:
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        time.sleep(0.05)
    drained = time.monotonic()
    statuses = db.counts(
        "SELECT s.status, COUNT(*) FROM submissions s JOIN users u ON u.id = s.user_id "
        "WHERE u.name LIKE 'burst-%' GROUP BY s.status"
    )
    found = int(db.value(f"SELECT COUNT(*) FROM submissions WHERE id IN ({listed})")) if ids else 0
    first_created = db.value(f"SELECT MIN(created_at) FROM submissions WHERE id IN ({listed})") if ids else None
    last_scored = db.value(f"SELECT MAX(scored_at) FROM submissions WHERE id IN ({listed})") if ids else None
    messages = db.strings(
        "SELECT DISTINCT s.message FROM submissions s JOIN users u ON u.id = s.user_id "
        "WHERE u.name LIKE 'burst-%' AND s.status <> 'scored' LIMIT 5"
    )
    latencies = [r[3] - r[2] for r in results]
    report = {
        "uploads": n,
        "bytes_each": len(requests[0].data) if requests else 0,
        "codes": codes,
        "accepted": len(ids),
        "errors": errors,
        "upload_wall_s": uploaded - start,
        "upload_latency_p50_s": pct(latencies, 50),
        "upload_latency_p99_s": pct(latencies, 99),
        "upload_latency_max_s": max(latencies),
        "drain_s": drained - start,
        "drain_after_upload_s": drained - uploaded,
        "drain_timed_out": timed_out,
        "server_first_created_to_last_scored_s": (
            (parse(last_scored) - parse(first_created)).total_seconds() if last_scored else None
        ),
        "burst_started_at": text(start_wall),
        "statuses": statuses,
        "lost": len(ids) - found,
        "messages": messages,
    }
    Path(a.out).write_text(json.dumps(report, indent=1))
    print(f"{n} uploads in {report['upload_wall_s']:.2f} s ({codes}); drained {report['drain_s']:.2f} s "
          f"after the burst started; statuses {statuses}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("board")
    b.add_argument("--db", required=True)
    b.add_argument("--contest", required=True)
    b.add_argument("--phase", default="preliminary")
    b.add_argument("--teams", type=int, required=True)
    b.add_argument("--submissions", type=int, required=True)
    b.add_argument("--seed", type=int, default=7)
    b.set_defaults(run=board)
    u = sub.add_parser("uploaders")
    u.add_argument("--db", required=True)
    u.add_argument("--contest", required=True)
    u.add_argument("--teams", type=int, required=True)
    u.add_argument("--tokens", required=True)
    u.set_defaults(run=uploaders)
    f = sub.add_parser("files")
    f.add_argument("--sample", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--count", type=int, required=True)
    f.add_argument("--seed", type=int, default=7)
    f.set_defaults(run=files)
    x = sub.add_parser("burst")
    x.add_argument("--url", required=True)
    x.add_argument("--contest", required=True)
    x.add_argument("--tokens", required=True)
    x.add_argument("--files", required=True)
    x.add_argument("--db", help="the SQLite database to poll (holdout.db of the data directory)")
    x.add_argument("--pg", metavar="URL", help="poll this PostgreSQL database instead (with psql)")
    x.add_argument("--out", required=True)
    x.add_argument("--timeout", type=float, default=600, help="per upload, seconds")
    x.add_argument("--drain-timeout", type=float, default=3600, help="seconds")
    x.set_defaults(run=burst)
    a = p.parse_args()
    if a.command == "burst" and (a.db is None) == (a.pg is None):
        p.error("burst: give --db (SQLite) or --pg URL (PostgreSQL), one of them")
    a.run(a)


if __name__ == "__main__":
    main()
