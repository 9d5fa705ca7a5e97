"""`aircore-mock fuzz`: the contract's search, run longer, over everything a receiver may get.

Each request is judged by the rule of the clause it belongs to (a documented callback wants
a 2xx; what Aircore may add, no 5xx; a malformed body, no 5xx); each distinct failure (clause
and status) is shrunk to the smallest request that still shows it.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..seeds import new_seed
from .clauses import CLAUSES, HEADER_VARIANTS, Post, got, judge, unique_recording
from .results import Failure, dumps
from .session import ContractSession

DEFAULT_EXAMPLES = 500
"""Requests `fuzz` sends by default (before shrinking)."""


@dataclass
class FuzzReport:
    """What a fuzz run found: the smallest request of each distinct failure."""

    target: str
    seed: int
    sent: int = 0
    """Requests sent, shrinking included."""
    failures: list[Failure] = field(default_factory=list)
    clauses: list[str] = field(default_factory=list)
    """The clause of each failure (same order)."""
    elapsed_s: float = 0.0
    interrupted: bool = False
    timed_out: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    """The run's own headers (`--header`), which every curl line carries."""
    max_time: float | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and not self.interrupted

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "target": self.target,
            "seed": self.seed,
            "ok": self.ok,
            "sent": self.sent,
            "elapsed_s": round(self.elapsed_s, 3),
            "interrupted": self.interrupted,
            "timed_out": self.timed_out,
            "headers": dict(self.headers),
            "max_time": self.max_time,
            "failures": [
                {"clause": clause, **f.to_json()}
                for clause, f in zip(self.clauses, self.failures, strict=True)
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FuzzReport:
        """A report from its `to_json()` (`fuzz --format json`): it renders as the run's own."""
        failures = data.get("failures") or ()
        return cls(
            str(data["target"]),
            int(data["seed"]),
            int(data.get("sent") or 0),
            [Failure.from_json(f) for f in failures],
            [str(f["clause"]) for f in failures],
            float(data.get("elapsed_s") or 0.0),
            bool(data.get("interrupted")),
            bool(data.get("timed_out")),
            dict(data.get("headers") or {}),
            data.get("max_time"),
        )


def _status_key(status: int | None, outcome: str) -> str:
    return f"HTTP {status}" if status is not None else outcome


class _Stopped(KeyboardInterrupt):
    """The fuzz run was stopped: no further request is drawn."""


def fuzz_receiver(
    session: ContractSession,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    max_time: float | None = None,
) -> FuzzReport:
    """Fuzz the session's receiver with `examples` requests (the session's seed unless
    `seed`), then shrink each distinct failure; `max_time` bounds the whole run."""
    from . import search

    if examples < 1:
        raise UsageError(f"examples must be at least 1, got {examples}")
    if max_time is not None and not max_time > 0:
        raise UsageError(f"max_time must be positive, got {max_time}")
    chosen = session.seed if seed is None else seed
    report = FuzzReport(str(session.url), chosen, headers=dict(session.headers))
    details: dict[tuple[str, str], Failure] = {}
    count = [0]

    def judged(probe: Any) -> tuple[str, str, str] | None:
        if session.interrupted:  # a signal between two requests: draw no more
            raise _Stopped
        count[0] += 1
        callback = probe.callback
        body = probe.body
        if isinstance(callback, dict):
            # Each request about its own recording (drawn ones shrink toward one URL).
            callback = unique_recording(callback, f"fuzz/{zlib.crc32(probe.body)}")
            body = dumps(callback)
        headers = HEADER_VARIANTS[zlib.crc32(probe.body) % len(HEADER_VARIANTS)]
        send = Post(body, probe.what, callback=callback, headers=headers)
        answers = session.post([send], width=1)
        if not answers or session.interrupted:
            # Not sent, or a signal came meanwhile: stopped (Ctrl-C, SIGTERM or out of
            # time). Ends the search at once (a KeyboardInterrupt is the one exception
            # Hypothesis never takes for a failure), keeping what it found so far.
            if not session.timed_out:
                session.interrupted = True
            raise _Stopped
        answer = answers[0][1]
        verdict = judge(CLAUSES[probe.clause].expect, answer, session.budget)
        if verdict is None or verdict[0] != "failed":
            return None
        key = _status_key(answer.status, str(answer.outcome))
        details[(probe.clause, key)] = Failure(
            probe.what, body, got(answer), verdict[1], answer.app_error, headers
        )
        return key, got(answer), verdict[1]

    began = time.monotonic()
    if max_time is not None:
        session.deadline = began + max_time
        session.max_time = max_time
    try:
        found, _ = search.fuzz(chosen, examples, judged, max_time)
    except KeyboardInterrupt:  # between two requests: what was found is lost with the search
        session.interrupted = True
        found = []
    report.elapsed_s = time.monotonic() - began
    report.sent = count[0]
    report.interrupted = session.interrupted
    report.timed_out = session.timed_out
    report.max_time = session.max_time
    for failure in found:
        detail = details.get(failure.key)
        if detail is None:
            continue
        report.clauses.append(failure.clause)
        report.failures.append(detail)
    return report


def fuzz_target(
    target: Any,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = 0,
    max_time: float | None = None,
    **options: Any,
) -> FuzzReport:
    """Fuzz a URL, an ASGI app or a WSGI app (options as `ContractSession`'s)."""
    session = ContractSession(target, seed=new_seed() if seed is None else seed, **options)
    try:
        return fuzz_receiver(session, examples=examples, max_time=max_time)
    finally:
        session.close()
