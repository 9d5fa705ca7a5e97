"""`aircore-mock load`: load-test a receiver with Locust (the plan and its checks are the
library's: `aircore_mock.load`)."""

from __future__ import annotations

import json
import sys

import click

from . import options
from .terminal import EXIT_FAILED, echo_lines, exit_with, report_seed


@click.command(context_settings={"show_default": True})
@click.option(
    "--locustfile",
    "print_locustfile",
    is_flag=True,
    help="Print the path of the ready locustfile and exit: "
    'locust -f "$(aircore-mock load --locustfile)" takes every Locust option.',
)
@options.target("URL of the receiver under load (not on a --worker: the master sends it).")
@click.option("-u", "--users", type=click.IntRange(min=1), default=10, help="Concurrent users.")
@click.option(
    "-r",
    "--spawn-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    help="Users started per second.",
)
@click.option(
    "-t",
    "--run-time",
    default="1m",
    metavar="SPAN",
    help="How long the test runs (90s, 5m, 1h30m); with --web, only if given. "
    "-t, -u and -r mean what they mean to Locust.",
)
@options.scenario("mixed", short=False)
@options.seed
@options.pins
@options.speed(
    "Wait a recording's real gaps divided by this (60: an hour's recording in a "
    "minute). Default: no waiting."
)
@click.option(
    "--think-time",
    type=click.FloatRange(min=0),
    default=None,
    help="A fixed pause in seconds between deliveries and between recordings.",
)
@options.header(short=False)
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
@click.option(
    "--csv",
    "csv_prefix",
    default=None,
    metavar="PREFIX",
    help="Locust's CSV stats (its folder must exist).",
)
@click.option(
    "--html",
    "html_file",
    default=None,
    metavar="FILE",
    help="Locust's HTML report (its folder must exist).",
)
@options.output_format(
    ["text", "json"], "text: Locust's tables, then a summary; json: the summary."
)
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
      aircore-mock load --target http://127.0.0.1:8000/aircore -u 50 -t 5m
      aircore-mock load --target $URL --processes 2            # every core of this machine
      aircore-mock load --target $URL --master --expect-workers 2   # on one machine
      aircore-mock load --worker --master-host 10.0.0.5        # on each of the others

    Ends with Locust's tables (on stderr) and a summary: deliveries by event and status,
    latency percentiles, lifecycles completed. Needs the extra: pip install
    'aircore-mock[load]'. Anything after -- goes to Locust as it is.

    Exit codes: 0 every delivery got a 2xx, 1 some did not (or the counts are not exact),
    2 usage error (Locust's own included), unreachable target or Locust missing.
    """
    from ..load import LoadPlan, locustfile_path, run_load

    if print_locustfile:
        click.echo(locustfile_path())
        return
    run_time_given = ctx.get_parameter_source("run_time") is not click.core.ParameterSource.DEFAULT
    plan = LoadPlan(
        target=target,
        users=users,
        spawn_rate=spawn_rate,
        run_time=None if web and not run_time_given else run_time,
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
    plan.preflight()  # every usage and input error, in one line, before Locust starts
    if not worker:
        report_seed(seed, int(plan.seed))  # type: ignore[arg-type]
    outcome = run_load(plan)
    if worker:
        sys.exit(outcome.returncode)
    if outcome.refused_options:  # e.g. `-- --bogus-flag`: a usage error, like ours
        raise click.UsageError(str(outcome.failure_reason()))
    if outcome.summary is None:
        raise click.ClickException(str(outcome.failure_reason()))
    if output_format == "json":
        click.echo(json.dumps(outcome.summary.to_json(), indent=2))
    else:
        from ..reporting import text

        echo_lines(text.load_summary(outcome.summary))
    if not outcome.ok:
        exit_with(EXIT_FAILED, outcome.failure_reason())
