"""The contract at the library layer, in-process, over the whole defect matrix: each planted
defect fails exactly its clause (or warns), and correct receivers pass every clause. The CLI
and pytester tests keep to exit codes and output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aircore_mock import check_receiver

from .raw_receivers import WIRE_CORRECT, WIRE_DEFECTS, raw_receiver, verdicts
from .receivers import (
    DEFECTS,
    MORE_DEFECTS,
    STATE_DEFECTS,
    WARNING_DEFECTS,
    make_receiver,
    receiver_probe,
    receiver_state,
)


def _verdicts(
    defect: str | None, with_state: bool = False, **options: object
) -> tuple[set[str], set[str]]:
    app = make_receiver(defect, delay=5)
    if with_state:
        options.update(state=receiver_state(app), probe=receiver_probe(app))
    report = check_receiver(app, path="/aircore", seed=1, budget=2, **options)
    by_clause = report.by_clause()
    if defect != "slow":  # the rest is skipped once the receiver proves slow
        assert "skipped" not in by_clause.values(), [r.reason for r in report.results]
    failed = {c for c, v in by_clause.items() if v == "failed"}
    warned = {c for c, v in by_clause.items() if v == "warned"}
    return failed, warned


def _clause(test_name: str) -> str:
    return test_name.removeprefix("test_").replace("_", "-")


def test_a_correct_receiver_passes_every_clause() -> None:
    # its probe and state given: the probe and converges run too, over every delivery order
    assert _verdicts(None, with_state=True, concurrency=8) == (set(), set())


@pytest.mark.parametrize("defect", sorted(STATE_DEFECTS))
def test_a_state_that_depends_on_the_order_fails_converges(defect: str) -> None:
    app = make_receiver(defect)
    report = check_receiver(
        app, path="/aircore", seed=1, only=["converges"], state=receiver_state(app)
    )
    (result,) = report.results
    assert result.verdict == "failed"
    # one failure per lifecycle shape that shows it, each shrunk to its shortest order: three
    # deliveries out of order, or four with one duplicate
    failure = result.failures[0]
    assert STATE_DEFECTS[defect] in failure.sent
    assert len(failure.sequence) == (3 if defect == "state-moves-backwards" else 4)
    assert failure.body == failure.sequence[-1]
    assert "the state after the same callbacks once in order" in failure.expected
    # everything else about such a receiver is right
    assert _verdicts(defect, concurrency=8) == (set(), set())


def test_the_probe_runs_after_every_delivery_order() -> None:
    app = make_receiver("state-moves-backwards")
    report = check_receiver(app, path="/aircore", seed=1, only=["probe"], probe=receiver_probe(app))
    (result,) = report.results
    assert result.verdict == "failed"
    assert all("in order)" not in f.sent for f in result.failures)
    assert any("(out of order)" in f.sent for f in result.failures)


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_defect_fails_exactly_its_clause(defect: str) -> None:
    # A receiver that breaks under concurrency breaks every clause of a concurrent check.
    concurrency = 1 if defect == "not-concurrency-safe" else 8
    failed, _ = _verdicts(defect, concurrency=concurrency)
    expected = {_clause(DEFECTS[defect])}
    if defect == "not-concurrency-safe":  # a retry racing its original is concurrency too
        expected.add("idempotent-duplicates")
    assert failed == expected


@pytest.mark.parametrize("defect", sorted(MORE_DEFECTS))
def test_more_defects_fail_the_clauses_they_break(defect: str) -> None:
    failed, _ = _verdicts(defect, concurrency=8)
    expected = {_clause(t) for t in MORE_DEFECTS[defect]}
    assert expected <= failed
    assert not failed & ({"answers-in-time", "handles-malformed-input"} - expected)


@pytest.mark.parametrize("defect", sorted(WARNING_DEFECTS))
def test_doubtful_answers_warn_in_their_clause(defect: str) -> None:
    assert _verdicts(defect, concurrency=8) == (set(), {_clause(WARNING_DEFECTS[defect])})


# --- the wire: socket-level receivers --------------------------------------------------


@pytest.mark.parametrize("defect", WIRE_DEFECTS)
def test_each_wire_defect_fails_exactly_speaks_http(defect: str) -> None:
    with raw_receiver(defect) as url:
        report = check_receiver(url, seed=1, budget=2, concurrency=8)
    failed, _ = verdicts(report)
    assert failed == {"speaks-http"}, [r.reason for r in report.results if r.verdict == "failed"]
    failure = next(r for r in report.results if r.failures).failures[0]
    assert failure.profile is not None
    assert "[profile " in failure.explain(url) and "curl " in failure.explain(url)


@pytest.mark.parametrize("kind", WIRE_CORRECT)
def test_unusual_but_correct_receivers_pass(kind: str) -> None:
    with raw_receiver(kind) as url:
        report = check_receiver(url, seed=1, budget=2, concurrency=8)
    assert verdicts(report)[0] == set(), [r.reason for r in report.results if r.failures]


@pytest.mark.parametrize("status", [200, 201, 202, 208])
def test_any_2xx_is_an_acceptance(status: int) -> None:
    report = check_receiver(
        make_receiver(ok=status), path="/aircore", seed=1, budget=2, concurrency=8
    )
    assert verdicts(report) == (set(), set())


def test_an_unreachable_target_raises_what_check_exits_2_with() -> None:
    from aircore_mock.errors import InputError

    from .apps import free_port_refusing

    with pytest.raises(InputError, match="cannot reach"):
        check_receiver(free_port_refusing(), budget=2)


def test_a_big_integer_is_sent_not_a_crash() -> None:
    from aircore_mock.contract.results import dumps, loads

    body = dumps({"timestamp": 2**70, "x": [-(2**64)]})
    assert body == b'{"timestamp":1180591620717411303424,"x":[-18446744073709551616]}'
    assert loads(body)["timestamp"] == 2**70


def test_junit_report_names_each_case_and_its_curl_line(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from aircore_mock.reporting import junit

    report = check_receiver(
        make_receiver("crash-on-non-json"),
        path="/aircore",
        seed=1,
        only=["handles-malformed-input"],
    )
    path = tmp_path / "report.xml"
    junit.write(junit.contract(report), path)
    suite = ET.parse(path).getroot()
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r.name for r in report.results]
    failed = [c for c in cases if c.find("failure") is not None]
    assert failed and all("curl -sS -X POST" in (c.find("failure").text or "") for c in failed)


def test_the_readme_coverage_table_mirrors_the_catalogue() -> None:
    import re

    from aircore_mock.contract.coverage import COVERAGE, coverage_size
    from aircore_mock.validation import is_valid

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("**The coverage phase**", 1)[1].split("\n\n", 2)[1]
    fields = [row.split("|")[1].strip() for row in section.splitlines()[2:]]
    expected = [
        ", ".join(
            f"`{f.strip()}`" if "(" not in f else f"`{f.split(' (')[0]}` ({f.split(' (')[1]}"
            for f in row.field.split(",")
        )
        for row in COVERAGE
    ]
    assert fields == expected
    assert f"{coverage_size()} callbacks in all" in readme
    # every callback covered is documented: a 2xx is due for each, times are integers
    from aircore_mock.contract.coverage import coverage_callbacks

    for callback, _ in coverage_callbacks(3):
        assert is_valid(callback, strict=True)
        assert isinstance(callback["timestamp"], int)
        assert not re.search(r"\d\.\d", str(callback["recording"].get("startTime")))


@pytest.mark.slow
def test_a_correct_receiver_taking_2_s_a_callback_passes() -> None:
    # Real time: every answer takes 2 s (under the 10 s budget); no clause may fail or be cut
    # short. The clauses most sensitive to time: the wire profiles (Expect: 100-continue
    # included), the race, the late redelivery, the burst.
    from .receivers import make_receiver as _make

    slow_but_right = _make("slow", delay=2)
    only = ["speaks-http", "idempotent-duplicates", "redeliveries", "concurrent-deliveries"]
    report = check_receiver(slow_but_right, path="/aircore", seed=1, concurrency=16, only=only)
    assert verdicts(report) == (set(), set()), [r.reason for r in report.results]
    assert report.ok


def test_the_report_counts_its_deliveries_over_the_runs_own_time() -> None:
    import time

    began = time.monotonic()
    report = check_receiver(
        make_receiver(None), path="/aircore", seed=1, budget=2, only=["accepts-every-callback"]
    )
    wall = time.monotonic() - began
    data = report.to_json()["deliveries"]
    counted = report.deliveries
    # the run's own time (not one send's, nor zero), and the rate over it
    assert counted.total > 0 and 0 < counted.elapsed_s <= wall
    assert data["elapsed_s"] == round(counted.elapsed_s, 3)
    assert data["throughput_per_s"] == round(counted.total / counted.elapsed_s, 1)


def test_requests_a_slow_receiver_got_are_all_in_the_count() -> None:
    # In-process, a request reaches the app the moment it is sent: every one the app got is
    # in the report, answered too late or abandoned in flight once the receiver proved slow
    # (issue 20: the count said 1 where the receiver had got 17).
    app = make_receiver("slow", delay=3)
    arrivals = [0]

    async def counting(scope: dict[str, Any], receive: Any, send: Any) -> None:
        arrivals[0] += scope["type"] == "http"
        await app(scope, receive, send)

    report = check_receiver(
        counting, path="/aircore", seed=1, budget=0.5, concurrency=8, skip=["speaks-http"]
    )
    outcomes = report.deliveries.outcomes
    assert report.abandoned >= 1 and outcomes["timeout"] >= 1
    # (the one more: the reachability check before the run posts `{}` to an app)
    assert arrivals[0] == outcomes["timeout"] + report.abandoned + 1
    assert report.deliveries.total == sum(outcomes.values())
    assert report.to_json()["abandoned_in_flight"] == report.abandoned


def test_a_report_read_back_from_json_renders_as_the_run_did() -> None:
    # Results stand alone (issue 19, item 9): the text comes from the report, and a report
    # read back from `check --format json` gives the same text, binary bodies and the hint
    # included.
    import json

    from aircore_mock.contract import ContractReport, FuzzReport, fuzz_target
    from aircore_mock.reporting import text

    report = check_receiver(
        make_receiver("crash-on-non-json"), path="/aircore", seed=1, concurrency=8,
        headers={"Authorization": "Bearer k"}, only=["handles-malformed-input", "answers-in-time"],
    )  # fmt: skip
    assert not report.ok
    back = ContractReport.from_json(json.loads(json.dumps(report.to_json())))
    assert text.contract(back) == text.contract(report)
    assert any(b"\xff" in f.body for r in back.results for f in r.failures)  # bytes kept
    assert "Authorization: Bearer k" in "\n".join(text.contract(back))
    # a hint: every answer the same wrong status
    lost = check_receiver(make_receiver(), path="/elsewhere", seed=1, only=["answers-in-time"])
    assert lost.hint and text.contract(ContractReport.from_json(lost.to_json())) == text.contract(
        lost
    )
    fuzzed = fuzz_target(make_receiver("divides-by-elapsed"), path="/aircore", examples=60)
    assert fuzzed.failures
    again = FuzzReport.from_json(json.loads(json.dumps(fuzzed.to_json())))
    assert text.fuzz(again) == text.fuzz(fuzzed)


def test_a_ctrl_c_the_sender_took_after_its_last_answer_still_stops_the_run() -> None:
    # The sender's own handler takes a signal that comes during a send; when every answer
    # was in by then, nothing else showed it, and fuzz drew on (a random-time signal trial:
    # exit 0 a second later). The sender says it was signalled, and the run stops.
    import _thread
    import signal

    from aircore_mock.contract import ContractSession
    from aircore_mock.sending import ScriptedReply, ScriptedTransport, Sender

    calls = [0]

    def answer(request: Any) -> ScriptedReply:
        calls[0] += 1
        if calls[0] == 1:  # Ctrl-C as the main thread sees it, its answer already made
            _thread.interrupt_main(signal.SIGINT)
        return ScriptedReply(204)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    session = ContractSession("http://127.0.0.1:9/aircore", seed=1)
    session._sender = Sender(transport=ScriptedTransport(answer), stop_signals=(signal.SIGINT,))
    try:
        report = session.run_all(only=["answers-in-time", "accepts-every-callback"])
    finally:
        session.close()
        signal.signal(signal.SIGINT, previous)
    assert session._sender.signalled and report.interrupted and not report.ok
    assert any(r.reason == "skipped: interrupted" for r in report.results)
