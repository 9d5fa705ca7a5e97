"""Run the contract against one receiver: clause by clause, through the sending engine."""

from __future__ import annotations

import inspect
import signal
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..errors import UsageError
from ..model import Report, Result, recording_id
from ..seeds import new_seed
from ..sending import Sender, check_url, close_or_warn, target_kind
from .clauses import (
    CLAUSES,
    PROBE,
    Clause,
    Send,
    check_clause_names,
    clause_names,
    got,
    judge,
    lifecycle_sends,
    outcome_cases,
)
from .results import ClauseResult, ContractReport, Failure

Probe = Callable[..., Any]
"""`probe(recording_url, callbacks)`, or `probe(recording_url)`: raise AssertionError to fail."""


class ContractSession:
    """Runs clauses against one receiver, remembering across clauses if it proved slow."""

    def __init__(
        self,
        target: Any,
        *,
        path: str = "/",
        budget: float = 10.0,
        seed: int = 0,
        headers: Mapping[str, str] | None = None,
        probe: Probe | None = None,
        verify: bool = True,
        stop_signals: Sequence[int] = (signal.SIGINT,),
    ) -> None:
        if not budget > 0:
            raise UsageError(f"budget must be positive, got {budget}")
        self.target = target
        self.kind = target_kind(target)
        if self.kind == "url":
            check_url(target)
        self.path = path
        self.budget = budget
        self.seed = seed
        self.headers = dict(headers or {})
        self.probe = probe
        self.slow: str | None = None
        """Why the receiver proved slow (then further clauses are skipped)."""
        self.statuses: Counter[int] = Counter()
        """Every status the receiver answered with, across clauses."""
        self.verify = verify
        self.deliveries = Report()
        """Every request made so far, counted by outcome, event and status."""
        self.interrupted = False
        """Ctrl-C stopped a clause: the rest are skipped."""
        # A connection per request: a server may close one after a 5xx, and the next callback
        # must not be blamed for that. The budget is each request's whole deadline.
        self._sender = Sender(
            target,
            concurrency=1,
            timeout=budget,
            headers=self.headers,
            path=path,
            keepalive=False,
            verify=verify,
            stop_signals=stop_signals,
        )

    def close(self) -> None:
        """Shut an ASGI app down (lifespan) and release its event loop."""
        self._sender.close()

    def hint(self) -> str | None:
        """A likely cause when every answer says the same wrong thing (e.g. a wrong path)."""
        if len(self.statuses) == 1:
            (status,) = self.statuses
            if status in (404, 405):
                return (
                    f"every answer was HTTP {status}: is {self.url} the path that takes callbacks?"
                )
            if status in (401, 403):
                return f"every answer was HTTP {status}: does the receiver need a --header?"
        return None

    @property
    def url(self) -> str:
        """The URL for curl lines (an app target has none: a placeholder stands in)."""
        if self.kind == "url":
            return str(self.target)
        return "http://localhost:8000" + ("/" + self.path.lstrip("/"))

    def cases(self, clause: str) -> Sequence[str]:
        """The cases a clause is split into (none: one result for the whole clause)."""
        if clause == PROBE:
            return ()
        return self._clause(clause).cases()

    def _clause(self, name: str) -> Clause:
        check_clause_names([name])
        return CLAUSES[name]

    def _post(self, sends: Iterable[Send]) -> list[tuple[Send, Result]]:
        """Send in order; stop at the first answer that proves the receiver slow."""
        sends = list(sends)
        answered: list[tuple[Send, Result]] = []

        def judge_speed(result: Result) -> None:
            self.deliveries.add(result, keep=False)
            if result.status is not None:
                self.statuses[result.status] += 1
            if result.outcome == "not-sent":
                # Only a stop leaves a delivery unsent: a slow answer's (below), or Ctrl-C.
                self.interrupted = self.interrupted or self.slow is None
                return
            send = sends[result.index]
            answered.append((send, result))
            too_slow = result.outcome == "timeout" or result.latency_ms > self.budget * 1000
            if too_slow and self.slow is None:
                self.slow = f"no answer to {send.what} within {self.budget:g} s"
                self._sender.stop(now=True)  # stop waiting on a receiver that proved slow

        self._sender.send([s.body for s in sends], keep_results=False, on_result=judge_speed)
        return sorted(answered, key=lambda pair: pair[1].index)

    def run(self, clause: str, case: str | None = None) -> ClauseResult:
        """Send one clause (or one case of it) and judge every answer."""
        if clause == PROBE:
            return self._run_probe()
        spec = self._clause(clause)
        if case is not None and case not in spec.cases():
            raise UsageError(f"clause {clause!r} has no case {case!r}")
        skipped = self._skip_reason(clause)
        if skipped is not None:
            return ClauseResult(clause, case, "skipped", skipped)
        result = ClauseResult(clause, case, "passed", "")
        for send, answer in self._post(spec.build(self.seed, case)):
            result.requests += 1
            judged = judge(spec.expect, answer, self.budget)
            if judged is not None:
                verdict, expected = judged
                failure = Failure(send.what, send.body, got(answer), expected, answer.app_error)
                (result.failures if verdict == "failed" else result.warnings).append(failure)
        if self.interrupted and not result.failures:
            return ClauseResult(clause, case, "skipped", "skipped: interrupted")
        return _conclude(result)

    def _skip_reason(self, clause: str) -> str | None:
        if self.interrupted:
            return "skipped: interrupted"
        if self.slow is not None and clause != "answers-in-time":
            return f"skipped: the receiver proved slow ({self.slow})"
        return None

    def _run_probe(self) -> ClauseResult:
        result = ClauseResult(PROBE, None, "passed", "")
        if self.probe is None:
            result.verdict, result.reason = "skipped", "skipped: no probe given"
            return result
        skipped = self._skip_reason(PROBE)
        if skipped is not None:
            result.verdict, result.reason = "skipped", skipped
            return result
        takes_callbacks = _arity(self.probe) >= 2
        for outcome in outcome_cases():
            sends = lifecycle_sends(self.seed, outcome)
            answers = self._post(sends)
            result.requests += len(answers)
            if len(answers) < len(sends) or not all(a.delivered for _, a in answers):
                continue  # accepts-lifecycles reports those
            url = sends[0].lifecycle
            callbacks = [s.callback for s in sends]
            try:
                self.probe(url, callbacks) if takes_callbacks else self.probe(url)
            except AssertionError as exc:
                what = f"the {outcome} lifecycle of recording {recording_id(url)}"
                result.failures.append(
                    Failure(
                        what,
                        sends[-1].body,
                        f"the probe failed: {exc or 'AssertionError'}",
                        "the probe to pass",
                    )
                )
        return _conclude(result)

    def select(self, only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[str]:
        """The clauses `run_all` would run, or a usage error saying why none or which not."""
        check_clause_names([*only, *skip])
        if self.probe is None and PROBE in only:
            raise UsageError(
                "the probe clause needs a probe: a Python function (pytest's "
                "aircore_probe fixture, or check_receiver(probe=...))"
            )
        names = clause_names(with_probe=self.probe is not None)
        chosen = [n for n in names if (not only or n in only) and n not in skip]
        if not chosen:
            raise UsageError("no clause left to run (--only/--skip exclude them all)")
        return chosen

    def run_all(self, only: Sequence[str] = (), skip: Sequence[str] = ()) -> ContractReport:
        """Every clause (and case), `answers-in-time` first so a slow receiver is found fast."""
        chosen = self.select(only, skip)
        results = []
        for clause in chosen:
            for case in self.cases(clause) or [None]:
                try:
                    results.append(self.run(clause, case))
                except KeyboardInterrupt:
                    # Ctrl-C between two sends (a send itself reports it as not-sent):
                    # the clauses left are skipped and the report still comes back.
                    self.interrupted = True
                    results.append(ClauseResult(clause, case, "skipped", "skipped: interrupted"))
        return ContractReport(
            str(self.url), self.seed, results, self.deliveries, interrupted=self.interrupted
        )


def _conclude(result: ClauseResult) -> ClauseResult:
    if result.failures:
        first = result.failures[0]
        more = f" (and {len(result.failures) - 1} more)" if len(result.failures) > 1 else ""
        result.verdict = "failed"
        result.reason = f"{first.sent}: got {first.got}, expected {first.expected}{more}"
    elif result.warnings:
        first = result.warnings[0]
        result.verdict = "warned"
        result.reason = f"{first.sent}: got {first.got}; better {first.expected}"
    else:
        result.reason = f"{result.requests} request(s), every answer as expected"
    return result


def _arity(function: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


def check_receiver(
    target: Any,
    *,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    budget: float = 10.0,
    seed: int | None = 0,
    headers: Mapping[str, str] | None = None,
    path: str = "/",
    probe: Probe | None = None,
    verify: bool = True,
) -> ContractReport:
    """Run the receiver contract against a URL, an ASGI app or a WSGI app.

    `seed=None` picks one (the report carries it, so the run can be repeated).
    """
    session = ContractSession(
        target,
        path=path,
        budget=budget,
        seed=new_seed() if seed is None else seed,
        headers=headers,
        probe=probe,
        verify=verify,
    )
    try:
        return session.run_all(only=only, skip=skip)
    finally:
        close_or_warn(session)
