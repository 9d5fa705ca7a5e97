"""`AsyncSender` runs the engine on the running loop; `Sender` and `send()` give synchronous
code the same, on a loop of their own (kept for the Sender's life, so that an ASGI app's
loop-bound state, such as a connection pool, survives from one send to the next)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import signal
import sys
import threading
import time
import warnings
import weakref
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypedDict

from ..errors import UsageError, number
from ..results import Report, Result
from .engine import MAX_BACKOFF, Engine, Options
from .targets import Kind, check_header_value, check_url, target_kind
from .transports import AiohttpTransport, AsgiTransport, Transport, WsgiTransport

if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # pragma: no cover
    from typing_extensions import Unpack


class SendOptions(TypedDict, total=False):
    """`AsyncSender`'s keyword arguments, for `Sender` and `send()`."""

    transport: Transport | None
    concurrency: int
    rate: float | None
    speed: float | None
    headers: Mapping[str, str] | None
    timeout: float
    retries: int
    backoff: float
    verify: bool
    path: str
    keepalive: bool
    lifespan: bool
    max_failures: int | None


MAX_CONCURRENCY = 10_000
"""Lanes a sender runs at once (each holds a connection): beyond this, a send would spend
its time and memory on lanes rather than deliveries."""
MAX_RETRIES = 100
"""Retries of one delivery (with backoff capped at 30 s each, 100 already span ~50 min)."""


class AsyncSender:
    """Sends deliveries to one target: per-recording order, concurrency across recordings.

    `target` is a URL, an ASGI app or a WSGI app; or, instead, `transport` is any `Transport`
    (a `ScriptedTransport` in tests), used as it is: `headers`, `verify`, `keepalive`,
    `path` and `lifespan` configure the transports a Sender builds itself. `timeout` bounds
    each attempt from connect to the last byte of the answer. `retries` retries connection
    errors, timeouts, 5xx and 429 with exponential backoff and full jitter (`backoff` seconds
    at first, at most 30 s), honouring `Retry-After` up to 60 s. `max_failures` gives up on
    a target once that many deliveries in a row got no answer at all. `rate` caps deliveries
    per second; `speed` replays `Delivery.offset_ms` scaled. An app target takes callbacks
    at `path`, with its lifespan run around the sends (`lifespan`). Inputs may be iterables
    (even blocking ones,
    such as a pipe) or async iterables.
    """

    def __init__(
        self,
        target: Any = None,
        *,
        transport: Transport | None = None,
        concurrency: int = 1,
        rate: float | None = None,
        speed: float | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        retries: int = 0,
        backoff: float = 0.5,
        verify: bool = True,
        path: str = "/",
        keepalive: bool = True,
        lifespan: bool = True,
        max_failures: int | None = None,
    ) -> None:
        # Checked here, by name: a NaN or an infinity would wait for ever, a float count or a
        # million lanes would misbehave far from where it was given.
        number("concurrency", concurrency, low=1, high=MAX_CONCURRENCY, integer=True)
        for name, value in (("rate", rate), ("speed", speed)):
            if value is not None:
                number(name, value, above=0)
        number("timeout", timeout, above=0)
        number("retries", retries, low=0, high=MAX_RETRIES, integer=True)
        number("backoff", backoff, low=0, high=MAX_BACKOFF)
        if max_failures is not None:
            number("max_failures", max_failures, low=1, integer=True)
        if headers is not None and not isinstance(headers, Mapping):
            raise UsageError(f"headers must be a mapping of names to values, got {headers!r}")
        self.kind: Kind
        if transport is not None:
            if headers:  # they would be silently lost: the transport sends its own
                raise UsageError("headers belong to the transport when one is given")
            # A target beside a transport only names it (in reports), as httpx's base_url.
            self.kind = "transport" if target is None else target_kind(target)
        elif target is None:
            raise UsageError("a send needs a target (a URL, an ASGI or WSGI app) or a transport")
        else:
            self.kind = target_kind(target)
        self.target = check_url(target) if self.kind == "url" else target
        self.headers = {"content-type": "application/json", "user-agent": "aircore-mock"}
        for name, value in (headers or {}).items():
            check_header_value(name, value)
            self.headers[name.lower()] = value
        self.options = Options(concurrency, rate, speed, timeout, retries, backoff, max_failures)
        self.verify, self.path, self.keepalive, self.lifespan = verify, path, keepalive, lifespan
        self._transport: Transport | None = transport
        self._given = transport
        self._engines: set[Engine] = set()

    def _make_transport(self) -> Transport:
        if self._given is not None:
            return self._given  # reused after a close, as a built one is rebuilt
        if self.kind == "url":
            return AiohttpTransport(
                self.target,
                self.headers,
                connections=self.options.concurrency,
                verify=self.verify,
                keepalive=self.keepalive,
            )
        if self.kind == "asgi":
            return AsgiTransport(self.target, self.headers, path=self.path, lifespan=self.lifespan)
        return WsgiTransport(self.target, self.headers, path=self.path)

    async def send(
        self,
        deliveries: Iterable[Any] | AsyncIterable[Any],
        *,
        keep_results: bool = True,
        on_result: Callable[[Result], None] | None = None,
    ) -> Report:
        """Send everything; return the report (with every result unless keep_results=False).

        Every delivery taken from the input gets exactly one result; after `stop()` the rest
        are `not-sent` (all of a list; of a lazy input, what was already taken from it).
        """
        if self._transport is None:
            self._transport = self._make_transport()
        report = Report()
        started = time.perf_counter()

        def emit(result: Result) -> None:
            report.add(result, keep_results)
            if on_result is not None:
                on_result(result)

        engine = Engine(self._transport, self.options, emit)
        self._engines.add(engine)
        try:
            await engine.run(deliveries)
        finally:
            self._engines.discard(engine)
            report.elapsed_s = time.perf_counter() - started
            report.interrupted, report.gave_up = engine.stopping, engine.gave_up
        return report

    def stop(self, now: bool = False) -> None:
        """Stop the sends in progress (on the loop's thread): the requests in flight finish,
        or with `now` are abandoned; everything else is reported as `not-sent`."""
        for engine in list(self._engines):
            engine.stop(now)

    async def aclose(self) -> None:
        """Close connections (and run an app's lifespan shutdown, whose error is raised)."""
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.aclose()

    async def __aenter__(self) -> AsyncSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class Sender:
    """`AsyncSender` for synchronous code: `with Sender(url) as s: report = s.send(...)`.

    Takes `AsyncSender`'s arguments (and exposes them: `sender.options`, `sender.kind`, ...).
    While a send runs in the main thread, `stop_signals` (Ctrl-C) stop it at once; the report
    still has one result per delivery.
    """

    def __init__(
        self,
        target: Any = None,
        *,
        stop_signals: Sequence[int] = (signal.SIGINT,),
        **options: Unpack[SendOptions],
    ) -> None:
        self._sender = AsyncSender(target, **options)
        self.stop_signals = tuple(stop_signals)
        self.signalled = False
        """A stop signal came during one of its sends (and stopped it): a caller making several
        sends in a row (the contract's clauses, fuzz's requests) stops too."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._finalizer: Any = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._sender, name)  # target, kind, options, headers, path, ...

    def _ready(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = _new_loop()
            self._finalizer = weakref.finalize(self, _close, self._loop, self._sender, True)
        return self._loop

    def send(
        self,
        deliveries: Iterable[Any] | AsyncIterable[Any],
        *,
        keep_results: bool = True,
        on_result: Callable[[Result], None] | None = None,
    ) -> Report:
        """`AsyncSender.send`, run to the end. From a thread that runs an event loop (async
        code), the send runs in a worker thread of this Sender (one thread cannot run two
        loops), where Ctrl-C cannot reach it: prefer `AsyncSender` there."""
        if _loop_running():
            work = self._worker().submit(
                self.send, deliveries, keep_results=keep_results, on_result=on_result
            )
            return work.result()
        loop = self._ready()
        sending = self._sender.send(deliveries, keep_results=keep_results, on_result=on_result)
        task = loop.create_task(sending)
        with _stop_on_signals(loop, self, self.stop_signals):
            while True:
                try:
                    return loop.run_until_complete(task)
                except KeyboardInterrupt:
                    # Ctrl-C raised in Python code (an app's thread), not through the loop.
                    if task.done():
                        raise
                    self._sender.stop(now=True)

    def stop(self, now: bool = False) -> None:
        """Stop the current send; safe from any thread (see `AsyncSender.stop`)."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nothing left to stop
                self._loop.call_soon_threadsafe(self._sender.stop, now)

    def close(self) -> None:
        """Close connections and shut an ASGI app down (its error is raised); idempotent.

        Also done when the Sender is garbage-collected, but then errors are swallowed.
        """
        if _loop_running() and self._pool is not None:
            self._pool.submit(self.close).result()  # where the sends ran
            return
        loop, self._loop = self._loop, None
        if self._finalizer is not None:
            self._finalizer.detach()
        if loop is not None:
            _close(loop, self._sender, False)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def _worker(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, "aircore-mock sender")
        return self._pool

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # faster, when the user has it
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


def _close(loop: asyncio.AbstractEventLoop, sender: AsyncSender, quietly: bool) -> None:
    if loop.is_closed():
        return
    try:
        loop.run_until_complete(sender.aclose())
    except Exception:
        if not quietly:
            raise
    finally:
        # Whatever an app left running (a startup cut short, a hung handler) goes first.
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            with contextlib.suppress(BaseException):
                loop.run_until_complete(asyncio.wait(pending, timeout=5))
        loop.close()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@contextlib.contextmanager
def _stop_on_signals(
    loop: asyncio.AbstractEventLoop, owner: Sender, signals: Sequence[int]
) -> Iterator[None]:
    """In the main thread, these signals stop the send at once, through the loop, so that no
    delivery is lost to an exception raised at a random point; `owner.signalled` says one
    came (a send that had ended by then shows nothing else of it)."""
    sender = owner._sender
    installed: list[tuple[int, Any]] = []
    if threading.current_thread() is threading.main_thread():
        # Python-level handlers, swapped in and out with signal.signal: the loop's own
        # (add_signal_handler) leave the default action in place for a moment when removed,
        # and a SIGTERM then killed the process between two sends.
        def stop(signum: int, frame: Any) -> None:
            owner.signalled = True
            loop.call_soon_threadsafe(sender.stop, True)

        for number in signals:
            with contextlib.suppress(ValueError):
                installed.append((number, signal.signal(number, stop)))
    try:
        yield
    finally:
        for number, previous in installed:
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(number, previous if previous is not None else signal.SIG_DFL)


def close_or_warn(closeable: Any) -> None:
    """Close a Sender (or contract session) whose work is done; an app's failing lifespan
    shutdown becomes a warning, so that the report of what was sent is not lost."""
    try:
        closeable.close()
    except Exception as exc:
        message = f"the app's lifespan shutdown failed: {type(exc).__name__}: {exc}"
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def send(
    deliveries: Iterable[Any] | AsyncIterable[Any],
    target: Any = None,
    *,
    keep_results: bool = True,
    on_result: Callable[[Result], None] | None = None,
    **options: Unpack[SendOptions],
) -> Report:
    """Send callbacks (dicts), `Delivery`s or raw bodies (bytes) to a target; return the report.

    `options` are `AsyncSender`'s keyword arguments (concurrency, timeout, retries, ...).
    """
    sender = Sender(target, **options)
    try:
        return sender.send(deliveries, keep_results=keep_results, on_result=on_result)
    finally:
        close_or_warn(sender)
