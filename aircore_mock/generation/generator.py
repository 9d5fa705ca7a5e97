"""The generator: seeded recordings, their callbacks and the deliveries a scenario makes."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from faker import Generator as FakerGenerator

from ..errors import UsageError, number
from ..model import Callback, Delivery, Recording, lifecycle
from ..seeds import new_seed
from ._draw import between, pick
from .facts import REGION_CODES, failure_families
from .pins import check_pins
from .provider import AircoreProvider
from .scenarios import Scenario, outcome_named, resolve

_SECOND = 1_000
_FAMILIES = failure_families()


# --- the generator ----------------------------------------------------------------------


class Generator:
    """Seeded source of realistic recordings and callbacks (one Faker instance, built once)."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None:
            number("seed", seed, integer=True)
        self.seed: int = new_seed() if seed is None else int(seed)
        """The seed in use: pass it back to reproduce every byte."""
        self.faker = FakerGenerator()
        self.faker.seed_instance(self.seed)
        self.faker.add_provider(AircoreProvider)
        self._provider: AircoreProvider = next(
            p for p in self.faker.providers if isinstance(p, AircoreProvider)
        )

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
        return self._recording(chosen, pins)

    def _recording(self, outcome: Any, pins: Mapping[str, Any]) -> Recording:
        fake = self._provider
        random = self.faker.random
        start_time = pins.get("start_time")
        if start_time is None:
            start_time = fake.recording_start_time()
        url = (
            pins["url"]
            if pins.get("url") is not None
            else fake.recording_url(start_time=start_time, region=pins.get("server_region"))
        )
        region = pins["region"] if pins.get("region") is not None else fake.aws_region()
        bucket = pins.get("bucket") or fake.s3_bucket()
        filename = pins.get("filename") or fake.filename_prefix()
        decided = outcome.decide(random, pins)
        duration: int | None = None
        if decided.upload != "none":
            duration = pins.get("elapsed_time")
            if duration is None:
                duration = fake.recording_duration()
        recording = Recording(
            url=url,
            start_time=start_time,
            duration=duration,
            stop_reason=None,
            region=region,
            bucket=bucket,
            filename=filename,
            upload_delay=fake.upload_delay(duration or 0),
        )
        if duration is None:
            return recording
        recording.stop_reason = (
            pins.get("stop_reason") or decided.stop_reason or pick(random, lifecycle().stop_reasons)
        )
        if decided.upload == "ok":
            recording.address = pins.get("address") or fake.upload_address(
                bucket=bucket,
                region=region,
                filename=filename,
                recording_id=recording.recording_id,
            )
        else:
            family = pins.get("failure") or decided.failure
            if family is None:
                # A region that does not exist can only fail as a bad region.
                real = region in REGION_CODES
                family = pick(random, _FAMILIES) if real else "bad-region"
            recording.failure, message = fake.upload_failure(family, bucket=bucket, region=region)
            recording.failure_reason = pins.get("failure_reason") or message
        return recording

    def lifecycles(
        self, scenario: str = "uploaded", count: int | None = None, **pins: Any
    ) -> Iterator[Recording]:
        """Recordings of a scenario's outcome one after another in time; endless if no count."""
        chosen = resolve(scenario)
        check_pins(pins)
        chosen.outcome.check(pins)
        return self._lifecycles(chosen, count, pins)

    def _lifecycles(
        self, scenario: Scenario, count: int | None, pins: Mapping[str, Any]
    ) -> Iterator[Recording]:
        # Checked now, not on first iteration, so a bad request fails where it is made.
        if count is not None:
            number("count", count, low=1, integer=True)
        if count != 1 and pins.get("url") is not None:
            raise UsageError("a pinned url names one recording: use a count of 1")
        return self._timeline(scenario, count, pins)

    def _timeline(
        self, scenario: Scenario, count: int | None, pins: Mapping[str, Any]
    ) -> Iterator[Recording]:
        random = self.faker.random
        burst = scenario.burst
        next_start = pins.get("start_time")
        for _ in itertools.repeat(None) if count is None else range(count):
            these = dict(pins)
            if next_start is not None:
                these["start_time"] = next_start
            recording = self._recording(scenario.outcome, these)
            yield recording
            if burst:
                # Recordings that start within a second or two of each other overlap.
                next_start = recording.start_time + between(random, 0, 2 * _SECOND)
            else:
                end = recording.start_time + (recording.duration or 0) + recording.upload_delay
                next_start = end + between(random, _SECOND, 300 * _SECOND)

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
        recordings = self._lifecycles(chosen, count, pins)
        return self._deliveries(chosen, recordings)

    def _deliveries(
        self, scenario: Scenario, recordings: Iterator[Recording]
    ) -> Iterator[Delivery]:
        random = self.faker.random
        first: int | None = None
        # (send time, sequence, delivery): the sequence keeps each recording's order on ties.
        pending: list[tuple[int, int, Delivery]] = []
        sequence = itertools.count()
        for recording in recordings:
            if first is None:
                first = recording.start_time
            while pending and pending[0][0] < recording.start_time:
                yield heapq.heappop(pending)[2]
            ordered: list[tuple[Callback, str | None]] = [(c, None) for c in recording.callbacks()]
            for fault in scenario.faults:
                ordered = fault.apply(ordered, random)
            # Each callback goes at its own time, or right after the one before it when a
            # fault has put it behind a later one (a delayed or retried delivery).
            at = recording.start_time
            for callback, quirk in ordered:
                at = max(at, callback["timestamp"])
                delivery = Delivery(callback, recording.url, at - first, quirk)
                heapq.heappush(pending, (at, next(sequence), delivery))
        while pending:
            yield heapq.heappop(pending)[2]

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
