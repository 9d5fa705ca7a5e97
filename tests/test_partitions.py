"""Partitions stay consistent: ARNs, S3 endpoints and expected regions follow the request's region,
checked for every region of the catalogue."""

from __future__ import annotations

import re

import pytest

import aircore_mock
from aircore_mock.generation.facts import (
    AWS_REGIONS,
    BAD_REGIONS,
    DNS_SUFFIXES,
    REGION_CODES,
    UPLOAD_FAILURES,
    failure_families,
    partition_of,
)
from aircore_mock.generation.scenarios import outcomes

PARTITION = {region.code: region.partition for region in AWS_REGIONS}
ARN = re.compile(r"arn:([a-z-]+):(iam|kms):([a-z0-9-]*):(\d{12}):")


def test_every_partition_of_the_catalogue_has_its_dns_suffix() -> None:
    assert set(DNS_SUFFIXES) == set(PARTITION.values())
    assert DNS_SUFFIXES["aws-cn"] == "amazonaws.com.cn"
    assert DNS_SUFFIXES["aws"] == DNS_SUFFIXES["aws-us-gov"] == "amazonaws.com"
    for code, partition in PARTITION.items():
        assert partition_of(code) == partition


def test_partition_of_a_mistyped_code_follows_the_sdk_patterns() -> None:
    assert partition_of("cn-north-1111") == "aws-cn"
    assert partition_of("cn-north1") == "aws"  # two parts: no partition pattern matches
    assert partition_of("us-gov-westt-1") == "aws-us-gov"
    assert partition_of("us-east-1111") == "aws"


@pytest.mark.parametrize("region", REGION_CODES)
def test_arns_are_in_the_partition_of_the_region(region: str) -> None:
    faker = aircore_mock.Generator(seed=3).faker
    entry, message = faker.upload_failure("kms-access-denied", bucket="acme", region=region)
    assert entry.code == "AccessDenied"
    arns = ARN.findall(message)
    assert [(p, service) for p, service, _, _ in arns] == [
        (PARTITION[region], "iam"),
        (PARTITION[region], "kms"),
    ]
    (_, _, iam_region, iam_account), (_, _, kms_region, kms_account) = arns
    assert iam_region == "" and kms_region == region  # IAM is global, KMS keys are regional
    assert iam_account == kms_account


@pytest.mark.parametrize("region", REGION_CODES)
def test_expected_region_is_another_region_of_the_same_partition(region: str) -> None:
    for seed in range(8):
        faker = aircore_mock.Generator(seed=seed).faker
        _, message = faker.upload_failure(
            "authorization-header-malformed", bucket="acme", region=region
        )
        (said, expected) = re.findall(r"'([^']*)'", message)
        assert said == region
        assert expected in REGION_CODES and expected != region
        assert PARTITION[expected] == PARTITION[region], message


@pytest.mark.parametrize("region", REGION_CODES)
def test_upload_address_uses_the_partitions_s3_endpoint(region: str) -> None:
    recording = aircore_mock.Generator(seed=5).recording("uploaded", region=region)
    location = recording.callbacks()[-1]["recording"]["location"]
    assert location["region"] == region
    host = location["address"].split("/")[2]
    if region == "us-east-1":
        assert host.endswith(".s3.amazonaws.com")  # the global endpoint, as in Aircore's docs
    else:
        assert host.endswith(f".s3.{region}.{DNS_SUFFIXES[PARTITION[region]]}")
    assert aircore_mock.is_valid(recording.callbacks()[-1], strict=True)


def test_no_missing_region_failure_the_s3_client_cannot_raise() -> None:
    # The AWS SDK for JavaScript defaults an empty region to us-east-1 before it checks it.
    assert "missing-region" not in failure_families()
    assert "missing-region" not in outcomes()
    assert not any("Missing region" in entry.template for entry in UPLOAD_FAILURES)
    for mistake in BAD_REGIONS:
        for region in REGION_CODES:
            assert mistake.apply(region) != ""
