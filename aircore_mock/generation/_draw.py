"""Draws from a seeded `random.Random` (the generator's, which its Faker instance shares):
fast picks, and every Aircore and AWS value, defined once here for both the Faker provider
(which passes its instance's random) and the generator (which calls these directly, with no
provider between). Same seed, same values.

Nothing here imports Faker, so generating callbacks does not pay for loading it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from random import Random
from typing import TypeVar

from .facts import (
    AWS_REGIONS,
    BAD_REGIONS,
    DNS_SUFFIXES,
    REGION_CODES,
    UPLOAD_FAILURES,
    UploadFailure,
    failure,
    failure_for_region,
    partition_of,
)

T = TypeVar("T")


def pick(random: Random, items: Sequence[T]) -> T:
    """`random.choice`, about three times faster (one C call); same seed, same pick."""
    return items[int(random.random() * len(items))]


def between(random: Random, low: int, high: int) -> int:
    """An int in [low, high), like `random.randrange`, about three times faster."""
    return low + int(random.random() * (high - low))


# Aircore's recording servers run in the commercial partition (its docs show eu-central-1);
# customers' buckets may live in any partition.
SERVER_REGIONS: tuple[str, ...] = tuple(r.code for r in AWS_REGIONS if r.partition == "aws")

# Words customers plausibly put in bucket names and file name prefixes.
BUCKET_WORDS = (
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
    "aperture",
    "soylent",
    "vandelay",
    "oscorp",
    "pied-piper",
    "dunder",
)
BUCKET_PURPOSES = (
    "recordings",
    "call-recordings",
    "audio",
    "media",
    "voice-archive",
    "podcasts",
    "meetings",
    "aircore",
    "rec",
    "prod-recordings",
    "staging-audio",
)
FILENAME_PREFIXES = (
    "record",
    "recording",
    "rec",
    "call",
    "meeting",
    "session",
    "room",
    "episode",
    "townhall",
    "support-call",
    "standup",
)
_HOUR, _MINUTE, _SECOND = 3_600_000, 60_000, 1_000
# 2023-01-01 .. 2026-01-01 UTC: default start times are drawn from a fixed window, never
# from the clock, so that a seed alone decides the output.
EPOCH_WINDOW = (1_672_531_200_000, 1_767_225_600_000)
# Failures caused by the region value itself; the catalogue's failure_for_region picks which.
REGION_FAMILIES = frozenset({"bad-region", "invalid-region"})


def s3_host(region: str) -> str:
    """The S3 endpoint domain of a region's partition."""
    return DNS_SUFFIXES[partition_of(region)]


def start_time(random: Random) -> int:
    """An epoch-millisecond start time inside a fixed window (2023 to 2025)."""
    return between(random, *EPOCH_WINDOW)


def instance_id(random: Random) -> str:
    """An EC2 instance id: `i-` and 17 lowercase hex digits."""
    return f"i-{random.getrandbits(68):017x}"


def recording_id(random: Random, start_time: int) -> str:
    """`<epoch ms>-<n>-<n>`, as in Aircore's examples; created just before the start."""
    # between() written out (the same draws): this runs once per recording generated.
    draw = random.random
    created = start_time - 20 - int(draw() * 1480)
    return f"{created}-{int(draw() * 4)}-{100_000 + int(draw() * 900_000)}"


def url_and_id(
    random: Random, start_time: int, region: str | None = None, instance: str | None = None
) -> tuple[str, str]:
    """An internal recording URL in Aircore's shape (a `vandenberg-...` host, port 8080) and
    the recording id it ends with (returned too, so nobody parses it back out of the URL)."""
    # pick() and instance_id() written out: this runs once per recording generated.
    region = region or SERVER_REGIONS[int(random.random() * len(SERVER_REGIONS))]
    instance = instance or f"i-{random.getrandbits(68):017x}"
    identifier = recording_id(random, start_time)
    return (
        f"http://vandenberg-{instance}-{region}.prod.airtime.com:8080/recording/{identifier}",
        identifier,
    )


def s3_bucket(random: Random) -> str:
    """A bucket name that follows S3's rules (3-63 chars, lowercase, digits, hyphens)."""
    draw = random.random
    name = (
        f"{BUCKET_WORDS[int(draw() * len(BUCKET_WORDS))]}"
        f"-{BUCKET_PURPOSES[int(draw() * len(BUCKET_PURPOSES))]}"
    )
    if draw() < 0.5:
        name += f"-{random.getrandbits(16):04x}"
    return name


# The S3 host of each region after the bucket name, e.g. `s3.eu-west-1.amazonaws.com`; us-east-1
# has the legacy global endpoint, as in Aircore's documented example.
_S3_HOSTS = {code: f"s3.{code}.{s3_host(code)}" for code in REGION_CODES} | {
    "us-east-1": "s3.amazonaws.com"
}


def upload_address(bucket: str, region: str, filename: str, recording_id: str) -> str:
    """`https://<bucket>.s3[.<region>].amazonaws.com/<prefix>_<recording id>.m4a`."""
    host = _S3_HOSTS.get(region) or f"s3.{region}.{s3_host(region)}"
    return f"https://{bucket}.{host}/{filename}_{recording_id}.m4a"


def duration(random: Random) -> int:
    """Milliseconds, shaped like real calls: mostly minutes, some seconds, a few hours."""
    draw = random.random()
    if draw < 0.15:
        return between(random, 2 * _SECOND, _MINUTE)
    if draw < 0.93:
        return between(random, _MINUTE, 60 * _MINUTE)
    return between(random, _HOUR, 5 * _HOUR)


def upload_delay(random: Random, duration: int) -> int:
    """Milliseconds from the stop to the upload callback: a few seconds, more for long files."""
    # ~1.5 s of overhead, plus the upload of an AAC file of ~1 MB a minute.
    return between(random, 800, 3_500) + duration // 400


def aws_account_id(random: Random) -> str:
    """A 12-digit AWS account id."""
    return f"{between(random, 10**11, 10**12)}"


def aws_access_key_id(random: Random) -> str:
    """An IAM user access key id: `AKIA` and 16 upper-case letters and digits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    bits = random.getrandbits(80)
    return "AKIA" + "".join(alphabet[(bits >> (5 * i)) & 31] for i in range(16))


def kms_key_arn(random: Random, region: str, account_id: str) -> str:
    """The ARN of a customer-managed KMS key."""
    key = f"{random.getrandbits(128):032x}"
    key_id = f"{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:]}"
    return f"arn:{partition_of(region)}:kms:{region}:{account_id}:key/{key_id}"


def wrong_region(random: Random, region: str) -> str:
    """Another real region of the same partition: where the bucket really is."""
    while True:
        other = pick(random, REGION_CODES)
        # Same partition, not merely the same DNS suffix: GovCloud shares the commercial
        # suffix, yet S3 in one never names a region of the other.
        if other != region and partition_of(other) == partition_of(region):
            return other


@functools.cache
def mistakes(region: str, family: str) -> tuple[str, ...]:
    """The values a customer who meant `region` could send that fail as `family`."""
    values = (mistake.apply(region) for mistake in BAD_REGIONS)
    return tuple(value for value in values if failure_for_region(value).family == family)


# The first (most common) entry of each family, as `facts.failure` finds it.
_FIRST = {family: failure(family) for family in dict.fromkeys(e.family for e in UPLOAD_FAILURES)}


@functools.cache
def _fields(template: str) -> tuple[str, ...]:
    # A template's fields, parsed once (parsing costs more than the rest of a failure).
    return tuple(sorted(next(e for e in UPLOAD_FAILURES if e.template == template).fields()))


@functools.lru_cache(maxsize=1024)
def _region_failure(bad_region: str) -> UploadFailure:
    # The SDK's failure for a mistaken region: a few hundred values come from real regions;
    # a pinned region that is not real is one more.
    return failure_for_region(bad_region)


def _value(random: Random, name: str, bucket: str, region: str, account: list[str]) -> str:
    if name == "bucket":
        return bucket
    if name == "region":
        return region
    if name == "expected_region":
        return wrong_region(random, region if region in REGION_CODES else "us-east-1")
    if not account:
        account.append(aws_account_id(random))
    if name == "account_id":
        return account[0]
    if name == "access_key_id":
        return aws_access_key_id(random)
    real = region if region in REGION_CODES else "us-east-1"
    if name == "key_arn":
        return kms_key_arn(random, real, account[0])
    if name == "user_arn":
        return f"arn:{partition_of(real)}:iam::{account[0]}:user/aircore-recorder"
    raise KeyError(name)


def upload_failure(
    random: Random, family: str, bucket: str, region: str
) -> tuple[UploadFailure, str]:
    """A catalogued failure of `family` and the S3 client's message for this bucket/region.

    Region failures derive the mistaken region from `region` (or use it as it is, when it
    is not a real region), and the entry is the one the SDK raises for that value.
    """
    # `template.format` rather than `render`: the values are the template's own fields, so
    # render's checks (which parse the template again) cannot fail here.
    if family in REGION_FAMILIES:
        bad = pick(random, mistakes(region, family)) if region in REGION_CODES else region
        entry = _region_failure(bad)
        return entry, entry.template.format(bucket=bucket, bad_region=bad)
    entry = _FIRST.get(family) or failure(family)  # failure() raises for an unknown family
    account: list[str] = []
    # The fields in a fixed order: the draws follow it.
    values = {n: _value(random, n, bucket, region, account) for n in _fields(entry.template)}
    return entry, entry.template.format(**values)
