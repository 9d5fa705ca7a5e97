"""The receiver contract (`aircore-mock check`, the pytest class): what a receiver must do with
everything Aircore can send it, clause by clause, sent through the same engine as `send`."""

from __future__ import annotations

from .clauses import (
    CLAUSES,
    CONVERGES,
    HEADER_VARIANTS,
    PROBE,
    USER_CLAUSES,
    Clause,
    check_clause_names,
    clause_names,
)
from .fuzzing import DEFAULT_EXAMPLES, FuzzReport, fuzz_receiver, fuzz_target
from .preflight import preflight
from .results import AircoreContractWarning, ClauseResult, ContractReport, Failure, curl
from .session import ContractSession, StateProbe, check_receiver
from .state import RecordingState, StateError, state_from_url

__all__ = [
    "CLAUSES",
    "CONVERGES",
    "DEFAULT_EXAMPLES",
    "HEADER_VARIANTS",
    "PROBE",
    "USER_CLAUSES",
    "AircoreContractWarning",
    "Clause",
    "ClauseResult",
    "ContractReport",
    "ContractSession",
    "Failure",
    "FuzzReport",
    "RecordingState",
    "StateError",
    "StateProbe",
    "check_clause_names",
    "check_receiver",
    "clause_names",
    "curl",
    "fuzz_receiver",
    "fuzz_target",
    "preflight",
    "state_from_url",
]
