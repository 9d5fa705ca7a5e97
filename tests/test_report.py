"""The one Report: counts by outcome, event and status; latency percentiles; JSON; repr."""

from __future__ import annotations

import random
import statistics

import pytest

from aircore_mock import DeliveryOutcome, Report, Result


def _result(index: int, outcome: DeliveryOutcome, status: int | None, ms: float) -> Result:
    callback = {"event": "recording-started", "recording": {"url": f"http://x/recording/{index}"}}
    return Result(index, callback, None, None, 1, status, ms, outcome)


def test_outcomes_are_counted_and_not_sent_is_not_a_failure() -> None:
    report = Report()
    report.add(_result(0, DeliveryOutcome.DELIVERED, 204, 2.0))
    report.add(_result(1, DeliveryOutcome.REJECTED, 500, 3.0))
    report.add(_result(2, DeliveryOutcome.NOT_SENT, None, 0.0))
    assert (report.total, report.delivered, report.failed, report.not_sent) == (3, 1, 1, 1)
    assert report.first_failure is not None and report.first_failure.index == 1
    assert report.events == {"recording-started": 3}
    assert report.statuses == {204: 1, 500: 1}
    assert not report.ok
    assert repr(report) == "<Report total=3 delivered=1 not-sent=1 rejected=1>"


def test_to_json_carries_the_summary_and_every_result() -> None:
    report = Report()
    report.add(_result(0, DeliveryOutcome.TIMEOUT, None, 10_000.0))
    data = report.to_json()
    assert data["outcomes"] == {"timeout": 1} and data["failed"] == 1
    assert data["results"][0]["outcome"] == "timeout"
    assert data["latency_ms"] == {"p50": None, "p95": None, "p99": None}


def test_a_long_send_keeps_percentiles_within_half_a_percent_in_flat_memory() -> None:
    rng = random.Random(7)
    latencies = [rng.lognormvariate(1.5, 0.6) for _ in range(120_000)]
    report = Report()
    for index, ms in enumerate(latencies):
        report.add(_result(index, DeliveryOutcome.DELIVERED, 204, ms), keep=False)
    assert len(report.latencies_ms) == 0  # folded into the histogram
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    for p, got in zip((50, 95, 99), report.percentiles(50, 95, 99), strict=True):
        assert got == pytest.approx(cuts[p - 1], rel=0.005)


def test_a_short_send_keeps_its_exact_latencies() -> None:
    report = Report()
    for index, ms in enumerate((1.0, 2.0, 3.0)):
        report.add(_result(index, DeliveryOutcome.DELIVERED, 204, ms))
    assert list(report.latencies_ms) == [1.0, 2.0, 3.0]
    assert report.percentile(50) == 2.0


def test_percentiles_reach_the_edges_and_refuse_what_is_not_one() -> None:
    report = Report()
    for index, ms in enumerate([1.0] * 999 + [5000.0]):
        report.add(_result(index, DeliveryOutcome.DELIVERED, 204, ms), keep=False)
    assert report.percentiles(0, 50, 100) == [1.0, 1.0, 5000.0]
    with pytest.raises(ValueError, match="between 0 and 100"):
        report.percentile(150)


def test_a_result_describes_itself_on_one_line() -> None:
    from aircore_mock import DeliveryOutcome, Result

    def result(outcome: DeliveryOutcome, status: int | None, **kw: str) -> Result:
        return Result(0, {}, "u", None, 1, status, 1.0, outcome, **kw)

    broken = result(DeliveryOutcome.ERROR, None, error="bad\r\nanswer:\n  x")
    assert broken.describe() == "error: bad answer: x"
    rejected = result(DeliveryOutcome.REJECTED, 400, body="line one\nline two")
    assert rejected.describe() == "HTTP 400: line one line two"
