"""aircore-mock's pytest plugin: fixtures and a contract test class for callback receivers.

Loaded automatically (entry point `pytest11`) into every pytest run, so it stays small: at
import it touches only pytest, and the contract class loads when a test file imports it.
PYTEST_DONT_REWRITE: no bare asserts here; skipping the rewrite keeps start-up quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contract import AircoreReceiverContract

__all__ = ["AircoreReceiverContract"]


def __getattr__(name: str) -> Any:
    if name == "AircoreReceiverContract":
        from .contract import AircoreReceiverContract

        return AircoreReceiverContract
    raise AttributeError(f"module 'aircore_mock_pytest' has no attribute {name!r}")
