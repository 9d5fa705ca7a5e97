"""JSON for machines: the same facts as the text reporter, as JSON-ready dicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..results import Report

if TYPE_CHECKING:  # types only: `validate` reports through here, and must not load the contract
    from ..capture import CaptureSummary
    from ..contract import ContractReport


def send(
    report: Report,
    target: str,
    *,
    receiver: CaptureSummary | None = None,
    received: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A send: the target, the summary, every result, and what a built-in receiver got."""
    out: dict[str, Any] = {
        "target": target,
        "summary": report.summary(),
        "results": [r.to_json() for r in report.results or ()],
    }
    if receiver is not None:
        out["receiver"] = receiver.to_json()
        out["received"] = received or []
    return out


def contract(report: ContractReport) -> dict[str, Any]:
    """A contract run: every clause and case, with failures and the deliveries' summary."""
    return report.to_json()


def capture(capture: Any) -> dict[str, Any]:
    """One request a capture server got."""
    return dict(capture.to_json())


def capture_summary(summary: CaptureSummary) -> dict[str, Any]:
    """What a capture server got."""
    return {"summary": summary.to_json()}
