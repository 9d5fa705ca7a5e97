"""Run the contract against one receiver: clause by clause, through the sending engine."""

from __future__ import annotations

import heapq
import inspect
import signal
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InputError, UsageError
from ..model import recording_id
from ..results import DeliveryOutcome, Report, Result
from ..seeds import new_seed
from ..sending import Sender, check_url, close_or_warn, target_kind
from ..sending.engine import IN_FLIGHT
from .clauses import (
    CLAUSES,
    CONVERGES,
    HEADER_VARIANTS,
    PROBE,
    RUN_ALONE,
    WIRE,
    Clause,
    Post,
    after_many_originals,
    check_clause_names,
    clause_names,
    got,
    judge,
    lifecycle_sends,
    outcome_cases,
    unique_recording,
    with_header_variants,
)
from .clauses import _callback as _send_of
from .orders import Order, in_order, orders, shrink
from .results import ClauseResult, ContractReport, Failure, dumps
from .state import RecordingState, StateError, read_settled, rebased

StateProbe = Callable[..., Any]
"""`probe(recording_url, callbacks)`, or `probe(recording_url)`: raise AssertionError to fail."""

BURST = 8
"""Requests concurrent-deliveries has in flight at once, by default."""
ORDERED_OUTCOMES = ("uploaded", "upload-failed", "in-progress")
"""Outcomes whose lifecycle the probe and converges deliver in every order (one of each
shape); the others go in order."""
SHRINK_TRIES = 24
"""Delivery orders `converges` tries at most while shrinking a difference."""
_USER = (PROBE, CONVERGES)


@dataclass(frozen=True)
class _Variant:
    """One lifecycle delivered in one order, to a recording of its own (probe, converges)."""

    outcome: str
    order: Order
    url: str
    callbacks: list[Any]
    """The lifecycle's callbacks in Aircore's order (what a probe is given)."""
    sends: list[Post]
    """What goes, in delivery order."""

    def what(self) -> str:
        events = [c["event"] for c in self.callbacks]
        return (
            f"the {self.outcome} lifecycle of recording {recording_id(self.url)}, delivered "
            + self.order.describe(events)
        )


@dataclass(slots=True)
class _Request:
    """One contract request as the engine takes it: the lane is the session's choice."""

    callback: Any
    recording_url: str | None
    body: bytes
    headers: Mapping[str, str] | None
    lane: int


def _lanes(sends: Sequence[Post], width: int) -> list[int]:
    """A lane per request: the requests of one unit share one (so they go in order), and the
    units are spread so that every lane has about as many requests (longest units first,
    each to the least loaded lane): a full check is then as short as its longest lane."""
    units: dict[str, list[int]] = {}
    for i, send in enumerate(sends):
        units.setdefault(send.unit or send.lifecycle or f"#{i}", []).append(i)
    lanes = [0] * len(sends)
    load = [(0, lane) for lane in range(max(width, 1))]
    for members in sorted(units.values(), key=len, reverse=True):
        size, lane = heapq.heappop(load)
        for i in members:
            lanes[i] = lane
        heapq.heappush(load, (size + len(members), lane))
    return lanes


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
        probe: StateProbe | None = None,
        state: RecordingState | None = None,
        verify: bool = True,
        stop_signals: Sequence[int] = (signal.SIGINT,),
        concurrency: int = 1,
        burst: int = BURST,
        max_time: float | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        if not budget > 0:
            raise UsageError(f"budget must be positive, got {budget}")
        for name, value in (("concurrency", concurrency), ("burst", burst)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"{name} must be at least 1, got {value!r}")
        if max_time is not None and not max_time > 0:
            raise UsageError(f"max_time must be positive, got {max_time}")
        self.concurrency = concurrency
        """Independent requests (and, in run_all, clauses) in flight at once."""
        self.burst = burst
        """Requests concurrent-deliveries has in flight at once."""
        self.max_time = max_time
        self.deadline = None if max_time is None else time.monotonic() + max_time
        """When the whole run must end (max_time): what is not checked by then is skipped."""
        self.timed_out = False
        self.progress = progress
        """Called with (requests answered, requests planned) as the run goes."""
        self._done = 0
        self._planned = 0
        self.target = target
        self.kind = target_kind(target)
        if self.kind == "url":
            check_url(target)
        self.path = path
        self.budget = budget
        self.seed = seed
        self.headers = dict(headers or {})
        self.probe = probe
        self.state = state
        """`state(recording_url)`: the receiver's state of a recording (converges)."""
        self.slow: str | None = None
        self._slow_answer: tuple[Post, Result] | None = None
        """Why the receiver proved slow (then further clauses are skipped)."""
        self.statuses: Counter[int] = Counter()
        """Every status the receiver answered with, across clauses."""
        self.verify = verify
        self.deliveries = Report()
        """Every request made so far, counted by outcome, event and status."""
        self.abandoned = 0
        self._counting = threading.Lock()
        """Requests abandoned in flight (the run stopped waiting on a slow receiver, or on
        Ctrl-C, or at its time limit): the receiver may have got them."""
        self.interrupted = False
        """Ctrl-C stopped a clause: the rest are skipped."""
        self._lifecycles_first = False
        self._app_server: Any = None
        """An in-process app served on 127.0.0.1 for speaks-http (started when needed)."""
        """redeliveries[later] runs earlier in this run (redeliveries[after-many] redelivers
        its lifecycle)."""
        # A connection per request: a server may close one after a 5xx, and the next callback
        # must not be blamed for that. The budget is each request's whole deadline.
        self._sender = Sender(
            target,
            concurrency=max(concurrency, burst),
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
        if self._app_server is not None:
            self._app_server.stop()
            self._app_server = None

    def _wire_url(self) -> str:
        """Where speaks-http connects: the URL, or an in-process app served on 127.0.0.1."""
        if self.kind == "url":
            return str(self.target)
        if self._app_server is None:
            from ..server import AppServer

            app = self.target
            if self.kind == "wsgi":
                app = _served_wsgi(app)
            self._app_server = AppServer(app, path=self.path).start()
        return str(self._app_server.url)

    def _run_wire(self, cases: Sequence[str | None]) -> list[ClauseResult]:
        """speaks-http: each profile's lifecycle over its own socket, profiles at once
        (`concurrency` of them), each answer read strictly."""
        from concurrent.futures import ThreadPoolExecutor

        from .wire import PROFILES, deliver

        url = self._wire_url()
        by_name = {p.name: p for p in PROFILES}
        planned = [(case, self.sends(WIRE, case)) for case in cases]

        def one(item: tuple[str | None, list[Post]]) -> ClauseResult:
            case, sends = item
            result = ClauseResult(WIRE, case, "passed", "")
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self.timed_out = True
                reason = f"not checked: the run's time limit ({self.max_time:g} s) came first"
                return ClauseResult(WIRE, case, "skipped", reason)
            if self.interrupted:
                return ClauseResult(WIRE, case, "skipped", "skipped: interrupted")
            profile = by_name[str(case)]
            answers = deliver(
                url, [s.body for s in sends], profile, self.headers, self.budget, self.verify
            )
            for send, answer in zip(sends, answers, strict=False):
                result.requests += 1
                self._done += 1
                self._count(_wire_result(send, answer, self.budget))
                if answer.status is not None:
                    self.statuses[answer.status] += 1
                expected = None
                if answer.problem is not None:
                    expected = "an answer a client can read to its end, in time"
                elif answer.latency_ms > self.budget * 1000:
                    expected = f"a whole answer within {self.budget:g} s"
                elif answer.status is None or not 200 <= answer.status < 300:
                    expected = "a 2xx"
                if expected is None:
                    continue
                text = answer.body.decode("utf-8", "replace").strip().replace("\n", " ")
                seen = answer.problem or f"HTTP {answer.status}" + (
                    f": {text[:120]}" if text else ""
                )
                what = send.what + (" (on a reused connection)" if answer.reused else "")
                result.failures.append(
                    Failure(what, send.body, seen, expected, None, send.headers, profile.name)
                )
            return _conclude(result)

        width = max(1, min(self.concurrency, len(planned)))
        with ThreadPoolExecutor(width, thread_name_prefix="aircore-mock wire") as pool:
            return list(pool.map(one, planned))

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
        if clause in _USER:
            return ()
        return self._clause(clause).cases()

    def _clause(self, name: str) -> Clause:
        check_clause_names([name])
        return CLAUSES[name]

    def post(self, sends: Iterable[Post], width: int | None = None) -> list[tuple[Post, Result]]:
        """Post requests through the engine (each unit in order, `width` lanes at once, each
        request under the budget) and return the answered ones with their results, in send
        order; stop at the first answer that proves the receiver slow, at the run's deadline
        (`max_time`) or on Ctrl-C (then `interrupted`). Every request is in `deliveries`."""
        sends = list(sends)
        width = self.concurrency if width is None else width
        lanes = _lanes(sends, width)
        if any(s.group for s in sends):
            # A burst spreads over `burst` lanes whatever the session's width.
            burst = _lanes([s for s in sends if s.group], self.burst)
            it = iter(burst)
            lanes = [next(it) if s.group else lane for s, lane in zip(sends, lanes, strict=True)]
        requests = [
            _Request(s.callback, s.unit or s.lifecycle, s.body, s.headers, lane)
            for s, lane in zip(sends, lanes, strict=True)
        ]
        answered: list[tuple[Post, Result]] = []
        if self.interrupted:  # Ctrl-C came as a flag between two sends: send nothing more
            return answered
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.timed_out = True
            return answered
        timer = None
        if self.deadline is not None:
            timer = threading.Timer(self.deadline - time.monotonic(), self._time_up)
            timer.daemon = True
            timer.start()
        self._planned += len(sends)

        def judge(result: Result) -> None:  # runs on the sender's loop, as each answer comes
            # Every request gets its result in the run's count, those abandoned in flight
            # (the receiver may have got them) and those never sent included.
            self._count(result)
            if self.slow is not None and self._slow_answer is not None:
                return  # what comes after the slow answer is that slowness again: ignored
            send = sends[result.index]
            if result.outcome != "not-sent":
                self._done += 1
                if self.progress is not None:
                    self.progress(self._done, self._planned)
            if result.status is not None:
                self.statuses[result.status] += 1
            if result.outcome == "not-sent":
                # The session stops a send itself only on a slow answer (below) or at the
                # deadline; anything else is Ctrl-C.
                if not self.timed_out and self.slow is None:
                    self.interrupted = True
                return
            answered.append((send, result))
            too_slow = result.outcome == "timeout" or result.latency_ms > self.budget * 1000
            if too_slow and self.slow is None:
                self.slow = f"no answer to {send.what} within {self.budget:g} s"
                self._slow_answer = (send, result)
                self._sender.stop(now=True)  # stop waiting on a receiver that proved slow

        try:
            self._sender.send(requests, keep_results=False, on_result=judge)
            if self._sender.signalled:  # taken by the sender's handler, perhaps after the
                self.interrupted = True  # last answer: the run stops too
        finally:
            if timer is not None:
                timer.cancel()
            self._planned -= len(sends) - len(answered)
        return sorted(answered, key=lambda pair: pair[1].index)

    def _count(self, result: Result) -> None:
        # From the sender's loop and from speaks-http's threads at once: one at a time.
        with self._counting:
            self.deliveries.add(result, keep=False)
            if result.outcome == "not-sent" and result.error == IN_FLIGHT:
                self.abandoned += 1

    def _time_up(self) -> None:
        self.timed_out = True
        self._sender.stop(now=True)

    def sends(self, clause: str, case: str | None = None) -> list[Post]:
        """What one clause (or case) sends, each request with its header variant."""
        sends = self._clause(clause).build(self.seed, case)
        if (clause, case) == ("redeliveries", "after-many") and not self._lifecycles_first:
            # Run on its own: the original deliveries first, then the redelivery.
            sends = after_many_originals(self.seed) + sends
        return with_header_variants(sends, f"{clause}/{case}")

    def run(self, clause: str, case: str | None = None) -> ClauseResult:
        """Post one clause (or one case of it) and judge every answer."""
        if clause == PROBE:
            return self._run_probe()
        if clause == CONVERGES:
            return self._run_converges()
        spec = self._clause(clause)
        if case is not None and case not in spec.cases():
            raise UsageError(f"clause {clause!r} has no case {case!r}")
        skipped = self._skip_reason(clause)
        if skipped is not None:
            return ClauseResult(clause, case, "skipped", skipped)
        if clause == WIRE:
            return self._run_wire([case])[0]
        sends = self.sends(clause, case)
        return self._judge(spec, case, sends, self.post(sends))

    def _judge(
        self,
        spec: Clause,
        case: str | None,
        sends: Sequence[Post],
        answers: Sequence[tuple[Post, Result]],
    ) -> ClauseResult:
        result = ClauseResult(spec.name, case, "passed", "")
        for send, answer in answers:
            result.requests += 1
            judged = judge(send.expect or spec.expect, answer, self.budget)
            if judged is not None:
                verdict, expected = judged
                failure = Failure(
                    send.what, send.body, got(answer), expected, answer.app_error, send.headers
                )
                (result.failures if verdict == "failed" else result.warnings).append(failure)
        if spec.name == "accepts-every-value" and result.failures and not self.interrupted:
            self._shrink(case, result)
        if len(answers) < len(sends) and not result.failures:
            if self.interrupted:
                return ClauseResult(spec.name, case, "skipped", "skipped: interrupted")
            if self.timed_out:
                return ClauseResult(
                    spec.name,
                    case,
                    "skipped",
                    f"not checked: the run's time limit ({self.max_time:g} s) came first"
                    f" ({len(answers)} of {len(sends)} requests answered)",
                    requests=len(answers),
                )
        return _conclude(result)

    def _shrink(self, case: str | None, result: ClauseResult) -> None:
        """Cut the first wrong callback down to the smallest one the receiver still gets
        wrong, by sending smaller ones (the same search, so the same examples, then
        Hypothesis's shrinking); it goes first among the failures."""
        from .. import strategies
        from . import search

        first = result.failures[0]
        headers = first.headers or HEADER_VARIANTS[0]
        spec = self._clause("accepts-every-value")
        seed = self.seed + zlib.crc32(f"accepts-every-value/{case}".encode())
        found: dict[str, Failure] = {}

        sent = [0]

        def wrong(callback: Any) -> bool:
            if self.interrupted:  # a signal, set as a flag (`check`): end the search now
                raise _Interrupted
            sent[0] += 1
            callback = unique_recording(callback, f"shrink/{case}/{sent[0]}")
            send = replace(_send_of(callback), headers=headers)
            answers = self.post([send], width=1)
            if not answers:
                return False
            judged = judge(spec.expect, answers[0][1], self.budget)
            if judged is None:
                return False
            answer = answers[0][1]
            found["last"] = Failure(
                send.what, send.body, got(answer), judged[1], answer.app_error, headers
            )
            return True

        budget = search.SHRINK_TIME
        if self.deadline is not None:
            budget = min(budget, max(self.deadline - time.monotonic(), 0))
        try:
            smallest = search.shrink(
                strategies.callbacks(event=case, strict=True),
                seed,
                search.EXAMPLES_PER_CASE,
                wrong,
                budget,
            )
        except _Interrupted:
            return
        if smallest is not None and "last" in found:
            minimal = found["last"]
            note = f" [the smallest failing callback the search found; seed {self.seed}]"
            result.failures.insert(0, replace(minimal, sent=minimal.sent + note))

    def _skip_reason(self, clause: str) -> str | None:
        if self.interrupted:
            return "skipped: interrupted"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.timed_out = True
            return f"not checked: the run's time limit ({self.max_time:g} s) came first"
        if self.slow is not None and clause != "answers-in-time":
            return f"skipped: the receiver proved slow ({self.slow})"
        return None

    def _variants(self, clause: str, outcome: str, order: Order, attempt: int = 0) -> _Variant:
        """An outcome's lifecycle delivered in `order`, moved to a recording of its own (one
        per `attempt` too: a shrink may try an order already delivered)."""
        base = [s.callback for s in lifecycle_sends(self.seed, outcome)]
        salt = f"{clause}/{outcome}/{','.join(map(str, order.steps))}/{attempt}"
        callbacks = [unique_recording(c, salt) for c in base]
        url = callbacks[0]["recording"]["url"]
        sends = [
            Post(dumps(callbacks[i]), _send_of(callbacks[i]).what, url, callbacks[i], unit=salt)
            for i in order.steps
        ]
        return _Variant(outcome, order, url, callbacks, with_header_variants(sends, salt))

    def _plans(self, clause: str) -> dict[str, list[_Variant]]:
        """Each outcome's lifecycle in order, and in every order of `orders()` for the
        outcomes of each shape (`ORDERED_OUTCOMES`: the upload failures' lifecycles all have
        the shape of `upload-failed`'s), in-order first."""
        plans = {}
        for outcome in outcome_cases():
            count = len(lifecycle_sends(self.seed, outcome))
            chosen = orders(count) if outcome in ORDERED_OUTCOMES else [in_order(count)]
            plans[outcome] = [self._variants(clause, outcome, order) for order in chosen]
        return plans

    def _deliver(self, variants: Sequence[_Variant]) -> list[_Variant]:
        """Post every variant (each in its order, variants at once); those delivered whole,
        each request answered 2xx (what is not, accepts-lifecycles and the rest report)."""
        sends = [s for v in variants for s in v.sends]
        answered = {id(send): answer for send, answer in self.post(sends)}
        return [
            v
            for v in variants
            if all(id(s) in answered and answered[id(s)].delivered for s in v.sends)
        ]

    def _user_skip(self, clause: str, given: object, needs: str) -> ClauseResult | None:
        if given is None:
            return ClauseResult(clause, None, "skipped", f"skipped: no {needs} given")
        skipped = self._skip_reason(clause)
        if skipped is not None:
            return ClauseResult(clause, None, "skipped", skipped)
        return None

    def _run_probe(self) -> ClauseResult:
        """The probe after every outcome's lifecycle in every order (`orders`), each order on
        a recording of its own; the probe gets the callbacks in Aircore's order."""
        skipped = self._user_skip(PROBE, self.probe, "probe")
        if skipped is not None:
            return skipped
        assert self.probe is not None
        result = ClauseResult(PROBE, None, "passed", "")
        takes_callbacks = _arity(self.probe) >= 2
        variants = [v for vs in self._plans(PROBE).values() for v in vs]
        result.requests = sum(len(v.sends) for v in variants)
        accepted = self._deliver(variants)
        if not accepted and not self.interrupted:
            return _nothing_accepted(result)
        for variant in accepted:
            url, callbacks = variant.url, variant.callbacks
            try:
                self.probe(url, callbacks) if takes_callbacks else self.probe(url)
            except AssertionError as exc:
                result.failures.append(
                    Failure(
                        variant.what(),
                        variant.sends[-1].body,
                        f"the probe failed: {exc or 'AssertionError'}",
                        "the probe to pass",
                        sequence=tuple(s.body for s in variant.sends),
                    )
                )
        return _conclude(result)

    def _run_converges(self) -> ClauseResult:
        """Each outcome's lifecycle in order, then in every other order (each on a recording
        of its own): the state after each must be the state after the in-order one (ids put
        back), read again for a moment while it differs. A difference is shrunk to the
        shortest order that still shows it."""
        skipped = self._user_skip(CONVERGES, self.state, "state of the receiver")
        if skipped is not None:
            return skipped
        result = ClauseResult(CONVERGES, None, "passed", "")
        plans = self._plans(CONVERGES)
        planned = [v for variants in plans.values() for v in variants]
        result.requests = sum(len(v.sends) for v in planned)
        delivered = {id(v) for v in self._deliver(planned)}
        references = [variants[0] for variants in plans.values()]
        if not any(id(r) in delivered for r in references) and not self.interrupted:
            return _nothing_accepted(result)
        for variants in plans.values():
            reference, *others = variants
            if id(reference) not in delivered:
                continue  # accepts-lifecycles says why
            stopped = self._skip_reason(CONVERGES)
            if stopped is not None:  # the time limit, or Ctrl-C: what was compared stands
                return (
                    result
                    if result.failures
                    else ClauseResult(CONVERGES, None, "skipped", stopped, requests=result.requests)
                )
            try:
                expected = read_settled(self.state, reference.url)  # type: ignore[arg-type]
                if expected is None:
                    # Nothing to compare: the receiver (or the state URL) knows nothing of a
                    # recording whose callbacks it accepted; every order would "converge".
                    result.failures.append(
                        Failure(
                            reference.what(),
                            reference.sends[-1].body,
                            "no state for it (None, or a 404 from the state URL)",
                            "the state the receiver keeps for a recording it accepted: is the"
                            " state URL (or aircore_state) right?",
                            sequence=tuple(s.body for s in reference.sends),
                        )
                    )
                    continue
                differing = []
                for variant in others:
                    if self._skip_reason(CONVERGES) is not None:
                        break
                    if id(variant) in delivered:
                        differs = self._differs(variant, reference, expected)
                        if differs is not None:
                            differing.append((variant, differs))
            except Exception as exc:  # the user's state function, or the state URL
                reason = str(exc) if isinstance(exc, StateError) else f"{type(exc).__name__}: {exc}"
                result.failures.append(
                    Failure(reference.what(), reference.sends[-1].body,
                            f"the state could not be read: {reason}", "the recording's state")
                )  # fmt: skip
                continue
            if differing:
                failure = self._shrunk(differing[0], reference, expected)
                if len(differing) > 1:
                    note = f" [{len(differing)} of {len(others)} orders differ; the shortest found]"
                    failure = replace(failure, sent=failure.sent + note)
                result.failures.append(failure)
        return _conclude(result)

    def _differs(self, variant: _Variant, reference: _Variant, expected: Any) -> _Differs | None:
        """None when the variant's state (rebased) is the reference's, else that state."""
        now = read_settled(self.state, variant.url, expected, reference.url)  # type: ignore[arg-type]
        seen = rebased(now, variant.url, reference.url)
        return None if seen == expected else _Differs(seen)

    def _shrunk(
        self, found: tuple[_Variant, _Differs], reference: _Variant, expected: Any
    ) -> Failure:
        """The failure of the shortest order (from the one `found`) whose state still
        differs from `expected`, with that state."""
        last = {found[0].order: found}
        tries = [0]

        def still_fails(order: Order) -> bool:
            if self._skip_reason(CONVERGES) is not None:
                return False  # out of time, or Ctrl-C: what was found so far is reported
            tries[0] += 1
            candidate = self._variants(CONVERGES, reference.outcome, order, tries[0])
            if not self._deliver([candidate]):
                return False
            differs = self._differs(candidate, reference, expected)
            if differs is not None:
                last[order] = (candidate, differs)
            return differs is not None

        order = shrink(found[0].order, len(reference.callbacks), still_fails, SHRINK_TRIES)
        smallest, seen = last[order]
        return Failure(
            smallest.what(),
            smallest.sends[-1].body,
            f"state {_short(seen.state)}",
            f"the state after the same callbacks once in order: {_short(expected)}",
            sequence=tuple(s.body for s in smallest.sends),
        )

    def select(self, only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[str]:
        """The clauses `run_all` would run, or a usage error saying why none or which not."""
        check_clause_names([*only, *skip])
        if self.probe is None and PROBE in only:
            raise UsageError(
                "the probe clause needs a probe: a Python function (pytest's "
                "aircore_probe fixture, or check_receiver(probe=...))"
            )
        if self.state is None and CONVERGES in only:
            raise UsageError(
                "the converges clause needs the receiver's state: --state-url URL (with {id} or "
                "{url}), pytest's aircore_state fixture, or check_receiver(state=...)"
            )
        names = clause_names(with_probe=self.probe is not None, with_state=self.state is not None)
        chosen = [n for n in names if (not only or n in only) and n not in skip]
        if not chosen:
            raise UsageError("no clause left to run (--only/--skip exclude them all)")
        return chosen

    def run_all(self, only: Sequence[str] = (), skip: Sequence[str] = ()) -> ContractReport:
        """Every clause (and case), `answers-in-time` first so a slow receiver is found fast.

        With `concurrency` above 1, every case after `answers-in-time` goes out in one batch,
        `concurrency` requests at a time (each unit, such as a recording's callbacks, in
        order); the probe comes last, one lifecycle at a time.
        """
        chosen = self.select(only, skip)
        began = time.monotonic()
        pairs = [(clause, case) for clause in chosen for case in self.cases(clause) or [None]]
        results: dict[tuple[str, str | None], ClauseResult] = {}
        # answers-in-time leads the batch: its requests are first on their lanes, so a slow
        # receiver is found in the first wave, and the rest of the batch is skipped.
        wire = [p for p in pairs if p[0] == WIRE]
        pairs_left = [p for p in pairs if p[0] != WIRE]
        batch = [p for p in pairs_left if p[0] not in _USER and p not in RUN_ALONE]
        first: list[tuple[str, str | None]] = []
        last = [p for p in pairs_left if p[0] in _USER or p in RUN_ALONE]
        if self.concurrency == 1:
            first, batch = [p for p in pairs_left if p not in RUN_ALONE and p[0] not in _USER], []
            last = [p for p in pairs_left if p in RUN_ALONE or p[0] in _USER]
        self._lifecycles_first = ("redeliveries", "later") in pairs
        alone = [p for p in last if p[0] not in _USER] if self.concurrency > 1 else []
        last = [p for p in last if p not in alone]
        wired: list[ClauseResult] = []

        wire_errors: list[BaseException] = []

        def run_wire() -> None:
            skipped = self._skip_reason(WIRE)
            if skipped is not None:
                wired.extend(ClauseResult(*p, "skipped", skipped) for p in wire)
                return
            try:
                wired.extend(self._run_wire([c for _, c in wire]))
            except Exception as exc:  # beside the batch: raised again in the caller's thread
                wire_errors.append(exc)

        # The wire profiles use sockets of their own: with concurrency, they go alongside
        # the batch (a slow receiver then costs one wait, not two).
        beside = None
        if wire and self.concurrency > 1:
            beside = threading.Thread(target=run_wire, name="aircore-mock speaks-http")
            beside.daemon = True
        try:
            for clause, case in first:
                results[(clause, case)] = self.run(clause, case)
            if beside is not None:
                beside.start()
            if batch:
                results.update(self._run_batch(batch))
            if alone:  # a race and a late redelivery, together, after the batch
                results.update(self._run_batch(alone, keep_groups=True))
            if beside is not None:
                while beside.is_alive() and not self.interrupted:
                    beside.join(0.05)  # (a stop flag set by a signal ends the wait)
            elif wire:
                run_wire()
            if wire_errors:
                raise wire_errors[0]
            finished = list(wired)  # (a copy: the thread may still add to it)
            if self.slow is not None:  # what went beside the batch met the same slowness
                reason = f"skipped: the receiver proved slow ({self.slow})"
                finished = [
                    ClauseResult(r.clause, r.case, "skipped", reason) if r.failures else r
                    for r in finished
                ]
            if len(finished) != len(wire):  # interrupted while speaks-http still ran
                finished = [ClauseResult(*p, "skipped", "skipped: interrupted") for p in wire]
            results.update(zip(wire, finished, strict=True))
            for clause, case in last:
                results[(clause, case)] = self.run(clause, case)
        except KeyboardInterrupt:
            # Ctrl-C between two sends (a send itself reports it as not-sent): the clauses
            # left are skipped and the report still comes back.
            self.interrupted = True
        ordered = [
            results.get(p) or ClauseResult(p[0], p[1], "skipped", "skipped: interrupted")
            for p in pairs
        ]
        # The run's own clock: the deliveries' rate is over the whole run, not one send's.
        self.deliveries.elapsed_s = time.monotonic() - began
        return ContractReport(
            str(self.url),
            self.seed,
            ordered,
            self.deliveries,
            interrupted=self.interrupted,
            timed_out=self.timed_out,
            abandoned=self.abandoned,
            headers=dict(self.headers),
            in_process=self.kind != "url",
            max_time=self.max_time,
            hint=self.hint(),
        )

    def _run_batch(
        self, pairs: Sequence[tuple[str, str | None]], keep_groups: bool = False
    ) -> dict[tuple[str, str | None], ClauseResult]:
        results: dict[tuple[str, str | None], ClauseResult] = {}
        planned: list[tuple[tuple[str, str | None], list[Post]]] = []
        for clause, case in pairs:
            skipped = self._skip_reason(clause)
            if skipped is not None:
                results[(clause, case)] = ClauseResult(clause, case, "skipped", skipped)
                continue
            # Units of different cases are different units, whatever their names.
            sends = [
                replace(
                    s,
                    unit=f"{clause}/{case}/{s.unit or s.lifecycle or i}",
                    group=s.group if keep_groups else None,
                )
                for i, s in enumerate(self.sends(clause, case))
            ]
            planned.append(((clause, case), sends))
        everything = [s for _, sends in planned for s in sends]
        owner = [key for key, sends in planned for _ in sends]
        answered: dict[tuple[str, str | None], list[tuple[Post, Result]]] = {}
        by_id = {id(s): key for s, key in zip(everything, owner, strict=True)}
        for send, answer in self.post(everything):
            answered.setdefault(by_id[id(send)], []).append((send, answer))
        slow = self._slow_answer if self.slow is not None else None
        for key, sends in planned:
            answers = answered.get(key, [])
            if slow is not None and key[0] == "answers-in-time":
                # Whichever request proved the receiver slow, that is this clause's verdict.
                answers = [a for a in answers if a[0] is not slow[0]] + [slow]
            elif slow is not None:
                answers = [a for a in answers if a[0] is not slow[0]]
            incomplete = len(answers) < len(sends) and key[0] != "answers-in-time"
            if slow is not None and incomplete and not self.interrupted:
                reason = f"skipped: the receiver proved slow ({self.slow})"
                results[key] = ClauseResult(key[0], key[1], "skipped", reason)
                continue
            results[key] = self._judge(self._clause(key[0]), key[1], sends, answers)
        return results


class _Interrupted(KeyboardInterrupt):
    """The run was interrupted while Hypothesis searched: the search ends at once (the one
    exception Hypothesis never takes for a failure)."""


@dataclass(frozen=True)
class _Differs:
    """A state that differs from the reference's (None too: the receiver forgot it)."""

    state: Any


def _nothing_accepted(result: ClauseResult) -> ClauseResult:
    """A probe or converges run where no lifecycle got its 2xx: nothing could be judged, which
    is not a pass (accepts-lifecycles says why, when it runs)."""
    result.failures.append(
        Failure(
            "every lifecycle this clause delivered",
            b"",
            "no lifecycle was accepted (2xx for each callback), so nothing could be judged",
            "each lifecycle accepted (see accepts-lifecycles)",
        )
    )
    return _conclude(result)


def _short(state: Any) -> str:
    """A state in one line, cut to 300 characters."""
    try:
        text = dumps(state, sort_keys=True).decode()
    except (TypeError, ValueError):
        text = repr(state)
    return text if len(text) <= 300 else text[:297] + "..."


def _wire_result(send: Post, answer: Any, budget: float) -> Result:
    """A speaks-http answer as a delivery's result, for the run's count."""
    if answer.status is not None:
        outcome = DeliveryOutcome.of_status(answer.status)
    elif answer.latency_ms >= budget * 1000:
        outcome = DeliveryOutcome.TIMEOUT
    else:
        outcome = DeliveryOutcome.ERROR
    return Result(0, send.callback, send.lifecycle, None, 1, answer.status, answer.latency_ms,
                  outcome, error=answer.problem)  # fmt: skip


def _served_wsgi(app: Any) -> Any:
    """A WSGI app as an ASGI app for a real server: the body comes whole (chunked or not), so
    the environ says so (`wsgi.input_terminated`, as gunicorn and werkzeug's server say)."""
    from uvicorn.middleware.wsgi import WSGIMiddleware

    def terminated(environ: dict[str, Any], start_response: Any) -> Any:
        environ.setdefault("wsgi.input_terminated", True)
        return app(environ, start_response)

    return WSGIMiddleware(terminated)


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


def preflight(session: ContractSession) -> None:
    """Post `{}` once to the session's target: an InputError ("cannot reach ...") when it
    cannot be reached, so that `check` and `fuzz` say so in one line instead of failing every
    clause. A Ctrl-C already given marks the session interrupted.

    A URL is checked by connecting (and the TLS handshake, for https) without a request: a
    receiver taking seconds an answer costs the run nothing more."""
    if session.kind == "url":
        _connect_or_raise(session)
        return
    with Sender(
        session.target,
        timeout=min(session.budget, 5.0),
        headers=session.headers,
        verify=session.verify,
    ) as probe:
        (result,) = probe.send([b"{}"]).results or []
    if result.outcome == "not-sent":  # Ctrl-C already
        session.interrupted = True
    if result.outcome in ("unreachable", "error"):
        raise InputError(f"cannot reach {session.target}: {result.describe()}")


def _connect_or_raise(session: ContractSession) -> None:
    import socket
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(str(session.target))
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=min(session.budget, 5.0)) as sock:
            if parts.scheme == "https":
                context = ssl.create_default_context()
                if not session.verify:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                context.wrap_socket(sock, server_hostname=host).close()
    except KeyboardInterrupt:
        session.interrupted = True
    except ConnectionRefusedError:
        raise InputError(
            f"cannot reach {session.target}: unreachable: connection refused by {host}:{port}"
        ) from None
    except socket.gaierror as exc:
        raise InputError(
            f"cannot reach {session.target}: unreachable: cannot resolve {host} ({exc.strerror})"
        ) from None
    except ssl.SSLError as exc:
        raise InputError(f"cannot reach {session.target}: TLS: {exc.reason or exc}") from None
    except OSError as exc:
        reason = "timed out connecting" if isinstance(exc, TimeoutError) else str(exc)
        raise InputError(f"cannot reach {session.target}: unreachable: {reason}") from None


def check_receiver(
    target: Any,
    *,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    budget: float = 10.0,
    seed: int | None = 0,
    headers: Mapping[str, str] | None = None,
    path: str = "/",
    probe: StateProbe | None = None,
    state: RecordingState | None = None,
    verify: bool = True,
    concurrency: int = 1,
    burst: int = BURST,
    max_time: float | None = None,
) -> ContractReport:
    """Run the receiver contract against a URL, an ASGI app or a WSGI app.

    A target that cannot be reached raises `InputError` ("cannot reach ...", what `check`
    exits 2 with) instead of failing every clause.
    `seed=None` picks one (the report carries it, so the run can be repeated). With
    `concurrency` above 1 independent requests and clauses go at once; `max_time` bounds
    the whole run (what is left is reported as not checked). `probe(recording_url,
    callbacks)` runs after each lifecycle in every delivery order; `state(recording_url)`
    (the receiver's state of a recording, as plain data; `state_from_url` reads it over
    HTTP) adds the `converges` clause.
    """
    session = ContractSession(
        target,
        path=path,
        budget=budget,
        seed=new_seed() if seed is None else seed,
        headers=headers,
        probe=probe,
        state=state,
        verify=verify,
        concurrency=concurrency,
        burst=burst,
        max_time=max_time,
    )
    try:
        session.select(only, skip)  # usage errors before anything is sent
        preflight(session)  # unreachable: the InputError `check` exits 2 with
        return session.run_all(only=only, skip=skip)
    finally:
        close_or_warn(session)
