"""Pins: values a user fixes (`--set recording.location.region=eu-west-1`); the rest follows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import schemas
from ..errors import UsageError
from ..model import lifecycle
from .facts import failure_families

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
    given: dict[str, str] = {}  # pin (or path) -> the key that set it, to name a repeat
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set {assignment!r}: expected PATH=VALUE")
        name = PIN_PATHS.get(key, key)
        if key == "recording.reason" and raw not in lifecycle().stop_reasons:
            name = "failure_reason"
        # A second value for the same pin would silently win: say so instead.
        for seen in (key, name):
            if seen in given:
                raise UsageError(
                    f"--set {key}: set twice (already by --set {given[seen]}=...); give it once"
                )
        given[key] = given[name] = key
        if name not in PIN_TYPES:
            fixed = {f.dotted for e in schemas.callback_types() for f in schemas.iter_fields(e)}
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


def check_pins(pins: Mapping[str, Any]) -> None:
    """A usage error for a pin of the wrong type or value."""
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
    if reason is not None and reason not in lifecycle().stop_reasons:
        raise UsageError(
            f"stop_reason {reason!r} is not one of {', '.join(lifecycle().stop_reasons)}"
        )
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
