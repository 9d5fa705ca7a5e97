"""Benchmark `aircore-mock receive`: requests/s beside a bare uvicorn + httptools app.

Run:  python benchmarks/bench_receive.py [--quick] [--runs N] [--seconds S] [-c N]

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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _common import aircore_cli, machine_line, rate, verdict, version  # benchmarks/ on sys.path

HOST = "127.0.0.1"
AIM = 0.6
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_listening(proc: subprocess.Popen[bytes], port: int, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.02)  # poll interval, not a start-up delay
    raise RuntimeError(f"not listening on {port} after {limit:g} s")


@contextlib.contextmanager
def bare_server() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_APP, HOST, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(proc, port)
        yield port
    finally:
        stop(proc)


@contextlib.contextmanager
def receive_server(tmp: Path) -> Iterator[tuple[int, Path]]:
    ready, log = tmp / "ready", tmp / "receive.stderr"
    command = [*aircore_cli(), "receive", "--port", "0", "--ready-file", str(ready)]
    with log.open("wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 30
            while not (ready.is_file() and ready.read_text().endswith("\n")):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"aircore-mock receive did not start: {log.read_text()}")
                time.sleep(0.02)  # poll interval
            port = int(ready.read_text().strip().rsplit(":", 1)[1])
            yield port, log
        finally:
            stop(proc)


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


def measure(port: int, connections: int, seconds: float) -> float:
    per_s, statuses = asyncio.run(_drive(port, connections, seconds))
    if set(statuses) != {b"204"}:
        raise RuntimeError(f"unexpected answers: {statuses}")
    return per_s


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--runs", type=int, default=None, help="timed runs each [7, quick 2]")
    parser.add_argument("--seconds", type=float, default=None, help="per run [3, quick 1]")
    parser.add_argument("-c", "--connections", type=int, default=16, help="keep-alive [16]")
    args = parser.parse_args(argv)
    runs = args.runs or (2 if args.quick else 7)
    seconds = args.seconds or (1.0 if args.quick else 3.0)
    print(machine_line("receive", args.quick))
    print(
        f"uvicorn {version('uvicorn')}, httptools {version('httptools')}, "
        f"starlette {version('starlette')}; {runs} alternating runs of {seconds:g} s, "
        f"{args.connections} keep-alive connections"
    )
    with (
        tempfile.TemporaryDirectory() as folder,
        bare_server() as bare,
        receive_server(Path(folder)) as (receiver, log),
    ):
        if True:
            measure(bare, args.connections, min(seconds, 1.0))  # warm-up, untimed
            measure(receiver, args.connections, min(seconds, 1.0))
            figures: dict[str, list[float]] = {"bare": [], "receive": []}
            for number in range(runs):
                order = [("bare", bare), ("receive", receiver)]
                if number % 2:
                    order.reverse()  # neither always goes first
                for name, port in order:
                    figures[name].append(measure(port, args.connections, seconds))
                print(
                    f"  run {number + 1}: bare {rate(figures['bare'][-1])}/s, "
                    f"receive {rate(figures['receive'][-1])}/s"
                )
            problems = log.read_text(errors="replace").strip()
    ratios = [r / b for r, b in zip(figures["receive"], figures["bare"], strict=True)]
    ratio = statistics.median(figures["receive"]) / statistics.median(figures["bare"])
    print("requests/s, median (min-max) over runs:")
    print(f"  bare uvicorn + httptools app, 204: {spread(figures['bare'])}")
    print(f"  aircore-mock receive:              {spread(figures['receive'])}")
    print(
        f"  ratio of medians {ratio:.2f}x (per-run ratios {min(ratios):.2f}-{max(ratios):.2f}); "
        f"aim >= {AIM:g}x: {verdict(ratio >= AIM)}"
    )
    if "Traceback" in problems:
        print(f"receive wrote a traceback on stderr:\n{problems[-2000:]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
