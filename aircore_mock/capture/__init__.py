"""The capture server (`aircore-mock receive`, the `aircore_receiver` fixture).

Three layers: a resettable `CaptureStore` (the state), `CaptureRules` (what the endpoint
answers and files) with two faces, `capture_app` (ASGI, for in-process use) and
`CaptureServer` (its own HTTP protocol on httptools, with the shared `Limits`). `Receiver`
puts them together with the JSONL log; `forward` passes callbacks on to an app
(`--forward-to`), `inspector` serves the page (`--ui`), `resume` reads a log back.
"""

from __future__ import annotations

from .endpoint import CaptureRules, capture_app
from .protocol import CaptureServer
from .receiver import MIB, Receiver
from .store import Capture, CaptureStore, CaptureSummary, Forwarded, WaitTimeout

__all__ = [
    "MIB",
    "Capture",
    "CaptureRules",
    "CaptureServer",
    "CaptureStore",
    "CaptureSummary",
    "Forwarded",
    "Receiver",
    "WaitTimeout",
    "capture_app",
]
