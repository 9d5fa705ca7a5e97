"""The delivery engine: one asyncio loop, a feeder, lanes, and exactly one result per delivery.

    input ──▶ feeder (pacing) ──▶ lane queues ──▶ lane tasks ──▶ transport ──▶ results

Each recording is hashed to one lane, so its callbacks go one after another, in the order
the input gives them (wrong orders included, when a scenario asks for them); lanes run
concurrently. A deadline bounds each attempt from connect to the last byte of the answer.
Retries (tenacity) back off exponentially with full jitter and honour `Retry-After`.

Stopping: `stop()` lets the requests in flight finish and reports everything else as
not-sent; `stop(now=True)` (Ctrl-C) also abandons the requests in flight. Either way every
delivery taken from the input gets exactly one result.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import json
import math
import re
import threading
import time
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ..model import Delivery
from ..results import DeliveryOutcome, Result
from .transports import EXCERPT, Answer, Transport, TransportFailure

MAX_BACKOFF = 30.0
"""Seconds: the longest wait between two attempts (exponential backoff stops growing)."""
MAX_RETRY_AFTER = 60.0
"""Seconds: the longest `Retry-After` honoured; a longer one is cut to this."""
_LANE_DEPTH = 64
_INPUT_DEPTH = 1024
_STOP_GRACE = 5.0  # seconds lanes get to end after Ctrl-C (an app may swallow the cancel)


@dataclass(slots=True)  # built once per delivery: not frozen, which costs ~3x to build
class Job:
    """One delivery on its way: its place in the input, what it carries and its body."""

    index: int
    callback: Any
    recording_url: str | None
    quirk: str | None
    offset_ms: int | None
    body: bytes
    headers: Mapping[str, str] | None = None
    """Headers of this request only, over the sender's (a contract's header variants)."""
    lane: int | None = None
    """The lane this delivery must take (a scheduler's choice), instead of its recording's."""

    def result(
        self,
        attempts: int,
        status: int | None,
        latency_ms: float,
        outcome: DeliveryOutcome,
        body: str = "",
        error: str | None = None,
        app_error: str | None = None,
        resent: bool = False,
    ) -> Result:
        """What happened to this delivery."""
        return Result(
            self.index, self.callback, self.recording_url, self.quirk, attempts, status,
            latency_ms, outcome, body, error, app_error, resent,
        )  # fmt: skip


def encode(value: Any) -> bytes:
    """A callback as the JSON bytes to send: orjson, or for integers beyond 64 bits (valid
    JSON, which orjson cannot write) the json module. A NaN or an infinity is no JSON number:
    a `ValueError`, where orjson alone would silently send `null`."""
    try:
        body = orjson.dumps(value)
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise
        return json.dumps(
            value, allow_nan=False, ensure_ascii=False, separators=(",", ":")
        ).encode()
    if b"null" in body and _non_finite(value):  # (rare: a callback carries no null)
        raise ValueError("NaN or infinity is not a JSON number")
    return body


def _non_finite(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is float:
            if item != item or item in (math.inf, -math.inf):
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def job_of(index: int, delivery: Any) -> Job:
    """A `Delivery`, a callback dict (or any JSON value) or raw `bytes` as a job."""
    kind = type(delivery)
    if kind is bytes:  # a body as it is, sent as it is (its recording is read if it matters)
        return Job(index, delivery, None, None, None, delivery)
    if kind is Delivery:
        callback, url, offset, quirk = delivery
        return Job(index, callback, url, quirk, offset, encode(callback))
    callback = getattr(delivery, "callback", delivery)  # a Delivery-like object, or a callback
    url = getattr(delivery, "recording_url", None)
    if url is None and isinstance(callback, dict) and isinstance(callback.get("recording"), dict):
        url = callback["recording"].get("url")
    quirk, offset = getattr(delivery, "quirk", None), getattr(delivery, "offset_ms", None)
    url = url if isinstance(url, str) else None
    body = getattr(delivery, "body", None)  # a request whose body is not its callback's JSON
    if not isinstance(body, bytes):
        body = encode(callback)
    headers, lane = getattr(delivery, "headers", None), getattr(delivery, "lane", None)
    return Job(index, callback, url, quirk, offset, body, headers, lane)


def _recording_url_in(body: bytes) -> str | None:
    try:
        recording = orjson.loads(body).get("recording")
        url = recording.get("url")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return url if isinstance(url, str) else None


def _job_or_stub(index: int, delivery: Any) -> Job:
    """`job_of`, or for what is not JSON a job with no body (it only needs a result)."""
    try:
        return job_of(index, delivery)
    except (TypeError, ValueError):
        return Job(index, delivery, None, getattr(delivery, "quirk", None), None, b"")


IN_FLIGHT = "interrupted while waiting for the answer"
"""A not-sent result's error for a request abandoned in flight: the receiver may have got it."""


def not_sent(job: Job, why: str = "stopped before it was sent") -> Result:
    """The result of a delivery that was never attempted."""
    return job.result(0, None, 0.0, DeliveryOutcome.NOT_SENT, error=why)


@dataclass(frozen=True)
class Options:
    """How the engine sends (checked by `Sender`)."""

    concurrency: int = 1
    rate: float | None = None
    speed: float | None = None
    timeout: float = 10.0
    retries: int = 0
    backoff: float = 0.5
    max_failures: int | None = None
    """Give up after this many consecutive deliveries without an answer (None: never)."""


_Attempt = tuple[Result, float | None]
"""An attempt's result, and the wait its answer asked for (`Retry-After`), if any."""


_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP-date), capped.

    `headers` is an answer's: case-insensitive (aiohttp's, httpx's) or with lowercase names
    (the ASGI transport's)."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):  # 1*DIGIT (and decimals, which some servers send);
        return min(float(value), MAX_RETRY_AFTER)  # float() alone would take "1_0" or "-5"
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, min(when.timestamp() - time.time(), MAX_RETRY_AFTER))


def _retryable(attempt: _Attempt) -> bool:
    result = attempt[0]
    if result.status is None:
        return result.outcome in (DeliveryOutcome.TIMEOUT, DeliveryOutcome.UNREACHABLE) or (
            result.outcome is DeliveryOutcome.ERROR and result.app_error is None
        )
    return result.status == 429 or result.status >= 500


_NOTHING = object()
_DELIVERED = DeliveryOutcome.DELIVERED
_clock = time.monotonic  # deadlines and latencies (the watchdog reads the same clock)


class _Lane:
    """One lane's deliveries, in order, for the lane task to take one after another.

    The lane task waits only when its lane is empty; the feeder waits only when it is full,
    and is woken once the lane has drained to half rather than after every delivery (with an
    asyncio.Queue, each delivery a lane takes wakes the feeder: a task switch per delivery).
    """

    __slots__ = ("_idle", "_room", "closed", "jobs")

    def __init__(self) -> None:
        self.jobs: collections.deque[Job] = collections.deque()
        self.closed = False
        """Nothing more will come: the lane task ends once it has taken what there is."""
        self._idle: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None

    def put(self, job: Job) -> None:
        self.jobs.append(job)
        self._wake_lane()

    def close(self) -> None:
        self.closed = True
        self._wake_lane()

    def _wake_lane(self) -> None:
        idle, self._idle = self._idle, None
        if idle is not None and not idle.done():
            idle.set_result(None)

    async def room(self) -> None:
        """Wait until the lane has drained to half (the feeder's wait when it is full)."""
        while len(self.jobs) >= _LANE_DEPTH:
            self._room = asyncio.get_running_loop().create_future()
            await self._room

    async def wait(self) -> None:
        """Wait until the lane has a delivery or is closed (the lane task's wait)."""
        while not self.jobs and not self.closed:
            self._idle = asyncio.get_running_loop().create_future()
            await self._idle

    def take(self) -> Job:
        job = self.jobs.popleft()
        room = self._room
        if room is not None and len(self.jobs) <= _LANE_DEPTH // 2:
            self._room = None
            if not room.done():
                room.set_result(None)
        return job


class _Input:
    """Takes deliveries from an iterator that may block (a pipe) in a thread of its own, and
    hands them to the loop, at most `depth` ahead; the loop never waits on the input."""

    _END = object()

    def __init__(
        self, iterable: Iterable[Any], loop: asyncio.AbstractEventLoop, depth: int
    ) -> None:
        self._iterator = iter(iterable)
        self._loop = loop
        self._buffer: collections.deque[Any] = collections.deque()
        self._room = threading.Semaphore(depth)
        self._ready = asyncio.Event()
        self._waiting = False
        self._done = False
        self._error: BaseException | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._held: Any = _NOTHING
        threading.Thread(target=self._read, daemon=True, name="aircore-mock input").start()

    def _wake(self) -> None:
        if self._waiting:
            self._waiting = False
            with contextlib.suppress(RuntimeError):  # a closed loop: the send is over
                self._loop.call_soon_threadsafe(self._ready.set)

    def _read(self) -> None:
        try:
            for item in self._iterator:
                with self._lock:
                    if self._stopped.is_set():
                        return  # taken after the stop: the send has ended without it
                    self._held = item  # taken from the input: stop() must see it
                while not self._room.acquire(timeout=0.1):
                    if self._stopped.is_set():
                        return
                with self._lock:
                    if self._stopped.is_set():
                        return
                    self._buffer.append(item)
                    self._held = _NOTHING
                self._wake()
        except BaseException as exc:  # handed to the feeder, which raises it in the caller
            self._error = exc
        finally:
            self._done = True
            self._wake()

    async def get(self) -> Any:
        while True:
            if self._buffer:
                with self._lock:
                    item = self._buffer.popleft()
                self._room.release()
                return item
            if self._done:
                if self._buffer:
                    continue
                if self._error is not None:
                    raise self._error
                return self._END
            self._ready.clear()
            self._waiting = True
            if self._buffer or self._done:
                self._waiting = False
                continue
            await self._ready.wait()

    def stop(self) -> list[Any]:
        """Take nothing more; return what was taken from the input but not handed over."""
        with self._lock:
            self._stopped.set()
            left = list(self._buffer)
            if self._held is not _NOTHING:
                left.append(self._held)
            self._buffer.clear()
            self._held = _NOTHING
        return left


def _cancelling() -> int:
    task = asyncio.current_task()
    return task.cancelling() if task is not None and hasattr(task, "cancelling") else 0


def _cancelled_from_outside(stopping: bool, before: int | None) -> bool:
    """Whether the CancelledError in hand came from outside (a timeout, a task group), rather
    than from a stop, which cancels the feeder: the task counts cancellations on 3.11+ (a
    stop's cancel is folded into an outside one when both come in the same pass)."""
    if before is not None and hasattr(asyncio.current_task(), "cancelling"):
        return _cancelling() > before
    return not stopping


def _uncancel() -> None:
    # The watchdog's cancel is handled: take it back, so that the lane task can be cancelled
    # again later (Python 3.11+; on 3.10 a task does not count its cancellations).
    task = asyncio.current_task()
    if task is not None and hasattr(task, "uncancel"):
        task.uncancel()


class _AsyncInput:
    """An async iterable (a queue a server feeds) as an input: awaited on the loop itself."""

    def __init__(self, iterable: AsyncIterable[Any]) -> None:
        self._iterator: AsyncIterator[Any] = iterable.__aiter__()

    async def get(self) -> Any:
        try:
            return await self._iterator.__anext__()
        except StopAsyncIteration:
            return _Input._END


class Engine:
    """One send: feeds deliveries to lanes on the running loop and emits their results."""

    def __init__(
        self, transport: Transport, options: Options, emit: Callable[[Result], None]
    ) -> None:
        self.transport = transport
        self.options = options
        self.emit = emit
        self.stopping = False
        self.gave_up: str | None = None
        """Why the engine gave up on the target (consecutive failures), if it did."""
        self._failures_in_a_row = 0
        self.interrupted = False
        self.error: BaseException | None = None
        """An exception the input or the result callback raised; run() raises it at the end."""
        self._next_slot: float | None = None if options.rate is None else 0.0
        self._stop_event: asyncio.Event | None = None
        self._now = asyncio.Event()  # set by stop(now=True)
        self._cancelled: asyncio.CancelledError | None = None
        """A cancellation from outside, which run() raises again at the end."""
        self._lanes: list[_Lane] = []
        self._lane_tasks: list[asyncio.Task[None]] = []
        self._in_hand: list[Job | None] = []
        self._feeding: Job | None = None
        self._feeder: asyncio.Task[None] | None = None
        self._opening: asyncio.Future[None] | None = None
        self._input: _Input | None = None
        self._taken = 0
        self._due: list[float] = []
        self._expired: list[bool] = []

    def stop(self, now: bool = False) -> None:
        """Send nothing more; with `now`, abandon the requests in flight too (Ctrl-C)."""
        self.stopping = True
        self.interrupted = self.interrupted or now
        if self._stop_event is not None:
            self._stop_event.set()
        if self._feeder is not None:
            self._feeder.cancel()
        if self._opening is not None:
            self._opening.cancel()
        if now:
            self._now.set()
            for task in self._lane_tasks:
                task.cancel()

    def _outside_cancel(self, exc: asyncio.CancelledError) -> None:
        if self._cancelled is None:
            self._cancelled = exc
        self.stop(now=True)

    async def run(self, deliveries: Iterable[Any] | AsyncIterable[Any]) -> None:
        """Deliver everything (or until stopped); every delivery taken gets one result.

        Raises what the input or the result callback raised, once every delivery taken has
        its result; a cancellation from outside stops the send at once (as Ctrl-C does).
        """
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        if self.stopping:
            self._stop_event.set()
        count = self.options.concurrency
        self._lanes = [_Lane() for _ in range(count)]
        self._in_hand = [None] * count
        self._due = [0.0] * count
        self._expired = [False] * count
        watchdog: asyncio.Task[None] | None = None
        sequence = isinstance(deliveries, list | tuple)
        cancels = _cancelling()  # the caller's task may have handled cancellations before
        try:
            if not self.stopping:
                # A task of its own, so that a stop can cancel an app's slow startup.
                self._opening = asyncio.ensure_future(self.transport.open())
                try:
                    await self._opening
                finally:
                    self._opening = None
                if _cancelling() > cancels:  # asgi-lifespan's startup swallows a cancel
                    raise asyncio.CancelledError
            if not self.stopping:
                self._lane_tasks = [
                    asyncio.ensure_future(self._lane(i, lane)) for i, lane in enumerate(self._lanes)
                ]
                watchdog = asyncio.ensure_future(self._watch())
                source: Any = deliveries
                if hasattr(deliveries, "__aiter__"):
                    source = _AsyncInput(deliveries)  # type: ignore[arg-type]
                elif not sequence:
                    source = self._input = _Input(deliveries, loop, _INPUT_DEPTH)
                self._feeder = asyncio.ensure_future(self._feed(source, sequence))
                try:
                    await self._feeder
                except asyncio.CancelledError:
                    if _cancelled_from_outside(self.stopping, cancels):
                        raise  # not a stop's: a cancellation from outside, handled below
                except Exception as exc:  # the input raised: stop, report, then raise it
                    self.error = self.error or exc
                    self.stop()
        except asyncio.CancelledError as exc:
            if _cancelled_from_outside(self.stopping, cancels):
                self._outside_cancel(exc)  # from outside (a timeout, a task group): as Ctrl-C
        finally:
            try:
                await self._finish(deliveries if sequence else None)
            finally:
                if watchdog is not None:
                    watchdog.cancel()
        if self._cancelled is not None:
            # Its message kept: anyio tells its own cancel scope's cancellation by it.
            raise asyncio.CancelledError(*self._cancelled.args)
        if self.error is not None:
            raise self.error

    async def _finish(self, sequence: Any) -> None:
        if self._feeding is not None:
            self._emit(not_sent(self._feeding))
            self._feeding = None
        if self._input is not None:
            for index, item in enumerate(self._input.stop(), self._taken):
                self._emit(not_sent(_job_or_stub(index, item)))
                self._taken = index + 1
        try:
            if self._lane_tasks:
                await self._end_lanes()
        finally:  # whatever happened while the lanes ended, each delivery gets its result
            for i, job in enumerate(self._in_hand):
                if job is not None:
                    self._emit(not_sent(job, IN_FLIGHT))
                    self._in_hand[i] = None
            for lane in self._lanes:
                while lane.jobs:
                    self._emit(not_sent(lane.jobs.popleft()))
            if sequence is not None:
                for index in range(self._taken, len(sequence)):
                    self._emit(not_sent(_job_or_stub(index, sequence[index])))
                self._taken = len(sequence)

    async def _end_lanes(self) -> None:
        for lane in self._lanes:
            lane.close()  # each lane ends once it has taken what it holds
        # A stop lets the lanes finish (their deliveries become not-sent); Ctrl-C cancels
        # them, and an app that swallows the cancel is left behind after a grace, its
        # delivery reported as not-sent. A cancellation from outside counts as Ctrl-C, as
        # often as it comes (anyio's cancel scopes cancel again on every pass of the loop).
        loop = asyncio.get_running_loop()
        lanes = asyncio.gather(*self._lane_tasks, return_exceptions=True)
        now = asyncio.ensure_future(self._now.wait())
        deadline: float | None = None
        try:
            while not lanes.done():
                if deadline is None and self._now.is_set():
                    deadline = loop.time() + _STOP_GRACE
                if deadline is not None and loop.time() >= deadline:
                    break
                waits = [lanes] if deadline is not None else [lanes, now]
                left = None if deadline is None else deadline - loop.time()
                try:
                    await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                except asyncio.CancelledError as exc:  # from outside, while the lanes end
                    self._outside_cancel(exc)
        finally:
            now.cancel()
            if not lanes.done():
                lanes.cancel()

    async def _feed(self, source: Any, sequence: bool) -> None:
        speed = self.options.speed
        start = time.monotonic()
        first_offset: int | None = None
        lanes = self._lanes
        count = len(lanes)
        index = 0
        iterator = iter(source) if sequence else None
        while True:
            if iterator is not None:
                item = next(iterator, _Input._END)
            else:
                item = await source.get()
            if item is _Input._END:
                return
            index += 1
            self._taken = index
            try:
                job = job_of(index - 1, item)
            except (TypeError, ValueError) as exc:  # not JSON (a set, a NaN): its result, go on
                bad = _job_or_stub(index - 1, item)
                self._emit(
                    bad.result(0, None, 0.0, DeliveryOutcome.ERROR, error=f"not JSON: {exc}")
                )
                continue
            self._feeding = job
            if speed is not None and job.offset_ms is not None:
                if first_offset is None:
                    first_offset = job.offset_ms
                delay = start + (job.offset_ms - first_offset) / 1000 / speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            # One lane per recording keeps its callbacks in order (unless the job names one).
            if job.lane is not None:
                lane = lanes[job.lane % count]
            elif count == 1:
                lane = lanes[0]
            else:
                if job.recording_url is None and type(job.callback) is bytes:
                    job.recording_url = _recording_url_in(job.body)  # keeps raw bodies in order
                key = job.recording_url or str(job.index)
                lane = lanes[zlib.crc32(key.encode()) % count]
            if len(lane.jobs) >= _LANE_DEPTH:
                await lane.room()
            lane.put(job)
            self._feeding = None

    def _emit(self, result: Result) -> None:
        # The caller's callback runs here; if it raises (a closed pipe), the send ends at once
        # and run() raises the error once every delivery has its result.
        try:
            self.emit(result)
        except BaseException as exc:
            if self.error is None:
                self.error = exc
                self.stop(now=True)

    async def _pace(self) -> None:
        # `rate`: at most that many attempts a second across every lane, counted when each
        # attempt starts (so a stalled receiver is not followed by a burst).
        rate = self.options.rate
        assert rate is not None and self._next_slot is not None
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1 / rate
        if slot > now:
            await self._sleep(slot - now)

    async def _lane(self, number: int, lane: _Lane) -> None:
        emit, in_hand, jobs = self._emit, self._in_hand, lane.jobs
        retries = self.options.retries
        while True:
            if not jobs:
                await lane.wait()
                if not jobs:
                    return  # closed, and everything taken
            job = lane.take()
            if self._next_slot is not None and not self.stopping:
                try:
                    await self._pace()  # ends early on a stop
                except asyncio.CancelledError:  # Ctrl-C: taken, never sent
                    emit(not_sent(job))
                    raise
            if self.stopping:
                emit(not_sent(job))
                continue
            in_hand[number] = job
            if retries:
                result = await self._with_retries(job, number)
            else:
                result = (await self._attempt(job, 1, number))[0]
            in_hand[number] = None
            emit(result)
            if self.options.max_failures is not None:
                self._count_failure(result)

    def _count_failure(self, result: Result) -> None:
        # A target that answers nothing, several times in a row, is dead or silent: the rest
        # would only wait out their timeouts. Any answer, whatever its status, resets the run.
        limit = self.options.max_failures
        assert limit is not None
        if result.status is not None:
            self._failures_in_a_row = 0
            return
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= limit and not self.stopping:
            self.gave_up = (
                f"gave up after {limit} deliveries in a row without an answer "
                f"(the last: {result.outcome.value}: {result.error})"
            )
            self.stop()

    async def _with_retries(self, job: Job, lane: int) -> Result:
        from tenacity import AsyncRetrying, retry_if_result, stop_after_attempt, stop_when_event_set
        from tenacity.wait import wait_random_exponential

        options = self.options
        backoff = wait_random_exponential(multiplier=options.backoff, max=MAX_BACKOFF)
        attempts: list[_Attempt] = []

        def wait(state: Any) -> float:
            after = state.outcome.result()[1] if state.outcome is not None else None
            return after if after is not None else backoff(state)

        async def once() -> _Attempt:
            if attempts and self.stopping:
                return attempts[-1]  # stopped during the backoff: the last answer stands
            attempts.append(await self._attempt(job, len(attempts) + 1, lane))
            return attempts[-1]

        retrying = AsyncRetrying(
            retry=retry_if_result(_retryable),
            stop=stop_after_attempt(options.retries + 1) | stop_when_event_set(self._stop_event),
            wait=wait,
            sleep=self._sleep,
            retry_error_callback=lambda state: state.outcome.result(),
        )
        final: _Attempt = await retrying(once)
        return final[0]

    async def _sleep(self, seconds: float) -> None:
        # A backoff ends early when the send is stopped.
        assert self._stop_event is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), seconds)

    async def _watch(self) -> None:
        """Cancel each attempt that outlives its deadline (one task for every lane: cheaper
        than a timer per request, and a few tens of milliseconds late at most). A cancel the
        transport or an app swallowed is sent again on the next tick."""
        clock = time.monotonic  # the attempts' clock (uvloop's loop.time() is another)
        tick = min(0.05, self.options.timeout / 10)
        due, expired, tasks = self._due, self._expired, self._lane_tasks
        last_cancel = [0.0] * len(due)
        while True:
            await asyncio.sleep(tick)
            now = clock()
            for lane, when in enumerate(due):
                # Again only after a few ticks: a lane that has not run yet must not get a
                # second cancel, which would land after the first was handled.
                if when and now >= when and now - last_cancel[lane] >= 4 * tick:
                    expired[lane] = True
                    last_cancel[lane] = now
                    tasks[lane].cancel()

    async def _attempt(self, job: Job, number: int, lane: int) -> _Attempt:
        timeout = self.options.timeout
        answer: Answer | None = None
        outcome: DeliveryOutcome
        error: str | None = None
        began = _clock()
        self._due[lane] = began + timeout
        try:
            if job.headers:
                answer = await self.transport.post(job.body, job.headers)
            else:
                answer = await self.transport.post(job.body)
        except asyncio.CancelledError:
            if not self._expired[lane]:
                raise  # a stop, not the deadline
            _uncancel()
            answer = None
        except TransportFailure as failure:
            outcome, error = failure.outcome, str(failure)
        except Exception as exc:  # never a dead lane: a result, whatever went wrong
            outcome, error = DeliveryOutcome.ERROR, f"{type(exc).__name__}: {exc}"
        finally:
            self._due[lane] = 0.0
        elapsed = _clock() - began
        if self._expired[lane] or elapsed > timeout:
            # Past the deadline, even if an answer came: an app that swallowed the cancel, or
            # one that blocked the loop (then the watchdog could not run at all).
            if self._expired[lane] and answer is not None:
                _uncancel()
            self._expired[lane] = False
            answer, outcome = None, DeliveryOutcome.TIMEOUT
            error = f"no answer within {timeout:g} s"
        latency = elapsed * 1000
        if answer is None:
            return job.result(number, None, latency, outcome, error=error), None
        status = answer.status
        body = answer.body
        excerpt = body[: EXCERPT * 4].decode("utf-8", "replace")[:EXCERPT] if body else ""
        outcome = _DELIVERED if 200 <= status < 300 else DeliveryOutcome.of_status(status)
        result = Result(
            job.index, job.callback, job.recording_url, job.quirk, number, status, latency,
            outcome, excerpt, None, answer.app_error, answer.resent,
        )  # fmt: skip
        if status == 429 or status >= 500:
            return result, retry_after(answer.headers)
        return result, None
