"""Every option more than one command takes, defined once.

Short options mean one thing everywhere: -s scenario, -n how many, -c concurrency, -H header
(not in `load`: Locust's -H is its host), -k insecure, -p port, -q quiet; `load` keeps
Locust's own -u, -r and -t (run time), so no command takes -t for --target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]


def target(help: str, *, required: bool = False) -> Decorator[Any]:
    """--target (or $AIRCORE_MOCK_TARGET): the receiver's URL."""
    return click.option(
        "--target",
        envvar="AIRCORE_MOCK_TARGET",
        show_envvar=True,
        required=required,
        help=help,
    )


def scenario(default: str | None, help_suffix: str = "", short: bool = True) -> Decorator[Any]:
    """-s/--scenario (`load` has no -s: Locust's -s is its stop timeout)."""
    return click.option(
        *(["-s"] if short else []),
        "--scenario",
        default=default,
        show_default=default is not None,
        help="Scenario: an outcome (uploaded, upload-failed, bad-region, client-stopped, "
        "in-progress, ...), a fault (duplicate, out-of-order, reversed, burst) or both joined "
        "with + (upload-failed+out-of-order). `aircore-mock scenarios` lists them." + help_suffix,
    )


seed = click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Seed for every random choice; the same seed gives the same bytes. "
    "Without it a seed is chosen and printed on stderr.",
)

pins = click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="PATH=VALUE",
    help="Pin a value, once each: a JSON path (recording.url, recording.startTime, "
    "recording.elapsedTime, recording.reason, recording.location.region, "
    "recording.location.address) or a name (bucket, filename, failure, server_region); "
    "the rest of the lifecycle follows it.",
)

count = click.option(
    "-n",
    "--count",
    type=click.IntRange(min=1),
    default=None,
    help="Recordings to generate [default: 1, or 10 for a burst].",
)


def header(short: bool = True) -> Decorator[Any]:
    """-H/--header, repeatable (`load` drops -H: Locust's -H is its --host)."""
    names = ("-H", "--header") if short else ("--header",)
    return click.option(
        *names,
        "headers",
        multiple=True,
        metavar="'NAME: VALUE'",
        help="Extra request header, repeatable (e.g. 'Authorization: Bearer x'); not the "
        "framing ones (Content-Length, Transfer-Encoding, Host, Connection, ...).",
    )


insecure = click.option("-k", "--insecure", is_flag=True, help="Do not verify TLS certificates.")


def output_format(choices: list[str], help: str) -> Decorator[Any]:
    """--format, the first choice being the default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help=help,
    )


def speed(help: str) -> Decorator[Any]:
    """--speed: time scaled by this factor."""
    return click.option(
        "--speed", type=click.FloatRange(min=0, min_open=True), default=None, help=help
    )


def strict(help: str) -> Decorator[Any]:
    """--strict: only what Aircore documents today."""
    return click.option("--strict", is_flag=True, help=help)


def quiet(help: str) -> Decorator[Any]:
    """-q/--quiet."""
    return click.option("-q", "--quiet", is_flag=True, help=help)


def concurrency(default: int, help: str) -> Decorator[Any]:
    """-c/--concurrency."""
    return click.option(
        "-c",
        "--concurrency",
        type=click.IntRange(min=1),
        default=default,
        show_default=True,
        help=help,
    )


def budget(help: str) -> Decorator[Any]:
    """--budget: seconds for one answer."""
    return click.option(
        "--budget",
        type=click.FloatRange(min=0, min_open=True),
        default=10.0,
        show_default=True,
        help=help,
    )


def max_time(help: str) -> Decorator[Any]:
    """--max-time: a cap on the whole run."""
    return click.option(
        "--max-time",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="SECONDS",
        help=help,
    )


def log(help: str) -> Decorator[Any]:
    """--log: a JSONL file a server appends to."""
    return click.option(
        "--log", "log_file", type=click.Path(dir_okay=False), default=None, help=help
    )


def retries(maximum: int | None, help: str) -> Decorator[Any]:
    """--retries."""
    return click.option(
        "--retries",
        type=click.IntRange(0, maximum),
        default=0,
        show_default=True,
        help=help,
    )


def listen(port: int) -> Decorator[Any]:
    """--host, -p/--port and --ready-file, for the commands that run a server."""

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


def limits(f: Any) -> Any:
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


def build_limits(header_timeout: float, max_connections: int | None) -> Any:
    """The server `Limits` the limit options ask for."""
    from ..server import Limits

    return Limits(header_timeout=header_timeout, max_connections=max_connections)


def capture_filters(f: Any) -> Any:
    """--event, --recording, --seq and --invalid: which captured requests (or callbacks) a
    command takes from its input."""
    f = click.option(
        "--invalid",
        "only_invalid",
        is_flag=True,
        help="Only the callbacks judged invalid (a log: by the capture server, not-JSON bodies "
        "included; plain callbacks: judged now).",
    )(f)
    f = click.option(
        "--seq",
        "seq_range",
        default=None,
        metavar="N-M",
        help="Only the requests numbered N to M, inclusive (a log's seq; plain callbacks: "
        "their place in the input, from 0). Also N, N- and -M.",
    )(f)
    f = click.option(
        "--recording",
        "recordings",
        multiple=True,
        metavar="ID|URL",
        help="Only this recording's callbacks (its id or URL), repeatable.",
    )(f)
    return click.option(
        "--event",
        "events",
        multiple=True,
        metavar="EVENT",
        help="Only callbacks of this event (recording-stopped, ...), repeatable.",
    )(f)


keep_headers = click.option(
    "--keep-headers",
    is_flag=True,
    help="Send each captured request's headers as it arrived (but those that frame the "
    "request: Host, Content-Length, ...); -H headers still win.",
)


def build_selection(
    events: tuple[str, ...],
    recordings: tuple[str, ...],
    seq_range: str | None,
    only_invalid: bool,
    strict: bool = False,
) -> Any:
    """The `captured.Selection` the filter options ask for."""
    from ..captured import Selection

    return Selection(
        events=frozenset(events),
        recordings=frozenset(recordings),
        seq=None if seq_range is None else Selection.parse_seq(seq_range),
        invalid=only_invalid,
        strict=strict,
    )


junit_xml = click.option(
    "--junit-xml",
    "junit_xml",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    metavar="PATH",
    help="Also write a JUnit XML report to PATH (one test case per clause and case; each"
    " failure with its curl line), for CI.",
)
"""--junit-xml, for `check` and `fuzz`."""
