"""Recording lifecycles, built from the schemas: which callbacks exist and what each carries."""

from __future__ import annotations

import functools
import heapq
import itertools
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from . import _schemas
from ._catalogue import REGION_CODES, UploadFailure, failure_families
from ._draw import between, pick
from ._exceptions import UsageError

if TYPE_CHECKING:
    from ._scenarios import Scenario

Callback = dict[str, Any]
"""A callback payload: a plain JSON-ready dict."""

_SECOND = 1_000
_FAMILIES = failure_families()


# --- what the schemas say ---------------------------------------------------------------


@dataclass(frozen=True)
class Roles:
    """Which callback type plays which part of a lifecycle, read from the schemas' shapes."""

    started: str
    stopped: str
    uploaded: str
    upload_failed: str
    stop_reasons: tuple[str, ...]


@functools.cache
def roles() -> Roles:
    """Map lifecycle parts to callback types by what each schema carries (not by name).

    The stop callback is the one whose `recording.reason` is an enum (the stop reasons), the
    upload-failed one carries a free-text `recording.reason`, the uploaded one a
    `recording.location`, and the started one none of these.
    """
    found: dict[str, str] = {}
    reasons: tuple[str, ...] = ()
    for event in _schemas.callback_types():
        paths = {f.dotted: f for f in _schemas.iter_fields(event)}
        reason = paths.get("recording.reason")
        if reason is not None and reason.enum:
            role, reasons = "stopped", reason.enum
        elif reason is not None:
            role = "upload_failed"
        elif "recording.location" in paths:
            role = "uploaded"
        else:
            role = "started"
        if role in found:
            raise RuntimeError(f"schemas {found[role]} and {event} both look like {role}")
        found[role] = event
    return Roles(stop_reasons=reasons, **found)


_Plan = tuple[tuple[str, bool, Any, Any], ...]  # (key, is_const, const or dotted path, subplan)


def _plan(fields: Sequence[_schemas.Field]) -> _Plan:
    return tuple(
        (
            f.path[-1],
            f.has_const,
            f.const if f.has_const else f.dotted,
            _plan(f.children) if f.children else None,
        )
        for f in fields
        if f.required or f.has_const
    )


def _expression(plan: _Plan, constants: list[Any]) -> str:
    # One dict display per callback type: building a payload is then a single expression,
    # about three times faster than walking the plan for every callback.
    items = []
    for key, is_const, const_or_path, sub in plan:
        if sub is not None:
            value = _expression(sub, constants)
        elif is_const:
            constants.append(const_or_path)
            value = f"_c[{len(constants) - 1}]"
        else:
            value = f"_v[{const_or_path!r}]"
        items.append(f"{key!r}: {value}")
    return "{" + ", ".join(items) + "}"


@functools.cache
def _builders() -> dict[str, Callable[[Mapping[str, Any]], Callback]]:
    builders = {}
    for event in _schemas.callback_types():
        constants: list[Any] = []
        source = f"lambda _v: {_expression(_plan(_schemas.fields(event)), constants)}"
        builders[event] = eval(source, {"_c": constants})  # every key is repr()-quoted
    return builders


def build_callback(event: str, values: Mapping[str, Any]) -> Callback:
    """A callback of type `event` from `values` keyed by dotted path (`recording.url`).

    Constants (`event`, `recording.state`) come from the schema; values for fields the
    schema does not declare are ignored.
    """
    builders = _builders()
    if event not in builders:
        raise UsageError(f"unknown callback type {event!r}")
    try:
        return builders[event](values)
    except KeyError as exc:
        raise RuntimeError(
            f"the schemas require {exc.args[0]!r}, which the generator cannot fill"
        ) from None


# --- the lifecycle ----------------------------------------------------------------------


@dataclass
class Recording:
    """One recording's lifecycle: started, stopped for a reason, then uploaded or not."""

    url: str
    start_time: int
    duration: int | None
    """Milliseconds recorded; None while it is still in progress."""
    stop_reason: str | None
    region: str
    bucket: str
    filename: str
    upload_delay: int
    address: str | None = None
    """The upload address when the upload succeeds."""
    failure: UploadFailure | None = None
    failure_reason: str | None = None
    """The S3 client's message when the upload fails."""

    @property
    def recording_id(self) -> str:
        from ._urls import recording_id_of

        return recording_id_of(self.url)

    @property
    def outcome(self) -> str:
        """`in-progress`, `uploaded`, `upload-failed` or `stopped` (no upload callback)."""
        if self.duration is None:
            return "in-progress"
        if self.address is not None:
            return "uploaded"
        return "upload-failed" if self.failure_reason is not None else "stopped"

    def callbacks(self) -> list[Callback]:
        """The callbacks Aircore sends for this recording, in the order it sends them."""
        r = roles()
        values: dict[str, Any] = {
            "timestamp": self.start_time,
            "recording.url": self.url,
            "recording.startTime": self.start_time,
            "recording.elapsedTime": 0,
        }
        out = [build_callback(r.started, values)]
        if self.duration is None:
            return out
        stopped_at = self.start_time + self.duration
        values["timestamp"] = stopped_at
        values["recording.elapsedTime"] = self.duration
        values["recording.reason"] = self.stop_reason
        out.append(build_callback(r.stopped, values))
        values["timestamp"] = stopped_at + self.upload_delay
        if self.address is not None:
            values["recording.location.address"] = self.address
            values["recording.location.region"] = self.region
            out.append(build_callback(r.uploaded, values))
        elif self.failure_reason is not None:
            values["recording.reason"] = self.failure_reason
            out.append(build_callback(r.upload_failed, values))
        return out


class Delivery(NamedTuple):
    """One POST to make: the callback, its recording, when (ms into the run) and any fault."""

    callback: Callback
    recording_url: str
    offset_ms: int
    quirk: str | None = None


# --- pins -------------------------------------------------------------------------------

PIN_TYPES: dict[str, type] = {
    "url": str,
    "region": str,
    "bucket": str,
    "filename": str,
    "start_time": int,
    "elapsed_time": int,
    "stop_reason": str,
    "failure": str,
    "failure_reason": str,
    "address": str,
    "server_region": str,
}
"""Values a user may pin, and their types."""

# JSON paths a user may --set, and the pin each one sets (`recording.reason` is the stop
# reason when it is one, the upload failure's message otherwise).
PIN_PATHS: dict[str, str] = {
    "recording.url": "url",
    "recording.startTime": "start_time",
    "recording.elapsedTime": "elapsed_time",
    "recording.location.region": "region",
    "recording.location.address": "address",
    "recording.reason": "stop_reason",
}


def pin_label(name: str) -> str:
    """How a user names a pin: its JSON path when it has one (`recording.reason`)."""
    if name == "failure_reason":
        return "recording.reason (an upload failure message)"
    path = next((p for p, pin in PIN_PATHS.items() if pin == name), None)
    return f"{path} ({name})" if path else name


def parse_pins(assignments: Sequence[str]) -> dict[str, Any]:
    """Turn `PATH=VALUE` strings (a JSON path or a pin name) into `Generator` keyword pins."""
    pins: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set {assignment!r}: expected PATH=VALUE")
        name = PIN_PATHS.get(key, key)
        if key == "recording.reason" and raw not in roles().stop_reasons:
            name = "failure_reason"
        if name not in PIN_TYPES:
            fixed = {f.dotted for e in _schemas.callback_types() for f in _schemas.iter_fields(e)}
            if key in fixed:
                raise UsageError(
                    f"--set {key}: this field follows from the scenario and cannot be pinned; "
                    f"pinnable: {', '.join([*PIN_PATHS, *PIN_TYPES])}"
                )
            raise UsageError(
                f"--set {key}: unknown field; pinnable: {', '.join([*PIN_PATHS, *PIN_TYPES])}"
            )
        if PIN_TYPES[name] is int:
            try:
                value: Any = int(raw)
            except ValueError:
                raise UsageError(
                    f"--set {key}: expected an integer (milliseconds), got {raw!r}"
                ) from None
        else:
            value = raw
        pins[name] = value
    return pins


def _check_pins(pins: Mapping[str, Any]) -> None:
    for name, value in pins.items():
        if name not in PIN_TYPES:
            raise UsageError(f"unknown pin {name!r}; pinnable: {', '.join(PIN_TYPES)}")
        if value is None:
            continue
        kind = PIN_TYPES[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UsageError(f"{pin_label(name)} must be {kind.__name__}, got {value!r}")
        if kind is int and not 0 <= value < 2**53:
            # milliseconds: JSON numbers stay exact below 2**53, and a callback is JSON
            raise UsageError(f"{pin_label(name)} must be between 0 and 2**53 - 1, got {value}")
        if kind is str and name != "region" and not value:
            raise UsageError(f"{pin_label(name)} must not be empty")
    reason = pins.get("stop_reason")
    if reason is not None and reason not in roles().stop_reasons:
        raise UsageError(f"stop_reason {reason!r} is not one of {', '.join(roles().stop_reasons)}")
    family = pins.get("failure")
    if family is not None and family not in failure_families():
        raise UsageError(
            f"unknown upload failure {family!r}; known: {', '.join(failure_families())}"
        )
    for name in ("url", "address"):
        if pins.get(name) is not None and not _is_uri(pins[name]):
            raise UsageError(f"{pin_label(name)} must be an absolute URL, got {pins[name]!r}")
    for name in ("bucket", "filename"):
        # both end up in the upload address, which must stay a valid URI
        value = pins.get(name)
        if value is not None and not _is_uri(f"https://{value}.s3.amazonaws.com/{value}_x.m4a"):
            raise UsageError(f"{name} {value!r} cannot be part of an upload address")


def _is_uri(value: str) -> bool:
    from rfc3986_validator import validate_rfc3986

    return bool(validate_rfc3986(value, rule="URI"))


# --- the generator ----------------------------------------------------------------------


class Generator:
    """Seeded source of realistic recordings and callbacks (one Faker instance, built once)."""

    def __init__(self, seed: int | None = None) -> None:
        from faker import Generator as FakerGenerator

        from ._providers import AircoreProvider

        self.seed: int = secrets.randbits(32) if seed is None else int(seed)
        """The seed in use: pass it back to reproduce every byte."""
        self.faker = FakerGenerator()
        self.faker.seed_instance(self.seed)
        self.faker.add_provider(AircoreProvider)
        self._provider: AircoreProvider = next(
            p for p in self.faker.providers if isinstance(p, AircoreProvider)
        )

    def recording(
        self,
        outcome: str = "uploaded",
        *,
        url: str | None = None,
        region: str | None = None,
        bucket: str | None = None,
        filename: str | None = None,
        start_time: int | None = None,
        elapsed_time: int | None = None,
        stop_reason: str | None = None,
        failure: str | None = None,
        failure_reason: str | None = None,
        address: str | None = None,
        server_region: str | None = None,
    ) -> Recording:
        """One recording with the given outcome (a scenario's outcome name) and pinned values."""
        pins = {k: v for k, v in locals().items() if k not in ("self", "outcome")}
        _check_pins(pins)
        from ._scenarios import outcome_named

        chosen = outcome_named(outcome)
        chosen.check(pins)
        return self._recording(chosen, pins)

    def _recording(self, outcome: Any, pins: Mapping[str, Any]) -> Recording:
        fake = self._provider
        random = self.faker.random
        start_time = pins.get("start_time")
        if start_time is None:
            start_time = fake.recording_start_time()
        url = (
            pins["url"]
            if pins.get("url") is not None
            else fake.recording_url(start_time=start_time, region=pins.get("server_region"))
        )
        region = pins["region"] if pins.get("region") is not None else fake.aws_region()
        bucket = pins.get("bucket") or fake.s3_bucket()
        filename = pins.get("filename") or fake.filename_prefix()
        decided = outcome.decide(random, pins)
        duration: int | None = None
        if decided.upload != "none":
            duration = pins.get("elapsed_time")
            if duration is None:
                duration = fake.recording_duration()
        recording = Recording(
            url=url,
            start_time=start_time,
            duration=duration,
            stop_reason=None,
            region=region,
            bucket=bucket,
            filename=filename,
            upload_delay=fake.upload_delay(duration or 0),
        )
        if duration is None:
            return recording
        recording.stop_reason = (
            pins.get("stop_reason") or decided.stop_reason or pick(random, roles().stop_reasons)
        )
        if decided.upload == "ok":
            recording.address = pins.get("address") or fake.upload_address(
                bucket=bucket,
                region=region,
                filename=filename,
                recording_id=recording.recording_id,
            )
        else:
            family = pins.get("failure") or decided.failure
            if family is None:
                # A region that does not exist can only fail as a bad region.
                real = region in REGION_CODES
                family = pick(random, _FAMILIES) if real else "bad-region"
            recording.failure, message = fake.upload_failure(family, bucket=bucket, region=region)
            recording.failure_reason = pins.get("failure_reason") or message
        return recording

    def lifecycles(
        self, scenario: str = "uploaded", count: int | None = None, **pins: Any
    ) -> Iterator[Recording]:
        """Recordings of a scenario's outcome one after another in time; endless if no count."""
        from ._scenarios import resolve

        chosen = resolve(scenario)
        _check_pins(pins)
        chosen.outcome.check(pins)
        return self._lifecycles(chosen, count, pins)

    def _lifecycles(
        self, scenario: Scenario, count: int | None, pins: Mapping[str, Any]
    ) -> Iterator[Recording]:
        # Checked now, not on first iteration, so a bad request fails where it is made.
        if count is not None and count < 1:
            raise UsageError(f"count must be at least 1, got {count}")
        if count != 1 and pins.get("url") is not None:
            raise UsageError("a pinned url names one recording: use a count of 1")
        return self._timeline(scenario, count, pins)

    def _timeline(
        self, scenario: Scenario, count: int | None, pins: Mapping[str, Any]
    ) -> Iterator[Recording]:
        random = self.faker.random
        burst = scenario.burst
        next_start = pins.get("start_time")
        for _ in itertools.repeat(None) if count is None else range(count):
            these = dict(pins)
            if next_start is not None:
                these["start_time"] = next_start
            recording = self._recording(scenario.outcome, these)
            yield recording
            if burst:
                # Recordings that start within a second or two of each other overlap.
                next_start = recording.start_time + between(random, 0, 2 * _SECOND)
            else:
                end = recording.start_time + (recording.duration or 0) + recording.upload_delay
                next_start = end + between(random, _SECOND, 300 * _SECOND)

    def deliveries(
        self, scenario: str = "uploaded", count: int | None = None, **pins: Any
    ) -> Iterator[Delivery]:
        """The POSTs a scenario makes, lazily, in send order (burst interleaves recordings).

        `count` is the number of recordings (default 1, or 10 for a burst).
        """
        from ._scenarios import resolve

        chosen = resolve(scenario)
        _check_pins(pins)
        chosen.outcome.check(pins)
        if count is None:
            count = 10 if chosen.burst else 1
        recordings = self._lifecycles(chosen, count, pins)
        return self._deliveries(chosen, recordings)

    def _deliveries(
        self, scenario: Scenario, recordings: Iterator[Recording]
    ) -> Iterator[Delivery]:
        random = self.faker.random
        first: int | None = None
        # (send time, sequence, delivery): the sequence keeps each recording's order on ties.
        pending: list[tuple[int, int, Delivery]] = []
        sequence = itertools.count()
        for recording in recordings:
            if first is None:
                first = recording.start_time
            while pending and pending[0][0] < recording.start_time:
                yield heapq.heappop(pending)[2]
            ordered: list[tuple[Callback, str | None]] = [(c, None) for c in recording.callbacks()]
            for fault in scenario.faults:
                ordered = fault.apply(ordered, random)
            # Each callback goes at its own time, or right after the one before it when a
            # fault has put it behind a later one (a delayed or retried delivery).
            at = recording.start_time
            for callback, quirk in ordered:
                at = max(at, callback["timestamp"])
                delivery = Delivery(callback, recording.url, at - first, quirk)
                heapq.heappush(pending, (at, next(sequence), delivery))
        while pending:
            yield heapq.heappop(pending)[2]

    def scenario(
        self, name: str = "uploaded", count: int | None = None, **pins: Any
    ) -> list[Callback]:
        """The callbacks of a scenario, in the order they are delivered."""
        return [d.callback for d in self.deliveries(name, count, **pins)]
