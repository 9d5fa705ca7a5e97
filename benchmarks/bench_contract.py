"""How long the receiver contract takes: in-process, over HTTP, and against a slow receiver.

1. `pytest examples/starlette_app` (the AircoreReceiverContract class in-process, every
   clause; a pytest start-up included), median of runs.
2. `aircore-mock check --seed 1` against the Starlette example served on 127.0.0.1 by a
   process of its own (an instant receiver), paired round by round with its floor: a script
   posting exactly the requests that check sends (recorded once, by a receiver that keeps
   what it gets) with 16 aiohttp tasks and a connection per request, as check's engine does,
   in a process of its own, start-up included. Wall time, CPU and peak memory (each
   process's own VmHWM), the ratios' medians and min-max; aim: check at most 1.6x the floor
   by wall time.
3. `aircore-mock check` against the same receiver taking 2 s for every callback (aim: 60 s;
   one request after another it would take 2 s times the number of requests).
4. What a default check holds: requests sent, covered values, wire profiles; and how its time
   grows with the receiver's latency (--latencies).

    python benchmarks/bench_contract.py [--runs N] [--rounds N] [--delay SECONDS]
        [--skip-slow] [--latencies 0,0.25,0.5,1] [--no-bytecode-cache]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import aircore_cli, find_script, verdict
from _paired import Contender, Lab, load_average, paired, ratio_line, spread

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


AIM_RATIO = 1.6

# argv: URL, a JSON file of recorded requests. The least code that posts the same requests:
# 16 tasks, one aiohttp session, a connection per request (check's engine closes each one, so
# that a receiver closing a connection after an error is never blamed on the next request).
FLOOR = r"""
import asyncio, json, sys
import aiohttp

HOP = {"host", "content-length", "transfer-encoding", "connection", "expect"}


async def main(url, path):
    with open(path, encoding="utf-8") as f:
        requests = [
            ([(k, v) for k, v in r["headers"] if k not in HOP], r["body"].encode("latin-1"))
            for r in json.load(f)
        ]
    queue = iter(requests)
    answered = 0
    connector = aiohttp.TCPConnector(limit=16, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker():
            nonlocal answered
            for headers, body in queue:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    answered += 1

        await asyncio.gather(*(worker() for _ in range(16)))
    print(answered)


asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


# argv: the folders of the example. The receiver in a process of its own: inside the
# benchmark's process it shared an interpreter with it, and was slow enough that the floor
# waited on it for a quarter of its run.
RECEIVER = r"""
import sys
sys.path[:0] = sys.argv[1:]
from starlette_receiver import create_app
from aircore_mock import AppServer
with AppServer(create_app(), path="/aircore/callbacks") as server:
    print(server.url, flush=True)
    sys.stdin.read()  # until the benchmark closes it
"""


@contextlib.contextmanager
def receiver_process() -> Iterator[str]:
    """The URL of the Starlette example served by a child process, stopped at the end."""
    folders = [str(ROOT / "examples" / "starlette_app"), str(ROOT / "examples")]
    child = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, *folders],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url:
            raise RuntimeError("the receiver did not start")
        yield url
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def recording(app: Any, kept: list[dict[str, Any]]) -> Any:
    """`app`, keeping every request it gets: headers as sent, body as bytes (in latin-1)."""

    async def keep(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body = bytearray()

        async def reading() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    headers = [
                        [k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]
                    ]
                    kept.append({"headers": headers, "body": body.decode("latin-1")})
            return message

        await app(scope, reading, send)

    return keep


def record_check_requests(create_app: Any, path: Path) -> int:
    """Run `check --seed 1` once against a receiver that keeps every request; write them."""
    from aircore_mock import AppServer

    kept: list[dict[str, Any]] = []
    with AppServer(recording(create_app(), kept), path="/aircore/callbacks") as server:
        check(server.url)
    path.write_text(json.dumps(kept), encoding="utf-8")
    return len(kept)


def check_beside_floor(create_app: Any, rounds: int, cached_bytecode: bool) -> None:
    """Section 2: check and its floor, paired round by round against one receiver."""
    with tempfile.TemporaryDirectory() as folder, Lab(cached_bytecode) as lab:
        requests = Path(folder) / "requests.json"
        count = record_check_requests(create_app, requests)
        floor_script = Path(folder) / "floor.py"
        floor_script.write_text(FLOOR, encoding="utf-8")
        with receiver_process() as url:
            argv = [*aircore_cli(), "check", "--target", url, "--seed", "1"]
            contenders = [
                Contender("check", [*argv, "--format", "json"]),
                Contender("aiohttp floor", [sys.executable, str(floor_script), url, str(requests)]),
            ]
            print(f"   {count} requests; {load_average()}")
            runs = paired(lab, contenders, rounds)
        ours, floor = runs["check"], runs["aiohttp floor"]
        report = json.loads(ours[-1].stdout)
        sent = sum(r["requests"] for r in report["results"])
        answered = {int(r.stdout) for r in floor}
        print(f"   check sent {sent} (ok={report['ok']}); the floor posted {sorted(answered)}")
        for name, mine in runs.items():
            peaks = [r.peak_mib for r in mine if r.peak_mib is not None]
            print(
                f"   {name:14} {spread([r.wall for r in mine], 2)} s wall,"
                f" {spread([r.cpu for r in mine], 2)} s CPU, peak {spread(peaks, 1)} MiB"
            )
        median = statistics.median(r.wall / f.wall for r, f in zip(ours, floor, strict=True))
        fast = statistics.median(r.wall for r in ours)
        print(f"   check's median {fast:.2f} s; aim 3 s: {verdict(fast <= 3.0)}")
        print(
            f"   check / floor: {ratio_line(ours, floor)} by wall time,"
            f" {ratio_line(ours, floor, 'cpu')} by CPU ({rounds} rounds);"
            f" aim {AIM_RATIO}x: {verdict(median <= AIM_RATIO)}"
        )
        bytecode = "cached, as an installed package's" if cached_bytecode else "as set here"
        print(f"   bytecode {bytecode}; {load_average()}")


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
    parser.add_argument("--rounds", type=int, default=7, help="paired rounds of section 2 [7]")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="section 2 with this environment's bytecode setting (PYTHONDONTWRITEBYTECODE=1 "
        "here compiles an editable install's modules on every start)",
    )
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

    print("2. aircore-mock check against the Starlette example on 127.0.0.1, beside its floor")
    check_beside_floor(create_app, args.rounds, not args.no_bytecode_cache)
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
