"""A scripted transport: a function from request to answer, like httpx's `MockTransport`.

    def handler(request: ScriptedRequest) -> ScriptedReply | int | TransportFailure: ...
    with Sender(transport=ScriptedTransport(handler), retries=2) as sender: ...

The engine runs as it does against a real target (deadlines, retries, `Retry-After`,
giving up, pacing, lanes), with no socket and no app: what a receiver would do is scripted.
Delays are waits on the engine's loop, so keep them (and the sender's `timeout`) small.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import orjson

from .transports import _READ_CAP, Answer, TransportFailure, _override


@dataclass(frozen=True, slots=True)
class ScriptedRequest:
    """One POST as the scripted transport got it."""

    number: int
    """1 for the transport's first request, counted across retries, lanes and sends."""
    body: bytes
    headers: Mapping[str, str]
    """The transport's headers with the request's own over them, names in lowercase."""
    at: float
    """When it arrived, in `time.monotonic()` seconds (gaps between attempts are waits)."""

    def json(self) -> Any:
        """The body, parsed."""
        return orjson.loads(self.body)


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    """A scripted answer: `status`, `headers` and `body`, after `delay` seconds.

    `delay` counts against the sender's `timeout` (`math.inf` never answers: the deadline
    ends the attempt). With `cut_off` the answer starts and the connection closes before
    its end: no answer, an error, as a real transport reports it.
    """

    status: int = 204
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str = b""
    delay: float = 0.0
    cut_off: bool = False


Script: TypeAlias = "ScriptedReply | int | TransportFailure | Answer"
"""What a handler gives back: a `ScriptedReply`, a bare status, an `Answer`, or a failure
(which it may raise instead)."""
Handler: TypeAlias = "Callable[[ScriptedRequest], Script | Awaitable[Script]]"


class ScriptedTransport:
    """A `Transport` whose every answer comes from `handler` (sync or async).

    Every request is kept in `requests`, in the order they came. `headers` stand for the
    transport's own (the real transports send the Sender's `headers`).
    """

    def __init__(self, handler: Handler, *, headers: Mapping[str, str] | None = None) -> None:
        self.handler = handler
        self.headers = {name.lower(): value for name, value in (headers or {}).items()}
        self.requests: list[ScriptedRequest] = []
        self.opened = 0
        """How many sends opened it (`open` is called before each send's first post)."""
        self.closed = False

    async def open(self) -> None:
        self.opened += 1
        self.closed = False

    async def post(self, body: bytes, headers: Mapping[str, str] | None = None) -> Answer:
        sent = _override(self.headers, headers) or self.headers
        request = ScriptedRequest(
            len(self.requests) + 1,
            body,
            {name.lower(): value for name, value in sent.items()},
            time.monotonic(),
        )
        self.requests.append(request)
        script = self.handler(request)
        if inspect.isawaitable(script):
            script = await script
        return await _play(script)

    async def aclose(self) -> None:
        self.closed = True


async def _play(script: Any) -> Answer:
    if isinstance(script, TransportFailure):
        raise script
    if isinstance(script, Answer):
        return script
    if isinstance(script, bool) or not isinstance(script, int | ScriptedReply):
        raise TypeError(
            f"a scripted handler must give a ScriptedReply, a status or a failure: {script!r}"
        )
    reply = ScriptedReply(script) if isinstance(script, int) else script
    if reply.delay == math.inf:
        await asyncio.Event().wait()  # never answers: the engine's deadline cancels this wait
    elif reply.delay > 0:
        await asyncio.sleep(reply.delay)
    if reply.cut_off:
        raise TransportFailure.cut_off("the scripted answer was cut off")
    body = reply.body.encode() if isinstance(reply.body, str) else reply.body
    headers = {name.lower(): value for name, value in reply.headers.items()}
    return Answer(reply.status, body[:_READ_CAP], headers)
