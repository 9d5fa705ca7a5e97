"""`receive --forward-to`: captured, judged, then forwarded to the app; the sender gets the
app's answer or a 502 (issue 22, item 2)."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aircore_mock import Generator, Receiver, send
from aircore_mock.server import AppServer

from .apps import free_port_refusing
from .helpers import connect, read_answers, start_receive


class App:
    """The app under development: answers 202 with a JSON body and a header of its own,
    `slow` seconds late when asked, and notes what it got."""

    def __init__(self) -> None:
        self.got: list[tuple[str, bytes, dict[str, str]]] = []
        self.release = threading.Event()

        async def hook(request: Request) -> Response:
            body = await request.body()
            self.got.append((request.method, body, dict(request.headers)))
            if request.headers.get("x-hold"):
                await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 10)
            answer = json.dumps({"n": len(self.got)})
            return Response(answer, 202, {"x-app": "yes"}, media_type="application/json")

        self.asgi = Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.fixture
def app() -> Any:
    application = App()
    with AppServer(application.asgi, path="/hook").start() as server:
        application.url = server.url  # type: ignore[attr-defined]
        yield application
        application.release.set()


BODY = b'{"event":"recording-started","timestamp":12345678901234567890,"a":1,"a":2}'


def test_the_sender_gets_the_apps_answer_and_the_app_gets_the_request_as_sent(
    app: Any, tmp_path: Path
) -> None:
    log = tmp_path / "log.jsonl"
    with Receiver(forward_to=app.url, log=log) as receiver:
        answer = httpx.post(receiver.url, content=BODY, headers={"x-signature": "s1"})
        receiver.flush_log()
        (capture,) = receiver.captures
    assert answer.status_code == 202
    assert answer.headers["x-app"] == "yes" and answer.json() == {"n": 1}
    ((method, body, headers),) = app.got
    assert method == "POST" and body == BODY and headers["x-signature"] == "s1"
    assert capture.verdict == "invalid" and capture.forwarded is not None
    assert capture.forwarded.status == 202 and capture.forwarded.body == b'{"n": 1}'
    assert "-> app 202" in capture.line()
    record = json.loads(log.read_text())
    assert record["forwarded"]["status"] == 202 and record["forwarded"]["body"] == '{"n": 1}'
    assert record["body"] == BODY.decode()


def test_no_app_gives_a_502_naming_what_went_wrong() -> None:
    nowhere = free_port_refusing()
    with Receiver(forward_to=nowhere) as receiver:
        answer = httpx.post(receiver.url, content=b"{}")
        (capture,) = receiver.captures
    assert answer.status_code == 502
    assert f"connection refused by {nowhere[7:-1]}" in answer.text
    assert capture.forwarded is not None and capture.forwarded.status is None
    assert "app failed: connection refused" in capture.line()


def test_an_app_too_slow_gives_a_502_and_answers_keep_their_order(app: Any) -> None:
    with Receiver(forward_to=app.url, forward_timeout=0.5) as receiver:
        sock = connect(receiver.port)
        try:
            held = b"x-hold: 1\r\n"
            for extra in (held, b""):  # pipelined: the first is held past the deadline
                sock.sendall(
                    b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" + extra
                    + b"content-length: 2\r\n\r\n{}"
                )  # fmt: skip
            first, second = read_answers(sock, 2)
        finally:
            sock.close()
    assert first.startswith(b"HTTP/1.1 502") and b"no answer within 0.5 s" in first
    assert second.startswith(b"HTTP/1.1 202")


def test_a_scenario_through_receive_forward_to(app: Any, tmp_path: Path) -> None:
    process, url = start_receive(tmp_path, "--forward-to", app.url)
    try:
        report = send(Generator(5).deliveries("uploaded", 2), url)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert report.ok and {r.status for r in report.results} == {202}
    assert len(app.got) == 6
    lines = out.splitlines()
    assert len(lines) == 6 and all(" valid " in line and "-> app 202" in line for line in lines), (
        out
    )
    assert f"forwarding callbacks to {app.url}" in err
