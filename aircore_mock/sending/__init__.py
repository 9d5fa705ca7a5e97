"""Send callbacks to a receiver: one asyncio engine (`engine`), three transports (`transports`)
and a scripted one for tests (`scripted`), and the faces over them (`sender`): `AsyncSender`,
`Sender` and `send()`."""

from __future__ import annotations

from .engine import MAX_BACKOFF, MAX_RETRY_AFTER, retry_after
from .scripted import ScriptedReply, ScriptedRequest, ScriptedTransport
from .sender import AsyncSender, Sender, SendOptions, close_or_warn, send
from .targets import FRAMING_HEADERS, Kind, check_url, parse_headers, target_kind
from .transports import LIFESPAN_TIMEOUT, Answer, Transport, TransportFailure

__all__ = [
    "FRAMING_HEADERS",
    "LIFESPAN_TIMEOUT",
    "MAX_BACKOFF",
    "MAX_RETRY_AFTER",
    "Answer",
    "AsyncSender",
    "Kind",
    "ScriptedReply",
    "ScriptedRequest",
    "ScriptedTransport",
    "SendOptions",
    "Sender",
    "Transport",
    "TransportFailure",
    "check_url",
    "close_or_warn",
    "parse_headers",
    "retry_after",
    "send",
    "target_kind",
]
