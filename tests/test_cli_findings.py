"""A new user's findings (issue 18, item 7), each pinned down: what the CLI refuses, what it
says, and that its short options mean one thing everywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aircore_mock import AppServer
from aircore_mock.cli import cli

from .receivers import make_receiver


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "header", ["Content-Length: 5", "transfer-encoding: chunked", "Host: x", "Connection: close"]
)
@pytest.mark.parametrize("command", ["send", "check", "fuzz"])
def test_framing_headers_are_refused(command: str, header: str) -> None:
    result = run(command, "--target", "http://127.0.0.1:9/", "-H", header)
    assert result.exit_code == 2, result.output
    assert "frames the request" in result.output
    assert "seed" not in result.output  # no output before a usage error
    assert "Traceback" not in result.output


def test_a_repeated_set_is_a_usage_error() -> None:
    result = run("generate", "--set", "bucket=a", "--set", "bucket=b")
    assert result.exit_code == 2
    assert "--set bucket: set twice" in result.output
    path = run("generate", "--set", "recording.location.region=eu-west-1",
               "--set", "region=us-east-1")  # fmt: skip
    assert path.exit_code == 2 and "set twice" in path.output


@pytest.mark.parametrize("option", ["--csv", "--html"])
def test_load_makes_no_folder_it_was_not_asked_for(option: str, tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir" / "x"
    result = run("load", "--target", "http://127.0.0.1:9/", option, str(missing))
    assert result.exit_code == 2
    assert f"cannot write {option} {missing}" in result.output
    assert not missing.parent.exists()


def test_load_t_is_locusts_run_time_and_h_is_not_a_header() -> None:
    result = run("load", "--target", "http://127.0.0.1:9/", "-t", "soon")
    assert result.exit_code == 2 and "bad time span 'soon'" in result.output
    helped = run("load", "--help").output
    assert "-t, --run-time" in helped and "-H" not in helped
    for command in ("send", "check", "fuzz"):
        assert "-t, --target" not in run(command, "--help").output


def test_schema_list_names_the_start_recording_request() -> None:
    assert "start-recording-request" in run("schema", "--list").output


def test_no_seed_line_before_a_usage_error() -> None:
    result = run("check", "--target", "http://127.0.0.1:9/", "--only", "no-such-clause")
    assert result.exit_code == 2
    assert "seed" not in result.output


def test_fuzz_help_says_what_n_bounds() -> None:
    helped = " ".join(run("fuzz", "--help").output.split())
    assert "At most this many distinct requests drawn and sent before shrinking" in helped


def test_fuzz_sends_at_most_n_requests_to_a_receiver_that_gets_everything_right() -> None:
    with AppServer(make_receiver(), path="/aircore") as server:
        result = run("fuzz", "--target", server.url, "-n", "40", "--seed", "3", "--format", "json")
    import json

    data = json.loads(result.output)
    assert result.exit_code == 0 and not data["failures"]
    assert 0 < data["sent"] <= 40  # nothing failed, so nothing was shrunk: all drawn by -n


def test_receive_quiet_prints_only_the_ready_line_and_the_summary(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-m", "aircore_mock", "receive", "-q", "--port", "0",
         "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for _ in range(200):
            if ready.exists():
                break
            subprocess.run([sys.executable, "-c", "import time; time.sleep(0.05)"], check=True)
        url = f"http://{ready.read_text().strip()}/"
        sent = run("send", "--target", url, "--seed", "1")
        assert sent.exit_code == 0, sent.output
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert out == ""  # no line per request
    assert "ready: listening" in err and "3 callback(s) in 3 request(s)" in err


def test_ctrl_c_while_a_command_starts_ends_with_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("aircore_mock.generation.Generator.deliveries", interrupted)
    result = run("send", "--target", "http://127.0.0.1:9/", "--seed", "1")
    assert result.exit_code == 1
    assert "Aborted!" not in result.output
    assert "interrupted before the run began" in result.output


def test_load_leaves_locusts_short_options_to_locust() -> None:
    # Locust's -s is its stop timeout, -t its run time, -H its host: none of them is ours
    from click.testing import CliRunner

    from aircore_mock.cli import cli

    result = CliRunner().invoke(cli, ["load", "--target", "http://127.0.0.1:9/", "-s", "30"])
    assert result.exit_code == 2 and "No such option '-s'" in result.output


def test_load_names_an_unresolvable_host_as_send_does() -> None:
    from aircore_mock.errors import InputError
    from aircore_mock.load import check_reachable

    with pytest.raises(InputError, match=r"cannot resolve host 'no-such-host\.invalid'"):
        check_reachable("http://no-such-host.invalid/")


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "-o", "/nonexistent-folder/x.json"],
        ["serve", "--port", "0", "--log", "/nonexistent-folder/x.jsonl"],
    ],
)
def test_an_unwritable_file_option_is_refused_before_anything_is_printed(argv: list[str]) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "aircore_mock", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"Error: cannot write {argv[-2] if argv[-2] != '-o' else '--output'} {argv[-1]}: "
        "no writable folder"
    ]
    assert not __import__("os").path.exists("/nonexistent-folder")


def test_serve_without_the_s3_extra_says_so_before_anything_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    from click.testing import CliRunner

    from aircore_mock.cli import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "moto" else real(name, *a)
    )
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--s3", "local"])
    assert result.exit_code == 2
    assert "real uploads need the [s3] extra: pip install 'aircore-mock[s3]'" in result.output
    assert "seed" not in result.output  # nothing printed before the usage error
