"""BurstCluster: the EKS control plane the cloud GPU pools and (in hybrid stacks) the on-prem
servers join.

Pinned Kubernetes version; secrets envelope-encrypted with the stack key; private endpoint
(public only with an allow-list); every control-plane log type to a KMS-encrypted log group;
access entries only (authentication mode API, no aws-auth ConfigMap, no implicit creator
admin); `remoteNetworkConfig` with the site's node and pod networks when the site joins.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws import policy_docs as pd
from components.aws.identity import doc, iam_role
from components.aws.provider import AwsContext
from components.config.models import EksConfig, SiteNetwork
from components.conventions import NAMESPACE_BATCH, NAMESPACE_SERVING, type_token
from components.tagging import Naming

CONTROL_PLANE_LOG_DAYS = 365

ADDONS = ("vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent")
"""EKS add-ons managed by AWS. `bootstrapSelfManagedAddons` is off, so these are the only ones.
The VPC CNI's DaemonSet keeps off hybrid nodes by itself (node affinity on compute-type);
hybrid nodes get Cilium from the platform component."""

ACCESS_POLICIES = {
    "admin": ("AmazonEKSClusterAdminPolicy", None),
    "developer": ("AmazonEKSEditPolicy", (NAMESPACE_SERVING, NAMESPACE_BATCH)),
    "viewer": ("AmazonEKSViewPolicy", None),
}
"""Access level → (EKS access policy, namespaces or None for the whole cluster)."""


def _access_policy_arn(name: str) -> Callable[[str], str]:
    return lambda partition: f"arn:{partition}:eks::aws:cluster-access-policy/{name}"


@dataclass(frozen=True)
class BurstClusterArgs:
    config: EksConfig
    """Version, endpoint, logs, access and pools of the cluster."""
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """Provider, region and account of the stack."""
    cluster_name: str
    """Physical cluster name (the network's subnet tags and IAM ARNs use it too)."""
    subnet_ids: list[pulumi.Output[str]]
    """Private subnets of the control-plane ENIs and the nodes."""
    key_arn: pulumi.Output[str]
    """Stack key: secrets envelope encryption and the control-plane log group."""
    security_group_ids: list[pulumi.Output[str]]
    """Extra control-plane security groups (the site's access to the API in hybrid stacks)."""
    remote_network: SiteNetwork | None = None
    """The site's node and pod networks when its servers join as EKS Hybrid Nodes."""
    hybrid_node_role_arn: pulumi.Output[str] | None = None
    """Role of the hybrid nodes: gets a HYBRID_LINUX access entry."""
    stateful_protection: bool = False
    """Protect the cluster from deletion (tier prod)."""


class BurstCluster(pulumi.ComponentResource):
    """EKS control plane, its role, log group, add-ons and access entries."""

    cluster: aws.eks.Cluster
    name: str

    def __init__(self, name: str, args: BurstClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "BurstCluster"), name, {}, opts)
        ctx, naming, cfg = args.aws, args.naming, args.config
        self._name, self._args = name, args
        self.name = args.cluster_name
        tags = naming.tags(component="cluster")
        self._tags = tags

        role = iam_role(
            f"{name}-role",
            ctx=ctx,
            parent=self,
            tags=tags,
            trust=json.dumps(pd.trust("eks.amazonaws.com", actions=("sts:AssumeRole", "sts:TagSession"))),
            inline=doc(ctx, self._secrets_key_policy, args.key_arn),
            managed=["AmazonEKSClusterPolicy"],
        )
        # Created before the cluster so EKS writes into an encrypted group with a retention.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=CONTROL_PLANE_LOG_DAYS,
            kms_key_id=args.key_arn,
            tags=tags,
            opts=ctx.opts(self),
        )
        ep = cfg.endpoint
        remote = args.remote_network
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=cfg.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.subnet_ids,
                security_group_ids=args.security_group_ids or None,
                endpoint_private_access=True,
                endpoint_public_access=ep.public,
                # Never 0.0.0.0/0 (semantics.py); when private, AWS ignores the list, so send none.
                public_access_cidrs=list(ep.public_access_cidrs) if ep.public else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.key_arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=list(cfg.control_plane_logs),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # Nobody is admin by having run `pulumi up`: admins come from config only.
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            bootstrap_self_managed_addons=False,
            remote_network_config=(
                aws.eks.ClusterRemoteNetworkConfigArgs(
                    remote_node_networks=aws.eks.ClusterRemoteNetworkConfigRemoteNodeNetworksArgs(
                        cidrs=list(remote.node_cidrs)
                    ),
                    remote_pod_networks=aws.eks.ClusterRemoteNetworkConfigRemotePodNetworksArgs(
                        cidrs=list(remote.pod_cidrs)
                    ),
                )
                if remote is not None
                else None
            ),
            # STANDARD support: extended support costs 6x per cluster-hour; upgrades are planned instead.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=args.stateful_protection or None,
            tags=tags,
            opts=ctx.opts(self, depends_on=[log_group], protect=args.stateful_protection),
        )
        self.pod_identity_agent: aws.eks.Addon | None = None
        self.addons: dict[str, aws.eks.Addon] = {}
        self._access_entries()
        self.register_outputs(
            {"name": self.cluster.name, "endpoint": self.cluster.endpoint, "version": self.cluster.version}
        )

    def add_addons(self, after: list[pulumi.Resource]) -> None:
        """AWS add-ons, once nodes exist to run them (CoreDNS would wait degraded otherwise)."""
        ctx = self._args.aws
        for addon in ADDONS:
            self.addons[addon] = aws.eks.Addon(
                f"{self._name}-{addon}",
                cluster_name=self.cluster.name,
                addon_name=addon,
                # Pinned from config where set (environments then run the same build); else EKS's default.
                addon_version=self._args.config.addon_versions.get(addon),
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                tags=self._tags,
                opts=ctx.opts(self, depends_on=after if addon == "coredns" else []),
            )
        self.pod_identity_agent = self.addons["eks-pod-identity-agent"]

    @staticmethod
    def _secrets_key_policy(account: str, partition: str, key_arn: str) -> dict[str, Any]:
        # The actions EKS needs on the customer key for secrets envelope encryption (EKS user guide).
        return pd.document(
            [
                pd.allow(
                    "SecretsEnvelopeEncryption",
                    ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ListGrants"],
                    [key_arn],
                )
            ]
        )

    # ----------------------------------------------------------------------- access
    def _access_entries(self) -> None:
        args, ctx, cfg = self._args, self._args.aws, self._args.config
        principals: list[tuple[str, str, pulumi.Input[str]]] = []
        for level, arns in (
            ("admin", cfg.access.admins),
            ("developer", cfg.access.developers),
            ("viewer", cfg.access.viewers),
        ):
            principals += [(f"{level}-{i}", level, arn) for i, arn in enumerate(arns)]
        if cfg.access.break_glass_role:
            principals.append(("break-glass", "admin", self._break_glass_role().arn))
        for key, level, arn in principals:
            entry = aws.eks.AccessEntry(
                f"{self._name}-access-{key}",
                cluster_name=self.cluster.name,
                principal_arn=arn,
                type="STANDARD",
                tags=self._tags,
                opts=ctx.opts(self),
            )
            policy, namespaces = ACCESS_POLICIES[level]
            aws.eks.AccessPolicyAssociation(
                f"{self._name}-access-{key}-policy",
                cluster_name=self.cluster.name,
                principal_arn=arn,
                policy_arn=ctx.partition.apply(_access_policy_arn(policy)),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(
                    type="namespace" if namespaces else "cluster",
                    namespaces=list(namespaces) if namespaces else None,
                ),
                opts=ctx.opts(self, depends_on=[entry]),
            )
        if args.hybrid_node_role_arn is not None:
            # On-prem servers authenticate with this role; EKS maps it to system:nodes itself.
            aws.eks.AccessEntry(
                f"{self._name}-access-hybrid-nodes",
                cluster_name=self.cluster.name,
                principal_arn=args.hybrid_node_role_arn,
                type="HYBRID_LINUX",
                tags=self._tags,
                opts=ctx.opts(self),
            )

    def _break_glass_role(self) -> aws.iam.Role:
        """Emergency cluster-admin when SSO is down: assumable by the account only, with MFA, for 1 h.

        Its only IAM permission is DescribeCluster (for `aws eks update-kubeconfig`); its power is
        the cluster-admin access entry. Every use is in CloudTrail (AssumeRole) and the audit log.
        """
        args, ctx = self._args, self._args.aws
        region, cluster = ctx.region, args.cluster_name

        def trust(account: str, partition: str) -> dict[str, Any]:
            return pd.trust(aws=f"arn:{partition}:iam::{account}:root", Bool={"aws:MultiFactorAuthPresent": "true"})

        def describe(account: str, partition: str) -> dict[str, Any]:
            return pd.document(
                [
                    pd.allow(
                        "Kubeconfig",
                        ["eks:DescribeCluster"],
                        [f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}"],
                    )
                ]
            )

        return iam_role(
            f"{self._name}-break-glass",
            ctx=ctx,
            parent=self,
            tags={**self._tags, "purpose": "break-glass"},
            trust=doc(ctx, trust),
            inline=doc(ctx, describe),
            max_session_seconds=3600,
            role_name=args.naming.name("eks-break-glass"),
        )
