from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from aircore_mock import AppServer, check_receiver
from aircore_mock.cli import cli

from .apps import free_port_refusing
from .receivers import DEFECTS, make_receiver


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _clause(test_name: str) -> str:
    return test_name.removeprefix("test_").replace("_", "-")


def test_a_correct_receiver_passes_over_http() -> None:
    with AppServer(make_receiver(), path="/aircore") as server:
        result = run("check", "--target", server.url, "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "11 clauses (56 checks): 11 passed" in result.output
    verdicts = {line.split()[1] for line in result.stdout.splitlines()[:56]}
    assert verdicts == {"passed"}


# The whole defect matrix runs at the library layer (tests/test_contract_matrix.py).
@pytest.mark.parametrize("defect", ["slow", "trusts-field-types"])
def test_each_defect_exits_1_and_names_its_clause(defect: str) -> None:
    # A receiver that breaks under concurrency breaks every clause of a concurrent check:
    # one clause at a time, only concurrent-deliveries sends at once.
    one_at_a_time = ["--concurrency", "1"] if defect == "not-concurrency-safe" else []
    with AppServer(make_receiver(defect, delay=5), path="/aircore") as server:
        result = run(
            "check",
            "--target",
            server.url,
            "--seed",
            "2",
            "--budget",
            "2",
            "--format",
            "json",
            *one_at_a_time,
        )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    failed = {clause for clause, verdict in report["clauses"].items() if verdict == "failed"}
    assert failed == {_clause(DEFECTS[defect])}
    detail = next(r for r in report["results"] if r["verdict"] == "failed")["failures"][0]
    assert detail["sent"] and detail["got"] and detail["expected"] and "body" in detail


def test_text_output_names_the_clause_and_how_to_reproduce() -> None:
    with AppServer(make_receiver("unique-per-event"), path="/aircore") as server:
        result = run("check", "--target", server.url, "--seed", "3")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    row = next(line for line in lines if line.startswith("idempotent-duplicates[in-turn] "))
    assert " failed " in row and "delivered a second time" in row
    assert f"curl -sS -X POST {server.url}" in result.stdout
    # a redelivery is a duplicate too
    assert "11 clauses (56 checks): 2 failed, 9 passed" in result.stdout


def test_only_and_skip() -> None:
    with AppServer(make_receiver("crash-on-non-json"), path="/aircore") as server:
        only = run(
            "check", "--target", server.url, "--only", "idempotent-duplicates", "--format", "json"
        )
        skipped = run(
            "check", "--target", server.url, "--skip", "handles-malformed-input", "--format", "json"
        )
    assert only.exit_code == 0
    assert list(json.loads(only.stdout)["clauses"]) == ["idempotent-duplicates"]
    assert skipped.exit_code == 0
    assert "handles-malformed-input" not in json.loads(skipped.stdout)["clauses"]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--target", "http://127.0.0.1:1/"], 2, "cannot reach http://127.0.0.1:1/"),
        (["--target", "nonsense"], 2, "bad target URL"),
        (["--target", "http://127.0.0.1:1/", "--only", "be-nice"], 2, "unknown clause"),
        (["--budget", "0", "--target", "http://x.test/"], 2, "0"),
        (["--target", "http://127.0.0.1:1/", "--only", "probe"], 2, "the probe clause needs"),
        (
            [
                "--target",
                "http://127.0.0.1:1/",
                "--skip",
                "answers-in-time",
                "--skip",
                "accepts-every-callback",
                "--skip",
                "accepts-lifecycles",
                "--skip",
                "forward-compatible",
                "--skip",
                "idempotent-duplicates",
                "--skip",
                "tolerates-out-of-order",
                "--skip",
                "handles-malformed-input",
                "--skip",
                "accepts-every-value",
                "--skip",
                "redeliveries",
                "--skip",
                "concurrent-deliveries",
                "--skip",
                "speaks-http",
            ],
            2,
            "no clause left to run",
        ),
        ([], 2, "Missing option '--target'"),
    ],
)
def test_usage_errors_and_unreachable_exit_2(args: list[str], code: int, words: str) -> None:
    if "http://127.0.0.1:1/" in args:
        args = [free_port_refusing() if a == "http://127.0.0.1:1/" else a for a in args]
        words = words.replace("http://127.0.0.1:1/", args[1])
    result = run("check", *args)
    assert result.exit_code == code, result.output
    assert words in result.output
    assert "Traceback" not in result.output


def test_a_wrong_path_gets_a_hint() -> None:
    with AppServer(make_receiver(), path="/aircore") as server:
        result = run("check", "--target", server.url.replace("/aircore", "/wrong"))
    assert result.exit_code == 1
    assert "hint: every answer was HTTP 404: is http://127.0.0.1:" in result.stdout
    assert "/wrong the path that takes callbacks?" in result.stdout


def test_library_and_cli_agree() -> None:
    # The same receiver, the same seed: in-process through the library, over HTTP through
    # the command line. Every clause must get the same verdict.
    app = make_receiver("upload-needs-stop")
    report = check_receiver(app, path="/aircore", seed=4)
    with AppServer(make_receiver("upload-needs-stop"), path="/aircore") as server:
        result = run("check", "--target", server.url, "--seed", "4", "--format", "json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["clauses"] == report.by_clause()
    assert {c for c, v in report.by_clause().items() if v == "failed"} == {"tolerates-out-of-order"}


def test_a_failure_shows_the_in_process_apps_exception() -> None:
    from .apps import integrity_error_app as _integrity_error_app

    report = check_receiver(_integrity_error_app(), only=["accepts-lifecycles"])
    assert not report.ok
    failed = next(r for r in report.results if r.failures)
    text = failed.failures[0].explain("http://localhost:8000/")
    assert "the app raised:" in text and "sqlite3.IntegrityError" in text
    assert failed.to_json()["failures"][0]["app_error"].endswith(
        "UNIQUE constraint failed: recordings.url"
    )


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_one_ctrl_c_stops_check_at_once_and_prints_what_happened(stop: str) -> None:
    import signal
    import subprocess
    import sys
    import threading

    from .helpers import default_signals as _default_signals

    arrived, requests = threading.Event(), []
    slow = make_receiver("slow", delay=0.5)  # a whole check would take ~90 s

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            requests.append(1)
            if len(requests) == 3:  # past the preflight, inside the first clause
                arrived.set()
        await slow(scope, receive, send)

    with AppServer(watched, path="/aircore") as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "aircore_mock", "check", "--target", server.url, "--seed", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_signals,
        )
        try:
            assert arrived.wait(30), "check sent nothing"
        finally:
            process.send_signal(getattr(signal, stop))  # once
            out, err = process.communicate(timeout=30)
    assert process.returncode == 1, err
    assert "Traceback" not in err
    assert "skipped: interrupted" in out
    # it names truthfully how many checks ran and how many were skipped
    skipped = out.count("skipped: interrupted")
    last = [line for line in out.splitlines() if line.startswith("interrupted (Ctrl-C)")]
    assert len(last) == 1, out
    assert skipped and f"{skipped} were skipped" in last[0]


@pytest.mark.parametrize("defect", [None, "divides-by-elapsed", "rejects-new-event-types"])
def test_the_pytest_class_and_check_agree(pytester: pytest.Pytester, defect: str | None) -> None:
    from .helpers import contract_file as _contract_file
    from .helpers import outcomes as _outcomes

    _contract_file(pytester, f"make_receiver({defect!r})")
    classed = _outcomes(pytester.runpytest_inprocess("-p", "no:faker", "--aircore-seed", "5"))
    with AppServer(make_receiver(defect), path="/aircore") as server:
        result = run("check", "--target", server.url, "--seed", "5", "--format", "json")
    report = json.loads(result.stdout)
    checked = {
        clause: ("failed" if verdict == "failed" else "passed")
        for clause, verdict in report["clauses"].items()
    }
    by_class = {
        _clause(name): ("failed" if "failed" in outcomes else "passed")
        for name, outcomes in classed.items()
        if name not in ("test_probe", "test_converges", "test_fuzz")
    }
    assert by_class == checked
    warned = {c for c, v in report["clauses"].items() if v == "warned"}
    assert warned == ({"forward-compatible"} if defect == "rejects-new-event-types" else set())


def test_max_time_reports_what_was_not_checked() -> None:
    import asyncio
    import threading

    release = threading.Event()
    correct = make_receiver()

    async def stalls_after_the_start(scope: Any, receive: Any, send: Any) -> None:
        # Answers the first callback, then holds every other one until the test ends.
        if scope["type"] == "http" and stalls_after_the_start.answered:  # type: ignore[attr-defined]
            while not release.is_set():
                await asyncio.sleep(0.05)
        if scope["type"] == "http":
            stalls_after_the_start.answered = True  # type: ignore[attr-defined]
        await correct(scope, receive, send)

    stalls_after_the_start.answered = False  # type: ignore[attr-defined]
    try:
        with AppServer(stalls_after_the_start, path="/aircore") as server:
            result = run("check", "--target", server.url, "--budget", "60", "--max-time", "1")
    finally:
        release.set()
    assert result.exit_code == 1, result.output
    assert "time limit reached (1 s)" in result.stdout
    assert "not checked: the run's time limit (1 s) came first" in result.stdout
    assert "Traceback" not in result.output


def test_fuzz_finds_and_shrinks_and_reproduces() -> None:
    with AppServer(make_receiver("divides-by-elapsed"), path="/aircore") as server:
        first = run("fuzz", "--target", server.url, "-n", "80", "--seed", "3", "--format", "json")
        again = run("fuzz", "--target", server.url, "-n", "80", "--seed", "3", "--format", "json")
        text = run("fuzz", "--target", server.url, "-n", "80", "--seed", "3")
    assert first.exit_code == 1 and text.exit_code == 1, first.output + text.output
    failures = json.loads(first.stdout)["failures"]
    assert [f["body"] for f in failures] == [
        f["body"] for f in json.loads(again.stdout)["failures"]
    ]
    assert {f["clause"] for f in failures} == {"accepts-every-value"}
    assert all(json.loads(f["body"])["recording"]["elapsedTime"] == 0 for f in failures)
    assert "accepts-every-value: HTTP 500" in text.stdout and "curl -sS -X POST" in text.stdout
    assert "reproduce with --seed 3" in text.stdout


def test_fuzz_passes_a_correct_receiver() -> None:
    with AppServer(make_receiver(), path="/aircore") as server:
        result = run("fuzz", "--target", server.url, "-n", "60", "--seed", "4")
    assert result.exit_code == 0, result.output
    assert " request(s) in " in result.stdout and "no failure" in result.stdout
