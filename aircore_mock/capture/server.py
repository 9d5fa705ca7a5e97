"""Serve an ASGI app over real HTTP with uvicorn, in a background thread or the foreground."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from ..errors import AircoreMockError, UsageError
from .endpoint import normalize_path


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


class AppServer:
    """An ASGI app on `http://host:port` (port 0 picks a free one): `with AppServer(app) as s:`."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, path: str = "/") -> None:
        self.app = app
        self.host = host
        self.path = normalize_path(path)
        self._socket = bind(host, port)
        self.port: int = self._socket.getsockname()[1]
        self._ready = threading.Event()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """`http://host:port/path`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"

    def _make_server(self) -> Any:
        import uvicorn

        ready = self._ready

        class Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets=sockets)
                if not self.should_exit:
                    ready.set()

        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="auto",
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

    def stop(self) -> None:
        """Shut down (in-flight requests get a grace period) and release the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ignore(signum: int, frame: Any) -> None:
    """A signal handler that does nothing (see `AppServer.serve`)."""
