"""`mock_aircore()`: Aircore's API host answered in-process by a `FakeAircore` (the
`[intercept]` extra), for code whose Aircore URL is written in it.

httpx (sync and async) through respx, requests through responses: the maintained interception
libraries of each client, as moto's `mock_aws` does for boto3. Only Aircore's host is
answered; every other host passes through untouched. The fake's callbacks go out as always
(through aiohttp, which neither library touches) to the start request's `callback_url`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from ..errors import UsageError
from .service import FakeAircore

AIRCORE_HOST = "services.aircore.io"
"""The host of Aircore's recording API (`POST https://services.aircore.io/recording`)."""
INTERCEPT_EXTRA = "pip install 'aircore-mock[intercept]'"
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_F = TypeVar("_F", bound=Callable[..., Any])


def _libraries() -> tuple[Any, Any]:
    try:
        import responses
        import respx
    except ImportError:
        raise UsageError(f"mock_aircore() needs respx and responses: {INTERCEPT_EXTRA}") from None
    return respx, responses


class mock_aircore:
    """Answer every httpx and requests call to Aircore's host with a `FakeAircore`.

    As a context manager it gives the fake (`with mock_aircore() as fake:`); as a decorator
    (sync or async functions) the running fake is `.fake`. `fake` uses one you made; else
    each entry makes one from `options` (`FakeAircore`'s: `clock`, `api_keys`, `s3`,
    `auto_stop`, ...; its stop URLs are on Aircore's host) and closes it on exit. `host` is
    the host answered (default `services.aircore.io`).
    """

    def __init__(
        self, fake: FakeAircore | None = None, *, host: str = AIRCORE_HOST, **options: Any
    ) -> None:
        if fake is not None and options:
            raise UsageError("give mock_aircore() a fake or FakeAircore options, not both")
        if not host or "/" in host:
            raise UsageError(f"host is a host name such as {AIRCORE_HOST!r}, got {host!r}")
        self.host = host
        self._given = fake
        self._options = {"public_url": f"https://{host}", **options}
        self.fake: FakeAircore | None = fake
        """The fake answering now (None outside the block, unless one was given)."""
        self._stack: list[tuple[Any, Any, FakeAircore, bool]] = []

    # --- the context manager -------------------------------------------------------------

    def __enter__(self) -> FakeAircore:
        respx, responses = _libraries()
        made = self._given is None
        fake = self._given or FakeAircore(**self._options)
        transport = fake.transport()
        try:
            router = _router(respx)(assert_all_called=False, assert_all_mocked=True)
            router.route(host=self.host).mock(side_effect=_httpx_handler(transport))
            router.route().pass_through()
            requests_mock = responses.RequestsMock(assert_all_requests_are_fired=False)
            pattern = re.compile(rf"https?://{re.escape(self.host)}(:\d+)?(/|\?|$)", re.I)
            for method in _METHODS:
                requests_mock.add_callback(method, pattern, callback=_requests_handler(transport))
            requests_mock.add_passthru(
                re.compile(rf"(?!https?://{re.escape(self.host)}(:\d+)?(/|\?|$))", re.I)
            )
            router.start()
            try:
                requests_mock.start()
            except BaseException:
                router.stop()
                raise
        except BaseException:
            if made:
                fake.close()
            raise
        self._stack.append((router, requests_mock, fake, made))
        self.fake = fake
        return fake

    def __exit__(self, *exc: object) -> None:
        router, requests_mock, fake, made = self._stack.pop()
        try:
            requests_mock.stop()
            requests_mock.reset()
            router.stop(quiet=True)
        finally:
            if made:
                fake.close()
            self.fake = self._stack[-1][2] if self._stack else self._given

    # --- the decorator -------------------------------------------------------------------

    def __call__(self, function: _F) -> _F:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await function(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return function(*args, **kwargs)

        return run  # type: ignore[return-value]


_IN_ASYNC: contextvars.ContextVar[bool] = contextvars.ContextVar("aircore_in_async", default=False)


@functools.cache
def _router(respx: Any) -> type:
    """respx's router, telling the side effect when an async client is asking (then it
    answers with an awaitable, which respx awaits: the caller's loop is never blocked)."""

    class Router(respx.MockRouter):  # type: ignore[misc, name-defined]
        async def async_handler(self, request: httpx.Request) -> httpx.Response:
            token = _IN_ASYNC.set(True)
            try:
                return await super().async_handler(request)
            finally:
                _IN_ASYNC.reset(token)

    return Router


def _httpx_handler(transport: Any) -> Callable[[httpx.Request], Any]:
    def handle(request: httpx.Request) -> Any:
        if _IN_ASYNC.get():
            return transport.handle_async(request)
        return transport.handle_request(request)

    return handle


def _requests_handler(transport: httpx.BaseTransport) -> Callable[[Any], Any]:
    """A `responses` callback: the prepared request through the fake, its answer back."""

    def handle(prepared: Any) -> tuple[int, dict[str, str], bytes]:
        body = prepared.body
        if isinstance(body, str):
            body = body.encode()
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(body)  # a generator or file-like body
        request = httpx.Request(
            prepared.method, prepared.url, headers=dict(prepared.headers), content=body or b""
        )
        response = transport.handle_request(request)
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() not in ("content-length", "transfer-encoding")
        }
        with contextlib.suppress(Exception):
            response.read()
        return response.status_code, headers, response.content

    return handle


__all__ = ["AIRCORE_HOST", "INTERCEPT_EXTRA", "mock_aircore"]
