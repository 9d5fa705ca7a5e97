"""`aircore-mock scenarios`: the scenarios, or the upload-failure catalogue."""

from __future__ import annotations

import json
import shutil

import click

from . import options
from .terminal import echo_lines


@click.command()
@options.output_format(["text", "json"], "text: a table; json: for machines.")
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
    from ..generation import failure_rows, scenario_rows
    from ..reporting import text

    if failures:
        rows = failure_rows()
        if output_format == "json":
            click.echo(json.dumps(rows, indent=2))
        else:
            echo_lines(text.failure_catalogue(rows))
        return
    listing = scenario_rows()
    if output_format == "json":
        click.echo(json.dumps([row.to_json() for row in listing], indent=2))
    else:
        columns = shutil.get_terminal_size((100, 24)).columns
        echo_lines(text.scenario_table(listing, columns))
