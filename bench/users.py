#!/usr/bin/env python3
"""Users created per second through the API (issue 19, item 4).

Starts `homegate serve` on SQLite (bench/harness.py), creates one tenant,
then creates --users users with --clients concurrent API clients (each
request hashes a password with argon2id). While they run, one more client
creates groups one after another: its latency shows whether other writes
wait behind the password hashing (they did while the hash ran inside the
write transaction, i.e. inside SQLite's one writer lock).

    python3 bench/users.py [--users 400] [--clients 1,4,16]

Bulk import (issue 19 item 4, issue 20 item 4): --import 1000 imports that
many employees of one municipality as one job (POST /users/import), polls
the job until it is done, fetches the one-time passwords once, and reports
the rate and the latency of other writes meanwhile. --database URL runs the
control plane on PostgreSQL (an empty database).

    python3 bench/users.py --import 1000 [--runs 3] [--database postgres://...]

HOMEGATE_BENCH_BINARY=path measures another build (e.g. before a change).
"""

import argparse
import concurrent.futures
import json
import os
import statistics
import sys
import threading
import time
import tomllib
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import homegate_server  # noqa: E402


def post(url, token, path, body):
    request = urllib.request.Request(
        f"{url}/api/v1{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()


def get(url, token, path, headers=None):
    request = urllib.request.Request(
        f"{url}/api/v1{path}", headers={"Authorization": f"Bearer {token}", **(headers or {})})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def post_json(url, token, path, body):
    request = urllib.request.Request(
        f"{url}/api/v1{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def bulk_import(url, token, tenant, people, prefix):
    """Seconds from POST to done, to passwords fetched; other-write p50/p95 ms."""
    csv = "username,display_name,email,groups\n" + "".join(
        f"{prefix}-{i:05},Person {i},{prefix}{i}@example.org,staff\n" for i in range(people))
    group_latencies = []
    stop = threading.Event()

    def groups():
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            post(url, token, f"/tenants/{tenant}/groups", {"name": f"{prefix}-g{n}"})
            group_latencies.append(time.perf_counter() - started)
            n += 1
            time.sleep(0.02)

    writer = threading.Thread(target=groups)
    writer.start()
    started = time.perf_counter()
    job = post_json(url, token, f"/tenants/{tenant}/users/import", {"csv": csv})
    key, job_id = job["result_key"], job["job"]["id"]
    while True:
        state = get(url, token, f"/tenants/{tenant}/jobs/{job_id}")
        if state["state"] != "running":
            break
        time.sleep(0.05)
    done = time.perf_counter() - started
    stop.set()
    writer.join()
    if state["state"] != "done":
        sys.exit(f"the import failed: {state}")
    result = get(url, token, f"/tenants/{tenant}/jobs/{job_id}", {"Homegate-Result-Key": key})
    fetched = time.perf_counter() - started
    if len(result["result"]["passwords"]) != people:
        sys.exit("not every password came back")
    group_latencies.sort()
    p95 = group_latencies[int(len(group_latencies) * 0.95)] if group_latencies else float("nan")
    return done, fetched, statistics.median(group_latencies) * 1000, p95 * 1000


def run(url, token, tenant, users, clients, prefix):
    group_latencies = []
    stop = threading.Event()

    def groups():
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            post(url, token, f"/tenants/{tenant}/groups", {"name": f"{prefix}-g{n}"})
            group_latencies.append(time.perf_counter() - started)
            n += 1
            time.sleep(0.02)

    def user(n):
        post(url, token, f"/tenants/{tenant}/users",
             {"username": f"{prefix}-u{n}", "role": "employee", "password": "benchmark-password-1"})

    writer = threading.Thread(target=groups)
    writer.start()
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(user, range(users)))
    elapsed = time.perf_counter() - started
    stop.set()
    writer.join()
    group_latencies.sort()
    p95 = group_latencies[int(len(group_latencies) * 0.95)] if group_latencies else float("nan")
    return users / elapsed, statistics.median(group_latencies) * 1000, p95 * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--import", dest="bulk", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    serve_args = ["--database", args.database] if args.database else []
    with homegate_server("homegate-bench-users-", serve_args=serve_args) as (work, url, homegate):
        homegate("tenants", "create", "--slug", "bench", "--name", "Gemeinde Bench", "--pool", "10.90.0.0/16")
        with open(os.path.join(work, "cli.toml"), "rb") as f:
            token = tomllib.load(f)["token"]
        if args.bulk:
            homegate("groups", "create", "--tenant", "bench", "staff")
            print(f"{'run':>4} {'people':>7} {'done s':>7} {'+fetch s':>9} {'users/s':>8} "
                  f"{'other write p50 ms':>19} {'p95 ms':>8}")
            for n in range(args.runs):
                done, fetched, p50, p95 = bulk_import(url, token, "bench", args.bulk, f"r{n}")
                print(f"{n + 1:>4} {args.bulk:>7} {done:>7.2f} {fetched:>9.2f} "
                      f"{args.bulk / fetched:>8.0f} {p50:>19.1f} {p95:>8.1f}")
            return
        print(f"{'clients':>8} {'users/s':>8} {'other write p50 ms':>19} {'p95 ms':>8}")
        for clients in [int(c) for c in args.clients.split(",")]:
            rate, p50, p95 = run(url, token, "bench", args.users, clients, f"c{clients}")
            print(f"{clients:>8} {rate:>8.1f} {p50:>19.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
