"""`aircore-mock serve` as a process: what it prints and logs, and that no secret gets out."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from aircore_mock import Receiver
from aircore_mock.cli import cli

API_KEY = "live_key_9f8e7d6c5b4a39281706"
S3_KEY_ID = "AKIAZQ3DRSHUFT7LKMNP"
S3_SECRET = "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"


def _wait_for_file(path: Path, process: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().endswith("\n"):
            return path.read_text().strip()
        if process.poll() is not None:
            break
        time.sleep(0.02)
    process.kill()
    _, err = process.communicate(timeout=10)
    raise AssertionError(f"serve did not get ready: {err.decode()[-2000:]}")


def test_serve_works_and_no_secret_appears_anywhere_it_writes(tmp_path: Path) -> None:
    ready, log = tmp_path / "ready", tmp_path / "serve.jsonl"
    command = [sys.executable, "-m", "aircore_mock", "serve", "--port", "0"]
    command += ["--ready-file", str(ready), "--log", str(log), "--api-key", API_KEY]
    command += ["--instant", "--auto-stop", "20", "--seed", "5"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    answers: list[str] = []
    try:
        base = "http://" + _wait_for_file(ready, process, timeout=20)
        auth = {"authorization": f"Bearer {API_KEY}"}
        s3 = {"access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET}
        good = {
            "storage": {"filename": "rec", "s3": {**s3, "bucket": "acme", "region": "eu-west-9"}},
            "location": {"latitude": 0, "longitude": 0},
            "user_id": "u",
            "channel_id": "c",
        }
        with Receiver() as receiver, httpx.Client(base_url=base, timeout=10) as client:
            good["callback_url"] = receiver.url
            wrong_type = json.loads(json.dumps(good))
            wrong_type["storage"]["s3"]["secret_access_key"] = [S3_SECRET]
            wrong_type["storage"]["s3"]["access_key_id"] = {"id": S3_KEY_ID}
            no_bucket = json.loads(json.dumps(good))
            del no_bucket["storage"]["s3"]["bucket"]
            responses = [
                client.post("/recording", json=good, headers=auth),
                client.post("/recording", json=wrong_type, headers=auth),
                client.post("/recording", json=no_bucket, headers=auth),
                client.post(
                    "/recording",
                    content=json.dumps(good).encode()[:-5],
                    headers={**auth, "content-type": "application/json"},
                ),
                client.post(
                    "/recording", json=good, headers={"authorization": f"Bearer {S3_SECRET}"}
                ),
                client.post("/recording", json=good, headers={"authorization": API_KEY}),
            ]
            assert [r.status_code for r in responses] == [200, 400, 400, 400, 401, 401]
            assert "$.storage.s3.bucket: required field is missing" in responses[2].text
            receiver.wait_for(3, timeout=10)
            for path in ("/", "/recordings", "/callbacks", "/journal"):
                answers.append(client.get(f"/_aircore-mock{path}").text)
            answers += [r.text for r in responses]
            failed = receiver.callbacks[-1]["recording"]["reason"]
            assert failed.startswith("Inaccessible host: `acme.s3.eu-west-9.amazonaws.com'")
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    stdout, stderr = out.decode(), err.decode()
    written = log.read_text()
    assert "any non-empty" not in stderr and "1 API key(s)" in stderr
    assert "POST /recording 200" in stdout and "-> recording-upload-failed" in stdout
    assert "1 recording(s), 6 API request(s), 3 callback(s): 3 delivered" in stderr
    kinds = [json.loads(line)["type"] for line in written.splitlines()]
    assert kinds.count("request") == 6 and kinds.count("callback") == 3
    assert "[redacted]" in written and "[redacted]" in answers[3]  # the journal shows where
    for secret in (API_KEY, S3_KEY_ID, S3_SECRET):
        for name, text in (("stdout", stdout), ("stderr", stderr), ("log", written)):
            assert secret not in text, f"{secret} in {name}"
        for text in answers:
            assert secret not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--speed", "2", "--instant"], "--speed and --instant are exclusive"),
        (["--api-key", " "], "--api-key must not be empty"),
        (["--retries", "-1"], "Invalid value for '--retries'"),
        (["--ready-file", "/nonexistent/dir/ready"], "cannot write --ready-file"),
    ],
)
def test_serve_refuses_bad_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--port", "0", *args])
    assert result.exit_code == 2
    assert message in result.output
