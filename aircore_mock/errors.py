"""The exception hierarchy: everything this package raises on purpose is an AircoreMockError."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


class AircoreMockError(Exception):
    """Base class of every error aircore-mock raises on purpose."""


class UsageError(AircoreMockError, ValueError):
    """An argument the caller gave cannot be used (unknown scenario, bad override, ...)."""


def number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    integer: bool = False,
) -> float:
    """`value` checked at a library boundary: a finite number (an int when `integer`), at
    least `low`, more than `above`, at most `high`; else a `UsageError` that names it."""
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        wanted = "an integer" if integer else "a number"
        raise UsageError(f"{name} must be {wanted}, got {type(value).__name__}")
    if not math.isfinite(value):
        raise UsageError(f"{name} must be finite, got {value}")
    if low is not None and value < low:
        bound = "must not be negative" if low == 0 else f"must be at least {low:g}"
        raise UsageError(f"{name} {bound}, got {value}")
    if above is not None and not value > above:
        bound = "must be positive" if above == 0 else f"must be more than {above:g}"
        raise UsageError(f"{name} {bound}, got {value}")
    if high is not None and value > high:
        raise UsageError(f"{name} must be at most {high:g}, got {value}")
    return value


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
