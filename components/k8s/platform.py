"""The whole Kubernetes platform of one environment, built on a given provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import conventions as c
from components.config.models import ClusterJoin, FactoryConfig
from components.k8s import charts
from components.k8s.context import PlatformContext
from components.k8s.gpu_operator import GpuOperator
from components.k8s.node_location import NodeLocationGuard
from components.k8s.observability import Observability
from components.k8s.placement import system_tolerations
from components.k8s.router import Router
from components.k8s.serving import Serving
from components.k8s.storage_classes import cloud_storage_class
from components.k8s.tenancy import Tenancy
from components.k8s.vector_store import VectorStore
from components.tagging import Naming


@dataclass(frozen=True)
class PlatformArgs:
    config: FactoryConfig
    """The stack's typed config."""
    naming: Naming
    """Names and standard labels of the environment."""
    provider: k8s.Provider
    """Provider of the cluster (EKS, or the on-prem kubeadm cluster)."""
    registry: pulumi.Input[str]
    """Registry prefix every image is pulled through (kubernetes.registry or the ECR pull-through cache)."""
    models_bucket: pulumi.Input[str]
    """Bucket the weight-fetch init containers read model artifacts from."""
    secrets: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    """Pulumi secrets (routerMasterKey, externalApiKey) as secret Outputs."""
    storage_key_arn: pulumi.Input[str] | None = None
    """Stack KMS key for the cloud StorageClass (EKS stacks)."""
    snapshots_bucket: pulumi.Input[str] | None = None
    """The stack's vector-snapshots bucket (vectorStore.snapshots.target kind s3-bucket)."""
    s3_cidrs: pulumi.Input[list[str]] | None = None
    """The region's S3 ranges (EKS stacks): where bucket readers may connect instead of the internet."""
    site_node_role_arn: pulumi.Input[str] | None = None
    """Canonical ARN of the hybrid nodes' IAM role (EKS with a site): the only kubelets that may say on-prem."""


def hybrid_cni_needed(cfg: FactoryConfig) -> bool:
    """On-prem servers joined to EKS as Hybrid Nodes need Cilium (the VPC CNI avoids them)."""
    return cfg.on_prem is not None and cfg.join_method is ClusterJoin.EKS_HYBRID


def cilium_values(cfg: FactoryConfig) -> dict[str, Any]:
    """AWS's documented Cilium values for EKS Hybrid Nodes: hybrid nodes only, cluster-pool IPAM
    over the site's pod networks (the cluster's remote pod networks)."""
    assert cfg.on_prem is not None
    hybrid_only = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": c.LABEL_EKS_HYBRID_COMPUTE, "operator": "In", "values": ["hybrid"]}]}
                ]
            }
        }
    }
    return {
        "affinity": hybrid_only,
        "ipam": {
            "mode": "cluster-pool",
            "operator": {
                "clusterPoolIPv4MaskSize": 25,
                "clusterPoolIPv4PodCIDRList": list(cfg.on_prem.network.pod_cidrs),
            },
        },
        "operator": {"affinity": hybrid_only, "unmanagedPodWatcher": {"restart": False}},
        # The GPU taint is on every site server: the CNI must run there regardless.
        "tolerations": [{"operator": "Exists"}],
    }


class Platform(pulumi.ComponentResource):
    """Tenancy → operators (GPU, KEDA, Prometheus) → vector store → serving → router."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(c.type_token("k8s", "Platform"), name, {}, opts)
        cfg = args.config
        ctx = PlatformContext(
            config=cfg,
            naming=args.naming,
            provider=args.provider,
            registry=args.registry,
            storage_key_arn=args.storage_key_arn,
            s3_cidrs=args.s3_cidrs,
        )
        child = pulumi.ResourceOptions(parent=self)
        self.tenancy = Tenancy(f"{name}-tenancy", ctx, child)
        self.node_location = None
        if cfg.has_eks:
            # Before anything is placed by location: restricted placement trusts the on-prem label.
            self.node_location = NodeLocationGuard(f"{name}-node-location", ctx, args.site_node_role_arn, child)
        first: list[pulumi.Resource] = [self.tenancy, *([self.node_location] if self.node_location else [])]
        if hybrid_cni_needed(cfg):
            # Hybrid nodes stay NotReady until a CNI runs on them; everything else waits for it.
            first.append(
                k8s.helm.v3.Release(
                    f"{name}-cilium",
                    name="cilium",
                    chart=charts.CILIUM.name,
                    version=charts.CILIUM.version,
                    repository_opts={"repo": charts.CILIUM.repo},
                    namespace="kube-system",
                    values=cilium_values(cfg),
                    atomic=True,
                    opts=ctx.opts(self),
                )
            )
        after_ns = pulumi.ResourceOptions(parent=self, depends_on=first)
        self.gpu_operator = GpuOperator(f"{name}-gpu-operator", ctx, after_ns)
        self.keda = k8s.helm.v3.Release(
            f"{name}-keda",
            name="keda",
            chart=charts.KEDA.name,
            version=charts.KEDA.version,
            repository_opts={"repo": charts.KEDA.repo},
            namespace=c.NAMESPACE_KEDA,
            values={"tolerations": system_tolerations(cfg)},
            atomic=True,
            opts=ctx.opts(self, depends_on=first),
        )
        self.storage_class = None
        if cfg.has_eks:
            former = pulumi.create_urn(f"{name}-vector-store", c.type_token("k8s", "VectorStore"), parent=self)
            self.storage_class = cloud_storage_class(name, ctx, self, former_parent_urn=former)
        self.observability = Observability(
            f"{name}-observability",
            ctx,
            pulumi.ResourceOptions(
                parent=self, depends_on=[*first, *([self.storage_class] if self.storage_class else [])]
            ),
        )
        if cfg.vector_store is not None:
            self.vector_store = VectorStore(
                f"{name}-vector-store",
                ctx,
                after_ns,
                secrets=args.secrets,
                snapshots_bucket=args.snapshots_bucket,
                storage_class=self.storage_class,
            )
        if cfg.serving is not None:
            after_operators = pulumi.ResourceOptions(
                parent=self, depends_on=[self.tenancy, self.keda, self.observability]
            )
            self.serving = Serving(f"{name}-serving", ctx, args.models_bucket, after_operators)
            self.router = Router(f"{name}-router", ctx, args.secrets, after_ns, storage_class=self.storage_class)
        self.register_outputs({})


def build_platform(args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> Platform:
    """The platform of `args.config` on `args.provider` (testable without a cluster under mocks)."""
    return Platform(args.naming.name("platform"), args, opts)
