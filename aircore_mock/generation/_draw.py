"""Fast draws from a seeded `random.Random` (the Faker instance's): same seed, same values."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import TypeVar

T = TypeVar("T")


def pick(random: Random, items: Sequence[T]) -> T:
    """`random.choice`, about three times faster (one C call); same seed, same pick."""
    return items[int(random.random() * len(items))]


def between(random: Random, low: int, high: int) -> int:
    """An int in [low, high), like `random.randrange`, about three times faster."""
    return low + int(random.random() * (high - low))
