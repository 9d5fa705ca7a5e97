"""A signal at any moment of a command's start-up ends it with one line and the documented
exit code: never a traceback, never a bare exit 143, never click's "Aborted!"."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import textwrap
from typing import Any

import pytest

# Runs the console script's entry point in a child whose import of `module` is where the
# signal lands: deterministic, where a timer would race the interpreter's start-up.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    module, how = sys.argv[1], sys.argv[2]

    class Trap:
        def find_spec(self, name, path=None, target=None):
            if name == module:
                sys.meta_path.remove(self)
                if how == "SIGTERM":
                    os.kill(os.getpid(), signal.SIGTERM)
                else:
                    raise KeyboardInterrupt  # what Ctrl-C raises
            return None

    sys.meta_path.insert(0, Trap())
    from aircore_mock._entry import main
    main(sys.argv[3:])
    """
)


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize(
    ("module", "argv", "code"),
    [
        ("click", ["send", "--target", "http://127.0.0.1:9/"], 1),  # before the CLI loads
        ("aiohttp", ["send", "--target", "http://127.0.0.1:9/"], 1),  # inside the command
        ("click", ["receive", "--port", "0"], 0),  # Ctrl-C is how a server is stopped
        ("starlette", ["serve", "--port", "0"], 0),
    ],
)
def test_a_signal_during_start_up_ends_with_one_line(
    module: str, argv: list[str], code: int, how: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, module, how, *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "Aborted!" not in done.stderr
    # (a SIGTERM lands at the next instruction: the command may have taken over by then,
    # and then it reports what it did not send)
    last = done.stderr.strip().splitlines()[-1]
    assert last == "aircore-mock: interrupted before the run began: nothing done" or (
        argv[0] == "send" and last.startswith("error: interrupted: ")
    ), done.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_fuzz_stops_at_once_on_a_signal_while_a_request_is_in_flight(sig: int) -> None:
    import asyncio
    import threading

    from aircore_mock import AppServer

    from .helpers import default_signals

    got = threading.Semaphore(0)

    async def slow(scope: Any, receive: Any, send: Any) -> None:  # 0.3 s an answer
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        got.release()
        await asyncio.sleep(0.3)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with AppServer(slow) as server:
        fuzz = subprocess.Popen(
            [sys.executable, "-m", "aircore_mock", "fuzz", "--target", server.url, "--seed", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_signals,
        )
        try:
            for _ in range(3):  # the search is under way: a request is being answered
                assert got.acquire(timeout=60)
            fuzz.send_signal(sig)
            # 500 examples at 0.3 s would take minutes: this bound is for "stopped at once"
            out, err = fuzz.communicate(timeout=60)
        finally:
            if fuzz.poll() is None:
                fuzz.kill()
                fuzz.communicate()
    assert fuzz.returncode == 1, err
    assert "interrupted" in out and "Traceback" not in err


@pytest.mark.parametrize("command", ["receive", "serve"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_while_a_server_stops_changes_nothing(
    tmp_path: Any, command: str, sig: int
) -> None:
    # Whenever the second one lands (during the graceful stop, the summary, or the exit),
    # the summary is printed and the exit code is the documented 0.
    import os
    import time

    from .helpers import default_signals

    for gap in (0.001, 0.01, 0.05):
        ready = tmp_path / f"ready-{gap}"
        server = subprocess.Popen(
            [sys.executable, "-m", "aircore_mock", command, "--port", "0", "--ready-file",
             str(ready)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_signals,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not ready.exists() and server.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            server.send_signal(sig)
            time.sleep(gap)  # the gap between the two signals is the variable here
            with contextlib.suppress(ProcessLookupError):
                os.kill(server.pid, sig)
            _, err = server.communicate(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
                server.communicate()
        assert server.returncode == 0, (gap, err)
        assert "Traceback" not in err, (gap, err)
        summary = "callback(s) in" if command == "receive" else "recording(s)"
        assert summary in err, (gap, err)


LOST = textwrap.dedent(
    """
    import sys

    class Trap:  # a signal whose KeyboardInterrupt was lost on the way (as Python drops one
        # raised in a garbage-collector callback) while the command loaded
        def find_spec(self, name, path=None, target=None):
            if name == "aircore_mock.contract":
                sys.meta_path.remove(self)
                import aircore_mock._entry as entry
                entry.signalled = True
            return None

    sys.meta_path.insert(0, Trap())
    from aircore_mock._entry import main
    main(sys.argv[1:])
    """
)


@pytest.mark.parametrize("command", ["check", "fuzz"])
def test_a_signal_whose_interrupt_was_lost_still_stops_check_and_fuzz(command: str) -> None:
    from aircore_mock import Receiver

    with Receiver(keep=False) as receiver:
        done = subprocess.run(
            [sys.executable, "-c", LOST, command, "--target", receiver.url, "--seed", "1"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "interrupted" in done.stdout and "Traceback" not in done.stderr
