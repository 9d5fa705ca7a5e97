"""The one place a seed is picked when none is given (small: the pytest plugin imports it)."""

from __future__ import annotations

import secrets


def new_seed() -> int:
    """A fresh random 32-bit seed for a run that was not given one; show it, so the run can
    be repeated with the same bytes."""
    return secrets.randbits(32)
