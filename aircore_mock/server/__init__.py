"""What every server of the project shares: `Limits` and `Refusals`, the listening socket and
its lifecycle (`ListeningServer`), `AppServer` (any ASGI app on uvicorn with httptools and a
guarded protocol), the output writer that keeps a server's loop off slow readers
(`LineWriter`) and the JSONL log (`JsonlLog`)."""

from __future__ import annotations

from .appserver import AppServer, guarded_protocol
from .limits import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    MAX_CONNECTIONS,
    MAX_HEAD,
    DeadlineSweeper,
    HeadCount,
    Limits,
    Refusals,
    ServedSummary,
    accept_burst,
    default_max_connections,
)
from .listening import ListeningServer, bind, normalize_path, quiet_accept_errors
from .log import JsonlLog
from .output import (
    LineWriter,
    WriterHandler,
    route_server_logs,
    server_logs_routed,
    unroute_server_logs,
)

__all__ = [
    "BODY_TIMEOUT",
    "HEADER_TIMEOUT",
    "MAX_CONNECTIONS",
    "MAX_HEAD",
    "AppServer",
    "DeadlineSweeper",
    "HeadCount",
    "JsonlLog",
    "Limits",
    "LineWriter",
    "ListeningServer",
    "Refusals",
    "ServedSummary",
    "WriterHandler",
    "accept_burst",
    "bind",
    "default_max_connections",
    "guarded_protocol",
    "normalize_path",
    "quiet_accept_errors",
    "route_server_logs",
    "server_logs_routed",
    "unroute_server_logs",
]
