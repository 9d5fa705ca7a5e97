"""Examples per second from `aircore_mock.strategies` under `@given`, health checks on.

Runs each public strategy in a `@given` test with Hypothesis's default health checks (a
strategy too slow or filtering too much fails them) and prints examples/s, medians of
repeated runs; beside it, hypothesis-jsonschema's `from_schema` on the union schema (the
same child process as bench_generation.py: this interpreter if it has a working
hypothesis-jsonschema, else `--hj-python`). Aim: 1,000 examples/s for `callbacks()`.

    python benchmarks/bench_strategies.py [--examples N] [--repeats N] [--hj-python PYTHON]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import rate, verdict, version
from hypothesis import given, settings

from aircore_mock import is_valid, strategies

AIM = 1_000.0

# hypothesis-jsonschema (draft 7 at heart) cannot follow this project's $refs between files,
# so it gets the union with every $ref inlined; run in a child, as it needs an older
# Hypothesis (0.23.1 breaks with hypothesis >= 6.170.10).
HJ_CHILD = r"""
import json, statistics, sys, time, warnings
from importlib import metadata
warnings.simplefilter("ignore")
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis_jsonschema import from_schema
strategy = from_schema(json.load(open(sys.argv[1], encoding="utf-8")))
n = int(sys.argv[2])
seen = []
@settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(strategy)
def consume(value):
    seen.append(value)
consume()
rates = []
for _ in range(3):
    seen.clear()
    began = time.perf_counter()
    consume()
    rates.append(len(seen) / (time.perf_counter() - began))
print(json.dumps({"rate": statistics.median(rates),
                  "version": metadata.version("hypothesis-jsonschema")}))
"""


def inlined_union() -> dict[str, Any]:
    """The default union schema with every `$ref` replaced by what it points at."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    from aircore_mock import schemas

    def resource(contents: Any) -> Any:
        return Resource.from_contents(contents, default_specification=DRAFT202012)

    registry = Registry().with_resources(
        (uri, resource(contents)) for uri, contents in schemas.resources()
    )

    def inline(node: Any, resolver: Any) -> Any:
        if isinstance(node, list):
            return [inline(item, resolver) for item in node]
        if not isinstance(node, dict):
            return node
        node = dict(node)
        if "$id" in node:
            resolver = resolver.in_subresource(resource(node))
        for key in ("$id", "$schema", "$defs", "examples", "title", "description"):
            node.pop(key, None)
        ref = node.pop("$ref", None)
        rest = {key: inline(value, resolver) for key, value in node.items()}
        if ref is None:
            return rest
        found = resolver.lookup(ref)
        target = inline(found.contents, found.resolver)
        return {"allOf": [target, rest]} if rest else target

    root = registry.resolver(base_uri=schemas.schema_id("callback"))
    return dict(inline(schemas.get_schema(), root))


def examples_per_second(strategy: object, examples: int, strict: bool) -> tuple[float, int]:
    made: list[object] = []
    invalid = [0]

    # Health checks stay on (the default): they fail a strategy that is slow or filters.
    @settings(max_examples=examples, database=None, derandomize=True, deadline=None)
    @given(strategy)
    def run(value: object) -> None:
        made.append(value)

    began = time.perf_counter()
    run()
    taken = time.perf_counter() - began
    for value in made:
        items = value if isinstance(value, list) else [value]
        for item in items:
            callback = getattr(item, "callback", item)
            if isinstance(callback, dict) and not is_valid(callback, strict=strict):
                invalid[0] += 1
    return len(made) / taken, invalid[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hj-python", default=None)
    args = parser.parse_args(argv)
    print(f"hypothesis {version('hypothesis')}, Python {sys.version.split()[0]}")
    cases = [
        ("callbacks(strict=True)", strategies.callbacks(strict=True), True),
        ("callbacks()", strategies.callbacks(), False),
        ("forward_compatible_callbacks()", strategies.forward_compatible_callbacks(), False),
        ("lifecycles()", strategies.lifecycles(), True),
        ("deliveries()", strategies.deliveries(), True),
    ]
    headline = 0.0
    for label, strategy, strict in cases:
        examples_per_second(strategy, 50, strict)  # warm-up
        runs = [examples_per_second(strategy, args.examples, strict) for _ in range(args.repeats)]
        value = statistics.median(r for r, _ in runs)
        invalid = sum(bad for _, bad in runs)
        mode = "strict" if strict else "default"
        print(
            f"  {label:<32} {rate(value):>7} examples/s (median of {args.repeats} x "
            f"{args.examples:,}); invalid under the {mode} schemas: {invalid}"
        )
        if label == "callbacks()":
            headline = value
    print(f"  aim {rate(AIM)}/s for callbacks(): {verdict(headline >= AIM)}")

    print("\nBaseline: hypothesis-jsonschema from_schema(union), examples/s (a subprocess)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "union.json"
        path.write_text(json.dumps(inlined_union()), encoding="utf-8")
        for python in dict.fromkeys([sys.executable, args.hj_python or sys.executable]):
            done = subprocess.run(
                [python, "-c", HJ_CHILD, str(path), "200"],
                capture_output=True,
                text=True,
                cwd=tmp,
                timeout=900,
                check=False,
            )
            lines = done.stdout.strip().splitlines()
            if done.returncode == 0 and lines:
                result = json.loads(lines[-1])
                print(
                    f"  {python}: hypothesis-jsonschema {result['version']}: "
                    f"{rate(result['rate'])} examples/s (median of 3 x 200); callbacks() is "
                    f"{headline / result['rate']:,.0f}x faster"
                )
                break
            print(f"  {python}: {(done.stderr.strip().splitlines() or ['failed'])[-1][:150]}")
        else:
            print("  skipped: pass --hj-python with hypothesis<6.170.10 and hypothesis-jsonschema")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
