"""`AppServer` as the README documents it: any ASGI app on a free port of 127.0.0.1, bound
when made (its URL known before it serves), its app settable until it starts."""

from __future__ import annotations

import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import aircore_mock
from aircore_mock import AppServer, Limits


def _app_that_knows(own_url: str) -> Starlette:
    async def where(request: Request) -> JSONResponse:
        return JSONResponse({"callback_url": f"{own_url.rstrip('/')}/callbacks"})

    return Starlette(routes=[Route("/where", where)])


def test_the_url_is_known_before_the_app_is_built_and_served() -> None:
    server = AppServer(limits=Limits(header_timeout=3))
    assert server.url == f"http://127.0.0.1:{server.port}/" and server.port > 0
    # bound already: nobody else can take the port between now and start()
    with pytest.raises(OSError), socket.create_server(("127.0.0.1", server.port)):
        pass
    server.app = _app_that_knows(server.url)
    with server:
        answer = httpx.get(f"{server.url}where", timeout=10)
        assert answer.json() == {"callback_url": f"http://127.0.0.1:{server.port}/callbacks"}
        assert server.limits.header_timeout == 3
    with socket.create_server(("127.0.0.1", server.port)):
        pass  # released by the end of the with block


def test_serving_without_an_app_is_a_usage_error() -> None:
    server = AppServer()
    try:
        with pytest.raises(aircore_mock.UsageError, match="no app to serve"):
            server.start()
        server.app = _app_that_knows("http://x")
        server.start()  # the same server serves once it has an app
        assert httpx.get(f"{server.url}where", timeout=10).status_code == 200
    finally:
        server.stop()


def test_app_server_and_limits_are_public_and_documented() -> None:
    assert "AppServer" in aircore_mock.__all__ and "Limits" in aircore_mock.__all__
    for thing in (AppServer, AppServer.start, AppServer.stop, AppServer.serve, Limits):
        assert thing.__doc__, thing
