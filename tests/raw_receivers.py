"""Receivers written at the socket level, as some are in the wild: a correct one answers every
callback, and each planted defect is a wire mistake (reading framing headers by hand, leaving
an unframed answer on a kept-alive connection). Bound to 127.0.0.1 on an ephemeral port, stopped
by the `with` block. Hand-written HTTP is the point here: these are the receivers under test.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Each wire defect fails exactly speaks-http (every other clause passes or only warns).
WIRE_DEFECTS = (
    "no-chunked",
    "content-length-case-sensitive",
    "needs-user-agent",
    "unframed-keepalive",
    "content-length-too-large",
    "bad-status-line",
)
# Correct, however unusual: no clause may fail.
WIRE_CORRECT = ("http10-close", "close-always")


def _verdict(body: bytes) -> int:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return 400
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        return 400
    recording = payload.get("recording")
    if not isinstance(recording, dict) or not isinstance(recording.get("url"), str):
        return 400
    return 204


def _handler(defect: str | None) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        timeout = 30

        def handle(self) -> None:
            while self._one():
                pass

        def _one(self) -> bool:
            line = self.rfile.readline(65537)
            if not line.strip():
                return False
            headers: list[tuple[str, str]] = []
            while True:
                raw = self.rfile.readline(65537)
                if raw in (b"\r\n", b"\n", b""):
                    break
                name, _, value = raw.decode("latin-1").partition(":")
                headers.append((name.strip(), value.strip()))
            lower = {k.lower(): v for k, v in headers}
            if lower.get("expect", "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if defect == "content-length-case-sensitive":
                length = next((v for k, v in headers if k == "Content-Length"), None)
            else:
                length = lower.get("content-length")
            chunked = lower.get("transfer-encoding", "").lower() == "chunked"
            if chunked and defect != "no-chunked":
                body = self._chunks()
            elif chunked:
                body = b""  # the chunks stay unread: the next "request" is garbage
            else:
                body = self.rfile.read(int(length)) if length else b""
            status = _verdict(body)
            if defect == "needs-user-agent" and "user-agent" not in lower:
                status = 400
            close = lower.get("connection", "").lower() == "close" or (
                chunked and defect == ("no-chunked")
            )
            text = {204: "No Content", 400: "Bad Request", 200: "OK"}.get(status, "OK")
            if defect == "http10-close":
                # HTTP/1.0 style: no framing, the body ends when the connection closes
                status, text = (200, "OK") if status == 204 else (status, text)
                self.wfile.write(f"HTTP/1.0 {status} {text}\r\n\r\nok".encode())
                return False
            if defect == "unframed-keepalive" and status == 204 and not close:
                status, text = 200, "OK"
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nok")
                return not close
            if defect == "content-length-too-large" and status == 204 and not close:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok")
                return not close
            if defect == "bad-status-line" and status == 204 and not close:
                # a hand-built status line without the space before the reason phrase
                self.wfile.write(b"HTTP/1.1 204No Content\r\n\r\n")
                return not close
            if defect == "close-always":
                close = True
            framing = "Connection: close\r\n" if close else ""
            body_out = b"" if status == 204 else b"{}"
            length_line = "" if status == 204 else f"Content-Length: {len(body_out)}\r\n"
            self.wfile.write(
                f"HTTP/1.1 {status} {text}\r\n{length_line}{framing}\r\n".encode() + body_out
            )
            return not close

        def _chunks(self) -> bytes:
            out = b""
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline(1024)
                    return out
                out += self.rfile.read(size)
                self.rfile.readline(1024)

    return Handler


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's backlog is 5: a clause's concurrent connections overflowed it and some
    # were reset, a false alarm on a correct receiver (a real server listens with more)
    request_queue_size = 128


@contextmanager
def raw_receiver(defect: str | None = None) -> Iterator[str]:
    """A socket-level receiver on 127.0.0.1 (an ephemeral port); yields its URL."""
    server = _Server(("127.0.0.1", 0), _handler(defect))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/aircore"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def verdicts(report: Any) -> tuple[set[str], set[str]]:
    by_clause = report.by_clause()
    return (
        {c for c, v in by_clause.items() if v == "failed"},
        {c for c, v in by_clause.items() if v == "warned"},
    )
