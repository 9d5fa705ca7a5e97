"""JSON documents read in time that grows with their size, whatever their strings, nesting or
item count, in flat memory; and the same values as a parser reading them whole."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from aircore_mock import files
from aircore_mock.files import read_callbacks


def _values(path: Path) -> list[object]:
    items = list(read_callbacks([str(path)], "json"))
    assert all(i.error is None for i in items), [i.error for i in items if i.error]
    return [i.payload for i in items]


TRICKY = [
    {"a": "},{", "b": [{"c": "]"}, {"d": "\\"}], "e": '"},\n{'},
    [1, [2, [3, {"x": "[[[,,,]]]"}]]],
    {"s": "é😀\u2028", "n": -1.5e-7, "t": True, "f": None},
    "a plain string, with a comma",
    12345678901234567890,
    {},
    [],
]


@pytest.mark.parametrize("read_size", [1, 2, 3, 7, 64, 1 << 16])
def test_any_split_of_the_bytes_gives_the_same_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, read_size: int
) -> None:
    monkeypatch.setattr(files, "_READ", read_size)
    rng = random.Random(read_size)
    values = [rng.choice(TRICKY) for _ in range(300)]
    for indent in (None, 2):
        path = tmp_path / f"doc{indent}.json"
        path.write_text(json.dumps(values, indent=indent, ensure_ascii=False))
        assert _values(path) == values


def test_a_long_string_in_an_element_is_read_in_linear_time(tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    path.write_bytes(b'[{"a": "' + b"x" * (8 << 20) + b'"}, {"b": 1}]')
    assert _values(path) == [{"a": "x" * (8 << 20)}, {"b": 1}]


def test_an_element_or_document_over_the_limit_is_too_long_not_held(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(files, "MAX_LINE", 1000)
    array = tmp_path / "array.json"
    array.write_bytes(b'[{"a": "' + b"x" * 5000 + b'"}, {"b": 1}]')
    items = list(read_callbacks([str(array)]))
    assert items[0].error == "element longer than 1,000 bytes" and items[0].index == 0
    assert items[1].payload == {"b": 1} and items[1].index == 1
    document = tmp_path / "one.json"
    document.write_bytes(b'{"a": "' + b"x" * 5000 + b'"}')
    (item,) = read_callbacks([str(document)])
    assert item.error == "document longer than 1,000 bytes"


def test_deep_nesting_is_one_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (item,) = read_callbacks([str(path)])
    assert item.error == "not JSON: nested more than 1,024 levels deep"
    inside = tmp_path / "inside.json"
    inside.write_bytes(b'[{"ok": 1}, ' + b"[" * 5000 + b"]" * 5000 + b', {"ok": 2}]')
    items = list(read_callbacks([str(inside)]))
    assert [i.payload for i in items] == [{"ok": 1}, None, {"ok": 2}]
    assert items[1].error == "not JSON: nested more than 1,024 levels deep"


def test_many_tiny_items(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    path.write_bytes(b"[" + b",".join([b"1"] * 200_000) + b"]")
    assert _values(path) == [1] * 200_000


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"[1, 2", "not JSON: unexpected end of data (after element 0)"),
        (b"[1, 2]]", "not JSON: more after the array (after element 1)"),
        (b"[1, {]", "not JSON: ']' does not close '{' (after element 0)"),
        (b'[1, "\xe9"]', "not JSON: not UTF-8 text"),
    ],
)
def test_broken_arrays_say_where(tmp_path: Path, data: bytes, error: str) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(data)
    errors = [i.error for i in read_callbacks([str(path)]) if i.error]
    assert errors and errors[-1].startswith(error), errors
