"""End to end: the recorder backend against a fake Aircore that calls it back.

Over loopback with the `aircore_service` fixture (the backend served on a free port, so the
fake can reach its callback URL), and once entirely in-process.
"""

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from recorder import Settings, create_app

from aircore_mock import AppServer, FakeAircore

BUCKET = dict(
    bucket="acme-recordings",
    access_key_id="AKIAIOSFODNN7EXAMPLE",
    secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
)


@pytest.fixture
def serve_backend(aircore_service: Any) -> Iterator[Any]:
    """`serve_backend(region=...)`: the backend on 127.0.0.1, talking to the fake."""
    servers: list[AppServer] = []

    def serve(**overrides: Any) -> httpx.Client:
        server = AppServer()  # bound already: its URL goes into the app's callback URLs
        servers.append(server)
        settings = Settings(
            aircore_url=aircore_service.url, api_key="test-key", public_url=server.url, **BUCKET
        )
        for name, value in overrides.items():
            setattr(settings, name, value)
        server.app = create_app(settings)
        server.start()
        return httpx.Client(base_url=server.url, timeout=10)

    yield serve
    for server in servers:
        server.stop()  # also releases the port of one that never started


def test_happy_path(aircore_service: Any, serve_backend: Any) -> None:
    backend = serve_backend(region="eu-west-1")
    started = backend.post("/channels/standup/recordings", json={"user_id": "ana"})
    assert started.status_code == 201
    recording_id = started.json()["id"]
    aircore_service.wait_for_callbacks(1)
    assert backend.get(f"/recordings/{recording_id}").json()["state"] == "recording"

    aircore_service.advance(90)  # a 90-second meeting
    assert backend.delete(f"/recordings/{recording_id}").status_code == 202
    aircore_service.advance(60)  # the upload comes seconds after the stop
    aircore_service.wait_for_callbacks(3)

    row = backend.get(f"/recordings/{recording_id}").json()
    assert (row["state"], row["stop_reason"]) == ("uploaded", "clientStopped")
    assert row["elapsed_ms"] == 90_000
    assert row["address"] == (
        f"https://acme-recordings.s3.eu-west-1.amazonaws.com/record_{recording_id}.m4a"
    )
    (request, stop) = aircore_service.journal
    assert request.body["channel_id"] == "standup"
    assert request.body["storage"]["s3"]["secret_access_key"] == "[redacted]"
    assert stop.method == "DELETE" and stop.status == 204


def test_a_bad_region_ends_as_a_stored_upload_failure(
    aircore_service: Any, serve_backend: Any
) -> None:
    backend = serve_backend(region="us-east-1111")
    recording_id = backend.post("/channels/c1/recordings", json={}).json()["id"]
    backend.delete(f"/recordings/{recording_id}")
    aircore_service.advance(60)
    aircore_service.wait_for_callbacks(3)
    row = backend.get(f"/recordings/{recording_id}").json()
    assert row["state"] == "upload-failed"
    assert row["failure_reason"].startswith(
        "Inaccessible host: `acme-recordings.s3.us-east-1111.amazonaws.com'"
    )


def test_all_publishers_left_then_the_stop_is_refused(
    aircore_service: Any, serve_backend: Any
) -> None:
    backend = serve_backend()
    aircore_service.inject("stop", reason="allPublishersLeft", after=300)
    recording_id = backend.post("/channels/c2/recordings", json={}).json()["id"]
    aircore_service.advance(300)
    aircore_service.wait_for_callbacks(2)
    row = backend.get(f"/recordings/{recording_id}").json()
    assert (row["state"], row["stop_reason"]) == ("stopped", "allPublishersLeft")
    # Aircore answers 404 for a recording that has already stopped
    refused = backend.delete(f"/recordings/{recording_id}")
    assert refused.status_code == 409
    assert refused.json()["error"].startswith("Aircore answered 404")
    aircore_service.advance(60)
    aircore_service.wait_for_callbacks(3)
    assert backend.get(f"/recordings/{recording_id}").json()["state"] == "uploaded"


def test_a_failed_stop_is_reported_and_can_be_retried(
    aircore_service: Any, serve_backend: Any
) -> None:
    backend = serve_backend()
    recording_id = backend.post("/channels/c3/recordings", json={}).json()["id"]
    aircore_service.inject("error", recording=recording_id, status=503)
    assert backend.delete(f"/recordings/{recording_id}").status_code == 502
    assert backend.delete(f"/recordings/{recording_id}").status_code == 202


def test_everything_in_process_without_a_port() -> None:
    fake = FakeAircore()
    settings = Settings(api_key="k", transport=fake.async_transport(), **BUCKET)
    app = create_app(settings)
    fake.deliver_to = app  # callbacks go to the app itself, no network

    async def run() -> dict[str, Any]:
        async with (
            LifespanManager(app) as started,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=started.app), base_url="http://backend.test"
            ) as backend,
        ):
            answer = await backend.post("/channels/c4/recordings", json={})
            recording_id = answer.json()["id"]
            fake.advance(10)
            assert (await backend.delete(f"/recordings/{recording_id}")).status_code == 202
            fake.advance(60)
            sent = await asyncio.to_thread(fake.wait_for_callbacks, 3)
            assert [s.result.status for s in sent] == [204, 204, 204]
            return (await backend.get(f"/recordings/{recording_id}")).json()

    try:
        row = asyncio.run(run())
    finally:
        fake.close()
    assert row["state"] == "uploaded" and row["elapsed_ms"] == 10_000
