"""The receiver contract: what a receiver must do with everything Aircore can send it."""

from __future__ import annotations

import inspect
import shlex
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from ._exceptions import UsageError

Verdict = Literal["passed", "failed", "warned", "skipped"]
Probe = Callable[..., Any]
"""`probe(recording_url, callbacks)`, or `probe(recording_url)`: raise to fail."""

_CURL_BODY_LIMIT = 2000


class AircoreContractWarning(UserWarning):
    """A receiver did something allowed but doubtful (e.g. 2xx for a malformed body)."""


@dataclass(frozen=True)
class Failure:
    """One thing a receiver got wrong: what was sent, what came back, what was expected."""

    sent: str
    body: bytes
    got: str
    expected: str

    def explain(self, url: str, headers: Mapping[str, str] | None = None) -> str:
        """Several lines for a human, with a curl command that sends the same body."""
        return (
            f"sent:     {self.sent}\n"
            f"          {curl(url, self.body, headers)}\n"
            f"got:      {self.got}\n"
            f"expected: {self.expected}"
        )


@dataclass
class ClauseResult:
    """The verdict on one clause (or one case of it), with every failure."""

    clause: str
    case: str | None
    verdict: Verdict
    reason: str
    failures: list[Failure] = field(default_factory=list)
    warnings: list[Failure] = field(default_factory=list)
    requests: int = 0

    @property
    def name(self) -> str:
        return f"{self.clause}[{self.case}]" if self.case else self.clause

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data (bodies as text)."""

        def failure(f: Failure) -> dict[str, str]:
            return {
                "sent": f.sent,
                "got": f.got,
                "expected": f.expected,
                "body": f.body.decode("utf-8", "replace"),
            }

        return {
            "clause": self.clause,
            "case": self.case,
            "verdict": self.verdict,
            "reason": self.reason,
            "requests": self.requests,
            "failures": [failure(f) for f in self.failures],
            "warnings": [failure(f) for f in self.warnings],
        }


@dataclass
class ContractReport:
    """Every clause's verdict for one receiver."""

    target: str
    seed: int
    results: list[ClauseResult]

    @property
    def ok(self) -> bool:
        """No clause failed (warnings and skips are fine)."""
        return all(r.verdict != "failed" for r in self.results)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "target": self.target,
            "seed": self.seed,
            "ok": self.ok,
            "clauses": self.by_clause(),
            "results": [r.to_json() for r in self.results],
        }

    def by_clause(self) -> dict[str, Verdict]:
        """The worst verdict per clause across its cases."""
        rank = {"failed": 3, "warned": 2, "passed": 1, "skipped": 0}
        out: dict[str, Verdict] = {}
        for result in self.results:
            current = out.get(result.clause)
            if current is None or rank[result.verdict] > rank[current]:
                out[result.clause] = result.verdict
        return out


def curl(url: str, body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """A curl command line that POSTs `body` as Aircore would."""
    parts = ["curl", "-sS", "-X", "POST", url, "-H", "content-type: application/json"]
    for name, value in (headers or {}).items():
        if name.lower() != "content-type":
            parts += ["-H", f"{name}: {value}"]
    text = body.decode("utf-8", "replace")
    if len(text) > _CURL_BODY_LIMIT:
        text = text[:_CURL_BODY_LIMIT] + "...(truncated)"
    parts += ["--data-raw", text]
    return shlex.join(parts)


# --- what gets sent ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Send:
    """One POST the contract makes: the body and how to describe it."""

    body: bytes
    what: str
    lifecycle: str | None = None
    """Deliveries with the same lifecycle key form one recording's sequence (for probes)."""
    callback: Any = None


def _describe(callback: Any) -> str:
    if not isinstance(callback, dict):
        return "a non-callback JSON value"
    recording = callback.get("recording") if isinstance(callback.get("recording"), dict) else {}
    recording_id = str(recording.get("url", "")).rsplit("/", 1)[-1] or "?"
    detail = ""
    if isinstance(recording.get("reason"), str):
        reason = recording["reason"]
        detail = f", reason {reason if len(reason) <= 60 else reason[:57] + '...'!r}"
    elif isinstance(recording.get("location"), dict):
        detail = f", region {recording['location'].get('region')!r}"
    minutes = recording.get("elapsedTime")
    if isinstance(minutes, int) and minutes:
        detail += f", {minutes / 60000:.1f} min"
    return f"{callback.get('event')} for recording {recording_id}{detail}"


def _callback(callback: dict[str, Any], lifecycle: str | None = None, what: str = "") -> _Send:
    return _Send(orjson.dumps(callback), what or _describe(callback), lifecycle, callback)


def _generator(seed: int, clause: str, case: str | None) -> Any:
    from ._generator import Generator

    # Each clause and case has its own stream, so one test reproduces on its own.
    return Generator(seed + zlib.crc32(f"{clause}/{case}".encode()))


def _examples() -> list[dict[str, Any]]:
    from ._schemas import callback_types, get_schema

    return [ex for event in callback_types() for ex in get_schema(event)["examples"]]


def _region_spread() -> tuple[list[str], list[str]]:
    """Two regions per geography (us, eu, ap, ...) of every partition, and the commercial
    ones among them (where Aircore's recording servers run)."""
    from ._catalogue import AWS_REGIONS

    by_geography: dict[str, list[str]] = {}
    for region in AWS_REGIONS:
        geography = region.code.rsplit("-", 2)[0]  # "us", "eu", "us-gov", "cn", ...
        by_geography.setdefault(geography, []).append(region.code)
    spread = [code for codes in by_geography.values() for code in codes[:2]]
    partition = {r.code: r.partition for r in AWS_REGIONS}
    return spread, [code for code in spread if partition[code] == "aws"]


# Durations from seconds to hours.
_DURATIONS = (3_000, 47_000, 9 * 60_000, 58 * 60_000, 3 * 3_600_000 + 17_000)


def _every_callback(seed: int, case: str | None) -> list[_Send]:
    from ._catalogue import UPLOAD_FAILURES
    from ._generator import roles

    r = roles()
    gen = _generator(seed, "accepts-every-callback", case)
    if case == "documented-examples":
        return [
            _callback(ex, what=f"Aircore's documented {ex['event']} example") for ex in _examples()
        ]

    def one(event: str, outcome: str, **pins: Any) -> dict[str, Any]:
        recording = gen.recording(outcome, **pins)
        return next(c for c in recording.callbacks() if c["event"] == event)

    regions, server_regions = _region_spread()
    sends: list[_Send] = []
    if case == r.started:
        sends += [
            _callback(one(r.started, "in-progress", server_region=region))
            for region in server_regions
        ]
    elif case == r.stopped:
        sends += [
            _callback(one(r.stopped, "uploaded", stop_reason=reason, elapsed_time=ms))
            for reason in r.stop_reasons
            for ms in _DURATIONS
        ]
    elif case == r.uploaded:
        sends += [_callback(one(r.uploaded, "uploaded", region=region)) for region in regions]
        sends += [_callback(one(r.uploaded, "uploaded", elapsed_time=ms)) for ms in _DURATIONS]
    elif case == r.upload_failed:
        families = dict.fromkeys(f.family for f in UPLOAD_FAILURES)
        sends += [_callback(one(r.upload_failed, family)) for family in families]
        # the China partition's bad-region message has its own host suffix
        sends.append(_callback(one(r.upload_failed, "bad-region", region="cn-north-1")))
        sends += [
            _callback(one(r.upload_failed, "upload-failed", elapsed_time=ms)) for ms in _DURATIONS
        ]
    return sends


def _lifecycles(seed: int, case: str | None) -> list[_Send]:
    gen = _generator(seed, "accepts-lifecycles", case)
    recording = gen.recording(case or "uploaded")
    return [_callback(c, recording.url) for c in recording.callbacks()]


_EXTRA = {"undocumentedField": "added by Aircore later", "schemaVersion": 2}


def _standalone(seed: int, clause: str, case: str | None) -> list[dict[str, Any]]:
    # One callback of each type, each from its own recording: a clause about something else
    # than order must not trip over a receiver's handling of sequences.
    from ._generator import roles

    r = roles()
    gen = _generator(seed, clause, case)
    wanted = [
        (r.started, "uploaded"),
        (r.stopped, "uploaded"),
        (r.uploaded, "uploaded"),
        (r.upload_failed, "upload-failed"),
    ]
    return [
        next(c for c in gen.recording(outcome).callbacks() if c["event"] == event)
        for event, outcome in wanted
    ]


# Values Aircore's docs do not list yet; the default schemas accept them, and so must a receiver.
_NEW_STOP_REASON = "recordingLimitReached"
_NEW_STATE = "archived"
_NEW_EVENT = "recording-paused"


def _new_values(seed: int, case: str | None) -> list[_Send]:
    from ._generator import roles

    r = roles()
    callbacks = _standalone(seed, "forward-compatible", case)
    if case == "new-event-type":
        started = next(c for c in callbacks if c["event"] == r.started)
        paused = dict(started, event=_NEW_EVENT)
        paused["recording"] = dict(started["recording"], state="paused")
        return [_callback(paused, what=f"a {_NEW_EVENT} callback (an event type Aircore may add)")]
    stopped = next(c for c in callbacks if c["event"] == r.stopped)
    stopped["recording"]["reason"] = _NEW_STOP_REASON
    uploaded = next(c for c in callbacks if c["event"] == r.uploaded)
    uploaded["recording"]["state"] = _NEW_STATE
    return [
        _callback(stopped, what=f"{_describe(stopped)}: a stop reason Aircore may add"),
        _callback(uploaded, what=f"{_describe(uploaded)} with a state Aircore may add"),
    ]


def _forward_compatible(seed: int, case: str | None) -> list[_Send]:
    if case in ("new-values", "new-event-type"):
        return _new_values(seed, case)
    sends = []
    for callback in _standalone(seed, "forward-compatible", case):
        target: dict[str, Any] | None = callback
        if case == "recording":
            target = callback["recording"]
        elif case == "location":
            target = callback["recording"].get("location")
        if target is None:
            continue
        target.update(_EXTRA)
        where = "the top level" if case == "top-level" else case
        sends.append(
            _callback(callback, what=f"{_describe(callback)} with undocumented fields in {where}")
        )
    return sends


def _duplicates(seed: int, case: str | None) -> list[_Send]:
    sends = []
    for callback in _standalone(seed, "idempotent-duplicates", case):
        first = _callback(callback)
        sends += [first, _Send(first.body, f"{first.what}, delivered a second time")]
    return sends


def _out_of_order(seed: int, case: str | None) -> list[_Send]:
    gen = _generator(seed, "tolerates-out-of-order", case)
    sends = []
    for scenario in ("uploaded+out-of-order", "upload-failed+out-of-order", "uploaded+reversed"):
        for delivery in gen.deliveries(scenario):
            send = _callback(delivery.callback, delivery.recording_url)
            if delivery.quirk:
                send = _Send(
                    send.body, f"{send.what} ({delivery.quirk})", send.lifecycle, send.callback
                )
            sends.append(send)
    return sends


def _malformed(seed: int, case: str | None) -> list[_Send]:
    example = _generator(seed, "handles-malformed-input", case).recording("uploaded").callbacks()
    # A new stop reason is no defect (Aircore may add one); a reason that is no string is.
    stopped = dict(example[1], recording=dict(example[1]["recording"], reason=404))
    no_url = dict(
        example[2], recording={k: v for k, v in example[2]["recording"].items() if k != "url"}
    )
    event = example[0]["event"]
    return [
        _Send(orjson.dumps(example[0])[:40], "a truncated JSON body"),
        _Send(b"<html>not json</html>", "a body that is not JSON"),
        _Send(b"", "an empty body"),
        _Send(b'{"hello": "world"}', "a JSON object that is not a callback"),
        _Send(b"[1, 2, 3]", "a JSON array"),
        _Send(orjson.dumps(event), "a JSON string"),
        _Send(
            orjson.dumps(stopped),
            f"a {stopped['event']} callback whose reason is not a string",
        ),
        _Send(orjson.dumps(no_url), f"a {no_url['event']} callback without recording.url"),
    ]


def _in_time(seed: int, case: str | None) -> list[_Send]:
    recording = _generator(seed, "answers-in-time", case).recording("uploaded")
    return [_callback(c, recording.url) for c in recording.callbacks()]


# --- the clauses ------------------------------------------------------------------------

Expect = Literal["answer", "2xx", "no-5xx", "4xx-preferred"]


@dataclass(frozen=True)
class Clause:
    """One thing a receiver must do; `cases` split it into separately reported parts."""

    name: str
    title: str
    expect: Expect
    build: Callable[[int, str | None], list[_Send]]
    cases: Callable[[], Sequence[str]] = lambda: ()


def _event_cases() -> Sequence[str]:
    from ._schemas import callback_types

    return ("documented-examples", *callback_types())


def _outcome_cases() -> Sequence[str]:
    from ._scenarios import outcomes

    return tuple(name for name in outcomes() if name != "mixed")


CLAUSES: dict[str, Clause] = {
    c.name: c
    for c in (
        Clause(
            "answers-in-time", "answers each callback within the time budget", "answer", _in_time
        ),
        Clause(
            "accepts-every-callback",
            "accepts every callback type, reason, region, duration and upload failure (2xx)",
            "2xx",
            _every_callback,
            _event_cases,
        ),
        Clause(
            "accepts-lifecycles",
            "accepts whole lifecycles of every outcome, in order (2xx)",
            "2xx",
            _lifecycles,
            _outcome_cases,
        ),
        Clause(
            "forward-compatible",
            "accepts what Aircore may add: undocumented fields, stop reasons, states and event"
            " types (2xx)",
            "2xx",
            _forward_compatible,
            lambda: ("top-level", "recording", "location", "new-values", "new-event-type"),
        ),
        Clause(
            "idempotent-duplicates",
            "accepts the same callback delivered twice (2xx both times)",
            "2xx",
            _duplicates,
        ),
        Clause(
            "tolerates-out-of-order",
            "answers out-of-order callbacks (upload before stop, stop before start) without a 5xx",
            "no-5xx",
            _out_of_order,
        ),
        Clause(
            "handles-malformed-input",
            "answers malformed bodies without a 5xx (4xx is right; 2xx is a warning)",
            "4xx-preferred",
            _malformed,
        ),
    )
}
PROBE = "probe"


def clause_names(with_probe: bool = True) -> list[str]:
    """Every clause name, in the order they run (the probe last)."""
    return [*CLAUSES, PROBE] if with_probe else list(CLAUSES)


def _judge(expect: Expect, result: Any, budget: float) -> tuple[str, str] | None:
    """None if the answer is right, else ("failed" | "warned", what was expected)."""
    if result.error is not None:
        if result.outcome == "timeout":
            return "failed", f"an answer within {budget:g} s"
        return "failed", "an HTTP answer"
    status = result.status
    if expect == "answer":
        return None
    if expect == "2xx":
        return None if 200 <= status < 300 else ("failed", "a 2xx")
    if status >= 500:
        return "failed", "no 5xx (a 4xx says 'rejected, do not retry')"
    if expect == "4xx-preferred" and 200 <= status < 300:
        return "warned", "a 4xx: a 2xx tells the sender a malformed body was fine"
    return None


def _got(result: Any) -> str:
    if result.error is not None:
        return result.error
    body = result.body.strip().replace("\n", " ")
    return (
        f"HTTP {result.status}"
        + (f": {body[:120]}" if body else "")
        + (f" after {result.latency_ms:.0f} ms")
    )


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
    ) -> None:
        from ._sender import Sender, check_url, target_kind

        if budget <= 0:
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
        # A connection per request: a server may close one after a 5xx, and the next callback
        # must not be blamed for that.
        self._sender = Sender(
            target,
            concurrency=1,
            processes=1,
            timeout=budget,
            headers=self.headers,
            path=path,
            keepalive=False,
            verify=verify,
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

    def _post(self, sends: Iterable[_Send]) -> Iterable[tuple[_Send, Any]]:
        sends = list(sends)
        statuses = self.statuses
        for send, result in zip(
            sends, self._sender.iter_results([s.body for s in sends]), strict=False
        ):
            yield send, result
            if result.status is not None:
                statuses[result.status] += 1
            if result.outcome == "timeout" and self.slow is None:
                self.slow = f"no answer to {send.what} within {self.budget:g} s"

    def run(self, clause: str, case: str | None = None) -> ClauseResult:
        """Send one clause (or one case of it) and judge every answer."""
        if clause == PROBE:
            return self._run_probe()
        spec = self._clause(clause)
        if case is not None and case not in spec.cases():
            raise UsageError(f"clause {clause!r} has no case {case!r}")
        if self.slow is not None and clause != "answers-in-time":
            return ClauseResult(
                clause, case, "skipped", f"skipped: the receiver proved slow ({self.slow})"
            )
        result = ClauseResult(clause, case, "passed", "")
        for send, answer in self._post(spec.build(self.seed, case)):
            result.requests += 1
            judged = _judge(spec.expect, answer, self.budget)
            if judged is not None:
                verdict, expected = judged
                failure = Failure(send.what, send.body, _got(answer), expected)
                (result.failures if verdict == "failed" else result.warnings).append(failure)
            if self.slow is not None:
                break  # stop waiting on a receiver that has proven slow
        return _conclude(result)

    def _run_probe(self) -> ClauseResult:
        result = ClauseResult(PROBE, None, "passed", "")
        if self.probe is None:
            result.verdict, result.reason = "skipped", "skipped: no probe given"
            return result
        if self.slow is not None:
            result.verdict = "skipped"
            result.reason = f"skipped: the receiver proved slow ({self.slow})"
            return result
        takes_callbacks = _arity(self.probe) >= 2
        for outcome in _outcome_cases():
            sends = _lifecycles(self.seed, outcome)
            answers = list(self._post(sends))
            result.requests += len(answers)
            if not all(a.delivered for _, a in answers):
                continue  # accepts-lifecycles reports those
            url = sends[0].lifecycle
            callbacks = [s.callback for s in sends]
            try:
                self.probe(url, callbacks) if takes_callbacks else self.probe(url)
            except AssertionError as exc:
                what = f"the {outcome} lifecycle of recording {str(url).rsplit('/', 1)[-1]}"
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
            cases = self.cases(clause) or [None]
            results += [self.run(clause, case) for case in cases]
        return ContractReport(str(self.url), self.seed, results)


def check_clause_names(names: Iterable[str]) -> None:
    """A usage error naming the clauses if any of `names` is not one."""
    for name in names:
        if name not in clause_names():
            raise UsageError(f"unknown clause {name!r}; clauses: {', '.join(clause_names())}")


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
    seed: int = 0,
    headers: Mapping[str, str] | None = None,
    path: str = "/",
    probe: Probe | None = None,
) -> ContractReport:
    """Run the receiver contract against a URL, an ASGI app or a WSGI app."""
    from ._sender import close_or_warn

    session = ContractSession(
        target, path=path, budget=budget, seed=seed, headers=headers, probe=probe
    )
    try:
        return session.run_all(only=only, skip=skip)
    finally:
        close_or_warn(session)
