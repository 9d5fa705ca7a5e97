"""The clauses of the receiver contract: what each one sends and what answer it expects.

Every case is derived from the schemas, the scenarios and the catalogue (never a hand list
of payloads), with a stream of randomness of its own, so one test reproduces on its own.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from .. import schemas
from ..errors import UsageError
from ..generation import AWS_REGIONS, UPLOAD_FAILURES, Generator, outcomes
from ..model import Result, lifecycle, recording_id

# --- what gets sent ---------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
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
    recording_name = recording_id(recording.get("url"))
    detail = ""
    if isinstance(recording.get("reason"), str):
        reason = recording["reason"]
        detail = f", reason {reason if len(reason) <= 60 else reason[:57] + '...'!r}"
    elif isinstance(recording.get("location"), dict):
        detail = f", region {recording['location'].get('region')!r}"
    minutes = recording.get("elapsedTime")
    if isinstance(minutes, int) and minutes:
        detail += f", {minutes / 60000:.1f} min"
    return f"{callback.get('event')} for recording {recording_name}{detail}"


def _callback(callback: dict[str, Any], lifecycle: str | None = None, what: str = "") -> Send:
    return Send(orjson.dumps(callback), what or _describe(callback), lifecycle, callback)


def _generator(seed: int, clause: str, case: str | None) -> Generator:
    # Each clause and case has its own stream, so one test reproduces on its own.
    return Generator(seed + zlib.crc32(f"{clause}/{case}".encode()))


def _examples() -> list[dict[str, Any]]:
    return [
        ex for event in schemas.callback_types() for ex in schemas.get_schema(event)["examples"]
    ]


def _region_spread() -> tuple[list[str], list[str]]:
    """Two regions per geography (us, eu, ap, ...) of every partition, and the commercial
    ones among them (where Aircore's recording servers run)."""
    by_geography: dict[str, list[str]] = {}
    for region in AWS_REGIONS:
        geography = region.code.rsplit("-", 2)[0]  # "us", "eu", "us-gov", "cn", ...
        by_geography.setdefault(geography, []).append(region.code)
    spread = [code for codes in by_geography.values() for code in codes[:2]]
    partition = {r.code: r.partition for r in AWS_REGIONS}
    return spread, [code for code in spread if partition[code] == "aws"]


# Durations from seconds to hours.
_DURATIONS = (3_000, 47_000, 9 * 60_000, 58 * 60_000, 3 * 3_600_000 + 17_000)


def _every_callback(seed: int, case: str | None) -> list[Send]:
    r = lifecycle()
    gen = _generator(seed, "accepts-every-callback", case)
    if case == "documented-examples":
        return [
            _callback(ex, what=f"Aircore's documented {ex['event']} example") for ex in _examples()
        ]

    def one(event: str, outcome: str, **pins: Any) -> dict[str, Any]:
        recording = gen.recording(outcome, **pins)
        return next(c for c in recording.callbacks() if c["event"] == event)

    regions, server_regions = _region_spread()
    sends: list[Send] = []
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


def lifecycle_sends(seed: int, case: str | None) -> list[Send]:
    gen = _generator(seed, "accepts-lifecycles", case)
    recording = gen.recording(case or "uploaded")
    return [_callback(c, recording.url) for c in recording.callbacks()]


_EXTRA = {"undocumentedField": "added by Aircore later", "schemaVersion": 2}


def _standalone(seed: int, clause: str, case: str | None) -> list[dict[str, Any]]:
    # One callback of each type, each from its own recording: a clause about something else
    # than order must not trip over a receiver's handling of sequences.
    r = lifecycle()
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


def _new_values(seed: int, case: str | None) -> list[Send]:
    r = lifecycle()
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


def _forward_compatible(seed: int, case: str | None) -> list[Send]:
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


def _duplicates(seed: int, case: str | None) -> list[Send]:
    sends = []
    for callback in _standalone(seed, "idempotent-duplicates", case):
        first = _callback(callback)
        sends += [first, Send(first.body, f"{first.what}, delivered a second time")]
    return sends


def _out_of_order(seed: int, case: str | None) -> list[Send]:
    gen = _generator(seed, "tolerates-out-of-order", case)
    sends = []
    for scenario in ("uploaded+out-of-order", "upload-failed+out-of-order", "uploaded+reversed"):
        for delivery in gen.deliveries(scenario):
            send = _callback(delivery.callback, delivery.recording_url)
            if delivery.quirk:
                send = Send(
                    send.body, f"{send.what} ({delivery.quirk})", send.lifecycle, send.callback
                )
            sends.append(send)
    return sends


def _malformed(seed: int, case: str | None) -> list[Send]:
    example = _generator(seed, "handles-malformed-input", case).recording("uploaded").callbacks()
    # A new stop reason is no defect (Aircore may add one); a reason that is no string is.
    stopped = dict(example[1], recording=dict(example[1]["recording"], reason=404))
    no_url = dict(
        example[2], recording={k: v for k, v in example[2]["recording"].items() if k != "url"}
    )
    event = example[0]["event"]
    return [
        Send(orjson.dumps(example[0])[:40], "a truncated JSON body"),
        Send(b"<html>not json</html>", "a body that is not JSON"),
        Send(b"", "an empty body"),
        Send(b'{"hello": "world"}', "a JSON object that is not a callback"),
        Send(b"[1, 2, 3]", "a JSON array"),
        Send(orjson.dumps(event), "a JSON string"),
        Send(
            orjson.dumps(stopped),
            f"a {stopped['event']} callback whose reason is not a string",
        ),
        Send(orjson.dumps(no_url), f"a {no_url['event']} callback without recording.url"),
    ]


def _in_time(seed: int, case: str | None) -> list[Send]:
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
    build: Callable[[int, str | None], list[Send]]
    cases: Callable[[], Sequence[str]] = lambda: ()


def _event_cases() -> Sequence[str]:
    return ("documented-examples", *schemas.callback_types())


def outcome_cases() -> Sequence[str]:
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
            lifecycle_sends,
            outcome_cases,
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


def check_clause_names(names: Iterable[str]) -> None:
    """A usage error naming the clauses if any of `names` is not one."""
    for name in names:
        if name not in clause_names():
            raise UsageError(f"unknown clause {name!r}; clauses: {', '.join(clause_names())}")


def judge(expect: Expect, result: Result, budget: float) -> tuple[str, str] | None:
    """None if the answer is right, else ("failed" | "warned", what was expected)."""
    if result.status is None:
        if result.outcome == "timeout":
            return "failed", f"a whole answer within {budget:g} s"
        return "failed", "an HTTP answer"
    status = result.status
    if result.latency_ms > budget * 1000:
        return "failed", f"a whole answer within {budget:g} s"
    if expect == "answer":
        return None
    if expect == "2xx":
        return None if 200 <= status < 300 else ("failed", "a 2xx")
    if status >= 500:
        return "failed", "no 5xx (a 4xx says 'rejected, do not retry')"
    if expect == "4xx-preferred" and 200 <= status < 300:
        return "warned", "a 4xx: a 2xx tells the sender a malformed body was fine"
    return None


def got(result: Result) -> str:
    """What the receiver did, in one line."""
    if result.status is None:
        return result.describe()
    body = result.body.strip().replace("\n", " ")
    return (
        f"HTTP {result.status}"
        + (f": {body[:120]}" if body else "")
        + (f" after {result.latency_ms:.0f} ms")
    )
