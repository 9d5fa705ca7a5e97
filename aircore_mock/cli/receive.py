"""`aircore-mock receive`: a capture server that validates every callback it gets."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from . import options
from .terminal import (
    EXIT_FAILED,
    EXIT_OK,
    ServerStderr,
    Text,
    check_ready_file,
    dropped_notice,
    ignore_late_signals,
    stdout_writer,
    write_ready_file,
    writer_style,
)


@click.command()
@options.listen(port=8000)
@click.option("--path", default="/", show_default=True, help="Path callbacks are POSTed to.")
@options.strict(
    "Count undocumented fields, values and event types as invalid (by default they are "
    "valid and named on each line)."
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
@options.log("Append every request (headers, body, verdict) to this JSONL file.")
@options.limits
@options.output_format(["text", "json"], "text: a line per request; json: a JSON object per line.")
@options.quiet("Print only the ready line and the summary on exit.")
@click.option(
    "--forward-to",
    metavar="URL",
    default=None,
    help="Forward each callback, once captured and judged, to your app at URL (method, "
    "headers and body as received); the sender gets the app's answer, or a 502 naming what "
    "went wrong. Lines and --log show the app's status and latency.",
)
@click.option(
    "--forward-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds the app has to answer a forwarded callback (then the sender gets 502).",
)
@click.option(
    "--ui",
    is_flag=True,
    help="Serve the inspector page at http://127.0.0.1:PORT/_aircore-mock/ (loopback only): "
    "recordings as timelines, each callback's headers, body, verdict, diffs, curl line, "
    "replay; live. Keeps every capture in memory.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Read --log back first, so that the page shows the history and the summary counts "
    "it (and new captures are appended to it).",
)
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
    quiet: bool,
    forward_to: str | None,
    forward_timeout: float,
    ui: bool,
    resume: bool,
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
      aircore-mock receive --forward-to http://127.0.0.1:5000/aircore   # in front of your app
      aircore-mock receive --ui --log received.jsonl --resume   # then open the page it names
    """
    from ..capture import Receiver
    from ..reporting import json_report, text

    check_ready_file(ready_file)
    colour = writer_style()

    def render(capture: Any) -> str:
        if output_format == "json":
            return json.dumps(json_report.capture(capture))
        return text.capture_line(capture, colour)

    err = ServerStderr()

    def ready(receiver: Any) -> None:
        write_ready_file(ready_file, receiver.host, receiver.port)
        err.lines([text.capture_ready(receiver)])

    # The server's loop only queues each capture (out.put); the writer's thread renders and
    # prints it. `aircore-mock receive | head`: once the reader leaves, stop rather than keep
    # answering callbacks nobody will see.
    out = stdout_writer(render, on_broken=lambda: receiver.shutdown())
    receiver = Receiver(
        host,
        port,
        path,
        strict=strict,
        status=status,
        max_body=max_body,
        log=log_file,
        on_capture=None if quiet else out.put,
        keep=False,
        limits=options.build_limits(header_timeout, max_connections),
        forward_to=forward_to,
        forward_timeout=forward_timeout,
        ui=ui,
        resume=resume,
    )
    try:
        receiver.serve(on_ready=ready)
        ignore_late_signals()
        summary = receiver.summary()
        if output_format == "json":
            out.put(Text(json.dumps(json_report.capture_summary(summary))))
        out.close(timeout=2)
        if output_format != "json":
            err.lines(text.capture_summary(summary))
            err.lines([text.refusals_line(summary.refused)])
        err.lines([dropped_notice(out), text.log_dropped(summary, log_file)])
    finally:
        out.close(timeout=2)
        err.close(timeout=2)
    sys.exit(EXIT_FAILED if summary.invalid else EXIT_OK)
