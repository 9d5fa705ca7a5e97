"""`FakeAircore` / `aircore-mock serve`: the recording API, its callbacks, time, faults."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import aircore_mock
from aircore_mock import FakeAircore, Receiver
from aircore_mock.fake import CallbackTimeout
from aircore_mock.generation.facts import failure
from aircore_mock.model import parse_recording_url

from .helpers import AUTH, KEY, start_body

# The `receiver` fixture (conftest.py) of every test here that takes it.
pytestmark = pytest.mark.receiver(path="/aircore/callbacks")


@pytest.fixture(scope="module")
def served() -> Iterator[FakeAircore]:
    with FakeAircore(seed=11, api_keys=[KEY]) as fake:
        yield fake


@pytest.fixture
def fake(served: FakeAircore, receiver: Receiver) -> FakeAircore:
    served.reset()
    receiver.reset()
    return served


@pytest.fixture
def client(fake: FakeAircore) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url, headers=AUTH, timeout=10) as c:
        yield c


def events(sent: list[Any]) -> list[str]:
    return [s.event for s in sent]


# --- the API over loopback ------------------------------------------------------------


def test_start_answers_the_resource_with_the_percent_encoded_stop_url(
    fake: FakeAircore, client: httpx.Client
) -> None:
    answer = client.post("/recording", json=start_body())
    assert answer.status_code == 200
    resource = answer.json()
    (recording,) = fake.recordings
    assert resource == {
        "url": f"{fake.url}/recording/{quote(recording.url, safe='')}",
        "state": "started",
        "startTime": fake.clock.now(),
        "elapsedTime": 0,
    }
    # Aircore's internal URL shape; the server is the one nearest the users (Frankfurt)
    parts = parse_recording_url(recording.url)
    assert parts is not None and parts["region"] == "eu-central-1"
    assert parts["id"] == recording.id
    assert fake.callbacks == []  # no callback_url, no callbacks


def test_a_whole_lifecycle_calls_back_in_order_with_coherent_times(
    fake: FakeAircore, client: httpx.Client, receiver: Receiver
) -> None:
    started = client.post("/recording", json=start_body(receiver.url + "?id=42")).json()
    fake.advance(12.5)
    assert client.delete(started["url"]).status_code == 204
    assert events(fake.wait_for_callbacks(2)) == ["recording-started", "recording-stopped"]
    fake.advance(60)  # the upload is due seconds after the stop
    sent = fake.wait_for_callbacks(3)
    assert events(sent) == ["recording-started", "recording-stopped", "recording-uploaded"]
    assert all(s.delivered and s.result.attempts == 1 for s in sent)
    assert receiver.wait_for(3) == [s.payload for s in sent]
    begun, stopped, uploaded = (s.payload for s in sent)
    recording = fake.recordings[0]
    start = started["startTime"]
    assert begun["timestamp"] == begun["recording"]["startTime"] == start
    assert stopped["recording"]["reason"] == "clientStopped"
    assert stopped["recording"]["elapsedTime"] == 12_500
    assert stopped["timestamp"] == start + 12_500
    assert start + 12_500 < uploaded["timestamp"] <= start + 12_500 + 60_000
    assert uploaded["recording"]["location"] == {
        "address": f"https://acme-recordings.s3.eu-west-1.amazonaws.com/record_{recording.id}.m4a",
        "region": "eu-west-1",
    }
    for payload in (begun, stopped, uploaded):
        assert aircore_mock.is_valid(payload, strict=True)
    assert recording.upload == "uploaded" and recording.state == "stopped"
    assert receiver.summary().out_of_order == 0


@pytest.mark.parametrize(
    ("settings", "family", "reason"),
    [
        (
            {"region": "us-east-1111", "bucket": "youraccount"},
            "bad-region",
            "Inaccessible host: `youraccount.s3.us-east-1111.amazonaws.com' at port "
            "`undefined'. This service may not be available in the `us-east-1111' region.",
        ),
        ({"region": "Europe (Ireland)"}, "invalid-region", "Invalid region in config"),
        (
            {"bucket": "Acme_Recordings"},
            "invalid-bucket-name",
            "The specified bucket is not valid.",
        ),
        (
            {"server_side_encryption": "AES-256"},
            "invalid-encryption",
            "The encryption method specified is not supported",
        ),
    ],
)
def test_upload_fails_as_the_request_s_own_storage_settings_would(
    fake: FakeAircore,
    client: httpx.Client,
    receiver: Receiver,
    settings: dict[str, str],
    family: str,
    reason: str,
) -> None:
    started = client.post("/recording", json=start_body(receiver.url, **settings)).json()
    client.delete(started["url"])
    fake.advance(60)
    last = fake.wait_for_callbacks(3)[-1]
    assert last.event == "recording-upload-failed"
    assert last.payload["recording"]["reason"] == reason
    assert aircore_mock.is_valid(last.payload, strict=True)
    assert fake.recordings[0].failure_family == family


def test_an_empty_region_uploads_to_us_east_1_as_the_sdk_would(
    fake: FakeAircore, client: httpx.Client, receiver: Receiver
) -> None:
    started = client.post("/recording", json=start_body(receiver.url, region="")).json()
    client.delete(started["url"])
    fake.advance(60)
    uploaded = fake.wait_for_callbacks(3)[-1].payload
    location = uploaded["recording"]["location"]
    assert uploaded["event"] == "recording-uploaded" and location["region"] == "us-east-1"
    assert (
        location["address"].startswith("https://") and ".s3.amazonaws.com/" in location["address"]
    )
    assert aircore_mock.is_valid(uploaded, strict=True)


def test_dotted_buckets_and_odd_file_names_give_valid_addresses(
    fake: FakeAircore, client: httpx.Client, receiver: Receiver
) -> None:
    body = start_body(receiver.url, bucket="media.acme.com", region="us-east-1")
    body["storage"]["filename"] = "calls/2024 Q1+notes"
    started = client.post("/recording", json=body).json()
    client.delete(started["url"])
    fake.advance(60)
    uploaded = fake.wait_for_callbacks(3)[-1].payload
    recording_id = fake.recordings[0].id
    address = f"https://s3.amazonaws.com/media.acme.com/calls/2024%20Q1%2Bnotes_{recording_id}.m4a"
    assert uploaded["recording"]["location"]["address"] == address
    assert aircore_mock.is_valid(uploaded, strict=True)


def test_injected_failures_stops_and_auto_stop(
    fake: FakeAircore, client: httpx.Client, receiver: Receiver
) -> None:
    # the next recording's upload is denied; a running one is stopped by a server error
    fake.inject("upload-failure", family="kms-access-denied")
    first = client.post("/recording", json=start_body(receiver.url)).json()
    second = client.post("/recording", json=start_body(receiver.url)).json()
    fake.inject("stop", recording=second["url"], reason="serverError", after=5)
    fake.inject("stop", reason="allPublishersLeft", after=30)  # for the next one
    third = client.post("/recording", json=start_body(receiver.url)).json()
    fake.advance(5)
    assert client.delete(first["url"]).status_code == 204
    assert client.delete(second["url"]).status_code == 404  # already stopped by the fault
    fake.advance(25)
    assert client.delete(third["url"]).status_code == 404  # all publishers left
    fake.advance(120)
    sent = fake.wait_for_callbacks(9)
    by_recording: dict[str, list[dict[str, Any]]] = {}
    for s in sent:
        by_recording.setdefault(s.recording_id, []).append(s.payload)
    ids = [r.id for r in fake.recordings]
    one, two, three = (by_recording[i] for i in ids)
    kms = failure("kms-access-denied").template.split("{")[0]
    assert one[-1]["recording"]["reason"].startswith(kms)
    assert two[1]["recording"]["reason"] == "serverError"
    assert two[1]["recording"]["elapsedTime"] == 5_000
    assert three[1]["recording"]["reason"] == "allPublishersLeft"
    assert three[1]["recording"]["elapsedTime"] == 30_000
    assert [c["event"] for c in two][-1] == "recording-uploaded"  # uploads after a server error
    assert all(aircore_mock.is_valid(s.payload, strict=True) for s in sent)


def test_delete_answers_every_documented_status(fake: FakeAircore, client: httpx.Client) -> None:
    url = client.post("/recording", json=start_body()).json()["url"]
    unknown = url[:-3] + "999"
    fake.inject("error", recording=url, status=503)
    answers = {
        "no identifier": client.delete("/recording/").status_code,
        "no key": httpx.delete(url).status_code,
        "wrong key": httpx.delete(url, headers={"authorization": "Bearer nope"}).status_code,
        "unknown": client.delete(unknown).status_code,
        "injected": client.delete(url).status_code,
        "stopped": client.delete(url).status_code,
        "again": client.delete(url).status_code,
    }
    assert answers == {
        "no identifier": 400,
        "no key": 401,
        "wrong key": 401,
        "unknown": 404,
        "injected": 503,  # the recording goes on after a failed stop
        "stopped": 204,
        "again": 404,
    }
    assert client.delete(url).json() == {
        "status": 404,
        "message": "recording not found: it has already stopped",
    }


def test_bad_requests_get_documented_4xx_answers_naming_the_field(
    fake: FakeAircore, client: httpx.Client
) -> None:
    def post(body: Any = None, **kwargs: Any) -> httpx.Response:
        return (
            client.post("/recording", json=body, **kwargs)
            if body is not None
            else (client.post("/recording", **kwargs))
        )

    no_region = start_body()
    del no_region["storage"]["s3"]["region"]
    north = start_body()
    north["location"]["latitude"] = 90.5
    numeric = start_body(region=1)
    ftp = start_body("ftp://example.com/cb")
    cases = {
        "no key": (post(start_body(), headers={"authorization": ""}), 401, "missing bearer"),
        "not bearer": (post(start_body(), headers={"authorization": f"Basic {KEY}"}), 401, ""),
        "wrong key": (post(start_body(), headers={"authorization": "Bearer x"}), 401, "invalid"),
        "form": (post(content=b"a=1", headers={"content-type": "text/plain"}), 415, "JSON"),
        "big": (post(content=b'{"a": "' + b"x" * 70_000 + b'"}', headers=_JSON), 413, "over"),
        "broken": (post(content=b'{"storage": ', headers=_JSON), 400, "not valid JSON"),
        "array": (post([1, 2]), 400, "$: must be of type object"),
        "missing": (post(no_region), 400, "$.storage.s3.region: required field is missing"),
        "latitude": (post(north), 400, "$.location.latitude: must be between -90 and 90"),
        "type": (post(numeric), 400, "$.storage.s3.region: must be of type string"),
        "scheme": (post(ftp), 400, "$.callback_url: must be an http or https URL"),
    }
    for name, (answer, status, message) in cases.items():
        assert answer.status_code == status, name
        assert answer.json()["status"] == status and message in answer.json()["message"], name
    assert fake.recordings == []
    other = client.get("/recordings")
    assert other.status_code == 404
    wrong = client.put("/recording", json={})
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
    fake.inject("error", status=502)
    assert post(start_body()).status_code == 502
    assert post(start_body()).status_code == 200  # an injected error happens once
    assert [e.status for e in fake.journal][-2:] == [502, 200]


_JSON = {"content-type": "application/json"}


def test_odd_bodies_never_get_a_5xx(fake: FakeAircore, client: httpx.Client) -> None:
    valid = start_body()
    odd: list[Any] = [None, 0, "", [], {}, {"storage": None}, {"storage": {"s3": []}}]
    for path in (("storage",), ("storage", "s3"), ("location",), ("user_id",)):
        for value in (None, 1, "x", [], {}, True, 1e308):
            body = copy.deepcopy(valid)
            node = body
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            odd.append(body)
    for body in odd:
        answer = client.post("/recording", content=_dumps(body), headers=_JSON)
        assert answer.status_code < 500, body
    for raw in (b"\xff\xfe", b"\x00", b"[" * 5000, b"NaN", b'"\\ud800"'):
        assert client.post("/recording", content=raw, headers=_JSON).status_code == 400


def _dumps(body: Any) -> bytes:
    import json

    return json.dumps(body).encode()


def test_unreachable_and_failing_callback_urls_are_recorded_results(
    fake: FakeAircore, client: httpx.Client
) -> None:
    with Receiver(status=500) as failing:
        dead = Receiver()
        dead_url = dead.url
        dead.stop()  # a port nobody listens on
        client.post("/recording", json=start_body(dead_url))
        (unreachable,) = fake.wait_for_callbacks(1)
        assert unreachable.result.outcome == "unreachable" and not unreachable.delivered
        fake.set_retry_policy(retries=2, backoff=0)
        client.post("/recording", json=start_body(failing.url))
        rejected = fake.wait_for_callbacks(2)[-1]
        assert (rejected.result.status, rejected.result.attempts) == (500, 3)
        assert len(failing.wait_for(3)) == 3
    assert client.post("/recording", json=start_body()).status_code == 200  # still serving


def test_control_api_inspects_injects_and_resets(
    fake: FakeAircore, client: httpx.Client, receiver: Receiver
) -> None:
    control = f"{fake.url}/_aircore-mock"
    url = client.post("/recording", json=start_body(receiver.url)).json()["url"]
    recording_id = fake.recordings[0].id
    assert (
        httpx.post(
            f"{control}/inject",
            json={"what": "upload-failure", "recording": url, "family": "no-such-bucket"},
        ).status_code
        == 201
    )
    client.delete(url)
    assert httpx.post(f"{control}/advance", json={"seconds": 60}).json()["steps"] == 1
    fake.wait_for_callbacks(3)
    (listed,) = httpx.get(f"{control}/recordings").json()
    assert listed["id"] == recording_id and listed["upload"] == "upload-failed"
    assert listed["failure_reason"] == "The specified bucket does not exist"
    delivery = listed["callbacks"][0]["delivery"]
    assert delivery["status"] == 204 and delivery["attempts"] == 1 and delivery["latency_ms"] > 0
    one = httpx.get(f"{control}/recordings/{quote(url, safe='')}").json()
    assert one["id"] == recording_id
    assert [e["method"] for e in httpx.get(f"{control}/journal").json()] == ["POST", "DELETE"]
    assert len(httpx.get(f"{control}/callbacks").json()) == 3
    policy = httpx.put(f"{control}/retry-policy", json={"retries": 3}).json()
    assert policy == {"retries": 3, "backoff": 0.5, "timeout": 10.0}
    assert httpx.get(control + "/").json()["retry_policy"]["retries"] == 3
    bad = [
        httpx.post(f"{control}/inject", json={"what": "meteor"}),
        httpx.post(f"{control}/inject", json={"what": "error", "status": 404}),
        httpx.post(f"{control}/inject", json={"what": "stop", "reason": "bored"}),
        httpx.post(f"{control}/inject", json={"what": "stop", "colour": "red"}),
        httpx.post(f"{control}/advance", json={"seconds": -1}),
        httpx.post(f"{control}/advance", content=b"{"),
        httpx.put(f"{control}/retry-policy", json={"retries": -1}),
    ]
    assert [b.status_code for b in bad] == [400] * len(bad)
    assert httpx.get(f"{control}/nothing").status_code == 404
    assert httpx.get(f"{control}/reset").status_code == 405
    assert httpx.post(f"{control}/reset").status_code == 204
    assert fake.recordings == [] and fake.journal == [] and fake.callbacks == []
    assert fake.backend.retry.retries == 0  # the policy is back to none


def test_wait_for_callbacks_says_what_is_missing(
    fake: FakeAircore, client: httpx.Client, receiver: Receiver
) -> None:
    url = client.post("/recording", json=start_body(receiver.url)).json()["url"]
    client.delete(url)
    fake.wait_for_callbacks(2)
    with pytest.raises(CallbackTimeout, match=r"2 of 3 callbacks.*advance\(seconds\)"):
        fake.wait_for_callbacks(3, timeout=0.05)


# --- clocks -----------------------------------------------------------------------------


def test_instant_and_realtime_clocks_need_no_advance(receiver: Receiver) -> None:
    for options in ({"clock": "instant"}, {"clock": "realtime", "speed": 5_000}):
        receiver.reset()
        with FakeAircore(auto_stop=30, api_keys=[KEY], **options) as fake:  # type: ignore[arg-type]
            httpx.post(f"{fake.url}/recording", json=start_body(receiver.url), headers=AUTH)
            sent = fake.wait_for_callbacks(3, timeout=10)
        assert events(sent)[-1] == "recording-uploaded", options
        stopped = sent[1].payload
        assert stopped["recording"]["reason"] == "allPublishersLeft"
        assert stopped["recording"]["elapsedTime"] == 30_000 or options["clock"] == "realtime"
        assert stopped["timestamp"] == (
            stopped["recording"]["startTime"] + stopped["recording"]["elapsedTime"]
        )
        assert sent[2].payload["timestamp"] > stopped["timestamp"]


def test_clock_arguments_are_checked() -> None:
    with pytest.raises(aircore_mock.UsageError, match="speed applies to the realtime"):
        FakeAircore(clock="manual", speed=2)
    with pytest.raises(aircore_mock.UsageError, match="clock must be one of"):
        FakeAircore(clock="sundial")  # type: ignore[arg-type]
    with pytest.raises(aircore_mock.UsageError, match="forward"):
        FakeAircore().advance(-1)


# --- in-process ---------------------------------------------------------------------------


def _capturing_app(seen: list[tuple[str, Any]]) -> Starlette:
    async def take(request: Request) -> Response:
        seen.append((str(request.url), await request.json()))
        return Response(status_code=204)

    return Starlette(routes=[Route("/hooks/aircore", take, methods=["POST"])])


def test_in_process_sync_client_and_app_receiver_need_no_port() -> None:
    seen: list[tuple[str, Any]] = []
    fake = FakeAircore(deliver_to=_capturing_app(seen), upload_delay=2)
    try:
        with httpx.Client(transport=fake.transport(), base_url=fake.url, headers=AUTH) as c:
            started = c.post(
                "/recording", json=start_body("https://app.example/hooks/aircore?id=9")
            )
            assert started.status_code == 200
            assert started.json()["url"].startswith("http://aircore-mock.test/recording/http%3A")
            fake.advance(3)
            assert c.delete(started.json()["url"]).status_code == 204
            fake.advance(2)
            sent = fake.wait_for_callbacks(3)
    finally:
        fake.close()
    assert [s.result.status for s in sent] == [204, 204, 204]
    assert [url for url, _ in seen] == ["http://aircore-mock.test/hooks/aircore?id=9"] * 3
    assert [body for _, body in seen] == [s.payload for s in sent]


def test_in_process_async_client() -> None:
    fake = FakeAircore()

    async def run() -> list[int]:
        async with httpx.AsyncClient(
            transport=fake.async_transport(), base_url=fake.url, headers=AUTH
        ) as c:
            url = (await c.post("/recording", json=start_body())).json()["url"]
            return [(await c.delete(url)).status_code, (await c.delete(url)).status_code]

    try:
        assert asyncio.run(run()) == [204, 404]
    finally:
        fake.close()
    assert [r.stop_reason for r in fake.recordings] == ["clientStopped"]


def test_the_request_schema_ships_with_a_valid_documented_example() -> None:
    from aircore_mock.fake import check_request

    schema = aircore_mock.get_schema("start-recording-request")
    assert schema["examples"] and all(check_request(e) == [] for e in schema["examples"])
    assert "start-recording-request" in aircore_mock.schema_names()
    assert "start-recording-request" not in aircore_mock.callback_types()


def test_recordings_to_one_slow_url_are_called_back_at_once_not_in_turn() -> None:
    # Each answer is held until 20 recordings' callbacks are in flight together: with lanes
    # shared by several recordings, the 20th recording-started would wait behind the others.
    import threading

    from aircore_mock import AppServer

    in_flight, everyone = [0], threading.Event()
    lock = threading.Lock()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        with lock:
            in_flight[0] += 1
            if in_flight[0] >= 20:
                everyone.set()
        await asyncio.get_running_loop().run_in_executor(None, everyone.wait, 30)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with (
        AppServer(slow) as receiver,
        FakeAircore(clock="manual", api_keys=[KEY]) as fake,
        httpx.Client(base_url=fake.url, headers=AUTH, timeout=30) as client,
    ):
        for n in range(20):
            body = start_body(receiver.url)
            body["channel_id"] = f"standup-{n}"
            assert client.post("/recording", json=body).status_code < 300
        assert everyone.wait(30), f"only {in_flight[0]} callbacks in flight at once"
        sent = fake.wait_for_callbacks(20, timeout=30)
    assert {s.event for s in sent} == {"recording-started"} and all(s.delivered for s in sent)


def test_the_journal_is_bounded_and_paged(monkeypatch: pytest.MonkeyPatch) -> None:
    from aircore_mock.fake import backend as backend_module

    monkeypatch.setattr(backend_module, "JOURNAL_CAPACITY", 5)
    with (
        FakeAircore(clock="manual", api_keys=[KEY]) as fake,
        httpx.Client(base_url=fake.url, timeout=30) as client,
    ):
        for _ in range(8):  # refused (no key): each still filed
            assert client.delete("/recording/nothing").status_code == 401
        answer = client.get("/_aircore-mock/journal")
        seqs = [e["seq"] for e in answer.json()]
        assert seqs == [3, 4, 5, 6, 7] and answer.headers["x-aircore-mock-dropped"] == "3"
        page = client.get("/_aircore-mock/journal", params={"after": 4, "limit": 2}).json()
        assert [e["seq"] for e in page] == [5, 6]
        assert fake.summary().requests == 8  # the count is every request, kept or not
        assert client.get("/_aircore-mock/journal", params={"limit": "x"}).status_code == 400


def test_a_control_body_over_the_cap_is_refused_while_it_is_read() -> None:
    from aircore_mock.fake.app import MAX_BODY

    def chunks() -> Any:  # no Content-Length: chunked, far over the cap
        for _ in range(64):
            yield b" " * MAX_BODY

    with FakeAircore(clock="manual") as fake, httpx.Client(base_url=fake.url, timeout=30) as c:
        answer = c.post("/_aircore-mock/advance", content=chunks())
        assert answer.status_code == 413
        assert c.post("/_aircore-mock/advance", json={"seconds": 1}).status_code == 200


def test_the_summary_counts_as_a_walk_over_every_recording_and_callback_would() -> None:
    # The summary keeps its counts as recordings and callbacks change, rather than walking
    # them all on every call: the same counts, keys in the same order (each key where the
    # walk would first meet it), through random starts, stops, uploads, results and resets.
    import random

    from aircore_mock.fake import FakeBackend
    from aircore_mock.results import DeliveryOutcome, Result

    def walked(backend: FakeBackend) -> tuple[list[Any], list[Any]]:
        states: dict[str, int] = {}
        for recording in backend.recordings:
            key = recording.upload or recording.state
            states[key] = states.get(key, 0) + 1
        outcomes: dict[str, int] = {}
        for sent in backend.callbacks:
            key = "in-flight" if sent.result is None else sent.result.outcome.value
            outcomes[key] = outcomes.get(key, 0) + 1
        return list(states.items()), list(outcomes.items())

    chance = random.Random(21)
    backend = FakeBackend(seed=21)
    outcomes = list(DeliveryOutcome)
    for _ in range(600):
        roll = chance.random()
        if roll < 0.3:
            url = chance.choice([None, "http://127.0.0.1:9/aircore", "http://127.0.0.1:9/b"])
            region = chance.choice(["eu-west-1", "eu-west-1", "mars-north-1"])
            backend.start(start_body(url, region=region))
        elif roll < 0.5:
            started = [r for r in backend.recordings if r.state == "started"]
            if started:
                backend.stop(chance.choice(started).url)
        elif roll < 0.6:
            backend.advance(chance.uniform(0, 30))
        elif roll < 0.98:
            waiting = [s for s in backend.take_outbox() if chance.random() < 0.7]
            for sent in backend.callbacks:
                if sent.result is None and (sent in waiting or chance.random() < 0.2):
                    outcome = chance.choice(outcomes)
                    result = Result(0, sent.payload, None, None, 1, None, 1.0, outcome)
                    backend.record_result(sent, result)
        else:
            backend.reset()
        summary = backend.summary()
        assert (list(summary.states.items()), list(summary.deliveries.items())) == walked(backend)
        assert summary.recordings == len(backend.recordings)


def test_the_api_s_short_way_in_answers_and_journals_as_starlette_s_router() -> None:
    # Plain /recording paths skip Starlette's middleware and router (`_FakeApp`), and read
    # headers without its `Headers`: the same requests through both ways get the same
    # answers, byte for byte, the same journal and the same recordings; a client that leaves
    # mid-body gets Starlette's 500 either way.
    import orjson
    from starlette.requests import ClientDisconnect

    from aircore_mock.fake import FakeBackend, fake_app
    from aircore_mock.fake.clock import Clock

    class Running:  # a dispatcher host that never starts one: nothing is sent here
        running = True

    def made() -> tuple[FakeBackend, Any]:
        backend = FakeBackend(
            clock=Clock("manual", start_ms=1_796_000_000_000),
            api_keys=[KEY],
            public_url="http://127.0.0.1:8080",
            seed=5,
        )
        return backend, fake_app(backend, Running(), max_body=2048)  # type: ignore[arg-type]

    def body(value: Any) -> bytes:
        return orjson.dumps(value)

    good = body(start_body("http://127.0.0.1:9/cb?token=s3cr3t-t0ken-value"))
    bad_region = body(start_body("http://127.0.0.1:9/cb", region="mars-north-1"))
    json_type = [(b"content-type", b"application/json")]
    auth = [(b"authorization", f"Bearer {KEY}".encode())]
    odd = [(b"X-Odd", b"v"), (b"x-latin", b"caf\xe9"), (b"Content-Type", b"text/plain")]
    requests: list[tuple[str, str, list[tuple[bytes, bytes]], list[bytes]]] = [
        ("POST", "/recording", [(b"host", b"127.0.0.1:8080"), *auth, *json_type], [good]),
        ("POST", "/recording", [*auth, *json_type, *odd], [good[:20], good[20:]]),
        ("POST", "/recording", [*auth, *json_type], [bad_region]),
        ("POST", "/recording", json_type, [good]),
        ("POST", "/recording", [(b"authorization", b"Bearer wrong-key-123"), *json_type], [good]),
        ("POST", "/recording", [*auth, (b"content-type", b"text/plain")], [good]),
        ("POST", "/recording", [*auth, *json_type, (b"content-length", b"99999")], [good]),
        ("POST", "/recording", [*auth, *json_type], [b"x" * 1500, b"x" * 1500]),
        ("POST", "/recording", [*auth, *json_type], [b'{"storage": ']),
        ("POST", "/recording", [*auth, *json_type], [body({"user_id": 5})]),
        ("POST", "/recording", [*auth, *json_type, *auth], [b"[]"]),
        ("GET", "/recording", auth, [b""]),
        ("PUT", "/recording/abc", auth, [b""]),
        ("DELETE", "/recording/", auth, [b""]),
        ("DELETE", "/recording/nothing-here", auth, [b""]),
        ("DELETE", "/recording", auth, [b""]),
        ("POST", "/recordings", auth, [b""]),
    ]

    async def call(
        app: Any, router: bool, method: str, path: str, headers: Any, chunks: Any, sent: Any = None
    ) -> list[Any]:
        raw = path.encode()
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "scheme": "http", "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 5000),
            "method": method, "root_path": "", "path": path, "raw_path": raw,
            "query_string": b"", "headers": headers,
        }  # fmt: skip
        messages = [
            {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
            for n, chunk in enumerate(chunks)
        ]
        sent = [] if sent is None else sent

        async def receive() -> Any:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            sent.append(message)

        if router:
            await Starlette.__call__(app, scope, receive, send)
        else:
            await app(scope, receive, send)
        assert ("router" in scope) is (router or "/recording" not in path or path.endswith("s"))
        return sent

    async def run(router: bool) -> tuple[list[Any], FakeBackend]:
        backend, app = made()
        answers = []
        for method, path, headers, chunks in requests:
            answers.append(await call(app, router, method, path, headers, chunks))
        stop = orjson.loads(answers[0][1]["body"])["url"].split("8080", 1)[1]
        for _ in range(2):  # stopped, then already stopped
            answers.append(await call(app, router, "DELETE", stop, auth, [b""]))
        sent: list[Any] = []
        with pytest.raises(ClientDisconnect):
            await call(app, router, "POST", "/recording", [*auth, *json_type], [], sent)
        answers.append(sent)  # Starlette's plain 500
        return answers, backend

    async def both() -> None:
        short, short_backend = await run(router=False)
        routed, routed_backend = await run(router=True)
        assert short == routed
        assert [e.to_json() for e in short_backend.journal] == [
            e.to_json() for e in routed_backend.journal
        ]
        assert [r.to_json() for r in short_backend.recordings] == [
            r.to_json() for r in routed_backend.recordings
        ]
        statuses = [answer[0]["status"] for answer in short]
        assert statuses == [200, 200, 200, 401, 401, 415, 413, 413, 400, 400, 400,
                            405, 405, 400, 404, 405, 404, 204, 404, 500]  # fmt: skip
        assert short[-1][1]["body"] == b"Internal Server Error"
        assert len(short_backend.journal) == len(statuses) - 1  # (the 500 is Starlette's)

    asyncio.run(both())


def test_a_new_recording_takes_the_first_lane_no_recording_holds() -> None:
    # The dispatcher keeps the free lanes in a heap rather than walking every recording's
    # lane: the lanes it picks are the rule's, through random starts and ends, past all
    # LANES held (then one in turn).
    import random

    from aircore_mock.fake.dispatch import LANES, _Route

    def by_rule(lanes: dict[str, int]) -> int:
        taken = set(lanes.values())
        return next((n for n in range(LANES) if n not in taken), len(lanes) % LANES)

    chance = random.Random(7)
    route = _Route(sender=None, queue=None)  # type: ignore[arg-type]
    rule: dict[str, int] = {}
    for number in range(5_000):
        if rule and chance.random() < (0.45 if len(rule) < 80 else 0.7):
            gone = chance.choice(list(rule))
            del rule[gone]
            route.release(gone)
        else:
            name = f"r{number}"
            rule[name] = by_rule(rule)
            assert route.lane_for(name) == rule[name]
            assert route.lane_for(name) == rule[name]  # asked again: the same lane
    assert route.lanes == rule


def test_quote_all_percent_encodes_as_urllib_does() -> None:
    # Stop URLs quote the recording URL with a translation table (ASCII) where urllib builds
    # a list a character: the same text for every character, ASCII or not.
    import random
    from urllib.parse import quote

    from aircore_mock.fake.request import quote_all

    chance = random.Random(3)
    texts = ["", "http://host:8080/recording/1-0-2", "a b/c?d=e&f#g%", "é€😀\x00\x7f"]
    texts += ["".join(chr(chance.randrange(0, 300)) for _ in range(20)) for _ in range(2_000)]
    texts += ["".join(chr(chance.randrange(0, 128)) for _ in range(20)) for _ in range(2_000)]
    for text in texts:
        assert quote_all(text) == quote(text, safe="")
