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
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from _common import aircore_cli, machine_line, rate, ratio, version  # benchmarks/ on sys.path

HOST = "127.0.0.1"
SEED = 1
SEND_CONCURRENCY = 64

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen {host}:{port};
        location / {{ return 204; }}
    }}
}}
"""

# argv: host, port. A raw ASGI app: nothing between uvicorn and the 204.
UVICORN_CHILD = r"""
import sys
import uvicorn

async def app(scope, receive, send):
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})

uvicorn.run(app, host=sys.argv[1], port=int(sys.argv[2]), log_level="warning",
            access_log=False, lifespan="off")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for_port(proc: subprocess.Popen[bytes], port: int, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the receiver exited {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.01)  # poll interval, not a start-up delay
    raise RuntimeError(f"the receiver is not listening after {deadline_s:g} s")


@contextlib.contextmanager
def receiver(tmp: Path) -> Iterator[tuple[str, str, int]]:
    """(name, url, pid) of a 204 server on loopback; stopped on the way out."""
    port = free_port()
    exe = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if exe is not None:
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, host=HOST, port=port), encoding="utf-8")
        argv = [exe, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
        name = f"nginx ({exe}), one process"
    else:
        argv = [sys.executable, "-c", UVICORN_CHILD, HOST, str(port)]
        name = f"uvicorn {version('uvicorn')}, a raw ASGI app (one process)"
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(proc, port, 20.0)
        yield name, f"http://{HOST}:{port}/", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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


def spread(values: list[float]) -> str:
    return f"{rate(statistics.median(values))} ({rate(min(values))}-{rate(max(values))})"


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
        receiver(Path(folder)) as (
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
