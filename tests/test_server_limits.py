"""Every server of the project under hostile clients: slowloris, too many connections, huge
headers, a body that never ends, a terminal that stops reading, and the log of what came.

Each wait here is on an event or a socket with a bound; nothing asserts on speed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from aircore_mock import FakeAircore, Receiver, get_schema
from aircore_mock.server import AppServer, Limits, LineWriter, default_max_connections

from .helpers import connect as _connect
from .helpers import default_signals
from .helpers import sockets as _sockets
from .helpers import start_receive as _start_receive
from .helpers import until_closed as _answer

EXAMPLE = get_schema("recording-started")["examples"][0]
HALF_A_REQUEST = b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"


def _answer_or_reset(sock: socket.socket) -> bytes:
    try:
        return _answer(sock)
    except ConnectionResetError:
        return b"reset"


def test_200_half_sent_requests_are_cut_off_while_others_are_served() -> None:
    limits = Limits(header_timeout=1.0, max_connections=500)
    with Receiver(limits=limits) as receiver, _sockets(200, receiver.port, HALF_A_REQUEST) as slow:
        # The half-sent requests take nothing from the others: this one is answered at once.
        assert httpx.post(receiver.url, json=EXAMPLE, timeout=30).status_code == 204
        answers = [_answer(sock) for sock in slow]
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), set(answers)
    assert receiver.refusals.header_timeouts == 200
    assert receiver.summary().refused.header_timeouts == 200
    assert receiver.summary().requests == 1  # the cut-off ones are not captures


def test_a_connection_that_sends_nothing_is_closed_too() -> None:
    with Receiver(limits=Limits(header_timeout=0.5)) as receiver, _sockets(1, receiver.port) as s:
        assert _answer(s[0]).startswith(b"HTTP/1.1 408 ")


def test_connections_over_the_limit_get_503_and_are_closed() -> None:
    limits = Limits(header_timeout=60, max_connections=20)
    with Receiver(limits=limits) as receiver, _sockets(20, receiver.port, HALF_A_REQUEST):
        with _sockets(5, receiver.port) as over:
            answers = [_answer(sock) for sock in over]
        assert all(a.startswith(b"HTTP/1.1 503 ") for a in answers), answers
        assert receiver.refusals.connections == 5
    assert receiver.summary().refused.connections == 5


def test_the_default_connection_limit_leaves_file_descriptors_spare() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        assert default_max_connections() == 256 - 64
        assert Limits().connections == 256 - 64
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert Limits(max_connections=7).connections == 7


def test_headers_over_the_cap_get_431() -> None:
    with Receiver(limits=Limits(max_head=4096)) as receiver, _sockets(1, receiver.port) as (s,):
        s.sendall(HALF_A_REQUEST + b"x-padding: " + b"a" * 8192)
        assert _answer(s).startswith(b"HTTP/1.1 431 ")
        assert receiver.refusals.large_heads == 1
        # an ordinary request still fits
        assert httpx.post(receiver.url, json=EXAMPLE, timeout=30).status_code == 204


def test_a_body_that_never_ends_is_cut_off_and_not_filed() -> None:
    limits = Limits(body_timeout=0.5)
    with Receiver(limits=limits) as receiver, _sockets(1, receiver.port) as (sock,):
        sock.sendall(HALF_A_REQUEST + b'content-length: 100\r\n\r\n{"event":')
        assert _answer(sock) == b""  # closed without an answer: the request never arrived
        assert receiver.refusals.body_timeouts == 1
        assert receiver.captures == []


def test_the_fake_api_server_has_the_same_limits() -> None:
    with FakeAircore(limits=Limits(header_timeout=0.5)) as fake:
        port = int(fake.url.rsplit(":", 1)[1])
        with _sockets(1, port, b"GET /_aircore-mock/ HTTP/1.1\r\n") as (sock,):
            assert _answer(sock).startswith(b"HTTP/1.1 408 ")
        assert fake.summary().refused.header_timeouts == 1


def test_the_fake_api_server_refuses_a_head_over_the_cap_sent_in_one_piece() -> None:
    with FakeAircore(limits=Limits(max_head=1024)) as fake:
        port = int(fake.url.rsplit(":", 1)[1])
        request = b"GET /_aircore-mock/ HTTP/1.1\r\nhost: x\r\nx-pad: " + b"a" * 4096 + b"\r\n\r\n"
        with _sockets(1, port, request) as (sock,):
            assert _answer(sock).startswith(b"HTTP/1.1 431 ")
        assert fake.summary().refused.large_heads == 1


def test_the_fake_api_server_bounds_trailer_fields() -> None:
    head = b"POST /recording HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
    with FakeAircore(limits=Limits(max_head=1024)) as fake:
        port = int(fake.url.rsplit(":", 1)[1])
        with _sockets(1, port, head + b"2\r\n{}\r\n0\r\nx-long: ") as (sock,):
            with contextlib.suppress(OSError):
                for _ in range(64):  # httptools holds a field until it ends: not for ever
                    sock.sendall(b"a" * 1024)
            # (the fake may answer 401 first: it needs no body to refuse a missing API key)
            assert b"HTTP/1.1 431 " in _answer(sock)
        assert fake.summary().refused.large_heads == 1


def test_servers_run_httptools_not_h11() -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    server = AppServer(lambda scope, receive, send: None)
    try:
        config = server._make_server().config
        config.load()
        assert issubclass(config.http_protocol_class, HttpToolsProtocol)
    finally:
        server.close()


# --- what is kept ------------------------------------------------------------------------


def test_the_log_keeps_the_body_exactly_as_received(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    # A duplicate key (parsing keeps the last), a 20-digit integer (parsing makes it a float)
    # and a body that is not UTF-8 at all.
    duplicate = b'{"event": "first", "event": "recording-started", "n": 12345678901234567890}'
    latin1 = '{"event": "caf\xe9"}'.encode("latin-1")
    with Receiver(log=log) as receiver:
        for body in (duplicate, latin1):
            httpx.post(receiver.url, content=body, timeout=30)
        assert receiver.flush_log()
    first, second = (json.loads(line) for line in log.read_text().splitlines())
    assert first["body"] == duplicate.decode()  # every byte, both keys, all 20 digits
    assert first["payload"]["event"] == "recording-started" and first["verdict"] == "invalid"
    assert "body" not in second and base64.b64decode(second["body_base64"]) == latin1
    assert second["verdict"] == "not-json" and second["payload"] is None


# --- output that never holds a server up --------------------------------------------------


def test_a_writer_never_blocks_on_a_reader_that_stopped_and_counts_what_it_dropped() -> None:
    read_end, write_end = os.pipe()
    try:
        writer = LineWriter(write_end, lambda n: b"x" * 1000 + b"\n", capacity=100)
        # Far more than the pipe holds (64 KiB) and than the queue holds: put never waits.
        accepted = sum(writer.put(n) for n in range(1000))
        assert accepted < 1000 and writer.dropped == 1000 - accepted
        assert writer.close(timeout=0.5) is False  # the reader never read: it gave up
        assert writer.written + writer.dropped == 1000
        os.set_blocking(read_end, False)
        assert os.read(read_end, 1 << 20).startswith(b"x" * 1000)  # it wrote what fitted
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_writer_reports_a_reader_that_left() -> None:
    read_end, write_end = os.pipe()
    left = threading.Event()
    writer = LineWriter(write_end, lambda n: b"line\n", on_broken=left.set)
    os.close(read_end)
    try:
        writer.put(1)
        assert left.wait(10)
        assert writer.broken and not writer.put(2)
    finally:
        writer.close(timeout=1)
        os.close(write_end)


def test_a_render_that_raises_writes_a_line_saying_so_and_the_rest_follow() -> None:
    read_end, write_end = os.pipe()

    def render(item: int) -> bytes:
        if item == 2:
            raise ValueError("no line for 2")
        return f"line {item}\n".encode()

    writer = LineWriter(write_end, render)
    try:
        assert all(writer.put(n) for n in (1, 2, 3))
        assert writer.close(timeout=10)
        os.set_blocking(read_end, False)
        lines = os.read(read_end, 1 << 16).decode().splitlines()
        assert lines[0] == "line 1" and lines[2] == "line 3"
        assert "cannot write output" in lines[1] and "no line for 2" in lines[1]
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_body_declared_over_the_cap_gets_413_before_the_client_is_asked_for_it() -> None:
    # A client that waits for "100 Continue" before sending a huge body must be refused
    # without ever being told to send it.
    with Receiver(max_body=1000) as receiver, _connect(receiver.port) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"expect: 100-continue\r\ncontent-length: 5000000\r\n\r\n"
        )
        first = sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 413"), first[:80]
    assert [c.verdict for c in receiver.captures] == ["too-large"]


def test_receive_answers_every_request_while_nobody_reads_its_stdout(tmp_path: Path) -> None:
    process, url = _start_receive(tmp_path)
    try:
        with httpx.Client(timeout=30) as client:
            # ~100 bytes a line: 1,500 lines are more than twice what a pipe holds.
            statuses = {client.post(url, json=EXAMPLE).status_code for _ in range(1500)}
        assert statuses == {204}
    finally:
        process.send_signal(signal.SIGTERM)
        # Nobody has read stdout yet, and it is full: the exit must not wait for a reader.
        returncode = process.wait(timeout=30)
        _, err = process.communicate(timeout=30)
    assert returncode == 0
    assert "1500 callback(s) in 1500 request(s)" in err
    assert "output line(s) dropped: stdout did not keep up" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_receive_and_serve_stop_on_a_signal_with_a_summary(tmp_path: Path, stop: int) -> None:
    process, _ = _start_receive(tmp_path)
    process.send_signal(stop)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0 and "0 callback(s) in 0 request(s)" in err
    ready = tmp_path / "serve-ready"
    serve = subprocess.Popen(
        [sys.executable, "-m", "aircore_mock", "serve", "--port", "0", "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_ready(ready, serve)
    finally:
        serve.send_signal(stop)
        _, err = serve.communicate(timeout=30)
    assert serve.returncode == 0 and "0 recording(s), 0 API request(s)" in err


def _wait_for_ready(ready: Path, process: subprocess.Popen[str]) -> None:
    # The ready file is written atomically once the server listens; poll it, bounded.
    import time

    deadline = time.monotonic() + 30
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"serve did not start: {process.communicate(timeout=5)}")
        time.sleep(0.02)


def test_at_a_low_open_file_limit_half_sent_requests_exhaust_nothing(tmp_path: Path) -> None:
    import resource

    def low_limit() -> None:
        _hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, _hard))  # cap: 128 - 64 = 64
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    ready = tmp_path / "ready"
    command = [sys.executable, "-m", "aircore_mock", "receive", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--header-timeout", "1", "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=low_limit,
    )
    try:
        _wait_for_ready(ready, process)  # type: ignore[arg-type]
        port = int(ready.read_text().strip().rsplit(":", 1)[1])
        # More half-sent requests than the process has file descriptors for.
        with _sockets(150, port, HALF_A_REQUEST) as slow:
            answers = [_answer_or_reset(sock)[:12] for sock in slow]
        # Up to 64 at a time are served and cut off after the header timeout; the others are
        # turned away at once (a 503, or a reset when their request was already in: closing
        # a socket with unread data resets it), or wait in the kernel's queue for a turn.
        assert set(answers) <= {b"HTTP/1.1 408", b"HTTP/1.1 503", b"reset"}
        assert answers.count(b"HTTP/1.1 408") >= 64
        assert httpx.post(f"http://127.0.0.1:{port}/", json=EXAMPLE, timeout=30).status_code == 204
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in err and "Too many open files" not in err, err[-4000:]
    assert "cannot accept connections" not in err
    assert "at most 64 connections" in err and "too slow sending headers" in err


def test_serve_keeps_answering_and_stops_when_nobody_reads_its_stderr(tmp_path: Path) -> None:
    # `aircore-mock serve 2>&1 | sleep 600`: uvicorn warns about each invalid request; those
    # warnings must not block the server once the pipe is full, nor its exit on SIGTERM.
    import time

    ready = tmp_path / "ready"
    read_end, write_end = os.pipe()
    try:
        serve = subprocess.Popen(
            [sys.executable, "-m", "aircore_mock", "serve", "--port", "0", "--ready-file",
             str(ready)],
            stdout=write_end,
            stderr=write_end,
            preexec_fn=default_signals,
        )  # fmt: skip
        os.close(write_end)
        write_end = -1
        try:
            deadline = time.monotonic() + 30
            while not ready.exists() and time.monotonic() < deadline and serve.poll() is None:
                time.sleep(0.02)
            port = int(ready.read_text().strip().rsplit(":", 1)[1])
            stuck = None
            for sent in range(3000):  # a warning each: twice what a pipe holds
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                    try:
                        sock.recv(1024)
                    except TimeoutError:
                        stuck = sent
                        break
            assert stuck is None, f"no answer after {stuck} invalid requests"
            with httpx.Client(timeout=10) as client:
                answer = client.get(f"http://127.0.0.1:{port}/_aircore-mock/")
            assert answer.status_code == 200  # still serving
            serve.send_signal(signal.SIGTERM)
            assert serve.wait(timeout=30) == 0  # and it stops, though stderr is full
        finally:
            if serve.poll() is None:
                serve.kill()
                serve.wait(timeout=30)
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
