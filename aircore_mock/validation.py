"""Validate callbacks: jsonschema-rs answers "is it valid?", python-jsonschema explains why not."""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from . import schemas as _schemas
from .errors import Problem, UsageError, ValidationError
from .files import Item

if TYPE_CHECKING:
    import jsonschema

_MESSAGE_LIMIT = 200
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_DEPTH = 64
"""Nesting deeper than this is a validation problem: no callback comes near it (Aircore's
nest three levels), and the engines would each fail differently (python-jsonschema with a
RecursionError)."""


# --- is it JSON at all? -----------------------------------------------------------------
#
# The schema engines are given Python values. What a JSON parser cannot produce is the
# caller's bug (a set, bytes, a datetime, a tuple): TypeError, naming where. What a parser can
# produce but JSON cannot carry (a lone surrogate from json.loads, NaN, absurd nesting) is a
# problem with the payload: every function answers it the same way. The engines must never
# see either: jsonschema-rs raises ValueError or UnicodeEncodeError for them, or skips them
# inside fields no schema looks at.


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plainly_json(payload: Any) -> bool:
    """True for a value built only of dict, list, str, int, float, bool and None, with finite
    numbers, encodable strings and no deep nesting: the fast answer for almost every payload.
    False means "look closer" (`_defect`)."""
    kind = type(payload)
    if kind is not dict and kind is not list:
        if kind is str:
            return payload.isascii() or _utf8(payload)
        if kind is float:
            return payload - payload == 0.0  # NaN and the infinities fail
        return kind is int or kind is bool or payload is None
    stack = [(payload, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        if depth > MAX_DEPTH:
            return False
        if type(value) is dict:
            for key in value:
                if type(key) is not str or not (key.isascii() or _utf8(key)):
                    return False
            children = value.values()
        else:
            children = value
        for child in children:
            kind = type(child)
            if kind is str:
                if not (child.isascii() or _utf8(child)):
                    return False
            elif kind is dict or kind is list:
                push((child, depth + 1))
            elif kind is int or kind is bool or child is None:
                continue
            elif kind is float:
                if child - child != 0.0:
                    return False
            else:
                return False
    return True


def deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests objects and arrays more than `limit` levels deep (walked without
    recursion: what checks a body must not itself fail on one nested 100,000 deep)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if type(item) is dict:
            children: Any = item.values()
        elif type(item) is list:
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if type(child) in (dict, list))
    return False


def _not_json(path: str, what: str) -> TypeError:
    return TypeError(
        f"{path}: {what} is not a JSON value (JSON has objects, arrays, strings, numbers, "
        "true, false and null)"
    )


def _defect(payload: Any) -> Problem | None:
    """The first thing wrong with `payload` as JSON, as a `Problem`; raises `TypeError` (with
    the JSON path) for a value no JSON parser produces. The slow, thorough walk."""
    stack: list[tuple[Any, str, int]] = [(payload, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if not _utf8(value):
                return Problem(path, "contains a lone surrogate: not valid Unicode", "encoding")
        elif value is None or isinstance(value, int):  # bool is an int
            continue
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return Problem(path, f"{value!r} is not a JSON number", "number")
        elif isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                return Problem(path, f"nested more than {MAX_DEPTH} levels deep", "depth")
            if isinstance(value, dict):
                children = []
                for key, child in value.items():
                    if not isinstance(key, str):
                        raise TypeError(
                            f"{path}: key {key!r} is a {type(key).__name__}; JSON object keys "
                            "are strings"
                        )
                    if not _utf8(key):
                        return Problem(
                            _child(path, key), "key contains a lone surrogate", "encoding"
                        )
                    children.append((child, _child(path, key), depth + 1))
            else:
                children = [(c, f"{path}[{i}]", depth + 1) for i, c in enumerate(value)]
            stack.extend(reversed(children))  # depth-first in document order
        elif isinstance(value, tuple):
            raise _not_json(path, "a tuple (use a list)")
        else:
            raise _not_json(path, f"a {type(value).__name__}")
    return None


def _json_problem(payload: Any) -> Problem | None:
    """None for a sound JSON payload; a `Problem` for one no schema can judge; TypeError for
    one that is not JSON at all."""
    return None if _plainly_json(payload) else _defect(payload)


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
        check = _reporter(name, strict).is_valid
    else:
        registry = jsonschema_rs.Registry(list(_schemas.resources(strict)))
        validator = jsonschema_rs.Draft202012Validator(
            _contents(name, strict), registry=registry, validate_formats=True
        )
        check = validator.is_valid
    return check


def _float(value: Any) -> bool:
    # A float that was written as one: orjson reads an integer beyond 64 bits as a float, so
    # only floats below 2**63 (which it would have read as an int) are named.
    return type(value) is float and -(2**63) < value < 2**63


def _has_float_time(payload: Any) -> bool:
    """Whether a callback carries a float where Aircore sends integer milliseconds."""
    if type(payload) is not dict:
        return False
    if _float(payload.get("timestamp")):
        return True
    recording = payload.get("recording")
    return type(recording) is dict and (
        _float(recording.get("startTime")) or _float(recording.get("elapsedTime"))
    )


def _float_times(payload: Any) -> list[Problem]:
    """A float where Aircore sends integer milliseconds (`timestamp`, `startTime`,
    `elapsedTime`). JSON Schema counts 1685254741477.0 as an integer, so every engine and
    the shipped schemas accept it; a receiver typed `int64` or `StrictInt` refuses it, so it
    is named, as a note, in both modes."""
    if type(payload) is not dict:
        return []
    found = []
    if _float(payload.get("timestamp")):
        found.append(("$.timestamp", payload["timestamp"]))
    recording = payload.get("recording")
    if type(recording) is dict:
        for name in ("startTime", "elapsedTime"):
            if _float(recording.get(name)):
                found.append((f"$.recording.{name}", recording[name]))
    return [
        Problem(path, f"{value!r} is a float: Aircore sends integer milliseconds", "undocumented")
        for path, value in found
    ]


@functools.cache
def _warn_no_rust() -> None:
    warnings.warn(
        "jsonschema-rs is not installed; validating with python-jsonschema (about 200x slower)",
        RuntimeWarning,
        stacklevel=4,
    )


def checker(
    *, strict: bool = False, event: str | None = None, assume_json: bool = False
) -> Callable[[Any], bool]:
    """A compiled, cached `payload -> bool` for hot loops, answering as `is_valid` does.

    `assume_json=True` skips the walk that makes sure the payload is JSON (about 1.5 us a
    callback): for values straight from a JSON parser (json.loads, orjson), whose output is
    JSON by construction. A lone surrogate json.loads let through is then judged by the
    engine alone.
    """
    check = _checker(_schema_name(event), strict)
    if assume_json:
        return _guarded(check)
    return _walked(check)


@functools.cache
def _guarded(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def guarded(payload: Any) -> bool:
        try:
            return check(payload)
        except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
            # jsonschema-rs refuses what is not JSON; find out what it was.
            return _json_problem(payload) is None and check(payload)

    return guarded


@functools.cache
def _walked(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def walked(payload: Any) -> bool:
        if _plainly_json(payload) or _defect(payload) is None:
            return check(payload)
        return False

    return walked


def is_valid(payload: Any, *, strict: bool = False, event: str | None = None) -> bool:
    """Whether `payload` is a valid callback (of type `event`, if given).

    Raises `TypeError` (naming the JSON path) for a value that is not JSON: bytes, a set, a
    tuple, a datetime, a non-string key. A lone surrogate, NaN or nesting deeper than
    `MAX_DEPTH` make it invalid.
    """
    return checker(strict=strict, event=event)(payload)


def iter_errors(
    payload: Any, *, strict: bool = False, event: str | None = None
) -> Iterator[Problem]:
    """Every problem with `payload`, the one a human should see first leading (nothing for a
    valid callback; `TypeError` for a value that is not JSON, as `is_valid`)."""
    name = _schema_name(event)
    problem = _json_problem(payload)
    if problem is not None:
        yield problem
        return
    if not _checker(name, strict)(payload):
        yield from _explain(payload, strict, event)


def validate(payload: Any, *, strict: bool = False, event: str | None = None) -> None:
    """Raise `ValidationError` (carrying every problem) unless `payload` is a valid callback
    (`TypeError` for a value that is not JSON, as `is_valid`)."""
    problems = list(iter_errors(payload, strict=strict, event=event))
    if problems:
        raise ValidationError(problems)


def explain(payload: Any, *, strict: bool = False, event: str | None = None) -> list[Problem]:
    """The problems python-jsonschema finds in `payload`, best match first (slow path)."""
    problem = _json_problem(payload)
    if problem is not None:
        return [problem]
    return _explain(payload, strict, event)


def _explain(payload: Any, strict: bool, event: str | None) -> list[Problem]:
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
    if _json_problem(payload) is not None:
        return []  # not valid in any mode, so nothing to note
    floats = [(p, p.path) for p in _float_times(payload)]
    if _checker(name, True)(payload):
        return floats
    if not _checker(name, False)(payload):
        return []
    notes: list[tuple[Problem, str]] = floats
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


# --- validating inputs: what `aircore-mock validate` does, for any caller ------------------


EntryKind = Literal["invalid", "unreadable", "noted"]


@dataclass(frozen=True)
class InputEntry:
    """One input worth a line: a payload that is invalid, one that could not be read, or a
    valid one that carries undocumented fields or values (`noted`)."""

    kind: EntryKind
    where: str
    """`file:line[index]`: where a human finds it."""
    source: str
    line: int | None = None
    index: int | None = None
    problems: tuple[Problem, ...] = ()
    """Why it is invalid, or the notes of a noted payload (empty when details are off)."""
    error: str | None = None
    """Why it could not be read."""

    def to_json(self) -> dict[str, Any]:
        """The entry as the JSON report lists it."""
        out: dict[str, Any] = {"where": self.where, "source": self.source, "line": self.line}
        if self.kind == "unreadable":
            out["error"] = self.error
            return out
        out["index"] = self.index
        out["problems" if self.kind == "invalid" else "notes"] = [vars(p) for p in self.problems]
        return out


class InputsReport:
    """The verdict on a stream of inputs (`files.read_callbacks`), built as it is read.

    Iterate it once for the entries (invalid, unreadable, noted) as they come: nothing is
    kept, so memory stays flat however long the input. The counts grow as it goes and are
    final once the iteration ends; `exit_code` is the policy `validate` exits with.
    """

    def __init__(self, items: Iterable[Item], *, strict: bool = False, details: bool = True):
        self.strict = strict
        self.valid = self.invalid = self.unreadable = self.noted = 0
        self._items = items
        self._details = details
        self._used = False

    def __iter__(self) -> Iterator[InputEntry]:
        if self._used:
            raise UsageError("an InputsReport is read once: its inputs are a stream")
        self._used = True
        # One check answers almost every line. The strict variant only narrows the default
        # one (closed objects, closed value lists: tests/test_validation_equivalence.py checks
        # that it does nothing else), so what it accepts the default accepts too, with nothing
        # to note; only what it rejects needs the default check: valid with notes (a typo in a
        # hand-written fixture, "reason": "clientStoped", must not pass unseen) or invalid.
        union = _checker(_schemas.UNION, True)
        # A documented event's own strict schema is what the strict union applies to it (the
        # union only dispatches on `event`; the equivalence tests hold it to that), without
        # the union's four if/then branches: ~8% of a check saved on every line (measured).
        by_event = {event: _checker(event, True) for event in _schemas.callback_types()}.get
        # Every payload comes from a JSON parser, so the engine is asked first and the walk
        # that finds what is not JSON runs only when it refuses (as `checker(assume_json=True)`).
        documented_guarded = _guarded(union)
        default = None if self.strict else _guarded(_checker(_schemas.UNION, False))
        details = self._details
        for item in self._items:
            if item.error is None:
                payload = item.payload
                event = payload.get("event") if type(payload) is dict else None
                documented = by_event(event, union) if type(event) is str else union
                try:
                    ok = documented(payload)
                except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
                    ok = documented_guarded(payload)
                if ok and not _has_float_time(payload):
                    self.valid += 1
                    continue
                # Valid with notes: a float time (valid in both modes, and named: see
                # `_float_times`), or what only the default mode accepts.
                if ok or (default is not None and default(payload)):
                    self.valid += 1
                    self.noted += 1
                    notes = undocumented(payload) if details else []
                    yield InputEntry(
                        "noted", item.where, item.source, item.line, item.index, tuple(notes)
                    )
                    continue
                self.invalid += 1
                problems = explain(payload, strict=self.strict) if details else []
                yield InputEntry(
                    "invalid", item.where, item.source, item.line, item.index, tuple(problems)
                )
            else:
                self.unreadable += 1
                yield InputEntry("unreadable", item.where, item.source, item.line, error=item.error)

    def run(self) -> InputsReport:
        """Read every input, keeping only the counts."""
        for _ in self:
            pass
        return self

    @property
    def empty(self) -> bool:
        """No callback at all in the input (an empty file, a typo upstream in a pipe)."""
        return not (self.valid or self.invalid or self.unreadable)

    @property
    def ok(self) -> bool:
        """Every input read and valid, and at least one."""
        return not (self.empty or self.invalid or self.unreadable)

    @property
    def exit_code(self) -> int:
        """0 all valid; 1 some invalid; 2 some unreadable, or nothing to check."""
        if self.empty or self.unreadable:
            return 2
        return 1 if self.invalid else 0

    def counts(self) -> dict[str, Any]:
        """The head of the JSON report."""
        return {
            "valid": self.valid,
            "invalid": self.invalid,
            "unreadable": self.unreadable,
            "noted": self.noted,
            "strict": self.strict,
        }


def validate_inputs(
    items: Iterable[Item], *, strict: bool = False, details: bool = True
) -> InputsReport:
    """The verdict on inputs read by `files.read_callbacks`, streamed: iterate the report
    for its entries, or call `.run()` for the counts alone. `details=False` skips explaining
    (the counts and the exit code stay the same), for a caller that prints nothing."""
    return InputsReport(items, strict=strict, details=details)
