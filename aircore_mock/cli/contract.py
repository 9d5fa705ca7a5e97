"""`aircore-mock check` and `fuzz`: the receiver contract against a live URL."""

from __future__ import annotations

import contextlib
import gc
import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from . import options, terminal
from .terminal import (
    EXIT_FAILED,
    EXIT_OK,
    STOP_SIGNALS,
    InputProblem,
    Progress,
    echo_lines,
    report_seed,
    stop_flag,
    style,
)


def _session(
    target: str,
    budget: float,
    seed: int | None,
    headers: tuple[str, ...],
    insecure: bool,
    **more: Any,
) -> Any:
    """The session both commands run, from the options they share."""
    from ..contract import ContractSession
    from ..seeds import new_seed
    from ..sending import check_url, parse_headers

    check_url(target)
    return ContractSession(
        target,
        budget=budget,
        seed=new_seed() if seed is None else seed,
        headers=parse_headers(headers),
        verify=not insecure,
        stop_signals=STOP_SIGNALS,
        **more,
    )


@contextlib.contextmanager
def _loading() -> Iterator[None]:
    """Around the imports a run starts with (the contract, the sending engine): the garbage
    collector paused, then everything there is frozen. Their objects live as long as the
    process, and the collector would walk them again and again while they come (tens of
    milliseconds of a check's start); frozen, later collections skip them too. Only when
    the command is the whole process (the console script): run in-process (click's
    CliRunner, `cli.main()` from a program), the caller's collector is left alone."""
    if not terminal.OWNS_PROCESS:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _write_junit(path: str, kind: str, report: Any, headers: Any) -> None:
    from ..reporting import junit

    tree = junit.contract(report, headers) if kind == "contract" else junit.fuzz(report, headers)
    try:
        junit.write(tree, path)
    except OSError as exc:
        raise InputProblem(f"cannot write --junit-xml {path}: {exc.strerror or exc}") from None


class _CheckCommand(click.Command):
    """`check`, whose help lists the clauses from the contract itself."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from ..contract import CLAUSES, CONVERGES, USER_CLAUSES

        with formatter.section("Clauses (in the order they run)"):
            rows = [(c.name, c.title) for c in CLAUSES.values()]
            formatter.write_dl([*rows, (CONVERGES, USER_CLAUSES[CONVERGES] + ": --state-url")])
        super().format_epilog(ctx, formatter)


@click.command(cls=_CheckCommand)
@options.target("URL of the receiver under test (any language: it is plain HTTP).", required=True)
@click.option(
    "--only",
    multiple=True,
    metavar="CLAUSE",
    help="Run only this clause (repeatable); the clauses are listed below.",
)
@click.option("--skip", multiple=True, metavar="CLAUSE", help="Skip this clause (repeatable).")
@options.budget("Seconds the receiver may take to answer one callback.")
@options.concurrency(
    16,
    "Requests in flight at once (each recording's callbacks still in order). A receiver "
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
    "--state-url",
    metavar="URL",
    help="Where the receiver tells its state of a recording, as JSON: a URL with {id} (the "
    "recording id) or {url} (its URL, encoded), e.g. http://localhost:8000/recordings/{id}; "
    "404 means no such recording. Adds the converges clause. --header goes with it too.",
)
@options.max_time("Cap the whole run: what is not checked by then is reported as not checked.")
@options.seed
@options.header()
@options.insecure
@options.output_format(["text", "json"], "text: a table and failure details; json: a report.")
@options.junit_xml
def check(
    target: str,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    budget: float,
    concurrency: int,
    burst: int,
    state_url: str | None,
    max_time: float | None,
    seed: int | None,
    headers: tuple[str, ...],
    insecure: bool,
    output_format: str,
    junit_xml: str | None,
) -> None:
    """Run the receiver contract against a live URL and report each clause.

    \b
      aircore-mock check --target http://localhost:8000/aircore
      aircore-mock check --target $URL --only idempotent-duplicates --budget 2
      aircore-mock check --target $URL --state-url 'http://localhost:8000/recordings/{id}'

    Exit codes: 0 every clause passed (warnings allowed), 1 a clause failed (or the run was
    interrupted), 2 usage error or the receiver cannot be reached: no clause can be judged
    then (`send` exits 1 instead, with each delivery's result). Interrupted (Ctrl-C, SIGTERM)
    or out of --max-time, it still prints what it checked, and which checks were skipped.
    """
    with _loading():
        from ..contract import preflight, state_from_url
        from ..reporting import json_report, text
        from ..sending import parse_headers

        state = None
        if state_url is not None:
            state = state_from_url(
                state_url, headers=parse_headers(headers), timeout=budget, verify=not insecure
            )
        progress = Progress() if sys.stderr.isatty() else None
        session = _session(
            target,
            budget,
            seed,
            headers,
            insecure,
            concurrency=concurrency,
            burst=burst,
            max_time=max_time,
            progress=progress,
            state=state,
        )
    session.select(only, skip)  # usage errors before anything is sent (or printed)
    report_seed(seed, session.seed)
    try:
        # A signal only marks the run as stopped (the send in flight is stopped by the
        # sender's own handlers); the run ends at its next step. Raised at a random point,
        # a KeyboardInterrupt can land in Hypothesis's garbage-collector callback, where
        # Python drops it, and the run went on to the end.
        with stop_flag(session):
            preflight(session)
            report = session.run_all(only=only, skip=skip)
    finally:
        session.close()
        if progress is not None:
            progress.clear()
    if junit_xml is not None:
        _write_junit(junit_xml, "contract", report, session.headers)
    if output_format == "json":
        click.echo(json.dumps(json_report.contract(report), indent=2))
    else:
        echo_lines(text.contract(report, style()))
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


@click.command()
@options.target("URL of the receiver under test.", required=True)
@click.option(
    "-n",
    "--examples",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="At most this many distinct requests drawn and sent before shrinking: the search "
    "ends sooner when it draws nothing new (the summary says how many were sent, shrinking "
    "included).",
)
@options.max_time("Cap the whole run, shrinking included.")
@options.budget("Seconds the receiver may take to answer one request.")
@options.seed
@options.header()
@options.insecure
@options.output_format(["text", "json"], "text: each failure and a summary; json: a report.")
@options.junit_xml
def fuzz(
    target: str,
    examples: int,
    max_time: float | None,
    budget: float,
    seed: int | None,
    headers: tuple[str, ...],
    insecure: bool,
    output_format: str,
    junit_xml: str | None,
) -> None:
    """Search for requests the receiver gets wrong, and shrink each to the smallest.

    \b
      aircore-mock fuzz --target http://localhost:8000/aircore --examples 2000 --seed 7

    Draws documented callbacks (a 2xx expected), what Aircore may add (no 5xx) and callbacks
    with a wrong JSON type somewhere (no 5xx) from the Hypothesis strategies, one request at a
    time; each distinct failure (clause and status) is shrunk to the smallest request that
    still shows it. The same seed sends the same requests.

    Exit codes: 0 no failure, 1 a failure (or interrupted), 2 usage error or unreachable.
    """
    with _loading():
        from ..contract import fuzz_receiver, preflight
        from ..reporting import text

        session = _session(target, budget, seed, headers, insecure)
    report_seed(seed, session.seed)
    try:
        # A signal only marks the run as stopped; the search ends at its next request. (An
        # exception raised at a random point can land in Hypothesis's own callbacks, which
        # swallow it, and the run went on.)
        with stop_flag(session):
            preflight(session)
            report = fuzz_receiver(session, examples=examples, max_time=max_time)
    finally:
        session.close()
    if junit_xml is not None:
        _write_junit(junit_xml, "fuzz", report, session.headers)
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        echo_lines(text.fuzz(report, style()))
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)
