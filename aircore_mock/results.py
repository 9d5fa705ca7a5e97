"""What happened to each delivery (`Result`, `DeliveryOutcome`) and to a whole send (`Report`:
counts, latency percentiles, the first failures), shared by the sender, the fake, the
contract, the load runner and the reports."""

from __future__ import annotations

import enum
import math
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# --- what happened to a delivery --------------------------------------------------------


class DeliveryOutcome(str, enum.Enum):
    """What became of one delivery (a `str`, so it compares equal to its value)."""

    DELIVERED = "delivered"
    """A 2xx answer."""
    REDIRECTED = "redirected"
    """A 3xx answer (redirects are reported, never followed)."""
    REJECTED = "rejected"
    """A 4xx or 5xx answer."""
    TIMEOUT = "timeout"
    """No whole answer within the deadline."""
    UNREACHABLE = "unreachable"
    """No connection could be made."""
    ERROR = "error"
    """The connection broke, the answer was not HTTP, or the app or request was broken."""
    NOT_SENT = "not-sent"
    """Never attempted: the send was stopped first."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of_status(cls, status: int) -> DeliveryOutcome:
        """The outcome of an HTTP answer with this status."""
        if 200 <= status < 300:
            return cls.DELIVERED
        return cls.REDIRECTED if 300 <= status < 400 else cls.REJECTED


_DELIVERED = DeliveryOutcome.DELIVERED


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


@dataclass(slots=True)  # not frozen: a frozen dataclass takes ~3x longer to build, per delivery
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
    """Time of the last attempt, from connecting to the last byte of the answer."""
    outcome: DeliveryOutcome
    body: str = ""
    """The first 200 characters of the response body."""
    error: str | None = None
    """Why there is no usable answer (`None` when the target answered)."""
    app_error: str | None = None
    """An in-process app's exception (its traceback, trimmed) when it raised."""
    resent: bool = False
    """The receiver closed a kept-alive connection before answering, and the callback went
    once more on a new connection (not counted as an attempt; see the README)."""

    @property
    def event(self) -> str | None:
        return self.callback.get("event") if isinstance(self.callback, dict) else None

    @property
    def delivered(self) -> bool:
        """True only for a 2xx answer."""
        return self.outcome is DeliveryOutcome.DELIVERED

    def describe(self) -> str:
        """One line: the answer, or the error (line breaks in either folded: a report has one
        line per delivery)."""
        if self.error is not None:
            return f"{self.outcome.value}: {_one_line(self.error)}"
        text = f"HTTP {self.status}"
        if not self.delivered and self.body:
            text += f": {_one_line(self.body[:80])}"
        return text

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "index": self.index,
            "event": self.event,
            "recording_url": self.recording_url,
            "quirk": self.quirk,
            "attempts": self.attempts,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "outcome": self.outcome.value,
            "body": self.body,
            "error": self.error,
            "app_error": self.app_error,
            "resent": self.resent,
            "callback": self.callback,
        }


@dataclass(repr=False)
class Report:
    """Counts of what happened, by outcome, event and status, with latency percentiles.

    One type for every tally: a send's deliveries (outcomes are `DeliveryOutcome`s), a
    contract run's deliveries, and the requests a capture server got (outcomes are verdicts).
    """

    total: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    flags: Counter[str] = field(default_factory=Counter)
    """Quirks seen, e.g. `duplicate`, `out-of-order`."""
    latencies_ms: array[float] = field(default_factory=lambda: array("d"))
    """Each answer's latency, while there are at most 50,000 of them; beyond that they are
    folded into a histogram of buckets 0.3% wide, so a long send's memory stays flat."""
    elapsed_s: float = 0.0
    interrupted: bool = False
    """Stopped before the end: Ctrl-C, `stop()`, or given up (then `gave_up` says why)."""
    gave_up: str | None = None
    """Why the sender gave up on the target (deliveries in a row without an answer)."""
    results: list[Result] | None = None
    first_failure: Result | None = None
    _histogram: Counter[int] | None = field(default=None, repr=False)

    def _latency(self, ms: float) -> None:
        if self._histogram is None:
            self.latencies_ms.append(ms)
            if len(self.latencies_ms) > _EXACT_LATENCIES:
                self._histogram = Counter(map(_bucket, self.latencies_ms))
                self.latencies_ms = array("d")
        else:
            self._histogram[_bucket(ms)] += 1

    def count(
        self,
        outcome: str,
        *,
        event: str | None = None,
        status: int | None = None,
        latency_ms: float | None = None,
        flags: Iterable[str] = (),
    ) -> None:
        """Count one item."""
        self.total += 1
        self.outcomes[outcome] += 1
        if event is not None:
            self.events[event] += 1
        if status is not None:
            self.statuses[status] += 1
        if latency_ms is not None:
            self._latency(latency_ms)
        for flag in flags:
            self.flags[flag] += 1

    def add(self, result: Result, keep: bool = True) -> None:
        """Count one delivery's result (and keep it, unless told not to)."""
        # The per-delivery hot path of every send: `count` spelled out.
        outcome = result.outcome
        self.total += 1
        self.outcomes[outcome._value_] += 1  # `.value` is a descriptor: several times slower
        callback = result.callback
        if type(callback) is dict:
            event = callback.get("event")
            if type(event) is str or isinstance(event, str):  # a str Enum counts too
                self.events[event] += 1
        status = result.status
        if status is not None:
            self.statuses[status] += 1
            if self._histogram is None and len(self.latencies_ms) < _EXACT_LATENCIES:
                self.latencies_ms.append(result.latency_ms)
            else:
                self._latency(result.latency_ms)
        if (
            outcome is not _DELIVERED
            and outcome is not DeliveryOutcome.NOT_SENT
            and self.first_failure is None
        ):
            self.first_failure = result
        if keep:
            if self.results is None:
                self.results = []
            self.results.append(result)

    @property
    def delivered(self) -> int:
        """Deliveries answered with a 2xx."""
        return self.outcomes[DeliveryOutcome.DELIVERED.value]

    @property
    def not_sent(self) -> int:
        """Deliveries never attempted (the send was stopped first)."""
        return self.outcomes[DeliveryOutcome.NOT_SENT.value]

    @property
    def failed(self) -> int:
        """Deliveries attempted without a 2xx."""
        return self.total - self.delivered - self.not_sent

    @property
    def ok(self) -> bool:
        """Every delivery got a 2xx, at least one was made, and nothing was interrupted."""
        return self.total > 0 and self.delivered == self.total and not self.interrupted

    def percentile(self, p: float) -> float | None:
        """The p-th latency percentile in ms (p in 0..100), or None with no answers."""
        return self.percentiles(p)[0]

    def percentiles(self, *ps: float) -> list[float | None]:
        """Latency percentiles in ms (each p in 0..100), one pass over the latencies: linear
        between the two answers around rank p/100 x (n - 1); None with no answers."""
        for p in ps:
            if not 0 <= p <= 100:
                raise ValueError(f"a percentile is between 0 and 100, not {p}")
        if self._histogram is not None:
            return _histogram_percentiles(self._histogram, ps)
        if not self.latencies_ms:
            return [None for _ in ps]
        ordered = sorted(self.latencies_ms)
        out: list[float | None] = []
        for p in ps:
            rank = p / 100 * (len(ordered) - 1)
            low = int(rank)
            high = min(low + 1, len(ordered) - 1)
            out.append(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))
        return out

    @property
    def throughput(self) -> float:
        """Items per second over the whole run."""
        return self.total / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """The counts as JSON-ready data (without the per-delivery results)."""
        return {
            "total": self.total,
            "delivered": self.delivered,
            "failed": self.failed,
            "not_sent": self.not_sent,
            "outcomes": dict(self.outcomes),
            "events": dict(self.events),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "latency_ms": {
                f"p{p}": None if value is None else round(value, 2)
                for p, value in zip((50, 95, 99), self.percentiles(50, 95, 99), strict=True)
            },
            "elapsed_s": round(self.elapsed_s, 3),
            "throughput_per_s": round(self.throughput, 1),
            "interrupted": self.interrupted,
            "gave_up": self.gave_up,
        }

    def to_json(self) -> dict[str, Any]:
        """The summary plus every kept result."""
        return {**self.summary(), "results": [r.to_json() for r in self.results or ()]}

    def __repr__(self) -> str:
        outcomes = " ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items()))
        return f"<Report total={self.total} {outcomes}{' interrupted' if self.interrupted else ''}>"


_EXACT_LATENCIES = 50_000
_PER_DOUBLING = 256  # log2 buckets: each 2 ** (1/256) - 1 = 0.27% wide


def _bucket(ms: float) -> int:
    return math.floor(math.log2(max(ms, 1e-6)) * _PER_DOUBLING)


def _histogram_percentiles(histogram: Counter[int], ps: tuple[float, ...]) -> list[float | None]:
    total = sum(histogram.values())
    buckets = sorted(histogram.items())
    out: list[float | None] = []
    for p in ps:
        rank, seen = p / 100 * (total - 1), 0
        for bucket, count in buckets:
            seen += count
            if seen > rank:
                out.append(2 ** ((bucket + 0.5) / _PER_DOUBLING))
                break
    return out
