"""The engine's semantics (retries, Retry-After, deadlines, giving up, not-sent accounting,
rate and speed) against the scripted transport: no sockets, and only the waits the
behaviour itself needs. What a real transport adds is tested in test_sender.py and
test_faulty_targets.py, over real sockets."""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any

import pytest

from aircore_mock import Generator, ScriptedReply, ScriptedTransport, Sender, UsageError, send
from aircore_mock.sending import ScriptedRequest, TransportFailure

CALLBACKS = Generator(5).scenario("uploaded")  # three callbacks of one recording


def _assert_accounted(report: Any, count: int = 3) -> None:
    assert report.total == count
    assert sorted(r.index for r in report.results) == list(range(count))
    for result in report.results:
        assert result.delivered == (result.status is not None and 200 <= result.status < 300)


def _statuses(*statuses: int, headers: dict[str, str] | None = None) -> ScriptedTransport:
    """Answers with these statuses in turn (the last one for ever), as `scripted_app` does;
    each body says which answer it is."""

    def handler(request: ScriptedRequest) -> ScriptedReply:
        status = statuses[min(request.number, len(statuses)) - 1]
        return ScriptedReply(status, headers or {}, f"answer {request.number}")

    return ScriptedTransport(handler)


# --- retries ---------------------------------------------------------------------------


def test_retries_500_then_200() -> None:
    transport = _statuses(500, 500, 200)
    report = send(
        Generator(1).scenario("in-progress"), transport=transport, retries=3, backoff=0.01
    )
    (result,) = report.results
    assert result.delivered and result.attempts == 3 and result.status == 200
    assert len(transport.requests) == 3


def test_without_retries_a_500_is_a_failure() -> None:
    report = send(Generator(1).scenario("in-progress"), transport=_statuses(500, 200))
    (result,) = report.results
    assert not result.delivered and result.outcome == "rejected" and result.attempts == 1
    assert result.describe() == "HTTP 500: answer 1"


def test_503_is_retried_with_backoff_then_delivered() -> None:
    transport = _statuses(503, 503, 204)
    report = send(CALLBACKS[:1], transport=transport, retries=3, backoff=0.05)
    (result,) = report.results
    assert result.delivered and result.attempts == 3 and len(transport.requests) == 3


def test_redirects_are_not_followed() -> None:
    transport = _statuses(307, headers={"location": "http://elsewhere.test/"})
    report = send(Generator(1).scenario("in-progress"), transport=transport, retries=3)
    (result,) = report.results
    assert result.status == 307 and result.outcome == "redirected" and result.attempts == 1
    assert not report.ok


def test_a_redirect_loop_is_reported_not_followed() -> None:
    report = send(CALLBACKS, transport=_statuses(302, headers={"location": "/"}), retries=3)
    _assert_accounted(report)
    assert {r.outcome for r in report.results} == {"redirected"}
    assert all(r.attempts == 1 for r in report.results)


@pytest.mark.slow  # Retry-After is in whole seconds: the wait is real
@pytest.mark.parametrize("kind", ["seconds", "http-date"])
def test_429_honours_retry_after_in_seconds_and_as_a_date(kind: str) -> None:
    in_two_seconds = email.utils.formatdate(time.time() + 2, usegmt=True)
    value = "1" if kind == "seconds" else in_two_seconds
    transport = _statuses(429, 204, headers={"retry-after": value})
    started = time.monotonic()
    report = send(CALLBACKS[:1], transport=transport, retries=2, backoff=0)
    waited = time.monotonic() - started
    (result,) = report.results
    assert result.delivered and result.attempts == 2
    first, second = (r.at for r in transport.requests)
    # an HTTP-date has whole seconds: "now + 2 s" may mean anything from 1 to 2 s
    assert second - first >= 0.9
    assert waited < 30  # waited for the Retry-After, and not for ever


@pytest.mark.slow  # a backoff of 1 s, so that jitter has room to show
def test_retries_of_many_lanes_are_spread_by_jitter() -> None:
    # 16 recordings fail at once; full jitter spreads their second attempts over the backoff
    seen: set[bytes] = set()

    def handler(request: ScriptedRequest) -> int:
        if request.body not in seen:
            seen.add(request.body)
            return 503
        return 204

    transport = ScriptedTransport(handler)
    callbacks = Generator(7).scenario("in-progress", count=16)
    report = send(callbacks, transport=transport, concurrency=16, retries=1, backoff=1.0)
    assert report.ok and report.total == 16
    retries = sorted(r.at for r in transport.requests[16:])
    assert retries[-1] - retries[0] > 0.05  # not in lockstep


def test_connection_errors_are_retried_and_reported_for_every_delivery() -> None:
    transport = ScriptedTransport(lambda r: TransportFailure.refused("127.0.0.1:9"))
    report = send(Generator(1).scenario("uploaded"), transport=transport, retries=2, backoff=0.01)
    assert report.total == 3 and report.delivered == 0
    assert {r.outcome for r in report.results} == {"unreachable"}
    assert all(r.attempts == 3 for r in report.results)
    assert report.results[0].describe() == "unreachable: connection refused by 127.0.0.1:9"


# --- deadlines -------------------------------------------------------------------------


def test_a_hung_receiver_times_out() -> None:
    transport = ScriptedTransport(lambda r: ScriptedReply(delay=math.inf))
    started = time.monotonic()
    report = send(Generator(1).scenario("in-progress"), transport=transport, timeout=0.3)
    # Without the timeout the send would wait for as long as the target hangs: for ever.
    assert time.monotonic() - started < 30
    (result,) = report.results
    assert result.outcome == "timeout" and result.status is None
    assert "no answer within 0.3 s" in result.describe()


@pytest.mark.parametrize("delay", [math.inf, 0.4])
def test_the_timeout_bounds_each_attempt_and_retries_follow(delay: float) -> None:
    timeout, retries = 0.1, 1
    transport = ScriptedTransport(lambda r: ScriptedReply(delay=delay))
    started = time.monotonic()
    report = send(CALLBACKS, transport=transport, timeout=timeout, retries=retries, backoff=0.01)
    elapsed = time.monotonic() - started
    _assert_accounted(report)
    assert {r.outcome for r in report.results} == {"timeout"}
    assert all(r.attempts == retries + 1 for r in report.results)
    assert report.delivered == 0 and len(transport.requests) == 6
    # three callbacks, one after another: timeout x attempts each, plus the backoffs
    assert elapsed < 3 * (timeout * (retries + 1) + 0.5) + 10


def test_an_answer_cut_off_is_an_error_for_each_callback() -> None:
    transport = ScriptedTransport(lambda r: ScriptedReply(200, cut_off=True))
    report = send(CALLBACKS, transport=transport, timeout=2)
    _assert_accounted(report)
    assert {r.outcome for r in report.results} == {"error"}
    assert all("connection closed mid-response" in (r.error or "") for r in report.results)


# --- giving up, and one result per delivery --------------------------------------------


def test_a_dead_target_is_given_up_after_max_failures_in_a_row() -> None:
    callbacks = Generator(8).scenario("uploaded", count=10)
    transport = ScriptedTransport(lambda r: TransportFailure.refused("127.0.0.1:9"))
    report = send(callbacks, transport=transport, max_failures=5)
    _assert_accounted(report, 30)
    assert report.outcomes == {"unreachable": 5, "not-sent": 25}
    assert report.interrupted and report.gave_up is not None
    assert "gave up after 5 deliveries in a row without an answer" in report.gave_up
    assert report.failed == 5 and report.not_sent == 25


def test_a_silent_target_is_given_up_after_a_few_timeouts() -> None:
    callbacks = Generator(1).scenario("burst", count=50)
    transport = ScriptedTransport(lambda r: ScriptedReply(delay=math.inf))
    started = time.monotonic()
    report = send(callbacks, transport=transport, concurrency=4, timeout=0.1, max_failures=5)
    _assert_accounted(report, 150)
    assert report.gave_up is not None and report.not_sent > 0
    assert time.monotonic() - started < 15  # 150 x 0.1 s at -c 4 would be ~4 s


def test_answers_of_any_status_keep_a_send_going() -> None:
    report = send(
        Generator(9).scenario("uploaded", count=4), transport=_statuses(500), max_failures=2
    )
    assert report.statuses == {500: 12} and report.gave_up is None


# --- pacing ----------------------------------------------------------------------------


def test_rate_paces_the_deliveries() -> None:
    transport = _statuses(204)
    started = time.monotonic()
    report = send(Generator(1).scenario("uploaded", count=2), transport=transport, rate=20)
    elapsed = time.monotonic() - started
    assert report.ok and report.total == 6
    assert elapsed >= 5 / 20  # the sixth may go no earlier than 0.25 s in
    assert transport.requests[-1].at - transport.requests[0].at >= 5 / 20 - 0.01


def test_speed_replays_offsets_scaled() -> None:
    deliveries = list(Generator(1).deliveries("uploaded", elapsed_time=20_000))
    span = (deliveries[-1].offset_ms - deliveries[0].offset_ms) / 1000
    assert span > 20  # the recording's 20 s, then its upload
    started = time.monotonic()
    report = send(deliveries, transport=_statuses(204), speed=100)
    elapsed = time.monotonic() - started
    assert report.ok
    # Paced (never early), and far from real time: the upper bound leaves a loaded machine
    # seconds of slack and still fails a replay at 1x, or even at 2x.
    assert span / 100 <= elapsed < span / 2


def test_concurrency_keeps_each_recordings_order_across_lanes() -> None:
    deliveries = list(Generator(5).deliveries("burst", count=20))
    transport = ScriptedTransport(lambda r: ScriptedReply(204, delay=0.001 * (r.number % 3)))
    assert send(deliveries, transport=transport, concurrency=8).ok
    arrived = [r.json() for r in transport.requests]
    for url in {d.recording_url for d in deliveries}:
        sent = [d.callback for d in deliveries if d.recording_url == url]
        assert [c for c in arrived if c["recording"]["url"] == url] == sent


# --- the seam itself -------------------------------------------------------------------


def test_a_sender_opens_its_transport_per_send_and_closes_it_once() -> None:
    transport = _statuses(204)
    with Sender(transport=transport) as sender:
        assert sender.kind == "transport"
        assert sender.send(CALLBACKS).ok and sender.send(CALLBACKS[:1]).ok
        assert transport.opened == 2 and not transport.closed
    assert transport.closed and len(transport.requests) == 4
    assert transport.requests[0].headers == {}
    assert transport.requests[0].json() == CALLBACKS[0]


def test_an_async_handler_and_headers_of_the_transport() -> None:
    async def handler(request: ScriptedRequest) -> ScriptedReply:
        return ScriptedReply(202 if request.headers["authorization"] == "Bearer k" else 401)

    transport = ScriptedTransport(handler, headers={"Authorization": "Bearer k"})
    assert send(CALLBACKS, "http://receiver.test/aircore", transport=transport).statuses == {202: 3}


def test_headers_beside_a_transport_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match="headers belong to the transport"):
        Sender(transport=_statuses(204), headers={"x-token": "t"})
    with pytest.raises(UsageError, match=r"a target .* or a transport"):
        Sender()


def test_a_handler_that_answers_nonsense_is_an_error_result() -> None:
    report = send(CALLBACKS[:1], transport=ScriptedTransport(lambda r: "yes"))  # type: ignore[arg-type, return-value]
    (result,) = report.results
    assert result.outcome == "error" and "must give a ScriptedReply" in (result.error or "")


# --- how failures read ------------------------------------------------------------------


def _connector_error(kind: str, error: OSError, host: str = "no-such-host.invalid") -> Any:
    import aiohttp
    from aiohttp.client_reqrep import ConnectionKey

    key = ConnectionKey(host, 80, False, False, None, None, None)
    return getattr(aiohttp, kind)(key, error)


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        (
            "ClientConnectorDNSError",
            __import__("socket").gaierror(-2, "Name or service not known"),
            "unreachable: cannot resolve host 'no-such-host.invalid'",
        ),
        (
            "ClientConnectorError",
            __import__("socket").gaierror(-2, "Name or service not known"),
            "unreachable: cannot resolve host 'no-such-host.invalid'",
        ),
        (
            "ClientConnectorError",
            ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 80)"),
            "unreachable: connection refused by no-such-host.invalid:80",
        ),
        (
            "ClientConnectorError",
            OSError(113, "No route to host"),
            "unreachable: cannot connect to no-such-host.invalid:80: no route to host",
        ),
    ],
)
def test_network_errors_read_as_people_write_them(kind: str, error: OSError, words: str) -> None:
    from aircore_mock.sending.transports import _failure

    failure = _failure(_connector_error(kind, error))
    assert f"{failure.outcome.value}: {failure}" == words
    assert "Unknown error" not in str(failure)
