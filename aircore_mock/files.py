"""Reading and writing callbacks: JSON, JSON arrays and JSONL, files or stdin/stdout, streaming.

Reading never raises for bad input: each unreadable part becomes an `Item` with an `error`.
Reading streams: memory stays flat whatever the input's size (a JSONL line, or one element
of a JSON array, at a time).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
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
_READ = 1 << 16
_BOM = b"\xef\xbb\xbf"
_UTF16_32 = (b"\xff\xfe", b"\xfe\xff")  # UTF-32 LE starts like UTF-16 LE
MAX_LINE = 16 * 1024 * 1024
"""A line longer than this (bytes) gets its own verdict, "too long", and is never held in
memory whole: no callback is that big, and a file without line breaks must not fill memory."""
_FIRST_LINE = 1024 * 1024  # how far `auto` looks for a first line that is JSON on its own


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
        return where(self.source, self.line, self.index)


def where(source: str, line: int | None, index: int | None) -> str:
    """`file:line`, `file[index]`, `file:line[index]` or `file`: where a human finds it."""
    text = source
    if line is not None:
        text += f":{line}"
    if index is not None:
        text += f"[{index}]"
    return text


def _not_json(exc: ValueError) -> str:
    """orjson's message, in a reader's words (where it broke, without the character count)."""
    text = re.sub(r" \(char \d+\)$", "", str(exc))
    if "not valid UTF-8" in text or "surrogates not allowed" in text:
        where = text.rsplit(": ", 1)[-1]
        return "not JSON: not UTF-8 text" + (f" ({where})" if where.startswith("line ") else "")
    if text.startswith("depth limit exceeded"):
        return "not JSON: nested more than 1,024 levels deep"
    return f"not JSON: {text}"


class _TooLong(NamedTuple):
    size: int


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    # read1 hands over what has arrived, so a slow pipe's lines get their verdicts as they
    # come, not once 64 KiB have gathered.
    read = getattr(handle, "read1", handle.read)
    while True:
        chunk = read(_READ)
        if not chunk:
            return
        yield chunk


def _split(chunks: Iterable[bytes]) -> Iterator[list[bytes] | list[_TooLong]]:
    """Lines (terminator kept) of a byte stream ending them with LF, CRLF or CR alike, a list
    of them per chunk read (the caller loops over each list: a generator step a chunk, not a
    line, on `validate`'s hot path).

    A line over `MAX_LINE` comes out as `_TooLong`, its bytes skipped, never gathered.
    """
    carry = b""
    skipping = False
    for chunk in chunks:
        if skipping:
            cut = min((i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0), default=-1)
            if cut < 0:
                continue
            chunk, skipping = chunk[cut:], False
            chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk[1:]
            if not chunk:
                continue
        data = carry + chunk if carry else chunk
        pieces = data.splitlines(True)
        # The last piece may be cut by the chunk boundary; a piece ending in CR may be the
        # first half of a CRLF. Either waits for the next chunk.
        carry = pieces.pop() if pieces and not pieces[-1].endswith(b"\n") else b""
        if pieces:
            yield pieces
        if len(carry) > MAX_LINE:
            yield [_TooLong(MAX_LINE)]
            carry, skipping = b"", not carry.endswith(b"\r")
    if carry:
        yield [carry]


def _lines(
    source: str, batches: Iterable[list[bytes] | list[_TooLong]], start: int
) -> Iterator[Item]:
    # The hot loop of `validate` on big JSONL files: keep it flat.
    loads = orjson.loads
    # An Item built by tuple.__new__ skips the Python-level __new__ a NamedTuple has: half
    # the cost, and this runs once a line.
    new, item = tuple.__new__, Item
    number = start - 1
    for batch in batches:
        for raw in batch:
            number += 1
            try:
                value = loads(raw)  # type: ignore[arg-type]
            except orjson.JSONDecodeError as exc:
                if type(raw) is _TooLong:  # checked here, off the hot path
                    yield Item(source, number, None, None, f"line longer than {raw.size:,} bytes")
                elif raw.strip():  # type: ignore[union-attr]
                    error = "binary data, not JSON" if b"\0" in raw else _not_json(exc)  # type: ignore[operator]
                    yield Item(source, number, None, None, error)
                continue
            if type(value) is list:
                for index, element in enumerate(value):
                    yield new(item, (source, number, index, element, None))
            else:
                yield new(item, (source, number, None, value, None))


def _document_error(exc: ValueError) -> str:
    """`_not_json`, with a hint for a file of one callback a line read as one document."""
    text = str(exc)
    if text.startswith("unexpected content after document"):
        text = re.sub(r" \(char \d+\)$", "", text)
        where = text.rsplit(": ", 1)[-1]
        return (
            f"not JSON: more after the document ({where}): one callback a line? name it "
            ".jsonl or pass --input-format jsonl"
        )
    return _not_json(exc)


_TOKEN = re.compile(rb'["\[\]{},]')
_STRING_END = re.compile(rb'["\\]')
_CLOSES = {ord("]"): ord("["), ord("}"): ord("{")}


def _elements(chunks: Iterator[bytes]) -> Iterator[bytes | _TooLong | str]:
    """The elements of a top-level JSON array, as the bytes of each (or `_TooLong` for one
    over `MAX_LINE`, its bytes skipped); a `str` is an error that ends the array.

    A scanner, not a parser: it finds only strings (to skip what they hold), brackets and
    the commas between elements, with `re` doing the searching in C, so time grows with the
    input's size whatever its strings or nesting (a parser that re-reads a token cut by a
    read boundary grows with its square); each element is parsed on its own by orjson.
    """
    stack = bytearray()  # the open brackets: a mismatched close is an error, not a guess
    carry = bytearray()  # the element so far, from earlier chunks
    too_long = in_string = escaped = False
    for data in chunks:
        start = 0 if stack else -1  # where the element begins in this chunk (-1: before it)
        i, end = 0, len(data)
        while i < end:
            if in_string:
                if escaped:  # the previous chunk ended on a backslash
                    i, escaped = i + 1, False
                    continue
                match = _STRING_END.search(data, i)
                if match is None:
                    break
                j = match.start()
                if data[j] == 0x5C:  # a backslash: the next byte is escaped, maybe past the end
                    i = j + 2
                    escaped = i > end
                    continue
                in_string, i = False, j + 1
                continue
            match = _TOKEN.search(data, i)
            if match is None:
                break
            j = match.start()
            byte = data[j]
            i = j + 1
            if byte == 0x22:  # "
                in_string = True
            elif byte in (0x5B, 0x7B):  # [ {
                if not stack and byte != 0x5B:
                    yield "not JSON: the document is not an array"
                    return
                stack.append(byte)
                if len(stack) == 1:
                    start = i
            elif byte in _CLOSES:
                if not stack or stack[-1] != _CLOSES[byte]:
                    opened = repr(chr(stack[-1])) if stack else "anything"
                    yield f"not JSON: {chr(byte)!r} does not close {opened}"
                    return
                stack.pop()
                if not stack:  # the array's end
                    yield from _element(carry, data[start:j], too_long, last=True)
                    if data[i:].strip() or any(more.strip() for more in chunks):
                        yield "not JSON: more after the array"
                    return
            elif len(stack) == 1:  # a comma between elements
                yield from _element(carry, data[start:j], too_long, last=False)
                carry, too_long, start = bytearray(), False, i
        if stack and start >= 0 and not too_long:
            carry += data[start:]
            if len(carry) > MAX_LINE:
                carry, too_long = bytearray(), True
    yield "not JSON: unexpected end of data" if stack else "not JSON: the input is empty"


class _Parsed(NamedTuple):
    value: Any


# an object or array, the comma after it, and the next object or array
_BOUNDARY = re.compile(rb"[}\]]\s*,(?=\s*[{\[])")


def _fast_elements(chunks: Iterator[bytes]) -> Iterator[bytes | _TooLong | str | _Parsed]:
    """`_elements`, mostly in C: the bytes up to the last `},` of what has arrived are parsed
    as one array by orjson, which succeeds only where that comma ends an element (a cut
    inside a string or a nested value leaves the piece invalid). Anything else (an element
    that is not an object or array, one that does not parse, a long element) goes to the
    scanner from where the fast path stopped, so verdicts and errors are the scanner's."""
    data = bytearray()
    head = b""
    for chunk in chunks:
        data += chunk
        if not head:
            stripped = data.lstrip()
            if not stripped:
                continue
            head, data = b"[", bytearray(stripped[1:])  # (the caller saw the "[")
        if len(data) > MAX_LINE:  # (the batches below hold whole elements: none this long)
            break
        # The last comma between two objects or arrays that ends an element: tried from the
        # end, a few (one inside a list field of an element does not parse, and is passed).
        cuts = [m.end() - 1 for m in _BOUNDARY.finditer(data, max(0, len(data) - len(chunk) - 64))]
        values = None
        for cut in reversed(cuts[-4:]):
            try:
                values = orjson.loads(b"[" + data[:cut] + b"]")
                break
            except orjson.JSONDecodeError:
                continue
        if values is None:
            if len(data) > min(_READ * 4, MAX_LINE):  # a long element, or no such commas
                break
            continue
        for value in values:
            yield _Parsed(value)
        del data[: cut + 1]
    else:
        if head and len(data) <= MAX_LINE and data.rstrip().endswith(b"]"):
            try:
                values = orjson.loads(b"[" + data)
            except orjson.JSONDecodeError:
                pass
            else:
                for value in values:
                    yield _Parsed(value)
                return
    # From an element's start (or before the "[" when nothing but blanks came).
    yield from _elements(itertools.chain([head + bytes(data)], chunks))


def _element(
    carry: bytearray, tail: bytes, too_long: bool, *, last: bool
) -> Iterator[bytes | _TooLong]:
    if too_long or len(carry) + len(tail) > MAX_LINE:
        yield _TooLong(MAX_LINE)
        return
    raw = bytes(carry + tail) if carry else tail
    if last and not raw.strip():
        return  # `[]`, or the end of `[1, 2]`
    yield raw


def _document(source: str, head: bytes, rest: Iterator[bytes]) -> Iterator[Item]:
    """One JSON document, streamed: an array's elements one by one (never the whole array in
    memory), or a single value of at most `MAX_LINE` bytes."""
    while not head.strip():  # leading blank chunks say nothing: drop them, not keep them
        head = next(rest, b"")
        if not head:
            break
    if not head.strip():
        yield Item(source, error="not JSON: the input is empty")
        return
    chunks = itertools.chain([head], rest)
    if head.lstrip()[:1] != b"[":
        data = bytearray()
        for chunk in chunks:
            data += chunk
            if len(data) > MAX_LINE:
                yield Item(source, error=f"document longer than {MAX_LINE:,} bytes")
                return
        try:
            yield Item(source, None, None, orjson.loads(data))
        except orjson.JSONDecodeError as exc:
            yield Item(source, error=_document_error(exc))
        return
    loads = orjson.loads
    for count, raw in enumerate(_fast_elements(chunks)):
        if type(raw) is _Parsed:
            yield Item(source, None, count, raw.value)
            continue
        if type(raw) is str:
            after = f" (after element {count - 1})" if count else ""
            yield Item(source, error=raw + after)
            return
        if type(raw) is _TooLong:
            yield Item(source, None, count, None, f"element longer than {raw.size:,} bytes")
        else:
            try:
                yield Item(source, None, count, loads(raw))
            except orjson.JSONDecodeError as exc:
                yield Item(source, None, count, None, _document_error(exc))


def _first_line_is_json(head: bytes) -> bool:
    for raw in head.splitlines():
        if raw.strip():
            try:
                orjson.loads(raw)
            except orjson.JSONDecodeError:
                return False
            return True
    return False


def _stream(source: str, handle: IO[bytes], fmt: InputFormat) -> Iterator[Item]:
    # Not a generator itself: it returns the reader the input needs, so that each line comes
    # to the caller through one generator fewer (the caller starts it at once, as it did when
    # this function was a generator it delegated to).
    chunks = _chunks(handle)
    head = next(chunks, b"")
    if head.startswith(_BOM):  # PowerShell and Excel write one; it says nothing but "UTF-8"
        head = head[len(_BOM) :]
    elif head.startswith(_UTF16_32):
        return iter([Item(source, error="UTF-16 or UTF-32 text, not UTF-8: save it as UTF-8")])
    if b"\0" in head[:_SNIFF]:
        return iter([Item(source, error="binary data, not JSON")])
    if fmt == "auto":
        # Enough of the start to see the first line whole (unless it is a huge one).
        while b"\n" not in head and b"\r" not in head and len(head) < _FIRST_LINE:
            more = next(chunks, b"")
            if not more:
                break
            head += more
        stripped = head.lstrip()
        if stripped[:1] in (b"[", b"{") and not _first_line_is_json(stripped):
            fmt = "json"  # pretty-printed, or one huge line: a document, streamed
        else:
            fmt = "jsonl"  # one callback a line; a junk line is just one bad line
    if fmt == "json":
        return _document(source, head, chunks)
    return _lines(source, _split(itertools.chain([head], chunks)), 1)


def read_callbacks(paths: Iterable[str], fmt: InputFormat = "auto") -> Iterator[Item]:
    """Yield every payload in `paths` (`-` is stdin), streaming: JSONL line by line (LF, CRLF
    or CR), a JSON array element by element, in flat memory whatever the input's size."""
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


def read_all(path: str) -> list[Any]:
    """Every callback in one input (a file, or - for stdin), in memory: an InputError for
    the first that cannot be read, or when there is none."""
    callbacks = []
    for item in read_callbacks([path]):
        if item.error is not None:
            raise InputError(f"{item.where}: {item.error}")
        callbacks.append(item.payload)
    if not callbacks:
        raise InputError(f"{path}: no callbacks in it")
    return callbacks


def dump(callbacks: Iterable[Any], out: IO[bytes], fmt: Literal["json", "jsonl"] = "jsonl") -> int:
    """Write `callbacks` to a binary stream; returns how many were written."""
    count = 0
    dumps = orjson.dumps
    if fmt == "jsonl":
        # A line a write, into the stream's own buffer: joining many lines first made blocks
        # big enough for glibc to map and unmap, or to trim the heap and grow it again, at
        # every write (~200k page faults for 180k lines).
        write, newline = out.write, orjson.OPT_APPEND_NEWLINE
        for callback in callbacks:
            write(dumps(callback, option=newline))
            count += 1
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
