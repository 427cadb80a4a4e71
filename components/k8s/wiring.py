"""Where the platform meets the rest of the factory: which cluster, which registry, which bucket.

Kept out of components/factory.py so the factory stays one call (`platform_for(factory)`):
- stacks with EKS: a provider from the BurstCluster (exec credentials via `aws eks get-token`);
- on-prem-only stacks (kubeadm): a provider from the `onPremKubeconfig` Pulumi secret;
- anything else (no cluster): no platform.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from components.aws.s3_ranges import s3_cidrs
from components.config.models import BucketPurpose, ClusterJoin, FactoryConfig
from components.k8s.node_location import canonical_role_arn
from components.k8s.platform import Platform, PlatformArgs, build_platform

if TYPE_CHECKING:
    from components.factory import Factory


def eks_kubeconfig(name: str, endpoint: str | None, ca_data: str | None, region: str) -> str:
    """Kubeconfig that authenticates with `aws eks get-token` (no static credentials in state)."""
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": endpoint or "", "certificate-authority-data": ca_data or ""}}
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [
            {
                "name": name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"],
                    }
                },
            }
        ],
    }
    return json.dumps(doc)


def _ca_data(ca: Any) -> str | None:
    """`certificateAuthority.data` of the cluster, whether typed, a dict or (under mocks) absent."""
    if isinstance(ca, dict):
        return ca.get("data")
    return getattr(ca, "data", None)


def kubernetes_provider(factory: Factory) -> k8s.Provider | None:
    cfg, naming = factory.config, factory.naming
    if factory.cluster is not None and cfg.cloud is not None:
        eks = factory.cluster.cluster
        region = cfg.cloud.region
        kubeconfig = pulumi.Output.all(eks.name, eks.endpoint, eks.certificate_authority).apply(
            lambda a: eks_kubeconfig(a[0], a[1], _ca_data(a[2]), region)
        )
        return k8s.Provider(naming.name("k8s"), kubeconfig=kubeconfig, enable_server_side_apply=True)
    if cfg.join_method is ClusterJoin.KUBEADM and "onPremKubeconfig" in factory.secrets:
        return k8s.Provider(
            naming.name("k8s"), kubeconfig=factory.secrets["onPremKubeconfig"], enable_server_side_apply=True
        )
    return None


def registry_prefix(factory: Factory) -> pulumi.Input[str]:
    cfg = factory.config
    if cfg.kubernetes.registry is not None:
        return cfg.kubernetes.registry
    if factory.registry is not None:
        return factory.registry.prefix
    if factory.aws is not None:
        # Same spelling as components/aws/registry.py: the stack's ECR pull-through prefix.
        aws = factory.aws
        env = factory.naming.environment
        return pulumi.Output.from_input(aws.account_id).apply(
            lambda account: f"{account}.dkr.ecr.{aws.region}.amazonaws.com/{env}"
        )
    raise ValueError("no registry: set kubernetes.registry")


def platform_for(factory: Factory) -> Platform | None:
    """Build the platform on the stack's cluster, or nothing when the stack has none yet."""
    cfg: FactoryConfig = factory.config
    provider = kubernetes_provider(factory)
    if provider is None:
        return None
    storage = factory.storage
    bucket: pulumi.Input[str] = ""
    if storage is not None and BucketPurpose.MODELS in storage.buckets:
        bucket = storage.buckets[BucketPurpose.MODELS].bucket
    after: list[pulumi.Resource] = []
    if factory.node_pools is not None:
        after += list(factory.node_pools.node_groups.values())
    if factory.on_prem is not None:
        after.append(factory.on_prem)
    return build_platform(
        PlatformArgs(
            config=cfg,
            naming=factory.naming,
            provider=provider,
            registry=registry_prefix(factory),
            models_bucket=bucket,
            secrets=factory.secrets,
            storage_key_arn=storage.key.arn if storage is not None else None,
            s3_cidrs=s3_cidrs(factory.aws) if cfg.has_eks and factory.aws is not None else None,
            site_node_role_arn=(
                pulumi.Output.all(factory.hybrid_identity.role.arn, factory.hybrid_identity.role.name).apply(
                    lambda a: canonical_role_arn(a[0], a[1])
                )
                if factory.hybrid_identity is not None
                else None
            ),
            snapshots_bucket=(
                storage.buckets[BucketPurpose.VECTOR_SNAPSHOTS].bucket
                if storage is not None and BucketPurpose.VECTOR_SNAPSHOTS in storage.buckets
                else None
            ),
        ),
        opts=pulumi.ResourceOptions(depends_on=after) if after else None,
    )
