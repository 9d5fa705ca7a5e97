"""The exception hierarchy: everything this package raises on purpose is an AircoreMockError."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


class AircoreMockError(Exception):
    """Base class of every error aircore-mock raises on purpose."""


class UsageError(AircoreMockError, ValueError):
    """An argument the caller gave cannot be used (unknown scenario, bad override, ...)."""


def seconds(name: str, value: object) -> float:
    """`value` as a number of seconds to wait: a finite, non-negative int or float, or a
    `UsageError` naming the argument (a NaN or an infinity would wait for ever)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{name} must be a finite number of seconds, at least 0, got {value}")
    return float(value)


class InputError(AircoreMockError):
    """Input could not be read: a missing or binary file, or text that is not JSON."""


@dataclass(frozen=True)
class Problem:
    """One reason a payload is not a valid callback: where (a JSON path) and what."""

    path: str
    message: str
    kind: str = ""
    """What failed: the JSON Schema keyword (`required`, `enum`, ...) or `undocumented`."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ValidationError(AircoreMockError, ValueError):
    """A payload is not a valid callback; `problems` holds every reason, the best match first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self.summary())

    def summary(self) -> str:
        """The best match, then how many other problems there are."""
        if not self.problems:
            return "invalid callback"
        first, rest = str(self.problems[0]), len(self.problems) - 1
        if rest:
            return f"{first} (and {rest} other error{'s' if rest > 1 else ''})"
        return first
