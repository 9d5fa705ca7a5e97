"""Real uploads: the fake PUTs each recording to S3 (an embedded moto server) and S3's answer
decides the callback; the object is a playable AAC .m4a as long as the recording."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mutagen.mp4
import pytest

import aircore_mock
from aircore_mock import AppServer, FakeAircore, S3Config
from aircore_mock.fake.media import FRAME_MS, silent_m4a
from aircore_mock.generation.facts import failure

from .helpers import default_signals, wait_ready

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
for folder in (EXAMPLES / "fake_backend", EXAMPLES):  # the recorder backend and its DB
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
from recorder import Settings, create_app  # noqa: E402

BUCKET = "acme-recordings"
REGION = "eu-west-1"
KEY = "test-key-0001"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAircore]:
    # One embedded S3 that checks credentials, for the module; the fake reset per test.
    with FakeAircore(s3=S3Config(auth=True, buckets=(f"{REGION}/{BUCKET}",))) as fake:
        yield fake


@pytest.fixture
def s3(fake: FakeAircore) -> Any:
    fake.reset()
    assert fake.s3 is not None
    return fake.s3


def _denying_bucket(s3: Any, name: str) -> str:
    s3.create_bucket(name, REGION)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{name}/*",
            }
        ],
    }
    s3.client().put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return name


def _duration(body: bytes) -> float:
    return float(mutagen.mp4.MP4(io.BytesIO(body)).info.length)


def _backend(fake: FakeAircore, server: AppServer, keys: Any, **overrides: Any) -> Any:
    settings = Settings(
        aircore_url=fake.url,
        api_key=KEY,
        public_url=server.url,
        bucket=BUCKET,
        region=REGION,
        access_key_id=keys.access_key_id,
        secret_access_key=keys.secret_access_key,
    )
    for name, value in overrides.items():
        setattr(settings, name, value)
    return create_app(settings)


@pytest.mark.parametrize(
    ("case", "family"),
    [
        ("uploaded", None),
        ("no bucket", "no-such-bucket"),
        ("wrong secret", "signature-mismatch"),
        ("bucket policy denies", "access-denied"),
        ("user policy denies", "access-denied"),
        ("unknown region", "bad-region"),
    ],
)
def test_a_backend_gets_what_s3_answers(
    fake: FakeAircore, s3: Any, case: str, family: str | None
) -> None:
    keys = s3.credentials(allow=case != "user policy denies")
    overrides: dict[str, Any] = {
        "no bucket": {"bucket": "acme-nothing-here"},
        "wrong secret": {"secret_access_key": "x" * 40},
        "bucket policy denies": {"bucket": _denying_bucket(s3, "acme-denied")}
        if case == "bucket policy denies"
        else {},
        "unknown region": {"region": "eu-west-11"},
    }.get(case, {})
    server = AppServer()
    server.app = _backend(fake, server, keys, **overrides)
    with server, httpx.Client(base_url=server.url, timeout=30) as backend:
        recording = backend.post("/channels/standup/recordings", json={}).json()["id"]
        fake.advance(61.234)  # not a whole number of AAC frames
        assert backend.delete(f"/recordings/{recording}").status_code == 202
        fake.advance(120)
        *_, last = fake.wait_for_callbacks(3, timeout=30)
        assert last.delivered, last.result
        row = backend.get(f"/recordings/{recording}").json()
    assert aircore_mock.is_valid(last.payload, strict=True)
    (seen,) = fake.recordings
    if family is None:
        assert last.event == "recording-uploaded"
        key = f"record_{recording}.m4a"
        address = f"https://{BUCKET}.s3.{REGION}.amazonaws.com/{key}"
        assert (row["state"], row["address"]) == ("uploaded", address)
        assert seen.object_key == key
        got = s3.client(credentials=keys).get_object(Bucket=BUCKET, Key=key)
        body = got["Body"].read()
        assert got["ContentType"] == "audio/mp4" and len(body) == seen.object_size
        assert abs(_duration(body) * 1000 - seen.elapsed_time) <= FRAME_MS
        assert seen.elapsed_time == 61_234
    else:
        assert last.event == "recording-upload-failed"
        assert row["state"] == "upload-failed"
        reason = last.payload["recording"]["reason"]
        if family == "bad-region":
            assert reason.startswith("Inaccessible host: `acme-recordings.s3.eu-west-11.")
        else:
            assert reason == failure(family).template
        assert seen.failure_family == family


def test_in_process_the_same(tmp_path: Path) -> None:
    # Not served: the API in-process, the callbacks to a backend app in-process too.
    import asyncio

    from asgi_lifespan import LifespanManager

    config = S3Config(auth=True, buckets=("acme-in-process",))
    fake = FakeAircore(s3=config)
    try:
        assert fake.s3 is not None
        keys = fake.s3.credentials()
        settings = Settings(
            api_key=KEY,
            transport=fake.async_transport(),
            bucket="acme-in-process",
            access_key_id=keys.access_key_id,
            secret_access_key=keys.secret_access_key,
        )
        app = create_app(settings)
        fake.deliver_to = app

        async def scenario(bucket: str, secret: str | None = None) -> dict[str, Any]:
            settings.bucket = bucket
            settings.secret_access_key = secret or keys.secret_access_key
            async with (
                LifespanManager(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://backend.test"
                ) as backend,
            ):
                recording = (await backend.post("/channels/c/recordings", json={})).json()["id"]
                fake.advance(3600)  # an hour
                await backend.delete(f"/recordings/{recording}")
                fake.advance(120)
                await asyncio.to_thread(fake.wait_for_callbacks, 3, 30)  # started .. upload
                return (await backend.get(f"/recordings/{recording}")).json()

        row = asyncio.run(scenario("acme-in-process"))
        assert row["state"] == "uploaded"
        (recording,) = fake.recordings
        body = fake.s3.client().get_object(Bucket="acme-in-process", Key=recording.object_key)
        assert abs(_duration(body["Body"].read()) - 3600) <= FRAME_MS / 1000
        _denying_bucket(fake.s3, "acme-in-process-denied")
        for bucket, secret, family in [
            ("acme-missing", None, "no-such-bucket"),
            ("acme-in-process", "y" * 40, "signature-mismatch"),
            ("acme-in-process-denied", None, "access-denied"),
        ]:
            fake.reset()
            row = asyncio.run(scenario(bucket, secret))
            assert row["state"] == "upload-failed", family
            assert row["failure_reason"] == failure(family).template
    finally:
        fake.close()


def test_the_object_and_its_duration() -> None:
    for elapsed in (0, 1, 999, 61_234, 600_000):
        duration = _duration(silent_m4a(elapsed)) * 1000
        assert abs(duration - max(elapsed, FRAME_MS)) <= FRAME_MS, elapsed
    with pytest.raises(aircore_mock.UsageError, match="0 ms or more"):
        silent_m4a(-1)


def test_encryption_and_the_users_file_and_injections_still_work(
    fake: FakeAircore, s3: Any, tmp_path: Path
) -> None:
    recording_file = tmp_path / "meeting.m4a"
    recording_file.write_bytes(silent_m4a(5_000))
    keys = s3.credentials()
    body = {
        "storage": {
            "filename": "folder/rec",
            "s3": {
                "access_key_id": keys.access_key_id,
                "secret_access_key": keys.secret_access_key,
                "bucket": BUCKET,
                "region": REGION,
                "server_side_encryption": "AES256",
            },
        },
        "location": {"latitude": 53.3, "longitude": -6.3},
        "user_id": "u",
        "channel_id": "c",
    }
    with httpx.Client(base_url=fake.url, headers={"authorization": f"Bearer {KEY}"}) as client:
        fake.inject("upload-failure", family="kms-access-denied")  # the next recording
        injected = client.post("/recording", json=body).json()["url"]
        plain = client.post("/recording", json=body).json()["url"]
        for url in (injected, plain):
            assert client.delete(url).status_code == 204
    fake.advance(120)
    deadline = time.monotonic() + 30
    while {r.upload for r in fake.recordings} & {"pending"} and time.monotonic() < deadline:
        time.sleep(0.02)  # no callback_url to wait on: poll the state, bounded
    first, second = fake.recordings
    assert first.upload == "upload-failed" and first.failure_family == "kms-access-denied"
    assert second.upload == "uploaded"
    head = s3.client().head_object(Bucket=BUCKET, Key=second.object_key)
    assert head["ServerSideEncryption"] == "AES256"
    assert second.object_key.startswith("folder/rec_")
    with FakeAircore(s3=S3Config(recording_file=recording_file)) as other:
        assert other.s3 is not None
        uploader = other._uploader
        assert uploader is not None
        assert uploader.body(3_600_000) == recording_file.read_bytes()


def test_bad_s3_settings_are_one_line_usage_errors(tmp_path: Path) -> None:
    for value, message in [
        ("ftp://x", "'local' or an http(s) URL"),
        (S3Config(recording_file=tmp_path / "none.m4a"), "cannot read the recording file"),
        (42, "s3 is 'local', an endpoint URL or an S3Config"),
    ]:
        with pytest.raises(aircore_mock.UsageError, match=re.escape(message)):
            FakeAircore(s3=value)  # type: ignore[arg-type]


def test_without_the_extra_a_clear_error(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['boto3'] = None; sys.modules['moto'] = None\n"
        "from aircore_mock.cli import main; main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "serve", "--s3", "local", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'aircore-mock[s3]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_s3_local_uploads_and_fails_as_s3_says(tmp_path: Path) -> None:
    import boto3

    ready = tmp_path / "ready.json"
    log = tmp_path / "serve.jsonl"
    command = [
        sys.executable, "-m", "aircore_mock", "serve", "--port", "0", "--instant",
        "--s3", "local", "--s3-bucket", f"{REGION}/{BUCKET}", "--ready-file", str(ready),
        "--api-key", KEY, "--log", str(log),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )
    try:
        url = "http://" + wait_ready(ready, process, "serve")
        endpoint = next(
            line.split("S3 at ")[1].split(" ")[0]
            for line in _stderr_so_far(process, "S3 at ")
            if "S3 at " in line
        )
        client_s3 = boto3.client(
            "s3", endpoint_url=endpoint, region_name=REGION,
            aws_access_key_id="any", aws_secret_access_key="any",
        )  # fmt: skip
        # a bucket whose policy denies every upload (moto enforces bucket policies)
        client_s3.create_bucket(
            Bucket="acme-denied", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        deny = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": "arn:aws:s3:::acme-denied/*",
                }
            ],
        }
        client_s3.put_bucket_policy(Bucket="acme-denied", Policy=json.dumps(deny))
        body: dict[str, Any] = {
            "storage": {
                "filename": "rec",
                "s3": {
                    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                    "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    "bucket": BUCKET,
                    "region": REGION,
                },
            },
            "location": {"latitude": 1.0, "longitude": 2.0},
            "user_id": "u",
            "channel_id": "c",
        }
        auth = {"authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=url, headers=auth, timeout=30) as client:
            urls = [client.post("/recording", json=body).json()["url"]]
            body["storage"]["s3"]["bucket"] = "acme-nothing"
            urls.append(client.post("/recording", json=body).json()["url"])
            body["storage"]["s3"]["bucket"] = "acme-denied"
            urls.append(client.post("/recording", json=body).json()["url"])
            for stop in urls:
                assert client.delete(stop).status_code == 204
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                recordings = client.get("/_aircore-mock/recordings").json()
                if all(r["upload"] not in (None, "pending") for r in recordings):
                    break
                time.sleep(0.05)  # polling the control API, bounded by the deadline
        uploaded, missing, denied = recordings
        assert uploaded["upload"] == "uploaded" and uploaded["object"]["size"] > 0
        assert missing["failure_reason"] == "The specified bucket does not exist"
        assert (denied["failure_family"], denied["failure_reason"]) == (
            "access-denied",
            "Access Denied",
        )
        got = client_s3.get_object(Bucket=BUCKET, Key=uploaded["object"]["key"])
        assert got["ContentType"] == "audio/mp4"
        assert _duration(got["Body"].read()) > 0
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "wJalrXUtnFEMI" not in out + err + log.read_text()


def _stderr_so_far(process: subprocess.Popen[str], marker: str) -> list[str]:
    # The ready line was printed before the ready file was written: read until it shows.
    assert process.stderr is not None
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError("no ready line: " + "".join(lines))


def test_serve_s3_endpoint_uploads_to_any_s3(tmp_path: Path) -> None:
    # The README's `--s3-endpoint URL`: here an S3 this test serves on 127.0.0.1.
    from aircore_mock import LocalS3

    with LocalS3() as s3:
        s3.create_bucket("acme-elsewhere", REGION)
        # real keys: another test's S3 in this process may have turned moto's check on
        keys = s3.credentials()
        ready = tmp_path / "ready"
        command = [
            sys.executable, "-m", "aircore_mock", "serve", "--port", "0", "--instant",
            "--s3-endpoint", s3.endpoint_url, "--ready-file", str(ready), "--quiet",
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_signals,
        )
        try:
            url = "http://" + wait_ready(ready, process, "serve")
            body = {
                "storage": {
                    "filename": "elsewhere",
                    "s3": {
                        "access_key_id": keys.access_key_id,
                        "secret_access_key": keys.secret_access_key,
                        "bucket": "acme-elsewhere",
                        "region": REGION,
                    },
                },
                "location": {"latitude": 1.0, "longitude": 2.0},
                "user_id": "u",
                "channel_id": "c",
            }
            auth = {"authorization": "Bearer any-key-1"}
            with httpx.Client(base_url=url, headers=auth, timeout=30) as client:
                assert client.delete(client.post("/recording", json=body).json()["url"]).is_success
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    (recording,) = client.get("/_aircore-mock/recordings").json()
                    if recording["upload"] not in (None, "pending"):
                        break
                    time.sleep(0.05)  # polling the control API, bounded by the deadline
        finally:
            process.terminate()
            process.communicate(timeout=30)
        assert recording["upload"] == "uploaded", recording
        got = s3.client().get_object(Bucket="acme-elsewhere", Key=recording["object"]["key"])
        assert got["ContentType"] == "audio/mp4"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--s3", "local", "--s3-endpoint", "http://127.0.0.1:9"], "are exclusive"),
        (["--s3-bucket", "b"], "--s3-bucket needs --s3 local or --s3-endpoint URL"),
        (["--s3-endpoint", "http://127.0.0.1:9", "--s3-bucket", "b"], "use it with --s3 local"),
        (["--s3", "remote"], "'remote' is not 'local'"),
        (["--s3-endpoint", "ftp://x"], "'local' or an http(s) URL"),
        (["--s3", "local", "--s3-timeout", "0"], "--s3-timeout"),
        (["--recording-file", "/nonexistent.m4a", "--s3", "local"], "does not exist"),
    ],
)
def test_bad_s3_options_are_one_line_usage_errors(arguments: list[str], message: str) -> None:
    from click.testing import CliRunner

    from aircore_mock.cli import cli

    done = CliRunner().invoke(cli, ["serve", "--port", "0", *arguments])
    assert done.exit_code == 2, done.output
    assert message in done.output
    assert "Traceback" not in done.output
