"""The README's pytest examples (the plugin's seams, a backend against `aircore_service`, the
in-process fake) run as written, in a fresh pytest process, as a user would run them."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The backend and the receiver the examples use are those in examples/ (both import
# recordings_db from there).
EXAMPLES = [
    ROOT / "examples" / "fake_backend",
    ROOT / "examples" / "starlette_app",
    ROOT / "examples",
]


def _blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", README.read_text(), re.S | re.M)


def _files() -> dict[str, str]:
    """Every Python block whose first line names its file (`# conftest.py`), by file name;
    blocks naming the same file are joined, in README order."""
    files: dict[str, str] = {}
    for block in _blocks():
        named = re.match(r"# (\w+\.py)\n", block)
        if named:
            name = named.group(1)
            files[name] = files.get(name, "") + "\n\n" + block
    return files


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([*map(str, EXAMPLES), os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_readme_pytest_examples_run_as_written(tmp_path: Path) -> None:
    files = _files()
    # every example the README shows as a file of a user's suite; one dropped fails here
    assert set(files) == {
        "conftest.py",
        "test_options.py",
        "test_recording.py",
        "test_in_process.py",
        "test_uploads.py",
        "test_hard_coded.py",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    done = _pytest(tmp_path, "--aircore-seed", "7")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b9 passed\b", done.stdout), done.stdout


def test_the_readme_contract_class_and_probe_run_as_written(tmp_path: Path) -> None:
    (contract,) = [b for b in _blocks() if "(AircoreReceiverContract):" in b]
    (probe,) = [b for b in _blocks() if "def aircore_probe(self, receiver)" in b]
    # `myservice` is the reader's own; here it is the Starlette example receiver
    (tmp_path / "myservice.py").write_text("from starlette_receiver import create_app  # noqa\n")
    (tmp_path / "test_contract.py").write_text(contract + "\n" + probe)
    # Two clauses, the probe's among them: enough to show the class as written runs and its
    # probe is called; examples/starlette_app runs the whole contract on the same app.
    done = _pytest(
        tmp_path, "-p", "no:faker", "--rootdir", str(tmp_path), "-k", "probe or answers_in_time"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout


def test_the_readme_state_fixture_and_state_url_run_as_written(tmp_path: Path) -> None:
    (contract,) = [b for b in _blocks() if "(AircoreReceiverContract):" in b]
    (state,) = [b for b in _blocks() if "def aircore_state(self, receiver)" in b]
    (tmp_path / "myservice.py").write_text("from starlette_receiver import create_app  # noqa\n")
    (tmp_path / "test_contract.py").write_text(contract + "\n" + state)
    done = _pytest(tmp_path, "-p", "no:faker", "--rootdir", str(tmp_path), "-k", "converges")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b1 passed\b", done.stdout), done.stdout
    # the command line, against the same example served on a port of its own
    (command,) = re.findall(r"^(aircore-mock check .*?--state-url .*?)$", _shell(), re.S | re.M)
    sys.path[:0] = [str(p) for p in EXAMPLES]
    from starlette_receiver import create_app

    from aircore_mock import AppServer

    with AppServer(create_app(), path="/aircore/callbacks") as server:
        base = server.url.rsplit("/aircore/", 1)[0]
        line = command.replace("\\\n", " ").replace("http://localhost:8000", base)
        done = subprocess.run(
            [*shlex.split(line)[:1], *shlex.split(line)[1:], "--only", "converges"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "converges" in done.stdout and "passed" in done.stdout


def _shell() -> str:
    return "\n".join(re.findall(r"^```sh\n(.*?)^```$", README.read_text(), re.S | re.M))


def test_the_readme_hypothesis_example_runs_as_written(tmp_path: Path) -> None:
    (block,) = [b for b in _blocks() if "strategies.callbacks(strict=True)" in b]
    # `parse` and `apply` are the reader's own code under test; here they check a little
    shims = (
        "def parse(callback):\n    assert callback['event'].startswith('recording-')\n\n\n"
        "def apply(callback):\n    assert callback['recording']['url']\n\n\n"
    )
    (tmp_path / "test_properties.py").write_text(shims + block)
    done = _pytest(tmp_path, "-p", "no:faker", "--rootdir", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout
