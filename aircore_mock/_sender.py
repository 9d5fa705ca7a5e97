"""POST callbacks to a target (URL, ASGI app or WSGI app) and report one result per delivery."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import email.utils
import inspect
import os
import queue
import re
import statistics
import threading
import time
import warnings
import weakref
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import orjson

from . import _processes
from ._exceptions import UsageError

Kind = Literal["url", "asgi", "wsgi"]
_EXCERPT = 200
_MAX_BACKOFF = 30.0
_MAX_RETRY_AFTER = 60.0
# An app's startup may connect to databases: more than one request's timeout, but bounded.
_LIFESPAN_TIMEOUT = 30.0
_APP_BASE = "http://aircore-mock.test/"


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one delivery: the answer, or why there was none."""

    index: int
    """Position in send order, from 0."""
    callback: Any
    recording_url: str | None
    quirk: str | None
    attempts: int
    status: int | None
    latency_ms: float
    """Time of the last attempt, from sending the request to reading the answer."""
    body: str = ""
    """The first 200 characters of the response body."""
    error: str | None = None
    """Why there is no usable answer: a transport error, or `None` when the target answered."""

    @property
    def event(self) -> str | None:
        return self.callback.get("event") if isinstance(self.callback, dict) else None

    @property
    def delivered(self) -> bool:
        """True only for a 2xx answer."""
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def outcome(self) -> str:
        """`delivered`, `redirected` (3xx), `rejected` (4xx/5xx), `timeout`, `unreachable`,
        `error` or `not-sent`."""
        if self.error is not None:
            return self.error.split(":", 1)[0]
        assert self.status is not None
        if 200 <= self.status < 300:
            return "delivered"
        return "redirected" if 300 <= self.status < 400 else "rejected"

    def describe(self) -> str:
        """One line: the answer, or the error."""
        if self.error is not None:
            return self.error
        text = f"HTTP {self.status}"
        if not self.delivered and self.body:
            text += f": {self.body[:80]}"
        return text


@dataclass
class Report:
    """Counts by outcome and status, latency percentiles and throughput of a send."""

    total: int = 0
    delivered: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    elapsed_s: float = 0.0
    interrupted: bool = False
    results: list[Result] | None = None
    first_failure: Result | None = None

    def add(self, result: Result, keep: bool) -> None:
        self.total += 1
        self.delivered += result.delivered
        self.outcomes[result.outcome] += 1
        if result.status is not None:
            self.statuses[result.status] += 1
            self.latencies_ms.append(result.latency_ms)
        if not result.delivered and self.first_failure is None:
            self.first_failure = result
        if keep:
            if self.results is None:
                self.results = []
            self.results.append(result)

    @property
    def ok(self) -> bool:
        """Every delivery got a 2xx, at least one was made, and nothing was interrupted."""
        return self.total > 0 and self.delivered == self.total and not self.interrupted

    def percentile(self, p: float) -> float | None:
        """The p-th latency percentile in ms (p in 0..100), or None with no answers."""
        return self.percentiles(p)[0]

    def percentiles(self, *ps: float) -> list[float | None]:
        """Several latency percentiles in ms, from one pass over the latencies."""
        if not self.latencies_ms:
            return [None for _ in ps]
        if len(self.latencies_ms) == 1:
            return [self.latencies_ms[0] for _ in ps]
        cuts = statistics.quantiles(self.latencies_ms, n=100, method="inclusive")
        return [cuts[max(0, min(98, round(p) - 1))] for p in ps]

    @property
    def throughput(self) -> float:
        """Deliveries per second over the whole send."""
        return self.total / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """The report as JSON-ready data (without the per-delivery results)."""
        return {
            "total": self.total,
            "delivered": self.delivered,
            "failed": self.total - self.delivered,
            "outcomes": dict(self.outcomes),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "latency_ms": {
                f"p{p}": _round(value)
                for p, value in zip((50, 95, 99), self.percentiles(50, 95, 99), strict=True)
            },
            "elapsed_s": round(self.elapsed_s, 3),
            "throughput_per_s": round(self.throughput, 1),
            "interrupted": self.interrupted,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# --- targets ----------------------------------------------------------------------------


def target_kind(target: Any) -> Kind:
    """`url` for a string, `asgi` for an async app, `wsgi` for a plain callable app."""
    if isinstance(target, str):
        return "url"
    if not callable(target):
        raise UsageError(f"target must be a URL, an ASGI app or a WSGI app, not {target!r}")
    call = target if inspect.isroutine(target) else type(target).__call__
    if inspect.iscoroutinefunction(call):
        return "asgi"
    return "wsgi"


def check_url(url: str) -> str:
    """The URL if it is an absolute http(s) URL, else a usage error naming the problem."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UsageError(f"bad target URL {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"bad target URL {url!r}: expected http://host[:port]/path")
    return url


# RFC 9110 token characters: what a header name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def parse_headers(lines: Iterable[str]) -> dict[str, str]:
    """`Name: value` strings into a dict; a usage error for anything else."""
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not _TOKEN.fullmatch(name):
            raise UsageError(f"bad header {line!r}: expected 'Name: value'")
        if not value.isascii() or any(c in value for c in "\r\n\0"):
            raise UsageError(f"bad header {line!r}: the value must be ASCII on one line")
        headers[name] = value
    return headers


class _Lane:
    """One connection's worth of sending: its own transport, so lanes never share a pool."""

    def __init__(
        self,
        target: Any,
        kind: Kind,
        tls: Any,
        loop: _Loop | None,
        path: str = "/",
        keepalive: bool = True,
    ) -> None:
        self.kind = kind
        self.loop = loop
        self._prepared: tuple[Any, httpx.URL, httpx.Headers, dict[str, Any]] | None = None
        if kind == "url":
            self.url = target
            self.transport: Any = httpx.HTTPTransport(
                verify=tls,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=int(keepalive)),
            )
        elif kind == "wsgi":
            self.url = _APP_BASE + path.lstrip("/")
            self.transport = httpx.WSGITransport(app=_answer_500_on_error(target))
        else:
            self.url = _APP_BASE + path.lstrip("/")
            app = loop.app if loop is not None else target  # with its lifespan state, if any
            self.transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    def post(
        self, body: bytes, headers: Mapping[str, str], timeout: httpx.Timeout
    ) -> tuple[int, bytes, Mapping[str, str]]:
        # A parsed URL, normalised headers and one extensions dict, built once per lane:
        # rebuilding them for every request cost ~12% of the throughput.
        if self._prepared is None or self._prepared[0] is not headers:
            self._prepared = (
                headers,
                httpx.URL(self.url),
                httpx.Headers(headers),
                {"timeout": timeout.as_dict()},
            )
        _, url, prepared, extensions = self._prepared
        request = httpx.Request("POST", url, content=body, headers=prepared, extensions=extensions)
        if self.kind == "asgi":
            assert self.loop is not None
            return self.loop.run(self._apost(request), timeout)
        response = self.transport.handle_request(request)
        try:
            return response.status_code, _excerpt(response.iter_raw()), response.headers
        finally:
            response.close()

    async def _apost(self, request: httpx.Request) -> tuple[int, bytes, Mapping[str, str]]:
        response = await self.transport.handle_async_request(request)
        try:
            data = bytearray()
            async for chunk in response.aiter_raw():
                if _append_capped(data, chunk):
                    break
            return response.status_code, bytes(data), response.headers
        finally:
            await response.aclose()

    def close(self) -> None:
        if self.kind != "asgi":
            self.transport.close()


def _answer_500_on_error(app: Any) -> Any:
    # A receiver that raises is a receiver that answers 500, as it would behind a real server.
    def guarded(environ: dict[str, Any], start_response: Any) -> Any:
        try:
            return app(environ, start_response)
        except Exception as exc:
            start_response("500 Internal Server Error", [("content-type", "text/plain")])
            return [f"the app raised {type(exc).__name__}: {exc}".encode()]

    return guarded


def _append_capped(data: bytearray, chunk: bytes) -> bool:
    # Keep only the start of an answer, so a huge one cannot fill memory; True when full.
    data += chunk
    return len(data) >= 4 * _EXCERPT


def _excerpt(chunks: Iterable[bytes]) -> bytes:
    data = bytearray()
    for chunk in chunks:
        if _append_capped(data, chunk):
            break
    return bytes(data)


class _Loop:
    """An event loop in a thread, so that lanes (threads) can await an ASGI app.

    With `lifespan`, the app's startup runs before the first request and its shutdown at
    `close()`, as under a real server; `app` is then the app with its lifespan state.
    """

    def __init__(self, app: Any = None, lifespan: bool = False, timeout: float = 10.0) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.app = app
        self._lifespan: Any = None
        if lifespan and app is not None:
            try:
                self._lifespan = self._call(_start_lifespan(app, timeout), timeout + 1)
            except BaseException:
                self.close()
                raise
            if self._lifespan is not None:
                self.app = self._lifespan.app

    def _call(self, coroutine: Any, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout=timeout)
        except BaseException:
            future.cancel()  # e.g. Ctrl-C: the app's startup must not go on behind our back
            raise

    def run(self, coroutine: Any, timeout: httpx.Timeout) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        limit = timeout.read or None
        try:
            return future.result(timeout=limit)
        except concurrent.futures.TimeoutError:  # not the builtin one before Python 3.11
            future.cancel()
            raise httpx.ReadTimeout("the app did not answer in time") from None

    def close(self) -> None:
        """Run the app's lifespan shutdown (its error is raised), then stop the loop."""
        if self.loop.is_closed():
            return
        manager, self._lifespan = self._lifespan, None
        try:
            if manager is not None:
                self._call(_stop_lifespan(manager), manager.shutdown_timeout + 1)
        finally:
            self._stop()

    def _stop(self) -> None:
        # Cancel what an app left running (e.g. after a timeout) before the loop goes away.
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_cancel_pending(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():  # an app blocking its loop keeps it; let it be
            self.loop.close()


async def _start_lifespan(app: Any, timeout: float) -> Any:
    # asgi-lifespan picks its concurrency backend from the running loop: build it here.
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


def close_or_warn(closeable: Any) -> None:
    """Close a Sender (or contract session) whose work is done; an app's failing lifespan
    shutdown becomes a warning, so that the report of what was sent is not lost."""
    try:
        closeable.close()
    except Exception as exc:
        message = f"the app's lifespan shutdown failed: {type(exc).__name__}: {exc}"
        warnings.warn(message, RuntimeWarning, stacklevel=3)


async def _cancel_pending() -> None:
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, min(float(value), _MAX_RETRY_AFTER))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), _MAX_RETRY_AFTER))


def _transport_error(exc: httpx.TransportError, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout: no answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"unreachable: {exc or 'connection refused'}"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return f"error: connection closed mid-response ({exc or type(exc).__name__})"
    return f"error: {type(exc).__name__}: {exc}"


# --- the sender -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    index: int
    callback: Any
    recording_url: str | None
    quirk: str | None
    body: bytes


_STOP = object()  # a lane's last word, and the word that ends a lane
_FED = object()  # the feeder's last word
# How long a stopped send waits for an input that blocks (a pipe) before it ends without it.
_INPUT_GRACE = 2.0
_BATCH = 16
_SHORT_SEND = 1000


class Batches:
    """Jobs on their way to lanes, one batch per lane.

    A batch goes when it is full, when its lane has nothing to do, or `linger` seconds later
    at the latest: an input that stalls (a pipe) must not hold back what it already gave.
    `put` may block (a lane's inbox is full); `offer` must not, so the timer never waits on a
    busy lane. Batches of one lane go in the order their jobs were added.
    """

    def __init__(
        self,
        lanes: int,
        put: Callable[[int, list[Any]], bool],
        offer: Callable[[int, list[Any]], bool],
        idle: Callable[[int], bool],
        size: int,
        linger: float = 0.02,
    ) -> None:
        self._batches: list[list[Any]] = [[] for _ in range(lanes)]
        self._put = put
        self._offer = offer
        self._idle = idle
        self._size = size
        self._linger = linger
        self._lock = threading.Lock()
        self._closed = False
        self._stop_timer = threading.Event()
        self._timer = threading.Thread(target=self._tick, daemon=True)
        self._timer.start()

    def add(self, lane: int, job: Any, now: bool = False) -> bool:
        """Queue a job for its lane; False when closed or that lane takes nothing more."""
        with self._lock:
            if self._closed:
                return False
            batch = self._batches[lane]
            batch.append(job)
            if now or len(batch) >= self._size or self._idle(lane):
                self._batches[lane] = []
                return self._put(lane, batch)
        return True

    def close(self, flush: bool = True) -> None:
        """Take no more jobs; hand over what is left unless told not to. Idempotent."""
        self._stop_timer.set()
        with self._lock:
            self._closed = True
            left, self._batches = self._batches, [[] for _ in self._batches]
            if flush:
                for lane, batch in enumerate(left):
                    if batch:
                        self._put(lane, batch)

    def _tick(self) -> None:
        while not self._stop_timer.wait(self._linger):
            with self._lock:
                for lane, batch in enumerate(self._batches):
                    if batch and self._offer(lane, batch):
                        self._batches[lane] = []


def shard_of(job: _Job, lanes: int) -> int:
    """The lane a delivery goes to: the same for every callback of one recording."""
    return zlib.crc32((job.recording_url or str(job.index)).encode()) % lanes


class Pacer:
    """Holds deliveries back for `rate` (per second) and `speed` (time-scaled replay)."""

    def __init__(self, rate: float | None, speed: float | None, stop: threading.Event) -> None:
        self.rate = rate
        self.speed = speed
        self.stop = stop
        self.paced = rate is not None or speed is not None
        self.start = time.monotonic()
        self.first_offset: int | None = None

    def wait(self, index: int, delivery: Any) -> bool:
        """Sleep until `delivery` is due; False when stopped (before or while waiting)."""
        if self.stop.is_set():
            return False
        if not self.paced:
            return True
        due = index / self.rate if self.rate is not None else 0.0
        if self.speed is not None:
            offset = getattr(delivery, "offset_ms", 0)
            if self.first_offset is None:
                self.first_offset = offset
            due = max(due, (offset - self.first_offset) / 1000 / self.speed)
        wait = self.start + due - time.monotonic()
        return not (wait > 0 and self.stop.wait(wait))


class Sender:
    """Sends deliveries to one target: per-recording order, concurrency across recordings."""

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
        processes: int | None = None,
        path: str = "/",
        keepalive: bool = True,
        lifespan: bool = True,
    ) -> None:
        if concurrency < 1:
            raise UsageError(f"concurrency must be at least 1, got {concurrency}")
        if rate is not None and rate <= 0:
            raise UsageError(f"rate must be positive, got {rate}")
        if speed is not None and speed <= 0:
            raise UsageError(f"speed must be positive, got {speed}")
        if timeout <= 0:
            raise UsageError(f"timeout must be positive, got {timeout}")
        if retries < 0:
            raise UsageError(f"retries must not be negative, got {retries}")
        self.kind = target_kind(target)
        self.target = check_url(target) if self.kind == "url" else target
        self.concurrency = concurrency
        self.rate = rate
        self.speed = speed
        self.headers = {"content-type": "application/json", "user-agent": "aircore-mock"}
        self.headers.update({k.lower(): v for k, v in (headers or {}).items()})
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.verify = verify
        self.keepalive = keepalive
        """Reuse connections; off, every request gets its own (no request inherits a
        connection the server closed after an error)."""
        self.path = path
        """Where an app target takes callbacks (a URL target carries its own path)."""
        self.lifespan = lifespan
        """Run an ASGI app's lifespan: startup before its first callback, shutdown at close()."""
        self._auto_processes = processes is None
        if processes is None:
            # httpx spends ~300 us of CPU a request and threads only fight over the GIL, so
            # concurrent sends to a URL spread over processes (measured: benchmarks/).
            cores = os.cpu_count() or 1
            spawnable = _processes.can_spawn()
            processes = min(cores, concurrency) if self.kind == "url" and spawnable else 1
        if processes > 1 and self.kind != "url":
            raise UsageError("processes > 1 needs a URL target (an app lives in this process)")
        self.processes = max(1, min(processes, concurrency))
        self._stop = threading.Event()
        self._interrupted = False
        self._tls_context: Any = None
        self._loop: _Loop | None = None

    def _asgi_loop(self) -> _Loop | None:
        # One event loop for the Sender's life, not one per send: an ASGI app's loop-bound
        # state (connection pools, locks) must survive from one send, or clause, to the next.
        if self.kind != "asgi":
            return None
        if self._loop is None:
            self._loop = _Loop(self.target, self.lifespan, _LIFESPAN_TIMEOUT)
            weakref.finalize(self, self._loop.close)
        return self._loop

    def close(self) -> None:
        """Shut an ASGI target down (lifespan) and release its event loop; idempotent.

        Also done when the Sender is garbage-collected, but an app's shutdown error is raised
        only here.
        """
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tls(self) -> Any:
        # Loading the CA bundle takes ~25 ms: do it once for all lanes, and only for https.
        if self._tls_context is None:
            https = self.kind == "url" and self.target.startswith("https:")
            self._tls_context = httpx.create_ssl_context(verify=self.verify if https else False)
        return self._tls_context

    def stop(self) -> None:
        """Stop after the requests in flight; what was not sent is reported as `not-sent`."""
        self._interrupted = True
        self._stop.set()

    def send(
        self,
        deliveries: Iterable[Any],
        *,
        keep_results: bool = True,
        on_result: Callable[[Result], None] | None = None,
    ) -> Report:
        """Send everything, then return the report (with every result unless keep_results=False)."""
        report = Report()
        started = time.perf_counter()
        self._interrupted = False
        results = self.iter_results(deliveries)
        try:
            for result in results:
                report.add(result, keep_results)
                if on_result is not None:
                    on_result(result)
        except KeyboardInterrupt:
            self.stop()
            report.interrupted = True
            for result in results:  # the rest come back as not-sent
                report.add(result, keep_results)
                if on_result is not None:
                    on_result(result)
        finally:
            report.elapsed_s = time.perf_counter() - started
        report.interrupted = report.interrupted or self._interrupted
        return report

    def iter_results(self, deliveries: Iterable[Any]) -> Iterator[Result]:
        """Send lazily and yield each result as it comes (completion order).

        Every delivery gets exactly one result. After `stop()` (or Ctrl-C) the rest come back
        as `not-sent`: all of them for a list or tuple, and for a lazy iterator those already
        taken from it (an endless generator is not drained).
        """
        self._stop.clear()
        taken = 0
        # Starting a worker costs ~0.3 s: a short list goes faster on threads.
        short = isinstance(deliveries, list | tuple) and len(deliveries) < _SHORT_SEND
        results: Iterator[Result]
        try:
            self._asgi_loop()  # an app's lifespan starts here, where Ctrl-C is still answered
        except KeyboardInterrupt:
            self.stop()
            results = iter(())  # a list's deliveries are all reported as not-sent below
        else:
            if self.processes > 1 and not (self._auto_processes and short):
                results = _processes.iter_results(self, deliveries)
            elif self.concurrency == 1:
                results = self._inline(deliveries)
            else:
                results = self._threaded(deliveries)
        for result in results:
            taken += 1
            yield result
        if isinstance(deliveries, list | tuple):
            for index in range(taken, len(deliveries)):
                yield _not_sent(_job(index, deliveries[index]))

    def _inline(self, deliveries: Iterable[Any]) -> Iterator[Result]:
        # One lane needs no threads: every hand-off between threads costs more than httpx.
        loop = self._asgi_loop()
        lane = _Lane(self.target, self.kind, self._tls(), loop, self.path, self.keepalive)
        pacer = Pacer(self.rate, self.speed, self._stop)
        timeout = httpx.Timeout(self.timeout)
        try:
            for index, delivery in enumerate(deliveries):
                job = _job(index, delivery)
                # Ctrl-C lands here as KeyboardInterrupt, while pacing or waiting for an
                # answer: the delivery in hand still gets its result.
                try:
                    if not pacer.wait(index, delivery):
                        yield _not_sent(job)
                        break
                except KeyboardInterrupt:
                    self.stop()
                    yield _not_sent(job, "interrupted")
                    break
                try:
                    result = self._deliver(lane, job, timeout)
                except KeyboardInterrupt:
                    self.stop()
                    yield _not_sent(job, "interrupted while waiting for the answer")
                    break
                yield result
        finally:
            lane.close()

    def _threaded(self, deliveries: Iterable[Any]) -> Iterator[Result]:
        loop = self._asgi_loop()
        lanes = [
            _Lane(self.target, self.kind, self._tls(), loop, self.path, self.keepalive)
            for _ in range(self.concurrency)
        ]
        # Inboxes carry batches of jobs and the outbox batches of results: a hand-off between
        # threads costs tens of microseconds, so it is paid per batch, not per delivery.
        inboxes: list[queue.Queue[Any]] = [queue.Queue(maxsize=8) for _ in lanes]
        outbox: queue.Queue[Any] = queue.Queue()
        workers = [
            threading.Thread(target=self._lane, args=(lane, inbox, outbox), daemon=True)
            for lane, inbox in zip(lanes, inboxes, strict=True)
        ]

        def put(lane: int, batch: list[_Job]) -> bool:
            inboxes[lane].put(batch)
            return True

        def offer(lane: int, batch: list[_Job]) -> bool:
            try:
                inboxes[lane].put_nowait(batch)
            except queue.Full:
                return False
            return True

        batches = Batches(len(inboxes), put, offer, lambda lane: inboxes[lane].empty(), _BATCH)
        feeder = threading.Thread(
            target=self._feed, args=(deliveries, batches, inboxes, outbox), daemon=True
        )
        for thread in (*workers, feeder):
            thread.start()
        try:
            finished, fed, abandoned = 0, False, False
            stopped_at: float | None = None
            while finished < len(workers) or not fed:
                try:
                    item = outbox.get(timeout=0.1)
                except queue.Empty:
                    if not abandoned and self._stop.is_set():
                        stopped_at = stopped_at or time.monotonic()
                        if time.monotonic() - stopped_at > _INPUT_GRACE:
                            # The feeder waits on the input (a pipe with nothing more to
                            # say): end without it. A thread of its own does what may block,
                            # so that Ctrl-C here is still answered.
                            abandoned = True
                            threading.Thread(
                                target=_end_feeding,
                                args=(batches, inboxes, outbox),
                                daemon=True,
                            ).start()
                    continue
                except KeyboardInterrupt:
                    # Ctrl-C: stop, then keep collecting, so every delivery gets its result.
                    self.stop()
                    continue
                if item is _STOP:
                    finished += 1
                elif item is _FED:
                    fed = True
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield from item
        finally:
            self._stop.set()
            batches.close(flush=False)
            if not abandoned:  # once abandoned, the feeder had its grace already
                feeder.join(timeout=_INPUT_GRACE)
            for thread in workers:
                thread.join(timeout=self.timeout * (self.retries + 1) + 1)
            for lane in lanes:
                lane.close()

    def _feed(
        self,
        deliveries: Iterable[Any],
        batches: Batches,
        inboxes: list[queue.Queue[Any]],
        outbox: queue.Queue[Any],
    ) -> None:
        pacer = Pacer(self.rate, self.speed, self._stop)
        try:
            for index, delivery in enumerate(deliveries):
                job = _job(index, delivery)
                if not pacer.wait(index, delivery):
                    outbox.put([_not_sent(job)])
                    break
                # One lane per recording keeps its callbacks in order.
                batches.add(shard_of(job, len(inboxes)), job, now=pacer.paced)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            outbox.put(exc)
        finally:
            _end_feeding(batches, inboxes, outbox)

    def _lane(self, lane: _Lane, inbox: queue.Queue[Any], outbox: queue.Queue[Any]) -> None:
        timeout = httpx.Timeout(self.timeout)
        try:
            while True:
                batch = inbox.get()
                if batch is _STOP:
                    break
                results = []
                for job in batch:
                    if self._stop.is_set():
                        results.append(_not_sent(job))
                    else:
                        results.append(self._deliver(lane, job, timeout))
                outbox.put(results)
        finally:
            outbox.put(_STOP)

    def _deliver(self, lane: _Lane, job: _Job, timeout: httpx.Timeout) -> Result:
        attempts = 0
        while True:
            attempts += 1
            began = time.perf_counter()
            wait: float | None = None
            try:
                status, body, headers = lane.post(job.body, self.headers, timeout)
            except Exception as exc:
                # A transport error, or anything else (a header httpx cannot encode, an app
                # that breaks the ASGI protocol): a result, never a dead lane.
                latency = (time.perf_counter() - began) * 1000
                if not isinstance(exc, httpx.TransportError):
                    error = f"error: {type(exc).__name__}: {exc}"
                    return answered(job, attempts, None, latency, "", error)
                error = _transport_error(exc, self.timeout)
                result = answered(job, attempts, None, latency, "", error)
            else:
                latency = (time.perf_counter() - began) * 1000
                text = body.decode("utf-8", "replace")[:_EXCERPT]
                result = answered(job, attempts, status, latency, text, None)
                if status != 429 and status < 500:
                    return result
                wait = _retry_after(headers)
            if attempts > self.retries or self._stop.is_set():
                return result
            if wait is None:
                wait = min(self.backoff * 2 ** (attempts - 1), _MAX_BACKOFF)
            if self._stop.wait(wait):
                return result


def _end_feeding(
    batches: Batches, inboxes: list[queue.Queue[Any]], outbox: queue.Queue[Any]
) -> None:
    # What the feeder gave goes to the lanes (after a stop they report it as not-sent), then
    # each lane's last word: closed batches take nothing more, so nothing lands behind it.
    batches.close()
    for inbox in inboxes:
        inbox.put(_STOP)
    outbox.put(_FED)


def _job(index: int, delivery: Any) -> _Job:
    if isinstance(delivery, _Job):
        return delivery
    callback = getattr(delivery, "callback", delivery)
    url = getattr(delivery, "recording_url", None)
    if url is None and isinstance(callback, dict):
        recording = callback.get("recording")
        url = recording.get("url") if isinstance(recording, dict) else None
    body = delivery if isinstance(delivery, bytes) else orjson.dumps(callback)
    return _Job(index, callback, url, getattr(delivery, "quirk", None), body)


def answered(
    job: _Job, attempts: int, status: int | None, latency: float, body: str, error: str | None
) -> Result:
    """The result of one delivery."""
    return Result(
        job.index,
        job.callback,
        job.recording_url,
        job.quirk,
        attempts,
        status,
        latency,
        body,
        error,
    )


def _not_sent(job: _Job, why: str = "stopped before it was sent") -> Result:
    return answered(job, 0, None, 0.0, "", f"not-sent: {why}")


def send(
    deliveries: Iterable[Any],
    target: Any,
    **options: Any,
) -> Report:
    """Send callbacks (dicts) or `Delivery`s to a target and return the report."""
    keep = options.pop("keep_results", True)
    on_result = options.pop("on_result", None)
    sender = Sender(target, **options)
    try:
        return sender.send(deliveries, keep_results=keep, on_result=on_result)
    finally:
        close_or_warn(sender)
