"""A capture server for callbacks: validates each one and checks each recording's order."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from ._exceptions import AircoreMockError, Problem, UsageError
from ._server import AppServer, normalize_path
from ._validation import checker, explain, undocumented_labels

MIB = 1024 * 1024


class WaitTimeout(AircoreMockError, TimeoutError):
    """`Receiver.wait_for` gave up: fewer callbacks arrived than expected in time."""


@dataclass(frozen=True)
class Capture:
    """One request the receiver got, what it answered and its verdict."""

    seq: int
    received_at: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    verdict: str
    """`valid`, `invalid`, `not-json`, `too-large`, `wrong-method` or `wrong-path`."""
    payload: Any = None
    problems: tuple[Problem, ...] = ()
    event: str | None = None
    recording_url: str | None = None
    out_of_order: bool = False
    duplicate: bool = False
    undocumented: tuple[str, ...] = ()

    @property
    def is_callback(self) -> bool:
        """A POST of JSON to the callback path (valid or not)."""
        return self.verdict in ("valid", "invalid")

    def line(self) -> str:
        """One human line: event, recording id, verdict."""
        event = self.event or "-"
        recording = (self.recording_url or "").rsplit("/", 1)[-1] or "-"
        text = f"{self.method} {self.path} {self.status}  {event}  {recording}  {self.verdict}"
        reason = self._detail()
        if reason:
            text += f"  ({reason})"
        if self.problems:
            text += f": {self.problems[0]}"
            if len(self.problems) > 1:
                text += f" (and {len(self.problems) - 1} more)"
        if self.out_of_order:
            text += "  [out of order]"
        if self.duplicate:
            text += "  [duplicate]"
        if self.undocumented:
            text += f"  [undocumented: {', '.join(self.undocumented)}]"
        return text

    def _detail(self) -> str:
        # What a human wants to see of a callback: why it stopped or failed, where it went.
        recording = self.payload.get("recording") if isinstance(self.payload, dict) else None
        if not isinstance(recording, dict):
            return ""
        location = recording.get("location")
        if isinstance(location, dict) and isinstance(location.get("address"), str):
            return str(location["address"])
        reason = recording.get("reason")
        if isinstance(reason, str):
            return reason if len(reason) <= 100 else reason[:97] + "..."
        return ""

    def to_json(self) -> dict[str, Any]:
        """The capture as a JSON-ready dict (the body as JSON when it is JSON)."""
        body: Any
        if self.payload is not None or self.verdict in ("valid", "invalid"):
            body = self.payload
        else:
            body = self.body[:4096].decode("utf-8", "replace")
        return {
            "seq": self.seq,
            "received_at": self.received_at,
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": body,
            "status": self.status,
            "verdict": self.verdict,
            "problems": [vars(p) for p in self.problems],
            "event": self.event,
            "recording_url": self.recording_url,
            "out_of_order": self.out_of_order,
            "duplicate": self.duplicate,
            "undocumented": list(self.undocumented),
        }


@dataclass
class _Tally:
    """What `summary()` reports, counted as requests arrive (nothing else need be kept)."""

    requests: int = 0
    callbacks: int = 0
    events: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    out_of_order: int = 0
    duplicates: int = 0
    undocumented: set[str] = field(default_factory=set)

    def add(self, capture: Capture) -> None:
        self.requests += 1
        self.verdicts[capture.verdict] += 1
        if capture.is_callback:
            self.callbacks += 1
            self.events[capture.event or "(none)"] += 1
        self.out_of_order += capture.out_of_order
        self.duplicates += capture.duplicate
        self.undocumented.update(capture.undocumented)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "callbacks": self.callbacks,
            "events": dict(self.events),
            "verdicts": dict(self.verdicts),
            "invalid": self.verdicts["invalid"],
            "out_of_order": self.out_of_order,
            "duplicates": self.duplicates,
            "undocumented_fields": sorted(self.undocumented),
        }


@dataclass
class _Lifecycle:
    events: set[str] = field(default_factory=set)
    highest: int = -1


def _ranks() -> dict[str, int]:
    from ._generator import roles

    r = roles()
    return {r.started: 0, r.stopped: 1, r.uploaded: 2, r.upload_failed: 2}


class Receiver:
    """A real HTTP server on loopback that captures and checks callbacks.

    Use as a context manager (`with Receiver() as r: ... r.url, r.callbacks,
    r.wait_for(3)`) or call `serve()` to run it in the foreground.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/",
        *,
        strict: bool = False,
        status: int = 204,
        max_body: int = MIB,
        log: str | Path | None = None,
        on_capture: Callable[[Capture], None] | None = None,
        keep: bool = True,
    ) -> None:
        if not 100 <= status <= 599:
            raise UsageError(f"status must be an HTTP status code (100-599), got {status}")
        if max_body < 1:
            raise UsageError(f"max_body must be positive, got {max_body}")
        self.host = host
        self.path = normalize_path(path)
        self.keep = keep
        """Keep every capture (`captures`, `callbacks`); off, only the counts and each
        recording's order are kept, so a long-running server does not grow."""
        self.strict = strict
        self.status = status
        self.max_body = max_body
        self.on_capture = on_capture
        self._log_path = Path(log) if log is not None else None
        self._log: IO[bytes] | None = None
        self._lock = threading.Condition()
        self._captures: list[Capture] = []
        self._tally = _Tally()
        self._lifecycles: dict[str, _Lifecycle] = {}
        self._ranks = _ranks()
        self._check = checker(strict=False)
        self._strict_check = checker(strict=True)
        self.app = self._build_app()
        """The ASGI app: usable in-process as a sender's target too."""
        self._server = AppServer(self.app, host, port, self.path)
        self.port: int = self._server.port

    @property
    def url(self) -> str:
        """Where to send callbacks: `http://127.0.0.1:<port>/<path>`."""
        return self._server.url

    # --- what arrived ---------------------------------------------------------------------

    @property
    def captures(self) -> list[Capture]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._captures)

    @property
    def callbacks(self) -> list[Any]:
        """The JSON payloads POSTed to the callback path so far, in arrival order."""
        return [c.payload for c in self.captures if c.is_callback]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Any]:
        """Block until `count` callbacks have arrived; return them, or raise `WaitTimeout`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._tally.callbacks < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeout(
                        f"{self._tally.callbacks} of {count} callbacks arrived at {self.url} "
                        f"within {timeout:g} s"
                    )
                self._lock.wait(left)
            return [c.payload for c in self._captures if c.is_callback]

    def reset(self) -> None:
        """Forget everything captured (the server keeps running)."""
        with self._lock:
            self._captures.clear()
            self._lifecycles.clear()
            self._tally = _Tally()

    def summary(self) -> dict[str, Any]:
        """Counts per event type and verdict, out-of-order, duplicates, undocumented fields."""
        with self._lock:
            return self._tally.summary()

    # --- handling a request ---------------------------------------------------------------

    def _judge(self, payload: Any) -> dict[str, Any]:
        valid = self._check(payload)
        documented = valid and self._strict_check(payload)
        if valid and not documented:
            # Every undocumented field, value and event type the default mode let through.
            undocumented = undocumented_labels(payload)
            if not self.strict:
                return {"verdict": "valid", "undocumented": undocumented}
            problems = tuple(explain(payload, strict=True))
            return {"verdict": "invalid", "problems": problems, "undocumented": undocumented}
        if valid:
            return {"verdict": "valid", "undocumented": ()}
        # One strict explanation serves twice: it names the undocumented fields, and it is
        # the list of problems when the receiver runs strict.
        strict_problems: tuple[Problem, ...] = ()
        if isinstance(payload, dict):
            strict_problems = tuple(explain(payload, strict=True))
        undocumented = tuple(p.path for p in strict_problems if p.kind == "undocumented")
        if self.strict:
            problems = strict_problems or tuple(explain(payload, strict=True))
        else:
            problems = tuple(explain(payload, strict=False))
        return {"verdict": "invalid", "problems": problems, "undocumented": undocumented}

    def _record(self, **fields: Any) -> Capture:
        with self._lock:
            payload = fields.get("payload")
            event = recording_url = None
            if isinstance(payload, dict):
                event = payload.get("event") if isinstance(payload.get("event"), str) else None
                recording = payload.get("recording")
                if isinstance(recording, dict) and isinstance(recording.get("url"), str):
                    recording_url = recording["url"]
            out_of_order = duplicate = False
            if event in self._ranks and recording_url is not None:
                life = self._lifecycles.setdefault(recording_url, _Lifecycle())
                rank = self._ranks[event]
                duplicate = event in life.events
                missing_before = rank > 0 and not any(
                    self._ranks[e] == rank - 1 for e in life.events
                )
                out_of_order = (rank < life.highest) or (missing_before and not duplicate)
                life.events.add(event)
                life.highest = max(life.highest, rank)
            capture = Capture(
                seq=len(self._captures),
                received_at=time.time(),
                event=event,
                recording_url=recording_url,
                out_of_order=out_of_order,
                duplicate=duplicate,
                **fields,
            )
            if self.keep:
                self._captures.append(capture)
            self._tally.add(capture)
            if self._log is not None:
                self._log.write(orjson.dumps(capture.to_json()) + b"\n")
                self._log.flush()
            self._lock.notify_all()
        if self.on_capture is not None:
            self.on_capture(capture)
        return capture

    def _build_app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        receiver = self

        async def endpoint(request: Request) -> Response:
            base = {
                "method": request.method,
                "path": request.url.path,
                "headers": dict(request.headers),
            }
            if request.url.path.rstrip("/") != receiver.path.rstrip("/"):
                receiver._record(body=b"", status=404, verdict="wrong-path", **base)
                return Response(f"callbacks go to {receiver.path}\n", 404)
            if request.method != "POST":
                receiver._record(body=b"", status=405, verdict="wrong-method", **base)
                return Response("callbacks are POSTed\n", 405, headers={"allow": "POST"})
            body = await _read_capped(request, receiver.max_body)
            if body is None:
                receiver._record(body=b"", status=413, verdict="too-large", **base)
                return Response(f"body over {receiver.max_body} bytes\n", 413)
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                receiver._record(body=body, status=400, verdict="not-json", **base)
                return Response(f"not JSON: {exc}\n", 400)
            judged = receiver._judge(payload)
            receiver._record(body=body, status=receiver.status, payload=payload, **base, **judged)
            return Response(status_code=receiver.status)

        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        routes = [Route("/{rest:path}", endpoint, methods=methods)]
        return Starlette(routes=routes)

    # --- running --------------------------------------------------------------------------

    def _open_log(self) -> None:
        if self._log_path is not None and self._log is None:
            try:
                self._log = self._log_path.open("ab")
            except OSError as exc:
                raise UsageError(f"cannot write log {self._log_path}: {exc.strerror}") from None

    def start(self, timeout: float = 10.0) -> Receiver:
        """Serve in a background thread; returns once the server accepts requests."""
        self._open_log()
        self._server.start(timeout)
        return self

    def serve(self, on_ready: Callable[[Receiver], None] | None = None) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM (both shut it down gracefully)."""
        self._open_log()
        try:
            self._server.serve(None if on_ready is None else lambda: on_ready(self))
        finally:
            self._close_log()

    def shutdown(self) -> None:
        """Ask the server to stop (safe from a callback); `serve()` then returns."""
        self._server.shutdown()

    def stop(self) -> None:
        """Shut the server down and release the port."""
        self._server.stop()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _read_capped(request: Any, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
