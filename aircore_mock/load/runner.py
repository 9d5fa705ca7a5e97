"""Run Locust with aircore-mock's users (`aircore-mock load`), as a child process.

Importing locust patches the standard library through gevent, so this module never does: it
starts the `locust` command on the packaged locustfile (`aircore_mock/load/locustfile/`), passes
the test as Locust options, and reads the JSON summary that Locust's master (or single
process) writes when it quits. The users themselves live in `aircore_mock.load.users`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from ..errors import InputError, UsageError
from .summary import LoadSummary

INSTALL_HINT = "pip install 'aircore-mock[load]'"
DEFAULT_MASTER_PORT = 5557
"""Locust's own default: workers on other machines find the master there."""
_STARTUP_S = 120.0
"""Beyond run time and stop timeout: starting the processes and writing the reports."""
_EXPECT_WORKERS_S = 600.0
"""How long a headless master waits for its workers to connect before it gives up."""


def locustfile_path() -> str:
    """The ready locustfile, for `locust -f "$(aircore-mock load --locustfile)"`."""
    return str(Path(__file__).resolve().parent / "locustfile" / "locustfile.py")


def locust_available() -> bool:
    """Whether locust is installed (found without importing it: importing patches the stdlib)."""
    return importlib.util.find_spec("locust") is not None


_SPAN = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s?)?$")


def parse_timespan(text: str) -> int:
    """Seconds in a Locust time span: `90`, `90s`, `5m`, `1h30m`."""
    match = _SPAN.match(text.strip().lower()) if text else None
    if not match or not any(match.groupdict().values()):
        raise UsageError(f"bad time span {text!r}: expected e.g. 90s, 5m or 1h30m")
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    seconds = parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    if seconds < 1:
        raise UsageError(f"bad time span {text!r}: at least one second")
    return seconds


def check_reachable(url: str, timeout: float = 5.0) -> None:
    """An InputError unless a TCP connection to the URL's host and port opens.

    Only a connection, never a request: a probe POST would reach the receiver and make its
    count differ from Locust's.
    """
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror:  # worded as `send` and `check` word it
        raise InputError(f"cannot reach {url}: cannot resolve host {host!r}") from None
    except ConnectionRefusedError:
        raise InputError(f"cannot reach {url}: connection refused by {host}:{port}") from None
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise InputError(f"cannot reach {url}: {reason}") from None


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on `host` just now (for a master that only local workers join)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


# What a master sends its workers: given to a worker, each would be ignored.
_TEST_FIELDS = (
    "target",
    "users",
    "spawn_rate",
    "run_time",
    "scenario",
    "seed",
    "speed",
    "think_time",
    "stop_timeout",
    "expect_workers",
)
_TEST_LISTS = (("pins", "--set"), ("headers", "--header"), ("csv", "--csv"), ("html", "--html"))


@dataclass
class LoadPlan:
    """One `load` run: what Locust runs, in which role, and what it reports."""

    target: str | None = None
    users: int = 10
    spawn_rate: float = 10.0
    run_time: str | None = "1m"
    """A Locust time span; None runs until stopped (with `web`, until Ctrl-C)."""
    scenario: str = "mixed"
    seed: int | None = None
    pins: Sequence[str] = ()
    """`PATH=VALUE` assignments, as `--set` takes them."""
    speed: float | None = None
    think_time: float | None = None
    headers: Sequence[str] = ()
    """`Name: value` lines."""
    stop_timeout: int = 30
    """Seconds users get to finish the recording they play when the test stops (whole
    seconds: Locust's time spans have none smaller)."""
    processes: int | None = None
    master: bool = False
    worker: bool = False
    master_host: str | None = None
    master_port: int = DEFAULT_MASTER_PORT
    expect_workers: int | None = None
    csv: str | None = None
    html: str | None = None
    web: bool = False
    web_host: str = "127.0.0.1"
    extra: Sequence[str] = field(default_factory=tuple)
    """Further Locust options, passed as they are (after ours, so they win)."""
    _preflown: bool = field(default=False, init=False, repr=False, compare=False)

    def check(self) -> None:
        """Usage errors for options that contradict each other (no I/O: see `preflight`)."""
        if self.master and self.worker:
            raise UsageError("--master and --worker exclude each other: a process leads or follows")
        if self.worker and not self.master_host:
            raise UsageError("--worker needs --master-host: the machine that runs --master")
        if self.master_host and not self.worker:
            raise UsageError("--master-host is for --worker (a master listens; it does not dial)")
        if self.processes is not None and self.master:
            raise UsageError(
                "--processes runs its own master on this machine: drop --master, or run "
                "--worker --processes N on the other machines"
            )
        if self.expect_workers is not None and not self.master:
            raise UsageError("--expect-workers is for --master (--processes expects its own)")
        if self.worker and self.web:
            raise UsageError("--web is for the master: a worker has no web UI")
        if self.worker:
            # A worker runs what its master sends: options about the test would be ignored.
            given = [f"--{name.replace('_', '-')}" for name in _TEST_FIELDS if self._given(name)]
            given += [flag for name, flag in _TEST_LISTS if getattr(self, name)]
            if given:
                raise UsageError(
                    f"--worker takes its test from the master: drop {', '.join(given)}"
                )
        if not self.worker and not self.target:
            raise UsageError("--target is required: the URL of the receiver under load")
        if self.run_time is not None:
            parse_timespan(self.run_time)
        for option, path in (("--csv", self.csv), ("--html", self.html)):
            if path:
                # Locust would create the folders; like `generate -o`, make none unasked.
                folder = os.path.dirname(os.path.abspath(path))
                if not os.path.isdir(folder):
                    raise InputError(f"cannot write {option} {path}: no folder {folder}")

    def _given(self, name: str) -> bool:
        default = next(f.default for f in fields(self) if f.name == name)
        return bool(getattr(self, name) != default)

    def preflight(self) -> None:
        """Everything that can fail before Locust starts, each in one line: the options
        (`check`), Locust itself, and unless a worker, the URL, the headers, the scenario
        and pins, and a TCP connection to the target. Chooses the seed when none is given.
        Runs once: `run_load` calls it again for free."""
        if self._preflown:
            return
        self.check()
        if not locust_available():
            raise InputError(f"locust is not installed: {INSTALL_HINT}")
        if not self.worker:
            from ..generation import Generator, parse_pins
            from ..seeds import new_seed
            from ..sending import check_url, parse_headers

            check_url(str(self.target))
            parse_headers(self.headers)
            if self.seed is None:
                self.seed = new_seed()
            # a bad scenario or pin fails here, in one line, before Locust starts
            next(Generator(self.seed).deliveries(self.scenario, **parse_pins(self.pins)))
            check_reachable(str(self.target))
        self._preflown = True

    def argv(self, summary_path: str | None) -> list[str]:
        """The `locust` command line (after the interpreter) for this plan."""
        args = ["-m", "locust", "-f", locustfile_path()]
        if self.processes is not None:
            args += ["--processes", str(self.processes)]
        if self.worker:
            args += ["--worker", "--master-host", str(self.master_host)]
            args += ["--master-port", str(self.master_port)]
            return [*args, *self.extra]
        if self.master:
            args += ["--master", "--master-bind-port", str(self.master_port)]
            args += ["--expect-workers", str(self.expect_workers or 1)]
            if not self.web:
                args += ["--expect-workers-max-wait", str(int(_EXPECT_WORKERS_S))]
        elif self.processes is not None:
            # The forked workers find their master on loopback; nothing else should.
            port = str(free_port())
            args += ["--master-bind-host", "127.0.0.1", "--master-bind-port", port]
            args += ["--master-port", port]
        args += ["--host", str(self.target), "-u", str(self.users), "-r", str(self.spawn_rate)]
        args += ["--stop-timeout", str(self.stop_timeout)]
        if self.web:
            args += ["--web-host", self.web_host]
            if self.run_time is not None:
                args += ["--autostart", "--run-time", self.run_time]
        else:
            # Locust's tables once, at the end: its periodic ones would repeat them on stderr.
            args += ["--headless", "--only-summary"]
            if self.run_time is not None:
                args += ["--run-time", self.run_time]
        args += ["--aircore-scenario", self.scenario]
        if self.seed is not None:
            args += ["--aircore-seed", str(self.seed)]
        for pin in self.pins:
            args += ["--aircore-set", pin]
        for header in self.headers:
            args += ["--aircore-header", header]
        if self.speed is not None:
            args += ["--aircore-speed", str(self.speed)]
        if self.think_time is not None:
            args += ["--aircore-think-time", str(self.think_time)]
        if summary_path is not None:
            args += ["--aircore-summary", summary_path]
        if self.csv:
            args += ["--csv", self.csv]
        if self.html:
            args += ["--html", self.html]
        return [*args, *self.extra]

    def time_bound(self) -> float | None:
        """How long the Locust process may take in all before it is stopped, or None."""
        if self.worker or self.run_time is None:
            return None  # a worker ends when its master says; an open run when stopped
        bound = parse_timespan(self.run_time) + self.stop_timeout + _STARTUP_S
        if self.master:
            bound += _EXPECT_WORKERS_S
        return bound


@dataclass
class LoadOutcome:
    """What a `load` run ended with: Locust's exit code and aircore-mock's summary."""

    returncode: int
    summary: LoadSummary | None
    """None for a worker (its master reports) or when Locust ended without writing one."""
    timed_out: bool = False
    usage_error: str | None = None
    """Locust's own usage error (`unrecognized arguments: --bogus`), when it refused its
    command line; its usage text is not passed on, only this line."""

    @property
    def ok(self) -> bool:
        """Every delivery got a 2xx, there was at least one, and the counts are exact."""
        if self.summary is None:
            return self.returncode == 0 and not self.timed_out
        return self.summary.ok

    @property
    def refused_options(self) -> bool:
        """Locust refused its command line (its usage error, exit code 2): no test ran."""
        return self.summary is None and self.returncode == 2 and not self.timed_out

    def failure_reason(self) -> str | None:
        """Why the run failed, in words, or None when it is `ok`."""
        if self.ok:
            return None
        if self.refused_options:
            return f"Locust refused its options: {self.usage_error or 'see above'}"
        if self.summary is None:
            why = "it ran past its time and was stopped" if self.timed_out else "see above"
            return f"Locust ended (exit code {self.returncode}) without a summary: {why}"
        return self.summary.failure_reason()


def run_load(
    plan: LoadPlan,
    *,
    python: str | None = None,
    env: dict[str, str] | None = None,
    on_started: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> LoadOutcome:
    """Run Locust for a plan in a child process and wait for it (bounded), then report.

    Ctrl-C and SIGTERM are passed on to Locust's processes, which then stop their users,
    finish the recordings in flight and write the summary.
    """
    plan.preflight()
    with tempfile.TemporaryDirectory(prefix="aircore-mock-load-") as folder:
        summary_path = None if plan.worker else os.path.join(folder, "summary.json")
        command = [python or sys.executable, *plan.argv(summary_path)]
        # A session of its own: a Ctrl-C in the terminal reaches Locust once, through us,
        # and only its main process (see _wait).
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            preexec_fn=_end_with_parent,
        )
        relay = _StderrRelay(child.stderr)  # type: ignore[arg-type]
        if on_started is not None:
            on_started(child)
        try:
            timed_out = _wait(child, plan.time_bound(), plan.stop_timeout)
        finally:
            relay.join()
        summary = None
        if summary_path is not None and os.path.exists(summary_path):
            with open(summary_path, encoding="utf-8") as handle:
                summary = LoadSummary.from_json(json.load(handle))
    return LoadOutcome(child.returncode, summary, timed_out, relay.usage_error)


def _end_with_parent() -> None:
    """In Locust's process, before it runs: a SIGTERM when the process that started it dies
    (even by SIGKILL), so that a killed `aircore-mock load` does not leave Locust loading the
    target until its run time ends. Linux only (prctl); elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


class _StderrRelay:
    """Passes Locust's stderr on to ours as it comes (its tables, its log), except a usage
    block (`usage: locust ...` up to `locust: error: ...`): argparse's page of text is held
    back and only its error line is kept, for `aircore-mock load` to say in one line."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.usage_error: str | None = None
        self._stream = stream
        self._thread = threading.Thread(target=self._run, name="locust stderr", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        held: list[bytes] = []
        for line in iter(self._stream.readline, b""):
            match = _USAGE_ERROR.match(line)
            if match:  # argparse's last line (Locust prints it with or without the usage)
                self.usage_error = match.group(1).decode("utf-8", "replace").strip()
                held = []
                continue
            if held or line.startswith(b"usage: "):
                held.append(line)
                if not line.startswith((b"usage: ", b" ", b"\t")):
                    self._write(b"".join(held))  # not argparse's after all
                    held = []
                continue
            self._write(line)
        self._write(b"".join(held))
        self._stream.close()

    @staticmethod
    def _write(data: bytes) -> None:
        if not data:
            return
        with contextlib.suppress(OSError, ValueError):  # our stderr closed: nobody reads
            out = getattr(sys.stderr, "buffer", None)
            if out is not None:
                out.write(data)
                out.flush()
            else:
                sys.stderr.write(data.decode("utf-8", "replace"))

    def join(self, timeout: float = 10.0) -> None:
        """Wait until Locust's stderr is closed (its processes are gone), within `timeout`."""
        self._thread.join(timeout)


# argparse's error line: `<prog>: error: <what>`, prog being locust or its script's name
_USAGE_ERROR = re.compile(rb"^(?:locust|[\w.-]+\.py): error: (.*)$")


def _wait(child: subprocess.Popen[bytes], bound: float | None, stop_timeout: float) -> bool:
    """Wait for Locust, passing signals on; past the bound, stop it. True if it timed out."""

    def pass_on(signum: int, _frame: Any) -> None:
        # As SIGTERM, which Locust always handles (a SIGINT ignored by whoever started us
        # stays ignored in the child), and to its main process only: with --processes, its
        # workers must live on until they have finished their recordings and reported.
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGTERM)

    saved: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            saved[signum] = signal.signal(signum, pass_on)
    try:
        try:
            child.wait(timeout=bound)
            return False
        except subprocess.TimeoutExpired:
            pass
        # Past the bound: SIGTERM lets Locust stop its users and write the summary.
        pass_on(signal.SIGTERM, None)
        try:
            child.wait(timeout=stop_timeout + 60)
        except subprocess.TimeoutExpired:
            _kill_group(child)
            child.wait(timeout=30)
        return True
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        # Whatever is left of the session we started (a master that did not end, workers
        # it forked and left behind) goes with it.
        _kill_group(child)
        if child.poll() is None:
            child.wait(timeout=30)


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
