"""`aircore-mock serve`: a fake of Aircore's recording API that sends the callbacks back."""

from __future__ import annotations

from typing import Any

import click

from . import options
from .terminal import (
    ServerStderr,
    check_ready_file,
    check_writable,
    dropped_notice,
    fail_usage,
    freeze_loaded,
    ignore_late_signals,
    report_seed,
    stdout_writer,
    write_ready_file,
    writer_style,
)


@click.command()
@options.listen(port=8080)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="KEY",
    help="A bearer key the API accepts, repeatable. Without one, any non-empty key is.",
)
@options.speed(
    "Run time at this many times real time (60: an upload due 60 s after the stop "
    "comes 1 s after it). Default: real time."
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
@options.retries(
    20,
    "Retries of a callback that gets no 2xx. Aircore's docs say nothing about retries, "
    "so none by default (an assumption).",
)
@options.seed
@options.log(
    "Append every API request and callback delivery to this JSONL file (secrets redacted)."
)
@options.quiet("Print only the ready line and the summary on exit.")
@click.option(
    "--s3",
    "s3_local",
    type=click.Choice(["local"]),
    default=None,
    help="Really upload each recording, to an embedded S3 (moto's server on 127.0.0.1, a "
    "free port; the ready line says where): S3's answer to the PUT decides the upload "
    "callback. Needs the [s3] extra.",
)
@click.option(
    "--s3-endpoint",
    default=None,
    metavar="URL",
    help="Really upload each recording to this S3-compatible endpoint (MinIO, LocalStack, "
    "AWS), with the start request's own bucket, region, keys and encryption. Needs [s3].",
)
@click.option(
    "--s3-bucket",
    "s3_buckets",
    multiple=True,
    metavar="[REGION/]NAME",
    help="Create this bucket in the embedded S3 at start (repeatable; region default "
    "us-east-1). Without one, every upload fails with NoSuchBucket.",
)
@click.option(
    "--s3-timeout",
    type=click.FloatRange(min=0, min_open=True, max=600),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="Each S3 call's connect and read timeout (no retries).",
)
@click.option(
    "--recording-file",
    type=click.Path(exists=True, dir_okay=False, readable=True),
    default=None,
    metavar="PATH",
    help="Upload this file for every recording instead of silence as long as the recording "
    "(with --s3 or --s3-endpoint).",
)
@options.limits
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
    s3_local: str | None,
    s3_endpoint: str | None,
    s3_buckets: tuple[str, ...],
    s3_timeout: float,
    recording_file: str | None,
    header_timeout: float,
    max_connections: int | None,
) -> None:
    """Run a fake of Aircore's recording API that sends the callbacks back.

    `POST /recording` starts a recording (bearer key, start-recording body checked against
    its schema); `DELETE <the url it answered>` stops it. Callbacks go to the request's
    callback_url: recording-started, recording-stopped, then recording-uploaded or
    recording-upload-failed with the error the request's own bucket and region would cause.
    `/_aircore-mock/` shows recordings, callbacks and the journal, and injects faults.

    With --s3 local or --s3-endpoint URL the recording is really uploaded (an AAC .m4a as
    long as the recording, or --recording-file) and S3's answer decides the callback.

    \b
      aircore-mock serve --port 8080 --auto-stop 30 --speed 10
      aircore-mock serve --instant --s3 local --s3-bucket eu-west-1/acme-recordings
      curl -s localhost:8080/_aircore-mock/recordings
    """
    from ..fake import CONTROL, FakeAircore
    from ..reporting import text
    from ..seeds import new_seed

    if speed is not None and instant:
        fail_usage("--speed and --instant are exclusive: choose one way for time to pass")
    if any(not key.strip() for key in api_keys):
        fail_usage("--api-key must not be empty")
    check_ready_file(ready_file)
    check_writable(log_file, "--log")
    s3 = _s3_config(s3_local, s3_endpoint, s3_buckets, s3_timeout, recording_file)
    chosen_seed = new_seed() if seed is None else seed
    report_seed(seed, chosen_seed)
    colour = writer_style()

    # The hooks run on the server's loop: they queue a line, a writer thread prints it.
    out = stdout_writer(on_broken=lambda: fake.shutdown())
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
        on_request=None
        if quiet
        else lambda e: out.put(lambda: fake.scrub(text.fake_request(e, colour))),
        on_callback=None
        if quiet
        else lambda s: out.put(lambda: fake.scrub(text.fake_callback(s, colour))),
        limits=options.build_limits(header_timeout, max_connections),
        s3=s3,
    )

    err = ServerStderr()

    def ready(fake: Any) -> None:
        write_ready_file(ready_file, fake.host, fake.port)
        line = text.fake_ready(fake, len(api_keys), retries, CONTROL)
        if fake.s3_endpoint is not None:
            where = "embedded, moto" if fake.s3 is not None else "its own keys"
            line += f"; uploads: S3 at {fake.s3_endpoint} ({where})"
        err.lines([fake.scrub(line)])
        freeze_loaded()

    try:
        try:
            fake.serve(on_ready=ready)
        finally:
            ignore_late_signals()
            out.close(timeout=2)
            fake.close()
        summary = fake.summary()
        err.lines(text.fake_summary(summary))
        err.lines([dropped_notice(out), text.log_dropped(summary, log_file)])
    finally:
        err.close(timeout=2)


def _s3_config(
    local: str | None,
    endpoint: str | None,
    buckets: tuple[str, ...],
    timeout: float,
    recording_file: str | None,
) -> Any:
    if local and endpoint:
        fail_usage("--s3 local and --s3-endpoint are exclusive: choose one S3")
    if not (local or endpoint):
        for name, given in (("--s3-bucket", buckets), ("--recording-file", recording_file)):
            if given:
                fail_usage(f"{name} needs --s3 local or --s3-endpoint URL")
        return None
    if buckets and not local:
        fail_usage("--s3-bucket creates buckets in the embedded S3: use it with --s3 local")
    from ..fake import S3Config
    from ..fake.storage import require_s3_extra

    require_s3_extra()  # before the seed line: a usage error comes first and alone
    return S3Config(
        endpoint=endpoint or "local",
        buckets=buckets,
        timeout=timeout,
        recording_file=recording_file,
    )
