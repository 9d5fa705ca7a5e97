"""Benchmark `aircore-mock validate -` on a big stdin whose first line is junk: peak memory.

Run:  python benchmarks/bench_validate_stream.py [--size-gb 1.0] [--shape junk-first|array]
                                                 [--runs 3]

A writer in this process pipes `--size-gb` of input into `aircore-mock validate -` (or
`validate FILE` for `--shape array`, a JSON array in a file without an extension): a junk
first line, then generated callbacks, one a line. The peak resident memory is the measured
process's own: GNU time's (`/usr/bin/time -f %M`, which reads it from the kernel when its child
exits) when present, and in any case the child's `VmHWM` in /proc/PID/status, polled while it
runs (a lower bound: the last poll may come just before the peak). Never `ru_maxrss` of this
process's children: Linux starts a forked child's count at its parent's peak, so this
benchmark's own memory would show instead. The aim is at most 50 MiB whatever the size,
printed as "met" or "MISSED", with lines per second beside it; medians over `--runs` with the
spread (min-max). Nothing asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import orjson
from _common import aircore_cli, machine_line, spread, verdict  # benchmarks/ is on sys.path

AIM_MIB = 50.0
GIB = 1024**3
GNU_TIME = "/usr/bin/time"
POLL_S = 0.02


def _block() -> tuple[bytes, int]:
    from aircore_mock import Generator

    lines = [orjson.dumps(c) for c in Generator(1).scenario("burst", count=200)]
    block = b"\n".join(lines) + b"\n"
    repeat = max(1, (4 << 20) // len(block))
    return block * repeat, len(lines) * repeat


def _gnu_time() -> bool:
    """Whether /usr/bin/time is GNU time (it takes -f and -o)."""
    if not os.access(GNU_TIME, os.X_OK):
        return False
    done = subprocess.run(
        [GNU_TIME, "-f", "%M", "true"], capture_output=True, text=True, check=False
    )
    return done.returncode == 0 and done.stderr.strip().isdigit()


def _vmhwm_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None  # a zombie: its memory is gone


def _measured_pid(pid: int, wrapped: bool) -> int | None:
    """The validate process: `pid` itself, or GNU time's one child."""
    if not wrapped:
        return pid
    with contextlib.suppress(OSError, ValueError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return int(children[0]) if children else None
    return None


class Poller:
    """Polls a process's own peak (VmHWM) from another thread until stopped."""

    def __init__(self, pid: int, wrapped: bool) -> None:
        self.peak_kib = 0
        self._pid, self._wrapped = pid, wrapped
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        measured = None
        while not self._stop.wait(POLL_S):
            if measured is None:
                measured = _measured_pid(self._pid, self._wrapped)
                continue
            kib = _vmhwm_kib(measured)
            if kib is not None:
                self.peak_kib = max(self.peak_kib, kib)

    def stop(self) -> float:
        """The highest VmHWM seen, in MiB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024


def _run_once(
    argv: list[str], feed: Callable[[IO[bytes]], None] | None, timed: bool, folder: Path
) -> tuple[int, str, float | None, float]:
    """Exit code, validate's summary line, GNU time's peak (MiB; None without it) and the
    polled VmHWM peak (MiB) of one run."""
    report = folder / "time.txt"
    if timed:
        argv = [GNU_TIME, "-f", "%M", "-o", str(report), *argv]
    child = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    poller = Poller(child.pid, timed)
    outputs: dict[str, bytes] = {}

    def drain(name: str, stream: IO[bytes]) -> None:
        outputs[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=(n, s))
        for n, s in (("out", child.stdout), ("err", child.stderr))
    ]
    for reader in readers:
        reader.start()
    if feed is not None:
        assert child.stdin is not None
        feed(child.stdin)
        child.stdin.close()
    returncode = child.wait()
    for reader in readers:
        reader.join()
    polled = poller.stop()
    summary = outputs.get("out", b"").decode().strip().splitlines()[-1:] or ["(quiet)"]
    peak = None
    if timed:
        # GNU time writes its own line last (after "Command exited with non-zero status").
        peak = int(report.read_text().split()[-1]) / 1024
    return returncode, summary[0], peak, polled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0, help="input size [1.0]")
    parser.add_argument("--shape", choices=["junk-first", "array"], default="junk-first")
    parser.add_argument("--runs", type=int, default=3, help="runs [3]")
    args = parser.parse_args(argv)
    print(machine_line("validate streaming", args.size_gb < 1))
    timed = _gnu_time()
    print(
        "peak memory: "
        + ("GNU time's %M (the child's own, from the kernel) and " if timed else "")
        + f"the child's VmHWM polled every {POLL_S * 1e3:.0f} ms (a lower bound)"
    )
    size = int(args.size_gb * GIB)
    block, per_block = _block()
    peaks: list[float] = []
    polled: list[float] = []
    rates: list[float] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        feed: Callable[[IO[bytes]], None] | None = None
        if args.shape == "array":
            path = folder / "captured"
            with path.open("wb") as out:
                out.write(b"[")
                written = 1
                while written < size:
                    chunk = block.replace(b"}\n{", b"},\n{").rstrip(b"\n") + b",\n"
                    out.write(chunk)
                    written += len(chunk)
                out.write(block.split(b"\n", 1)[0] + b"]")  # a valid last element
            sent, lines = written, written // len(block) * per_block
            command = [*aircore_cli(), "validate", "-q", str(path)]
        else:
            command = [*aircore_cli(), "validate", "-"]
            sent, lines = 0, 1
            while sent < size:
                sent += len(block)
                lines += per_block

            def feed(stdin: IO[bytes]) -> None:
                stdin.write(b"this line is not JSON\n")
                written = 0
                while written < size:
                    stdin.write(block)
                    written += len(block)

        for _ in range(args.runs):
            started = time.perf_counter()
            returncode, summary, peak, seen = _run_once(command, feed, timed, folder)
            rates.append(lines / (time.perf_counter() - started))
            polled.append(seen)
            if peak is not None:
                peaks.append(peak)
    print(f"{args.shape}: {sent / 2**20:,.0f} MiB, ~{lines:,} lines, exit code {returncode}")
    print(f"validate said: {summary}")
    print(f"lines/s (writer included), {args.runs} runs: {spread(rates)}")
    print(f"peak memory of validate, VmHWM polled: {spread(polled, 1)} MiB")
    measured = peaks or polled
    if peaks:
        print(f"peak memory of validate, GNU time: {spread(peaks, 1)} MiB")
    worst = max(measured)
    print(f"aim <= {AIM_MIB:g} MiB in every run: {verdict(worst <= AIM_MIB)} ({worst:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
