"""Hypothesis strategies for Aircore callbacks, drawn from the same facts as the generator.

    from hypothesis import given
    from aircore_mock.strategies import callbacks, lifecycles

    @given(callbacks(strict=True))
    def test_my_parser_takes_every_callback(callback):
        parse(callback)

Every value comes from the facts the generator uses (real AWS regions of every partition,
S3's bucket naming rules and addressing styles, the S3 failure catalogue, Aircore's URL
shapes), but spans the whole space those facts allow: zero-length and many-hour recordings,
clock skew both ways, object keys in any script, buckets with dots. Each strategy puts
Aircore's documented example values first, so a failing example shrinks toward the callback
the docs show (a failure that needs a dotted bucket shrinks to the shortest such bucket).

Needs Hypothesis: `pip install 'aircore-mock[hypothesis]'`. With it installed,
`st.from_type(Recording)` and `st.from_type(Delivery)` use `lifecycles()` and `deliveries()`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from .generation.facts import (
    BAD_REGIONS,
    DNS_SUFFIXES,
    REGION_CODES,
    UPLOAD_FAILURES,
    failure,
    failure_families,
    failure_for_region,
    partition_of,
)
from .model import (
    Callback,
    Delivery,
    Recording,
    lifecycle,
    recording_id,
)

__all__ = [
    "ADDRESSING_STYLES",
    "DOCUMENTED",
    "addresses",
    "bucket_names",
    "callbacks",
    "deliveries",
    "durations",
    "failure_reasons",
    "forward_compatible_callbacks",
    "lifecycles",
    "object_keys",
    "recording_urls",
    "regions",
    "server_regions",
    "start_times",
    "timestamps",
]

# Aircore's documented example values (callbacks-doc): where every strategy starts, and what
# shrinking heads back to.
DOCUMENTED: dict[str, Any] = {
    "url": "http://vandenberg-i-0defaf76088193a3b-eu-central-1.prod.airtime.com:8080"
    "/recording/1677608374942-0-503309",
    "instance": 0x0DEFAF76088193A3B,
    "server_region": "eu-central-1",
    "recording_id": "1677608374942-0-503309",
    "start_time": 1665460533516,
    "duration": 11115,
    "bucket": "youraccount",
    "region": "us-east-1",
    "filename": "record",
    "address": "https://youraccount.s3.amazonaws.com/record_1677608374942-0-503309.m4a",
}

_SECOND, _MINUTE, _HOUR = 1_000, 60_000, 3_600_000
MAX_DURATION = 48 * _HOUR
"""The longest recording drawn: two days, far past any real call (the boundary, not the norm)."""
MAX_SKEW = 15 * _MINUTE
"""Clock skew between Aircore's servers, both ways (its own examples are minutes apart)."""
_EPOCH_SPAN = 5 * 365 * 24 * _HOUR  # start times up to five years either side of the docs'


def _documented_first(values: Sequence[str], documented: str) -> tuple[str, ...]:
    return (documented, *(v for v in values if v != documented))


# --- regions ------------------------------------------------------------------------------


@functools.cache
def regions(partition: str | None = None) -> st.SearchStrategy[str]:
    """A real AWS region code of any partition (or of `partition`: aws, aws-cn, aws-us-gov);
    shrinks toward us-east-1, the documented bucket region."""
    codes = [c for c in REGION_CODES if partition is None or partition_of(c) == partition]
    if not codes:
        raise ValueError(f"no region in partition {partition!r}")
    return st.sampled_from(_documented_first(codes, DOCUMENTED["region"]))


@functools.cache
def server_regions() -> st.SearchStrategy[str]:
    """A commercial region, where Aircore's recording servers run; shrinks to eu-central-1."""
    codes = [c for c in REGION_CODES if partition_of(c) == "aws"]
    return st.sampled_from(_documented_first(codes, DOCUMENTED["server_region"]))


# --- times --------------------------------------------------------------------------------


@functools.cache
def start_times() -> st.SearchStrategy[int]:
    """Epoch milliseconds around the docs' example (years either side); shrinks to it."""
    base = DOCUMENTED["start_time"]
    return st.integers(-_EPOCH_SPAN, _EPOCH_SPAN).map(lambda offset: base + offset)


@functools.cache
def durations(max_ms: int = MAX_DURATION) -> st.SearchStrategy[int]:
    """Recording lengths in ms, from 0 (a recording stopped as it started) to `max_ms`;
    shrinks toward the documented 11,115 ms."""
    documented = min(DOCUMENTED["duration"], max_ms)
    around = st.integers(-documented, max_ms - documented).map(lambda d: d + documented)
    return _with_boundaries(around, (0, 1, max_ms))


@st.composite
def _with_boundaries(
    draw: st.DrawFn, values: st.SearchStrategy[int], edges: tuple[int, ...]
) -> int:
    # One draw in five is an edge (0 ms, the longest), which a plain range reaches rarely:
    # a receiver that divides by elapsedTime must meet a zero.
    if draw(_EDGE) < 4:
        return draw(values)
    return draw(_styles(edges))


_EDGE = st.integers(0, 4)


def timestamps(at: int, skew: int = MAX_SKEW) -> st.SearchStrategy[int]:
    """When a callback is stamped: `at` on the sender's clock, give or take `skew` ms either
    way (servers' clocks differ; never before the epoch)."""
    return st.integers(-min(skew, at), skew).map(lambda offset: at + offset)


_SKEW = st.integers(-MAX_SKEW, MAX_SKEW)


def _stamp(draw: st.DrawFn, at: int) -> int:
    # Strategies are built once, at import: building one per draw costs more than the draw.
    return max(at + draw(_SKEW), 0)


# --- recording URLs -----------------------------------------------------------------------


_INSTANCE = st.integers(0, 2**68 - 1)
# The recording id's parts (created up to 1.5 s before the start, a digit, a serial number) in
# one draw: each draw has a fixed cost, and this keeps the strategies above 1,000 examples/s.
_ID_PARTS = st.integers(0, 1501 * 10 * 10**7 - 1)
_BUILD = st.booleans()  # False (the documented value) is what shrinking heads for


def _recording_url(
    draw: st.DrawFn,
    start_time: int | None,
    taken: set[str] | None = None,
    build: bool | None = None,
) -> str:
    build = draw(_BUILD) if build is None else build
    if not build and (not taken or DOCUMENTED["url"] not in taken):
        return str(DOCUMENTED["url"])
    instance, region = draw(_INSTANCE), draw(server_regions())
    start = DOCUMENTED["start_time"] if start_time is None else start_time
    before, rest = divmod(draw(_ID_PARTS), 10 * 10**7)
    digit, serial = divmod(rest, 10**7)
    while True:  # each recording of a delivery stream has its own URL (a repair, not a filter)
        url = (
            f"http://vandenberg-i-{instance:017x}-{region}.prod.airtime.com:8080/recording/"
            f"{max(start - before, 0)}-{digit}-{serial}"
        )
        if not taken or url not in taken:
            return url
        serial += 1


@st.composite
def recording_urls(draw: st.DrawFn, start_time: int | None = None) -> str:
    """Aircore's internal recording URL (`http://vandenberg-i-<instance>-<region>
    .prod.airtime.com:8080/recording/<created ms>-<n>-<n>`, created just before
    `start_time`); shrinks to the documented one."""
    return _recording_url(draw, start_time)


# --- S3: buckets, keys, addresses ---------------------------------------------------------

_BUCKET_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.-"
_BUCKET_TEXT = st.text(_BUCKET_CHARS, min_size=3, max_size=63)
_IP_SHAPED = re.compile(r"\d+\.\d+\.\d+\.\d+")
# Names S3 reserves for its own features (access point aliases, Outposts, directory and
# table buckets, its own docs).
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def _repair_bucket(name: str) -> str:
    # Repairs instead of filters: a filter throws examples away and slows generation; each
    # repair keeps the name's length and moves it just inside the rules.
    name = re.sub(r"\.{2,}", ".", name)
    if _IP_SHAPED.fullmatch(name) or name.startswith(_RESERVED_PREFIXES):
        name = ("b" if name[0] == "a" else "a") + name[1:]
    if name.endswith(_RESERVED_SUFFIXES):
        name = name[:-1] + "0"
    return name


@st.composite
def _any_bucket(draw: st.DrawFn) -> str:
    return _any_bucket_name(draw)


def _any_bucket_name(draw: st.DrawFn) -> str:
    name = draw(_BUCKET_TEXT)
    # A letter or digit at each end: a repair (one draw, nothing thrown away).
    if name[0] in ".-":
        name = "a" + name[1:]
    if name[-1] in ".-":
        name = name[:-1] + "0"
    return _repair_bucket(name)


@functools.cache
def bucket_names(dots: bool | None = None) -> st.SearchStrategy[str]:
    """Any name S3 allows for a general-purpose bucket: 3-63 characters of lowercase letters,
    digits, dots and hyphens, a letter or digit at each end, no two dots in a row, not shaped
    like an IP address, none of S3's reserved prefixes and suffixes. `dots=True` only dotted
    names (which S3 serves path-style over HTTPS), `False` none. Shrinks toward `youraccount`."""
    names = st.one_of(st.just(DOCUMENTED["bucket"]), _any_bucket())
    if dots is True:
        return _any_bucket().map(lambda n: n if "." in n else n[0] + "." + n[2:])
    if dots is False:
        return names.map(lambda n: n.replace(".", "-"))
    return names


def _utf8_prefix(text: str, limit: int) -> str:
    data = text.encode("utf-8")[:limit]
    return data.decode("utf-8", "ignore")


KEY_ALPHABET = (
    "".join(chr(c) for c in range(0x20, 0x7F))  # printable ASCII: spaces, +, /, %, ...
    + "àéîõüßçñøåæ"  # Latin with accents
    + "αβγΩ"  # Greek
    + "ДЖжя"  # Cyrillic
    + "中文录音日本語한국어"  # CJK
    + "עבר"  # Hebrew (right to left)
    + "عربي"  # Arabic
    + "हिंदी"  # Devanagari, with combining marks
    + "\u0301\u00a0\u200b\u2028"  # a combining accent, NBSP, zero width space, LS
    + "😀🎙\ufe0f𝄞"  # beyond the BMP (four UTF-8 bytes), a variation selector
)
"""What a `storage.filename` prefix may hold: every script's kind of character (ASCII, two-,
three- and four-byte UTF-8, combining and invisible ones); no surrogates (not UTF-8) and no
control characters. A fixed alphabet: `st.characters()` builds Hypothesis's Unicode tables
on first use (seconds in a fresh process, failing the too_slow health check)."""

_KEY_TEXT = st.text(KEY_ALPHABET, min_size=1, max_size=48)

# The lifecycle's facts come from the schemas (`referencing` and its dependencies, compiled
# on first import in a fresh checkout): loaded now, not inside the first draw, where they
# took up to a second under load and failed Hypothesis's too_slow health check.
lifecycle()


@functools.cache
def filenames() -> st.SearchStrategy[str]:
    """A `storage.filename` prefix a customer might choose: folders with `/`, spaces, `+`,
    any script; shrinks toward the documented `record`."""
    return st.one_of(st.just(DOCUMENTED["filename"]), _KEY_TEXT)


@functools.cache
def object_keys(rec_id: str | None = None) -> st.SearchStrategy[str]:
    """The object key Aircore writes: `<storage.filename>_<recording id>.m4a`, at most 1,024
    bytes of UTF-8 (S3's limit)."""
    tail = f"_{rec_id or DOCUMENTED['recording_id']}.m4a"
    room = 1024 - len(tail.encode())
    return filenames().map(lambda prefix: _utf8_prefix(prefix, room) + tail)


ADDRESSING_STYLES = ("virtual", "global", "dualstack", "path", "path-global", "dualstack-path")
"""How an object's address may be written: virtual-hosted (`BUCKET.s3.REGION...`), us-east-1's
global endpoint (`BUCKET.s3.amazonaws.com`), dual-stack (IPv6) endpoints, and path style
(`s3.REGION.../BUCKET/KEY`), which is what a bucket name with dots needs over HTTPS."""


def styles_for(bucket: str, region: str) -> tuple[str, ...]:
    """The addressing styles S3 serves over HTTPS for this bucket and region."""
    styles = list(ADDRESSING_STYLES)
    if "." in bucket:
        # S3's wildcard certificates cover one label: a dotted name fails TLS virtual-hosted.
        styles = [s for s in styles if "path" in s]
    if region != "us-east-1":
        styles = [s for s in styles if s not in ("global", "path-global")]
    return tuple(styles)


def address(bucket: str, region: str, key: str, style: str) -> str:
    """The https address of `key` in `bucket` (in `region`) written in `style`."""
    suffix = DNS_SUFFIXES[partition_of(region)]
    path = quote(key, safe="/")
    if style == "virtual":
        return f"https://{bucket}.s3.{region}.{suffix}/{path}"
    if style == "global":
        return f"https://{bucket}.s3.amazonaws.com/{path}"
    if style == "dualstack":
        return f"https://{bucket}.s3.dualstack.{region}.{suffix}/{path}"
    if style == "path":
        return f"https://s3.{region}.{suffix}/{bucket}/{path}"
    if style == "path-global":
        return f"https://s3.amazonaws.com/{bucket}/{path}"
    if style == "dualstack-path":
        return f"https://s3.dualstack.{region}.{suffix}/{bucket}/{path}"
    raise ValueError(f"unknown addressing style {style!r}; styles: {', '.join(ADDRESSING_STYLES)}")


def _address(draw: st.DrawFn, bucket: str, region: str, key: str) -> str:
    styles = styles_for(bucket, region)
    # us-east-1's global endpoint is what the docs show: first, where it applies.
    ordered = _documented_first(styles, "global") if "global" in styles else styles
    return address(bucket, region, key, draw(_styles(ordered)))


@functools.cache
def _styles(ordered: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(ordered)


@st.composite
def addresses(
    draw: st.DrawFn,
    bucket: str | None = None,
    region: str | None = None,
    key: str | None = None,
) -> str:
    """An upload address for the bucket, region and key (each drawn when not given), in any
    addressing style S3 serves for them; shrinks toward the documented address."""
    bucket = draw(bucket_names()) if bucket is None else bucket
    region = draw(regions()) if region is None else region
    key = draw(object_keys()) if key is None else key
    return _address(draw, bucket, region, key)


# --- S3 failures --------------------------------------------------------------------------

_ACCOUNT = st.integers(10**11, 10**12 - 1)
_ACCESS_KEY = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16)
_KMS_KEY = st.integers(0, 2**128 - 1)
_FAMILIES = st.sampled_from(failure_families())  # bad-region (the documented one) first
_MISTAKES = st.sampled_from(BAD_REGIONS)  # us-east-1111's mistake first


def _same_partition(region: str) -> tuple[str, ...]:
    return tuple(c for c in REGION_CODES if c != region and partition_of(c) == partition_of(region))


def _failure_values(draw: st.DrawFn, names: frozenset[str], region: str) -> dict[str, str]:
    real = region if region in REGION_CODES else "us-east-1"
    part = partition_of(real)
    account = str(draw(_ACCOUNT))
    values: dict[str, str] = {}
    if "expected_region" in names:
        values["expected_region"] = draw(_styles(_same_partition(real)))
    if "account_id" in names:
        values["account_id"] = account
    if "access_key_id" in names:
        values["access_key_id"] = "AKIA" + draw(_ACCESS_KEY)
    if "key_arn" in names:
        key = f"{draw(_KMS_KEY):032x}"
        key_id = f"{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:]}"
        values["key_arn"] = f"arn:{part}:kms:{real}:{account}:key/{key_id}"
    if "user_arn" in names:
        values["user_arn"] = f"arn:{part}:iam::{account}:user/aircore-recorder"
    return values


@functools.cache
def _mistakes(region: str, family: str) -> tuple[str, ...]:
    # The values a customer who meant `region` could type that fail as `family`.
    values = (m.apply(region) for m in BAD_REGIONS)
    return tuple(v for v in values if failure_for_region(v).family == family)


def _reason(draw: st.DrawFn, family: str | None, bucket: str, region: str) -> str:
    if family is None:
        family = draw(_FAMILIES)
    if family in ("bad-region", "invalid-region"):
        # The customer meant `region` and typed a mistake; the SDK decides which failure.
        if family == "bad-region" and draw(_BUILD) is False:
            bad = BAD_REGIONS[0].apply(region)  # the documented mistake: us-east-1111
        else:
            bad = draw(_styles(_mistakes(region, family)))
        return failure_for_region(bad).render(bucket=bucket, bad_region=bad)
    entry = failure(family)
    values = {"bucket": bucket, "region": region}
    values.update(_failure_values(draw, entry.fields(), region))
    return entry.render(**{k: v for k, v in values.items() if k in entry.fields()})


@st.composite
def failure_reasons(draw: st.DrawFn, bucket: str | None = None, region: str | None = None) -> str:
    """A catalogued S3 failure's message for the bucket and region (drawn when not given);
    shrinks toward the documented `us-east-1111` message."""
    bucket = draw(bucket_names()) if bucket is None else bucket
    region = draw(regions()) if region is None else region
    return _reason(draw, None, bucket, region)


# --- recordings and callbacks -------------------------------------------------------------

_OUTCOMES = ("uploaded", "upload-failed", "in-progress", "stopped")
_UPLOAD_DELAY = st.integers(0, 10 * _MINUTE)


_START_OFFSET = st.integers(-_EPOCH_SPAN, _EPOCH_SPAN)
_DURATION_AROUND = st.integers(-DOCUMENTED["duration"], MAX_DURATION - DOCUMENTED["duration"])
_DURATION_EDGES = st.sampled_from((0, 1, MAX_DURATION))


# Which of the URL, the bucket and the filename are drawn rather than documented, in one draw
# (each draw has a fixed cost; 0, all three documented, is where shrinking heads).
_BUILT = st.integers(0, 7)


def _duration(draw: st.DrawFn) -> int:
    if draw(_EDGE) < 4:
        return int(DOCUMENTED["duration"] + draw(_DURATION_AROUND))
    return int(draw(_DURATION_EDGES))


def _lifecycle(draw: st.DrawFn, outcome: str | None, taken: set[str] | None = None) -> Recording:
    families = failure_families()
    chosen = outcome or draw(_styles(_OUTCOMES))
    start = DOCUMENTED["start_time"] + draw(_START_OFFSET)
    built = draw(_BUILT)
    url = _recording_url(draw, start, taken, bool(built & 1))
    if taken is not None:
        taken.add(url)
    rec_id = recording_id(url)
    # The same values as bucket_names() and filenames(), drawn without strategy objects of
    # their own: each layer of strategy costs time too.
    bucket = _any_bucket_name(draw) if built & 2 else str(DOCUMENTED["bucket"])
    region = draw(regions())
    filename = draw(_KEY_TEXT) if built & 4 else str(DOCUMENTED["filename"])
    if chosen == "in-progress":
        return Recording(url, start, None, None, region, bucket, filename, 0)
    duration = _duration(draw)
    reason = draw(_styles(lifecycle().stop_reasons))
    delay = draw(_UPLOAD_DELAY)
    recording = Recording(url, start, duration, reason, region, bucket, filename, delay)
    if chosen == "uploaded":
        tail = f"_{rec_id}.m4a"
        key = _utf8_prefix(filename, 1024 - len(tail.encode())) + tail
        recording.address = _address(draw, bucket, region, key)
    elif chosen != "stopped":
        family = chosen if chosen in families else None
        recording.failure_reason = _reason(draw, family, bucket, region)
        recording.failure = next(
            (f for f in UPLOAD_FAILURES if _matches(f.template, recording.failure_reason)), None
        )
    return recording


@st.composite
def lifecycles(draw: st.DrawFn, outcome: str | None = None) -> Recording:
    """One recording's whole life, coherent: its URL, start, duration, stop reason, bucket and
    upload (or S3 failure). `outcome`: uploaded, upload-failed, in-progress, stopped (no
    upload callback), or an S3 failure family (`aircore-mock scenarios --failures`)."""
    _check_outcome(outcome)
    return _lifecycle(draw, outcome)


def _check_outcome(outcome: str | None) -> None:
    families = failure_families()
    if outcome is not None and outcome not in _OUTCOMES and outcome not in families:
        known = ", ".join((*_OUTCOMES, *families))
        raise ValueError(f"unknown outcome {outcome!r}; outcomes: {known}")


@functools.cache
def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[a-z_]+\}", template)
    return re.compile(".*?".join(re.escape(p) for p in parts), re.DOTALL)


def _matches(template: str, message: str) -> bool:
    return _template_regex(template).fullmatch(message) is not None


def _events() -> tuple[str, ...]:
    r = lifecycle()
    # The documented uploaded example comes first: everything shrinks toward it.
    return (r.uploaded, r.started, r.stopped, r.upload_failed)


_UNKNOWN_SHARE = st.integers(0, 9)


def _callback(draw: st.DrawFn, event: str | None, strict: bool) -> Callback:
    chosen = event or draw(_styles(_events()))
    outcome = "upload-failed" if chosen == lifecycle().upload_failed else "uploaded"
    recording = _lifecycle(draw, outcome)
    callback = next(c for c in recording.callbacks() if c["event"] == chosen)
    callback["timestamp"] = _stamp(draw, callback["timestamp"])
    if not strict and draw(_UNKNOWN_SHARE) >= 7:
        callback = _add_the_unknown(draw, callback)
    return callback


@st.composite
def callbacks(draw: st.DrawFn, event: str | None = None, strict: bool = False) -> Callback:
    """One callback of `event` (any of the four when None), from a coherent recording, with
    clock skew both ways. With `strict`, exactly what Aircore documents (valid under the
    strict schemas); without, three in ten also carry something Aircore may add tomorrow
    (see `forward_compatible_callbacks`; valid under the default schemas)."""
    if event is not None and event not in _events():
        raise ValueError(f"unknown event {event!r}; events: {', '.join(_events())}")
    return _callback(draw, event, strict)


# --- what Aircore may add -----------------------------------------------------------------

# Built from alphabets, not regexes: `st.from_regex` takes seconds on first use in a fresh
# process (Hypothesis's Unicode tables), failing the too_slow health check.
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_IDENTIFIER = st.builds(
    str.__add__,
    st.sampled_from(_LOWER),
    st.text(_LOWER + _LOWER.upper() + "0123456789", max_size=15),
)
_EVENT_SUFFIX = st.text(_LOWER, min_size=3, max_size=12)
_JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(KEY_ALPHABET, max_size=20),
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(KEY_ALPHABET, max_size=8), inner, max_size=3),
    ),
    max_leaves=6,
)
_ADDITION = st.sampled_from(("fields", "reason", "state", "event"))
_PLACE = st.sampled_from(("top", "recording", "location"))


def _new_name(draw: st.DrawFn, taken: Any) -> str:
    name = draw(_IDENTIFIER)
    while name in taken:  # a repair, not a filter: no example is thrown away
        name += "x"
    return name


def _add_the_unknown(draw: st.DrawFn, callback: Callback, kind: str | None = None) -> Callback:
    r = lifecycle()
    callback = {**callback, "recording": dict(callback["recording"])}
    recording = callback["recording"]
    what = kind or draw(_ADDITION)
    if what == "reason" and callback["event"] == r.stopped:
        recording["reason"] = _new_name(draw, r.stop_reasons)
    elif what == "state":
        recording["state"] = _new_name(draw, ("started", "stopped"))
    elif what == "event":
        name = f"recording-{draw(_EVENT_SUFFIX)}"
        callback["event"] = name if name not in _events() else name + "-v2"
    else:
        place = draw(_PLACE)
        target = callback if place == "top" else recording
        if place == "location" and isinstance(recording.get("location"), dict):
            target = recording["location"] = dict(recording["location"])
        target[_new_name(draw, target)] = draw(_JSON)
    return callback


UNKNOWN_KINDS = ("fields", "reason", "state", "event")
"""What Aircore may add: extra fields, a stop reason, a state, an event type."""


@st.composite
def forward_compatible_callbacks(
    draw: st.DrawFn, event: str | None = None, kind: str | None = None
) -> Callback:
    """A callback carrying something Aircore's docs do not list yet (`kind`: an extra field
    anywhere, a new stop reason or state, a new event type; any when None): valid under the
    default schemas only."""
    if kind is not None and kind not in UNKNOWN_KINDS:
        raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(UNKNOWN_KINDS)}")
    if kind == "reason":
        event = lifecycle().stopped  # only a stop carries a stop reason
    return _add_the_unknown(draw, _callback(draw, event, strict=True), kind)


# --- deliveries ---------------------------------------------------------------------------

DELIVERY_FAULTS = ("duplicate", "out-of-order", "reversed", "redelivered")
_FAULT = st.sampled_from((None, *DELIVERY_FAULTS))
_RETRY_AFTER = st.integers(1, 30 * _MINUTE)
_INDEX = [st.integers(0, n) for n in range(8)]


def _index(draw: st.DrawFn, size: int) -> int:
    return draw(_INDEX[size - 1]) if size <= len(_INDEX) else draw(st.integers(0, size - 1))


def _sequence(draw: st.DrawFn, recording: Recording, faults: bool) -> list[Delivery]:
    origin = DOCUMENTED["start_time"]
    items = []
    for callback in recording.callbacks():
        callback["timestamp"] = _stamp(draw, callback["timestamp"])
        items.append(Delivery(callback, recording.url, max(callback["timestamp"] - origin, 0)))
    fault = draw(_FAULT) if faults and len(items) > 1 else None
    if fault == "duplicate":
        i = _index(draw, len(items))
        items.insert(i + 1, items[i]._replace(quirk="duplicate"))
    elif fault == "out-of-order":
        items[-1], items[-2] = items[-2], items[-1]._replace(quirk="out-of-order")
    elif fault == "reversed":
        items = [d._replace(quirk="reversed") for d in reversed(items)]
    elif fault == "redelivered":
        # A retry: the same callback again, later, re-stamped as a sender's retry would be.
        i = _index(draw, len(items))
        later = draw(_RETRY_AFTER)
        again = dict(items[i].callback, timestamp=items[i].callback["timestamp"] + later)
        items.append(Delivery(again, recording.url, items[i].offset_ms + later, "redelivered"))
    return items


@st.composite
def deliveries(
    draw: st.DrawFn,
    outcome: str | None = None,
    max_recordings: int = 4,
    faults: bool = True,
) -> list[Delivery]:
    """Several recordings' callbacks interleaved as they might arrive, each recording's in
    order unless a fault (duplicate, out-of-order, reversed, redelivered) says otherwise.
    Shrinks toward one recording, delivered as the docs describe."""
    _check_outcome(outcome)
    count = 1 + _index(draw, max_recordings) if max_recordings > 1 else 1
    taken: set[str] = set()
    sequences = [_sequence(draw, _lifecycle(draw, outcome, taken), faults) for _ in range(count)]
    out: list[Delivery] = []
    # Which recording goes next, drawn step by step: shrinks to one after the other.
    while any(sequences):
        live = [i for i, s in enumerate(sequences) if s]
        pick = live[_index(draw, len(live))] if len(live) > 1 else live[0]
        out.append(sequences[pick].pop(0))
    return out
