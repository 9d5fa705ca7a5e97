"""Write schemas/strict/: the strict variant of every shipped schema, derived from the default one.

The default schemas say what Aircore may send tomorrow: undocumented fields, new values of an
open enumeration (`anyOf: [{"enum": documented}, {open}]`) and new event types pass. A strict
variant says exactly what Aircore's docs say today, so that receivers in any language can
validate strictly from files alone:

- every open enumeration keeps only its documented values (`enum`, or `const` for one value);
- every object of a callback schema is closed with `unevaluatedProperties: false` (unlike
  `additionalProperties`, it sees the properties an adjacent `$ref` declares);
- `$id` moves under `strict/`, so relative `$ref`s between the files stay inside the variant.

Run `python scripts/make_strict_schemas.py` after editing a schema; `--check` exits 1 (and says
which file) when schemas/strict/ is out of date, which the test suite runs.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "schemas"
TARGET = SOURCE / "strict"
SUFFIX = ".schema.json"
# Files that are no callback on their own: their objects are closed where a callback uses them.
SHARED = {"common"}
# Requests to Aircore's API (what the fake checks): closed like callbacks, with their own note.
REQUESTS = {"start-recording-request"}
STRICT_NOTE = (
    " Strict variant: exactly what Aircore's docs say today; undocumented fields, values and"
    " event types are rejected."
)
STRICT_REQUEST_NOTE = (
    " Strict variant: exactly the fields Aircore's docs list; undocumented ones are rejected."
)


def dump(schema: Any) -> str:
    """JSON with two-space indents, lists of plain values on one line (as the files are written)."""

    def render(node: Any, depth: int, key: str = "") -> str:
        pad, inner = "  " * depth, "  " * (depth + 1)
        flat = json.dumps(node, ensure_ascii=False)
        # A small object (an `if`, a `$ref`, a closed branch) reads best on one line.
        if depth and isinstance(node, dict) and len(pad) + len(key) + len(flat) <= 100:
            return flat
        if isinstance(node, dict) and node:
            items = [
                f"{inner}{json.dumps(k)}: {render(v, depth + 1, json.dumps(k) + ': ')}"
                for k, v in node.items()
            ]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(node, list) and node:
            if all(not isinstance(v, (dict, list)) for v in node):
                return flat
            return "[\n" + ",\n".join(inner + render(v, depth + 1) for v in node) + "\n" + pad + "]"
        return json.dumps(node, ensure_ascii=False)

    return render(schema, 0) + "\n"


def _close_open_enums(node: Any, where: str) -> None:
    # An open enumeration is `anyOf: [{"enum": [...]} or {"const": x}, {no enum, no const}]`;
    # any other anyOf is a mistake this script must not silently pass through.
    if isinstance(node, list):
        for i, item in enumerate(node):
            _close_open_enums(item, f"{where}/{i}")
        return
    if not isinstance(node, dict):
        return
    if "anyOf" in node:
        branches = node["anyOf"]
        closed, open_ = [*branches, None, None][:2]
        if (
            len(branches) != 2
            or not isinstance(closed, dict)
            or not ({"enum", "const"} & closed.keys())
            or not isinstance(open_, dict)
            or {"enum", "const"} & open_.keys()
        ):
            raise ValueError(f"{where}: anyOf is not an open enumeration")
        del node["anyOf"]
        values = closed.get("enum", [closed.get("const")])
        if len(values) == 1:
            node["const"] = values[0]
        else:
            node["enum"] = list(values)
    for key, value in node.items():
        if key not in ("examples", "const", "enum"):
            _close_open_enums(value, f"{where}/{key}")


def _close_objects(node: dict[str, Any]) -> None:
    node["unevaluatedProperties"] = False
    for child in node.get("properties", {}).values():
        if isinstance(child, dict) and "properties" in child:
            _close_objects(child)


def strict_variant(name: str, schema: dict[str, Any], events: set[str]) -> dict[str, Any]:
    """The strict variant of one default schema (`events`: the callback schemas' names)."""
    out = copy.deepcopy(schema)
    base, _, file = out["$id"].rpartition("/")
    out["$id"] = f"{base}/strict/{file}"
    note = STRICT_REQUEST_NOTE if name in REQUESTS else STRICT_NOTE
    out["description"] = out["description"] + note
    _close_open_enums(out, name)
    if name in events or name in REQUESTS:
        _close_objects(out)
    return out


def build() -> dict[str, str]:
    """File name -> text of every strict variant, from the default schemas on disk."""
    schemas = {
        path.name[: -len(SUFFIX)]: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(SOURCE.glob(f"*{SUFFIX}"))
    }
    # The union's if/then branches name the callback schemas (as _schemas._dispatch does).
    events = {branch["then"]["$ref"][: -len(SUFFIX)] for branch in schemas["callback"]["allOf"]}
    unknown = set(schemas) - events - SHARED - REQUESTS - {"callback"}
    if unknown:
        raise ValueError(f"schemas neither a callback, the union nor shared: {sorted(unknown)}")
    return {
        f"{name}{SUFFIX}": dump(strict_variant(name, schema, events))
        for name, schema in schemas.items()
    }


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print("usage: make_strict_schemas.py [--check]", file=sys.stderr)
        return 2
    wanted = build()
    present = {p.name for p in TARGET.glob(f"*{SUFFIX}")} if TARGET.is_dir() else set()
    stale = sorted(
        name
        for name in wanted.keys() | present
        if name not in wanted
        or name not in present
        or (TARGET / name).read_text(encoding="utf-8") != wanted[name]
    )
    if check:
        for name in stale:
            print(f"schemas/strict/{name} is out of date: run scripts/make_strict_schemas.py")
        return 1 if stale else 0
    TARGET.mkdir(exist_ok=True)
    for name in present - wanted.keys():
        (TARGET / name).unlink()
    for name, text in wanted.items():
        (TARGET / name).write_text(text, encoding="utf-8")
    for name in stale:
        print(f"wrote schemas/strict/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
