"""Optional cross-region replication of chosen buckets, only to a region the residency allows
(semantics.py checks `storage.replication.region` against `residency.allowedRegions`).

The replicas get the same controls as their sources (harden_bucket), encrypted with a key
of their own region (KMS keys are regional), and are protected like the sources in tier prod.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_aws.s3 import Bucket

from components.aws import policy_docs as pd
from components.aws.identity import iam_role
from components.aws.provider import AwsContext
from components.aws.storage import (
    KMS_DELETION_WINDOW_DAYS,
    harden_bucket,
    key_policy,
    lifecycle_rules,
    retention_days,
    tls_only_policy,
)
from components.config.models import BucketPurpose, StorageConfig
from components.conventions import type_token
from components.tagging import Naming


@dataclass(frozen=True)
class ReplicationArgs:
    config: StorageConfig
    """Buckets, retention and `replication` (region, buckets)."""
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """The stack's (source) context."""
    sources: dict[BucketPurpose, Bucket]
    """Source buckets by purpose."""
    source_key_arn: pulumi.Output[str]
    """Stack key (the sources' SSE-KMS)."""
    after: list[pulumi.Resource]
    """Source versioning must be on before replication is configured."""
    stateful_protection: bool
    """Protect and retain replicas and their key (tier prod)."""


class Replication(pulumi.ComponentResource):
    """Replica key and buckets in the replica region, the replication role and rules."""

    def __init__(self, name: str, args: ReplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "Replication"), name, {}, opts)
        rep = args.config.replication
        assert rep is not None
        src, naming = args.aws, args.naming
        # An explicit provider for the replica region; account and partition are the stack's.
        provider = aws.Provider(
            f"{name}-aws",
            region=rep.region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        dst = AwsContext(provider=provider, region=rep.region, account_id=src.account_id, partition=src.partition)
        keep = {"protect": args.stateful_protection, "retain_on_delete": args.stateful_protection}
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{naming.environment}: replicas in {rep.region}",
            enable_key_rotation=True,
            deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
            policy=pulumi.Output.all(src.account_id, src.partition).apply(lambda a: json.dumps(key_policy(a[0], a[1]))),
            tags=naming.tags(component="storage", purpose="replica-key"),
            opts=dst.opts(self, **keep),
        )
        replicas: dict[BucketPurpose, aws.s3.Bucket] = {}
        for purpose in rep.buckets:
            bucket_cfg = args.config.buckets[purpose]
            rname = f"{name}-{purpose.value}"
            bucket = aws.s3.Bucket(
                rname,
                force_destroy=False,
                tags=naming.tags(bucket_cfg.data_class, component="storage", purpose=purpose.value, replica="true"),
                opts=dst.opts(self, **keep),
            )
            harden_bucket(
                rname,
                bucket,
                key_arn=key.arn,
                policy=bucket.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))),
                lifecycle=lifecycle_rules(purpose, retention_days(args.config, bucket_cfg)),
                opts=dst.opts(bucket),
            )
            replicas[purpose] = bucket

        purposes = list(rep.buckets)

        def policy(src_key: str, dst_key: str, *arns: str) -> dict[str, Any]:
            sources, targets = arns[: len(purposes)], arns[len(purposes) :]
            return pd.document(
                [
                    pd.allow("ReadSourceConfig", ["s3:GetReplicationConfiguration", "s3:ListBucket"], sources),
                    pd.allow(
                        "ReadSourceVersions",
                        ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                        [f"{a}/*" for a in sources],
                    ),
                    pd.allow(
                        "WriteReplicas",
                        ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                        [f"{a}/*" for a in targets],
                    ),
                    pd.allow(
                        "DecryptSources",
                        ["kms:Decrypt"],
                        [src_key],
                        StringEquals={"kms:ViaService": f"s3.{src.region}.amazonaws.com"},
                    ),
                    pd.allow(
                        "EncryptReplicas",
                        ["kms:Encrypt", "kms:GenerateDataKey"],
                        [dst_key],
                        StringEquals={"kms:ViaService": f"s3.{rep.region}.amazonaws.com"},
                    ),
                ]
            )

        arns = [args.sources[p].arn for p in purposes] + [replicas[p].arn for p in purposes]
        role = iam_role(
            f"{name}-role",
            ctx=src,
            parent=self,
            tags=naming.tags(component="storage"),
            trust=json.dumps(pd.trust("s3.amazonaws.com")),
            inline=pulumi.Output.all(args.source_key_arn, key.arn, *arns).apply(lambda a: json.dumps(policy(*a))),
        )
        for purpose in purposes:
            aws.s3.BucketReplicationConfig(
                f"{name}-{purpose.value}-rule",
                bucket=args.sources[purpose].id,
                role=role.arn,
                rules=[
                    aws.s3.BucketReplicationConfigRuleArgs(
                        id=f"to-{rep.region}",
                        status="Enabled",
                        filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                        delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                            status="Enabled"
                        ),
                        source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                            sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                                status="Enabled"
                            )
                        ),
                        destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                            bucket=replicas[purpose].arn,
                            encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                                replica_kms_key_id=key.arn
                            ),
                        ),
                    )
                ],
                opts=src.opts(self, depends_on=args.after),
            )
        self.register_outputs({"region": rep.region, "buckets": {p.value: b.bucket for p, b in replicas.items()}})
