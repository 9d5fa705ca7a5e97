"""Reading and writing callbacks: JSON, JSON arrays and JSONL, files or stdin/stdout, streaming.

Reading never raises for bad input: each unreadable part becomes an `Item` with an `error`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

import orjson

from .errors import InputError

InputFormat = Literal["auto", "json", "jsonl"]
STDIN = "-"
_LINE_SUFFIXES = (".jsonl", ".ndjson")
_SNIFF = 8192


class Item(NamedTuple):
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


def _not_json(exc: ValueError) -> str:
    return f"not JSON: {exc}"


def _binary(data: bytes) -> bool:
    return b"\0" in data[:_SNIFF]


def _document(source: str, data: bytes) -> Iterator[Item]:
    if _binary(data):
        yield Item(source, error="binary data, not JSON")
        return
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        error = _not_json(exc)
        if "unexpected content after document" in str(exc):
            error += " (one callback a line? name it .jsonl or pass --input-format jsonl)"
        yield Item(source, error=error)
        return
    if isinstance(value, list):
        for index, element in enumerate(value):
            yield Item(source, None, index, element)
    else:
        yield Item(source, None, None, value)


def _lines(source: str, lines: Iterable[bytes], start: int) -> Iterator[Item]:
    # The hot loop of `validate` on big JSONL files: keep it flat.
    loads = orjson.loads
    for number, raw in enumerate(lines, start):
        try:
            value = loads(raw)
        except orjson.JSONDecodeError as exc:
            if raw.strip():
                error = "binary data, not JSON" if b"\0" in raw else _not_json(exc)
                yield Item(source, number, None, None, error)
            continue
        if type(value) is list:
            for index, element in enumerate(value):
                yield Item(source, number, index, element)
        else:
            yield Item(source, number, None, value)


def _stream(source: str, handle: IO[bytes], fmt: InputFormat) -> Iterator[Item]:
    if fmt == "json":
        yield from _document(source, handle.read())
        return
    head: list[bytes] = []
    for raw in handle:
        head.append(raw)
        if raw.strip():
            break
    if head and _binary(head[-1]):
        yield Item(source, error="binary data, not JSON")
        return
    if fmt == "auto" and head:
        # A first non-blank line that is JSON on its own means one document per line;
        # otherwise the whole input is one (pretty-printed) document.
        try:
            orjson.loads(head[-1])
        except orjson.JSONDecodeError:
            yield from _document(source, b"".join(head) + handle.read())
            return
    yield from _lines(source, head, 1)
    yield from _lines(source, handle, len(head) + 1)


def read_callbacks(paths: Iterable[str], fmt: InputFormat = "auto") -> Iterator[Item]:
    """Yield every payload in `paths` (`-` is stdin), streaming JSONL line by line."""
    for path in paths:
        if path == STDIN:
            yield from _stream("<stdin>", sys.stdin.buffer, fmt)
            continue
        chosen = fmt
        if chosen == "auto":
            suffix = Path(path).suffix.lower()
            if suffix in _LINE_SUFFIXES:
                chosen = "jsonl"
            elif suffix == ".json":
                chosen = "json"
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below, after streaming
        except OSError as exc:
            yield Item(path, error=f"cannot read: {exc.strerror or exc}")
            continue
        try:
            yield from _stream(path, handle, chosen)
        except OSError as exc:  # e.g. a read error mid-file
            yield Item(path, error=f"cannot read: {exc.strerror or exc}")
        finally:
            handle.close()


# --- writing ------------------------------------------------------------------------------

_PRETTY = orjson.OPT_INDENT_2


def dump(callbacks: Iterable[Any], out: IO[bytes], fmt: Literal["json", "jsonl"] = "jsonl") -> int:
    """Write `callbacks` to a binary stream; returns how many were written."""
    count = 0
    dumps = orjson.dumps
    if fmt == "jsonl":
        buffer: list[bytes] = []
        for callback in callbacks:
            buffer.append(dumps(callback))
            count += 1
            if len(buffer) >= 1024:
                out.write(b"\n".join(buffer) + b"\n")
                buffer.clear()
        if buffer:
            out.write(b"\n".join(buffer) + b"\n")
        return count
    out.write(b"[")
    for callback in callbacks:
        out.write(b",\n  " if count else b"\n  ")
        out.write(dumps(callback, option=_PRETTY).replace(b"\n", b"\n  "))
        count += 1
    out.write(b"\n]\n" if count else b"]\n")
    return count


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[IO[bytes]]:
    """A binary file that appears at `path` complete, or not at all."""
    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_atomically(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader never sees half of it."""
    with atomic_file(path) as out:
        out.write(data)


def write_callbacks(
    callbacks: Iterable[Any], path: str | None, fmt: Literal["json", "jsonl"] | str = "jsonl"
) -> int:
    """Write to `path` (atomically: all or nothing) or to stdout when `path` is None or `-`."""
    mode: Any = fmt
    if path is None or path == "-":
        count = dump(callbacks, sys.stdout.buffer, mode)
        sys.stdout.buffer.flush()
        return count
    with atomic_file(path) as out:
        return dump(callbacks, out, mode)
