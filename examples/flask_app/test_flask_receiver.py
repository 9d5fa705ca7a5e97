"""The Aircore receiver contract against the Flask example, plus a few tests of our own."""

from typing import Any

import pytest
from aircore_mock_pytest import AircoreReceiverContract
from flask_receiver import create_app


class TestFlaskReceiver(AircoreReceiverContract):
    aircore_path = "/hooks/aircore"

    @pytest.fixture
    def receiver(self) -> Any:
        return create_app()

    @pytest.fixture
    def aircore_probe(self, receiver: Any) -> Any:
        def probe(recording_url: str) -> None:
            assert receiver.extensions["recordings"].get(recording_url) is not None

        return probe


@pytest.mark.aircore(scenario="bad-region", seed=7)
def test_a_bad_region_is_stored_with_the_s3_message(
    aircore_send: Any, aircore_callbacks: list[dict[str, Any]]
) -> None:
    app = create_app()
    report = aircore_send(app, aircore_callbacks, path="/hooks/aircore")
    assert report.ok
    url = aircore_callbacks[0]["recording"]["url"]
    row = app.extensions["recordings"].get(url)
    assert row["state"] == "upload-failed"
    assert "This service may not be available in the" in row["failure_reason"]


def test_a_late_stop_does_not_undo_the_upload(aircore_generator: Any, aircore_send: Any) -> None:
    app = create_app()
    callbacks = aircore_generator.scenario("uploaded+out-of-order")
    assert aircore_send(app, callbacks, path="/hooks/aircore").ok
    row = app.extensions["recordings"].get(callbacks[0]["recording"]["url"])
    assert row["state"] == "uploaded" and row["stop_reason"] is not None
