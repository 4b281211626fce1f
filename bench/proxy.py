#!/usr/bin/env python3
"""Benchmark of the identity-aware proxy (issue 10): requests per second and
latency for a small response, side by side with nginx as a plain reverse
proxy to the same upstream.

Builds the release binary and starts `homegate serve --proxy-domain
apps.bench` on SQLite in a temporary folder, with a tenant, an employee in a
group and a web application whose upstream is nginx returning a small
response on loopback. The employee signs in the way a browser does (login,
`/portal/open/...`, the callback on the application's host), and the proxy
cookie goes to wrk. A second nginx (its own processes) is a plain reverse
proxy to the same upstream (keep-alive to it, as homegate keeps). wrk then loads, in
turn and interleaved over the repetitions: the upstream directly, nginx's
proxy, and homegate's proxy with the cookie (every request authenticated
and carrying identity headers and the signed assertion). Reports medians of
requests/s and of wrk's p50/p99 latency, the latency each proxy adds over
the direct upstream, and the ratio homegate / nginx. Cleans up both servers
and every file it wrote, also on failure.

    python3 bench/proxy.py [--seconds 10] [--connections 50] [--threads 2] [--reps 3]

Needs wrk and nginx (Debian packages `wrk`, `nginx-light`).
"""

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

from harness import homegate_server, stop

NGINX_HEAD = """
worker_processes 2;
pid {work}/nginx-{name}.pid;
error_log {work}/nginx-{name}-error.log;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {work}/{name}-body;
    proxy_temp_path {work}/{name}-proxy;
    fastcgi_temp_path {work}/{name}-fastcgi;
    uwsgi_temp_path {work}/{name}-uwsgi;
    scgi_temp_path {work}/{name}-scgi;
"""

# The application: a small answer. Its own nginx processes, so that both
# proxies talk to it across processes, as they would to a real application.
UPSTREAM_CONF = NGINX_HEAD + """
    server {{
        listen 127.0.0.1:{upstream_port};
        location / {{ default_type text/plain; return 200 "hello from the application\\n"; }}
    }}
}}
"""

# nginx as a plain reverse proxy, keeping connections to the application.
PROXY_CONF = NGINX_HEAD + """
    upstream app {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{proxy_port};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
}}
"""

DOMAIN = "apps.bench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def to_ms(text):
    value = float(re.match(r"[\d.]+", text).group(0))
    if text.endswith("us"):
        return value / 1000
    if text.endswith("ms"):
        return value
    if text.endswith("s"):
        return value * 1000
    return value


def wrk(url, headers, args):
    command = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    text = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if errors:
        sys.exit(f"{url}: {errors.group(1)} responses were not 2xx:\n{text}")
    return rps, p50, p99


def request(port, method, target, host, headers=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, target, body=body, headers={"Host": host, **(headers or {})})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def sign_in(port, user, password):
    """The browser's way in: login, portal hand-off, callback; returns the cookie."""
    control = f"127.0.0.1:{port}"
    app_host = f"hello.bench.{DOMAIN}:{port}"
    login = request(port, "POST", "/api/v1/auth/login", control, {"Content-Type": "application/json"},
                    json.dumps({"username": user, "password": password}))
    if login.status != 200:
        sys.exit(f"login failed: {login.status}")
    token = json.loads(login.body)["token"]
    first = request(port, "GET", "/", app_host)
    portal = urllib.parse.urlsplit(first.getheader("Location"))
    granted = request(port, "GET", f"{portal.path}?{portal.query}", control, {"Cookie": f"hg_session={token}"})
    callback = urllib.parse.urlsplit(granted.getheader("Location"))
    opened = request(port, "GET", f"{callback.path}?{callback.query}", app_host)
    cookie = opened.getheader("Set-Cookie").split(";")[0]
    check = request(port, "GET", "/", app_host, {"Cookie": cookie})
    if check.status != 200:
        sys.exit(f"the proxy did not let the employee in: {check.status}")
    return cookie


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    upstream_port, nginx_port = free_port(), free_port()
    with homegate_server("homegate-bench-proxy-", serve_args=["--proxy-domain", DOMAIN, "--upstream-allow", "127.0.0.0/8"]) as (work, url, homegate):
        port = urllib.parse.urlsplit(url).port
        homegate("tenants", "create", "--slug", "bench", "--name", "Benchmark", "--pool", "10.77.0.0/16")
        homegate("users", "create", "--tenant", "bench", "--username", "employee", "--role", "employee",
                 "--password-stdin", stdin="employee password 1\n")
        homegate("groups", "create", "--tenant", "bench", "staff")
        homegate("groups", "add-member", "--tenant", "bench", "staff", "employee")
        homegate("applications", "create", "--tenant", "bench", "hello", "--cidr", "198.18.10.5/32",
                 "--protocol", "tcp", "--ports", "80", "--web-upstream", f"http://127.0.0.1:{upstream_port}")
        homegate("access-rules", "create", "--tenant", "bench", "--group", "staff", "--application", "hello")

        nginxes = []
        for name, template in [("upstream", UPSTREAM_CONF), ("proxy", PROXY_CONF)]:
            conf = os.path.join(work, f"nginx-{name}.conf")
            with open(conf, "w") as f:
                f.write(template.format(work=work, name=name, upstream_port=upstream_port, proxy_port=nginx_port))
            nginxes.append(subprocess.Popen(["nginx", "-c", conf, "-p", work], stderr=subprocess.DEVNULL))
        try:
            time.sleep(1)
            cookie = sign_in(port, "employee", "employee password 1")
            targets = [
                ("upstream directly", f"http://127.0.0.1:{upstream_port}/", []),
                ("nginx reverse proxy", f"http://127.0.0.1:{nginx_port}/", []),
                ("homegate proxy (signed in)", f"http://127.0.0.1:{port}/",
                 [f"Host: hello.bench.{DOMAIN}:{port}", f"Cookie: {cookie}"]),
            ]
            print(f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, {args.reps} repetitions "
                  f"interleaved, {os.cpu_count()} cores shared by servers and load generator")
            samples = {name: [] for name, _, _ in targets}
            for rep in range(args.reps):
                for name, target, headers in targets:
                    if rep == 0:
                        wrk(target, headers, argparse.Namespace(threads=1, connections=4, seconds=1))
                    samples[name].append(wrk(target, headers, args))
            medians = {}
            for name, _, _ in targets:
                rps = statistics.median(s[0] for s in samples[name])
                p50 = statistics.median(s[1] for s in samples[name])
                p99 = statistics.median(s[2] for s in samples[name])
                medians[name] = (rps, p50, p99)
                runs = ", ".join(f"{s[0]:.0f}" for s in samples[name])
                print(f"{name:>28}: {rps:9.0f} requests/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms   (runs: {runs})")
            direct = medians["upstream directly"]
            for name in ["nginx reverse proxy", "homegate proxy (signed in)"]:
                rps, p50, p99 = medians[name]
                print(f"{name:>28}: adds p50 {p50 - direct[1]:+.2f} ms, p99 {p99 - direct[2]:+.2f} ms")
            ratio = medians["homegate proxy (signed in)"][0] / medians["nginx reverse proxy"][0]
            print(f"homegate / nginx requests/s: {ratio:.2f} (target >= 0.50)")
        finally:
            for nginx in nginxes:
                stop(nginx)


if __name__ == "__main__":
    main()
