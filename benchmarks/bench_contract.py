"""How long the receiver contract takes: in-process, over HTTP, and against a slow receiver.

1. `pytest examples/starlette_app` (the AircoreReceiverContract class in-process, every
   clause; a pytest start-up included), median of runs.
2. `aircore-mock check` against the Starlette example served on 127.0.0.1 (aim: 3 s).
3. `aircore-mock check` against the same receiver taking 2 s for every callback (aim: 60 s;
   one request after another it would take 2 s times the number of requests).
4. What a default check holds: requests sent, covered values, wire profiles; and how its time
   grows with the receiver's latency (--latencies).

    python benchmarks/bench_contract.py [--runs N] [--delay SECONDS] [--skip-slow]
        [--latencies 0,0.25,0.5,1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import find_script, verdict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "starlette_app"))
sys.path.insert(0, str(ROOT / "examples"))


def timed(args: list[str], cwd: Path = ROOT) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - began, done


def slow(app: Any, delay: float) -> Any:
    async def slowed(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(delay)  # a correct receiver that takes its time
        await app(scope, receive, send)

    return slowed


def check(url: str, *extra: str) -> tuple[float, dict[str, Any]]:
    script = find_script("aircore-mock") or "aircore-mock"
    taken, done = timed(
        [script, "check", "--target", url, "--seed", "1", "--format", "json", *extra]
    )
    report = json.loads(done.stdout)
    return taken, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--skip-slow", action="store_true")
    parser.add_argument("--latencies", default="0.25,0.5,1")
    args = parser.parse_args(argv)

    from starlette_receiver import create_app

    from aircore_mock import AppServer

    print("1. pytest examples/starlette_app (the contract class, in-process)")
    runs = []
    for _ in range(args.runs):
        taken, done = timed([sys.executable, "-m", "pytest", "-q", "examples/starlette_app"])
        runs.append(taken)
        summary = done.stdout.strip().splitlines()[-1]
    print(f"   median {statistics.median(runs):.2f} s of {args.runs} ({summary})")

    print("2. aircore-mock check against the Starlette example on 127.0.0.1")
    with AppServer(create_app(), path="/aircore/callbacks") as server:
        runs, report = [], {}
        for _ in range(args.runs):
            taken, report = check(server.url)
            runs.append(taken)
    requests = sum(r["requests"] for r in report["results"])
    fast = statistics.median(runs)
    print(
        f"   median {fast:.2f} s of {args.runs}, {requests} requests, ok={report['ok']}; "
        f"aim 3 s: {verdict(fast <= 3.0)}"
    )
    from aircore_mock.contract.coverage import COVERAGE, coverage_size
    from aircore_mock.contract.wire import PROFILES

    print(
        f"   the coverage phase: {coverage_size()} callbacks over {len(COVERAGE)} rows;"
        f" {len(PROFILES)} wire profiles"
    )
    print("4. growth with the receiver's latency (check, default options)")
    for latency in [float(x) for x in args.latencies.split(",") if x]:
        with AppServer(slow(create_app(), latency), path="/aircore/callbacks") as server:
            taken, report = check(server.url)
        print(f"   {latency:g} s a callback: {taken:.1f} s, ok={report['ok']}")

    if not args.skip_slow:
        print(f"3. aircore-mock check against the same receiver taking {args.delay:g} s a callback")
        with AppServer(slow(create_app(), args.delay), path="/aircore/callbacks") as server:
            taken, report = check(server.url)
        requests = sum(r["requests"] for r in report["results"])
        print(
            f"   {taken:.1f} s, {requests} requests"
            f" (one at a time: ~{requests * args.delay:.0f} s),"
            f" ok={report['ok']}, verdicts {sorted(set(report['clauses'].values()))};"
            f" aim 60 s: {verdict(taken <= 60 and report['ok'])}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
