#!/usr/bin/env python3
"""Durability vs. write throughput of SQLite (issue 20, item 12).

homegate runs SQLite in WAL mode with one writer at a time (an in-process
mutex, `BEGIN IMMEDIATE`), and every change commits together with its audit
event and a bump of the configuration version. This measures such commits
with `PRAGMA synchronous = NORMAL` (WAL is synced only at checkpoints: the
last commits before a power failure or kernel crash can be lost) against
`FULL` (the WAL is synced at every commit: an acknowledged change survives),
on the file system of the folder given (default: a temporary folder, i.e.
where `homegate serve` would keep its data folder on this machine).

    python3 bench/sqlite_sync.py [--dir DIR] [--commits 2000] [--runs 3]

Prints commits per second and commit latency (p50, p99) per mode and run,
then the medians. Removes its database files, also on failure.
"""

import argparse
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL,
    public_key TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit_log (
    id TEXT PRIMARY KEY, at INTEGER NOT NULL, actor_name TEXT NOT NULL,
    action TEXT NOT NULL, target_id TEXT, details TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit_log(at);
CREATE TABLE IF NOT EXISTS config_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL);
INSERT OR IGNORE INTO config_version VALUES (1, 0);
"""


def run(directory, synchronous, commits):
    path = os.path.join(directory, f"bench-{synchronous.lower()}-{uuid.uuid4().hex}.db")
    try:
        db = sqlite3.connect(path, isolation_level=None)
        for pragma in ["journal_mode = WAL", f"synchronous = {synchronous}",
                       "busy_timeout = 5000", "foreign_keys = ON"]:
            db.execute(f"PRAGMA {pragma}")
        db.executescript(SCHEMA)
        latencies = []
        started = time.perf_counter()
        for i in range(commits):
            begin = time.perf_counter()
            now = int(time.time() * 1000)
            device = str(uuid.uuid4())
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO devices VALUES (?, ?, ?, ?, ?)",
                       (device, "tenant", f"laptop {i}", "k" * 44, now))
            db.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?)",
                       (str(uuid.uuid4()), now, "admin", "device.create", device,
                        '{"kind":"laptop","public_key":"' + "k" * 44 + '"}'))
            db.execute("UPDATE config_version SET version = version + 1 WHERE id = 1")
            db.execute("COMMIT")
            latencies.append(time.perf_counter() - begin)
        elapsed = time.perf_counter() - started
        db.close()
        latencies.sort()
        return {
            "commits_per_s": commits / elapsed,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        }
    finally:
        for suffix in ["", "-wal", "-shm"]:
            try:
                os.remove(path + suffix)
            except FileNotFoundError:
                pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", help="folder on the file system to measure [default: a temporary one]")
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = args.dir or tempfile.mkdtemp(prefix="homegate-bench-sqlite-")
    try:
        results = {"NORMAL": [], "FULL": []}
        for run_no in range(args.runs):
            # Interleaved, so both modes see the same background load.
            for mode in results:
                result = run(work, mode, args.commits)
                results[mode].append(result)
                print(f"run {run_no + 1} synchronous={mode:<6} {result['commits_per_s']:8.0f} commits/s  "
                      f"p50 {result['p50_ms']:.3f} ms  p99 {result['p99_ms']:.3f} ms", flush=True)
        print()
        for mode, runs in results.items():
            print(f"median synchronous={mode:<6} "
                  f"{statistics.median(r['commits_per_s'] for r in runs):8.0f} commits/s  "
                  f"p50 {statistics.median(r['p50_ms'] for r in runs):.3f} ms  "
                  f"p99 {statistics.median(r['p99_ms'] for r in runs):.3f} ms")
        print(f"({args.commits} commits per run, {args.runs} runs, sqlite {sqlite3.sqlite_version}, "
              f"{os.cpu_count()} cores, folder {work})")
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
