"""A `receive --log` read back into captures (`receive --resume`): the page opened after a
restart shows the history as it was judged then."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import orjson

from ..errors import InputError, Problem
from .store import Capture, Forwarded


def _bytes(record: dict[str, Any], text: str, encoded: str) -> bytes:
    if isinstance(record.get(encoded), str):
        return base64.b64decode(record[encoded], validate=True)
    value = record.get(text)
    return value.encode("utf-8") if isinstance(value, str) else b""


def _capture(record: dict[str, Any]) -> Capture:
    problems = tuple(
        Problem(str(p.get("path", "")), str(p.get("message", "")), str(p.get("kind", "")))
        for p in record.get("problems") or ()
        if isinstance(p, dict)
    )
    forwarded = None
    app = record.get("forwarded")
    if isinstance(app, dict):
        forwarded = Forwarded(
            app.get("status"),
            float(app.get("latency_ms") or 0.0),
            dict(app.get("headers") or {}),
            _bytes(app, "body", "body_base64"),
            app.get("error"),
        )
    return Capture(
        int(record["seq"]),
        float(record.get("received_at") or 0.0),
        str(record.get("method", "POST")),
        str(record.get("path", "/")),
        {str(k): str(v) for k, v in (record.get("headers") or {}).items()},
        _bytes(record, "body", "body_base64"),
        int(record.get("status") or 0),
        str(record.get("verdict")),
        record.get("payload"),
        problems,
        record.get("event") if isinstance(record.get("event"), str) else None,
        record.get("recording_url") if isinstance(record.get("recording_url"), str) else None,
        bool(record.get("out_of_order")),
        bool(record.get("duplicate")),
        tuple(record.get("undocumented") or ()),
        forwarded,
    )


def read_log(path: str | Path) -> list[Capture]:
    """Every request a `receive --log` holds, as captures; none when the file does not exist
    yet. An `InputError` names a line that is not one of its records."""
    path = Path(path)
    if not path.exists():
        return []
    captures: list[Capture] = []
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read log {path}: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                captures.append(_capture(record))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, binascii.Error):
                if not line.endswith(b"\n"):
                    break  # the last line, cut short when the server stopped: left out
                raise InputError(f"{path}:{number}: not a receive log record") from None
    return captures
