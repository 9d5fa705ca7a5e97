"""The clauses of the receiver contract: what each one sends and what answer it expects.

Every case is derived from the schemas, the scenarios and the catalogue (never a hand list
of payloads), with a stream of randomness of its own, so one test reproduces on its own.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from .. import schemas
from ..errors import UsageError
from ..model import lifecycle, parse_recording_url
from ..results import Result
from .results import describe as _describe
from .results import dumps, loads, replaced

if TYPE_CHECKING:
    from ..generation import Generator

# The generator (Faker) and the validator (jsonschema-rs) are imported where the clauses are
# built, not here: `check --help` lists the clauses from this module, and needs neither.

Expect = Literal["answer", "2xx", "no-5xx", "4xx-preferred", "2xx-preferred"]
"""What a right answer is: any answer in time; a 2xx; anything but a 5xx; no 5xx and better a
4xx (a malformed body); no 5xx and better a 2xx (a 4xx tells Aircore to drop the callback)."""

# --- what gets sent ---------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """One POST the contract makes: the body and how to describe it."""

    body: bytes
    what: str
    lifecycle: str | None = None
    """Deliveries with the same lifecycle key form one recording's sequence (for probes)."""
    callback: Any = None
    headers: Mapping[str, str] | None = None
    """The header variant this request is sent with (over the session's own headers)."""
    expect: Expect | None = None
    """What a right answer is for this request, when it differs from its clause's."""
    unit: str | None = None
    """Requests with the same unit go one after another, in order (a recording's callbacks, a
    callback and its redelivery); different units may go at once."""
    group: str | None = None
    """A burst: the requests of one group are sent at once (concurrent-deliveries)."""
    profile: str | None = None
    """The client wire profile this request is written in (speaks-http), if any."""


# Header variants: Aircore's docs say callbacks are POSTs with JSON, not which headers come
# with them (an assumption, labelled so in the README), so every clause rotates through what
# real HTTP clients send: with and without a charset, names in any case, other user agents.
HEADER_VARIANTS: tuple[dict[str, str], ...] = (
    {"Content-Type": "application/json"},
    {"Content-Type": "application/json; charset=utf-8"},
    {"content-type": "application/json;charset=UTF-8", "user-agent": "Apache-HttpClient/4.5.14"},
    {"Content-Type": "application/json", "User-Agent": "Go-http-client/1.1"},
    {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "axios/1.7.9",
        "Accept": "application/json, text/plain, */*",
    },
)


def with_header_variants(sends: Sequence[Post], salt: str) -> list[Post]:
    """Each request with a header variant, in turn from a place that depends on the clause
    and case (so that a one-request case does not always get the first variant)."""
    start = zlib.crc32(salt.encode()) % len(HEADER_VARIANTS)
    return [
        s if s.headers is not None else replace(s, headers=_variant(start + i))
        for i, s in enumerate(sends)
    ]


def _variant(i: int) -> dict[str, str]:
    return HEADER_VARIANTS[i % len(HEADER_VARIANTS)]


def _callback(callback: dict[str, Any], lifecycle: str | None = None, what: str = "") -> Post:
    return Post(dumps(callback), what or _describe(callback), lifecycle, callback)


def _raw(body: bytes, what: str, expect: Expect | None = None) -> Post:
    return Post(body, what, expect=expect)


def _generator(seed: int, clause: str, case: str | None) -> Generator:
    # Each clause and case has its own stream, so one test reproduces on its own.
    from ..generation import Generator

    return Generator(seed + zlib.crc32(f"{clause}/{case}".encode()))


def _examples() -> list[dict[str, Any]]:
    return [
        ex for event in schemas.callback_types() for ex in schemas.get_schema(event)["examples"]
    ]


def _region_spread() -> tuple[list[str], list[str]]:
    """Two regions per geography (us, eu, ap, ...) of every partition, and the commercial
    ones among them (where Aircore's recording servers run)."""
    from ..generation import AWS_REGIONS

    by_geography: dict[str, list[str]] = {}
    for region in AWS_REGIONS:
        geography = region.code.rsplit("-", 2)[0]  # "us", "eu", "us-gov", "cn", ...
        by_geography.setdefault(geography, []).append(region.code)
    spread = [code for codes in by_geography.values() for code in codes[:2]]
    partition = {r.code: r.partition for r in AWS_REGIONS}
    return spread, [code for code in spread if partition[code] == "aws"]


# Durations from seconds to hours.
_DURATIONS = (3_000, 47_000, 9 * 60_000, 58 * 60_000, 3 * 3_600_000 + 17_000)


def _every_callback(seed: int, case: str | None) -> list[Post]:
    r = lifecycle()
    gen = _generator(seed, "accepts-every-callback", case)
    if case == "documented-examples":
        # One recording's: in order, one after another (as Aircore would deliver them).
        return [
            _callback(ex, ex["recording"]["url"], f"Aircore's documented {ex['event']} example")
            for ex in _examples()
        ]

    def one(event: str, outcome: str, **pins: Any) -> dict[str, Any]:
        recording = gen.recording(outcome, **pins)
        return next(c for c in recording.callbacks() if c["event"] == event)

    regions, server_regions = _region_spread()
    sends: list[Post] = []
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
        from ..generation import UPLOAD_FAILURES

        families = dict.fromkeys(f.family for f in UPLOAD_FAILURES)
        sends += [_callback(one(r.upload_failed, family)) for family in families]
        # the China partition's bad-region message has its own host suffix
        sends.append(_callback(one(r.upload_failed, "bad-region", region="cn-north-1")))
        sends += [
            _callback(one(r.upload_failed, "upload-failed", elapsed_time=ms)) for ms in _DURATIONS
        ]
    return sends


def lifecycle_sends(seed: int, case: str | None) -> list[Post]:
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


def _new_values(seed: int, case: str | None) -> list[Post]:
    r = lifecycle()
    callbacks = _standalone(seed, "forward-compatible", case)
    if case == "new-event-type":
        started = next(c for c in callbacks if c["event"] == r.started)
        paused = dict(started, event=_NEW_EVENT)
        paused["recording"] = dict(started["recording"], state="paused")
        sends = [_callback(paused, what=f"a {_NEW_EVENT} callback (an event type Aircore may add)")]
        # More event types, drawn by the strategies: any name, any of the four shapes.
        sends += [
            _callback(c, what=f"a {c['event']} callback (an event type Aircore may add)")
            for c in _drawn_unknown(seed, case, "event", 3)
        ]
        return [replace(s, expect="2xx-preferred") for s in sends]
    stopped = next(c for c in callbacks if c["event"] == r.stopped)
    stopped["recording"]["reason"] = _NEW_STOP_REASON
    uploaded = next(c for c in callbacks if c["event"] == r.uploaded)
    uploaded["recording"]["state"] = _NEW_STATE
    sends = [
        _callback(stopped, what=f"{_describe(stopped)}: a stop reason Aircore may add"),
        _callback(uploaded, what=f"{_describe(uploaded)} with a state Aircore may add"),
    ]
    sends += [
        _callback(c, what=f"{_describe(c)}: a {kind} Aircore may add")
        for kind in ("reason", "state")
        for c in _drawn_unknown(seed, case, kind, 2)
    ]
    # A documented event type with a new value of an enumerated field: a 4xx loses that
    # recording's stop or upload for good, so anything but a 2xx fails (no warning).
    return [replace(s, expect="2xx") for s in sends]


def _drawn_unknown(seed: int, case: str | None, kind: str, count: int) -> list[dict[str, Any]]:
    """Callbacks with an undocumented event type, stop reason, state or extra field, drawn by
    the Hypothesis strategies."""
    from . import search

    salt = zlib.crc32(f"forward-compatible/{case}".encode())
    drawn = search.draw_unknown(seed + salt, kind, count)
    bases = {c["event"]: c for c in _standalone(seed, "forward-compatible/drawn", case)}
    return [unique_recording(_graft(c, bases), f"{case}/{kind}/{i}") for i, c in enumerate(drawn)]


_DOCUMENTED_KEYS = {
    (): {"event", "timestamp", "recording"},
    ("recording",): {"url", "state", "startTime", "elapsedTime", "reason", "location"},
    ("recording", "location"): {"address", "region"},
}


def _graft(drawn: dict[str, Any], bases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the drawn callback adds (its new event type, stop reason, state or fields) on a
    typical callback: forward-compatible is about what Aircore may add, so the documented
    values stay ordinary (accepts-every-value explores those)."""
    r = lifecycle()
    event = drawn["event"]
    base = copy.deepcopy(bases.get(event) or bases[r.started])
    base["event"] = event
    recording, new = base["recording"], drawn["recording"]
    if new.get("state") not in ("started", "stopped"):
        recording["state"] = new["state"]
    if event == r.stopped and new.get("reason") not in r.stop_reasons:
        recording["reason"] = new["reason"]
    for path, documented in _DOCUMENTED_KEYS.items():
        source, target = drawn, base
        for key in path:
            source, target = source.get(key) or {}, target.get(key)
        if isinstance(target, dict):
            target.update({k: v for k, v in source.items() if k not in documented})
    return base


def unique_recording(callback: dict[str, Any], salt: str) -> dict[str, Any]:
    """The callback, moved to a recording of its own (its id, in the URL and in the upload
    address, salted): drawn examples shrink toward the documented recording, and several
    contradictory callbacks of one recording are not something Aircore sends."""
    recording = callback.get("recording")
    url = recording.get("url") if isinstance(recording, dict) else None
    parts = parse_recording_url(url) if isinstance(url, str) else None
    if parts is None:
        return callback  # not an Aircore recording URL (a malformed body): left as it is
    old = parts["id"]
    head = old.rsplit("-", 1)[0] if old.count("-") >= 2 else old
    new = f"{head}-{zlib.crc32(salt.encode()) % 10**9}"
    return loads(dumps(callback).replace(old.encode(), new.encode()))  # type: ignore[no-any-return]


def _forward_compatible(seed: int, case: str | None) -> list[Post]:
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
    if case == "top-level":
        # Extra fields of every JSON type, anywhere, drawn by the strategies.
        sends += [
            _callback(c, what=f"{_describe(c)} with an undocumented field of any JSON type")
            for c in _drawn_unknown(seed, case, "fields", 6)
        ]
    return sends


def _duplicates(seed: int, case: str | None) -> list[Post]:
    sends = []
    for callback in _standalone(seed, "idempotent-duplicates", case):
        url = callback["recording"]["url"]
        if case == "at-once":
            # A retry after a timeout while the first is still being handled: both in flight
            # at once (each its own unit, in one burst).
            first = replace(_callback(callback), unit=f"{url}#1", group="retry-race")
            again = replace(
                first,
                unit=f"{url}#2",
                what=f"{first.what}, delivered twice at once (a retry while the first is in"
                " flight)",
            )
            sends += [first, again]
            continue
        first = replace(_callback(callback), unit=url)
        sends += [first, replace(first, what=f"{first.what}, delivered a second time")]
    return sends


RUN_ALONE = {("idempotent-duplicates", "at-once"), ("redeliveries", "after-many")}
WIRE = "speaks-http"
"""Cases a full run sends on their own, after the rest: a race (both requests at once) and a
redelivery after every other delivery of the run (hundreds)."""


def _redeliveries(seed: int, case: str | None) -> list[Post]:
    gen = _generator(seed, "redeliveries", case)
    # A client's stop: the clause is about delivering again, not about stop reasons.
    outcome = "uploaded" if case != "restamped-failure" else "upload-failed"
    recording = gen.recording(outcome, stop_reason="clientStopped")
    callbacks = recording.callbacks()
    url = recording.url
    sends = [_callback(c, url) for c in callbacks]
    if case == "later":
        # Each callback again once the recording has moved on (a retry that arrives late).
        sends += [
            replace(_callback(c, url), what=f"{_describe(c)}, delivered again later")
            for c in callbacks
        ]
    elif case in ("restamped", "restamped-failure"):
        # A sender's retry is a new request: the same callback with a later timestamp.
        for minutes, c in zip((1, 5, 30), callbacks, strict=False):
            again = dict(c, timestamp=c["timestamp"] + minutes * 60_000)
            sends.append(
                _callback(
                    again, url, f"{_describe(c)}, redelivered {minutes} min later, re-stamped"
                )
            )
    elif case == "after-many":
        # The lifecycle of redeliveries[later] again, once the rest of the run (hundreds of
        # other deliveries) has gone: a retry from a queue that was backed up.
        last = after_many_originals(seed)[-1]
        sends = [replace(last, what=f"{last.what}, delivered again after the rest of the run")]
        url = sends[0].lifecycle or url
    elif case == "lifecycle-twice":
        sends += [
            replace(_callback(c, url), what=f"{_describe(c)} (the whole lifecycle again)")
            for c in callbacks
        ]
    return [replace(s, unit=url) for s in sends]


def after_many_originals(seed: int) -> list[Post]:
    """What redeliveries[after-many] delivers again: redeliveries[later]'s lifecycle."""
    return _redeliveries(seed, "later")[:3]


def _concurrent(seed: int, case: str | None) -> list[Post]:
    # Many recordings at once, each recording's callbacks in order: what a busy Aircore does.
    gen = _generator(seed, "concurrent-deliveries", case)
    sends = []
    reasons = lifecycle().stop_reasons
    first_stamps: list[int] = []
    for n in range(CONCURRENT_RECORDINGS):
        # Every outcome and stop reason, in turn: the burst is about timing, not values.
        outcome = ("uploaded", "upload-failed", "in-progress")[n % 3]
        pins = {"stop_reason": reasons[n % len(reasons)]} if outcome != "in-progress" else {}
        recording = gen.recording(outcome, **pins)
        callbacks = recording.callbacks()
        if n % 2:
            # Half of them stamped in the very milliseconds of the first recording's events:
            # many recordings' callbacks in one millisecond.
            for callback, stamp in zip(callbacks, first_stamps, strict=False):
                callback["timestamp"] = stamp
        elif n == 0:
            first_stamps = [c["timestamp"] for c in callbacks]
        sends += [
            replace(_callback(c, recording.url), unit=recording.url, group="burst")
            for c in callbacks
        ]
    return sends


CONCURRENT_RECORDINGS = 12
"""Recordings whose callbacks concurrent-deliveries sends at once."""


def _out_of_order(seed: int, case: str | None) -> list[Post]:
    gen = _generator(seed, "tolerates-out-of-order", case)
    sends = []
    for scenario in ("uploaded+out-of-order", "upload-failed+out-of-order", "uploaded+reversed"):
        for delivery in gen.deliveries(scenario):
            send = _callback(delivery.callback, delivery.recording_url)
            if delivery.quirk:
                send = Post(
                    send.body, f"{send.what} ({delivery.quirk})", send.lifecycle, send.callback
                )
            sends.append(send)
    return sends


def _malformed(seed: int, case: str | None) -> list[Post]:
    if case == "wrong-types":
        return _wrong_types(seed, case)
    if case == "structure":
        return _structure(seed, case)
    if case == "sizes":
        return _sizes(seed, case)
    example = _generator(seed, "handles-malformed-input", case).recording("uploaded").callbacks()
    # Each case about a recording of its own: a verdict belongs to its case, not to what an
    # earlier case of the same recording left behind (a duplicate start, say).
    example = [unique_recording(c, f"{case}/{i}") for i, c in enumerate(example)]
    if case == "not-json":
        return [
            Post(dumps(example[0])[:40], "a truncated JSON body"),
            Post(b"<html>not json</html>", "a body that is not JSON"),
            Post(b"", "an empty body"),
            Post(b"NaN", "the bare literal NaN"),
            Post(b"{'event': 'recording-started'}", "a Python dict literal (single quotes)"),
        ]
    # A new stop reason is no defect (Aircore may add one); a reason that is no string is.
    stopped = dict(example[1], recording=dict(example[1]["recording"], reason=404))
    no_url = dict(
        example[2], recording={k: v for k, v in example[2]["recording"].items() if k != "url"}
    )
    event = example[0]["event"]
    return [
        Post(b'{"hello": "world"}', "a JSON object that is not a callback"),
        Post(b"[1, 2, 3]", "a JSON array"),
        Post(dumps(event), "a JSON string"),
        Post(b"null", "JSON null"),
        Post(
            dumps(stopped),
            f"a {stopped['event']} callback whose reason is not a string",
        ),
        Post(dumps(no_url), f"a {no_url['event']} callback without recording.url"),
    ]


# Every JSON type, for every position: what a wrong type may look like.
_JSON_VALUES: tuple[tuple[str, Any], ...] = (
    ("null", None),
    ("a boolean", True),
    ("a negative integer", -1),
    ("a fraction", 1.5),
    ("a string", "17"),
    ("an array", [1]),
    ("an object", {"value": 1}),
)


def _fields(callback: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for key, value in callback.items():
        paths.append((*prefix, key))
        if isinstance(value, dict):
            paths += _fields(value, (*prefix, key))
    return paths


def _wrong_types(seed: int, case: str | None) -> list[Post]:
    """Every JSON type in every position of every callback type, where it breaks the schema."""
    from ..validation import is_valid

    sends = []
    seen: set[tuple[str, ...]] = set()
    for callback in _standalone(seed, "handles-malformed-input", case):
        for path in _fields(callback):
            if path in seen:
                continue  # recording.url is the same position in all four
            seen.add(path)
            for name, value in _JSON_VALUES:
                own = unique_recording(callback, f"wrong-types/{'.'.join(path)}/{name}")
                wrong = replaced(own, path, value)
                if is_valid(wrong):
                    continue
                what = f"a {callback['event']} callback whose {'.'.join(path)} is {name}"
                sends.append(Post(dumps(wrong), what, callback=wrong))
    return sends


_DEPTH = 10_000


def _structure(seed: int, case: str | None) -> list[Post]:
    started = _standalone(seed, "handles-malformed-input", case)[0]

    def own(n: int) -> bytes:
        # Each body about its own recording: these are not meant as redeliveries.
        return dumps(unique_recording(started, f"structure/{n}"))

    stamp = str(started["timestamp"]).encode()
    deep = b'{"event": "recording-started", "recording": ' + b"[" * _DEPTH + b"]" * _DEPTH + b"}"
    deep_object = b'{"a": ' * _DEPTH + b"1" + b"}" * _DEPTH
    return [
        _raw(deep, f"a body nested {_DEPTH} arrays deep"),
        _raw(deep_object, f"a body nested {_DEPTH} objects deep"),
        _raw(b'{"timestamp": 1' + b"0" * 400 + b"}", "a 401-digit integer"),
        _raw(
            own(1).replace(stamp, b"1e400", 1),
            "a recording-started callback whose timestamp is 1e400 (beyond a double)",
        ),
        _raw(
            own(2).replace(stamp, b"18446744073709551616", 1),
            "a recording-started callback whose timestamp is 2**64 (beyond 64 bits)",
            "no-5xx",  # valid JSON and, the schema setting no maximum, a valid callback
        ),
        _raw(
            own(3).replace(b'"started"', b'"st\xff\xfeed"', 1),
            "a recording-started callback with invalid UTF-8 in a string",
        ),
        _raw(b'"\\ud800"', "a JSON string holding a lone surrogate"),
        _raw(
            own(9).replace(b'"started"', b'"st\\ud800rted"', 1),
            "a recording-started callback whose state holds a lone surrogate escape (valid JSON,"
            " not valid text: it cannot be encoded to UTF-8 or stored as text)",
            "no-5xx",
        ),
        _raw(b"\xef\xbb\xbf" + own(4), "a callback behind a UTF-8 byte order mark", "no-5xx"),
        _raw(
            b'{"event": "recording-started", ' + own(5)[1:-1] + b"}",
            "a recording-started callback whose event key appears twice",
            "no-5xx",
        ),
        _raw(
            b'{"event": 7, ' + own(6)[1:-1] + b"}",
            "a callback whose event key appears twice, the first time a number",
            "no-5xx",
        ),
        _raw(own(7) + b"\n" + own(8), "two callbacks in one body (JSON lines)"),
    ]


# Bodies just under and just over limits servers commonly set (64 KiB, 1 MiB): a 413 is a
# fine answer, a 5xx is not.
_SIZES = (64 * 1024 - 1, 64 * 1024 + 1, 1024 * 1024 + 1)


def _sizes(seed: int, case: str | None) -> list[Post]:
    started = _standalone(seed, "handles-malformed-input", case)[0]
    sends = []
    for size in _SIZES:
        padded = dict(unique_recording(started, f"sizes/{size}"), padding="")
        room = size - len(dumps(padded))
        padded["padding"] = "x" * room
        body = dumps(padded)
        assert len(body) == size
        sends.append(_raw(body, f"a recording-started callback padded to {size:,} bytes", "no-5xx"))
    return sends


def _every_value(seed: int, case: str | None) -> list[Post]:
    """The coverage phase (the edges of every field's domain, the same whatever the seed),
    then the search's first pass: examples drawn from the strategies (the session shrinks any
    failure by sending more)."""
    from . import search
    from .coverage import coverage_callbacks

    covered = [
        _callback(c, c["recording"]["url"], f"{_describe(c)}: {what}")
        for c, what in coverage_callbacks(seed, case)
    ]

    drawn = search.examples(case, seed + zlib.crc32(f"accepts-every-value/{case}".encode()))
    sends = [
        _callback(unique_recording(c, f"{case}/{i}"), what=f"{_describe(c)} (drawn by the search)")
        for i, c in enumerate(drawn)
    ]
    return covered + _boundaries(seed, case) + sends


def _boundaries(seed: int, case: str | None) -> list[Post]:
    """The edges of the value space, every run: a zero-length recording and the longest one
    (two days), and a callback stamped before its recording started (clock skew)."""
    from ..strategies import MAX_DURATION, MAX_SKEW

    r = lifecycle()
    gen = _generator(seed, "accepts-every-value/edges", case)
    outcome = "upload-failed" if case == r.upload_failed else "uploaded"
    sends = []
    for ms in (0, MAX_DURATION):
        recording = gen.recording(outcome, elapsed_time=ms)
        callback = next(c for c in recording.callbacks() if c["event"] == case)
        if case == r.started:
            callback["timestamp"] += -MAX_SKEW if ms == 0 else MAX_SKEW
            side = "before" if ms == 0 else "after"
            edge = f"stamped {MAX_SKEW // 60_000} min {side} its start"
        else:
            edge = "a zero-length recording" if ms == 0 else "a two-day recording"
        sends.append(_callback(callback, what=f"{_describe(callback)}: {edge}"))
    return sends


def _wire(seed: int, case: str | None) -> list[Post]:
    """A whole lifecycle written as one kind of client writes it (the profile), its answers
    read strictly; the session sends these itself, over a socket (contract/wire.py)."""
    recording = _generator(seed, "speaks-http", case).recording(
        "uploaded", stop_reason="clientStopped"
    )
    return [
        replace(_callback(c, recording.url), unit=recording.url, profile=case, headers={})
        for c in recording.callbacks()
    ]


def _profiles() -> Sequence[str]:
    from .wire import PROFILES

    return tuple(p.name for p in PROFILES)


def _in_time(seed: int, case: str | None) -> list[Post]:
    recording = _generator(seed, "answers-in-time", case).recording("uploaded")
    return [_callback(c, recording.url) for c in recording.callbacks()]


# --- the clauses ------------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """One thing a receiver must do; `cases` split it into separately reported parts."""

    name: str
    title: str
    expect: Expect
    build: Callable[[int, str | None], list[Post]]
    cases: Callable[[], Sequence[str]] = lambda: ()


def _event_cases() -> Sequence[str]:
    return ("documented-examples", *schemas.callback_types())


def outcome_cases() -> Sequence[str]:
    from ..generation import outcomes

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
            "accepts what Aircore may add: undocumented fields, new stop reasons and states on"
            " documented events (2xx: a 4xx loses the callback); new event types (no 5xx; a 4xx"
            " is a warning)",
            "2xx",
            _forward_compatible,
            lambda: ("top-level", "recording", "location", "new-values", "new-event-type"),
        ),
        Clause(
            "accepts-every-value",
            "accepts every realistic value of every field: the edges of each field's domain"
            " (a coverage phase, every run), then a seeded search that shrinks a failure to its"
            " minimal callback (2xx)",
            "2xx",
            _every_value,
            lambda: schemas.callback_types(),
        ),
        Clause(
            "idempotent-duplicates",
            "accepts the same callback delivered twice, in turn and at once (2xx both times)",
            "2xx",
            _duplicates,
            lambda: ("in-turn", "at-once"),
        ),
        Clause(
            "redeliveries",
            "accepts a callback delivered again later, re-stamped as a retry, a whole"
            " lifecycle twice, and a lifecycle again after the rest of the run (2xx every time)",
            "2xx",
            _redeliveries,
            lambda: ("later", "restamped", "restamped-failure", "lifecycle-twice", "after-many"),
        ),
        Clause(
            "concurrent-deliveries",
            "accepts many recordings' callbacks at once, nothing lost (2xx)",
            "2xx",
            _concurrent,
        ),
        Clause(
            "tolerates-out-of-order",
            "answers out-of-order callbacks (upload before stop, stop before start) without a 5xx",
            "no-5xx",
            _out_of_order,
        ),
        Clause(
            "speaks-http",
            "accepts callbacks as every real HTTP client writes them (chunked or sized bodies,"
            " Expect: 100-continue, header names in any case, with or without User-Agent,"
            " keep-alive or close), and answers with HTTP a client can read to its end (2xx)",
            "2xx",
            _wire,
            _profiles,
        ),
        Clause(
            "handles-malformed-input",
            "answers malformed bodies without a 5xx (4xx is right; 2xx is a warning)",
            "4xx-preferred",
            _malformed,
            lambda: ("not-json", "not-a-callback", "wrong-types", "structure", "sizes"),
        ),
    )
}
PROBE = "probe"
CONVERGES = "converges"
USER_CLAUSES = {
    PROBE: "your probe passes after each lifecycle, delivered in every order, with duplicates"
    " and redeliveries (needs a probe)",
    CONVERGES: "the recording's state after its callbacks in any order, with duplicates and"
    " redeliveries, is the state after them once in order (needs the receiver's state)",
}
"""Clauses that run only with something of the user's: a probe, the receiver's state."""


def clause_names(with_probe: bool = True, with_state: bool = True) -> list[str]:
    """Every clause name, in the order they run (the probe and converges last)."""
    return [*CLAUSES] + [PROBE] * with_probe + [CONVERGES] * with_state


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
    if expect == "2xx-preferred" and not 200 <= status < 300:
        return (
            "warned",
            "a 2xx: any other answer tells Aircore the callback was rejected, so a value or"
            " event type it adds later would be lost",
        )
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
