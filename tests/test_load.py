"""`aircore-mock load` and aircore_mock.load.users.

Locust monkey-patches the standard library through gevent when imported, so every test that
runs it does so in child processes; this module never imports locust.
"""

from __future__ import annotations

import ast
import csv
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aircore_mock import Receiver
from aircore_mock.cli import cli
from aircore_mock.load.runner import LoadPlan, free_port, locustfile_path, parse_timespan

from .apps import free_port_refusing

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "aircore_mock"]
BOUND_S = 120  # no run here should take a tenth of it


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _lifecycles_whole(by_event: dict[str, int]) -> bool:
    """Every recording that started also stopped and got its upload callback (mixed)."""
    uploads = by_event.get("recording-uploaded", 0) + by_event.get("recording-upload-failed", 0)
    return by_event["recording-started"] == by_event["recording-stopped"] == uploads


# --- the distributed run ------------------------------------------------------------------


def test_master_and_two_workers_agree_exactly_with_the_receiver(tmp_path: Path) -> None:
    port = free_port()
    with Receiver(keep=False) as receiver:
        master = subprocess.Popen(
            [
                *CLI, "load", "--master", "--expect-workers", "2", "--master-port", str(port),
                "--target", receiver.url, "-u", "6", "-r", "6", "--run-time", "3s",
                "--seed", "11", "--speed", "2000", "--stop-timeout", "20",
                "--format", "json", "--csv", str(tmp_path / "run"),
                "--", "--master-bind-host", "127.0.0.1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        worker_command = [*CLI, "load", "--worker", "--master-host", "127.0.0.1"]
        workers = [
            subprocess.Popen(
                [*worker_command, "--master-port", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        try:
            out, err = master.communicate(timeout=BOUND_S)
            worker_codes = [w.wait(timeout=BOUND_S) for w in workers]
        finally:
            _stop(master, *workers)
        assert master.returncode == 0, err.decode()[-3000:]
        assert worker_codes == [0, 0]
        summary = json.loads(out)
        got = receiver.summary().to_json()
    deliveries = summary["deliveries"]
    assert summary["workers"] == 2 and summary["exact"] is True and summary["seed"] == 11
    # Locust's count, aircore-mock's count and the receiver's count are one number
    assert deliveries["total"] > 0
    assert deliveries["total"] == summary["locust"]["requests"] == got["requests"]
    with open(tmp_path / "run_stats.csv", newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    assert int(rows["Aggregated"]["Request Count"]) == deliveries["total"]
    assert deliveries["by_event"] == got["events"]
    assert deliveries["by_status"] == {"204": deliveries["total"]}
    # users stopped mid-recording finished it: every lifecycle is whole, in order
    assert _lifecycles_whole(deliveries["by_event"])
    assert summary["lifecycles"] == {
        "completed": deliveries["by_event"]["recording-started"],
        "cut_short": 0,
    }
    assert got["out_of_order"] == 0 and got["invalid"] == 0 and got["duplicates"] == 0
    assert summary["latency_ms"]["p50"] is not None


def test_ctrl_c_finishes_the_recordings_in_flight_and_reports_them_all() -> None:
    with Receiver(keep=False) as receiver:
        load = subprocess.Popen(
            [
                *CLI, "load", "--target", receiver.url, "--processes", "2", "-u", "4",
                "-r", "4", "--run-time", "5m", "--seed", "8", "--speed", "500",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            receiver.wait_for(12, timeout=60)  # users are playing, some mid-recording
            load.send_signal(signal.SIGINT)
            out, err = load.communicate(timeout=BOUND_S)
        finally:
            _stop(load)
        got = receiver.summary().to_json()
    assert load.returncode == 0, err.decode()[-3000:]
    text, total = out.decode(), got["requests"]
    # the summary comes in text here (Locust's own tables come first, on stderr)
    assert b"Aggregated" in err
    assert f"aircore-mock load: {total} deliveries to {receiver.url}: {total} got a 2xx" in text
    assert "(2 workers)" in text
    assert f"Locust counted the same {total} requests: every delivery" in text
    assert "cut short" not in text
    assert _lifecycles_whole(got["events"])  # the recordings in flight were finished
    assert f"lifecycles: {got['events']['recording-started']} completed" in text


def test_answers_without_a_2xx_fail_the_run_with_counts_by_status() -> None:
    with Receiver(keep=False, status=503) as receiver:
        done = subprocess.run(
            [
                *CLI, "load", "--target", receiver.url, "-u", "2", "-r", "2",
                "--run-time", "1s", "--seed", "4", "--format", "json",
            ],
            capture_output=True,
            text=True,
            timeout=BOUND_S,
        )  # fmt: skip
        got = receiver.summary().to_json()
    assert done.returncode == 1, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    total = got["requests"]
    assert summary["deliveries"]["by_status"] == {"503": total}
    assert summary["locust"]["failures"] == summary["locust"]["requests"] == total
    assert f"error: {total} of {total} deliveries got no 2xx" in done.stderr


# --- the user class through Locust's library API -----------------------------------------


def test_user_class_in_an_environment_against_an_in_process_receiver() -> None:
    # the child process imports locust (and so gevent's patching); see locust_env_run.py
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "locust_env_run.py"), "3"],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first, again, failing = json.loads(done.stdout)
    for run_ in (first, again, failing):
        summary, got = run_["summary"], run_["receiver"]
        # 3 users x 5 recordings of upload-failed+duplicate: 3 callbacks and one twin each
        assert summary["deliveries"]["total"] == got["requests"] == run_["stats_requests"] == 60
        assert summary["lifecycles"] == {"completed": 15, "cut_short": 0}
        assert got["duplicates"] == 15 and got["out_of_order"] == 0
        assert summary["deliveries"]["by_event"] == got["events"]
    assert first["stats_failures"] == 0 and first["summary"]["deliveries"]["delivered"] == 60
    # the same seeds, the same bytes
    assert first["callbacks"] == again["callbacks"]
    # anything but a 2xx is a failure for Locust too
    assert failing["stats_failures"] == 60
    assert failing["summary"]["deliveries"]["by_status"] == {"500": 60}
    assert failing["summary"]["locust"]["failures"] == 60


# --- bad input: one line, exit code 2, before Locust starts -------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--master", "--worker", "--master-host", "h"], "--master and --worker exclude"),
        (["--worker"], "--worker needs --master-host"),
        (["--target", "http://x/", "--master-host", "h"], "--master-host is for --worker"),
        (["--target", "http://x/", "--master", "--processes", "2"], "--processes runs its own"),
        (["--target", "http://x/", "--expect-workers", "2"], "--expect-workers is for --master"),
        (
            ["--worker", "--master-host", "h", "--users", "5", "--scenario", "burst"],
            "--worker takes its test from the master: drop --users, --scenario",
        ),
        (["--worker", "--master-host", "h", "--web"], "a worker has no web UI"),
        ([], "--target is required"),
        (["--target", "http://x/", "--run-time", "soon"], "bad time span 'soon'"),
        (["--target", "ftp://x/"], "bad target URL"),
        (
            ["--target", "http://127.0.0.1:9/", "--scenario", "upload-faild"],
            "did you mean 'upload-failed'",
        ),
    ],
)
def test_bad_options_fail_with_one_line(args: list[str], message: str) -> None:
    result = run("load", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_target_fails_before_locust_starts() -> None:
    url = free_port_refusing()
    result = run("load", "--target", url, "--run-time", "2s")
    assert result.exit_code == 2
    assert f"cannot reach {url}" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_without_locust_it_says_how_to_install_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("aircore_mock.load.runner.locust_available", lambda: False)
    result = run("load", "--target", "http://127.0.0.1:9/")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: locust is not installed: pip install 'aircore-mock[load]'"
    )


# --- the ready locustfile and the command line Locust gets -------------------------------


def test_the_ready_locustfile_takes_locust_options() -> None:
    printed = run("load", "--locustfile")
    assert printed.exit_code == 0
    path = printed.output.strip()
    assert path == locustfile_path() and Path(path).is_file()
    # the folder holds the locustfile alone: Locust puts it on sys.path while loading it
    assert [p.name for p in Path(path).parent.iterdir() if p.suffix == ".py"] == ["locustfile.py"]
    # Locust parses the --aircore-* options; a bad scenario stops it before any user starts
    done = subprocess.run(
        [
            sys.executable, "-m", "locust", "-f", path, "--headless", "--host",
            "http://127.0.0.1:9/", "--aircore-scenario", "upload-faild", "--aircore-seed", "1",
        ],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "aircore-mock: unknown scenario 'upload-faild'" in done.stderr


def test_the_plan_becomes_locust_options() -> None:
    plan = LoadPlan(
        target="http://h/cb",
        users=5,
        scenario="burst",
        seed=9,
        pins=["bucket=b"],
        headers=["X-A: 1"],
        csv="out/run",
        extra=["--loglevel", "WARNING"],
    )
    argv = plan.argv("/tmp/s.json")
    joined = " ".join(argv)
    assert argv[:4] == ["-m", "locust", "-f", locustfile_path()]
    for part in (
        "--host http://h/cb", "-u 5", "--headless --only-summary", "--run-time 1m",
        "--aircore-scenario burst",
        "--aircore-seed 9", "--aircore-set bucket=b", "--aircore-header X-A: 1",
        "--aircore-summary /tmp/s.json", "--csv out/run", "--stop-timeout 30",
    ):  # fmt: skip
        assert part in joined
    assert argv[-2:] == ["--loglevel", "WARNING"]  # given last, so they win
    worker = LoadPlan(worker=True, master_host="10.0.0.5", master_port=6000, processes=4)
    assert worker.argv(None)[4:] == [
        "--processes", "4", "--worker", "--master-host", "10.0.0.5", "--master-port", "6000",
    ]  # fmt: skip
    assert worker.time_bound() is None
    assert parse_timespan("1h30m") == 5400 and parse_timespan("45") == 45


# --- locust stays out of everything else ------------------------------------------------


def test_nothing_else_imports_locust() -> None:
    package = ROOT / "aircore_mock"
    allowed = {package / "load" / "users.py", package / "load" / "locustfile" / "locustfile.py"}
    offenders = []
    for path in package.rglob("*.py"):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if not node.level else [f".{node.module or ''}"]
                names += [f"{node.module}.{a.name}" for a in node.names if node.level]
            for name in names:
                if name.split(".")[0] in ("locust", "gevent") or name.endswith(
                    (".users", ".load.users")
                ):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []
    probe = (
        "import sys, aircore_mock, aircore_mock.cli, aircore_mock.load;"
        "[getattr(aircore_mock, n) for n in aircore_mock.__all__];"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=BOUND_S
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_summary_lines_name_every_count() -> None:
    from aircore_mock.load import LoadSummary
    from aircore_mock.reporting.text import load_summary

    data = {
        "target": "http://h/",
        "seed": 4,
        "workers": 2,
        "deliveries": {
            "total": 5,
            "delivered": 4,
            "failed": 1,
            "by_event": {"recording-started": 3, "recording-stopped": 2},
            "by_status": {"204": 4, "interrupted": 1},
            "by_event_and_status": {
                "recording-started": {"204": 3},
                "recording-stopped": {"204": 1, "interrupted": 1},
            },
        },
        "latency_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0, "max": 4.0},
        "lifecycles": {"completed": 1, "cut_short": 1},
        "locust": {"requests": 5, "failures": 1, "by_name": {}},
        "elapsed_s": 1.0,
        "throughput_per_s": 5.0,
        "exact": False,
        "workers_without_last_report": [],
    }
    text = "\n".join(load_summary(LoadSummary.from_json(data)))
    assert "5 deliveries to http://h/: 4 got a 2xx, 1 did not (2 workers)" in text
    assert "204 x1, interrupted x1" in text
    assert "1 cut short" in text
    assert "1 were interrupted; the receiver may or may not have them" in text
    assert text.endswith("seed 4")


def test_locusts_own_usage_error_is_one_line_and_exit_2() -> None:
    # Options after -- go to Locust as they are; one it does not know is a usage error, said
    # once, not as argparse's page of text.
    with Receiver(keep=False) as receiver:
        done = subprocess.run(
            [*CLI, "load", "--target", receiver.url, "--run-time", "1s", "--seed", "1",
             "--", "--bogus-flag"],
            capture_output=True,
            text=True,
            timeout=BOUND_S,
        )  # fmt: skip
        assert receiver.summary().requests == 0  # no test ran
    assert done.returncode == 2, done.stderr
    assert "Error: Locust refused its options: unrecognized arguments: --bogus-flag" in done.stderr
    assert "usage: locust" not in done.stderr and ": error: " not in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def _children(pid: int) -> list[int]:
    # Linux: the processes whose parent is `pid`, from /proc (no procps needed).
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _gone(pid: int, within: float) -> bool:
    import os
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return True  # a zombie: it has ended, its parent has not reaped it yet
        time.sleep(0.05)
    return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_worker_lost_mid_test_makes_the_counts_inexact_and_names_it() -> None:
    import os

    with Receiver(keep=False) as receiver:
        load = subprocess.Popen(
            [*CLI, "load", "--target", receiver.url, "--processes", "2", "-u", "4", "-r", "4",
             "--run-time", "6s", "--seed", "3", "--format", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            receiver.wait_for(50, timeout=60)
            (master,) = _children(load.pid)
            workers = _children(master)
            assert len(workers) == 2
            os.kill(workers[0], signal.SIGKILL)
            out, err = load.communicate(timeout=BOUND_S)
        finally:
            _stop(load)
    summary = json.loads(out)
    assert load.returncode == 1, err[-2000:]
    assert summary["exact"] is False and summary["workers"] == 2
    assert len(summary["workers_without_last_report"]) == 1
    assert "error: the counts are not exact" in err


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_locust_ends_with_the_load_process_that_started_it() -> None:
    with Receiver(keep=False) as receiver:
        load = subprocess.Popen(
            [*CLI, "load", "--target", receiver.url, "--processes", "2", "-u", "2", "-r", "2",
             "--run-time", "5m", "--seed", "3"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            receiver.wait_for(20, timeout=60)
            (master,) = _children(load.pid)
            workers = _children(master)
            load.kill()  # SIGKILL: it cannot pass anything on
            load.wait(timeout=BOUND_S)
            assert _gone(master, 60) and all(_gone(w, 60) for w in workers)
        finally:
            _stop(load)
