"""aircore-mock: Aircore cloud-recording callbacks on demand, and proof that a receiver copes."""

from __future__ import annotations

from ._exceptions import AircoreMockError, InputError, Problem, UsageError, ValidationError
from ._schemas import callback_types, get_schema, schema_dir, schema_names
from ._validation import checker, explain, is_valid, iter_errors, validate
from ._version import __version__

__all__ = [
    "AircoreMockError",
    "InputError",
    "Problem",
    "UsageError",
    "ValidationError",
    "__version__",
    "callback_types",
    "checker",
    "explain",
    "get_schema",
    "is_valid",
    "iter_errors",
    "schema_dir",
    "schema_names",
    "validate",
]
