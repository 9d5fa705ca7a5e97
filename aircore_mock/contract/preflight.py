"""One request before a contract run: a receiver nobody can reach makes every clause moot."""

from __future__ import annotations

from .session import preflight

__all__ = ["preflight"]
