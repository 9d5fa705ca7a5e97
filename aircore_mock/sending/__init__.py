"""Send callbacks to a receiver: `send()` and `Sender`, a synchronous face on one asyncio engine.

A `Sender` owns one event loop for its life (an ASGI app's loop-bound state, such as a
connection pool, survives from one send to the next) and runs it only while it sends.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import signal
import threading
import time
import warnings
import weakref
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..errors import UsageError
from ..model import Report, Result
from .engine import MAX_BACKOFF, MAX_RETRY_AFTER, Engine, Options
from .targets import Kind, check_header_value, check_url, parse_headers, target_kind
from .transports import (
    LIFESPAN_TIMEOUT,
    AiohttpTransport,
    Answer,
    AsgiTransport,
    Transport,
    TransportFailure,
    WsgiTransport,
)

__all__ = [
    "LIFESPAN_TIMEOUT",
    "MAX_BACKOFF",
    "MAX_RETRY_AFTER",
    "Answer",
    "AsyncSender",
    "Kind",
    "Sender",
    "Transport",
    "TransportFailure",
    "check_url",
    "close_or_warn",
    "parse_headers",
    "send",
    "target_kind",
]


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # faster, when the user has it
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


class _Runtime:
    """The loop and transport of one Sender, closable without the Sender (garbage collection)."""

    def __init__(self, transport: Transport) -> None:
        self.loop = _new_loop()
        self.transport = transport
        self.opened = False

    def close(self) -> None:
        loop = self.loop
        if loop.is_closed():
            return
        try:
            if self.opened:
                self.opened = False
                loop.run_until_complete(self.transport.aclose())
        finally:
            # Whatever an app left running (a startup cut short, a hung handler) goes first.
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(asyncio.wait(pending, timeout=5))
            loop.close()

    def close_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


class _Target:
    """A target and how to send to it, checked once (shared by Sender and AsyncSender)."""

    def __init__(
        self,
        target: Any,
        *,
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
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise UsageError(f"concurrency must be at least 1, got {concurrency!r}")
        if rate is not None and not rate > 0:
            raise UsageError(f"rate must be positive, got {rate}")
        if speed is not None and not speed > 0:
            raise UsageError(f"speed must be positive, got {speed}")
        if not timeout > 0:
            raise UsageError(f"timeout must be positive, got {timeout}")
        if retries < 0:
            raise UsageError(f"retries must not be negative, got {retries}")
        if backoff < 0:
            raise UsageError(f"backoff must not be negative, got {backoff}")
        if max_failures is not None and max_failures < 1:
            raise UsageError(f"max_failures must be at least 1 (or None), got {max_failures}")
        self.kind: Kind = target_kind(target)
        self.target = check_url(target) if self.kind == "url" else target
        self.headers = {"content-type": "application/json", "user-agent": "aircore-mock"}
        for name, value in (headers or {}).items():
            check_header_value(name, value)
            self.headers[name.lower()] = value
        self.options = Options(concurrency, rate, speed, timeout, retries, backoff, max_failures)
        self.verify = verify
        self.path = path
        """Where an app target takes callbacks (a URL target carries its own path)."""
        self.keepalive = keepalive
        """Reuse connections; off, every request gets its own."""
        self.lifespan = lifespan
        """Run an ASGI app's lifespan: startup before its first callback, shutdown at close."""

    @property
    def concurrency(self) -> int:
        return self.options.concurrency

    @property
    def timeout(self) -> float:
        return self.options.timeout

    @property
    def retries(self) -> int:
        return self.options.retries

    def transport(self) -> Transport:
        """A new transport for this target."""
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
        return WsgiTransport(
            self.target, self.headers, path=self.path, workers=self.options.concurrency
        )


class Sender(_Target):
    """Sends deliveries to one target: per-recording order, concurrency across recordings.

    `target` is a URL, an ASGI app or a WSGI app. `timeout` bounds each attempt from connect
    to the last byte of the answer; `retries` retries connection errors, timeouts, 5xx and
    429 with exponential backoff and full jitter (`backoff` seconds at first, at most 30 s)
    and honours `Retry-After` up to 60 s. `max_failures` gives up on a target after that many
    deliveries in a row got no answer at all (the rest are reported as not-sent). Ctrl-C
    during a send stops it at once; the report still has one result per delivery.
    """

    def __init__(
        self,
        target: Any,
        *,
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
        stop_signals: Sequence[int] = (signal.SIGINT,),
    ) -> None:
        super().__init__(
            target,
            concurrency=concurrency,
            rate=rate,
            speed=speed,
            headers=headers,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            verify=verify,
            path=path,
            keepalive=keepalive,
            lifespan=lifespan,
            max_failures=max_failures,
        )
        self.stop_signals = tuple(stop_signals)
        """Signals that stop a send at once (in the main thread), as Ctrl-C does."""
        self._runtime: _Runtime | None = None
        self._engine: Engine | None = None
        self._finalizer: Any = None

    def _runtime_ready(self) -> _Runtime:
        if self._runtime is None or self._runtime.loop.is_closed():
            self._runtime = _Runtime(self.transport())
            self._finalizer = weakref.finalize(self, self._runtime.close_quietly)
        return self._runtime

    def stop(self, now: bool = False) -> None:
        """Stop the current send (safe from any thread): the requests in flight finish (or,
        with `now`, are abandoned); everything else is reported as `not-sent`."""
        engine, runtime = self._engine, self._runtime
        if engine is None or runtime is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: nothing left to stop
            runtime.loop.call_soon_threadsafe(engine.stop, now)

    def close(self) -> None:
        """Shut an ASGI target down (lifespan; its error is raised) and close connections.

        Idempotent. Also done when the Sender is garbage-collected, but an app's shutdown
        error is raised only here.
        """
        runtime, self._runtime = self._runtime, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if runtime is not None:
            runtime.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self,
        deliveries: Iterable[Any],
        *,
        keep_results: bool = True,
        on_result: Callable[[Result], None] | None = None,
    ) -> Report:
        """Send everything, then return the report (with every result unless keep_results=False).

        From code that runs an event loop in this thread (an async test), the send runs in a
        worker thread, since one thread cannot run two loops.
        """
        if _loop_running():
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return pool.submit(self._send, deliveries, keep_results, on_result).result()
        return self._send(deliveries, keep_results, on_result)

    def _send(
        self,
        deliveries: Iterable[Any],
        keep_results: bool,
        on_result: Callable[[Result], None] | None,
    ) -> Report:
        report = Report()
        started = time.perf_counter()
        try:
            for result in self.iter_results(deliveries):
                report.add(result, keep_results)
                if on_result is not None:
                    on_result(result)
        finally:
            report.elapsed_s = time.perf_counter() - started
        report.interrupted = self._stopped
        report.gave_up = self._gave_up
        return report

    def iter_results(self, deliveries: Iterable[Any]) -> Iterator[Result]:
        """Send lazily and yield each result as it comes (completion order).

        Every delivery gets exactly one result. After `stop()` (or Ctrl-C) the rest come back
        as `not-sent`: all of them for a list or tuple, and for a lazy iterator those already
        taken from it (an endless generator is not drained, and an input that blocks, such as
        a pipe, is not waited for).
        """
        if _loop_running():
            raise UsageError("iter_results cannot run inside a running event loop; use send()")
        runtime = self._runtime_ready()
        loop = runtime.loop
        results: collections.deque[Result] = collections.deque()
        waiter: list[asyncio.Future[None] | None] = [None]

        def wake() -> None:
            future = waiter[0]
            if future is not None and not future.done():
                future.set_result(None)

        def emit(result: Result) -> None:
            results.append(result)
            wake()

        engine = Engine(runtime.transport, self.options, emit)
        self._engine = engine
        self._stopped = False
        runtime.opened = True
        main = loop.create_task(engine.run(deliveries))
        main.add_done_callback(lambda _: wake())
        finished = False
        try:
            with _stop_on_signals(loop, engine, self.stop_signals):
                while True:
                    if not results and not main.done():
                        waiter[0] = loop.create_future()
                        try:
                            loop.run_until_complete(waiter[0])
                        except KeyboardInterrupt:
                            # Ctrl-C that reached Python code (not through the loop's handler).
                            engine.stop(now=True)
                            continue
                    while results:
                        yield results.popleft()
                    if main.done() and not results:
                        break
            finished = True
        finally:
            self._stopped = engine.stopping
            self._gave_up = engine.gave_up
            if not main.done():  # the caller left early, or an error: end the send first
                engine.stop(now=True)
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(main)
            self._engine = None
        if finished and not main.cancelled() and main.exception() is not None:
            raise main.exception()  # type: ignore[misc]

    _stopped = False
    _gave_up: str | None = None


class AsyncSender(_Target):
    """The engine on the running event loop, for async code (a test, a server that sends
    callbacks as it goes): `async with AsyncSender(url) as sender: await sender.send(...)`.

    Takes `Sender`'s arguments. The input may be an iterable or an async iterable (fed by a
    queue, say); connections and an app's lifespan last until `aclose()`.
    """

    def __init__(self, target: Any, **options: Any) -> None:
        super().__init__(target, **options)
        self._transport: Transport | None = None
        self._engines: set[Engine] = set()

    async def send(
        self,
        deliveries: Iterable[Any] | AsyncIterable[Any],
        *,
        keep_results: bool = True,
        on_result: Callable[[Result], None] | None = None,
    ) -> Report:
        """Send everything and return the report; one result per delivery taken."""
        if self._transport is None:
            self._transport = self.transport()
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
            report.interrupted = engine.stopping
            report.gave_up = engine.gave_up
        return report

    def stop(self, now: bool = False) -> None:
        """Stop every send in progress (call it on the loop's thread)."""
        for engine in list(self._engines):
            engine.stop(now)

    async def aclose(self) -> None:
        """Close connections (an app's lifespan shutdown, whose error is raised)."""
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.aclose()

    async def __aenter__(self) -> AsyncSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@contextlib.contextmanager
def _stop_on_signals(
    loop: asyncio.AbstractEventLoop, engine: Engine, signals: Sequence[int]
) -> Iterator[None]:
    """While sending in the main thread, these signals stop the send at once (through the
    loop, so that no delivery is lost to an exception raised at a random point)."""
    installed: list[tuple[int, Any]] = []
    if threading.current_thread() is threading.main_thread():
        for number in signals:
            previous = signal.getsignal(number)
            try:
                loop.add_signal_handler(number, engine.stop, True)
            except (ValueError, RuntimeError, NotImplementedError):
                continue
            installed.append((number, previous))
    try:
        yield
    finally:
        for number, previous in installed:
            loop.remove_signal_handler(number)
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
    deliveries: Iterable[Any],
    target: Any,
    *,
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
    keep_results: bool = True,
    on_result: Callable[[Result], None] | None = None,
) -> Report:
    """Send callbacks (dicts), `Delivery`s or raw bodies (bytes) to a target; return the report.

    The keyword arguments are `Sender`'s, plus `keep_results` and `on_result` of `Sender.send`.
    """
    sender = Sender(
        target,
        concurrency=concurrency,
        rate=rate,
        speed=speed,
        headers=headers,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        verify=verify,
        path=path,
        keepalive=keepalive,
        lifespan=lifespan,
        max_failures=max_failures,
    )
    try:
        return sender.send(deliveries, keep_results=keep_results, on_result=on_result)
    finally:
        close_or_warn(sender)
