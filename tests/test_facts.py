from __future__ import annotations

import re

import pytest

from aircore_mock.generation.facts import (
    AWS_REGIONS,
    BAD_REGIONS,
    REGION_CODES,
    TEMPLATE_FIELDS,
    UPLOAD_FAILURES,
    BadRegion,
    UploadFailure,
    failure,
    failure_families,
    failure_for_region,
)

# Verbatim from Aircore's callbacks page, recording-upload-failed example.
DOCUMENTED_REASON = (
    "Inaccessible host: `youraccount.s3.us-east-1111.amazonaws.com' at port `undefined'."
    " This service may not be available in the `us-east-1111' region."
)

VALUES = {
    "bucket": "youraccount",
    "region": "us-east-1",
    "bad_region": "us-east-1111",
    "expected_region": "eu-west-1",
    "account_id": "123456789012",
    "key_arn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "user_arn": "arn:aws:iam::123456789012:user/aircore-recorder",
}

REGION_CODE = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d+")
BAD_VALUES = [(bad, code) for bad in BAD_REGIONS for code in REGION_CODES]


def test_region_codes_are_well_formed_and_unique() -> None:
    assert tuple(region.code for region in AWS_REGIONS) == REGION_CODES
    assert len(set(REGION_CODES)) == len(REGION_CODES)
    for code in REGION_CODES:
        assert REGION_CODE.fullmatch(code), code


def test_regions_cover_the_three_partitions() -> None:
    partitions = {region.partition for region in AWS_REGIONS}
    assert partitions == {"aws", "aws-cn", "aws-us-gov"}
    by_partition = {r.code: r.partition for r in AWS_REGIONS}
    assert by_partition["us-east-1"] == "aws"
    assert by_partition["cn-north-1"] == by_partition["cn-northwest-1"] == "aws-cn"
    assert by_partition["us-gov-west-1"] == by_partition["us-gov-east-1"] == "aws-us-gov"
    for region in AWS_REGIONS:
        assert region.code.startswith("cn-") == (region.partition == "aws-cn")
        assert region.code.startswith("us-gov-") == (region.partition == "aws-us-gov")


def test_recent_regions_are_listed() -> None:
    for code in ("ap-southeast-5", "ap-southeast-7", "mx-central-1", "ca-west-1", "il-central-1"):
        assert code in REGION_CODES


@pytest.mark.parametrize(("bad", "region"), BAD_VALUES)
def test_no_bad_region_is_a_real_region(bad: BadRegion, region: str) -> None:
    value = bad.apply(region)
    assert value not in REGION_CODES
    # Wrong case would reach S3 and succeed after the SDK's retry, so it is no mistake here.
    assert value.lower() not in REGION_CODES
    failure_for_region(value)  # every mistake maps to a catalogued failure


def test_bad_region_examples() -> None:
    kinds = {bad.kind: bad for bad in BAD_REGIONS}
    assert len(kinds) == len(BAD_REGIONS)
    assert kinds["extra-digits"].apply("us-east-1") == "us-east-1111"
    assert kinds["missing-hyphen"].apply("us-east-1") == "us-east1"
    assert kinds["doubled-letter"].apply("eu-central-1") == "eu-centrall-1"
    assert kinds["doubled-letter"].apply("us-gov-west-1") == "us-gov-westt-1"
    assert kinds["availability-zone"].apply("us-east-1") == "us-east-1a"
    assert kinds["made-up-region"].apply("us-east-1") == "us-middle-1"
    assert kinds["display-name"].apply("us-east-1") == "US East (N. Virginia)"
    assert kinds["trailing-whitespace"].apply("us-east-1") == "us-east-1 "
    with pytest.raises(ValueError):
        kinds["extra-digits"].apply("us-east-1111")


def test_bad_region_renders_the_documented_example() -> None:
    assert failure("bad-region").render(bucket="youraccount", bad_region="us-east-1111") == (
        DOCUMENTED_REASON
    )
    assert failure_for_region("us-east-1111").render(**VALUES) == DOCUMENTED_REASON
    assert UPLOAD_FAILURES[0].family == "bad-region"


def test_failure_for_region_follows_the_sdk() -> None:
    with pytest.raises(ValueError, match="us-east-1"):
        failure_for_region("")  # the SDK defaults an empty region to us-east-1
    assert failure_for_region("US East (N. Virginia)").family == "invalid-region"
    assert failure_for_region("us-east-1 ").family == "invalid-region"
    china = failure_for_region("cn-north-1111").render(bucket="b", bad_region="cn-north-1111")
    assert "`b.s3.cn-north-1111.amazonaws.com.cn'" in china
    # Two parts: the SDK finds no partition prefix and falls back to the commercial suffix.
    plain = failure_for_region("cn-north1").render(bucket="b", bad_region="cn-north1")
    assert "`b.s3.cn-north1.amazonaws.com'" in plain
    with pytest.raises(ValueError):
        failure_for_region("US-EAST-1")


@pytest.mark.parametrize("entry", UPLOAD_FAILURES, ids=lambda e: f"{e.family}-{e.code}")
def test_every_template_renders_with_allowed_fields(entry: UploadFailure) -> None:
    assert entry.fields() <= TEMPLATE_FIELDS
    message = entry.render(**VALUES)
    assert message
    assert "{" not in message
    assert "}" not in message
    assert entry.cause.endswith(".")
    assert entry.code


def test_render_reports_missing_and_unknown_fields() -> None:
    with pytest.raises(KeyError, match="bad_region"):
        failure("bad-region").render(bucket="youraccount")
    with pytest.raises(TypeError, match="bukket"):
        failure("bad-region").render(bukket="youraccount", bad_region="x")


def test_families_are_unique_kebab_case_in_catalogue_order() -> None:
    families = failure_families()
    assert len(set(families)) == len(families)
    assert families[0] == "bad-region"
    assert families == tuple(dict.fromkeys(entry.family for entry in UPLOAD_FAILURES))
    for family in families:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", family), family
    for expected in (
        "access-denied",
        "no-such-bucket",
        "invalid-access-key",
        "signature-mismatch",
        "wrong-region",
        "authorization-header-malformed",
        "kms-access-denied",
        "request-timeout",
    ):
        assert expected in families


def test_entries_sharing_a_family_are_variants_of_one_error() -> None:
    for family in failure_families():
        codes = {entry.code for entry in UPLOAD_FAILURES if entry.family == family}
        assert len(codes) == 1, family


def test_failure_lookup() -> None:
    assert failure("access-denied").code == "AccessDenied"
    with pytest.raises(KeyError, match="known: bad-region"):
        failure("no-such-family")


def test_messages_name_what_they_should() -> None:
    bad = failure("bad-region").render(**VALUES)
    assert VALUES["bad_region"] in bad
    assert VALUES["bucket"] in bad
    malformed = failure("authorization-header-malformed").render(**VALUES)
    assert f"expecting '{VALUES['expected_region']}'" in malformed
    assert f"the region '{VALUES['region']}' is wrong" in malformed
    kms = failure("kms-access-denied").render(**VALUES)
    assert VALUES["user_arn"] in kms
    assert VALUES["key_arn"] in kms


def test_wrong_region_keeps_s3s_own_wording() -> None:
    # S3 puts the right endpoint in <Endpoint>, not in the message the SDK surfaces; the
    # callback can only carry what the message says.
    wrong = failure("wrong-region")
    assert wrong.code == "PermanentRedirect"
    assert wrong.fields() == frozenset()
    assert wrong.render(**VALUES).startswith("The bucket you are attempting to access must be")
