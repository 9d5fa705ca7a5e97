from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import aircore_mock
from aircore_mock.cli import cli


def run(*args: str, input: str | bytes | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def valid() -> list[dict]:
    return [
        ex for e in aircore_mock.callback_types() for ex in aircore_mock.get_schema(e)["examples"]
    ]


@pytest.fixture
def invalid(valid: list[dict]) -> dict:
    bad = json.loads(json.dumps(valid[2]))  # recording-stopped
    bad["recording"]["reason"] = 404
    return bad


def test_single_json_file_valid(tmp_path: Path, valid: list[dict]) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(valid[0], indent=2))
    result = run("validate", str(path))
    assert result.exit_code == 0
    assert result.output == "1 valid, 0 invalid\n"


def test_json_array_reports_the_index(tmp_path: Path, valid: list[dict], invalid: dict) -> None:
    path = tmp_path / "many.json"
    path.write_text(json.dumps([*valid, invalid]))
    result = run("validate", str(path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{path}[{len(valid)}]: $.recording.reason: expected string, found 404"
    assert lines[-1] == f"{len(valid)} valid, 1 invalid"


def test_jsonl_reports_line_numbers_and_keeps_going(
    tmp_path: Path, valid: list[dict], invalid: dict
) -> None:
    path = tmp_path / "calls.jsonl"
    rows = [valid[0], invalid, valid[1], {"event": 7}, valid[3]]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    result = run("validate", str(path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{path}:2: $.recording.reason: expected string")
    assert lines[1].startswith(f"{path}:4: $.timestamp: required property is missing")
    assert lines[2] == "3 valid, 2 invalid"


def test_stdin_jsonl_and_pretty_json(valid: list[dict], invalid: dict) -> None:
    lines = "\n".join(json.dumps(v) for v in valid) + "\n"
    assert run("validate", "-", input=lines).output == f"{len(valid)} valid, 0 invalid\n"
    pretty = json.dumps([valid[0], invalid], indent=2)
    result = run("validate", "-", input=pretty)
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith("<stdin>[1]: $.recording.reason")


def test_no_path_reads_piped_stdin(valid: list[dict]) -> None:
    result = run("validate", input=json.dumps(valid[0]))
    assert result.exit_code == 0


def test_empty_input_is_an_input_error() -> None:
    result = run("validate", "-", input="")
    assert result.exit_code == 2
    assert "no callbacks in the input" in result.output


def test_jsonl_in_a_json_file_gets_a_hint(tmp_path: Path, valid: list[dict]) -> None:
    path = tmp_path / "calls.json"
    path.write_text(json.dumps(valid[0]) + "\n" + json.dumps(valid[1]) + "\n")
    result = run("validate", str(path))
    assert result.exit_code == 2
    assert "--input-format jsonl" in result.output
    assert run("validate", "--input-format", "jsonl", str(path)).exit_code == 0


def test_undocumented_values_pass_with_a_note_and_fail_strict(
    tmp_path: Path, valid: list[dict]
) -> None:
    stopped = json.loads(json.dumps(valid[2]))
    stopped["recording"]["reason"] = "clientStoped"  # a typo in a hand-written fixture
    new_event = dict(valid[0], event="recording-paused")
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in (valid[0], stopped, new_event)) + "\n")
    result = run("validate", str(path))
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"{path}:2: note: $.recording.reason: undocumented value 'clientStoped' (documented:"
        " 'allPublishersLeft', 'clientStopped', 'serverError')",
        f"{path}:3: note: $.event: undocumented event type 'recording-paused' (documented:"
        " 'recording-started', 'recording-stopped', 'recording-uploaded',"
        " 'recording-upload-failed')",
        "3 valid, 0 invalid; 2 valid with undocumented fields or values (notes)",
    ]
    report = json.loads(run("validate", "--format", "json", str(path)).output)
    assert report["valid"] == 3 and report["noted"] == 2
    assert [e["line"] for e in report["noted_payloads"]] == [2, 3]
    assert report["noted_payloads"][0]["notes"][0]["path"] == "$.recording.reason"
    strict = run("validate", "--strict", str(path))
    assert strict.exit_code == 1
    assert strict.output.splitlines()[-1] == "1 valid, 2 invalid"


def test_strict_flag(tmp_path: Path, valid: list[dict]) -> None:
    payload = dict(valid[0], channel="lobby")
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(payload))
    assert run("validate", str(path)).exit_code == 0
    result = run("validate", "--strict", str(path))
    assert result.exit_code == 1
    assert "$.channel: undocumented property" in result.output


def test_json_format_report(tmp_path: Path, valid: list[dict], invalid: dict) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps(valid[0]) + "\n" + json.dumps(invalid) + "\n")
    result = run("validate", "--format", "json", str(path))
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["valid"] == 1 and report["invalid"] == 1 and report["unreadable"] == 0
    entry = report["invalid_payloads"][0]
    assert entry["line"] == 2 and entry["where"] == f"{path}:2"
    assert entry["problems"][0]["path"] == "$.recording.reason"


def test_quiet_prints_nothing(tmp_path: Path, invalid: dict) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(invalid))
    result = run("validate", "-q", str(path))
    assert result.exit_code == 1
    assert result.output == ""


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.json", None, "cannot read: No such file or directory"),
        ("broken.json", b'{"event": ', "not JSON: unexpected end of data"),
        ("binary.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data, not JSON"),
        ("latin1.json", '{"event": "caf\xe9"}'.encode("latin-1"), "not JSON"),
        ("empty.json", b"", "not JSON: the input is empty"),
        ("blank.json", b" \r\n\t ", "not JSON: the input is empty"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = run("validate", str(path))
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in result.output


def test_a_directory_is_unreadable(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path))
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_bad_jsonl_line_is_reported_and_the_rest_is_checked(
    tmp_path: Path, valid: list[dict], invalid: dict
) -> None:
    path = tmp_path / "calls.ndjson"
    path.write_text(json.dumps(valid[0]) + "\n{oops\n" + json.dumps(invalid) + "\n")
    result = run("validate", str(path))
    assert result.exit_code == 2  # unreadable input outranks invalid payloads
    assert f"{path}:2: not JSON" in result.output
    assert f"{path}:3: $.recording.reason" in result.output
    assert result.output.splitlines()[-1] == "1 valid, 1 invalid, 1 unreadable"


def test_usage_error_exit_2() -> None:
    result = run("validate", "--format", "yaml", "x.json")
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.output


def test_schema_command() -> None:
    listed = run("schema", "--list")
    assert listed.exit_code == 0
    names = [line.split()[0] for line in listed.output.splitlines()]
    # the callback types first, in the union's order, then every other shipped schema
    types = list(aircore_mock.callback_types())
    assert names[: len(types)] == types
    assert sorted(names) == sorted(aircore_mock.schemas.schema_names())
    assert "start-recording-request" in names
    assert json.loads(run("schema").output)["title"] == "callback"
    one = json.loads(run("schema", "recording-uploaded").output)
    assert one == aircore_mock.get_schema("recording-uploaded")
    assert Path(run("schema", "--path").output.strip()) == aircore_mock.schema_dir()
    unknown = run("schema", "recording-paused")
    assert unknown.exit_code == 2 and "unknown schema 'recording-paused'" in unknown.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["schema", "--list", "--path"], "--list and --path cannot be combined"),
        (["schema", "--list", "--strict"], "--list and --strict cannot be combined"),
        (["schema", "--path", "recording-started"], "cannot be combined"),
        (["validate", "--quiet", "--format", "json", "x.json"], "--format json has nothing"),
    ],
)
def test_conflicting_options_are_usage_errors(args: list[str], words: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert words in result.output and "Usage:" in result.output


def test_console_entry_points_run_without_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    for argv in (
        [sys.executable, "-m", "aircore_mock", "validate", str(missing)],
        [str(Path(sys.executable).with_name("aircore-mock")), "validate", str(missing)],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert "Traceback" not in done.stderr
        assert f"{missing}: cannot read" in done.stderr
    version = subprocess.run(
        [sys.executable, "-m", "aircore_mock", "--version"], capture_output=True, text=True
    )
    assert version.stdout.strip() == f"aircore-mock, version {aircore_mock.__version__}"
