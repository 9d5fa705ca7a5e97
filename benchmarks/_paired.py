"""Contenders run as processes of their own, one after the other in every round (A B A B),
each measured from outside: wall time, its own CPU time, and its own peak memory.

Why these ways of measuring:
- CPU comes from `os.wait4` on the one child: that child's user and system time, and
  nothing of this process.
- Peak memory is the child's own `VmHWM`, written at its exit by a `sitecustomize` module
  this helper puts first on the child's `PYTHONPATH` (Python children only). `ru_maxrss`
  of a child is not used: Linux carries the parent's high-water mark across fork and exec
  into it, so a small child reads as big as the benchmark that started it.
- Bytecode: these machines set `PYTHONDONTWRITEBYTECODE=1`, so an editable install compiles
  its own modules on every start, which an installed package never does. By default the
  children get a bytecode cache of their own (`PYTHONPYCACHEPREFIX` in a temporary folder,
  filled by the warm-up runs), as a user's install has; `cached_bytecode=False` keeps the
  environment as it is.
- Pairing: the ratio of two contenders is taken round by round (each round runs every
  contender once, in the same order), then its median and min-max; a load that comes and
  goes hits both sides of a pair alike.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# The child's own high-water mark, written where the benchmark asked, at its exit. The
# variable is removed at once so that the child's own children (a pytest-xdist worker, a
# spawned process) do not overwrite the figure with theirs.
_SITECUSTOMIZE = """\
import atexit
import os

_where = os.environ.pop("BENCH_VMHWM_FILE", None)


def _write_peak():
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(_where, "w", encoding="ascii") as out:
                    out.write(line.split()[1])
                return


if _where:
    atexit.register(_write_peak)
"""


@dataclass
class Run:
    """One run of one contender."""

    wall: float
    """Seconds from starting the process to having reaped it."""
    cpu: float
    """Seconds of CPU (user + system) the process used, its reaped children included."""
    peak_mib: float | None
    """The process's own VmHWM in MiB (None: not a Python process, or it did not exit
    normally)."""
    code: int
    stdout: bytes
    stderr: bytes


@dataclass
class Lab:
    """Where contenders run: a temporary folder for the memory hook, the bytecode cache and
    captured output. Use as a context manager."""

    cached_bytecode: bool = True
    memory: bool = True
    folder: Path = field(init=False)
    _tmp: tempfile.TemporaryDirectory[str] | None = field(init=False, default=None)
    _count: int = field(init=False, default=0)

    def __enter__(self) -> Lab:
        self._tmp = tempfile.TemporaryDirectory(prefix="aircore-bench-")
        self.folder = Path(self._tmp.name)
        (self.folder / "hook").mkdir()
        (self.folder / "hook" / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment every contender gets (the same for all, so the pairs are fair)."""
        env = dict(os.environ)
        if self.cached_bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(self.folder / "pycache")
        if self.memory:
            path = [str(self.folder / "hook"), env.get("PYTHONPATH", "")]
            env["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
        env.update(extra or {})
        return env

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> Run:
        """Run `argv` to its end (stdin empty, output captured in files, not pipes, so that
        the child is reaped by `wait4` with its own resource usage)."""
        self._count += 1
        out_path = self.folder / f"out-{self._count}"
        err_path = self.folder / f"err-{self._count}"
        peak_path = self.folder / f"peak-{self._count}"
        child_env = self.env(env)
        if self.memory:
            child_env["BENCH_VMHWM_FILE"] = str(peak_path)
        with out_path.open("wb") as out, err_path.open("wb") as err:
            began = time.perf_counter()
            proc = subprocess.Popen(
                list(argv), cwd=cwd, env=child_env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        peak = None
        if peak_path.exists():
            peak = int(peak_path.read_text(encoding="ascii")) / 1024
            peak_path.unlink()
        run = Run(
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            peak_mib=peak,
            code=proc.returncode,
            stdout=out_path.read_bytes(),
            stderr=err_path.read_bytes(),
        )
        out_path.unlink()
        err_path.unlink()
        if check and run.code != 0:
            raise RuntimeError(
                f"{' '.join(argv)} exited {run.code}:\n{run.stderr.decode(errors='replace')}"
            )
        return run


@dataclass
class Contender:
    """A named command, with what it needs to run."""

    name: str
    argv: Sequence[str]
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    codes: tuple[int, ...] = (0,)
    """Exit codes that count as a normal end."""


def paired(
    lab: Lab, contenders: Sequence[Contender], rounds: int, warmup: int = 1
) -> dict[str, list[Run]]:
    """Every contender once per round, in the given order, for `rounds` rounds (after
    `warmup` untimed rounds, which also fill the bytecode cache and the file cache)."""
    runs: dict[str, list[Run]] = {c.name: [] for c in contenders}
    for number in range(warmup + rounds):
        for contender in contenders:
            run = lab.run(contender.argv, cwd=contender.cwd, env=contender.env, check=False)
            if run.code not in contender.codes:
                raise RuntimeError(
                    f"{contender.name}: {' '.join(contender.argv)} exited {run.code}:\n"
                    f"{run.stderr.decode(errors='replace')[-2000:]}"
                )
            if number >= warmup:
                runs[contender.name].append(run)
    return runs


def spread(values: Sequence[float], digits: int = 0, scale: float = 1.0) -> str:
    """`median (min-max)`."""
    scaled = [v * scale for v in values]
    middle, low, high = statistics.median(scaled), min(scaled), max(scaled)
    return f"{middle:,.{digits}f} ({low:,.{digits}f}-{high:,.{digits}f})"


def ratios(mine: Sequence[Run], floor: Sequence[Run], what: str = "wall") -> list[float]:
    """Round-by-round ratios of one contender's figure to another's."""
    return [getattr(a, what) / getattr(b, what) for a, b in zip(mine, floor, strict=True)]


def ratio_line(mine: Sequence[Run], floor: Sequence[Run], what: str = "wall") -> str:
    """`1.23x (1.10-1.40)`: the median of the paired ratios and their spread."""
    values = ratios(mine, floor, what)
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
