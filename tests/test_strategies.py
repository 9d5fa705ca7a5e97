"""The public Hypothesis strategies: valid under the strict schemas, realistic, shrinking
toward Aircore's documented examples, registered for st.from_type."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from aircore_mock import is_valid, schemas, strategies
from aircore_mock.generation.facts import REGION_CODES, UPLOAD_FAILURES
from aircore_mock.model import Delivery, Recording

# Bounded and derandomized: the same examples on every run, and a few seconds in all.
FEW = settings(max_examples=150, derandomize=True, database=None)


@FEW
@given(strategies.callbacks(strict=True))
def test_strict_callbacks_are_valid_under_the_strict_schemas(callback: dict) -> None:
    assert is_valid(callback, strict=True), callback


@FEW
@given(strategies.callbacks())
def test_default_callbacks_are_valid_under_the_default_schemas(callback: dict) -> None:
    assert is_valid(callback), callback


@FEW
@given(strategies.forward_compatible_callbacks())
def test_forward_compatible_callbacks_are_open_schema_only(callback: dict) -> None:
    assert is_valid(callback)
    assert not is_valid(callback, strict=True), callback


@FEW
@given(strategies.deliveries())
def test_deliveries_are_strictly_valid_and_keep_each_recordings_order(sent: list) -> None:
    by_recording: dict[str, list[Delivery]] = {}
    for delivery in sent:
        assert is_valid(delivery.callback, strict=True), delivery.callback
        by_recording.setdefault(delivery.recording_url, []).append(delivery)
    for items in by_recording.values():
        if all(d.quirk is None for d in items):
            ranks = [schemas.callback_types().index(d.callback["event"]) for d in items]
            assert ranks == sorted(ranks)


@FEW
@given(strategies.bucket_names())
def test_bucket_names_follow_s3s_rules(name: str) -> None:
    assert 3 <= len(name) <= 63
    assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name)
    assert ".." not in name and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name)
    assert not name.startswith(("xn--", "sthree-")) and not name.endswith("-s3alias")


@FEW
@given(strategies.bucket_names(dots=True), strategies.regions(), strategies.object_keys())
def test_dotted_buckets_are_addressed_path_style(bucket: str, region: str, key: str) -> None:
    address = strategies.address(bucket, region, key, strategies.styles_for(bucket, region)[0])
    host = address.split("/")[2]
    assert bucket not in host  # a wildcard certificate would not cover it
    assert unquote(address.split("/", 4)[4]) == key
    assert len(key.encode()) <= 1024


@FEW
@given(strategies.lifecycles())
def test_lifecycles_are_coherent(recording: Recording) -> None:
    callbacks = recording.callbacks()
    assert all(is_valid(c, strict=True) for c in callbacks)
    assert {c["recording"]["url"] for c in callbacks} == {recording.url}
    if recording.outcome == "uploaded":
        assert recording.address is not None
        assert recording.address.endswith(f"_{recording.recording_id}.m4a")
    if recording.outcome == "upload-failed":
        assert recording.failure in UPLOAD_FAILURES


def test_every_partition_and_style_is_reached() -> None:
    seen_regions: set[str] = set()
    seen_styles: set[str] = set()

    @settings(max_examples=400, derandomize=True, database=None)
    @given(strategies.regions(), strategies.bucket_names(), st.data())
    def collect(region: str, bucket: str, data: st.DataObject) -> None:
        seen_regions.add(region)
        seen_styles.add(data.draw(st.sampled_from(strategies.styles_for(bucket, region))))

    collect()
    assert {"cn-north-1", "us-gov-west-1", "us-east-1"} <= seen_regions | set(REGION_CODES)
    assert seen_styles == set(strategies.ADDRESSING_STYLES)


def test_shrinking_heads_for_the_documented_examples() -> None:
    documented = schemas.get_schema("recording-uploaded")["examples"][0]
    smallest = find(
        strategies.callbacks(event="recording-uploaded", strict=True),
        lambda c: True,
        settings=settings(database=None, derandomize=True),
    )
    assert smallest["recording"]["url"] == documented["recording"]["url"]
    assert smallest["recording"]["location"] == documented["recording"]["location"]
    assert smallest["recording"]["elapsedTime"] == documented["recording"]["elapsedTime"]
    # A condition that needs an unusual value keeps the rest documented.
    zero = find(
        strategies.callbacks(event="recording-stopped", strict=True),
        lambda c: c["recording"]["elapsedTime"] == 0,
        settings=settings(database=None, derandomize=True, max_examples=1000),
    )
    assert zero["recording"]["url"] == documented["recording"]["url"]
    failed = find(
        strategies.callbacks(event="recording-upload-failed", strict=True),
        lambda c: True,
        settings=settings(database=None, derandomize=True),
    )
    example = schemas.get_schema("recording-upload-failed")["examples"][0]
    assert failed["recording"]["reason"] == example["recording"]["reason"]


def test_from_type_uses_the_registered_strategies() -> None:
    @FEW
    @given(st.from_type(Recording), st.from_type(Delivery))
    def check(recording: Recording, delivery: Delivery) -> None:
        assert all(is_valid(c, strict=True) for c in recording.callbacks())
        assert is_valid(delivery.callback, strict=True)

    check()


def test_examples_per_second_with_health_checks_on() -> None:
    # The benchmark measures the real figure; this only guards against a gross regression
    # (a strategy rebuilt per draw costs ~5x), with a floor far below it for busy machines.
    import time

    count = 0

    @settings(max_examples=300, derandomize=True, database=None, suppress_health_check=())
    @given(strategies.callbacks(strict=True))
    def run(callback: dict) -> None:
        nonlocal count
        count += 1

    began = time.perf_counter()
    run()
    assert count / (time.perf_counter() - began) > 100


@pytest.mark.parametrize("bad", [{"event": "recording-paused"}, {"outcome": "exploded"}])
def test_unknown_arguments_are_errors(bad: dict) -> None:
    with pytest.raises(ValueError, match="unknown"):
        if "event" in bad:
            find(strategies.callbacks(**bad), lambda c: True)
        else:
            find(strategies.lifecycles(**bad), lambda r: True)


def test_health_checks_pass() -> None:
    @settings(max_examples=50, derandomize=True, database=None)
    @given(strategies.deliveries(), strategies.callbacks())
    def run(sent: list, callback: dict) -> None:
        pass

    run()
    assert HealthCheck.too_slow  # the run above would have raised on a failing health check


def test_the_contracts_search_draws_the_same_whatever_else_is_imported() -> None:
    # Hypothesis also draws literals from the code of local modules imported at the time;
    # the contract's search must not, or a seed would not reproduce in another process.
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "if sys.argv[1] == 'more':\n"
        "    import aircore_mock.load, aircore_mock.fake, aircore_mock.cli\n"
        "from aircore_mock.contract import search\n"
        "print(json.dumps(search.examples(None, 11, 30), sort_keys=True))\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, which], capture_output=True, text=True, check=True
        ).stdout
        for which in ("few", "more")
    ]
    assert runs[0] == runs[1] and runs[0].startswith("[")
