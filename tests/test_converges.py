"""The receiver's state after any delivery order (issue 19, item 6): the orders the probe and
`converges` deliver, their shrinking, the state read over HTTP (`check --state-url`) and the
pytest class's `aircore_state`. The library-level verdicts on planted receivers are in
test_contract_matrix.py."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aircore_mock.contract import StateError, state_from_url
from aircore_mock.contract.orders import Order, in_order, orders, shrink, smaller
from aircore_mock.errors import UsageError
from aircore_mock.server import AppServer

from .helpers import contract_file
from .receivers import make_receiver, receiver_state


def run(*args: str) -> Any:
    from click.testing import CliRunner

    from aircore_mock.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# --- the orders ---------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_orders_deliver_every_callback_in_every_order_in_order_first(count: int) -> None:
    found = orders(count)
    assert found[0] == in_order(count)
    steps = [o.steps for o in found]
    assert len(set(steps)) == len(steps)
    assert set(itertools.permutations(range(count))) <= set(steps)
    assert all(set(s) == set(range(count)) for s in steps)
    assert any(len(s) == 2 * count for s in steps)  # the whole lifecycle twice
    assert all(len(s) <= 2 * count for s in steps)


def test_smaller_orders_still_deliver_every_callback_shorter_first() -> None:
    order = Order((2, 0, 1, 2, 0), "out of order, with a duplicate")
    candidates = list(smaller(order, 3))
    assert candidates and all(set(c.steps) == {0, 1, 2} for c in candidates)
    lengths = [len(c.steps) for c in candidates]
    assert lengths == sorted(lengths) and lengths[0] == 4
    # a swap puts two neighbours in order
    assert Order((0, 2, 1, 2, 0), "out of order, with a duplicate") in candidates


def test_shrink_ends_on_the_shortest_order_that_still_fails() -> None:
    tried: list[tuple[int, ...]] = []

    def has_a_duplicate_of_the_first(order: Order) -> bool:
        tried.append(order.steps)
        return order.steps.count(0) > 1

    start = Order((0, 1, 2, 0, 1, 2), "the whole lifecycle twice")
    found = shrink(start, 3, has_a_duplicate_of_the_first, tries=50)
    assert found.steps.count(0) == 2 and len(found.steps) == 4
    assert found.kind in ("with a duplicate", "out of order, with a duplicate")
    assert len(tried) <= 50
    # a budget of tries is kept
    tried.clear()
    assert shrink(start, 3, lambda o: False, tries=3) == start and len(tried) == 0


def test_an_order_describes_itself_in_aircores_words() -> None:
    events = ["recording-started", "recording-stopped", "recording-uploaded"]
    text = Order((0, 2, 1), "out of order").describe(events)
    assert text == "recording-started, recording-uploaded, recording-stopped (out of order)"


# --- the state over HTTP ------------------------------------------------------------------


def _with_state_route(app: Starlette, status: int = 200) -> Starlette:
    """`make_receiver`'s app, with GET /recordings/{id} answering its row as JSON."""
    state = receiver_state(app)

    async def read(request: Request) -> Response:
        if status != 200:
            return Response("boom", status)
        wanted = request.path_params["id"]
        url = next((u for u in app.state.store if u.rsplit("/", 1)[-1] == wanted), None)
        if url is None:
            return JSONResponse({"error": "no such recording"}, 404)
        return JSONResponse(state(url))

    app.router.routes.append(Route("/recordings/{id}", read))
    return app


def test_state_from_url_reads_json_and_404_is_none() -> None:
    app = _with_state_route(make_receiver())
    with AppServer(app, path="/aircore") as server:
        base = server.url.rsplit("/aircore", 1)[0]
        url = "http://h/recording/1719962338245-1-1"
        httpx.post(
            server.url,
            json={
                "event": "recording-started",
                "timestamp": 1,
                "recording": {"url": url, "state": "started", "startTime": 1, "elapsedTime": 0},
            },
        ).raise_for_status()
        state = state_from_url(base + "/recordings/{id}", headers={"X-Key": "k"})
        assert state(url) == {"events": ["recording-started"], "rank": 0, "elapsed": 0}
        assert state("http://h/recording/unknown-1") is None
        # {url} is the whole recording URL, percent-encoded: a path this app does not serve
        assert state_from_url(base + "/recordings/{url}")(url) is None


def test_state_from_url_refuses_templates_it_cannot_fill() -> None:
    for template in ("http://x/recordings", "http://x/{rec}", "ftp://x/{id}"):
        with pytest.raises(UsageError, match="--state-url"):
            state_from_url(template)


def test_a_state_url_that_fails_is_a_failure_naming_it() -> None:
    app = _with_state_route(make_receiver(), status=500)
    with AppServer(app, path="/aircore") as server:
        base = server.url.rsplit("/aircore", 1)[0]
        state = state_from_url(base + "/recordings/{id}")
        with pytest.raises(StateError, match="answered HTTP 500"):
            state("http://h/recording/1719962338245-1-1")


# --- check --state-url --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("defect", "code"), [(None, 0), ("state-moves-backwards", 1), ("counts-deliveries", 1)]
)
def test_check_state_url_runs_converges(defect: str | None, code: int) -> None:
    app = _with_state_route(make_receiver(defect))
    with AppServer(app, path="/aircore") as server:
        base = server.url.rsplit("/aircore", 1)[0]
        args = ["check", "--target", server.url, "--seed", "1", "--only", "converges"]
        done = run(*args, "--state-url", base + "/recordings/{id}", "--format", "json")
    assert done.exit_code == code, done.output
    report = json.loads(done.stdout)
    (result,) = report["results"]
    assert result["clause"] == "converges"
    if code:
        failure = result["failures"][0]
        assert len(failure["sequence"]) in (3, 4)
        assert failure["expected"].startswith("the state after the same callbacks once in order")


def test_check_state_url_errors_are_one_line_exit_2() -> None:
    done = run("check", "--target", "http://127.0.0.1:9/", "--state-url", "http://x/recordings")
    assert done.exit_code == 2
    assert "--state-url" in done.stderr and "Traceback" not in done.stderr
    done = run("check", "--target", "http://127.0.0.1:9/", "--only", "converges")
    assert done.exit_code == 2 and "needs the receiver's state" in done.stderr


def test_a_failing_state_url_fails_converges_and_says_why() -> None:
    app = _with_state_route(make_receiver(), status=500)
    with AppServer(app, path="/aircore") as server:
        base = server.url.rsplit("/aircore", 1)[0]
        done = run(
            "check", "--target", server.url, "--seed", "1", "--only", "converges",
            "--state-url", base + "/recordings/{id}",
        )  # fmt: skip
    assert done.exit_code == 1
    assert "the state could not be read" in done.stdout and "answered HTTP 500" in done.stdout


# --- the pytest class ---------------------------------------------------------------------


def _class_with_state(pytester: pytest.Pytester, defect: str | None) -> Any:
    contract_file(
        pytester,
        f"make_receiver({defect!r})",
        extra="""
        @pytest.fixture
        def aircore_state(self, receiver):
            from tests.receivers import receiver_state

            return receiver_state(receiver)
        """,
    )
    return pytester.runpytest_inprocess("-p", "no:faker", "--aircore-seed", "1", "-k", "converges")


def test_the_class_runs_converges_with_aircore_state(pytester: pytest.Pytester) -> None:
    _class_with_state(pytester, None).assert_outcomes(passed=1)


def test_the_class_fails_converges_for_a_state_that_depends_on_the_order(
    pytester: pytest.Pytester,
) -> None:
    result = _class_with_state(pytester, "state-moves-backwards")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "converges: the state differed for" in text and "(out of order)" in text
    assert "1. curl" in text and "3. curl" in text


def test_a_state_url_that_knows_no_recording_fails_converges() -> None:
    # The likeliest mistake: a state URL answering 404 for every recording (a wrong path,
    # `{id}` where the app takes the URL). Every order would "converge" on nothing.
    app = _with_state_route(make_receiver())
    with AppServer(app, path="/aircore") as server:
        base = server.url.rsplit("/aircore", 1)[0]
        done = run(
            "check", "--target", server.url, "--seed", "1", "--only", "converges",
            "--state-url", base + "/nowhere/{id}",
        )  # fmt: skip
    assert done.exit_code == 1
    assert "no state for it" in done.output and "is the state URL" in done.output


def test_converges_judges_only_what_was_accepted_and_reports_a_failing_state() -> None:
    from aircore_mock import check_receiver

    app = make_receiver()
    # the wrong path: every lifecycle rejected, nothing compared, which is not a pass
    (lost,) = check_receiver(app, seed=1, only=["converges"], state=receiver_state(app)).results
    assert lost.verdict == "failed" and "no lifecycle was accepted" in lost.reason
    # a state function that raises is a failure saying so, not the end of the run
    (broken,) = check_receiver(
        app, path="/aircore", seed=1, only=["converges"], state=lambda url: {}[url]
    ).results
    assert broken.verdict == "failed" and "the state could not be read: KeyError" in broken.reason


def test_converges_stops_at_the_time_limit() -> None:
    import time

    from aircore_mock import check_receiver

    app = make_receiver()
    calls = [0]

    def changing(url: str) -> Any:  # a state that never settles: every read pauses
        calls[0] += 1
        return {"read": calls[0]}

    began = time.monotonic()
    report = check_receiver(
        app, path="/aircore", seed=1, only=["converges"], state=changing, max_time=1
    )
    # (without the limit: ~40 orders a lifecycle, each read again for up to 0.75 s)
    assert report.timed_out and time.monotonic() - began < 30
