"""Forwarding (`receive --forward-to URL`): each callback, once captured and judged, goes on to
the app under development through the sending engine, and the app's answer goes back to the
sender.

One engine runs for the server's life on the server's own loop, fed as requests come in
(lanes per recording keep each recording's callbacks in order, as Aircore's would arrive).
What the app answered (status, headers, body) goes back to the sender as it is; when the app
gives no answer (refused, timed out, cut off), the sender gets a 502 naming what went wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from ..results import Result
from ..sending import AsyncSender, check_url
from ..sending.transports import AiohttpTransport, Answer
from .endpoint import Reply
from .store import Capture, Forwarded

ANSWER_SKIPPED = frozenset(
    {"connection", "keep-alive", "content-length", "transfer-encoding", "date", "upgrade", "te",
     "trailer", "proxy-connection", "content-encoding"}
)  # fmt: skip
"""Headers of the app's answer that are not passed back: they frame the app's connection,
not the sender's (the capture server frames its own answer; the body comes back decoded)."""
_SENT_SKIPPED = frozenset(
    {"connection", "content-length", "expect", "host", "keep-alive", "proxy-connection", "te",
     "trailer", "transfer-encoding", "upgrade", "accept-encoding"}
)  # fmt: skip
# (accept-encoding: the app answers uncompressed, so its body can be shown and passed back)


class _Headers(dict[str, str]):
    """A forwarded request's headers, which also carry the app's answer back (the transport
    sets `answer`; the engine's result says only how it went)."""

    answer: Answer | None = None


class _Forward:
    """One request on its way to the app (a delivery for the engine)."""

    __slots__ = ("body", "callback", "future", "headers", "recording_url")

    quirk = None
    offset_ms = None
    lane = None

    def __init__(self, capture: Capture, future: asyncio.Future[tuple[Reply, Forwarded]]) -> None:
        self.body = capture.body
        self.callback = capture.payload
        self.recording_url = capture.recording_url
        headers = _Headers()
        for name, value in capture.headers.items():
            if name not in _SENT_SKIPPED and value.isascii() and "\n" not in value:
                headers[name] = value
        headers.setdefault("content-type", "application/json")
        self.headers = headers
        self.future = future


class _Keeping:
    """A transport that keeps each answer whole (status, headers, body) on its request's
    headers, for the engine's result has only an excerpt."""

    def __init__(self, inner: AiohttpTransport) -> None:
        self.inner = inner

    async def open(self) -> None:
        await self.inner.open()

    async def post(self, body: bytes, headers: Mapping[str, str] | None = None) -> Answer:
        answer = await self.inner.post(body, headers)
        if isinstance(headers, _Headers):
            headers.answer = answer
        return answer

    async def aclose(self) -> None:
        await self.inner.aclose()


def _bad_gateway(why: str) -> Reply:
    body = f"aircore-mock: forwarding to the app failed: {why}\n".encode()
    return Reply(502, ((b"content-type", b"text/plain; charset=utf-8"),), body)


class Forwarder:
    """Forwards captured requests to `url` (the app) and gives back its answers.

    `forward()` is awaited on the capture server's loop; `start()` and `close()` run there
    too, around the server's life. `timeout` bounds each forward, connect to last byte.
    """

    def __init__(self, url: str, *, timeout: float = 10.0, concurrency: int = 16) -> None:
        self.url = check_url(url)
        self.timeout = timeout
        self.concurrency = concurrency
        self._queue: asyncio.Queue[_Forward | None] | None = None
        self._task: asyncio.Task[Any] | None = None
        self._pending: dict[int, _Forward] = {}
        self._fed = 0

    async def start(self) -> None:
        """Start the engine on the running loop."""
        transport = AiohttpTransport(
            self.url,
            {"user-agent": "aircore-mock (forwarding)"},
            connections=self.concurrency,
        )
        sender = AsyncSender(
            self.url,
            transport=_Keeping(transport),  # type: ignore[arg-type]
            concurrency=self.concurrency,
            timeout=self.timeout,
        )
        self._sender = sender
        self._queue = asyncio.Queue()
        self._task = asyncio.ensure_future(
            sender.send(self._feed(), keep_results=False, on_result=self._answered)
        )

    async def _feed(self) -> AsyncIterator[_Forward]:
        assert self._queue is not None
        while True:
            item = await self._queue.get()
            if item is None:
                return
            self._pending[self._fed] = item
            self._fed += 1
            yield item

    def _answered(self, result: Result) -> None:
        forward = self._pending.pop(result.index, None)
        if forward is None or forward.future.done():
            return
        answer = forward.headers.answer
        if result.status is None or answer is None:
            why = result.error or result.outcome.value
            gone = Forwarded(None, result.latency_ms, {}, b"", why)
            forward.future.set_result((_bad_gateway(why), gone))
            return
        headers = {k.lower(): v for k, v in answer.headers.items()}
        kept = tuple(
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in headers.items()
            if k not in ANSWER_SKIPPED
        )
        forwarded = Forwarded(answer.status, result.latency_ms, headers, answer.body)
        forward.future.set_result((Reply(answer.status, kept, answer.body), forwarded))

    async def forward(self, capture: Capture) -> Reply:
        """Send `capture` to the app; its answer (or a 502), with `capture.forwarded` set."""
        if self._queue is None:
            await self.start()
        assert self._queue is not None
        future: asyncio.Future[tuple[Reply, Forwarded]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Forward(capture, future))
        reply, capture.forwarded = await future
        return reply

    async def close(self) -> None:
        """Let the forwards in flight finish (up to the timeout) and close the connections."""
        if self._queue is None or self._task is None:
            return
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.TimeoutError, Exception):
            await asyncio.wait_for(asyncio.shield(self._task), self.timeout + 1)
        if not self._task.done():
            self._sender.stop(now=True)
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._task, 5)
        with contextlib.suppress(Exception):
            await self._sender.aclose()
        for forward in self._pending.values():
            if not forward.future.done():
                why = "the receiver is shutting down"
                forward.future.set_result((_bad_gateway(why), Forwarded(None, 0.0, {}, b"", why)))
        self._queue = self._task = None
