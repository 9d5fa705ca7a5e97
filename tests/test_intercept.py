"""`mock_aircore()`: a backend with Aircore's URL written in it passes its own tests against a
fake, with httpx, httpx async and requests; other hosts pass through; callbacks go out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests

import aircore_mock
from aircore_mock import FakeAircore, Receiver, mock_aircore

from . import hardcoded_backend as backend

CLIENTS: dict[str, Callable[[str], tuple[str, int]]] = {
    "httpx": backend.record_with_httpx,
    "httpx-async": lambda url: asyncio.run(backend.record_with_httpx_async(url)),
    "requests": backend.record_with_requests,
}


@pytest.fixture(scope="module")
def receiver() -> Any:
    with Receiver() as receiver:
        yield receiver


def _lifecycle(fake: FakeAircore, receiver: Any, record: Callable[[str], tuple[str, int]]) -> None:
    receiver.reset()
    url, stopped = record(receiver.url + "?team=7")
    assert stopped == 204
    assert url.startswith("https://services.aircore.io/recording/http%3A%2F%2F")
    fake.advance(60)
    sent = fake.wait_for_callbacks(3, timeout=30)
    assert [s.event for s in sent] == [
        "recording-started",
        "recording-stopped",
        "recording-uploaded",
    ]
    assert all(s.delivered for s in sent)  # the callbacks really went to the receiver
    receiver.wait_for(3, timeout=30)
    assert [c.payload["event"] for c in receiver.captures][-1] == "recording-uploaded"
    (recording,) = fake.recordings
    assert recording.stop_url == url and recording.stop_reason == "clientStopped"


@pytest.mark.parametrize("client", list(CLIENTS))
def test_a_hard_coded_backend_runs_against_the_fake(receiver: Any, client: str) -> None:
    with mock_aircore(api_keys=backend.API_KEY) as fake:
        _lifecycle(fake, receiver, CLIENTS[client])
        # other hosts pass through, untouched, to the real network (here: 127.0.0.1)
        assert httpx.get(receiver.url).status_code == requests.get(receiver.url).status_code
        assert len(fake.journal) == 2


def test_as_a_decorator_sync_and_async(receiver: Any) -> None:
    mocked = mock_aircore()

    @mocked
    def sync_test() -> int:
        assert mocked.fake is not None
        _lifecycle(mocked.fake, receiver, backend.record_with_requests)
        return 1

    @mocked
    async def async_test() -> int:
        assert mocked.fake is not None
        _, status = await backend.record_with_httpx_async(receiver.url)
        return status

    assert sync_test() == 1
    assert asyncio.run(async_test()) == 204
    assert mocked.fake is None  # each call had its own fake, closed after it


def test_a_wrong_key_is_refused_and_a_given_fake_is_used(receiver: Any) -> None:
    fake = FakeAircore(api_keys="another-key-123")
    try:
        with mock_aircore(fake) as answering:
            assert answering is fake
            with pytest.raises(requests.HTTPError):
                backend.record_with_requests(receiver.url)
            assert fake.journal[0].status == 401
    finally:
        fake.close()
    with pytest.raises(aircore_mock.UsageError, match="not both"):
        mock_aircore(fake, clock="instant")


def test_the_fixture(aircore_mock_api: FakeAircore, receiver: Any) -> None:
    _lifecycle(aircore_mock_api, receiver, CLIENTS["httpx"])


def test_async_clients_never_block_their_loop(receiver: Any, monkeypatch: Any) -> None:
    # From an AsyncClient the fake is awaited on its own loop: the blocking path is never taken.
    from aircore_mock.fake import service

    def blocking(*args: Any) -> Any:
        raise AssertionError("an async client took the blocking path")

    monkeypatch.setattr(service._InProcessTransport, "handle_request", blocking)

    async def many() -> list[int]:
        calls = [backend.record_with_httpx_async(receiver.url) for _ in range(5)]
        return [status for _, status in await asyncio.gather(*calls)]

    with mock_aircore() as fake:
        assert asyncio.run(many()) == [204] * 5
        assert len(fake.recordings) == 5
