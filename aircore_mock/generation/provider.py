"""A Faker provider for Aircore and AWS values: recording URLs, regions, buckets, S3 failures.

Each method draws through `_draw` from the owning Faker instance's seeded random, the same
functions the generator calls directly.
"""

from __future__ import annotations

from faker.providers import BaseProvider

from . import _draw
from ._draw import REGION_FAMILIES, SERVER_REGIONS, pick, s3_host
from .facts import BAD_REGIONS, REGION_CODES, UploadFailure

__all__ = ["REGION_FAMILIES", "SERVER_REGIONS", "AircoreProvider", "s3_host"]


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
        return _draw.instance_id(self.generator.random)

    def recording_start_time(self) -> int:
        """An epoch-millisecond start time inside a fixed window (2023 to 2025)."""
        return _draw.start_time(self.generator.random)

    def recording_id(self, start_time: int) -> str:
        """`<epoch ms>-<n>-<n>`, as in Aircore's examples; created just before the start."""
        return _draw.recording_id(self.generator.random, start_time)

    def recording_url(
        self, *, start_time: int, region: str | None = None, instance_id: str | None = None
    ) -> str:
        """An internal recording URL in Aircore's shape (a `vandenberg-...` host, port 8080)."""
        return _draw.url_and_id(self.generator.random, start_time, region, instance_id)[0]

    def s3_bucket(self) -> str:
        """A bucket name that follows S3's rules (3-63 chars, lowercase, digits, hyphens)."""
        return _draw.s3_bucket(self.generator.random)

    def filename_prefix(self) -> str:
        """The `storage.filename` prefix a customer puts in the start-recording request."""
        return pick(self.generator.random, _draw.FILENAME_PREFIXES)

    def upload_address(self, *, bucket: str, region: str, filename: str, recording_id: str) -> str:
        """`https://<bucket>.s3[.<region>].amazonaws.com/<prefix>_<recording id>.m4a`."""
        return _draw.upload_address(bucket, region, filename, recording_id)

    def recording_duration(self) -> int:
        """Milliseconds, shaped like real calls: mostly minutes, some seconds, a few hours."""
        return _draw.duration(self.generator.random)

    def upload_delay(self, duration: int) -> int:
        """Milliseconds from the stop to the upload callback: a few seconds, more for long files."""
        return _draw.upload_delay(self.generator.random, duration)

    def aws_account_id(self) -> str:
        """A 12-digit AWS account id."""
        return _draw.aws_account_id(self.generator.random)

    def aws_access_key_id(self) -> str:
        """An IAM user access key id: `AKIA` and 16 upper-case letters and digits."""
        return _draw.aws_access_key_id(self.generator.random)

    def kms_key_arn(self, *, region: str, account_id: str) -> str:
        """The ARN of a customer-managed KMS key."""
        return _draw.kms_key_arn(self.generator.random, region, account_id)

    def bad_region(self, region: str) -> str:
        """A region code a customer could mistype for `region`; never a real one."""
        return pick(self.generator.random, BAD_REGIONS).apply(region)

    def wrong_region(self, region: str) -> str:
        """Another real region of the same partition: where the bucket really is."""
        return _draw.wrong_region(self.generator.random, region)

    def upload_failure(self, family: str, *, bucket: str, region: str) -> tuple[UploadFailure, str]:
        """A catalogued failure of `family` and the S3 client's message for this bucket/region.

        Region failures derive the mistaken region from `region` (or use it as it is, when it
        is not a real region), and the entry is the one the SDK raises for that value.
        """
        return _draw.upload_failure(self.generator.random, family, bucket, region)
