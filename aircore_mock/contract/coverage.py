"""The coverage phase: the edges of every field's real domain, sent in every run before the
seeded search, whatever the seed (the anchor: Schemathesis's coverage phase).

`COVERAGE` is the catalogue: one row per field and kind of edge, each naming the fact it comes
from (Aircore's docs and AWS's rules, `shared/aircore/`), mirrored in the README's table. Every
callback a row builds is documented (valid under the strict schemas, integer milliseconds), on
a recording of its own, so a 2xx is due for each.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..generation import AWS_REGIONS, UPLOAD_FAILURES, Generator
from ..model import lifecycle

Callback = dict[str, Any]

# Facts, named once (the rows cite them).
S3_KEYS = "S3: object keys are any UTF-8 text up to 1,024 bytes, percent-encoded in an address"
S3_BUCKETS = (
    "S3 bucket naming rules: 3-63 of a-z 0-9 . -, a letter or digit at each end, no '..';"
    " a dotted name is served path-style over HTTPS"
)
FILENAME = (
    "Aircore: the object name is storage.filename + '_' + the recording id + '.m4a'; the prefix"
    " is the customer's choice (folders with '/', spaces, '+', any script)"
)
REGIONS = "AWS partitions (botocore endpoints.json): every partition, the newest regions"
RECORDING_URL = (
    "Aircore: recording.url is http://vandenberg-i-<ec2 instance id>-<aws region>"
    ".prod.airtime.com:8080/recording/<epoch ms>-<n>-<n>"
)
TIMES = "Aircore: times are integer epoch milliseconds; recordings last seconds to hours"
FAILURES = "The S3 client's messages for each catalogued upload failure (generation.facts)"
SAME_MS = "Aircore stamps callbacks in milliseconds: busy servers give several the same one"


@dataclass(frozen=True)
class Covered:
    """One row of the catalogue: a field, the edge of its domain covered, the fact behind it."""

    field: str
    edge: str
    fact: str
    build: Callable[[Generator], list[tuple[Callback, str]]]
    """The callbacks that carry the edge, each with how to describe it."""


def _one(gen: Generator, event: str, outcome: str = "uploaded", **pins: Any) -> Callback:
    recording = gen.recording(outcome, **pins)
    return next(c for c in recording.callbacks() if c["event"] == event)


def _events(gen: Generator, outcome: str = "uploaded", **pins: Any) -> list[Callback]:
    # A whole lifecycle about one field's edge: a client's stop (the stop reasons are
    # accepts-lifecycles' business).
    return list(gen.recording(outcome, stop_reason="clientStopped", **pins).callbacks())


def _address(bucket: str, region: str, key: str, style: str = "virtual") -> str:
    from ..strategies import address

    return address(bucket, region, key, style)


def _upload(
    gen: Generator,
    what: str,
    prefix: str,
    bucket: str = "youraccount",
    region: str = "us-east-1",
    style: str = "virtual",
) -> tuple[Callback, str]:
    recording = gen.recording("uploaded", bucket=bucket, region=region)
    key = f"{prefix}_{recording.recording_id}.m4a"
    recording.address = _address(bucket, region, key, style)
    callback = next(c for c in recording.callbacks() if c["event"] == lifecycle().uploaded)
    return callback, what


def _longest_prefix(char: str, tail_bytes: int) -> str:
    room = 1024 - tail_bytes
    return char * (room // len(char.encode()))


_TAIL = len("_1677608374942-0-503309.m4a")


def _keys(gen: Generator) -> list[tuple[Callback, str]]:
    out = []
    for char, script in (
        ("a", "ASCII"),
        ("é", "2-byte UTF-8"),
        ("录", "3-byte UTF-8"),
        ("😀", "4-byte UTF-8"),
    ):
        prefix = _longest_prefix(char, _TAIL)
        callback, _ = _upload(gen, "", prefix)
        size = len(callback["recording"]["location"]["address"])
        out.append(
            (callback, f"an object key of 1,024 bytes of {script}: a {size:,}-character address")
        )
    out.append(_upload(gen, "the shortest object key prefix (one character)", "a"))
    return out


_PREFIXES: tuple[tuple[str, str], ...] = (
    ("recordings/2024/05/", "folders, ending in '/'"),
    ("customer 42/team+sales/call notes", "spaces and '+' inside folders"),
    ("/leading-slash", "a leading '/'"),
    ("a//b///c", "empty folder names ('//')"),
    ("100% done?#1&x=y", "'%', '?', '#', '&' and '=' (percent-encoded in the address)"),
    (" padded ", "a space first and last"),
    ("Ünïcödé/日本語/запись", "folders in three scripts"),
    ("emoji 🎙️ rec", "an emoji with a variation selector"),
    ("..", "'..' (not a path to resolve)"),
    ("~tilde_under-score.dot", "'~', '_', '-', '.'"),
)


def _prefixes(gen: Generator) -> list[tuple[Callback, str]]:
    return [
        _upload(gen, f"a storage.filename prefix with {what}: {prefix!r}", prefix)
        for prefix, what in _PREFIXES
    ]


_BUCKETS: tuple[tuple[str, str], ...] = (
    ("abc", "3 characters, the shortest"),
    ("a" * 63, "63 characters, the longest"),
    ("0-9", "a digit at each end, '-' inside"),
    ("123", "digits only"),
    ("my.bucket.name", "dots (path style over HTTPS)"),
    ("a" + ".b" * 31, "63 characters with 31 dots"),
    ("x-" * 30 + "end", "63 characters, hyphens throughout"),
)


def _buckets(gen: Generator) -> list[tuple[Callback, str]]:
    out = []
    for bucket, what in _BUCKETS:
        style = "path" if "." in bucket else "virtual"
        out.append(
            _upload(gen, f"a bucket name of {what}: {bucket}", "record", bucket, "eu-west-1", style)
        )
    return out


_NEWEST = (
    "ap-southeast-6",
    "ap-southeast-7",
    "mx-central-1",
    "ap-east-2",
    "ca-west-1",
    "ap-southeast-5",
)


def _regions(gen: Generator) -> list[tuple[Callback, str]]:
    partitions: dict[str, list[str]] = {}
    for region in AWS_REGIONS:
        partitions.setdefault(region.partition, []).append(region.code)
    chosen = [codes[-1] for codes in partitions.values()] + list(_NEWEST)
    r = lifecycle()
    out = []
    for code in dict.fromkeys(chosen):
        out.append((_one(gen, r.uploaded, region=code), f"a bucket in {code}"))
    for code in _NEWEST:  # recording servers run in commercial regions
        out.append((_one(gen, r.started, server_region=code), f"a recording server in {code}"))
    return out


_IDS: tuple[tuple[str, str, str], ...] = (
    ("0defaf76", "0-0-0", "an 8-digit instance id, every id part 0"),
    ("0defaf76088193a3b", "1677608374942-12-7", "a 2-digit middle part, a 1-digit serial"),
    ("0defaf76088193a3b", "1677608374942-0-123456789012", "a 12-digit serial"),
    ("ffffffffffffffff0", "99999999999999-9-9999999", "a 14-digit time part"),
    ("00000000000000000", "1-0-0", "a 1-digit time part"),
)


def _ids(gen: Generator) -> list[tuple[Callback, str]]:
    out = []
    for n, (instance, rec_id, what) in enumerate(_IDS):
        url = (
            f"http://vandenberg-i-{instance}-eu-central-1.prod.airtime.com:8080/recording/{rec_id}"
        )
        callbacks = _events(gen, url=url)
        # One event each, in turn: the id is the edge, not the event.
        out.append((callbacks[n % len(callbacks)], f"a recording id with {what}: {rec_id}"))
    return out


_EVENTS = ("recording-stopped", "recording-uploaded", "recording-upload-failed")


_DURATIONS = (0, 1, 999, 1_000, 59_999, 3_600_000, 24 * 3_600_000, 48 * 3_600_000)
_STARTS = (
    (0, "the epoch itself"),
    (1_000_000_000_000, "September 2001 (the first 13-digit millisecond)"),
    (2_147_483_648_000, "January 2038 (beyond a 32-bit count of seconds)"),
    (4_102_444_800_000, "the year 2100"),
    (2**53 - 1 - 49 * 3_600_000, "the last exact double, less two days"),
)


def _durations(gen: Generator) -> list[tuple[Callback, str]]:
    out = []
    for n, ms in enumerate(_DURATIONS):
        event = _EVENTS[n % len(_EVENTS)]
        outcome = "upload-failed" if event == lifecycle().upload_failed else "uploaded"
        out.append((_one(gen, event, outcome, elapsed_time=ms), f"elapsedTime {ms:,} ms"))
    return out


def _starts(gen: Generator) -> list[tuple[Callback, str]]:
    out = []
    for n, (ms, what) in enumerate(_STARTS):
        callbacks = _events(gen, start_time=ms)
        callback = callbacks[n % len(callbacks)]
        callback["timestamp"] = max(callback["timestamp"], 0)
        out.append((callback, f"startTime {ms} ({what})"))
    return out


def _same_ms(gen: Generator) -> list[tuple[Callback, str]]:
    stamp = 1_716_000_000_000
    out = []
    for _ in range(3):
        for callback in _events(gen, start_time=stamp - 60_000):
            callback["timestamp"] = stamp
            out.append((callback, f"every event of 3 recordings stamped {stamp}"))
    return out


_PARTITION_REGIONS = ("us-east-1", "cn-north-1", "us-gov-west-1", "eu-central-1")


def _failures(gen: Generator) -> list[tuple[Callback, str]]:
    r = lifecycle()
    out = []
    families = dict.fromkeys(f.family for f in UPLOAD_FAILURES)
    for n, family in enumerate(families):
        region = _PARTITION_REGIONS[n % len(_PARTITION_REGIONS)]  # every partition in turn
        callback = _one(gen, r.upload_failed, "upload-failed", failure=family, region=region)
        out.append((callback, f"the {family} message, bucket in {region}"))
    return out


COVERAGE: tuple[Covered, ...] = (
    Covered(
        "recording.location.address",
        "object keys of 1,024 UTF-8 bytes (addresses of several KB) and of one character",
        S3_KEYS,
        _keys,
    ),
    Covered(
        "recording.location.address",
        "storage.filename prefixes as customers write them"
        " (folders, separators, scripts, first/inside/last)",
        FILENAME,
        _prefixes,
    ),
    Covered(
        "recording.location.address",
        "bucket names at the edges of S3's rules",
        S3_BUCKETS,
        _buckets,
    ),
    Covered(
        "recording.location.region, recording.url",
        "every partition's regions and the newest ones",
        REGIONS,
        _regions,
    ),
    Covered(
        "recording.url", "recording ids with parts of other widths and values", RECORDING_URL, _ids
    ),
    Covered("recording.elapsedTime", "0 ms to two days, across unit boundaries", TIMES, _durations),
    Covered(
        "recording.startTime, timestamp", "the whole range of epoch milliseconds", TIMES, _starts
    ),
    Covered(
        "timestamp", "the same event and millisecond on different recordings", SAME_MS, _same_ms
    ),
    Covered(
        "recording.reason (upload failed)",
        "every catalogued failure message, the partitions in turn",
        FAILURES,
        _failures,
    ),
)
"""The catalogue of what the coverage phase sends (the README's table mirrors it)."""


def coverage_callbacks(seed: int, event: str | None = None) -> list[tuple[Callback, str]]:
    """Every callback the coverage phase sends (of `event`, when given), each on a recording
    of its own, with what it covers. The seed only varies the values around the edges."""
    out = []
    for row in COVERAGE:
        gen = Generator(seed + zlib.crc32(f"coverage/{row.field}/{row.edge}".encode()))
        # A whole lifecycle stays together (in order), in the case of its last event.
        recordings: dict[str, list[tuple[Callback, str]]] = {}
        for callback, what in row.build(gen):
            recordings.setdefault(callback["recording"]["url"], []).append((callback, what))
        for sent in recordings.values():
            if event is None or sent[-1][0]["event"] == event:
                out += [(c, f"{what} [coverage: {row.field}]") for c, what in sent]
    return out


def coverage_size() -> int:
    """How many callbacks the coverage phase sends."""
    return len(coverage_callbacks(0))
