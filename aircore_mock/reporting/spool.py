"""A JSON report written in flat memory: its lists wait in temporary files, not in lists."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from typing import IO, Any


class SpooledJsonReport:
    """A JSON object of a few head values and some long lists, written at the end.

    Each list's entries go to a temporary file as they come (kept in memory up to 1 MiB, on
    disk past it), so a report on millions of inputs needs no more memory than one entry.
    """

    def __init__(self, lists: Sequence[str]) -> None:
        self.lists = tuple(lists)
        """The lists, in the order they are written (each one, even when empty)."""
        self._files: dict[str, IO[bytes]] = {}

    def add(self, name: str, entry: dict[str, Any]) -> None:
        """Append an entry to the list `name`."""
        if name not in self.lists:
            raise KeyError(f"{name!r} is not one of this report's lists {self.lists}")
        spool = self._files.get(name)
        if spool is None:
            spool = self._files[name] = tempfile.SpooledTemporaryFile(1024 * 1024)  # noqa: SIM115 - closed in write
        spool.write(json.dumps(entry).encode() + b"\n")

    def write(self, out: IO[str], head: dict[str, Any]) -> None:
        """The report: `head`'s values, then every list; the spools are closed after."""
        out.write(
            "{\n" + "".join(f"  {json.dumps(k)}: {json.dumps(v)},\n" for k, v in head.items())
        )
        for number, name in enumerate(self.lists):
            out.write(f"  {json.dumps(name)}: [")
            spool = self._files.pop(name, None)
            if spool is not None:
                spool.seek(0)
                for index, line in enumerate(spool):
                    out.write(("," if index else "") + "\n    " + line.decode().rstrip("\n"))
                spool.close()
                out.write("\n  ")
            out.write("]" + (",\n" if number < len(self.lists) - 1 else "\n"))
        out.write("}\n")
        out.flush()

    def close(self) -> None:
        """Drop what was not written (a run that ended early)."""
        for spool in self._files.values():
            spool.close()
        self._files.clear()
