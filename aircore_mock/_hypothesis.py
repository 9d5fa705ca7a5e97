"""Hypothesis's entry point for aircore-mock (the `hypothesis` entry-point group).

Hypothesis imports this module whenever it is itself imported, in every project where
aircore-mock is installed: so it imports only the model, and the strategies (which import
Faker through the generation package) are built on first use, through `st.deferred`.
"""

from __future__ import annotations


def _hypothesis_setup_hook() -> None:
    """Register `st.from_type(Recording)` (a lifecycle) and `st.from_type(Delivery)`."""
    from hypothesis import strategies as st

    from .model import Delivery, Recording

    def lifecycle() -> st.SearchStrategy[Recording]:
        from .strategies import lifecycles

        return lifecycles()

    def delivery() -> st.SearchStrategy[Delivery]:
        from .strategies import deliveries

        return deliveries(max_recordings=1).map(lambda sent: sent[0])

    st.register_type_strategy(Recording, st.deferred(lifecycle))
    st.register_type_strategy(Delivery, st.deferred(delivery))
