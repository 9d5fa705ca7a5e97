"""AircoreReceiverContract: one pytest test per contract clause, for any receiver.

PYTEST_DONT_REWRITE: failures are reported with pytest.fail, not bare asserts.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest


class AircoreReceiverContract:
    """Subclass it and override the `receiver` fixture (a URL, an ASGI app or a WSGI app).

        class TestMyReceiver(AircoreReceiverContract):
            aircore_path = "/aircore"          # where an app takes callbacks

            @pytest.fixture
            def receiver(self):
                return create_app()

    Override `aircore_probe` to check side effects after each lifecycle (in every delivery
    order), `aircore_state` to have the contract compare your receiver's state after any
    order with the state after the in-order one (`converges`), and `aircore_headers` to send
    e.g. an Authorization header. Set `aircore_fuzz_examples` to
    add `test_fuzz`, a longer property-based search (what `aircore-mock fuzz` runs).
    """

    aircore_path: str = "/"
    aircore_concurrency: int = 1
    """Independent requests of one clause in flight at once (a recording's stay in order)."""
    aircore_burst: int = 8
    """Requests concurrent-deliveries has in flight at once."""
    aircore_fuzz_examples: int = 0
    """Requests `test_fuzz` sends (0: no fuzz test; it is then skipped)."""

    @pytest.fixture
    def receiver(self) -> Any:
        """Override: the receiver under test (URL, ASGI app or WSGI app)."""
        pytest.fail(
            f"{type(self).__name__} must override the `receiver` fixture "
            "(return a URL, an ASGI app or a WSGI app), or run with --aircore-target URL",
            pytrace=False,
        )

    @pytest.fixture
    def aircore_headers(self) -> dict[str, str]:
        """Override: extra headers for every callback (e.g. Authorization)."""
        return {}

    @pytest.fixture
    def aircore_contract(
        self,
        request: pytest.FixtureRequest,
        aircore_seed: int,
        aircore_probe: Any,
        aircore_state: Any,
        aircore_headers: dict[str, str],
        _aircore_slow_receivers: dict[str, str],
    ) -> Any:
        from aircore_mock.contract import ContractSession

        from .plugin import budget_option, target_option

        target = target_option(request.config) or request.getfixturevalue("receiver")
        session = ContractSession(
            target,
            path=self.aircore_path,
            budget=budget_option(request.config),
            seed=aircore_seed,
            headers=aircore_headers,
            probe=aircore_probe,
            state=aircore_state,
            concurrency=self.aircore_concurrency,
            burst=self.aircore_burst,
        )
        key = request.node.cls.__qualname__ if request.node.cls else request.node.nodeid
        session.slow = _aircore_slow_receivers.get(key)
        yield session
        session.close()
        if session.slow is not None:
            _aircore_slow_receivers[key] = session.slow

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "aircore_case" not in metafunc.fixturenames:
            return
        from aircore_mock.contract import CLAUSES

        clause = metafunc.function.__name__.removeprefix("test_").replace("_", "-")
        metafunc.parametrize("aircore_case", list(CLAUSES[clause].cases()))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """One test per clause of `CLAUSES` (and the probe), in the order they run, named
        `test_<clause>` and parametrized by its cases: the clauses are listed once, in the
        contract. A subclass that defines a `test_<clause>` itself keeps its own."""
        super().__init_subclass__(**kwargs)
        from aircore_mock.contract import CLAUSES, USER_CLAUSES

        titles = {name: clause.title for name, clause in CLAUSES.items()}
        titles.update(USER_CLAUSES)
        for name, title in titles.items():
            method = "test_" + name.replace("-", "_")
            if hasattr(cls, method):
                continue
            test = _clause_test(name, bool(name in CLAUSES and CLAUSES[name].cases()))
            test.__name__ = test.__qualname__ = method
            test.__doc__ = title[0].upper() + title[1:]
            setattr(cls, method, test)

    def test_fuzz(self, aircore_contract: Any) -> None:
        """The longer search (`aircore_fuzz_examples` requests): the smallest request of each
        distinct failure."""
        __tracebackhide__ = True
        if self.aircore_fuzz_examples <= 0:
            pytest.skip("set aircore_fuzz_examples to run the longer search")
        from aircore_mock.contract import fuzz_receiver
        from aircore_mock.reporting import text

        report = fuzz_receiver(aircore_contract, examples=self.aircore_fuzz_examples)
        if report.failures:
            pytest.fail("\n".join(text.fuzz(report)), pytrace=False)


def _clause_test(clause: str, with_cases: bool) -> Any:
    if with_cases:

        def test_with_cases(self: Any, aircore_contract: Any, aircore_case: str) -> None:
            __tracebackhide__ = True
            _verify(aircore_contract, clause, aircore_case)

        return test_with_cases

    def test(self: Any, aircore_contract: Any) -> None:
        __tracebackhide__ = True
        _verify(aircore_contract, clause)

    return test


def _verify(session: Any, clause: str, case: str | None = None) -> None:
    __tracebackhide__ = True
    from aircore_mock.contract import AircoreContractWarning
    from aircore_mock.reporting import text

    result = session.run(clause, case)
    if session.interrupted:
        raise KeyboardInterrupt  # Ctrl-C stopped the clause: end the test session too
    if result.verdict == "skipped":
        pytest.skip(result.reason)
    if result.verdict == "warned":
        warning = text.clause_warning(result, session.url, session.headers)
        warnings.warn(AircoreContractWarning(warning), stacklevel=2)
        return
    if result.verdict == "failed":
        failure = text.clause_failure(
            result,
            session.url,
            session.headers,
            session.seed,
            in_process=session.kind != "url",
            hint=session.hint(),
        )
        pytest.fail(failure, pytrace=False)
