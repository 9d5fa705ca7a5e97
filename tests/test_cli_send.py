from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from aircore_mock import Generator, Receiver
from aircore_mock.cli import cli

from .apps import free_port_refusing
from .helpers import default_signals as _default_signals
from .helpers import start_receive as _start_receive

CLI = [sys.executable, "-m", "aircore_mock"]


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def test_send_without_target_uses_the_built_in_receiver() -> None:
    result = run("send", "--scenario", "upload-failed", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "built-in receiver" in result.stderr
    assert "3 of 3 delivered" in result.stdout
    assert "the built-in receiver got 3 request(s)" in result.stdout
    failed = [line for line in result.stdout.splitlines() if "recording-upload-failed" in line]
    assert failed and "valid" in failed[-1]


def test_send_to_a_target_and_json_report() -> None:
    with Receiver() as receiver:
        result = run(
            "send",
            "-s",
            "burst",
            "-n",
            "4",
            "-c",
            "2",
            "--seed",
            "1",
            "--target",
            receiver.url,
            "--format",
            "json",
        )
        assert result.exit_code == 0
        report = json.loads(result.stdout)
        assert report["summary"]["total"] == report["summary"]["delivered"] == 12
        assert len(report["results"]) == 12
        assert {r["status"] for r in report["results"]} == {204}
        sent = sorted(json.dumps(r["callback"]) for r in report["results"])
        assert sorted(json.dumps(c) for c in receiver.callbacks) == sent


def test_target_from_the_environment() -> None:
    with Receiver() as receiver:
        result = run("send", "--seed", "1", env={"AIRCORE_MOCK_TARGET": receiver.url})
        assert result.exit_code == 0
        assert len(receiver.callbacks) == 3


def test_unreachable_target_exits_1_with_the_reason() -> None:
    result = run("send", "--seed", "1", "--target", free_port_refusing())
    assert result.exit_code == 1
    assert "0 of 3 delivered" in result.stdout
    assert "error: 3 of 3 deliveries failed; first: recording-started: unreachable" in (
        result.stderr
    )


def test_non_2xx_exits_1() -> None:
    with Receiver(status=500) as receiver:
        result = run("send", "--seed", "1", "--target", receiver.url, "--retries", "1")
    assert result.exit_code == 1
    assert "HTTP 500" in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--target", "not a url"], "bad target URL"),
        (["--header", "Authorization Bearer x"], "bad header"),
        (["--header", "X-Token: caf\u00e9"], "must be ASCII on one line"),
        (["--header", "X(: y"], "bad header"),
        (["--from", "x.jsonl", "--speed", "2"], "a file has no delivery times"),
        (["--scenario", "uplaoded"], "did you mean 'uploaded'?"),
        (["--from", "x.json", "--scenario", "uploaded"], "--from sends a file as it is"),
        (["--concurrency", "0"], "0 is not in the range"),
    ],
)
def test_send_usage_errors_exit_2(args: list[str], words: str) -> None:
    result = run("send", *args)
    assert result.exit_code == 2
    assert words in result.output
    assert "Traceback" not in result.output


def test_dry_run_sends_nothing() -> None:
    with Receiver() as receiver:
        result = run(
            "send",
            "--dry-run",
            "--seed",
            "2",
            "-s",
            "duplicate",
            "--target",
            receiver.url,
            "--format",
            "json",
        )
        assert result.exit_code == 0
        plan = json.loads(result.stdout)
        assert len(plan["deliveries"]) == 4
        assert [d["quirk"] for d in plan["deliveries"]].count("duplicate") == 1
        assert receiver.captures == []
    text = run("send", "--dry-run", "--seed", "2", "--target", "http://example.test/cb")
    first = text.stdout.splitlines()[0]
    assert first.startswith('POST http://example.test/cb {"event":"recording-started"')


def test_send_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "captured.jsonl"
    callbacks = Generator(4).scenario("upload-failed", count=2)
    path.write_text("\n".join(json.dumps(c) for c in callbacks) + "\n")
    with Receiver() as receiver:
        result = run(
            "send",
            "--from",
            str(path),
            "--target",
            receiver.url,
            "--header",
            "Authorization: Bearer t0k3n",
        )
        assert result.exit_code == 0
        assert receiver.callbacks == callbacks
        assert receiver.captures[0].headers["authorization"] == "Bearer t0k3n"
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(callbacks[0]) + "\n{oops\n")
    result = run("send", "--from", str(broken), "--target", "http://127.0.0.1:9/")
    assert result.exit_code == 2
    assert f"{broken}:2: not JSON" in result.output
    missing = run("send", "--from", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_built_in_receiver_flags_invalid_callbacks(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text('{"event": "recording-paused", "recording": {}}\n')
    result = run("send", "--from", str(path))
    assert result.exit_code == 1
    assert "invalid" in result.stdout
    assert "the built-in receiver found invalid callbacks" in result.stderr


@pytest.mark.parametrize(
    ("stop", "concurrency"), [(signal.SIGINT, "1"), (signal.SIGTERM, "1"), (signal.SIGINT, "4")]
)
def test_interrupting_send_prints_the_summary_and_exits_1(
    stop: signal.Signals, concurrency: str
) -> None:
    # 300 recordings at concurrency 4: a long send, interrupted in the middle
    with Receiver() as receiver:
        process = subprocess.Popen(
            [
                *CLI,
                "send",
                "-s",
                "burst",
                "-n",
                "300",
                "--speed",
                "0.5",
                "--seed",
                "1",
                "-c",
                concurrency,
                "--target",
                receiver.url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_signals,
        )
        try:
            receiver.wait_for(1, timeout=30)
        finally:
            process.send_signal(stop)
            out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "interrupted after" in out
    assert "Traceback" not in err


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_receive_command_end_to_end(tmp_path: Path, stop: signal.Signals) -> None:
    log = tmp_path / "log.jsonl"
    process, url = _start_receive(tmp_path, "--log", str(log))
    try:
        sent = subprocess.run(
            [*CLI, "send", "-s", "upload-failed+out-of-order", "--seed", "5", "--target", url],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        httpx.post(url, content=b"garbage")
    finally:
        process.send_signal(stop)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "ready: listening on" in err
    lines = out.splitlines()
    assert len(lines) == 4 and "[out of order]" in lines[1] and "not-json" in lines[3]
    assert "3 callback(s) in 4 request(s)" in err
    assert "out of order 2" in err
    assert len(log.read_text().splitlines()) == 4


def test_receive_exits_1_when_a_callback_was_invalid(tmp_path: Path) -> None:
    process, url = _start_receive(tmp_path)
    try:
        httpx.post(url, json={"event": "recording-paused"})
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=20)
    assert process.returncode == 1
    assert "invalid: $.timestamp: required property is missing" in out


def test_receive_ready_file_in_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, "receive", "--port", "0", "--ready-file", str(tmp_path / "no" / "ready")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "cannot write --ready-file" in done.stderr


def test_dry_run_json_streams_a_valid_document() -> None:
    result = run("send", "--dry-run", "--format", "json", "-n", "3", "--seed", "1")
    plan = json.loads(result.stdout)
    assert len(plan["deliveries"]) == 9 and plan["target"] == "(built-in receiver)"


def test_receive_port_in_use_is_a_usage_error() -> None:
    with Receiver() as taken:
        done = subprocess.run(
            [*CLI, "receive", "--port", str(taken.port)], capture_output=True, text=True, timeout=30
        )
    assert done.returncode == 2
    assert "cannot listen on 127.0.0.1" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_color_means_plain_text() -> None:
    result = run("send", "--seed", "1", env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "\x1b[" not in result.output
