"""What a load test did, typed: `LoadSummary` (deliveries by event and status, latency,
lifecycles, Locust's own counts). Locust's process writes it as JSON (`to_json`) when it
quits; `aircore-mock load` reads it back (`from_json`) in the parent process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadDeliveries:
    total: int
    delivered: int
    """Deliveries answered with a 2xx."""
    failed: int
    """Deliveries without a 2xx (another status, or no answer: `interrupted`, `error`)."""
    by_event: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_event_and_status: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadLatency:
    """Milliseconds, over every delivery (None when there was none)."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class LocustCounts:
    """What Locust itself counted, to compare with aircore-mock's own counts."""

    requests: int
    failures: int
    by_name: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadSummary:
    target: str | None
    seed: int | None
    workers: int | None
    """Workers that took part (None: one process, no master)."""
    deliveries: LoadDeliveries
    latency_ms: LoadLatency
    lifecycles_completed: int
    lifecycles_cut_short: int
    """Recordings whose user was stopped mid-recording (the test ended)."""
    locust: LocustCounts
    elapsed_s: float
    throughput_per_s: float
    exact: bool
    """Every delivery is counted and none was interrupted: the counts are the receiver's."""
    workers_without_last_report: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """At least one delivery, every one a 2xx, and the counts are exact."""
        return bool(self.deliveries.total and not self.deliveries.failed and self.exact)

    def failure_reason(self) -> str | None:
        """Why the run failed, in one line (None when it is `ok`)."""
        if self.ok:
            return None
        deliveries = self.deliveries
        if not deliveries.total:
            return "no delivery was made"
        if deliveries.failed:
            return f"{deliveries.failed} of {deliveries.total} deliveries got no 2xx"
        return "the counts are not exact (see the summary)"

    def to_json(self) -> dict[str, Any]:
        d, latency, locust = self.deliveries, self.latency_ms, self.locust
        return {
            "target": self.target,
            "seed": self.seed,
            "workers": self.workers,
            "deliveries": {
                "total": d.total,
                "delivered": d.delivered,
                "failed": d.failed,
                "by_event": dict(d.by_event),
                "by_status": dict(d.by_status),
                "by_event_and_status": {e: dict(c) for e, c in d.by_event_and_status.items()},
            },
            "latency_ms": {
                "p50": latency.p50,
                "p95": latency.p95,
                "p99": latency.p99,
                "max": latency.max,
            },
            "lifecycles": {
                "completed": self.lifecycles_completed,
                "cut_short": self.lifecycles_cut_short,
            },
            "locust": {
                "requests": locust.requests,
                "failures": locust.failures,
                "by_name": {n: dict(c) for n, c in locust.by_name.items()},
            },
            "elapsed_s": self.elapsed_s,
            "throughput_per_s": self.throughput_per_s,
            "exact": self.exact,
            "workers_without_last_report": list(self.workers_without_last_report),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadSummary:
        """The summary `to_json` wrote (a `KeyError` or `TypeError` if it is not one)."""
        cycles = data["lifecycles"]
        return cls(
            target=data["target"],
            seed=data["seed"],
            workers=data["workers"],
            deliveries=LoadDeliveries(**data["deliveries"]),
            latency_ms=LoadLatency(**data["latency_ms"]),
            lifecycles_completed=cycles["completed"],
            lifecycles_cut_short=cycles["cut_short"],
            locust=LocustCounts(**data["locust"]),
            elapsed_s=data["elapsed_s"],
            throughput_per_s=data["throughput_per_s"],
            exact=data["exact"],
            workers_without_last_report=tuple(data["workers_without_last_report"]),
        )
