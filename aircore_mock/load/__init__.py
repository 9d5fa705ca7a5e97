"""Load testing (`aircore-mock load`): `runner` plans a test and runs Locust as a child
process on the packaged locustfile (`locustfile/`); `users` holds the Locust users, the only
module that imports Locust (which patches the standard library through gevent), so this
package imports neither at its top."""

from __future__ import annotations

from .runner import (
    DEFAULT_MASTER_PORT,
    INSTALL_HINT,
    LoadOutcome,
    LoadPlan,
    check_reachable,
    free_port,
    locust_available,
    locustfile_path,
    parse_timespan,
    run_load,
)
from .summary import LoadDeliveries, LoadLatency, LoadSummary, LocustCounts

__all__ = [
    "DEFAULT_MASTER_PORT",
    "INSTALL_HINT",
    "LoadDeliveries",
    "LoadLatency",
    "LoadOutcome",
    "LoadPlan",
    "LoadSummary",
    "LocustCounts",
    "check_reachable",
    "free_port",
    "locust_available",
    "locustfile_path",
    "parse_timespan",
    "run_load",
]
