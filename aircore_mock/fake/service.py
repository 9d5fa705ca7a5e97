"""`FakeAircore`: the backend, its app and, when asked, a server, behind one object."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx

from ..errors import UsageError
from ..server import AppServer, JsonlLog, Limits
from .app import MAX_BODY, fake_app
from .backend import (
    ApiRecording,
    FakeBackend,
    FakeSummary,
    Injection,
    JournalEntry,
    RetryPolicy,
    SentCallback,
)
from .clock import Clock, ClockMode
from .dispatch import DispatchHost
from .storage import LocalS3, S3Config, S3Uploader, s3_config

IN_PROCESS_URL = "http://aircore-mock.test"
"""The public host in stop URLs of a fake that is not served (`.test` never resolves)."""


class FakeAircore:
    """A stateful fake of Aircore's recording API that sends the callbacks back.

    In-process: `fake.app` is an ASGI app (`httpx.ASGITransport(app=fake.app)`), and
    `fake.transport()` a transport for a synchronous `httpx.Client`. As a server: `with
    FakeAircore() as fake:` serves on 127.0.0.1 (a free port unless `port` says) and
    `fake.url` is where to send requests. Both share one state: `recordings`, `callbacks`,
    `journal`, `advance()`, `inject()`, `reset()`.

    Real uploads (the `[s3]` extra): `s3="local"` runs an embedded S3 (moto's server on
    127.0.0.1, `fake.s3`), `s3="http://..."` uses any S3-compatible endpoint, an `S3Config`
    says more; each recording is PUT to its start request's bucket with its own keys and
    S3's answer decides the upload callback (`fake.s3_endpoint` is where to look).

    Time: `clock="manual"` (the default) stands still until `advance(seconds)`, so tests never
    sleep; `"realtime"` runs at `speed` times real time; `"instant"` runs every step (an
    auto-stop, an upload) as soon as it is reached.
    """

    def __init__(
        self,
        *,
        clock: ClockMode = "manual",
        speed: float = 1.0,
        api_keys: str | Iterable[str] = (),
        auto_stop: float | None = None,
        upload_delay: float | None = None,
        seed: int | None = None,
        retries: int = 0,
        backoff: float = 0.5,
        callback_timeout: float = 10.0,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        deliver_to: Any = None,
        max_body: int = MAX_BODY,
        limits: Limits | None = None,
        log: str | Path | None = None,
        on_request: Callable[[JournalEntry], None] | None = None,
        on_callback: Callable[[SentCallback], None] | None = None,
        s3: str | S3Config | None = None,
    ) -> None:
        if max_body < 1:
            raise UsageError(f"max_body must be positive, got {max_body}")
        self.s3_config = s3_config(s3)
        """Where recordings are really uploaded (None: nowhere, as without the extra)."""
        self.s3: LocalS3 | None = None
        """The embedded S3 when `s3` is local: `.endpoint_url`, `.client()`,
        `.create_bucket()`, `.credentials()`."""
        self._uploader: S3Uploader | None = None
        if self.s3_config is not None:
            self._uploader = self._start_s3(self.s3_config)
        self.backend = FakeBackend(
            clock=Clock(clock, speed=speed),
            api_keys=api_keys,
            public_url=public_url or IN_PROCESS_URL,
            auto_stop=auto_stop,
            upload_delay=upload_delay,
            seed=seed,
            retry=RetryPolicy(retries, backoff, callback_timeout),
            uploader=self._uploader,
        )
        """The state every layer shares."""
        self._fixed_public_url = public_url
        self.host = host
        self.port = port
        self._host = DispatchHost(self.backend, deliver_to=deliver_to)
        self.app = fake_app(self.backend, self._host, max_body=max_body)
        """The ASGI app: Aircore's recording API plus the `/_aircore-mock/` control API."""
        self._server: Any = None
        self.limits = limits or Limits()
        """What the server accepts from clients (timeouts, head size, connections)."""
        self._log = None if log is None else JsonlLog(log)
        self._refusals: Any = None
        self.on_request = on_request
        self.on_callback = on_callback
        self.backend.on_journal = self._journaled
        self.backend.on_result = self._delivered

    def _start_s3(self, config: S3Config) -> S3Uploader:
        if not config.local:
            return S3Uploader(config, config.endpoint)
        local = LocalS3(auth=config.auth, timeout=config.timeout)
        local.start()
        try:
            for spec in config.buckets:
                region, _, name = spec.rpartition("/")
                local.create_bucket(name, region or "us-east-1")
            uploader = S3Uploader(config, local.endpoint_url)
        except BaseException:
            local.stop()
            raise
        self.s3 = local
        return uploader

    # --- where it is ---------------------------------------------------------------------

    @property
    def s3_endpoint(self) -> str | None:
        """The S3 endpoint recordings are uploaded to (None without real uploads)."""
        return None if self._uploader is None else self._uploader.endpoint_url

    def scrub(self, text: str) -> str:
        """`text` with every secret value this fake has seen replaced by `[redacted]`: raw,
        percent-encoded or base64 (what its own outputs go through)."""
        return self.backend.secrets.scrub(text)

    @property
    def url(self) -> str:
        """The API's base URL: `http://127.0.0.1:<port>` when served, else the in-process host
        (`POST {url}/recording`)."""
        if self._server is not None:
            return self._server.url.rstrip("/")
        return self.backend.public_url

    @property
    def deliver_to(self) -> Any:
        """An ASGI or WSGI app that takes every callback in-process (at the callback URL's
        path and query) instead of the network; None sends over HTTP."""
        return self._host.deliver_to

    @deliver_to.setter
    def deliver_to(self, app: Any) -> None:
        self._host.deliver_to = app

    @property
    def clock(self) -> Clock:
        return self.backend.clock

    # --- state ---------------------------------------------------------------------------

    @property
    def recordings(self) -> list[ApiRecording]:
        """Every recording started since the last reset, in start order (snapshots)."""
        return self.backend.recordings

    def recording(self, identifier: str) -> ApiRecording:
        """One recording by id, internal URL or stop URL."""
        found = self.backend.find(identifier)
        if found is None:
            raise UsageError(f"no recording {identifier!r}")
        return found

    @property
    def callbacks(self) -> list[SentCallback]:
        """Every callback sent since the last reset, with its delivery result once known."""
        return self.backend.callbacks

    @property
    def journal(self) -> list[JournalEntry]:
        """Every request to the recording API since the last reset, secrets redacted."""
        return self.backend.journal

    def wait_for_callbacks(self, count: int, timeout: float = 5.0) -> list[SentCallback]:
        """Block until `count` callbacks have a delivery result; raises `CallbackTimeout`."""
        return self.backend.wait_for_callbacks(count, timeout)

    def advance(self, seconds: float) -> int:
        """Move the clock forward, running every auto-stop and upload due by then (each at
        its own time); returns how many steps ran. Their callbacks go out right away."""
        return self.backend.advance(seconds)

    def inject(
        self,
        what: str,
        *,
        recording: str | None = None,
        reason: str = "allPublishersLeft",
        after: float = 0.0,
        family: str | None = None,
        status: int = 500,
    ) -> Injection:
        """A fault for one recording (id or URL) or the next one: `stop` (with `reason`,
        `after` seconds), `upload-failure` (a catalogue `family`) or `error` (a 5XX `status`
        for the next API request, or the recording's next DELETE)."""
        return self.backend.inject(
            what, recording=recording, reason=reason, after=after, family=family, status=status
        )

    def set_retry_policy(
        self, retries: int = 0, backoff: float = 0.5, timeout: float = 10.0
    ) -> RetryPolicy:
        """How callbacks are retried from now on (until `reset`); none by default."""
        policy = RetryPolicy(retries, backoff, timeout)
        self.backend.set_retry(policy)
        return policy

    def reset(self) -> None:
        """Forget every recording, callback, request and injection (the server keeps
        running, the clock keeps its time)."""
        self.backend.reset()

    def summary(self) -> FakeSummary:
        """Counts of recordings by state and callbacks by delivery outcome; served, also the
        clients the limits refused."""
        refusals = self.refusals
        return dataclasses.replace(
            self.backend.summary(),
            refused=None if refusals is None else dataclasses.replace(refusals),
            log_lines_dropped=None if self._log is None else self._log.dropped,
            log_drop_causes={} if self._log is None else self._log.dropped_by,
        )

    @property
    def refusals(self) -> Any:
        """Clients the server's limits turned away (None when never served)."""
        if self._server is not None:
            return self._server.refusals
        return self._refusals

    def flush_log(self, timeout: float = 5.0) -> bool:
        """Wait until everything so far is in the log; False if that took over `timeout`."""
        return self._log is None or self._log.flush(timeout)

    # --- in-process clients --------------------------------------------------------------

    def transport(self) -> httpx.BaseTransport:
        """An `httpx.BaseTransport` that calls the app in-process, for a sync `httpx.Client`
        (`httpx.Client(transport=fake.transport(), base_url=fake.url)`)."""
        return _InProcessTransport(self)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An `httpx.ASGITransport` over the app, for an `httpx.AsyncClient`."""
        return httpx.ASGITransport(app=self.app)

    # --- serving -------------------------------------------------------------------------

    def _make_server(self) -> Any:
        server = AppServer(self.app, self.host, self.port, limits=self.limits)
        self.port = server.port
        self._server = server
        if self._fixed_public_url is None:
            self.backend.public_url = server.url.rstrip("/")
        return server

    def start(self, timeout: float = 10.0) -> FakeAircore:
        """Serve in a background thread; returns once the server accepts requests."""
        if self._server is None:
            self._open_log()
            self._make_server().start(timeout)
        return self

    def serve(self, on_ready: Callable[[FakeAircore], None] | None = None) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM (both shut it down gracefully)."""
        self._open_log()
        server = self._make_server()
        try:
            server.serve(None if on_ready is None else lambda: on_ready(self))
        finally:
            self._close()

    def shutdown(self) -> None:
        """Ask a foreground `serve()` to return (safe from any thread)."""
        if self._server is not None:
            self._server.shutdown()

    def stop(self) -> None:
        """Stop serving (callbacks in flight get a few seconds) and release the port."""
        if self._server is not None:
            self._server.stop()
        self._close()

    def _close(self) -> None:
        self._host.close()
        if self._server is not None:
            self._refusals = self._server.refusals
        self._server = None
        if self._log is not None:
            self._log.close()

    def close(self) -> None:
        """Stop everything this fake runs, the embedded S3 included (idempotent)."""
        self.stop()
        if self._uploader is not None:
            self._uploader.close()
        if self.s3 is not None:
            self.s3.stop()

    def __enter__(self) -> FakeAircore:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- output --------------------------------------------------------------------------

    def _open_log(self) -> None:
        if self._log is not None:
            self._log.open()

    def _write(self, record: dict[str, Any]) -> None:
        if self._log is not None:
            self._log.put(self.backend.secrets.scrub_json(record))

    def _journaled(self, entry: JournalEntry) -> None:
        if self._log is not None:  # (the record is built only for a log that takes it)
            self._write({"type": "request", **entry.to_json()})
        if self.on_request is not None:
            self.on_request(entry)

    def _delivered(self, sent: SentCallback) -> None:
        if self._log is not None:
            self._write({"type": "callback", **sent.to_json()})
        if self.on_callback is not None:
            self.on_callback(sent)


class _InProcessTransport(httpx.BaseTransport):
    """Runs each request through the app on the fake's background loop, for sync clients."""

    def __init__(self, fake: FakeAircore) -> None:
        self._fake = fake
        self._asgi = httpx.ASGITransport(app=fake.app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # a body the app can read on another thread's loop
        status, headers, content = self.submit(request).result(timeout=60)
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        """The same from async code: awaits the fake's loop without blocking the caller's."""
        await request.aread()
        future = asyncio.wrap_future(self.submit(request))
        status, headers, content = await asyncio.wait_for(future, 60)
        return httpx.Response(status, headers=headers, content=content, request=request)

    def submit(self, request: httpx.Request) -> Any:
        """Run `request` (its body read) through the app on the fake's background loop; a
        `concurrent.futures.Future` of `(status, headers, content)`."""

        async def call() -> tuple[int, Any, bytes]:
            response = await self._asgi.handle_async_request(request)
            content = await response.aread()
            return response.status_code, response.headers, content

        return asyncio.run_coroutine_threadsafe(call(), self._fake._host.loop())
