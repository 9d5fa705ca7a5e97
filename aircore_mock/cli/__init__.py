"""The `aircore-mock` command: a thin click shell over the library (heavy imports stay lazy).

Each command module parses its options, builds the library's objects, runs them, reports
through `aircore_mock.reporting` and exits 0 (ok), 1 (a check failed) or 2 (usage error or
unreadable input); `options` defines every shared option once, `terminal` what they print.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .. import __version__
from . import contract, generate, load, receive, replay, scenarios, schema, send, serve, validate
from .terminal import EXIT_FAILED, EXIT_OK, InputProblem


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        from ..errors import AircoreMockError, InputError, UsageError

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
        except KeyboardInterrupt:
            # A Ctrl-C before a command's own handling is in place (while it starts up):
            # one line and the documented exit code, not click's bare "Aborted!": 1, or 0
            # for the servers, which Ctrl-C is the way to stop.
            click.echo("aircore-mock: interrupted before the run began: nothing done", err=True)
            sys.exit(EXIT_OK if ctx.invoked_subcommand in ("receive", "serve") else EXIT_FAILED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="aircore-mock")
def cli() -> None:
    """Aircore cloud-recording callbacks on demand: schemas, validation and more.

    Exit codes: 0 ok, 1 a check failed, 2 usage error or unreadable input.
    """


for _command in (
    validate.validate,
    schema.schema,
    scenarios.scenarios,
    generate.generate,
    send.send,
    serve.serve,
    receive.receive,
    replay.replay,
    contract.check,
    load.load,
    contract.fuzz,
):
    cli.add_command(_command)


def main(argv: list[str] | None = None, prog_name: str = "aircore-mock") -> None:
    """Run the command line (the `aircore-mock` console script)."""
    try:
        cli.main(args=argv, prog_name=prog_name)
    except BrokenPipeError:
        # `aircore-mock ... | head`: the reader left; that is not an error worth a traceback.
        sys.stderr.close()
        sys.exit(EXIT_OK)


__all__ = ["cli", "main"]
