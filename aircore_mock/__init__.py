"""aircore-mock: Aircore cloud-recording callbacks on demand, and proof that a receiver copes."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._exceptions import AircoreMockError, InputError, Problem, UsageError, ValidationError
from ._schemas import callback_types, get_schema, schema_dir, schema_names
from ._validation import checker, explain, is_valid, iter_errors, undocumented, validate
from ._version import __version__

if TYPE_CHECKING:
    from ._catalogue import (
        AWS_REGIONS,
        BAD_REGIONS,
        UPLOAD_FAILURES,
        BadRegion,
        Region,
        UploadFailure,
    )
    from ._contract import AircoreContractWarning, ClauseResult, ContractReport, check_receiver
    from ._generator import Callback, Delivery, Generator, Recording, parse_pins
    from ._providers import AircoreProvider
    from ._receiver import Capture, Receiver, WaitTimeout
    from ._scenarios import Fault, Outcome, Scenario
    from ._scenarios import catalogue as scenarios
    from ._scenarios import resolve as resolve_scenario
    from ._sender import Report, Result, Sender, send
    from ._server import AppServer

# Generation pulls in Faker (~90 ms); load it on first use so that `validate` and the
# pytest plugin stay quick to start.
_LAZY = {
    "AWS_REGIONS": "_catalogue",
    "BAD_REGIONS": "_catalogue",
    "UPLOAD_FAILURES": "_catalogue",
    "BadRegion": "_catalogue",
    "Region": "_catalogue",
    "UploadFailure": "_catalogue",
    "AircoreContractWarning": "_contract",
    "ClauseResult": "_contract",
    "ContractReport": "_contract",
    "check_receiver": "_contract",
    "Callback": "_generator",
    "Delivery": "_generator",
    "Generator": "_generator",
    "Recording": "_generator",
    "parse_pins": "_generator",
    "AircoreProvider": "_providers",
    "Capture": "_receiver",
    "Receiver": "_receiver",
    "WaitTimeout": "_receiver",
    "Report": "_sender",
    "Result": "_sender",
    "Sender": "_sender",
    "send": "_sender",
    "AppServer": "_server",
    "Fault": "_scenarios",
    "Outcome": "_scenarios",
    "Scenario": "_scenarios",
    "scenarios": ("_scenarios", "catalogue"),
    "resolve_scenario": ("_scenarios", "resolve"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'aircore_mock' has no attribute {name!r}")
    module, attribute = target if isinstance(target, tuple) else (target, name)
    value = getattr(importlib.import_module(f"aircore_mock.{module}"), attribute)
    globals()[name] = value
    return value


__all__ = [  # noqa: RUF022 - grouped: validation, then generation
    "AWS_REGIONS",
    "BAD_REGIONS",
    "UPLOAD_FAILURES",
    "AircoreContractWarning",
    "AircoreProvider",
    "ClauseResult",
    "ContractReport",
    "check_receiver",
    "AppServer",
    "Capture",
    "Receiver",
    "Report",
    "Result",
    "Sender",
    "WaitTimeout",
    "send",
    "BadRegion",
    "Callback",
    "Delivery",
    "Fault",
    "Generator",
    "Outcome",
    "Recording",
    "Region",
    "Scenario",
    "UploadFailure",
    "parse_pins",
    "resolve_scenario",
    "scenarios",
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
    "undocumented",
    "validate",
]
