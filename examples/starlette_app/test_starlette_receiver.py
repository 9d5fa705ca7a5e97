"""The whole Aircore receiver contract against the Starlette example, in-process."""

from typing import Any

import pytest
from aircore_mock_pytest import AircoreReceiverContract
from starlette_receiver import create_app


class TestStarletteReceiver(AircoreReceiverContract):
    aircore_path = "/aircore/callbacks"

    @pytest.fixture
    def receiver(self) -> Any:
        return create_app()

    @pytest.fixture
    def aircore_probe(self, receiver: Any) -> Any:
        def probe(recording_url: str, callbacks: list[dict[str, Any]]) -> None:
            row = receiver.state.db.get(recording_url)
            last = callbacks[-1]
            assert row is not None, "the recording was not stored"
            if last["event"] == "recording-uploaded":
                assert row["state"] == "uploaded"
                assert row["address"] == last["recording"]["location"]["address"]
            elif last["event"] == "recording-upload-failed":
                assert row["state"] == "upload-failed"
                assert row["failure_reason"] == last["recording"]["reason"]

        return probe

    @pytest.fixture
    def aircore_state(self, receiver: Any) -> Any:
        def state(recording_url: str) -> dict[str, Any] | None:
            return receiver.state.db.get(recording_url)  # its row (a dict), or None

        return state
