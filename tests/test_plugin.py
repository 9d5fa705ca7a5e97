from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import pytest

import aircore_mock
from aircore_mock import AppServer

from .helpers import contract_file as _contract_file
from .helpers import outcomes as _outcomes
from .receivers import DEFECTS, MORE_DEFECTS, WARNING_DEFECTS, make_receiver

# The in-process pytester runs below would otherwise be the first to import these: each run's
# sys.modules snapshot then drops them while `aircore_mock` keeps the names it looked up, and
# later tests of the same session meet two copies (Hypothesis rejecting its own strategies in
# examples/, `aircore_mock.Generator is Generator` false in test_layers). Loaded here first,
# they outlive every run.
_LOADED_BEFORE_THE_RUNS = [
    *map(
        importlib.import_module,
        ("hypothesis", "aircore_mock.strategies", "aircore_mock.contract", "aircore_mock.fake"),
    ),
    importlib.import_module("aircore_mock_pytest.contract"),
    *(getattr(aircore_mock, name) for name in ("Generator", "Receiver", "FakeAircore", "send")),
    aircore_mock.iter_errors,
]

CONTRACT_TESTS = [
    "test_answers_in_time",
    "test_accepts_every_callback",
    "test_accepts_lifecycles",
    "test_forward_compatible",
    "test_accepts_every_value",
    "test_idempotent_duplicates",
    "test_redeliveries",
    "test_concurrent_deliveries",
    "test_tolerates_out_of_order",
    "test_speaks_http",
    "test_handles_malformed_input",
    "test_probe",
    "test_converges",
    "test_fuzz",
]


def _failed(result: pytest.RunResult) -> set[str]:
    return {name for name, outcomes in _outcomes(result).items() if "failed" in outcomes}


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:faker", "--aircore-seed", "1", *args)


def test_a_correct_receiver_passes_every_clause(pytester: pytest.Pytester) -> None:
    _contract_file(pytester, "make_receiver()")
    result = _run(pytester)
    outcomes = _outcomes(result)
    assert set(outcomes) == set(CONTRACT_TESTS)
    # no probe or state given; no fuzz examples asked for
    skipped = {"test_probe", "test_converges", "test_fuzz"}
    assert all(o == {"passed"} for name, o in outcomes.items() if name not in skipped)
    assert all(outcomes[name] == {"skipped"} for name in skipped)
    # one test per clause, parametrized per callback type, outcome, place of the extras,
    # redelivery and kind of malformed body
    result.assert_outcomes(passed=56, skipped=3)


# The whole defect matrix runs at the library layer (tests/test_contract_matrix.py); here a
# few defects check what the pytest class adds: test names, the output, the seed line.
@pytest.mark.parametrize(
    "defect", ["crash-on-non-json", "divides-by-elapsed", "rejects-new-values"]
)
def test_each_planted_defect_fails_exactly_its_clause(
    pytester: pytest.Pytester, defect: str
) -> None:
    _contract_file(pytester, f"make_receiver({defect!r}, delay=5)")
    result = _run(pytester, "--aircore-budget", "2")
    assert _failed(result) == {DEFECTS[defect]}, result.stdout.str()
    text = result.stdout.str()
    assert "sent:     " in text and "got:      " in text and "expected: " in text
    assert "curl -sS -X POST http://localhost:8000/aircore" in text
    assert "reproduce with --aircore-seed 1" in text


def test_a_slow_receiver_fails_fast_and_the_rest_skip(pytester: pytest.Pytester) -> None:
    _contract_file(pytester, "make_receiver('slow', delay=5)")
    result = _run(pytester, "--aircore-budget", "1")
    outcomes = _outcomes(result)
    assert outcomes.pop("test_answers_in_time") == {"failed"}
    assert all(o == {"skipped"} for o in outcomes.values())
    assert "no answer within 1 s" in result.stdout.str()
    assert result.duration < 30  # type: ignore[attr-defined]  # 5 s answers not waited out


@pytest.mark.parametrize("defect", ["exact-content-type"])
def test_more_defects_fail_the_clauses_they_break(pytester: pytest.Pytester, defect: str) -> None:
    _contract_file(pytester, f"make_receiver({defect!r})")
    failed = _failed(_run(pytester))
    assert MORE_DEFECTS[defect] <= failed
    assert not failed & {"test_answers_in_time", "test_handles_malformed_input"}


@pytest.mark.parametrize("defect", sorted(WARNING_DEFECTS))
def test_doubtful_answers_warn_in_their_clause(pytester: pytest.Pytester, defect: str) -> None:
    _contract_file(pytester, f"make_receiver({defect!r})")
    result = _run(pytester, "-W", "default")
    assert _failed(result) == set()
    text = result.stdout.str()
    clause = WARNING_DEFECTS[defect].removeprefix("test_").replace("_", "-")
    assert f"AircoreContractWarning: {clause}" in text
    assert "would be lost" in text


def test_fuzz_reports_the_smallest_failing_callback(pytester: pytest.Pytester) -> None:
    _contract_file(pytester, "make_receiver('divides-by-elapsed')", "aircore_fuzz_examples = 80")
    result = _run(pytester, "-k", "fuzz")
    assert _failed(result) == {"test_fuzz"}
    text = result.stdout.str()
    assert "accepts-every-value: HTTP 500" in text
    assert '"elapsedTime":0' in text and "reproduce with --seed 1" in text


def test_a_lenient_receiver_passes_with_warnings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_contract=textwrap.dedent(
            """
            import pytest
            from aircore_mock_pytest import AircoreReceiverContract
            from tests.apps import scripted_app


            class TestLenient(AircoreReceiverContract):
                @pytest.fixture
                def receiver(self):
                    return scripted_app([200])
            """
        )
    )
    result = _run(pytester, "-W", "default")
    outcomes = _outcomes(result)
    assert all("failed" not in o for o in outcomes.values())
    text = result.stdout.str()
    assert "AircoreContractWarning" in text
    assert "handles-malformed-input" in text and "better a 4xx" in text


def test_a_failing_probe_is_its_own_failure(pytester: pytest.Pytester) -> None:
    _contract_file(
        pytester,
        "make_receiver()",
        extra="""
        @pytest.fixture
        def aircore_probe(self):
            def probe(recording_url, callbacks):
                assert callbacks[-1]["event"] != "recording-upload-failed", "row says uploaded"
            return probe
    """,
    )
    result = _run(pytester)
    assert _failed(result) == {"test_probe"}
    assert "the probe failed: row says uploaded" in result.stdout.str()


def test_not_overriding_receiver_says_what_to_do(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_contract="""
            from aircore_mock_pytest import AircoreReceiverContract

            class TestMine(AircoreReceiverContract):
                pass
        """
    )
    result = _run(pytester, "-k", "answers_in_time")
    result.stdout.fnmatch_lines(["*TestMine must override the `receiver` fixture*"])


def test_aircore_target_switches_the_class_to_a_live_url(pytester: pytest.Pytester) -> None:
    # The class's own receiver is broken; the live one (given by option or ini) is correct.
    _contract_file(pytester, "make_receiver('crash-on-non-json')")
    with AppServer(make_receiver(), path="/aircore") as live:
        by_option = _run(pytester, "--aircore-target", live.url)
        pytester.makeini(f"[pytest]\naircore_target = {live.url}\n")
        by_ini = _run(pytester)
    assert _failed(by_option) == set() and _failed(by_ini) == set()
    pytester.makeini("[pytest]\n")
    assert _failed(_run(pytester)) == {"test_handles_malformed_input"}


def test_options_have_their_own_group_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(
        [
            "aircore-mock: Aircore recording callbacks:",
            "*--aircore-seed=SEED*",
            "*--aircore-target=URL*",
            "*--aircore-budget=SECONDS*",
        ]
    )
    result.stdout.fnmatch_lines(["*aircore_target (string)*"])


def test_seed_is_in_the_header_and_reproduces(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_seed="""
            def test_show(aircore_callbacks, aircore_seed):
                print("URL", aircore_callbacks[0]["recording"]["url"], "SEED", aircore_seed)
        """
    )
    first = pytester.runpytest_inprocess("-s", "-p", "no:faker")
    header = [line for line in first.outlines if line.startswith("aircore-mock: seed ")]
    assert len(header) == 1
    assert first.outlines.index(header[0]) < next(
        i for i, line in enumerate(first.outlines) if "URL " in line
    ), "the seed is said before the tests run"
    seed = header[0].split()[2]
    assert f"reproduce with --aircore-seed {seed}" in header[0]

    def shown(result: pytest.RunResult) -> str:
        return next(line[line.index("URL ") :] for line in result.outlines if "URL " in line)

    again = pytester.runpytest_inprocess("-s", "-p", "no:faker", "--aircore-seed", seed)
    assert shown(first) == shown(again) and f"SEED {seed}" in shown(again)


def test_the_seed_line_is_only_in_runs_that_use_the_plugin_or_are_verbose(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_plain="def test_nothing_of_ours():\n    assert 1 + 1 == 2\n")

    def seed_lines(*args: str) -> list[str]:
        result = pytester.runpytest_inprocess("-p", "no:faker", *args)
        result.assert_outcomes(passed=1)
        return [line for line in result.outlines if line.startswith("aircore-mock: seed ")]

    assert seed_lines() == []
    assert len(seed_lines("-v")) == 1
    pytester.makepyfile(
        test_plain="def test_ours(aircore_validate):\n    assert aircore_validate\n"
    )
    assert len(seed_lines()) == 1
    assert len(seed_lines("-v")) == 1  # said once, in the header


def test_marker_sets_scenario_seed_and_count(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marker="""
            import pytest

            @pytest.mark.aircore(scenario="upload-failed+out-of-order", seed=5, count=2)
            def test_marked(aircore_callbacks, aircore_generator):
                assert [c["event"] for c in aircore_callbacks] == [
                    "recording-started", "recording-upload-failed", "recording-stopped",
                ] * 2
                assert aircore_generator.seed == 5

            def test_unmarked(aircore_callbacks):
                assert len(aircore_callbacks) == 3
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:faker", "--strict-markers")
    result.assert_outcomes(passed=2)
    assert "aircore(scenario=None, seed=None, count=None)" in "\n".join(
        pytester.runpytest_inprocess("--markers").outlines
    )


def test_receiver_send_and_validate_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fixtures="""
            import pytest

            @pytest.mark.aircore(scenario="burst", count=3)
            def test_send_to_the_receiver(aircore_send, aircore_receiver, aircore_validate):
                report = aircore_send(aircore_receiver.url)
                assert report.ok and report.total == 9
                for callback in aircore_receiver.wait_for(9, timeout=10):
                    aircore_validate(callback, strict=True)

            def test_receiver_is_emptied_between_tests(aircore_receiver, aircore_send):
                assert aircore_receiver.callbacks == []
                assert aircore_send(aircore_receiver.url, "in-progress").total == 1

            def test_validate_fails_readably(aircore_validate):
                aircore_validate({"event": "recording-paused"})
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:faker")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: not a valid callback:*",
            "*$.timestamp: required property is missing*",
        ]
    )


def test_the_plugin_module_imports_only_pytest() -> None:
    code = (
        "import sys; import aircore_mock_pytest.plugin;"
        "heavy = [m for m in ('aircore_mock', 'httpx', 'faker', 'jsonschema', 'click',"
        " 'starlette', 'uvicorn', 'orjson') if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_receiver_fixture_server_is_shared(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_shared="""
            ports = []

            import httpx
            import aircore_mock

            def test_one(aircore_receiver):
                assert isinstance(aircore_receiver, aircore_mock.Receiver)
                ports.append(aircore_receiver.port)
                httpx.post(aircore_receiver.url, json={"event": "recording-started"})
                assert len(aircore_receiver.captures) == 1

            def test_two(aircore_receiver):
                assert ports == [aircore_receiver.port]  # the same server...
                assert aircore_receiver.captures == []  # ...emptied for this test
        """
    )
    pytester.runpytest_inprocess("-p", "no:faker").assert_outcomes(passed=2)


def test_a_failure_shows_the_apps_own_exception(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_contract="""
        import sqlite3

        import pytest
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route

        from aircore_mock_pytest import AircoreReceiverContract


        def create_app():
            db = sqlite3.connect(":memory:", check_same_thread=False)
            db.execute("create table recordings (url text primary key)")

            async def callback(request):
                payload = await request.json()
                db.execute("insert into recordings values (?)", (payload["recording"]["url"],))
                return Response(status_code=204)

            return Starlette(routes=[Route("/", callback, methods=["POST"])])


        class TestReceiver(AircoreReceiverContract):
            @pytest.fixture
            def receiver(self):
                return create_app()
        """
    )
    result = _run(pytester, "-k", "accepts_lifecycles and uploaded")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*the app raised:*", "*sqlite3.IntegrityError: UNIQUE constraint failed: recordings.url*"]
    )


# The tests below start the fake, and the first run that loads a package inside an in-process
# pytester run leaves `aircore_mock` holding classes of a copy the run's sys.modules snapshot
# then discards (later `FakeAircore is aircore_mock.FakeAircore` checks fail): a subprocess each.


def test_options_fixtures_configure_the_session_servers(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from aircore_mock import Limits

        @pytest.fixture(scope="session")
        def aircore_receiver_options():
            return {"strict": True, "path": "/hooks/aircore", "status": 202,
                    "limits": Limits(header_timeout=3)}

        @pytest.fixture(scope="session")
        def aircore_service_options():
            return {"api_keys": ["k1"], "retries": 2, "seed": 99, "auto_stop": 60}
        """
    )
    pytester.makepyfile(helpers=_FIRST_RECORDING)
    pytester.makepyfile(
        test_configured="""
            import httpx
            from helpers import first_recording, first_recording_of_a_fake

            def test_receiver(aircore_receiver, aircore_send):
                assert aircore_receiver.url.endswith("/hooks/aircore")
                assert aircore_receiver.strict and aircore_receiver.limits.header_timeout == 3
                report = aircore_send(aircore_receiver.url, "uploaded")
                assert [r.status for r in report.results] == [202, 202, 202]
                aircore_send(aircore_receiver.url.replace("/hooks/aircore", "/elsewhere"))
                assert len(aircore_receiver.callbacks) == 3  # only its path files callbacks

            def test_service_changes_are_undone_by_the_reset(aircore_service):
                assert first_recording(aircore_service, "k1") == first_recording_of_a_fake(99)
                assert aircore_service.backend.retry.retries == 2
                aircore_service.set_retry_policy(0)

            def test_service(aircore_service):
                assert aircore_service.backend.retry.retries == 2  # back to the options
                url = f"{aircore_service.url}/recording"
                for key, status in (("k1", 400), ("k2", 401)):
                    answer = httpx.post(url, json={}, headers={"Authorization": f"Bearer {key}"})
                    assert answer.status_code == status
        """
    )
    pytester.runpytest_subprocess("-p", "no:faker").assert_outcomes(passed=3)


def test_the_service_gets_the_session_seed_unless_its_options_say(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(helpers=_FIRST_RECORDING)
    pytester.makepyfile(
        test_seed="""
            from helpers import first_recording, first_recording_of_a_fake

            def test_seed(aircore_service, aircore_seed):
                assert aircore_seed == 5
                assert first_recording(aircore_service) == first_recording_of_a_fake(5)
                assert first_recording_of_a_fake(6) != first_recording_of_a_fake(5)
        """
    )
    pytester.runpytest_subprocess("-p", "no:faker", "--aircore-seed", "5").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ('{"stricct": True}', "*aircore_receiver_options: Receiver() got an unexpected*stricct*"),
        ('[("strict", True)]', "*aircore_receiver_options must return a dict*got list*"),
    ],
)
def test_a_misspelt_option_names_its_fixture(
    pytester: pytest.Pytester, options: str, message: str
) -> None:
    pytester.makeconftest(
        f"""
        import pytest

        @pytest.fixture(scope="session")
        def aircore_receiver_options():
            return {options}
        """
    )
    pytester.makepyfile(test_bad="def test_it(aircore_receiver):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:faker")
    result.stdout.fnmatch_lines([message])
    assert result.ret != 0


_FIRST_RECORDING = """
from urllib.parse import unquote

import httpx
from aircore_mock import FakeAircore

BODY = {
    "storage": {"filename": "r", "s3": {"access_key_id": "AK", "secret_access_key": "SK",
                                        "bucket": "acme-recordings", "region": "eu-west-1"}},
    "location": {"latitude": 50.1, "longitude": 8.7},
    "user_id": "u",
    "channel_id": "c",
}

def first_recording(fake, key="k"):
    # the internal recording URL is drawn from the fake's seed
    auth = {"Authorization": f"Bearer {key}"}
    answer = httpx.post(f"{fake.url}/recording", json=BODY, headers=auth, timeout=10)
    internal = unquote(answer.json()["url"].split("/recording/", 1)[1])
    host, recording_id = internal.split("/recording/")
    return host, recording_id.split("-", 1)[1]  # not its start time: the clocks differ

def first_recording_of_a_fake(seed):
    with FakeAircore(seed=seed) as fake:
        return first_recording(fake)
"""
