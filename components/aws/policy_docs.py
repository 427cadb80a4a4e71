"""IAM and KMS policy documents as plain data (no Pulumi): easy to read, test and sweep.

Rules every document here follows (tests/aws/test_identity.py sweeps the whole plan):
- never a wildcard action (`*`, `s3:*`, `kms:ReEncrypt*` …): actions are listed one by one;
- `"Resource": "*"` only in KMS key policies (where it means "this key") and for actions
  that support no resource-level permissions (NO_RESOURCE_LEVEL_ACTIONS, from AWS's Service
  Authorization Reference), each such statement narrowed by a region condition.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Statement = dict[str, Any]
Document = dict[str, Any]

NO_RESOURCE_LEVEL_ACTIONS: frozenset[str] = frozenset(
    {
        # Service Authorization Reference: these list/describe actions have no resource types.
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeLaunchConfigurations",
        "autoscaling:DescribeScalingActivities",
        "autoscaling:DescribeTags",
        "ec2:DescribeImages",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeLaunchTemplateVersions",
        "ssm:DescribeInstanceInformation",
    }
)
"""Actions that may carry `"Resource": "*"` because AWS offers nothing narrower."""


def document(statements: Iterable[Statement]) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(sid: str, actions: Iterable[str], resources: Iterable[str] | str, **condition: Any) -> Statement:
    """An Allow statement; `condition` is the IAM Condition block (operator → {key: value})."""
    st: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": resources if isinstance(resources, str) else list(resources),
    }
    if condition:
        st["Condition"] = condition
    return st


def describe_only(sid: str, actions: Iterable[str], region: str) -> Statement:
    """`Resource: "*"` for actions without resource-level permissions, pinned to the stack's region."""
    acts = sorted(set(actions))
    unknown = [a for a in acts if a not in NO_RESOURCE_LEVEL_ACTIONS]
    if unknown:
        raise ValueError(f"{unknown} support resource-level permissions: name the resources")
    # "*" because these actions accept no resource ARN; the condition keeps them in-region.
    return allow(sid, acts, "*", StringEquals={"aws:RequestedRegion": region})


def trust(
    service: str | None = None,
    *,
    aws: str | None = None,
    actions: Iterable[str] = ("sts:AssumeRole",),
    **condition: Any,
) -> Document:
    """Assume-role policy for one service principal or one AWS principal."""
    principal = {"Service": service} if service else {"AWS": aws}
    st: Statement = {"Effect": "Allow", "Principal": principal, "Action": sorted(set(actions))}
    if condition:
        st["Condition"] = condition
    return document([st])


def pod_identity_statement() -> Statement:
    """EKS Pod Identity may assume the role: the agent assumes it on the pod's behalf and tags the session."""
    return {
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }


def bucket_access(sid: str, bucket_arns: Iterable[str], write: bool) -> list[Statement]:
    """Object access to named buckets: read (get/list) or read-write (plus put/delete of objects)."""
    arns = list(bucket_arns)
    object_actions = ["s3:GetObject", "s3:GetObjectVersion"]
    if write:
        object_actions += ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    return [
        allow(f"{sid}List", ["s3:ListBucket", "s3:GetBucketLocation"], arns),
        allow(f"{sid}Objects", object_actions, [f"{a}/*" for a in arns]),
    ]


def key_use_via_s3(key_arn: str, region: str, write: bool) -> Statement:
    """Use of the stack key only on behalf of S3 in this region (SSE-KMS objects)."""
    actions = ["kms:Decrypt", "kms:DescribeKey"]
    if write:
        actions += ["kms:GenerateDataKey", "kms:Encrypt"]
    return allow("StackKeyViaS3", actions, [key_arn], StringEquals={"kms:ViaService": f"s3.{region}.amazonaws.com"})


# ------------------------------------------------------------------------ KMS key policies
KEY_USE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)


def logs_key_statement(partition: str, region: str, account_id: str) -> Statement:
    """CloudWatch Logs may encrypt this account's log groups in this region with the key."""
    return {
        "Sid": "CloudWatchLogsEncryptLogGroups",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
        "Action": sorted(KEY_USE_ACTIONS),
        "Resource": "*",  # key policy: "*" is this key
        "Condition": {
            "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:log-group:*"}
        },
    }


def cloudtrail_key_statements(partition: str, region: str, account_id: str, trail_name: str) -> list[Statement]:
    """CloudTrail may encrypt the trail's log files with the key (AWS CloudTrail user guide, key policy)."""
    trail_arn = f"arn:{partition}:cloudtrail:{region}:{account_id}:trail/{trail_name}"
    return [
        {
            "Sid": "CloudTrailEncryptLogs",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["kms:GenerateDataKey"],
            "Resource": "*",  # key policy: "*" is this key
            "Condition": {
                "StringEquals": {"aws:SourceArn": trail_arn},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{partition}:cloudtrail:*:{account_id}:trail/*"
                },
            },
        },
        {
            "Sid": "CloudTrailDescribeKey",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["kms:DescribeKey"],
            "Resource": "*",  # key policy: "*" is this key
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
        },
    ]


def ebs_autoscaling_key_statements(partition: str, account_id: str) -> list[Statement]:
    """The Auto Scaling service-linked role may use the key for node volumes (EC2 Auto Scaling guide)."""
    slr = (
        f"arn:{partition}:iam::{account_id}:role/aws-service-role/"
        "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    )
    return [
        {
            "Sid": "AutoScalingUseKeyForVolumes",
            "Effect": "Allow",
            "Principal": {"AWS": slr},
            "Action": sorted(KEY_USE_ACTIONS),
            "Resource": "*",  # key policy: "*" is this key
        },
        {
            "Sid": "AutoScalingGrantForVolumes",
            "Effect": "Allow",
            "Principal": {"AWS": slr},
            "Action": ["kms:CreateGrant"],
            "Resource": "*",  # key policy: "*" is this key
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
        },
    ]


def publish_key_statement(services: Iterable[str]) -> Statement:
    """AWS services that publish to an SNS topic encrypted with this key (SNS developer guide)."""
    return {
        "Sid": "ServicesPublishToEncryptedTopic",
        "Effect": "Allow",
        "Principal": {"Service": sorted(services)},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*",  # key policy: "*" is this key
    }
