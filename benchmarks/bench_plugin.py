"""What the aircore-mock pytest plugin adds to every pytest run: `--collect-only` start-up.

Runs `pytest --collect-only -q` on a trivial test file, alternating with the plugin loaded
(the default, since it is installed) and with `-p no:aircore_mock`, and prints the medians
and their difference. Target: under 20 ms added (median of 10).

Other auto-loaded plugins (hypothesis, anyio, faker, ...) make each run vary by tens of
milliseconds, so the same pair is also measured with plugin auto-loading off and only
ours loaded by `-p`: the difference is then the plugin's own cost.

    python benchmarks/bench_plugin.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIVIAL = "def test_nothing():\n    assert True\n"
TARGET_MS = 20.0


def _time(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
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
        plain = {**os.environ}
        isolated = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        pairs = {
            "installed (all auto-loaded plugins)": (
                (base, plain),
                ([*base, "-p", "no:aircore_mock"], plain),
            ),
            "isolated (auto-loading off)": (
                ([*base, "-p", "aircore_mock_pytest.plugin"], isolated),
                (base, isolated),
            ),
        }
        timings: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in pairs}
        for pair in pairs.values():
            for args, env in pair:
                _time(args, cwd, env)  # warm the file cache
        for _ in range(options.runs):
            for name, ((on_args, on_env), (off_args, off_env)) in pairs.items():
                timings[name][0].append(_time(on_args, cwd, on_env))
                timings[name][1].append(_time(off_args, cwd, off_env))
    print(f"pytest --collect-only -q on a one-test file, median of {options.runs} runs each")
    for name, (with_plugin, without) in timings.items():
        on, off = statistics.median(with_plugin), statistics.median(without)
        added = on - off
        verdict = "met" if added < TARGET_MS else "MISSED"
        print(f"  {name}")
        print(f"    with the aircore-mock plugin   {on:7.1f} ms")
        print(f"    without it                     {off:7.1f} ms")
        print(
            f"    added by the plugin            {added:7.1f} ms  ({on / off:.3f}x); "
            f"target < {TARGET_MS:.0f} ms: {verdict}"
        )


if __name__ == "__main__":
    main()
