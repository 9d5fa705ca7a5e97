from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

import aircore_mock
from aircore_mock import Generator, Receiver, WaitTimeout, send

# The `receiver` fixture (conftest.py) of every test here that takes it.
pytestmark = pytest.mark.receiver(path="/aircore", log=True)


def test_survives_bad_requests_and_answers_each(receiver: Receiver, tmp_path: Path) -> None:
    url = receiver.url
    with httpx.Client(timeout=10) as client:
        answers = {
            "not json": client.post(url, content=b"{not json").status_code,
            "empty": client.post(url, content=b"").status_code,
            "5 MiB": client.post(
                url, content=b"[" + b"1," * (5 * 1024 * 1024 // 2) + b"1]"
            ).status_code,
            "GET": client.get(url).status_code,
            "wrong path": client.post(url + "/elsewhere", json={}).status_code,
            "not a callback": client.post(url, json={"hello": "world"}).status_code,
        }
        example = aircore_mock.get_schema("recording-started")["examples"][0]
        answers["valid"] = client.post(url, json=example).status_code
    assert answers == {
        "not json": 400,
        "empty": 400,
        "5 MiB": 413,
        "GET": 405,
        "wrong path": 404,
        "not a callback": 204,
        "valid": 204,
    }
    verdicts = [c.verdict for c in receiver.captures]
    assert verdicts == [
        "not-json",
        "not-json",
        "too-large",
        "wrong-method",
        "wrong-path",
        "invalid",
        "valid",
    ]
    assert receiver.flush_log()
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [entry["verdict"] for entry in logged] == verdicts
    assert logged[0]["body"] == "{not json" and logged[0]["payload"] is None
    assert logged[5]["problems"][0]["path"] == "$.event"
    assert logged[6]["payload"] == example and logged[6]["headers"]["content-type"]
    assert json.loads(logged[6]["body"]) == example
    # still alive
    assert httpx.post(url, json=example).status_code == 204


def test_concurrent_senders_all_arrive(receiver: Receiver) -> None:
    threads = [
        threading.Thread(
            target=send,
            args=(Generator(seed).deliveries("burst", count=10), receiver.url),
            kwargs={"concurrency": 4},
        )
        for seed in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(receiver.wait_for(120, timeout=10)) == 120
    assert receiver.summary().invalid == 0


def test_lifecycle_order_and_duplicates_are_flagged(receiver: Receiver) -> None:
    send(Generator(1).deliveries("upload-failed+reversed"), receiver.url)
    send(Generator(2).deliveries("uploaded+duplicate"), receiver.url)
    captures = receiver.captures
    assert [c.out_of_order for c in captures[:3]] == [True, True, True]
    assert sum(c.duplicate for c in captures[3:]) == 1
    assert not any(c.out_of_order for c in captures[3:])
    summary = receiver.summary()
    assert summary.duplicates == 1 and summary.out_of_order == 3


def test_undocumented_fields_are_reported_and_strict_rejects_them() -> None:
    payload = aircore_mock.get_schema("recording-uploaded")["examples"][0]
    payload["recording"]["location"]["bucket"] = "youraccount"
    with Receiver() as lenient:
        httpx.post(lenient.url, json=payload)
        (capture,) = lenient.captures
        assert capture.verdict == "valid"
        assert capture.undocumented == ("$.recording.location.bucket",)
        assert lenient.summary().undocumented_fields == ("$.recording.location.bucket",)
        invalid = dict(payload, timestamp=-1)
        httpx.post(lenient.url, json=invalid)
        assert lenient.captures[1].verdict == "invalid"
        assert lenient.captures[1].undocumented == ("$.recording.location.bucket",)
    with Receiver(strict=True, status=200) as strict:
        assert httpx.post(strict.url, json=payload).status_code == 200
        assert strict.captures[0].verdict == "invalid"


def test_undocumented_values_and_event_types_are_named_and_strict_rejects_them() -> None:
    stopped = aircore_mock.get_schema("recording-stopped")["examples"][0]
    stopped["recording"]["reason"] = "recordingLimitReached"
    paused = dict(stopped, event="recording-paused")
    with Receiver() as lenient:
        for payload in (stopped, paused):
            httpx.post(lenient.url, json=payload)
        first, second = lenient.captures
        assert (first.verdict, second.verdict) == ("valid", "valid")
        assert first.undocumented == ("$.recording.reason='recordingLimitReached'",)
        assert second.undocumented == ("$.event='recording-paused'",)
        assert "[undocumented: $.recording.reason='recordingLimitReached']" in first.line()
    with Receiver(strict=True) as strict:
        httpx.post(strict.url, json=stopped)
        (capture,) = strict.captures
        assert capture.verdict == "invalid"
        assert capture.problems[0].path == "$.recording.reason"


def test_configured_status_is_answered() -> None:
    with Receiver(status=503) as r:
        report = send(Generator(1).scenario("in-progress"), r.url)
    assert report.results[0].status == 503


def test_wait_for_times_out_with_a_clear_message() -> None:
    with Receiver() as r, pytest.raises(WaitTimeout, match="0 of 2 callbacks arrived"):
        r.wait_for(2, timeout=0.2)


def test_reset_forgets_and_stop_releases_the_port() -> None:
    r = Receiver().start()
    send(Generator(1).scenario("in-progress"), r.url)
    assert len(r.callbacks) == 1
    r.reset()
    assert r.callbacks == [] and r.summary().requests == 0
    port = r.port
    r.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{port}/", json={})


def test_the_receiver_app_works_in_process() -> None:
    r = Receiver()
    report = send(Generator(1).scenario("uploaded"), r.app)
    assert report.ok and len(r.callbacks) == 3


def test_bad_arguments() -> None:
    with pytest.raises(aircore_mock.UsageError, match="status must be an HTTP status"):
        Receiver(status=42)
    with Receiver() as taken, pytest.raises(aircore_mock.UsageError, match="cannot listen"):
        Receiver(port=taken.port)


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1, "5", None])
def test_a_wait_that_could_never_end_is_refused_by_name(timeout: object) -> None:
    from aircore_mock import FakeAircore, UsageError

    with Receiver() as receiver, pytest.raises(UsageError, match="timeout must be"):
        receiver.wait_for(1, timeout=timeout)  # type: ignore[arg-type]
    fake = FakeAircore(clock="instant")
    with pytest.raises(UsageError, match="timeout must be"):
        fake.wait_for_callbacks(1, timeout=timeout)  # type: ignore[arg-type]
