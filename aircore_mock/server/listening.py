"""The listening socket and the lifecycle every server of the project shares."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import TypeVar

from ..errors import UsageError, number
from .limits import Limits, Refusals


def normalize_path(path: str) -> str:
    """`/path` with one leading slash and no trailing one (`/` for the root)."""
    if not isinstance(path, str):
        raise UsageError(f"path must be a string such as '/aircore', got {path!r}")
    return "/" + path.strip("/") if path.strip("/") else "/"


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
    if not isinstance(host, str) or not host:
        raise UsageError(f"host must be a name or an address, got {host!r}")
    # (getaddrinfo would take 70000 as 70000 % 65536 and listen somewhere else)
    number("port", port, low=0, high=65535, integer=True)
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
