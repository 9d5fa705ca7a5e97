"""The pytest11 entry point: options, marker, header and fixtures (aircore_mock loads lazily).

PYTEST_DONT_REWRITE: loaded into every pytest run; no bare asserts to rewrite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

_SEED = pytest.StashKey[int]()
_FIXTURE_PREFIX = "aircore_"  # every fixture this plugin and its contract class define


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aircore-mock", "aircore-mock: Aircore recording callbacks")
    group.addoption(
        "--aircore-seed",
        type=int,
        default=None,
        metavar="SEED",
        help="Seed for generated callbacks (printed at the top of runs that use the fixtures; "
        "default: a random one).",
    )
    group.addoption(
        "--aircore-target",
        default=None,
        metavar="URL",
        help="Run AircoreReceiverContract classes against this live URL instead of their "
        "`receiver` fixture (default: the aircore_target ini value).",
    )
    group.addoption(
        "--aircore-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Time a receiver may take to answer one callback (default: 10).",
    )
    parser.addini("aircore_target", "URL the contract classes run against (as --aircore-target).")
    parser.addini("aircore_budget", "Seconds a receiver may take per callback (default 10).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "aircore(scenario=None, seed=None, count=None): the scenario, seed and number of "
        "recordings for the aircore_generator, aircore_callbacks and aircore_send fixtures.",
    )
    seed = config.getoption("aircore_seed", None)
    if seed is None:
        from aircore_mock.seeds import new_seed

        seed = new_seed()
    config.stash[_SEED] = seed


def _seed_line(config: pytest.Config) -> str:
    seed = config.stash[_SEED]
    return f"aircore-mock: seed {seed} (reproduce with --aircore-seed {seed})"


def pytest_report_header(config: pytest.Config) -> list[str]:
    # The plugin is loaded into every pytest run of a project that has the package installed:
    # its line belongs in the header only of runs that use it (said once the tests are
    # collected, below), or of verbose runs, where every plugin's say is welcome.
    return [_seed_line(config)] if config.get_verbosity() > 0 else []


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    if config.get_verbosity() > 0:
        return []  # already in the header
    uses = any(
        name.startswith(_FIXTURE_PREFIX)
        for item in items
        for name in getattr(item, "fixturenames", ())
    )
    return [_seed_line(config)] if uses else []


def target_option(config: pytest.Config) -> str | None:
    """The live URL the contract classes should use, if one was given."""
    return config.getoption("aircore_target", None) or config.getini("aircore_target") or None


def budget_option(config: pytest.Config) -> float:
    """Seconds a receiver may take per callback."""
    value = config.getoption("aircore_budget", None) or config.getini("aircore_budget")
    return float(value) if value else 10.0


def _marker(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("aircore")
    return dict(marker.kwargs) if marker is not None else {}


@pytest.fixture(scope="session")
def aircore_seed(pytestconfig: pytest.Config) -> int:
    """The session's seed (from --aircore-seed, or random and shown at the top of the run)."""
    return pytestconfig.stash[_SEED]


@pytest.fixture
def aircore_generator(request: pytest.FixtureRequest, aircore_seed: int) -> Any:
    """An `aircore_mock.Generator` seeded by the `aircore` marker or the session seed."""
    from aircore_mock import Generator

    return Generator(_marker(request).get("seed", aircore_seed))


@pytest.fixture
def aircore_callbacks(request: pytest.FixtureRequest, aircore_generator: Any) -> list[Any]:
    """The callbacks of the marker's scenario (default `uploaded`), in delivery order."""
    options = _marker(request)
    return aircore_generator.scenario(options.get("scenario", "uploaded"), options.get("count"))


@pytest.fixture
def aircore_send(request: pytest.FixtureRequest, aircore_generator: Any) -> Callable[..., Any]:
    """`aircore_send(target, what=None, **options) -> Report`.

    `what` is a scenario name, a list of callbacks or None (the marker's scenario); target
    is a URL, an ASGI app or a WSGI app; options go to `aircore_mock.send`.
    """
    from aircore_mock import send

    options = _marker(request)

    def send_to(target: Any, what: Any = None, **kwargs: Any) -> Any:
        if what is None or isinstance(what, str):
            scenario = what or options.get("scenario", "uploaded")
            what = list(aircore_generator.deliveries(scenario, options.get("count")))
        return send(what, target, **kwargs)

    return send_to


@pytest.fixture(scope="session")
def aircore_receiver_options() -> dict[str, Any]:
    """Keyword arguments for the session's `aircore_mock.Receiver` behind `aircore_receiver`.

    Override it, session-scoped, in your conftest.py to configure that server: e.g.
    `{"strict": True, "path": "/aircore/callbacks", "status": 202}` (also `max_body`,
    `limits`, `log`, `keep`, `host`, `port`). The default, `{}`, is a lenient server on a
    free port of 127.0.0.1 that files callbacks at `/` and answers 204.
    """
    return {}


@pytest.fixture(scope="session")
def aircore_service_options() -> dict[str, Any]:
    """Keyword arguments for the session's `aircore_mock.FakeAircore` behind `aircore_service`.

    Override it, session-scoped, in your conftest.py to configure the fake: e.g.
    `{"api_keys": ["test-key"], "auto_stop": 600, "retries": 2}` (also `clock`, `speed`,
    `upload_delay`, `backoff`, `callback_timeout`, `seed`, `public_url`, `limits`, `log`,
    `host`, `port`). The default, `{}`, is a manual clock, any bearer key, no retries and
    the session seed (`--aircore-seed`), served on a free port of 127.0.0.1.
    """
    return {}


def _build(kind: Callable[..., Any], fixture: str, options: Any) -> Any:
    """`kind(**options)`, or a usage error that names the fixture the options came from (a
    misspelt option would otherwise surface as a TypeError deep in a session fixture)."""
    _check(kind, fixture, options)
    return kind(**options)


def _check(kind: Callable[..., Any], fixture: str, options: Any) -> None:
    import inspect

    if not isinstance(options, Mapping):
        raise pytest.UsageError(
            f"{fixture} must return a dict of keyword arguments for {kind.__name__}, "
            f"got {type(options).__name__}"
        )
    try:
        inspect.signature(kind).bind(**options)
    except TypeError as exc:
        raise pytest.UsageError(f"{fixture}: {kind.__name__}() {exc}") from None


@pytest.fixture(scope="session")
def _aircore_receiver_server(aircore_receiver_options: dict[str, Any]) -> Iterator[Any]:
    from aircore_mock import Receiver

    with _build(Receiver, "aircore_receiver_options", aircore_receiver_options) as receiver:
        yield receiver


@pytest.fixture
def aircore_receiver(_aircore_receiver_server: Any) -> Any:
    """A live capture server on 127.0.0.1 (shared by the session, emptied for each test;
    configured by `aircore_receiver_options`).

    `.url`, `.callbacks`, `.captures`, `.wait_for(n, timeout=...)`, `.summary()`.
    """
    _aircore_receiver_server.reset()
    return _aircore_receiver_server


@pytest.fixture(scope="session")
def _aircore_service_server(
    aircore_seed: int, aircore_service_options: dict[str, Any]
) -> Iterator[Any]:
    from aircore_mock import FakeAircore

    options = {"seed": aircore_seed, **aircore_service_options}
    with _build(FakeAircore, "aircore_service_options", options) as fake:
        yield fake


@pytest.fixture
def aircore_service(_aircore_service_server: Any) -> Any:
    """A fake of Aircore's recording API on 127.0.0.1 that sends the callbacks back (shared
    by the session, reset for each test; configured by `aircore_service_options`), on a
    manual clock unless those options say otherwise.

    Point your app's Aircore client at `.url` (`POST {url}/recording`); `.advance(seconds)`
    runs the auto-stops and uploads due by then; `.wait_for_callbacks(n, timeout=...)`,
    `.recordings`, `.journal`, `.inject(...)`.
    """
    _aircore_service_server.reset()
    return _aircore_service_server


@pytest.fixture(scope="session")
def _aircore_s3_service_server(
    aircore_seed: int, aircore_service_options: dict[str, Any]
) -> Iterator[Any]:
    from aircore_mock import FakeAircore, S3Config

    options = {"seed": aircore_seed, **aircore_service_options}
    options.setdefault("s3", S3Config())
    with _build(FakeAircore, "aircore_service_options", options) as fake:
        yield fake


@pytest.fixture
def aircore_s3_service(_aircore_s3_service_server: Any) -> Any:
    """`aircore_service` with real uploads (needs the `[s3]` extra): an embedded S3 (moto on
    127.0.0.1), shared by the session, the fake reset for each test (the S3 keeps its
    buckets). It takes any keys unless `aircore_service_options` says
    `{"s3": S3Config(auth=True)}` (moto's credential check is process-wide: it would apply to
    your own `mock_aws` tests too, for the rest of the session).

    `.s3.create_bucket(name, region)`, `.s3.credentials()` (an IAM user's keys for the start
    request), `.s3.client()` (boto3, to read what was uploaded), `.s3_endpoint`.
    """
    _aircore_s3_service_server.reset()
    return _aircore_s3_service_server


@pytest.fixture
def aircore_mock_api_options() -> dict[str, Any]:
    """Keyword arguments for the `FakeAircore` behind `aircore_mock_api` (override it in your
    conftest.py: `clock`, `api_keys`, `auto_stop`, `s3`, ...). Default `{}`: a manual clock,
    any bearer key, the session seed."""
    return {}


@pytest.fixture
def aircore_mock_api(aircore_seed: int, aircore_mock_api_options: dict[str, Any]) -> Iterator[Any]:
    """Aircore's API host (`https://services.aircore.io`) answered in-process by a fresh
    `FakeAircore` for this test (needs the `[intercept]` extra): httpx (sync and async) and
    requests calls there reach the fake, every other host passes through. Yields the fake
    (`.advance()`, `.wait_for_callbacks()`, `.recordings`, ...)."""
    from aircore_mock import FakeAircore, mock_aircore

    options = {"seed": aircore_seed, **aircore_mock_api_options}
    _check(FakeAircore, "aircore_mock_api_options", options)
    with mock_aircore(**options) as answering:
        yield answering


@pytest.fixture
def aircore_validate() -> Callable[..., None]:
    """`aircore_validate(payload, strict=False, event=None)`: fail with readable problems."""
    from aircore_mock import iter_errors

    def check(payload: Any, *, strict: bool = False, event: str | None = None) -> None:
        __tracebackhide__ = True
        problems = list(iter_errors(payload, strict=strict, event=event))
        if problems:
            lines = "\n".join(f"  {p}" for p in problems)
            kind = event or "callback"
            raise AssertionError(f"not a valid {kind}{' (strict)' if strict else ''}:\n{lines}")

    return check


@pytest.fixture
def aircore_probe() -> Any:
    """Override to check your receiver's side effects after each delivered lifecycle.

    Return `probe(recording_url, callbacks)` (or `probe(recording_url)`); raise
    AssertionError to fail. The default, None, skips the probe test.
    """
    return None


@pytest.fixture
def aircore_state() -> Any:
    """Override to give the contract your receiver's state of a recording (`converges`).

    Return `state(recording_url)`: what your receiver holds about that recording, as plain
    data (dicts, lists, strings, numbers), or None when it knows nothing of it. The default,
    None, skips the converges test.
    """
    return None


@pytest.fixture(scope="session")
def _aircore_slow_receivers() -> dict[str, str]:
    # Contract classes whose receiver proved slow: later tests of the class skip at once.
    return {}
