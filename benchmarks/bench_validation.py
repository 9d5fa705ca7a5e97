"""Benchmark aircore-mock's validation: the library, the CLI on JSONL, the CLI on many files.

Run:  python benchmarks/bench_validation.py [--quick]

Every figure is the median of several runs with the spread (min-max) beside it, and each
contender is paired run by run with its baseline (A B A B ...): ratios are taken run by run
and printed as their median and spread; compare ratios between machines, not absolute
numbers. The CLI's floor is the least code doing its job, in a process of its own: orjson and
jsonschema-rs, one is_valid a line. Nothing here asserts on time: targets are printed as
"met" or "MISSED". check-jsonschema is optional; when it is not installed its baseline is
skipped.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (  # benchmarks/ is on sys.path
    aircore_cli,
    find_script,
    machine_line,
    rate,
    seconds,
    spread,
    verdict,
    version,
)

import aircore_mock

SEED = 20240611
TARGET_LIBRARY_PER_S = 300_000
TARGET_FLOOR_RATIO = 1.1  # validate's time (and its growth a line) over the floor's
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
    big_lines: int  # a second, bigger JSONL file, for the growth a line (0: skipped)
    files: int
    repeats: int


FULL = Sizes(4_000, 100_000, 2_000, 300, 100_000, 1_000_000, 1_000, 5)
QUICK = Sizes(400, 10_000, 200, 30, 5_000, 0, 100, 3)


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
    """A few broken copies of a valid payload, invalid in both modes, for the engines-agree
    sanity check."""
    variants = []
    for mutate in (
        lambda p: p.update(timestamp=-1),
        lambda p: p["recording"].update(url="not a uri"),
        lambda p: p["recording"].pop("startTime"),
        # (An unknown state or event type is valid by default: Aircore may add them.)
        lambda p: p["recording"].update(state=7),
        lambda p: p.update(event=42),
    ):
        broken = copy.deepcopy(payload)
        mutate(broken)
        variants.append(broken)
    return variants


# --------------------------------------------------------------------------- timing


def calls_per_second(
    checks: Sequence[tuple[Callable[[Any], object], int]], payloads: Sequence[Any], repeats: int
) -> list[list[float]]:
    """Payloads/s of each (check, calls) in each of `repeats` runs, cycling through `payloads`.

    The checks take turns within every repeat (A B C A B C ...), so that drift in the
    machine's speed (other processes, CPU clocks) falls on all of them alike and each run's
    ratios compare neighbours.
    """

    def runner(check: Callable[[Any], object], calls: int) -> Callable[[], None]:
        seq = [payloads[i % len(payloads)] for i in range(calls)]

        def run() -> None:
            for payload in seq:
                check(payload)

        return run

    runs = [(runner(check, calls), calls) for check, calls in checks]
    for run, _ in runs:  # warm-up
        run()
    rates: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for (run, calls), got in zip(runs, rates, strict=True):
            got.append(calls / seconds(run))
    return rates


def ratios(ours: list[float], floor: list[float]) -> list[float]:
    """Run by run: each of ours over the floor's run beside it."""
    return [a / b for a, b in zip(ours, floor, strict=True)]


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
    lib, comp, direct, slowest, prebuilt_rate = calls_per_second(
        [
            (aircore_mock.is_valid, n),
            (check, n),
            (rs.is_valid, n),
            (python_validate, sizes.validate_calls),
            (prebuilt.is_valid, sizes.prebuilt_calls),
        ],
        payloads,
        r,
    )
    baselines = [
        ("jsonschema.validate() per call", slowest, sizes.validate_calls),
        ("prebuilt Draft202012Validator.is_valid", prebuilt_rate, sizes.prebuilt_calls),
        ("jsonschema_rs direct (the floor)", direct, n),
    ]
    print(
        f"   {r} runs, every engine in turn in each; payloads/s median (min-max); 'x' columns "
        "= library payloads/s / that row's, run by run, median (min-max)"
    )
    print(f"   {'engine':<40} {'calls/run':>9} {'payloads/s':>27} {'us each':>9}")
    for name, got in (("aircore_mock.is_valid(p)", lib), ("aircore_mock.checker()(p)", comp)):
        middle = statistics.median(got)
        print(f"   {name:<40} {n:>9,} {spread(got):>27} {1e6 / middle:>9,.2f}")
    for name, got, calls in baselines:
        middle = statistics.median(got)
        print(f"   {name:<40} {calls:>9,} {spread(got):>27} {1e6 / middle:>9,.2f}")
        print(
            f"   {'':<40} is_valid {spread(ratios(lib, got), 2)}x, "
            f"checker() {spread(ratios(comp, got), 2)}x"
        )
    lib_rate, comp_rate = statistics.median(lib), statistics.median(comp)
    print(
        f"   target is_valid >= {rate(TARGET_LIBRARY_PER_S)}/s: "
        f"{verdict(lib_rate >= TARGET_LIBRARY_PER_S)} ({rate(lib_rate)}/s; checker() "
        f"{rate(comp_rate)}/s)"
    )
    if lib_rate < TARGET_LIBRARY_PER_S:
        problems.append(
            f"library is_valid {rate(lib_rate)}/s, below {rate(TARGET_LIBRARY_PER_S)}/s"
        )


# --------------------------------------------------------------------------- 2. CLI, JSONL

# The floor: the least code doing validate's job on JSONL, in a process of its own as the
# CLI is: orjson and jsonschema-rs, one is_valid a line, the shipped schemas of one mode.
# argv: schema folder, JSONL path. Prints the counts as validate's summary starts.
FLOOR = r"""
import json, pathlib, sys
import jsonschema_rs, orjson
folder, path = pathlib.Path(sys.argv[1]), sys.argv[2]
schemas = [json.loads(p.read_bytes()) for p in sorted(folder.glob("*.schema.json"))]
resources = [(s["$id"], s) for s in schemas]
union = next(s for s in schemas if s["$id"].endswith("/callback.schema.json"))
is_valid = jsonschema_rs.Draft202012Validator(
    union, registry=jsonschema_rs.Registry(resources), validate_formats=True
).is_valid
loads = orjson.loads
valid = invalid = 0
with open(path, "rb") as lines:
    for line in lines:
        if is_valid(loads(line)):
            valid += 1
        else:
            invalid += 1
print(f"{valid} valid, {invalid} invalid")
"""


def summary_counts(stdout: str) -> str:
    lines = stdout.strip().splitlines()
    return lines[-1] if lines else "(no output)"


@dataclass
class Runs:
    """Wall and CPU seconds (user + system) of one contender, run by run."""

    wall: list[float]
    cpu: list[float]


def timed_child(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and stdout of one run of `argv` (exit code 0 expected). The
    CPU is the child's own, from the kernel's count of waited-for children (one at a time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"{Path(argv[0]).name} exited {proc.returncode}: {tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout.decode()


def paired(contenders: dict[str, tuple[list[str], str | None]], rounds: int) -> dict[str, Runs]:
    """Every contender (argv, the start of its summary line, None for no check) once a
    round, in turn (A B A B ...), after one untimed warm-up round, so that the machine's
    drift falls on all of them alike."""
    runs = {name: Runs([], []) for name in contenders}
    for round_number in range(rounds + 1):
        for name, (argv, expected) in contenders.items():
            wall, cpu, stdout = timed_child(argv)
            said = summary_counts(stdout)
            if expected is not None and not said.startswith(expected):
                raise RuntimeError(f"{name} printed {said!r}, expected {expected!r}")
            if round_number:
                runs[name].wall.append(wall)
                runs[name].cpu.append(cpu)
    return runs


def write_jsonl(path: Path, payloads: list[dict[str, Any]], lines: int) -> float:
    """`lines` lines cycling through `payloads`; the file's size in MB."""
    encoded = [json.dumps(p).encode() + b"\n" for p in payloads]
    with path.open("wb") as out:
        for start in range(0, lines, len(encoded)):
            out.write(b"".join(encoded[: min(len(encoded), lines - start)]))
    return path.stat().st_size / 1e6


def bench_cli_jsonl(
    sizes: Sizes, factory: PayloadFactory, cli: list[str], tmp: Path, problems: list[str]
) -> None:
    payloads = factory.payloads(min(sizes.jsonl_lines, 100_000))
    counts = [sizes.jsonl_lines] + ([sizes.big_lines] if sizes.big_lines else [])
    floor = [sys.executable, "-c", FLOOR]
    folders = {strict: str(aircore_mock.schema_dir(strict=strict)) for strict in (False, True)}
    print(
        f"\n2. CLI on JSONL vs the floor (orjson + jsonschema-rs, one is_valid a line, in its "
        f"own process), paired run by run, {sizes.repeats} rounds after a warm-up; "
        "wall time median (min-max), process start included"
    )
    # (contender, lines) -> (median wall, median CPU) seconds
    medians: dict[tuple[str, int], tuple[float, float]] = {}
    for lines in counts:
        path = tmp / f"callbacks-{lines}.jsonl"
        size_mb = write_jsonl(path, payloads, lines)
        said = f"{lines} valid, 0 invalid"
        contenders = {
            "floor, default schemas": ([*floor, folders[False], str(path)], said),
            "aircore-mock validate": ([*cli, "validate", str(path)], said),
            "floor, strict schemas": ([*floor, folders[True], str(path)], said),
            "aircore-mock validate --strict": ([*cli, "validate", "--strict", str(path)], said),
        }
        try:
            runs = paired(contenders, sizes.repeats)
        except RuntimeError as exc:
            print(f"   BROKEN: {exc}")
            problems.append(f"CLI on JSONL: {exc}")
            return
        print(f"   {lines:,} lines, {size_mb:,.1f} MB ({os.getloadavg()[0]:.1f} load average)")
        for name, run in runs.items():
            wall = statistics.median(run.wall)
            medians[name, lines] = wall, statistics.median(run.cpu)
            print(
                f"     {name:<32} {spread(run.wall, 3)} s  {rate(lines / wall):>9} lines/s  "
                f"CPU {spread(run.cpu, 3)} s"
            )
        for ours, base in (
            ("aircore-mock validate", "floor, default schemas"),
            ("aircore-mock validate --strict", "floor, strict schemas"),
            ("aircore-mock validate", "floor, strict schemas"),
        ):
            wall = ratios(runs[ours].wall, runs[base].wall)
            cpu = ratios(runs[ours].cpu, runs[base].cpu)
            met = statistics.median(wall) <= TARGET_FLOOR_RATIO
            print(
                f"     {ours} / {base}: time {spread(wall, 2)}x, CPU {spread(cpu, 2)}x; "
                f"aim <= {TARGET_FLOOR_RATIO}x: {verdict(met)}"
            )
            if not met and base == "floor, default schemas":
                problems.append(
                    f"validate on {lines:,} lines {statistics.median(wall):.2f}x the floor"
                )
    if sizes.big_lines:
        small, big = sizes.jsonl_lines, sizes.big_lines
        print(f"   growth from {small:,} to {big:,} lines, us a line (of the medians): wall, CPU")
        slopes = {}
        for name in contenders:
            slopes[name] = [
                (medians[name, big][i] - medians[name, small][i]) / (big - small) * 1e6
                for i in (0, 1)
            ]
            print(f"     {name:<32} {slopes[name][0]:6.2f} {slopes[name][1]:6.2f}")
        for ours, base in (
            ("aircore-mock validate", "floor, default schemas"),
            ("aircore-mock validate --strict", "floor, strict schemas"),
        ):
            slope, cpu_slope = (slopes[ours][i] / slopes[base][i] for i in (0, 1))
            met = slope <= TARGET_FLOOR_RATIO
            print(
                f"     {ours} / {base}: wall {slope:.2f}x, CPU {cpu_slope:.2f}x; "
                f"aim <= {TARGET_FLOOR_RATIO}x: {verdict(met)}"
            )
            if not met and base == "floor, default schemas":
                problems.append(f"validate grows {slope:.2f}x the floor's slope")

    one = tmp / "one.json"
    said = "1 valid, 0 invalid"
    starts = paired(
        {
            "floor": ([*floor, folders[False], str(one)], said),
            "aircore-mock validate": ([*cli, "validate", str(one)], said),
        },
        sizes.repeats,
    )
    ours, theirs = starts["aircore-mock validate"].wall, starts["floor"].wall
    print(
        f"   start-up, one callback: aircore-mock validate {spread(ours, 3)} s, the floor "
        f"{spread(theirs, 3)} s, {spread(ratios(ours, theirs), 2)}x"
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
    print(
        f"\n3. CLI on {sizes.files:,} .json files (one callback each) in one invocation, "
        f"paired run by run with check-jsonschema, {sizes.repeats} rounds after a warm-up"
    )
    said = f"{sizes.files} valid, 0 invalid"
    contenders: dict[str, tuple[list[str], str | None]] = {
        "aircore-mock validate FILE...": ([*cli, "validate", *files], said),
        "aircore-mock validate, one file": ([*cli, "validate", files[0]], "1 valid, 0 invalid"),
    }
    exe = find_script("check-jsonschema")
    found = None if exe is None else check_jsonschema_command(exe, Path(files[0]), tmp)
    if found is not None:
        argv, how = found
        contenders["check-jsonschema FILE..."] = ([*argv, *files], None)
        contenders["check-jsonschema, one file"] = ([*argv, files[0]], None)
    try:
        runs = paired(contenders, sizes.repeats)
    except RuntimeError as exc:
        print(f"   BROKEN: {exc}")
        problems.append(f"CLI on files: {exc}")
        return
    for name, run in runs.items():
        print(f"   {name:<34} {spread([w * 1e3 for w in run.wall])} ms")
    if exe is None:
        print("   check-jsonschema: not found next to the interpreter or on PATH; baseline skipped")
        return
    if found is None:
        print("   check-jsonschema: could not resolve the schemas' $refs in any way; skipped")
        problems.append("check-jsonschema baseline: $refs unresolvable")
        return
    speedups = ratios(
        runs["check-jsonschema FILE..."].wall, runs["aircore-mock validate FILE..."].wall
    )
    speedup = statistics.median(speedups)
    print(f"   check-jsonschema time / aircore-mock's: {spread(speedups, 1)}x")
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
