"""Find and load the shipped JSON Schemas (default and strict variants) and the registries."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError

SUFFIX = ".schema.json"
UNION = "callback"
COMMON = "common"
# The strict variants: the same file names in a subfolder, generated from the default files by
# scripts/make_strict_schemas.py, so that receivers in any language can validate strictly.
STRICT = "strict"
DATA_FOLDER = "schema_files"
"""Where a wheel carries the schemas, inside the package (pyproject's force-include)."""


@functools.cache
def schema_dir(strict: bool = False) -> Path:
    """The folder holding the shipped schemas and nothing else (in a wheel the package's
    `schema_files/`; in a checkout, editable installs included, its top-level `schemas/`).

    With `strict`, the folder of the strict variants (`<that folder>/strict`).
    """
    # A wheel carries them in a folder of their own beside this module (hatch force-include
    # into aircore_mock/schema_files); an editable install cannot see that copy, so fall back
    # to the checkout's schemas/.
    here = Path(__file__).resolve().parent
    for candidate in (here / DATA_FOLDER, here.parent / "schemas"):
        if (candidate / f"{UNION}{SUFFIX}").is_file():
            return candidate / STRICT if strict else candidate
    raise FileNotFoundError(
        f"aircore-mock's schemas are missing: looked in {here / DATA_FOLDER} and "
        f"{here.parent / 'schemas'}"
    )


@functools.cache
def _load(strict: bool = False) -> dict[str, dict[str, Any]]:
    folder = schema_dir(strict)
    return {
        path.name[: -len(SUFFIX)]: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob(f"*{SUFFIX}"))
    }


def schema_names() -> tuple[str, ...]:
    """Every shipped schema's name: the callback types, the union and the shared definitions."""
    return tuple(_load())


@functools.cache
def _dispatch() -> dict[str, str]:
    # The union's allOf says which `event` value selects which schema file; it is the one
    # place that lists the callback types.
    table: dict[str, str] = {}
    for branch in _load()[UNION]["allOf"]:
        event = branch["if"]["properties"]["event"]["const"]
        table[event] = branch["then"]["$ref"][: -len(SUFFIX)]
    return table


def callback_types() -> tuple[str, ...]:
    """The callback types (event names), in the order the union schema lists them."""
    return tuple(_dispatch())


def _raw(name: str, strict: bool = False) -> dict[str, Any]:
    schemas = _load(strict)
    if name not in schemas:
        known = ", ".join(schema_names())
        raise UsageError(f"unknown schema {name!r} (known: {known})")
    return schemas[name]


def get_schema(name: str = UNION, *, strict: bool = False) -> dict[str, Any]:
    """A copy of one shipped schema: a callback type, `callback` (the union) or `common`.

    With `strict`, its strict variant (undocumented fields, values and event types rejected).
    """
    return copy.deepcopy(_raw(name, strict))


def describe(name: str) -> str:
    """The one-line description a schema carries."""
    return str(_raw(name).get("description", ""))


@functools.cache
def _resources(strict: bool) -> tuple[tuple[str, dict[str, Any]], ...]:
    return tuple((contents["$id"], contents) for contents in _load(strict).values())


def resources(strict: bool = False) -> tuple[tuple[str, dict[str, Any]], ...]:
    """(`$id`, schema) pairs for a registry: the default files, or the strict variants."""
    return _resources(strict)


def schema_id(name: str, strict: bool = False) -> str:
    """The `$id` of a shipped schema (or of its strict variant)."""
    return str(_raw(name, strict)["$id"])


@dataclass(frozen=True)
class Field:
    """One property a callback carries, as its schema declares it (after following `$ref`s)."""

    path: tuple[str, ...]
    required: bool
    const: Any = None
    has_const: bool = False
    enum: tuple[Any, ...] | None = None
    children: tuple[Field, ...] = ()

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


Part = tuple[dict[str, Any], Any]  # a schema node and the `referencing` resolver of its file


@functools.cache
def _registry(strict: bool) -> Any:
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    return Registry().with_resources(
        (uri, DRAFT202012.create_resource(contents)) for uri, contents in resources(strict)
    )


def _follow(parts: list[Part]) -> list[Part]:
    # A node with a $ref stands for the referenced node plus its own keywords, in that order,
    # so that a refinement (an event's `recording`) extends the shared definition.
    out: list[Part] = []
    for node, resolver in parts:
        if "$ref" in node:
            resolved = resolver.lookup(node["$ref"])
            out += _follow([(resolved.contents, resolved.resolver)])
        out.append((node, resolver))
    return out


def _field(path: tuple[str, ...], required: bool, parts: list[Part]) -> Field:
    parts = _follow(parts)
    const: Any = None
    has_const = False
    enum: tuple[Any, ...] | None = None
    properties: dict[str, list[Part]] = {}
    required_names: set[str] = set()
    for node, resolver in parts:
        if "const" in node:
            const, has_const = node["const"], True
        if "enum" in node:
            enum = tuple(node["enum"])
        for name, sub in node.get("properties", {}).items():
            properties.setdefault(name, []).append((sub, resolver))
        required_names.update(node.get("required", ()))
    children = tuple(
        _field((*path, name), name in required_names, sub_parts)
        for name, sub_parts in properties.items()
    )
    return Field(path, required, const, has_const, enum, children)


@functools.cache
def fields(event: str) -> tuple[Field, ...]:
    """The properties a callback type carries, in document order, nested as in the payload.

    Read from the strict variant: its `const`s and `enum`s are the values Aircore documents
    (the default schemas also accept values Aircore may add later).
    """
    if event not in _dispatch():
        raise UsageError(f"unknown callback type {event!r}")
    resolver = _registry(strict=True).resolver(schema_id(event, strict=True))
    return _field((), True, [(_raw(event, strict=True), resolver)]).children


def iter_fields(event: str) -> Iterator[Field]:
    """Every property of a callback type, depth first (objects before their members)."""
    stack = list(reversed(fields(event)))
    while stack:
        field = stack.pop()
        yield field
        stack.extend(reversed(field.children))
