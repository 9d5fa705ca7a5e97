"""The library's answers to payloads that are not clean JSON: one rule, every function.

A Python value no JSON parser produces is the caller's bug: `TypeError` naming the JSON path,
from `is_valid`, `iter_errors`, `validate`, `explain` and `checker()` alike. What a parser can
produce but JSON cannot carry (a lone surrogate, NaN, absurd nesting) is a validation problem
that every function reports the same way.
"""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

import pytest

from aircore_mock import ValidationError, checker, explain, get_schema, is_valid, iter_errors
from aircore_mock import validate as validate_payload
from aircore_mock.validation import MAX_DEPTH

EXAMPLE = get_schema("recording-uploaded")["examples"][0]


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    payload = copy.deepcopy(EXAMPLE)
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


def _deep(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


class Opaque:
    pass


NOT_JSON = {
    "bytes at the top": (b'{"event": "recording-started"}', "$"),
    "a set in a documented field": (_with(("recording", "url"), {"x"}), "$.recording.url"),
    "an object in an undocumented field": (
        _with(("recording", "extra"), [1, Opaque()]),
        "$.recording.extra[1]",
    ),
    "a datetime for a timestamp": (
        _with(("timestamp",), datetime.datetime(2024, 1, 1)),
        "$.timestamp",
    ),
    "a tuple": (_with(("recording", "extra"), (1, 2)), "$.recording.extra"),
    "a non-string key": (_with(("recording", "location"), {1: "x"}), "$.recording.location"),
}

PROBLEMS = {
    "a lone surrogate in a documented field": (
        json.loads('{"event": "recording-started", "x": "\\ud800"}') | {"event": "\ud800"},
        "$.event",
        "encoding",
    ),
    "a lone surrogate in an undocumented field": (
        _with(("recording", "note"), json.loads('"a\\udfffb"')),
        "$.recording.note",
        "encoding",
    ),
    "NaN (json.loads accepts it)": (
        _with(("recording", "elapsedTime"), json.loads("NaN")),
        "$.recording.elapsedTime",
        "number",
    ),
    "100,000 levels of lists": (_with(("recording", "extra"), _deep(100_000)), None, "depth"),
    f"{MAX_DEPTH + 1} levels at the top": (_deep(MAX_DEPTH + 1), None, "depth"),
}


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
@pytest.mark.parametrize("name", list(NOT_JSON))
def test_a_value_that_is_not_json_raises_type_error_with_its_path_everywhere(
    name: str, strict: bool
) -> None:
    payload, path = NOT_JSON[name]
    calls = {
        "is_valid": lambda: is_valid(payload, strict=strict),
        "iter_errors": lambda: list(iter_errors(payload, strict=strict)),
        "validate": lambda: validate_payload(payload, strict=strict),
        "explain": lambda: explain(payload, strict=strict),
        "checker": lambda: checker(strict=strict)(payload),
    }
    for call, run in calls.items():
        with pytest.raises(TypeError) as caught:
            run()
        assert str(caught.value).startswith(f"{path}:"), (call, str(caught.value))
        assert "JSON" in str(caught.value), call


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_json_that_no_schema_can_judge_is_one_problem_in_every_function(
    name: str, strict: bool
) -> None:
    payload, path, kind = PROBLEMS[name]
    assert is_valid(payload, strict=strict) is False
    assert checker(strict=strict)(payload) is False
    problems = list(iter_errors(payload, strict=strict))
    assert [p.kind for p in problems] == [kind]
    if path is not None:
        assert problems[0].path == path
    assert explain(payload, strict=strict) == problems
    with pytest.raises(ValidationError) as caught:
        validate_payload(payload, strict=strict)
    assert list(caught.value.problems) == problems


def test_the_assume_json_checker_still_answers_for_a_lone_surrogate() -> None:
    # The hot-loop checker skips the walk; the engine's own refusal is still an answer.
    payload, _, _ = PROBLEMS["a lone surrogate in a documented field"]
    assert checker(assume_json=True)(payload) is False


@pytest.mark.parametrize(
    "payload",
    [EXAMPLE, _with(("recording", "extra"), {"deep": _deep(MAX_DEPTH - 5)}), {}, [], "x", 1.5],
    ids=["example", "deep but allowed", "empty object", "empty list", "string", "number"],
)
def test_every_function_agrees_on_plain_json(payload: Any) -> None:
    valid = is_valid(payload)
    problems = list(iter_errors(payload))
    assert valid == (not problems) == checker()(payload) == checker(assume_json=True)(payload)
    if valid:
        validate_payload(payload)
    else:
        with pytest.raises(ValidationError):
            validate_payload(payload)
    assert is_valid(EXAMPLE)  # the example itself is a valid callback: the test can tell
