"""A Faker provider for Aircore and AWS values: recording URLs, regions, buckets, S3 failures."""

from __future__ import annotations

import functools

from faker.providers import BaseProvider

from ._draw import between, pick
from .facts import (
    AWS_REGIONS,
    BAD_REGIONS,
    DNS_SUFFIXES,
    REGION_CODES,
    UploadFailure,
    failure,
    failure_for_region,
    partition_of,
)

# Aircore's recording servers run in the commercial partition (its docs show eu-central-1);
# customers' buckets may live in any partition.
SERVER_REGIONS: tuple[str, ...] = tuple(r.code for r in AWS_REGIONS if r.partition == "aws")

# Words customers plausibly put in bucket names and file name prefixes.
_BUCKET_WORDS = (
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
_BUCKET_PURPOSES = (
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
_FILENAME_PREFIXES = (
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
_EPOCH_WINDOW = (1_672_531_200_000, 1_767_225_600_000)
# Failures caused by the region value itself; the catalogue's failure_for_region picks which.
REGION_FAMILIES = frozenset({"bad-region", "invalid-region"})


@functools.cache
def _mistakes(region: str, family: str) -> tuple[str, ...]:
    # The values a customer who meant `region` could send that fail as `family`.
    values = (mistake.apply(region) for mistake in BAD_REGIONS)
    return tuple(value for value in values if failure_for_region(value).family == family)


def s3_host(region: str) -> str:
    """The S3 endpoint domain of a region's partition."""
    return DNS_SUFFIXES[partition_of(region)]


class AircoreProvider(BaseProvider):
    """Aircore / AWS values, drawn only from the owning Faker instance's seeded random."""

    def aws_region(self) -> str:
        """A real AWS region code, from any partition."""
        return pick(self.generator.random, REGION_CODES)

    def recording_server_region(self) -> str:
        """A commercial-partition region, where Aircore's recording servers run."""
        return pick(self.generator.random, SERVER_REGIONS)

    def ec2_instance_id(self) -> str:
        """An EC2 instance id: `i-` and 17 lowercase hex digits."""
        return f"i-{self.generator.random.getrandbits(68):017x}"

    def recording_start_time(self) -> int:
        """An epoch-millisecond start time inside a fixed window (2023 to 2025)."""
        return between(self.generator.random, *_EPOCH_WINDOW)

    def recording_id(self, start_time: int) -> str:
        """`<epoch ms>-<n>-<n>`, as in Aircore's examples; created just before the start."""
        random = self.generator.random
        created = start_time - between(random, 20, 1500)
        return f"{created}-{between(random, 0, 4)}-{between(random, 100_000, 1_000_000)}"

    def recording_url(
        self, *, start_time: int, region: str | None = None, instance_id: str | None = None
    ) -> str:
        """An internal recording URL in Aircore's shape (a `vandenberg-...` host, port 8080)."""
        region = region or self.recording_server_region()
        instance_id = instance_id or self.ec2_instance_id()
        return (
            f"http://vandenberg-{instance_id}-{region}.prod.airtime.com:8080/recording/"
            f"{self.recording_id(start_time)}"
        )

    def s3_bucket(self) -> str:
        """A bucket name that follows S3's rules (3-63 chars, lowercase, digits, hyphens)."""
        random = self.generator.random
        name = f"{pick(random, _BUCKET_WORDS)}-{pick(random, _BUCKET_PURPOSES)}"
        if random.random() < 0.5:
            name += f"-{random.getrandbits(16):04x}"
        return name

    def filename_prefix(self) -> str:
        """The `storage.filename` prefix a customer puts in the start-recording request."""
        return pick(self.generator.random, _FILENAME_PREFIXES)

    def upload_address(self, *, bucket: str, region: str, filename: str, recording_id: str) -> str:
        """`https://<bucket>.s3[.<region>].amazonaws.com/<prefix>_<recording id>.m4a`."""
        key = f"{filename}_{recording_id}.m4a"
        if region == "us-east-1":
            # The legacy global endpoint, as in Aircore's documented example.
            return f"https://{bucket}.s3.amazonaws.com/{key}"
        return f"https://{bucket}.s3.{region}.{s3_host(region)}/{key}"

    def recording_duration(self) -> int:
        """Milliseconds, shaped like real calls: mostly minutes, some seconds, a few hours."""
        random = self.generator.random
        draw = random.random()
        if draw < 0.15:
            return between(random, 2 * _SECOND, _MINUTE)
        if draw < 0.93:
            return between(random, _MINUTE, 60 * _MINUTE)
        return between(random, _HOUR, 5 * _HOUR)

    def upload_delay(self, duration: int) -> int:
        """Milliseconds from the stop to the upload callback: a few seconds, more for long files."""
        # ~1.5 s of overhead, plus the upload of an AAC file of ~1 MB a minute.
        return between(self.generator.random, 800, 3_500) + duration // 400

    def aws_account_id(self) -> str:
        """A 12-digit AWS account id."""
        return f"{between(self.generator.random, 10**11, 10**12)}"

    def aws_access_key_id(self) -> str:
        """An IAM user access key id: `AKIA` and 16 upper-case letters and digits."""
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        bits = self.generator.random.getrandbits(80)
        return "AKIA" + "".join(alphabet[(bits >> (5 * i)) & 31] for i in range(16))

    def kms_key_arn(self, *, region: str, account_id: str) -> str:
        """The ARN of a customer-managed KMS key."""
        random = self.generator.random
        key = f"{random.getrandbits(128):032x}"
        key_id = f"{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:]}"
        return f"arn:{partition_of(region)}:kms:{region}:{account_id}:key/{key_id}"

    def bad_region(self, region: str) -> str:
        """A region code a customer could mistype for `region`; never a real one."""
        return pick(self.generator.random, BAD_REGIONS).apply(region)

    def wrong_region(self, region: str) -> str:
        """Another real region of the same partition: where the bucket really is."""
        random = self.generator.random
        while True:
            other = pick(random, REGION_CODES)
            # Same partition, not merely the same DNS suffix: GovCloud shares the commercial
            # suffix, yet S3 in one never names a region of the other.
            if other != region and partition_of(other) == partition_of(region):
                return other

    def _failure_value(self, name: str, bucket: str, region: str, account: list[str]) -> str:
        if name == "bucket":
            return bucket
        if name == "region":
            return region
        if name == "expected_region":
            return self.wrong_region(region if region in REGION_CODES else "us-east-1")
        if not account:
            account.append(self.aws_account_id())
        if name == "account_id":
            return account[0]
        if name == "access_key_id":
            return self.aws_access_key_id()
        if name == "key_arn":
            real = region if region in REGION_CODES else "us-east-1"
            return self.kms_key_arn(region=real, account_id=account[0])
        if name == "user_arn":
            real = region if region in REGION_CODES else "us-east-1"
            return f"arn:{partition_of(real)}:iam::{account[0]}:user/aircore-recorder"
        raise KeyError(name)

    def upload_failure(self, family: str, *, bucket: str, region: str) -> tuple[UploadFailure, str]:
        """A catalogued failure of `family` and the S3 client's message for this bucket/region.

        Region failures derive the mistaken region from `region` (or use it as it is, when it
        is not a real region), and the entry is the one the SDK raises for that value.
        """
        if family in REGION_FAMILIES:
            if region in REGION_CODES:
                bad = pick(self.generator.random, _mistakes(region, family))
            else:
                bad = region
            entry = failure_for_region(bad)
            return entry, entry.render(bucket=bucket, bad_region=bad)
        entry = failure(family)
        account: list[str] = []
        values = {
            name: self._failure_value(name, bucket, region, account)
            for name in sorted(entry.fields())
        }
        return entry, entry.render(**values)
