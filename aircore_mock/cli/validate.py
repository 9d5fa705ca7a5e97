"""`aircore-mock validate`: check callbacks against the shipped schemas."""

from __future__ import annotations

import sys

import click

from . import options
from .terminal import EXIT_USAGE, echo_lines, exit_with, fail_usage


@click.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@options.strict(
    "Reject what Aircore does not document today: undocumented fields, stop reasons, "
    "states and event types (by default they pass, each named in a note)."
)
@options.output_format(
    ["text", "json"], "text: a line per invalid payload; json: a machine-readable report."
)
@click.option(
    "--input-format",
    type=click.Choice(["auto", "json", "jsonl"]),
    default="auto",
    show_default=True,
    help="How to read input; auto goes by extension (.jsonl/.ndjson a callback a line).",
)
@options.quiet("Print nothing; only the exit code tells.")
@options.capture_filters
def validate(
    paths: tuple[str, ...],
    strict: bool,
    output_format: str,
    input_format: str,
    quiet: bool,
    events: tuple[str, ...],
    recordings: tuple[str, ...],
    seq_range: str | None,
    only_invalid: bool,
) -> None:
    """Check callbacks against the shipped schemas.

    PATH is a .json file (one callback or an array of them), a .jsonl/.ndjson file (one
    callback a line) or - for stdin (the default when stdin is piped). Each invalid payload
    gets one line: where it is, the JSON path and what is wrong. Without --strict, a valid
    payload that carries undocumented fields or values gets a note line naming them.

    PATH may also be a capture log (`receive --log`, `serve --log`): each captured body is
    judged as it arrived (a body that was not JSON is unreadable). --event, --recording,
    --seq and --invalid choose what is judged.

    Exit codes: 0 all valid, 1 some invalid, 2 unreadable or empty input.
    """
    from ..captured import read_captured_items
    from ..reporting import SpooledJsonReport, text
    from ..validation import validate_inputs

    if quiet and output_format == "json":
        fail_usage("--quiet prints nothing, so --format json has nothing to format: choose one")
    if not paths:
        if sys.stdin.isatty():
            fail_usage("give one or more PATHs to check, or - to read stdin")
        paths = ("-",)
    select = options.build_selection(events, recordings, seq_range, only_invalid, strict)
    items = read_captured_items(paths, input_format, select=select)  # type: ignore[arg-type]
    report = validate_inputs(items, strict=strict, details=not quiet)
    if quiet:
        report.run()
    elif output_format == "json":
        # Memory stays flat however big the input: the lists wait in temporary files.
        lists = {"invalid": "invalid_payloads", "unreadable": "unreadable_inputs"}
        spools = SpooledJsonReport([*lists.values(), "noted_payloads"])
        for entry in report:
            spools.add(lists.get(entry.kind, "noted_payloads"), entry.to_json())
        spools.write(sys.stdout, report.counts())
    else:
        for entry in report:
            click.echo(text.input_entry(entry), err=entry.kind == "unreadable")
        echo_lines([text.validation_summary(report)])
    if report.empty:
        # e.g. `aircore-mock generate -s typo | aircore-mock validate -`: nothing is not "valid"
        exit_with(EXIT_USAGE, "no callbacks in the input")
    sys.exit(report.exit_code)
