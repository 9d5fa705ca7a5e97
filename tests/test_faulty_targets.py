"""The sender against receivers that misbehave: every send ends in bounded time, with one
result per callback, and no delivery counted that the receiver did not answer with a 2xx.

The time bounds are deliberately loose (a loaded machine must not break them); what they
catch is a deadline that does not bound the whole request (a drip held one for 40 s).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from click.testing import CliRunner

from aircore_mock import Generator, send
from aircore_mock.cli import cli
from aircore_mock.sending import MAX_BACKOFF

from .apps import scripted_app
from .faulty import (
    answers_a_gigabyte,
    closes_after_every_answer,
    closes_idle_connections,
    drips_body,
    drips_status_line,
    never_answers,
    raw_server,
    reads_then_drops_the_second_request,
    resets_mid_request,
)

CALLBACKS = Generator(5).scenario("uploaded")  # three callbacks of one recording


def _assert_accounted(report: Any, count: int = 3) -> None:
    assert report.total == count
    assert sorted(r.index for r in report.results) == list(range(count))
    for result in report.results:
        assert result.delivered == (result.status is not None and 200 <= result.status < 300)


@pytest.mark.slow  # real sockets, real deadlines: 3 s each
@pytest.mark.parametrize(
    ("behaviour", "outcome"),
    [
        (drips_status_line, "timeout"),
        (drips_body, "timeout"),
        (never_answers, "timeout"),
    ],
)
def test_the_timeout_bounds_the_whole_request(behaviour: Any, outcome: str) -> None:
    timeout, retries = 0.5, 1
    with raw_server(behaviour) as server:
        started = time.monotonic()
        report = send(CALLBACKS, server.url, timeout=timeout, retries=retries, backoff=0.01)
        elapsed = time.monotonic() - started
    _assert_accounted(report)
    assert {r.outcome for r in report.results} == {outcome}
    assert all(r.attempts == retries + 1 for r in report.results)
    assert report.delivered == 0
    # three callbacks, one after another: timeout x attempts each, plus the backoffs
    assert elapsed < 3 * (timeout * (retries + 1) + 0.5) + 10


def test_a_reset_mid_request_is_an_error_for_each_callback() -> None:
    with raw_server(resets_mid_request) as server:
        report = send(CALLBACKS, server.url, timeout=2)
    _assert_accounted(report)
    assert {r.outcome for r in report.results} == {"error"}
    assert all("connection closed" in (r.error or "") for r in report.results)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_server_that_closes_after_every_answer_loses_nothing(concurrency: int) -> None:
    callbacks = Generator(6).scenario("burst", count=40)
    with raw_server(closes_after_every_answer) as server:
        report = send(callbacks, server.url, concurrency=concurrency, timeout=5)
    _assert_accounted(report, len(callbacks))
    assert report.ok, report.first_failure and report.first_failure.describe()
    # a resend on a new connection (when the close crossed a request) is not a retry
    assert all(r.attempts == 1 for r in report.results)


@pytest.mark.slow  # paced at 4 a second, so that connections go idle
def test_connections_closed_while_idle_are_never_sent_on() -> None:
    # 4 a second leaves each connection idle well past the server's 50 ms keep-alive:
    # every request finds its pooled connection closed, and must notice before sending.
    callbacks = Generator(6).scenario("uploaded", count=2)
    with raw_server(closes_idle_connections) as server:
        report = send(callbacks, server.url, rate=4, timeout=5)
    _assert_accounted(report, len(callbacks))
    assert report.ok, report.first_failure and report.first_failure.describe()
    assert not any(r.resent for r in report.results)  # noticed, not resent
    assert server.connections == len(callbacks)


def test_a_request_read_and_then_dropped_is_resent_once_and_says_so() -> None:
    seen: list[bytes] = []
    bodies = [b'{"n": 1}', b'{"n": 2}']
    with raw_server(reads_then_drops_the_second_request(seen)) as server:
        report = send(bodies, server.url, timeout=5)
    first, second = sorted(report.results, key=lambda r: r.index)
    assert first.delivered and not first.resent
    assert second.delivered and second.resent and second.attempts == 1
    assert seen == [b'{"n": 1}', b'{"n": 2}', b'{"n": 2}']  # the receiver saw it twice


def test_a_gigabyte_answer_is_cut_short_not_read() -> None:
    with raw_server(answers_a_gigabyte) as server:
        started = time.monotonic()
        report = send(CALLBACKS, server.url, timeout=10)
        elapsed = time.monotonic() - started
    _assert_accounted(report)
    assert report.statuses == {200: 3}
    assert all(len(r.body) <= 200 for r in report.results)
    assert elapsed < 20  # reading 3 GiB would take far longer, and fill memory


def test_retry_after_is_capped() -> None:
    app = scripted_app([503, 204], headers={"retry-after": "100000"})
    from aircore_mock.sending.engine import MAX_RETRY_AFTER, retry_after

    assert retry_after({"retry-after": "100000"}) == MAX_RETRY_AFTER
    # not delta-seconds: ignored (a retry then backs off as usual), never misread
    for bad in ("-5", "1_0", "0x10", "\uff11\uff10", "ten"):
        assert retry_after({"retry-after": bad}) is None, bad
    assert retry_after({"retry-after": " 7 "}) == 7.0
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert app.state.calls == []


def test_backoff_cap_is_documented_and_bounded() -> None:
    assert 0 < MAX_BACKOFF <= 60


# One dripping target: the deadline against each kind of drip is the library's (above).
@pytest.mark.slow  # a 1 s timeout, waited out three times
def test_send_cli_against_a_dripping_target_exits_1_in_bounded_time() -> None:
    behaviour = drips_body
    with raw_server(behaviour) as server:
        started = time.monotonic()
        result = CliRunner().invoke(
            cli, ["send", "-s", "uploaded", "--seed", "1", "--timeout", "1", "--target", server.url]
        )
        elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert "0 of 3 delivered (timeout 3)" in result.stdout
    assert "Traceback" not in result.output
    assert elapsed < 3 * 1 + 15


@pytest.mark.slow  # a 1 s budget, waited out
def test_check_with_a_budget_against_a_dripping_receiver_fails_answers_in_time() -> None:
    with raw_server(drips_body) as server:
        started = time.monotonic()
        result = CliRunner().invoke(
            cli, ["check", "--target", server.url, "--budget", "1", "--seed", "1"]
        )
        elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert elapsed < 30
    line = next(x for x in result.stdout.splitlines() if x.startswith("answers-in-time"))
    assert "failed" in line and "within 1 s" in line


SILENT_SEND = ["send", "-s", "burst", "-n", "50", "-c", "4", "--timeout", "0.5", "--seed", "1"]


@pytest.mark.slow  # real timeouts until it gives up
def test_a_silent_target_is_given_up_in_bounded_time_by_the_cli() -> None:
    with raw_server(never_answers) as server:
        started = time.monotonic()
        result = CliRunner().invoke(
            cli,
            [*SILENT_SEND, "--target", server.url],
        )
        elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert "gave up after 5 deliveries in a row without an answer" in result.stderr
    assert "not sent" in result.stderr
    # 150 callbacks x 0.5 s would be 19 s at -c 4; giving up takes a few timeouts
    assert elapsed < 15


def test_a_pooled_connection_the_peer_closed_is_seen_before_sending_on_it() -> None:
    # The case the event loop has not caught up with yet: the FIN is in the kernel only.
    import socket
    from types import SimpleNamespace

    from aircore_mock.sending.transports import _closed_by_peer

    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    try:
        pooled = SimpleNamespace(transport=SimpleNamespace(get_extra_info=lambda _: client))
        assert not _closed_by_peer(pooled)  # idle and open
        server.close()
        deadline = time.monotonic() + 10
        while not _closed_by_peer(pooled):  # the FIN crosses loopback at once
            assert time.monotonic() < deadline
        assert client.fileno() != -1  # only peeked: the socket is still ours
    finally:
        for sock in (client, server, listener):
            sock.close()
