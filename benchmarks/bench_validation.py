"""Benchmark aircore-mock's validation: the library, the CLI on JSONL, the CLI on many files.

Run:  python benchmarks/bench_validation.py [--quick]

Every figure is the median of several runs and is printed beside a baseline measured in the
same run, as a ratio; compare ratios between machines, not absolute numbers. Nothing here
asserts on time: targets are printed as "met" or "MISSED". check-jsonschema is optional; when
it is not installed its baseline is skipped.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (  # benchmarks/ is on sys.path
    aircore_cli,
    find_script,
    machine_line,
    median_seconds,
    rate,
    ratio,
    seconds,
    verdict,
    version,
)

import aircore_mock

SEED = 20240611
TARGET_LIBRARY_PER_S = 300_000
TARGET_CLI_LINES_PER_S = 150_000
TARGET_FILES_SPEEDUP = 3.0

# AWS regions: where the recording server runs (in its host name) and where the bucket lives.
REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "sa-east-1",
)
BUCKETS = ("youraccount", "acme-recordings", "meet-archive", "calls-prod", "qa-media")
UPLOAD_ERRORS = (
    "Inaccessible host: `{bucket}.s3.{region}1111.amazonaws.com' at port `undefined'. "
    "This service may not be available in the `{region}1111' region.",
    "Access Denied",
    "The specified bucket does not exist",
    "Request has expired",
    "We encountered an internal error. Please try again.",
    "The AWS Access Key Id you provided does not exist in our records.",
    "Connection timed out after 120000ms",
)
UPLOAD_FAILURE_RATE = 0.15


@dataclass(frozen=True)
class Sizes:
    payloads: int  # distinct payloads for the library benchmark
    library_calls: int  # calls per timed run: aircore-mock and jsonschema-rs
    prebuilt_calls: int  # calls per timed run: prebuilt python-jsonschema validator
    validate_calls: int  # calls per timed run: jsonschema.validate()
    jsonl_lines: int
    files: int
    repeats: int


FULL = Sizes(4_000, 100_000, 2_000, 300, 100_000, 1_000, 5)
QUICK = Sizes(400, 10_000, 200, 30, 5_000, 100, 3)


# --------------------------------------------------------------------------- payloads


class PayloadFactory:
    """Distinct valid callbacks, made from the schemas' examples with seeded variations."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.examples = {
            event: aircore_mock.get_schema(event)["examples"]
            for event in aircore_mock.callback_types()
        }
        stopped = aircore_mock.get_schema("recording-stopped", strict=True)
        self.stop_reasons: list[str] = stopped["properties"]["recording"]["properties"]["reason"][
            "enum"
        ]

    def _from_example(self, event: str) -> dict[str, Any]:
        return copy.deepcopy(self.rng.choice(self.examples[event]))

    def lifecycle(self) -> list[dict[str, Any]]:
        """started, stopped, then uploaded or (sometimes) upload-failed, for one recording."""
        rng = self.rng
        server_region = rng.choice(REGIONS)
        host = f"vandenberg-i-0{rng.getrandbits(64):016x}-{server_region}.prod.airtime.com:8080"
        start = 1_665_000_000_000 + rng.randrange(400 * 86_400_000)
        recording_id = f"{start}-{rng.randrange(4)}-{rng.randrange(100_000, 1_000_000)}"
        url = f"http://{host}/recording/{recording_id}"
        elapsed = rng.randrange(1_000, 3 * 3_600_000)

        started = self._from_example("recording-started")
        started["timestamp"] = start + rng.randrange(50)
        started["recording"].update(url=url, startTime=start, elapsedTime=0)

        stopped = self._from_example("recording-stopped")
        stopped_at = start + elapsed + rng.randrange(200)
        stopped["timestamp"] = stopped_at
        stopped["recording"].update(
            url=url, startTime=start, elapsedTime=elapsed, reason=rng.choice(self.stop_reasons)
        )

        bucket = rng.choice(BUCKETS)
        region = rng.choice(REGIONS)
        finished_at = stopped_at + rng.randrange(500, 60_000)
        if rng.random() < UPLOAD_FAILURE_RATE:
            last = self._from_example("recording-upload-failed")
            reason = rng.choice(UPLOAD_ERRORS).format(bucket=bucket, region=region)
            last["recording"].update(reason=reason)
        else:
            last = self._from_example("recording-uploaded")
            s3_host = rng.choice(
                (f"{bucket}.s3.amazonaws.com", f"{bucket}.s3.{region}.amazonaws.com")
            )
            suffix = rng.choice(("m4a", "mp4", "webm"))
            location = {
                "address": f"https://{s3_host}/record_{recording_id}.{suffix}",
                "region": region,
            }
            last["recording"].update(location=location)
        last["timestamp"] = finished_at
        last["recording"].update(url=url, startTime=start, elapsedTime=elapsed)
        return [started, stopped, last]

    def payloads(self, count: int, shuffle: bool = True) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < count:
            out.extend(self.lifecycle())
        del out[count:]
        if shuffle:  # callbacks of many recordings arrive interleaved
            self.rng.shuffle(out)
        return out


def invalid_variants(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """A few broken copies of a valid payload, for the engines-agree sanity check."""
    variants = []
    for mutate in (
        lambda p: p.update(timestamp=-1),
        lambda p: p["recording"].update(url="not a uri"),
        lambda p: p["recording"].pop("startTime"),
        lambda p: p["recording"].update(state="paused"),
        lambda p: p.update(event="recording-paused"),
    ):
        broken = copy.deepcopy(payload)
        mutate(broken)
        variants.append(broken)
    return variants


# --------------------------------------------------------------------------- timing


def calls_per_second(
    checks: Sequence[Callable[[Any], object]], payloads: Sequence[Any], calls: int, repeats: int
) -> list[float]:
    """Median payloads/s of each check over `calls` payloads (cycling through `payloads`).

    The checks take turns within every repeat, so that drift in the machine's speed (other
    processes, CPU clocks) does not favour whichever runs first.
    """
    seq = [payloads[i % len(payloads)] for i in range(calls)]

    def runner(check: Callable[[Any], object]) -> Callable[[], None]:
        def run() -> None:
            for payload in seq:
                check(payload)

        return run

    runs = [runner(check) for check in checks]
    for run in runs:  # warm-up
        run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, taken in zip(runs, times, strict=True):
            taken.append(seconds(run))
    return [calls / statistics.median(taken) for taken in times]


def wall_seconds(argv: list[str], repeats: int, expect_rc: int = 0) -> tuple[float, str]:
    """Median wall time of a subprocess, and its stdout (the last run's); checks the exit code."""
    out = ""

    def run() -> None:
        nonlocal out
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if proc.returncode != expect_rc:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise RuntimeError(f"{Path(argv[0]).name} exited {proc.returncode}: {tail}")
        out = proc.stdout

    return median_seconds(run, repeats), out


# --------------------------------------------------------------------------- helpers


def shipped_schemas() -> list[dict[str, Any]]:
    return [aircore_mock.get_schema(name) for name in aircore_mock.schema_names()]


def python_registry() -> Any:
    """A `referencing` registry holding every shipped schema under its `$id`."""
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    return Registry().with_resources(
        (schema["$id"], DRAFT202012.create_resource(schema)) for schema in shipped_schemas()
    )


# --------------------------------------------------------------------------- 1. library


def bench_library(sizes: Sizes, factory: PayloadFactory, problems: list[str]) -> None:
    import jsonschema
    import jsonschema_rs
    from jsonschema import Draft202012Validator

    payloads = factory.payloads(sizes.payloads)
    distinct = len({json.dumps(p, sort_keys=True) for p in payloads})
    mix = Counter(p["event"] for p in payloads)
    print(f"\n1. Library, {len(payloads):,} payloads ({distinct:,} distinct), payloads/s")
    print("   mix: " + ", ".join(f"{e} {mix[e]:,}" for e in aircore_mock.callback_types()))

    union = aircore_mock.get_schema("callback")
    registry = python_registry()
    formats = Draft202012Validator.FORMAT_CHECKER
    prebuilt = Draft202012Validator(union, registry=registry, format_checker=formats)

    def python_validate(payload: Any) -> None:
        # What a user writes first; it needs the registry to resolve the union's $refs at all.
        jsonschema.validate(payload, union, registry=registry, format_checker=formats)

    rs = jsonschema_rs.Draft202012Validator(
        union,
        registry=jsonschema_rs.Registry([(s["$id"], s) for s in shipped_schemas()]),
        validate_formats=True,
    )
    check = aircore_mock.checker()

    # Untimed sanity: every engine accepts every payload and rejects the broken copies.
    broken = [variant for p in payloads[:40] for variant in invalid_variants(p)]
    engines: dict[str, Callable[[Any], bool]] = {
        "aircore_mock.is_valid": aircore_mock.is_valid,
        "aircore_mock.checker()": check,
        "python-jsonschema": prebuilt.is_valid,
        "jsonschema_rs": rs.is_valid,
    }
    agree = True
    for name, engine in engines.items():
        rejected = sum(not engine(p) for p in payloads)
        accepted = sum(bool(engine(p)) for p in broken)
        if rejected or accepted:
            agree = False
            message = (
                f"{name} rejects {rejected}/{len(payloads)} valid payloads and accepts "
                f"{accepted}/{len(broken)} broken ones"
            )
            print(f"   BROKEN: {message}")
            problems.append(message)
    if agree:
        print(
            f"   sanity: all engines accept all {len(payloads):,} and reject "
            f"{len(broken)} broken copies"
        )

    n, r = sizes.library_calls, sizes.repeats
    lib, comp, direct = calls_per_second(
        [aircore_mock.is_valid, check, rs.is_valid], payloads, n, r
    )
    (slowest,) = calls_per_second([python_validate], payloads, sizes.validate_calls, r)
    (prebuilt_rate,) = calls_per_second([prebuilt.is_valid], payloads, sizes.prebuilt_calls, r)
    baselines = [
        ("jsonschema.validate() per call", slowest, sizes.validate_calls),
        ("prebuilt Draft202012Validator.is_valid", prebuilt_rate, sizes.prebuilt_calls),
        ("jsonschema_rs direct (reference)", direct, n),
    ]
    print(
        f"   median of {r} runs; 'x' columns = library payloads/s / that row's payloads/s"
        " (the three fast engines take turns within each run)"
    )
    header = f"{'engine':<40} {'calls/run':>9} {'payloads/s':>11} {'us each':>9}"
    print(f"   {header} {'is_valid x':>10} {'checker x':>10}")
    for name, value in (("aircore_mock.is_valid(p)", lib), ("aircore_mock.checker()(p)", comp)):
        print(f"   {name:<40} {n:>9,} {rate(value):>11} {1e6 / value:>9,.2f}")
    for name, value, calls in baselines:
        print(
            f"   {name:<40} {calls:>9,} {rate(value):>11} {1e6 / value:>9,.2f} "
            f"{ratio(lib, value):>10} {ratio(comp, value):>10}"
        )
    print(
        f"   target is_valid >= {rate(TARGET_LIBRARY_PER_S)}/s: "
        f"{verdict(lib >= TARGET_LIBRARY_PER_S)} ({rate(lib)}/s; checker() {rate(comp)}/s)"
    )
    if lib < TARGET_LIBRARY_PER_S:
        problems.append(f"library is_valid {rate(lib)}/s, below {rate(TARGET_LIBRARY_PER_S)}/s")


# --------------------------------------------------------------------------- 2. CLI, JSONL


def summary_counts(stdout: str) -> str:
    lines = stdout.strip().splitlines()
    return lines[-1] if lines else "(no output)"


def bench_cli_jsonl(
    sizes: Sizes, factory: PayloadFactory, cli: list[str], tmp: Path, problems: list[str]
) -> None:
    path = tmp / "callbacks.jsonl"
    payloads = factory.payloads(sizes.jsonl_lines)
    with path.open("w", encoding="utf-8") as handle:
        for payload in payloads:
            handle.write(json.dumps(payload) + "\n")
    size_mb = path.stat().st_size / 1e6
    print(f"\n2. CLI on one JSONL file: {sizes.jsonl_lines:,} lines, {size_mb:.1f} MB")

    try:
        taken, stdout = wall_seconds([*cli, "validate", str(path)], sizes.repeats)
    except RuntimeError as exc:
        print(f"   BROKEN: {exc}")
        problems.append(f"CLI on JSONL: {exc}")
        return
    expected = f"{sizes.jsonl_lines} valid, 0 invalid"
    if summary_counts(stdout) != expected:
        problems.append(f"CLI on JSONL printed {summary_counts(stdout)!r}, expected {expected!r}")
        print(f"   BROKEN: printed {summary_counts(stdout)!r}, expected {expected!r}")
    startup, _ = wall_seconds([*cli, "validate", str(tmp / "one.json")], sizes.repeats)

    check = aircore_mock.checker()

    def in_process() -> None:
        with path.open("rb") as handle:
            for line in handle:
                check(json.loads(line))

    floor = median_seconds(in_process, sizes.repeats)
    cli_rate = sizes.jsonl_lines / taken
    print(f"   median of {sizes.repeats} runs")
    print(
        f"   aircore-mock validate file.jsonl (subprocess)  {taken * 1e3:8,.0f} ms  "
        f"{rate(cli_rate):>9} lines/s"
    )
    print(
        f"   in-process json.loads + checker() (floor)      {floor * 1e3:8,.0f} ms  "
        f"{rate(sizes.jsonl_lines / floor):>9} lines/s   CLI time / floor {ratio(taken, floor)}"
    )
    print(f"   CLI start-up, validating one file             {startup * 1e3:8,.0f} ms")
    print(
        f"   target >= {rate(TARGET_CLI_LINES_PER_S)} lines/s: "
        f"{verdict(cli_rate >= TARGET_CLI_LINES_PER_S)} ({rate(cli_rate)} lines/s)"
    )
    if cli_rate < TARGET_CLI_LINES_PER_S:
        problems.append(
            f"CLI on JSONL {rate(cli_rate)} lines/s, below {rate(TARGET_CLI_LINES_PER_S)}"
        )


# --------------------------------------------------------------------------- 3. CLI, files


def bundled_union(dest: Path) -> Path:
    """The union with every other shipped schema embedded under $defs (each keeps its $id)."""
    union = aircore_mock.get_schema("callback")
    defs = union.setdefault("$defs", {})
    for name in aircore_mock.schema_names():
        if name != "callback":
            defs[f"bundled-{name}"] = aircore_mock.get_schema(name)
    dest.write_text(json.dumps(union, indent=2), encoding="utf-8")
    return dest


def check_jsonschema_command(exe: str, sample: Path, tmp: Path) -> tuple[list[str], str] | None:
    """How to make check-jsonschema resolve the union's $refs: the first way that works."""
    union = aircore_mock.schema_dir() / "callback.schema.json"
    ways = [
        (
            [exe, "--schemafile", str(union)],
            "--schemafile callback.schema.json as shipped: its $refs resolved out of the box",
        ),
        (
            [exe, "--schemafile", str(union), "--base-uri", union.as_uri()],
            "$refs did not resolve out of the box (relative to the $id "
            f"{aircore_mock.get_schema('callback')['$id']}, fetched over HTTP, which fails); "
            f"added --base-uri {union.as_uri()} so they resolve to the sibling files",
        ),
        (
            [exe, "--schemafile", str(bundled_union(tmp / "bundled.schema.json"))],
            "$refs resolved neither as shipped nor with --base-uri; passed the union bundled "
            "(all schemas embedded under $defs, keeping their $id)",
        ),
    ]
    for argv, how in ways:
        proc = subprocess.run(
            [*argv, str(sample)], capture_output=True, text=True, timeout=120, check=False
        )
        if proc.returncode == 0:
            return argv, how
    return None


def bench_cli_files(
    sizes: Sizes, factory: PayloadFactory, cli: list[str], tmp: Path, problems: list[str]
) -> None:
    folder = tmp / "files"
    folder.mkdir()
    files = []
    for number, payload in enumerate(factory.payloads(sizes.files)):
        path = folder / f"{number:05d}-{payload['event']}.json"
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        files.append(str(path))
    print(f"\n3. CLI on {sizes.files:,} .json files (one callback each) in one invocation")

    try:
        ours, stdout = wall_seconds([*cli, "validate", *files], sizes.repeats)
    except RuntimeError as exc:
        print(f"   BROKEN: {exc}")
        problems.append(f"CLI on files: {exc}")
        return
    expected = f"{sizes.files} valid, 0 invalid"
    if summary_counts(stdout) != expected:
        problems.append(f"CLI on files printed {summary_counts(stdout)!r}, expected {expected!r}")
        print(f"   BROKEN: printed {summary_counts(stdout)!r}, expected {expected!r}")
    print(f"   median of {sizes.repeats} runs")
    print(f"   aircore-mock validate FILE...        {ours * 1e3:8,.0f} ms")

    exe = find_script("check-jsonschema")
    if exe is None:
        print("   check-jsonschema: not found next to the interpreter or on PATH; baseline skipped")
        return
    found = check_jsonschema_command(exe, Path(files[0]), tmp)
    if found is None:
        print("   check-jsonschema: could not resolve the schemas' $refs in any way; skipped")
        problems.append("check-jsonschema baseline: $refs unresolvable")
        return
    argv, how = found
    theirs, _ = wall_seconds([*argv, *files], sizes.repeats)
    our_start, _ = wall_seconds([*cli, "validate", files[0]], sizes.repeats)
    their_start, _ = wall_seconds([*argv, files[0]], sizes.repeats)
    speedup = theirs / ours
    print(
        f"   check-jsonschema (same files)        {theirs * 1e3:8,.0f} ms   "
        f"aircore-mock is {speedup:,.1f}x faster"
    )
    print(
        f"   start-up (one file): aircore-mock {our_start * 1e3:,.0f} ms, "
        f"check-jsonschema {their_start * 1e3:,.0f} ms"
    )
    print(f"   check-jsonschema: {how}")
    print(
        f"   target aircore-mock >= {TARGET_FILES_SPEEDUP:.0f}x faster: "
        f"{verdict(speedup >= TARGET_FILES_SPEEDUP)} ({speedup:,.1f}x)"
    )
    if speedup < TARGET_FILES_SPEEDUP:
        problems.append(f"CLI on files only {speedup:.1f}x faster than check-jsonschema")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL

    cli = aircore_cli()
    print(machine_line("validation", args.quick))
    print(
        f"aircore-mock {aircore_mock.__version__}, jsonschema-rs {version('jsonschema-rs')}, "
        f"jsonschema {version('jsonschema')}, check-jsonschema {version('check-jsonschema')}"
    )
    print(f"CLI: {' '.join(cli)}")

    factory = PayloadFactory(SEED)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="aircore-bench-") as name:
        tmp = Path(name)
        (tmp / "one.json").write_text(json.dumps(factory.payloads(1)[0]), encoding="utf-8")
        bench_library(sizes, factory, problems)
        bench_cli_jsonl(sizes, factory, cli, tmp, problems)
        bench_cli_files(sizes, factory, cli, tmp, problems)

    print("\nSummary: " + ("all targets met" if not problems else "; ".join(problems)))
    if args.quick:
        print("(--quick: sizes too small for the targets to mean much; start-up dominates)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
