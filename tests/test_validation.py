from __future__ import annotations

import copy
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any

import pytest

import aircore_mock
from aircore_mock import validation as _validation

Payload = dict[str, Any]


def _all_examples() -> list[Payload]:
    return [
        ex for e in aircore_mock.callback_types() for ex in aircore_mock.get_schema(e)["examples"]
    ]


@pytest.mark.parametrize("strict", [False, True])
def test_every_documented_example_validates(strict: bool) -> None:
    examples = _all_examples()
    assert len(examples) >= 5
    for example in examples:
        aircore_mock.validate(example, strict=strict)
        aircore_mock.validate(example, strict=strict, event=example["event"])
        assert aircore_mock.is_valid(example, strict=strict)
        assert list(aircore_mock.iter_errors(example, strict=strict)) == []


def test_clock_skew_between_timestamp_and_start_time_is_accepted(examples: dict) -> None:
    # Aircore's API reference shows a started callback stamped minutes before startTime.
    started = examples["recording-started"][0]
    started["timestamp"] = started["recording"]["startTime"] - 4 * 60 * 1000
    assert aircore_mock.is_valid(started)
    stopped = examples["recording-stopped"][0]
    assert stopped["timestamp"] > stopped["recording"]["startTime"] + 30 * 24 * 3600 * 1000
    assert aircore_mock.is_valid(stopped)


def _stopped(examples: dict) -> Payload:
    return examples["recording-stopped"][0]


def _uploaded(examples: dict) -> Payload:
    return examples["recording-uploaded"][0]


def _failed(examples: dict) -> Payload:
    return examples["recording-upload-failed"][0]


Mutation = Callable[[dict], Any]


def _drop(getter: Callable[[dict], Payload], *path: str) -> Mutation:
    def mutate(examples: dict) -> Payload:
        payload = getter(examples)
        node = payload
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
        return payload

    return mutate


def _put(getter: Callable[[dict], Payload], value: Any, *path: str) -> Mutation:
    def mutate(examples: dict) -> Payload:
        payload = getter(examples)
        node = payload
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return payload

    return mutate


# (id, mutation, JSON path the first problem names, words its message must contain)
DEFECTS: list[tuple[str, Mutation, str, str]] = [
    ("missing event", _drop(_stopped, "event"), "$.event", "required"),
    ("missing timestamp", _drop(_stopped, "timestamp"), "$.timestamp", "required"),
    ("missing recording", _drop(_stopped, "recording"), "$.recording", "required"),
    ("missing url", _drop(_stopped, "recording", "url"), "$.recording.url", "required"),
    ("missing state", _drop(_uploaded, "recording", "state"), "$.recording.state", "required"),
    (
        "missing startTime",
        _drop(_failed, "recording", "startTime"),
        "$.recording.startTime",
        "required",
    ),
    (
        "missing elapsedTime",
        _drop(_stopped, "recording", "elapsedTime"),
        "$.recording.elapsedTime",
        "required",
    ),
    (
        "missing stop reason",
        _drop(_stopped, "recording", "reason"),
        "$.recording.reason",
        "required",
    ),
    (
        "missing failure reason",
        _drop(_failed, "recording", "reason"),
        "$.recording.reason",
        "required",
    ),
    (
        "missing location",
        _drop(_uploaded, "recording", "location"),
        "$.recording.location",
        "required",
    ),
    (
        "missing address",
        _drop(_uploaded, "recording", "location", "address"),
        "$.recording.location.address",
        "required",
    ),
    (
        "missing region",
        _drop(_uploaded, "recording", "location", "region"),
        "$.recording.location.region",
        "required",
    ),
    ("event not a string", _put(_stopped, 7, "event"), "$.event", "expected string, found 7"),
    (
        "new event type without a recording",
        lambda _: {"event": "recording-paused", "timestamp": 1},
        "$.recording",
        "required",
    ),
    (
        "stop reason not a string",
        _put(_stopped, 3, "recording", "reason"),
        "$.recording.reason",
        "expected string, found 3",
    ),
    (
        "timestamp as string",
        _put(_stopped, "1672807265466", "timestamp"),
        "$.timestamp",
        "expected integer",
    ),
    (
        "timestamp as float",
        _put(_stopped, 1672807265466.5, "timestamp"),
        "$.timestamp",
        "expected integer",
    ),
    (
        "negative duration",
        _put(_stopped, -1, "recording", "elapsedTime"),
        "$.recording.elapsedTime",
        "less than the minimum of 0",
    ),
    (
        "negative start time",
        _put(_failed, -5, "recording", "startTime"),
        "$.recording.startTime",
        "less than the minimum of 0",
    ),
    (
        "non-URI address",
        _put(_uploaded, "youraccount s3 bucket/file.m4a", "recording", "location", "address"),
        "$.recording.location.address",
        "is not a valid uri",
    ),
    (
        "relative URL",
        _put(_stopped, "/recording/1677608374942-0-503309", "recording", "url"),
        "$.recording.url",
        "is not a valid uri",
    ),
    (
        "location not an object",
        _put(_uploaded, "s3://bucket/key", "recording", "location"),
        "$.recording.location",
        "expected object",
    ),
    ("recording not an object", _put(_stopped, [], "recording"), "$.recording", "expected object"),
    (
        "failure reason not a string",
        _put(_failed, {"code": "AccessDenied"}, "recording", "reason"),
        "$.recording.reason",
        "expected string",
    ),
    ("non-object payload", lambda _: ["recording-started"], "$", "expected object"),
    ("null payload", lambda _: None, "$", "expected object"),
]


@pytest.mark.parametrize(
    ("mutate", "path", "words"), [d[1:] for d in DEFECTS], ids=[d[0] for d in DEFECTS]
)
def test_one_defect_is_rejected_with_its_json_path(
    examples: dict, mutate: Mutation, path: str, words: str
) -> None:
    payload = mutate(examples)
    assert not aircore_mock.is_valid(payload)
    with pytest.raises(aircore_mock.ValidationError) as caught:
        aircore_mock.validate(payload)
    first = caught.value.problems[0]
    assert first.path == path
    assert words in first.message
    assert str(caught.value).startswith(f"{path}: ")


# Values Aircore may add later: accepted by default (and named as notes), rejected by strict.
# (id, mutation, JSON path, strict mode's message, the note's message)
UNDOCUMENTED_VALUES: list[tuple[str, Mutation, str, str, str]] = [
    (
        "new event type",
        _put(_stopped, "recording-paused", "event"),
        "$.event",
        "'recording-paused' is not one of 'recording-started'",
        "undocumented event type 'recording-paused' (documented: 'recording-started', ",
    ),
    (
        "new stop reason",
        _put(_stopped, "userLeft", "recording", "reason"),
        "$.recording.reason",
        "'userLeft' is not one of 'allPublishersLeft', 'clientStopped', 'serverError'",
        "undocumented value 'userLeft' (documented: 'allPublishersLeft', 'clientStopped', "
        "'serverError')",
    ),
    (
        "new state",
        _put(_uploaded, "archived", "recording", "state"),
        "$.recording.state",
        "expected 'stopped', found 'archived'",
        "undocumented value 'archived' (documented: 'stopped')",
    ),
    (
        "state of another event",
        _put(_stopped, "started", "recording", "state"),
        "$.recording.state",
        "expected 'stopped', found 'started'",
        "undocumented value 'started' (documented: 'stopped')",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "strict_words", "note"),
    [d[1:] for d in UNDOCUMENTED_VALUES],
    ids=[d[0] for d in UNDOCUMENTED_VALUES],
)
def test_a_value_aircore_may_add_is_accepted_noted_and_rejected_in_strict_mode(
    examples: dict, mutate: Mutation, path: str, strict_words: str, note: str
) -> None:
    payload = mutate(examples)
    assert aircore_mock.is_valid(payload)
    assert _validation._reporter("callback", False).is_valid(payload)
    (noted,) = aircore_mock.undocumented(payload)
    assert (noted.path, noted.kind) == (path, "undocumented")
    assert noted.message.startswith(note)
    assert not aircore_mock.is_valid(payload, strict=True)
    with pytest.raises(aircore_mock.ValidationError) as caught:
        aircore_mock.validate(payload, strict=True)
    assert caught.value.problems[0].path == path
    assert strict_words in caught.value.problems[0].message


def test_notes_name_every_undocumented_field_and_value_at_once(examples: dict) -> None:
    payload = _stopped(examples)
    payload["recording"]["reason"] = "userLeft"
    payload["recording"]["channel"] = "lobby"
    payload["region"] = "eu"
    notes = aircore_mock.undocumented(payload)
    assert [str(n) for n in notes] == [
        "$.recording.channel: undocumented property",
        "$.recording.reason: undocumented value 'userLeft' (documented: 'allPublishersLeft',"
        " 'clientStopped', 'serverError')",
        "$.region: undocumented property",
    ]
    assert _validation.undocumented_labels(payload) == (
        "$.recording.channel",
        "$.recording.reason='userLeft'",
        "$.region",
    )
    # Nothing to note on a documented callback, nor on one the default mode rejects.
    assert (
        aircore_mock.undocumented(aircore_mock.get_schema("recording-stopped")["examples"][0]) == []
    )
    payload["timestamp"] = -1
    assert aircore_mock.undocumented(payload) == []


def test_error_summary_counts_the_other_errors(examples: dict) -> None:
    payload = _stopped(examples)
    payload["recording"]["reason"] = "nope"
    payload["timestamp"] = "soon"
    del payload["recording"]["url"]
    with pytest.raises(aircore_mock.ValidationError) as caught:
        aircore_mock.validate(payload, strict=True)
    assert len(caught.value.problems) == 3
    assert str(caught.value).endswith("(and 2 other errors)")
    assert {p.path for p in caught.value.problems} == {
        "$.recording.reason",
        "$.timestamp",
        "$.recording.url",
    }


@pytest.mark.parametrize(
    "where", [(), ("recording",), ("recording", "location")], ids=["top", "recording", "location"]
)
def test_strict_mode_rejects_an_undocumented_field_the_default_accepts(
    examples: dict, where: tuple[str, ...]
) -> None:
    payload = _uploaded(examples)
    node = payload
    for key in where:
        node = node[key]
    node["channelId"] = "lobby"
    assert aircore_mock.is_valid(payload)
    assert not aircore_mock.is_valid(payload, strict=True)
    problems = list(aircore_mock.iter_errors(payload, strict=True))
    assert [str(p) for p in problems] == [
        ".".join(("$", *where, "channelId")) + ": undocumented property (rejected in strict mode)"
    ]


def test_a_field_documented_for_another_callback_is_undocumented_here(examples: dict) -> None:
    started = examples["recording-started"][0]
    started["recording"]["reason"] = "clientStopped"
    assert aircore_mock.is_valid(started)
    assert not aircore_mock.is_valid(started, strict=True)


def test_event_argument_selects_one_callback_schema(examples: dict) -> None:
    stopped = _stopped(examples)
    assert aircore_mock.is_valid(stopped, event="recording-stopped")
    assert not aircore_mock.is_valid(stopped, event="recording-uploaded")
    with pytest.raises(aircore_mock.UsageError, match="unknown callback type"):
        aircore_mock.is_valid(stopped, event="recording-paused")


def _corpus() -> list[Any]:
    """Valid examples plus every one-defect mutation, and a few odd JSON values."""

    def fresh() -> dict[str, list[Payload]]:
        return {
            e: copy.deepcopy(aircore_mock.get_schema(e)["examples"])
            for e in aircore_mock.callback_types()
        }

    corpus: list[Any] = _all_examples()
    corpus += [defect[1](fresh()) for defect in DEFECTS]
    for example in _all_examples():
        extra = copy.deepcopy(example)
        extra["recording"]["undocumented"] = True
        corpus.append(extra)
    corpus += [{}, "", 0, True, {"event": "recording-uploaded"}]
    return corpus


@pytest.mark.parametrize("strict", [False, True])
def test_jsonschema_rs_and_python_jsonschema_agree_on_the_corpus(strict: bool) -> None:
    fast = _validation._checker("callback", strict)
    slow = _validation._reporter("callback", strict)
    for payload in _corpus():
        assert fast(payload) == slow.is_valid(payload), payload


def test_uri_format_is_really_checked_by_both_engines(examples: dict) -> None:
    payload = _uploaded(examples)
    payload["recording"]["location"]["address"] = "not a uri at all"
    assert not _validation._checker("callback", False)(payload)
    assert not _validation._reporter("callback", False).is_valid(payload)


def test_without_jsonschema_rs_it_falls_back_with_one_warning(
    examples: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jsonschema_rs", None)  # makes `import jsonschema_rs` fail
    for cached in (_validation._checker, _validation._warn_no_rust):
        cached.cache_clear()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert aircore_mock.is_valid(_uploaded(examples))
            assert not aircore_mock.is_valid({"event": "recording-paused"})
            assert aircore_mock.is_valid(_stopped(examples), strict=True)
        messages = [str(w.message) for w in caught if w.category is RuntimeWarning]
        assert len(messages) == 1
        assert "jsonschema-rs is not installed" in messages[0]
    finally:
        for cached in (_validation._checker, _validation._warn_no_rust):
            cached.cache_clear()


def test_a_float_time_is_valid_and_named_in_both_modes() -> None:
    # JSON Schema counts 1685254741477.0 as an integer, and so do the shipped schemas and
    # every engine; Aircore sends integer milliseconds, and a receiver typed int64 refuses a
    # float, so it is named: a note, in both modes (issue 19, item 8).
    from aircore_mock import is_valid, undocumented

    example = aircore_mock.get_schema("recording-stopped")["examples"][0]
    for place in ("timestamp", "startTime", "elapsedTime"):
        floated = json.loads(json.dumps(example))
        target = floated if place == "timestamp" else floated["recording"]
        target[place] = float(target[place])
        path = f"$.{place}" if place == "timestamp" else f"$.recording.{place}"
        assert is_valid(floated) and is_valid(floated, strict=True)
        (note,) = undocumented(floated)
        assert note.path == path and "is a float: Aircore sends integer" in note.message
    assert not undocumented(example)


def test_an_integer_beyond_64_bits_is_not_named_a_float(tmp_path: Any) -> None:
    # orjson reads an integer beyond 64 bits as a float: not one the input wrote
    from aircore_mock.files import read_callbacks
    from aircore_mock.validation import validate_inputs

    example = aircore_mock.get_schema("recording-started")["examples"][0]
    text = json.dumps(example).replace(
        str(example["recording"]["startTime"]), "123456789012345678901234567890"
    )
    path = tmp_path / "big.jsonl"
    path.write_text(text + "\n")
    report = validate_inputs(read_callbacks([str(path)]))
    assert not any("is a float" in str(p) for e in report for p in e.problems)
