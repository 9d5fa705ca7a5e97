"""What `aircore-mock scenarios` lists: a row per scenario, and the upload-failure catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .facts import UPLOAD_FAILURES
from .generator import sample_mix
from .scenarios import FAULTS, catalogue


@dataclass(frozen=True)
class ScenarioRow:
    """One scenario: what happens, and the callbacks it sends (with the share of recordings
    each sequence goes to, for a scenario that mixes several)."""

    name: str
    kind: Literal["outcome", "fault"]
    description: str
    callbacks: tuple[str, ...]
    """The callbacks of its first (or only) sequence."""
    mix: tuple[tuple[float, tuple[str, ...]], ...] = ()
    """(share, callbacks) per sequence, for a scenario with more than one; else empty."""

    def to_json(self) -> dict[str, Any]:
        """The row as `scenarios --format json` prints it."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "callbacks": list(self.callbacks),
        }
        if self.mix:
            out["mix"] = [{"share": s, "callbacks": list(events)} for s, events in self.mix]
        return out


def scenario_rows() -> list[ScenarioRow]:
    """Every scenario of the catalogue, outcomes first, as rows."""
    rows = []
    for scenario in catalogue():
        mix = [(share, tuple(events)) for share, events in sample_mix(scenario)]
        rows.append(
            ScenarioRow(
                name=scenario.name,
                kind="fault" if scenario.name in FAULTS else "outcome",
                description=scenario.description,
                callbacks=mix[0][1],
                mix=tuple(mix) if len(mix) > 1 else (),
            )
        )
    return rows


def failure_rows() -> list[dict[str, str]]:
    """The upload-failure catalogue: family, code, cause and S3 message of each."""
    return [
        {"family": f.family, "code": f.code, "cause": f.cause, "message": f.template}
        for f in UPLOAD_FAILURES
    ]
