#!/usr/bin/env python3
"""Benchmark of the public status page (issue 8): requests per second.

Builds the release binary, starts `homegate serve` on SQLite in a temporary
folder with two regions and three gateways, a further component, an open
incident with two updates and announced maintenance, saves a copy of
`/status` (in German), and
serves that copy with nginx on another loopback port. Then loads both with
wrk (same threads, connections and duration) and reports requests/s,
latency and the ratio homegate / nginx. Cleans up both servers and every
file it wrote, also on failure.

    python3 bench/status.py [--seconds 10] [--connections 50] [--threads 2] [--cache-secs 5]

Needs wrk and nginx (Debian packages `wrk`, `nginx-light`).
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

from harness import homegate_server, stop

NGINX_CONF = """
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    default_type text/html;
    server {{
        listen 127.0.0.1:{port};
        root {static};
        location = /status {{ try_files /status/index.html =404; }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url, args):
    done = subprocess.run(
        ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.seconds}s",
         "--latency", "-H", "Accept-Language: de", url],
        capture_output=True, text=True, check=True,
    )
    text = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return rps, p50, p99, int(errors.group(1)) if errors else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-secs", type=int, default=5,
                        help="serve --status-cache-secs; 0 renders every request")
    args = parser.parse_args()

    serve_args = ["--status-cache-secs", str(args.cache_secs)]
    with homegate_server("homegate-bench-status-", serve_args=serve_args) as (work, url, homegate):
        os.chmod(work, 0o755)  # nginx's workers read the static copy from here
        for region in ["nord", "sued"]:
            homegate("regions", "create", region)
        for gateway, region in [("gw-nord-1", "nord"), ("gw-nord-2", "nord"), ("gw-sued-1", "sued")]:
            homegate("gateways", "add", gateway, "--region", region)
        # A page with what a busy day shows: another component, an open
        # incident with an update, and announced maintenance.
        homegate("components", "add", "conferencing", "--title", "Videokonferenz",
                 "--group", "Zusammenarbeit")
        created = homegate("--output", "json", "incidents", "create", "--impact", "minor",
                           "--component", "conferencing", "--title-de", "Videokonferenz langsam",
                           "--title-en", "Conferencing slow", "--message-de", "Wir untersuchen das.")
        incident = json.loads(created.stdout)["id"]
        homegate("incidents", "update", incident, "--state", "identified",
                 "--message-de", "Ein Anbieter hat eine Störung.")
        tomorrow = time.strftime("%Y-%m-%dT22:00:00Z", time.gmtime(time.time() + 86400))
        later = time.strftime("%Y-%m-%dT23:30:00Z", time.gmtime(time.time() + 86400))
        homegate("maintenance", "schedule", "--title-de", "Neue Gateways", "--message-de",
                 "Kurze Unterbrechungen möglich.", "--component", "vpn-nord",
                 "--starts", tomorrow, "--ends", later)

        page = urllib.request.urlopen(urllib.request.Request(
            f"{url}/status", headers={"Accept-Language": "de"})).read()
        static = os.path.join(work, "static")
        os.makedirs(os.path.join(static, "status"))
        with open(os.path.join(static, "status", "index.html"), "wb") as f:
            f.write(page)
        nginx_port = free_port()
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(work=work, static=static, port=nginx_port))
        nginx = subprocess.Popen(["nginx", "-c", conf, "-p", work], stderr=subprocess.DEVNULL)
        try:
            time.sleep(1)
            print(f"page: {len(page)} bytes; wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, "
                  f"{os.cpu_count()} cores shared by server and load generator")
            results = {}
            for name, target in [("homegate", f"{url}/status"),
                                 ("nginx (static copy)", f"http://127.0.0.1:{nginx_port}/status")]:
                wrk(target, argparse.Namespace(threads=1, connections=4, seconds=2))  # warm-up
                results[name] = wrk(target, args)
                rps, p50, p99, errors = results[name]
                if errors:
                    sys.exit(f"{name}: {errors} responses were not 2xx")
                print(f"{name:>20}: {rps:10.0f} requests/s  p50 {p50:>8}  p99 {p99:>8}")
            ratio = results["homegate"][0] / results["nginx (static copy)"][0]
            print(f"homegate / nginx: {ratio:.2f}")
        finally:
            stop(nginx)


if __name__ == "__main__":
    main()
