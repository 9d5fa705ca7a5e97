from __future__ import annotations

import _thread
import asyncio
import json
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import aircore_mock
from aircore_mock import AppServer, Generator, Receiver, Sender, send
from aircore_mock.generation.scenarios import names
from aircore_mock.sending import LIFESPAN_TIMEOUT

from .apps import (
    every_scope_is_http_app,
    free_port_refusing,
    hanging_app,
    http_only_asgi_app,
    integrity_error_app,
    lifespan_app,
    lifespan_hooks_app,
    scripted_app,
    skips_other_scopes_app,
    starlette_app,
    wsgi_app,
)
from .faulty import cuts_its_answer_short, raw_server


def test_asgi_app_in_process() -> None:
    seen: list[Any] = []
    callbacks = Generator(1).scenario("upload-failed")
    report = send(callbacks, starlette_app(seen), path="/aircore")
    assert report.ok and report.total == 3
    assert seen == callbacks
    assert [r.status for r in report.results] == [200, 200, 200]
    assert report.results[0].body == '{"ok":true}'


def test_an_asgi_apps_lifespan_runs_around_the_send() -> None:
    events: list[str] = []
    callbacks = Generator(1).scenario("uploaded")
    report = send(callbacks, lifespan_app(events))
    assert report.ok, [r.describe() for r in report.results]
    assert events == ["startup", *(c["event"] for c in callbacks), "shutdown"]


def test_a_sender_starts_an_asgi_app_once_and_shuts_it_down_at_close() -> None:
    events: list[str] = []
    with Sender(lifespan_app(events)) as sender:
        assert sender.send(Generator(1).scenario("upload-failed")).ok
        assert sender.send(Generator(2).scenario("upload-failed")).ok
        assert events.count("startup") == 1 and "shutdown" not in events
    assert events[-1] == "shutdown" and len(events) == 1 + 6 + 1


def test_lifespan_can_be_left_to_the_caller() -> None:
    events: list[str] = []
    report = send(Generator(1).scenario("uploaded"), lifespan_app(events), lifespan=False)
    # No startup, so no store: the app fails every callback, and says so with a 500.
    assert events == [] and report.statuses == {500: 3}


def test_an_asgi_app_whose_startup_fails_raises_its_error() -> None:
    events: list[str] = []
    with pytest.raises(RuntimeError, match="the database is down"):
        send(Generator(1).scenario("uploaded"), lifespan_app(events, fail_startup=True))
    assert events == ["startup"]


@pytest.mark.parametrize(
    "make_app", [http_only_asgi_app, skips_other_scopes_app, every_scope_is_http_app]
)
def test_an_asgi_app_without_lifespan_support_still_gets_its_callbacks(make_app: Any) -> None:
    seen: list[Any] = []
    callbacks = Generator(1).scenario("upload-failed")
    started = time.monotonic()
    report = send(callbacks, make_app(seen), concurrency=2)
    assert report.ok and seen == callbacks
    # No waiting out LIFESPAN_TIMEOUT for a startup that never comes (half of it: far more
    # than a loaded machine needs for three in-process calls).
    assert time.monotonic() - started < LIFESPAN_TIMEOUT / 2


def test_a_failing_shutdown_is_a_warning_and_the_report_is_kept() -> None:
    with pytest.warns(RuntimeWarning, match="lifespan shutdown failed: RuntimeError: db gone"):
        report = send(
            Generator(1).scenario("uploaded"), lifespan_hooks_app(shutdown_error="db gone")
        )
    assert report.ok and report.total == 3
    sender = Sender(lifespan_hooks_app(shutdown_error="db gone"))
    sender.send(Generator(1).scenario("uploaded"))
    with pytest.raises(RuntimeError, match="db gone"):
        sender.close()  # called by hand, it says so


def test_ctrl_c_during_an_apps_startup_reports_every_callback() -> None:
    started, release = threading.Event(), threading.Event()

    def interrupt_once_starting() -> None:
        if started.wait(10):
            # Ctrl-C as the main thread sees it, aimed at this process's main thread only
            # (not a real signal to the whole process, which a test runner may be ignoring).
            _thread.interrupt_main(signal.SIGINT)

    # A terminal's Ctrl-C, whatever this test run inherited (a background job, nohup and
    # `trap '' INT` start Python with SIGINT ignored, and interrupt_main then does nothing).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupter = threading.Thread(target=interrupt_once_starting)
    interrupter.start()
    sender = Sender(lifespan_hooks_app(started, release))
    callbacks = Generator(1).scenario("uploaded")
    try:
        report = sender.send(callbacks)
    finally:
        release.set()
        sender.close()
        interrupter.join(10)
        signal.signal(signal.SIGINT, previous)
    assert started.is_set(), "the app's startup never ran: nothing was interrupted"
    assert report.interrupted and report.total == 3
    assert report.outcomes == {"not-sent": 3}


def test_wsgi_app_in_process() -> None:
    seen: list[Any] = []
    callbacks = Generator(2).scenario("burst", count=5)
    report = send(callbacks, wsgi_app(seen), concurrency=4)
    assert report.ok and report.total == len(callbacks) == len(seen)
    assert sorted(map(str, seen)) == sorted(map(str, callbacks))


def test_flask_app_in_process() -> None:
    flask = pytest.importorskip("flask")
    app = flask.Flask("receiver")
    seen: list[Any] = []

    @app.post("/")
    def callback() -> tuple[str, int]:
        seen.append(flask.request.get_json())
        return "", 204

    report = send(Generator(3).deliveries("uploaded"), app)
    assert report.ok and len(seen) == 3


def test_an_app_that_raises_counts_as_a_500() -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("database is down")

    report = send(Generator(1).scenario("uploaded"), broken)
    assert not report.ok
    assert {r.status for r in report.results} == {500}


@pytest.mark.parametrize("concurrency", [1, 8])
def test_every_scenario_arrives_valid_and_in_order_at_the_real_receiver(concurrency: int) -> None:
    with Receiver() as receiver:
        for name in names():
            receiver.reset()
            deliveries = list(Generator(5).deliveries(name, count=4))
            report = send(deliveries, receiver.url, concurrency=concurrency)
            assert report.ok and report.total == len(deliveries), name
            got = receiver.wait_for(len(deliveries), timeout=10)
            assert len(got) == len(deliveries)
            assert all(c.verdict == "valid" for c in receiver.captures), name
            # per recording, the order the scenario chose is the order that arrived
            for url in {d.recording_url for d in deliveries}:
                sent = [d.callback for d in deliveries if d.recording_url == url]
                arrived = [c for c in got if c["recording"]["url"] == url]
                assert arrived == sent, name
            summary = receiver.summary()
            if "duplicate" in name:
                assert summary.duplicates == 4
            if name in ("out-of-order", "reversed"):
                assert summary.out_of_order >= 4
            if name in ("uploaded", "upload-failed", "burst"):
                assert summary.duplicates == summary.out_of_order == 0


def test_connection_refused_is_reported_for_every_delivery() -> None:
    started = time.monotonic()
    report = send(Generator(1).scenario("uploaded"), free_port_refusing(), retries=2, backoff=0.01)
    assert report.total == 3 and report.delivered == 0
    assert {r.outcome for r in report.results} == {"unreachable"}
    assert all(r.attempts == 3 for r in report.results)
    assert report.results[0].describe().startswith("unreachable: connection refused by 127.0.0.1:")
    assert time.monotonic() - started < 10


@pytest.mark.slow  # the Retry-After of 1 s is waited for; here over aiohttp's headers
def test_429_honours_retry_after() -> None:
    app = scripted_app([429, 204], headers={"retry-after": "1"})
    with AppServer(app) as server:
        started = time.monotonic()
        report = send(Generator(1).scenario("in-progress"), server.url, retries=1, backoff=0)
        waited = time.monotonic() - started
    (result,) = report.results
    assert result.delivered and result.attempts == 2
    assert 0.9 <= waited < 30  # waited for the Retry-After, and not for ever


def test_connection_closed_mid_response() -> None:
    with raw_server(cuts_its_answer_short) as server:
        report = send(Generator(1).scenario("uploaded"), server.url, timeout=2)
    assert report.total == 3 and report.delivered == 0
    assert {r.outcome for r in report.results} == {"error"}
    assert "closed mid-response" in report.results[0].describe()


def _first_request_gate() -> tuple[Any, threading.Event, threading.Event]:
    """A WSGI app that signals its first request, then holds every answer until released."""
    arrived, release = threading.Event(), threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        arrived.set()
        release.wait(10)
        start_response("204 No Content", [])
        return [b""]

    return app, arrived, release


@pytest.mark.parametrize("concurrency", [1, 4])
def test_stop_reports_the_rest_as_not_sent(concurrency: int) -> None:
    app, arrived, release = _first_request_gate()
    sender = Sender(app, concurrency=concurrency, timeout=5)
    callbacks = Generator(1).scenario("burst", count=20)

    def stop_once_busy() -> None:
        arrived.wait(10)
        sender.stop()
        release.set()

    threading.Thread(target=stop_once_busy).start()
    report = sender.send(callbacks)
    assert report.interrupted and not report.ok
    assert report.total == len(callbacks) == 60  # nothing lost: one result per callback
    assert sorted(r.index for r in report.results) == list(range(60))
    assert report.outcomes["not-sent"] >= 60 - 2 * concurrency
    # the same Sender works again afterwards
    release.set()
    again = sender.send(callbacks[:3])
    assert again.ok and not again.interrupted


@pytest.mark.parametrize("concurrency", [1, 2])
def test_a_slow_input_is_sent_as_it_comes_and_a_stop_does_not_wait_for_it(
    concurrency: int,
) -> None:
    more = threading.Event()  # the input's next line, which never comes
    callbacks = Generator(4).scenario("upload-failed")

    def piped_input() -> Iterator[dict[str, Any]]:
        yield from callbacks
        more.wait(30)

    with Receiver() as receiver:
        sender = Sender(receiver.url, concurrency=concurrency)

        stopped: list[float] = []

        def stop_once_all_arrived() -> None:
            try:
                receiver.wait_for(3, timeout=10)  # sent while the input still waits
            finally:
                stopped.append(time.monotonic())
                sender.stop()

        threading.Thread(target=stop_once_all_arrived).start()
        try:
            report = sender.send(piped_input())
        finally:
            more.set()
        ended = time.monotonic()
    assert report.delivered == report.total == 3 and report.interrupted
    # The stop does not wait for the input, which would block for 30 s.
    assert ended - stopped[0] < 15


@pytest.mark.parametrize("value", ["caf\u00e9", "a\r\nInjected: yes", "nul\0"])
def test_a_header_http_cannot_carry_is_a_usage_error_before_anything_is_sent(value: str) -> None:
    seen: list[Any] = []
    with pytest.raises(aircore_mock.UsageError, match="bad header 'X-Token'"):
        send(Generator(1).scenario("uploaded"), wsgi_app(seen), headers={"X-Token": value})
    assert seen == []


def test_headers_are_sent() -> None:
    with Receiver() as receiver:
        send(
            Generator(1).scenario("in-progress"),
            receiver.url,
            headers={"Authorization": "Bearer s3cret"},
        )
        (capture,) = receiver.captures
    assert capture.headers["authorization"] == "Bearer s3cret"
    assert capture.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"target": "ftp://example.com"}, "bad target URL"),
        ({"target": "http://"}, "bad target URL"),
        ({"target": 5}, "must be a URL, an ASGI app or a WSGI app"),
        ({"target": "http://127.0.0.1/", "concurrency": 0}, "concurrency must be at least 1"),
        ({"target": "http://127.0.0.1/", "timeout": 0}, "timeout must be positive"),
        ({"target": "http://127.0.0.1/", "retries": -1}, "retries must not be negative"),
    ],
)
def test_bad_sender_arguments(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(aircore_mock.UsageError, match=words):
        Sender(**kwargs)


def test_report_summary_has_percentiles_and_counts() -> None:
    with Receiver() as receiver:
        report = send(Generator(1).scenario("burst", count=10), receiver.url, concurrency=4)
    data = report.summary()
    assert data["total"] == data["delivered"] == 30
    assert data["statuses"] == {"204": 30}
    p = data["latency_ms"]
    assert 0 < p["p50"] <= p["p95"] <= p["p99"]
    assert data["throughput_per_s"] > 0


def test_ctrl_c_mid_send_still_reports_every_callback() -> None:
    calls: list[int] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what Ctrl-C looks like while waiting for an answer
        start_response("204 No Content", [])
        return [b""]

    callbacks = Generator(1).scenario("uploaded", count=2)
    report = send(callbacks, app)
    assert report.interrupted
    assert report.total == 6 and report.delivered == 1
    assert [r.outcome for r in sorted(report.results, key=lambda r: r.index)] == [
        "delivered",
        *["not-sent"] * 5,
    ]
    assert "interrupted while waiting" in report.results[1].error


def test_an_asgi_app_keeps_one_event_loop_across_sends() -> None:
    import asyncio

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    loops: set[int] = set()

    async def callback(request: Request) -> Response:
        loops.add(id(asyncio.get_running_loop()))
        return Response(status_code=204)

    sender = Sender(Starlette(routes=[Route("/", callback, methods=["POST"])]), concurrency=2)
    try:
        for seed in range(3):
            assert sender.send(Generator(seed).scenario("uploaded")).ok
    finally:
        sender.close()
    assert len(loops) == 1


def test_an_asgi_apps_exception_is_attached_to_its_result() -> None:
    report = send(Generator(1).scenario("uploaded"), integrity_error_app())
    first, second, third = sorted(report.results, key=lambda r: r.index)
    assert first.delivered and first.app_error is None
    assert second.status == 500 and third.status == 500
    assert "sqlite3.IntegrityError: UNIQUE constraint failed: recordings.url" in (
        second.app_error or ""
    )
    assert 'db.execute("insert into recordings' in (second.app_error or "")  # its traceback


def test_a_flask_apps_logged_exception_is_attached_to_its_result() -> None:
    flask = pytest.importorskip("flask")
    app = flask.Flask("receiver")  # not in testing mode: Flask answers 500 and logs the error

    @app.post("/")
    def callback() -> tuple[str, int]:
        raise LookupError("no recording table")

    report = send(Generator(1).scenario("in-progress"), app)
    (result,) = report.results
    assert result.status == 500
    assert "LookupError: no recording table" in (result.app_error or "")


def test_the_cli_shows_an_apps_exception_beside_its_delivery() -> None:
    from aircore_mock.reporting.text import delivery_line

    report = send(Generator(1).scenario("uploaded"), integrity_error_app())
    line = delivery_line(sorted(report.results, key=lambda r: r.index)[1])
    assert "HTTP 500" in line and "the app raised:" in line and "IntegrityError" in line


def test_stop_now_ends_a_send_whose_lane_is_full_and_input_is_done() -> None:
    # One lane: the first callback hangs in the receiver, the next 64 fill the lane's queue
    # and the input ends; stop(now=True) must end it all, not wait for room in the queue.
    release, arrived = threading.Event(), threading.Event()
    bodies = [b'{"n": %d}' % i for i in range(65)]
    with AppServer(hanging_app(release, arrived)) as server:
        sender = Sender(server.url, concurrency=1, timeout=60)

        def stop_once_busy() -> None:
            arrived.wait(20)
            sender.stop(now=True)

        threading.Thread(target=stop_once_busy).start()
        try:
            started = time.monotonic()
            report = sender.send(bodies)
            elapsed = time.monotonic() - started
        finally:
            release.set()
            sender.close()
    assert report.total == 65 and report.interrupted
    assert report.outcomes == {"not-sent": 65}
    assert elapsed < 30  # the hanging answer (60 s deadline) was not waited for


def test_an_asgi_answer_counts_when_sent_and_background_work_finishes_by_close() -> None:
    # Answer at once, then process: the delivery takes the answer's time, not the work's,
    # and the work is done by the time send() returns (as a server lets it finish).
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    processed: list[str] = []

    async def work(event: str) -> None:
        await asyncio.sleep(1.5)
        processed.append(event)

    async def callback(request: Request) -> Response:
        event = (await request.json())["event"]
        return Response(status_code=202, background=BackgroundTask(work, event))

    app = Starlette(routes=[Route("/", callback, methods=["POST"])])
    report = send(Generator(1).scenario("uploaded"), app, timeout=1)
    assert report.ok and all(r.latency_ms < 1000 for r in report.results)
    assert sorted(processed) == sorted(r.event for r in report.results)


def test_a_wsgi_app_that_hangs_once_delays_nothing_after_it() -> None:
    calls: list[int] = []
    release = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append(1)
        if len(calls) == 1:
            release.wait(30)  # hangs far past the deadline
        start_response("204 No Content", [])
        return [b""]

    try:
        report = send(Generator(1).scenario("uploaded"), app, timeout=1)
    finally:
        release.set()
    outcomes = [r.outcome for r in sorted(report.results, key=lambda r: r.index)]
    assert outcomes == ["timeout", "delivered", "delivered"]


def test_a_hung_wsgi_app_does_not_keep_the_process_from_exiting() -> None:
    import subprocess
    import sys

    code = (
        "import threading\n"
        "from aircore_mock import Generator, send\n"
        "def app(environ, start_response):\n"
        "    threading.Event().wait()\n"  # forever
        "report = send(Generator(1).scenario('in-progress'), app, timeout=0.5)\n"
        "print(report.outcomes)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "'timeout': 1" in done.stdout


@pytest.mark.parametrize("count", [50, 300])  # 300: more than a lane's queue holds
def test_a_result_callback_that_raises_ends_the_send_and_raises(count: int) -> None:
    calls: list[int] = []

    def on_result(result: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise BrokenPipeError("the reader left")

    with Receiver() as receiver:
        started = time.monotonic()
        with pytest.raises(BrokenPipeError, match="the reader left"):
            send(Generator(1).scenario("uploaded", count=count), receiver.url, on_result=on_result)
        assert time.monotonic() - started < 20


def test_a_cancelled_async_send_leaves_nothing_running() -> None:
    from aircore_mock import AsyncSender

    from .faulty import never_answers, raw_server

    async def main(url: str) -> set[str]:
        async with AsyncSender(url, concurrency=2, timeout=30) as sender:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(sender.send(Generator(1).scenario("uploaded")), 0.5)
        current = asyncio.current_task()
        return {t.get_coro().__qualname__ for t in asyncio.all_tasks() if t is not current}

    with raw_server(never_answers) as server:
        assert asyncio.run(main(server.url)) == set()


def test_a_callback_that_is_not_json_is_an_error_result_and_the_rest_go() -> None:
    seen: list[Any] = []
    callbacks: list[Any] = Generator(1).scenario("uploaded")
    callbacks.insert(1, {"event": "recording-started", "bad": {1, 2}})
    for deliveries in (callbacks, iter(callbacks)):
        report = send(deliveries, wsgi_app(seen))
        results = sorted(report.results, key=lambda r: r.index)
        assert [r.index for r in results] == [0, 1, 2, 3]
        assert [r.outcome for r in results] == ["delivered", "error", "delivered", "delivered"]
        assert "not JSON" in (results[1].error or "")


def test_a_stop_reports_every_delivery_taken_from_a_lazy_input() -> None:
    taken: list[int] = []

    def lazy() -> Iterator[bytes]:
        for n in range(100_000):
            taken.append(n)
            yield b'{"n": %d}' % n

    release, arrived = threading.Event(), threading.Event()
    with AppServer(hanging_app(release, arrived)) as server:
        sender = Sender(server.url, concurrency=2, timeout=60)

        def stop_once_busy() -> None:
            arrived.wait(20)
            sender.stop()
            sender.stop(now=True)

        threading.Thread(target=stop_once_busy).start()
        try:
            report = sender.send(lazy())
        finally:
            release.set()
            sender.close()
    assert report.total == len(taken)  # every one taken got its result, none twice
    assert sorted(r.index for r in report.results) == list(range(len(taken)))


def test_rate_counts_attempts_so_a_stalled_receiver_is_not_followed_by_a_burst() -> None:
    arrivals: list[float] = []
    stalled = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            stalled.wait(1.5)  # the receiver stalls on its first callback
        start_response("204 No Content", [])
        return [b""]

    report = send(Generator(2).scenario("uploaded", count=4), app, rate=10, concurrency=4)
    assert report.ok
    after = sorted(arrivals)[1:]
    # at most 10 a second: any 0.5 s window after the stall holds at most ~6 attempts
    for i, start in enumerate(after):
        assert sum(1 for t in after[i:] if t - start < 0.5) <= 6


def test_raw_bodies_keep_each_recordings_order() -> None:
    import orjson

    order: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        event = json.loads(environ["wsgi.input"].read(size))["event"]
        if event == "recording-started":
            time.sleep(0.2)  # a slow first answer: what comes next must wait for it
        order.append(event)
        start_response("204 No Content", [])
        return [b""]

    bodies = [orjson.dumps(c) for c in Generator(3).scenario("uploaded")]
    assert send(bodies, app, concurrency=4).ok
    assert order == ["recording-started", "recording-stopped", "recording-uploaded"]


def test_a_sender_used_from_async_code_sends_and_closes() -> None:
    events: list[str] = []

    async def main() -> Any:
        with Sender(lifespan_app(events)) as sender:
            return sender.send(Generator(1).scenario("uploaded"))

    report = asyncio.run(main())
    assert report.ok and events[0] == "startup" and events[-1] == "shutdown"


def test_a_send_gives_back_the_callers_signal_wakeup_fd() -> None:
    import socket

    a, b = socket.socketpair()
    a.setblocking(False)
    previous = signal.set_wakeup_fd(a.fileno())
    try:
        with Receiver() as receiver:
            assert send(Generator(1).scenario("in-progress"), receiver.url).ok
        assert signal.set_wakeup_fd(previous) == a.fileno()
    finally:
        a.close()
        b.close()


def test_a_reports_repr_stays_short_however_many_results_it_keeps() -> None:
    seen: list[Any] = []
    report = send(Generator(4).scenario("burst", count=100), wsgi_app(seen))
    assert report.total == len(seen) >= 300 and len(report.results or ()) == report.total
    text = repr(report)
    assert len(text) < 200 and text.startswith("<Report total=")
    assert f"delivered={report.total}" in text


# --- found by an adversarial review of the lane hand-off -----------------------------------


def _numbered(count: int, recordings: int) -> list[dict[str, Any]]:
    return [
        {"event": "x", "recording": {"url": f"https://r/{i % recordings}"}, "i": i}
        for i in range(count)
    ]


def _slow_app(delay: float) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await asyncio.sleep(delay)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def _one_result_each(results: list[Any], count: int) -> None:
    assert sorted(r.index for r in results) == list(range(count))


@pytest.mark.parametrize("now", [True, False])
def test_a_stop_while_lanes_wait_for_their_rate_slot_gives_every_delivery_its_result(
    now: bool,
) -> None:
    results: list[Any] = []

    async def main() -> None:
        sender = aircore_mock.AsyncSender(_slow_app(0), concurrency=3, rate=0.05)

        def on_result(result: Any) -> None:
            results.append(result)
            if len(results) == 1:  # the other lanes now wait 20 s for their slots
                sender.stop(now=now)

        async with sender:
            # A stop ends the waits for slots at once (without it: minutes).
            await asyncio.wait_for(sender.send(_numbered(6, 3), on_result=on_result), 60)

    asyncio.run(main())
    _one_result_each(results, 6)
    assert [r.outcome.value for r in results].count("delivered") == 1


def test_an_anyio_cancel_scope_around_a_send_still_gives_every_delivery_its_result() -> None:
    import anyio

    results: list[Any] = []

    async def main() -> bool:
        async with aircore_mock.AsyncSender(_slow_app(0.05), concurrency=4) as sender:
            # anyio cancels the task again on every pass of the loop until it ends
            with anyio.move_on_after(0.2) as scope:
                await sender.send(_numbered(300, 8), on_result=results.append)
        return scope.cancelled_caught

    assert asyncio.run(main())
    _one_result_each(results, 300)


def test_a_cancel_right_after_a_stop_is_not_mistaken_for_the_stop() -> None:
    results: list[Any] = []

    async def main() -> None:
        called = asyncio.Event()
        slow = _slow_app(30)

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                called.set()
            await slow(scope, receive, send)

        async with aircore_mock.AsyncSender(app, concurrency=4, timeout=60) as sender:
            deliveries = _numbered(1000, 10)  # more than the lanes hold: the feeder still runs
            task = asyncio.ensure_future(sender.send(deliveries, on_result=results.append))
            await asyncio.wait_for(called.wait(), 20)  # requests in flight
            sender.stop()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 20)  # at once, not after the 30 s answers

    asyncio.run(main())
    _one_result_each(results, 1000)


def test_a_report_counts_events_given_as_a_str_enum() -> None:
    import enum

    class Event(str, enum.Enum):
        STARTED = "recording-started"

    report = aircore_mock.Report()
    result = aircore_mock.Result(
        0, {"event": Event.STARTED}, None, None, 1, 204, 1.0, aircore_mock.DeliveryOutcome.DELIVERED
    )
    report.add(result)
    assert report.events == {Event.STARTED: 1}
