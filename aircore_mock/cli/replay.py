"""`aircore-mock replay`: resend captured requests (a `receive --log`) to a URL, as they came
or edited."""

from __future__ import annotations

import json
import sys

import click

from . import options
from .terminal import EXIT_FAILED, STOP_SIGNALS, echo_lines, exit_with, send_shown


@click.command()
@click.argument("log", metavar="LOG")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL",
    help="Where to send the captured requests (your app's callback URL).",
)
@options.capture_filters
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="PATH=VALUE",
    help="Edit each chosen callback before it goes: a JSON path (recording.reason, "
    "$.timestamp, ...) and a value (JSON, or else text); the edited body is re-serialised, "
    "the others go byte for byte. Repeatable.",
)
@options.keep_headers
@options.header()
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@options.retries(None, "Retries on connection errors, 5xx and 429, with exponential backoff.")
@options.insecure
@click.option("--dry-run", is_flag=True, help="Print what would be sent (bodies as they go).")
@options.output_format(["text", "json"], "text: a line per request and a summary; json: a report.")
def replay(
    log: str,
    target: str,
    events: tuple[str, ...],
    recordings: tuple[str, ...],
    seq_range: str | None,
    only_invalid: bool,
    assignments: tuple[str, ...],
    keep_headers: bool,
    headers: tuple[str, ...],
    timeout: float,
    retries: int,
    insecure: bool,
    dry_run: bool,
    output_format: str,
) -> None:
    """Resend captured requests to --to, one after another, in the order they came.

    LOG is a `receive --log` (or `serve --log`) file, or a file of callbacks. Each request's
    body goes exactly as it was captured unless --set edits it; --keep-headers sends its
    captured headers too. --event, --recording, --seq and --invalid choose which go.

    \b
      aircore-mock replay received.jsonl --to http://127.0.0.1:8000/aircore
      aircore-mock replay received.jsonl --seq 12 --set recording.reason=timeout --to $URL
      aircore-mock replay received.jsonl --invalid --dry-run --to $URL

    Exit codes (as `send`): 0 every request got a 2xx, 1 some did not, 2 usage or input error.
    """
    from ..captured import edited, parse_edits, read_all_captured
    from ..reporting import json_report, text
    from ..sending import Sender, check_url, parse_headers

    check_url(target)
    extra_headers = parse_headers(headers)
    edits = parse_edits(assignments)
    select = options.build_selection(events, recordings, seq_range, only_invalid)
    chosen = read_all_captured(log, select=select, keep_headers=keep_headers)
    requests = [edited(c, edits) for c in chosen]
    if dry_run:
        if output_format == "json":
            rows = [r.to_json() for r in requests]
            click.echo(json.dumps({"target": target, "headers": extra_headers, "requests": rows}))
        else:
            out = sys.stdout.buffer
            for original, request in zip(chosen, requests, strict=True):
                note = " (edited)" if request is not original else ""
                out.write(f"POST {target} #{request.seq}{note} ".encode() + request.body + b"\n")
            out.flush()
        return
    sender = Sender(
        target,
        headers=extra_headers,
        timeout=timeout,
        retries=retries,
        verify=not insecure,
        stop_signals=STOP_SIGNALS,
    )
    report = send_shown(sender, requests, output_format)
    if output_format == "json":
        click.echo(json.dumps(json_report.send(report, target), indent=2))
    else:
        echo_lines(text.send_summary(report))
    if not report.ok:
        exit_with(EXIT_FAILED, text.send_failure(report))
