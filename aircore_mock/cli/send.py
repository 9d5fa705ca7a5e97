"""`aircore-mock send`: POST a scenario's callbacks (or a file's) and report each delivery."""

from __future__ import annotations

import itertools
import json
import sys
from typing import Any

import click

from . import options
from .terminal import (
    EXIT_FAILED,
    STOP_SIGNALS,
    echo_lines,
    exit_with,
    fail_usage,
    report_seed,
    send_shown,
    style,
)


@click.command()
@options.scenario(None, " [default: uploaded]")
@options.target(
    "URL to POST to. Without it, a built-in receiver on 127.0.0.1 takes the callbacks "
    "and shows what arrived."
)
@options.count
@options.concurrency(
    1, "Recordings sent at the same time (each recording's callbacks stay in order)."
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="At most this many deliveries per second.",
)
@options.speed(
    "Replay in real time scaled by this factor (60: a 10-minute recording's "
    "callbacks over 10 s). Default: no waiting."
)
@options.seed
@options.pins
@options.header()
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@options.retries(
    None,
    "Retries on connection errors, 5xx and 429, with exponential backoff (Retry-After honoured).",
)
@click.option(
    "--max-failures",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Give up after this many deliveries in a row got no answer at all (refused, timed "
    "out, cut off); the rest are reported as not sent. 0: never give up.",
)
@options.insecure
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@options.output_format(["text", "json"], "text: a line per delivery and a summary; json: a report.")
@click.option(
    "--from",
    "from_file",
    type=str,
    default=None,
    metavar="FILE",
    help="Send the callbacks in FILE (.json, .jsonl, - for stdin) instead of a scenario; a "
    "`receive --log` (or `serve --log`) file sends each captured body byte for byte.",
)
@options.keep_headers
@options.capture_filters
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
    keep_headers: bool,
    events: tuple[str, ...],
    recordings: tuple[str, ...],
    seq_range: str | None,
    only_invalid: bool,
) -> None:
    """POST a scenario's callbacks (or a file's) to a receiver and report every delivery.

    \b
      aircore-mock send --scenario upload-failed
      aircore-mock send -s burst -n 200 -c 16 --target http://localhost:8000/aircore
      aircore-mock send --from captured.jsonl --target $URL --header 'Authorization: Bearer x'
      aircore-mock send --from received.jsonl --event recording-stopped --seq 10-20 --target $URL

    --from reads a file of callbacks or a capture log (`receive --log`, `serve --log`): a
    log's requests go with their bodies exactly as captured (--keep-headers: their headers
    too); --event, --recording, --seq and --invalid choose which.

    Exit codes: 0 every delivery got a 2xx, 1 some did not (or the send was interrupted, or
    gave up, or the built-in receiver found an invalid callback), 2 usage or input error. An
    unreachable target is 1, not 2: each delivery's result says what happened to it (`check`,
    which cannot judge anything then, exits 2).
    """
    from ..captured import read_all_captured
    from ..generation import Generator, parse_pins
    from ..reporting import json_report, text
    from ..sending import Sender, check_url, parse_headers

    if from_file is not None and (
        scenario or count or assignments or seed is not None or speed is not None
    ):
        fail_usage(
            "--from sends a file as it is: it takes no --scenario, --count, --set, --seed "
            "or --speed (a file has no delivery times; --rate paces it)"
        )
    filtered = events or recordings or seq_range is not None or only_invalid or keep_headers
    if from_file is None and filtered:
        fail_usage(
            "--event, --recording, --seq, --invalid and --keep-headers choose from a file: "
            "give --from FILE"
        )
    extra_headers = parse_headers(headers)
    if target is not None:
        check_url(target)
    if from_file is not None:
        select = options.build_selection(events, recordings, seq_range, only_invalid)
        deliveries: Any = read_all_captured(from_file, select=select, keep_headers=keep_headers)
    else:
        generator = Generator(seed)
        deliveries = generator.deliveries(scenario or "uploaded", count, **parse_pins(assignments))
        first = next(deliveries)  # a bad scenario or pin fails before anything is sent
        deliveries = itertools.chain([first], deliveries)
        report_seed(seed, generator.seed)
    if dry_run:
        _dry_run(deliveries, target or "(built-in receiver)", extra_headers, output_format)
        return
    receiver = None
    if target is None:
        from ..capture import Receiver

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
        stop_signals=STOP_SIGNALS,
    )
    try:
        report = send_shown(sender, deliveries, output_format)
    finally:
        if receiver is not None:
            receiver.stop()
    summary = None if receiver is None else receiver.summary()
    if output_format == "json":
        received = None if receiver is None else [c.to_json() for c in receiver.captures]
        data = json_report.send(report, target, receiver=summary, received=received)
        click.echo(json.dumps(data, indent=2))
    else:
        echo_lines(text.send_summary(report))
        if receiver is not None:
            click.echo(f"the built-in receiver got {len(receiver.captures)} request(s):")
            colour = style()
            echo_lines("  " + text.capture_line(c, colour) for c in receiver.captures)
            flags = text.capture_flags(summary)  # type: ignore[arg-type]
            echo_lines(["  " + flags if flags else None])
    if not report.ok:
        exit_with(EXIT_FAILED, text.send_failure(report))
    if summary is not None and summary.invalid:
        exit_with(EXIT_FAILED, "the built-in receiver found invalid callbacks (see above)")


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
        body = getattr(delivery, "body", None)
        if not isinstance(body, bytes):
            body = orjson.dumps(callback)
        if output_format == "json" and hasattr(delivery, "seq"):  # a captured request
            row = {"index": index, **delivery.to_json()}
            out.write((b",\n  " if index else b"\n  ") + orjson.dumps(row))
        elif output_format == "json":
            row = {
                "index": index,
                "offset_ms": getattr(delivery, "offset_ms", None),
                "quirk": quirk,
                "callback": callback,
            }
            out.write((b",\n  " if index else b"\n  ") + orjson.dumps(row))
        else:
            note = f" ({quirk})" if quirk else ""
            out.write(f"POST {target}{note} ".encode() + body + b"\n")
    if output_format == "json":
        out.write(b"\n]}\n")
    out.flush()
