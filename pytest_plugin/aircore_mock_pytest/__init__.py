"""aircore-mock's pytest plugin: fixtures and a contract test class for callback receivers.

Loaded automatically (entry point `pytest11`); at import it touches only pytest.
"""

from .contract import AircoreReceiverContract

__all__ = ["AircoreReceiverContract"]
