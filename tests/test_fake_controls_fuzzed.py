"""The fake's control API under any JSON a client can send (issue 20: "the fake's inputs
validated before they touch state; its state never broken by one bad request"): every
answer is below 500, and the fake still starts, lists and stops recordings after it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aircore_mock import FakeAircore

from .helpers import AUTH, KEY, start_body

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),  # JSON has no NaN; infinities go as 1e999
    st.text(max_size=20),
    st.sampled_from(["stop", "upload-failure", "error", "serverError", "access-denied", "x"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_FIELDS = {
    "inject": ["what", "recording", "reason", "after", "family", "status", "extra"],
    "advance": ["seconds", "extra"],
    "retry-policy": ["retries", "backoff", "timeout", "extra"],
    "stop": ["recording", "reason"],
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAircore]:
    with FakeAircore(seed=3, api_keys=[KEY]) as started:
        yield started


@st.composite
def _control_requests(draw: st.DrawFn) -> tuple[str, str, Any]:
    path = draw(st.sampled_from(sorted(_FIELDS)))
    names = draw(st.lists(st.sampled_from(_FIELDS[path]), unique=True, max_size=4))
    body: Any = {name: draw(_VALUES) for name in names}
    if draw(st.integers(0, 9)) == 0:
        body = draw(_VALUES)  # not even an object
    return ("PUT" if path == "retry-policy" else "POST"), path, body


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=_control_requests())
def test_no_control_body_answers_500_or_breaks_the_fake(
    fake: FakeAircore, request: tuple[str, str, Any]
) -> None:
    method, path, body = request
    with httpx.Client(base_url=fake.url, timeout=10) as client:
        # JSON has no infinity: a number too big for a double stands in (what a client's 1e999
        # is once parsed)
        text = json.dumps(body, allow_nan=True).replace("-Infinity", "-1e999")
        text = text.replace("Infinity", "1e999")
        answer = client.request(
            method,
            f"/_aircore-mock/{path}",
            content=text,
            headers={"content-type": "application/json"},
        )
        assert answer.status_code < 500, (path, body, answer.text)
        assert client.get("/_aircore-mock/").status_code == 200
        assert client.get("/_aircore-mock/recordings").status_code == 200
        # still whole once reset (what a fault injected on purpose does is gone then): a
        # start, an advance of the clock and a stop all work
        assert client.post("/_aircore-mock/reset").status_code == 204
        started = client.post("/recording", json=start_body(), headers=AUTH)
        assert started.status_code == 200, (path, body, started.text)
        assert client.post("/_aircore-mock/advance", json={"seconds": 5}).status_code == 200
        assert client.delete(started.json()["url"], headers=AUTH).status_code == 204
