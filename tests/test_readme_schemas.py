"""The README's instructions for using the schemas from other tools work as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import aircore_mock

from .helpers import node_modules

README = Path(__file__).resolve().parents[1] / "README.md"
BIN = Path(sys.executable).parent


def _block(language: str, containing: str) -> str:
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", README.read_text(), re.S | re.M)
    (found,) = [b for b in blocks if containing in b]
    return found


def _callbacks(tmp_path: Path) -> dict[str, Path]:
    """A documented callback, one with a new stop reason, and one with a `javascript:` URL."""
    (stopped,) = aircore_mock.get_schema("recording-stopped")["examples"]
    new_reason = json.loads(json.dumps(stopped))
    new_reason["recording"]["reason"] = "recordingLimitReached"
    bad_url = json.loads(json.dumps(stopped))
    bad_url["recording"]["url"] = "javascript:alert(1)"
    out = {}
    for name, payload in (("valid", stopped), ("new-reason", new_reason), ("bad-url", bad_url)):
        out[name] = tmp_path / name / "callback.json"
        out[name].parent.mkdir(parents=True)
        out[name].write_text(json.dumps(payload))
    return out


# (which payload, strict?) -> valid?
EXPECTED = {
    ("valid", False): True,
    ("valid", True): True,
    ("new-reason", False): True,
    ("new-reason", True): False,
    ("bad-url", False): False,
    ("bad-url", True): False,
}


def test_check_jsonschema_command_works_verbatim(tmp_path: Path) -> None:
    script = _block("sh", "check-jsonschema")
    assert "rfc3986-validator" in README.read_text()  # said, because uri is unchecked without
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    assert shutil.which("check-jsonschema", path=env["PATH"]), "pip install -e '.[test]'"
    for (name, strict), valid in EXPECTED.items():
        # The README's command as written; --strict as its last line tells.
        text = script.replace("schema --path)", "schema --path --strict)") if strict else script
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", text],
            cwd=_callbacks(tmp_path / f"{name}-{strict}")[name].parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (done.returncode == 0) is valid, (name, strict, done.stdout, done.stderr)


def test_ajv_example_works_verbatim(tmp_path: Path) -> None:
    modules = node_modules()  # skips without node
    script = tmp_path / "check-callback.js"
    script.write_text(_block("js", "ajv/dist/2020"))
    callbacks = _callbacks(tmp_path)
    for (name, strict), valid in EXPECTED.items():
        folder = aircore_mock.schema_dir(strict)
        done = subprocess.run(
            ["node", str(script), str(callbacks[name])],
            env={**os.environ, "SCHEMAS": str(folder), "NODE_PATH": str(modules)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.stderr == "", done.stderr
        assert (done.returncode == 0) is valid, (name, strict, done.stdout)
        if valid:
            assert done.stdout == "valid\n"
        else:
            assert "data/recording" in done.stdout


@pytest.mark.parametrize("strict", [False, True])
def test_readme_path_commands_print_the_folders(strict: bool) -> None:
    command = [str(BIN / "aircore-mock"), "schema", "--path", *(["--strict"] if strict else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert Path(done.stdout.strip()) == aircore_mock.schema_dir(strict)
