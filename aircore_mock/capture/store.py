"""The capture store: every request a receiver got, its verdict, and each recording's order.

One resettable object holds the state (as moto's backends do); the HTTP endpoint and the
server are layers over it, and tests read it directly.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import AircoreMockError, Problem, seconds
from ..model import lifecycle, recording_id
from ..results import Report
from ..server import ServedSummary
from ..validation import checker, explain, undocumented_labels


class WaitTimeout(AircoreMockError, TimeoutError):
    """`wait_for` gave up: fewer callbacks arrived than expected in time."""


CALLBACK_VERDICTS = ("valid", "invalid")


@dataclass(frozen=True)
class CaptureSummary(ServedSummary):
    """What a capture server got: counts by event and verdict, recordings' order, and (from a
    `Receiver`) the clients its limits refused and the log lines it could not write."""

    requests: int
    """Every request, callbacks and others (wrong path, method, not JSON, too big)."""
    callbacks: int
    """Requests whose body was JSON POSTed to the callback path (valid or invalid)."""
    events: dict[str, int]
    """Callbacks by `event` value."""
    verdicts: dict[str, int]
    """Requests by verdict (`valid`, `invalid`, and why the others were not judged)."""
    invalid: int
    out_of_order: int
    """Callbacks that came before one that belongs earlier in their recording's life."""
    duplicates: int
    """Callbacks that repeat one already received (same event, recording and timestamp)."""
    undocumented_fields: tuple[str, ...]
    """Each undocumented field, value and event type seen (JSON paths, sorted)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "requests": self.requests,
            "callbacks": self.callbacks,
            "events": dict(self.events),
            "verdicts": dict(self.verdicts),
            "invalid": self.invalid,
            "out_of_order": self.out_of_order,
            "duplicates": self.duplicates,
            "undocumented_fields": list(self.undocumented_fields),
        }
        return {**out, **self._served_json()}


def payload_of(capture: Capture) -> Any:
    """A capture's parsed JSON payload, parsed again from its body when the store left it
    out (`keep_payloads=False`); None for a request that was not a JSON callback."""
    if capture.payload is not None or capture.verdict not in CALLBACK_VERDICTS:
        return capture.payload
    return orjson.loads(capture.body)


_DOCUMENTED: tuple[str, tuple[Problem, ...], tuple[str, ...]] = ("valid", (), ())


@dataclass(frozen=True)
class Forwarded:
    """What the app behind a forwarding receiver (`--forward-to`) answered a request, or why
    it did not (then the sender got a 502 naming it)."""

    status: int | None
    """The app's status; None when there was no answer (see `error`)."""
    latency_ms: float
    headers: dict[str, str]
    body: bytes
    """The answer's body (its first 64 KiB)."""
    error: str | None = None

    def line(self) -> str:
        """`app 200 3.1 ms`, or `app failed: connection refused by ...`."""
        if self.status is None:
            return f"app failed: {self.error}"
        return f"app {self.status} {self.latency_ms:.1f} ms"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "headers": self.headers,
            "error": self.error,
        }
        try:
            out["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            out["body_base64"] = base64.b64encode(self.body).decode("ascii")
        return out


@dataclass(slots=True)
class Capture:
    """One request the receiver got, what it answered and its verdict (read-only: not
    frozen only because a frozen dataclass costs a capture server ~1.3 us per request)."""

    seq: int
    received_at: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    verdict: str
    """`valid`, `invalid`, `not-json`, `too-large`, `wrong-method` or `wrong-path`."""
    payload: Any = None
    problems: tuple[Problem, ...] = ()
    event: str | None = None
    recording_url: str | None = None
    out_of_order: bool = False
    duplicate: bool = False
    undocumented: tuple[str, ...] = ()
    forwarded: Forwarded | None = None
    """The app's answer, when the receiver forwards (set once, before the capture is shown)."""

    @property
    def is_callback(self) -> bool:
        """A POST of JSON to the callback path (valid or not)."""
        return self.verdict in CALLBACK_VERDICTS

    def line(self) -> str:
        """One human line: event, recording id, verdict."""
        text = (
            f"{self.method} {self.path} {self.status}  {self.event or '-'}  "
            f"{recording_id(self.recording_url)}  {self.verdict}"
        )
        if self.payload is not None:
            reason = self._detail()
            if reason:
                text += f"  ({reason})"
        if self.problems:
            text += f": {self.problems[0]}"
            if len(self.problems) > 1:
                text += f" (and {len(self.problems) - 1} more)"
        if self.out_of_order:
            text += "  [out of order]"
        if self.duplicate:
            text += "  [duplicate]"
        if self.undocumented:
            text += f"  [undocumented: {', '.join(self.undocumented)}]"
        if self.forwarded is not None:
            text += f"  -> {self.forwarded.line()}"
        return text

    def _detail(self) -> str:
        # What a human wants to see of a callback: why it stopped or failed, where it went.
        recording = self.payload.get("recording") if isinstance(self.payload, dict) else None
        if not isinstance(recording, dict):
            return ""
        location = recording.get("location")
        if isinstance(location, dict) and isinstance(location.get("address"), str):
            return str(location["address"])
        reason = recording.get("reason")
        if isinstance(reason, str):
            return reason if len(reason) <= 100 else reason[:97] + "..."
        return ""

    def to_json(self) -> dict[str, Any]:
        """The capture as a JSON-ready dict: the body exactly as received (`body` when it is
        UTF-8 text, else `body_base64`), the parsed `payload` beside it, and the verdict.

        The body is kept as sent because parsing loses things a sender's author needs to see:
        a duplicate key's first value, a 20-digit integer's digits, the key order.
        """
        out: dict[str, Any] = {
            "seq": self.seq,
            "received_at": self.received_at,
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
        }
        try:
            out["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            out["body_base64"] = base64.b64encode(self.body).decode("ascii")
        out.update(
            payload=self.payload,
            status=self.status,
            verdict=self.verdict,
            problems=[vars(p) for p in self.problems],
            event=self.event,
            recording_url=self.recording_url,
            out_of_order=self.out_of_order,
            duplicate=self.duplicate,
            undocumented=list(self.undocumented),
        )
        if self.forwarded is not None:
            out["forwarded"] = self.forwarded.to_json()
        return out


class _Seen:
    """What one recording has sent so far: its callback types and stages, as bits, and the
    furthest stage (a few integers: one of these is kept for every recording a server saw)."""

    __slots__ = ("events", "highest", "ranks")

    def __init__(self) -> None:
        self.events = 0
        self.ranks = 0
        self.highest = -1


class CaptureStore:
    """Thread-safe, resettable state of a capture server.

    `record()` judges a request and files it; `captures`, `callbacks`, `wait_for()` and
    `summary()` read it. With `keep=False` only the counts and each recording's progress are
    kept, so a long-running server does not grow. With `keep_payloads=False` the kept
    captures leave out their parsed `payload` (None; `payload_of()` parses the body again):
    what the inspector page needs of them, at a fraction of the memory.
    """

    def __init__(
        self,
        *,
        strict: bool = False,
        keep: bool = True,
        keep_payloads: bool = True,
        on_capture: Callable[[Capture], None] | None = None,
    ) -> None:
        self.strict = strict
        self.keep = keep
        self.keep_payloads = keep_payloads
        self.on_capture = on_capture
        self._mutex = threading.Lock()  # `record` takes it directly: Condition's `with` is
        self._lock = threading.Condition(self._mutex)  # Python code, on every request
        self._waiting = 0  # threads inside wait_for()
        self._captures: list[Capture] = []
        self._report = Report()
        self._undocumented: set[str] = set()
        self._seen: dict[str, _Seen] = {}
        self._started = time.monotonic()
        self.resets = 0
        """How many times `reset()` emptied the store (a reader's cue to start over)."""
        # Payloads here come from orjson: JSON by construction, so no walk to prove it.
        self._check = checker(strict=False, assume_json=True)
        self._strict_check = checker(strict=True, assume_json=True)
        self._lifecycle = lifecycle()
        life = self._lifecycle
        self._ranks = {life.started: 0, life.stopped: 1, life.uploaded: 2, life.upload_failed: 2}
        # A documented event's own strict schema: what the strict union applies to it, without
        # the union's dispatch (a fast path to "valid"; anything else takes the full checks).
        self._event_bits = {event: 1 << n for n, event in enumerate(self._ranks)}
        self._strict_by_event = {
            event: checker(strict=True, event=event, assume_json=True) for event in self._ranks
        }

    # --- reading --------------------------------------------------------------------------

    @property
    def captures(self) -> list[Capture]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._captures)

    @property
    def callbacks(self) -> list[Any]:
        """The JSON payloads POSTed to the callback path so far, in arrival order."""
        return [payload_of(c) for c in self.captures if c.is_callback]

    @property
    def count(self) -> int:
        """How many captures are kept."""
        return len(self._captures)

    def window(self, offset: int, limit: int) -> tuple[int, list[Capture]]:
        """How many captures are kept, and up to `limit` of them from `offset` on."""
        with self._lock:
            return len(self._captures), self._captures[offset : offset + limit]

    def find(self, seq: int) -> tuple[Capture | None, Capture | None]:
        """The capture numbered `seq`, and the one its recording got before it (if any)."""
        with self._lock:
            captures = self._captures
            index = seq if seq < len(captures) and captures[seq].seq == seq else None
            if index is None:  # numbers and places differ after a --resume of a sparse log
                low, high = 0, len(captures)
                while low < high:
                    middle = (low + high) // 2
                    if captures[middle].seq < seq:
                        low = middle + 1
                    else:
                        high = middle
                if low == len(captures) or captures[low].seq != seq:
                    return None, None
                index = low
            capture = captures[index]
            if capture.recording_url is not None:
                for earlier in reversed(captures[max(0, index - 100_000) : index]):
                    if earlier.recording_url == capture.recording_url:
                        return capture, earlier
            return capture, None

    def load(self, captures: list[Capture]) -> None:
        """Take back captures from a log (`receive --resume`): kept and counted as if they
        had just arrived, with the verdicts and flags they had, numbered on from the last."""
        with self._lock:
            report = self._report
            for capture in captures:
                if self.keep:
                    if not self.keep_payloads:
                        capture.payload = None
                    self._captures.append(capture)
                self._track(capture.event, capture.recording_url)
                report.total = max(report.total, capture.seq + 1)
                report.outcomes[capture.verdict] += 1
                report.statuses[capture.status] += 1
                if capture.is_callback:
                    report.events[capture.event or "(none)"] += 1
                if capture.out_of_order:
                    report.flags["out-of-order"] += 1
                if capture.duplicate:
                    report.flags["duplicate"] += 1
                self._undocumented.update(capture.undocumented)

    def _callback_count(self) -> int:
        return sum(self._report.outcomes[v] for v in CALLBACK_VERDICTS)

    def wait_for(
        self, count: int, timeout: float = 5.0, *, where: str = "the receiver"
    ) -> list[Any]:
        """Block until `count` callbacks have arrived; return them, or raise `WaitTimeout`."""
        timeout = seconds("timeout", timeout)
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._callback_count() < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeout(
                        f"{self._callback_count()} of {count} callbacks arrived at {where} "
                        f"within {timeout:g} s"
                    )
                self._waiting += 1
                try:
                    self._lock.wait(left)
                finally:
                    self._waiting -= 1
            return [payload_of(c) for c in self._captures if c.is_callback]

    @property
    def report(self) -> Report:
        """The tally: requests by verdict, event and status; `flags` counts duplicates and
        out-of-order callbacks (a snapshot)."""
        with self._lock:
            report = Report(
                total=self._report.total,
                outcomes=self._report.outcomes.copy(),
                events=self._report.events.copy(),
                statuses=self._report.statuses.copy(),
                flags=self._report.flags.copy(),
                elapsed_s=time.monotonic() - self._started,
            )
        return report

    def summary(self) -> CaptureSummary:
        """Counts per event type and verdict, out-of-order, duplicates, undocumented fields."""
        report = self.report
        with self._lock:
            undocumented = tuple(sorted(self._undocumented))
        return CaptureSummary(
            requests=report.total,
            callbacks=sum(report.outcomes[v] for v in CALLBACK_VERDICTS),
            events=dict(report.events),
            verdicts=dict(report.outcomes),
            invalid=report.outcomes["invalid"],
            out_of_order=report.flags["out-of-order"],
            duplicates=report.flags["duplicate"],
            undocumented_fields=undocumented,
        )

    def reset(self) -> None:
        """Forget everything captured."""
        with self._lock:
            self._captures.clear()
            self._seen.clear()
            self._undocumented.clear()
            self._report = Report()
            self._started = time.monotonic()
            self.resets += 1

    # --- writing --------------------------------------------------------------------------

    def verdict_of(self, payload: Any) -> tuple[str, tuple[Problem, ...], tuple[str, ...]]:
        """A JSON payload's verdict (`valid` or `invalid`), its problems and its undocumented
        fields."""
        # Strict first: what a sender sends is usually exactly what Aircore documents, and
        # then one check answers both questions (the capture server's hot path).
        event = payload.get("event") if type(payload) is dict else None
        if type(event) is str:  # (not a list or a dict, which cannot be looked up)
            check = self._strict_by_event.get(event)
            if check is not None and check(payload):
                return _DOCUMENTED
        if self._strict_check(payload):
            return _DOCUMENTED
        if self._check(payload):
            # Every undocumented field, value and event type the default mode let through.
            undocumented = undocumented_labels(payload)
            if not self.strict:
                return "valid", (), undocumented
            return "invalid", tuple(explain(payload, strict=True)), undocumented
        # One strict explanation serves twice: it names the undocumented fields, and it is
        # the list of problems when the receiver runs strict.
        strict_problems: tuple[Problem, ...] = ()
        if isinstance(payload, dict):
            strict_problems = tuple(explain(payload, strict=True))
        undocumented = tuple(p.path for p in strict_problems if p.kind == "undocumented")
        if self.strict:
            problems = strict_problems or tuple(explain(payload, strict=True))
        else:
            problems = tuple(explain(payload, strict=False))
        return "invalid", problems, undocumented

    def record(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        status: int,
        verdict: str,
        payload: Any = None,
        problems: tuple[Problem, ...] = (),
        undocumented: tuple[str, ...] = (),
        *,
        notify: bool = True,
    ) -> Capture:
        """File one request: what came, what was answered, the verdict (see `verdict_of`).

        `notify=False` leaves telling `on_capture` to the caller (`notify`), once the capture
        is complete (a forwarding receiver: once the app has answered)."""
        event = url = None
        if type(payload) is dict:
            event = payload.get("event")
            if type(event) is not str:
                event = None
            recording = payload.get("recording")
            if type(recording) is dict:
                url = recording.get("url")
                if type(url) is not str:
                    url = None
        with self._mutex:
            out_of_order, duplicate = self._track(event, url)
            report = self._report
            head = (report.total, time.time(), method, path, headers, body, status, verdict)
            tail = (problems, event, url, out_of_order, duplicate, undocumented)
            capture = Capture(*head, payload, *tail)
            if self.keep:
                if self.keep_payloads or payload is None or not notify:
                    self._captures.append(capture)
                else:
                    # A parsed payload is most of a capture's memory; kept for a page that
                    # rarely opens one, they cost the server ~2 us a request (fresh memory on
                    # every request instead of the freed payload's), measured. (A capture to
                    # be forwarded is kept whole: the app's answer is set on that object.)
                    self._captures.append(Capture(*head, None, *tail))
            report.total += 1
            report.outcomes[verdict] += 1
            report.statuses[status] += 1
            if verdict in CALLBACK_VERDICTS:
                report.events[event or "(none)"] += 1
            if out_of_order:
                report.flags["out-of-order"] += 1
            if duplicate:
                report.flags["duplicate"] += 1
            if undocumented:
                self._undocumented.update(undocumented)
            if self._waiting:  # notify_all costs every request, even with nobody waiting
                self._lock.notify_all()
        if notify and self.on_capture is not None:
            self.on_capture(capture)
        return capture

    def notify(self, capture: Capture) -> None:
        """Tell `on_capture` of a capture filed with `notify=False`."""
        if self.on_capture is not None:
            self.on_capture(capture)

    def _track(self, event: str | None, url: str | None) -> tuple[bool, bool]:
        # Out of order: a later stage came first, or a stage arrived before the one it follows.
        if event is None or url is None:
            return False, False
        rank = self._ranks.get(event)
        if rank is None:
            return False, False
        seen = self._seen.get(url)
        if seen is None:
            seen = self._seen[url] = _Seen()
        bit = self._event_bits[event]
        duplicate = bool(seen.events & bit)
        missing_before = rank > 0 and not seen.ranks & (1 << (rank - 1))
        out_of_order = rank < seen.highest or (missing_before and not duplicate)
        seen.events |= bit
        seen.ranks |= 1 << rank
        if rank > seen.highest:
            seen.highest = rank
        return out_of_order, duplicate
