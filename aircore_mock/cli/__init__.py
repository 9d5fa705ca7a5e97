"""The `aircore-mock` command: a thin click shell over the library (heavy imports stay lazy).

Each command module parses its options, builds the library's objects, runs them, reports
through `aircore_mock.reporting` and exits 0 (ok), 1 (a check failed) or 2 (usage error or
unreadable input); `options` defines every shared option once, `terminal` what they print.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, MutableMapping
from gettext import gettext as _
from typing import Any

import click

from .. import __version__
from .terminal import EXIT_FAILED, EXIT_OK, InputProblem

# Each command: the module of this package that defines it (as a function of the command's
# name), and the first paragraph of its help, which `aircore-mock --help` lists. A command's
# module is imported when the command is looked up, so a run loads only its own command,
# and `--help` none (tests/test_cli_startup.py checks these summaries against the commands).
_COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("contract", "Run the receiver contract against a live URL and report each clause."),
    "fuzz": (
        "contract",
        "Search for requests the receiver gets wrong, and shrink each to the smallest.",
    ),
    "generate": (
        "generate",
        "Print the callbacks of a scenario, in the order they would be delivered.",
    ),
    "load": (
        "load",
        "Load-test a receiver with Locust: users that play whole generated lifecycles.",
    ),
    "receive": (
        "receive",
        "Run a capture server: validate every callback and check each recording's order.",
    ),
    "replay": (
        "replay",
        "Resend captured requests to --to, one after another, in the order they came.",
    ),
    "scenarios": ("scenarios", "List the scenarios: name, what happens, the callbacks it sends."),
    "schema": (
        "schema",
        "Print a shipped JSON Schema: the union of all callbacks, one callback type, or\n"
        "another shipped schema (start-recording-request).",
    ),
    "send": (
        "send",
        "POST a scenario's callbacks (or a file's) to a receiver and report every delivery.",
    ),
    "serve": ("serve", "Run a fake of Aircore's recording API that sends the callbacks back."),
    "validate": ("validate", "Check callbacks against the shipped schemas."),
}


class _Commands(MutableMapping[str, click.Command]):
    """The group's commands by name: every name is there from the start, and a command's
    module is imported the first time its command is asked for."""

    def __init__(self) -> None:
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        command = self._loaded.get(name)
        if command is None:
            if name not in _COMMANDS:
                raise KeyError(name)
            module = importlib.import_module(f"{__name__}.{_COMMANDS[name][0]}")
            command = self._loaded[name] = getattr(module, name)
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in _COMMANDS  # without importing anything

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({*_COMMANDS, *self._loaded}))

    def __len__(self) -> int:
        return len({*_COMMANDS, *self._loaded})

    def short_help(self, name: str, limit: int) -> str | None:
        """What `--help` lists for a command: the command's own, once it is loaded; before,
        the same text made from its summary (None: a hidden command)."""
        command = self._loaded.get(name)
        if command is None:
            command = click.Command(name, help=_COMMANDS[name][1])
        return None if command.hidden else command.get_short_help_str(limit)


class _Group(click.Group):
    commands: _Commands

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own layout (Group.format_commands), without importing every command for
        # its one line of help.
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, self.commands.short_help(name, limit)) for name in names]
        shown = [(name, text) for name, text in rows if text is not None]
        if shown:
            with formatter.section(_("Commands")):  # click's own words
                formatter.write_dl(shown)

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


@click.group(
    cls=_Group, commands=_Commands(), context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, "-V", "--version", prog_name="aircore-mock")
def cli() -> None:
    """Aircore cloud-recording callbacks on demand: schemas, validation and more.

    Exit codes: 0 ok, 1 a check failed, 2 usage error or unreadable input.
    """


def main(argv: list[str] | None = None, prog_name: str = "aircore-mock") -> None:
    """Run the command line (the `aircore-mock` console script)."""
    try:
        cli.main(args=argv, prog_name=prog_name)
    except BrokenPipeError:
        # `aircore-mock ... | head`: the reader left; that is not an error worth a traceback.
        sys.stderr.close()
        sys.exit(EXIT_OK)


__all__ = ["cli", "main"]
