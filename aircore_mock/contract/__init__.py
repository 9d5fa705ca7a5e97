"""The receiver contract (`aircore-mock check`, the pytest class): what a receiver must do with
everything Aircore can send it, clause by clause, sent through the same engine as `send`."""

from __future__ import annotations

from .clauses import CLAUSES, PROBE, Clause, check_clause_names, clause_names
from .results import AircoreContractWarning, ClauseResult, ContractReport, Failure, curl
from .session import ContractSession, Probe, check_receiver

__all__ = [
    "CLAUSES",
    "PROBE",
    "AircoreContractWarning",
    "Clause",
    "ClauseResult",
    "ContractReport",
    "ContractSession",
    "Failure",
    "Probe",
    "check_clause_names",
    "check_receiver",
    "clause_names",
    "curl",
]
