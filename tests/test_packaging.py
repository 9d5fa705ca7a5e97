from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {
    "callback.schema.json",
    "common.schema.json",
    "recording-started.schema.json",
    "recording-stopped.schema.json",
    "recording-uploaded.schema.json",
    "recording-upload-failed.schema.json",
    "start-recording-request.schema.json",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (found,) = out.glob("aircore_mock-*.whl")
    return found


def test_wheel_carries_the_schemas_and_type_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"aircore_mock/schema_files/{n}" for n in EXPECTED} <= names
    assert {f"aircore_mock/schema_files/strict/{n}" for n in EXPECTED} <= names
    assert "aircore_mock/py.typed" in names
    # the inspector page's files (`receive --ui`): shipped, no build step, no CDN
    static = {"index.html", "inspector.js", "inspector.css"}
    assert {f"aircore_mock/capture/static/{n}" for n in static} <= names
    control = {"index.html", "control.js", "control.css"}  # serve's page
    assert {f"aircore_mock/fake/static/{n}" for n in control} <= names
    assert not any(n.startswith(("schemas/", "tests/")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    entry_text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "aircore-mock = aircore_mock._entry:main" in entry_text
    # the pytest plugin installs as its own top-level package, loaded through pytest11
    assert "[pytest11]\naircore_mock = aircore_mock_pytest.plugin" in entry_text
    assert {"aircore_mock_pytest/plugin.py", "aircore_mock_pytest/contract.py"} <= names
    assert not any(n.startswith("pytest_plugin/") for n in names)


def test_installed_copy_finds_its_own_schemas(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    probe = (
        "import json, aircore_mock as a;"
        "ex = a.get_schema('recording-uploaded')['examples'][0];"
        "print(json.dumps([a.__file__, str(a.schema_dir()), a.is_valid(ex),"
        " a.is_valid({'event': 'x'}), a.is_valid(dict(ex, extra=1), strict=True)]))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=60,
    )
    module, folder, good, bad, strict = json.loads(done.stdout)
    assert Path(module).is_relative_to(target)
    assert Path(folder) == target / "aircore_mock" / "schema_files"
    assert {p.name for p in Path(folder).glob("*.schema.json")} == EXPECTED
    # `schema --path` hands this folder to other tools: it holds the schemas and nothing else
    assert {p.name for p in Path(folder).iterdir()} == EXPECTED | {"strict"}
    assert {p.name for p in (Path(folder) / "strict").glob("*.schema.json")} == EXPECTED
    assert good is True and bad is False and strict is False


def test_checkout_falls_back_to_the_top_level_schemas() -> None:
    import aircore_mock

    if (Path(aircore_mock.__file__).parent / "schema_files" / "callback.schema.json").exists():
        pytest.skip("running from an installed wheel")
    assert aircore_mock.schema_dir() == ROOT / "schemas"


def test_every_clause_needs_only_the_plain_install(wheel: Path) -> None:
    # Hypothesis (the search) and h11 (the wire profiles) are dependencies, not extras: a
    # plain `pip install aircore-mock` runs every clause; `[hypothesis]` stays, empty.
    names = zipfile.ZipFile(wheel).namelist()
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    requires = [
        line.split(":", 1)[1].strip()
        for line in metadata.decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    plain = [r for r in requires if "extra ==" not in r]
    assert any(r.startswith("hypothesis") for r in plain)
    assert any(r.startswith("h11") for r in plain)
    assert "Provides-Extra: hypothesis" in metadata.decode()


@pytest.mark.slow
def test_a_plain_install_checks_every_clause(wheel: Path, tmp_path: Path) -> None:
    # `pip install aircore-mock` (no extras) in a venv of its own, then `check` against a
    # local receiver: every clause runs, none is skipped for a missing library (issue 19).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(wheel)],
        check=True, timeout=600,
    )  # fmt: skip
    from aircore_mock import Receiver

    with Receiver() as receiver:
        done = subprocess.run(
            [str(venv / "bin" / "aircore-mock"), "check", "--target", receiver.url,
             "--seed", "1", "--format", "json"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    # (the capture server takes malformed bodies with a 204: a warning, not a failure)
    assert set(report["clauses"].values()) <= {"passed", "warned"}
    assert len(report["clauses"]) == 11 and not any(
        r["verdict"] == "skipped" for r in report["results"]
    )
