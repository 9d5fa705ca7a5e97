"""The receiver contract (`aircore-mock check`, the pytest class): what a receiver must do with
everything Aircore can send it, clause by clause, sent through the same engine as `send`."""

from __future__ import annotations

from .clauses import CLAUSES, HEADER_VARIANTS, PROBE, Clause, check_clause_names, clause_names
from .fuzzing import DEFAULT_EXAMPLES, FuzzReport, fuzz_receiver, fuzz_target
from .preflight import preflight
from .results import AircoreContractWarning, ClauseResult, ContractReport, Failure, curl
from .session import ContractSession, StateProbe, check_receiver

__all__ = [
    "CLAUSES",
    "DEFAULT_EXAMPLES",
    "HEADER_VARIANTS",
    "PROBE",
    "AircoreContractWarning",
    "Clause",
    "ClauseResult",
    "ContractReport",
    "ContractSession",
    "Failure",
    "FuzzReport",
    "StateProbe",
    "check_clause_names",
    "check_receiver",
    "clause_names",
    "curl",
    "fuzz_receiver",
    "fuzz_target",
    "preflight",
]
