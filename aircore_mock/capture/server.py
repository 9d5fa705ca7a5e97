"""Serve an ASGI app over real HTTP with uvicorn, in a background thread or the foreground.

uvicorn runs with httptools (its fast C parser) and a protocol that adds the limits a server
facing unknown clients needs and uvicorn lacks: a time limit on reading a request's head and
body (a client that sends half a request and waits, slowloris, is cut off), a cap on the
request head's size, and a cap on open connections (the ones over it get a 503 and are
closed at once, so that file descriptors never run out). Bodies are capped by the apps.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import AircoreMockError, UsageError
from .endpoint import normalize_path

HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's line and headers (from connecting, or from its
first byte on a kept-alive connection)."""
BODY_TIMEOUT = 30.0
"""Seconds a client has to send a request's body once its headers are in."""
MAX_HEAD = 64 * 1024
"""Bytes of request line and headers accepted; more gets 431."""
MAX_CONNECTIONS = 1000
"""Open connections served at once; more get 503 and are closed (fewer when the open-file
limit is low: see `default_max_connections`)."""
KEEP_ALIVE = 5
"""Seconds an idle kept-alive connection stays open (uvicorn's own setting)."""
_SPARE_FDS = 64  # descriptors left for the log, the listening socket, the sender's own, ...
_BASELINE_FDS = 16  # what the process holds before any connection (measured: 7 to 9)
_BURSTS_IN_HAND = 4  # accept bursts whose descriptors may be open at once (see accept_burst)


def _open_file_limit() -> int | None:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else soft


def default_max_connections() -> int:
    """`MAX_CONNECTIONS`, or fewer so that connections alone never use up the process's
    open-file limit (each costs a descriptor): the limit minus 64, at least 16."""
    soft = _open_file_limit()
    if soft is None:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft - _SPARE_FDS))


def accept_burst(max_connections: int) -> int:
    """How many connections the event loop may accept in one go (also the listen backlog).

    asyncio accepts up to this many at once, each taking a descriptor before the protocol
    can turn it away, and a turned-away connection's descriptor is released a few loop
    passes later (its transport is made, it answers 503, it closes): up to four bursts are
    in hand at once. So the open connections, four bursts and what the process holds anyway
    must fit in the open-file limit, or accept() fails (EMFILE) and nobody is served.
    """
    soft = _open_file_limit()
    room = 8192 if soft is None else soft - max_connections - _BASELINE_FDS
    return max(8, min(2048, room // _BURSTS_IN_HAND))


@dataclass(frozen=True)
class Limits:
    """What a server accepts from its clients (every server of the project uses these)."""

    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    max_head: int = MAX_HEAD
    max_connections: int | None = None
    """None: `default_max_connections()`."""
    keep_alive: int = KEEP_ALIVE

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout"):
            if not getattr(self, name) > 0:
                raise UsageError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_head < 1024:
            raise UsageError(f"max_head must be at least 1024 bytes, got {self.max_head}")
        if self.max_connections is not None and self.max_connections < 1:
            raise UsageError(f"max_connections must be positive, got {self.max_connections}")
        if self.keep_alive < 1:
            raise UsageError(f"keep_alive must be at least 1 s, got {self.keep_alive}")

    @property
    def connections(self) -> int:
        """The connection cap in force."""
        return self.max_connections or default_max_connections()

    @property
    def backlog(self) -> int:
        """Connections accepted in one go, and queued by the kernel (see `accept_burst`)."""
        return accept_burst(self.connections)

    def describe(self) -> str:
        """One line for humans: the limits in force."""
        return (
            f"at most {self.connections} connections, {self.header_timeout:g} s for a "
            f"request's headers, {self.body_timeout:g} s for its body, "
            f"{self.max_head // 1024} KiB of headers"
        )


@dataclass
class Refusals:
    """Clients the limits turned away since the server started (read by the summaries)."""

    connections: int = 0
    """Connections over the cap (503, closed)."""
    header_timeouts: int = 0
    """Requests whose head did not arrive in time (408, closed)."""
    body_timeouts: int = 0
    """Requests whose body did not arrive in time (closed)."""
    large_heads: int = 0
    """Request heads over the size cap (431, closed)."""

    def total(self) -> int:
        return self.connections + self.header_timeouts + self.body_timeouts + self.large_heads

    def to_json(self) -> dict[str, int]:
        return {
            "connections_over_limit": self.connections,
            "header_timeouts": self.header_timeouts,
            "body_timeouts": self.body_timeouts,
            "oversized_headers": self.large_heads,
        }


def _answer(status: bytes) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


_503 = _answer(b"503 Service Unavailable")
_408 = _answer(b"408 Request Timeout")
_431 = _answer(b"431 Request Header Fields Too Large")


class DeadlineSweeper:
    """Checks every connection's deadline a few times a second, on the server's loop.

    Arming a deadline is then a float assignment (`connection.deadline = ...`, 0 for none)
    rather than a timer handle per request, which would cost more than the rest of the
    capture endpoint's work. A connection whose deadline has passed gets `expire()`.
    """

    def __init__(self, limits: Limits) -> None:
        self.tick = min(1.0, limits.header_timeout / 4, limits.body_timeout / 4)
        self._handle: Any = None

    def watch(self, connections: set[Any], loop: Any) -> None:
        """Sweep `connections` (the server's open ones) while there are any."""
        if self._handle is None:
            self._handle = loop.call_later(self.tick, self._sweep, connections, loop)

    def _sweep(self, connections: set[Any], loop: Any) -> None:
        now = time.monotonic()
        for connection in list(connections):
            deadline = getattr(connection, "deadline", 0.0)  # (a websocket has none)
            if deadline and deadline <= now:
                connection.expire()
        self._handle = None
        if connections:
            self.watch(connections, loop)


class HeadCount:
    """What an httptools-fed protocol counts against `Limits.max_head`: the bytes of a request
    head still arriving, and of a chunked body's trailer fields (which httptools holds until
    each ends). Both servers' protocols use it; each refuses in its own way."""

    _reading_head = True
    _in_body = False
    _boundary = False  # this read held the end of a request (a pipelining client)
    _head_bytes = 0  # bytes of reads that held only head (or only trailer fields)
    _head_size = 0  # the parsed head's size: a head that came whole in one read
    _quiet = False  # a chunk's size line was read and none of its data since
    _fed_body = False  # this read held body data

    def _read_over_cap(self, data: bytes, max_head: int) -> bool:
        """After a read was parsed: whether it took a head or trailer fields over the cap.

        A read while a head is incomplete is all head, unless it also held the end of the
        request before (that one is not counted, so a head may overshoot by one read, 256
        KiB: the cap bounds memory); a read after the last chunk with no data is trailers.
        """
        trailers = self._in_body and self._quiet and not self._fed_body
        if not trailers and not (self._reading_head and not self._boundary):
            return False
        self._head_bytes += len(data)
        return self._head_bytes > max_head

    def on_chunk_header(self) -> None:
        self._quiet = True

    def on_chunk_complete(self) -> None:
        self._quiet = False


def guarded_protocol(limits: Limits, refusals: Refusals) -> type:
    """uvicorn's httptools protocol with `limits` enforced, counting into `refusals`."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    max_connections = limits.connections
    header_timeout, body_timeout, max_head = (
        limits.header_timeout,
        limits.body_timeout,
        limits.max_head,
    )

    clock = time.monotonic  # the sweeper's clock (loop.time() is a Python call)
    sweeper = DeadlineSweeper(limits)

    class GuardedHttpTools(HeadCount, HttpToolsProtocol):  # type: ignore[misc]
        deadline = 0.0  # when the request being read must be in (0: none): see DeadlineSweeper
        _refused = False

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            over = len(self.connections) >= max_connections
            super().connection_made(transport)
            if over:
                refusals.connections += 1
                self._refuse(_503)
                return
            self.deadline = clock() + header_timeout
            sweeper.watch(self.connections, self.loop)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            self._boundary = self._fed_body = False
            super().data_received(data)
            if not self._refused and self._read_over_cap(data, max_head):
                refusals.large_heads += 1
                self._refuse(_431)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._reading_head, self._head_bytes, self._head_size = True, 0, 0
            if not self.deadline:  # a kept-alive connection's next request
                self.deadline = clock() + header_timeout

        def on_url(self, url: bytes) -> None:
            self._head_size += len(url)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._head_size += len(name) + len(value) + 4
            if self._reading_head:
                super().on_header(name, value)
            elif self._head_size > max_head and not self._refused:
                # A trailer field: never merged into the request's headers, and bounded.
                refusals.large_heads += 1
                self._refuse(_431)

        def on_headers_complete(self) -> None:
            self._reading_head, self._in_body, self._quiet = False, True, False
            if self._head_size > max_head:  # a head that came whole in one read
                refusals.large_heads += 1
                self._refuse(_431)
                return
            self.deadline = clock() + body_timeout
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            self._quiet, self._fed_body, self._head_bytes = False, True, 0
            if not self._refused:
                super().on_body(body)

        def on_message_complete(self) -> None:
            self.deadline, self._in_body = 0.0, False
            self._reading_head, self._head_bytes, self._boundary = True, 0, True
            if not self._refused:
                super().on_message_complete()

        def expire(self) -> None:
            self.deadline = 0.0
            if self._in_body:
                refusals.body_timeouts += 1
                # The app is waiting for the rest of the body: closing tells it the client left.
                self._refused = True
                self.transport.close()
            elif self.cycle is None or self.cycle.response_complete:
                refusals.header_timeouts += 1
                self._refuse(_408)

        def _refuse(self, answer: bytes) -> None:
            self._refused = True
            self.deadline = 0.0
            if not self.transport.is_closing():
                self.transport.write(answer)
                self.transport.close()

    return GuardedHttpTools


class _QuietAcceptErrors(logging.Filter):
    """asyncio logs each failed accept() with a traceback; when descriptors run out (used up
    by something else than the capped connections) that is thousands of lines. Keep one line
    a second, no traceback."""

    _last = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("socket.accept() out of system resource"):
            return True
        now = time.monotonic()
        if now - self._last < 1.0:
            return False
        type(self)._last = now
        error = record.exc_info[1] if record.exc_info else None
        record.msg, record.args = "aircore-mock: cannot accept connections: %s", (error,)
        record.exc_info, record.exc_text = None, None
        return True


def quiet_accept_errors() -> None:
    asyncio_logger = logging.getLogger("asyncio")
    if not any(isinstance(f, _QuietAcceptErrors) for f in asyncio_logger.filters):
        asyncio_logger.addFilter(_QuietAcceptErrors())


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; bound before the server starts, so its port is known at once."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


_Server = TypeVar("_Server", bound="ListeningServer")


class ListeningServer:
    """What every server of the project shares: a socket bound at once (so its port is known
    before it serves), `Limits` and the `Refusals` they made, a URL, and the lifecycle of a
    background thread: `start()`, `stop()`, `with`. Subclasses serve (`start`, `serve`) and
    say how to ask for a shutdown (`shutdown`)."""

    def __init__(self, host: str, port: int, path: str, limits: Limits | None) -> None:
        self.limits = limits or Limits()
        """What the server accepts from clients: timeouts, head size, connections."""
        self.refusals = Refusals()
        """Clients the limits turned away so far."""
        self.host = host
        self.path = normalize_path(path)
        self._socket = bind(host, port)
        self.port: int = self._socket.getsockname()[1]
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """`http://host:port/path`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"

    def start(self: _Server, timeout: float = 10.0) -> _Server:
        """Serve in a background thread; returns once it accepts requests."""
        raise NotImplementedError

    def shutdown(self) -> None:
        """Ask the server to shut down, without waiting (safe from inside a request)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Shut down (in-flight requests get a grace period) and release the port."""
        self.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class AppServer(ListeningServer):
    """An ASGI app on `http://host:port` (port 0 picks a free one): `with AppServer(app) as s:`."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/",
        *,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(host, port, path, limits)
        self.app = app
        self._server: Any = None

    def _make_server(self) -> Any:
        import uvicorn

        quiet_accept_errors()
        ready = self._ready

        class Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets=sockets)
                if not self.should_exit:
                    ready.set()

        config = uvicorn.Config(
            self.app,
            http=guarded_protocol(self.limits, self.refusals),
            log_level="warning",
            access_log=False,
            lifespan="auto",
            timeout_keep_alive=self.limits.keep_alive,
            backlog=self.limits.backlog,
            # Nothing here sits behind a proxy: X-Forwarded-For is not to be trusted (and
            # the middleware costs every request).
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        return Server(config)

    def start(self, timeout: float = 10.0) -> AppServer:
        """Serve in a background thread; returns once it accepts requests."""
        if self._thread is not None:
            return self
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"aircore-mock server {self.url}",
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise AircoreMockError(f"the server at {self.url} did not start in {timeout:g} s")
        return self

    def serve(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM, which shut it down gracefully."""
        self._server = self._make_server()
        if on_ready is not None:
            threading.Thread(target=self._announce, args=(on_ready,), daemon=True).start()
        # uvicorn re-raises SIGINT/SIGTERM with the previous handler once it has shut down; a
        # quiet one lets the caller print its summary and exit by itself.
        quiet = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._server.run(sockets=[self._socket])
        finally:
            for sig, handler in quiet.items():
                signal.signal(sig, handler)
            self.close()

    def _announce(self, on_ready: Callable[[], None]) -> None:
        if self._ready.wait(30):
            on_ready()

    def shutdown(self) -> None:
        """Ask uvicorn to shut down, without waiting (safe from inside a request)."""
        if self._server is not None:
            self._server.should_exit = True


def _ignore(signum: int, frame: Any) -> None:
    """A signal handler that does nothing (see `AppServer.serve`)."""
