"""Benchmark `aircore-mock load` (Locust): deliveries/s with 1 and 2 worker processes.

Run:  python benchmarks/bench_load.py [--quick] [--repeats N] [--run-time S] [--users N]

The receiver is nginx answering 204 (if `nginx` is on PATH or in /usr/sbin), else uvicorn
with a bare ASGI app answering 204, on 127.0.0.1. Beside `load --processes 1` and
`load --processes 2` (a master and that many workers, `--users` users, no waits) the same
run measures `aircore-mock send -c 64` as the baseline; the rows take turns within every
repeat. Each figure is the median over the repeats, with the spread (min-max). A row's rate
is its own count over its own first-to-last delivery (start-up excluded); CPU is every
process of the row together. Senders and receiver share the machine's cores: compare ratios,
not absolute numbers. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _common import (  # benchmarks/ is on sys.path
    aircore_cli,
    machine_line,
    ratio,
    server_204,
    spread,
    version,
)

SEED = 1
SEND_CONCURRENCY = 64


def cpu_of(pid: int) -> float | None:
    """User + system CPU seconds of a running process, from /proc (Linux); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    deliveries: int
    per_s: float  # over the row's own first-to-last delivery
    cpu_s: float  # every process of the row (children of this script)
    server_cpu_s: float | None
    wall_s: float  # start-up and reports included


def run_row(argv: list[str], server_pid: int, timeout: float) -> Sample:
    before = os.times()
    server_before = cpu_of(server_pid)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.perf_counter() - start
    after = os.times()
    server_after = cpu_of(server_pid)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:4])}... exited {done.returncode}: {done.stderr[-800:]}"
        )
    data = json.loads(done.stdout)
    summary = data.get("summary", data)  # send nests it; load prints it whole
    total = summary["deliveries"]["total"] if "deliveries" in summary else summary["total"]
    cpu = (after.children_user + after.children_system) - (
        before.children_user + before.children_system
    )
    server = None
    if server_before is not None and server_after is not None:
        server = server_after - server_before
    return Sample(total, summary["throughput_per_s"], cpu, server, wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short repeat: a smoke run")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--run-time", type=int, default=None, help="seconds per load row")
    parser.add_argument("--users", type=int, default=64)
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    run_time = args.run_time or (3 if args.quick else 10)
    cli = aircore_cli()
    print(machine_line("load", args.quick))
    print(f"locust {version('locust')}, geventhttpclient {version('geventhttpclient')}")
    with (
        tempfile.TemporaryDirectory(prefix="bench-load-") as folder,
        server_204(Path(folder)) as (
            name,
            url,
            server_pid,
        ),
    ):
        print(f"receiver: {name} at {url}; {repeats} repeat(s), rows take turns")
        common = ["--target", url, "--seed", str(SEED), "--format", "json"]

        def load(processes: int) -> list[str]:
            users = ["-u", str(args.users), "-r", str(args.users * 10)]
            timing = ["--run-time", f"{run_time}s", "--stop-timeout", "5"]
            return [*cli, "load", *common, *users, *timing, "--processes", str(processes)]

        # send's recordings sized so that it runs about as long as a load row
        first = run_row(load(1), server_pid, run_time + 120)
        recordings = max(1_000, int(first.per_s * run_time / 3))
        send = [*cli, "send", *common, "-s", "burst", "-n", str(recordings)]
        send += ["-c", str(SEND_CONCURRENCY)]
        rows: dict[str, Callable[[], Sample]] = {
            f"send -c {SEND_CONCURRENCY} (baseline)": lambda: run_row(send, server_pid, 600),
            "load --processes 1": lambda: run_row(load(1), server_pid, run_time + 120),
            "load --processes 2": lambda: run_row(load(2), server_pid, run_time + 120),
        }
        samples: dict[str, list[Sample]] = {row: [] for row in rows}
        for _ in range(repeats):
            for row, measure in rows.items():
                samples[row].append(measure())
    print()
    print(f"{'row':<24} {'deliveries/s (min-max)':>28} {'CPU µs/delivery':>16} {'nginx cores':>12}")
    medians: dict[str, float] = {}
    for row, taken in samples.items():
        per_s = [s.per_s for s in taken]
        medians[row] = statistics.median(per_s)
        cpu = statistics.median(s.cpu_s / s.deliveries * 1e6 for s in taken)
        server = [s.server_cpu_s / s.wall_s for s in taken if s.server_cpu_s is not None]
        server_text = f"{statistics.median(server):.2f}" if server else "-"
        print(f"{row:<24} {spread(per_s):>28} {cpu:>16,.0f} {server_text:>12}")
    baseline = medians[f"send -c {SEND_CONCURRENCY} (baseline)"]
    one, two = medians["load --processes 1"], medians["load --processes 2"]
    print()
    print(f"load, 1 worker process  vs send -c {SEND_CONCURRENCY}: {ratio(one, baseline)}")
    print(f"load, 2 worker processes vs send -c {SEND_CONCURRENCY}: {ratio(two, baseline)}")
    print(f"load, 2 worker processes vs 1: {ratio(two, one)} ({os.cpu_count()} CPUs here)")


if __name__ == "__main__":
    main()
