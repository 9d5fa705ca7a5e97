"""The capture endpoint: a Starlette app that answers callbacks and files each request."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .store import CaptureStore

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def normalize_path(path: str) -> str:
    """`/path` with one leading slash and no trailing one (`/` for the root)."""
    return "/" + path.strip("/") if path.strip("/") else "/"


def capture_app(store: CaptureStore, *, path: str = "/", status: int = 204, max_body: int) -> Any:
    """An ASGI app that takes callbacks POSTed to `path`, answers `status` and files each
    request (wrong paths, methods, bodies over `max_body` and non-JSON ones included)."""
    path = normalize_path(path)

    async def endpoint(request: Request) -> Response:
        base = {
            "method": request.method,
            "path": request.url.path,
            "headers": dict(request.headers),
        }
        if request.url.path.rstrip("/") != path.rstrip("/"):
            store.record(body=b"", status=404, verdict="wrong-path", **base)
            return Response(f"callbacks go to {path}\n", 404)
        if request.method != "POST":
            store.record(body=b"", status=405, verdict="wrong-method", **base)
            return Response("callbacks are POSTed\n", 405, headers={"allow": "POST"})
        body = await _read_capped(request, max_body)
        if body is None:
            store.record(body=b"", status=413, verdict="too-large", **base)
            return Response(f"body over {max_body} bytes\n", 413)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            store.record(body=body, status=400, verdict="not-json", **base)
            return Response(f"not JSON: {exc}\n", 400)
        judged = store.judge(payload)
        store.record(body=body, status=status, payload=payload, **base, **judged)
        return Response(status_code=status)

    return Starlette(routes=[Route("/{rest:path}", endpoint, methods=_METHODS)])


async def _read_capped(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
