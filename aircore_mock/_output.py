"""Write callbacks as a JSON array or JSON lines, streaming, to a file or stdout."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from ._exceptions import InputError

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
