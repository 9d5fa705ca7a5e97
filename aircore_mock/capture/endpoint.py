"""The capture endpoint: an ASGI app that answers callbacks and files each request.

It is a plain ASGI callable rather than a Starlette route: it has one path and one job, and
every request goes through it, so each microsecond of routing and request objects is paid
by every sender measuring its throughput against `aircore-mock receive`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from .store import CaptureStore

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def normalize_path(path: str) -> str:
    """`/path` with one leading slash and no trailing one (`/` for the root)."""
    return "/" + path.strip("/") if path.strip("/") else "/"


def _text(status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> Any:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    return {"type": "http.response.start", "status": status, "headers": headers}, body


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    """The client left before its body was in."""


def capture_app(
    store: CaptureStore, *, path: str = "/", status: int = 204, max_body: int
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app that takes callbacks POSTed to `path`, answers `status` and files each
    request (wrong paths, methods, bodies over `max_body` and non-JSON ones included)."""
    path = normalize_path(path)
    wanted = path.rstrip("/")
    record, judge, loads = store.record, store.verdict_of, orjson.loads
    answer_start = {"type": "http.response.start", "status": status, "headers": []}
    answer_body = {"type": "http.response.body", "body": b""}
    not_found = _text(404, f"callbacks go to {path}\n")
    not_allowed = _text(405, "callbacks are POSTed\n", [(b"allow", b"POST")])
    too_large = _text(413, f"body over {max_body} bytes\n")

    async def read_body(receive: Receive, message: MutableMapping[str, Any]) -> bytes:
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

    async def reply(send: Send, answer: Any) -> None:
        start, body = answer
        await send(start)
        await send({"type": "http.response.body", "body": body})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await _lifespan(receive, send)
            return
        method, where = scope["method"], scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if where != wanted and where.rstrip("/") != wanted:
            record(method, where, headers, b"", 404, "wrong-path")
            await reply(send, not_found)
            return
        if method != "POST":
            record(method, where, headers, b"", 405, "wrong-method")
            await reply(send, not_allowed)
            return
        length = headers.get("content-length")
        try:
            # Refused before it is read (a client waiting for 100-continue sends nothing).
            if length is not None and length.isdigit() and int(length) > max_body:
                raise _TooLarge
            message = await receive()
            body = message.get("body", b"")
            if (
                message.get("more_body", False)
                or message["type"] != "http.request"
                or (len(body) > max_body)
            ):  # the usual case, the whole body in one message, is not this
                body = await read_body(receive, message)
        except _TooLarge:
            record(method, where, headers, b"", 413, "too-large")
            await reply(send, too_large)
            return
        except _Gone:
            return  # nobody to answer; a request never received in full is not filed
        try:
            payload = loads(body)
        except orjson.JSONDecodeError as exc:
            record(method, where, headers, body, 400, "not-json")
            await reply(send, _text(400, f"not JSON: {exc}\n"))
            return
        verdict, problems, undocumented = judge(payload)
        record(method, where, headers, body, status, verdict, payload, problems, undocumented)
        await send(answer_start)
        await send(answer_body)

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    # Nothing to set up: acknowledge startup and shutdown, as a server expects.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
