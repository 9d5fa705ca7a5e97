"""What the aircore-mock pytest plugin adds to every pytest run: `--collect-only` start-up.

Runs `pytest --collect-only -q` on a trivial test file, alternating with the plugin loaded
(the default, since it is installed) and with `-p no:aircore_mock`, and prints the medians
and their difference. Target: under 20 ms added (median of 10).

    python benchmarks/bench_plugin.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIVIAL = "def test_nothing():\n    assert True\n"
TARGET_MS = 20.0


def _time(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise SystemExit(f"pytest failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each (default 10)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "test_trivial.py").write_text(TRIVIAL)
        base = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        with_plugin, without = [], []
        _time(base, cwd)  # warm the file cache once
        for _ in range(options.runs):
            with_plugin.append(_time(base, cwd))
            without.append(_time([*base, "-p", "no:aircore_mock"], cwd))
    on, off = statistics.median(with_plugin), statistics.median(without)
    added = on - off
    print("pytest --collect-only -q on a one-test file, median of", options.runs, "runs each")
    print(f"  with the aircore-mock plugin     {on:7.1f} ms")
    print(f"  with -p no:aircore_mock          {off:7.1f} ms")
    print(f"  added by the plugin              {added:7.1f} ms  ({on / off:.3f}x)")
    verdict = "met" if added < TARGET_MS else "MISSED"
    print(f"  target < {TARGET_MS:.0f} ms added: {verdict}")


if __name__ == "__main__":
    main()
