"""`aircore-mock generate`: print a scenario's callbacks."""

from __future__ import annotations

import itertools

import click

from . import options
from .terminal import check_writable, report_seed


@click.command()
@options.scenario("uploaded")
@options.count
@options.seed
@options.pins
@options.output_format(["json", "jsonl"], "json: a pretty-printed array; jsonl: a callback a line.")
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
    from ..files import write_callbacks
    from ..generation import Generator, parse_pins

    pins = parse_pins(assignments)
    generator = Generator(seed)
    deliveries = generator.deliveries(scenario, count, **pins)
    first = next(deliveries)  # surface a bad scenario or pin before any output is written
    check_writable(output, "--output")
    report_seed(seed, generator.seed)
    callbacks = (d.callback for d in itertools.chain([first], deliveries))
    write_callbacks(callbacks, output, output_format)
