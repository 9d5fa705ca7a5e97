"""What each command loads at start: only its own command module and what its run needs.

The commands' modules are imported when a command is looked up (aircore_mock/cli/__init__.py),
and `--help` lists them from summaries kept beside the names: these tests keep the summaries
equal to the commands' own help, the listing equal to click's, and the start-up light. No
timing here: benchmarks/bench_startup.py measures it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from aircore_mock.cli import _COMMANDS, _Commands, _Group, cli


def _modules_after(args: list[str]) -> set[str]:
    """The modules a fresh interpreter holds after running `aircore-mock ARGS`."""
    code = (
        "import json, sys\n"
        "from aircore_mock.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


Render = Callable[[click.Group, click.Context, click.HelpFormatter], None]

HEAVY = ("faker", "hypothesis", "aiohttp", "httpx", "starlette", "uvicorn", "jsonschema")


def test_every_command_is_listed_with_its_module_and_name() -> None:
    assert set(cli.commands) == set(_COMMANDS)
    for name in _COMMANDS:
        command = cli.commands[name]
        assert command.name == name
        assert command.callback is not None
        assert command.callback.__module__ == f"aircore_mock.cli.{_COMMANDS[name][0]}"


@pytest.mark.parametrize("limit", [20, 45, 57, 70, 200])
def test_the_summaries_are_the_commands_own(limit: int) -> None:
    fresh = _Commands()
    for name in _COMMANDS:
        before = fresh.short_help(name, limit)  # from the summary, nothing imported
        assert before == cli.commands[name].get_short_help_str(limit), name
        fresh[name] = cli.commands[name]
        assert fresh.short_help(name, limit) == before


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_the_listing_is_clicks_own(width: int) -> None:
    def listing(group: click.Group, render: Render) -> str:
        formatter = click.HelpFormatter(width=width)
        with click.Context(group, terminal_width=width) as ctx:
            render(group, ctx, formatter)
        return formatter.getvalue()

    lazy = _Group("aircore-mock", commands=_Commands())
    loaded = _Group("aircore-mock", commands={name: cli.commands[name] for name in _COMMANDS})
    ours = listing(lazy, _Group.format_commands)
    clicks = listing(loaded, click.Group.format_commands)
    assert ours == clicks
    assert "validate" in ours
    assert lazy.commands._loaded == {}  # the listing imported no command


def test_help_loads_no_command_module() -> None:
    modules = _modules_after(["--help"])
    commands = {m for m in modules if m.startswith("aircore_mock.cli.")}
    assert commands <= {"aircore_mock.cli.terminal"}, commands
    assert not {m.split(".")[0] for m in modules} & set(HEAVY)


def test_validate_loads_neither_the_contract_nor_the_senders(tmp_path: Path) -> None:
    from aircore_mock import Generator

    path = tmp_path / "callback.json"  # valid: explaining an invalid one loads jsonschema
    callback = next(iter(Generator(1).scenario("uploaded", count=1)))
    path.write_text(json.dumps(callback), encoding="utf-8")
    modules = _modules_after(["validate", str(path)])
    assert "aircore_mock.cli.validate" in modules
    unwanted = {
        m
        for m in modules
        if m.split(".")[0] in HEAVY
        or m.startswith(("aircore_mock.contract", "aircore_mock.generation"))
        or m.startswith(("aircore_mock.sending", "aircore_mock.cli.contract"))
    }
    assert not unwanted, sorted(unwanted)


def test_check_help_lists_the_clauses_without_the_generator_or_the_search() -> None:
    modules = _modules_after(["check", "--help"])
    assert "aircore_mock.contract.clauses" in modules
    heavy = {m.split(".")[0] for m in modules} & {*HEAVY, "jsonschema_rs"}
    assert not heavy, sorted(heavy)
    assert not any(m.startswith("aircore_mock.generation") for m in modules)


def test_loading_leaves_an_in_process_callers_collector_alone() -> None:
    import gc

    from aircore_mock.cli import contract, terminal

    assert not terminal.OWNS_PROCESS  # in-process: click's CliRunner, a program's cli.main()
    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    with contract._loading():
        assert gc.isenabled() == enabled
    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, enabled)
