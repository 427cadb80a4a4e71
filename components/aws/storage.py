"""Encrypted object storage: the stack's customer KMS key and one bucket per purpose.

Every bucket: SSE-KMS with the stack key and S3 bucket keys, versioning, all four public
access blocks, ACLs disabled, a TLS-only policy, lifecycle from the data class's retention,
optional object lock. Buckets and the key are protected and retained on delete in tier prod.
With `storage.dataZones` the datasets storage is three such buckets (raw, curated = the datasets
bucket, quarantine) whose policies and lifecycle come from data_zones.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.aws import policy_docs as pd
from components.aws.provider import AwsContext
from components.config.models import BucketConfig, BucketPurpose, DataZone, FactoryConfig, StorageConfig
from components.conventions import type_token
from components.tagging import Naming

DEFAULT_RETENTION_DAYS = 365
KMS_DELETION_WINDOW_DAYS = 30
"""The longest window AWS allows: a key scheduled for deletion by mistake can still be saved."""
INCOMPLETE_UPLOAD_DAYS = 7

# Explicit administrative and usage actions for the account root instead of `kms:*`: the
# policy rules forbid wildcard actions, and the root still holds PutKeyPolicy so the key
# can never be locked out.
KEY_ROOT_ACTIONS = sorted(
    [
        "kms:CancelKeyDeletion",
        "kms:CreateAlias",
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:DeleteAlias",
        "kms:DescribeKey",
        "kms:DisableKey",
        "kms:EnableKey",
        "kms:EnableKeyRotation",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListAliases",
        "kms:ListGrants",
        "kms:ListResourceTags",
        "kms:PutKeyPolicy",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:RetireGrant",
        "kms:RevokeGrant",
        "kms:ScheduleKeyDeletion",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:UpdateAlias",
        "kms:UpdateKeyDescription",
    ]
)


def key_policy(account_id: str, partition: str, extra: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Key policy delegating to IAM in the stack's own account, plus `extra` service statements.

    Internal. Exported for testing.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountRootAdministersKey",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                "Action": KEY_ROOT_ACTIONS,
                # A key policy always applies to its own key: "*" here means "this key".
                "Resource": "*",
            },
            *extra,
        ],
    }


def tls_only_policy(bucket_arn: str, extra: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Deny any request not made over TLS, and uploads that ask for other than SSE-KMS; then `extra`.

    Internal. Exported for testing.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyNonKmsEncryptionHeader",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*",
                # Only a request that asks for another encryption: Null false = the header is present.
                # (A negated operator, ...IfExists included, is true when the key is missing: alone it
                # would deny uploads relying on the bucket's default SSE-KMS, and every UploadPart.)
                "Condition": {
                    "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                    "Null": {"s3:x-amz-server-side-encryption": "false"},
                },
            },
            *extra,
        ],
    }


def cloudtrail_delivery_statements(bucket_arn: str, trail_arn: str, account_id: str) -> list[dict[str, Any]]:
    """CloudTrail may check the bucket and write the trail's files under AWSLogs/<account>/ (CloudTrail guide).

    Internal. Exported for testing.
    """
    return [
        {
            "Sid": "CloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
        },
        {
            "Sid": "CloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/AWSLogs/{account_id}/*",
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
        },
    ]


KeyService = Literal["logs", "ebs"]
"""AWS services the stack key admits besides IAM: CloudWatch Logs (log groups), EC2 Auto Scaling (volumes)."""


def retention_days(storage: StorageConfig, bucket: BucketConfig) -> int:
    """Bucket override, else the data class's retention, else the default."""
    if bucket.retention_days is not None:
        return bucket.retention_days
    return storage.retention_days.get(bucket.data_class, DEFAULT_RETENTION_DAYS)


@dataclass(frozen=True)
class StorageArgs:
    config: StorageConfig
    """Buckets by purpose and retention per data class."""
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """Provider, region and account of the stack."""
    stateful_protection: bool
    """Protect and retain buckets and keys (tier prod)."""
    key_data_class: str
    """Highest data class the key protects (its tag)."""
    key_services: frozenset[KeyService] = frozenset()
    """Services the key policy lets use the key (only those the stack runs)."""
    audit_trail_name: str | None = None
    """CloudTrail trail writing to the logs bucket with the stack key (its key and bucket statements)."""
    zone_classes: tuple[str, ...] = ()
    """Data classes objects in the data zones may be tagged with (data_zones.zone_classes)."""


class Storage(pulumi.ComponentResource):
    """The stack's customer-managed KMS key and its buckets."""

    key: aws.kms.Key
    buckets: dict[BucketPurpose, aws.s3.Bucket]
    zones: dict[DataZone, aws.s3.Bucket]
    """raw/curated/quarantine when the datasets storage is zoned; curated is `buckets[DATASETS]`."""

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "Storage"), name, {}, opts)
        ctx, naming = args.aws, args.naming
        keep = {"protect": args.stateful_protection, "retain_on_delete": args.stateful_protection}

        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{naming.environment}: data at rest (buckets, snapshots, logs)",
            enable_key_rotation=True,
            deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
            policy=pulumi.Output.all(ctx.account_id, ctx.partition).apply(
                lambda a: json.dumps(key_policy(a[0], a[1], self._key_statements(args, a[0], a[1])))
            ),
            tags=naming.tags(args.key_data_class, component="storage"),
            opts=ctx.opts(self, **keep),
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{naming.name('data')}",
            target_key_id=self.key.key_id,
            opts=ctx.opts(self),
        )

        self.buckets, self.zones = {}, {}
        for purpose, bucket_cfg in args.config.buckets.items():
            if purpose is BucketPurpose.DATASETS and args.config.data_zones is not None:
                self.zones = {z: self._bucket(name, purpose, bucket_cfg, args, keep, zone=z) for z in DataZone}
                self.buckets[purpose] = self.zones[DataZone.CURATED]
            else:
                self.buckets[purpose] = self._bucket(name, purpose, bucket_cfg, args, keep)

        self.register_outputs(
            {
                "keyArn": self.key.arn,
                "buckets": {p.value: b.bucket for p, b in self.buckets.items()},
                "zones": {z.value: b.bucket for z, b in self.zones.items()},
            }
        )

    @staticmethod
    def _key_statements(args: StorageArgs, account_id: str, partition: str) -> list[dict[str, Any]]:
        region = args.aws.region
        extra: list[dict[str, Any]] = []
        if "logs" in args.key_services:
            extra.append(pd.logs_key_statement(partition, region, account_id))
        if "ebs" in args.key_services:
            extra += pd.ebs_autoscaling_key_statements(partition, account_id)
        if args.audit_trail_name:
            extra += pd.cloudtrail_key_statements(partition, region, account_id, args.audit_trail_name)
        return extra

    def _bucket_policy(
        self, purpose: BucketPurpose, bucket: aws.s3.Bucket, args: StorageArgs, zone: DataZone | None = None
    ) -> pulumi.Output[str]:
        ctx, trail = args.aws, args.audit_trail_name
        if zone is not None:
            from components.aws import data_zones  # builds on this module

            def render_zone(a: list[str]) -> str:
                arn, account, partition = a
                admin = data_zones.role_arn(partition, account, args.naming, "admin")
                extra = data_zones.zone_bucket_statements(arn, admin, args.zone_classes)
                return json.dumps(tls_only_policy(arn, extra))

            return pulumi.Output.all(bucket.arn, ctx.account_id, ctx.partition).apply(render_zone)
        if purpose is not BucketPurpose.LOGS or not trail:
            return bucket.arn.apply(lambda arn: json.dumps(tls_only_policy(arn)))

        def render(a: list[str]) -> str:
            arn, account, partition = a
            trail_arn = f"arn:{partition}:cloudtrail:{ctx.region}:{account}:trail/{trail}"
            delivery = cloudtrail_delivery_statements(arn, trail_arn, account)
            return json.dumps(tls_only_policy(arn, delivery))

        return pulumi.Output.all(bucket.arn, ctx.account_id, ctx.partition).apply(render)

    def _bucket(
        self,
        name: str,
        purpose: BucketPurpose,
        bucket_cfg: BucketConfig,
        args: StorageArgs,
        keep: dict[str, bool],
        zone: DataZone | None = None,
    ) -> aws.s3.Bucket:
        ctx, naming = args.aws, args.naming
        days = retention_days(args.config, bucket_cfg)
        extra_tags: dict[str, str] = {}
        if zone is None:
            rname = f"{name}-{purpose.value}"
            lifecycle = lifecycle_rules(purpose, days)
        else:
            from components.aws import data_zones  # builds on this module

            assert args.config.data_zones is not None
            rname = f"{name}-{data_zones.ZONE_SUFFIX[zone]}"
            lifecycle = data_zones.zone_lifecycle(
                zone, args.config.data_zones, args.config, bucket_cfg, args.zone_classes
            )
            extra_tags[data_zones.ZONE_TAG] = zone.value
        bucket = aws.s3.Bucket(
            rname,
            # Never delete a bucket that still holds objects, whatever the tier.
            force_destroy=False,
            object_lock_enabled=bucket_cfg.object_lock or None,
            tags=naming.tags(bucket_cfg.data_class, component="storage", purpose=purpose.value, **extra_tags),
            opts=ctx.opts(self, **keep),
        )
        child = ctx.opts(bucket)
        harden_bucket(
            rname,
            bucket,
            key_arn=self.key.arn,
            policy=self._bucket_policy(purpose, bucket, args, zone),
            lifecycle=lifecycle,
            opts=child,
        )
        if bucket_cfg.object_lock:
            aws.s3.BucketObjectLockConfiguration(
                f"{rname}-object-lock",
                bucket=bucket.id,
                object_lock_enabled="Enabled",
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        # COMPLIANCE cannot be shortened by anyone, root included: prod only.
                        mode="COMPLIANCE" if args.stateful_protection else "GOVERNANCE",
                        days=days,
                    )
                ),
                opts=child,
            )
        return bucket


def harden_bucket(
    rname: str,
    bucket: aws.s3.Bucket,
    *,
    key_arn: pulumi.Input[str],
    policy: pulumi.Input[str],
    lifecycle: list[aws.s3.BucketLifecycleConfigurationRuleArgs],
    opts: pulumi.ResourceOptions,
) -> None:
    """The controls every bucket of the factory has (its replicas too): SSE-KMS with `key_arn` and
    bucket keys, versioning, all four public-access blocks, ACLs disabled, `policy`, `lifecycle`."""
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{rname}-sse",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms",
                    kms_master_key_id=key_arn,
                ),
                # Bucket keys cut KMS request costs by ~99% for high-volume buckets.
                bucket_key_enabled=True,
            )
        ],
        opts=opts,
    )
    aws.s3.BucketVersioning(
        f"{rname}-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=opts,
    )
    aws.s3.BucketPublicAccessBlock(
        f"{rname}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{rname}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    aws.s3.BucketPolicy(f"{rname}-tls-only", bucket=bucket.id, policy=policy, opts=opts)
    aws.s3.BucketLifecycleConfiguration(f"{rname}-lifecycle", bucket=bucket.id, rules=lifecycle, opts=opts)


def lifecycle_rules(purpose: BucketPurpose, days: int) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """Retention as lifecycle.

    Old versions expire after the retention; current objects expire only in the logs bucket,
    because models, datasets and artifacts are live data whose removal is a decision, not a
    timer.
    """
    rule = aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="retention",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=days
        ),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=INCOMPLETE_UPLOAD_DAYS
        ),
        expiration=(
            aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days) if purpose is BucketPurpose.LOGS else None
        ),
    )
    return [rule]


def key_data_class(cfg: FactoryConfig) -> str:
    """The most sensitive data class the stack key protects (its tag)."""
    assert cfg.storage is not None
    classes = [b.data_class for b in cfg.storage.buckets.values()]
    # The order of residency.dataClasses is the stack's own ranking (least to most sensitive).
    ranked = [c for c in cfg.residency.data_classes if c in classes]
    return ranked[-1] if ranked else classes[0]
