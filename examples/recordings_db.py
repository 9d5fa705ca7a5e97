"""What a receiver of Aircore recording callbacks stores, in SQLite, shared by both examples.

The rules a correct receiver follows:
- a callback for a recording it has not seen yet is fine (it may race the start response);
- the same callback twice changes nothing (idempotent upserts);
- state never moves backwards: a late recording-stopped does not undo recording-uploaded;
- undocumented fields are ignored, not rejected (Aircore may add fields); so are event types
  Aircore may add (acknowledged, not stored), and a new stop reason is stored as it comes;
- a body that is not a callback is answered 400 (Aircore should not retry it).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

# The order a recording moves through; the upload outcomes are both final.
RANK = {
    "recording-started": 0,
    "recording-stopped": 1,
    "recording-uploaded": 2,
    "recording-upload-failed": 2,
}
STATE = {
    "recording-started": "recording",
    "recording-stopped": "stopped",
    "recording-uploaded": "uploaded",
    "recording-upload-failed": "upload-failed",
}

SCHEMA = """
create table if not exists recordings (
    url text primary key,
    state text not null,
    rank integer not null,
    start_time integer,
    elapsed_ms integer,
    stop_reason text,
    address text,
    region text,
    failure_reason text,
    updated_at integer
)
"""


class BadCallback(ValueError):
    """The body is not an Aircore callback; `status` is what to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def parse(body: bytes) -> dict[str, Any]:
    """The callback in `body`, or BadCallback saying why not."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadCallback(400, "body is not JSON") from None
    except RecursionError:  # json.loads recurses once per level of nesting
        raise BadCallback(400, "body is nested too deep") from None
    recording = payload.get("recording") if isinstance(payload, dict) else None
    if not isinstance(recording, dict) or not isinstance(recording.get("url"), str):
        raise BadCallback(400, "not an Aircore callback: no recording.url")
    if not isinstance(payload.get("event"), str):
        raise BadCallback(400, "not an Aircore callback: no event")
    if payload["event"] == "recording-stopped" and not isinstance(recording.get("reason"), str):
        raise BadCallback(422, f"stop reason is not a string: {recording.get('reason')!r}")
    problem = _wrong_type(payload, recording)
    if problem is not None:
        raise BadCallback(422, problem)
    return payload


def _epoch_ms(value: Any) -> bool:
    # What SQLite's INTEGER holds (a bigger number would raise OverflowError, a 500).
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _wrong_type(payload: dict[str, Any], recording: dict[str, Any]) -> str | None:
    """Why a documented field does not have the JSON type Aircore documents, or None."""
    if not recording["url"].startswith(("http://", "https://")):
        return "recording.url is not an http(s) URL"
    if not _epoch_ms(payload.get("timestamp")):
        return "timestamp is not an epoch-millisecond integer"
    for name in ("startTime", "elapsedTime"):
        if not _epoch_ms(recording.get(name)):
            return f"recording.{name} is not a non-negative integer"
    if not isinstance(recording.get("state"), str):
        return "recording.state is not a string"
    if "reason" in recording and not isinstance(recording["reason"], str):
        return "recording.reason is not a string"
    if payload["event"] == "recording-uploaded":
        location = recording.get("location")
        if not isinstance(location, dict) or not all(
            isinstance(location.get(k), str) for k in ("address", "region")
        ):
            return "recording.location needs address and region strings"
        if not location["address"].startswith(("http://", "https://")):
            return "recording.location.address is not an http(s) URL"
    return None


class RecordingsDB:
    """Recording state in SQLite (thread-safe: one connection behind a lock)."""

    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(SCHEMA)

    def apply(self, callback: dict[str, Any]) -> None:
        """Record a callback; idempotent, and never moves a recording's state backwards."""
        event, recording = callback["event"], callback["recording"]
        if event not in RANK:
            return  # an event type Aircore added after this was written: nothing to store
        location = recording.get("location") or {}
        reason = recording.get("reason")
        row = {
            "url": recording["url"],
            "state": STATE[event],
            "rank": RANK[event],
            "start_time": recording.get("startTime"),
            "elapsed_ms": recording.get("elapsedTime"),
            "stop_reason": reason if event == "recording-stopped" else None,
            "address": location.get("address"),
            "region": location.get("region"),
            "failure_reason": reason if event == "recording-upload-failed" else None,
            "updated_at": callback.get("timestamp"),
        }
        with self._lock, self._db:
            self._db.execute(
                """
                insert into recordings values (:url, :state, :rank, :start_time, :elapsed_ms,
                    :stop_reason, :address, :region, :failure_reason, :updated_at)
                on conflict(url) do update set
                    state = case when excluded.rank >= rank then excluded.state else state end,
                    rank = max(rank, excluded.rank),
                    start_time = coalesce(start_time, excluded.start_time),
                    elapsed_ms = max(coalesce(elapsed_ms, 0), coalesce(excluded.elapsed_ms, 0)),
                    stop_reason = coalesce(excluded.stop_reason, stop_reason),
                    address = coalesce(excluded.address, address),
                    region = coalesce(excluded.region, region),
                    failure_reason = coalesce(excluded.failure_reason, failure_reason),
                    updated_at = max(coalesce(updated_at, 0), coalesce(excluded.updated_at, 0))
                """,
                row,
            )

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def get(self, url: str) -> dict[str, Any] | None:
        """One recording's row, or None."""
        with self._lock:
            found = self._db.execute("select * from recordings where url = ?", (url,)).fetchone()
        return dict(found) if found is not None else None
