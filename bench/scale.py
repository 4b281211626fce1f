#!/usr/bin/env python3
"""Scale benchmarks of the gateway (issue 12), in network namespaces.

Same lab as bench/dataplane.py (client — gateway — application, control
plane inside the gateway's namespace). The homegate gateway runs on one core
(taskset -c 1).

1. 10,000 peers pushed to one gateway while a flow runs: with one device in
   session and iperf3 running through the gateway, the control plane is
   stopped, 10,000 devices are added through the API of a second control
   plane on the same database (the gateway does not know its address), and
   the first control plane is started again. The gateway reconnects and
   receives all 10,001 peers in one configuration. Measured: the gateway's
   own apply time, the time from the control plane's start to the applied
   configuration, the gateway's memory before and after, and the flow's
   throughput per 0.5 s before, during and after.
2. Handshakes per second the gateway answers on that one core, and
   admission latency under a burst: `handshake-load` (crates/handshake-load)
   on the other core sends, from 100 source addresses, the first handshake
   of N devices at once (each must be admitted by the control plane), then
   keeps all N handshaking back to back (each device at most every 50 ms).
3. All devices in session: every one of the --peers devices handshakes at
   once (a burst of admissions), then the gateway's memory is read with all
   of them as WireGuard peers.

    sudo python3 bench/scale.py [--peers 10000] [--handshake-devices 1000]
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, ROOT, Server, build  # noqa: E402
from netlab import (  # noqa: E402
    APP_ADDRESS, CONTROL_PLANE, GATEWAY_ADDRESS, WG_PORT, Deployment, Lab, cpu_seconds, peak_memory_mib, require,
    resident_mib, wait_for,
)

SIDE_DOOR = "127.0.0.1:8081"
LOADGEN = os.path.join(ROOT, "target", "release", "handshake-load")
SOURCES = [f"198.18.1.{n}" for n in range(20, 120)]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", type=int, default=10000, help="devices pushed at once (default 10000)")
    parser.add_argument("--handshake-devices", type=int, default=1000,
                        help="devices that handshake in part 2 (default 1000)")
    parser.add_argument("--seconds", type=int, default=10, help="length of the sustained handshakes (default 10)")
    parser.add_argument("--json", help="write the numbers to this file")
    parser.add_argument("--keep-logs", action="store_true", help="keep the work folder with the logs")
    return parser.parse_args()


def api_post(url, token, path, body):
    request = urllib.request.Request(url + "/api/v1" + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


class Scale:
    def __init__(self, lab, args, server):
        self.lab = lab
        self.args = args
        self.server = server
        self.results = {}

    def setup(self):
        lab = self.lab
        lab.build()
        for address in SOURCES:
            lab.run("c", "ip", "addr", "add", f"{address}/24", "dev", "eth0")
        lab.spawn("a", "iperf3", "-s", log=os.path.join(lab.work, "iperf3-server.log"))
        keys = subprocess.run([LOADGEN, "keygen", str(self.args.peers)], capture_output=True, text=True,
                              check=True).stdout
        self.device_keys = [line.split() for line in keys.splitlines()]
        self.homegate = Deployment(lab, self.server)
        with open(os.path.join(lab.work, "cli.toml"), "rb") as f:
            self.token = tomllib.load(f)["token"]

    def start_gateway(self):
        self.gateway_log = os.path.join(self.lab.work, "gateway.log")
        self.gateway = self.lab.spawn("g", "taskset", "-c", "1", *self.homegate.gateway_args(BINARY),
                                      log=self.gateway_log, env=dict(os.environ, RUST_LOG="info,gotatun=warn"))
        wait_for(lambda: "configuration applied" in open(self.gateway_log).read(), 20,
                 f"the gateway did not apply its configuration; see {self.gateway_log}")

    def add_devices(self):
        """Adds the devices through a second control plane the gateway does
        not know about, so they arrive at the gateway all at once later."""
        self.server.stop()
        # In the host's own namespace: the gateway cannot reach it.
        side = Server(self.lab.work, SIDE_DOOR)
        side.start()
        started = time.monotonic()
        owner_free = [{"name": f"device {n}", "public_key": public} for n, (_, public) in enumerate(self.device_keys)]

        def create(body):
            try:
                return api_post(side.url, self.token, "/tenants/bench/devices", body)
            except urllib.error.HTTPError as error:
                sys.exit(f"creating a device failed: {error}: {error.read().decode()}\n"
                         f"server log:\n{open(side.log).read()[-3000:]}")

        try:
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(create, owner_free))
        finally:
            side.stop()
        self.results["devices_created_per_second"] = len(owner_free) / (time.monotonic() - started)

    def push_during_flow(self):
        pid = self.gateway.pid
        before_rss = resident_mib(pid)
        flow_seconds = 20
        flow = subprocess.Popen(["ip", "netns", "exec", self.lab.ns("c"), "iperf3", "-c", APP_ADDRESS, "-t",
                                 str(flow_seconds), "-i", "0.5", "-J"], stdout=subprocess.PIPE, text=True)
        self.lab.processes.append(flow)
        flow_started = time.monotonic()
        time.sleep(5)
        applied_lines = len(re.findall("configuration applied", open(self.gateway_log).read()))
        restart = time.monotonic()
        self.server.start()
        wait_for(lambda: len(re.findall("configuration applied", open(self.gateway_log).read())) > applied_lines,
                 60, "the gateway did not apply the pushed configuration")
        applied = time.monotonic()
        after_rss = resident_mib(pid)
        out, _ = flow.communicate(timeout=flow_seconds + 20)
        self.lab.processes.remove(flow)
        intervals = [(flow_started + i["sum"]["start"], flow_started + i["sum"]["end"], i["sum"]["bits_per_second"])
                     for i in json.loads(out)["intervals"]]
        log = re.sub(r"\x1b\[[0-9;]*m", "", open(self.gateway_log).read())
        line = [entry for entry in log.splitlines() if "configuration applied" in entry][-1]
        fields = dict(re.findall(r"(\w+)=(\S+)", line))
        gbps = lambda rows: [r[2] / 1e9 for r in rows]  # noqa: E731
        before = gbps([r for r in intervals if r[1] <= restart])
        during = gbps([r for r in intervals if r[1] > restart and r[0] < applied + 0.5])
        after = gbps([r for r in intervals if r[0] >= applied + 0.5])
        self.results["push"] = {
            "peers": int(fields.get("peers", "0")),
            "gateway_apply_ms": float(fields.get("took_ms", "nan")),
            "control_plane_start_to_applied_s": applied - restart,
            "rss_before_mib": before_rss,
            "rss_after_mib": after_rss,
            "peak_mib": peak_memory_mib(pid),
            "flow_before_gbps_median": statistics.median(before) if before else None,
            "flow_during_gbps_min": min(during) if during else None,
            "flow_during_gbps": during,
            "flow_after_gbps_median": statistics.median(after) if after else None,
        }

    def handshakes(self, label, devices, seconds, per_device, retry_ms=1000):
        pid = self.gateway.pid
        keys = os.path.join(self.lab.work, f"handshake-{devices}.keys")
        with open(keys, "w") as f:
            f.write("\n".join(" ".join(k) for k in self.device_keys[:devices]) + "\n")
        before = cpu_seconds(pid)
        done = self.lab.run("c", "taskset", "-c", "0", LOADGEN, "run", "--gateway", f"{GATEWAY_ADDRESS}:{WG_PORT}",
                            "--gateway-key", self.homegate.gateway_public, "--keys", keys, "--sources", ",".join(SOURCES),
                            "--seconds", str(seconds), "--per-device", str(per_device), "--retry-ms",
                            str(retry_ms), "--admit-limit-secs", "120")
        result = json.loads(done.stdout)
        result["gateway_cpu_seconds"] = cpu_seconds(pid) - before
        result["gateway_rss_mib"] = resident_mib(pid)
        result["gateway_peak_mib"] = peak_memory_mib(pid)
        self.results[label] = result


def main():
    args = parse_args()
    if args.handshake_devices > args.peers:
        sys.exit("--handshake-devices must not exceed --peers")
    require(["ip", "wg", "wireguard-go", "iperf3", "ping", "taskset"])
    build()
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "handshake-load"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="homegate-bench-scale-")
    lab = Lab(work)
    server = Server(work, CONTROL_PLANE, netns=lab.ns("g"))
    scale = Scale(lab, args, server)
    try:
        scale.setup()
        scale.start_gateway()
        scale.homegate.start_client()
        scale.add_devices()
        scale.push_during_flow()
        print(json.dumps(scale.results, indent=2), flush=True)
        scale.handshakes("handshakes", args.handshake_devices, args.seconds, 250)
        print(json.dumps(scale.results["handshakes"], indent=2), flush=True)
        # Every device in session at once: the gateway's memory with all
        # of them as WireGuard peers.
        # They retry every 5 s, as WireGuard does.
        scale.handshakes("all_in_session", args.peers, 2, 25, retry_ms=5000)
        print(json.dumps(scale.results, indent=2))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(scale.results, f, indent=2)
    finally:
        server.stop()
        lab.close()
        if args.keep_logs:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
