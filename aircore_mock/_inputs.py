"""Read callbacks from JSON, JSON-array and JSONL files or stdin, streaming, without tracebacks."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

InputFormat = Literal["auto", "json", "jsonl"]
STDIN = "-"
_LINE_SUFFIXES = (".jsonl", ".ndjson")
_SNIFF = 8192


@dataclass(frozen=True)
class Item:
    """One payload read from an input, or the reason it could not be read (`error`)."""

    source: str
    line: int | None = None
    index: int | None = None
    payload: Any = None
    error: str | None = None

    @property
    def where(self) -> str:
        """`file:line`, `file[index]`, `file:line[index]` or `file`: where a human finds it."""
        text = self.source
        if self.line is not None:
            text += f":{self.line}"
        if self.index is not None:
            text += f"[{self.index}]"
        return text


def _json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    return f"not JSON: {exc}"


def _expand(source: str, line: int | None, value: Any) -> Iterator[Item]:
    if isinstance(value, list):
        for index, element in enumerate(value):
            yield Item(source, line, index, element)
    else:
        yield Item(source, line, None, value)


def _document(source: str, data: bytes) -> Iterator[Item]:
    if b"\0" in data[:_SNIFF]:
        yield Item(source, error="binary data, not JSON")
        return
    try:
        value = json.loads(data)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        yield Item(source, error=_json_error(exc))
        return
    yield from _expand(source, None, value)


def _lines(
    source: str, first: Iterable[tuple[int, bytes]], rest: IO[bytes], start: int
) -> Iterator[Item]:
    def numbered() -> Iterator[tuple[int, bytes]]:
        yield from first
        yield from enumerate(rest, start)

    for number, raw in numbered():
        if not raw.strip():
            continue
        if b"\0" in raw:
            yield Item(source, number, error="binary data, not JSON")
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            yield Item(source, number, error=_json_error(exc))
            continue
        yield from _expand(source, number, value)


def _stream(source: str, handle: IO[bytes], fmt: InputFormat) -> Iterator[Item]:
    if fmt == "json":
        yield from _document(source, handle.read())
        return
    if fmt == "jsonl":
        yield from _lines(source, (), handle, 1)
        return
    # auto: a first non-blank line that is JSON on its own means one document per line;
    # otherwise the whole input is one (pretty-printed) document.
    head: list[bytes] = []
    for raw in handle:
        head.append(raw)
        if raw.strip():
            break
    first = head[-1] if head else b""
    try:
        json.loads(first) if first.strip() else None
    except ValueError:
        yield from _document(source, b"".join(head) + handle.read())
        return
    yield from _lines(source, enumerate(head, 1), handle, len(head) + 1)


def read_callbacks(paths: Iterable[str], fmt: InputFormat = "auto") -> Iterator[Item]:
    """Yield every payload in `paths` (`-` is stdin), streaming JSONL line by line."""
    for path in paths:
        if path == STDIN:
            yield from _stream("<stdin>", sys.stdin.buffer, fmt)
            continue
        chosen = fmt
        if chosen == "auto":
            suffix = Path(path).suffix.lower()
            chosen = (
                "jsonl" if suffix in _LINE_SUFFIXES else "json" if suffix == ".json" else "auto"
            )
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below, after streaming
        except OSError as exc:
            yield Item(path, error=f"cannot read: {exc.strerror or exc}")
            continue
        try:
            yield from _stream(path, handle, chosen)
        except OSError as exc:  # e.g. a directory, or a read error mid-file
            yield Item(path, error=f"cannot read: {exc.strerror or exc}")
        finally:
            handle.close()
