"""The README's pytest examples (the plugin's seams, a backend against `aircore_service`, the
in-process fake) run as written, in a fresh pytest process, as a user would run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The backend the examples serve is the one in examples/ (it imports recordings_db from there).
EXAMPLES = [ROOT / "examples" / "fake_backend", ROOT / "examples"]


def _files() -> dict[str, str]:
    """Every Python block whose first line names its file (`# conftest.py`), by file name;
    blocks naming the same file are joined, in README order."""
    files: dict[str, str] = {}
    for block in re.findall(r"^```python\n(.*?)^```$", README.read_text(), re.S | re.M):
        named = re.match(r"# (\w+\.py)\n", block)
        if named:
            name = named.group(1)
            files[name] = files.get(name, "") + "\n\n" + block
    return files


def test_the_readme_pytest_examples_run_as_written(tmp_path: Path) -> None:
    files = _files()
    # every example the README shows as a file of a user's suite; one dropped fails here
    assert set(files) == {
        "conftest.py",
        "test_options.py",
        "test_recording.py",
        "test_in_process.py",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    path = os.pathsep.join([*map(str, EXAMPLES), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--aircore-seed", "7"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b5 passed\b", done.stdout), done.stdout
