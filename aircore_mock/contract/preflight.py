"""One request before a contract run: a receiver nobody can reach makes every clause moot."""

from __future__ import annotations

from ..errors import InputError
from ..sending import Sender
from .session import ContractSession


def preflight(session: ContractSession) -> None:
    """Post `{}` once to the session's target: an InputError ("cannot reach ...") when it
    cannot be reached, so that `check` and `fuzz` say so in one line instead of failing every
    clause. A Ctrl-C already given marks the session interrupted."""
    with Sender(
        session.target,
        timeout=min(session.budget, 5.0),
        headers=session.headers,
        verify=session.verify,
    ) as probe:
        (result,) = probe.send([b"{}"]).results or []
    if result.outcome == "not-sent":  # Ctrl-C already
        session.interrupted = True
    if result.outcome in ("unreachable", "error"):
        raise InputError(f"cannot reach {session.target}: {result.describe()}")
