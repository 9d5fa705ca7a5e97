"""The contract's property-based search: Hypothesis over `aircore_mock.strategies`.

Seeded (the same seed draws the same examples, so a run reproduces), budgeted (a number of
examples and a deadline), and shrinking: a callback the receiver gets wrong is cut down,
by sending smaller ones, to the smallest callback it still gets wrong.

Hypothesis is an optional dependency: importing this module without it raises ImportError,
and the clauses that need it are skipped, saying so.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from .. import strategies
from .results import dumps, loads, replaced

EXAMPLES_PER_CASE = 6
"""Examples each case of accepts-every-value draws after the coverage phase (the fuzz command
sends many more); kept small so that a check of a receiver taking 2 s a callback ends within a
minute."""
SHRINK_TIME = 20.0
"""Seconds a shrink may spend sending smaller callbacks; then the smallest failure so far."""

_QUIET = {
    "database": None,  # reproducible from the seed alone, and nothing written to disk
    "deadline": None,  # a receiver's latency is not the example's fault
    "suppress_health_check": list(HealthCheck),
    "report_multiple_bugs": False,
    "print_blob": False,
}


def _run(
    strategy: st.SearchStrategy[Any],
    seed: int,
    count: int,
    test: Callable[[Any], None],
    phases: tuple[Phase, ...],
    multiple: bool = False,
) -> None:
    options = dict(_QUIET, report_multiple_bugs=multiple)

    @settings(max_examples=count, phases=phases, **options)  # type: ignore[arg-type]
    @hypothesis_seed(seed)
    @given(strategy)
    def run(value: Any) -> None:
        test(value)

    with _without_local_constants():
        run()


@contextlib.contextmanager
def _without_local_constants() -> Iterator[None]:
    """Hypothesis also draws literals found in the code of whatever local modules are
    imported at the time (an editable install of this package included): then the same
    seed would not draw the same examples in two processes. Off for the contract's search.
    (Hypothesis has no public switch for it; if its internals move, this does nothing.)"""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # pragma: no cover - another Hypothesis
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    if original is None:  # pragma: no cover
        yield
        return
    providers._get_local_constants = Constants
    try:
        yield
    finally:
        providers._get_local_constants = original


def draw(strategy: st.SearchStrategy[Any], seed: int, count: int) -> list[Any]:
    """`count` examples of `strategy` (fewer if it has fewer), the same for the same seed."""
    out: list[Any] = []
    _run(strategy, seed, count, out.append, (Phase.explicit, Phase.generate))
    return out[:count]


@functools.lru_cache(maxsize=256)
def _drawn(name: str, argument: str | None, seed: int, count: int) -> bytes:
    # A contract run draws the same examples for every receiver it meets with one seed (a
    # test suite meets several): drawn once per process, kept as JSON so no caller can
    # change what another gets.
    if name == "callbacks":
        strategy = strategies.callbacks(event=argument, strict=True)
    else:
        strategy = strategies.forward_compatible_callbacks(kind=argument)
    return dumps(draw(strategy, seed, count))


def examples(event: str | None, seed: int, count: int = EXAMPLES_PER_CASE) -> list[Any]:
    """The first pass of accepts-every-value for one callback type."""
    return list(loads(_drawn("callbacks", event, seed, count)))


def draw_unknown(seed: int, kind: str, count: int) -> list[Any]:
    """Callbacks carrying one kind of what Aircore may add: `event`, `reason`, `state`,
    `fields` (forward-compatible's cases)."""
    return list(loads(_drawn("unknown", kind, seed, count)))


class _Wrong(Exception):
    """Raised inside the search for an example the receiver got wrong."""


def shrink(
    strategy: st.SearchStrategy[Any],
    seed: int,
    count: int,
    wrong: Callable[[Any], bool],
    budget: float = SHRINK_TIME,
) -> Any | None:
    """The smallest example of `strategy` for which `wrong` is true, or None.

    Runs the same search as `draw(strategy, seed, count)` (so it meets the same examples in
    the same order) and lets Hypothesis shrink the first wrong one. `wrong` should remember
    what it has sent: the examples already judged are not sent again. After `budget` seconds
    every new example counts as right, which ends the shrink at the smallest found so far.
    """
    deadline = time.monotonic() + budget
    found: list[Any] = []
    judged: dict[bytes, bool] = {}

    def test(value: Any) -> None:
        key = dumps(value, sort_keys=True)
        verdict = judged.get(key)
        if verdict is None:
            verdict = wrong(value) if time.monotonic() < deadline else False
            judged[key] = verdict
        if verdict:
            found.append(value)
            raise _Wrong

    try:
        _run(strategy, seed, count, test, (Phase.explicit, Phase.generate, Phase.shrink))
    except _Wrong:
        return found[-1]  # Hypothesis replays the smallest failure last
    return None


# --- fuzz ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One fuzz request: the clause whose rule judges it, the body, how to describe it."""

    clause: str
    body: bytes
    what: str
    callback: Any = None


_WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
_PATHS = (
    ["event"],
    ["timestamp"],
    ["recording"],
    ["recording", "url"],
    ["recording", "state"],
    ["recording", "startTime"],
    ["recording", "elapsedTime"],
    ["recording", "reason"],
    ["recording", "location"],
)


@st.composite
def _wrong_probe(draw: st.DrawFn) -> Probe:
    from ..validation import is_valid

    callback = draw(strategies.callbacks(strict=True))
    path = list(draw(st.sampled_from(_PATHS)))
    if path[-1] in ("reason", "location") and path[-1] not in callback["recording"]:
        path = ["recording", "elapsedTime"]
    value = draw(_WRONG_VALUES)
    wrong = replaced(callback, path, value)
    if is_valid(wrong) and _sendable(value):  # it happened to fit: judged as a plain callback
        return Probe("accepts-every-value", dumps(wrong), _what(wrong), wrong)
    what = f"a {callback['event']} callback whose {'.'.join(path)} is {_short(wrong, path)}"
    return Probe("handles-malformed-input", dumps(wrong), what, wrong)


def _sendable(value: Any) -> bool:
    """Whether Aircore could send this value where the schema takes it: its times are integer
    milliseconds of 64 bits (a float such as 0.0, or 2**64, fits the schema's "integer" but is
    not what Aircore sends: a receiver typed StrictInt or int64 is right to refuse it)."""
    if isinstance(value, float):
        return False
    return not (isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63)


def _short(callback: Any, path: list[str]) -> str:
    value = callback
    for key in path:
        value = value[key]
    text = dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + "..."


def _what(callback: dict[str, Any]) -> str:
    from .results import describe

    return describe(callback)


PROBES: st.SearchStrategy[Probe] = st.one_of(
    strategies.callbacks(strict=True).map(
        lambda c: Probe("accepts-every-value", dumps(c), _what(c), c)
    ),
    strategies.forward_compatible_callbacks().map(
        lambda c: Probe("forward-compatible", dumps(c), _what(c) + " (undocumented)", c)
    ),
    _wrong_probe(),
)
"""What `aircore-mock fuzz` sends: valid callbacks (a 2xx expected), what Aircore may add (no
5xx; better a 2xx), and callbacks with a wrong JSON type somewhere (no 5xx; better a 4xx)."""


@dataclass
class FuzzFailure:
    """The smallest request found for one distinct failure (clause, status)."""

    clause: str
    got: str
    expected: str
    probe: Probe
    key: tuple[str, str]


def fuzz(
    seed: int,
    count: int,
    judge: Callable[[Probe], tuple[str, str, str] | None],
    budget: float | None = None,
) -> tuple[list[FuzzFailure], int]:
    """Post up to `count` probes, then shrink each distinct failure to its smallest probe.

    `judge(probe)` sends it and returns None when the answer is right, else (key, got,
    expected), where the key names the distinct failure (e.g. "5xx"). Returns the failures,
    smallest first in each, and how many probes were sent.
    """
    deadline = None if budget is None else time.monotonic() + budget
    sent = [0]
    judged: dict[bytes, tuple[str, str, str] | None] = {}
    smallest: dict[tuple[str, str], FuzzFailure] = {}
    errors: dict[tuple[str, str], type[Exception]] = {}

    def test(probe: Probe) -> None:
        verdict = judged.get(probe.body, False)
        if verdict is False:
            if deadline is not None and time.monotonic() >= deadline:
                verdict = None  # out of time: what is not sent counts as right
            else:
                sent[0] += 1
                verdict = judge(probe)
            judged[probe.body] = verdict
        if verdict is None:
            return
        status, got, expected = verdict
        key = (probe.clause, status)
        smallest[key] = FuzzFailure(probe.clause, got, expected, probe, key)
        # One exception class per distinct failure: Hypothesis shrinks each on its own.
        if key not in errors:
            errors[key] = type(f"Wrong_{len(errors)}", (_Wrong,), {})
        raise errors[key]

    phases = (Phase.explicit, Phase.generate, Phase.shrink)
    try:
        _run(PROBES, seed, count, test, phases, multiple=True)
    except KeyboardInterrupt:  # Ctrl-C, or out of time: what was found so far, unshrunk
        pass
    except _Wrong:
        pass
    except BaseException as group:  # several distinct failures: an exception group
        if not _all_wrong(group):
            raise
    return list(smallest.values()), sent[0]


def _all_wrong(error: BaseException) -> bool:
    inner = getattr(error, "exceptions", None)
    if inner is None:
        return isinstance(error, _Wrong)
    return all(_all_wrong(e) for e in inner)
