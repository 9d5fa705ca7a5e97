"""Benchmark `aircore-mock serve`: whole lifecycles per second beside a minimal fake's.

Run:  python benchmarks/bench_fake.py [--quick] [--runs N] [--recordings N] [-c N]
                                      [--s3-recordings N] [--no-s3] [--also CHECKOUT]

Contenders, each server in its own process, all up for the whole benchmark; each round runs
every one once, in turn (A B A B), and ratios are taken within a round:
- `aircore-mock serve --instant --quiet`;
- its floor: a minimal raw-ASGI fake (`FLOOR_CHILD`) under the same uvicorn + httptools
  setup, taking the same requests and sending the same three callbacks with aiohttp;
- with `--also CHECKOUT`, the `serve --instant` of another checkout of this repository
  (`git archive <commit> | tar -x -C DIR`): before and after, paired;
- `serve --instant --s3 local`: every recording PUT to the embedded S3 through boto3 before
  its upload callback (in instant mode the recordings last a few ms, so each object is a
  one-frame .m4a: this measures the upload path, not the encoding);
- bare boto3 PUTs of the same object to an embedded moto S3, in this process: the ceiling of
  the upload figure.
A client (aiohttp, `-c` concurrent tasks) starts each recording with a callback URL on a fast
local receiver (nginx answering 204 if found, else a bare uvicorn app), then stops it. A
lifecycle counts once the server has delivered its three callbacks (recording-started,
recording-stopped, recording-uploaded), read from its control API. The processes share the
machine's cores. Printed: medians over rounds with the spread (min-max) of lifecycles/s,
each server process's CPU time per lifecycle (/proc/PID/stat) and POST /recording's
latency; serve's time and CPU per lifecycle over the floor's, paired by round; each server's
peak memory, its own VmHWM; then the time PyAV takes to make the object of a 1-minute, a
1-hour and a 3-hour recording (in this process). Nothing here asserts on time: the aims are
printed as "met" or "MISSED".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (  # benchmarks/ is on sys.path
    HOST,
    aircore_cli,
    free_port,
    machine_line,
    rate,
    server_204,
    spread,
    stop,
    verdict,
    wait_listening,
)

AIM_LIFECYCLES = 500.0
AIM_P99_MS = 20.0
AIM_FLOOR_RATIO = 1.3
"""`serve --instant`'s time per lifecycle over the minimal ASGI fake's, at most."""


BODY = {
    "storage": {
        "filename": "record",
        "s3": {
            "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "bucket": "acme-recordings",
            "region": "eu-west-1",
        },
    },
    "location": {"latitude": 50.1, "longitude": 8.7},
    "user_id": "bench",
    "channel_id": "bench",
}

# argv: host, port. The floor: the least code that does serve --instant's job for this
# client. A raw ASGI app under the same uvicorn + httptools setup (access log off, no proxy
# headers, no server header), that takes the same start and stop requests (bearer key, JSON
# body, the stop URL it answered) and delivers the same three callbacks a lifecycle, of the
# same shapes and sizes, with aiohttp (one session per callback URL, 64 connections, as the
# fake's 64 lanes), each recording's in order; plus the two control requests the client
# makes (reset, and the summary it polls). What it leaves out is what a fake adds: the
# schema check, secrets kept out of everything it writes, the journal, the control page,
# injected faults, the connection and time limits.
FLOOR_CHILD = r"""
import asyncio
import itertools
import sys
import time
from urllib.parse import quote, unquote

import aiohttp
import orjson
import uvicorn

HOST, PORT = sys.argv[1], int(sys.argv[2])
PUBLIC = f"http://{HOST}:{PORT}/recording/"
JSON = [(b"content-type", b"application/json")]
counts = {"in-flight": 0}
sessions = {}
chains = {}  # recording URL -> the task delivering its latest callback (order per recording)
recordings = {}
serial = itertools.count()


async def deliver(previous, target, body, key, last):
    if previous is not None:
        await previous
    session = sessions.get(target)
    if session is None:
        connector = aiohttp.TCPConnector(limit=64)
        headers = {"content-type": "application/json", "user-agent": "floor"}
        session = sessions[target] = aiohttp.ClientSession(connector=connector, headers=headers)
    try:
        async with session.post(target, data=body) as answer:
            await answer.read()
            outcome = "delivered" if 200 <= answer.status < 300 else "rejected"
    except Exception:
        outcome = "error"
    counts["in-flight"] -= 1
    counts[outcome] = counts.get(outcome, 0) + 1
    if last and chains.get(key) is asyncio.current_task():
        del chains[key]


def callback(key, target, payload, last=False):
    counts["in-flight"] += 1
    body = orjson.dumps(payload)
    chains[key] = asyncio.ensure_future(deliver(chains.get(key), target, body, key, last))


def start(body):
    now = time.time_ns() // 1_000_000
    number = next(serial)
    url = (
        f"http://vandenberg-i-{number:017x}-eu-central-1.prod.airtime.com:8080"
        f"/recording/{now}-0-{number}"
    )
    storage = body["storage"]
    recordings[url] = (now, body["callback_url"], storage["filename"], storage["s3"])
    resource = {"url": url, "state": "started", "startTime": now, "elapsedTime": 0}
    callback(url, body["callback_url"], {"event": "recording-started", "timestamp": now,
                                         "recording": resource})
    answer = dict(resource, url=PUBLIC + quote(url, safe=""))
    return 200, orjson.dumps(answer)


def stop(url):
    found = recordings.pop(url, None)
    if found is None:
        return 404, b'{"status":404,"message":"recording not found"}'
    began, target, filename, s3 = found
    now = time.time_ns() // 1_000_000
    recording = {"url": url, "state": "stopped", "startTime": began,
                 "elapsedTime": now - began, "reason": "clientStopped"}
    callback(url, target, {"event": "recording-stopped", "timestamp": now, "recording": recording})
    region = s3["region"]
    address = (f"https://{s3['bucket']}.s3.{region}.amazonaws.com/{filename}_"
               f"{url.rsplit('/', 1)[1]}.m4a")
    uploaded = {"url": url, "state": "stopped", "startTime": began,
                "elapsedTime": now - began, "location": {"address": address, "region": region}}
    callback(url, target, {"event": "recording-uploaded", "timestamp": now,
                           "recording": uploaded}, last=True)
    return 204, b""


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for session in sessions.values():
                    await session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    data, more = b"", True
    while more:
        message = await receive()
        data += message.get("body", b"")
        more = message.get("more_body", False)
    method, path = scope["method"], scope["path"]
    status, answer = 404, b'{"status":404,"message":"no such endpoint"}'
    if path.startswith("/recording"):
        key = dict(scope["headers"]).get(b"authorization", b"")
        if not key.startswith(b"Bearer ") or len(key) < 8:
            status, answer = 401, b'{"status":401,"message":"missing bearer token"}'
        elif path == "/recording" and method == "POST":
            status, answer = start(orjson.loads(data))
        elif path.startswith("/recording/") and method == "DELETE":
            status, answer = stop(unquote(scope["raw_path"].decode("latin-1")[11:]))
    elif path == "/_aircore-mock/" and method == "GET":
        status, answer = 200, orjson.dumps({"summary": {"deliveries": counts}})
    elif path == "/_aircore-mock/reset" and method == "POST":
        recordings.clear()
        chains.clear()
        counts.clear()
        counts["in-flight"] = 0
        status, answer = 204, b""
    headers = [*JSON, (b"content-length", b"%d" % len(answer))] if answer else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


uvicorn.run(app, host=HOST, port=PORT, http="httptools", log_level="warning",
            access_log=False, lifespan="on", proxy_headers=False, server_header=False)
"""


@dataclass
class Contender:
    """A server under test, in its own process: how to call it, and its own CPU and memory."""

    name: str
    base: str
    pid: int
    recordings: int
    runs: list[dict[str, float]] = field(default_factory=list)

    def cpu_s(self) -> float:
        """CPU time (user + system, every thread) the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def vm_hwm_mib(self) -> float | None:
        """The process's own peak resident memory (VmHWM), in MiB: read from the process
        itself, since a child's `ru_maxrss` carries its parent's peak across the fork."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None


@contextlib.contextmanager
def receiver(tmp: Path) -> Iterator[tuple[str, str]]:
    """(name, URL) of a local server answering 204: nginx if found, else uvicorn."""
    with server_204(tmp) as (name, url, _pid):
        yield name, url + "aircore/callbacks"


@contextlib.contextmanager
def fake_server(
    tmp: Path, *, s3: bool = False, checkout: Path | None = None
) -> Iterator[tuple[str, int]]:
    """(base URL, pid) of `aircore-mock serve --instant --quiet` in its own process: this
    venv's, or with `checkout` the code of that checkout (`python -m aircore_mock` with it
    first on PYTHONPATH, run from outside both)."""
    ready = tmp / ("ready-s3" if s3 else "ready-other" if checkout else "ready")
    cli, env, cwd = aircore_cli(), None, None
    if checkout is not None:
        cli = [sys.executable, "-m", "aircore_mock"]
        env = dict(os.environ, PYTHONPATH=str(checkout.resolve()))
        cwd = tmp
    command = [*cli, "serve", "--port", "0", "--ready-file", str(ready)]
    command += ["--instant", "--quiet", "--seed", "1"]
    if s3:
        command += ["--s3", "local", "--s3-bucket", "eu-west-1/acme-recordings"]
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    try:
        deadline = time.monotonic() + 30
        while not (ready.is_file() and ready.read_text().endswith("\n")):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("aircore-mock serve did not start")
            time.sleep(0.02)  # poll interval, not a start-up delay
        yield "http://" + ready.read_text().strip(), proc.pid
    finally:
        stop(proc)


@contextlib.contextmanager
def floor_server() -> Iterator[tuple[str, int]]:
    """(base URL, pid) of the minimal ASGI fake (`FLOOR_CHILD`) in its own process."""
    port = free_port()
    argv = [sys.executable, "-c", FLOOR_CHILD, HOST, str(port)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        wait_listening(proc, port)
        yield f"http://{HOST}:{port}", proc.pid
    finally:
        stop(proc)


async def one_run(base: str, callback_url: str, recordings: int, tasks: int) -> dict[str, float]:
    import aiohttp

    body = dict(BODY, callback_url=callback_url)
    latencies: list[float] = []
    headers = {"authorization": "Bearer bench"}
    counter = iter(range(recordings))
    connector = aiohttp.TCPConnector(limit=tasks)
    async with aiohttp.ClientSession(base, connector=connector, headers=headers) as session:
        async with session.post("/_aircore-mock/reset") as answer:
            assert answer.status == 204

        async def worker() -> None:
            for _ in counter:
                began = time.perf_counter()
                async with session.post("/recording", json=body) as answer:
                    resource = await answer.json()
                latencies.append((time.perf_counter() - began) * 1000)
                assert answer.status == 200, resource
                async with session.delete(resource["url"]) as stopped:
                    assert stopped.status == 204

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        requests_done = time.perf_counter()
        expected = 3 * recordings
        deadline = time.monotonic() + 120
        while True:
            async with session.get("/_aircore-mock/") as answer:
                summary = (await answer.json())["summary"]
            done = sum(summary["deliveries"].get(k, 0) for k in summary["deliveries"])
            done -= summary["deliveries"].get("in-flight", 0)
            if done >= expected:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {done} of {expected} callbacks after 120 s")
            await asyncio.sleep(0.005)  # poll interval of the control API
        finished = time.perf_counter()
    delivered = summary["deliveries"].get("delivered", 0)
    if delivered != expected:
        raise RuntimeError(f"{expected - delivered} callbacks were not delivered: {summary}")
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "lifecycles_per_s": recordings / (finished - began),
        "requests_s": requests_done - began,
        "p50_ms": cuts[49],
        "p99_ms": cuts[98],
    }


def measured_run(contender: Contender, callback_url: str, tasks: int) -> dict[str, float]:
    """One timed run against `contender`, with the CPU its process spent on it."""
    cpu = contender.cpu_s()
    result = asyncio.run(one_run(contender.base, callback_url, contender.recordings, tasks))
    result["cpu_us"] = (contender.cpu_s() - cpu) / contender.recordings * 1e6
    contender.runs.append(result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--runs", type=int, default=None, help="timed runs [default: 5, quick 2]")
    parser.add_argument("--recordings", type=int, default=None, help="per run [default: 2000]")
    parser.add_argument("-c", "--concurrency", type=int, default=16, help="client tasks [16]")
    parser.add_argument(
        "--s3-recordings", type=int, default=None, help="per run with uploads [default: 500]"
    )
    parser.add_argument("--no-s3", action="store_true", help="skip the real-upload figures")
    parser.add_argument(
        "--also",
        type=Path,
        metavar="CHECKOUT",
        help="one more contender: the serve of another checkout of this repository (a "
        "`git worktree` or `git archive` of another commit), paired with the rest",
    )
    args = parser.parse_args(argv)
    runs = args.runs or (2 if args.quick else 5)
    recordings = args.recordings or (200 if args.quick else 2_000)
    s3_recordings = args.s3_recordings or (100 if args.quick else 500)
    print(machine_line("serve", args.quick))
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        tmp = Path(folder)
        name, callback_url = stack.enter_context(receiver(tmp))
        serve = Contender("serve --instant", *stack.enter_context(fake_server(tmp)), recordings)
        floor = Contender("minimal ASGI fake", *stack.enter_context(floor_server()), recordings)
        contenders = [serve, floor]
        other: Contender | None = None
        if args.also is not None:
            base, pid = stack.enter_context(fake_server(tmp, checkout=args.also))
            other = Contender(f"serve --instant of {args.also}", base, pid, recordings)
            contenders.append(other)
        uploads: Contender | None = None
        puts: _RawPuts | None = None
        if not args.no_s3:
            base, pid = stack.enter_context(fake_server(tmp, s3=True))
            uploads = Contender("serve --instant --s3 local", base, pid, s3_recordings)
            contenders.append(uploads)
            puts = stack.enter_context(_raw_puts())
        print(f"receiver: {name}; fake: aircore-mock serve --instant at {serve.base}")
        print(
            f"{runs} rounds, each contender once a round in turn ({recordings:,} recordings a "
            f"run; {s3_recordings:,} with real uploads), {args.concurrency} client tasks"
        )
        for contender in contenders:  # warm-up: imports done, connections open
            asyncio.run(one_run(contender.base, callback_url, 100, args.concurrency))
        for number in range(runs):
            for contender in contenders:
                result = measured_run(contender, callback_url, args.concurrency)
                print(
                    f"  round {number + 1}, {contender.name}: "
                    f"{rate(result['lifecycles_per_s'])} lifecycles/s, "
                    f"{result['cpu_us']:,.0f} µs CPU each, POST /recording "
                    f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms"
                )
            if puts is not None:
                print(f"  round {number + 1}, bare boto3 PUTs: {rate(puts.run())} PUTs/s")
        memory = {c.name: c.vm_hwm_mib() for c in contenders}
        load = os.getloadavg()[0]
    _report(contenders, memory, other, uploads, puts)
    print(f"load average at the end: {load:.2f}")
    if not args.no_s3:
        _object_times(3 if args.quick else 7)
    return 0


def _report(
    contenders: list[Contender],
    memory: dict[str, float | None],
    other: Contender | None,
    uploads: Contender | None,
    puts: _RawPuts | None,
) -> None:
    serve, floor = contenders[0], contenders[1]
    print("median (min-max) over runs:")
    for contender in contenders:
        runs = contender.runs
        hwm = memory[contender.name]
        print(f"  {contender.name}:")
        print(
            f"    lifecycles/s (start, stop, 3 callbacks delivered): "
            f"{spread([r['lifecycles_per_s'] for r in runs], 0)}"
        )
        print(
            f"    CPU µs per lifecycle (the server's process): "
            f"{spread([r['cpu_us'] for r in runs], 0)}"
        )
        print(
            f"    POST /recording p50 ms: {spread([r['p50_ms'] for r in runs], 2)}; "
            f"p99 ms: {spread([r['p99_ms'] for r in runs], 2)}"
        )
        if hwm is not None:
            print(f"    peak memory (its own VmHWM): {hwm:,.1f} MiB")
    ratios = _over_floor(serve, floor)
    for contender in (serve, other):
        if contender is None:
            continue
        time_ratios = _over_floor(contender, floor)
        cpu = _over_floor(contender, floor, "cpu_us")
        print(f"{contender.name} / {floor.name}, paired by round:")
        print(f"  time per lifecycle: {ratio_spread(time_ratios)}")
        if cpu:
            print(f"  CPU per lifecycle: {ratio_spread(cpu)}")
    if uploads is not None:
        up = [
            u["lifecycles_per_s"] / s["lifecycles_per_s"]
            for s, u in zip(serve.runs, uploads.runs, strict=True)
        ]
        print(f"  with real uploads, lifecycles/s over serve --instant's: {ratio_spread(up)}")
    if puts is not None:
        print(
            f"  baseline: bare boto3 PUTs/s to an embedded moto S3, 4 threads: "
            f"{spread(puts.rates, 0)}"
        )
    per_s = [r["lifecycles_per_s"] for r in serve.runs]
    p99 = [r["p99_ms"] for r in serve.runs]
    print(
        f"aims: >= {AIM_LIFECYCLES:g} lifecycles/s "
        f"{verdict(statistics.median(per_s) >= AIM_LIFECYCLES)}; "
        f"p99 < {AIM_P99_MS:g} ms {verdict(statistics.median(p99) < AIM_P99_MS)}; "
        f"time per lifecycle <= {AIM_FLOOR_RATIO:g}x the floor's "
        f"{verdict(statistics.median(ratios) <= AIM_FLOOR_RATIO)}"
    )


def _over_floor(contender: Contender, floor: Contender, what: str = "time") -> list[float]:
    """The contender's time (or CPU) per lifecycle over the floor's, round by round."""
    pairs = zip(contender.runs, floor.runs, strict=True)
    if what == "time":
        return [f["lifecycles_per_s"] / c["lifecycles_per_s"] for c, f in pairs]
    return [c[what] / f[what] for c, f in pairs if f[what]]


def ratio_spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


@dataclass
class _RawPuts:
    """Baseline: bare boto3 PUTs of the same one-frame object to an embedded moto S3 (in this
    process, 4 threads as the fake's uploader): the ceiling of the upload figure."""

    client: Any
    body: bytes
    count: int = 300
    rates: list[float] = field(default_factory=list)

    def run(self) -> float:
        from concurrent.futures import ThreadPoolExecutor

        def put(index: int) -> None:
            self.client.put_object(Bucket="bench-baseline", Key=f"k{index}", Body=self.body)

        began = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(put, range(self.count)))
        self.rates.append(self.count / (time.perf_counter() - began))
        return self.rates[-1]


@contextlib.contextmanager
def _raw_puts() -> Iterator[_RawPuts]:
    from aircore_mock import LocalS3
    from aircore_mock.fake.media import silent_m4a

    with LocalS3() as s3:
        s3.create_bucket("bench-baseline", "eu-west-1")
        puts = _RawPuts(s3.client(), silent_m4a(10))
        puts.run()  # warm-up: boto3's client and moto's handlers loaded
        puts.rates.clear()
        yield puts


AIM_HOUR_S = 0.5


def _object_times(repeats: int) -> None:
    """Time to make the .m4a of a 1-minute and a 3-hour recording (PyAV), in this process."""
    from aircore_mock.fake.media import silent_m4a

    print(f"making the object (PyAV, 16 kHz mono AAC), {repeats} runs each:")
    silent_m4a(1_000)  # warm-up: FFmpeg's encoder and muxer loaded
    hour = None
    for label, elapsed in (("1 minute", 60_000), ("1 hour", 3_600_000), ("3 hours", 10_800_000)):
        times, size = [], 0
        for _ in range(repeats):
            began = time.perf_counter()
            size = len(silent_m4a(elapsed))
            times.append((time.perf_counter() - began) * 1000)
        if elapsed == 3_600_000:
            hour = statistics.median(times) / 1000
        print(f"  {label}: {spread(times, 1)} ms, {size / 1024:,.0f} KiB")
    assert hour is not None
    print(f"aim: an hour-long recording under {AIM_HOUR_S:g} s {verdict(hour < AIM_HOUR_S)}")


if __name__ == "__main__":
    sys.exit(main())
