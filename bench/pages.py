#!/usr/bin/env python3
"""Pages and lists that grow with history (issue 19, item 6).

Starts `homegate serve` (bench/harness.py; SQLite, or PostgreSQL with
--database), creates --tenants tenants through the API, stops it and fills
the database with the spec's shape by SQL (the population rate of the bulk
API paths is another benchmark's business): per tenant --users employees
with 2 devices each, --audit audit events (nine in ten `user.login`), and 30
days of capacity samples every 5 minutes for every tenant and 4 gateways
(plus their hourly roll-up). Then starts it again and times, as a browser
and an API client do (gzip accepted, --runs requests each, one at a time):
the capacity page for 24 h and 30 days, the audit log filtered by tenant,
actor and action (console and API), the users and devices pages of one
tenant (console and API, with and without search).

    python3 bench/pages.py [--tenants 100] [--users 1000] [--audit 563000]
                           [--database postgres://...] [--json out.json]

HOMEGATE_BENCH_BINARY=path measures another build.
"""

import argparse
import gzip
import http.cookiejar
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

DAY_MS = 86_400_000


def population_sql(users, audit, now, new_schema):
    """One script for both engines (recursive CTEs, `||`, window functions)."""
    base = now - 30 * DAY_MS
    family = ", CASE k.i % 20 WHEN 0 THEN 'device' ELSE 'user' END"
    samples = 30 * 288
    return [
        "DROP TABLE IF EXISTS bench_tenants",
        "CREATE TABLE bench_tenants AS SELECT ROW_NUMBER() OVER (ORDER BY slug) - 1 AS n, id, slug FROM tenants",
        f"""WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < {users - 1})
            INSERT INTO users (id, tenant_id, username, display_name, email, role, must_change_password,
                               disabled, created_at, updated_at)
            SELECT t.id || '-u' || k.i, t.id, t.slug || '.u' || k.i, 'Employee ' || k.i,
                   t.slug || '.u' || k.i || '@example.org', 'employee', 0, 0, {base} + k.i, {base} + k.i
            FROM bench_tenants t, k""",
        f"""WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 1)
            INSERT INTO devices (id, tenant_id, user_id, name, kind, public_key, address_index,
                                 tunnel_address, state, created_at, updated_at)
            SELECT u.id || '-d' || k.i, u.tenant_id, u.id, 'laptop-' || u.username || '-' || k.i, 'laptop',
                   u.id || '-key' || k.i, (u.created_at - {base}) * 2 + k.i + 1,
                   '10.0.' || ((u.created_at - {base}) * 2 + k.i + 1), 'active',
                   u.created_at + k.i, u.created_at + k.i
            FROM users u, k WHERE u.tenant_id IS NOT NULL""",
        f"""WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < {audit - 1})
            INSERT INTO audit_log (id, at, actor_id, actor_name, action, target_type, target_id, target_name,
                                   tenant_id, tenant_slug, source, details{", action_family" if new_schema else ""})
            SELECT 'bench-' || (10000000 + k.i), {base} + k.i * {30 * DAY_MS // audit},
                   t.id || '-u' || ((k.i / 100) % {users}), t.slug || '.u' || ((k.i / 100) % {users}),
                   CASE k.i % 20 WHEN 0 THEN 'device.create' WHEN 1 THEN 'user.update' ELSE 'user.login' END,
                   'user', t.id || '-u' || ((k.i / 100) % {users}), t.slug || '.u' || ((k.i / 100) % {users}),
                   t.id, t.slug, '192.0.2.1', '{{}}'{family if new_schema else ""}
            FROM k JOIN bench_tenants t ON t.n = k.i % (SELECT COUNT(*) FROM bench_tenants)""",
        f"""WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < {samples - 1})
            INSERT INTO usage_samples (kind, name, at, sessions, quota)
            SELECT 'tenant', t.slug, {base - base % 300_000} + k.i * 300000, (k.i * 7 + t.n * 13) % 500, 800
            FROM k, bench_tenants t""",
        f"""WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < {samples - 1})
            INSERT INTO usage_samples (kind, name, at, sessions, quota)
            SELECT 'gateway', 'gw-' || t.n, {base - base % 300_000} + k.i * 300000, (k.i * 11 + t.n) % 5000, NULL
            FROM k, bench_tenants t WHERE t.n < 4""",
        "DROP TABLE bench_tenants",
    ]


ROLLUP = """INSERT INTO usage_hourly (kind, name, at, sessions, quota)
    SELECT kind, name, at - (at % 3600000), MAX(sessions), MAX(quota)
    FROM usage_samples GROUP BY kind, name, at - (at % 3600000)"""


def populate(database, sqlite_path, statements, rollup):
    started = time.perf_counter()
    if database:
        script = ";\n".join(statements + ([rollup] if rollup else []) + ["ANALYZE"]) + ";\n"
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", database], input=script, text=True, check=True)
    else:
        db = sqlite3.connect(sqlite_path)
        for statement in statements + ([rollup] if rollup else []):
            db.execute(statement)
        db.commit()
        db.close()
    return time.perf_counter() - started


class Browser:
    """A console session (cookies, CSRF), asking for gzip like a browser."""

    def __init__(self, url):
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path, token=None):
        headers = {"Accept-Encoding": "gzip"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, headers=headers)
        with self.opener.open(request, timeout=120) as response:
            body = response.read()
            wire = len(body)
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return response.status, body, wire

    def login(self, username, password):
        _, page, _ = self.get("/login")
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        data = urllib.parse.urlencode({"csrf": csrf, "username": username, "password": password}).encode()
        with self.opener.open(urllib.request.Request(self.url + "/login", data=data), timeout=60) as response:
            response.read()


def time_page(browser, path, runs, token=None):
    latencies = []
    wire = size = 0
    for _ in range(runs):
        started = time.perf_counter()
        status, body, wire = browser.get(path, token)
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 200:
            sys.exit(f"{path}: {status}")
        size = len(body)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    return {"path": path, "p50_ms": statistics.median(latencies), "p95_ms": p95, "bytes": size, "wire_bytes": wire}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--users", type=int, default=1000, help="employees per tenant (2 devices each)")
    parser.add_argument("--audit", type=int, default=563000, help="audit events")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database", help="a PostgreSQL URL (an empty database); default SQLite")
    parser.add_argument("--json", help="write the numbers to this file")
    args = parser.parse_args()

    harness.build()
    work = tempfile.mkdtemp(prefix="homegate-bench-pages-")
    serve_args = ["--database", args.database] if args.database else []
    server = harness.Server(work, "127.0.0.1:0", serve_args)
    try:
        server.log_in_as_admin(server.start())
        with open(os.path.join(work, "cli.toml"), "rb") as f:
            token = tomllib.load(f)["token"]
        for n in range(args.tenants):
            body = {"slug": f"t{n:03}", "name": f"Gemeinde {n}", "address_pool": f"10.{n // 4}.{(n % 4) * 64}.0/18"}
            request = urllib.request.Request(
                f"{server.url}/api/v1/tenants", data=json.dumps(body).encode(), method="POST",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=60).read()
        server.stop()
        sqlite_path = os.path.join(work, "data", "homegate.db")
        if args.database:
            has_rollup = "usage_hourly" in subprocess.run(
                ["psql", "-tA", args.database, "-c", "SELECT tablename FROM pg_tables"],
                capture_output=True, text=True, check=True).stdout
        else:
            db = sqlite3.connect(sqlite_path)
            has_rollup = db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'usage_hourly'").fetchone()[0] > 0
            db.close()
        now = int(time.time() * 1000)
        seconds = populate(args.database, sqlite_path, population_sql(args.users, args.audit, now, has_rollup),
                           ROLLUP if has_rollup else None)
        print(f"populated in {seconds:.0f} s: {args.tenants} tenants x {args.users} employees x 2 devices, "
              f"{args.audit} audit events, 30 days of samples")
        server.start()
        browser = Browser(server.url)
        browser.login("admin", "benchmark admin password")
        tenant, actor = "t005", "t005.u7"
        console = [
            "/console/capacity?range=24h",
            "/console/capacity?range=30d",
            f"/console/audit?tenant={tenant}",
            f"/console/audit?actor={actor}",
            "/console/audit?action=device.create",
            "/console/audit?action=user.",
            f"/console/t/{tenant}/users",
            f"/console/t/{tenant}/users?q=u99",
            f"/console/t/{tenant}/devices",
            f"/console/t/{tenant}",
        ]
        api = [
            f"/api/v1/audit?tenant={tenant}",
            f"/api/v1/audit?actor={actor}",
            "/api/v1/audit?action=user.update",
            f"/api/v1/tenants/{tenant}/users",
            f"/api/v1/tenants/{tenant}/users?limit=1000",
            f"/api/v1/tenants/{tenant}/users?q=u99",
            f"/api/v1/tenants/{tenant}/devices",
            f"/api/v1/tenants/{tenant}/devices?limit=1000",
        ]
        results = []
        for path in console:
            results.append(time_page(browser, path, args.runs))
        for path in api:
            results.append(time_page(browser, path, args.runs, token))
        engine = "PostgreSQL" if args.database else "SQLite"
        print(f"{engine}: {'page':<46} {'p50 ms':>8} {'p95 ms':>8} {'KB':>8} {'KB gzip':>8}")
        for r in results:
            print(f"{'':<{len(engine) + 2}}{r['path']:<46} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} "
                  f"{r['bytes'] / 1024:>8.1f} {r['wire_bytes'] / 1024:>8.1f}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"engine": engine, "populate_s": seconds, "results": results}, f, indent=2)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
