"""Library arguments are checked where they are given: a NaN, an infinity, a wrong type or an
out-of-range number is a `UsageError` (a ValueError) that names the argument, never a hang, a
crash deep inside, or a silent misbehaviour (issue 20's hostile arguments)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aircore_mock import FakeAircore, Generator, Receiver, UsageError, send


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: send([], "http://127.0.0.1:9/", retries=math.nan), "retries"),
        (lambda: send([], "http://127.0.0.1:9/", retries=1.5), "retries"),
        (lambda: send([], "http://127.0.0.1:9/", timeout=None), "timeout"),
        (lambda: send([], "http://127.0.0.1:9/", timeout=math.inf), "timeout"),
        (lambda: send([], "http://127.0.0.1:9/", backoff=math.nan), "backoff"),
        (lambda: send([], "http://127.0.0.1:9/", rate=-1.0), "rate"),
        (lambda: send([], "http://127.0.0.1:9/", concurrency=10**6), "concurrency"),
        (lambda: send([], "http://127.0.0.1:9/", concurrency=True), "concurrency"),
        (lambda: send([], "http://127.0.0.1:9/", headers=[1]), "headers"),
        (lambda: send([], "http://127.0.0.1:9/", headers={1: "x"}), "header name"),
        (lambda: send([], "http://127.0.0.1:9/", max_failures=0.5), "max_failures"),
        (lambda: Generator(1).scenario(None), "scenario"),
        (lambda: Generator(1).scenario("uploaded", count=1.5), "count"),
        (lambda: Generator("7"), "seed"),
        (lambda: Receiver(path=None), "path"),
        (lambda: Receiver(port=70000), "port"),
        (lambda: Receiver(port=-1), "port"),
        (lambda: FakeAircore(clock="manual").advance(math.inf), "seconds"),
        (lambda: FakeAircore(clock="manual").advance(1e20), "seconds"),
        (lambda: FakeAircore().inject("stop", after=1e308), "after"),
        (lambda: FakeAircore().inject("stop", recording=5), "recording"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_argument_is_refused_by_name(call: Callable[[], Any], named: str) -> None:
    with pytest.raises(UsageError, match=named) as caught:
        call()
    assert isinstance(caught.value, ValueError)


def test_the_fakes_control_api_refuses_what_would_break_it_and_stays_whole() -> None:
    with FakeAircore(clock="manual") as fake, httpx.Client(base_url=fake.url, timeout=30) as c:
        auth = {"authorization": "Bearer k", "content-type": "application/json"}
        for path, body in [
            ("/_aircore-mock/advance", {"seconds": 1e20}),
            ("/_aircore-mock/inject", {"what": "stop", "after": 1e308}),
            ("/_aircore-mock/inject", {"what": "stop", "recording": 123}),
        ]:
            answer = c.post(path, json=body)
            assert answer.status_code == 400, (path, answer.text)
        deep = b'{"storage": ' + b"[" * 1000 + b"]" * 1000 + b"}"
        answer = c.post("/recording", content=deep, headers=auth)
        assert answer.status_code == 400 and "nested more than 64 levels" in answer.text
        # nothing above broke the fake: the control page and a start still work
        assert c.get("/_aircore-mock/").status_code == 200
        assert c.post("/_aircore-mock/advance", json={"seconds": 60}).status_code == 200


def test_what_validates_can_be_sent_and_a_nan_is_never_sent_as_null() -> None:
    import json as std_json

    from aircore_mock import DeliveryOutcome, ScriptedTransport, is_valid

    got: list[bytes] = []

    def handler(request: Any) -> int:
        got.append(request.body)
        return 204

    callback = Generator(1).scenario("uploaded")[0]
    huge = dict(callback, timestamp=10**400)  # valid JSON, beyond what orjson can write
    assert is_valid(huge)
    report = send([huge, dict(callback, extra=math.nan)], transport=ScriptedTransport(handler))
    by_index = {r.index: r for r in report.results or ()}
    assert by_index[0].outcome == DeliveryOutcome.DELIVERED
    assert std_json.loads(got[0])["timestamp"] == 10**400  # sent whole, as JSON text
    assert by_index[1].outcome == DeliveryOutcome.ERROR and "NaN" in (by_index[1].error or "")
    assert len(got) == 1  # the NaN one never went out
