"""A stateful fake of Aircore's recording API that sends the callbacks back (`serve`).

Layers, as in moto: `FakeBackend` (the resettable state, plain thread-safe Python), the
Starlette app over it (`fake_app`), the dispatcher that sends callbacks through the engine
on the server's loop, and `FakeAircore`, which puts them together in-process or as a server.
"""

from __future__ import annotations

from .app import CONTROL, MAX_BODY, fake_app
from .backend import (
    INJECTABLE,
    ApiError,
    ApiRecording,
    CallbackTimeout,
    FakeBackend,
    FakeSummary,
    Injection,
    JournalEntry,
    RetryPolicy,
    SentCallback,
)
from .clock import CLOCK_MODES, Clock, ClockMode
from .intercept import AIRCORE_HOST, mock_aircore
from .request import REDACTED, REQUEST_SCHEMA, check_request
from .service import IN_PROCESS_URL, FakeAircore
from .storage import Credentials, LocalS3, S3Config

__all__ = [
    "AIRCORE_HOST",
    "CLOCK_MODES",
    "CONTROL",
    "INJECTABLE",
    "IN_PROCESS_URL",
    "MAX_BODY",
    "REDACTED",
    "REQUEST_SCHEMA",
    "ApiError",
    "ApiRecording",
    "CallbackTimeout",
    "Clock",
    "ClockMode",
    "Credentials",
    "FakeAircore",
    "FakeBackend",
    "FakeSummary",
    "Injection",
    "JournalEntry",
    "LocalS3",
    "RetryPolicy",
    "S3Config",
    "SentCallback",
    "check_request",
    "fake_app",
    "mock_aircore",
]
