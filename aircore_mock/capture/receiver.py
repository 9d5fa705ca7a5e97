"""`Receiver`: the capture server put together (`aircore-mock receive`, the
`aircore_receiver` fixture): the store, the endpoint, the server and the log."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import UsageError
from ..server import JsonlLog, Limits, Refusals, normalize_path
from .endpoint import CaptureRules, capture_app
from .protocol import CaptureServer
from .store import Capture, CaptureStore, CaptureSummary

MIB = 1024 * 1024


class Receiver:
    """A real HTTP server on loopback that captures and checks callbacks.

    Use as a context manager (`with Receiver() as r: ... r.url, r.callbacks,
    r.wait_for(3)`) or call `serve()` to run it in the foreground.

    `limits` bounds what clients may do (see `Limits`: header and body timeouts, head size,
    open connections); `max_body` caps a body (413 beyond). `log` appends every request as a
    JSON line, written by a thread of its own so that a slow disk never stalls the server.
    `on_capture` is called on the server's event loop for each request: it must return at
    once (queue work elsewhere, e.g. with a `LineWriter`).

    `forward_to` (a URL: the app under development) forwards each callback, once captured and
    judged, with its method, headers and body as received; the sender gets the app's answer,
    or a 502 naming what went wrong; each capture's `forwarded` holds the app's answer and
    its latency (`forward_timeout` bounds each). Only the HTTP server forwards, not `app`.

    `ui` serves the inspector page at `ui_url` (loopback only; every capture is kept, as the
    page shows them all: with `keep=False`, kept for the page alone, without their parsed
    `payload`, which the page parses again from the body when it shows one); `resume` first
    reads back the captures `log` holds, so that the history survives a restart.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/",
        *,
        strict: bool = False,
        status: int = 204,
        max_body: int = MIB,
        log: str | Path | None = None,
        on_capture: Callable[[Capture], None] | None = None,
        keep: bool = True,
        limits: Limits | None = None,
        forward_to: str | None = None,
        forward_timeout: float = 10.0,
        ui: bool = False,
        resume: bool = False,
    ) -> None:
        if not 200 <= status <= 599:
            # a 1xx is an interim answer: the client would go on waiting for the final one
            raise UsageError(
                f"status must be an HTTP status code of a final answer (200-599), got {status}"
            )
        if max_body < 1:
            raise UsageError(f"max_body must be positive, got {max_body}")
        if ui and host not in ("127.0.0.1", "localhost", "::1"):
            raise UsageError(
                f"the inspector page has controls: it is served on loopback only, not {host}"
            )
        if resume and log is None:
            raise UsageError("resume reads the log back: give a log")
        self.host = host
        self.path = normalize_path(path)
        self.status = status
        self.max_body = max_body
        self.on_capture = on_capture
        self._log = None if log is None else JsonlLog(log, Capture.to_json)
        self.store = CaptureStore(
            strict=strict, keep=keep or ui, keep_payloads=keep, on_capture=self._captured
        )
        """The state: every capture, the counts, each recording's progress."""
        rules = CaptureRules(self.store, path=self.path, status=status, max_body=max_body)
        if forward_to is not None:
            from .forward import Forwarder

            rules.forwarder = Forwarder(forward_to, timeout=forward_timeout)
        self.forward_to = forward_to
        self.inspector = None
        """The inspector page's state (`ui`), or None."""
        if ui:
            from .inspector import Inspector

            self.inspector = rules.inspector = Inspector(
                self.store, callback_url=lambda: self.url, forward_to=forward_to
            )
        if resume:
            from .resume import read_log

            self.store.load(read_log(log))  # type: ignore[arg-type]
        self.app = capture_app(self.store, path=self.path, status=status, max_body=max_body)
        """The same endpoint as an ASGI app: usable in-process as a sender's target too."""
        self._server = CaptureServer(rules, host, port, limits=limits)
        self.port: int = self._server.port

    @property
    def url(self) -> str:
        """Where to send callbacks: `http://127.0.0.1:<port>/<path>`."""
        return self._server.url

    @property
    def ui_url(self) -> str | None:
        """The inspector page (`ui`): `http://127.0.0.1:<port>/_aircore-mock/`, or None."""
        if self.inspector is None:
            return None
        from .inspector import PREFIX

        scheme, host, *_ = urlsplit(self._server.url)
        return f"{scheme}://{host}{PREFIX}"

    @property
    def strict(self) -> bool:
        return self.store.strict

    @property
    def keep(self) -> bool:
        return self.store.keep

    # --- what arrived (the store's) -------------------------------------------------------

    @property
    def captures(self) -> list[Capture]:
        """Every request so far, in arrival order (a copy)."""
        return self.store.captures

    @property
    def callbacks(self) -> list[Any]:
        """The JSON payloads POSTed to the callback path so far, in arrival order."""
        return self.store.callbacks

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Any]:
        """Block until `count` callbacks have arrived; return them, or raise `WaitTimeout`."""
        return self.store.wait_for(count, timeout, where=self.url)

    def reset(self) -> None:
        """Forget everything captured (the server keeps running)."""
        self.store.reset()

    @property
    def limits(self) -> Limits:
        """What the server accepts from clients."""
        return self._server.limits

    @property
    def refusals(self) -> Refusals:
        """Clients the limits turned away (over the connection cap, too slow, too big)."""
        return self._server.refusals

    def summary(self) -> CaptureSummary:
        """Counts per event type and verdict, out-of-order, duplicates, undocumented fields,
        and the clients the limits refused."""
        return dataclasses.replace(
            self.store.summary(),
            refused=dataclasses.replace(self.refusals),
            log_lines_dropped=None if self._log is None else self._log.dropped,
            log_drop_causes={} if self._log is None else self._log.dropped_by,
        )

    def flush_log(self, timeout: float = 5.0) -> bool:
        """Wait until every request so far is in the log; False if that took over `timeout`."""
        return self._log is None or self._log.flush(timeout)

    def _captured(self, capture: Capture) -> None:
        if self._log is not None:
            self._log.put(capture)
        if self.inspector is not None:
            self.inspector.publish(capture)
        if self.on_capture is not None:
            self.on_capture(capture)

    # --- running --------------------------------------------------------------------------

    def _open_log(self) -> None:
        if self._log is not None:
            self._log.open()

    def start(self, timeout: float = 10.0) -> Receiver:
        """Serve in a background thread; returns once the server accepts requests."""
        self._open_log()
        self._server.start(timeout)
        return self

    def serve(self, on_ready: Callable[[Receiver], None] | None = None) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM (both shut it down gracefully)."""
        self._open_log()
        try:
            self._server.serve(None if on_ready is None else lambda: on_ready(self))
        finally:
            self._close_log()

    def shutdown(self) -> None:
        """Ask the server to stop (safe from a callback); `serve()` then returns."""
        self._server.shutdown()

    def stop(self) -> None:
        """Shut the server down and release the port."""
        self._server.stop()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
