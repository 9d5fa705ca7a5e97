"""The fake keeps no secret: by name at any depth, in lists, in URLs' query strings; and an
API key given as a string is one key."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from aircore_mock import FakeAircore, Receiver
from aircore_mock.fake.request import is_secret_name, redact, redact_url, secrets_of

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
TOKEN = "tok-7c1e55aa"


@pytest.mark.parametrize(
    "name",
    ["secret_access_key", "SecretAccessKey", "session_token", "X-Amz-Signature", "password",
     "apiKey", "api-key", "access_key_id", "Authorization", "private_key", "credentials"],
)  # fmt: skip
def test_names_that_say_secret(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["bucket", "region", "filename", "channel_id", "user_id"])
def test_names_that_do_not(name: str) -> None:
    assert not is_secret_name(name)


def test_redact_finds_secrets_at_any_depth_in_any_shape() -> None:
    body = {
        "storage": {
            "S3": {"Secret_Access_Key": SECRET, "bucket": "b"},
            "secret_access_key": [SECRET],
            "s3": [{"session_token": {"nested": SECRET}}],
        },
        "callback_url": f"https://hooks.example.com/aircore?team=7&token={TOKEN}#x",
    }
    out = redact(body)
    text = json.dumps(out)
    assert SECRET not in text and TOKEN not in text
    assert out["storage"]["S3"] == {"Secret_Access_Key": "[redacted]", "bucket": "b"}
    assert out["callback_url"] == "https://hooks.example.com/aircore?team=7&token=[redacted]#x"
    assert body["storage"]["S3"]["Secret_Access_Key"] == SECRET  # a copy; the input is kept
    assert set(secrets_of(body)) == {SECRET, TOKEN}


def test_redact_walks_deep_bodies_without_recursion() -> None:
    deep: Any = SECRET
    for _ in range(5000):
        deep = [deep]
    out = redact({"storage": deep})["storage"]  # no name says secret: kept, as a copy
    for _ in range(5000):
        assert isinstance(out, list) and len(out) == 1
        out = out[0]
    assert out == SECRET
    assert redact({"token": deep}) == {"token": "[redacted]"}
    assert secrets_of({"token": deep}) == [SECRET]


def test_redact_url_keeps_what_is_not_secret() -> None:
    assert redact_url("https://h/p") == "https://h/p"
    assert redact_url("https://h/p?a=1&b") == "https://h/p?a=1&b"
    assert redact_url("https://h/p?api%5Fkey=k&a=1") == "https://h/p?api%5Fkey=[redacted]&a=1"


def test_no_secret_reaches_the_journal_the_recordings_or_the_log(tmp_path: Any) -> None:
    log = tmp_path / "serve.jsonl"
    body = {
        "storage": {
            "filename": "record",
            "s3": {
                "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "secret_access_key": SECRET,
                "session_token": TOKEN + "-session",
                "bucket": "acme-recordings",
                "region": "eu-west-1",
            },
        },
        "location": {"latitude": 50.1, "longitude": 8.7},
        "user_id": "user-7",
        "channel_id": "standup",
    }
    with (
        Receiver() as receiver,
        FakeAircore(clock="instant", api_keys="one-key", log=log) as fake,
        httpx.Client(base_url=fake.url, timeout=30) as client,
    ):
        body["callback_url"] = f"{receiver.url}?team=7&token={TOKEN}"
        auth = {"authorization": "Bearer one-key"}
        started = client.post("/recording", json=body, headers=auth)
        assert started.status_code < 300, started.text
        fake.wait_for_callbacks(1, timeout=30)
        written = [
            client.get("/_aircore-mock/journal").text,
            client.get("/_aircore-mock/recordings").text,
            client.get("/_aircore-mock/callbacks").text,
        ]
        assert fake.flush_log()
    written.append(log.read_text())
    for text in written:
        for secret in (SECRET, TOKEN, "one-key"):
            assert secret not in text
    assert "[redacted]" in written[0] and "token=[redacted]" in written[1]


def test_an_api_key_given_as_a_string_is_one_key() -> None:
    with (
        FakeAircore(clock="instant", api_keys="secret") as fake,
        httpx.Client(base_url=fake.url, timeout=30) as client,
    ):
        for key, allowed in (("s", False), ("secret", True)):
            answer = client.delete("/recording/nothing", headers={"authorization": f"Bearer {key}"})
            assert (answer.status_code != 401) is allowed, (key, answer.status_code)


def _forms(secret: str) -> dict[str, str]:
    import base64
    from urllib.parse import quote, quote_plus

    raw = secret.encode()
    return {
        "raw": secret,
        "percent": quote(secret, safe=""),
        "form": quote_plus(secret),
        "base64": base64.b64encode(raw).decode().rstrip("="),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


def test_every_output_of_serve_is_free_of_every_known_secret_in_every_form(
    tmp_path: Any,
) -> None:
    """Secrets by value: an API key, S3 keys, an extra `session_token`, a `?token=` of the
    callback URL, each also pasted where no name says secret (user id, channel, file name,
    a stop URL) raw, percent-encoded or base64, must appear in none of serve's outputs."""
    import base64
    import subprocess
    import sys
    import time
    from urllib.parse import quote

    api_key = "live+key/9f8e7d6c5b4a"  # `+` and `/`: its encoded forms differ from it
    session = "FwoGZXIvYXdzEBYaDH+session/token=="
    query_token = "q-token-31415926"
    secrets = [api_key, SECRET, "AKIAZQ3DRSHUFT7LKMNP", session, query_token]
    ready, log = tmp_path / "ready", tmp_path / "serve.jsonl"
    command = [sys.executable, "-m", "aircore_mock", "serve", "--port", "0", "--instant"]
    command += ["--ready-file", str(ready), "--log", str(log), "--api-key", api_key]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    written: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 30
        while not (ready.is_file() and ready.read_text().endswith("\n")):
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.02)
        url = "http://" + ready.read_text().strip()
        with Receiver() as receiver, httpx.Client(base_url=url, timeout=30) as client:
            body = {
                "storage": {
                    "filename": base64.b64encode(SECRET.encode()).decode(),  # base64, no name
                    "s3": {
                        "access_key_id": "AKIAZQ3DRSHUFT7LKMNP",
                        "secret_access_key": SECRET,
                        "session_token": session,
                        "bucket": "acme-recordings",
                        "region": "eu-west-1",
                    },
                },
                "location": {"latitude": 50.1, "longitude": 8.7},
                "user_id": api_key,  # the API key where no name says secret
                "channel_id": quote(session, safe=""),  # percent-encoded
                "callback_url": f"{receiver.url}?team=7&token={query_token}",
            }
            auth = {"authorization": f"Bearer {api_key}"}
            started = client.post("/recording", json=body, headers=auth)
            assert started.status_code == 200, started.text
            assert client.delete(started.json()["url"], headers=auth).status_code == 204
            receiver.wait_for(3, timeout=30)  # started, stopped, uploaded
        # errors that could echo a value: a bad key, a bad body, a stop URL made of a secret
        with httpx.Client(base_url=url, timeout=30) as client:
            refused = client.post("/recording", json={"user_id": SECRET}, headers=auth)
            unknown = client.delete(f"/recording/{quote(SECRET, safe='')}", headers=auth)
            wrong = client.post(
                "/recording", json=body, headers={"authorization": "Bearer " + SECRET}
            )
            written["errors"] = refused.text + unknown.text + wrong.text
            for name in ("journal", "recordings", "callbacks", ""):
                written[name or "index"] = client.get(f"/_aircore-mock/{name}").text
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    written["stdout"], written["stderr"], written["log"] = out, err, log.read_text()
    assert "recording-started" in written["stdout"] and "[redacted]" in written["journal"]
    leaks = [
        (where, secret, form)
        for where, text in written.items()
        for secret in secrets
        for form, value in _forms(secret).items()
        if value in text
    ]
    assert leaks == []
