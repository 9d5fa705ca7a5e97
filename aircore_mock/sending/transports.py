"""How one POST reaches a target, on the engine's event loop.

Three transports share one small protocol (`open`, `post`, `aclose`):

- `AiohttpTransport` for URLs: aiohttp's C HTTP parser is what lets one process send
  thousands of callbacks a second (httpx's AsyncClient is ~10x slower here).
- `AsgiTransport` for ASGI apps: httpx's ASGITransport on the same loop, with the app's
  lifespan (startup before the first callback, shutdown at close) run by asgi-lifespan.
- `WsgiTransport` for WSGI apps: httpx's WSGITransport in worker threads.

A transport answers with an `Answer` or raises `TransportFailure` (no answer, and why); the
engine owns deadlines, retries and results.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import errno
import io
import os
import socket
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..results import DeliveryOutcome

EXCERPT = 200
"""Characters of an answer's body kept in a result."""
_READ_CAP = 64 * 1024
"""Bytes of an answer read at most: enough to see it end, never enough to fill memory."""
_APP_BASE = "http://aircore-mock.test/"
# An app's startup may connect to databases: more than one request's timeout, but bounded.
LIFESPAN_TIMEOUT = 30.0
_TRACE_LINES = 12


@dataclass(slots=True)  # one per delivery: a frozen dataclass takes ~3x longer to build
class Answer:
    """What a target answered: status, the start of the body, headers, an app's exception."""

    status: int
    body: bytes
    headers: Mapping[str, str]
    app_error: str | None = None
    resent: bool = False
    """Sent a second time on a new connection (see `AiohttpTransport.post`)."""


class TransportFailure(Exception):
    """No answer: `outcome` says which kind of failure, the message says what happened.

    The constructors below word each failure once, as people write them, for the real
    transports and the scripted one alike (a test reads the same words as a user)."""

    def __init__(self, outcome: DeliveryOutcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome

    @classmethod
    def unresolved(cls, host: str) -> TransportFailure:
        """The host name has no address (a DNS lookup failed)."""
        return cls(DeliveryOutcome.UNREACHABLE, f"cannot resolve host {host!r}")

    @classmethod
    def refused(cls, address: str) -> TransportFailure:
        """Nothing listens at `address` ("host:port")."""
        return cls(DeliveryOutcome.UNREACHABLE, f"connection refused by {address}")

    @classmethod
    def unreachable(cls, address: str, reason: str) -> TransportFailure:
        """No connection to `address` ("host:port") for another `reason`."""
        return cls(DeliveryOutcome.UNREACHABLE, f"cannot connect to {address}: {reason}")

    @classmethod
    def cut_off(cls, detail: str = "") -> TransportFailure:
        """The connection closed before the whole answer came."""
        more = f" ({detail})" if detail else ""
        return cls(DeliveryOutcome.ERROR, f"connection closed mid-response{more}")


class Transport(Protocol):
    """One target, reached on the engine's loop."""

    async def open(self) -> None:
        """Get ready (an app's lifespan startup); called before the first post of a send."""

    async def post(self, body: bytes, headers: Mapping[str, str] | None = None) -> Answer:
        """POST one callback (with `headers` over the transport's own, for this request
        only); the engine bounds the whole call with its deadline."""

    async def aclose(self) -> None:
        """Release connections (an app's lifespan shutdown, whose error is raised)."""


def trimmed_traceback(exc: BaseException) -> str:
    """The last lines of an exception's traceback: where a test author looks first."""
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).splitlines()
    if len(lines) > _TRACE_LINES:
        lines = ["Traceback (most recent call last, trimmed):", *lines[-(_TRACE_LINES - 1) :]]
    return "\n".join(lines)


# --- URLs: aiohttp ----------------------------------------------------------------------


_IDLE = 0.1  # seconds a pooled connection rests before it is checked for a close

# Set by the connector for the request in hand (same task, same context): did it get a
# pooled connection that had carried a request before?
_reused: contextvars.ContextVar[bool] = contextvars.ContextVar("aircore_mock_reused", default=False)


def _closed_by_peer(connection: Any) -> bool:
    """Whether the receiver has closed (or written to) an idle pooled connection: its FIN
    may sit in the kernel before the event loop has read it. A peek, not a read."""
    transport = connection.transport
    raw = transport.get_extra_info("socket") if transport is not None else None
    if raw is None:
        return False
    sock = socket.socket(fileno=raw.fileno())  # a view of the same descriptor, detached below
    try:
        sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        return True  # its end of stream, or bytes nobody asked for: not one to send on
    except BlockingIOError:
        return False  # nothing to read: alive and quiet, as an idle connection should be
    except OSError:
        return True
    finally:
        sock.detach()


def _connector(**options: Any) -> Any:
    """An aiohttp connector that drops pooled connections the receiver has closed, and notes
    per request whether its connection was reused.

    (aiohttp's trace signals can say so too, but cost a fifth of a request's CPU.)
    """
    import aiohttp

    class Connector(aiohttp.TCPConnector):
        async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
            while True:
                connection = await super().connect(req, traces, timeout)
                protocol = connection.protocol
                now = time.monotonic()
                # When it last carried a request, noted on the connection's own protocol
                # object (a weak mapping would cost a weakref per request).
                last = getattr(protocol, "_aircore_mock_used", None)
                # A connection in use a moment ago cannot hide a close the loop has not read;
                # one idle for a while can (a Sender's loop does not run between sends).
                if not (last is not None and now - last > _IDLE and _closed_by_peer(connection)):
                    break
                connection.close()  # closed while idle: never send on it
            if protocol is not None:
                _reused.set(last is not None)
                protocol._aircore_mock_used = now
            return connection

    return Connector(**options)


class AiohttpTransport:
    """POSTs to a URL with aiohttp; connections are pooled, up to `connections` at once."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        connections: int,
        verify: bool = True,
        keepalive: bool = True,
    ) -> None:
        self.url = url
        self.headers = dict(headers)
        self.connections = connections
        self.verify = verify
        self.keepalive = keepalive
        self._session: Any = None
        self._fresh: Any = None
        self._tls: Any = None
        self._aiohttp: Any = None

    def _make_session(self, force_close: bool) -> Any:
        import aiohttp

        connector = _connector(
            limit=self.connections, limit_per_host=0, force_close=force_close, ssl=self._ssl()
        )
        # No Accept-Encoding is auto-added: answers stay as they came (nothing decompresses
        # them), and skip_auto_headers would cost every request a header copy.
        headers = {"accept-encoding": "identity", **self.headers}
        return aiohttp.ClientSession(
            connector=connector,
            headers=headers,
            # Deadlines belong to the engine (the whole request, connect to last byte).
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=False,  # a compressed answer stays as small as it came
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    def _ssl(self) -> Any:
        if not self.url.startswith("https:"):
            return False
        if self._tls is None:
            if self.verify:
                self._tls = ssl.create_default_context()
            else:
                self._tls = False
        return self._tls

    async def open(self) -> None:
        if self._session is None:
            import aiohttp
            from yarl import URL

            self._aiohttp = aiohttp
            self._url = URL(self.url)  # parsed once: aiohttp would parse a string every time
            self._session = self._make_session(force_close=not self.keepalive)

    async def post(self, body: bytes, headers: Mapping[str, str] | None = None) -> Answer:
        _reused.set(False)
        try:
            return await self._post(self._session, body, headers)
        except _Stale as stale:
            exc = stale.__cause__
        # The receiver closed a reused connection before answering: almost always an idle
        # connection it closed just as our request went out (its close crossed our request),
        # so the request goes once more on a new connection and is not counted as a retry.
        # A receiver that read it and then dropped the connection sees it twice: the
        # answer's `resent` says so.
        if self._fresh is None:
            self._fresh = self._make_session(force_close=True)
        try:
            answer = await self._post(self._fresh, body, headers)
        except _Stale:
            raise _failure(exc) from None  # type: ignore[arg-type]
        answer.resent = True
        return answer

    async def _post(
        self, session: Any, body: bytes, headers: Mapping[str, str] | None = None
    ) -> Answer:
        aiohttp = self._aiohttp
        try:
            async with session.post(
                self._url,
                data=body,
                headers=_override(self.headers, headers) if headers else None,
                allow_redirects=False,
            ) as response:
                data = await response.content.read(_READ_CAP)  # usually all of it
                if data and len(data) < _READ_CAP:
                    more = bytearray(data)
                    while len(more) < _READ_CAP:
                        chunk = await response.content.read(_READ_CAP - len(more))
                        if not chunk:
                            break
                        more += chunk
                    data = bytes(more)
                return Answer(response.status, data, response.headers)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            if _reused.get() and not isinstance(exc, aiohttp.ClientConnectorError):
                raise _Stale from exc
            raise _failure(exc) from None
        except aiohttp.ClientError as exc:
            raise _failure(exc) from None
        except ValueError as exc:  # e.g. a header value aiohttp refuses to send
            raise TransportFailure(DeliveryOutcome.ERROR, f"bad request: {exc}") from None

    async def aclose(self) -> None:
        for session in (self._session, self._fresh):
            if session is not None:
                await session.close()
        self._session = self._fresh = None


class _Stale(Exception):
    """A reused connection was closed before any answer came (raised from aiohttp's error)."""


def _override(
    defaults: Mapping[str, str], headers: Mapping[str, str] | None
) -> dict[str, str] | None:
    """A request's own headers over the defaults, names compared without case; each name as
    the request spells it (a contract sends `content-type` and `Content-Type` both)."""
    if not headers:
        return None
    given = {name.lower() for name in headers}
    merged = {name: value for name, value in defaults.items() if name.lower() not in given}
    merged.update(headers)
    return merged


def _failure(exc: BaseException) -> TransportFailure:
    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorError):
        return _connect_failure(exc)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return TransportFailure.cut_off(str(exc) or type(exc).__name__)
    if isinstance(exc, aiohttp.ClientOSError):
        return TransportFailure.cut_off(exc.strerror or str(exc) or type(exc).__name__)
    if isinstance(exc, aiohttp.ClientResponseError):
        return TransportFailure(DeliveryOutcome.ERROR, f"not an HTTP answer: {exc.message}")
    return TransportFailure(DeliveryOutcome.ERROR, f"{type(exc).__name__}: {exc}")


# A name lookup's failures (getaddrinfo's codes): the host has no address, as far as we can
# tell. os.strerror() does not know these codes ("Unknown error -2"), hence the words here.
_LOOKUP_FAILURES = {
    getattr(socket, name)
    for name in ("EAI_NONAME", "EAI_NODATA", "EAI_AGAIN", "EAI_FAIL", "EAI_ADDRFAMILY")
    if hasattr(socket, name)
}


def _connect_failure(exc: Any) -> TransportFailure:
    """No connection, worded as people write it: which host, and what stood in the way."""
    import aiohttp

    host, port = exc.host, exc.port
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    error = exc.os_error
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or (
        isinstance(error, socket.gaierror) and error.errno in _LOOKUP_FAILURES
    ):
        return TransportFailure.unresolved(host)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = getattr(exc.certificate_error, "verify_message", None) or exc.certificate_error
        return TransportFailure.unreachable(address, f"TLS certificate not accepted ({reason})")
    if isinstance(exc, aiohttp.ClientSSLError):
        return TransportFailure.unreachable(address, f"TLS failed ({error})")
    if error.errno == errno.ECONNREFUSED:
        return TransportFailure.refused(address)
    if error.errno == errno.ETIMEDOUT or isinstance(error, TimeoutError):
        return TransportFailure.unreachable(address, "the connection timed out")
    if isinstance(error, socket.gaierror):
        return TransportFailure.unreachable(address, error.strerror or str(error))
    reason = os.strerror(error.errno) if error.errno else (error.strerror or str(error))
    return TransportFailure.unreachable(address, reason[:1].lower() + reason[1:])


# --- ASGI apps: called on the engine's loop ---------------------------------------------


class AsgiTransport:
    """Calls an ASGI app in-process, on the engine's loop, with its lifespan.

    The answer counts once its last body chunk is sent, as a server would see it: work an app
    does after answering (Starlette's background tasks) goes on without holding the delivery
    (httpx's ASGITransport waits for the whole app call, so it is not used here). An
    exception the app raises, before or just after answering (error middleware answers 500
    and re-raises), travels with the answer.
    """

    def __init__(
        self, app: Any, headers: Mapping[str, str], *, path: str = "/", lifespan: bool = True
    ) -> None:
        self.app = app
        self.lifespan = lifespan
        self.path = "/" + path.lstrip("/")
        self.headers = dict(headers)
        self._headers = _raw_headers(self.headers)
        self._manager: Any = None
        self._ready: Any = None
        self._after: set[asyncio.Task[None]] = set()  # apps still working after answering

    async def open(self) -> None:
        if self._ready is not None:
            return
        app = self.app
        if self.lifespan:
            self._manager = await _start_lifespan(app, LIFESPAN_TIMEOUT)
            if self._manager is not None:
                app = self._manager.app  # the app with its lifespan state
        self._ready = app

    async def post(self, body: bytes, headers: Mapping[str, str] | None = None) -> Answer:
        path, _, query = self.path.partition("?")
        raw = self._headers if not headers else _raw_headers(_override(self.headers, headers))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [*raw, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 49152),
            "server": ("aircore-mock.test", 80),
        }
        answered = asyncio.Event()
        start: dict[str, Any] = {}
        data = bytearray()
        request = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if request:
                return request.pop()
            await answered.wait()  # the client stays until the answer is complete
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body" and not answered.is_set():
                if len(data) < _READ_CAP:
                    data.extend(message.get("body", b"")[: _READ_CAP - len(data)])
                if not message.get("more_body", False):
                    answered.set()

        call = asyncio.ensure_future(self._ready(scope, receive, send))
        waiting = asyncio.ensure_future(answered.wait())
        try:
            await asyncio.wait([call, waiting], return_when=asyncio.FIRST_COMPLETED)
            await asyncio.sleep(0)  # an error middleware re-raises right after its 500
        except asyncio.CancelledError:  # the deadline, or a stop: the client goes away
            call.cancel()
            raise
        finally:
            waiting.cancel()
        if not call.done():
            self._after.add(call)  # working after answering: not our business any more
            call.add_done_callback(self._after_done)
            return Answer(start.get("status", 200), bytes(data), _headers_of(start))
        error = None if call.cancelled() else call.exception()
        app_error = trimmed_traceback(error) if error is not None else None
        if not answered.is_set() and not start:
            if error is None:
                raise TransportFailure(DeliveryOutcome.ERROR, "the app returned without an answer")
            return Answer(500, b"", {}, app_error)  # as a server answers for a crashed app
        return Answer(start.get("status", 200), bytes(data), _headers_of(start), app_error)

    def _after_done(self, task: asyncio.Task[None]) -> None:
        self._after.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: an app's background failure is its own to log

    async def aclose(self) -> None:
        # As a server shuts down: work the app does after answering may finish (bounded).
        if self._after:
            await asyncio.wait(set(self._after), timeout=LIFESPAN_TIMEOUT)
        for task in list(self._after):
            task.cancel()
        manager, self._manager, self._ready = self._manager, None, None
        if manager is not None:
            await _stop_lifespan(manager)


def _raw_headers(headers: Mapping[str, str] | None) -> list[tuple[bytes, bytes]]:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    return [*raw, (b"host", _APP_BASE.split("/")[2].encode())]


def _headers_of(start: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", ())}


async def _start_lifespan(app: Any, timeout: float) -> Any:
    from asgi_lifespan import LifespanManager, LifespanNotSupported

    manager = LifespanManager(
        _auto_lifespan(app), startup_timeout=timeout, shutdown_timeout=timeout
    )
    try:
        await manager.__aenter__()
    except LifespanNotSupported:
        return None  # an app that only speaks HTTP: nothing to start
    except TimeoutError:
        message = f"the app did not finish its lifespan startup within {timeout:g} s"
        raise TimeoutError(message) from None
    return manager


async def _stop_lifespan(manager: Any) -> None:
    try:
        await manager.__aexit__(None, None, None)
    except TimeoutError:
        message = (
            f"the app did not finish its lifespan shutdown within {manager.shutdown_timeout:g} s"
        )
        raise TimeoutError(message) from None


def _auto_lifespan(app: Any) -> Any:
    """The app, with uvicorn's "auto" reading of its lifespan.

    An app that returns or raises before it answers the startup message does not support
    lifespan (it may skip non-HTTP scopes, or treat every scope as HTTP): it is used without
    one. Only an app that says `lifespan.startup.failed` has a startup that failed.
    """
    from asgi_lifespan import LifespanNotSupported

    async def auto(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        answered = False

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal answered
            if message["type"] in ("lifespan.startup.complete", "lifespan.startup.failed"):
                answered = True
            await send(message)

        try:
            await app(scope, receive, tracked)
        except Exception as exc:
            if answered:
                raise
            raise LifespanNotSupported("the app failed its lifespan scope") from exc
        if not answered:
            raise LifespanNotSupported("the app returned from its lifespan scope")

    return auto


# --- WSGI apps: httpx's WSGITransport in worker threads ---------------------------------


class WsgiTransport:
    """Calls a WSGI app in a thread per call, so the loop never blocks on it.

    Daemon threads, not a pool: an app that hangs past its deadline is left behind without
    delaying the deliveries after it, or the interpreter's exit.
    """

    def __init__(self, app: Any, headers: Mapping[str, str], *, path: str = "/") -> None:
        self.app = app
        self.headers = dict(headers)
        self.url = _APP_BASE + path.lstrip("/")
        self._raised = threading.local()
        self._flask_signal: Any = None

    async def open(self) -> None:
        if self._flask_signal is None:
            self._watch_flask()

    def _watch_flask(self) -> None:
        # Flask turns an exception into a 500 itself and only logs it (where, depends on the
        # app's logging); its got_request_exception signal is where the exception is seen.
        flask = sys.modules.get("flask")
        if flask is None or not isinstance(self.app, flask.Flask):
            return
        flask.got_request_exception.connect(self._on_flask_exception, self.app, weak=False)
        self._flask_signal = flask.got_request_exception

    def _on_flask_exception(self, sender: Any, exception: BaseException, **extra: Any) -> None:
        seen = getattr(self._raised, "seen", None)
        if seen is not None:
            seen.append(exception)

    async def post(self, body: bytes, headers: Mapping[str, str] | None = None) -> Answer:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Answer] = loop.create_future()

        def settle(outcome: Any, failed: bool) -> None:
            if not answer.done():  # not given up on (a deadline, a stop)
                (answer.set_exception if failed else answer.set_result)(outcome)

        def call() -> None:
            try:
                outcome, failed = self._call(body, headers), False
            except BaseException as exc:  # Ctrl-C raised in the app included: the loop decides
                outcome, failed = exc, True
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(settle, outcome, failed)

        threading.Thread(target=call, daemon=True, name="aircore-mock wsgi").start()
        return await answer

    def _call(self, body: bytes, headers: Mapping[str, str] | None = None) -> Answer:
        import httpx

        errors = io.StringIO()  # where some apps log the exception behind a 500
        raised: list[BaseException] = []
        self._raised.seen = raised
        transport = httpx.WSGITransport(
            app=_answer_500_on_error(self.app, raised), wsgi_errors=errors
        )
        try:
            sent = _override(self.headers, headers) or self.headers
            request = httpx.Request("POST", self.url, content=body, headers=sent)
            response = transport.handle_request(request)
        except Exception as exc:
            raise TransportFailure(DeliveryOutcome.ERROR, f"{type(exc).__name__}: {exc}") from None
        try:
            data = bytearray()
            for chunk in response.iter_raw():
                data += chunk
                if len(data) >= _READ_CAP:
                    break
        finally:
            response.close()
        app_error = None
        if raised:
            app_error = trimmed_traceback(raised[0])
        elif response.status_code >= 500 and errors.getvalue().strip():
            app_error = _last_lines(errors.getvalue())
        return Answer(response.status_code, bytes(data), response.headers, app_error)

    async def aclose(self) -> None:
        signal, self._flask_signal = self._flask_signal, None
        if signal is not None:
            signal.disconnect(self._on_flask_exception, self.app)


def _last_lines(text: str) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[-_TRACE_LINES:])


def _answer_500_on_error(app: Any, raised: list[BaseException]) -> Any:
    # A receiver that raises is a receiver that answers 500, as it would behind a real server.
    def guarded(environ: dict[str, Any], start_response: Any) -> Any:
        try:
            return app(environ, start_response)
        except Exception as exc:
            raised.append(exc)
            start_response("500 Internal Server Error", [("content-type", "text/plain")])
            return [f"the app raised {type(exc).__name__}: {exc}".encode()]

    return guarded
