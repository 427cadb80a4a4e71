"""Least-privilege identities: one IAM role per workload (EKS Pod Identity), the autoscaler's and
the interruption handler's roles, and the on-prem hybrid nodes' credentials (SSM hybrid
activation or IAM Roles Anywhere).

Every inline policy is built from `policy_docs`: no wildcard action, `*` resources only for
actions without resource-level permissions, pinned to the region.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import conventions as c
from components.aws import policy_docs as pd
from components.aws.provider import AwsContext
from components.config.models import (
    BucketPurpose,
    CredentialProvider,
    IdentityConfig,
    WorkloadIdentity,
)
from components.conventions import type_token
from components.tagging import Naming

PolicyFn = Callable[[str, str], list[pd.Statement]]
"""(account id, partition) → statements; lets a policy name ARNs the program knows only as outputs."""


def managed_policy(partition: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


def iam_role(
    name: str,
    *,
    ctx: AwsContext,
    parent: pulumi.Resource,
    tags: dict[str, str],
    trust: pulumi.Input[str],
    inline: pulumi.Input[str] | None = None,
    managed: Sequence[str] = (),
    max_session_seconds: int | None = None,
    role_name: str | None = None,
) -> aws.iam.Role:
    """A role `name` with its trust policy, one inline policy (`name-policy`) and AWS managed policies."""
    role = aws.iam.Role(
        name,
        name=role_name,
        assume_role_policy=trust,
        max_session_duration=max_session_seconds,
        tags=tags,
        opts=ctx.opts(parent),
    )
    if inline is not None:
        aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=inline, opts=ctx.opts(role))
    for i, policy in enumerate(managed):
        aws.iam.RolePolicyAttachment(
            f"{name}-managed-{i}",
            role=role.name,
            policy_arn=ctx.partition.apply(_managed(policy)),
            opts=ctx.opts(role),
        )
    return role


def _managed(name: str) -> Callable[[str], str]:
    return lambda partition: managed_policy(partition, name)


def doc(ctx: AwsContext, fn: Callable[..., Any], *deps: pulumi.Input[Any]) -> pulumi.Output[str]:
    """JSON policy from `fn(account, partition, *deps)` once the account, partition and `deps` are known."""
    return pulumi.Output.all(ctx.account_id, ctx.partition, *deps).apply(lambda a: json.dumps(fn(*a)))


def pod_trust() -> str:
    return json.dumps(pd.document([pd.pod_identity_statement()]))


# ----------------------------------------------------------------------- workload roles
@dataclass(frozen=True)
class WorkloadIdentitiesArgs:
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """Provider, region and account of the stack."""
    cluster_name: pulumi.Input[str]
    """EKS cluster the Pod Identity associations belong to."""
    workloads: dict[str, WorkloadIdentity]
    """Config workloads: service account and bucket access each."""
    bucket_arns: dict[BucketPurpose, pulumi.Output[str]]
    """ARNs of the stack's buckets by purpose."""
    key_arn: pulumi.Output[str]
    """Stack key (SSE-KMS of the buckets)."""
    interruption_queue_arn: pulumi.Output[str]
    """Spot interruption queue the termination handler reads."""
    interruption_key_arn: pulumi.Output[str]
    """KMS key of that queue (the handler decrypts its messages)."""
    physical_cluster_name: str
    """The cluster's physical name (ARN patterns in the autoscaler's policy)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The Pod Identity agent add-on: associations are useless before it runs."""


class WorkloadIdentities(pulumi.ComponentResource):
    """One role + Pod Identity association per workload, incl. the autoscaler and the interruption handler."""

    roles: dict[str, aws.iam.Role]

    def __init__(self, name: str, args: WorkloadIdentitiesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "WorkloadIdentities"), name, {}, opts)
        ctx, region, cluster = args.aws, args.aws.region, args.physical_cluster_name
        self._args, self._name = args, name
        self.roles = {}

        def autoscaler(account: str, partition: str) -> dict[str, Any]:
            asgs = f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/eks-*"
            return pd.document(
                [
                    pd.describe_only(
                        "DescribeCapacity",
                        [
                            "autoscaling:DescribeAutoScalingGroups",
                            "autoscaling:DescribeAutoScalingInstances",
                            "autoscaling:DescribeLaunchConfigurations",
                            "autoscaling:DescribeScalingActivities",
                            "autoscaling:DescribeTags",
                            "ec2:DescribeImages",
                            "ec2:DescribeInstanceTypes",
                            "ec2:DescribeLaunchTemplateVersions",
                        ],
                        region,
                    ),
                    # Only the node groups of this cluster (EKS tags their ASGs with the cluster name).
                    pd.allow(
                        "ScaleOwnGroups",
                        ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                        [asgs],
                        StringEquals={f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"},
                    ),
                    pd.allow(
                        "ReadNodeGroupTemplates",
                        ["eks:DescribeNodegroup"],
                        [f"arn:{partition}:eks:{region}:{account}:nodegroup/{cluster}/*/*"],
                    ),
                ]
            )

        def interruption(account: str, partition: str, queue_arn: str, key_arn: str) -> dict[str, Any]:
            asgs = f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/eks-*"
            return pd.document(
                [
                    pd.describe_only(
                        "DescribeNodes",
                        [
                            "autoscaling:DescribeAutoScalingInstances",
                            "autoscaling:DescribeTags",
                            "ec2:DescribeInstances",
                        ],
                        region,
                    ),
                    pd.allow(
                        "CompleteLifecycle",
                        ["autoscaling:CompleteLifecycleAction"],
                        [asgs],
                        StringEquals={f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"},
                    ),
                    pd.allow("ReadQueue", ["sqs:DeleteMessage", "sqs:ReceiveMessage"], [queue_arn]),
                    pd.allow(
                        "DecryptQueue",
                        ["kms:Decrypt"],
                        [key_arn],
                        StringEquals={"kms:ViaService": f"sqs.{region}.amazonaws.com"},
                    ),
                ]
            )

        self._workload("cluster-autoscaler", c.CA_NAMESPACE, c.CA_SERVICE_ACCOUNT, doc(ctx, autoscaler))
        self._workload(
            "termination-handler",
            c.NTH_NAMESPACE,
            c.NTH_SERVICE_ACCOUNT,
            doc(ctx, interruption, args.interruption_queue_arn, args.interruption_key_arn),
        )
        for wl_name, wl in args.workloads.items():
            self._workload(wl_name, wl.namespace, wl.service_account, self._bucket_policy(wl))
        self.register_outputs({"roleArns": {k: r.arn for k, r in self.roles.items()}})

    def _bucket_policy(self, wl: WorkloadIdentity) -> pulumi.Output[str]:
        args = self._args
        purposes = list(wl.buckets)
        arns = [args.bucket_arns[p] for p in purposes]

        def render(key_arn: str, *bucket_arns: str) -> dict[str, Any]:
            statements: list[pd.Statement] = []
            for mode in ("read", "read-write"):
                named = [a for p, a in zip(purposes, bucket_arns, strict=True) if wl.buckets[p] == mode]
                if named:
                    sid = "Read" if mode == "read" else "ReadWrite"
                    statements += pd.bucket_access(sid, named, write=mode == "read-write")
            writes = "read-write" in wl.buckets.values()
            statements.append(pd.key_use_via_s3(key_arn, args.aws.region, write=writes))
            return pd.document(statements)

        return pulumi.Output.all(args.key_arn, *arns).apply(lambda a: json.dumps(render(*a)))

    def _workload(self, key: str, namespace: str, service_account: str, policy: pulumi.Input[str]) -> None:
        args, ctx = self._args, self._args.aws
        tags = args.naming.tags(component="identity", workload=key)
        role = iam_role(f"{self._name}-{key}", ctx=ctx, parent=self, tags=tags, trust=pod_trust(), inline=policy)
        aws.eks.PodIdentityAssociation(
            f"{self._name}-{key}-association",
            cluster_name=args.cluster_name,
            namespace=namespace,
            service_account=service_account,
            role_arn=role.arn,
            tags=tags,
            opts=ctx.opts(self, depends_on=list(args.depends_on)),
        )
        self.roles[key] = role


# -------------------------------------------------------------------- hybrid node credentials
@dataclass(frozen=True)
class HybridNodeIdentityArgs:
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """Provider, region and account of the stack."""
    provider: CredentialProvider
    """ssm (hybrid activation) or iam-ra (IAM Roles Anywhere)."""
    config: IdentityConfig
    """Trust anchor source and activation limit."""
    servers: int
    """Servers on site (default registration limit of the activation)."""
    cluster_name: str
    """Physical EKS cluster name (DescribeCluster is the only EKS call nodeadm needs)."""


class HybridNodeIdentity(pulumi.ComponentResource):
    """The IAM role on-prem nodes assume, and how they get it (AWS docs: Hybrid Nodes IAM role)."""

    role: aws.iam.Role
    activation: aws.ssm.Activation | None = None
    trust_anchor: aws.rolesanywhere.TrustAnchor | None = None
    profile: aws.rolesanywhere.Profile | None = None

    def __init__(self, name: str, args: HybridNodeIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "HybridNodeIdentity"), name, {}, opts)
        ctx, naming, region = args.aws, args.naming, args.aws.region
        tags = naming.tags(component="identity", workload="hybrid-nodes")
        ssm = args.provider is CredentialProvider.SSM

        if not ssm:
            ra = args.config.roles_anywhere
            assert ra is not None  # semantics.py: iam-ra needs a trust anchor source
            source = (
                aws.rolesanywhere.TrustAnchorSourceArgs(
                    source_type="AWS_ACM_PCA",
                    source_data=aws.rolesanywhere.TrustAnchorSourceSourceDataArgs(acm_pca_arn=ra.ca_arn),
                )
                if ra.ca_arn
                else aws.rolesanywhere.TrustAnchorSourceArgs(
                    source_type="CERTIFICATE_BUNDLE",
                    source_data=aws.rolesanywhere.TrustAnchorSourceSourceDataArgs(
                        x509_certificate_data=ra.ca_bundle_pem
                    ),
                )
            )
            self.trust_anchor = aws.rolesanywhere.TrustAnchor(
                f"{name}-trust-anchor",
                name=naming.name("hybrid-nodes"),
                enabled=True,
                source=source,
                tags=tags,
                opts=ctx.opts(self),
            )
            trust = self.trust_anchor.arn.apply(
                lambda anchor: json.dumps(
                    pd.trust(
                        "rolesanywhere.amazonaws.com",
                        actions=("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"),
                        ArnEquals={"aws:SourceArn": anchor},
                    )
                )
            )
        else:
            trust = pulumi.Output.from_input(ctx.account_id).apply(
                lambda account: json.dumps(pd.trust("ssm.amazonaws.com", StringEquals={"aws:SourceAccount": account}))
            )

        def inline(account: str, partition: str) -> dict[str, Any]:
            statements = [
                pd.allow(
                    "DescribeOwnCluster",
                    ["eks:DescribeCluster"],
                    [f"arn:{partition}:eks:{region}:{account}:cluster/{args.cluster_name}"],
                )
            ]
            if ssm:
                # `nodeadm uninstall` deregisters the node from SSM.
                statements.append(
                    pd.allow(
                        "DeregisterSelf",
                        ["ssm:DeregisterManagedInstance"],
                        [f"arn:{partition}:ssm:{region}:{account}:managed-instance/*"],
                    )
                )
                statements.append(pd.describe_only("FindSelf", ["ssm:DescribeInstanceInformation"], region))
            return pd.document(statements)

        managed = ["AmazonEC2ContainerRegistryPullOnly"]
        if ssm:
            managed.append("AmazonSSMManagedInstanceCore")
        self.role = iam_role(
            f"{name}-role", ctx=ctx, parent=self, tags=tags, trust=trust, inline=doc(ctx, inline), managed=managed
        )

        if ssm:
            self.activation = aws.ssm.Activation(
                f"{name}-activation",
                name=naming.name("hybrid-nodes"),
                description="EKS Hybrid Nodes of the site (nodeadm --credential-provider ssm)",
                iam_role=self.role.name,
                registration_limit=args.config.ssm_activation_limit or args.servers,
                tags=tags,
                opts=ctx.opts(self, depends_on=[self.role]),
            )
        else:
            assert self.trust_anchor is not None
            self.profile = aws.rolesanywhere.Profile(
                f"{name}-profile",
                name=naming.name("hybrid-nodes"),
                enabled=True,
                role_arns=[self.role.arn],
                duration_seconds=3600,
                tags=tags,
                opts=ctx.opts(self),
            )
        self.register_outputs({"roleArn": self.role.arn})
