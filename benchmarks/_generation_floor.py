"""The floor of generation: the least code that makes the same callbacks (plain dicts from
`random.Random` and f-strings). Imported by bench_generation.py for the in-process floor,
and run as a script for the CLI's floor: a per-line JSONL writer to stdout.

Run:  python benchmarks/_generation_floor.py RECORDINGS SEED REASON[,REASON...] [--peak]

It imports nothing of aircore_mock (the stop reasons come in argv), so that its start-up is
Python's and orjson's alone. With --peak it writes its own peak memory (VmHWM, KiB) to
stderr as `peak-kib N` when done.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from typing import Any

# Fixed strings: the same shapes as the generator's, with no provider behind them.
REGIONS = ("us-east-1", "us-west-2", "eu-central-1", "eu-west-1", "ap-south-1", "sa-east-1")
BUCKETS = ("acme-recordings", "globex-audio", "initech-media", "hooli-meetings")


def floor_callbacks(seed: int, recordings: int, stop_reasons: tuple[str, ...]) -> Iterator[Any]:
    """Happy-path lifecycles as plain dicts from `random.Random`: what generation costs at least.

    The same fields as the generator's callbacks: event, timestamp and recording {url, state,
    startTime, elapsedTime, and reason or location {address, region}}; no provider, no plan.
    """
    rng = random.Random(seed)
    randrange, choice, getrandbits = rng.randrange, rng.choice, rng.getrandbits
    start = 1_672_531_200_000
    for _ in range(recordings):
        recording_id = f"{start - randrange(20, 1500)}-{randrange(4)}-{randrange(100_000, 10**6)}"
        url = (
            f"http://vandenberg-i-{getrandbits(68):017x}-{choice(REGIONS)}"
            f".prod.airtime.com:8080/recording/{recording_id}"
        )
        elapsed = randrange(1_000, 3 * 3_600_000)
        stopped_at = start + elapsed
        region = choice(REGIONS)
        address = f"https://{choice(BUCKETS)}.s3.{region}.amazonaws.com/rec_{recording_id}.m4a"
        yield {
            "event": "recording-started",
            "timestamp": start,
            "recording": {"url": url, "state": "started", "startTime": start, "elapsedTime": 0},
        }
        yield {
            "event": "recording-stopped",
            "timestamp": stopped_at,
            "recording": {
                "url": url,
                "state": "stopped",
                "startTime": start,
                "elapsedTime": elapsed,
                "reason": choice(stop_reasons),
            },
        }
        yield {
            "event": "recording-uploaded",
            "timestamp": stopped_at + randrange(500, 60_000),
            "recording": {
                "url": url,
                "state": "stopped",
                "startTime": start,
                "elapsedTime": elapsed,
                "location": {"address": address, "region": region},
            },
        }
        start = stopped_at + randrange(1_000, 300_000)


def peak_kib() -> int:
    """This process's own peak resident memory (VmHWM), KiB; 0 where /proc has none."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main(argv: list[str]) -> int:
    import orjson

    recordings, seed, reasons = int(argv[0]), int(argv[1]), tuple(argv[2].split(","))
    # A line a write into stdout's buffer, as `aircore-mock generate --format jsonl` writes.
    write, dumps, newline = sys.stdout.buffer.write, orjson.dumps, orjson.OPT_APPEND_NEWLINE
    for callback in floor_callbacks(seed, recordings, reasons):
        write(dumps(callback, option=newline))
    sys.stdout.buffer.flush()
    if "--peak" in argv[3:]:
        sys.stderr.write(f"peak-kib {peak_kib()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
