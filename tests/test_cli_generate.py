from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import aircore_mock
from aircore_mock.cli import cli


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_scenarios_table_lists_every_scenario() -> None:
    result = run("scenarios")
    assert result.exit_code == 0
    for scenario in aircore_mock.scenarios():
        assert f"  {scenario.name} " in result.output
    assert "-> started stopped upload-failed" in result.output
    assert "-> started uploaded stopped" in result.output  # out-of-order


def test_scenarios_json() -> None:
    listing = json.loads(run("scenarios", "--format", "json").output)
    by_name = {row["name"]: row for row in listing}
    assert by_name["in-progress"]["callbacks"] == ["recording-started"]
    assert by_name["bad-region"]["kind"] == "outcome"
    assert by_name["duplicate"]["kind"] == "fault"
    assert by_name["upload-failed"]["callbacks"][-1] == "recording-upload-failed"


def test_failure_catalogue_listing() -> None:
    rows = json.loads(run("scenarios", "--failures", "--format", "json").output)
    assert {r["family"] for r in rows} == {f.family for f in aircore_mock.UPLOAD_FAILURES}
    assert all(r["code"] and r["cause"] and r["message"] for r in rows)
    assert "AccessDenied" in run("scenarios", "--failures").output


def test_generate_json_is_a_pretty_array() -> None:
    result = run("generate", "--scenario", "upload-failed", "--seed", "4")
    assert result.exit_code == 0
    callbacks = json.loads(result.stdout)
    assert [c["event"] for c in callbacks] == [
        "recording-started",
        "recording-stopped",
        "recording-upload-failed",
    ]
    assert result.stdout.startswith('[\n  {\n    "event"')
    assert callbacks == aircore_mock.Generator(4).scenario("upload-failed")


def test_generate_jsonl_with_count_pipes_into_validate() -> None:
    result = run("generate", "-s", "mixed+duplicate", "-n", "5", "--seed", "1", "--format", "jsonl")
    lines = result.stdout.splitlines()
    assert len(lines) == 20
    checked = run("validate", "--strict", "-", input=result.stdout)
    assert checked.exit_code == 0 and checked.stdout == "20 valid, 0 invalid\n"


def test_generate_set_pins_values() -> None:
    result = run(
        "generate",
        "--seed",
        "2",
        "--set",
        "recording.location.region=eu-west-1",
        "--set",
        "bucket=acme-audio",
        "--set",
        "recording.startTime=1700000000000",
    )
    uploaded = json.loads(result.stdout)[-1]
    assert uploaded["recording"]["location"]["region"] == "eu-west-1"
    assert uploaded["recording"]["location"]["address"].startswith(
        "https://acme-audio.s3.eu-west-1.amazonaws.com/"
    )
    assert uploaded["recording"]["startTime"] == 1700000000000


def test_generate_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "calls.jsonl"
    result = run("generate", "--seed", "1", "--format", "jsonl", "--output", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert len(target.read_text().splitlines()) == 3
    missing = tmp_path / "no" / "such" / "dir.json"
    failed = run("generate", "--seed", "1", "--output", str(missing))
    assert failed.exit_code == 2 and "cannot write" in failed.output


def test_generate_reports_the_seed_it_chose() -> None:
    result = run("generate", "--format", "jsonl")
    assert result.exit_code == 0
    seed = int(result.stderr.split("seed ")[1].split()[0])
    again = run("generate", "--format", "jsonl", "--seed", str(seed))
    assert again.stdout == result.stdout and again.stderr == ""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--scenario", "upload-faild"], "did you mean 'upload-failed'?"),
        (["--set", "recording.startTime=soon"], "expected an integer"),
        (["--set", "recording.state=paused"], "cannot be pinned"),
        (["--set", "nonsense"], "expected PATH=VALUE"),
        (
            ["--set", "recording.reason=userLeft", "-s", "uploaded"],
            "'userLeft' is not a stop reason: the stop reasons are allPublishersLeft, "
            "clientStopped, serverError",
        ),
        (
            ["--set", "recording.location.region=mars-1"],
            "'mars-1' is not an AWS region code, so outcome 'uploaded' cannot upload there",
        ),
        (["--set", "bucket=Bad_Bucket"], "--scenario invalid-bucket-name"),
        (["-s", "mixed", "--set", "bucket=192.168.1.1"], "shaped like an IP address"),
        (["--count", "0"], "0 is not in the range x>=1"),
        (["--format", "yaml"], "Invalid value for '--format'"),
        (["-s", "in-progress+out-of-order"], "needs a recording with 3 callbacks"),
        (["--set", "recording.startTime=99999999999999999999"], "between 0 and 2**53 - 1"),
        (["--set", "bucket=my bucket"], "cannot be part of an upload address"),
        (["--set", "bucket="], "bucket must not be empty"),
        (["--set", "recording.url=://nowhere"], "must be an absolute URL"),
        (
            ["-s", "in-progress", "--set", "recording.location.region=eu-west-1"],
            "recording.location.region (region) cannot be pinned with outcome 'in-progress'",
        ),
        (
            ["-s", "client-stopped", "--set", "recording.reason=serverError"],
            "recording.reason (stop_reason) cannot be pinned",
        ),
    ],
)
def test_generate_usage_errors_exit_2(args: list[str], words: str) -> None:
    result = run("generate", "--seed", "1", *args)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "last_event", "shown"),
    [
        (
            ["-s", "bad-region", "--set", "recording.location.region=mars-1"],
            "upload-failed",
            "mars-1",
        ),
        (
            ["-s", "upload-failed", "--set", "recording.reason=userLeft"],
            "upload-failed",
            "userLeft",
        ),
        (
            ["-s", "invalid-bucket-name", "--set", "bucket=Bad_Bucket"],
            "upload-failed",
            "The specified bucket is not valid",
        ),
        (["--set", "recording.reason=clientStopped"], "uploaded", '"clientStopped"'),
    ],
    ids=["bad region, failing", "failure message", "bad bucket, failing", "a stop reason"],
)
def test_pins_that_fit_the_outcome_are_accepted(
    args: list[str], last_event: str, shown: str
) -> None:
    result = run("generate", "--seed", "1", "--format", "jsonl", *args)
    assert result.exit_code == 0, result.output
    callbacks = [json.loads(line) for line in result.stdout.splitlines()]
    assert callbacks[-1]["event"] == f"recording-{last_event}"
    assert shown in result.stdout


def test_scenarios_shows_what_mixed_mixes() -> None:
    result = run("scenarios")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("mixed "))
    shown = "\n".join(lines[at : at + 5])
    assert "-> started stopped uploaded  (80% of recordings)" in shown
    assert "-> started stopped upload-failed  (20% of recordings)" in shown
    listed = json.loads(run("scenarios", "--format", "json").stdout)
    mixed = next(row for row in listed if row["name"] == "mixed")
    assert [m["share"] for m in mixed["mix"]] == [0.8, 0.2]
    assert mixed["mix"][1]["callbacks"][-1] == "recording-upload-failed"
