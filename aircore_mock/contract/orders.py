"""Delivery orders of one recording's callbacks: every order Aircore's delivery can produce.

Aircore retries a callback that got no 2xx, and nothing orders one recording's callbacks on
the way (a retried stop can land after the upload), so a receiver meets its recordings'
callbacks in any order, some more than once. An order is a tuple of indexes into the
lifecycle's callbacks, in delivery order: `(0, 2, 1)` delivers the third before the second,
`(0, 1, 1, 2)` the second twice. The probe and the `converges` clause run over these, and a
difference `converges` finds is shrunk through `smaller()` to the shortest order that still
shows it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Order:
    """One way to deliver a lifecycle: `steps` index its callbacks, in delivery order."""

    steps: tuple[int, ...]
    kind: str
    """`in order`, `out of order`, `a duplicate in turn`, `a redelivery after the rest`, ..."""

    def describe(self, events: Sequence[str]) -> str:
        """`recording-started, recording-uploaded, recording-stopped (out of order)`."""
        return f"{', '.join(events[i] for i in self.steps)} ({self.kind})"


def in_order(count: int) -> Order:
    return Order(tuple(range(count)), "in order")


def orders(count: int) -> list[Order]:
    """Every way worth delivering a lifecycle of `count` callbacks, in order first.

    Every permutation (a lifecycle has at most four callbacks: 24 orders at most); each
    callback delivered twice in a row (a retry after a timeout) and redelivered after the
    rest (a retry that comes late); the whole lifecycle twice; and the reversed order with
    its first delivery repeated at the end (out of order and duplicated at once).
    """
    first = in_order(count)
    found: dict[tuple[int, ...], Order] = {first.steps: first}

    def add(steps: tuple[int, ...], kind: str) -> None:
        found.setdefault(steps, Order(steps, kind))

    for steps in itertools.permutations(range(count)):
        add(steps, "out of order")
    for i in range(count):
        add((*first.steps[: i + 1], i, *first.steps[i + 1 :]), "a duplicate in turn")
        add((*first.steps, i), "a redelivery after the rest")
    add(first.steps * 2, "the whole lifecycle twice")
    backwards = tuple(reversed(first.steps))
    add((*backwards, backwards[0]), "out of order, with a redelivery")
    return list(found.values())


def smaller(order: Order, count: int) -> Iterator[Order]:
    """Orders one step nearer the smallest that could still show a difference: one delivery
    fewer (every callback still delivered at least once), then one inversion fewer (two
    neighbours swapped into order). Shorter first, so a shrink ends on the fewest deliveries.
    """
    steps = order.steps
    for i in range(len(steps)):
        shorter = steps[:i] + steps[i + 1 :]
        if set(shorter) == set(range(count)):
            yield Order(shorter, _kind(shorter, count))
    for i in range(len(steps) - 1):
        if steps[i] > steps[i + 1]:
            swapped = (*steps[:i], steps[i + 1], steps[i], *steps[i + 2 :])
            yield Order(swapped, _kind(swapped, count))


def shrink(order: Order, count: int, still_fails: Callable[[Order], bool], tries: int) -> Order:
    """The shortest order reached from `order` through `smaller()` for which `still_fails`
    holds, trying at most `tries` orders (each try costs a lifecycle's deliveries)."""
    smallest, left, progress = order, tries, True
    while progress and left > 0:
        progress = False
        for candidate in smaller(smallest, count):
            if left <= 0:
                break
            left -= 1
            if still_fails(candidate):
                smallest, progress = candidate, True
                break
    return smallest


def _kind(steps: tuple[int, ...], count: int) -> str:
    """What an order does, in words, for one found by shrinking."""
    repeated = len(steps) > count
    seen: set[int] = set()
    firsts = [s for s in steps if not (s in seen or seen.add(s))]  # type: ignore[func-returns-value]
    ordered = firsts == sorted(firsts)
    if not repeated:
        return "in order" if ordered else "out of order"
    return "with a duplicate" if ordered else "out of order, with a duplicate"
