"""What pytest plugins cost every pytest run: `pytest --collect-only` on a one-test file.

1. The aircore-mock plugin, in this environment: with it loaded (the default, since it is
   installed) and with `-p no:aircore_mock`; and the same pair with plugin auto-loading off
   and only ours loaded by `-p`, where the difference is the plugin's own cost (other
   auto-loaded plugins, such as Hypothesis's and Faker's, make each run vary by tens of
   milliseconds). Target: under 20 ms added.
2. Faker's own pytest plugin, which comes with aircore-mock's `faker` dependency, in a
   user's environment: a fresh venv with only aircore-mock (and pytest) installed from this
   checkout (`--user-venv`, made if missing), `pytest --collect-only` with and without
   `-p no:faker`. Bytecode both as a user's install has it (written once, then cached) and
   as set on this machine (`PYTHONDONTWRITEBYTECODE=1`: pytest then rewrites the plugins'
   modules on every run).

Every pair runs round by round (A B A B), each run a fresh process; wall time, CPU and peak
memory (the process's own VmHWM); the paired differences and ratios with their min-max.

    python benchmarks/bench_plugin.py [--runs N] [--user-venv DIR] [--skip-user-venv]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _paired import Contender, Lab, Run, load_average, paired, ratio_line, spread

ROOT = Path(__file__).resolve().parents[1]
TRIVIAL = "def test_nothing():\n    assert True\n"
TARGET_MS = 20.0


def _pair_lines(on: list[Run], off: list[Run], on_name: str, off_name: str) -> list[str]:
    lines = []
    for name, runs in ((on_name, on), (off_name, off)):
        peaks = [r.peak_mib for r in runs if r.peak_mib is not None]
        lines.append(
            f"    {name:34} {spread([r.wall for r in runs], 1, 1000)} ms wall,"
            f" {spread([r.cpu for r in runs], 1, 1000)} ms CPU, peak {spread(peaks, 1)} MiB"
        )
    added = [a.wall - b.wall for a, b in zip(on, off, strict=True)]
    memory = [
        a.peak_mib - b.peak_mib
        for a, b in zip(on, off, strict=True)
        if a.peak_mib is not None and b.peak_mib is not None
    ]
    lines.append(
        f"    added: {spread(added, 1, 1000)} ms wall, {spread(memory, 1)} MiB peak;"
        f" ratio {ratio_line(on, off)} by wall time, {ratio_line(on, off, 'cpu')} by CPU"
    )
    return lines


def ours(runs: int, cwd: Path) -> None:
    """Section 1: the aircore-mock plugin in this environment."""
    base = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    isolated = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    contenders = [
        Contender("installed, with the plugin", base, cwd),
        Contender("installed, -p no:aircore_mock", [*base, "-p", "no:aircore_mock"], cwd),
        Contender(
            "isolated, -p aircore_mock_pytest.plugin",
            [*base, "-p", "aircore_mock_pytest.plugin"],
            cwd,
            isolated,
        ),
        Contender("isolated, no plugin", base, cwd, isolated),
    ]
    with Lab() as lab:
        measured = paired(lab, contenders, runs)
    print(f"1. the aircore-mock plugin: pytest --collect-only -q, {runs} rounds, medians (min-max)")
    for title, (on, off) in {
        "installed (all auto-loaded plugins)": (contenders[0], contenders[1]),
        "isolated (auto-loading off)": (contenders[2], contenders[3]),
    }.items():
        print(f"  {title}")
        print("\n".join(_pair_lines(measured[on.name], measured[off.name], on.name, off.name)))
        added = statistics.median(
            a.wall - b.wall for a, b in zip(measured[on.name], measured[off.name], strict=True)
        )
        verdict = "met" if added * 1000 < TARGET_MS else "MISSED"
        print(f"    target < {TARGET_MS:.0f} ms added: {verdict}")


def user_venv(folder: Path) -> Path:
    """The python of a venv holding aircore-mock installed from this checkout (made if
    missing: a minute or two)."""
    python = folder / "bin" / "python"
    if not python.exists():
        print(f"   making {folder}: python -m venv, pip install {ROOT} pytest", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT), "pytest"], check=True)
    return python


def fakers(runs: int, cwd: Path, folder: Path) -> None:
    """Section 2: Faker's plugin in a user's environment."""
    python = user_venv(folder)
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    wanted = ("aircore-mock", "aircore_mock", "faker", "Faker", "pytest", "hypothesis")
    versions = [p for p in listed if p.split("==")[0] in wanted]
    print(f"2. Faker's plugin in a user's venv ({folder}: {', '.join(versions)})")
    base = [str(python), "-m", "pytest", "--collect-only", "-q"]
    for cached in (True, False):
        contenders = [
            Contender("pytest --collect-only", base, cwd),
            Contender("pytest --collect-only -p no:faker", [*base, "-p", "no:faker"], cwd),
        ]
        with Lab(cached_bytecode=cached) as lab:
            measured = paired(lab, contenders, runs)
        how = "written and cached, as a user's" if cached else "not written (as set here)"
        print(f"  bytecode {how}: {runs} rounds, medians (min-max)")
        on, off = (measured[c.name] for c in contenders)
        print("\n".join(_pair_lines(on, off, contenders[0].name, contenders[1].name)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="paired rounds [10]")
    parser.add_argument(
        "--user-venv",
        type=Path,
        default=Path(tempfile.gettempdir()) / "fakervenv",
        help="a venv with aircore-mock installed from this checkout [/tmp/fakervenv]",
    )
    parser.add_argument("--skip-user-venv", action="store_true", help="leave out section 2")
    args = parser.parse_args(argv)
    print(load_average())
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "test_trivial.py").write_text(TRIVIAL, encoding="utf-8")
        ours(args.runs, cwd)
        if not args.skip_user_venv:
            fakers(args.runs, cwd, args.user_venv)
    print(load_average())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
