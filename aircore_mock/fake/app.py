"""The fake's HTTP layer: Aircore's recording API and the `/_aircore-mock/` control API.

Every answer is decided by the backend; this module only parses, answers and files each API
request in the journal, with secrets redacted. Bad input gets a documented 4xx; the fake
answers a 5XX only when one was injected.

- `POST /recording`: 200 and the recording resource; 400 a bad body; 401; 413 a body over
  the cap; 415 not JSON;
- `DELETE /recording/<percent-encoded recording URL>`: 204; 400 no identifier; 401; 404
  unknown or already stopped;
- any other path: 404; a known path with another method: 405 with `Allow`.

Under `/_aircore-mock/`, the control page: `GET /_aircore-mock/` answers the page to a browser
(`Accept: text/html`) and JSON to everyone else; `static/<file>` is its script and style sheet
(files shipped in `fake/static/`, no build step). A request that a browser made (an `Origin` or
`Sec-Fetch-Site` header) must name a loopback Host (no DNS rebinding), and one that changes
anything must come from the page's own origin with a JSON body (no cross-site form or fetch);
requests without those headers (curl, the library) are answered as before.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import unquote

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ..errors import UsageError
from .backend import INJECTABLE, ApiError, FakeBackend, JournalEntry, RetryPolicy
from .dispatch import DispatchHost
from .request import REDACTED, redact, scrub, secrets_of

CONTROL = "/_aircore-mock"
MAX_BODY = 64 * 1024
"""Largest start-recording body accepted (a real one is well under 1 KiB)."""
_SENSITIVE_HEADERS = ("authorization", "proxy-authorization", "cookie")
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_STATIC = {
    "index.html": "text/html; charset=utf-8",
    "control.js": "text/javascript; charset=utf-8",
    "control.css": "text/css; charset=utf-8",
}
_PAGE_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'",
}


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


_answer_json = _json


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    # Aircore's docs say only that error bodies carry the error message; this shape is ours.
    return _json({"status": status, "message": message}, status, headers)


def fake_app(
    backend: FakeBackend, host: DispatchHost | None = None, *, max_body: int = MAX_BODY
) -> Starlette:
    """The ASGI app of a fake over `backend`. Served, its lifespan runs the callback
    dispatcher on the server's loop; used in-process without one, `host` starts one on a
    background loop at the first request."""
    host = host or DispatchHost(backend)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        attached = await host.attach()
        try:
            yield
        finally:
            if attached:
                await host.detach()

    async def api(call: _Call) -> Response:
        if not host.running:
            host.ensure()
        at = backend.clock.now()
        body: Any = None
        secrets: list[str] = []
        recording_id: str | None = None
        response: Response
        redacted = False
        try:
            response, body, secrets, recording_id = await _answer(call, backend, max_body)
            redacted = True
        except ApiError as exc:
            response = _error(exc.status, backend.secrets.scrub(exc.message))
            if isinstance(exc, _Filed):
                body, secrets = exc.body, exc.secrets
        _file(backend, call, response, at, body, secrets, recording_id, redacted=redacted)
        return response

    async def routed_api(request: Request) -> Response:
        return await api(_Call.of(request))

    async def control(request: Request) -> Response:
        refused = _refused(request)
        if refused is not None:
            return refused
        try:
            return await _control(request, backend)
        except UsageError as exc:
            return _error(400, backend.secrets.scrub(str(exc)))
        except ApiError as exc:
            return _error(exc.status, backend.secrets.scrub(exc.message))

    return _FakeApp(
        api,
        routes=[
            # No method list: every method reaches the handlers, which answer a JSON 405
            # with the `Allow` the OpenAPI document gives (never Starlette's text/plain).
            Route(CONTROL + "{rest:path}", _AnyMethod(control)),
            Route("/{rest:path}", _AnyMethod(routed_api)),
        ],
        lifespan=lifespan,
        # What the routes cannot match (a path with a newline, say) is a JSON error too.
        exception_handlers={HTTPException: _http_error},
    )


_PLAIN_API_PATH = re.compile(r"/recording(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*)?")
"""A recording API path that Starlette would route to the API handler and give back as
`request.url.path` unchanged: no `?`, `#`, `\\`, space, control or non-ASCII character
(which its URL escapes, or `urlsplit` strips) and no newline (which no route matches)."""


class _FakeApp(Starlette):
    """The fake's Starlette app, with a short way in for the recording API's own requests.

    Each start and stop would otherwise cross Starlette's error and exception middleware,
    its router, a `Request` and a URL parsed from the scope before the handler: about a
    third of the app's time per request. A plain `/recording` path (see `_PLAIN_API_PATH`)
    goes straight to the same handler, answered and journaled exactly as through the
    router; every other request (the control API, odd paths, lifespan) takes Starlette's
    way."""

    def __init__(self, api: Callable[[_Call], Awaitable[Response]], **options: Any) -> None:
        super().__init__(**options)
        self._api = api

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope.get("root_path")
            or not _PLAIN_API_PATH.fullmatch(scope["path"])
        ):
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        headers = _Headers(scope["headers"])
        call = _Call(scope["method"], scope["path"], scope.get("raw_path"), headers, receive)
        try:
            response = await self._api(call)
        except Exception:
            # As Starlette's ServerErrorMiddleware: a plain 500 (no answer has started: the
            # handler sends nothing until it returns), and the error goes on to the server.
            await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
            raise
        await response(scope, receive, send)


class _Headers:
    """A request's headers read as Starlette's `Headers` reads them (`get`: the first of
    that name; `items`: every one, in order, decoded as Latin-1), straight from the scope's
    list (Starlette's goes through `Mapping.get` and copies the list)."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def get(self, key: str, default: Any = None) -> Any:
        wanted = key.lower().encode("latin-1")
        for name, value in self._raw:
            if name == wanted:
                return value.decode("latin-1")
        return default

    def items(self) -> list[tuple[str, str]]:
        return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in self._raw]


@dataclass(slots=True)
class _Call:
    """What the API handler reads of a request: made straight from the ASGI scope on the
    short way in (`_FakeApp`), or from Starlette's `Request` (`_Call.of`)."""

    method: str
    path: str
    """As Starlette's `request.url.path` gives it."""
    raw_path: Any
    headers: Any
    """`_Headers`, or Starlette's `Headers` (which read the same)."""
    receive: Any

    @classmethod
    def of(cls, request: Request) -> _Call:
        raw_path = request.scope.get("raw_path")
        return cls(request.method, request.url.path, raw_path, request.headers, request.receive)

    async def read(self, max_body: int) -> bytearray:
        """The body, refused (413) as soon as it is over `max_body`: read as Starlette's
        `Request.stream()` reads it (a disconnect raises `ClientDisconnect`)."""
        data = bytearray()
        receive = self.receive
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "http.request":
                data += message.get("body", b"")
                if len(data) > max_body:
                    raise ApiError(413, f"the body is over {max_body} bytes")
                if not message.get("more_body", False):
                    return data
            elif kind == "http.disconnect":
                raise ClientDisconnect()


def _refused(request: Request) -> Response | None:
    """Why a browser's request to the control prefix is refused, or None. Requests without
    `Origin` or `Sec-Fetch-Site` (curl, httpx, the library) are never refused here."""
    headers = request.headers
    origin, site = headers.get("origin"), headers.get("sec-fetch-site")
    if origin is None and site is None:
        return None
    host = headers.get("host", "")
    name = host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
    if name not in _LOOPBACK:
        return _error(403, "the control page answers only on a loopback Host")
    if request.method in ("GET", "HEAD"):
        return None  # reading: a cross-origin page cannot read the answer (no CORS)
    if origin != f"http://{host}" or site not in (None, "same-origin"):
        return _error(403, "controls take requests from the control page only")
    kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json":
        return _error(415, "controls take application/json")
    return None


def _wants_page(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def _static(name: str) -> Response:
    data = (resources.files("aircore_mock.fake") / "static" / name).read_bytes()
    return Response(data, 200, _PAGE_HEADERS, media_type=_STATIC[name])


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    return _error(status, f"no such endpoint: {request.method} {request.url.path!r}")


_NOT_JSON = object()


class _AnyMethod:
    """An endpoint as an ASGI app, which Starlette routes whatever the method (a function
    endpoint gets only the methods listed, and Starlette's text/plain 405 for the rest)."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        response = await self.handler(Request(scope, receive))
        await response(scope, receive, send)


async def _answer(
    request: _Call, backend: FakeBackend, max_body: int
) -> tuple[Response, Any, list[str], str | None]:
    """The answer, the request's body with its secrets redacted, the secrets and the
    recording; an `ApiError` for an error answer (a `_Filed` one with the body as sent)."""
    path, method = request.path, request.method
    if path.rstrip("/") != "/recording" and not path.startswith("/recording/"):
        raise ApiError(404, f"no such endpoint: {method} {path}")
    # `/recording` takes POST (start); `/recording/<id>` DELETE (stop), and `/recording/`
    # with no identifier gets Aircore's documented 400 for a DELETE.
    collection = path == "/recording"
    allowed = "POST" if collection else "DELETE"
    if method not in allowed.split(", "):
        response = _error(405, f"{method} is not allowed here; use {allowed}", {"allow": allowed})
        return response, None, [], None
    backend.authorize(request.headers.get("authorization"))
    if method == "DELETE":
        identifier = _identifier(request)
        recording = backend.stop(identifier or None)
        return Response(status_code=204), None, [], recording.id
    body = await _read_json(request, max_body)
    secrets = secrets_of(body)
    backend.secrets.add(*secrets)
    try:
        recording = backend.start(body)
    except ApiError as exc:
        exc.message = scrub(exc.message, secrets)
        raise _Filed(exc, body, secrets) from None
    now = backend.clock.now()
    # The backend kept the body redacted: the journal takes that rather than redact again.
    return _json(recording.resource(now)), recording.request, secrets, recording.id


class _Filed(ApiError):
    """An API error that still files the request body (redacted) in the journal."""

    def __init__(self, error: ApiError, body: Any, secrets: list[str]) -> None:
        super().__init__(error.status, error.message)
        self.body, self.secrets = body, secrets


def _identifier(request: _Call) -> str:
    # The stop URL carries the internal recording URL percent-encoded; the raw path keeps it
    # as sent (the decoded path would do too, as no recording URL holds an encoded `/`).
    raw = request.raw_path
    path = raw.decode("latin-1") if isinstance(raw, bytes) else request.path
    path = path.split("?", 1)[0]
    return unquote(path[len("/recording/") :]) if path.startswith("/recording/") else ""


async def _read_json(request: _Call, max_body: int) -> Any:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(415, "the body must be JSON: send 'Content-Type: application/json'")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise ApiError(413, f"the body is over {max_body} bytes")
    data = await request.read(max_body)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # The parser's message quotes the body; say only where it broke.
        raise _Filed(
            ApiError(400, f"the body is not valid JSON (line {exc.lineno}, column {exc.colno})"),
            _NOT_JSON,
            [],
        ) from None


def _file(
    backend: FakeBackend,
    request: _Call,
    response: Response,
    at: int,
    body: Any,
    secrets: list[str],
    recording_id: str | None,
    *,
    redacted: bool = False,
) -> None:
    """File an API request in the journal; `redacted`: `body` has its secrets redacted."""
    error = None
    if response.status_code >= 400:
        with contextlib.suppress(ValueError):
            error = orjson.loads(response.body).get("message")
    headers = {}
    known = backend.secrets
    for name, value in request.headers.items():
        if name in _SENSITIVE_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {REDACTED}".strip()
        headers[name] = known.scrub(scrub(value, secrets))
    if body is _NOT_JSON:
        shown: Any = {"not_json": True}
    else:
        shown = known.scrub_json(body if redacted else redact(body))
        if shown is body and redacted and isinstance(body, dict | list):
            shown = redact(body)  # a copy of its own, never the recording's `request`
    entry = JournalEntry(
        seq=backend.next_journal_seq(),
        at=at,
        method=request.method,
        path=known.scrub(request.path),
        status=response.status_code,
        headers=headers,
        body=shown,
        recording_id=recording_id,
        error=None if error is None else known.scrub(error),
    )
    backend.log(entry)


# --- the control API --------------------------------------------------------------------


async def _control(request: Request, backend: FakeBackend) -> Response:
    path = request.url.path[len(CONTROL) :].strip("/")
    method = request.method

    def _json(  # every answer: secrets scrubbed
        data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        return _answer_json(backend.secrets.scrub_json(data), status, headers)

    async def index() -> Response:
        if _wants_page(request):
            page = _static("index.html")
            page.headers["vary"] = "Accept"
            return page
        answer = _json(
            {
                "clock": backend.clock.mode,
                "speed": backend.clock.speed,
                "now": backend.clock.now(),
                "auto_stop": backend.auto_stop,
                "api_keys": "any non-empty key" if backend.open else "configured",
                "retry_policy": backend.retry.to_json(),
                "injections": [i.to_json() for i in backend.injections],
                "summary": backend.summary().to_json(),
            }
        )
        answer.headers["vary"] = "Accept"
        return answer

    async def recordings() -> Response:
        return _json([r.to_json() for r in backend.recordings])

    async def callbacks() -> Response:
        return _json([s.to_json() for s in backend.callbacks])

    async def journal() -> Response:
        # Paged: ?after=SEQ (entries after that one) and ?limit=N; the journal itself holds
        # the last JOURNAL_CAPACITY requests (X-Aircore-Mock-Dropped counts the older ones).
        try:
            after = int(request.query_params.get("after", "-1"))
            limit = request.query_params.get("limit")
            count = None if limit is None else int(limit)
        except ValueError:
            raise UsageError("after and limit are whole numbers") from None
        if count is not None and count < 0:
            raise UsageError("limit must not be negative")
        page = backend.journal_page(after, count)
        dropped = {"x-aircore-mock-dropped": str(backend.journal_dropped)}
        return _json([e.to_json() for e in page], headers=dropped)

    async def choices() -> Response:
        from ..generation.facts import failure_families
        from ..model import lifecycle

        return _json(
            {
                "stop_reasons": list(lifecycle().stop_reasons),
                "failure_families": list(failure_families()),
                "injectable": list(INJECTABLE),
            }
        )

    async def stop() -> Response:
        options = await _options(request)
        recording = options.get("recording")
        if not isinstance(recording, str):
            raise UsageError('say which recording: {"recording": <id or url>}')
        return _json(backend.stop_recording(recording).to_json())

    async def reset() -> Response:
        backend.reset()
        return Response(status_code=204)

    async def inject() -> Response:
        options = await _options(request)
        what = options.pop("what", None)
        if not isinstance(what, str):
            raise UsageError('say what to inject: {"what": "stop" | "upload-failure" | "error"}')
        try:
            injection = backend.inject(what, **options)
        except TypeError as exc:
            raise UsageError(f"bad injection: {exc}") from None
        return _json(injection.to_json(), 201)

    async def advance() -> Response:
        options = await _options(request)
        seconds = options.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise UsageError('say how far: {"seconds": 60}')
        steps = backend.advance(seconds)
        return _json({"now": backend.clock.now(), "steps": steps})

    async def get_policy() -> Response:
        return _json(backend.retry.to_json())

    async def put_policy() -> Response:
        options = await _options(request)
        try:
            policy = RetryPolicy(**{**backend.retry.to_json(), **options})
        except TypeError as exc:
            raise UsageError(f"bad retry policy: {exc}") from None
        backend.set_retry(policy)
        return _json(policy.to_json())

    routes: dict[str, dict[str, Callable[[], Awaitable[Response]]]] = {
        "": {"GET": index},
        "recordings": {"GET": recordings},
        "callbacks": {"GET": callbacks},
        "journal": {"GET": journal},
        "reset": {"POST": reset},
        "inject": {"POST": inject},
        "advance": {"POST": advance},
        "retry-policy": {"GET": get_policy, "PUT": put_policy},
        "stop": {"POST": stop},
        "choices": {"GET": choices},
    }
    if path.startswith("static/") and path[len("static/") :] in _STATIC:
        if method not in ("GET", "HEAD"):
            return _error(405, f"{method} is not allowed here; use GET", {"allow": "GET"})
        return _static(path[len("static/") :])
    if path.startswith("recordings/"):
        found = backend.find(unquote(path[len("recordings/") :]))
        if method != "GET":
            return _error(405, f"{method} is not allowed here; use GET", {"allow": "GET"})
        if found is None:
            return _error(404, "no such recording")
        return _json(found.to_json())
    handlers = routes.get(path)
    if handlers is None:
        known = ", ".join(f"{CONTROL}/{name}" for name in routes)
        return _error(404, f"no such control endpoint; known: {known}")
    handler = handlers.get(method)
    if handler is None:
        allowed = ", ".join(handlers)
        return _error(405, f"{method} is not allowed here; use {allowed}", {"allow": allowed})
    return await handler()


async def _options(request: Request) -> dict[str, Any]:
    # Read in pieces and refused as soon as it is over the cap: a control request's body is
    # never held whole (a 476 MiB body once took ~1 GB before its 413).
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, f"the body is over {MAX_BODY} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise ApiError(413, f"the body is over {MAX_BODY} bytes")
    if not data.strip():
        return {}
    try:
        options = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UsageError("the body is not valid JSON") from None
    if not isinstance(options, dict):
        raise UsageError("the body must be a JSON object")
    return options
