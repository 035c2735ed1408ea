#!/usr/bin/env python3
"""Helper of tests/bench/integrity.sh (Python 3 standard library only): seeds a contest's data
directory (the service stopped) with TEAMS teams of one competitor each and SUBMISSIONS scored
submissions per team in one phase, each with a real, distinct prediction file stored under its
SHA-256 (files/ab/<sha256>), so `holdout integrity` reads and compares them as the service
would have stored them.

Predictions (label format): every team starts from the truth with its own skill, a shared
error every model makes on some rows (the consensus), and its own noise; each submission
re-draws 5 % of the team's rows. Two near-copies are planted (a team's file with 2 % of rows
changed, under another team) and one file is submitted unchanged by two teams. Scores are
seeded as realistic numbers (the report reads them from the database; nothing is rescored).
"""

import argparse
import datetime as dt
import hashlib
import json
import random
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from serve_seed import add_teams, connect, contest_id, parse, text  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--contest", required=True)
    p.add_argument("--phase", default="preliminary")
    p.add_argument("--teams", type=int, default=500)
    p.add_argument("--submissions", type=int, default=20)
    p.add_argument("--seed", type=int, default=17)
    a = p.parse_args()
    rng = random.Random(a.seed)
    data = Path(a.data)
    manifest = json.loads((data / "contests" / a.contest / "public" / "MANIFEST.json").read_text())
    sub = manifest["submission"]
    if sub["prediction_format"] != "label":
        sys.exit("error: this seeder writes label submissions; use a label contest (security-sense)")
    labels = [str(x) for x in sub["labels"]]
    header = ",".join(sub["columns"]) + "\n"
    ids, truth = [], []
    with open(data / "contests" / a.contest / "private" / "solution.csv", encoding="utf-8") as f:
        next(f)
        for line in f:
            cells = line.rstrip("\n").split(",")
            ids.append(cells[0])
            truth.append(cells[1])
    n = len(ids)
    conn = connect(str(data / "holdout.db"))
    cid = contest_id(conn, a.contest)
    # No limits in the way of the seeded history.
    conn.execute("UPDATE contests SET total_submissions = 100000, daily_submissions = 100000 WHERE id = ?", (cid,))
    start, end = conn.execute(
        "SELECT starts_at, ends_at FROM phases WHERE contest_id = ? AND name = ?", (cid, a.phase)
    ).fetchone()
    start, end = parse(start), parse(end)
    teams = add_teams(conn, cid, "Team", "integrity", a.teams, text(start - dt.timedelta(days=3)))
    # The error every model makes: one label per row, wrong on about a third of the rows.
    shared = [t if rng.random() < 0.67 else rng.choice(labels) for t in truth]
    files_dir = data / "files"
    written = 0
    total_bytes = 0

    def store(lines):
        nonlocal written, total_bytes
        body = (header + "".join(lines)).encode()
        sha = hashlib.sha256(body).hexdigest()
        path = files_dir / sha[:2] / sha
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        written += 1
        total_bytes += len(body)
        return sha, len(body)

    prefix = [f"{i}," for i in ids]
    rows = []
    bases = []
    for k, (uid, tid, _) in enumerate(teams):
        skill = rng.uniform(0.3, 0.7)
        own = rng.random
        base = [
            (truth[i] if own() < skill else shared[i]) if own() < 0.85 else rng.choice(labels) for i in range(n)
        ]
        bases.append(base)
        public0 = rng.gauss(0.42, 0.09)
        for s in range(a.submissions):
            labels_now = list(base)
            for i in rng.sample(range(n), n // 20):
                labels_now[i] = rng.choice(labels)
            if k == 3 and s == 0:
                # Team 3's first file is submitted unchanged by team 4 too (below).
                shared_file = labels_now
            sha, size = store([p + v + "\n" for p, v in zip(prefix, labels_now)])
            t = start + (end - start) * ((s + rng.random()) / (a.submissions + 1))
            public = public0 + 0.002 * s + rng.gauss(0, 0.01)
            private = public + rng.gauss(-0.005, 0.012)
            rows.append((t, uid, tid, sha, size, public, private))
        if k == 4:
            sha, size = store([p + v + "\n" for p, v in zip(prefix, shared_file)])
            rows.append((start + (end - start) * 0.5, uid, tid, sha, size, 0.4, 0.4))
        if (k + 1) % 50 == 0:
            print(f"{k + 1} teams, {written} files, {total_bytes / 1e9:.2f} GB", flush=True)
    # Two near-copies: team 10's and team 20's first base, 2 % of rows changed, under teams 11 and 21.
    for src, dst in ((10, 11), (20, 21)):
        copy = list(bases[src])
        for i in rng.sample(range(n), n // 50):
            copy[i] = rng.choice(labels)
        sha, size = store([p + v + "\n" for p, v in zip(prefix, copy)])
        uid, tid, _ = teams[dst]
        rows.append((start + (end - start) * 0.9, uid, tid, sha, size, 0.45, 0.44))
    rows.sort(key=lambda r: r[0])
    for t, uid, tid, sha, size, public, private in rows:
        created = t.replace(microsecond=(t.microsecond // 1000) * 1000)
        ph, qh = 0.027, 0.017
        conn.execute(
            "INSERT INTO submissions (contest_id, team_id, user_id, phase, sha256, bytes, description, status, message, "
            "created_at, scored_at, attempts, public_score, public_low, public_high, private_score, private_low, "
            "private_high, released, selected) VALUES (?, ?, ?, ?, ?, ?, '', 'scored', '', ?, ?, 1, ?, ?, ?, ?, ?, ?, "
            "TRUE, FALSE)",
            (cid, tid, uid, a.phase, sha, size, text(created), text(created + dt.timedelta(seconds=5)),
             public, public - ph, public + ph, private, private - qh, private + qh),
        )
    conn.commit()
    print(f"seeded {len(teams)} teams, {len(rows)} scored submissions, {written} files "
          f"({total_bytes / 1e9:.2f} GB) over {n} test rows; planted: 2 near-copies (teams 11, 21), "
          f"1 shared file (teams 3, 4)")


if __name__ == "__main__":
    main()
