"""The encrypted EBS StorageClass of EKS stacks, shared by every cloud volume (Prometheus, vector store, router DB)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.context import PlatformContext

CLOUD_STORAGE_CLASS = "aif-encrypted-gp3"


def cloud_storage_class(
    name: str, ctx: PlatformContext, parent: pulumi.Resource, former_parent_urn: pulumi.Input[str] | None = None
) -> k8s.storage.v1.StorageClass:
    """gp3, encrypted with the stack's KMS key, volumes retained when their claim goes.

    `former_parent_urn`: where earlier versions created it (the vector store), so moving it here
    is no replacement of a live StorageClass."""
    aliases = (
        [pulumi.Alias(name=f"{name}-vector-store-storage-class", parent=former_parent_urn)] if former_parent_urn else []
    )
    return k8s.storage.v1.StorageClass(
        f"{name}-storage-class",
        metadata={"name": CLOUD_STORAGE_CLASS, "labels": ctx.labels(CLOUD_STORAGE_CLASS, "storage")},
        provisioner="ebs.csi.aws.com",
        parameters={"type": "gp3", "encrypted": "true", "kmsKeyId": ctx.storage_key_arn or ""},
        reclaim_policy="Retain",
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
        opts=ctx.opts(parent, aliases=aliases),
    )
