"""The data model: Aircore's callbacks and lifecycle, a recording, and a delivery to make.

Which callback plays which part of a recording's life is said here, once, in Aircore's words;
everything else (stop reasons, the fields each callback carries) is read from the schemas,
and `lifecycle()` fails loudly if the schemas and this module disagree. What happened to a
delivery lives in `results`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import schemas

Callback = dict[str, Any]
"""A callback payload: a plain JSON-ready dict."""

# --- the lifecycle ----------------------------------------------------------------------

STARTED = "recording-started"
STOPPED = "recording-stopped"
UPLOADED = "recording-uploaded"
UPLOAD_FAILED = "recording-upload-failed"


@dataclass(frozen=True)
class Lifecycle:
    """The callback types in the order Aircore sends them, and the documented stop reasons."""

    started: str
    stopped: str
    uploaded: str
    upload_failed: str
    stop_reasons: tuple[str, ...]


@functools.cache
def lifecycle() -> Lifecycle:
    """The lifecycle, checked against the shipped schemas (their union lists the same types)."""
    declared = (STARTED, STOPPED, UPLOADED, UPLOAD_FAILED)
    shipped = schemas.callback_types()
    if set(shipped) != set(declared):
        raise RuntimeError(f"the schemas list callback types {shipped}, the model {declared}")
    reason = next((f for f in schemas.iter_fields(STOPPED) if f.dotted == "recording.reason"), None)
    if reason is None or not reason.enum:
        raise RuntimeError(f"the {STOPPED} schema lists no stop reasons (recording.reason enum)")
    return Lifecycle(STARTED, STOPPED, UPLOADED, UPLOAD_FAILED, tuple(reason.enum))


# --- recording URLs ---------------------------------------------------------------------

_RECORDING_URL = re.compile(
    r"^https?://vandenberg-(?P<instance>i-[0-9a-f]+)-(?P<region>[a-z0-9-]+?)"
    r"\.prod\.airtime\.com(?::\d+)?/recording/(?P<id>[^/?#]+)$"
)


def parse_recording_url(url: str) -> dict[str, str] | None:
    """Instance id, server region and recording id of an Aircore recording URL, if it is one."""
    match = _RECORDING_URL.match(url)
    return match.groupdict() if match else None


def recording_id(url: Any) -> str:
    """The recording id: the last path segment of a recording URL (it names the file).

    Anything that is not a string (a malformed callback) gives `-`.
    """
    if not isinstance(url, str) or not url:
        return "-"
    return url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "-"


# --- the four callbacks -----------------------------------------------------------------


def started(url: str, start_time: int, *, timestamp: int | None = None) -> Callback:
    """A `recording-started` callback."""
    return {
        "event": STARTED,
        "timestamp": start_time if timestamp is None else timestamp,
        "recording": {"url": url, "state": "started", "startTime": start_time, "elapsedTime": 0},
    }


def stopped(url: str, start_time: int, elapsed: int, reason: str, *, timestamp: int) -> Callback:
    """A `recording-stopped` callback: `reason` is one of the documented stop reasons."""
    return {
        "event": STOPPED,
        "timestamp": timestamp,
        "recording": {
            "url": url,
            "state": "stopped",
            "startTime": start_time,
            "elapsedTime": elapsed,
            "reason": reason,
        },
    }


def uploaded(
    url: str, start_time: int, elapsed: int, address: str, region: str, *, timestamp: int
) -> Callback:
    """A `recording-uploaded` callback: where the file landed in S3."""
    return {
        "event": UPLOADED,
        "timestamp": timestamp,
        "recording": {
            "url": url,
            "state": "stopped",
            "startTime": start_time,
            "elapsedTime": elapsed,
            "location": {"address": address, "region": region},
        },
    }


def upload_failed(
    url: str, start_time: int, elapsed: int, reason: str, *, timestamp: int
) -> Callback:
    """A `recording-upload-failed` callback: `reason` is the S3 client's error message."""
    return {
        "event": UPLOAD_FAILED,
        "timestamp": timestamp,
        "recording": {
            "url": url,
            "state": "stopped",
            "startTime": start_time,
            "elapsedTime": elapsed,
            "reason": reason,
        },
    }


@dataclass
class Recording:
    """One recording's lifecycle: started, stopped for a reason, then uploaded or not."""

    url: str
    start_time: int
    duration: int | None
    """Milliseconds recorded; None while it is still in progress."""
    stop_reason: str | None
    region: str
    bucket: str
    filename: str
    upload_delay: int
    address: str | None = None
    """The upload address when the upload succeeds."""
    failure: Any = None
    """The catalogue's `UploadFailure` when the upload fails."""
    failure_reason: str | None = None
    """The S3 client's message when the upload fails."""

    @property
    def recording_id(self) -> str:
        return recording_id(self.url)

    @property
    def outcome(self) -> str:
        """`in-progress`, `uploaded`, `upload-failed` or `stopped` (no upload callback)."""
        if self.duration is None:
            return "in-progress"
        if self.address is not None:
            return "uploaded"
        return "upload-failed" if self.failure_reason is not None else "stopped"

    def callbacks(self) -> list[Callback]:
        """The callbacks Aircore sends for this recording, in the order it sends them."""
        out = [started(self.url, self.start_time)]
        if self.duration is None:
            return out
        stopped_at = self.start_time + self.duration
        assert self.stop_reason is not None
        out.append(
            stopped(
                self.url, self.start_time, self.duration, self.stop_reason, timestamp=stopped_at
            )
        )
        at = stopped_at + self.upload_delay
        if self.address is not None:
            out.append(
                uploaded(
                    self.url,
                    self.start_time,
                    self.duration,
                    self.address,
                    self.region,
                    timestamp=at,
                )
            )
        elif self.failure_reason is not None:
            out.append(
                upload_failed(
                    self.url, self.start_time, self.duration, self.failure_reason, timestamp=at
                )
            )
        return out


class Delivery(NamedTuple):
    """One POST to make: the callback, its recording, when (ms into the run) and any fault."""

    callback: Callback
    recording_url: str
    offset_ms: int
    quirk: str | None = None
