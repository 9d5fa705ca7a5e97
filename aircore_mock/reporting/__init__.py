"""Reporters: the text and JSON that the CLI prints and the pytest plugin shows.

A reporter turns the library's results (a send's `Report` and `Result`s, a `ContractReport`,
a capture server's `Capture`s and summary, a fake's or a load test's summary) into output; it
never decides anything. `text` renders lines for people, `json_report` objects for
machines (named so as not to shadow the standard library's `json`).
"""

from __future__ import annotations

from . import json_report, text
from .spool import SpooledJsonReport

__all__ = ["SpooledJsonReport", "json_report", "text"]
