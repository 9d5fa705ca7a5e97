"""aircore-mock: Aircore cloud-recording callbacks on demand, and proof that a receiver copes.

The public names are listed once, in `_PUBLIC`: each maps to the module that defines it, and
is imported on first use, so that `validate` and the pytest plugin stay quick to start
(generation pulls in Faker, sending aiohttp, the capture server Starlette).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .capture import Capture, CaptureStore, Forwarded, Receiver, WaitTimeout
    from .captured import Captured, Selection, read_captured
    from .contract import (
        AircoreContractWarning,
        ClauseResult,
        ContractReport,
        ContractSession,
        check_receiver,
    )
    from .errors import AircoreMockError, InputError, Problem, UsageError, ValidationError
    from .fake import FakeAircore, LocalS3, S3Config, mock_aircore
    from .files import read_callbacks, write_callbacks
    from .generation import (
        AWS_REGIONS,
        BAD_REGIONS,
        UPLOAD_FAILURES,
        AircoreProvider,
        BadRegion,
        Fault,
        Generator,
        Outcome,
        Region,
        Scenario,
        UploadFailure,
        parse_pins,
    )
    from .generation import catalogue as scenarios
    from .generation import resolve as resolve_scenario
    from .model import Callback, Delivery, Lifecycle, Recording, lifecycle, recording_id
    from .results import DeliveryOutcome, Report, Result
    from .schemas import callback_types, get_schema, schema_dir, schema_names
    from .seeds import new_seed
    from .sending import AsyncSender, ScriptedReply, ScriptedTransport, Sender, send
    from .server import AppServer, Limits
    from .validation import checker, explain, is_valid, iter_errors, undocumented, validate

# name -> "module" or ("module", "attribute in it")
_PUBLIC: dict[str, str | tuple[str, str]] = {
    # errors
    "AircoreMockError": "errors",
    "InputError": "errors",
    "Problem": "errors",
    "UsageError": "errors",
    "ValidationError": "errors",
    # schemas and validation
    "callback_types": "schemas",
    "get_schema": "schemas",
    "schema_dir": "schemas",
    "schema_names": "schemas",
    "checker": "validation",
    "explain": "validation",
    "is_valid": "validation",
    "iter_errors": "validation",
    "undocumented": "validation",
    "validate": "validation",
    # the model
    "Callback": "model",
    "Delivery": "model",
    "DeliveryOutcome": "results",
    "Lifecycle": "model",
    "Recording": "model",
    "Report": "results",
    "Result": "results",
    "lifecycle": "model",
    "new_seed": "seeds",
    "recording_id": "model",
    # reading and writing callbacks
    "read_callbacks": "files",
    "write_callbacks": "files",
    # generation
    "AWS_REGIONS": "generation",
    "BAD_REGIONS": "generation",
    "UPLOAD_FAILURES": "generation",
    "AircoreProvider": "generation",
    "BadRegion": "generation",
    "Fault": "generation",
    "Generator": "generation",
    "Outcome": "generation",
    "Region": "generation",
    "Scenario": "generation",
    "UploadFailure": "generation",
    "parse_pins": "generation",
    "resolve_scenario": ("generation", "resolve"),
    "scenarios": ("generation", "catalogue"),
    # sending
    "AsyncSender": "sending",
    "Sender": "sending",
    "send": "sending",
    # a transport of scripted answers, to test what a send does without a receiver
    "ScriptedReply": "sending",
    "ScriptedTransport": "sending",
    # serving any ASGI app (a receiver, a backend under test) with the servers' limits
    "AppServer": "server",
    "Limits": "server",
    # capture
    "Capture": "capture",
    "CaptureStore": "capture",
    "Receiver": "capture",
    "WaitTimeout": "capture",
    "Forwarded": "capture",
    # what was captured, read back (send --from, validate, replay)
    "Captured": "captured",
    "Selection": "captured",
    "read_captured": "captured",
    # the fake recording API
    "FakeAircore": "fake",
    "LocalS3": "fake",
    "S3Config": "fake",
    "mock_aircore": "fake",
    # the contract
    "AircoreContractWarning": "contract",
    "ClauseResult": "contract",
    "ContractReport": "contract",
    "ContractSession": "contract",
    "check_receiver": "contract",
}


def __getattr__(name: str) -> Any:
    target = _PUBLIC.get(name)
    if target is None:
        raise AttributeError(f"module 'aircore_mock' has no attribute {name!r}")
    module, attribute = target if isinstance(target, tuple) else (target, name)
    value = getattr(importlib.import_module(f"aircore_mock.{module}"), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = sorted([*_PUBLIC, "__version__"])
