"""The shipped schemas, both modes, under four engines: Node's Ajv (strict mode, ajv-formats),
check-jsonschema, jsonschema-rs and python-jsonschema. Each compiles every file without a
warning and accepts the documented examples, and all of them agree on a corpus of tricky URLs
and mutated callbacks (tests/schema_corpus.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import aircore_mock
from aircore_mock import schemas as _schemas
from aircore_mock import validation as _validation

from .helpers import node_modules
from .schema_corpus import TRICKY_URLS, corpus

NODE_DIR = Path(__file__).resolve().parent / "node"
MODES = {"default": False, "strict": True}
FILES = sorted(p.name for p in aircore_mock.schema_dir().glob("*.schema.json"))


@pytest.fixture(scope="module")
def ajv() -> dict[str, Any]:
    node_modules()
    job = {
        "dirs": {mode: str(_schemas.schema_dir(strict)) for mode, strict in MODES.items()},
        "payloads": list(corpus()),
    }
    done = subprocess.run(
        ["node", str(NODE_DIR / "engines.cjs")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)


def _examples(name: str, strict: bool) -> list[Any]:
    if name == _schemas.UNION:
        return [ex for e in aircore_mock.callback_types() for ex in _examples(e, strict)]
    return _schemas.get_schema(name, strict=strict).get("examples", [])


def test_ajv_strict_mode_compiles_every_schema_in_both_modes(ajv: dict[str, Any]) -> None:
    assert ajv["compiled"] == {"default": FILES, "strict": FILES}
    assert ajv["warnings"] == []
    assert ajv["examples"] == {"default": [], "strict": []}


@pytest.mark.parametrize("mode", MODES)
def test_python_engines_compile_every_schema_without_warnings(mode: str) -> None:
    import jsonschema_rs
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    strict = MODES[mode]
    resources = _schemas.resources(strict)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        registry: Registry[Any] = Registry().with_resources(
            (uri, DRAFT202012.create_resource(c)) for uri, c in resources
        )
        rust_registry = jsonschema_rs.Registry(list(resources))
        for name in FILES:
            schema = _schemas.get_schema(name[: -len(_schemas.SUFFIX)], strict=strict)
            Draft202012Validator.check_schema(schema)
            slow = Draft202012Validator(
                schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            fast = jsonschema_rs.Draft202012Validator(
                schema, registry=rust_registry, validate_formats=True
            )
            for example in _examples(name[: -len(_schemas.SUFFIX)], strict):
                assert slow.is_valid(example) and fast.is_valid(example), (name, example)


def _check_jsonschema() -> str:
    found = Path(sys.executable).with_name("check-jsonschema")
    path = str(found) if found.exists() else shutil.which("check-jsonschema")
    assert path, "check-jsonschema is missing: pip install -e '.[test]'"
    return path


@pytest.mark.parametrize("mode", MODES)
def test_check_jsonschema_compiles_every_schema(mode: str, tmp_path: Path) -> None:
    strict = MODES[mode]
    folder = _schemas.schema_dir(strict)
    for name in FILES:
        instances = []
        for i, example in enumerate(_examples(name[: -len(_schemas.SUFFIX)], strict) or [{}]):
            instance = tmp_path / f"{name}.{i}.json"
            instance.write_text(json.dumps(example))
            instances.append(str(instance))
        done = subprocess.run(
            [
                _check_jsonschema(),
                "--base-uri",
                f"{folder.as_uri()}/",
                "--schemafile",
                str(folder / name),
                *instances,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, (name, done.stdout, done.stderr)
        assert done.stderr == "", (name, done.stderr)


@pytest.mark.parametrize("mode", MODES)
def test_every_engine_agrees_on_the_corpus(mode: str, ajv: dict[str, Any]) -> None:
    strict = MODES[mode]
    payloads = corpus()
    rust = _validation._checker(_schemas.UNION, strict)
    python = _validation._reporter(_schemas.UNION, strict)
    verdicts = zip(ajv["verdicts"][mode], payloads, strict=True)
    disagreements = [
        (p, {"jsonschema-rs": rust(p), "python-jsonschema": python.is_valid(p), "ajv": a})
        for a, p in verdicts
        if not (rust(p) == python.is_valid(p) == a)
    ]
    assert disagreements == []
    # The corpus must not be one-sided: both verdicts occur, in both modes.
    valid = sum(ajv["verdicts"][mode])
    assert len(payloads) > 8_000 and 1_000 < valid < len(payloads) - 1_000


ACCEPTED_URLS = {
    "http://vandenberg-i-0defaf76088193a3b-eu-central-1.prod.airtime.com:8080/recording/"
    "1677608374942-0-503309",
    "https://youraccount.s3.amazonaws.com/record_1677608374942-0-503309.m4a",
    "https://acme.s3.cn-north-1.amazonaws.com.cn/meeting_1-2-3.m4a",
    "https://acme.s3.us-gov-west-1.amazonaws.com/folder%2Fcall%20one_1-2-3.m4a",
    "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/rec_1-2-3.m4a",
    "http://x/?a=b&c=d",
    "http://127.0.0.1/",
}
REJECTED_URLS = {
    "javascript:alert(1)",
    "mailto:a@b",
    "file:///etc/passwd",
    "ftp://files.example.com/a.m4a",
    "http://",
    "http://x:8a",
    "http://x:",
    "http://x\n",
    "http://x ",
    "http://x/a b",
    "http://x/%zz",
    "http://user:pass@x/",
    "/recording/1677608374942-0-503309",
}


@pytest.mark.parametrize("field", ["url", "address"])
def test_urls_are_absolute_http_urls_with_a_host(field: str, ajv: dict[str, Any]) -> None:
    assert set(TRICKY_URLS) >= ACCEPTED_URLS | REJECTED_URLS
    (uploaded,) = aircore_mock.get_schema("recording-uploaded")["examples"]
    for url in ACCEPTED_URLS | REJECTED_URLS:
        payload = json.loads(json.dumps(uploaded))
        node = payload["recording"] if field == "url" else payload["recording"]["location"]
        node[field] = url
        # Ajv's verdict on the same payload (the corpus holds each URL in both places).
        index = corpus().index(payload)
        expected = url in ACCEPTED_URLS
        assert aircore_mock.is_valid(payload) is expected, url
        assert bool(_validation.explain(payload)) is not expected, url
        assert ajv["verdicts"]["default"][index] is expected, url
