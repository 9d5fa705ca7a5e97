"""`aircore-mock replay`: captured requests resent through the engine, as they came or edited
(issue 22, item 3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aircore_mock import Generator, Receiver, send
from aircore_mock.captured import apply_edits, parse_edits
from aircore_mock.cli import cli
from aircore_mock.errors import UsageError


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "received.jsonl"
    with Receiver(log=path) as receiver:
        odd = b'{"event":"recording-started","timestamp":12345678901234567890,"a":1,"a":2}'
        send([odd], receiver.url)
        assert send(Generator(3).deliveries("upload-failed", 1), receiver.url).ok
        receiver.flush_log()
    return path


def test_replay_resends_every_request_byte_for_byte(log: Path) -> None:
    records = [json.loads(line) for line in log.read_text().splitlines()]
    with Receiver() as target:
        result = run("replay", str(log), "--to", target.url)
        assert result.exit_code == 0, result.output
        assert [c.body.decode() for c in target.captures] == [r["body"] for r in records]
    assert "4 of 4 delivered" in result.output


def test_set_edits_the_chosen_callback_and_the_others_go_as_they_came(log: Path) -> None:
    records = [json.loads(line) for line in log.read_text().splitlines()]
    with Receiver() as target:
        result = run(
            "replay", str(log), "--to", target.url, "--event", "recording-upload-failed",
            "--set", "recording.reason=disk full", "--set", "$.timestamp=7",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        (edited,) = target.captures
    assert edited.payload["recording"]["reason"] == "disk full"
    assert edited.payload["timestamp"] == 7
    with Receiver() as target:
        run("replay", str(log), "--to", target.url, "--seq", "0", "--set", "b=true")
        (capture,) = target.captures
    # an edited body is re-serialised: the duplicate key is gone, the 20 digits stay
    assert (
        capture.body
        == b'{"event":"recording-started","timestamp":12345678901234567890,"a":2,"b":true}'
    )
    assert records[0]["body"].count('"a"') == 2


def test_dry_run_shows_what_would_go(log: Path) -> None:
    result = run("replay", str(log), "--to", "http://127.0.0.1:9/", "--dry-run", "--seq", "0-1",
                 "--set", "x=1")  # fmt: skip
    lines = result.output.splitlines()
    assert len(lines) == 2 and all("(edited)" in line for line in lines)
    result = run("replay", str(log), "--to", "http://127.0.0.1:9/", "--dry-run", "--format",
                 "json")  # fmt: skip
    rows = json.loads(result.output)["requests"]
    assert [r["seq"] for r in rows] == [0, 1, 2, 3]


def test_exit_codes_are_sends(log: Path) -> None:
    with Receiver(status=500) as target:
        result = run("replay", str(log), "--to", target.url)
    assert result.exit_code == 1
    for bad in (["--set", "nonsense"], ["--set", "a..b=1"], ["--seq", "x"]):
        result = run("replay", str(log), "--to", "http://127.0.0.1:9/", *bad)
        assert result.exit_code == 2, bad
        assert "Error:" in result.output
    result = run("replay", str(log.with_name("missing.jsonl")), "--to", "http://127.0.0.1:9/")
    assert result.exit_code == 2 and "cannot read" in result.output
    result = run("replay", str(log), "--to", "ftp://x")
    assert result.exit_code == 2


def test_edits() -> None:
    edits = parse_edits(["a.b[1]=3", "c.d=text", "e=null"])
    assert apply_edits({"a": {"b": [1, 2]}}, edits) == {
        "a": {"b": [1, 3]}, "c": {"d": "text"}, "e": None,
    }  # fmt: skip
    with pytest.raises(UsageError, match=r"no element \[5\]"):
        apply_edits({"a": {"b": []}}, parse_edits(["a.b[5]=1"]))
    with pytest.raises(UsageError, match="only a JSON object"):
        apply_edits([1], parse_edits(["a=1"]))
