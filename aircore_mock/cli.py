"""The `aircore-mock` command: a thin click shell over the library (heavy imports stay lazy)."""

from __future__ import annotations

import itertools
import json
import sys
from typing import Any, NoReturn

import click

from ._version import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class InputProblem(click.ClickException):
    """Unreadable input: reported on one line, exit code 2."""

    exit_code = EXIT_USAGE


def _fail_usage(message: str) -> NoReturn:
    raise click.UsageError(message)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        from ._exceptions import AircoreMockError, InputError, UsageError

        try:
            return super().invoke(ctx)
        except UsageError as exc:
            # Raised below the group, so ctx is the group's: name the subcommand ourselves.
            command = f" {ctx.invoked_subcommand}" if ctx.invoked_subcommand else ""
            hint = f"\nTry 'aircore-mock{command} --help' for help."
            raise click.UsageError(f"{exc}{hint}") from None
        except InputError as exc:
            raise InputProblem(str(exc)) from None
        except AircoreMockError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="aircore-mock")
def cli() -> None:
    """Aircore cloud-recording callbacks on demand: schemas, validation and more.

    Exit codes: 0 ok, 1 a check failed, 2 usage error or unreadable input.
    """


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--strict", is_flag=True, help="Reject properties Aircore does not document.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a line per invalid payload; json: a machine-readable report.",
)
@click.option(
    "--input-format",
    type=click.Choice(["auto", "json", "jsonl"]),
    default="auto",
    show_default=True,
    help="How to read input; auto goes by extension (.jsonl/.ndjson a callback a line).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; only the exit code tells.")
def validate(
    paths: tuple[str, ...], strict: bool, output_format: str, input_format: str, quiet: bool
) -> None:
    """Check callbacks against the shipped schemas.

    PATH is a .json file (one callback or an array of them), a .jsonl/.ndjson file (one
    callback a line) or - for stdin (the default when stdin is piped). Each invalid payload
    gets one line: where it is, the JSON path and what is wrong.

    Exit codes: 0 all valid, 1 some invalid, 2 unreadable input.
    """
    from ._inputs import read_callbacks
    from ._validation import checker, explain

    if not paths:
        if sys.stdin.isatty():
            _fail_usage("give one or more PATHs to check, or - to read stdin")
        paths = ("-",)
    check = checker(strict=strict)
    valid = 0
    invalid: list[dict[str, Any]] = []
    unreadable: list[dict[str, Any]] = []
    for item in read_callbacks(paths, input_format):  # type: ignore[arg-type]
        if item.error is not None:
            unreadable.append(
                {"where": item.where, "source": item.source, "line": item.line, "error": item.error}
            )
            if not quiet and output_format == "text":
                click.echo(f"{item.where}: {item.error}", err=True)
            continue
        if check(item.payload):
            valid += 1
            continue
        problems = explain(item.payload, strict=strict)
        entry = {
            "where": item.where,
            "source": item.source,
            "line": item.line,
            "index": item.index,
            "problems": [vars(p) for p in problems],
        }
        invalid.append(entry)
        if not quiet and output_format == "text":
            from ._exceptions import ValidationError

            click.echo(f"{item.where}: {ValidationError(problems)}")
    if not quiet:
        if output_format == "json":
            report = {
                "valid": valid,
                "invalid": len(invalid),
                "unreadable": len(unreadable),
                "strict": strict,
                "invalid_payloads": invalid,
                "unreadable_inputs": unreadable,
            }
            click.echo(json.dumps(report, indent=2))
        else:
            summary = f"{valid} valid, {len(invalid)} invalid"
            if unreadable:
                summary += f", {len(unreadable)} unreadable"
            click.echo(summary)
    if unreadable:
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FAILED if invalid else EXIT_OK)


@cli.command()
@click.argument("name", required=False, metavar="[CALLBACK_TYPE]")
@click.option("--list", "list_", is_flag=True, help="List the callback types, one line each.")
@click.option("--path", "show_path", is_flag=True, help="Print the folder holding the schemas.")
def schema(name: str | None, list_: bool, show_path: bool) -> None:
    """Print a shipped JSON Schema: the union of all callbacks, or one CALLBACK_TYPE.

    The schemas are plain draft 2020-12 files; --path shows where they live so that other
    tools (check-jsonschema, ajv, ...) can use them.
    """
    from . import _schemas

    if show_path:
        click.echo(str(_schemas.schema_dir()))
        return
    if list_:
        types = _schemas.callback_types()
        width = max(len(t) for t in types)
        for event in types:
            click.echo(f"{event:<{width}}  {_schemas.describe(event)}")
        return
    click.echo(json.dumps(_schemas.get_schema(name or _schemas.UNION), indent=2))


def _scenario_help() -> str:
    return (
        "Scenario: an outcome (uploaded, upload-failed, bad-region, client-stopped, "
        "in-progress, ...), a fault (duplicate, out-of-order, reversed, burst) or both joined "
        "with + (upload-failed+out-of-order). `aircore-mock scenarios` lists them."
    )


_SET_HELP = (
    "Pin a value, repeatable: a JSON path (recording.url, recording.startTime, "
    "recording.elapsedTime, recording.reason, recording.location.region, "
    "recording.location.address) or a name (bucket, filename, failure, server_region); "
    "the rest of the lifecycle follows it."
)


def _report_seed(seed: int | None, chosen: int) -> None:
    if seed is None:
        click.echo(f"aircore-mock: seed {chosen} (pass --seed {chosen} to reproduce)", err=True)


@cli.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a table; json: for machines.",
)
@click.option(
    "--failures",
    is_flag=True,
    help="List the upload-failure catalogue instead: code, cause, S3 message.",
)
def scenarios(output_format: str, failures: bool) -> None:
    """List the scenarios: name, what happens, the callbacks it sends.

    Outcomes say what happens to a recording; faults say how delivery goes wrong. Join one
    outcome and any faults with +, e.g. `upload-failed+out-of-order`.
    """
    from . import _catalogue, _scenarios

    if failures:
        rows = [
            {"family": f.family, "code": f.code, "cause": f.cause, "message": f.template}
            for f in _catalogue.UPLOAD_FAILURES
        ]
        if output_format == "json":
            click.echo(json.dumps(rows, indent=2))
            return
        for row in rows:
            click.echo(
                f"{row['family']} ({row['code']})\n  cause:   {row['cause']}\n"
                f"  message: {row['message']}"
            )
        return
    listing = []
    for scenario in _scenarios.catalogue():
        kind = "fault" if scenario.name in _scenarios.FAULTS else "outcome"
        listing.append(
            {
                "name": scenario.name,
                "kind": kind,
                "description": scenario.description,
                "callbacks": _scenarios.sample_events(scenario),
            }
        )
    if output_format == "json":
        click.echo(json.dumps(listing, indent=2))
        return
    width = max(len(row["name"]) for row in listing)
    for kind, title in (("outcome", "Outcomes"), ("fault", "Faults (combine: OUTCOME+FAULT)")):
        click.echo(f"{title}:")
        for row in listing:
            if row["kind"] == kind:
                events = " ".join(e.removeprefix("recording-") for e in row["callbacks"])
                click.echo(f"  {row['name']:<{width}}  {row['description']}")
                click.echo(f"  {'':<{width}}  -> {events}")


def _seed_option(f: Any) -> Any:
    return click.option(
        "--seed",
        type=click.IntRange(min=0),
        default=None,
        help="Seed for every random choice; the same seed gives the same bytes. "
        "Without it a seed is chosen and printed on stderr.",
    )(f)


@cli.command()
@click.option("-s", "--scenario", default="uploaded", show_default=True, help=_scenario_help())
@click.option(
    "-n",
    "--count",
    type=click.IntRange(min=1),
    default=None,
    help="Recordings to generate [default: 1, or 10 for a burst].",
)
@_seed_option
@click.option("--set", "assignments", multiple=True, metavar="PATH=VALUE", help=_SET_HELP)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "jsonl"]),
    default="json",
    show_default=True,
    help="json: a pretty-printed array; jsonl: a callback a line.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to FILE instead of stdout.",
)
def generate(
    scenario: str,
    count: int | None,
    seed: int | None,
    assignments: tuple[str, ...],
    output_format: str,
    output: str | None,
) -> None:
    """Print the callbacks of a scenario, in the order they would be delivered.

    \b
      aircore-mock generate --scenario bad-region --set recording.location.region=eu-west-1
      aircore-mock generate -s burst -n 50 --format jsonl | aircore-mock validate -
    """
    from ._generator import Generator, parse_pins
    from ._output import write_callbacks

    pins = parse_pins(assignments)
    generator = Generator(seed)
    deliveries = generator.deliveries(scenario, count, **pins)
    first = next(deliveries)  # surface a bad scenario or pin before any output is written
    _report_seed(seed, generator.seed)
    callbacks = (d.callback for d in itertools.chain([first], deliveries))
    write_callbacks(callbacks, output, output_format)


def main(argv: list[str] | None = None, prog_name: str = "aircore-mock") -> None:
    """Run the command line (the `aircore-mock` console script)."""
    try:
        cli.main(args=argv, prog_name=prog_name)
    except BrokenPipeError:
        # `aircore-mock ... | head`: the reader left; that is not an error worth a traceback.
        sys.stderr.close()
        sys.exit(EXIT_OK)
