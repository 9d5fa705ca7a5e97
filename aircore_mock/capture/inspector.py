"""The inspector page (`receive --ui`, at `/_aircore-mock/`): what the capture store holds, in a
browser, with live updates, diffs, curl lines and replay.

The capture server's own protocol routes every path under `PREFIX` here (a prefix test on
requests that are not callbacks; the callback path is untouched). The page is static files
shipped in the package (`static/`: HTML, CSS and a hand-written script; no build step, no
CDN); the data comes from a small JSON API over the store:

    GET  /_aircore-mock/                     the page
    GET  /_aircore-mock/static/<file>        its script and style sheet
    GET  /_aircore-mock/api/captures         a window of the list: ?offset=&limit=&event=
                                             &recording=&verdict=&flag=  -> total, rows
    GET  /_aircore-mock/api/captures/<seq>   one capture whole: headers, raw and pretty
                                             body, problems, the app's answer, curl line
    GET  /_aircore-mock/api/recordings       recordings as timelines (?offset=&limit=)
    GET  /_aircore-mock/api/events           server-sent events: {"count": N} as captures
                                             arrive (at most ten a second, whatever the rate)
    POST /_aircore-mock/api/replay           {"seq", "url"?, "body"?}: send it again

Live updates cost the callback path one flag set per capture: a timer sends the new count
to the open pages ten times a second at most, and a page fetches only the rows it shows.

Safety: the page and its API answer only requests whose Host is loopback (no DNS
rebinding), and the one control, replay, only a JSON POST whose Origin is the page's own
(a cross-site form or fetch is refused with 403).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import shlex
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

import orjson

from ..model import recording_id
from .endpoint import Reply
from .store import CALLBACK_VERDICTS, Capture, CaptureStore, payload_of

PREFIX = "/_aircore-mock/"
"""Where the page and its API live on a capture server run with `--ui`."""
MAX_LIMIT = 500
"""Rows one request for the list may ask for."""
TIMELINE_STEPS = 20
"""Callbacks a recording's timeline shows at most (its latest; `count` says how many)."""
_TICK = 0.1  # seconds between two live updates at most
_FILTERS_KEPT = 8  # filtered lists kept up to date (see `Inspector._filtered`)
_FREEZE_EVERY = 10_000  # captures between two `gc.freeze()` (see `Inspector.publish`)
_STATIC = {
    "inspector.js": "text/javascript; charset=utf-8",
    "inspector.css": "text/css; charset=utf-8",
}
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_SECURITY = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def _json(data: Any, status: int = 200) -> Reply:
    return Reply(status, ((b"content-type", b"application/json"), *_SECURITY), orjson.dumps(data))


def _error(status: int, message: str) -> Reply:
    return _json({"error": message}, status)


def _static(name: str) -> bytes:
    return (resources.files("aircore_mock.capture") / "static" / name).read_bytes()


def _text(body: bytes) -> str:
    """The body as text, any byte that is not UTF-8 shown as `\\xNN`."""
    return body.decode("utf-8", "backslashreplace")


def _pretty(capture: Capture) -> str | None:
    if capture.payload is None and capture.verdict not in CALLBACK_VERDICTS:
        return None
    return orjson.dumps(payload_of(capture), option=orjson.OPT_INDENT_2).decode()


def curl_line(capture: Capture, url: str) -> str:
    """A curl command that sends `capture` again to `url`: its method, headers (less those
    curl frames itself) and body, byte for byte."""
    skip = {"host", "content-length", "connection", "transfer-encoding", "expect", "keep-alive"}
    parts = ["curl", "-i", "-X", capture.method, shlex.quote(url)]
    for name, value in capture.headers.items():
        if name not in skip:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    try:
        text = capture.body.decode("utf-8")
    except UnicodeDecodeError:
        encoded = base64.b64encode(capture.body).decode()
        return f"printf %s {encoded} | base64 -d | " + " ".join([*parts, "--data-binary", "@-"])
    return " ".join([*parts, "--data-binary", shlex.quote(text)])


def row(capture: Capture) -> dict[str, Any]:
    """What the list shows of one capture."""
    forwarded = capture.forwarded
    return {
        "seq": capture.seq,
        "at": capture.received_at,
        "method": capture.method,
        "path": capture.path,
        "status": capture.status,
        "verdict": capture.verdict,
        "event": capture.event,
        "recording": recording_id(capture.recording_url) if capture.recording_url else None,
        "problems": len(capture.problems),
        "problem": str(capture.problems[0]) if capture.problems else None,
        "out_of_order": capture.out_of_order,
        "duplicate": capture.duplicate,
        "undocumented": list(capture.undocumented),
        "app": None
        if forwarded is None
        else {
            "status": forwarded.status,
            "ms": round(forwarded.latency_ms, 1),
            "error": forwarded.error,
        },
    }


class _Stream:
    """One open page's event stream."""

    __slots__ = ("closed", "write")

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self.write = write
        self.closed = False


class Inspector:
    """The page and its API over one `CaptureStore`; `handle()` answers a request under
    `PREFIX`, `publish()` is told of every capture (on the server's loop)."""

    def __init__(
        self,
        store: CaptureStore,
        *,
        callback_url: Callable[[], str],
        forward_to: str | None = None,
        replay_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.callback_url = callback_url
        self.forward_to = forward_to
        self.replay_timeout = replay_timeout
        self.streams: set[_Stream] = set()
        self._due = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._filed = 0
        self._groups: dict[str, list[Capture]] = {}  # recording URL -> its captures
        self._indexed = 0  # captures grouped so far
        self._resets = store.resets
        self._filters: dict[tuple[str | None, ...], tuple[int, list[int], list[Capture]]] = {}

    # --- live updates --------------------------------------------------------------------

    def publish(self, capture: Capture) -> None:
        """A capture was filed: the open pages hear of it within `_TICK` seconds."""
        self._filed += 1
        if self._filed >= _FREEZE_EVERY:
            # Every capture stays in memory for the page: moved out of the garbage
            # collector's sight, they would otherwise be walked again on every full
            # collection (a third of the capture server's time per request, measured).
            self._filed = 0
            gc.freeze()
        if self._due or not self.streams:
            return
        self._due = True
        loop = self._loop
        if loop is not None:  # (a capture filed by the ASGI face comes from another thread)
            loop.call_soon_threadsafe(loop.call_later, _TICK, self._flush)

    def _flush(self) -> None:
        self._due = False
        message = b"data: " + orjson.dumps({"count": self.store.count}) + b"\n\n"
        for stream in list(self.streams):
            try:
                stream.write(message)
            except Exception:
                stream.closed = True
                self.streams.discard(stream)

    def open_stream(self, write: Callable[[bytes], None]) -> _Stream:
        """A page opened its event stream: it gets the count now, and each change."""
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()
        stream = _Stream(write)
        self.streams.add(stream)
        write(b"retry: 1000\n\ndata: " + orjson.dumps({"count": self.store.count}) + b"\n\n")
        return stream

    def close_stream(self, stream: _Stream) -> None:
        stream.closed = True
        self.streams.discard(stream)

    # --- requests ------------------------------------------------------------------------

    def allowed(self, method: str, headers: dict[str, str]) -> Reply | None:
        """Why a request to the page is refused (403), or None: a Host that is not loopback
        (DNS rebinding), a control whose Origin is not the page's own."""
        host = headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if name not in _LOOPBACK:
            return _error(403, "the inspector answers only on a loopback Host")
        if method == "POST":
            origin = headers.get("origin")
            if origin is None or origin != f"http://{host}":
                return _error(403, "controls take requests from the inspector page only")
            if not headers.get("content-type", "").startswith("application/json"):
                return _error(415, "controls take application/json")
        return None

    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Reply | Awaitable[Reply] | str:
        """The answer to a request under `PREFIX`: a `Reply`, one to wait for (a replay), or
        `"stream"` for the event stream (the protocol keeps the connection open)."""
        refused = self.allowed(method, headers)
        if refused is not None:
            return refused
        rest = path[len(PREFIX) :]
        if method == "POST":
            if rest == "api/replay":
                return self._replay(body)
            return _error(404, "no such control")
        if method not in ("GET", "HEAD"):
            return Reply(405, ((b"allow", b"GET, POST"),))
        if rest in ("", "index.html"):
            return Reply(200, ((b"content-type", b"text/html; charset=utf-8"), *_SECURITY),
                         _static("index.html"))  # fmt: skip
        if rest.startswith("static/") and rest[7:] in _STATIC:
            kind = _STATIC[rest[7:]].encode()
            return Reply(200, ((b"content-type", kind), *_SECURITY), _static(rest[7:]))
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        if rest == "api/events":
            return "stream"
        if rest == "api/captures":
            return self._captures(params)
        if rest.startswith("api/captures/"):
            return self._capture(rest[len("api/captures/") :])
        if rest == "api/recordings":
            return self._recordings(params)
        return _error(404, "not found")

    @staticmethod
    def _window(params: dict[str, str]) -> tuple[int, int] | Reply:
        try:
            offset = int(params.get("offset", 0))
            limit = int(params.get("limit", 100))
        except ValueError:
            return _error(400, "offset and limit are integers")
        if offset < 0 or not 0 < limit <= MAX_LIMIT:
            return _error(400, f"offset >= 0, 0 < limit <= {MAX_LIMIT}")
        return offset, limit

    def _captures(self, params: dict[str, str]) -> Reply:
        window = self._window(params)
        if isinstance(window, Reply):
            return window
        offset, limit = window
        event, verdict = params.get("event"), params.get("verdict")
        recording, flag = params.get("recording"), params.get("flag")
        if not (event or verdict or recording or flag):
            total, chosen = self.store.window(offset, limit)
        else:
            matching = self._filtered((event, verdict, recording, flag))
            total, chosen = len(matching), matching[offset : offset + limit]
        return _json({"total": total, "offset": offset, "rows": [row(c) for c in chosen]})

    def _filtered(self, key: tuple[str | None, ...]) -> list[Capture]:
        # The captures a filter keeps, brought up to date with only those filed since the
        # last look (a page with a filter asks on every live update); a few filters kept.
        resets = self.store.resets
        entry = self._filters.pop(key, None)
        if entry is None or entry[0] != resets:
            entry = (resets, [0], [])
        _, indexed, matching = entry
        total, _ = self.store.window(0, 0)
        new = self.store.window(indexed[0], total - indexed[0])[1]
        matching.extend(c for c in new if _matches(c, *key))
        indexed[0] = total
        self._filters[key] = entry  # the most recently used last
        while len(self._filters) > _FILTERS_KEPT:
            del self._filters[next(iter(self._filters))]
        return matching

    def _capture(self, text: str) -> Reply:
        if not text.isdigit():
            return _error(404, "no such capture")
        capture, previous = self.store.find(int(text))
        if capture is None:
            return _error(404, f"no capture #{text} (reset, or not kept)")
        data = capture.to_json()
        data.pop("payload", None)
        data["text"] = _text(capture.body)
        data["pretty"] = _pretty(capture)
        data["recording"] = recording_id(capture.recording_url) if capture.recording_url else None
        data["previous"] = None if previous is None else previous.seq
        data["curl"] = curl_line(capture, self.forward_to or self.callback_url())
        if capture.forwarded is not None:
            data["forwarded"]["text"] = _text(capture.forwarded.body)
        data["forward_to"] = self.forward_to
        return _json(data)

    def _recordings(self, params: dict[str, str]) -> Reply:
        # Newest recording first. The grouping is kept and brought up to date with only the
        # captures filed since the last look: a page open on a busy receiver asks every
        # second, and must not walk 100,000 captures each time.
        window = self._window(params)
        if isinstance(window, Reply):
            return window
        offset, limit = window
        total, _ = self.store.window(0, 0)
        if self.store.resets != self._resets:  # the receiver was reset: start over
            self._groups, self._indexed, self._resets = {}, 0, self.store.resets
        groups = self._groups
        for capture in self.store.window(self._indexed, total - self._indexed)[1]:
            if capture.recording_url is not None:
                groups.setdefault(capture.recording_url, []).append(capture)
        self._indexed = total
        urls = list(reversed(groups))[offset : offset + limit]
        rows = [
            {
                "recording": recording_id(url),
                "url": url,
                "count": len(groups[url]),
                "callbacks": [_step(c) for c in groups[url][-TIMELINE_STEPS:]],
            }
            for url in urls
        ]
        return _json({"total": len(groups), "offset": offset, "rows": rows})

    async def _replay(self, body: bytes) -> Reply:
        from ..errors import UsageError
        from ..sending import AsyncSender, check_url

        try:
            request = orjson.loads(body)
            seq = request["seq"]
            assert type(seq) is int
        except (orjson.JSONDecodeError, KeyError, TypeError, AssertionError):
            return _error(400, 'expected {"seq": N, "url"?: "http://...", "body"?: "..."}')
        capture, _ = self.store.find(seq)
        if capture is None:
            return _error(404, f"no capture #{seq}")
        url = request.get("url") or self.forward_to
        if not url:
            return _error(400, "no URL to replay to: give one (the receiver forwards nowhere)")
        try:
            check_url(url)
        except UsageError as exc:
            return _error(400, str(exc))
        text = request.get("body")
        sent = capture.body if text is None else str(text).encode("utf-8")
        headers = {
            k: v for k, v in capture.headers.items() if k not in _NOT_REPLAYED and v.isascii()
        }
        headers.setdefault("content-type", "application/json")
        sender = AsyncSender(url, timeout=self.replay_timeout, headers=headers)
        try:
            report = await sender.send([sent])
        finally:
            await sender.aclose()
        (result,) = report.results or ()
        return _json(
            {
                "url": url,
                "status": result.status,
                "latency_ms": round(result.latency_ms, 1),
                "body": result.body,
                "error": result.error,
                "edited": text is not None and sent != capture.body,
            }
        )


def _step(capture: Capture) -> dict[str, Any]:
    """One callback on a recording's timeline."""
    return {
        "seq": capture.seq,
        "event": capture.event,
        "verdict": capture.verdict,
        "at": capture.received_at,
        "out_of_order": capture.out_of_order,
        "duplicate": capture.duplicate,
    }


_NOT_REPLAYED = ("host", "content-length", "connection", "transfer-encoding", "expect",
                 "keep-alive", "accept-encoding")  # fmt: skip


def _matches(
    capture: Capture,
    event: str | None,
    verdict: str | None,
    recording: str | None,
    flag: str | None,
) -> bool:
    if event and capture.event != event:
        return False
    if verdict and capture.verdict != verdict:
        return False
    if recording and (
        capture.recording_url is None
        or recording not in (capture.recording_url, recording_id(capture.recording_url))
    ):
        return False
    if flag == "out-of-order" and not capture.out_of_order:
        return False
    return not (flag == "duplicate" and not capture.duplicate)
