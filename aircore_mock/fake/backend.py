"""The fake's state: one resettable backend, as moto's are; HTTP is a layer over it.

The backend is plain, thread-safe Python: the Starlette app, the Python API (`FakeAircore`)
and the dispatcher that sends callbacks all read and change the same object, so in-process
and server mode share one state. It does no I/O: callbacks it decides to send go to an
outbox that the dispatcher drains, and the dispatcher reports each delivery's `Result` back.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .. import model
from ..errors import AircoreMockError, UsageError, number, seconds
from ..model import Callback
from ..results import Result
from ..server import ServedSummary
from .clock import Clock
from .request import (
    REDACTED,
    SecretValues,
    check_request,
    describe,
    effective_region,
    redact,
    redact_url,
    server_region,
    stop_url,
    upload_address,
    upload_problem,
)


class ApiError(AircoreMockError):
    """An answer other than success: the status and the message of the error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class SentCallback:
    """One callback the fake sent (or is sending), and what became of its delivery."""

    seq: int
    """Position in the order the fake sent callbacks, from 0."""
    payload: Callback
    recording_id: str
    callback_url: str
    result: Result | None = None
    """The engine's result (status, latency, attempts, outcome); None while in flight."""
    generation: int = 0

    @property
    def event(self) -> str:
        return str(self.payload["event"])

    @property
    def delivered(self) -> bool:
        """The receiver answered with a 2xx."""
        return self.result is not None and self.result.delivered

    @property
    def shown_url(self) -> str:
        """The callback URL as written anywhere (secret query parameters redacted)."""
        return redact_url(self.callback_url)

    def to_json(self) -> dict[str, Any]:
        result = self.result
        return {
            "seq": self.seq,
            "event": self.event,
            "recording_id": self.recording_id,
            "callback_url": self.shown_url,
            "callback": self.payload,
            "delivery": None
            if result is None
            else {
                "outcome": result.outcome.value,
                "status": result.status,
                "latency_ms": round(result.latency_ms, 3),
                "attempts": result.attempts,
                "error": result.error,
                "body": result.body,
            },
        }


@dataclass
class ApiRecording:
    """A recording started through the API: its state, settings and callbacks."""

    id: str
    """The recording id: the last segment of `url`, and part of the uploaded file's name."""
    url: str
    """The internal recording URL that callbacks carry in `recording.url`."""
    stop_url: str
    """What `POST /recording` answered as `url`: DELETE it to stop the recording."""
    start_time: int
    user_id: str
    channel_id: str
    callback_url: str | None
    request: dict[str, Any]
    """The start request's body, secrets redacted."""
    state: Literal["started", "stopped"] = "started"
    elapsed_time: int = 0
    stop_reason: str | None = None
    upload: Literal["pending", "uploaded", "upload-failed"] | None = None
    """None while recording; `pending` between the stop and the upload callback."""
    address: str | None = None
    failure_family: str | None = None
    failure_reason: str | None = None
    callbacks: list[SentCallback] = field(default_factory=list)
    # what the upload needs from the request (never the keys)
    bucket: str = ""
    region: str = ""
    filename: str = ""
    server_side_encryption: str | None = None
    injected_failure: str | None = None
    """A catalogue family to fail the upload with, whatever the settings say."""
    object_key: str | None = None
    """With real uploads: the object's key in `bucket` once S3 has it."""
    object_size: int | None = None
    """With real uploads: the object's size in bytes."""

    def resource(self, now: int) -> dict[str, Any]:
        """The recording resource as the API shows it."""
        elapsed = now - self.start_time if self.state == "started" else self.elapsed_time
        return {
            "url": self.stop_url,
            "state": self.state,
            "startTime": self.start_time,
            "elapsedTime": max(0, elapsed),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "stop_url": self.stop_url,
            "state": self.state,
            "start_time": self.start_time,
            "elapsed_time": self.elapsed_time,
            "stop_reason": self.stop_reason,
            "upload": self.upload,
            "address": self.address,
            "failure_family": self.failure_family,
            "failure_reason": self.failure_reason,
            "object": None
            if self.object_key is None
            else {"bucket": self.bucket, "key": self.object_key, "size": self.object_size},
            "user_id": self.user_id,
            "channel_id": self.channel_id,
            "callback_url": None if self.callback_url is None else redact_url(self.callback_url),
            "request": self.request,
            "callbacks": [sent.to_json() for sent in self.callbacks],
        }


@dataclass(frozen=True)
class JournalEntry:
    """One request to the recording API, as the fake saw and answered it (secrets redacted)."""

    seq: int
    at: int
    """Fake time of the request, epoch ms."""
    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: Any
    """The JSON body, secrets redacted; for a body that is not JSON, only its size."""
    recording_id: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


INJECTABLE = ("stop", "upload-failure", "error")
JOURNAL_CAPACITY = 10_000
"""API requests the journal holds (about 1 KB each); older ones are let go, and counted."""
MAX_WAIT_S = 366 * 24 * 3600.0
"""The furthest the clock may be advanced, or a fault put off, in one call: a year."""


@dataclass(frozen=True)
class Injection:
    """A fault waiting for its moment: see `FakeBackend.inject`."""

    what: str
    recording: str | None = None
    reason: str = "allPublishersLeft"
    after: float = 0.0
    family: str | None = None
    status: int = 500

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class RetryPolicy:
    """How callbacks are retried. Aircore's docs say nothing about retries, so the default is
    none: a callback that gets no 2xx is recorded as such and not sent again."""

    retries: int = 0
    backoff: float = 0.5
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int):
            raise UsageError(f"retries must be an integer, got {self.retries!r}")
        if self.retries < 0 or self.retries > 20:
            raise UsageError(f"retries must be between 0 and 20, got {self.retries}")
        if not 0 <= self.backoff <= 60:
            raise UsageError(f"backoff must be between 0 and 60 seconds, got {self.backoff}")
        if not 0 < self.timeout <= 300:
            raise UsageError(f"timeout must be between 0 and 300 seconds, got {self.timeout}")

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


class _Tally:
    """Counts of items (recordings, callbacks) by key, kept as each item changes key, for a
    summary that costs the number of keys rather than the number of items (the control
    page and clients poll it while thousands of callbacks go out).

    `ordered` gives the keys in the order a walk over the items in index order would first
    meet them (the order the summary always had): each key keeps a heap of the indices of
    the items that took it, and an index whose item holds another key by now is dropped
    from the top when the order is asked for.
    """

    __slots__ = ("_counts", "_holders")

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._holders: dict[str, list[int]] = {}

    def move(self, index: int, old: str | None, new: str) -> None:
        """Item `index` goes from key `old` (None: a new item) to `new`."""
        counts = self._counts
        if old is not None:
            counts[old] -= 1
        counts[new] = counts.get(new, 0) + 1
        heapq.heappush(self._holders.setdefault(new, []), index)

    def ordered(self, key_of: Callable[[int], str]) -> dict[str, int]:
        """The counts (keys with none left out), in the order of each key's first holder."""
        firsts = []
        for key, holders in self._holders.items():
            while holders and key_of(holders[0]) != key:
                heapq.heappop(holders)
            if holders:
                firsts.append((holders[0], key))
        return {key: self._counts[key] for _, key in sorted(firsts)}


class Uploader(Protocol):
    """What real uploads need of an uploader (`storage.S3Uploader` is one)."""

    def submit(self, job: Any, done: Callable[[Any], None]) -> None: ...


class FakeBackend:
    """The state of a fake Aircore recording API; every method is thread-safe."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        api_keys: str | Iterable[str] = (),
        public_url: str = "http://aircore-mock.test",
        auto_stop: float | None = None,
        upload_delay: float | None = None,
        seed: int | None = None,
        retry: RetryPolicy | None = None,
        uploader: Uploader | None = None,
    ) -> None:
        from ..generation import Generator

        if auto_stop is not None and not auto_stop >= 0:
            raise UsageError(f"auto_stop must be 0 seconds or more, got {auto_stop}")
        if upload_delay is not None and not upload_delay >= 0:
            raise UsageError(f"upload_delay must be 0 seconds or more, got {upload_delay}")
        self.clock = clock or Clock()
        # A string is one key, not a set of one-letter keys.
        self.api_keys = frozenset([api_keys] if isinstance(api_keys, str) else api_keys)
        if any(not key for key in self.api_keys):
            raise UsageError("an API key must not be empty")
        self.secrets = SecretValues(self.api_keys)
        """Every secret value seen: scrubbed, by value, from everything the fake writes."""
        self.uploader = uploader
        """Real uploads (`[s3]`): PUTs each recording and reports S3's answer; None picks
        the answer from the settings and the catalogue, as without the extra."""
        self.public_url = public_url.rstrip("/")
        self.auto_stop = auto_stop
        self.upload_delay = upload_delay
        self.default_retry = retry or RetryPolicy()
        self.retry = self.default_retry
        self._faker = Generator(seed).faker
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._listeners: list[Callable[[], None]] = []
        self.on_journal: Callable[[JournalEntry], None] | None = None
        self.on_result: Callable[[SentCallback], None] | None = None
        self._generation = 0
        self._clear()

    def _clear(self) -> None:
        self._recordings: dict[str, ApiRecording] = {}
        self._started: list[ApiRecording] = []  # start order, as `_recordings`, by index
        self._place: dict[str, int] = {}  # a recording's index in `_started`
        self._states = _Tally()  # recordings by `upload or state`, as `summary` counts them
        self._outcomes = _Tally()  # callbacks by outcome (`in-flight` until a result)
        self._by_url: dict[str, ApiRecording] = {}
        self._journal: collections.deque[JournalEntry] = collections.deque(maxlen=JOURNAL_CAPACITY)
        self._journaled = 0  # every request filed, kept or not
        self._injections: list[Injection] = []
        self._schedule: list[tuple[int, int, str, str, str]] = []
        self._outbox: list[SentCallback] = []
        self._sent: list[SentCallback] = []
        self._keys: dict[str, tuple[str, str, str | None]] = {}
        self._answered = 0
        self._seq = itertools.count()

    # --- listeners: the dispatcher wakes when there is work ------------------------------

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener` (from any thread) whenever callbacks or steps are queued."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    @property
    def generation(self) -> int:
        """Bumped by every reset: results of callbacks sent before it are dropped."""
        return self._generation

    # --- the API -------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        """With no API keys configured, any non-empty bearer key is accepted."""
        return not self.api_keys

    def authorize(self, header: str | None) -> None:
        """Raise a 401 unless `header` is `Bearer <a key this fake accepts>`."""
        scheme, _, key = (header or "").partition(" ")
        key = key.strip()
        self.secrets.add(key)
        if scheme.lower() != "bearer" or not key:
            raise ApiError(401, "missing bearer token: send 'Authorization: Bearer <API key>'")
        if self.api_keys and key not in self.api_keys:
            raise ApiError(401, "invalid token")

    def injected_error(self, recording_id: str | None = None) -> int | None:
        """The 5XX status injected for this request, if any (taking it uses it up)."""
        with self._lock:
            for index, injection in enumerate(self._injections):
                if injection.what != "error":
                    continue
                if injection.recording is None or injection.recording == recording_id:
                    del self._injections[index]
                    return injection.status
        return None

    def start(self, body: Any) -> ApiRecording:
        """Start a recording from a start-recording body (checked here: 400 when invalid)."""
        problems = check_request(body)
        if problems:
            raise ApiError(400, describe(problems))
        callback_url = body.get("callback_url")
        if callback_url is not None and not callback_url.lower().startswith(
            ("http://", "https://")
        ):
            raise ApiError(400, "$.callback_url: must be an http or https URL")
        status = self.injected_error()
        if status is not None:
            raise ApiError(status, "failed to start the recording (injected)")
        storage, s3, location = body["storage"], body["storage"]["s3"], body["location"]
        with self._lock:
            now = self.clock.now()
            url = self._new_url(now, location["latitude"], location["longitude"])
            recording = ApiRecording(
                id=model.recording_id(url),
                url=url,
                stop_url=stop_url(self.public_url, url),
                start_time=now,
                user_id=body["user_id"],
                channel_id=body["channel_id"],
                callback_url=callback_url,
                request=redact(body),
                bucket=s3["bucket"],
                region=s3["region"],
                filename=storage["filename"],
                server_side_encryption=s3.get("server_side_encryption"),
            )
            self._recordings[recording.id] = recording
            self._place[recording.id] = len(self._started)
            self._started.append(recording)
            self._states.move(self._place[recording.id], None, "started")
            self._by_url[url] = recording
            if self.uploader is not None:  # kept in memory for the upload, never written
                token = s3.get("session_token")
                self._keys[recording.id] = (
                    s3["access_key_id"],
                    s3["secret_access_key"],
                    token if isinstance(token, str) and token else None,
                )
            self._send(recording, model.started(url, now))
            stop_after = self.auto_stop
            for injection in self._take_injections():
                stop_after = self._apply(recording, injection, stop_after)
            if stop_after is not None:
                self._at(now + round(stop_after * 1000), recording.id, "stop", "allPublishersLeft")
        self._notify()
        return recording

    def _new_url(self, now: int, latitude: float, longitude: float) -> str:
        while True:
            url = self._faker.recording_url(
                start_time=now, region=server_region(latitude, longitude)
            )
            if url not in self._by_url:
                return str(url)

    def find(self, identifier: str) -> ApiRecording | None:
        """A recording by its id, internal URL or stop URL."""
        with self._lock:
            found = self._recordings.get(identifier) or self._by_url.get(identifier)
            if found is None:
                prefix = self.public_url + "/recording/"
                if identifier.startswith(prefix):
                    from urllib.parse import unquote

                    found = self._by_url.get(unquote(identifier[len(prefix) :]))
            return found

    def stop(self, internal_url: str | None) -> ApiRecording:
        """Stop a recording by its internal URL (what the stop URL carries): 400, 404 or 5XX
        as Aircore documents them."""
        if not internal_url:
            raise ApiError(400, "missing unique recording identifier")
        with self._lock:
            recording = self._by_url.get(internal_url)
            prefix = self.public_url + "/recording/"
            if recording is None and internal_url.startswith(prefix):
                # the whole stop URL as the identifier (what OpenAPI's link from the start's
                # `url` hands a client): the same recording
                from urllib.parse import unquote

                recording = self._by_url.get(unquote(internal_url[len(prefix) :]))
            status = self.injected_error(recording.id if recording else None)
            if status is not None:
                raise ApiError(status, "failed to stop the recording (injected internal error)")
            if recording is None:
                raise ApiError(404, "recording not found")
            if recording.state != "started":
                raise ApiError(404, "recording not found: it has already stopped")
            self._stop(recording, "clientStopped", self.clock.now())
        self._notify()
        return recording

    def stop_recording(self, identifier: str) -> ApiRecording:
        """Stop a recording (id, URL or stop URL) as its client would (`clientStopped`), from
        the control page or API: not an API request, so no injected error is used up and
        nothing is journaled. 404 when unknown or already stopped."""
        with self._lock:
            recording = self.find(identifier)
            if recording is None:
                raise ApiError(404, "no such recording")
            if recording.state != "started":
                raise ApiError(404, "the recording has already stopped")
            self._stop(recording, "clientStopped", self.clock.now())
        self._notify()
        return recording

    # --- steps in time -------------------------------------------------------------------

    def _at(self, due: int, recording_id: str, step: str, detail: str = "") -> None:
        heapq.heappush(self._schedule, (due, next(self._seq), recording_id, step, detail))

    def next_due(self) -> int | None:
        """Fake time of the next scheduled step (an auto-stop or an upload), if any."""
        with self._lock:
            return self._schedule[0][0] if self._schedule else None

    def run_due(self, *, jump: bool = False) -> int:
        """Run every step that is due; with `jump` (instant mode) run every step, moving the
        clock to each. Returns how many ran."""
        ran = 0
        with self._lock:
            while self._schedule:
                due = self._schedule[0][0]
                if jump:
                    now = self.clock.reach(due)
                else:
                    now = self.clock.now()
                    if due > now:
                        break
                _, _, recording_id, step, detail = heapq.heappop(self._schedule)
                self._step(recording_id, step, detail, due)
                ran += 1
        if ran:
            self._notify()
        return ran

    def advance(self, seconds: float) -> int:
        """Move the clock forward and run every step due by then, each at its own time."""
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds < 0:
            raise UsageError(f"time only moves forward: advance({seconds!r})")
        # Bounded: a clock pushed past what a timestamp can hold would break every later
        # callback (and the fake with it).
        seconds = number("seconds", seconds, low=0, high=MAX_WAIT_S)
        with self._lock:
            target = self.clock.now() + round(seconds * 1000)
            ran = 0
            while self._schedule and self._schedule[0][0] <= target:
                due, _, recording_id, step, detail = heapq.heappop(self._schedule)
                self.clock.reach(due)
                self._step(recording_id, step, detail, due)
                ran += 1
            self.clock.reach(target)
        if ran:
            self._notify()
        return ran

    def _step(self, recording_id: str, step: str, detail: str, due: int) -> None:
        recording = self._recordings.get(recording_id)
        if recording is None:
            return
        if step == "stop" and recording.state == "started":
            self._stop(recording, detail, due)
        elif step == "upload" and recording.upload == "pending":
            self._upload(recording, due)

    def _stop(self, recording: ApiRecording, reason: str, at: int) -> None:
        before = recording.upload or recording.state
        recording.state = "stopped"
        recording.elapsed_time = max(0, at - recording.start_time)
        recording.stop_reason = reason
        recording.upload = "pending"
        self._restate(recording, before)
        elapsed = recording.elapsed_time
        callback = model.stopped(recording.url, recording.start_time, elapsed, reason, timestamp=at)
        self._send(recording, callback)
        if self.upload_delay is not None:
            delay = round(self.upload_delay * 1000)
        else:
            delay = int(self._faker.upload_delay(elapsed))
        self._at(at + delay, recording.id, "upload")

    def _upload(self, recording: ApiRecording, at: int) -> None:
        family, bad_region = recording.injected_failure, None
        if family is None:
            problem = upload_problem(
                recording.bucket, recording.region, recording.server_side_encryption
            )
            if problem is not None:
                family, bad_region = problem
        start, elapsed = recording.start_time, recording.elapsed_time
        keys = self._keys.get(recording.id)
        if family is None and self.uploader is not None and keys is not None:
            self._put(recording, keys)
            return
        self._keys.pop(recording.id, None)
        if family is None:
            region = effective_region(recording.region).lower()
            recording.upload = "uploaded"
            recording.address = upload_address(
                recording.bucket, region, recording.filename, recording.id
            )
            callback = model.uploaded(
                recording.url, start, elapsed, recording.address, region, timestamp=at
            )
        else:
            if bad_region is not None:
                from ..generation.facts import failure_for_region

                entry = failure_for_region(bad_region)
                reason = entry.render(bucket=recording.bucket, bad_region=bad_region)
            else:
                entry, reason = self._faker.upload_failure(
                    family, bucket=recording.bucket, region=recording.region
                )
            recording.upload = "upload-failed"
            recording.failure_family = entry.family
            recording.failure_reason = reason
            callback = model.upload_failed(recording.url, start, elapsed, reason, timestamp=at)
        self._restate(recording, "pending")  # (`_step` runs an upload only while pending)
        self._send(recording, callback)

    def _put(self, recording: ApiRecording, keys: tuple[str, str, str | None]) -> None:
        # Real upload: S3 answers on an uploader thread; its answer decides the callback.
        from .storage import UploadJob

        job = UploadJob(
            recording_id=recording.id,
            bucket=recording.bucket,
            region=effective_region(recording.region).lower(),
            key=f"{recording.filename}_{recording.id}.m4a",
            elapsed_ms=recording.elapsed_time,
            access_key_id=keys[0],
            secret_access_key=keys[1],
            session_token=keys[2],
            server_side_encryption=recording.server_side_encryption,
        )
        generation, uploader = self._generation, self.uploader
        assert uploader is not None
        uploader.submit(job, lambda outcome: self._uploaded(job, generation, outcome))

    def _uploaded(self, job: Any, generation: int, outcome: Any) -> None:
        """S3's answer to a recording's PUT (from an uploader thread)."""
        from .storage import failure_family

        with self._lock:
            recording = self._recordings.get(job.recording_id)
            if generation != self._generation or recording is None:
                return
            self._keys.pop(recording.id, None)
            if recording.upload != "pending":
                return
            at = self.clock.now()
            start, elapsed = recording.start_time, recording.elapsed_time
            if outcome.ok:
                recording.upload = "uploaded"
                recording.object_key, recording.object_size = job.key, outcome.size
                recording.address = upload_address(
                    recording.bucket, job.region, recording.filename, recording.id
                )
                callback = model.uploaded(
                    recording.url, start, elapsed, recording.address, job.region, timestamp=at
                )
            else:
                family = failure_family(outcome.code)
                if family is not None:
                    _, reason = self._faker.upload_failure(
                        family, bucket=recording.bucket, region=recording.region
                    )
                else:  # a code the catalogue does not know: S3's own words
                    family, reason = outcome.code, outcome.message or outcome.code
                recording.upload = "upload-failed"
                recording.failure_family = family
                recording.failure_reason = self.secrets.scrub(reason)
                callback = model.upload_failed(
                    recording.url, start, elapsed, recording.failure_reason, timestamp=at
                )
            self._restate(recording, "pending")
            self._send(recording, callback)
        self._notify()

    def _restate(self, recording: ApiRecording, before: str) -> None:
        """Count a recording's change of `upload or state` (what `summary` counts)."""
        after = recording.upload or recording.state
        if after != before:
            self._states.move(self._place[recording.id], before, after)

    def _send(self, recording: ApiRecording, callback: Callback) -> None:
        if recording.callback_url is None:
            return
        sent = SentCallback(
            len(self._sent),
            callback,
            recording.id,
            recording.callback_url,
            generation=self._generation,
        )
        recording.callbacks.append(sent)
        self._sent.append(sent)
        self._outcomes.move(sent.seq, None, "in-flight")
        self._outbox.append(sent)

    def take_outbox(self) -> list[SentCallback]:
        """The callbacks to send now, in order (the dispatcher's)."""
        with self._lock:
            out, self._outbox = self._outbox, []
            return out

    def finished(self, sent: SentCallback) -> bool:
        """Whether `sent` is the last callback its recording will send."""
        return sent.event in (model.UPLOADED, model.UPLOAD_FAILED)

    def record_result(self, sent: SentCallback, result: Result) -> None:
        """File a delivery's result (from the dispatcher)."""
        with self._changed:
            if sent.generation != self._generation or sent.result is not None:
                return
            sent.result = result
            self._outcomes.move(sent.seq, "in-flight", result.outcome.value)
            self._answered += 1
            self._changed.notify_all()
        if self.on_result is not None:
            self.on_result(sent)

    # --- faults --------------------------------------------------------------------------

    def inject(
        self,
        what: str,
        *,
        recording: str | None = None,
        reason: str = "allPublishersLeft",
        after: float = 0.0,
        family: str | None = None,
        status: int = 500,
    ) -> Injection:
        """Inject a fault, for one recording (id, URL or stop URL) or the next one started.

        - `stop`: the recording stops with `reason` (allPublishersLeft or serverError) `after`
          seconds (from now, or from the next recording's start);
        - `upload-failure`: its upload fails with the catalogue's `family` (access-denied,
          no-such-bucket, kms-access-denied, ...);
        - `error`: the next API request answers `status` (a 5XX); for a recording, its next
          DELETE does, and the recording keeps recording.
        """
        if what not in INJECTABLE:
            raise UsageError(f"cannot inject {what!r}; choose from {', '.join(INJECTABLE)}")
        if what == "stop":
            reasons = model.lifecycle().stop_reasons
            if reason not in reasons:
                raise UsageError(f"unknown stop reason {reason!r}; known: {', '.join(reasons)}")
            number("after", after, low=0, high=MAX_WAIT_S)
        if what == "upload-failure":
            from ..generation.facts import failure_families

            if family not in failure_families():
                known = ", ".join(failure_families())
                raise UsageError(f"unknown upload failure {family!r}; known: {known}")
        if what == "error" and (
            isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599
        ):
            raise UsageError(f"an injected error is a 5XX status, got {status!r}")
        if recording is not None and not isinstance(recording, str):
            raise UsageError(f"recording must be an id or a URL (a string), got {recording!r}")
        with self._lock:
            target = None
            if recording is not None:
                found = self.find(recording)
                if found is None:
                    raise UsageError(f"no recording {recording!r}")
                target = found.id
            injection = Injection(what, target, reason, float(after), family, status)
            if target is None or what == "error":
                self._injections.append(injection)
            else:
                self._apply(self._recordings[target], injection, None)
        self._notify()
        return injection

    def _take_injections(self) -> list[Injection]:
        # The faults waiting for the next recording started (errors wait for a request).
        taken = [i for i in self._injections if i.what != "error" and i.recording is None]
        self._injections = [i for i in self._injections if i not in taken]
        return taken

    def _apply(
        self, recording: ApiRecording, injection: Injection, stop_after: float | None
    ) -> float | None:
        if injection.what == "upload-failure":
            recording.injected_failure = injection.family
            return stop_after
        if recording.state == "started":
            due = self.clock.now() + round(injection.after * 1000)
            self._at(due, recording.id, "stop", injection.reason)
        return None  # an injected stop replaces the auto-stop

    @property
    def injections(self) -> list[Injection]:
        """Faults still waiting for their moment."""
        with self._lock:
            return list(self._injections)

    def set_retry(self, policy: RetryPolicy) -> None:
        """Retry callbacks from now on as `policy` says."""
        with self._lock:
            self.retry = policy

    # --- reading -------------------------------------------------------------------------

    @property
    def recordings(self) -> list[ApiRecording]:
        """Every recording started since the last reset, in start order (copies)."""
        import copy

        with self._lock:
            return [copy.copy(r) for r in self._recordings.values()]

    @property
    def callbacks(self) -> list[SentCallback]:
        """Every callback sent since the last reset, in send order."""
        with self._lock:
            return list(self._sent)

    @property
    def journal(self) -> list[JournalEntry]:
        """The requests to the recording API since the last reset (secrets redacted): the
        last `JOURNAL_CAPACITY` of them (`journal_dropped` counts the older ones let go)."""
        with self._lock:
            return list(self._journal)

    def journal_page(self, after: int = -1, limit: int | None = None) -> list[JournalEntry]:
        """The journal's entries whose `seq` is over `after`, at most `limit` of them."""
        with self._lock:
            entries = [e for e in self._journal if e.seq > after]
        return entries if limit is None else entries[:limit]

    @property
    def journal_dropped(self) -> int:
        """Requests filed since the last reset that the journal no longer holds."""
        with self._lock:
            return self._journaled - len(self._journal)

    def log(self, entry: JournalEntry) -> None:
        """File one API request in the journal (the oldest goes once it is full)."""
        with self._lock:
            self._journal.append(entry)
            self._journaled += 1
        if self.on_journal is not None:
            self.on_journal(entry)

    def next_journal_seq(self) -> int:
        with self._lock:
            return self._journaled

    def wait_for_callbacks(self, count: int, timeout: float = 5.0) -> list[SentCallback]:
        """Block until `count` callbacks have a delivery result; return those (send order)."""
        timeout = seconds("timeout", timeout)
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._answered < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CallbackTimeout(
                        f"{self._answered} of {count} callbacks were delivered (or failed) "
                        f"within {timeout:g} s; {len(self._sent)} sent so far" + self._hint()
                    )
                self._changed.wait(left)
            return [s for s in self._sent if s.result is not None]

    def _hint(self) -> str:
        if self.clock.mode == "manual" and self._schedule:
            return (
                f"; {len(self._schedule)} step(s) wait for the manual clock: "
                "advance(seconds) to run them"
            )
        return ""

    def summary(self) -> FakeSummary:
        """Counts: recordings by state and upload, callbacks by delivery outcome."""
        with self._lock:
            started, sent = self._started, self._sent
            return FakeSummary(
                recordings=len(self._recordings),
                states=self._states.ordered(lambda i: started[i].upload or started[i].state),
                requests=self._journaled,
                callbacks=len(sent),
                deliveries=self._outcomes.ordered(lambda i: _outcome(sent[i])),
            )

    def reset(self) -> None:
        """Forget every recording, request, injection and scheduled step; restore the retry
        policy. The clock keeps its time (timestamps never go backwards)."""
        with self._changed:
            self._generation += 1
            self._clear()
            self.retry = self.default_retry
            self._changed.notify_all()
        self._notify()


def _outcome(sent: SentCallback) -> str:
    return "in-flight" if sent.result is None else sent.result.outcome.value


@dataclass(frozen=True)
class FakeSummary(ServedSummary):
    """What a fake Aircore did: recordings by state, API requests, callbacks by outcome, and
    (once served) the clients its limits refused and the log lines it could not write."""

    recordings: int
    states: dict[str, int]
    """Recordings by state, or by upload (`uploaded`, `upload-failed`) once it is known."""
    requests: int
    """API requests, answered or refused."""
    callbacks: int
    """Callbacks sent (or being sent)."""
    deliveries: dict[str, int]
    """Callbacks by delivery outcome (`delivered`, `rejected`, ..., `in-flight`)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "recordings": self.recordings,
            "states": dict(self.states),
            "requests": self.requests,
            "callbacks": self.callbacks,
            "deliveries": dict(self.deliveries),
        }
        return {**out, **self._served_json()}


class CallbackTimeout(AircoreMockError, TimeoutError):
    """`wait_for_callbacks` gave up: fewer callbacks were delivered than expected in time."""


__all__ = [
    "REDACTED",
    "ApiError",
    "ApiRecording",
    "CallbackTimeout",
    "FakeBackend",
    "FakeSummary",
    "Injection",
    "JournalEntry",
    "RetryPolicy",
    "SentCallback",
]
