"""Fixture tables for ENC-001…008 and SEC-001: compliant and violating inputs, exact findings."""

from __future__ import annotations

import json

import pytest
from policy_support import run, view

from policies.rules.base import UNKNOWN

B = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
POL = "aws:s3/bucketPolicy:BucketPolicy"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
KEY_ARN = "arn:aws:kms:eu-central-1:111122223333:key/abc"


def bucket(name: str = "models") -> object:
    return view(B, name)


def sse(name: str, bucket_ref: str, algorithm: object = "aws:kms", key: object = KEY_ARN, **kw: object) -> object:
    default = {"sseAlgorithm": algorithm}
    if key is not None:
        default["kmsMasterKeyId"] = key
    return view(SSE, name, {"bucket": bucket_ref, "rules": [{"applyServerSideEncryptionByDefault": default}]}, **kw)


TLS_DOC = {
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
}

ENC_001 = [
    # A separate SSE resource matched by the `bucket` input (mock id `<name>-id`).
    ("separate-config-by-id", [bucket(), sse("models-sse", "models-id")], set()),
    # Matched by parent (the Storage component parents the config to the bucket).
    ("separate-config-by-parent", [bucket(), sse("s", "other", parent=bucket().urn)], set()),
    # Matched by CrossGuard property dependencies, key unknown at preview (a customer key being created).
    (
        "by-property-dependency-unknown-key",
        [bucket(), sse("s", UNKNOWN, key=UNKNOWN, dependencies={"bucket": (bucket().urn,)})],
        set(),
    ),
    (
        "inline-legacy-block",
        [
            view(
                B,
                "models",
                {
                    "serverSideEncryptionConfiguration": {
                        "rule": {
                            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "k"}
                        }
                    }
                },
            )
        ],
        set(),
    ),
    ("no-config", [bucket()], {("models", "no server-side encryption configuration references this bucket")}),
    (
        "aes256",
        [bucket(), sse("s", "models-id", algorithm="AES256", key=None)],
        {("models", "bucket is not encrypted with SSE-KMS and a customer key: sseAlgorithm is 'AES256', not aws:kms")},
    ),
    (
        "aws-managed-key",
        [bucket(), sse("s", "models-id", key=None)],
        {
            (
                "models",
                "bucket is not encrypted with SSE-KMS and a customer key: no kmsMasterKeyId: "
                "the AWS managed key aws/s3 is used, not a customer key",
            )
        },
    ),
    (
        "aws-managed-alias",
        [bucket(), sse("s", "models-id", key="alias/aws/s3")],
        {
            (
                "models",
                "bucket is not encrypted with SSE-KMS and a customer key: kmsMasterKeyId alias/aws/s3 is an AWS "
                "managed key, not a customer key",
            )
        },
    ),
    (
        "config-of-another-bucket",
        [bucket("a"), bucket("b"), sse("s", "a-id")],
        {("b", "no server-side encryption configuration references this bucket")},
    ),
]

ENC_002 = [
    ("tls-only", [bucket(), view(POL, "p", {"bucket": "models-id", "policy": json.dumps(TLS_DOC)})], set()),
    ("none", [bucket()], {("models", "no bucket policy references this bucket (TLS-only policy missing)")}),
    (
        "no-deny",
        [bucket(), view(POL, "p", {"bucket": "models-id", "policy": json.dumps({"Statement": []})})],
        {("models", "the bucket policy does not deny requests with aws:SecureTransport false")},
    ),
    (
        "unknown",
        [bucket(), view(POL, "p", {"bucket": "models-id", "policy": UNKNOWN})],
        {("models", "the bucket policy is unknown at preview; TLS-only access cannot be verified")},
    ),
]

FLAGS = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}
SEC_001 = [
    ("all-four", [bucket(), view(PAB, "pab", {"bucket": "models-id", **FLAGS})], set()),
    ("missing", [bucket()], {("models", "no public access block references this bucket")}),
    (
        "two-off",
        [
            bucket(),
            view(PAB, "pab", {**FLAGS, "bucket": "models-id", "ignorePublicAcls": False, "blockPublicPolicy": UNKNOWN}),
        ],
        {("models", "public access block does not set blockPublicPolicy, ignorePublicAcls to true")},
    ),
]

VOL = "aws:ebs/volume:Volume"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
INST = "aws:ec2/instance:Instance"
ENC_003 = [
    ("volume-encrypted", [view(VOL, "v", {"encrypted": True})], set()),
    ("volume-plain", [view(VOL, "v", {"size": 10})], {("v", "EBS volume is not encrypted")}),
    (
        "lt-string-true",
        [view(LT, "lt", {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}]})],
        set(),
    ),
    (
        "lt-unencrypted",
        [view(LT, "lt", {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 100}}]})],
        {("lt", "blockDeviceMappings[0] (/dev/xvda) is not encrypted")},
    ),
    (
        "instance",
        [view(INST, "i", {"rootBlockDevice": {"encrypted": True}, "ebsBlockDevices": [{"encrypted": False}]})],
        {("i", "ebsBlockDevices[0] is not encrypted")},
    ),
]

EKS = "aws:eks/cluster:Cluster"
ENC_004 = [
    (
        "secrets",
        [view(EKS, "c", {"encryptionConfig": {"provider": {"keyArn": KEY_ARN}, "resources": ["secrets"]}})],
        set(),
    ),
    (
        "key-unknown",
        [view(EKS, "c", {"encryptionConfig": {"provider": {"keyArn": UNKNOWN}, "resources": ["secrets"]}})],
        set(),
    ),
    (
        "none",
        [view(EKS, "c", {})],
        {("c", "no encryptionConfig: Kubernetes secrets are not envelope-encrypted with a KMS key")},
    ),
    (
        "other-resources",
        [view(EKS, "c", {"encryptionConfig": {"provider": {}, "resources": ["configmaps"]}})],
        {
            ("c", "encryptionConfig.resources does not include secrets"),
            ("c", "encryptionConfig.provider.keyArn is not set"),
        },
    ),
]

ENC_005 = [
    ("sns-key", [view("aws:sns/topic:Topic", "t", {"kmsMasterKeyId": "alias/x"})], set()),
    (
        "sns-plain",
        [view("aws:sns/topic:Topic", "t", {})],
        {("t", "SNS topic has no kmsMasterKeyId (not encrypted with a KMS key)")},
    ),
]
ENC_006 = [
    ("sqs-key", [view("aws:sqs/queue:Queue", "q", {"kmsMasterKeyId": KEY_ARN})], set()),
    (
        "sqs-plain",
        [view("aws:sqs/queue:Queue", "q", {})],
        {("q", "SQS queue has no kmsMasterKeyId (not encrypted with a KMS key)")},
    ),
]
KEY = "aws:kms/key:Key"
ENC_007 = [
    ("rotated", [view(KEY, "k", {"enableKeyRotation": True})], set()),
    ("asymmetric-exempt", [view(KEY, "k", {"customerMasterKeySpec": "RSA_2048"})], set()),
    ("not-rotated", [view(KEY, "k", {})], {("k", "automatic key rotation is not enabled (enableKeyRotation)")}),
]
ENC_008 = [
    ("thirty", [view(KEY, "k", {"deletionWindowInDays": 30.0})], set()),
    ("default-is-30", [view(KEY, "k", {})], set()),
    ("seven-in-prod", [view(KEY, "k", {"deletionWindowInDays": 7})], {("k", "deletion window 7 days is below 30")}),
    (
        "unknown",
        [view(KEY, "k", {"deletionWindowInDays": UNKNOWN})],
        {("k", "deletionWindowInDays is unknown at preview")},
    ),
]

CASES = [
    (rule, name, resources, expected)
    for rule, table in (
        ("AIF-ENC-001", ENC_001),
        ("AIF-ENC-002", ENC_002),
        ("AIF-SEC-001", SEC_001),
        ("AIF-ENC-003", ENC_003),
        ("AIF-ENC-004", ENC_004),
        ("AIF-ENC-005", ENC_005),
        ("AIF-ENC-006", ENC_006),
        ("AIF-ENC-007", ENC_007),
        ("AIF-ENC-008", ENC_008),
    )
    for name, resources, expected in table
]


@pytest.mark.parametrize(("rule", "case", "resources", "expected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_exact_findings(rule: str, case: str, resources: list, expected: set) -> None:
    assert run(rule, resources) == expected


def test_deletion_window_minimum_follows_the_tier() -> None:
    from policy_support import facts

    assert facts("AIF-ENC-008", "dev")["minDeletionWindowDays"] == 7
    assert run("AIF-ENC-008", [view(KEY, "k", {"deletionWindowInDays": 7})], facts("AIF-ENC-008", "dev")) == set()
