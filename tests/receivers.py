"""Receivers for contract tests: a correct one, and the same code with one planted defect.

Each defect is a mistake a receiver's author could plausibly make.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

EVENTS = ("recording-started", "recording-stopped", "recording-uploaded", "recording-upload-failed")
REASONS = ("allPublishersLeft", "clientStopped", "serverError")
DOCUMENTED = {"event", "timestamp", "recording"}
DOCUMENTED_RECORDING = {"url", "state", "startTime", "elapsedTime", "reason", "location"}
RANK = {
    "recording-started": 0,
    "recording-stopped": 1,
    "recording-uploaded": 2,
    "recording-upload-failed": 2,
}

# One defect per clause: each must fail exactly that clause's test.
DEFECTS: dict[str, str] = {
    "slow": "test_answers_in_time",
    "uploads-lost-after-server-error": "test_accepts_lifecycles",
    "forbid-unknown-fields": "test_forward_compatible",
    "upload-needs-stop": "test_tolerates_out_of_order",
    "crash-on-non-json": "test_handles_malformed_input",
    # Widened and new clauses (issue 10).
    "divides-by-elapsed": "test_accepts_every_value",
    "conflict-on-restamped-retry": "test_redeliveries",
    "rejects-late-redelivery": "test_redeliveries",
    "not-concurrency-safe": "test_concurrent_deliveries",
    "crash-on-new-event": "test_forward_compatible",
    "recursion-on-deep-json": "test_handles_malformed_input",
    # Written from today's docs: a 4xx for a stop reason or state Aircore adds later loses
    # that recording's stop or upload (issue 19: forward compatibility with teeth).
    "rejects-new-values": "test_forward_compatible",
    "trusts-field-types": "test_handles_malformed_input",
    # The coverage phase's edges (issue 19): each is met only there.
    "address-column-2048": "test_accepts_every_value",
    "start-in-int32-seconds": "test_accepts_every_value",
    # The delivery patterns (issue 19).
    "duplicate-race": "test_idempotent_duplicates",
}

# Mistakes of our own invention that break more than one clause: each must fail at least
# these tests, and never the timing or malformed-input ones.
MORE_DEFECTS: dict[str, set[str]] = {
    # Servers' clocks differ: Aircore's own example is stamped before its start; the search
    # stamps callbacks minutes either side too.
    "rejects-clock-skew": {"test_accepts_every_callback", "test_accepts_every_value"},
    # A redelivery is a duplicate too.
    "unique-per-event": {"test_idempotent_duplicates", "test_redeliveries"},
    # Written from the docs' list of three callbacks in an older version of the page.
    "only-three-events": {"test_accepts_every_callback", "test_accepts_lifecycles"},
    # Aircore's documented examples form one lifecycle, so they catch it too.
    "rate-from-started": {"test_accepts_every_callback", "test_accepts_lifecycles"},
    # A VARCHAR(120) for the S3 message: the bad-region message is longer.
    "reason-column-too-short": {"test_accepts_every_callback", "test_accepts_lifecycles"},
    # Tested with one bucket in us-east-1 only.
    "us-east-1-only": {"test_accepts_every_callback", "test_accepts_lifecycles"},
    # Accepts only the exact header its author's client sent: every `; charset=utf-8` fails.
    "exact-content-type": {
        "test_accepts_every_callback",
        "test_accepts_lifecycles",
        "test_accepts_every_value",
    },
}

MORE_DEFECTS["unique-event-and-timestamp"] = {
    # "unique (event, timestamp)": met by the coverage phase's same-millisecond row and by
    # concurrent-deliveries' recordings stamped in one millisecond (issue 19).
    "test_accepts_every_value",
    "test_concurrent_deliveries",
    "test_handles_malformed_input",  # several malformed bodies carry one timestamp
}

# Allowed but doubtful: each must warn (not fail) in exactly this test.
WARNING_DEFECTS: dict[str, str] = {
    # A 4xx for an event type Aircore adds later: the callback is dropped, but no recording
    # the receiver knows of loses anything.
    "rejects-new-event-types": "test_forward_compatible",
}

# What a receiver keeps of a recording, wrong after some delivery orders only: each must fail
# `converges` (given the receiver's state) and nothing else (issue 19, item 6).
STATE_DEFECTS: dict[str, str] = {
    # "the latest callback wins": an upload before its stop leaves the recording "stopped"
    "state-moves-backwards": "out of order",
    # a delivery counter in the row: a retry of a callback it already had counts twice
    "counts-deliveries": "duplicate",
}

_INTEGER_FIELDS = ("startTime", "elapsedTime")


def receiver_state(app: Starlette) -> Any:
    """`state(recording_url)` of a `make_receiver` app: its row, as plain data, or None."""

    def state(recording_url: str) -> Any:
        row = app.state.store.get(recording_url)
        if row is None:
            return None
        return {**row, "events": sorted(row["events"])}

    return state


def receiver_probe(app: Starlette) -> Any:
    """A probe of a `make_receiver` app: the row holds every callback and the furthest stage."""

    def probe(recording_url: str, callbacks: list[dict[str, Any]]) -> None:
        row = app.state.store[recording_url]
        assert row["events"] == {c["event"] for c in callbacks}, row["events"]
        assert row["rank"] == RANK[callbacks[-1]["event"]], f"stage {row['rank']}"

    return probe


def _types_wrong(payload: dict[str, Any], recording: dict[str, Any]) -> str | None:
    """Why the documented fields do not have their documented JSON types, or None."""

    def integer(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63

    if not integer(payload.get("timestamp")):
        return "timestamp is not an epoch-ms integer"
    for name in _INTEGER_FIELDS:
        if not integer(recording.get(name)):
            return f"recording.{name} is not a non-negative integer"
    if not str(recording.get("url")).startswith(("http://", "https://")):
        return "recording.url is not an http(s) URL"
    if not isinstance(recording.get("state"), str):
        return "recording.state is not a string"
    if "reason" in recording and not isinstance(recording["reason"], str):
        return "recording.reason is not a string"
    location = recording.get("location")
    if payload["event"] == "recording-uploaded" and (
        not isinstance(location, dict)
        or not str(location.get("address")).startswith("https://")
        or not isinstance(location.get("region"), str)
    ):
        return "recording.location is not an object of strings"
    return None


def make_receiver(defect: str | None = None, delay: float = 1.0, ok: int = 204) -> Starlette:
    """The receiver, with one planted `defect` (or none); `ok` is the status of its accepting
    answers (204 with no body; any other with a small JSON body)."""

    def accepted() -> Response:
        if ok == 204:
            return Response(status_code=204)
        return JSONResponse({"ok": True}, ok)

    store: dict[str, dict[str, Any]] = {}
    retries: dict[tuple[str, str], int] = {}
    busy = [False]
    stamps: dict[tuple[str, Any], str] = {}
    in_flight: set[tuple[str, str]] = set()

    async def callback(request: Request) -> Response:
        if defect == "exact-content-type" and request.headers.get("content-type") != (
            "application/json"
        ):
            return JSONResponse({"error": "expected application/json"}, 415)
        if defect == "not-concurrency-safe":
            # One shared connection, used without a lock: a second request meets it in use.
            if busy[0]:
                raise RuntimeError("database is locked")
            busy[0] = True
            try:
                await asyncio.sleep(0.005)
                return await handle(request)
            finally:
                busy[0] = False
        return await handle(request)

    async def handle(request: Request) -> Response:
        if defect == "slow":
            await asyncio.sleep(delay)
        body = await request.body()
        if defect == "crash-on-non-json":
            payload = json.loads(body)  # raises on a bad body: a 500
        else:
            try:
                payload = json.loads(body)
            except ValueError:
                return JSONResponse({"error": "not JSON"}, 400)
            except RecursionError:
                if defect == "recursion-on-deep-json":
                    raise  # json.loads recurses once per level: a deep body is a 500
                return JSONResponse({"error": "nested too deep"}, 400)
        recording = payload.get("recording") if isinstance(payload, dict) else None
        if (
            not isinstance(recording, dict)
            or not isinstance(payload.get("event"), str)
            or not isinstance(recording.get("url"), str)
        ):
            return JSONResponse({"error": "not an Aircore callback"}, 400)
        event, url = payload["event"], recording["url"]
        if defect == "trusts-field-types" and event in EVENTS:
            # Stores the times as they come: int() of a null, a list or an object raises.
            _ = int(recording["startTime"]) + int(recording["elapsedTime"])
        if defect == "crash-on-new-event":
            _ = RANK[event]  # a KeyError (a 500) for an event type Aircore adds later
        if defect == "rejects-new-values" and (
            event not in EVENTS
            or (event == "recording-stopped" and recording.get("reason") not in REASONS)
        ):
            return JSONResponse({"error": "unknown event or stop reason"}, 422)
        if defect == "rejects-new-event-types" and event not in EVENTS:
            return JSONResponse({"error": "unknown event"}, 422)
        if event not in EVENTS:
            return accepted()  # an event type Aircore added: acknowledged
        if event == "recording-stopped" and not isinstance(recording.get("reason"), str):
            return JSONResponse({"error": "stop reason is not a string"}, 422)
        wrong = _types_wrong(payload, recording)
        if wrong is not None and defect != "trusts-field-types":
            return JSONResponse({"error": wrong}, 422)
        if defect == "divides-by-elapsed" and RANK[event] >= 1:
            # kilobytes a second, for the dashboard: a zero-length recording divides by zero
            _ = 1_000_000 // recording["elapsedTime"]
        if defect == "forbid-unknown-fields" and (
            set(payload) - DOCUMENTED
            or set(recording) - DOCUMENTED_RECORDING
            or set(recording.get("location") or {}) - {"address", "region"}
        ):
            return JSONResponse({"error": "extra fields not permitted"}, 422)
        if defect == "only-three-events" and event == "recording-upload-failed":
            return JSONResponse({"error": "unknown event"}, 422)
        if defect == "rejects-clock-skew" and payload.get("timestamp", 0) < recording.get(
            "startTime", 0
        ):
            # servers' clocks differ: Aircore's own example is stamped before its start
            return JSONResponse({"error": "timestamp before startTime"}, 400)
        if (
            defect == "us-east-1-only"
            and event == "recording-uploaded"
            and (recording["location"]["region"] != "us-east-1")
        ):
            return JSONResponse({"error": "bucket region not configured"}, 400)
        if (
            defect == "reason-column-too-short"
            and event == "recording-upload-failed"
            and (len(recording["reason"]) > 120)
        ):
            raise ValueError("value too long for type character varying(120)")
        if (
            defect == "address-column-2048"
            and len(str((recording.get("location") or {}).get("address"))) > 2048
        ):
            raise ValueError("value too long for type character varying(2048)")
        if defect == "start-in-int32-seconds" and recording["startTime"] // 1000 >= 2**31:
            raise OverflowError("startTime does not fit a 32-bit count of seconds")
        if defect == "unique-event-and-timestamp":
            # "unique (event, timestamp)": its author thought a millisecond names a callback
            key = (event, payload["timestamp"])
            if stamps.setdefault(key, url) != url:
                raise RuntimeError("UNIQUE constraint failed: callbacks.event, callbacks.timestamp")
        if defect == "duplicate-race" and event == "recording-started":
            # check-then-insert without a transaction: a retry while the first is in flight
            # finds no row, then both insert
            if (url, event) in in_flight:
                raise RuntimeError("UNIQUE constraint failed: callbacks.url, callbacks.event")
            in_flight.add((url, event))
            try:
                await asyncio.sleep(0.05)
            finally:
                in_flight.discard((url, event))
        row = store.get(url)
        stamp = retries.setdefault((url, event), payload["timestamp"])
        if defect == "conflict-on-restamped-retry" and stamp != payload["timestamp"]:
            # "on conflict (url, event, timestamp) do nothing", but unique on (url, event)
            raise RuntimeError("UNIQUE constraint failed: callbacks.url, callbacks.event")
        if defect == "rejects-late-redelivery" and row is not None and RANK[event] < row["rank"]:
            return JSONResponse({"error": "recording has moved on"}, 409)
        if defect == "unique-per-event" and row is not None and event in row["events"]:
            raise RuntimeError("UNIQUE constraint failed: callbacks.url, callbacks.event")
        if (
            defect == "upload-needs-stop"
            and row is not None
            and RANK[event] == 2
            and (row["rank"] < 1)
        ):
            raise RuntimeError("upload before stop: no duration to store")
        if (
            defect == "uploads-lost-after-server-error"
            and event == "recording-uploaded"
            and (row is not None and row.get("reason") == "serverError")
        ):
            # the author assumed a server error loses the recording
            return JSONResponse({"error": "recording was lost"}, 409)
        if defect == "rate-from-started" and event == "recording-stopped" and row is not None:
            # bytes per ms since the start: the started callback's elapsedTime is 0
            _ = 1_000_000 // row["elapsed"]
        if row is None:
            row = store[url] = {"events": set(), "rank": -1, "elapsed": 0}
        row["events"].add(event)
        if defect == "counts-deliveries":
            row["deliveries"] = row.get("deliveries", 0) + 1
        if event == "recording-stopped":
            row["reason"] = recording.get("reason")
        # never move a recording's state backwards (unless that is the planted defect)
        if RANK[event] >= row["rank"] or defect == "state-moves-backwards":
            row["rank"] = RANK[event]
            row["elapsed"] = recording.get("elapsedTime", 0)
        return accepted()

    app = Starlette(routes=[Route("/aircore", callback, methods=["POST"])])
    app.state.store = store
    return app
