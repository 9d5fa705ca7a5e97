"""A signal at any moment of a command's start-up ends it with one line and the documented
exit code: never a traceback, never a bare exit 143, never click's "Aborted!"."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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
