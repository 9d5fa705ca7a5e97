"""Benchmark aircore-mock's sending engine against bare loops posting the same bodies.

Run:  python benchmarks/bench_sending.py [--quick] [--runs N] [--receiver auto|nginx|uvicorn]

The receiver is nginx answering 204 (if found on PATH or in /usr/sbin), else uvicorn with a
raw ASGI app; it runs on 127.0.0.1 and shares the machine's two cores with the sender. Each
contender runs in a fresh process of its own, posting the same pre-serialized callback bodies
(a burst: many recordings, their callbacks interleaved), and reports its wall time and its own
CPU time for the timed part only (after an untimed warm-up). The contenders take turns within
each run, so a slow minute of the machine hits them all; every figure is the median of the
runs, with the spread (min-max) beside it. Targets are printed as "met" or "MISSED"; nothing
here asserts on time.

Contenders:
- `engine c64` / `engine c1`: `aircore_mock.Sender(url, concurrency=N).send(bodies)`;
- `aiohttp 64 tasks`: one aiohttp session, 64 tasks taking bodies from one iterator;
- `httpx.Client loop`: one keep-alive client, one request after another;
- `cli send -c 64`: the `aircore-mock send` command end to end (generation included), wall
  time of the whole process divided into the deliveries it made.
Memory: peak RSS of `aircore-mock send -c 64` lazily sending 10,000 and 500,000 callbacks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from _common import aircore_cli, machine_line, rate, server_204, version  # benchmarks/ on sys.path

import aircore_mock

HOST = "127.0.0.1"
SEED = 1


@dataclass(frozen=True)
class Sizes:
    callbacks: int
    warmup: int
    runs: int
    memory_small: int
    memory_large: int


FULL = Sizes(30_000, 3_000, 5, 10_000, 500_000)
QUICK = Sizes(6_000, 1_000, 3, 5_000, 50_000)

# --------------------------------------------------------------------------- the receiver

# --------------------------------------------------------------------------- contenders

# Each runs in a child: argv = url, bodies file, warm-up count. It prints one JSON line:
# {"n": deliveries timed, "ok": 2xx among them, "wall": s, "cpu": s} (CPU: its own, all threads).
CHILD_COMMON = r"""
import json, sys, time
url, path, warm = sys.argv[1], sys.argv[2], int(sys.argv[3])
bodies = open(path, "rb").read().split(b"\n")
warm_bodies, bodies = bodies[:warm], bodies[warm:]


def report(ok, wall, cpu):
    print(json.dumps({"n": len(bodies), "ok": ok, "wall": wall, "cpu": cpu}))
"""

ENGINE_CHILD = (
    CHILD_COMMON
    + r"""
import aircore_mock
concurrency = int(sys.argv[4])
with aircore_mock.Sender(url, concurrency=concurrency) as sender:
    sender.send(warm_bodies, keep_results=False)
    cpu, wall = time.process_time(), time.perf_counter()
    done = sender.send(bodies, keep_results=False)
    report(done.delivered, time.perf_counter() - wall, time.process_time() - cpu)
"""
)

AIOHTTP_CHILD = (
    CHILD_COMMON
    + r"""
import asyncio
import aiohttp
HEADERS = {"content-type": "application/json", "user-agent": "bench"}


async def post_all(session, items, tasks):
    it = iter(items)
    ok = 0

    async def worker():
        nonlocal ok
        for body in it:
            async with session.post(url, data=body, headers=HEADERS) as answer:
                await answer.read()
                ok += 200 <= answer.status < 300

    await asyncio.gather(*(worker() for _ in range(tasks)))
    return ok


async def main():
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        await post_all(session, warm_bodies, 64)
        cpu, wall = time.process_time(), time.perf_counter()
        ok = await post_all(session, bodies, 64)
        report(ok, time.perf_counter() - wall, time.process_time() - cpu)


asyncio.run(main())
"""
)

HTTPX_CHILD = (
    CHILD_COMMON
    + r"""
import httpx
HEADERS = {"content-type": "application/json", "user-agent": "bench"}
with httpx.Client() as client:
    for body in warm_bodies:
        client.post(url, content=body, headers=HEADERS)
    cpu, wall = time.process_time(), time.perf_counter()
    ok = 0
    for body in bodies:
        ok += client.post(url, content=body, headers=HEADERS).is_success
    report(ok, time.perf_counter() - wall, time.process_time() - cpu)
"""
)


def run_child(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"a contender failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_cli(url: str, recordings: int) -> dict[str, float]:
    argv = [*aircore_cli(), "send", "-s", "burst", "-n", str(recordings), "-c", "64"]
    argv += ["--seed", str(SEED), "--target", url]
    wall = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    wall = time.perf_counter() - wall
    # "N of M delivered ..." (text output: a line per delivery, as a user sees it)
    line = next(x for x in out.splitlines() if " delivered" in x and " of " in x)
    ok, _, total = line.split(" delivered")[0].partition(" of ")
    return {"n": int(total), "ok": int(ok), "wall": wall, "cpu": float("nan")}


def peak_rss_mib(url: str, callbacks: int) -> tuple[float, dict[str, int]]:
    """Peak RSS (MiB) of `aircore-mock send` lazily sending `callbacks` callbacks."""
    recordings = -(-callbacks // 3)
    # VmHWM, not ru_maxrss: Linux carries the parent's high-water mark across fork and exec
    # into ru_maxrss, while VmHWM belongs to this process's own memory.
    code = (
        "import sys\n"
        "def peak():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            print('PEAK', line.split()[1], file=sys.stderr)\n"
        "try:\n"
        "    from aircore_mock.cli import main\n"
        "    main(sys.argv[1:])\n"
        "finally:\n"
        "    peak()\n"
    )
    argv = [sys.executable, "-c", code, "send", "-s", "burst", "-n", str(recordings)]
    argv += ["-c", "64", "--seed", str(SEED), "--target", url]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    peak = next(
        int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK")
    )
    first = done.stdout.strip().splitlines()[-2] if done.stdout.strip() else ""
    return peak / 1024, {"exit": done.returncode, "summary": first}  # type: ignore[dict-item]


# --------------------------------------------------------------------------- the run


def median_spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--runs", type=int, default=None, help="interleaved runs (default 5)")
    parser.add_argument("--receiver", choices=("auto", "nginx", "uvicorn"), default="auto")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the memory part")
    options = parser.parse_args(argv)
    sizes = QUICK if options.quick else FULL
    runs = options.runs or sizes.runs
    print(machine_line("sending", options.quick))
    print(
        f"aircore-mock {aircore_mock.__version__}, aiohttp {version('aiohttp')}, "
        f"httpx {version('httpx')}, uvloop {version('uvloop')}"
    )
    deliveries = aircore_mock.Generator(SEED).deliveries("burst", count=sizes.callbacks // 3)
    bodies = [orjson.dumps(d.callback) for d in deliveries]
    httpx_share = max(2_000, len(bodies) // 4)  # the slowest contender posts a quarter
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        path = tmp / "bodies.jsonl"
        path.write_bytes(b"\n".join(bodies))
        small = tmp / "small.jsonl"
        small.write_bytes(b"\n".join(bodies[: sizes.warmup + httpx_share]))
        with server_204(tmp, options.receiver) as (name, url, _pid):
            print(f"receiver: {name} at {url}; {len(bodies):,} callbacks per run, {runs} runs")
            contenders = {
                "engine c64": lambda: run_child(
                    ENGINE_CHILD, url, str(path), str(sizes.warmup), "64"
                ),
                "aiohttp 64 tasks": lambda: run_child(
                    AIOHTTP_CHILD, url, str(path), str(sizes.warmup)
                ),
                "engine c1": lambda: run_child(
                    ENGINE_CHILD, url, str(path), str(sizes.warmup), "1"
                ),
                "httpx.Client loop": lambda: run_child(
                    HTTPX_CHILD, url, str(small), str(sizes.warmup)
                ),
                "cli send -c 64": lambda: run_cli(url, sizes.callbacks // 3),
            }
            samples: dict[str, list[dict[str, float]]] = {k: [] for k in contenders}
            names = list(contenders)
            for turn in range(runs):
                order = names[turn % len(names) :] + names[: turn % len(names)]
                for key in order:
                    sample = contenders[key]()
                    if sample["ok"] != sample["n"]:
                        print(f"  ! {key}: {sample['n'] - sample['ok']} deliveries without a 2xx")
                    samples[key].append(sample)
                print(f"  run {turn + 1}/{runs} done")
            print_throughput(samples)
            if not options.skip_memory:
                print_memory(url, sizes)
    return 0


def print_throughput(samples: dict[str, list[dict[str, float]]]) -> None:
    per_s = {k: [s["n"] / s["wall"] for s in v] for k, v in samples.items()}
    cpu_us = {
        k: [s["cpu"] / s["n"] * 1e6 for s in v if s["cpu"] == s["cpu"]] for k, v in samples.items()
    }
    print("\ndeliveries/s (median, min-max) and CPU per delivery of the sender (median):")
    for key, values in per_s.items():
        med, low, high = median_spread(values)
        cpu = f"{statistics.median(cpu_us[key]):6.0f} us" if cpu_us[key] else "     (n/a)"
        print(f"  {key:<18} {rate(med):>7}/s  ({rate(low)}-{rate(high)})   CPU {cpu}")

    # ratios per run (each run's contenders ran back to back), then the median of those
    def ratios(a: str, b: str) -> tuple[float, float, float]:
        return median_spread([x / y for x, y in zip(per_s[a], per_s[b], strict=True)])

    def cpu_ratio(a: str, b: str) -> tuple[float, float, float]:
        return median_spread([x / y for x, y in zip(cpu_us[a], cpu_us[b], strict=True)])

    print("\ntargets (ratios within each run; median, min-max):")
    checks = [
        ("engine c64 / aiohttp 64 tasks", ratios("engine c64", "aiohttp 64 tasks"), 0.9, ">="),
        ("engine c64 / httpx.Client loop", ratios("engine c64", "httpx.Client loop"), 2.5, ">="),
        ("engine c1 / httpx.Client loop", ratios("engine c1", "httpx.Client loop"), 1.5, ">="),
        ("CPU engine c64 / aiohttp", cpu_ratio("engine c64", "aiohttp 64 tasks"), 1.3, "<="),
    ]
    for label, (med, low, high), target, sense in checks:
        met = med >= target if sense == ">=" else med <= target
        print(
            f"  {label:<32} {med:5.2f}x ({low:.2f}-{high:.2f})  target {sense} {target}x: "
            f"{'met' if met else 'MISSED'}"
        )


def print_memory(url: str, sizes: Sizes) -> None:
    print("\npeak memory of a lazy `aircore-mock send -c 64` (RSS, one run each):")
    small, _ = peak_rss_mib(url, sizes.memory_small)
    large, info = peak_rss_mib(url, sizes.memory_large)
    growth = large / small - 1
    print(f"  {sizes.memory_small:>9,} callbacks: {small:6.1f} MiB")
    print(f"  {sizes.memory_large:>9,} callbacks: {large:6.1f} MiB  ({info['summary']})")
    print(f"  growth {growth:+.1%}  target <= +15%: {'met' if growth <= 0.15 else 'MISSED'}")


if __name__ == "__main__":
    sys.exit(main())
