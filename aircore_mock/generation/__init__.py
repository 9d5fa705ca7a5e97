"""Realistic recordings and callbacks: a Faker provider over real AWS/S3 facts, pins, scenarios."""

from __future__ import annotations

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
from .provider import AircoreProvider
from .scenarios import FAULTS, Fault, Outcome, Scenario, catalogue, outcomes, resolve

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
