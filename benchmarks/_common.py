"""Helpers the benchmark scripts share: timing, formatting, finding tools."""

from __future__ import annotations

import gc
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path


def seconds(run: Callable[[], object]) -> float:
    """Wall time of one `run()`, with the garbage collector paused (as timeit does)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    finally:
        gc.enable()


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of `run()` over `repeats` runs (after one untimed warm-up)."""
    run()
    return statistics.median(seconds(run) for _ in range(repeats))


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


def aircore_cli() -> list[str]:
    """How to run `aircore-mock`: the console script of this venv, else `python -m`."""
    script = find_script("aircore-mock")
    return [script] if script else [sys.executable, "-m", "aircore_mock"]


def machine_line(title: str, quick: bool) -> str:
    """The first line every benchmark prints: which run, on what."""
    return (
        f"aircore-mock {title} benchmark ({'quick' if quick else 'full'}): "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}"
    )
