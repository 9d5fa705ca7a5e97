"""`validate` answers a valid line with one schema check (the strict union first; the default
union only for what strict rejects). These tests hold it to what it did with two checks (the
default union, then the strict one to find notes): the same verdicts, counts and notes, on the
repository's corpus, on every scenario's generated callbacks, and on 100,000 seeded mutated
callbacks, in both modes. The shortcut rests on the strict schemas only narrowing the default
ones, which the first test checks on the schema files themselves."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import aircore_mock
from aircore_mock import schemas as _schemas
from aircore_mock.files import Item, read_callbacks
from aircore_mock.generation.scenarios import names as scenario_names
from aircore_mock.validation import (
    InputEntry,
    _has_float_time,
    checker,
    explain,
    undocumented,
    validate_inputs,
)

from .schema_corpus import EDGE_VALUES, TRICKY_URLS, corpus

SEED = 20261208
MUTATED = 100_000
# Explaining (python-jsonschema) costs ~0.5 ms a payload: the verdicts are compared on every
# payload, the problems and notes on every DETAILED-th one (and on all of the small corpus).
DETAILED = 100

# --- the strict schemas only narrow the default ones ----------------------------------------

# Keywords under which a narrower schema would accept more, not less: a difference between
# the modes there would let strict accept what the default rejects.
_NEGATING = {"not", "if"}
_ANNOTATIONS = {"$id", "description", "title", "examples", "$comment"}
_NAME_MAPS = {"properties", "$defs", "patternProperties", "dependentSchemas"}


def _narrowings(default: Any, strict: Any, path: str, negated: bool) -> Iterator[str]:
    """Every place where `strict` is not `default` narrowed in one of the two ways the strict
    variant may differ (an open alternative dropped, unevaluated properties closed), as a
    message; nothing when it only narrows."""
    if not isinstance(default, dict) or not isinstance(strict, dict):
        if isinstance(default, list) and isinstance(strict, list) and len(default) == len(strict):
            for i, (d, s) in enumerate(zip(default, strict, strict=True)):
                yield from _narrowings(d, s, f"{path}[{i}]", negated)
        elif default != strict:
            yield f"{path}: {default!r} became {strict!r}"
        return
    default = dict(default)
    # `anyOf: [X, {annotations only}]` (X, or anything Aircore adds later) became X.
    alternatives = default.get("anyOf")
    if (
        isinstance(alternatives, list)
        and len(alternatives) == 2
        and set(alternatives[1]) <= _ANNOTATIONS
        and "anyOf" not in strict
    ):
        if negated:
            yield f"{path}: an open alternative closed under a negating keyword"
        del default["anyOf"]
        for key, value in alternatives[0].items():
            if key in default:
                yield f"{path}: {key} both beside and inside the open alternative"
            default[key] = value
    if strict.get("unevaluatedProperties") is False and "unevaluatedProperties" not in default:
        if negated:
            yield f"{path}: unevaluatedProperties closed under a negating keyword"
        strict = {k: v for k, v in strict.items() if k != "unevaluatedProperties"}
    keys = (set(default) | set(strict)) - _ANNOTATIONS
    for key in sorted(keys):
        if key not in default or key not in strict:
            yield f"{path}: {key} only in {'strict' if key in strict else 'default'}"
            continue
        if key in ("enum", "const", "required", "type", "pattern", "$ref", "format"):
            if default[key] != strict[key]:
                yield f"{path}.{key}: {default[key]!r} became {strict[key]!r}"
            continue
        inner = negated or key in _NEGATING
        if key in _NAME_MAPS:  # keys are property names, not keywords: all must match
            names = set(default[key]) | set(strict[key])
            for name in sorted(names):
                if name not in default[key] or name not in strict[key]:
                    yield f"{path}.{key}.{name} only in one mode"
                    continue
                where = f"{path}.{key}.{name}"
                yield from _narrowings(default[key][name], strict[key][name], where, inner)
            continue
        yield from _narrowings(default[key], strict[key], f"{path}.{key}", inner)


def test_strict_schemas_only_narrow_the_default_ones() -> None:
    differences = [
        message
        for name in _schemas.schema_names()
        for message in _narrowings(
            _schemas.get_schema(name), _schemas.get_schema(name, strict=True), name, False
        )
    ]
    assert differences == []


def test_the_narrowing_check_sees_a_widening() -> None:
    # The check above must fail for what would break the shortcut: strict accepting more.
    default = {"properties": {"a": {"not": {"anyOf": [{"const": 1}, {"description": "later"}]}}}}
    strict = {"properties": {"a": {"not": {"const": 1}}}}
    assert list(_narrowings(default, strict, "$", False))
    assert list(_narrowings({"enum": [1]}, {"enum": [1, 2]}, "$", False))
    assert not list(_narrowings({"type": "object"}, {**{"type": "object"}}, "$", False))


def test_the_strict_union_only_dispatches_on_event() -> None:
    # validate checks a callback of a documented event against that event's strict schema
    # alone: the union must do no more with it than require an object whose event is one of
    # the four, and apply that event's schema.
    union = _schemas.get_schema(strict=True)
    events = list(aircore_mock.callback_types())
    keywords = set(union) - _ANNOTATIONS - {"$schema"}
    assert keywords == {"type", "required", "properties", "allOf", "if", "else"}
    assert union["type"] == "object" and union["required"] == ["event"]
    event = {k: v for k, v in union["properties"]["event"].items() if k not in _ANNOTATIONS}
    assert list(union["properties"]) == ["event"]
    assert event == {"type": "string", "enum": events}
    assert union["if"]["properties"]["event"] == {"enum": events}  # so no `else` for them
    branches = [
        (branch["if"], {k: v for k, v in branch["then"].items() if k not in _ANNOTATIONS})
        for branch in union["allOf"]
    ]
    assert branches == [
        (
            {"type": "object", "required": ["event"], "properties": {"event": {"const": e}}},
            {"$ref": f"{e}.schema.json"},
        )
        for e in events
    ]


# --- the two-check logic validate had, kept here as the reference ---------------------------


def two_checks(
    items: Iterable[Item], *, strict: bool, details: bool
) -> tuple[list[InputEntry], dict[str, Any]]:
    """What `InputsReport` answered before it checked once: entries and counts."""
    counts = {"valid": 0, "invalid": 0, "unreadable": 0, "noted": 0, "strict": strict}
    entries = []
    check = checker(strict=strict, assume_json=True)
    documented = checker(strict=True, assume_json=True)
    for item in items:
        place = {"where": item.where, "source": item.source, "line": item.line}
        if item.error is not None:
            counts["unreadable"] += 1
            entries.append(InputEntry("unreadable", error=item.error, **place))
        elif check(item.payload):
            counts["valid"] += 1
            # (since issue 19: a float time is named in both modes, as a note)
            if (not strict and not documented(item.payload)) or _has_float_time(item.payload):
                counts["noted"] += 1
                notes = undocumented(item.payload) if details else []
                entries.append(
                    InputEntry("noted", index=item.index, problems=tuple(notes), **place)
                )
        else:
            counts["invalid"] += 1
            problems = explain(item.payload, strict=strict) if details else []
            entries.append(
                InputEntry("invalid", index=item.index, problems=tuple(problems), **place)
            )
    return entries, counts


def one_check(
    items: Iterable[Item], *, strict: bool, details: bool
) -> tuple[list[InputEntry], dict[str, Any]]:
    report = validate_inputs(items, strict=strict, details=details)
    entries = list(report)
    return entries, report.counts()


def _jsonl(path: Path, payloads: Iterable[Any], junk_every: int = 0) -> Path:
    """`payloads` one a line (what a parser gives back is what validate sees), with a junk
    line every `junk_every` lines. Written by the json module: orjson refuses integers past
    64 bits, which the corpus has (and which orjson reads back as floats)."""
    with path.open("wb") as out:
        for number, payload in enumerate(payloads, 1):
            if junk_every and number % junk_every == 0:
                out.write(b"{not json\n")
            out.write(json.dumps(payload).encode() + b"\n")
    return path


def _assert_same(path: Path, *, strict: bool, details: bool) -> dict[str, Any]:
    items = list(read_callbacks([str(path)]))
    ours = one_check(items, strict=strict, details=details)
    reference = two_checks(items, strict=strict, details=details)
    assert ours[1] == reference[1]
    for mine, theirs in zip(ours[0], reference[0], strict=True):
        assert mine == theirs
    return ours[1]


# --- the corpus ---------------------------------------------------------------------------


def _generated() -> list[Any]:
    out = []
    for number, name in enumerate(scenario_names()):
        generator = aircore_mock.Generator(seed=SEED + number)
        out += generator.scenario(name, count=4)
    return out


def _examples() -> list[Any]:
    return [
        example
        for name in _schemas.schema_names()
        for strict in (False, True)
        for example in _schemas.get_schema(name, strict=strict).get("examples", [])
    ]


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_same_verdicts_and_notes_on_the_corpus(tmp_path: Path, strict: bool) -> None:
    # The corpus (tricky URLs, one-field mutations), the schemas' examples, every scenario's
    # callbacks; arrays among them (a line holding a list is judged element by element).
    payloads = [*corpus(), *_examples(), *_generated()]
    path = _jsonl(tmp_path / "corpus.jsonl", payloads, junk_every=97)
    counts = _assert_same(path, strict=strict, details=False)
    assert counts["valid"] and counts["invalid"] and counts["unreadable"]
    assert counts["noted"] if not strict else counts["noted"] < counts["valid"]
    detailed = _jsonl(tmp_path / "some.jsonl", payloads[::11], junk_every=31)
    _assert_same(detailed, strict=strict, details=True)


def test_every_scenario_is_valid_and_documented(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "generated.jsonl", _generated())
    for strict in (False, True):
        counts = _assert_same(path, strict=strict, details=True)
        assert counts["invalid"] == counts["noted"] == counts["unreadable"] == 0


# --- 100,000 seeded mutations -----------------------------------------------------------------

_EXTRA_NAMES = ("channelId", "schemaVersion", "", "url", "reason", "state", "event", "x-trace")
_UNDOCUMENTED_VALUES = {
    "event": ("recording-paused", "recording-resumed", "Recording-Started", "recording_started"),
    "state": ("paused", "uploading", "Stopped", "started", "stopped", "uploaded"),
    "reason": ("clientStoped", "timeout", "allPublishersLeft", "serverError", "Access Denied"),
}


def _objects(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], dict]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _objects(value, (*path, key))


def _leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _leaf_paths(value, (*path, key))


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


def _edge(rng: random.Random) -> Any:
    # A copy: the shared {} and [] must not be mutated into each other (into a cycle).
    return copy.deepcopy(rng.choice(EDGE_VALUES))


def _retyped(value: Any, rng: random.Random) -> Any:
    """`value` as another JSON type, or a near miss of its own (a float for an int)."""
    if isinstance(value, bool):
        return rng.choice((int(value), str(value).lower(), None))
    if isinstance(value, int):
        return rng.choice((float(value), value + 0.5, str(value), -value - 1, 2**63, True))
    if isinstance(value, str):
        return rng.choice((len(value), value.upper(), value + " ", "", [value], None))
    if isinstance(value, dict):
        return rng.choice((list(value.values()), {}, str(value), None))
    return _edge(rng)


def _mutate(payload: Any, rng: random.Random) -> Any:
    """One to three seeded changes: a field dropped, altered, retyped, a float for an int, an
    undocumented field or value added, the event swapped; now and then the whole payload."""
    roll = rng.random()
    if roll < 0.01:
        return _edge(rng)
    if roll < 0.02:
        return [payload, _mutate(copy.deepcopy(payload), rng)]
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        leaves = list(_leaf_paths(payload))
        action = rng.randrange(8)
        if action == 0 and leaves:  # drop a field
            path = rng.choice(leaves)
            del _get(payload, path[:-1])[path[-1]]
        elif action == 1 and leaves:  # retype a field, or a near miss of its own type
            path = rng.choice(leaves)
            _get(payload, path[:-1])[path[-1]] = _retyped(_get(payload, path), rng)
        elif action == 2 and leaves:  # an edge value
            path = rng.choice(leaves)
            _get(payload, path[:-1])[path[-1]] = _edge(rng)
        elif action == 3:  # an undocumented field, somewhere
            _, node = rng.choice(list(_objects(payload)))
            node.setdefault(rng.choice(_EXTRA_NAMES), _edge(rng))
        elif action == 4:  # an undocumented (or another documented) value
            for _, node in _objects(payload):
                for key, values in _UNDOCUMENTED_VALUES.items():
                    if key in node and rng.random() < 0.5:
                        node[key] = rng.choice(values)
        elif action == 5:  # another event on the same body
            payload["event"] = rng.choice(aircore_mock.callback_types())
        elif action == 6:  # a URL an engine might take, or not
            for _, node in _objects(payload):
                for key in ("url", "address"):
                    if key in node and rng.random() < 0.7:
                        node[key] = rng.choice(TRICKY_URLS)
        else:  # a float where an integer goes
            for _, node in _objects(payload):
                for key in ("timestamp", "startTime", "elapsedTime"):
                    if key in node and isinstance(node[key], int) and rng.random() < 0.5:
                        node[key] = float(node[key]) + rng.choice((0.0, 0.25))
    return payload


def mutated(count: int, seed: int) -> Iterator[Any]:
    rng = random.Random(seed)
    bases = [*_examples(), *_generated()]
    bases = [base for base in bases if isinstance(base, dict)]
    for _ in range(count):
        base = orjson.loads(orjson.dumps(rng.choice(bases)))  # a deep copy, fast
        yield base if rng.random() < 0.05 else _mutate(base, rng)


@pytest.fixture(scope="module")
def mutated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mutated")
    return _jsonl(folder / "mutated.jsonl", mutated(MUTATED, SEED), junk_every=1009)


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_same_verdicts_on_100k_mutated_callbacks(mutated_file: Path, strict: bool) -> None:
    counts = _assert_same(mutated_file, strict=strict, details=False)
    # The mutations reach every verdict, notes included: the comparison means something.
    assert min(counts["valid"], counts["invalid"], counts["unreadable"]) > 50
    # (strict mode notes only float times)
    assert counts["noted"] > 1_000 if not strict else counts["noted"] < counts["valid"]


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_same_problems_and_notes_on_mutated_callbacks(
    mutated_file: Path, tmp_path: Path, strict: bool
) -> None:
    some = tmp_path / "some.jsonl"
    some.write_bytes(b"".join(mutated_file.read_bytes().splitlines(True)[::DETAILED]))
    counts = _assert_same(some, strict=strict, details=True)
    assert counts["noted"] > 50 if not strict else counts["invalid"] > 500
