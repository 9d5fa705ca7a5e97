"""The capture endpoint: what a receiver answers to each request, and how it files it.

`CaptureRules` decides (path, method, size, JSON, verdict) and files every request in the
store; two faces serve it: `capture_app`, a plain ASGI callable (an in-process target for a
sender, or any ASGI server), and the capture server's own HTTP protocol (`protocol.py`).
Both give the same answers and file the same captures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from ..server import normalize_path
from .store import Capture, CaptureStore

Scope = MutableMapping[str, Any]
AsgiReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]
AsgiSend = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Reply:
    """What the endpoint answers: a status, headers and a body."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""

    def head(self) -> list[tuple[bytes, bytes]]:
        """The headers, with the body's length where HTTP allows one (not 1xx, 204, 304)."""
        if self.status < 200 or self.status in (204, 304):
            return [*self.headers]
        return [*self.headers, (b"content-length", str(len(self.body)).encode())]


class Forwarding(Protocol):
    """What the capture server needs of a forwarder (`forward.Forwarder`)."""

    async def start(self) -> None: ...
    async def forward(self, capture: Capture) -> Reply: ...
    async def close(self) -> None: ...


class Inspecting(Protocol):
    """What the capture server needs of the page (`inspector.Inspector`)."""

    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Any: ...
    def open_stream(self, write: Callable[[bytes], None]) -> Any: ...
    def close_stream(self, stream: Any) -> None: ...


def _text(status: int, text: str, *extra: tuple[bytes, bytes]) -> Reply:
    body = text.encode()
    return Reply(status, ((b"content-type", b"text/plain; charset=utf-8"), *extra), body)


class CaptureRules:
    """Answers and files the requests of one capture endpoint: callbacks are POSTed to `path`
    and answered `status`; wrong paths, methods, bodies over `max_body` and non-JSON bodies
    get 404, 405, 413 and 400, and are filed too."""

    def __init__(self, store: CaptureStore, *, path: str, status: int, max_body: int) -> None:
        self.store = store
        self.path = normalize_path(path)
        self.status = status
        self.max_body = max_body
        self.answer = Reply(status)
        """The answer to every callback (valid or not)."""
        self._wanted = self.path.rstrip("/")
        self._not_found = _text(404, f"callbacks go to {self.path}\n")
        self._not_allowed = _text(405, "callbacks are POSTed\n", (b"allow", b"POST"))
        self._too_large = _text(413, f"body over {max_body} bytes\n")
        self.forwarder: Forwarding | None = None
        """Where each callback goes on to once filed (`receive --forward-to`), or None."""
        self.inspector: Inspecting | None = None
        """The page under `/_aircore-mock/` (`receive --ui`), or None."""

    def refuse(self, method: str, path: str, headers: dict[str, str]) -> Reply | None:
        """The answer to a request that is refused before its body is read (filed), or None.

        `path` is the request target's path, percent-decoded (as ASGI's `scope["path"]`).
        """
        if path != self._wanted and path.rstrip("/") != self._wanted:
            self.store.record(method, path, headers, b"", 404, "wrong-path")
            return self._not_found
        if method != "POST":
            self.store.record(method, path, headers, b"", 405, "wrong-method")
            return self._not_allowed
        length = headers.get("content-length")
        # Refused before it is read (a client waiting for 100-continue sends nothing).
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return self.too_large(method, path, headers)
        return None

    def too_large(self, method: str, path: str, headers: dict[str, str]) -> Reply:
        """File a body over `max_body` and answer 413."""
        self.store.record(method, path, headers, b"", 413, "too-large")
        return self._too_large

    def callback(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        """Judge and file a body POSTed to the callback path; the answer."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            self.store.record(method, path, headers, body, 400, "not-json")
            return _text(400, f"not JSON: {exc}\n")
        verdict, problems, undocumented = self.store.verdict_of(payload)
        self.store.record(
            method, path, headers, body, self.status, verdict, payload, problems, undocumented
        )
        return self.answer

    def file(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Capture:
        """Judge and file a body POSTed to the callback path without telling `on_capture`
        (a forwarding server does, once the app has answered: `CaptureStore.notify`)."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return self.store.record(method, path, headers, body, 400, "not-json", notify=False)
        verdict, problems, undocumented = self.store.verdict_of(payload)
        return self.store.record(
            method, path, headers, body, self.status, verdict, payload, problems, undocumented,
            notify=False,
        )  # fmt: skip


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    """The client left before its body was in."""


def capture_app(
    store: CaptureStore, *, path: str = "/", status: int = 204, max_body: int
) -> Callable[[Scope, AsgiReceive, AsgiSend], Awaitable[None]]:
    """An ASGI app that takes callbacks POSTed to `path`, answers `status` and files each
    request (wrong paths, methods, bodies over `max_body` and non-JSON ones included)."""
    rules = CaptureRules(store, path=path, status=status, max_body=max_body)

    async def read_body(receive: AsgiReceive, message: MutableMapping[str, Any]) -> bytes:
        # A body in several messages (or one over the cap): gathered up to `max_body`.
        chunks = bytearray(message.get("body", b""))
        if len(chunks) > max_body:
            raise _TooLarge
        while message.get("more_body", False):
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunks += message.get("body", b"")
            if len(chunks) > max_body:
                raise _TooLarge
        if message["type"] == "http.disconnect":
            raise _Gone
        return bytes(chunks)

    async def reply(send: AsgiSend, answer: Reply) -> None:
        start = {"type": "http.response.start", "status": answer.status, "headers": answer.head()}
        await send(start)
        await send({"type": "http.response.body", "body": answer.body})

    async def app(scope: Scope, receive: AsgiReceive, send: AsgiSend) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await _lifespan(receive, send)
            return
        method = scope["method"]
        where = scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refused = rules.refuse(method, where, headers)
        if refused is not None:
            await reply(send, refused)
            return
        try:
            message = await receive()
            body = message.get("body", b"")
            if (
                message.get("more_body", False)
                or message["type"] != "http.request"
                or (len(body) > max_body)
            ):  # the usual case, the whole body in one message, is not this
                body = await read_body(receive, message)
        except _TooLarge:
            await reply(send, rules.too_large(method, where, headers))
            return
        except _Gone:
            return  # nobody to answer; a request never received in full is not filed
        await reply(send, rules.callback(method, where, headers, body))

    return app


async def _lifespan(receive: AsgiReceive, send: AsgiSend) -> None:
    # Nothing to set up: acknowledge startup and shutdown, as a server expects.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
