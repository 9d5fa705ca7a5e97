from __future__ import annotations

import copy
from typing import Any

import pytest

import aircore_mock

pytest_plugins = ["pytester"]


@pytest.fixture
def examples() -> dict[str, list[dict[str, Any]]]:
    """The documented example payloads, per callback type (fresh copies)."""
    return {
        event: copy.deepcopy(aircore_mock.get_schema(event)["examples"])
        for event in aircore_mock.callback_types()
    }
