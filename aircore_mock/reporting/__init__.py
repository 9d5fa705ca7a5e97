"""Reporters: the text and JSON that the CLI prints and the pytest plugin shows.

A reporter turns the library's results (a send's `Report` and `Result`s, a `ContractReport`,
a capture server's `Capture`s and summary) into output; it never decides anything. Pick one
by name with `reporter("text")` or `reporter("json")`.
"""

from __future__ import annotations

from types import ModuleType

from . import json, text

REPORTERS: dict[str, ModuleType] = {"text": text, "json": json}


def reporter(name: str) -> ModuleType:
    """The reporter module for a format name (`text` or `json`)."""
    try:
        return REPORTERS[name]
    except KeyError:
        raise ValueError(f"unknown report format {name!r}; known: {', '.join(REPORTERS)}") from None


__all__ = ["REPORTERS", "json", "reporter", "text"]
