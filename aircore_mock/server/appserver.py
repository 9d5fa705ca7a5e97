"""Serve an ASGI app over real HTTP with uvicorn, in a background thread or the foreground.

uvicorn runs with httptools (its fast C parser) and a protocol that adds the limits a server
facing unknown clients needs and uvicorn lacks: a time limit on reading a request's head and
body (a client that sends half a request and waits, slowloris, is cut off), a cap on the
request head's size, and a cap on open connections (the ones over it get a 503 and are
closed at once, so that file descriptors never run out). Bodies are capped by the apps.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import AircoreMockError, UsageError
from .limits import DeadlineSweeper, HeadCount, Limits, Refusals
from .listening import ListeningServer, quiet_accept_errors
from .output import server_logs_routed


def _answer(status: bytes) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


_503 = _answer(b"503 Service Unavailable")
_408 = _answer(b"408 Request Timeout")
_431 = _answer(b"431 Request Header Fields Too Large")


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


class AppServer(ListeningServer):
    """Any ASGI app (Starlette, FastAPI, ...) served over real HTTP, on uvicorn with httptools
    and the servers' `Limits`: `with AppServer(app) as server: httpx.get(server.url)`.

    It binds `host` (127.0.0.1) and `port` (0: a free one) when it is made, so `url` and
    `port` are known before it serves: an app that must know its own address (a callback
    URL that points back to itself) can be built after the server and set as `server.app`
    before `start()`. `start()` serves in a background thread until `stop()` (or the end of
    the `with` block); `serve()` in the foreground until Ctrl-C or SIGTERM. The app's
    lifespan runs as under uvicorn: startup before the first request, shutdown at stop.
    A server that is never started still holds its port until `close()`.
    """

    def __init__(
        self,
        app: Any = None,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/",
        *,
        limits: Limits | None = None,
    ) -> None:
        """`app`: the ASGI app (or None, set `server.app` before serving); `path` only
        ends `url` (the app gets every path); `limits`: see `Limits`."""
        super().__init__(host, port, path, limits)
        self.app = app
        """The ASGI app served; may be set (or replaced) until `start()` or `serve()`."""
        self._server: Any = None

    def _make_server(self) -> Any:
        if self.app is None:
            raise UsageError(f"no app to serve at {self.url}: pass one or set `server.app` first")
        import uvicorn

        quiet_accept_errors()
        ready = self._ready

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: Any) -> None:
                # A second Ctrl-C asks again for the graceful stop under way; uvicorn's own
                # would force it, cancelling the app's lifespan (a traceback) mid-shutdown.
                self.should_exit = True

            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets=sockets)
                if not self.should_exit:
                    ready.set()

        config = uvicorn.Config(
            self.app,
            http=guarded_protocol(self.limits, self.refusals),
            log_level="warning",
            # Routed (the CLI's servers): uvicorn keeps the handlers set for it, which never
            # block on a full stderr; else its own configuration, to stderr.
            log_config=None if server_logs_routed() else uvicorn.config.LOGGING_CONFIG,
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
