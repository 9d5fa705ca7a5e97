"""Benchmark aircore-mock's generator: callbacks per second, in the library and from the CLI.

Run:  python benchmarks/bench_generation.py [--quick] [--rounds N] [--hj-python PYTHON]

Each contender is paired run by run with a floor (A B A B ...: one run of the contender, then
one of the floor, every round), and each pair gives a time ratio; the median ratio and its
min-max spread over the rounds are printed, with the aim (at most 2x the floor's time) as
"met" or "MISSED". The floor is the least code making the same callbacks: plain dicts from
`random.Random` and f-strings (`_generation_floor.py`), in process for the library and, for
the CLI, the same as a script writing each line with orjson (start-up included for both).
Compare ratios between machines, not absolute numbers: other processes slow both sides of a
pair alike, but not always, hence the spread. Nothing here asserts on time.

Peak memory is each measured process's own high-water mark (VmHWM from /proc/self/status,
read by the process itself at exit), never `ru_maxrss` of a child (Linux carries the
parent's peak into it).

hypothesis-jsonschema (a far baseline, not paired) is optional and runs in a subprocess:
first under this interpreter, then under `--hj-python` (or $AIRCORE_BENCH_HJ_PYTHON).
Version 0.23.1 breaks with hypothesis >= 6.170.10, so it may need a venv of its own:

    python3 -m venv /tmp/venv-hj
    /tmp/venv-hj/bin/pip install hypothesis-jsonschema 'hypothesis<6.170.10'
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from _common import (  # benchmarks/ is on sys.path
    aircore_cli,
    machine_line,
    rate,
    ratio,
    seconds,
    spread,
    verdict,
    version,
)
from _generation_floor import floor_callbacks

import aircore_mock

SEED = 1
AIM = 2.0  # at most this many times the floor's time (issue 21)
CALLBACKS_PER_RECORDING = 3  # started, stopped, uploaded or upload-failed
HERE = Path(__file__).resolve().parent

# Runs the console script's entry in this child and, at exit, writes the process's own peak
# memory to stderr: the CLI's VmHWM, read by itself.
PEAK_CHILD = r"""
import atexit, sys
sys.path.insert(0, sys.argv.pop(1))
from _generation_floor import peak_kib
atexit.register(lambda: sys.stderr.write(f"peak-kib {peak_kib()}\n"))
from aircore_mock._entry import main
main(sys.argv[1:])
"""


@dataclass(frozen=True)
class Sizes:
    recordings: int  # per library run (3 callbacks each)
    rounds: int  # library pairs (contender, floor)
    cli_recordings: int  # per CLI run
    cli_rounds: int
    hj_examples: int  # hypothesis-jsonschema examples per run
    hj_repeats: int


FULL = Sizes(20_000, 9, 60_000, 7, 200, 3)
QUICK = Sizes(2_000, 3, 2_000, 3, 20, 1)


# --------------------------------------------------------------------------- pairing


@dataclass(frozen=True)
class Paired:
    """Seconds of each run of a contender and of its floor, run by run (A B A B ...)."""

    contender: list[float]
    floor: list[float]

    @property
    def ratios(self) -> list[float]:
        """The contender's time over the floor's, pair by pair."""
        return [a / b for a, b in zip(self.contender, self.floor, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def shown(self) -> str:
        """`median (min-max)` of the ratios."""
        return spread(self.ratios, 2) + "x"


def paired(contender: Callable[[], object], floor: Callable[[], object], rounds: int) -> Paired:
    """Time `contender` and `floor` in turns, A B A B, after one untimed run of each."""
    contender()
    floor()
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        a.append(seconds(contender))
        b.append(seconds(floor))
    return Paired(a, b)


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


# --------------------------------------------------------------------------- helpers


def count(items: Iterable[object]) -> int:
    """Consume `items`, keeping nothing; how many there were."""
    n = 0
    for _ in items:
        n += 1
    return n


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
    """Library against the floor, paired; returns the happy path's callbacks/s."""
    n, rounds = sizes.recordings, sizes.rounds
    reasons = stop_reasons()
    print(f"\n1. Library, {n:,} recordings per run, one core; {load_line()}")
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
        ("Generator.lifecycles() + .callbacks()", lifecycles, False),
    ]
    made_floor = floor()
    print(
        f"   {rounds} rounds, each contender paired run by run with the floor "
        "(random.Random + f-strings); time ratio = contender / floor, median (min-max)"
    )
    print(f"   {'':<38} {'ms/run':>7} {'callbacks/s':>12} {'floor/s':>9}  time ratio")
    happy = 0.0
    for name, run, aimed in rows:
        made = run()
        result = paired(run, floor, rounds)
        value = made / statistics.median(result.contender)
        floor_value = made_floor / statistics.median(result.floor)
        if not happy:
            happy = value
        print(
            f"   {name:<38} {statistics.median(result.contender) * 1e3:>7,.0f} "
            f"{rate(value):>12} {rate(floor_value):>9}  {result.shown()}"
        )
        if aimed:
            met = result.ratio <= AIM
            print(f"   {'':<38} aim <= {AIM:g}x the floor's time: {verdict(met)}")
            if not met:
                problems.append(f"library {name} {result.ratio:.2f}x the floor, aim {AIM:g}x")
    print(f"   (after: {load_line()})")
    return happy


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
    n, rounds = sizes.cli_recordings, sizes.cli_rounds
    expected = n * CALLBACKS_PER_RECORDING
    reasons = ",".join(stop_reasons())
    print(
        f"\n3. CLI: aircore-mock generate --count {n:,} --seed {SEED} --format jsonl > file "
        f"({expected:,} callbacks), process start-up included; {load_line()}"
    )
    out = tmp / "generated.jsonl"
    floor_script = str(HERE / "_generation_floor.py")

    def command(argv: list[str]) -> Callable[[], None]:
        def run() -> None:
            with out.open("wb") as handle:
                proc = subprocess.run(
                    argv, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.PIPE
                )
            if proc.returncode:
                tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(f"exited {proc.returncode}: {tail}")

        return run

    floor_argv = [sys.executable, floor_script, str(n), str(SEED), reasons]
    floor = command(floor_argv)
    print(
        f"   {rounds} rounds, each paired run by run with the floor: {Path(floor_script).name}, "
        "random.Random + f-strings, a line a write with orjson"
    )
    print(f"   {'':<30} {'ms/run':>7} {'callbacks/s':>12} {'floor ms':>9}  time ratio")
    for scenario in ("uploaded", "burst"):
        label = f"--scenario {scenario}"
        run = command([*cli, *generate_argv(scenario, n)])
        try:
            run()
        except RuntimeError as exc:
            print(f"   {label:<30} BROKEN: {exc}")
            problems.append(f"CLI {label}: {exc}")
            continue
        lines = out.read_bytes().splitlines()
        callbacks = [orjson.loads(line) for line in lines[:3_000]]
        invalid = sum(not aircore_mock.is_valid(c) for c in callbacks)
        if len(lines) != expected or invalid:
            message = f"wrote {len(lines):,} lines (expected {expected:,}), {invalid} invalid"
            print(f"   BROKEN: {label} {message}")
            problems.append(f"CLI {label} {message}")
        result = paired(run, floor, rounds)
        taken = statistics.median(result.contender)
        print(
            f"   {label:<30} {taken * 1e3:>7,.0f} {rate(len(lines) / taken):>12} "
            f"{statistics.median(result.floor) * 1e3:>9,.0f}  {result.shown()}"
        )
        met = result.ratio <= AIM
        print(f"   {'':<30} aim <= {AIM:g}x the floor's time: {verdict(met)}")
        if not met:
            problems.append(f"CLI {label} {result.ratio:.2f}x the floor, aim {AIM:g}x")
    startup = paired(
        command([*cli, *generate_argv("uploaded", 1)]),
        command([sys.executable, "-c", "pass"]),
        rounds,
    )
    print(
        f"   start-up, --count 1              {statistics.median(startup.contender) * 1e3:>7,.0f}"
        f" ms; python -c pass {statistics.median(startup.floor) * 1e3:,.0f} ms "
        f"(ratio {startup.shown()})"
    )
    print(f"   (after: {load_line()})")
    bench_cli_memory(n, floor_argv, out, problems)


def peak_of(argv: list[str], out: Path) -> int:
    """Run `argv` (which writes `peak-kib N` to stderr at exit); its own peak memory, KiB."""
    with out.open("wb") as handle:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.PIPE)
    found = [line for line in proc.stderr.decode().splitlines() if line.startswith("peak-kib ")]
    if proc.returncode or not found:
        raise RuntimeError(f"exited {proc.returncode}: {proc.stderr.decode()[-300:]}")
    return int(found[-1].split()[1])


def bench_cli_memory(n: int, floor_argv: list[str], out: Path, problems: list[str]) -> None:
    """Peak memory (each process's own VmHWM) of the CLI at 1x and 10x the count, and of
    the floor: streaming output should keep it flat."""
    child = [sys.executable, "-c", PEAK_CHILD, str(HERE)]
    try:
        rows = [
            (
                f"generate -s burst -n {count:,}",
                peak_of([*child, *generate_argv("burst", count)], out),
            )
            for count in (n, 10 * n)
        ]
        rows.append(("floor (per-line writer)", peak_of([*floor_argv, "--peak"], out)))
    except RuntimeError as exc:
        print(f"   peak memory: BROKEN: {exc}")
        problems.append(f"CLI peak memory: {exc}")
        return
    shown = "; ".join(f"{label} {kib / 1024:,.1f} MiB" for label, kib in rows)
    print(f"   peak memory (VmHWM, each process's own): {shown}")


def generate_argv(scenario: str, recordings: int) -> list[str]:
    """`aircore-mock generate` arguments for JSONL of `recordings` recordings."""
    argv = ["generate", "--scenario", scenario, "--count", str(recordings)]
    return [*argv, "--seed", str(SEED), "--format", "jsonl"]


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
    parser.add_argument("--rounds", type=int, metavar="N", help="pairs per contender")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = dataclasses.replace(sizes, rounds=args.rounds, cli_rounds=args.rounds)

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
