"""Validate callbacks: jsonschema-rs answers "is it valid?", python-jsonschema explains why not."""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from . import schemas as _schemas
from .errors import Problem, UsageError, ValidationError

if TYPE_CHECKING:
    import jsonschema

_MESSAGE_LIMIT = 200
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _schema_name(event: str | None) -> str:
    if event is None:
        return _schemas.UNION
    if event not in _schemas.callback_types():
        known = ", ".join(_schemas.callback_types())
        raise UsageError(f"unknown callback type {event!r} (known: {known})")
    return event


def _contents(name: str, strict: bool) -> dict[str, Any]:
    wanted = _schemas.schema_id(name, strict)
    return next(c for uri, c in _schemas.resources(strict) if uri == wanted)


@functools.cache
def _reporter(name: str, strict: bool) -> jsonschema.protocols.Validator:
    # Imported here: python-jsonschema costs ~90 ms to import and is only needed once a
    # payload has turned out invalid (or when jsonschema-rs is missing).
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    registry: Registry[Any] = Registry().with_resources(
        (uri, DRAFT202012.create_resource(contents)) for uri, contents in _schemas.resources(strict)
    )
    return Draft202012Validator(
        _contents(name, strict),
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


@functools.cache
def _checker(name: str, strict: bool) -> Callable[[Any], bool]:
    try:
        import jsonschema_rs
    except ImportError:
        _warn_no_rust()
        return _reporter(name, strict).is_valid
    registry = jsonschema_rs.Registry(list(_schemas.resources(strict)))
    validator = jsonschema_rs.Draft202012Validator(
        _contents(name, strict), registry=registry, validate_formats=True
    )
    return validator.is_valid


@functools.cache
def _warn_no_rust() -> None:
    warnings.warn(
        "jsonschema-rs is not installed; validating with python-jsonschema (about 200x slower)",
        RuntimeWarning,
        stacklevel=4,
    )


def checker(*, strict: bool = False, event: str | None = None) -> Callable[[Any], bool]:
    """A compiled, cached `payload -> bool` for hot loops (what `is_valid` calls)."""
    return _checker(_schema_name(event), strict)


def is_valid(payload: Any, *, strict: bool = False, event: str | None = None) -> bool:
    """Whether `payload` is a valid callback (of type `event`, if given)."""
    return _checker(_schema_name(event), strict)(payload)


def iter_errors(
    payload: Any, *, strict: bool = False, event: str | None = None
) -> Iterator[Problem]:
    """Every problem with `payload`, the one a human should see first leading."""
    name = _schema_name(event)
    if not _checker(name, strict)(payload):
        yield from explain(payload, strict=strict, event=event)


def validate(payload: Any, *, strict: bool = False, event: str | None = None) -> None:
    """Raise `ValidationError` (carrying every problem) unless `payload` is a valid callback."""
    problems = list(iter_errors(payload, strict=strict, event=event))
    if problems:
        raise ValidationError(problems)


def explain(payload: Any, *, strict: bool = False, event: str | None = None) -> list[Problem]:
    """The problems python-jsonschema finds in `payload`, best match first (slow path)."""
    from jsonschema.exceptions import best_match

    name = _schema_name(event)
    errors = list(_reporter(name, strict).iter_errors(payload))
    if not errors:
        if _checker(name, strict)(payload):
            return []
        # The two engines disagree: never call a payload valid that one of them rejects.
        return [Problem("$", "rejected by jsonschema-rs, though python-jsonschema accepts it")]
    best = best_match(errors)
    rest = sorted((e for e in errors if e is not best), key=lambda e: [str(p) for p in e.path])
    problems: list[Problem] = []
    for error in [best, *rest]:
        problems.extend(_humanize(error))
    # The union checks the envelope, and then the event's own schema checks it again: one
    # defect, one problem.
    return list(dict.fromkeys(problems))


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENTIFIER.match(key) else f"{path}[{key!r}]"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _humanize(error: jsonschema.ValidationError) -> list[Problem]:
    path = error.json_path
    kind = error.validator
    instance = error.instance
    if kind == "required" and isinstance(instance, dict):
        missing = [
            key
            for key in error.validator_value
            if key not in instance and repr(key) in error.message
        ]
        return [
            Problem(_child(path, key), "required property is missing", kind) for key in missing[:1]
        ]
    if kind == "unevaluatedProperties" and isinstance(instance, dict):
        extra = [key for key in instance if repr(key) in error.message]
        return [
            Problem(
                _child(path, key), "undocumented property (rejected in strict mode)", "undocumented"
            )
            for key in extra
        ] or [Problem(path, error.message, "undocumented")]
    if kind == "const":
        return [
            Problem(path, f"expected {error.validator_value!r}, found {_short(instance)}", kind)
        ]
    if kind == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return [Problem(path, f"{_short(instance)} is not one of {allowed}", kind)]
    if kind == "type":
        return [Problem(path, f"expected {error.validator_value}, found {_short(instance)}", kind)]
    if kind == "format":
        return [Problem(path, f"{_short(instance)} is not a valid {error.validator_value}", kind)]
    message = error.message
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 3] + "..."
    return [Problem(path, message, str(kind))]


def undocumented(payload: Any, *, event: str | None = None) -> list[Problem]:
    """What a callback the default mode accepts carries that Aircore's docs do not name.

    One note (a `Problem` of kind `undocumented`) per undocumented property, value (a stop
    reason, a state) or event type: exactly what strict mode would reject. These are notes, not
    failures: Aircore may add all of them; a typo in a hand-written fixture shows up here too.
    Empty for a fully documented callback and for one the default mode rejects.
    """
    return [note for note, _ in _notes(payload, _schema_name(event))]


def undocumented_labels(payload: Any, *, event: str | None = None) -> tuple[str, ...]:
    """The notes of `undocumented`, short: a property's JSON path, or `path='value'`."""
    return tuple(label for _, label in _notes(payload, _schema_name(event)))


def _notes(payload: Any, name: str) -> list[tuple[Problem, str]]:
    if _checker(name, True)(payload) or not _checker(name, False)(payload):
        return []
    notes: list[tuple[Problem, str]] = []
    # The strict variant differs from the default only by closed objects and closed value
    # lists, so each of its errors on a payload the default accepts is one of those.
    for error in _reporter(name, True).iter_errors(payload):
        path, kind = error.json_path, "undocumented"
        if error.validator == "unevaluatedProperties" and isinstance(error.instance, dict):
            for key in error.instance:
                if repr(key) in error.message:
                    child = _child(path, key)
                    notes.append((Problem(child, "undocumented property", kind), child))
            continue
        if error.validator in ("enum", "const"):
            allowed = error.validator_value
            listed = allowed if error.validator == "enum" else [allowed]
            what = "event type" if path == "$.event" else "value"
            documented = ", ".join(repr(v) for v in listed)
            message = f"undocumented {what} {_short(error.instance)} (documented: {documented})"
            notes.append((Problem(path, message, kind), f"{path}={_short(error.instance)}"))
            continue
        notes.append((Problem(path, error.message, kind), path))  # not expected; never hidden
    return sorted(dict.fromkeys(notes), key=lambda pair: pair[0].path)
