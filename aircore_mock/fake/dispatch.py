"""Sending the fake's callbacks: the dispatcher, on the server's event loop, feeds the engine.

Each `callback_url` gets its own `AsyncSender` (the engine, with its lanes: one recording's
callbacks stay in order), fed through a queue of its own; it is closed once every recording
that uses it has queued its last callback. The dispatcher also runs the clock's due steps
(auto-stops, uploads) in real-time and instant mode.

A server runs its dispatcher on its own loop (the app's lifespan attaches it). An app used
in-process, with no lifespan, gets one on a background loop thread at its first request.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..results import Result
from .backend import FakeBackend, RetryPolicy, SentCallback

_log = logging.getLogger("aircore_mock.fake")
_END = object()
LANES = 64
"""Recordings of one callback URL called back at the same time, each on a lane of its own
(a slow answer to one recording never holds up another's callbacks); one more waits for a
lane to come free."""
_CLOSE_GRACE = 5.0
"""Seconds callbacks in flight get to finish when the fake shuts down."""
ROUTE_IDLE = 2.0
"""Seconds a callback URL's sender stays open with no recording left to call back: the next
recording with the same URL (the common case) reuses its connections."""


@dataclass
class _Route:
    """One callback URL's sender and its queue."""

    sender: Any
    queue: _Feed
    open: set[str] = field(default_factory=set)
    """Recordings that will still send callbacks here."""
    task: asyncio.Task[None] | None = None
    idle_since: float | None = None
    lanes: dict[str, int] = field(default_factory=dict)
    """The lane each recording with callbacks to come is on."""
    held: list[int] = field(default_factory=lambda: [0] * LANES)
    """How many recordings hold each lane."""
    free: list[int] = field(default_factory=lambda: list(range(LANES)))
    """A heap of the lanes no recording holds (and of some held since: see `lane_for`)."""

    def lane_for(self, recording_id: str) -> int:
        """The recording's lane: the one it has, else the first that no recording holds (else,
        every lane held, one in turn)."""
        lane = self.lanes.get(recording_id)
        if lane is None:
            # The heap's top, once the lanes taken since they came free are dropped: a few
            # steps, where a walk over every recording's lane cost one step per open recording.
            free, held = self.free, self.held
            while free and held[free[0]]:
                heapq.heappop(free)
            lane = heapq.heappop(free) if free else len(self.lanes) % LANES
            self.lanes[recording_id] = lane
            held[lane] += 1
        return lane

    def release(self, recording_id: str) -> None:
        """The recording will send nothing more here: its lane comes free (if no other
        recording holds it)."""
        lane = self.lanes.pop(recording_id, None)
        if lane is not None:
            self.held[lane] -= 1
            if not self.held[lane]:
                heapq.heappush(self.free, lane)


class _Callback:
    """A callback for the engine, on the lane the dispatcher chose (read by `job_of`).

    It has every attribute `job_of` looks for, so that none of its look-ups has to fail
    (a failed `getattr` with a default raises and catches an AttributeError inside)."""

    __slots__ = ("callback", "lane", "recording_url")
    quirk = offset_ms = body = headers = None

    def __init__(self, callback: Any, recording_url: str, lane: int) -> None:
        self.callback, self.recording_url, self.lane = callback, recording_url, lane


class _Feed:
    """One sender's input: callbacks in the order queued, up to `_END`, as the async iterable
    the engine takes. (An asyncio.Queue does the same with several calls an item more.)"""

    def __init__(self) -> None:
        self._items: collections.deque[Any] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: Any) -> None:
        self._items.append(item)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> _Feed:
        return self

    async def __anext__(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        item = self._items.popleft()
        if item is _END:
            raise StopAsyncIteration
        return item


class _Alarm:
    """What the dispatcher waits on between steps: set when there is work, or when a wait
    given to `sleep` is over. (`asyncio.wait_for` on an Event makes a task and a timer every
    time: on a busy fake, two of each per recording.)"""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        """Wake the sleeper (on the loop's thread)."""
        self._set = True
        _wake(self._waiter)

    def clear(self) -> None:
        self._set = False

    async def sleep(self, seconds: float | None) -> None:
        """Return once set, or after `seconds` (None: no limit)."""
        if self._set:
            return
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if seconds is None else loop.call_later(seconds, _wake, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class Dispatcher:
    """Drains the backend's outbox into the engine and runs due steps, on one event loop."""

    def __init__(self, backend: FakeBackend, host: DispatchHost | None = None) -> None:
        self.backend = backend
        self._host = host
        self._routes: dict[tuple[str, RetryPolicy], _Route] = {}
        self._draining: set[asyncio.Task[None]] = set()
        self._inflight: dict[int, SentCallback] = {}
        self._wake: _Alarm | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._stepping = False
        """Running the clock's due steps: what they queue is taken in the same pass."""
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._generation = backend.generation

    # --- life ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._wake = _Alarm()
        self.backend.subscribe(self._poke)
        self._task = asyncio.ensure_future(self._run())

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        if threading.get_ident() == self._thread:
            # A request on the loop's own thread (a served fake's every start and stop): set
            # it here, as the call would, without a write to the loop's wake-up pipe; and
            # not at all for the steps the dispatcher is running itself (their callbacks are
            # taken right after: a wake-up would only make an empty pass).
            if not self._stepping:
                wake.set()
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing: nothing more to send
            loop.call_soon_threadsafe(wake.set)

    async def aclose(self) -> None:
        """Stop: callbacks in flight get a few seconds to finish, then are abandoned."""
        self.backend.unsubscribe(self._poke)
        self._closing = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for route in self._routes.values():
            route.queue.put(_END)
            if route.task is not None:
                self._draining.add(route.task)
        self._routes.clear()
        if self._draining:
            _, late = await asyncio.wait(self._draining, timeout=_CLOSE_GRACE)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=_CLOSE_GRACE)

    # --- the loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        backend, clock = self.backend, self.backend.clock
        while not self._closing:
            self._wake.clear()
            try:
                if backend.generation != self._generation:
                    self._forget()
                self._stepping = True
                try:
                    if clock.mode == "instant":
                        backend.run_due(jump=True)
                    elif clock.mode == "realtime":
                        backend.run_due()
                finally:
                    self._stepping = False
                for sent in backend.take_outbox():
                    self._enqueue(sent)
            except Exception:  # never a dead dispatcher: log it and keep serving
                _log.exception("aircore-mock: the callback dispatcher failed a step")
            wait = self._sweep()
            due = backend.next_due()
            if due is not None and clock.mode != "manual":
                until = clock.wall_seconds_until(due)
                wait = until if wait is None else min(wait, until)
            await self._wake.sleep(wait)

    def _forget(self) -> None:
        # A reset: what was queued before it is not sent, what is in flight is abandoned.
        self._generation = self.backend.generation
        for route in self._routes.values():
            route.sender.stop(now=True)
            route.queue.put(_END)
        self._routes.clear()
        self._inflight.clear()

    def _enqueue(self, sent: SentCallback) -> None:
        if sent.generation != self._generation:
            return
        policy = self.backend.retry
        key = (sent.callback_url, policy)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = self._open_route(sent.callback_url, policy)
        self._inflight[id(sent.payload)] = sent
        url = sent.payload["recording"]["url"]
        lane = route.lane_for(sent.recording_id)
        route.queue.put(_Callback(sent.payload, url, lane))
        if self.backend.finished(sent):
            route.open.discard(sent.recording_id)
            # Its lane comes free: what is queued on it is this recording's last callbacks,
            # which a new recording there would only wait behind if they were slow.
            route.release(sent.recording_id)
        else:
            route.open.add(sent.recording_id)
        route.idle_since = None if route.open else asyncio.get_running_loop().time()

    def _sweep(self) -> float | None:
        # Close the senders of URLs no recording will call back any more (once idle for a
        # while); returns the seconds until the next one is due to close, if any.
        now = asyncio.get_running_loop().time()
        soonest = None
        for key, route in list(self._routes.items()):
            if route.idle_since is None:
                continue
            left = route.idle_since + ROUTE_IDLE - now
            if left <= 0:
                route.queue.put(_END)  # it closes once what it holds is delivered
                del self._routes[key]
            else:
                soonest = left if soonest is None else min(soonest, left)
        return soonest

    def _open_route(self, url: str, policy: RetryPolicy) -> _Route:
        from ..sending import AsyncSender

        options: dict[str, Any] = {
            "concurrency": LANES,
            "retries": policy.retries,
            "backoff": policy.backoff,
            "timeout": policy.timeout,
        }
        app = self._host.deliver_to if self._host is not None else None
        if app is not None:
            parts = urlsplit(url)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            sender = AsyncSender(app, path=path, lifespan=False, **options)
        else:
            sender = AsyncSender(url, **options)
        route = _Route(sender, _Feed())
        route.task = asyncio.ensure_future(self._drive(route))
        route.task.add_done_callback(self._draining.discard)
        self._draining.add(route.task)
        return route

    async def _drive(self, route: _Route) -> None:
        try:
            await route.sender.send(route.queue, keep_results=False, on_result=self._on_result)
        except Exception:
            _log.exception("aircore-mock: a callback sender failed")
        finally:
            with contextlib.suppress(Exception):
                await route.sender.aclose()

    def _on_result(self, result: Result) -> None:
        sent = self._inflight.pop(id(result.callback), None)
        if sent is not None:
            self.backend.record_result(sent, result)


class DispatchHost:
    """Keeps exactly one dispatcher running for a backend: on the server's loop when the app
    is served (its lifespan), else on a background loop thread of its own."""

    def __init__(self, backend: FakeBackend, *, deliver_to: Any = None) -> None:
        self.backend = backend
        self.deliver_to = deliver_to
        """An ASGI or WSGI app that takes every callback in-process (at its URL's path and
        query), instead of the network; read when a callback URL's sender opens."""
        self._lock = threading.Lock()
        self._dispatcher: Dispatcher | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threaded = False
        """The dispatcher runs on the background loop (not a server's)."""

    @property
    def running(self) -> bool:
        return self._dispatcher is not None

    async def attach(self) -> bool:
        """Run the dispatcher on the running loop (a server's lifespan startup); False when
        one already runs elsewhere."""
        with self._lock:
            if self._dispatcher is not None:
                return False
            self._dispatcher = Dispatcher(self.backend, self)
            self._dispatcher.start()
            return True

    async def detach(self) -> None:
        """Stop the dispatcher attached to the running loop (a server's lifespan shutdown)."""
        with self._lock:
            dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is not None:
            await dispatcher.aclose()

    def loop(self) -> asyncio.AbstractEventLoop:
        """The background loop (started on first use), for in-process calls from sync code."""
        self.ensure()
        with self._lock:
            if self._loop is None:  # a server's loop runs the dispatcher: start a loop anyway
                self._start_thread(with_dispatcher=False)
            assert self._loop is not None
            return self._loop

    def ensure(self) -> None:
        """Start a dispatcher on a background loop thread unless one is running."""
        with self._lock:
            if self._dispatcher is None:
                self._start_thread(with_dispatcher=True)

    def _start_thread(self, *, with_dispatcher: bool) -> None:
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            if with_dispatcher:
                loop.call_soon(self._dispatcher.start)  # type: ignore[union-attr]
            loop.call_soon(ready.set)
            loop.run_forever()

        if with_dispatcher:
            self._dispatcher = Dispatcher(self.backend, self)
            self._threaded = True
        self._loop = loop
        self._thread = threading.Thread(target=run, daemon=True, name="aircore-mock fake")
        self._thread.start()
        ready.wait(10)

    def close(self) -> None:
        """Stop the background loop and its dispatcher (idempotent)."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
            dispatcher = self._dispatcher if self._threaded else None
            if dispatcher is not None:
                self._dispatcher, self._threaded = None, False
        if loop is None or thread is None:
            return
        if dispatcher is not None:
            future = asyncio.run_coroutine_threadsafe(dispatcher.aclose(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout=2 * _CLOSE_GRACE + 1)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()
