"""Benchmark `aircore-mock validate -` on a big stdin whose first line is junk: peak memory.

Run:  python benchmarks/bench_validate_stream.py [--size-gb 1.0] [--shape junk-first|array]

A writer in this process pipes `--size-gb` of input into `aircore-mock validate -` (or
`validate FILE` for `--shape array`, a JSON array in a file without an extension): a junk
first line, then generated callbacks, one a line. The child's peak resident memory comes
from the kernel (ru_maxrss of the waited-for child); the aim is at most 50 MiB whatever the
size, printed as "met" or "MISSED", with lines per second beside it. Nothing asserts.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
from _common import aircore_cli, machine_line, verdict  # benchmarks/ is on sys.path

AIM_MIB = 50.0
GIB = 1024**3


def _block() -> tuple[bytes, int]:
    from aircore_mock import Generator

    lines = [orjson.dumps(c) for c in Generator(1).scenario("burst", count=200)]
    block = b"\n".join(lines) + b"\n"
    repeat = max(1, (4 << 20) // len(block))
    return block * repeat, len(lines) * repeat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0, help="input size [1.0]")
    parser.add_argument("--shape", choices=["junk-first", "array"], default="junk-first")
    args = parser.parse_args(argv)
    print(machine_line("validate streaming", args.size_gb < 1))
    size = int(args.size_gb * GIB)
    block, per_block = _block()
    outputs: dict[str, bytes] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        if args.shape == "array":
            path = Path(folder) / "captured"
            with path.open("wb") as out:
                out.write(b"[")
                written = 1
                while written < size:
                    chunk = block.replace(b"}\n{", b"},\n{").rstrip(b"\n") + b",\n"
                    out.write(chunk)
                    written += len(chunk)
                out.write(block.split(b"\n", 1)[0] + b"]")  # a valid last element
            sent, lines = written, written // len(block) * per_block
            started = time.perf_counter()
            done = subprocess.run([*aircore_cli(), "validate", "-q", str(path)], check=False)
            returncode = done.returncode
        else:
            child = subprocess.Popen(
                [*aircore_cli(), "validate", "-"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )

            def drain(name: str, stream: object) -> None:
                outputs[name] = stream.read()  # type: ignore[attr-defined]

            readers = [
                threading.Thread(target=drain, args=(n, s))
                for n, s in (("out", child.stdout), ("err", child.stderr))
            ]
            for reader in readers:
                reader.start()
            assert child.stdin is not None
            child.stdin.write(b"this line is not JSON\n")
            sent, lines = 0, 1
            while sent < size:
                child.stdin.write(block)
                sent += len(block)
                lines += per_block
            child.stdin.close()
            returncode = child.wait()
            for reader in readers:
                reader.join()
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{args.shape}: {sent / 2**20:,.0f} MiB, ~{lines:,} lines, exit code {returncode}")
    summary = outputs.get("out", b"").decode().strip().splitlines()[-1:] or ["(quiet)"]
    print(f"validate said: {summary[0]}")
    print(f"{elapsed:.1f} s ({lines / elapsed:,.0f} lines/s, writer included)")
    print(
        f"peak memory of validate: {peak:.1f} MiB; aim <= {AIM_MIB:g} MiB: "
        f"{verdict(peak <= AIM_MIB)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
