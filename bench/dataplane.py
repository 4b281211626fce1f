#!/usr/bin/env python3
"""Data-plane benchmark (issue 12): the homegate gateway against Debian's
wireguard-go, side by side, with the same client.

Builds three network namespaces (client — gateway — application, veth,
tunnel MTU 1420, addresses in 198.18.0.0/15), runs the control plane inside
the gateway's namespace, and for each repetition takes three gateways in
turn (interleaved, so drift of the machine hits all alike):

  homegate-rules   `homegate gateway` with access rules on (the product)
  homegate-norules `homegate gateway --unfiltered` (the filter's cost)
  homegate-no-offload  rules on, `--no-tun-offload` (the gateway before
                   TUN offload: one packet per read)
  wireguard-go     Debian's wireguard-go configured with `wg`

The client is always Debian's wireguard-go, started fresh for each gateway.
Measured with iperf3 and ping: single-stream TCP both ways, 4 TCP streams,
UDP at a fixed offered load, ping latency idle and under load (during a
single-stream upload), CPU seconds per GB of the gateway process (over the
single-stream uploads and downloads) and its peak memory (VmHWM). Prints
medians and the ratio homegate / wireguard-go; `--json FILE` keeps every
run. Everything it starts is removed at the end, also on failure.

    sudo python3 bench/dataplane.py [--reps 3] [--seconds 10]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, Server, build  # noqa: E402
from netlab import (  # noqa: E402
    APP_ADDRESS, CONTROL_PLANE, MTU, POOL, WG_PORT, Deployment, Lab, cpu_seconds, peak_memory_mib, require, wait_for,
)

GATEWAYS = ["homegate-rules", "homegate-norules", "homegate-no-offload", "wireguard-go"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the whole set (default 3)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each iperf3 test (default 10)")
    parser.add_argument("--udp-rate", default="800M", help="offered UDP load, iperf3 -b (default 800M)")
    parser.add_argument("--gateways", default=",".join(GATEWAYS), help="which gateways, comma-separated")
    parser.add_argument("--json", help="write every run's numbers to this file")
    parser.add_argument("--perf", metavar="FILE",
                        help="also record `perf` of the homegate gateway (rules on) during an upload and a "
                             "download, into FILE.up and FILE.down")
    return parser.parse_args()


class Bench:
    def __init__(self, lab, args, server):
        self.lab = lab
        self.args = args
        self.client_process = None
        self.homegate = Deployment(lab, server, other_applications=10)

    def start_client(self):
        if self.client_process:
            self.lab.stop(self.client_process)
        self.client_process = self.homegate.start_client()

    def start_gateway(self, kind):
        homegate = self.homegate
        if kind.startswith("homegate"):
            log = os.path.join(self.lab.work, f"{kind}.log")
            extra = {"homegate-norules": ["--unfiltered"], "homegate-no-offload": ["--no-tun-offload"]}
            process = self.lab.spawn("g", *homegate.gateway_args(BINARY, *extra.get(kind, [])), log=log,
                                     env=dict(os.environ, RUST_LOG="info,gotatun=warn"))
            wait_for(lambda: "configuration applied" in open(log).read(), 20,
                     f"the homegate gateway did not apply its configuration; see {log}")
            return process
        process, interface = self.lab.wireguard_go("g", "w")
        self.lab.run("g", "wg", "set", interface, "private-key", homegate.gateway_key_file, "listen-port",
                     str(WG_PORT), "peer", homegate.client_public, "allowed-ips", f"{homegate.client_address}/32")
        self.lab.run("g", "ip", "link", "set", interface, "mtu", MTU, "up")
        self.lab.run("g", "ip", "route", "add", POOL, "dev", interface)
        return process

    def iperf(self, *args):
        done = self.lab.run("c", "iperf3", "-c", APP_ADDRESS, "-J", "-t", str(self.args.seconds), *args,
                            check=False)
        result = json.loads(done.stdout)
        if "error" in result:
            raise RuntimeError(f"iperf3 {' '.join(args)}: {result['error']}")
        return result["end"]

    def tcp(self, gateway_pid, *args):
        """Received Gbit/s, and the gateway's CPU seconds and bytes moved."""
        before = cpu_seconds(gateway_pid)
        end = self.iperf(*args)
        cpu = cpu_seconds(gateway_pid) - before
        moved = end["sum_received"]["bytes"]
        return end["sum_received"]["bits_per_second"] / 1e9, cpu, moved

    def udp(self):
        end = self.iperf("-u", "-b", self.args.udp_rate, "-l", "1360")
        total = end["sum"]
        return total["bits_per_second"] / 1e9 * (1 - total["lost_percent"] / 100), total["lost_percent"]

    def ping(self, count, interval="0.01"):
        done = self.lab.run("c", "ping", "-c", str(count), "-i", interval, APP_ADDRESS, check=False)
        times = sorted(float(t) for t in re.findall(r"time=([\d.]+) ms", done.stdout))
        if not times:
            raise RuntimeError("no ping answers")
        return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]

    def ping_under_load(self):
        load = subprocess.Popen(["ip", "netns", "exec", self.lab.ns("c"), "iperf3", "-c", APP_ADDRESS, "-t",
                                 str(self.args.seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.lab.processes.append(load)
        try:
            time.sleep(1)
            return self.ping(max(10, (self.args.seconds - 2) * 50), interval="0.02")
        finally:
            self.lab.stop(load, timeout=self.args.seconds + 5)

    def perf_record(self, pid, path):
        subprocess.run(["perf", "record", "-g", "-o", path, "-p", str(pid), "--", "sleep",
                        str(self.args.seconds - 2)], capture_output=True)

    def measure(self, kind, record_perf=None):
        process = self.start_gateway(kind)
        try:
            self.start_client()
            pid = process.pid
            up, cpu_up, bytes_up = self.tcp(pid)
            down, cpu_down, bytes_down = self.tcp(pid, "-R")
            four, _, _ = self.tcp(pid, "-P", "4")
            udp, udp_loss = self.udp()
            idle = self.ping(200)
            loaded = self.ping_under_load()
            if record_perf:
                # One profile per direction: uploads write to the TUN
                # device, downloads read from it.
                for direction, extra in [("up", []), ("down", ["-R"])]:
                    load = subprocess.Popen(["ip", "netns", "exec", self.lab.ns("c"), "iperf3", "-c", APP_ADDRESS,
                                             "-t", str(self.args.seconds), *extra], stdout=subprocess.DEVNULL)
                    self.lab.processes.append(load)
                    time.sleep(1)
                    self.perf_record(pid, f"{record_perf}.{direction}")
                    self.lab.stop(load, timeout=self.args.seconds + 5)
            return {
                "tcp_up_gbps": up,
                "tcp_down_gbps": down,
                "tcp_4_streams_gbps": four,
                "udp_received_gbps": udp,
                "udp_loss_percent": udp_loss,
                "ping_idle_ms": idle[0],
                "ping_idle_p99_ms": idle[1],
                "ping_loaded_ms": loaded[0],
                "ping_loaded_p99_ms": loaded[1],
                "cpu_s_per_gb": (cpu_up + cpu_down) / ((bytes_up + bytes_down) / 1e9),
                "peak_memory_mib": peak_memory_mib(pid),
            }
        finally:
            self.lab.stop(process)
            if kind == "wireguard-go":
                self.lab.run("g", "ip", "link", "del", f"{self.lab.id}w", check=False)


ROWS = [
    ("tcp_up_gbps", "TCP, 1 stream, client → app (Gbit/s)", "higher"),
    ("tcp_down_gbps", "TCP, 1 stream, app → client (Gbit/s)", "higher"),
    ("tcp_4_streams_gbps", "TCP, 4 streams, client → app (Gbit/s)", "higher"),
    ("udp_received_gbps", "UDP received at the offered load (Gbit/s)", "higher"),
    ("udp_loss_percent", "UDP loss (%)", "lower"),
    ("ping_idle_ms", "ping idle, median (ms)", "lower"),
    ("ping_idle_p99_ms", "ping idle, p99 (ms)", "lower"),
    ("ping_loaded_ms", "ping under load, median (ms)", "lower"),
    ("ping_loaded_p99_ms", "ping under load, p99 (ms)", "lower"),
    ("cpu_s_per_gb", "gateway CPU seconds per GB", "lower"),
    ("peak_memory_mib", "gateway peak memory (MiB)", "lower"),
]


def report(runs, kinds):
    medians = {k: {key: statistics.median(r[key] for r in runs[k]) for key, _, _ in ROWS} for k in kinds}
    header = "| measurement | " + " | ".join(kinds)
    if "wireguard-go" in kinds:
        others = [k for k in kinds if k != "wireguard-go"]
        header += " | " + " | ".join(f"{k} / wireguard-go" for k in others)
    print(header + " |")
    print("| --- |" + " ---: |" * (header.count("|") - 1))
    for key, label, _ in ROWS:
        cells = [f"{medians[k][key]:.3f}" if medians[k][key] < 10 else f"{medians[k][key]:.1f}" for k in kinds]
        if "wireguard-go" in kinds:
            base = medians["wireguard-go"][key]
            cells += [f"{medians[k][key] / base:.2f}" if base else "–" for k in kinds if k != "wireguard-go"]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return medians


def main():
    args = parse_args()
    kinds = [k.strip() for k in args.gateways.split(",") if k.strip()]
    unknown = set(kinds) - set(GATEWAYS)
    if unknown:
        sys.exit(f"unknown gateways: {', '.join(sorted(unknown))} (choose from {', '.join(GATEWAYS)})")
    require(["ip", "wg", "wireguard-go", "iperf3", "ping"] + (["perf"] if args.perf else []))
    build()
    work = tempfile.mkdtemp(prefix="homegate-bench-dataplane-")
    lab = Lab(work)
    server = Server(work, CONTROL_PLANE, netns=lab.ns("g"))
    try:
        lab.build()
        lab.spawn("a", "iperf3", "-s", log=os.path.join(work, "iperf3-server.log"))
        bench = Bench(lab, args, server)
        runs = {k: [] for k in kinds}
        for rep in range(1, args.reps + 1):
            for kind in kinds:
                perf = args.perf if (args.perf and rep == 1 and kind == "homegate-rules") else None
                result = bench.measure(kind, record_perf=perf)
                runs[kind].append(result)
                print(f"run {rep} {kind}: " + ", ".join(f"{k}={v:.3f}" for k, v in result.items()), flush=True)
        print()
        medians = report(runs, kinds)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"runs": runs, "medians": medians, "seconds": args.seconds,
                           "udp_rate": args.udp_rate}, f, indent=2)
    finally:
        server.stop()
        lab.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
