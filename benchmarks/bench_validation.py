"""Benchmark aircore-mock's validation: the library, the CLI on JSONL, the CLI on many files.

Run:  python benchmarks/bench_validation.py [--quick]

Every figure is the median of several runs and is printed beside a baseline measured in the
same run, as a ratio; compare ratios between machines, not absolute numbers. Nothing here
asserts on time: targets are printed as "met" or "MISSED". check-jsonschema is optional; when
it is not installed its baseline is skipped.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import aircore_mock

SEED = 20240611
TARGET_LIBRARY_PER_S = 300_000
TARGET_CLI_LINES_PER_S = 150_000
TARGET_FILES_SPEEDUP = 3.0

# AWS regions: where the recording server runs (in its host name) and where the bucket lives.
REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "sa-east-1",
)
BUCKETS = ("youraccount", "acme-recordings", "meet-archive", "calls-prod", "qa-media")
UPLOAD_ERRORS = (
    "Inaccessible host: `{bucket}.s3.{region}1111.amazonaws.com' at port `undefined'. "
    "This service may not be available in the `{region}1111' region.",
    "Access Denied",
    "The specified bucket does not exist",
    "Request has expired",
    "We encountered an internal error. Please try again.",
    "The AWS Access Key Id you provided does not exist in our records.",
    "Connection timed out after 120000ms",
)
UPLOAD_FAILURE_RATE = 0.15


@dataclass(frozen=True)
class Sizes:
    payloads: int  # distinct payloads for the library benchmark
    library_calls: int  # calls per timed run: aircore-mock and jsonschema-rs
    prebuilt_calls: int  # calls per timed run: prebuilt python-jsonschema validator
    validate_calls: int  # calls per timed run: jsonschema.validate()
    jsonl_lines: int
    files: int
    repeats: int


FULL = Sizes(4_000, 100_000, 2_000, 300, 100_000, 1_000, 5)
QUICK = Sizes(400, 10_000, 200, 30, 5_000, 100, 3)


# --------------------------------------------------------------------------- payloads


class PayloadFactory:
    """Distinct valid callbacks, made from the schemas' examples with seeded variations."""

    def __init__(self, seed: int) -> None:
        import random

        self.rng = random.Random(seed)
        self.examples = {
            event: aircore_mock.get_schema(event)["examples"]
            for event in aircore_mock.callback_types()
        }
        stopped = aircore_mock.get_schema("recording-stopped")
        self.stop_reasons: list[str] = stopped["properties"]["recording"]["properties"]["reason"][
            "enum"
        ]

    def _from_example(self, event: str) -> dict[str, Any]:
        return copy.deepcopy(self.rng.choice(self.examples[event]))

    def lifecycle(self) -> list[dict[str, Any]]:
        """started, stopped, then uploaded or (sometimes) upload-failed, for one recording."""
        rng = self.rng
        server_region = rng.choice(REGIONS)
        host = f"vandenberg-i-0{rng.getrandbits(64):016x}-{server_region}.prod.airtime.com:8080"
        start = 1_665_000_000_000 + rng.randrange(400 * 86_400_000)
        recording_id = f"{start}-{rng.randrange(4)}-{rng.randrange(100_000, 1_000_000)}"
        url = f"http://{host}/recording/{recording_id}"
        elapsed = rng.randrange(1_000, 3 * 3_600_000)

        started = self._from_example("recording-started")
        started["timestamp"] = start + rng.randrange(50)
        started["recording"].update(url=url, startTime=start, elapsedTime=0)

        stopped = self._from_example("recording-stopped")
        stopped_at = start + elapsed + rng.randrange(200)
        stopped["timestamp"] = stopped_at
        stopped["recording"].update(
            url=url, startTime=start, elapsedTime=elapsed, reason=rng.choice(self.stop_reasons)
        )

        bucket = rng.choice(BUCKETS)
        region = rng.choice(REGIONS)
        finished_at = stopped_at + rng.randrange(500, 60_000)
        if rng.random() < UPLOAD_FAILURE_RATE:
            last = self._from_example("recording-upload-failed")
            reason = rng.choice(UPLOAD_ERRORS).format(bucket=bucket, region=region)
            last["recording"].update(reason=reason)
        else:
            last = self._from_example("recording-uploaded")
            s3_host = rng.choice((f"{bucket}.s3.amazonaws.com", f"{bucket}.s3.{region}.amazonaws.com"))
            suffix = rng.choice(("m4a", "mp4", "webm"))
            location = {
                "address": f"https://{s3_host}/record_{recording_id}.{suffix}",
                "region": region,
            }
            last["recording"].update(location=location)
        last["timestamp"] = finished_at
        last["recording"].update(url=url, startTime=start, elapsedTime=elapsed)
        return [started, stopped, last]

    def payloads(self, count: int, shuffle: bool = True) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < count:
            out.extend(self.lifecycle())
        del out[count:]
        if shuffle:  # callbacks of many recordings arrive interleaved
            self.rng.shuffle(out)
        return out


def invalid_variants(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """A few broken copies of a valid payload, for the engines-agree sanity check."""
    variants = []
    for mutate in (
        lambda p: p.update(timestamp=-1),
        lambda p: p["recording"].update(url="not a uri"),
        lambda p: p["recording"].pop("startTime"),
        lambda p: p["recording"].update(state="paused"),
        lambda p: p.update(event="recording-paused"),
    ):
        broken = copy.deepcopy(payload)
        mutate(broken)
        variants.append(broken)
    return variants


# --------------------------------------------------------------------------- timing


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of `run()` over `repeats` runs (after one untimed warm-up)."""
    run()
    times = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times)


def calls_per_second(
    check: Callable[[Any], object], payloads: Sequence[Any], calls: int, repeats: int
) -> float:
    """Median payloads/s of `check` over `calls` payloads (cycling through `payloads`)."""
    seq = [payloads[i % len(payloads)] for i in range(calls)]

    def run() -> None:
        for payload in seq:
            check(payload)

    return calls / median_seconds(run, repeats)


def wall_seconds(argv: list[str], repeats: int, expect_rc: int = 0) -> tuple[float, str]:
    """Median wall time of a subprocess, and its stdout (the last run's); checks the exit code."""
    out = ""

    def run() -> None:
        nonlocal out
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if proc.returncode != expect_rc:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise RuntimeError(f"{Path(argv[0]).name} exited {proc.returncode}: {tail}")
        out = proc.stdout

    return median_seconds(run, repeats), out


# --------------------------------------------------------------------------- helpers


def find_script(name: str) -> str | None:
    """A console script next to this interpreter (the same venv), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which(name)


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def rate(value: float) -> str:
    return f"{value:,.0f}"


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:,.1f}x" if denominator else "n/a"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


