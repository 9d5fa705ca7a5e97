"""The `aircore-mock` command: a thin click shell over the library (heavy imports stay lazy)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import sys
import textwrap
from typing import Any, NoReturn

import click

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class InputProblem(click.ClickException):
    """Unreadable input: reported on one line, exit code 2."""

    exit_code = EXIT_USAGE


def _fail_usage(message: str) -> NoReturn:
    raise click.UsageError(message)


_SET_HELP = (
    "Pin a value, repeatable: a JSON path (recording.url, recording.startTime, "
    "recording.elapsedTime, recording.reason, recording.location.region, "
    "recording.location.address) or a name (bucket, filename, failure, server_region); "
    "the rest of the lifecycle follows it."
)

_set_option = click.option(
    "--set", "assignments", multiple=True, metavar="PATH=VALUE", help=_SET_HELP
)


def _format_option(choices: list[str], help: str) -> Any:
    """--format, the first choice being the default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help=help,
    )


_count_option = click.option(
    "-n",
    "--count",
    type=click.IntRange(min=1),
    default=None,
    help="Recordings to generate [default: 1, or 10 for a burst].",
)
_header_option = click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="Extra request header, repeatable (e.g. 'Authorization: Bearer x').",
)
_insecure_option = click.option(
    "-k", "--insecure", is_flag=True, help="Do not verify TLS certificates."
)


def _limit_options(f: Any) -> Any:
    """--header-timeout and --max-connections: what a server accepts from its clients."""
    f = click.option(
        "--max-connections",
        type=click.IntRange(min=1),
        default=None,
        help="Open connections served at once; more get 503 and are closed "
        "[default: 1000, or the open-file limit minus 64 if lower].",
    )(f)
    return click.option(
        "--header-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=10.0,
        show_default=True,
        help="Seconds a client has to send a request's headers (then 408 and closed); its "
        "body then has 30 s.",
    )(f)


def _limits(header_timeout: float, max_connections: int | None) -> Any:
    from .server import Limits

    return Limits(header_timeout=header_timeout, max_connections=max_connections)


class _Text(str):
    """A line that is already rendered (the writer prints it as it is)."""


def _stdout_writer(render: Any = None, on_broken: Any = None) -> Any:
    """Lines to stdout, written by a thread of their own: a server's loop never waits on a
    terminal or a pipe (what cannot be written in time is dropped and counted). Items are
    `_Text`, callables that return the line, or what `render` turns into one."""
    from .server import LineWriter

    def line(item: Any) -> bytes:
        if isinstance(item, _Text):
            text = str(item)
        elif render is not None:
            text = render(item)
        else:
            text = item()
        return text.encode("utf-8", "replace") + b"\n"

    sys.stdout.flush()
    return LineWriter(sys.stdout, line, name="stdout", on_broken=on_broken)


def _refusals_line(refused: dict[str, int]) -> str | None:
    named = {
        "connections_over_limit": "over the connection limit",
        "header_timeouts": "too slow sending headers",
        "body_timeouts": "too slow sending a body",
        "oversized_headers": "headers too large",
    }
    parts = [f"{n} {named[k]}" for k, n in refused.items() if n]
    return f"refused: {', '.join(parts)}" if parts else None


def _listen_options(port: int) -> Any:
    """--host, --port and --ready-file, for the commands that run a server."""

    def add(f: Any) -> Any:
        f = click.option(
            "--ready-file",
            type=click.Path(dir_okay=False),
            default=None,
            help="Write host:port here once listening, so scripts can wait for it.",
        )(f)
        f = click.option(
            "-p",
            "--port",
            type=click.IntRange(0, 65535),
            default=port,
            show_default=True,
            help="Port; 0 picks a free one (see --ready-file).",
        )(f)
        return click.option(
            "--host",
            default="127.0.0.1",
            show_default=True,
            help="Interface to bind (loopback by default; 0.0.0.0 exposes it).",
        )(f)

    return add


def _seed_option(f: Any) -> Any:
    return click.option(
        "--seed",
        type=click.IntRange(min=0),
        default=None,
        help="Seed for every random choice; the same seed gives the same bytes. "
        "Without it a seed is chosen and printed on stderr.",
    )(f)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        from .errors import AircoreMockError, InputError, UsageError

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
@click.option(
    "--strict",
    is_flag=True,
    help="Reject what Aircore does not document today: undocumented fields, stop reasons, "
    "states and event types (by default they pass, each named in a note).",
)
@_format_option(
    ["text", "json"], "text: a line per invalid payload; json: a machine-readable report."
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
    gets one line: where it is, the JSON path and what is wrong. Without --strict, a valid
    payload that carries undocumented fields or values gets a note line naming them.

    Exit codes: 0 all valid, 1 some invalid, 2 unreadable or empty input.
    """
    from .files import read_callbacks
    from .validation import checker, explain, undocumented

    if quiet and output_format == "json":
        _fail_usage("--quiet prints nothing, so --format json has nothing to format: choose one")
    if not paths:
        if sys.stdin.isatty():
            _fail_usage("give one or more PATHs to check, or - to read stdin")
        paths = ("-",)
    # Every payload comes from a JSON parser: no need to walk it to prove it is JSON.
    check = checker(strict=strict, assume_json=True)
    # What strict mode would reject in a payload the default accepts is worth a note: a typo
    # in a hand-written fixture ("reason": "clientStoped") must not pass unseen.
    documented = checker(strict=True, assume_json=True)
    valid = invalid = unreadable = noted = 0
    # Memory stays flat however big the input: text goes out as it comes; the JSON report's
    # lists wait in temporary files (on disk past 1 MiB), not in lists.
    spools = _Spools() if output_format == "json" and not quiet else None
    for item in read_callbacks(paths, input_format):  # type: ignore[arg-type]
        if item.error is not None:
            unreadable += 1
            if spools is not None:
                spools.add(
                    "unreadable_inputs",
                    {
                        "where": item.where,
                        "source": item.source,
                        "line": item.line,
                        "error": item.error,
                    },
                )
            elif not quiet:
                click.echo(f"{item.where}: {item.error}", err=True)
            continue
        if check(item.payload):
            valid += 1
            if not strict and not documented(item.payload):
                noted += 1
                if quiet:
                    continue
                notes = undocumented(item.payload)
                if spools is not None:
                    spools.add(
                        "noted_payloads",
                        {
                            "where": item.where,
                            "source": item.source,
                            "line": item.line,
                            "index": item.index,
                            "notes": [vars(n) for n in notes],
                        },
                    )
                else:
                    click.echo(f"{item.where}: note: {'; '.join(str(n) for n in notes)}")
            continue
        invalid += 1
        if quiet:
            continue
        problems = explain(item.payload, strict=strict)
        if spools is not None:
            spools.add(
                "invalid_payloads",
                {
                    "where": item.where,
                    "source": item.source,
                    "line": item.line,
                    "index": item.index,
                    "problems": [vars(p) for p in problems],
                },
            )
        else:
            from .errors import ValidationError

            click.echo(f"{item.where}: {ValidationError(problems)}")
    if spools is not None:
        counts = {
            "valid": valid,
            "invalid": invalid,
            "unreadable": unreadable,
            "noted": noted,
            "strict": strict,
        }
        spools.write_report(counts, ["invalid_payloads", "unreadable_inputs", "noted_payloads"])
    elif not quiet:
        summary = f"{valid} valid, {invalid} invalid"
        if unreadable:
            summary += f", {unreadable} unreadable"
        if noted:
            summary += f"; {noted} valid with undocumented fields or values (notes)"
        click.echo(summary)
    if not (valid or invalid or unreadable):
        # e.g. `aircore-mock generate -s typo | aircore-mock validate -`: nothing is not "valid"
        click.echo("error: no callbacks in the input", err=True)
        sys.exit(EXIT_USAGE)
    if unreadable:
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FAILED if invalid else EXIT_OK)


class _Spools:
    """Lists of JSON entries kept in temporary files (in memory up to 1 MiB each), written
    out as one JSON report at the end: a report on millions of inputs in flat memory."""

    def __init__(self) -> None:
        self._files: dict[str, Any] = {}

    def add(self, name: str, entry: dict[str, Any]) -> None:
        import tempfile

        spool = self._files.get(name)
        if spool is None:
            spool = self._files[name] = tempfile.SpooledTemporaryFile(1024 * 1024)  # noqa: SIM115 - closed in write_report
        spool.write(json.dumps(entry).encode() + b"\n")

    def write_report(self, head: dict[str, Any], lists: list[str]) -> None:
        out = sys.stdout
        out.write(
            "{\n" + "".join(f"  {json.dumps(k)}: {json.dumps(v)},\n" for k, v in head.items())
        )
        for number, name in enumerate(lists):
            out.write(f"  {json.dumps(name)}: [")
            spool = self._files.get(name)
            if spool is not None:
                spool.seek(0)
                for index, line in enumerate(spool):
                    out.write(("," if index else "") + "\n    " + line.decode().rstrip("\n"))
                spool.close()
                out.write("\n  ")
            out.write("]" + (",\n" if number < len(lists) - 1 else "\n"))
        out.write("}\n")
        out.flush()


@cli.command()
@click.argument("name", required=False, metavar="[CALLBACK_TYPE]")
@click.option("--list", "list_", is_flag=True, help="List the callback types, one line each.")
@click.option("--path", "show_path", is_flag=True, help="Print the folder holding the schemas.")
@click.option(
    "--strict",
    is_flag=True,
    help="The strict variant: exactly what Aircore documents today (no undocumented fields, "
    "stop reasons, states or event types).",
)
@click.option(
    "--openapi",
    is_flag=True,
    help="Print an OpenAPI 3.1 document instead: each callback type a webhook.",
)
def schema(name: str | None, list_: bool, show_path: bool, strict: bool, openapi: bool) -> None:
    """Print a shipped JSON Schema: the union of all callbacks, or one CALLBACK_TYPE.

    The schemas are plain draft 2020-12 files; --path shows where they live so that other
    tools (check-jsonschema, ajv, ...) can use them.
    """
    from . import schemas as _schemas

    chosen = [flag for flag, on in (("--list", list_), ("--path", show_path)) if on]
    if openapi:
        chosen.append("--openapi")
    if len(chosen) > 1 or (chosen and name):
        what = " and ".join(chosen + ([name] if name else []))
        _fail_usage(f"{what} cannot be combined")
    if list_ and strict:
        _fail_usage(
            "--list and --strict cannot be combined: the callback types are the same in both"
        )
    if openapi:
        from .openapi import openapi_document

        click.echo(json.dumps(openapi_document(strict=strict), indent=2))
        return
    if show_path:
        click.echo(str(_schemas.schema_dir(strict)))
        return
    if list_:
        types = _schemas.callback_types()
        width = max(len(t) for t in types)
        for event in types:
            click.echo(f"{event:<{width}}  {_schemas.describe(event)}")
        return
    click.echo(json.dumps(_schemas.get_schema(name or _schemas.UNION, strict=strict), indent=2))


def _scenario_help() -> str:
    return (
        "Scenario: an outcome (uploaded, upload-failed, bad-region, client-stopped, "
        "in-progress, ...), a fault (duplicate, out-of-order, reversed, burst) or both joined "
        "with + (upload-failed+out-of-order). `aircore-mock scenarios` lists them."
    )


def _report_seed(seed: int | None, chosen: int) -> None:
    if seed is None:
        click.echo(f"aircore-mock: seed {chosen} (pass --seed {chosen} to reproduce)", err=True)


@cli.command()
@_format_option(["text", "json"], "text: a table; json: for machines.")
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
    from .generation import FAULTS, UPLOAD_FAILURES, catalogue, sample_mix

    if failures:
        rows = [
            {"family": f.family, "code": f.code, "cause": f.cause, "message": f.template}
            for f in UPLOAD_FAILURES
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
    for scenario in catalogue():
        kind = "fault" if scenario.name in FAULTS else "outcome"
        mix = sample_mix(scenario)
        row: dict[str, Any] = {
            "name": scenario.name,
            "kind": kind,
            "description": scenario.description,
            "callbacks": mix[0][1],
        }
        if len(mix) > 1:
            row["mix"] = [{"share": share, "callbacks": events} for share, events in mix]
        listing.append(row)
    if output_format == "json":
        click.echo(json.dumps(listing, indent=2))
        return
    width = max(len(row["name"]) for row in listing)
    columns = shutil.get_terminal_size((100, 24)).columns
    for kind, title in (("outcome", "Outcomes"), ("fault", "Faults (combine: OUTCOME+FAULT)")):
        click.echo(f"{title}:")
        for row in listing:
            if row["kind"] == kind:
                events = " ".join(e.removeprefix("recording-") for e in row["callbacks"])
                lines = textwrap.wrap(row["description"], max(40, columns - width - 4))
                for index, line in enumerate(lines):
                    click.echo(f"  {row['name'] if index == 0 else '':<{width}}  {line}")
                for share, sample in [(m["share"], m["callbacks"]) for m in row.get("mix", [])]:
                    shown = " ".join(e.removeprefix("recording-") for e in sample)
                    click.echo(f"  {'':<{width}}  -> {shown}  ({share:.0%} of recordings)")
                if "mix" not in row:
                    click.echo(f"  {'':<{width}}  -> {events}")


@cli.command()
@click.option("-s", "--scenario", default="uploaded", show_default=True, help=_scenario_help())
@_count_option
@_seed_option
@_set_option
@_format_option(["json", "jsonl"], "json: a pretty-printed array; jsonl: a callback a line.")
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
    from .files import write_callbacks
    from .generation import Generator, parse_pins

    pins = parse_pins(assignments)
    generator = Generator(seed)
    deliveries = generator.deliveries(scenario, count, **pins)
    first = next(deliveries)  # surface a bad scenario or pin before any output is written
    _report_seed(seed, generator.seed)
    callbacks = (d.callback for d in itertools.chain([first], deliveries))
    write_callbacks(callbacks, output, output_format)


def _style() -> Any:
    """click.style, or plain text under NO_COLOR (no-color.org); click itself strips colour
    when stdout is not a terminal."""
    if os.environ.get("NO_COLOR"):
        from .reporting.text import plain

        return plain
    return click.style


def _writer_style() -> Any:
    """The style for lines a `LineWriter` prints: it writes past click, which would strip
    colour for a pipe or a file, so choose plain text for those here."""
    if not sys.stdout.isatty():
        from .reporting.text import plain

        return plain
    return _style()


def _from_file(path: str) -> list[Any]:
    from .files import read_callbacks

    callbacks = []
    for item in read_callbacks([path]):
        if item.error is not None:
            raise InputProblem(f"{item.where}: {item.error}")
        callbacks.append(item.payload)
    if not callbacks:
        raise InputProblem(f"{path}: no callbacks in it")
    return callbacks


_LINES_BEFORE_PROGRESS = 20


@cli.command()
@click.option("-s", "--scenario", default=None, help=_scenario_help() + " [default: uploaded]")
@click.option(
    "-t",
    "--target",
    envvar="AIRCORE_MOCK_TARGET",
    show_envvar=True,
    default=None,
    help="URL to POST to. Without it, a built-in receiver on 127.0.0.1 takes the callbacks "
    "and shows what arrived.",
)
@_count_option
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Recordings sent at the same time (each recording's callbacks stay in order).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="At most this many deliveries per second.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Replay in real time scaled by this factor (60: a 10-minute recording's "
    "callbacks over 10 s). Default: no waiting.",
)
@_seed_option
@_set_option
@_header_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Retries on connection errors, 5xx and 429, with exponential backoff "
    "(Retry-After honoured).",
)
@click.option(
    "--max-failures",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Give up after this many deliveries in a row got no answer at all (refused, timed "
    "out, cut off); the rest are reported as not sent. 0: never give up.",
)
@_insecure_option
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@_format_option(["text", "json"], "text: a line per delivery and a summary; json: a report.")
@click.option(
    "--from",
    "from_file",
    type=str,
    default=None,
    metavar="FILE",
    help="Send the callbacks in FILE (.json, .jsonl, - for stdin) instead of a scenario.",
)
def send(
    scenario: str | None,
    target: str | None,
    count: int | None,
    concurrency: int,
    rate: float | None,
    speed: float | None,
    seed: int | None,
    assignments: tuple[str, ...],
    headers: tuple[str, ...],
    timeout: float,
    retries: int,
    max_failures: int,
    insecure: bool,
    dry_run: bool,
    output_format: str,
    from_file: str | None,
) -> None:
    """POST a scenario's callbacks (or a file's) to a receiver and report every delivery.

    \b
      aircore-mock send --scenario upload-failed
      aircore-mock send -s burst -n 200 -c 16 --target http://localhost:8000/aircore
      aircore-mock send --from captured.jsonl --target $URL --header 'Authorization: Bearer x'

    Exit codes: 0 every delivery got a 2xx, 1 some did not (or the send was interrupted, or
    gave up, or the built-in receiver found an invalid callback), 2 usage or input error. An
    unreachable target is 1, not 2: each delivery's result says what happened to it (`check`,
    which cannot judge anything then, exits 2).
    """
    from .generation import Generator, parse_pins
    from .reporting import json as json_report
    from .reporting import text
    from .sending import Sender, check_url, parse_headers

    if from_file is not None and (
        scenario or count or assignments or seed is not None or speed is not None
    ):
        _fail_usage(
            "--from sends a file as it is: it takes no --scenario, --count, --set, --seed "
            "or --speed (a file has no delivery times; --rate paces it)"
        )
    extra_headers = parse_headers(headers)
    if target is not None:
        check_url(target)
    if from_file is not None:
        deliveries: Any = _from_file(from_file)
    else:
        generator = Generator(seed)
        deliveries = generator.deliveries(scenario or "uploaded", count, **parse_pins(assignments))
        first = next(deliveries)  # a bad scenario or pin fails before anything is sent
        deliveries = itertools.chain([first], deliveries)
        _report_seed(seed, generator.seed)
    if dry_run:
        _dry_run(deliveries, target or "(built-in receiver)", extra_headers, output_format)
        return
    receiver = None
    if target is None:
        from .capture import Receiver

        receiver = Receiver().start()
        target = receiver.url
        if output_format == "text":
            click.echo(f"no --target: sending to a built-in receiver at {target}", err=True)
    sender = Sender(
        target,
        concurrency=concurrency,
        rate=rate,
        speed=speed,
        headers=extra_headers,
        timeout=timeout,
        retries=retries,
        max_failures=max_failures or None,
        verify=not insecure,
        # SIGTERM (a CI timeout, `kill`) stops like Ctrl-C: the summary still prints.
        stop_signals=(signal.SIGINT, signal.SIGTERM),
    )
    style = _style()
    shown = 0
    progress = sys.stdout.isatty() and output_format == "text"

    def show(result: Any) -> None:
        nonlocal shown
        if output_format != "text":
            return
        if result.outcome == "not-sent":
            return  # counted in the summary; a line each would bury what did happen
        shown += 1
        if shown <= _LINES_BEFORE_PROGRESS or not progress or not result.delivered:
            if progress and shown > _LINES_BEFORE_PROGRESS:
                click.echo("\r\033[K", nl=False)
            click.echo(text.delivery_line(result, style))
        if progress and shown >= _LINES_BEFORE_PROGRESS:
            click.echo(f"\r\033[K  ... {shown} sent", nl=False)

    try:
        report = sender.send(deliveries, keep_results=output_format == "json", on_result=show)
    finally:
        sender.close()
        if receiver is not None:
            receiver.stop()
    if progress and shown >= _LINES_BEFORE_PROGRESS:
        click.echo("\r\033[K", nl=False)
    if output_format == "json":
        received = None if receiver is None else [c.to_json() for c in receiver.captures]
        data = json_report.send(
            report,
            target,
            receiver=None if receiver is None else receiver.summary(),
            received=received,
        )
        click.echo(json.dumps(data, indent=2))
    else:
        for line in text.send_summary(report):
            click.echo(line)
        if receiver is not None:
            click.echo(f"the built-in receiver got {len(receiver.captures)} request(s):")
            for capture in receiver.captures:
                click.echo("  " + text.capture_line(capture, style))
            flags = text.capture_flags(receiver.summary())
            if flags:
                click.echo("  " + flags)
    if not report.ok:
        click.echo(f"error: {text.send_failure(report)}", err=True)
        sys.exit(EXIT_FAILED)
    if receiver is not None and receiver.summary().invalid:
        click.echo("error: the built-in receiver found invalid callbacks (see above)", err=True)
        sys.exit(EXIT_FAILED)


def _dry_run(deliveries: Any, target: str, headers: dict[str, str], output_format: str) -> None:
    # Streamed, like `generate`: a dry run of a million recordings must not fill memory.
    import orjson

    out = sys.stdout.buffer
    if output_format == "json":
        head = json.dumps({"target": target, "headers": headers})[:-1]
        out.write(head.encode() + b', "deliveries": [')
    for index, delivery in enumerate(deliveries):
        callback = getattr(delivery, "callback", delivery)
        quirk = getattr(delivery, "quirk", None)
        if output_format == "json":
            row = {
                "index": index,
                "offset_ms": getattr(delivery, "offset_ms", None),
                "quirk": quirk,
                "callback": callback,
            }
            out.write((b",\n  " if index else b"\n  ") + orjson.dumps(row))
        else:
            note = f" ({quirk})" if quirk else ""
            out.write(f"POST {target}{note} ".encode() + orjson.dumps(callback) + b"\n")
    if output_format == "json":
        out.write(b"\n]}\n")
    out.flush()


@cli.command()
@_listen_options(port=8080)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="KEY",
    help="A bearer key the API accepts, repeatable. Without one, any non-empty key is.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Run time at this many times real time (60: an upload due 60 s after the stop "
    "comes 1 s after it). Default: real time.",
)
@click.option(
    "--instant", is_flag=True, help="Run each step (auto-stop, upload) as soon as it is due."
)
@click.option(
    "--auto-stop",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Stop each recording this long after its start, as when all publishers leave "
    "(reason allPublishersLeft). Default: recordings run until DELETEd.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 20),
    default=0,
    show_default=True,
    help="Retries of a callback that gets no 2xx. Aircore's docs say nothing about retries, "
    "so none by default (an assumption).",
)
@_seed_option
@click.option(
    "--log",
    "log_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Append every API request and callback delivery to this JSONL file (secrets redacted).",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Print only the ready line and the summary on exit."
)
@_limit_options
def serve(
    host: str,
    port: int,
    ready_file: str | None,
    api_keys: tuple[str, ...],
    speed: float | None,
    instant: bool,
    auto_stop: float | None,
    retries: int,
    seed: int | None,
    log_file: str | None,
    quiet: bool,
    header_timeout: float,
    max_connections: int | None,
) -> None:
    """Run a fake of Aircore's recording API that sends the callbacks back.

    `POST /recording` starts a recording (bearer key, start-recording body checked against
    its schema); `DELETE <the url it answered>` stops it. Callbacks go to the request's
    callback_url: recording-started, recording-stopped, then recording-uploaded or
    recording-upload-failed with the error the request's own bucket and region would cause.
    `/_aircore-mock/` shows recordings, callbacks and the journal, and injects faults.

    \b
      aircore-mock serve --port 8080 --auto-stop 30 --speed 10
      curl -s localhost:8080/_aircore-mock/recordings
    """
    from .fake import CONTROL, FakeAircore
    from .files import write_atomically
    from .seeds import new_seed

    if speed is not None and instant:
        _fail_usage("--speed and --instant are exclusive: choose one way for time to pass")
    if any(not key.strip() for key in api_keys):
        _fail_usage("--api-key must not be empty")
    if ready_file is not None:
        folder = os.path.dirname(os.path.abspath(ready_file))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise InputProblem(f"cannot write --ready-file {ready_file}: no writable folder")
    chosen_seed = new_seed() if seed is None else seed
    _report_seed(seed, chosen_seed)
    style = _writer_style()

    # The hooks run on the server's loop: they queue a line, a writer thread prints it.
    out = _stdout_writer(on_broken=lambda: fake.shutdown())

    def request_line(entry: Any) -> str:
        ok = entry.status < 400
        status = style(str(entry.status), fg="green" if ok else "red")
        what = entry.recording_id or entry.error or ""
        return f"{entry.method} {entry.path[:60]} {status}  {what}"

    def callback_line(sent: Any) -> str:
        result = sent.result
        answer = result.describe() if result.error or not result.delivered else result.status
        color = "green" if result.delivered else "red"
        line = f"  -> {sent.event} {sent.recording_id} {sent.callback_url}"
        return f"{line}: {style(str(answer), fg=color)} ({result.latency_ms:.1f} ms)"

    def on_request(entry: Any) -> None:
        out.put(lambda: request_line(entry))

    def on_callback(sent: Any) -> None:
        out.put(lambda: callback_line(sent))

    fake = FakeAircore(
        clock="instant" if instant else "realtime",
        speed=speed or 1.0,
        api_keys=api_keys,
        auto_stop=auto_stop,
        seed=chosen_seed,
        retries=retries,
        host=host,
        port=port,
        log=log_file,
        on_request=None if quiet else on_request,
        on_callback=None if quiet else on_callback,
        limits=_limits(header_timeout, max_connections),
    )

    def ready(fake: Any) -> None:
        if ready_file is not None:
            write_atomically(ready_file, f"{fake.host}:{fake.port}\n".encode())
        keys = (
            f"{len(api_keys)} API key(s) from --api-key"
            if api_keys
            else "any non-empty bearer key is accepted (no --api-key given)"
        )
        retry = f"{retries} retries" if retries else "no retries (Aircore documents none)"
        click.echo(
            f"ready: Aircore recording API on {fake.url}/recording (Ctrl-C to stop); "
            f"{keys}; clock: {fake.clock.describe()}; callbacks: {retry}; "
            f"control: {fake.url}{CONTROL}/; {fake.limits.describe()}",
            err=True,
        )

    try:
        fake.serve(on_ready=ready)
    finally:
        out.close(timeout=2)
    from .reporting import text

    summary = fake.summary()
    click.echo(text.fake_summary(summary), err=True)
    refused = _refusals_line(summary.refused.to_json() if summary.refused else {})
    if refused:
        click.echo(refused, err=True)
    if out.dropped and not out.broken:
        click.echo(
            f"aircore-mock: {out.dropped} output line(s) dropped: stdout did not keep up",
            err=True,
        )


@cli.command()
@_listen_options(port=8000)
@click.option("--path", default="/", show_default=True, help="Path callbacks are POSTed to.")
@click.option(
    "--strict",
    is_flag=True,
    help="Count undocumented fields, values and event types as invalid (by default they are "
    "valid and named on each line).",
)
@click.option(
    "--status",
    type=click.IntRange(200, 599),
    default=204,
    show_default=True,
    help="Status to answer callbacks with (e.g. 500 to test a sender's retries).",
)
@click.option(
    "--max-body",
    type=click.IntRange(min=1),
    default=1024 * 1024,
    show_default=True,
    help="Largest body accepted, in bytes; bigger ones get 413.",
)
@click.option(
    "--log",
    "log_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Append every request (headers, body, verdict) to this JSONL file.",
)
@_limit_options
@_format_option(["text", "json"], "text: a line per request; json: a JSON object per line.")
def receive(
    host: str,
    port: int,
    path: str,
    strict: bool,
    status: int,
    max_body: int,
    log_file: str | None,
    ready_file: str | None,
    header_timeout: float,
    max_connections: int | None,
    output_format: str,
) -> None:
    """Run a capture server: validate every callback and check each recording's order.

    Prints a line per request and, on Ctrl-C or SIGTERM, a summary. Callbacks that break the
    schema make the exit code 1. Output never holds the server up: if stdout (or --log)
    cannot keep up, lines are dropped and the summary says how many.

    Limits for clients that misbehave: --header-timeout, --max-connections, --max-body; a
    request head over 64 KiB gets 431 and a body that takes over 30 s is cut off.

    \b
      aircore-mock receive --port 8000 --log received.jsonl
      aircore-mock send --target http://127.0.0.1:8000/ --scenario burst   # elsewhere
    """
    from .capture import Receiver
    from .files import write_atomically
    from .reporting import json as json_report
    from .reporting import text

    style = _writer_style()

    def ready(receiver: Any) -> None:
        if ready_file is not None:
            write_atomically(ready_file, f"{receiver.host}:{receiver.port}\n".encode())
        click.echo(
            f"ready: listening on {receiver.url} (Ctrl-C to stop); {receiver.limits.describe()}",
            err=True,
        )

    if ready_file is not None:
        folder = os.path.dirname(os.path.abspath(ready_file))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise InputProblem(f"cannot write --ready-file {ready_file}: no writable folder")

    def render(capture: Any) -> str:
        if output_format == "json":
            return json.dumps(json_report.capture(capture))
        return text.capture_line(capture, style)

    # The server's loop only queues each capture (out.put); the writer's thread renders and
    # prints it. `aircore-mock receive | head`: once the reader leaves, stop rather than keep
    # answering callbacks nobody will see.
    out = _stdout_writer(render, on_broken=lambda: receiver.shutdown())

    receiver = Receiver(
        host,
        port,
        path,
        strict=strict,
        status=status,
        max_body=max_body,
        log=log_file,
        on_capture=out.put,
        keep=False,
        limits=_limits(header_timeout, max_connections),
    )
    receiver.serve(on_ready=ready)
    summary = receiver.summary()
    if output_format == "json":
        out.put(_Text(json.dumps(json_report.capture_summary(summary))))
    out.close(timeout=2)
    if output_format != "json":
        for line in text.capture_summary(summary):
            click.echo(line, err=True)
    refused = _refusals_line(summary.refused.to_json() if summary.refused else {})
    if refused and output_format != "json":
        click.echo(refused, err=True)
    if out.dropped and not out.broken:
        click.echo(
            f"aircore-mock: {out.dropped} output line(s) dropped: stdout did not keep up",
            err=True,
        )
    if summary.log_lines_dropped:
        click.echo(
            f"aircore-mock: {summary.log_lines_dropped} log line(s) dropped: {log_file} "
            "did not keep up",
            err=True,
        )
    sys.exit(EXIT_FAILED if summary.invalid else EXIT_OK)


class _CheckCommand(click.Command):
    """`check`, whose help lists the clauses from the contract itself."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from .contract import CLAUSES

        with formatter.section("Clauses (in the order they run)"):
            formatter.write_dl([(c.name, c.title) for c in CLAUSES.values()])
        super().format_epilog(ctx, formatter)


@cli.command(cls=_CheckCommand)
@click.option(
    "-t",
    "--target",
    envvar="AIRCORE_MOCK_TARGET",
    show_envvar=True,
    required=True,
    help="URL of the receiver under test (any language: it is plain HTTP).",
)
@click.option(
    "--only",
    multiple=True,
    metavar="CLAUSE",
    help="Run only this clause (repeatable); the clauses are listed below.",
)
@click.option("--skip", multiple=True, metavar="CLAUSE", help="Skip this clause (repeatable).")
@click.option(
    "--budget",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds the receiver may take to answer one callback.",
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Requests in flight at once (each recording's callbacks still in order). A receiver "
    "that serves fewer at once queues them, and a queued answer still counts against --budget: "
    "lower it to what the receiver serves in parallel; 1 runs the clauses one at a time.",
)
@click.option(
    "--burst",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Requests concurrent-deliveries has in flight at once.",
)
@click.option(
    "--max-time",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Cap the whole run: what is not checked by then is reported as not checked.",
)
@_seed_option
@_header_option
@_insecure_option
@_format_option(["text", "json"], "text: a table and failure details; json: a report.")
def check(
    target: str,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    budget: float,
    concurrency: int,
    burst: int,
    max_time: float | None,
    seed: int | None,
    headers: tuple[str, ...],
    insecure: bool,
    output_format: str,
) -> None:
    """Run the receiver contract against a live URL and report each clause.

    \b
      aircore-mock check --target http://localhost:8000/aircore
      aircore-mock check --target $URL --only idempotent-duplicates --budget 2

    Exit codes: 0 every clause passed (warnings allowed), 1 a clause failed (or the run was
    interrupted), 2 usage error or the receiver cannot be reached: no clause can be judged
    then (`send` exits 1 instead, with each delivery's result). Interrupted (Ctrl-C, SIGTERM)
    or out of --max-time, it still prints what it checked.
    """
    from .contract import ContractSession
    from .reporting import json as json_report
    from .reporting import text
    from .seeds import new_seed
    from .sending import check_url, parse_headers

    check_url(target)
    chosen_seed = new_seed() if seed is None else seed
    _report_seed(seed, chosen_seed)
    progress = _Progress() if sys.stderr.isatty() else None
    session = ContractSession(
        target,
        budget=budget,
        seed=chosen_seed,
        headers=parse_headers(headers),
        verify=not insecure,
        # SIGTERM (a CI timeout, `kill`) stops like Ctrl-C: the table still prints.
        stop_signals=(signal.SIGINT, signal.SIGTERM),
        concurrency=concurrency,
        burst=burst,
        max_time=max_time,
        progress=progress,
    )
    session.select(only, skip)  # usage errors before anything is sent
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        _preflight(session)
        report = session.run_all(only=only, skip=skip)
    finally:
        signal.signal(signal.SIGTERM, previous)
        session.close()
        if progress is not None:
            progress.clear()
    if output_format == "json":
        click.echo(json.dumps(json_report.contract(report), indent=2))
    else:
        for line in text.contract(report, session, _style()):
            click.echo(line)
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


@cli.command(context_settings={"show_default": True})
@click.option(
    "--locustfile",
    "print_locustfile",
    is_flag=True,
    help="Print the path of the ready locustfile and exit: "
    'locust -f "$(aircore-mock load --locustfile)" takes every Locust option.',
)
@click.option(
    "-t",
    "--target",
    envvar="AIRCORE_MOCK_TARGET",
    show_envvar=True,
    default=None,
    help="URL of the receiver under load (not on a --worker: the master sends it).",
)
@click.option("-u", "--users", type=click.IntRange(min=1), default=10, help="Concurrent users.")
@click.option(
    "-r",
    "--spawn-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    help="Users started per second.",
)
@click.option(
    "--run-time",
    default="1m",
    metavar="SPAN",
    help="How long the test runs (90s, 5m, 1h30m); with --web, only if given.",
)
@click.option("-s", "--scenario", default="mixed", help=_scenario_help())
@_seed_option
@_set_option
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Wait a recording's real gaps divided by this (60: an hour's recording in a "
    "minute). Default: no waiting.",
)
@click.option(
    "--think-time",
    type=click.FloatRange(min=0),
    default=None,
    help="A fixed pause in seconds between deliveries and between recordings.",
)
@_header_option
@click.option(
    "--stop-timeout",
    type=click.IntRange(min=0),
    default=30,
    help="Seconds users get to finish the recording they play when the test stops.",
)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes on this machine (one core each); with --worker, on this one.",
)
@click.option("--master", is_flag=True, help="Lead workers on other machines (see --worker).")
@click.option("--worker", is_flag=True, help="Follow a master: it sends the test to run.")
@click.option("--master-host", default=None, help="The master's address (with --worker).")
@click.option(
    "--master-port",
    type=click.IntRange(1, 65535),
    default=5557,
    help="The master's port: it listens there (--master), workers dial it (--worker).",
)
@click.option(
    "--expect-workers",
    type=click.IntRange(min=1),
    default=None,
    help="With --master: start once this many workers have joined [default: 1].",
)
@click.option("--csv", "csv_prefix", default=None, metavar="PREFIX", help="Locust's CSV stats.")
@click.option("--html", "html_file", default=None, metavar="FILE", help="Locust's HTML report.")
@_format_option(["text", "json"], "text: Locust's tables, then a summary; json: the summary.")
@click.option(
    "--web", is_flag=True, help="Run Locust's web UI on http://127.0.0.1:8089 instead of headless."
)
@click.argument("locust_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- LOCUST_OPTION...]")
@click.pass_context
def load(
    ctx: click.Context,
    print_locustfile: bool,
    target: str | None,
    users: int,
    spawn_rate: float,
    run_time: str,
    scenario: str,
    seed: int | None,
    assignments: tuple[str, ...],
    speed: float | None,
    think_time: float | None,
    headers: tuple[str, ...],
    stop_timeout: int,
    processes: int | None,
    master: bool,
    worker: bool,
    master_host: str | None,
    master_port: int,
    expect_workers: int | None,
    csv_prefix: str | None,
    html_file: str | None,
    output_format: str,
    web: bool,
    locust_args: tuple[str, ...],
) -> None:
    """Load-test a receiver with Locust: users that play whole generated lifecycles.

    \b
      aircore-mock load --target http://127.0.0.1:8000/aircore -u 50 --run-time 5m
      aircore-mock load --target $URL --processes 2            # every core of this machine
      aircore-mock load --target $URL --master --expect-workers 2   # on one machine
      aircore-mock load --worker --master-host 10.0.0.5        # on each of the others

    Ends with Locust's tables (on stderr) and a summary: deliveries by event and status,
    latency percentiles, lifecycles completed. Needs the extra: pip install
    'aircore-mock[load]'. Anything after -- goes to Locust as it is.

    Exit codes: 0 every delivery got a 2xx, 1 some did not (or the counts are not exact),
    2 usage error, unreachable target or Locust missing.
    """
    from .load import LoadPlan, check_reachable, locust_available, locustfile_path, run_load

    if print_locustfile:
        click.echo(locustfile_path())
        return
    if worker:
        # A worker runs what its master sends: options about the test would be ignored.
        given = [
            "--" + name.replace("_", "-")
            for name in (
                "target",
                "users",
                "spawn_rate",
                "run_time",
                "scenario",
                "seed",
                "speed",
                "think_time",
                "stop_timeout",
                "expect_workers",
            )
            if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        ]
        given += [
            flag
            for flag, value in (
                ("--set", assignments),
                ("--header", headers),
                ("--csv", csv_prefix),
                ("--html", html_file),
            )
            if value
        ]
        if given:
            _fail_usage(f"--worker takes its test from the master: drop {', '.join(given)}")
    plan = LoadPlan(
        target=target,
        users=users,
        spawn_rate=spawn_rate,
        run_time=None
        if web and ctx.get_parameter_source("run_time") is click.core.ParameterSource.DEFAULT
        else run_time,
        scenario=scenario,
        seed=seed,
        pins=assignments,
        speed=speed,
        think_time=think_time,
        headers=headers,
        stop_timeout=stop_timeout,
        processes=processes,
        master=master,
        worker=worker,
        master_host=master_host,
        master_port=master_port,
        expect_workers=expect_workers,
        csv=csv_prefix,
        html=html_file,
        web=web,
        extra=locust_args,
    )
    plan.check()
    if not locust_available():
        raise InputProblem("locust is not installed: pip install 'aircore-mock[load]'")
    if not worker:
        from .generation import Generator, parse_pins
        from .seeds import new_seed
        from .sending import check_url, parse_headers

        check_url(str(target))
        parse_headers(headers)
        plan.seed = new_seed() if seed is None else seed
        # a bad scenario or pin fails here, in one line, before Locust starts
        next(Generator(plan.seed).deliveries(scenario, **parse_pins(assignments)))
        check_reachable(str(target))
        _report_seed(seed, plan.seed)
    outcome = run_load(plan)
    if worker:
        sys.exit(outcome.returncode)
    if outcome.summary is None:
        reason = "it ran past its time and was stopped" if outcome.timed_out else "see above"
        raise click.ClickException(
            f"Locust ended (exit code {outcome.returncode}) without a summary: {reason}"
        )
    if output_format == "json":
        click.echo(json.dumps(outcome.summary.to_json(), indent=2))
    else:
        from .reporting import text

        for line in text.load_summary(outcome.summary):
            click.echo(line)
    if not outcome.ok:
        click.echo(f"error: {outcome.summary.failure_reason()}", err=True)
        sys.exit(EXIT_FAILED)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class _Progress:
    """One line on a terminal's stderr, rewritten as answers come (at most ten times a
    second: a terminal is slower than a fast receiver)."""

    def __init__(self) -> None:
        import time

        self._clock = time.monotonic
        self._last = 0.0
        self._began = self._clock()
        self._shown = False

    def __call__(self, done: int, planned: int) -> None:
        now = self._clock()
        if now - self._last < 0.1 and done < planned:
            return
        self._last = now
        line = f"checking: {done}/{planned} requests answered, {now - self._began:.0f} s"
        click.echo(f"\r{line}\x1b[K", nl=False, err=True)
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            click.echo("\r\x1b[K", nl=False, err=True)


@cli.command()
@click.option(
    "-t",
    "--target",
    envvar="AIRCORE_MOCK_TARGET",
    show_envvar=True,
    required=True,
    help="URL of the receiver under test.",
)
@click.option(
    "-n",
    "--examples",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Requests to draw and send before shrinking.",
)
@click.option(
    "--max-time",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Cap the whole run, shrinking included.",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds the receiver may take to answer one request.",
)
@_seed_option
@_header_option
@_insecure_option
@_format_option(["text", "json"], "text: each failure and a summary; json: a report.")
def fuzz(
    target: str,
    examples: int,
    max_time: float | None,
    budget: float,
    seed: int | None,
    headers: tuple[str, ...],
    insecure: bool,
    output_format: str,
) -> None:
    """Search for requests the receiver gets wrong, and shrink each to the smallest.

    \b
      aircore-mock fuzz --target http://localhost:8000/aircore --examples 2000 --seed 7

    Draws documented callbacks (a 2xx expected), what Aircore may add (no 5xx) and callbacks
    with a wrong JSON type somewhere (no 5xx) from the Hypothesis strategies, one request at a
    time; each distinct failure (clause and status) is shrunk to the smallest request that
    still shows it. The same seed sends the same requests. Needs Hypothesis
    (pip install 'aircore-mock[hypothesis]').

    Exit codes: 0 no failure, 1 a failure (or interrupted), 2 usage error or unreachable.
    """
    import importlib.util

    from .contract import ContractSession, fuzz_receiver
    from .reporting import text
    from .seeds import new_seed
    from .sending import check_url, parse_headers

    if importlib.util.find_spec("hypothesis") is None:
        raise InputProblem("fuzz needs Hypothesis: pip install 'aircore-mock[hypothesis]'")
    check_url(target)
    chosen_seed = new_seed() if seed is None else seed
    _report_seed(seed, chosen_seed)
    session = ContractSession(
        target,
        budget=budget,
        seed=chosen_seed,
        headers=parse_headers(headers),
        verify=not insecure,
        stop_signals=(signal.SIGINT, signal.SIGTERM),
    )
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        _preflight(session)
        report = fuzz_receiver(session, examples=examples, max_time=max_time)
    finally:
        signal.signal(signal.SIGTERM, previous)
        session.close()
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for line in text.fuzz(report, session, _style()):
            click.echo(line)
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


def _preflight(session: Any) -> None:
    from .sending import Sender

    with Sender(
        session.target,
        timeout=min(session.budget, 5.0),
        headers=session.headers,
        verify=session.verify,
    ) as probe:
        (result,) = probe.send([b"{}"]).results or []
    if result.outcome == "not-sent":  # Ctrl-C already
        session.interrupted = True
    if result.outcome in ("unreachable", "error"):
        raise InputProblem(f"cannot reach {session.target}: {result.describe()}")


def main(argv: list[str] | None = None, prog_name: str = "aircore-mock") -> None:
    """Run the command line (the `aircore-mock` console script)."""
    try:
        cli.main(args=argv, prog_name=prog_name)
    except BrokenPipeError:
        # `aircore-mock ... | head`: the reader left; that is not an error worth a traceback.
        sys.stderr.close()
        sys.exit(EXIT_OK)
