"""The generator: seeded recordings, their callbacks and the deliveries a scenario makes."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from operator import itemgetter
from random import Random
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import UsageError, number
from ..model import (
    Callback,
    Delivery,
    Recording,
    lifecycle,
    recording_id,
    started,
    stopped,
    upload_failed,
    uploaded,
)
from ..seeds import new_seed
from . import _draw
from ._draw import FILENAME_PREFIXES, between, pick
from .facts import REGION_CODES, UploadFailure, failure_families
from .pins import check_pins
from .scenarios import Fault, Ordered, Outcome, Scenario, as_is, outcome_named, resolve

if TYPE_CHECKING:
    from faker import Generator as FakerGenerator

_SECOND = 1_000
_FAMILIES = failure_families()
_OFFSET = itemgetter(2)  # a Delivery's offset_ms
# Builds a NamedTuple (a Delivery, a _Drawn) from a tuple of all its fields, without the
# Python-level __new__ that NamedTuple adds: a third of the cost.
_new = tuple.__new__
# A burst merges its recordings' callbacks by time in batches of recordings, growing from
# the first (so the first deliveries come quickly) to the largest (the sort is then cheap).
_FIRST_BATCH, _LARGEST_BATCH = 16, 1024


@dataclass(frozen=True, slots=True)
class _Pins:
    """The pins of a request, checked, read once instead of looked up for every recording."""

    url: str | None = None
    region: str | None = None
    bucket: str | None = None
    filename: str | None = None
    start_time: int | None = None
    elapsed_time: int | None = None
    stop_reason: str | None = None
    failure: str | None = None
    failure_reason: str | None = None
    address: str | None = None
    server_region: str | None = None


class _Drawn(NamedTuple):
    """One recording's values as drawn: what a `Recording` holds, plus its id."""

    url: str
    recording_id: str
    start_time: int
    duration: int | None
    stop_reason: str | None
    region: str
    bucket: str
    filename: str
    upload_delay: int
    address: str | None = None
    failure: UploadFailure | None = None
    failure_reason: str | None = None


def _draw_recording(
    random: Random, outcome: Outcome, pins: _Pins, start: int | None, reasons: tuple[str, ...]
) -> _Drawn:
    """One recording, each value drawn straight from `random` unless pinned. The order of the
    draws is part of the output: same seed, same bytes."""
    if start is None:
        start = _draw.start_time(random)
    if pins.url is not None:
        url = pins.url
        identifier = recording_id(url)
    else:
        url, identifier = _draw.url_and_id(random, start, pins.server_region)
    region = pins.region if pins.region is not None else pick(random, REGION_CODES)
    bucket = pins.bucket or _draw.s3_bucket(random)
    filename = pins.filename or pick(random, FILENAME_PREFIXES)
    upload = outcome.upload
    if upload == "mixed":
        upload = outcome.mixed_upload(random, pins.failure or pins.failure_reason, pins.address)
    duration: int | None = None
    if upload != "none":
        duration = pins.elapsed_time
        if duration is None:
            duration = _draw.duration(random)
    delay = _draw.upload_delay(random, duration or 0)
    reason: str | None = None
    address: str | None = None
    failure: UploadFailure | None = None
    failure_reason: str | None = None
    if duration is not None:  # stopped: a reason, then the upload's address or its failure
        reason = pins.stop_reason or outcome.stop_reason or pick(random, reasons)
        if upload == "ok":
            address = pins.address or _draw.upload_address(bucket, region, filename, identifier)
        else:
            family = pins.failure or outcome.failure
            if family is None:
                # A region that does not exist can only fail as a bad region.
                family = pick(random, _FAMILIES) if region in REGION_CODES else "bad-region"
            failure, message = _draw.upload_failure(random, family, bucket, region)
            failure_reason = pins.failure_reason or message
    return _new(
        _Drawn,
        (url, identifier, start, duration, reason, region, bucket, filename, delay, address,
         failure, failure_reason),
    )  # fmt: skip


def _recording(drawn: _Drawn) -> Recording:
    return Recording(
        url=drawn.url,
        start_time=drawn.start_time,
        duration=drawn.duration,
        stop_reason=drawn.stop_reason,
        region=drawn.region,
        bucket=drawn.bucket,
        filename=drawn.filename,
        upload_delay=drawn.upload_delay,
        address=drawn.address,
        failure=drawn.failure,
        failure_reason=drawn.failure_reason,
    )


# The callbacks of a recording, built from the values drawn as `Recording.callbacks()` builds
# them; one function each, so that a burst can keep a callback unbuilt until it goes out.


def _started(drawn: _Drawn) -> Callback:
    return started(drawn[0], drawn[2])


def _stopped(drawn: _Drawn) -> Callback:
    url, _, start, duration, reason = drawn[:5]
    return stopped(url, start, duration, reason, timestamp=start + duration)


def _upload(drawn: _Drawn) -> Callback:
    url, _, start, duration, _, region, _, _, delay, address, _, failure_reason = drawn
    at = start + duration + delay
    if address is not None:
        return uploaded(url, start, duration, address, region, timestamp=at)
    return upload_failed(url, start, duration, failure_reason, timestamp=at)


_Build = Callable[[_Drawn], Callback]


def _sends(drawn: _Drawn, first: int) -> list[tuple[_Drawn, _Build, int]]:
    """What the recording drawn sends, in its order: (the recording, the builder of the
    callback, when it goes in ms from `first`, which is the callback's own timestamp)."""
    start = drawn.start_time - first
    if drawn.duration is None:
        return [(drawn, _started, start)]
    stopped_at = start + drawn.duration
    if drawn.address is None and drawn.failure_reason is None:
        return [(drawn, _started, start), (drawn, _stopped, stopped_at)]
    return [
        (drawn, _started, start),
        (drawn, _stopped, stopped_at),
        (drawn, _upload, stopped_at + drawn.upload_delay),
    ]


# --- the generator ----------------------------------------------------------------------


class Generator:
    """Seeded source of realistic recordings and callbacks.

    One seeded `random.Random` decides everything; `.faker`, a Faker instance with the
    Aircore provider, draws from that same random (built on first use: generating callbacks
    does not need Faker loaded).
    """

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None:
            number("seed", seed, integer=True)
        self.seed: int = new_seed() if seed is None else int(seed)
        """The seed in use: pass it back to reproduce every byte."""
        # Random(seed) is what Faker's seed_instance(seed) makes: the same sequence.
        self._random = Random(self.seed)
        self._faker: FakerGenerator | None = None

    @property
    def faker(self) -> FakerGenerator:
        """A Faker instance with `AircoreProvider`, sharing this generator's seeded random."""
        if self._faker is None:
            from faker import Generator as FakerGenerator

            from .provider import AircoreProvider

            faker = FakerGenerator()
            faker.random = self._random
            faker._is_seeded = True  # what seed_instance() records; Faker's plugin reads it
            faker.add_provider(AircoreProvider)
            self._faker = faker
        return self._faker

    def recording(
        self,
        outcome: str = "uploaded",
        *,
        url: str | None = None,
        region: str | None = None,
        bucket: str | None = None,
        filename: str | None = None,
        start_time: int | None = None,
        elapsed_time: int | None = None,
        stop_reason: str | None = None,
        failure: str | None = None,
        failure_reason: str | None = None,
        address: str | None = None,
        server_region: str | None = None,
    ) -> Recording:
        """One recording with the given outcome (a scenario's outcome name) and pinned values."""
        pins = {k: v for k, v in locals().items() if k not in ("self", "outcome")}
        check_pins(pins)
        chosen = outcome_named(outcome)
        chosen.check(pins)
        drawn = _draw_recording(
            self._random, chosen, _Pins(**pins), start_time, lifecycle().stop_reasons
        )
        return _recording(drawn)

    def lifecycles(
        self, scenario: str = "uploaded", count: int | None = None, **pins: Any
    ) -> Iterator[Recording]:
        """Recordings of a scenario's outcome one after another in time; endless if no count."""
        chosen = resolve(scenario)
        check_pins(pins)
        chosen.outcome.check(pins)
        return map(_recording, self._timeline(chosen, count, pins))

    def _timeline(
        self, scenario: Scenario, count: int | None, pins: Mapping[str, Any]
    ) -> Iterator[_Drawn]:
        # Checked now, not on first iteration, so a bad request fails where it is made.
        if count is not None:
            number("count", count, low=1, integer=True)
        if count != 1 and pins.get("url") is not None:
            raise UsageError("a pinned url names one recording: use a count of 1")
        return self._drawn(scenario, count, _Pins(**pins))

    def _drawn(self, scenario: Scenario, count: int | None, pins: _Pins) -> Iterator[_Drawn]:
        random, outcome, reasons = self._random, scenario.outcome, lifecycle().stop_reasons
        burst = scenario.burst
        start = pins.start_time
        for _ in itertools.repeat(None) if count is None else range(count):
            drawn = _draw_recording(random, outcome, pins, start, reasons)
            # Resumed only once the recording's faults have drawn: their draws come first.
            yield drawn
            if burst:
                # Recordings that start within a second or two of each other overlap.
                start = drawn.start_time + between(random, 0, 2 * _SECOND)
            else:
                end = drawn.start_time + (drawn.duration or 0) + drawn.upload_delay
                start = end + between(random, _SECOND, 300 * _SECOND)

    def deliveries(
        self, scenario: str = "uploaded", count: int | None = None, **pins: Any
    ) -> Iterator[Delivery]:
        """The POSTs a scenario makes, lazily, in send order (burst interleaves recordings).

        `count` is the number of recordings (default 1, or 10 for a burst).
        """
        chosen = resolve(scenario)
        check_pins(pins)
        chosen.outcome.check(pins)
        if count is None:
            count = 10 if chosen.burst else 1
        recordings = self._timeline(chosen, count, pins)
        # Faults that change nothing in a recording's callbacks (burst) need no work there.
        faults = tuple(f for f in chosen.faults if f.apply is not as_is)
        if chosen.burst:
            return self._merged(recordings, faults)
        return self._in_turn(recordings, faults)

    def _in_turn(
        self, recordings: Iterator[_Drawn], faults: tuple[Fault, ...]
    ) -> Iterator[Delivery]:
        # Without a burst, a recording's last callback is sent before the next one starts:
        # its deliveries go out as they are made.
        first: int | None = None
        for drawn in recordings:
            if first is None:
                first = drawn.start_time
            if faults:
                yield from self._faulty(drawn, faults, first)
                continue
            url = drawn.url
            for _, build, offset in _sends(drawn, first):
                yield _new(Delivery, (build(drawn), url, offset, None))

    def _merged(
        self, recordings: Iterator[_Drawn], faults: tuple[Fault, ...]
    ) -> Iterator[Delivery]:
        # Deliveries go out in time order; a stable sort by time keeps each recording's own
        # order, and earlier recordings first on a tie. Every delivery of a recording comes
        # at or after its start, and starts only grow, so whatever is due before the next
        # recording's start is final: a batch of recordings is sorted into what is pending
        # and that part goes out (one sort in C a batch, not a heap operation a callback).
        # A pending callback is kept as (recording, which callback, offset) and built when it
        # goes out: a burst keeps thousands of recordings open, and their built callbacks
        # (dicts of dicts) would make the working set outgrow the CPU's caches.
        first: int | None = None
        pending: list[tuple[Any, _Build | None, int]] = []
        batch, made = _FIRST_BATCH, 0
        for drawn in recordings:
            if first is None:
                first = drawn.start_time
            if made == batch:
                pending.sort(key=_OFFSET)
                due = bisect.bisect_left(pending, drawn.start_time - first, key=_OFFSET)
                for item, build, offset in pending[:due]:
                    # an unbuilt callback, or a delivery a fault has already built
                    yield _new(Delivery, (build(item), item[0], offset, None)) if build else item
                del pending[:due]
                batch, made = min(2 * batch, _LARGEST_BATCH), 0
            if faults:
                pending += [(d, None, d.offset_ms) for d in self._faulty(drawn, faults, first)]
            else:
                pending += _sends(drawn, first)
            made += 1
        pending.sort(key=_OFFSET)
        for item, build, offset in pending:
            yield _new(Delivery, (build(item), item[0], offset, None)) if build else item

    def _faulty(self, drawn: _Drawn, faults: tuple[Fault, ...], first: int) -> list[Delivery]:
        """One recording's deliveries after its faults, in its own send order."""
        ordered: Ordered = [(build(drawn), None) for _, build, _ in _sends(drawn, first)]
        for fault in faults:
            ordered = fault.apply(ordered, self._random)
        # Each callback goes at its own time, or right after the one before it when a
        # fault has put it behind a later one (a delayed or retried delivery).
        at, url, out = drawn.start_time, drawn.url, []
        for callback, quirk in ordered:
            at = max(at, callback["timestamp"])
            out.append(_new(Delivery, (callback, url, at - first, quirk)))
        return out

    def scenario(
        self, name: str = "uploaded", count: int | None = None, **pins: Any
    ) -> list[Callback]:
        """The callbacks of a scenario, in the order they are delivered."""
        return [d.callback for d in self.deliveries(name, count, **pins)]


def sample_events(scenario: Scenario) -> list[str]:
    """The callback types a scenario sends for one recording (seed 0), in send order; for a
    mix, those of its common case (a recording that uploads). `sample_mix` shows them all."""
    return sample_mix(scenario)[0][1]


def sample_mix(scenario: Scenario) -> list[tuple[float, list[str]]]:
    """What a scenario sends, as (share of recordings, callback types in send order): one
    entry, or for a mix (`mixed`, a burst) an uploading and a failing recording's."""
    count = 2 if scenario.burst else 1
    found: dict[bool, list[str]] = {}
    for seed in range(200):
        events = [c["event"] for c in Generator(seed=seed).scenario(scenario.name, count=count)]
        uploads = events[-1] == lifecycle().uploaded
        found.setdefault(uploads, events)
        if scenario.outcome.upload != "mixed" or len(found) == 2:
            break
    if scenario.outcome.upload != "mixed" or scenario.burst:
        # a burst interleaves several recordings: one sample already shows the mix
        return [(1.0, found.get(True) or next(iter(found.values())))]
    rate = scenario.outcome.mixed_failure_rate
    return [(1.0 - rate, found[True]), (rate, found[False])]
