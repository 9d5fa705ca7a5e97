"""The capture server's own HTTP/1.1 (httptools, no ASGI): what clients send on the wire.

Every read is on a socket with a timeout; nothing asserts on speed.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from aircore_mock import AppServer, Receiver, get_schema
from aircore_mock.capture import CaptureStore, Limits, capture_app

EXAMPLE = json.dumps(get_schema("recording-started")["examples"][0]).encode()


def _post(body: bytes = EXAMPLE, path: str = "/", extra: str = "") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.settimeout(30)
    return sock


def _read_answers(sock: socket.socket, count: int) -> list[bytes]:
    """`count` whole answers (status line and headers, then a body of content-length)."""
    data, answers = b"", []
    while len(answers) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            head = data[:end].lower()
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(data) >= end + 4 + length:
                answers.append(data[: end + 4 + length])
                data = data[end + 4 + length :]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"closed after {len(answers)} answers: {data!r}")
        data += chunk
    return answers


def _until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(max_body=4096) as started:
        yield started


def test_pipelined_requests_are_answered_in_order_and_all_filed(receiver: Receiver) -> None:
    with _connect(receiver.port) as sock:
        sock.sendall(_post() + _post(path="/elsewhere") + _post(b"not json") + _post())
        answers = _read_answers(sock, 4)
    statuses = [a[9:12] for a in answers]
    assert statuses == [b"204", b"404", b"400", b"204"]
    assert [c.verdict for c in receiver.captures] == ["valid", "wrong-path", "not-json", "valid"]


def test_a_chunked_body_is_put_together(receiver: Receiver) -> None:
    half = len(EXAMPLE) // 2
    chunks = [EXAMPLE[:half], EXAMPLE[half:]]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
    with _connect(receiver.port) as sock:
        sock.sendall(head + body)
        assert _read_answers(sock, 1)[0].startswith(b"HTTP/1.1 204")
    assert receiver.captures[0].body == EXAMPLE and receiver.captures[0].verdict == "valid"


def test_a_chunked_body_over_the_cap_gets_413_and_the_connection_ends(receiver: Receiver) -> None:
    big = b"x" * 3000
    body = b"".join(b"%x\r\n%s\r\n" % (len(big), big) for _ in range(2)) + b"0\r\n\r\n"
    with _connect(receiver.port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n" + body)
        answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 413") and b"connection: close" in answer
    assert [c.verdict for c in receiver.captures] == ["too-large"]


def test_http_1_0_and_connection_close_end_the_connection_after_the_answer(
    receiver: Receiver,
) -> None:
    for request in (
        _post().replace(b"HTTP/1.1", b"HTTP/1.0", 1),
        _post(extra="connection: close\r\n"),
    ):
        with _connect(receiver.port) as sock:
            sock.sendall(request)
            answer = _until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 204") and b"connection: close" in answer
    assert len(receiver.callbacks) == 2


def test_expect_100_continue_is_answered_before_the_body_is_sent(receiver: Receiver) -> None:
    with _connect(receiver.port) as sock:
        head, body = _post(extra="expect: 100-continue\r\n").split(b"\r\n\r\n", 1)
        sock.sendall(head + b"\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        assert _read_answers(sock, 1)[0].startswith(b"HTTP/1.1 204")
    assert receiver.captures[0].verdict == "valid"


def test_a_refused_request_keeps_its_connection_for_the_next(receiver: Receiver) -> None:
    with _connect(receiver.port) as sock:
        sock.sendall(_post(path="/wrong"))
        assert _read_answers(sock, 1)[0].startswith(b"HTTP/1.1 404")
        sock.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        assert _read_answers(sock, 1)[0].startswith(b"HTTP/1.1 405")
        sock.sendall(_post())
        assert _read_answers(sock, 1)[0].startswith(b"HTTP/1.1 204")
    assert [c.verdict for c in receiver.captures] == ["wrong-path", "wrong-method", "valid"]


def test_a_request_that_is_not_http_gets_400_and_is_not_filed(receiver: Receiver) -> None:
    with _connect(receiver.port) as sock:
        sock.sendall(b"\x16\x03\x01 this is a TLS hello, or noise\r\n\r\n")
        assert _until_closed(sock).startswith(b"HTTP/1.1 400")
    assert receiver.captures == []


def test_a_percent_encoded_callback_path_is_the_callback_path() -> None:
    with Receiver(path="/aircore callbacks") as receiver, _connect(receiver.port) as sock:
        sock.sendall(_post(path="/aircore%20callbacks/"))
        assert _read_answers(sock, 1)[0].startswith(b"HTTP/1.1 204")
        assert receiver.captures[0].path == "/aircore callbacks/"


def test_an_idle_kept_alive_connection_is_closed_after_keep_alive() -> None:
    with Receiver(limits=Limits(keep_alive=1)) as receiver, _connect(receiver.port) as sock:
        sock.sendall(_post())
        assert _read_answers(sock, 1)[0].startswith(b"HTTP/1.1 204")
        assert _until_closed(sock) == b""  # closed by the server, quietly
    assert receiver.refusals.total() == 0


def test_an_on_capture_hook_that_raises_gets_500_and_the_server_goes_on() -> None:
    calls = []

    def hook(capture: object) -> None:
        calls.append(capture)
        if len(calls) == 1:
            raise RuntimeError("the hook broke")

    with Receiver(on_capture=hook) as receiver:
        assert httpx.post(receiver.url, content=EXAMPLE, timeout=30).status_code == 500
        assert httpx.post(receiver.url, content=EXAMPLE, timeout=30).status_code == 204
    assert len(calls) == 2


def test_answers_carry_a_date_and_the_configured_status() -> None:
    with Receiver(status=200) as receiver:
        answer = httpx.post(receiver.url, content=EXAMPLE, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-length"] == "0"
    assert answer.headers["date"].endswith(" GMT")


REQUESTS = [
    _post(),
    _post(path="/other"),
    b"GET / HTTP/1.1\r\nhost: x\r\n\r\n",
    _post(b'{"event": "recording-started"}'),
    _post(b"[1, 2"),
    _post(b"x" * 5000),
    _post(b'{"event": "recording-started", "event": "x"}'),
]


def test_the_asgi_face_and_the_server_answer_and_file_alike() -> None:
    """`Receiver.app` (in-process, or on any ASGI server) and the capture server agree."""

    def run(port: int) -> list[bytes]:
        statuses = []
        for request in REQUESTS:
            with _connect(port) as sock:
                sock.sendall(request)
                statuses.append(_read_answers(sock, 1)[0][:12])
        return statuses

    with Receiver(max_body=4096) as receiver:
        served = run(receiver.port)
        served_verdicts = [c.verdict for c in receiver.captures]
    store = CaptureStore()
    with AppServer(capture_app(store, max_body=4096)) as asgi:
        on_asgi = run(asgi.port)
    assert served == on_asgi
    assert served_verdicts == [c.verdict for c in store.captures]
    assert served_verdicts == [
        "valid", "wrong-path", "wrong-method", "invalid", "not-json", "too-large", "invalid",
    ]  # fmt: skip
