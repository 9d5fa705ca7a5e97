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
    assert "7 clauses (32 checks): 7 passed" in result.output
    verdicts = {line.split()[1] for line in result.stdout.splitlines()[:32]}
    assert verdicts == {"passed"}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_defect_exits_1_and_names_its_clause(defect: str) -> None:
    with AppServer(make_receiver(defect, delay=1.0), path="/aircore") as server:
        result = run(
            "check", "--target", server.url, "--seed", "2", "--budget", "0.3", "--format", "json"
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
    row = next(line for line in lines if line.startswith("idempotent-duplicates "))
    assert " failed " in row and "delivered a second time" in row
    assert f"curl -sS -X POST {server.url}" in result.stdout
    assert "7 clauses (32 checks): 1 failed, 6 passed" in result.stdout


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
            ],
            2,
            "no clause left to run",
        ),
        ([], 2, "Missing option '-t' / '--target'"),
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
    from .test_sender import _integrity_error_app

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

    from .test_cli_send import _default_signals

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
    assert "interrupted (Ctrl-C): the clauses after it were skipped" in out
