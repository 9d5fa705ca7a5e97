"""What was captured is replayable byte for byte: `send --from` and `validate` read a
`receive --log` as the requests it holds (issue 22, item 1)."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from aircore_mock import Generator, Receiver, send
from aircore_mock.captured import FRAMING, Selection, read_all_captured
from aircore_mock.cli import cli
from aircore_mock.errors import InputError, UsageError
from aircore_mock.sending import FRAMING_HEADERS

from .helpers import start_receive

# What parsing loses: a duplicate key's first value, a 20-digit integer's digits (beyond a
# float's), the key order; and bodies that are not JSON, or not UTF-8.
ODD_BODIES = [
    b'{"event":"recording-started","timestamp":1700000000001,"recording":{"url":'
    b'"https://x.test/rec/dup","startTime":1,"startTime":1700000000000}}',
    b'{"timestamp":12345678901234567890,"recording":{"url":"https://x.test/rec/big",'
    b'"startTime":1700000000000},"event":"recording-started"}',
    b'{ "event" : "recording-stopped" ,"timestamp":1}',
    b"not json at all",
    b'{"event":"recording-started","note":"\xff\xfe"}',
]


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _captured_log(tmp_path: Path, name: str = "received.jsonl") -> Path:
    """A real `aircore-mock receive --log` (a child process) that got the odd bodies, a
    scenario with duplicates and out-of-order callbacks, and a request with its own header."""
    log = tmp_path / name
    process, url = start_receive(tmp_path, "--log", str(log), "-q")
    try:
        with httpx.Client(timeout=10) as client:
            for body in ODD_BODIES:
                client.post(url, content=body, headers={"content-type": "application/json"})
            client.post(url, content=b"{}", headers={"x-signature": "abc123"})
        deliveries = Generator(7).deliveries("upload-failed+duplicate", 2)
        assert send(deliveries, url).ok
        deliveries = Generator(8).deliveries("out-of-order", 1)
        assert send(deliveries, url).ok
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    return log


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _captured_log(tmp_path_factory.mktemp("log"))


def test_send_from_a_receive_log_resends_every_body_byte_for_byte(
    received: Path, tmp_path: Path
) -> None:
    first = _records(received)
    assert len(first) == 6 + 2 * 4 + 3  # the odd ones and {}, 2 recordings (+1 duplicate), 1
    with Receiver(log=tmp_path / "again.jsonl") as again:
        result = run("send", "--from", str(received), "--target", again.url)
        again.flush_log()
        second = _records(tmp_path / "again.jsonl")
    assert result.exit_code == 1, result.output  # the not-JSON ones got 400 again
    keys = ("body", "body_base64", "verdict", "problems", "event", "out_of_order", "duplicate")
    assert [{k: r.get(k) for k in keys} for r in second] == [
        {k: r.get(k) for k in keys} for r in first
    ]
    assert b"12345678901234567890" in ODD_BODIES[1]
    assert second[1]["body"] == ODD_BODIES[1].decode()  # digits and key order kept
    assert '"startTime":1,"startTime"' in second[0]["body"]  # both keys kept
    assert "body_base64" in second[4]  # not UTF-8: base64 in the log, the same bytes again
    assert any(r["duplicate"] for r in second) and any(r["out_of_order"] for r in second)


def test_validate_a_receive_log_gives_the_verdicts_receive_gave(received: Path) -> None:
    first = _records(received)
    result = run("validate", str(received), "--format", "json")
    report = json.loads(result.output)
    verdicts = [r["verdict"] for r in first]
    assert report["valid"] == verdicts.count("valid")
    assert report["invalid"] == verdicts.count("invalid")
    assert report["unreadable"] == verdicts.count("not-json")  # bodies that were not JSON
    invalid_lines = {p["line"] for p in report["invalid_payloads"]}
    assert invalid_lines == {n for n, r in enumerate(first, 1) if r["verdict"] == "invalid"}
    assert result.exit_code == 2  # some captured bodies are not JSON


def test_filters_choose_what_is_validated_and_sent(received: Path, tmp_path: Path) -> None:
    first = _records(received)
    result = run("validate", str(received), "--event", "recording-upload-failed")
    failed = [r for r in first if r["event"] == "recording-upload-failed"]
    assert result.exit_code == 0, result.output
    assert f"{len(failed)} valid, 0 invalid" in result.output
    result = run("validate", str(received), "--invalid", "-q")
    assert result.exit_code == 2  # the not-JSON ones are among them
    result = run("send", "--from", str(received), "--seq", "10-12", "--dry-run", "--format", "json")
    rows = json.loads(result.output)["deliveries"]
    assert [r["seq"] for r in rows] == [10, 11, 12]
    assert [r["body"] for r in rows] == [first[n]["body"] for n in (10, 11, 12)]
    recording = failed[0]["recording_url"]
    with Receiver() as again:
        result = run(
            "send", "--from", str(received), "--recording", recording.rsplit("/", 1)[-1],
            "--target", again.url,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert {c.recording_url for c in again.captures} == {recording}


def test_keep_headers_replays_the_captured_headers(received: Path) -> None:
    with Receiver() as again:
        result = run("send", "--from", str(received), "--keep-headers", "--seq", "5",
                     "--target", again.url)  # fmt: skip
        assert result.exit_code == 0, result.output
        (capture,) = again.captures
    assert capture.headers["x-signature"] == "abc123"
    assert capture.headers["host"] != "ignored"  # the replay's own host, not the captured one
    with Receiver() as again:
        run("send", "--from", str(received), "--seq", "5", "--target", again.url)
        assert "x-signature" not in again.captures[0].headers


def test_plain_callbacks_still_work_and_a_mixed_file_is_an_input_error(
    received: Path, tmp_path: Path, examples: dict[str, list[dict[str, Any]]]
) -> None:
    plain = tmp_path / "plain.jsonl"
    callbacks = [c for group in examples.values() for c in group]
    plain.write_text("".join(json.dumps(c) + "\n" for c in callbacks))
    result = run("validate", str(plain))
    assert result.exit_code == 0, result.output
    result = run("validate", str(plain), "--seq", "0-1")
    assert "2 valid" in result.output
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(received.read_text() + json.dumps(callbacks[0]) + "\n")
    result = run("send", "--from", str(mixed), "--dry-run")
    assert result.exit_code == 2
    assert "a plain callback among capture log records" in result.output
    with pytest.raises(InputError, match="not both"):
        read_all_captured(str(mixed))
    result = run("validate", str(mixed))
    assert result.exit_code == 2


def test_a_serve_log_replays_the_callbacks_the_fake_sent(tmp_path: Path) -> None:
    log = tmp_path / "serve.jsonl"
    callback = {"event": "recording-started", "timestamp": 1, "recording": {"url": "u"}}
    lines = [
        {"type": "request", "seq": 0, "method": "POST", "path": "/r", "status": 201},
        {"type": "callback", "seq": 0, "event": "recording-started", "callback": callback},
    ]
    log.write_text("".join(json.dumps(x) + "\n" for x in lines))
    (only,) = read_all_captured(str(log))
    assert only.payload == callback and json.loads(only.body) == callback


def test_selection_parses_ranges_and_refuses_nonsense() -> None:
    assert Selection.parse_seq("10-20") == (10, 20)
    assert Selection.parse_seq("7") == (7, 7)
    assert Selection.parse_seq("5-") == (5, None)
    assert Selection.parse_seq("-3") == (0, 3)
    for bad in ("", "a-b", "9-3", "-", "1-2-3"):
        with pytest.raises(UsageError, match="bad --seq"):
            Selection.parse_seq(bad)
    result = run("validate", "x.jsonl", "--seq", "9-3")
    assert result.exit_code == 2 and "the range ends before it starts" in result.output


def test_the_filters_need_a_file() -> None:
    result = run("send", "--event", "recording-started", "--dry-run")
    assert result.exit_code == 2 and "give --from FILE" in result.output


def test_framing_headers_are_the_senders() -> None:
    assert FRAMING == FRAMING_HEADERS


def test_a_record_without_its_body_is_named(tmp_path: Path) -> None:
    log = tmp_path / "broken.jsonl"
    record = {"seq": 0, "method": "POST", "headers": {}, "body_base64": "%%%", "verdict": "valid"}
    log.write_text(json.dumps(record) + "\n")
    result = run("send", "--from", str(log), "--dry-run")
    assert result.exit_code == 2
    assert "broken.jsonl:1: body_base64 is not base64" in result.output
