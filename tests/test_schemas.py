from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import aircore_mock
from aircore_mock import schemas as _schemas

DOCS = Path(__file__).resolve().parents[2] / "shared" / "aircore" / "callbacks-doc.txt"
FILES = sorted(Path(aircore_mock.schema_dir()).glob("*.schema.json"))
STRICT_FILES = sorted(Path(aircore_mock.schema_dir(strict=True)).glob("*.schema.json"))


def test_the_four_documented_callbacks_are_shipped() -> None:
    assert aircore_mock.callback_types() == (
        "recording-started",
        "recording-stopped",
        "recording-uploaded",
        "recording-upload-failed",
    )
    names = {p.name for p in FILES}
    for event in aircore_mock.callback_types():
        assert f"{event}.schema.json" in names
    assert "callback.schema.json" in names


@pytest.mark.parametrize("path", FILES + STRICT_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_schema_passes_the_draft_2020_12_metaschema(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    strict = path.parent.name == "strict"
    assert schema["$id"].endswith(("/strict/" if strict else "/schemas/") + path.name)
    Draft202012Validator.check_schema(schema)


def test_strict_variants_have_the_same_file_names() -> None:
    assert [p.name for p in STRICT_FILES] == [p.name for p in FILES]


@pytest.mark.parametrize("path", FILES + STRICT_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_field_is_described(path: Path) -> None:
    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                assert "description" in sub or "$ref" in sub, f"{where}.{name} has no description"
                walk(sub, f"{where}.{name}")
            for key in ("$defs", "allOf"):
                for name, sub in (
                    node[key].items()
                    if isinstance(node.get(key), dict)
                    else enumerate(node.get(key, []))
                ):
                    walk(sub, f"{where}/{key}/{name}")

    walk(json.loads(path.read_text()), path.name)


def test_union_enum_matches_the_event_consts() -> None:
    union = aircore_mock.get_schema("callback", strict=True)
    assert union["properties"]["event"]["enum"] == list(aircore_mock.callback_types())
    # The default union lists the same values as an open enumeration: documented, or new.
    event = aircore_mock.get_schema("callback")["properties"]["event"]
    assert event["anyOf"][0]["enum"] == list(aircore_mock.callback_types())
    assert event["type"] == "string" and "enum" not in event["anyOf"][1]
    for event in aircore_mock.callback_types():
        assert aircore_mock.get_schema(event)["properties"]["event"]["const"] == event


def test_stop_reasons_are_the_three_documented_values() -> None:
    documented = ["allPublishersLeft", "clientStopped", "serverError"]
    strict = aircore_mock.get_schema("recording-stopped", strict=True)
    assert strict["properties"]["recording"]["properties"]["reason"]["enum"] == documented
    reason = aircore_mock.get_schema("recording-stopped")["properties"]["recording"]["properties"][
        "reason"
    ]
    assert reason["anyOf"][0]["enum"] == documented
    for value in documented:  # the description names every documented value too
        assert value in reason["description"]


@pytest.mark.skipif(not DOCS.is_file(), reason="Aircore's callback page is not beside the checkout")
def test_examples_are_the_documented_payloads_verbatim() -> None:
    # Each JSON block on Aircore's page is one callback's example; the schema must carry it.
    text = DOCS.read_text()
    blocks = [json.loads(m) for m in re.findall(r"^\{\n.*?^\}$", text, re.S | re.M)]
    assert len(blocks) == 4
    for block in blocks:
        assert block in aircore_mock.get_schema(block["event"])["examples"]


def test_strict_variant_closes_every_documented_object() -> None:
    closed = dict(_schemas.resources(strict=True))
    stopped = closed[_schemas.schema_id("recording-stopped", strict=True)]
    assert stopped["unevaluatedProperties"] is False
    assert stopped["properties"]["recording"]["unevaluatedProperties"] is False
    uploaded = closed[_schemas.schema_id("recording-uploaded", strict=True)]
    location = uploaded["properties"]["recording"]["properties"]["location"]
    assert location["unevaluatedProperties"] is False
    # the shipped (lenient) files are untouched
    assert "unevaluatedProperties" not in aircore_mock.get_schema("recording-stopped")


def test_get_schema_returns_a_copy() -> None:
    aircore_mock.get_schema("callback")["title"] = "changed"
    assert aircore_mock.get_schema("callback")["title"] == "callback"


def test_unknown_schema_name_is_a_usage_error() -> None:
    with pytest.raises(aircore_mock.UsageError, match="unknown schema 'nope'"):
        aircore_mock.get_schema("nope")
