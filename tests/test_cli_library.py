"""What the CLI did beyond parse, build, run and report, now public in the library."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from aircore_mock import Generator
from aircore_mock.contract import ContractSession, preflight
from aircore_mock.errors import InputError, UsageError
from aircore_mock.fake import FakeSummary
from aircore_mock.files import read_callbacks
from aircore_mock.generation import ScenarioRow, failure_rows, parse_pins, scenario_rows
from aircore_mock.load import (
    LoadDeliveries,
    LoadLatency,
    LoadOutcome,
    LoadPlan,
    LoadSummary,
    LocustCounts,
)
from aircore_mock.reporting import SpooledJsonReport, text
from aircore_mock.sending import FRAMING_HEADERS, parse_headers
from aircore_mock.server import Refusals
from aircore_mock.validation import InputsReport, validate_inputs


def _inputs(tmp_path: Path) -> list[str]:
    good = [d.callback for d in Generator(1).deliveries("uploaded")]
    bad = dict(good[0], event=7)
    noted = dict(good[0], extra="x")
    path = tmp_path / "in.jsonl"
    lines = [json.dumps(c) for c in (*good, bad, noted)] + ["{not json"]
    path.write_text("\n".join(lines) + "\n")
    return [str(path)]


def test_validate_inputs_streams_entries_and_counts(tmp_path: Path) -> None:
    report = validate_inputs(read_callbacks(_inputs(tmp_path)))
    kinds = [entry.kind for entry in report]
    assert kinds == ["invalid", "noted", "unreadable"]
    assert (report.valid, report.invalid, report.unreadable, report.noted) == (4, 1, 1, 1)
    assert report.exit_code == 2 and not report.ok
    assert report.counts()["strict"] is False
    with pytest.raises(UsageError):
        list(report)  # a stream is read once


def test_validate_inputs_exit_policy(tmp_path: Path) -> None:
    good = [d.callback for d in Generator(1).deliveries("uploaded")]
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(good))
    assert validate_inputs(read_callbacks([str(path)])).run().exit_code == 0
    path.write_text(json.dumps([*good, {"event": "recording-started"}]))
    quiet = validate_inputs(read_callbacks([str(path)]), details=False).run()
    assert quiet.exit_code == 1 and quiet.invalid == 1
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    nothing = validate_inputs(read_callbacks([str(empty)])).run()
    assert nothing.empty and nothing.exit_code == 2


def test_entries_render_and_serialise(tmp_path: Path) -> None:
    entries = list(report := InputsReport(read_callbacks(_inputs(tmp_path))))
    invalid, noted, unreadable = entries
    assert text.input_entry(invalid).startswith(f"{invalid.where}: ")
    assert ": note: " in text.input_entry(noted)
    assert invalid.to_json()["problems"] and noted.to_json()["notes"]
    assert unreadable.to_json()["error"] == unreadable.error
    assert text.validation_summary(report).startswith("4 valid, 1 invalid, 1 unreadable")


def test_the_spooled_report_is_one_json_object() -> None:
    spools = SpooledJsonReport(["a", "b"])
    for n in range(3):
        spools.add("a", {"n": n})
    out = io.StringIO()
    spools.write(out, {"count": 3})
    assert json.loads(out.getvalue()) == {"count": 3, "a": [{"n": 0}, {"n": 1}, {"n": 2}], "b": []}
    with pytest.raises(KeyError):
        spools.add("c", {})


def test_scenario_rows() -> None:
    rows = scenario_rows()
    assert all(isinstance(r, ScenarioRow) for r in rows)
    names = {r.name: r for r in rows}
    assert names["uploaded"].kind == "outcome" and names["duplicate"].kind == "fault"
    assert names["uploaded"].callbacks[0] == "recording-started"
    assert any(r.mix for r in rows) and "mix" in next(r for r in rows if r.mix).to_json()
    table = text.scenario_table(rows, 100)
    assert table[0] == "Outcomes:" and any(line.startswith("Faults") for line in table)
    assert all(set(row) == {"family", "code", "cause", "message"} for row in failure_rows())


@pytest.mark.parametrize("name", sorted(FRAMING_HEADERS))
def test_parse_headers_refuses_framing_headers(name: str) -> None:
    with pytest.raises(UsageError, match="frames the request"):
        parse_headers([f"{name.title()}: 1"])
    assert parse_headers(["Authorization: Bearer x"]) == {"Authorization": "Bearer x"}


def test_parse_pins_refuses_a_repeat() -> None:
    with pytest.raises(UsageError, match="set twice"):
        parse_pins(["bucket=a", "bucket=b"])
    assert parse_pins(["bucket=a", "region=eu-west-1"]) == {"bucket": "a", "region": "eu-west-1"}


def test_load_plan_preflight_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(
        "aircore_mock.load.runner.locust_available", lambda: calls.append(1) or True
    )
    monkeypatch.setattr("aircore_mock.load.runner.check_reachable", lambda url: None)
    plan = LoadPlan(target="http://127.0.0.1:9/", scenario="uploaded")
    plan.preflight()
    plan.preflight()
    assert calls == [1] and plan.seed is not None
    with pytest.raises(UsageError, match="--worker takes its test from the master: drop --users"):
        LoadPlan(worker=True, master_host="h", users=3).check()
    with pytest.raises(InputError, match="cannot write --csv"):
        LoadPlan(target="http://x/", csv="/nonexistent/dir/x").check()


def test_load_outcome_failure_reasons() -> None:
    def outcome(total: int, failed: int, exact: bool = True) -> LoadOutcome:
        summary = LoadSummary(
            target="http://x/",
            seed=1,
            workers=None,
            deliveries=LoadDeliveries(total=total, delivered=total - failed, failed=failed),
            latency_ms=LoadLatency(),
            lifecycles_completed=0,
            lifecycles_cut_short=0,
            locust=LocustCounts(requests=total, failures=failed),
            elapsed_s=1.0,
            throughput_per_s=float(total),
            exact=exact,
        )
        return LoadOutcome(0, summary)

    assert outcome(5, 0).failure_reason() is None
    assert outcome(0, 0).failure_reason() == "no delivery was made"
    assert outcome(5, 2).failure_reason() == "2 of 5 deliveries got no 2xx"
    assert "not exact" in str(outcome(5, 0, exact=False).failure_reason())
    refused = LoadOutcome(2, None)
    assert refused.refused_options and "refused its options" in str(refused.failure_reason())
    assert "without a summary" in str(LoadOutcome(1, None, timed_out=True).failure_reason())


def test_contract_preflight_names_an_unreachable_target() -> None:
    from .apps import free_port_refusing

    url = free_port_refusing()
    session = ContractSession(url, seed=1)
    try:
        with pytest.raises(InputError, match=f"cannot reach {url}"):
            preflight(session)
    finally:
        session.close()


def test_server_lines() -> None:
    assert text.refusals_line(Refusals()) is None
    assert text.refusals_line(None) is None
    line = text.refusals_line(Refusals(connections=1, header_timeouts=2))
    assert line == "refused: 1 over the connection limit, 2 too slow sending headers"
    summary = FakeSummary(
        recordings=1, states={}, requests=2, callbacks=3, deliveries={"delivered": 3}
    )
    assert text.fake_summary(summary) == [
        "1 recording(s), 2 API request(s), 3 callback(s): 3 delivered"
    ]
    refused = dataclasses.replace(summary, refused=Refusals(large_heads=1))
    assert text.fake_summary(refused)[-1] == "refused: 1 headers too large"
    assert text.dropped_lines(4) == "aircore-mock: 4 output line(s) dropped: stdout did not keep up"
