#!/usr/bin/env python3
"""Benchmark of issue 7: a batch of home-office sticks end to end.

Builds the release binary, starts `homegate serve` on SQLite in a temporary
folder, logs in, creates a tenant, then times
`homegate sticks batch create --count N --out DIR` (control-plane transaction,
images, letters, merged PDF, manifest, completion) several times and reports
the median, the time per stick, and the CLI's own breakdown of where the time
goes. Cleans up the server and every file it wrote, also on failure.

    python3 bench/sticks.py [--count 1000] [--runs 3]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import time

from harness import homegate_server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with homegate_server("homegate-bench-sticks-") as (work, _url, homegate):
        homegate("tenants", "create", "--slug", "bench", "--name", "Gemeinde Benchstadt",
                 "--pool", "10.0.0.0/8", "--language", "de")
        times, breakdowns = [], []
        for run in range(args.runs):
            out = os.path.join(work, f"batch-{run}")
            started = time.monotonic()
            done = homegate("sticks", "batch", "create", "--tenant", "bench",
                            "--count", str(args.count), "--out", out)
            times.append(time.monotonic() - started)
            breakdowns.append([l for l in done.stderr.splitlines() if l.startswith("Time per stick")][0])
            du = subprocess.run(["du", "-sh", out], capture_output=True, text=True).stdout.split()[0]
            print(f"run {run + 1}: {times[-1]:.2f} s for {args.count} sticks, {du} on disk", flush=True)
            print(f"  {breakdowns[-1]}", flush=True)
            shutil.rmtree(out)
        median = statistics.median(times)
        print(f"\nmedian of {args.runs}: {median:.2f} s for {args.count} sticks "
              f"= {median * 1000 / args.count:.1f} ms per stick (wall, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
