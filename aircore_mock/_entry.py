"""The console script's first code: Ctrl-C and SIGTERM handled before anything heavy loads.

Importing the CLI and the libraries a command needs takes a good part of a second; a signal
in that time would end the process with a traceback (Ctrl-C) or a bare exit 143 (SIGTERM).
So this module, which imports nothing, installs the handlers first, then loads the CLI. A
signal before a command has its own handling ends it with one line and the documented exit
code: 1 (interrupted), or 0 for the servers (`receive`, `serve`), which Ctrl-C stops.
"""

from __future__ import annotations

import contextlib
import gc
import signal
import sys

_SERVERS = ("receive", "serve")

signalled = False
"""A Ctrl-C or SIGTERM came before the command took over its signals. The KeyboardInterrupt
raised for it can be lost (Python drops one raised inside a garbage-collector callback, and
Hypothesis installs one), so the commands also read this flag when they take over."""


def _interrupt(signum: int, frame: object) -> None:
    global signalled
    signalled = True
    raise KeyboardInterrupt


def _import_held(name: str) -> None:
    """Import `name` with Ctrl-C and SIGTERM held back until it is done (then delivered).

    orjson's module initialisation crashes the process (SIGSEGV) when a KeyboardInterrupt is
    raised while it runs, as a signal's handler does; every command loads orjson, so it is
    loaded here, where a signal can wait for it."""
    if not hasattr(signal, "pthread_sigmask"):  # (Windows: no signal masks)
        __import__(name)
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        __import__(name)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def interrupted_code(argv: list[str]) -> int:
    """The exit code of a run interrupted before its command took over its signals."""
    command = next((a for a in argv if not a.startswith("-")), None)
    return 0 if command in _SERVERS else 1


def main(argv: list[str] | None = None) -> None:
    """Run the command line (the `aircore-mock` console script, `python -m aircore_mock`)."""
    args = sys.argv[1:] if argv is None else argv
    # SIGTERM (a CI timeout, `kill`) stops like Ctrl-C from the first instruction on; the
    # commands install their own handlers (summaries, graceful stops) where they run.
    code = 1
    try:
        # (inside the try: a SIGTERM the instant after it is set is caught below too)
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
        _import_held("orjson")
        from .cli import main as run
        from .cli import terminal

        terminal.OWNS_PROCESS = True
        run(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise
    except KeyboardInterrupt:
        code = interrupted_code(args)
        with contextlib.suppress(OSError, ValueError):  # a closed stderr: nobody to tell
            sys.stderr.write("aircore-mock: interrupted before the run began: nothing done\n")
            sys.stderr.flush()
        sys.exit(code)
    finally:
        # Once the command has ended, a late signal changes nothing: ignored through the
        # interpreter's shutdown (which would otherwise print a traceback, or take the
        # default action and end with 130 or 143 instead of the command's code).
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        # What is left dies with the process: frozen, the interpreter's last garbage
        # collections at shutdown skip it instead of walking every object the run made
        # (after `check`, with Hypothesis, Faker and aiohttp loaded, 60-100 ms of a 0.7 s
        # run). Exit handlers, `finally` blocks and flushes all still run.
        gc.freeze()
