"""The scenario registry: an outcome (what happens to a recording) plus delivery faults."""

from __future__ import annotations

import copy
import difflib
import functools
import random as _random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import UsageError
from ..model import lifecycle
from ._draw import between
from .facts import REGION_CODES, UPLOAD_FAILURES, bucket_name_problem
from .pins import pin_label

Upload = Literal["ok", "failed", "none", "mixed"]
Ordered = list[tuple[dict[str, Any], "str | None"]]  # callbacks in send order, with their quirk


@dataclass(frozen=True)
class Decision:
    """What happens to one recording: how it stops and whether its upload works."""

    upload: Literal["ok", "failed", "none"]
    stop_reason: str | None = None
    failure: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What happens to a recording (a scenario's first axis)."""

    name: str
    description: str
    upload: Upload
    stop_reason: str | None = None
    failure: str | None = None
    mixed_failure_rate: float = 0.2

    def check(self, pins: Mapping[str, Any]) -> None:
        """Refuse pins that contradict this outcome (they would be silently ignored)."""
        pinned = {k for k, v in pins.items() if v is not None}
        clash: set[str] = set()
        if self.upload == "none":
            # only recording-started is sent: nothing about the stop or the upload shows
            clash = pinned - {"url", "start_time", "server_region"}
        elif self.upload == "ok":
            clash = pinned & {"failure", "failure_reason"}
        elif self.upload == "failed":
            clash = pinned & {"address"}
        elif {"failure", "failure_reason"} & pinned and "address" in pinned:
            clash = {"address"}
        if self.stop_reason and pins.get("stop_reason") not in (None, self.stop_reason):
            clash.add("stop_reason")
        if self.failure and pins.get("failure") not in (None, self.failure):
            clash.add("failure")
        if "failure_reason" in clash and self.upload != "none":
            raise UsageError(_not_a_stop_reason(pins["failure_reason"], self.name))
        if clash:
            names = ", ".join(sorted(pin_label(name) for name in clash))
            raise UsageError(
                f"{names} cannot be pinned with outcome {self.name!r}: {self.description}"
            )
        if self.upload in ("ok", "mixed"):
            _check_upload_target(self.name, pins)

    def decide(self, random: _random.Random, pins: Mapping[str, Any]) -> Decision:
        """This outcome for one recording, honouring pins where the outcome leaves a choice."""
        upload = self.upload
        if upload == "mixed":
            wants_failure = pins.get("failure") or pins.get("failure_reason")
            upload = self.mixed_upload(random, wants_failure, pins.get("address"))
        return Decision(upload, self.stop_reason, self.failure)

    def mixed_upload(
        self, random: _random.Random, wants_failure: str | None, address: str | None
    ) -> Literal["ok", "failed"]:
        """Whether one recording of a mix uploads: a pinned address says it does, a pinned
        failure that it fails; otherwise it fails at `mixed_failure_rate` (one draw)."""
        if address:
            return "ok"
        if wants_failure or random.random() < self.mixed_failure_rate:
            return "failed"
        return "ok"


def _not_a_stop_reason(value: str, outcome: str) -> str:
    reasons = lifecycle().stop_reasons
    near = difflib.get_close_matches(value, reasons, n=1, cutoff=0.75)
    near += [r for r in reasons if r.lower() == value.lower() and r not in near]
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return (
        f"recording.reason {value!r} is not a stop reason{hint}: the stop reasons are "
        f"{', '.join(reasons)}. Outcome {outcome!r} uploads, so recording.reason can only be "
        "one of those; with an upload failure (e.g. --scenario upload-failed) it is the "
        "failure's message, any text"
    )


def _check_upload_target(outcome: str, pins: Mapping[str, Any]) -> None:
    # A successful upload to a region or bucket that cannot exist would teach a receiver's
    # author something false: refuse, and say which scenario makes the failure instead.
    region, bucket = pins.get("region"), pins.get("bucket")
    if region and region not in REGION_CODES:
        near = difflib.get_close_matches(region.lower(), REGION_CODES, n=1, cutoff=0.7)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise UsageError(
            f"recording.location.region {region!r} is not an AWS region code, so outcome "
            f"{outcome!r} cannot upload there; {hint}real codes: {', '.join(REGION_CODES)}. "
            "For the failure such a region causes: --scenario bad-region (or invalid-region)"
        )
    problem = None if bucket is None else bucket_name_problem(bucket)
    if problem is not None:
        raise UsageError(
            f"bucket {bucket!r} {problem}, so outcome {outcome!r} cannot upload to it. For "
            "the failure S3 answers with: --scenario invalid-bucket-name"
        )


def as_is(ordered: Ordered, random: _random.Random) -> Ordered:
    """A fault's effect on a recording's callbacks when it changes none of them (burst)."""
    return ordered


@dataclass(frozen=True)
class Fault:
    """A way Aircore's delivery goes wrong (a scenario's second axis); composes with outcomes."""

    name: str
    description: str
    reorders: bool = False
    needs: int = 1
    """How many callbacks a recording must have for this fault to apply."""
    apply: Callable[[Ordered, _random.Random], Ordered] = field(default=as_is, repr=False)


@dataclass(frozen=True)
class Scenario:
    """An outcome delivered with zero or more faults, e.g. `upload-failed+out-of-order`."""

    name: str
    outcome: Outcome
    faults: tuple[Fault, ...] = ()

    @property
    def burst(self) -> bool:
        return any(f.name == "burst" for f in self.faults)

    @property
    def description(self) -> str:
        parts = [self.outcome.description] if self.outcome.name == self.name else []
        parts += [f.description for f in self.faults]
        return "; ".join(parts) or self.outcome.description


def _kebab(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", camel).lower()


def _duplicate(ordered: Ordered, random: _random.Random) -> Ordered:
    index = between(random, 0, len(ordered))
    twin = (copy.deepcopy(ordered[index][0]), "duplicate")
    return [*ordered[: index + 1], twin, *ordered[index + 1 :]]


def _out_of_order(ordered: Ordered, random: _random.Random) -> Ordered:
    # The upload callback overtakes the stop callback: the last two swap places.
    (stop, _), (upload, _) = ordered[-2], ordered[-1]
    return [*ordered[:-2], (upload, "out-of-order"), (stop, "out-of-order")]


def _reversed(ordered: Ordered, random: _random.Random) -> Ordered:
    return [(callback, "reversed") for callback, _ in reversed(ordered)]


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("duplicate", "one callback is delivered twice", apply=_duplicate),
        Fault(
            "out-of-order",
            "the upload callback arrives before the stop callback",
            reorders=True,
            needs=3,
            apply=_out_of_order,
        ),
        Fault(
            "reversed",
            "a recording's callbacks arrive last first (stop before start)",
            reorders=True,
            needs=2,
            apply=_reversed,
        ),
        Fault("burst", "many recordings at once, their callbacks interleaved in time"),
    )
}


@functools.cache
def outcomes() -> dict[str, Outcome]:
    """Every outcome by name: uploads, each catalogued failure, each stop reason, in-progress."""
    found = [
        Outcome("uploaded", "the happy path: started, stopped, uploaded to S3", "ok"),
        Outcome("upload-failed", "the upload to S3 fails (any catalogued failure)", "failed"),
    ]
    causes: dict[str, str] = {}
    for entry in UPLOAD_FAILURES:
        causes.setdefault(entry.family, f"upload fails: {entry.cause[0].lower()}{entry.cause[1:]}")
    found += [Outcome(family, causes[family], "failed", failure=family) for family in causes]
    for reason in lifecycle().stop_reasons:
        found.append(
            Outcome(_kebab(reason), f"stops with reason {reason}, then uploads", "ok", reason)
        )
    found += [
        Outcome("in-progress", "the recording has started and is still going", "none"),
        Outcome(
            "mixed",
            "a realistic mix: 80% of recordings upload, 20% fail (any catalogued upload "
            "failure); each stops for any documented reason",
            "mixed",
        ),
    ]
    return {o.name: o for o in found}


def outcome_named(name: str) -> Outcome:
    """An outcome by name, or a usage error that suggests the closest one."""
    known = outcomes()
    if name not in known:
        raise UsageError(_unknown("outcome", name, list(known)))
    return known[name]


def _unknown(kind: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}{hint} (known: {', '.join(known)})"


def names() -> list[str]:
    """Every single scenario name: the outcomes, then the faults."""
    return [*outcomes(), *FAULTS]


def resolve(name: str) -> Scenario:
    """A scenario from its name: `OUTCOME`, `FAULT` or `OUTCOME+FAULT[+FAULT...]`."""
    if not isinstance(name, str):
        raise UsageError(f"a scenario is named by a string such as 'uploaded', got {name!r}")
    parts = [p.strip() for p in name.split("+")]
    chosen: Outcome | None = None
    faults: list[Fault] = []
    for part in parts:
        if part in FAULTS:
            if FAULTS[part] in faults:
                raise UsageError(f"scenario {name!r} names {part!r} twice")
            faults.append(FAULTS[part])
        elif part in outcomes():
            if chosen is not None:
                raise UsageError(
                    f"scenario {name!r} names two outcomes ({chosen.name!r}, {part!r}); "
                    "combine one outcome with faults"
                )
            chosen = outcomes()[part]
        else:
            raise UsageError(_unknown("scenario", part, names()))
    if chosen is None:
        chosen = outcomes()["mixed" if any(f.name == "burst" for f in faults) else "uploaded"]
    if sum(f.reorders for f in faults) > 1:
        raise UsageError(f"scenario {name!r} has two ordering faults; pick one")
    size = {"none": 1}.get(chosen.upload, 3)
    for fault in faults:
        if size < fault.needs:
            raise UsageError(
                f"{fault.name!r} needs a recording with {fault.needs} callbacks; "
                f"{chosen.name!r} has {size}"
            )
    # Reorder first, then duplicate, so a duplicate repeats a callback where it is sent.
    faults.sort(key=lambda f: not f.reorders)
    return Scenario(name, chosen, tuple(faults))


def catalogue() -> list[Scenario]:
    """The registry as listed by `aircore-mock scenarios`: each outcome, then each fault."""
    return [resolve(n) for n in names()]
