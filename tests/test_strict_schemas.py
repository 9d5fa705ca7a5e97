"""schemas/strict/ is generated from schemas/ by scripts/make_strict_schemas.py and kept in sync."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

import aircore_mock
from aircore_mock.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_strict_schemas.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_strict_schemas", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_strict_files_are_what_the_script_generates() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    built = _script().build()
    folder = aircore_mock.schema_dir(strict=True)
    assert sorted(built) == sorted(p.name for p in folder.glob("*.schema.json"))
    for name, text in built.items():
        assert (folder / name).read_text(encoding="utf-8") == text, name


def test_check_names_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _script()
    stale = tmp_path / "strict"
    stale.mkdir()
    for name, text in module.build().items():
        (stale / name).write_text(text)
    (stale / "recording-stopped.schema.json").write_text("{}\n")
    monkeypatch.setattr(module, "TARGET", stale)
    assert module.main(["--check"]) == 1
    assert module.main([]) == 0  # rewrites it
    assert module.main(["--check"]) == 0


def test_strict_variant_closes_open_enumerations_and_objects() -> None:
    stopped = aircore_mock.get_schema("recording-stopped", strict=True)
    recording = stopped["properties"]["recording"]
    assert (
        stopped["$id"]
        == "https://aircore-mock.example/schemas/strict/recording-stopped.schema.json"
    )
    assert recording["properties"]["state"]["const"] == "stopped"
    assert recording["properties"]["reason"]["enum"] == [
        "allPublishersLeft",
        "clientStopped",
        "serverError",
    ]
    assert stopped["unevaluatedProperties"] is False
    assert recording["unevaluatedProperties"] is False
    text = json.dumps(aircore_mock.get_schema("callback", strict=True))
    assert "anyOf" not in text
    # Relative $refs resolve inside strict/: the union reaches the strict callback schemas.
    union = aircore_mock.get_schema("callback", strict=True)
    assert union["allOf"][0]["then"] == {"$ref": "recording-started.schema.json"}


def test_an_anyof_that_is_no_open_enumeration_is_refused() -> None:
    module = _script()
    schema = copy.deepcopy(aircore_mock.get_schema("recording-stopped"))
    schema["properties"]["timestamp"] = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    with pytest.raises(ValueError, match="not an open enumeration"):
        module.strict_variant("recording-stopped", schema, {"recording-stopped"})


def test_schema_command_strict_and_path() -> None:
    runner = CliRunner()
    path = runner.invoke(cli, ["schema", "--path", "--strict"])
    assert path.exit_code == 0
    assert Path(path.output.strip()) == aircore_mock.schema_dir(strict=True)
    assert Path(path.output.strip()).parent == aircore_mock.schema_dir()
    shown = runner.invoke(cli, ["schema", "--strict", "recording-stopped"])
    assert json.loads(shown.output) == aircore_mock.get_schema("recording-stopped", strict=True)
    bad = runner.invoke(cli, ["schema", "--list", "--path"])
    assert bad.exit_code == 2
    assert "--list and --path cannot be combined" in bad.output
