"""The capture server's HTTP/1.1: httptools' parser on an asyncio protocol, no ASGI between.

Why not uvicorn, as the other servers use: filing a callback is synchronous work (parse,
judge, record, queue a line), so it is done as the request's last byte is parsed, and the
answer written at once. An ASGI server spends a task, a request cycle object, several
message dicts and awaits on each request before the app even runs: behind uvicorn the
capture endpoint served ~0.55-0.64x the requests of a bare uvicorn app answering 204, and
on this protocol ~1.4x (`benchmarks/bench_receive.py`). httptools does the HTTP parsing
(chunked bodies, pipelining, keep-alive rules); this module keeps to framing the answers.

The same `Limits` hold as on every server of the project: a time limit on a request's
head and body, a cap on the head's size and on open connections (503 beyond it). Idle
kept-alive connections close after `Limits.keep_alive` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import signal
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from ..errors import AircoreMockError
from ..server import (
    DeadlineSweeper,
    HeadCount,
    Limits,
    ListeningServer,
    Refusals,
    quiet_accept_errors,
)
from .endpoint import CaptureRules, Reply
from .inspector import PREFIX as _UI

_GRACE = 2.0  # seconds a request being received at shutdown gets to finish
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_FAILED = Reply(500, ((b"content-type", b"text/plain; charset=utf-8"),), b"the receiver failed\n")


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")


def _refusal(status: int) -> bytes:
    # the Date (RFC 9110 6.6.1: a MUST on 4xx) and the blank line are added by `_refuse`
    return _status_line(status) + b"content-length: 0\r\nconnection: close\r\n"


_400, _408, _431, _503 = (_refusal(s) for s in (400, 408, 431, 503))


class _Clock:
    """The Date header, formatted once a second rather than once a request."""

    def __init__(self) -> None:
        self._second = -1
        self._date = b""

    def date(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._date = b"date: " + email.utils.formatdate(now, usegmt=True).encode() + b"\r\n"
        return self._date


class _Shared:
    """What every connection of one server reads: the rules, the limits, the open
    connections and the one deadline sweeper they share."""

    def __init__(self, rules: CaptureRules, limits: Limits, refusals: Refusals) -> None:
        self.rules = rules
        self.limits = limits
        self.refusals = refusals
        self.max_connections = limits.connections
        self.connections: set[CaptureProtocol] = set()
        self.clock = _Clock()
        self.closing = False
        self.sweeper = DeadlineSweeper(limits)
        self._answers: dict[bool, bytes] = {}  # the callbacks' answer, by `close`

    def render(self, answer: Reply, close: bool) -> bytes:
        """An answer's bytes on the wire (the callbacks' answer is made once, but its Date)."""
        common = answer is self.rules.answer
        head = self._answers.get(close) if common else None
        if head is None:
            lines = [_status_line(answer.status)]
            lines += [name + b": " + value + b"\r\n" for name, value in answer.head()]
            if close:
                lines.append(b"connection: close\r\n")
            head = b"".join(lines)
            if common:
                self._answers[close] = head
        return head + self.clock.date() + b"\r\n" + answer.body


class CaptureProtocol(HeadCount, asyncio.Protocol):
    """One client connection: requests parsed by httptools, each answered as it ends."""

    def __init__(self, shared: _Shared) -> None:
        self.shared = shared
        self.deadline = 0.0
        """When the request being read must be in, the idle connection closes, or a closed
        one whose answers the client never read is aborted (0: none)."""
        self.transport: Any = None
        self._parser: Any = None
        self._idle = False
        self._closed = False
        self._url = b""
        self._headers: dict[str, str] = {}
        self._first = b""  # a body's first chunk (often all of it) and the rest, if any
        self._rest: bytearray | None = None
        self._size = 0
        self._early: Reply | None = None
        self._upgrade = False
        self._upgrade_headers: dict[str, str] | None = None  # as sent, for the re-parsed one
        self._method = ""
        self._path = ""
        self._waiting = 0  # answers awaited (from the app when forwarding, or a replay)
        self._ui = False  # the request is the inspector's (`receive --ui`)
        self._stream: Any = None  # the inspector's event stream this connection carries
        self._forwarding: asyncio.Task[None] | None = None  # the last of them

    # --- the connection ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        import httptools

        self.transport = transport
        shared = self.shared
        if shared.closing:
            self._refuse(_503)
            return
        if len(shared.connections) >= shared.max_connections:
            shared.refusals.connections += 1
            self._refuse(_503)
            return
        shared.connections.add(self)
        self._parser = httptools.HttpRequestParser(self)
        self.deadline = time.monotonic() + shared.limits.header_timeout
        shared.sweeper.watch(shared.connections, asyncio.get_running_loop())

    def connection_lost(self, exc: Exception | None) -> None:
        if self._stream is not None:
            self.shared.rules.inspector.close_stream(self._stream)  # type: ignore[union-attr]
            self._stream = None
        self._closed = True
        self.deadline = 0.0
        self.shared.connections.discard(self)
        self._parser = None

    def pause_writing(self) -> None:
        # A client that sends and never reads its answers: stop reading it until it does.
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return  # closing: what it still sends is read and dropped
        import httptools

        while True:
            self._boundary = self._fed_body = False
            try:
                self._parser.feed_data(data)
                break
            except httptools.HttpParserUpgrade as upgrade:
                rest = data[upgrade.args[0] :]
            except httptools.HttpParserError:
                if not self._closed:
                    self._refuse(_400)
                return
            if self._closed:
                return
            # A loop, not a call: a read of pipelined upgrade requests must not recurse.
            data = self._without_upgrade(rest)
        if not self._closed and self._read_over_cap(data, self.shared.limits.max_head):
            self._too_large_head()

    def _without_upgrade(self, rest: bytes) -> bytes:
        # A request asking to switch protocols (`Upgrade: h2c`, which curl --http2 sends):
        # httptools stops at its head, so it is parsed again without the upgrade, its body
        # with it, as RFC 9110 7.8 lets a server that ignores Upgrade do.
        import httptools

        head = [f"{self._method} ".encode("latin-1") + self._url]
        head.append(f" HTTP/{self._parser.get_http_version()}\r\n".encode("latin-1"))
        for name, value in self._headers.items():
            if name == "connection":
                # Only the "upgrade" option goes: "close" and "keep-alive" still hold.
                options = [o for o in value.split(",") if o.strip().lower() != "upgrade"]
                value = ",".join(options).strip()
                if not value:
                    continue
            head.append(f"{name}: {value}\r\n".encode("latin-1"))
        self._upgrade_headers = self._headers  # filed as sent
        self._parser = httptools.HttpRequestParser(self)
        self._idle = True  # as a kept-alive connection's next request: the deadline restarts
        return b"".join(head) + b"\r\n" + rest

    def expire(self) -> None:
        """The deadline passed: close an idle connection, cut off a request too slow, abort a
        closed connection whose client never read its answers."""
        self.deadline = 0.0
        if self._waiting and not self._closed:  # the app is answering: its own deadline runs
            self.deadline = time.monotonic() + self.shared.limits.keep_alive
            return
        if self._closed:
            self.transport.abort()
        elif self._idle:
            self._close()
        elif self._in_body:
            self.shared.refusals.body_timeouts += 1
            self._close()  # the request never arrived in full: nothing to answer, not filed
        else:
            self.shared.refusals.header_timeouts += 1
            self._refuse(_408)

    def close_if_idle(self) -> bool:
        """Close the connection if no request is being received (a server shutting down)."""
        if self._stream is not None:
            self.transport.close()
            return True
        if self._waiting:
            return False
        if self._idle or (self._reading_head and not self._head_bytes and not self._url):
            self._close()
        return self._closed

    def _too_large_head(self) -> None:
        self.shared.refusals.large_heads += 1
        self._refuse(_431)

    def _refuse(self, answer: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(answer + self.shared.clock.date() + b"\r\n")
        self._close()

    def _close(self, linger: bool = False) -> None:
        self._closed = True
        # Closing waits for the answers to go out; a client that never reads them would hold
        # its connection (and a descriptor) for ever, so it is aborted after a while.
        self.deadline = time.monotonic() + self.shared.limits.keep_alive
        if linger and self.transport.can_write_eof() and not self.transport.is_closing():
            # Our side is done, but the client is still sending a body we refused (413):
            # what it sends is read and dropped until it closes or the deadline, so that it
            # reads our answer rather than a reset (RFC 9112 9.6).
            self.transport.write_eof()
        else:
            self.transport.close()

    def _failed(self, exc: Exception) -> None:
        # An on_capture hook that raised: a server answers 500, and the error is logged.
        asyncio.get_running_loop().call_exception_handler(
            {"message": "aircore-mock: filing a request failed", "exception": exc}
        )
        self._answer(_FAILED, close=True)

    # --- httptools' callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._idle:  # a kept-alive connection's next request; the first one's counts
            self.deadline = time.monotonic() + self.shared.limits.header_timeout  # from connect
        self._idle = False
        self._reading_head, self._head_bytes, self._head_size = True, 0, 0
        self._url, self._headers, self._early, self._upgrade = b"", {}, None, False
        self._first, self._rest, self._size = b"", None, 0
        self._ui = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_size += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if not self._reading_head:
            # A chunked body's trailer fields: not merged into the headers (RFC 9110 6.5.1),
            # and bounded as a head is.
            if self._head_size > self.shared.limits.max_head and not self._closed:
                self._too_large_head()
            return
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if self._closed:
            return
        import httptools

        self._reading_head, self._in_body, self._quiet = False, True, False
        if self._upgrade_headers is not None:
            self._headers, self._upgrade_headers = self._upgrade_headers, None
        if self._head_size > self.shared.limits.max_head:
            self._too_large_head()
            return
        parser = self._parser
        self.deadline = time.monotonic() + self.shared.limits.body_timeout
        self._method = parser.get_method().decode("latin-1")
        if parser.should_upgrade():
            if self._method == "CONNECT" or "upgrade" not in self._headers:
                self._refuse(_400)  # a tunnel: nothing a callback endpoint serves
                return
            self._upgrade = True  # parsed again without it (see _without_upgrade)
            return
        path = httptools.parse_url(self._url).path.decode("latin-1") if self._url else "/"
        self._path = unquote(path) if "%" in path else path
        expects = "expect" in self._headers and parser.get_http_version() != "1.0"
        if self.shared.rules.inspector is not None and self._path.startswith(_UI):
            self._ui = True  # the inspector's: its body is read, then `_inspect` answers
            if expects and self._headers["expect"].lower() == "100-continue":
                self.transport.write(_CONTINUE)
            return
        try:
            self._early = self.shared.rules.refuse(self._method, self._path, self._headers)
        except Exception as exc:
            self._failed(exc)
            return
        if self._early is not None:
            # Answered at once; a body that follows is read and dropped. The connection ends
            # when the body is not wanted at all (413), or will not come (a client waiting
            # for 100-continue), or the client asked for it.
            close = (
                self._early.status == 413
                or expects
                or not parser.should_keep_alive()
                or self.shared.closing
            )
            self._answer(self._early, close=close, linger=self._body_follows())
        elif expects and self._headers["expect"].lower() == "100-continue":
            self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._quiet, self._fed_body, self._head_bytes = False, True, 0
        if self._closed or self._early is not None or self._upgrade:
            return  # refused already: what it sends is read and dropped
        self._size += len(body)
        if self._size > self.shared.rules.max_body and self._ui:
            self._answer(Reply(413), close=True)
        elif self._size > self.shared.rules.max_body:
            try:
                answer = self.shared.rules.too_large(self._method, self._path, self._headers)
            except Exception as exc:
                self._failed(exc)
                return
            self._answer(answer, close=True)
        elif not self._first:
            self._first = body
        elif self._rest is None:
            self._rest = bytearray(self._first) + body  # many small chunks: one buffer
        else:
            self._rest += body

    def on_message_complete(self) -> None:
        self._in_body = False
        self._reading_head, self._head_bytes, self._boundary = True, 0, True
        if self._closed or self._upgrade:
            return
        keep = self._parser.should_keep_alive() and not self.shared.closing
        if self._early is None:  # else answered when its head was in
            body = self._first if self._rest is None else bytes(self._rest)
            self._first, self._rest = b"", None
            if self._ui or self.shared.rules.forwarder is not None:
                if self._ui:
                    self._inspect(body, keep)
                else:
                    self._forward(body, keep)
                if keep and not self._closed:
                    self._idle = True
                    self.deadline = time.monotonic() + self.shared.limits.keep_alive
                return
            try:
                answer = self.shared.rules.callback(self._method, self._path, self._headers, body)
            except Exception as exc:
                self._failed(exc)
                return
            self._answer(answer, close=not keep)
        elif not keep:
            self._close()
        if keep and not self._closed:
            self._idle = True
            self.deadline = time.monotonic() + self.shared.limits.keep_alive

    def _forward(self, body: bytes, keep: bool) -> None:
        # Filed now; answered once the app has (in order: pipelined answers wait their turn).
        rules = self.shared.rules
        forwarder = rules.forwarder
        assert forwarder is not None
        try:
            capture = rules.file(self._method, self._path, self._headers, body)
        except Exception as exc:
            self._failed(exc)
            return

        def filed(reply: Reply) -> None:
            capture.status = reply.status
            rules.store.notify(capture)

        self._answer_later(forwarder.forward(capture), keep, filed)

    def _inspect(self, body: bytes, keep: bool) -> None:
        # The inspector's page, API or event stream (see inspector.py).
        import httptools

        inspector = self.shared.rules.inspector
        assert inspector is not None
        query = httptools.parse_url(self._url).query or b""
        try:
            answer = inspector.handle(
                self._method, self._path, query.decode("latin-1"), self._headers, body
            )
        except Exception as exc:
            self._failed(exc)
            return
        if isinstance(answer, Reply):
            self._answer(answer, close=not keep)
        elif answer == "stream":
            head = (
                _status_line(200)
                + b"content-type: text/event-stream\r\ncache-control: no-store\r\n"
                + b"connection: close\r\n"
                + self.shared.clock.date()
                + b"\r\n"
            )
            self.transport.write(head)
            self._closed = True  # nothing more is read; the stream ends when the page leaves
            self.deadline = 0.0
            self._stream = inspector.open_stream(self.transport.write)
        else:
            self._answer_later(answer, keep)  # type: ignore[arg-type]

    def _answer_later(
        self,
        answer: Any,
        keep: bool,
        then: Callable[[Reply], None] | None = None,
    ) -> None:
        # An answer to wait for: written in its turn (pipelined answers keep their order).
        previous, self._waiting = self._forwarding, self._waiting + 1
        if not keep:
            self._closed = True  # nothing more is read; the answer still goes out

        async def write() -> None:
            try:
                reply = await answer
            except Exception as exc:
                why = f"{type(exc).__name__}: {exc}"
                reply = Reply(502, ((b"content-type", b"text/plain"),), why.encode() + b"\n")
            if previous is not None:
                with contextlib.suppress(BaseException):
                    await previous
            self._waiting -= 1
            if then is not None:
                try:
                    then(reply)
                except Exception as exc:
                    asyncio.get_running_loop().call_exception_handler(
                        {"message": "aircore-mock: filing a request failed", "exception": exc}
                    )
            if not self.transport.is_closing():
                self.transport.write(self.shared.render(reply, not keep))
                if not keep:
                    self.deadline = time.monotonic() + self.shared.limits.keep_alive
                    self.transport.close()

        self._forwarding = asyncio.get_running_loop().create_task(write())

    def _body_follows(self) -> bool:
        headers = self._headers
        return "transfer-encoding" in headers or headers.get("content-length", "0") != "0"

    def _answer(self, answer: Reply, close: bool, linger: bool | None = None) -> None:
        data = self.shared.render(answer, close)
        if self._method == "HEAD" and answer.body:  # its length, never its body
            data = data[: -len(answer.body)]
        self.transport.write(data)
        if close:
            self._close(linger=self._in_body if linger is None else linger)


def _restore_signals(loop: asyncio.AbstractEventLoop, installed: list[tuple[int, Any]]) -> None:
    """Hand the signals back to the handlers they had (one swap each: no moment without)."""
    for number, previous in installed:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(number, previous if previous is not None else signal.SIG_DFL)


class CaptureServer(ListeningServer):
    """The capture endpoint on `http://host:port` over `CaptureProtocol`, with `Limits`;
    in a background thread (`start`, `with`) or the foreground (`serve`)."""

    def __init__(
        self,
        rules: CaptureRules,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(host, port, rules.path, limits)
        self.rules = rules
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    async def _main(self, on_ready: Callable[[], None] | None, signals: bool) -> None:
        loop = asyncio.get_running_loop()
        self._loop, self._stop = loop, asyncio.Event()
        quiet_accept_errors()
        shared = _Shared(self.rules, self.limits, self.refusals)
        if self.rules.forwarder is not None:
            await self.rules.forwarder.start()
        server = await loop.create_server(
            lambda: CaptureProtocol(shared), sock=self._socket, backlog=self.limits.backlog
        )
        installed: list[tuple[int, Any]] = []
        if signals:
            # Python-level handlers, swapped in and out with signal.signal: the loop's own
            # (add_signal_handler) leave the default action in place for a moment when they
            # are removed, and a second SIGTERM then killed the process before its summary.
            def stop(signum: int, frame: Any) -> None:
                loop.call_soon_threadsafe(self._stop.set)  # type: ignore[union-attr]

            for number in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ValueError):  # (not the main thread)
                    installed.append((number, signal.signal(number, stop)))
        try:
            self._ready.set()
            if on_ready is not None:  # a thread: printing may block (a pipe nobody reads)
                threading.Thread(target=on_ready, daemon=True, name="aircore-mock ready").start()
            await self._stop.wait()
        finally:
            # The loop's handlers stay until the shutdown is done: a second Ctrl-C or
            # SIGTERM meanwhile only asks again for what is under way.
            try:
                await self._close(server, shared)
            finally:
                _restore_signals(loop, installed)

    async def _close(self, server: Any, shared: _Shared) -> None:
        shared.closing = True
        server.close()
        # Idle connections go now; a request being received gets a moment to end.
        deadline = time.monotonic() + _GRACE
        while shared.connections and time.monotonic() < deadline:
            for connection in list(shared.connections):
                connection.close_if_idle()
            await asyncio.sleep(0.05)  # poll: requests end at their own pace
        for connection in list(shared.connections):
            connection.transport.abort()
        await server.wait_closed()
        if self.rules.forwarder is not None:
            await self.rules.forwarder.close()

    def _run(self, on_ready: Callable[[], None] | None, signals: bool) -> None:
        try:
            asyncio.run(self._main(on_ready, signals))
        except BaseException as exc:  # reported by start(), which waits for readiness
            self._error = exc
            self._ready.set()

    def start(self, timeout: float = 10.0) -> CaptureServer:
        """Serve in a background thread; returns once it accepts requests."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(
            target=self._run, args=(None, False), daemon=True, name=f"aircore-mock {self.url}"
        )
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            self.stop()
            raise AircoreMockError(f"the server at {self.url} did not start: {self._error}")
        return self

    def serve(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM (or `shutdown()`)."""
        in_main = threading.current_thread() is threading.main_thread()
        try:
            asyncio.run(self._main(on_ready, in_main))
        except KeyboardInterrupt:
            pass  # a Ctrl-C that arrived outside the loop's handler: the same stop
        finally:
            self.close()

    def shutdown(self) -> None:
        """Ask the server to stop, without waiting (safe from any thread)."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(stop.set)
