"""The JSONL log both servers keep (`receive --log`, `serve --log`): one JSON object a line,
appended, written by a thread of its own so that a slow or full disk never stalls a server."""

from __future__ import annotations

import collections
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson

from ..errors import UsageError
from .output import LineWriter

LOG_CAPACITY = 100_000
"""Records the log may fall behind by before new ones are dropped (and counted)."""


class JsonlLog:
    """Appends records to `path`, a JSON object a line: `open()`, `put(record)` from the
    server's loop (never blocks), `close()`. `to_json` turns a record into the object to
    write (default: the record is one already)."""

    def __init__(self, path: str | Path, to_json: Callable[[Any], Any] | None = None) -> None:
        self.path = Path(path)
        self._to_json = to_json
        self._file: IO[bytes] | None = None
        self._writer: LineWriter | None = None
        self._dropped_by: collections.Counter[str] = collections.Counter()

    def _line(self, record: Any) -> bytes:
        data = record if self._to_json is None else self._to_json(record)
        return orjson.dumps(data) + b"\n"

    def open(self) -> JsonlLog:
        """Open the file for appending (idempotent); a `UsageError` names why it cannot be."""
        if self._file is None:
            try:
                self._file = self.path.open("ab", buffering=0)
            except OSError as exc:
                raise UsageError(f"cannot write log {self.path}: {exc.strerror}") from None
            self._writer = LineWriter(
                self._file, self._line, capacity=LOG_CAPACITY, name=f"log {self.path}"
            )
        return self

    def put(self, record: Any) -> None:
        """Queue a record (dropped and counted when the writer is too far behind)."""
        if self._writer is not None:
            self._writer.put(record)

    @property
    def dropped(self) -> int:
        """Records that could not be written (the disk could not keep up, or failed)."""
        return sum(self.dropped_by.values())

    @property
    def dropped_by(self) -> dict[str, int]:
        """Records not written, by cause (`did not keep up`, `No space left on device`, ...)."""
        causes = collections.Counter(self._dropped_by)
        if self._writer is not None:
            causes.update(self._writer.dropped_by)
        return dict(causes)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every record so far is written; False if that took over `timeout`."""
        return self._writer is None or self._writer.flush(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (for up to `timeout` seconds) and close the file."""
        if self._writer is not None:
            self._writer.close(timeout=timeout)
            self._dropped_by.update(self._writer.dropped_by)
            self._writer = None
        if self._file is not None:
            self._file.close()
            self._file = None
