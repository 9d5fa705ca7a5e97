"""Realistic recordings and callbacks: a Faker provider over real AWS/S3 facts, pins, scenarios."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .facts import (
    AWS_REGIONS,
    BAD_REGIONS,
    UPLOAD_FAILURES,
    BadRegion,
    Region,
    UploadFailure,
)
from .generator import Generator, sample_events, sample_mix
from .listing import ScenarioRow, failure_rows, scenario_rows
from .pins import parse_pins
from .scenarios import FAULTS, Fault, Outcome, Scenario, catalogue, outcomes, resolve

if TYPE_CHECKING:
    from .provider import AircoreProvider

__all__ = [
    "AWS_REGIONS",
    "BAD_REGIONS",
    "FAULTS",
    "UPLOAD_FAILURES",
    "AircoreProvider",
    "BadRegion",
    "Fault",
    "Generator",
    "Outcome",
    "Region",
    "Scenario",
    "ScenarioRow",
    "UploadFailure",
    "catalogue",
    "failure_rows",
    "outcomes",
    "parse_pins",
    "resolve",
    "sample_events",
    "sample_mix",
    "scenario_rows",
]


def __getattr__(name: str) -> Any:
    # The provider subclasses Faker's BaseProvider: loading it loads Faker (~50-90 ms), which
    # generating callbacks does not need. It loads when first asked for.
    if name == "AircoreProvider":
        from .provider import AircoreProvider

        return AircoreProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
