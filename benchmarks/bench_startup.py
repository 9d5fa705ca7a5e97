"""How long `aircore-mock --help` and `aircore-mock validate FILE` take to start and end.

Each beside two floors in the same rounds, every contender a fresh process, run by run
(A B C A B C ...):
- `python -c pass`: the interpreter's own start;
- a bare click CLI: a one-command click script doing the same kind of thing (its `--help`;
  reading the file and printing one line), i.e. the least a click command costs.
Prints wall time, CPU and peak memory (each process's own VmHWM) as medians with min-max,
and the paired ratios to each floor. `--imports` adds what each command imports (from
`python -X importtime`), the biggest first.

    python benchmarks/bench_startup.py [--rounds N] [--no-bytecode-cache] [--imports]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import orjson
from _common import aircore_cli, machine_line  # benchmarks/ is on sys.path
from _paired import Contender, Lab, load_average, paired, ratio_line, spread

# A one-command click CLI: the floor for a click program's start-up.
BARE_CLICK = '''\
import click


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def main(path):
    """Read PATH and say how long it is."""
    with open(path, "rb") as f:
        click.echo(f"{path}: {len(f.read())} bytes")


if __name__ == "__main__":
    main()
'''


ENTRY = "import sys; from aircore_mock._entry import main; main(sys.argv[1:])"


def _imports(argv: list[str], lab: Lab, limit: int) -> list[str]:
    """The biggest imports of one run of `argv` (Python arguments), by cumulative time."""
    run = lab.run([sys.executable, "-X", "importtime", *argv], check=False)
    parsed = []  # (cumulative µs, depth, module)
    for line in run.stderr.decode(errors="replace").splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        fields = line.split("|")
        name = fields[2].rstrip()
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        parsed.append((int(fields[1]), depth, name.strip()))
    total = sum(c for c, depth, _ in parsed if depth == 0)
    top = sorted((p for p in parsed if p[1] <= 1), reverse=True)[:limit]
    lines = [f"    imports: {total / 1000:.1f} ms in all (under -X importtime, which adds its own)"]
    lines += [f"    {c / 1000:6.1f} ms  {'  ' * depth}{name}" for c, depth, name in top]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="paired rounds [15]")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="run with this environment's bytecode setting (PYTHONDONTWRITEBYTECODE=1 here "
        "compiles an editable install's modules on every start)",
    )
    parser.add_argument("--imports", action="store_true", help="list each command's imports")
    args = parser.parse_args(argv)
    print(machine_line("start-up", args.rounds < 5))
    cli = aircore_cli()
    with tempfile.TemporaryDirectory() as folder, Lab(not args.no_bytecode_cache) as lab:
        bare = Path(folder) / "bare_click.py"
        bare.write_text(BARE_CLICK, encoding="utf-8")
        from aircore_mock import Generator

        callback = next(iter(Generator(1).scenario("uploaded", count=1)))
        small = Path(folder) / "callback.json"
        small.write_bytes(orjson.dumps(callback))
        bytecode = "cached, as an installed package's" if lab.cached_bytecode else "as set here"
        print(f"{load_average()}; bytecode {bytecode}")
        floor = Contender("python -c pass", [sys.executable, "-c", "pass"])
        groups = {
            "aircore-mock --help": [
                floor,
                Contender("bare click --help", [sys.executable, str(bare), "--help"]),
                Contender("aircore-mock --help", [*cli, "--help"]),
            ],
            f"aircore-mock validate FILE ({small.stat().st_size} bytes, one callback)": [
                floor,
                Contender("bare click FILE", [sys.executable, str(bare), str(small)]),
                Contender("aircore-mock validate FILE", [*cli, "validate", str(small)]),
            ],
        }
        for title, contenders in groups.items():
            runs = paired(lab, contenders, args.rounds, warmup=2)
            python, click_floor, ours = (runs[c.name] for c in contenders)
            print(f"\n{title}: {args.rounds} rounds, medians (min-max)")
            for contender in contenders:
                mine = runs[contender.name]
                peaks = [r.peak_mib for r in mine if r.peak_mib is not None]
                memory = f", peak {spread(peaks, 1)} MiB" if peaks else ""
                print(
                    f"  {contender.name:28} {spread([r.wall for r in mine], 1, 1000)} ms wall,"
                    f" {spread([r.cpu for r in mine], 1, 1000)} ms CPU{memory}"
                )
            name, bare_name = contenders[-1].name, contenders[1].name
            for mine, other, label in (
                (ours, python, f"{name} / python -c pass"),
                (ours, click_floor, f"{name} / bare click"),
                (click_floor, python, f"{bare_name} / python -c pass"),
            ):
                print(
                    f"  {label}: {ratio_line(mine, other)} by wall time,"
                    f" {ratio_line(mine, other, 'cpu')} by CPU"
                )
            extra = [r.wall - b.wall for r, b in zip(ours, click_floor, strict=True)]
            extra_cpu = [r.cpu - b.cpu for r, b in zip(ours, click_floor, strict=True)]
            print(
                f"  added over bare click: {spread(extra, 1, 1000)} ms wall,"
                f" {spread(extra_cpu, 1, 1000)} ms CPU"
            )
            if args.imports:
                arguments = list(contenders[-1].argv[len(cli) :])
                print("\n".join(_imports(["-c", ENTRY, *arguments], lab, 15)))
        print(f"\n{load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
