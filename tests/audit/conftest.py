"""A moto account laid out like the prod-eu stack's, compliant unless a test plants a violation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

ACCOUNT = "123456789012"
HOME = "eu-central-1"
SECRET = "wJalrXUtnFEMI-audit-test-secret"
"""A recognisable fake secret key: no audit output may contain it."""


def full_tags(env: str = "prod-eu") -> dict[str, str]:
    return {
        "environment": env,
        "owner": "ml-platform",
        "cost-center": "cc-1000" if env == "prod-eu" else "cc-4711",
        "data-classification": "internal",
        "managed-by": "pulumi",
    }


def tls_only_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


@dataclass
class World:
    env: str = "prod-eu"
    key_arn: str = ""
    arns: dict[str, str] = field(default_factory=dict)

    def bucket(
        self,
        name: str,
        region: str = HOME,
        *,
        sse: bool = True,
        tags: dict[str, str] | None = None,
        key_arn: str | None = None,
    ) -> str:
        s3 = boto3.client("s3", region_name=region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_tagging(
            Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in (tags or full_tags(self.env)).items()]}
        )
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_policy(Bucket=name, Policy=tls_only_policy(name))
        if sse:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": key_arn or self.key_arn,
                            },
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
            )
        arn = f"arn:aws:s3:::{name}"
        self.arns[name] = arn
        return arn

    def budget(
        self, thresholds: list[tuple[str, float]] | None = None, limit: str = "60000", name: str | None = None
    ) -> None:
        b = boto3.client("budgets", region_name="us-east-1")
        wanted = (
            thresholds
            if thresholds is not None
            else [("ACTUAL", 50), ("ACTUAL", 75), ("ACTUAL", 90), ("ACTUAL", 100), ("FORECASTED", 100)]
        )
        b.create_budget(
            AccountId=ACCOUNT,
            Budget={
                "BudgetName": name or f"{self.env}-budget",
                "BudgetLimit": {"Amount": limit, "Unit": "USD"},
                "TimeUnit": "MONTHLY",
                "BudgetType": "COST",
            },
            NotificationsWithSubscribers=[
                {
                    "Notification": {
                        "NotificationType": kind,
                        "ComparisonOperator": "GREATER_THAN",
                        "Threshold": t,
                        "ThresholdType": "PERCENTAGE",
                    },
                    "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "finops@example.com"}],
                }
                for kind, t in wanted
            ],
        )


def _compliant(world: World) -> None:
    kms = boto3.client("kms", region_name=HOME)
    key = kms.create_key(Tags=[{"TagKey": k, "TagValue": v} for k, v in full_tags(world.env).items()])["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    world.key_arn = key["Arn"]
    world.arns["key"] = key["Arn"]
    world.bucket(f"{world.env}-models")
    world.bucket(f"{world.env}-logs")
    eks = boto3.client("eks", region_name=HOME)
    cluster = eks.create_cluster(
        name=f"{world.env}-burst",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/c",
        resourcesVpcConfig={"subnetIds": ["subnet-1"]},
        tags=full_tags(world.env),
    )["cluster"]
    world.arns["cluster"] = cluster["arn"]
    for name, itype, max_size in (
        (f"{world.env}-gpu-g6e-spot", "g6e.12xlarge", 2),
        (f"{world.env}-gpu-p5-floor", "p5.48xlarge", 1),
    ):
        ng = eks.create_nodegroup(
            clusterName=f"{world.env}-burst",
            nodegroupName=name,
            nodeRole=f"arn:aws:iam::{ACCOUNT}:role/n",
            subnets=["subnet-1"],
            instanceTypes=[itype],
            scalingConfig={"minSize": 0, "maxSize": max_size, "desiredSize": 0},
            tags=full_tags(world.env),
        )["nodegroup"]
        world.arns[name] = ng["nodegroupArn"]
    world.budget()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAAUDITTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", HOME)
    monkeypatch.setenv("FACTORY_AWS_MAX_ATTEMPTS", "2")
    # moto would otherwise build its default AMI catalogue in every region the audit scans (~0.6 s each).
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def compliant(aws_env: None) -> Iterator[World]:
    with mock_aws():
        world = World()
        _compliant(world)
        yield world


@pytest.fixture
def empty_account(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield None
