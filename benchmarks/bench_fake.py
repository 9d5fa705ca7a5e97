"""Benchmark `aircore-mock serve`: whole lifecycles per second, and POST /recording latency.

Run:  python benchmarks/bench_fake.py [--quick] [--runs N] [--recordings N] [-c N]
                                      [--s3-recordings N] [--no-s3]

Beside today's figure, the same lifecycles with real uploads (`serve --s3 local`: every
recording PUT to the embedded S3 through boto3 before its upload callback; in instant mode
the recordings last a few ms, so each object is a one-frame .m4a: this measures the upload
path, not the encoding), and the time PyAV takes to make the object of a 1-minute and a
3-hour recording (in this process, median of several runs).

`aircore-mock serve --instant --quiet` runs in its own process; a client (aiohttp, `-c`
concurrent tasks) starts each recording with a callback URL on a fast local receiver (nginx
answering 204 if found, else a bare uvicorn app), then stops it. A lifecycle counts once the
fake has delivered its three callbacks (recording-started, recording-stopped,
recording-uploaded), read from the control API. The three processes share the machine's
cores. Every figure is the median of several runs, with the spread (min-max) beside it.
Nothing here asserts on time: the aims are printed as "met" or "MISSED".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _common import (  # benchmarks/ is on sys.path
    aircore_cli,
    machine_line,
    rate,
    server_204,
    spread,
    stop,
    verdict,
)

AIM_LIFECYCLES = 500.0
AIM_P99_MS = 20.0


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


@contextlib.contextmanager
def receiver(tmp: Path) -> Iterator[tuple[str, str]]:
    """(name, URL) of a local server answering 204: nginx if found, else uvicorn."""
    with server_204(tmp) as (name, url, _pid):
        yield name, url + "aircore/callbacks"


@contextlib.contextmanager
def fake_server(tmp: Path, *, s3: bool = False) -> Iterator[str]:
    ready = tmp / ("ready-s3" if s3 else "ready")
    command = [*aircore_cli(), "serve", "--port", "0", "--ready-file", str(ready)]
    command += ["--instant", "--quiet", "--seed", "1"]
    if s3:
        command += ["--s3", "local", "--s3-bucket", "eu-west-1/acme-recordings"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not (ready.is_file() and ready.read_text().endswith("\n")):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("aircore-mock serve did not start")
            time.sleep(0.02)
        yield "http://" + ready.read_text().strip()
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
    args = parser.parse_args(argv)
    runs = args.runs or (2 if args.quick else 5)
    recordings = args.recordings or (200 if args.quick else 2_000)
    print(machine_line("serve", args.quick))
    s3_recordings = args.s3_recordings or (100 if args.quick else 500)
    uploads: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        with receiver(tmp) as (name, callback_url):
            with fake_server(tmp) as base:
                print(f"receiver: {name}; fake: aircore-mock serve --instant at {base}")
                print(f"{runs} runs of {recordings:,} recordings, {args.concurrency} client tasks")
                results = _runs(base, callback_url, recordings, runs, args.concurrency)
            if not args.no_s3:
                with fake_server(tmp, s3=True) as base:
                    print(f"with real uploads (serve --s3 local): {runs} runs of {s3_recordings:,}")
                    uploads = _runs(base, callback_url, s3_recordings, runs, args.concurrency)
    per_s = [r["lifecycles_per_s"] for r in results]
    p50 = [r["p50_ms"] for r in results]
    p99 = [r["p99_ms"] for r in results]
    print("median (min-max) over runs:")
    print(f"  lifecycles/s (start, stop, 3 callbacks delivered): {spread(per_s, 0)}")
    print(f"  POST /recording p50 ms: {spread(p50, 2)}")
    print(f"  POST /recording p99 ms: {spread(p99, 2)}")
    if uploads:
        up = [r["lifecycles_per_s"] for r in uploads]
        print(f"  lifecycles/s with real uploads to the embedded S3: {spread(up, 0)}")
        print(f"    ({statistics.median(up) / statistics.median(per_s):.2f}x today's figure)")
    print(
        f"aims: >= {AIM_LIFECYCLES:g} lifecycles/s "
        f"{verdict(statistics.median(per_s) >= AIM_LIFECYCLES)}; "
        f"p99 < {AIM_P99_MS:g} ms {verdict(statistics.median(p99) < AIM_P99_MS)}"
    )
    if not args.no_s3:
        _raw_puts(3 if args.quick else 5)
        _object_times(3 if args.quick else 7)
    return 0


def _raw_puts(repeats: int, count: int = 300) -> None:
    """Baseline: bare boto3 PUTs of the same one-frame object to an embedded moto S3 (in this
    process, 4 threads as the fake's uploader): the ceiling of the upload figure above."""
    from concurrent.futures import ThreadPoolExecutor

    from aircore_mock import LocalS3
    from aircore_mock.fake.media import silent_m4a

    body = silent_m4a(10)
    rates = []
    with LocalS3() as s3:
        s3.create_bucket("bench-baseline", "eu-west-1")
        client = s3.client()

        def put(index: int) -> None:
            client.put_object(Bucket="bench-baseline", Key=f"k{index}", Body=body)

        for _ in range(repeats):
            began = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(put, range(count)))
            rates.append(count / (time.perf_counter() - began))
    print(f"  baseline: bare boto3 PUTs/s to an embedded moto S3, 4 threads: {spread(rates, 0)}")


def _runs(
    base: str, callback_url: str, recordings: int, runs: int, tasks: int
) -> list[dict[str, float]]:
    asyncio.run(one_run(base, callback_url, min(100, recordings), tasks))  # warm-up
    results = []
    for number in range(runs):
        result = asyncio.run(one_run(base, callback_url, recordings, tasks))
        results.append(result)
        print(
            f"  run {number + 1}: {rate(result['lifecycles_per_s'])} lifecycles/s, "
            f"POST /recording p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms"
        )
    return results


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
