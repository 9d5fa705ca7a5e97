"""The typed summaries of the capture server, the fake and a load test: attributes for Python
users, `to_json()` for machines, and the text the commands print."""

from __future__ import annotations

import json

from aircore_mock import FakeAircore, Generator, Receiver, send
from aircore_mock.load import LoadSummary
from aircore_mock.reporting import text

LOAD_JSON = {
    "target": "http://127.0.0.1:8000/aircore",
    "seed": 7,
    "workers": 2,
    "deliveries": {
        "total": 6,
        "delivered": 5,
        "failed": 1,
        "by_event": {"recording-started": 3, "recording-stopped": 3},
        "by_status": {"204": 5, "503": 1},
        "by_event_and_status": {
            "recording-started": {"204": 3},
            "recording-stopped": {"204": 2, "503": 1},
        },
    },
    "latency_ms": {"p50": 1.5, "p95": 3.0, "p99": 4.0, "max": 4.2},
    "lifecycles": {"completed": 2, "cut_short": 1},
    "locust": {"requests": 6, "failures": 1, "by_name": {"recording-started": {"requests": 3}}},
    "elapsed_s": 1.25,
    "throughput_per_s": 4.8,
    "exact": True,
    "workers_without_last_report": [],
}


def test_a_load_summary_reads_back_what_it_wrote() -> None:
    summary = LoadSummary.from_json(json.loads(json.dumps(LOAD_JSON)))
    assert summary.to_json() == LOAD_JSON
    assert summary.deliveries.failed == 1 and summary.latency_ms.p95 == 3.0
    assert not summary.ok
    assert summary.failure_reason() == "1 of 6 deliveries got no 2xx"
    lines = text.load_summary(summary)
    assert lines[0].endswith("5 got a 2xx, 1 did not (2 workers)")
    assert "lifecycles: 2 completed, 1 cut short" in lines[-3]


def test_a_load_summary_without_deliveries_says_so() -> None:
    empty = {**LOAD_JSON, "deliveries": {**LOAD_JSON["deliveries"], "total": 0, "failed": 0}}
    summary = LoadSummary.from_json(empty)
    assert summary.failure_reason() == "no delivery was made"
    inexact = LoadSummary.from_json({**LOAD_JSON, "exact": False})
    assert "not exact" in (
        LoadSummary.from_json(
            {**inexact.to_json(), "deliveries": {**LOAD_JSON["deliveries"], "failed": 0}}
        ).failure_reason()
        or ""
    )


def test_the_capture_summary_is_typed_and_its_json_keeps_its_keys() -> None:
    with Receiver() as receiver:
        report = send(Generator(3).deliveries("uploaded+duplicate"), receiver.url)
        assert report.ok
        receiver.wait_for(4, timeout=10)
        summary = receiver.summary()
    assert summary.callbacks == summary.requests == 4
    assert summary.duplicates == 1 and summary.invalid == 0
    assert summary.refused is not None and summary.refused.total() == 0
    data = summary.to_json()
    assert data["duplicates"] == 1 and data["refused"]["header_timeouts"] == 0
    assert "log_lines_dropped" not in data  # no log
    assert text.capture_flags(summary) == "1 duplicates"


def test_the_fake_summary_is_typed() -> None:
    with FakeAircore(clock="instant") as fake:
        summary = fake.summary()
    assert summary.recordings == summary.requests == summary.callbacks == 0
    assert summary.to_json()["deliveries"] == {}
    assert text.fake_summary(summary) == ["0 recording(s), 0 API request(s), 0 callback(s)"]


def test_the_log_notice_names_the_file_and_the_causes() -> None:
    import dataclasses

    from aircore_mock.fake import FakeSummary

    quiet = FakeSummary(recordings=0, states={}, requests=0, callbacks=0, deliveries={})
    assert text.log_dropped(quiet, "x.jsonl") is None
    full = dataclasses.replace(
        quiet,
        log_lines_dropped=5,
        log_drop_causes={"No space left on device": 3, "did not keep up": 2},
    )
    assert text.log_dropped(full, "x.jsonl") == (
        "aircore-mock: 5 log line(s) dropped: x.jsonl: No space left on device (3), "
        "did not keep up (2)"
    )
    slow = dataclasses.replace(quiet, log_lines_dropped=2, log_drop_causes={"did not keep up": 2})
    assert text.log_dropped(slow, "x.jsonl") == (
        "aircore-mock: 2 log line(s) dropped: x.jsonl did not keep up"
    )
