"""Raw-socket servers that misbehave the ways real receivers do, for the sender's tests.

Each behaviour gets the accepted connection and the server's stop event; the server runs on
127.0.0.1 on a free port and is shut down (every connection closed) when the block ends.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Callable, Iterator

Behaviour = Callable[[socket.socket, threading.Event], None]


def read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request (headers and a Content-Length body); b"" when the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _drip(conn: socket.socket, stop: threading.Event, data: bytes, every: float) -> None:
    for byte in data:
        if stop.wait(every):
            return
        conn.sendall(bytes([byte]))


def drips_status_line(conn: socket.socket, stop: threading.Event) -> None:
    """Answers one byte every 50 ms, status line first."""
    if read_request(conn):
        _drip(conn, stop, b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", 0.05)


def drips_body(conn: socket.socket, stop: threading.Event) -> None:
    """Sends its status and headers at once, then a 1,000-byte body one byte every 50 ms."""
    if read_request(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        _drip(conn, stop, b"x" * 1000, 0.05)


def never_answers(conn: socket.socket, stop: threading.Event) -> None:
    """Reads the request and says nothing, until the server stops."""
    read_request(conn)
    stop.wait(60)


def resets_mid_request(conn: socket.socket, stop: threading.Event) -> None:
    """Reads a few bytes of the request, then resets the connection (RST, not FIN)."""
    conn.recv(10)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def closes_after_every_answer(conn: socket.socket, stop: threading.Event) -> None:
    """Answers 204 and closes the connection, without saying `Connection: close`."""
    if read_request(conn):
        conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")


def closes_idle_connections(conn: socket.socket, stop: threading.Event) -> None:
    """Answers 204 on a kept-alive connection, and closes it once idle for 50 ms, without a
    word (as servers' keep-alive timeouts do)."""
    while read_request(conn):
        conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        if not select.select([conn], [], [], 0.05)[0]:
            return


def reads_then_drops_the_second_request(seen: list[bytes]) -> Behaviour:
    """Answers its first request, then reads the next one whole and closes the connection
    without answering (a worker that dies mid-request); every request read goes to `seen`."""

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        for answer in (True, False):
            request = read_request(conn)
            if not request:
                return
            seen.append(request.partition(b"\r\n\r\n")[2])
            if answer:
                conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    return behaviour


def cuts_its_answer_short(conn: socket.socket, stop: threading.Event) -> None:
    """Promises a 100-byte body, sends 7 bytes of it and closes the connection."""
    if read_request(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")


def answers_a_gigabyte(conn: socket.socket, stop: threading.Event) -> None:
    """Answers 200 with a 1 GiB body, sent as fast as the client takes it."""
    if not read_request(conn):
        return
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
    block = b"\0" * 65536
    with contextlib.suppress(OSError):
        for _ in range(1 << 14):
            if stop.is_set():
                return
            conn.sendall(block)


class RawServer:
    """A TCP server on 127.0.0.1 running `behaviour` on each connection; counts requests."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.stop = threading.Event()
        self.connections = 0
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/"
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            self._open.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(30)
            self.behaviour(conn, self.stop)

    def close(self) -> None:
        self.stop.set()
        self._accepter.join(timeout=5)
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()


@contextlib.contextmanager
def raw_server(behaviour: Behaviour) -> Iterator[RawServer]:
    """`with raw_server(drips_body) as server: send(..., server.url)`."""
    server = RawServer(behaviour)
    try:
        yield server
    finally:
        server.close()
