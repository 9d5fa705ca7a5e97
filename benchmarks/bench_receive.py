"""Benchmark `aircore-mock receive`: requests/s beside a bare uvicorn + httptools app.

Run:  python benchmarks/bench_receive.py [--quick] [--runs N] [--seconds S] [-c N] [--ui]

Two servers run side by side, each in its own process: a bare ASGI app on uvicorn with
httptools that reads the body and answers 204 (the ceiling for anything on that stack), and
`aircore-mock receive --port 0` printing a line per request (to /dev/null), which parses,
validates, tracks order and answers 204. One client, a keep-alive raw-socket asyncio client
in this process (much cheaper per request than either server, so it measures them, not
itself), POSTs the same valid recording-uploaded callback over `-c` connections for a fixed
time. The runs alternate between the two servers so that a noisy neighbour hits both alike;
each figure is the median of the runs with the spread (min-max), and the ratio is taken
between the medians. Nothing asserts on time: the aim (>= 0.6x the bare app) is printed as
"met" or "MISSED".

With `--ui`, a third server runs in the same alternation: `receive --ui` with the inspector
page open, emulated as the page works: its event stream connected, and on each update the
window of rows it shows (the last 200, following the tail) fetched. The aim there: within
10% of `receive` without the page (>= 0.9x).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _common import (  # benchmarks/ is on sys.path
    HOST,
    aircore_cli,
    free_port,
    machine_line,
    rate,
    spread,
    stop,
    verdict,
    version,
    wait_listening,
)

AIM = 0.6
UI_AIM = 0.9
BARE_APP = r"""
import sys, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})

uvicorn.run(app, host=sys.argv[1], port=int(sys.argv[2]), log_level="warning",
            access_log=False, lifespan="off", http="httptools")
"""


def _callback() -> dict[str, object]:
    """A valid recording-uploaded callback, generated (seeded) as `send` would make it."""
    from aircore_mock import Generator

    deliveries = Generator(1).deliveries("uploaded")
    return next(d.callback for d in deliveries if d.callback["event"] == "recording-uploaded")


@contextlib.contextmanager
def bare_server() -> Iterator[tuple[int, int]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_APP, HOST, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(proc, port)
        yield port, proc.pid
    finally:
        stop(proc)


@contextlib.contextmanager
def receive_server(tmp: Path, *extra: str) -> Iterator[tuple[int, int, Path]]:
    ready, log = tmp / "ready", tmp / "receive.stderr"
    command = [*aircore_cli(), "receive", "--port", "0", "--ready-file", str(ready), *extra]
    with log.open("wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 30
            while not (ready.is_file() and ready.read_text().endswith("\n")):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"aircore-mock receive did not start: {log.read_text()}")
                time.sleep(0.02)  # poll interval
            port = int(ready.read_text().strip().rsplit(":", 1)[1])
            yield port, proc.pid, log
        finally:
            stop(proc)


PAGE = r"""
import json, sys, time, httpx
base = f"http://{sys.argv[1]}/_aircore-mock/api/"
updates, next_timelines = 0, 0.0
with httpx.Client(timeout=30) as client, client.stream("GET", base + "events") as events:
    for line in events.iter_lines():
        if line.startswith("data:"):
            count = json.loads(line[5:])["count"]
            offset = max(0, count - 1) // 200 * 200
            client.get(base + f"captures?offset={offset}&limit=200").raise_for_status()
            updates += 1
            print(updates, flush=True)
            if time.monotonic() >= next_timelines:
                client.get(base + "recordings?offset=0&limit=50").raise_for_status()
                next_timelines = time.monotonic() + 1
"""


@contextlib.contextmanager
def open_page(port: int) -> Iterator[list[int]]:
    """The inspector page, as it behaves when open, in a process of its own (as a browser
    is): its event stream, on each update a fetch of the rows it shows (the last 200), and
    once a second its recordings' timelines (the newest 50). Yields a list that holds, once
    the page is closed, how many updates it got."""
    updates = [0]
    with tempfile.TemporaryFile("w+") as out:
        page = subprocess.Popen(
            [sys.executable, "-c", PAGE, f"{HOST}:{port}"], stdout=out, stderr=subprocess.DEVNULL
        )
        try:
            yield updates
        finally:
            stop(page)
            out.seek(0)
            lines = out.read().split()
            updates[0] = int(lines[-1]) if lines else 0


class _Client(asyncio.Protocol):
    """One keep-alive connection that sends the next request as soon as an answer is in."""

    def __init__(self, request: bytes, until: float, done: asyncio.Future[None]) -> None:
        self.request, self.until, self.done = request, until, done
        self.buffer = b""
        self.answers = 0
        self.statuses: dict[bytes, int] = {}
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                length = int(head[marker + 15 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                return
            status = head[9:12]
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.buffer = self.buffer[end + 4 + length :]
            self.answers += 1
            if time.perf_counter() >= self.until:
                self.transport.close()  # type: ignore[union-attr]
                return
            self.transport.write(self.request)  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _drive(port: int, connections: int, seconds: float) -> tuple[float, dict[bytes, int]]:
    body = json.dumps(_callback()).encode()
    request = (
        f"POST / HTTP/1.1\r\nhost: {HOST}:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body
    loop = asyncio.get_running_loop()
    began = time.perf_counter()
    until = began + seconds
    clients = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        _, client = await loop.create_connection(
            lambda done=done: _Client(request, until, done), HOST, port
        )
        clients.append(client)
    await asyncio.wait_for(asyncio.gather(*(c.done for c in clients)), seconds + 30)
    elapsed = time.perf_counter() - began
    statuses: dict[bytes, int] = {}
    for client in clients:
        for status, count in client.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return sum(statuses.values()) / elapsed, statuses


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(port: int, connections: int, seconds: float, pid: int = 0) -> tuple[float, float]:
    """Requests/s, and the server's CPU microseconds per request (NaN without `pid`)."""
    before = cpu_seconds(pid) if pid else float("nan")
    per_s, statuses = asyncio.run(_drive(port, connections, seconds))
    used = cpu_seconds(pid) - before if pid else float("nan")
    if set(statuses) != {b"204"}:
        raise RuntimeError(f"unexpected answers: {statuses}")
    return per_s, used / sum(statuses.values()) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--runs", type=int, default=None, help="timed runs each [7, quick 2]")
    parser.add_argument("--seconds", type=float, default=None, help="per run [3, quick 1]")
    parser.add_argument("-c", "--connections", type=int, default=16, help="keep-alive [16]")
    parser.add_argument(
        "--ui", action="store_true", help="also receive --ui with the inspector page open"
    )
    args = parser.parse_args(argv)
    runs = args.runs or (2 if args.quick else 7)
    seconds = args.seconds or (1.0 if args.quick else 3.0)
    print(machine_line("receive", args.quick))
    print(
        f"uvicorn {version('uvicorn')}, httptools {version('httptools')}, "
        f"starlette {version('starlette')}; {runs} alternating runs of {seconds:g} s, "
        f"{args.connections} keep-alive connections"
    )
    names = {"bare": "bare uvicorn + httptools app, 204", "receive": "aircore-mock receive"}
    if args.ui:
        names["ui"] = "receive --ui, the page open"
    rates: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        bare = stack.enter_context(bare_server())
        *receiver, log = stack.enter_context(receive_server(Path(folder)))
        servers = {"bare": bare, "receive": tuple(receiver)}
        updates = [0]
        if args.ui:
            (Path(folder) / "ui").mkdir()
            *with_ui, _ = stack.enter_context(receive_server(Path(folder) / "ui", "--ui"))
            servers["ui"] = tuple(with_ui)
            updates = stack.enter_context(open_page(with_ui[0]))
        for port, pid in servers.values():
            measure(port, args.connections, min(seconds, 1.0), pid)  # warm-up, untimed
        for number in range(runs):
            order = list(names) if number % 2 == 0 else list(reversed(names))
            for name in order:  # alternating, so that neither always goes first
                per_s, us = measure(*servers[name][:1], args.connections, seconds, servers[name][1])
                rates[name].append(per_s)
                cpu[name].append(us)
            print(
                f"  run {number + 1}: "
                + ", ".join(
                    f"{name} {rate(rates[name][-1])}/s ({cpu[name][-1]:.0f} us CPU each)"
                    for name in names
                )
            )
        problems = log.read_text(errors="replace").strip()
    ratios = [r / b for r, b in zip(rates["receive"], rates["bare"], strict=True)]
    ratio = statistics.median(rates["receive"]) / statistics.median(rates["bare"])
    cpu_ratio = statistics.median(cpu["bare"]) / statistics.median(cpu["receive"])
    print("median (min-max) over runs:")
    for name, title in names.items():
        print(
            f"  {title:<36} {spread(rates[name])} requests/s, "
            f"{statistics.median(cpu[name]):.1f} us of server CPU a request"
        )
    print(
        f"  requests/s ratio of medians {ratio:.2f}x "
        f"(per-run {min(ratios):.2f}-{max(ratios):.2f}); by CPU a request {cpu_ratio:.2f}x"
    )
    print(f"aim: receive >= {AIM:g}x the bare app's requests/s: {verdict(ratio >= AIM)}")
    if args.ui:
        ui_ratio = statistics.median(rates["ui"]) / statistics.median(rates["receive"])
        per_run = [u / r for u, r in zip(rates["ui"], rates["receive"], strict=True)]
        print(
            f"  with the page open: ratio of medians {ui_ratio:.2f}x of receive without it "
            f"(per-run {min(per_run):.2f}-{max(per_run):.2f}); {updates[0]} live updates "
            f"reached the page, each followed by a fetch of its rows"
        )
        print(f"aim: receive --ui, page open >= {UI_AIM:g}x receive: {verdict(ui_ratio >= UI_AIM)}")
    if "Traceback" in problems:
        print(f"receive wrote a traceback on stderr:\n{problems[-2000:]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
