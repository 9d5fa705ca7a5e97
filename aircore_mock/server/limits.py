"""What a server accepts from its clients, and what it turned away: `Limits`, `Refusals`, and
the accounting both servers' protocols share (`DeadlineSweeper`, `HeadCount`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError

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
    """What a server accepts from its clients: `AppServer`, `Receiver` and `FakeAircore` take
    one as `limits=` (`Limits(header_timeout=2)`; the defaults are the README's table).
    Clients beyond a limit are turned away and counted in the server's `refusals`; a value
    that cannot work (a timeout of 0, a head cap under 1 KiB) raises `UsageError`."""

    header_timeout: float = HEADER_TIMEOUT
    """Seconds to send a request's line and headers (408 beyond)."""
    body_timeout: float = BODY_TIMEOUT
    """Seconds to send the body once the headers are in (the connection is closed beyond)."""
    max_head: int = MAX_HEAD
    """Bytes of request line and headers (431 beyond)."""
    max_connections: int | None = None
    """Open connections served at once (503 beyond); None: `default_max_connections()`."""
    keep_alive: int = KEEP_ALIVE
    """Seconds an idle kept-alive connection stays open."""

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


@dataclass(frozen=True)
class ServedSummary:
    """What every server's summary adds to its own counts (a base for `CaptureSummary` and
    `FakeSummary`): the clients the limits refused and the log lines not written."""

    refused: Refusals | None = field(default=None, kw_only=True)
    """Clients the server's limits turned away (None: never served over HTTP)."""
    log_lines_dropped: int | None = field(default=None, kw_only=True)
    """Log lines not written: the disk could not keep up, or failed (None: no log)."""
    log_drop_causes: dict[str, int] = field(default_factory=dict, kw_only=True)
    """The log lines not written, by cause (`did not keep up`, `No space left on device`)."""

    def _served_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.refused is not None:
            out["refused"] = self.refused.to_json()
        if self.log_lines_dropped is not None:
            out["log_lines_dropped"] = self.log_lines_dropped
        if self.log_drop_causes:
            out["log_drop_causes"] = dict(self.log_drop_causes)
        return out
