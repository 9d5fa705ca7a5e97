"""Small receivers used as targets in tests: well-behaved ones and broken ones."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def starlette_app(seen: list[Any], status: int = 200) -> Starlette:
    """Stores each JSON body it gets and answers `status`."""

    async def callback(request: Request) -> Response:
        seen.append(await request.json())
        return JSONResponse({"ok": True}, status_code=status)

    return Starlette(routes=[Route("/aircore", callback, methods=["POST"])])


def lifespan_app(events: list[str], fail_startup: bool = False) -> Starlette:
    """Opens its store at startup (lifespan state) and logs startup, callbacks and shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        if fail_startup:
            raise RuntimeError("the database is down")
        yield {"store": events}
        events.append("shutdown")

    async def callback(request: Request) -> Response:
        request.state.store.append((await request.json())["event"])
        return Response(status_code=204)

    return Starlette(routes=[Route("/", callback, methods=["POST"])], lifespan=lifespan)


def http_only_asgi_app(seen: list[Any]) -> Any:
    """A bare ASGI app that refuses any scope but HTTP (no lifespan support)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        message = await receive()
        seen.append(json.loads(message["body"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def skips_other_scopes_app(seen: list[Any]) -> Any:
    """A bare ASGI app that returns at once from any scope but HTTP."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await http_only_asgi_app(seen)(scope, receive, send)

    return app


def every_scope_is_http_app(seen: list[Any]) -> Any:
    """A bare ASGI app that reads every scope as HTTP (so it misreads the lifespan one)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        seen.append(json.loads(message["body"]))  # KeyError for lifespan.startup
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def lifespan_hooks_app(
    started: threading.Event | None = None,
    release: threading.Event | None = None,
    shutdown_error: str | None = None,
) -> Any:
    """A bare ASGI app whose startup signals `started` and waits for `release`, and whose
    shutdown raises RuntimeError(shutdown_error) if given; answers 204 to callbacks."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            if started is not None:
                started.set()
            while release is not None and not release.is_set():
                await asyncio.sleep(0.01)
            await send({"type": "lifespan.startup.complete"})
            await receive()
            if shutdown_error is not None:
                raise RuntimeError(shutdown_error)
            await send({"type": "lifespan.shutdown.complete"})
            return
        await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def wsgi_app(seen: list[Any]) -> Any:
    """A plain WSGI app that stores each JSON body and answers 204."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        seen.append(json.loads(environ["wsgi.input"].read(size)))
        start_response("204 No Content", [])
        return [b""]

    return app


def scripted_app(statuses: list[int], headers: dict[str, str] | None = None) -> Starlette:
    """Answers the given statuses in turn (the last one forever), with extra headers."""
    calls: list[int] = []

    async def callback(request: Request) -> Response:
        await request.body()
        status = statuses[min(len(calls), len(statuses) - 1)]
        calls.append(status)
        return Response(f"answer {len(calls)}", status, headers=headers or {})

    app = Starlette(routes=[Route("/", callback, methods=["POST"])])
    app.state.calls = calls
    return app


def hanging_app(release: threading.Event, arrived: threading.Event | None = None) -> Starlette:
    """Never answers until `release` is set (or the server shuts down); sets `arrived`."""

    async def callback(request: Request) -> Response:
        if arrived is not None:
            arrived.set()
        while not release.is_set():
            await asyncio.sleep(0.05)
        return Response(status_code=204)

    return Starlette(routes=[Route("/", callback, methods=["POST"])])


def redirecting_app() -> Starlette:
    async def callback(request: Request) -> Response:
        return Response(status_code=307, headers={"location": "/elsewhere"})

    return Starlette(routes=[Route("/", callback, methods=["POST"])])


def free_port_refusing() -> str:
    """A URL on a port where nothing listens (bound, then closed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/"


def integrity_error_app() -> Any:
    """A Starlette receiver whose database refuses a second row for the same recording."""
    import sqlite3

    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("create table recordings (url text primary key)")

    async def callback(request: Request) -> Response:
        payload = await request.json()
        db.execute("insert into recordings values (?)", (payload["recording"]["url"],))
        return Response(status_code=204)

    return Starlette(routes=[Route("/", callback, methods=["POST"])])
