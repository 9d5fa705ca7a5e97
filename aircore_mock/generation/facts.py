"""Real AWS regions, the region mistakes customers make, and the S3 upload failures they cause.

Aircore's `recording-upload-failed` callback carries, as `recording.reason`, the message of the
error its S3 client raised. Its documented example ("Inaccessible host: `youraccount.s3.us-east-1111
.amazonaws.com' at port `undefined'. ...") is the AWS SDK for JavaScript v2 `UnknownEndpoint`
message, so every template here is the `error.message` that SDK surfaces for its condition.

Template fields, filled by the generator with one recording's values:

- `{bucket}`: `storage.s3.bucket` from the start-recording request.
- `{region}`: `storage.s3.region` from the request when it is a real region code.
- `{bad_region}`: `storage.s3.region` when it is a mistake (see `BAD_REGIONS`).
- `{expected_region}`: the region the bucket really lives in.
- `{account_id}`: the 12-digit account that owns the access key.
- `{user_arn}`: the IAM user that owns the access key
  (`arn:<partition>:iam::<account_id>:user/<name>`).
- `{key_arn}`: the KMS key of the bucket's default encryption (`arn:<partition>:kms:<region>:...`).
- `{access_key_id}`: `storage.s3.access_key_id` from the request.

ARNs, S3 endpoints and the region S3 says it expects all stay in the partition of the request's
region: a China or GovCloud bucket cannot be reached with, or named by, another partition.
"""

from __future__ import annotations

import ipaddress
import re
import string
from dataclasses import dataclass

__all__ = [
    "AWS_REGIONS",
    "BAD_REGIONS",
    "DNS_SUFFIXES",
    "REGION_CODES",
    "TEMPLATE_FIELDS",
    "UPLOAD_FAILURES",
    "BadRegion",
    "Region",
    "UploadFailure",
    "bucket_name_problem",
    "failure",
    "failure_families",
    "failure_for_region",
    "partition_of",
]


@dataclass(frozen=True)
class Region:
    code: str
    partition: str  # "aws", "aws-cn", "aws-us-gov"
    # The console's display name: customers paste it where the code belongs.
    name: str


# Source: the partitions in botocore's endpoints.json / the AWS SDKs' partitions.json, which
# match AWS's "Regions and Availability Zones" page. The ISO partitions and the European
# Sovereign Cloud (aws-eusc) are left out: a customer of a commercial service such as Aircore
# cannot have a bucket there.
AWS_REGIONS: tuple[Region, ...] = (
    Region("us-east-1", "aws", "US East (N. Virginia)"),
    Region("us-east-2", "aws", "US East (Ohio)"),
    Region("us-west-1", "aws", "US West (N. California)"),
    Region("us-west-2", "aws", "US West (Oregon)"),
    Region("af-south-1", "aws", "Africa (Cape Town)"),
    Region("ap-east-1", "aws", "Asia Pacific (Hong Kong)"),
    Region("ap-east-2", "aws", "Asia Pacific (Taipei)"),
    Region("ap-south-1", "aws", "Asia Pacific (Mumbai)"),
    Region("ap-south-2", "aws", "Asia Pacific (Hyderabad)"),
    Region("ap-northeast-1", "aws", "Asia Pacific (Tokyo)"),
    Region("ap-northeast-2", "aws", "Asia Pacific (Seoul)"),
    Region("ap-northeast-3", "aws", "Asia Pacific (Osaka)"),
    Region("ap-southeast-1", "aws", "Asia Pacific (Singapore)"),
    Region("ap-southeast-2", "aws", "Asia Pacific (Sydney)"),
    Region("ap-southeast-3", "aws", "Asia Pacific (Jakarta)"),
    Region("ap-southeast-4", "aws", "Asia Pacific (Melbourne)"),
    Region("ap-southeast-5", "aws", "Asia Pacific (Malaysia)"),
    Region("ap-southeast-6", "aws", "Asia Pacific (New Zealand)"),
    Region("ap-southeast-7", "aws", "Asia Pacific (Thailand)"),
    Region("ca-central-1", "aws", "Canada (Central)"),
    Region("ca-west-1", "aws", "Canada West (Calgary)"),
    Region("eu-central-1", "aws", "Europe (Frankfurt)"),
    Region("eu-central-2", "aws", "Europe (Zurich)"),
    Region("eu-west-1", "aws", "Europe (Ireland)"),
    Region("eu-west-2", "aws", "Europe (London)"),
    Region("eu-west-3", "aws", "Europe (Paris)"),
    Region("eu-south-1", "aws", "Europe (Milan)"),
    Region("eu-south-2", "aws", "Europe (Spain)"),
    Region("eu-north-1", "aws", "Europe (Stockholm)"),
    Region("il-central-1", "aws", "Israel (Tel Aviv)"),
    Region("me-south-1", "aws", "Middle East (Bahrain)"),
    Region("me-central-1", "aws", "Middle East (UAE)"),
    Region("mx-central-1", "aws", "Mexico (Central)"),
    Region("sa-east-1", "aws", "South America (Sao Paulo)"),
    Region("cn-north-1", "aws-cn", "China (Beijing)"),
    Region("cn-northwest-1", "aws-cn", "China (Ningxia)"),
    Region("us-gov-west-1", "aws-us-gov", "AWS GovCloud (US-West)"),
    Region("us-gov-east-1", "aws-us-gov", "AWS GovCloud (US-East)"),
)

REGION_CODES: tuple[str, ...] = tuple(region.code for region in AWS_REGIONS)
_REGIONS_BY_CODE = {region.code: region for region in AWS_REGIONS}

# Each partition's DNS suffix, as in the SDKs' partitions.json: S3 endpoints end in it.
DNS_SUFFIXES: dict[str, str] = {
    "aws": "amazonaws.com",
    "aws-cn": "amazonaws.com.cn",
    "aws-us-gov": "amazonaws.com",
}


# S3's rules for general purpose bucket names (the AWS docs' "Bucket naming rules").
_BUCKET_CHARS = re.compile(r"[a-z0-9.-]+")
_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(bucket: str) -> str | None:
    """Which of S3's bucket naming rules `bucket` breaks, in words; None if S3 accepts it."""
    if not 3 <= len(bucket) <= 63:
        return f"is {len(bucket)} characters long; S3 wants 3 to 63"
    if not _BUCKET_CHARS.fullmatch(bucket):
        odd = sorted({c for c in bucket if not _BUCKET_CHARS.fullmatch(c)})
        shown = ", ".join(repr(c) for c in odd)
        return f"has {shown}; S3 allows only lowercase letters, digits, dots and hyphens"
    if not (bucket[0].isalnum() and bucket[-1].isalnum()):
        return "must begin and end with a lowercase letter or a digit"
    if ".." in bucket:
        return "has two dots in a row"
    try:
        ipaddress.IPv4Address(bucket)
    except ValueError:
        pass
    else:
        return "is shaped like an IP address"
    for prefix in _BUCKET_PREFIXES:
        if bucket.startswith(prefix):
            return f"begins with {prefix!r}, which S3 reserves"
    for suffix in _BUCKET_SUFFIXES:
        if bucket.endswith(suffix):
            return f"ends with {suffix!r}, which S3 reserves"
    return None


def partition_of(region: str) -> str:
    """The partition of a region code ("aws", "aws-cn", "aws-us-gov").

    A code not in REGION_CODES gets the partition whose pattern it matches, as the SDKs pick it
    (three dash-separated parts starting "cn-" or "us-gov-"), else the commercial one.
    """
    known = _REGIONS_BY_CODE.get(region)
    if known is not None:
        return known.partition
    parts = region.split("-")
    if parts[0] == "cn" and len(parts) == 3:
        return "aws-cn"
    if parts[:2] == ["us", "gov"] and len(parts) == 4:
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class BadRegion:
    """A mistake in `storage.s3.region`, as a template over the region the customer meant.

    Fields: `{region}` the real code, `{area}` everything before the direction ("us",
    "us-gov"), `{direction}` ("east"), `{doubled}` the direction with its last letter typed
    twice ("eastt"), `{number}` ("1") and `{name}` the display name.
    """

    value_template: str
    kind: str

    def apply(self, region: str) -> str:
        """The mistaken value a customer who meant `region` would send."""
        known = _REGIONS_BY_CODE.get(region)
        if known is None:
            raise ValueError(f"{region!r} is not a region code in REGION_CODES")
        *area, direction, number = region.split("-")
        return self.value_template.format(
            region=region,
            area="-".join(area),
            direction=direction,
            # The last letter, not a random one, so a scenario is reproducible from its region.
            doubled=direction + direction[-1],
            number=number,
            name=known.name,
        )


# What each mistake turns into differs, and `failure_for_region` knows which: the SDK refuses
# a value that cannot be a host-name label before sending anything; anything else becomes a
# host name that does not resolve. Wrong case ("US-EAST-1") is deliberately not here: DNS
# ignores case, S3 answers AuthorizationHeaderMalformed naming the right region, and the SDK's
# retry with that region succeeds, so no callback would report it. Nor is an empty value: the
# SDK defaults it to us-east-1 before any check, which reaches the bucket the same way.
BAD_REGIONS: tuple[BadRegion, ...] = (
    BadRegion("{region}111", "extra-digits"),  # the documented us-east-1111
    BadRegion("{area}-{direction}{number}", "missing-hyphen"),
    BadRegion("{area}-{doubled}-{number}", "doubled-letter"),
    BadRegion("{region}a", "availability-zone"),
    BadRegion("{area}-middle-1", "made-up-region"),
    BadRegion("{name}", "display-name"),
    BadRegion("{region} ", "trailing-whitespace"),
)

TEMPLATE_FIELDS: frozenset[str] = frozenset(
    {
        "bucket",
        "region",
        "bad_region",
        "expected_region",
        "account_id",
        "key_arn",
        "access_key_id",
        "user_arn",
    }
)

_KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class UploadFailure:
    family: str
    code: str
    cause: str
    template: str

    def __post_init__(self) -> None:
        # Fail at import, not in a generated callback, when an entry is mistyped.
        if not _KEBAB.fullmatch(self.family):
            raise ValueError(f"family {self.family!r} is not kebab-case")
        unknown = self.fields() - TEMPLATE_FIELDS
        if unknown:
            raise ValueError(f"{self.family}: unknown template fields {sorted(unknown)}")

    def fields(self) -> frozenset[str]:
        """The `str.format` fields the template uses."""
        return frozenset(
            name for _, name, _, _ in string.Formatter().parse(self.template) if name is not None
        )

    def render(self, **values: str) -> str:
        """The message for one recording; values the template does not use are ignored."""
        unknown = values.keys() - TEMPLATE_FIELDS
        if unknown:
            allowed = ", ".join(sorted(TEMPLATE_FIELDS))
            raise TypeError(f"unknown template fields {sorted(unknown)}; allowed: {allowed}")
        missing = self.fields() - values.keys()
        if missing:
            raise KeyError(f"{self.family} needs {sorted(missing)}")
        return self.template.format(**values)


# The SDK builds the host from the region and the partition's DNS suffix, so a mistake made
# from a China region (three dash-separated parts starting "cn-") gets the China suffix.
_BAD_REGION = UploadFailure(
    "bad-region",
    "UnknownEndpoint",
    "The region in the start-recording request is not a real AWS region, so the bucket's S3 host"
    " name does not resolve.",
    "Inaccessible host: `{bucket}.s3.{bad_region}.amazonaws.com' at port `undefined'."
    " This service may not be available in the `{bad_region}' region.",
)
_BAD_REGION_CHINA = UploadFailure(
    "bad-region",
    "UnknownEndpoint",
    "The region in the start-recording request is a mistyped China region, so the bucket's S3"
    " host name does not resolve.",
    "Inaccessible host: `{bucket}.s3.{bad_region}.amazonaws.com.cn' at port `undefined'."
    " This service may not be available in the `{bad_region}' region.",
)

UPLOAD_FAILURES: tuple[UploadFailure, ...] = (
    _BAD_REGION,
    _BAD_REGION_CHINA,
    UploadFailure(
        "invalid-region",
        "ConfigError",
        "The region in the start-recording request cannot be part of a host name, such as the"
        " region's display name or a code with a trailing space.",
        "Invalid region in config",
    ),
    UploadFailure(
        "no-such-bucket",
        "NoSuchBucket",
        "The bucket in the start-recording request does not exist (mistyped or deleted).",
        "The specified bucket does not exist",
    ),
    UploadFailure(
        "invalid-bucket-name",
        "InvalidBucketName",
        "The bucket in the start-recording request is not a valid bucket name, for example it has"
        " uppercase letters or underscores.",
        "The specified bucket is not valid.",
    ),
    UploadFailure(
        "invalid-access-key",
        "InvalidAccessKeyId",
        "The access key id in the start-recording request does not exist (mistyped or deleted).",
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    UploadFailure(
        "signature-mismatch",
        "SignatureDoesNotMatch",
        "The secret access key in the start-recording request is not the secret of its access"
        " key id (mistyped or from an older key).",
        "The request signature we calculated does not match the signature you provided."
        " Check your key and signing method.",
    ),
    # Plain "Access Denied" is still what S3 says for bucket-policy denials and cross-account
    # requests; its newer same-account wording names the object key, which no field carries.
    UploadFailure(
        "access-denied",
        "AccessDenied",
        "The access key's IAM user may not put objects in the bucket, or a bucket policy denies"
        " the upload.",
        "Access Denied",
    ),
    # S3 asks KMS for a data key as the caller, and passes KMS's refusal through as AccessDenied.
    UploadFailure(
        "kms-access-denied",
        "AccessDenied",
        "The bucket's default encryption uses a customer-managed KMS key that the access key's"
        " IAM user may not use.",
        "User: {user_arn} is not authorized to perform: kms:GenerateDataKey on resource: {key_arn}"
        " because no identity-based policy allows the kms:GenerateDataKey action",
    ),
    UploadFailure(
        "invalid-encryption",
        "InvalidArgument",
        "The server_side_encryption in the start-recording request is not a value S3 accepts"
        " (AES256, aws:kms or aws:kms:dsse), e.g. 'AES-256'.",
        "The encryption method specified is not supported",
    ),
    # The SDK v2 S3 client retries both region errors below with the region S3 names, so they
    # are rarer in callbacks than the rest; receivers must still cope with them. S3's own
    # wording decides which fields appear: the redirect names no region in its message.
    UploadFailure(
        "wrong-region",
        "PermanentRedirect",
        "The region in the start-recording request is a real region other than us-east-1, but"
        " not the bucket's.",
        "The bucket you are attempting to access must be addressed using the specified endpoint."
        " Please send all future requests to this endpoint.",
    ),
    UploadFailure(
        "authorization-header-malformed",
        "AuthorizationHeaderMalformed",
        "The start-recording request says the bucket is in one region (typically us-east-1,"
        " whose global endpoint reaches every bucket) but it lives in another.",
        "The authorization header is malformed; the region '{region}' is wrong;"
        " expecting '{expected_region}'",
    ),
    UploadFailure(
        "request-timeout",
        "RequestTimeout",
        "The upload stalled until S3 closed the connection, typically a bucket far from the"
        " recording server over a poor network; the SDK's retries failed too.",
        "Your socket connection to the server was not read from or written to within the timeout"
        " period. Idle connections will be closed.",
    ),
)


def failure_families() -> tuple[str, ...]:
    """Scenario names, in catalogue order, each once."""
    return tuple(dict.fromkeys(entry.family for entry in UPLOAD_FAILURES))


def failure(family: str) -> UploadFailure:
    """The first (most common) entry of a family."""
    for entry in UPLOAD_FAILURES:
        if entry.family == family:
            return entry
    raise KeyError(f"no upload failure {family!r}; known: {', '.join(failure_families())}")


# The SDK v2's check before it sends: the region must be usable as one DNS label.
_HOST_LABEL = re.compile(r"[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]{0,61}[a-zA-Z0-9]")


def failure_for_region(bad_region: str) -> UploadFailure:
    """The failure the SDK raises for a mistaken `storage.s3.region`, e.g. a `BadRegion` value.

    Render it with `bad_region=<the value>` and `bucket`.
    """
    if bad_region.lower() in REGION_CODES:
        raise ValueError(f"{bad_region!r} reaches S3 and succeeds; it is not an upload failure")
    if not bad_region:
        # The SDK turns an empty region into us-east-1 before it checks the value, and the
        # global endpoint reaches every commercial bucket: no "Missing region in config".
        raise ValueError(
            "an empty region becomes us-east-1 in the SDK; it is not an upload failure"
        )
    if not _HOST_LABEL.fullmatch(bad_region):
        return failure("invalid-region")
    if partition_of(bad_region) == "aws-cn":
        return _BAD_REGION_CHINA
    return _BAD_REGION
