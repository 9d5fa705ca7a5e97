"""What the commands print and how they end: exit codes, styles (NO_COLOR), the stdout writer
of the servers, the progress lines, the ready file, Ctrl-C and SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn

import click

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""SIGTERM (a CI timeout, `kill`) stops like Ctrl-C: the summary still prints."""


class InputProblem(click.ClickException):
    """Unreadable input: reported on one line, exit code 2."""

    exit_code = EXIT_USAGE


def fail_usage(message: str) -> NoReturn:
    raise click.UsageError(message)


def echo_lines(lines: Iterable[str | None], *, err: bool = False) -> None:
    """Each line that is not None."""
    for line in lines:
        if line is not None:
            click.echo(line, err=err)


def exit_with(code: int, error: str | None = None) -> NoReturn:
    """End the command: `error: ...` on stderr first, if given."""
    if error is not None:
        click.echo(f"error: {error}", err=True)
    sys.exit(code)


def report_seed(given: int | None, chosen: int) -> None:
    """Name the seed a run chose, so that it can be run again (nothing when one was given)."""
    if given is None:
        click.echo(f"aircore-mock: seed {chosen} (pass --seed {chosen} to reproduce)", err=True)


def style() -> Any:
    """click.style, or plain text under NO_COLOR (no-color.org); click itself strips colour
    when stdout is not a terminal."""
    if os.environ.get("NO_COLOR"):
        from ..reporting.text import plain

        return plain
    return click.style


def writer_style() -> Any:
    """The style for lines a `LineWriter` prints: it writes past click, which would strip
    colour for a pipe or a file, so choose plain text for those here."""
    if not sys.stdout.isatty():
        from ..reporting.text import plain

        return plain
    return style()


class Text(str):
    """A line that is already rendered (the writer prints it as it is)."""


def stdout_writer(render: Callable[[Any], str] | None = None, on_broken: Any = None) -> Any:
    """Lines to stdout, written by a thread of their own: a server's loop never waits on a
    terminal or a pipe (what cannot be written in time is dropped and counted). Items are
    `Text`, callables that return the line, or what `render` turns into one."""
    from ..server import LineWriter

    def line(item: Any) -> bytes:
        if isinstance(item, Text):
            text = str(item)
        elif render is not None:
            text = render(item)
        else:
            text = item()
        return text.encode("utf-8", "replace") + b"\n"

    sys.stdout.flush()
    return LineWriter(sys.stdout, line, name="stdout", on_broken=on_broken)


def dropped_notice(out: Any) -> str | None:
    """The notice for lines a writer dropped (none when its reader left: nobody to tell)."""
    from ..reporting.text import dropped_lines

    if out.dropped and not out.broken:
        return dropped_lines(out.dropped, causes=dict(out.dropped_by))
    return None


def report_dropped(out: Any) -> None:
    """Print `dropped_notice` on stderr, if there is one."""
    notice = dropped_notice(out)
    if notice is not None:
        click.echo(notice, err=True)


OWNS_PROCESS = False
"""Set by the console script (`aircore_mock._entry`): the command is the whole process, so
it may decide what late signals do. Run in-process (click's CliRunner, `cli.main()` from a
program), it leaves the caller's signal handlers alone."""


def freeze_loaded() -> None:
    """Once a server is up: what the process loaded lives as long as it does, so it is moved
    out of the garbage collector's sight (`gc.freeze`), which otherwise walks it again on
    every full collection while requests come (~4% of serve's CPU a lifecycle, measured).
    Only when the command is the whole process; an in-process caller's objects are left
    alone."""
    if OWNS_PROCESS:
        import gc

        gc.freeze()


def ignore_late_signals() -> None:
    """Once a server has stopped: a further Ctrl-C or SIGTERM while its summary is written
    (within bounded time) changes nothing, neither the summary nor the exit code."""
    if not OWNS_PROCESS:
        return
    for number in STOP_SIGNALS:
        with contextlib.suppress(ValueError):  # (not the main thread: nothing to do)
            signal.signal(number, signal.SIG_IGN)


class ServerStderr:
    """A running server's stderr: its lines (ready, summary, notices) and its HTTP stack's
    own log records (uvicorn's warnings and tracebacks) go through a `LineWriter`, so that a
    stderr nobody reads (`serve 2>&1 | sleep 600`) never stops the server or its exit; what
    cannot be written within `close`'s bound is dropped."""

    def __init__(self) -> None:
        from ..server import LineWriter, route_server_logs

        sys.stderr.flush()
        self.writer = LineWriter(
            sys.stderr.fileno(),
            lambda line: str(line).encode("utf-8", "replace") + b"\n",
            capacity=10_000,
            name="stderr",
        )
        route_server_logs(self.writer)

    def lines(self, lines: Iterable[str | None]) -> None:
        for line in lines:
            if line is not None:
                self.writer.put(line)

    def close(self, timeout: float = 2.0) -> None:
        from ..server import unroute_server_logs

        unroute_server_logs()
        self.writer.close(timeout)


def check_ready_file(path: str | None) -> None:
    """Refuse a --ready-file that cannot be written before anything starts listening."""
    check_writable(path, "--ready-file")


def check_writable(path: str | None, option: str) -> None:
    """Refuse a file option whose folder is missing or not writable, before anything else is
    printed or started (no folder is ever made for it)."""
    if path is None or path == "-":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise InputProblem(f"cannot write {option} {path}: no writable folder")


def write_ready_file(path: str | None, host: str, port: int) -> None:
    """`host:port`, written whole at once: a script polling for the file never reads half."""
    if path is not None:
        from ..files import write_atomically

        write_atomically(path, f"{host}:{port}\n".encode())


@contextlib.contextmanager
def stop_flag(session: Any) -> Iterator[None]:
    """Ctrl-C and SIGTERM set `session.interrupted` instead of raising, for the code inside;
    it stops at its next check (a send in flight is stopped by the sender's own handlers)."""

    def stop(signum: int, frame: Any) -> None:
        session.interrupted = True

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    # A signal before this took over: its KeyboardInterrupt may have been lost on the way
    # (see `_entry.signalled`); the console script's flag still tells.
    entry = sys.modules.get("aircore_mock._entry")
    if OWNS_PROCESS and entry is not None and getattr(entry, "signalled", False):
        session.interrupted = True
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class Progress:
    """One line on a terminal's stderr, rewritten as answers come (at most ten times a
    second: a terminal is slower than a fast receiver)."""

    def __init__(self) -> None:
        self._clock = time.monotonic
        self._last = 0.0
        self._began = self._clock()
        self._shown = False

    def __call__(self, done: int, planned: int) -> None:
        now = self._clock()
        if now - self._last < 0.1 and done < planned:
            return
        self._last = now
        line = f"checking: {done}/{planned} requests answered, {now - self._began:.0f} s"
        click.echo(f"\r{line}\x1b[K", nl=False, err=True)
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            click.echo("\r\x1b[K", nl=False, err=True)


class DeliveryLines:
    """`send`'s output: a line per delivery, and on a terminal, past the first 20, one
    counting line rewritten in place (failures still get their own line)."""

    FIRST = 20

    def __init__(self, render: Callable[[Any], str], *, on: bool = True) -> None:
        self._render = render
        self._on = on
        self._progress = on and sys.stdout.isatty()
        self.shown = 0

    def __call__(self, result: Any) -> None:
        if not self._on or result.outcome == "not-sent":
            return  # not-sent: counted in the summary; a line each would bury what happened
        self.shown += 1
        counting = self._progress and self.shown > self.FIRST
        if not counting or not result.delivered:
            if counting:
                click.echo("\r\033[K", nl=False)
            click.echo(self._render(result))
        if self._progress and self.shown >= self.FIRST:
            click.echo(f"\r\033[K  ... {self.shown} sent", nl=False)

    def clear(self) -> None:
        if self._progress and self.shown >= self.FIRST:
            click.echo("\r\033[K", nl=False)


def send_shown(sender: Any, items: Any, output_format: str) -> Any:
    """Send `items` through `sender` (closed after), a line per delivery for text output;
    the report, with every result when the output is JSON."""
    from ..reporting import text

    colour = style()
    lines = DeliveryLines(lambda r: text.delivery_line(r, colour), on=output_format == "text")
    try:
        report = sender.send(items, keep_results=output_format == "json", on_result=lines)
    finally:
        sender.close()
    lines.clear()
    return report
