"""The capture server's own HTTP/1.1 (httptools, no ASGI): what clients send on the wire.

Every read is on a socket with a timeout; nothing asserts on speed.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket

import httpx
import pytest

from aircore_mock import AppServer, Receiver, get_schema
from aircore_mock.capture import CaptureStore, capture_app
from aircore_mock.server import Limits

from .helpers import connect as _connect
from .helpers import read_answers as _read_answers
from .helpers import until_closed as _until_closed

EXAMPLE = json.dumps(get_schema("recording-started")["examples"][0]).encode()


def _post(body: bytes = EXAMPLE, path: str = "/", extra: str = "") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


# The `receiver` fixture (conftest.py) of every test here that takes it.
pytestmark = pytest.mark.receiver(max_body=4096)


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


# --- found by an adversarial review ----------------------------------------------------


def test_a_head_over_the_cap_that_arrives_in_one_read_gets_431() -> None:
    with Receiver(limits=Limits(max_head=1024)) as receiver, _connect(receiver.port) as sock:
        sock.sendall(_post(extra="x-pad: " + "a" * 5000 + "\r\n"))
        assert _until_closed(sock).startswith(b"HTTP/1.1 431")
        assert receiver.refusals.large_heads == 1 and receiver.captures == []


def test_a_client_that_never_reads_its_answers_gives_its_connection_back() -> None:
    limits = Limits(max_connections=1, keep_alive=1, header_timeout=1)
    with Receiver(limits=limits) as receiver, socket.socket() as greedy:
        greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        greedy.connect(("127.0.0.1", receiver.port))
        greedy.setblocking(False)
        request = b"GET /x HTTP/1.1\r\nhost: x\r\n\r\n" * 1000
        with pytest.raises(BlockingIOError):
            while True:  # until the server stops reading it: its answers fill the pipe
                greedy.send(request)
        # It holds the only connection; the server gives up on it (the deadlines, then an
        # abort) without it ever reading: wait for the reset.
        watch = select.poll()
        watch.register(greedy, select.POLLERR | select.POLLHUP)
        assert watch.poll(30_000), "the server never let go of a client that does not read"
        assert httpx.post(receiver.url, content=EXAMPLE, timeout=30).status_code == 204


def test_an_upgrade_request_is_served_as_plain_http_with_its_body(receiver: Receiver) -> None:
    # curl --http2 on an http:// URL asks to switch to h2c; a server may ignore that.
    upgrade = (
        "connection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\n"
        "http2-settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
    )
    with _connect(receiver.port) as sock:
        sock.sendall(_post(extra=upgrade) + _post())
        answers = _read_answers(sock, 2)
    assert [a[9:12] for a in answers] == [b"204", b"204"]
    assert [c.verdict for c in receiver.captures] == ["valid", "valid"]
    assert receiver.captures[0].body == EXAMPLE


def test_a_hook_that_raises_on_a_refused_request_gets_500_not_400() -> None:
    def hook(capture: object) -> None:
        raise RuntimeError("the hook broke")

    with Receiver(max_body=16, on_capture=hook) as receiver, _connect(receiver.port) as sock:
        sock.sendall(_post(path="/elsewhere"))
        assert _until_closed(sock).startswith(b"HTTP/1.1 500")


def test_a_refused_request_waiting_for_100_continue_ends_its_connection(
    receiver: Receiver,
) -> None:
    head = _post(path="/wrong", extra="expect: 100-continue\r\n").split(b"\r\n\r\n")[0]
    with _connect(receiver.port) as sock:
        sock.sendall(head + b"\r\n\r\n")
        answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 404") and b"connection: close" in answer


def test_http_1_0_gets_no_100_continue(receiver: Receiver) -> None:
    request = _post(extra="expect: 100-continue\r\n").replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    with _connect(receiver.port) as sock:
        sock.sendall(request)
        assert _until_closed(sock).startswith(b"HTTP/1.1 204")


def test_a_client_still_sending_a_refused_body_reads_the_413_not_a_reset() -> None:
    with Receiver(max_body=1024) as receiver, _connect(receiver.port) as sock:
        body = b"x" * (4 * 1024 * 1024)
        sock.sendall(_post(body)[: -len(body)])
        sock.sendall(body)  # the server reads and drops it rather than resetting
        sock.shutdown(socket.SHUT_WR)
        assert _until_closed(sock).startswith(b"HTTP/1.1 413")
        assert [c.verdict for c in receiver.captures] == ["too-large"]


def test_the_head_timeout_of_a_first_request_counts_from_connecting() -> None:
    from aircore_mock.capture.endpoint import CaptureRules
    from aircore_mock.capture.protocol import CaptureProtocol, _Shared
    from aircore_mock.server import Refusals

    class Transport:
        def write(self, data: bytes) -> None: ...
        def is_closing(self) -> bool:
            return False

        def close(self) -> None: ...
        def can_write_eof(self) -> bool:
            return True

    async def main() -> tuple[float, float]:
        rules = CaptureRules(CaptureStore(), path="/", status=204, max_body=1024)
        shared = _Shared(rules, Limits(header_timeout=10), Refusals())
        protocol = CaptureProtocol(shared)
        protocol.connection_made(Transport())  # type: ignore[arg-type]
        before = protocol.deadline
        protocol.data_received(b"PO")  # a first byte later does not restart the clock
        return before, protocol.deadline

    import asyncio

    before, after = asyncio.run(main())
    assert after == before


def test_connect_is_refused_and_the_server_goes_on(receiver: Receiver) -> None:
    with _connect(receiver.port) as sock:
        sock.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n")
        assert _until_closed(sock).startswith(b"HTTP/1.1 400")
    assert httpx.post(receiver.url, content=EXAMPLE, timeout=30).status_code == 204


def test_a_head_request_gets_no_body_and_its_connection_stays_in_step(receiver: Receiver) -> None:
    with _connect(receiver.port) as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nhost: x\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 405") and first.endswith(b"\r\n\r\n")
        sock.sendall(_post())
        assert _read_answers(sock, 1)[0].startswith(b"HTTP/1.1 204")


@pytest.mark.parametrize("event", [["recording-started"], {"a": 1}, 7, None])
def test_an_event_that_is_not_a_string_is_invalid_not_a_server_error(
    receiver: Receiver, event: object
) -> None:
    body = json.dumps({"event": event, "timestamp": 1}).encode()
    assert httpx.post(receiver.url, content=body, timeout=30).status_code == 204
    assert receiver.captures[-1].verdict == "invalid"


# --- found by a second adversarial review -----------------------------------------------


def test_a_read_of_many_pipelined_upgrade_requests_does_not_recurse(receiver: Receiver) -> None:
    upgrade = b"GET /x HTTP/1.1\r\nhost: x\r\nupgrade: a\r\nconnection: upgrade\r\n\r\n"
    with _connect(receiver.port) as sock:
        sock.sendall(upgrade * 3000)  # one read or two: was a RecursionError at ~490
        answers = _read_answers(sock, 3000)
    assert {a[9:12] for a in answers} == {b"404"} and len(receiver.captures) == 3000


def test_connection_close_with_an_upgrade_still_closes(receiver: Receiver) -> None:
    with _connect(receiver.port) as sock:
        sock.sendall(_post(extra="upgrade: h2c\r\nconnection: close, upgrade\r\n"))
        answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 204") and b"connection: close" in answer
    assert receiver.captures[0].headers["upgrade"] == "h2c"  # filed as sent


def test_trailer_fields_are_not_headers_and_are_bounded() -> None:
    head = b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
    body = b"%x\r\n%s\r\n0\r\n" % (len(EXAMPLE), EXAMPLE)
    with Receiver(limits=Limits(max_head=1024)) as receiver:
        with _connect(receiver.port) as sock:
            sock.sendall(head + body + b"host: from-a-trailer\r\n\r\n")
            assert _read_answers(sock, 1)[0].startswith(b"HTTP/1.1 204")
        assert receiver.captures[0].headers["host"] == "x"
        with _connect(receiver.port) as sock:
            sock.sendall(head + body + b"x-long: ")
            with contextlib.suppress(OSError):
                for _ in range(64):  # httptools holds a field until it ends: not for ever
                    sock.sendall(b"a" * 1024)
            assert _until_closed(sock).startswith(b"HTTP/1.1 431")
        assert receiver.refusals.large_heads == 1 and len(receiver.captures) == 1


def test_refusals_carry_a_date(receiver: Receiver) -> None:
    with _connect(receiver.port) as sock:
        sock.sendall(b"\x16\x03\x01 noise\r\n\r\n")
        assert b"\r\ndate: " in _until_closed(sock)


def test_a_1xx_status_is_refused() -> None:
    from aircore_mock import UsageError

    with pytest.raises(UsageError, match="200-599"):
        Receiver(status=101)
