"""The receiver's state of a recording, as the `converges` clause reads and compares it.

The user gives a function `state(recording_url)` (pytest's `aircore_state` fixture,
`check_receiver(state=...)`), or a URL template answering JSON (`check --state-url`, turned
into such a function by `state_from_url`). The clause compares what it returns after
different delivery orders of the same callbacks: each order goes to a recording of its own,
so the recording's id (and its URL, which holds the id) is put back to the reference
recording's before comparing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from string import Formatter
from typing import Any
from urllib.parse import quote

from ..errors import AircoreMockError, UsageError
from ..model import recording_id

RecordingState = Callable[[str], Any]
"""`state(recording_url)`: what the receiver holds about one recording, as plain data (dicts,
lists, strings, numbers), or None when it knows nothing of it."""

SETTLE = (0.05, 0.1, 0.2, 0.4)
"""Pauses (s) between reads while a state is not yet what it should be: a receiver that
applies callbacks after answering them (a queue, a worker) gets ~0.75 s to catch up."""

_PLACEHOLDERS = ("id", "url")


class StateError(AircoreMockError):
    """The state could not be read (the state URL did not answer JSON, or not at all)."""


def state_from_url(
    template: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    verify: bool = True,
) -> RecordingState:
    """A `state(recording_url)` reading `GET template` with `{id}` (the recording id) or
    `{url}` (the recording URL, percent-encoded) filled in: a 2xx with a JSON body is the
    state, a 404 is None (no such recording), anything else a `StateError`."""
    fields = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    unknown = sorted(fields - set(_PLACEHOLDERS))
    if unknown or not fields:
        raise UsageError(
            f"--state-url {template!r}: use {{id}} (the recording id) or {{url}} (its URL)"
            + (f", not {{{unknown[0]}}}" if unknown else "")
        )
    if not template.startswith(("http://", "https://")):
        raise UsageError(f"--state-url {template!r}: expected an http:// or https:// URL")
    import httpx
    import orjson

    client = httpx.Client(timeout=timeout, verify=verify, headers=dict(headers or {}))

    def state(recording_url: str) -> Any:
        url = template.format(
            id=quote(recording_id(recording_url), safe=""), url=quote(recording_url, safe="")
        )
        try:
            answer = client.get(url)
        except httpx.HTTPError as exc:
            raise StateError(f"GET {url}: {type(exc).__name__}: {exc}") from None
        if answer.status_code == 404:
            return None
        if not 200 <= answer.status_code < 300:
            raise StateError(f"GET {url} answered HTTP {answer.status_code}")
        try:
            return orjson.loads(answer.content)
        except orjson.JSONDecodeError:
            raise StateError(f"GET {url} answered {answer.status_code} but not JSON") from None

    state.close = client.close  # type: ignore[attr-defined]
    return state


def rebased(value: Any, recording_url: str, reference_url: str) -> Any:
    """`value` with `recording_url` and its id replaced by the reference recording's, in
    every string and key: what makes two recordings' states comparable."""
    pairs = (
        (recording_url, reference_url),
        (recording_id(recording_url), recording_id(reference_url)),
    )

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            for old, new in pairs:
                item = item.replace(old, new)
            return item
        if isinstance(item, Mapping):
            return {walk(k): walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        if isinstance(item, tuple):
            return tuple(walk(v) for v in item)
        return item

    return walk(value)


def read_settled(
    state: RecordingState,
    recording_url: str,
    expected: Any = None,
    reference_url: str | None = None,
) -> Any:
    """The recording's state, read again (`SETTLE`) until it equals `expected` (rebased to
    `reference_url`), or, with no `expected`, until two reads in a row agree."""
    now = state(recording_url)
    for pause in SETTLE:
        if (
            expected is not None
            and rebased(now, recording_url, reference_url or recording_url) == expected
        ):
            return now
        time.sleep(pause)  # a receiver catching up: polled, with a bound
        later = state(recording_url)
        if expected is None and later == now:
            return now
        now = later
    return now
