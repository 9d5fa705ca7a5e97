"""Benchmark aircore-mock's generator: callbacks per second, in the library and from the CLI.

Run:  python benchmarks/bench_generation.py [--quick] [--hj-python PYTHON]

Every figure is the median of several runs on one core and is printed beside baselines measured
in the same run: a floor (the same dict shapes from `random.Random` and fixed strings in a tight
loop) and, when it can be made to work, hypothesis-jsonschema's `from_schema` on the union
schema. Compare ratios between machines, not absolute numbers. Nothing here asserts on time:
targets are printed as "met" or "MISSED".

hypothesis-jsonschema is optional and runs in a subprocess: first under this interpreter, then
under `--hj-python` (or $AIRCORE_BENCH_HJ_PYTHON). Version 0.23.1 breaks with
hypothesis >= 6.170.10, so it may need a venv of its own:

    python3 -m venv /tmp/venv-hj
    /tmp/venv-hj/bin/pip install hypothesis-jsonschema 'hypothesis<6.170.10'
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from _common import (  # benchmarks/ is on sys.path
    aircore_cli,
    machine_line,
    median_seconds,
    rate,
    ratio,
    seconds,
    verdict,
    version,
)

import aircore_mock

SEED = 1
TARGET_LIBRARY_PER_S = 100_000
TARGET_CLI_PER_S = 50_000
CALLBACKS_PER_RECORDING = 3  # started, stopped, uploaded or upload-failed

# Fixed strings for the floor: the same shapes as the generator's, with no provider behind them.
REGIONS = ("us-east-1", "us-west-2", "eu-central-1", "eu-west-1", "ap-south-1", "sa-east-1")
BUCKETS = ("acme-recordings", "globex-audio", "initech-media", "hooli-meetings")


@dataclass(frozen=True)
class Sizes:
    recordings: int  # per library run (3 callbacks each)
    repeats: int  # library and floor
    cli_recordings: int  # per CLI run
    cli_repeats: int
    hj_examples: int  # hypothesis-jsonschema examples per run
    hj_repeats: int


FULL = Sizes(20_000, 5, 20_000, 5, 200, 3)
QUICK = Sizes(2_000, 3, 2_000, 3, 20, 1)


# --------------------------------------------------------------------------- timing


def taking_turns(runs: list[Callable[[], int]], repeats: int) -> list[tuple[int, float]]:
    """(items per run, median seconds) of each run; every run returns how many items it made.

    The runs take turns within every repeat, so that drift in the machine's speed (other
    processes, CPU clocks) does not favour whichever runs first.
    """
    items = [run() for run in runs]  # warm-up, and the count each run makes
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, taken in zip(runs, times, strict=True):
            taken.append(seconds(run))
    return [(n, statistics.median(t)) for n, t in zip(items, times, strict=True)]


# --------------------------------------------------------------------------- helpers


def count(items: Iterable[object]) -> int:
    """Consume `items`, keeping nothing; how many there were."""
    n = 0
    for _ in items:
        n += 1
    return n


# --------------------------------------------------------------------------- the floor


def floor_callbacks(seed: int, recordings: int, stop_reasons: tuple[str, ...]) -> Iterator[Any]:
    """Happy-path lifecycles as plain dicts from `random.Random`: what generation costs at least.

    The same fields as the generator's callbacks: event, timestamp and recording {url, state,
    startTime, elapsedTime, and reason or location {address, region}}; no provider, no plan.
    """
    rng = random.Random(seed)
    randrange, choice, getrandbits = rng.randrange, rng.choice, rng.getrandbits
    start = 1_672_531_200_000
    for _ in range(recordings):
        recording_id = f"{start - randrange(20, 1500)}-{randrange(4)}-{randrange(100_000, 10**6)}"
        url = (
            f"http://vandenberg-i-{getrandbits(68):017x}-{choice(REGIONS)}"
            f".prod.airtime.com:8080/recording/{recording_id}"
        )
        elapsed = randrange(1_000, 3 * 3_600_000)
        stopped_at = start + elapsed
        region = choice(REGIONS)
        address = f"https://{choice(BUCKETS)}.s3.{region}.amazonaws.com/rec_{recording_id}.m4a"
        yield {
            "event": "recording-started",
            "timestamp": start,
            "recording": {"url": url, "state": "started", "startTime": start, "elapsedTime": 0},
        }
        yield {
            "event": "recording-stopped",
            "timestamp": stopped_at,
            "recording": {
                "url": url,
                "state": "stopped",
                "startTime": start,
                "elapsedTime": elapsed,
                "reason": choice(stop_reasons),
            },
        }
        yield {
            "event": "recording-uploaded",
            "timestamp": stopped_at + randrange(500, 60_000),
            "recording": {
                "url": url,
                "state": "stopped",
                "startTime": start,
                "elapsedTime": elapsed,
                "location": {"address": address, "region": region},
            },
        }
        start = stopped_at + randrange(1_000, 300_000)


def stop_reasons() -> tuple[str, ...]:
    stopped = aircore_mock.get_schema("recording-stopped", strict=True)
    return tuple(stopped["properties"]["recording"]["properties"]["reason"]["enum"])


# --------------------------------------------------------------------------- 1. library


def sanity(label: str, callbacks: list[Any], problems: list[str]) -> None:
    """Untimed: every callback valid; print the mix of events and how many recordings."""
    invalid = sum(not aircore_mock.is_valid(c) for c in callbacks)
    mix = collections.Counter(c["event"] for c in callbacks)
    urls = len({c["recording"]["url"] for c in callbacks})
    shown = ", ".join(f"{event.removeprefix('recording-')} {n:,}" for event, n in mix.items())
    print(f"   {label:<22} {len(callbacks):,} callbacks of {urls:,} recordings ({shown})", end="")
    if invalid:
        print(f"; BROKEN: {invalid} invalid")
        problems.append(f"{label}: {invalid} of {len(callbacks)} callbacks invalid")
    else:
        print("; all valid")


def bench_library(sizes: Sizes, problems: list[str]) -> float:
    """Library and floor, callbacks/s; returns the happy path's rate (for the later ratios)."""
    n, r = sizes.recordings, sizes.repeats
    reasons = stop_reasons()
    print(f"\n1. Library, {n:,} recordings per run, callbacks/s (one core)")
    sample = min(n, 2_000)
    sanity(
        "deliveries('uploaded')",
        aircore_mock.Generator(SEED).scenario("uploaded", sample),
        problems,
    )
    sanity("deliveries('burst')", aircore_mock.Generator(SEED).scenario("burst", sample), problems)
    sanity("floor", list(floor_callbacks(SEED, sample, reasons)), problems)

    def deliveries(scenario: str) -> Callable[[], int]:
        def run() -> int:
            return count(aircore_mock.Generator(SEED).deliveries(scenario, n))

        return run

    def lifecycles() -> int:
        made = 0
        for recording in aircore_mock.Generator(SEED).lifecycles("uploaded", n):
            made += len(recording.callbacks())
        return made

    def floor() -> int:
        return count(floor_callbacks(SEED, n, reasons))

    rows = [
        ("Generator.deliveries('uploaded')", deliveries("uploaded"), True),
        ("Generator.deliveries('burst')", deliveries("burst"), True),
        ("Generator.lifecycles() + .callbacks()", lifecycles, True),
        ("floor: random.Random + fixed strings", floor, False),
    ]
    results = taking_turns([run for _, run, _ in rows], r)
    floor_rate = results[-1][0] / results[-1][1]
    print(
        f"   median of {r} runs (the four take turns within each run); "
        "'floor x' = how many times slower than the floor"
    )
    print(f"   {'':<40} {'callbacks':>9} {'ms/run':>8} {'callbacks/s':>12} {'us each':>8} floor x")
    for (name, _, targeted), (made, taken) in zip(rows, results, strict=True):
        value = made / taken
        print(
            f"   {name:<40} {made:>9,} {taken * 1e3:>8,.0f} {rate(value):>12} "
            f"{1e6 / value:>8,.2f} {ratio(floor_rate, value) if targeted else '':>7}"
        )
    for (name, _, targeted), (made, taken) in zip(rows, results, strict=True):
        if not targeted:
            continue
        value = made / taken
        met = value >= TARGET_LIBRARY_PER_S
        print(
            f"   target >= {rate(TARGET_LIBRARY_PER_S)} callbacks/s, {name}: "
            f"{verdict(met)} ({rate(value)}/s)"
        )
        if not met:
            problems.append(
                f"library {name} {rate(value)} callbacks/s, below {rate(TARGET_LIBRARY_PER_S)}"
            )
    made, taken = results[0]
    return made / taken


# --------------------------------------------------------------------------- 2. hypothesis-js

# Runs under the interpreter that has hypothesis-jsonschema; argv: variants.json, examples,
# repeats. Prints one JSON object on its last line.
HJ_CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")


def main() -> dict:
    try:
        from importlib import metadata
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis_jsonschema import from_schema
    except ImportError as exc:
        return {"error": f"not importable: {exc}"}
    versions = {d: metadata.version(d) for d in ("hypothesis", "hypothesis-jsonschema")}
    variants = json.load(open(sys.argv[1], encoding="utf-8"))
    examples, repeats = int(sys.argv[2]), int(sys.argv[3])

    def loop(strategy, n: int) -> tuple[int, float, list]:
        seen: list = []

        @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def consume(value) -> None:
            seen.append(value)

        start = time.perf_counter()
        consume()
        return len(seen), time.perf_counter() - start, seen

    def why(exc: BaseException) -> str:
        lines = str(exc).strip().splitlines() or [""]
        return f"{type(exc).__name__}: {lines[0][:200]}"

    trivial = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}
    try:
        loop(from_schema(trivial), 3)
    except Exception as exc:
        return {"versions": versions, "error": f"fails on a trivial schema: {why(exc)}"}
    failures = []
    for label, schema in variants:
        strategy = from_schema(schema)
        try:
            loop(strategy, 3)
        except Exception as exc:
            failures.append([label, why(exc)])
            continue
        loop(strategy, min(examples, 20))  # warm-up
        runs = [loop(strategy, examples) for _ in range(repeats)]
        return {
            "versions": versions,
            "variant": label,
            "failures": failures,
            "runs": [[made, taken] for made, taken, _ in runs],
            "sample": runs[-1][2][:50],
        }
    return {"versions": versions, "failures": failures, "error": "no variant of the schema worked"}


try:
    result = main()
except Exception as exc:
    result = {"error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(result))
"""


def split_ref_siblings(node: Any) -> Any:
    """`{"$ref": X, ...more}` as `{"allOf": [{"$ref": X}, {...more}]}` (the same, in 2020-12).

    hypothesis-jsonschema follows draft 7, where keywords beside a `$ref` are ignored: it does
    not resolve `$ref`s nested inside them, and fails on them later.
    """
    if isinstance(node, list):
        return [split_ref_siblings(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: split_ref_siblings(value) for key, value in node.items()}
    annotations = ("$id", "$schema", "$defs", "title", "description")
    if "$ref" in node and any(key not in (*annotations, "$ref") for key in node):
        ref = node.pop("$ref")
        kept = {key: node.pop(key) for key in annotations if key in node}
        return {**kept, "allOf": [{"$ref": ref}, node]}
    return node


def bundled(local_refs: bool) -> dict[str, Any]:
    """The union with every other shipped schema under `$defs`.

    Without `local_refs`, each keeps its `$id` and its `$ref`s stay relative to it. With them,
    `$id`s go and every `$ref` points into the one document (`#/$defs/common/$defs/recording`).
    """
    schemas = {name: aircore_mock.get_schema(name) for name in aircore_mock.schema_names()}
    if not local_refs:
        union = schemas.pop("callback")
        union["$defs"] = schemas
        return union

    def rewrite(node: Any, owner: str) -> Any:
        if isinstance(node, list):
            return [rewrite(item, owner) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key in ("$id", "$schema", "examples"):
                continue
            if key == "$ref":
                target, _, fragment = value.partition("#")
                name = target.removesuffix(".schema.json") if target else owner
                out[key] = ("#" if name == "callback" else f"#/$defs/{name}") + fragment
            else:
                out[key] = rewrite(value, owner)
        return out

    union = rewrite(schemas.pop("callback"), "callback")
    union["$defs"] = {name: rewrite(schema, name) for name, schema in schemas.items()}
    union["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return union


def schema_variants() -> list[tuple[str, dict[str, Any]]]:
    """The union as shipped first, then bundled in ways hypothesis-jsonschema may resolve."""
    local = bundled(local_refs=True)
    return [
        (
            "the union as shipped ($refs to sibling files by $id)",
            aircore_mock.get_schema("callback"),
        ),
        ("bundled: the other schemas under $defs, each keeping its $id", bundled(False)),
        ("bundled: under $defs, every $ref local to the one document", local),
        (
            "bundled: under $defs, every $ref local, and each $ref with sibling keywords "
            "wrapped in allOf (same meaning in draft 2020-12)",
            split_ref_siblings(local),
        ),
    ]


def hj_interpreters(option: str | None) -> list[str]:
    found = [sys.executable]
    if option and option not in found:
        found.append(option)
    return found


def run_hj_child(python: str, variants_path: Path, sizes: Sizes, cwd: Path) -> dict[str, Any]:
    argv = [python, "-c", HJ_CHILD, str(variants_path), str(sizes.hj_examples)]
    try:
        proc = subprocess.run(
            [*argv, str(sizes.hj_repeats)],
            capture_output=True,
            text=True,
            cwd=cwd,  # hypothesis leaves a .hypothesis folder behind
            timeout=900,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"could not run: {exc}"}
    lines = proc.stdout.strip().splitlines()
    try:
        return dict(json.loads(lines[-1]))
    except (IndexError, ValueError):
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        return {"error": f"exited {proc.returncode}: {tail}"}


def bench_hypothesis_jsonschema(
    sizes: Sizes, library_rate: float, hj_python: str | None, tmp: Path, problems: list[str]
) -> None:
    print("\n2. Baseline: hypothesis-jsonschema from_schema(union), examples/s (subprocess)")
    variants_path = tmp / "variants.json"
    variants_path.write_text(json.dumps(schema_variants()), encoding="utf-8")
    result: dict[str, Any] = {}
    for python in hj_interpreters(hj_python):
        result = run_hj_child(python, variants_path, sizes, tmp)
        versions = ", ".join(f"{k} {v}" for k, v in result.get("versions", {}).items())
        if "error" not in result:
            print(f"   {python}: {versions}")
            break
        print(f"   {python}: {versions + '; ' if versions else ''}{result['error']}")
        for label, reason in result.get("failures", []):
            print(f"     - {label}: {reason}")
    if "error" in result:
        hint = "" if hj_python else "; pass --hj-python (see this script's docstring)"
        print(f"   skipped: no interpreter could run hypothesis-jsonschema on the union{hint}")
        return

    for label, reason in result["failures"]:
        print(
            f"   did not work: {label}\n     -> {reason[:150]}{' ...' if len(reason) > 150 else ''}"
        )
    print(f"   used: {result['variant']}")
    rates = [made / taken for made, taken in result["runs"]]
    made = result["runs"][-1][0]
    value = statistics.median(rates)
    sample = result["sample"]
    valid = sum(bool(aircore_mock.is_valid(example)) for example in sample)
    mix = collections.Counter(
        example.get("event", "?") if isinstance(example, dict) else "?" for example in sample
    )
    print(
        f"   median of {len(rates)} run(s) of {made:,} examples (@given loop, generate phase "
        f"only): {rate(value)} examples/s, {1e6 / value:,.0f} us each"
    )
    print(
        f"   library deliveries('uploaded') is {ratio(library_rate, value)} faster "
        f"(callbacks/s over examples/s)"
    )
    print(
        f"   last {len(sample)} examples: {valid} valid per aircore_mock.is_valid; events "
        + ", ".join(f"{event} {n}" for event, n in mix.most_common())
    )
    shown = json.dumps(sample[-1], ensure_ascii=True)
    print(f"   e.g. {shown[:150]}{' ...' if len(shown) > 150 else ''}")
    if valid < len(sample):
        problems.append(f"hypothesis-jsonschema: {len(sample) - valid} invalid examples")


# --------------------------------------------------------------------------- 3. CLI


def bench_cli(sizes: Sizes, cli: list[str], tmp: Path, problems: list[str]) -> None:
    n, r = sizes.cli_recordings, sizes.cli_repeats
    expected = n * CALLBACKS_PER_RECORDING
    print(
        f"\n3. CLI: aircore-mock generate --count {n:,} --seed {SEED} --format jsonl > file "
        f"({expected:,} callbacks), median of {r} runs, process start-up included"
    )
    out = tmp / "generated.jsonl"

    def generate(scenario: str, recordings: int) -> Callable[[], None]:
        argv = [*cli, "generate", "--scenario", scenario, "--count", str(recordings)]
        argv += ["--seed", str(SEED), "--format", "jsonl"]

        def run() -> None:
            with out.open("wb") as handle:
                proc = subprocess.run(
                    argv, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.PIPE
                )
            if proc.returncode:
                tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(f"exited {proc.returncode}: {tail}")

        return run

    def in_process(scenario: str) -> Callable[[], None]:
        def run() -> None:
            dumps = orjson.dumps
            with out.open("wb") as handle:
                for delivery in aircore_mock.Generator(SEED).deliveries(scenario, n):
                    handle.write(dumps(delivery.callback) + b"\n")

        return run

    try:
        startup = median_seconds(generate("uploaded", 1), r)
    except RuntimeError as exc:
        print(f"   BROKEN: {exc}")
        problems.append(f"CLI generate: {exc}")
        return
    print(f"   {'':<28} {'ms/run':>8} {'callbacks/s':>12}   in-process library + orjson")
    for scenario in ("uploaded", "burst"):
        label = f"--scenario {scenario}"
        try:
            taken = median_seconds(generate(scenario, n), r)
        except RuntimeError as exc:
            print(f"   {label:<28} BROKEN: {exc}")
            problems.append(f"CLI {label}: {exc}")
            continue
        lines = out.read_bytes().splitlines()
        callbacks = [orjson.loads(line) for line in lines[:3_000]]
        invalid = sum(not aircore_mock.is_valid(c) for c in callbacks)
        if len(lines) != expected or invalid:
            message = f"wrote {len(lines):,} lines (expected {expected:,}), {invalid} invalid"
            print(f"   BROKEN: {label} {message}")
            problems.append(f"CLI {label} {message}")
        direct = median_seconds(in_process(scenario), r)
        value = len(lines) / taken
        print(
            f"   {label:<28} {taken * 1e3:>8,.0f} {rate(value):>12}   "
            f"{direct * 1e3:,.0f} ms, {rate(len(lines) / direct)}/s"
        )
        print(
            f"   {'':<28} target >= {rate(TARGET_CLI_PER_S)}/s: "
            f"{verdict(value >= TARGET_CLI_PER_S)}"
        )
        if value < TARGET_CLI_PER_S:
            problems.append(f"CLI {label} {rate(value)} callbacks/s, below {TARGET_CLI_PER_S:,}")
    print(f"   start-up (--count 1)         {startup * 1e3:>8,.0f}")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--hj-python",
        default=os.environ.get("AIRCORE_BENCH_HJ_PYTHON"),
        metavar="PYTHON",
        help="an interpreter with hypothesis-jsonschema, tried when this one has none "
        "[default: $AIRCORE_BENCH_HJ_PYTHON]",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL

    cli = aircore_cli()
    print(machine_line("generation", args.quick))
    print(
        f"aircore-mock {aircore_mock.__version__}, Faker {version('faker')}, "
        f"orjson {version('orjson')}; seed {SEED}"
    )
    print(f"CLI: {' '.join(cli)}")

    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="aircore-bench-") as name:
        tmp = Path(name)
        library_rate = bench_library(sizes, problems)
        bench_hypothesis_jsonschema(sizes, library_rate, args.hj_python, tmp, problems)
        bench_cli(sizes, cli, tmp, problems)

    print("\nSummary: " + ("all targets met" if not problems else "; ".join(problems)))
    if args.quick:
        print("(--quick: sizes too small for the targets to mean much; start-up dominates)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
