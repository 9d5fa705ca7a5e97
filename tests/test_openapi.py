"""`aircore-mock schema --openapi`: an OpenAPI 3.1 document whose webhooks are the callbacks."""

from __future__ import annotations

import json
from typing import Any

import httpx
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


def _no_callbacks_leave(scope: Any, receive: Any, send: Any) -> Any:
    # Fuzzed start requests name any callback host: every callback is answered in-process.
    async def answer() -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return answer()


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_schemathesis_finds_no_failure_in_the_fake(tmp_path: Any, strict: bool) -> None:
    """All of Schemathesis' checks, its examples, coverage, fuzzing and stateful phases (the
    stateful one chaining each start to its stop by the document's link), a bounded number of
    examples per operation, against a served fake."""
    import subprocess
    import sys
    from pathlib import Path

    from aircore_mock import FakeAircore

    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(openapi_document(strict=strict)))
    key = "schemathesis-key-1"
    cli_path = Path(sys.executable).with_name("schemathesis")
    with FakeAircore(clock="instant", api_keys=key, deliver_to=_no_callbacks_leave) as fake:
        done = subprocess.run(
            [
                str(cli_path), "run", str(document), "--url", fake.url, "--checks", "all",
                "--header", f"Authorization: Bearer {key}", "--max-examples", "25",
                "--seed", "23", "--workers", "1", "--request-timeout", "10",
                "--phases", "examples,coverage,fuzzing,stateful", "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "API Links:    1 covered / 1 selected / 1 total" in output, output[-3000:]
    assert "No issues found" in output


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_redocly_lints_the_document_without_an_error(tmp_path: Any, strict: bool) -> None:
    import subprocess

    from .helpers import node_modules

    redocly = node_modules() / ".bin" / "redocly"
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(openapi_document(strict=strict)))
    done = subprocess.run(
        [str(redocly), "lint", "--format=json", str(document)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "REDOCLY_TELEMETRY": "off", "NO_COLOR": "1"},
    )
    report = json.loads(done.stdout)
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert errors == [], errors
    assert done.returncode == 0, done.stderr[-2000:]


def test_operation_ids_are_unique_and_the_start_links_to_the_stop() -> None:
    document = openapi_document()
    ids: list[str] = []
    for path in document["paths"].values():
        for operation in path.values():
            ids.append(operation["operationId"])
            for callback in operation.get("callbacks", {}).values():
                ids += [op["operationId"] for item in callback.values() for op in item.values()]
    ids += [op["operationId"] for item in document["webhooks"].values() for op in item.values()]
    assert len(ids) == len(set(ids)) == 2 + 4 + 4
    assert document["servers"][0]["url"] == "https://services.aircore.io"
    link = document["paths"]["/recording"]["post"]["responses"]["200"]["links"]["StopRecording"]
    assert link == {**link, "operationId": "StopRecording"}
    assert link["parameters"] == {"recording": "$response.body#/url"}


def test_the_fake_answers_json_errors_with_the_documented_allow(tmp_path: Any) -> None:
    from aircore_mock import FakeAircore

    document = openapi_document()
    with FakeAircore() as fake:
        for path, allowed in (("/recording", "POST"), ("/recording/x", "DELETE")):
            documented = ", ".join(m.upper() for m in document["paths"][
                "/recording" if path == "/recording" else "/recording/{recording}"
            ])  # fmt: skip
            assert documented == allowed
            for method in ("GET", "PUT", "PATCH", "TRACE", "PROPFIND"):
                answer = httpx.request(method, fake.url + path)
                assert answer.status_code == 405, (method, path)
                assert answer.headers["allow"] == allowed
                assert answer.headers["content-type"] == "application/json"
                assert answer.json()["status"] == 405
        for path in ("/nothing", "/recording%0Ax", "/%0A"):
            answer = httpx.get(fake.url + path)
            assert (answer.status_code, answer.headers["content-type"]) == (
                404,
                "application/json",
            ), path
