"""`aircore-mock schema --openapi`: an OpenAPI 3.1 document whose webhooks are the callbacks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import aircore_mock
from aircore_mock.cli import cli
from aircore_mock.openapi import openapi_document

from .schema_corpus import mutated_payloads

DOC = "urn:aircore-mock:openapi"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [
            *([node["$ref"]] if isinstance(node.get("$ref"), str) else []),
            *(
                r
                for k, v in node.items()
                if k not in ("examples", "enum", "const")
                for r in _refs(v)
            ),
        ]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def _validator(document: dict[str, Any], event: str) -> Draft202012Validator:
    # Resolve the document's own "#/components/..." references, as an OpenAPI tool would.
    registry: Registry[Any] = Registry().with_resource(
        DOC, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"{DOC}#/components/schemas/{event}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_document_is_valid_openapi_3_1_with_a_webhook_per_callback(strict: bool) -> None:
    document = openapi_document(strict=strict)
    validate_openapi(document)
    assert document["openapi"] == "3.1.0"
    start = document["paths"]["/recording"]["post"]
    assert list(start["callbacks"]) == list(aircore_mock.callback_types())
    assert start["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/start-recording-request"
    }
    stop = document["paths"]["/recording/{recording}"]["delete"]
    assert set(stop["responses"]) == {"204", "400", "401", "404", "5XX"}
    assert list(document["webhooks"]) == list(aircore_mock.callback_types())
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        assert "$id" not in schema, name  # an embedded $id would move the references' base
        Draft202012Validator.check_schema(schema)
    # openapi-spec-validator does not follow references inside schemas: every one must land.
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        node: Any = document
        for part in ref[2:].split("/"):
            node = node[part]
        assert isinstance(node, dict), ref


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_examples_are_the_documented_ones_and_validate(strict: bool) -> None:
    document = openapi_document(strict=strict)
    for event in aircore_mock.callback_types():
        body = document["webhooks"][event]["post"]["requestBody"]
        media = body["content"]["application/json"]
        assert body["required"] is True
        assert media["schema"] == {"$ref": f"#/components/schemas/{event}"}
        values = [example["value"] for example in media["examples"].values()]
        assert values == aircore_mock.get_schema(event)["examples"]
        validator = _validator(document, event)
        for value in values:
            assert validator.is_valid(value), (event, value)


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_document_schemas_judge_like_the_shipped_ones(strict: bool) -> None:
    document = openapi_document(strict=strict)
    union = _validator(document, "callback")
    payloads = mutated_payloads()[::7]
    assert len(payloads) > 1000
    for payload in payloads:
        assert union.is_valid(payload) == aircore_mock.is_valid(payload, strict=strict), payload


def test_schema_command_prints_the_document_deterministically() -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["schema", "--openapi"])
    assert first.exit_code == 0
    assert json.loads(first.output) == openapi_document()
    assert runner.invoke(cli, ["schema", "--openapi"]).output == first.output
    strict = runner.invoke(cli, ["schema", "--openapi", "--strict"])
    assert json.loads(strict.output) == openapi_document(strict=True)
    mixed = runner.invoke(cli, ["schema", "--openapi", "recording-stopped"])
    assert mixed.exit_code == 2
    assert "--openapi and recording-stopped cannot be combined" in mixed.output
