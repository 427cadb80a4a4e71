"""Node pools of the burst cluster: GPU managed node groups that scale from zero under a hard
GPU cap, a small CPU system pool, spot interruption handling and the autoscaler's priorities.

Why EKS managed node groups and not Karpenter: a node group's max size is enforced by the
Auto Scaling group itself, so `Σ maxSize × GPUs == maxGpus` is a cap AWS keeps even during a
fast scale-out (Karpenter documents that its limits can be briefly overrun).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml
from pulumi_aws.eks import Cluster

from components import conventions as c
from components.aws import policy_docs as pd
from components.aws.gpu_pools import PRIORITY, PoolPlan, node_group_name, plan_pools
from components.aws.identity import iam_role
from components.aws.provider import AwsContext
from components.config.models import EksConfig
from components.conventions import type_token
from components.gpus import GPU_FAMILIES
from components.guard import deploy_spec
from components.guard.pause_state import NOT_PAUSED, PauseState, PoolScaling, PoolSize, scaling_for
from components.tagging import Naming

GPU_AMI = "AL2023_x86_64_NVIDIA"
"""EKS-optimised AL2023 with the NVIDIA driver and container toolkit."""
SYSTEM_AMI = "AL2023_x86_64_STANDARD"
ROOT_DEVICE = "/dev/xvda"
SYSTEM_ROOT_GIB = 50
IMDS_HOP_LIMIT = 1
"""1: only the node itself reaches IMDS. Pods get AWS credentials from EKS Pod Identity, never
from the node role; host-network add-ons (VPC CNI, kube-proxy) still reach IMDS at hop 1."""

NODE_MANAGED_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonEKS_CNI_Policy",
)

INTERRUPTION_EVENTS: dict[str, dict[str, Any]] = {
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
}
"""EventBridge rules feeding the interruption queue (aws-node-termination-handler, queue mode)."""


def local_nvme_user_data() -> str:
    """AL2023 NodeConfig: stripe the instance-store NVMe disks (RAID0) for the model cache.

    EKS merges this MIME part with the cluster settings it adds itself (managed node groups
    with an EKS AMI), so only the local-storage strategy is stated here.

    Internal. Exported for testing.
    """
    node_config = {
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {"instance": {"localStorage": {"strategy": "RAID0"}}},
    }
    body = (
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="AIFACTORY"\n\n'
        "--AIFACTORY\n"
        "Content-Type: application/node.eks.aws\n\n"
        f"---\n{yaml.safe_dump(node_config, sort_keys=False)}\n"
        "--AIFACTORY--\n"
    )
    return base64.b64encode(body.encode()).decode()


def node_template_tags(pool: PoolPlan, extra_taints: Sequence[Mapping[str, str]] = ()) -> dict[str, str]:
    """ASG tags the cluster-autoscaler reads to scale a group up from zero (its AWS provider docs).

    `extra_taints` (the budget guard's pause taint while a group is paused) go into the template
    too, so the autoscaler sees that no pending pod would fit even without reading the EKS API.

    Internal. Exported for testing.
    """
    t = c.CA_NODE_TEMPLATE_PREFIX
    labels = pool_labels(pool)
    tags = {f"{t}/label/{k}": v for k, v in labels.items()}
    tags[f"{t}/label/eks.amazonaws.com/capacityType"] = pool.capacity_type
    tags[f"{t}/taint/{c.GPU_TAINT_KEY}"] = f"{c.GPU_TAINT_VALUE}:{c.GPU_TAINT_EFFECT}"
    tags[f"{t}/taint/{c.BURST_TAINT_KEY}"] = f"true:{c.GPU_TAINT_EFFECT}"
    tags[f"{t}/resources/{c.GPU_RESOURCE}"] = str(pool.gpus_per_instance)
    # Last, so a pause adds (and a restore removes) one Tag resource without renumbering the others.
    for taint in extra_taints:
        tags[f"{t}/taint/{taint['key']}"] = f"{taint['value']}:{_K8S_EFFECT[taint['effect']]}"
    return tags


_K8S_EFFECT = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
"""EKS API taint effects → the Kubernetes spelling the autoscaler's template tags use."""


def pool_labels(pool: PoolPlan) -> dict[str, str]:
    return {
        c.LABEL_LOCATION: c.LOCATION_CLOUD,
        c.LABEL_CAPACITY_TYPE: "spot" if pool.capacity_type == c.CAPACITY_SPOT else "on-demand",
        c.LABEL_POOL: pool.key,
        c.LABEL_GPU_MODEL: GPU_FAMILIES[pool.family].gpu,
    }


def priority_expander(pools: list[PoolPlan]) -> str:
    """The expander's `priorities` (higher wins): spot pools, then on-demand, system, floor last.

    Internal. Exported for testing.
    """
    by_priority: dict[int, list[str]] = {}
    for role in sorted({p.role for p in pools} | {c.POOL_SYSTEM}, key=lambda r: -PRIORITY[r]):
        # Managed node group ASGs are named eks-<nodegroup>-<uuid>; node groups end in -<role>.
        pattern = f".*-{c.POOL_SYSTEM}-.*" if role == c.POOL_SYSTEM else f".*-gpu-.*-{role}-.*"
        by_priority.setdefault(PRIORITY[role], []).append(pattern)
    return yaml.safe_dump(by_priority, sort_keys=True)


def kubeconfig(cluster_name: str, region: str, endpoint: str, ca_data: str) -> str:
    """Kubeconfig using `aws eks get-token` (no credential is stored in state)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
                        }
                    },
                }
            ],
        }
    )


def _asg_name(resources: Any) -> str:
    """First ASG name of a node group's `resources` output (typed object or plain dict)."""
    first = resources[0]
    groups = first["autoscaling_groups"] if isinstance(first, dict) else first.autoscaling_groups
    group = groups[0]
    return str(group["name"] if isinstance(group, dict) else group.name)


@dataclass(frozen=True)
class NodePoolsArgs:
    config: EksConfig
    """System pool size and the burst GPU settings."""
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """Provider, region and account of the stack."""
    cluster: Cluster
    """The burst cluster."""
    cluster_name: str
    """Its physical name (node group names, expander patterns)."""
    subnet_ids: list[pulumi.Output[str]]
    """Private subnets the nodes run in."""
    key_arn: pulumi.Output[str]
    """Stack key: encrypts every root volume."""
    extra_security_group_ids: list[pulumi.Output[str]]
    """Node security groups besides the cluster's own (the site's DNS and scrapes in hybrid stacks)."""
    queue_key_arn: pulumi.Output[str]
    """Notifications key (admits events.amazonaws.com) that encrypts the interruption queue."""
    gpu_node_labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels of every GPU node: the burst pool's GPU sharing selection
    (components/gpu_sharing.sharing_node_labels). Not in the autoscaler's node template: no pod
    selects on them, and a template tag more would renumber the pause tag."""
    pause_state: PauseState = field(default=NOT_PAUSED)
    """The budget guard's pause record (components/aws/budget_guard.read_pause_state): groups it
    paused are registered paused, so `pulumi up` keeps them at zero instead of undoing the pause."""


def pool_scaling(pool: PoolPlan, cluster_name: str, state: PauseState) -> PoolScaling:
    """Scaling of a GPU pool: configured (min 0, max = its GPU share, desired 0) unless the guard paused it.

    Only pools the guard may pause (deploy_spec.pausable_pools: never the on-demand floor)
    follow the record; a record that names the floor is ignored here and warned about by the caller.

    Internal. Exported for testing.
    """
    configured = PoolSize(0, pool.max_size, 0)
    if not deploy_spec.pausable_pools([pool]):
        return PoolScaling(configured, (), False, "")
    return scaling_for(pool.node_group_name(cluster_name), configured, state)


GUARD_TAG_IGNORES = tuple(f'tags["{k}"]' for k in deploy_spec.GUARD_TAG_KEYS)
"""ignore_changes paths of the guard's record tags on a pausable GPU node group: a refresh
that reads them back must not make `pulumi up` erase the record of a pause or restore."""


class NodePools(pulumi.ComponentResource):
    """Node role, system pool, GPU pools, ASG node-template tags, interruption queue, expander config."""

    node_groups: dict[str, aws.eks.NodeGroup]
    plans: list[PoolPlan]
    interruption_queue: aws.sqs.Queue

    def __init__(self, name: str, args: NodePoolsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "NodePools"), name, {}, opts)
        self._name, self._args = name, args
        ctx, naming = args.aws, args.naming
        self._tags = naming.tags(component="node-pools")
        self.role = iam_role(
            f"{name}-node-role",
            ctx=ctx,
            parent=self,
            tags=self._tags,
            trust=json.dumps(pd.trust("ec2.amazonaws.com")),
            managed=NODE_MANAGED_POLICIES,
        )
        self.node_groups = {}
        self.node_groups[c.POOL_SYSTEM] = self._system_pool()
        self.plans, leftover = plan_pools(args.config.burst)
        assert not leftover, "semantics.py guarantees the GPU limit divides"
        self.scaling: dict[str, PoolScaling] = {}
        for pool in self.plans:
            self.scaling[pool.key] = pool_scaling(pool, args.cluster_name, args.pause_state)
            self.node_groups[pool.key] = self._gpu_pool(pool, self.scaling[pool.key])
        self._warn_about_pause(args.pause_state)
        self.interruption_queue = self._interruption_queue()
        self._expander_config()
        self.register_outputs(
            {
                "nodeGroups": {k: ng.node_group_name for k, ng in self.node_groups.items()},
                "interruptionQueueUrl": self.interruption_queue.url,
                "maxGpus": sum(p.max_gpus for p in self.plans),
            }
        )

    # ------------------------------------------------------------------------- pools
    def _launch_template(self, key: str, root_gib: int, user_data: str | None) -> aws.ec2.LaunchTemplate:
        args, ctx = self._args, self._args.aws
        sg_ids = args.extra_security_group_ids
        return aws.ec2.LaunchTemplate(
            f"{self._name}-{key}-lt",
            description=f"{args.cluster_name} {key}: IMDSv2 only, encrypted root volume",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=IMDS_HOP_LIMIT,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=root_gib,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=args.key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            # With its own security groups a launch template must name the cluster's one too.
            vpc_security_group_ids=([args.cluster.vpc_config.cluster_security_group_id, *sg_ids] if sg_ids else None),
            user_data=user_data,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=rt, tags=self._tags)
                for rt in ("instance", "volume", "network-interface")
            ],
            update_default_version=True,
            tags=self._tags,
            opts=ctx.opts(self),
        )

    def _node_group(
        self,
        key: str,
        lt: aws.ec2.LaunchTemplate,
        *,
        ami_type: str,
        capacity_type: str,
        instance_types: list[str],
        min_size: int,
        max_size: int,
        labels: dict[str, str],
        taints: list[aws.eks.NodeGroupTaintArgs],
        extra_tags: dict[str, str] | None = None,
        desired_size: int | None = None,
        extra_ignore_changes: Sequence[str] = (),
    ) -> aws.eks.NodeGroup:
        args, ctx = self._args, self._args.aws
        return aws.eks.NodeGroup(
            f"{self._name}-{key}",
            cluster_name=args.cluster.name,
            # Named, never auto-named: the budget guard and its IAM policy address groups by name.
            node_group_name=node_group_name(args.cluster_name, key),
            node_role_arn=self.role.arn,
            subnet_ids=args.subnet_ids,
            ami_type=ami_type,
            capacity_type=capacity_type,
            instance_types=instance_types,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=min_size, max_size=max_size, desired_size=min_size if desired_size is None else desired_size
            ),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=lt.id, version=lt.latest_version.apply(lambda v: str(v))
            ),
            labels=labels,
            taints=taints,
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            tags={**self._tags, **(extra_tags or {})},
            # The autoscaler owns desiredSize; Pulumi owns the bounds.
            opts=ctx.opts(
                self,
                ignore_changes=["scalingConfig.desiredSize", *extra_ignore_changes],
                depends_on=[self.role],
            ),
        )

    def _system_pool(self) -> aws.eks.NodeGroup:
        cfg = self._args.config
        key = f"{c.POOL_SYSTEM}-cpu"
        lt = self._launch_template(key, SYSTEM_ROOT_GIB, None)
        return self._node_group(
            key,
            lt,
            ami_type=SYSTEM_AMI,
            capacity_type=c.CAPACITY_ON_DEMAND,
            instance_types=[cfg.system_instance_type],
            min_size=cfg.system_pool.min_size,
            max_size=max(cfg.system_pool.max_size, cfg.system_pool.min_size),
            labels={c.LABEL_LOCATION: c.LOCATION_CLOUD, c.LABEL_POOL: c.POOL_SYSTEM},
            taints=[],
        )

    def _gpu_pool(self, pool: PoolPlan, scaling: PoolScaling) -> aws.eks.NodeGroup:
        args, ctx = self._args, self._args.aws
        lt = self._launch_template(pool.key, args.config.burst.root_volume_gib, local_nvme_user_data())
        size = scaling.size  # configured: min 0 (scale from zero), max = the hard GPU cap; paused: 0/1/0
        ng = self._node_group(
            pool.key,
            lt,
            ami_type=GPU_AMI,
            capacity_type=pool.capacity_type,
            instance_types=list(pool.instance_types),
            min_size=size.min_size,
            max_size=size.max_size,
            desired_size=size.desired_size,
            labels={**pool_labels(pool), **args.gpu_node_labels},
            taints=[
                aws.eks.NodeGroupTaintArgs(key=c.GPU_TAINT_KEY, value=c.GPU_TAINT_VALUE, effect="NO_SCHEDULE"),
                aws.eks.NodeGroupTaintArgs(key=c.BURST_TAINT_KEY, value="true", effect="NO_SCHEDULE"),
                *(
                    aws.eks.NodeGroupTaintArgs(key=t["key"], value=t["value"], effect=t["effect"])
                    for t in scaling.extra_taints
                ),
            ],
            # max-gpus is the configured share (what the group gets back), not the paused cap.
            extra_tags={"gpu-pool": pool.role, "max-gpus": str(pool.max_gpus)},
            extra_ignore_changes=GUARD_TAG_IGNORES if deploy_spec.pausable_pools([pool]) else (),
        )
        # Node-group tags stay on the node group; the autoscaler reads its ASG's tags, so set them there.
        asg = ng.resources.apply(_asg_name)
        for i, (key, value) in enumerate(node_template_tags(pool, scaling.extra_taints).items()):
            aws.autoscaling.Tag(
                f"{self._name}-{pool.key}-ca-{i}",
                autoscaling_group_name=asg,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=ctx.opts(ng),
            )
        return ng

    def _warn_about_pause(self, state: PauseState) -> None:
        """The preview says which groups stay paused (instead of silently undoing the pause).

        Logged without `resource=`: pulumi.log attaches a resource through an untracked future
        that can be lost when the program ends; the note names the node group itself.
        """
        for scaling in self.scaling.values():
            if scaling.note:
                pulumi.log.warn(scaling.note)
        guarded = {p.node_group_name(self._args.cluster_name) for p in deploy_spec.pausable_pools(self.plans)}
        if state.paused:
            for name in sorted(set(state.pools) - guarded):
                pulumi.log.warn(
                    f"the budget guard's pause record names node group {name}, which the guard may not pause "
                    "(on-demand floor, system pool or unknown): it keeps its configured size"
                )

    # ------------------------------------------------------------------ interruptions
    def _interruption_queue(self) -> aws.sqs.Queue:
        """Spot interruptions, rebalance recommendations and health events for the termination
        handler (queue mode), which cordons and drains the node before EC2 takes it.

        Managed node groups already turn on Capacity Rebalancing for their spot ASGs.
        """
        ctx, naming = self._args.aws, self._args.naming
        queue = aws.sqs.Queue(
            f"{self._name}-interruptions",
            name=naming.name("burst-interruptions"),
            message_retention_seconds=300,  # a 2-minute warning is useless after 5 minutes
            # The notifications key, not the data key: EventBridge must be allowed to use the
            # queue's key, and it has no business with the key that protects the data.
            kms_master_key_id=self._args.queue_key_arn,
            kms_data_key_reuse_period_seconds=300,
            tags=self._tags,
            opts=ctx.opts(self),
        )
        rules: list[aws.cloudwatch.EventRule] = []
        for key, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{self._name}-{key}",
                description=f"{key} events to the interruption queue",
                event_pattern=json.dumps(pattern),
                tags=self._tags,
                opts=ctx.opts(self),
            )
            aws.cloudwatch.EventTarget(f"{self._name}-{key}-target", rule=rule.name, arn=queue.arn, opts=ctx.opts(rule))
            rules.append(rule)

        def policy(queue_arn: str, *rule_arns: str) -> str:
            return json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "EventBridgeSends",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": queue_arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": list(rule_arns)}},
                        }
                    ],
                }
            )

        aws.sqs.QueuePolicy(
            f"{self._name}-interruptions-policy",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, *[r.arn for r in rules]).apply(lambda a: policy(*a)),
            opts=ctx.opts(queue),
        )
        return queue

    # -------------------------------------------------------------------- autoscaler
    def _expander_config(self) -> None:
        """The priority expander's ConfigMap, applied through a provider built from the cluster.

        `pulumi up` must reach the private endpoint (runner in the VPC or on site over the link).
        """
        args = self._args
        cluster = args.cluster
        config = pulumi.Output.all(cluster.endpoint, cluster.certificate_authority).apply(
            lambda a: kubeconfig(args.cluster_name, args.aws.region, a[0], _ca_data(a[1]))
        )
        provider = k8s.Provider(
            f"{self._name}-k8s",
            kubeconfig=config,
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s.core.v1.ConfigMap(
            f"{self._name}-priority-expander",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=c.CA_PRIORITY_CONFIGMAP,
                namespace=c.CA_NAMESPACE,
                labels={c.TAG_MANAGED_BY: c.MANAGED_BY_VALUE, c.TAG_ENVIRONMENT: args.naming.environment},
            ),
            data={"priorities": priority_expander(self.plans)},
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )


def _ca_data(ca: Any) -> str:
    if ca is None:
        return ""
    return str(ca["data"] if isinstance(ca, dict) else ca.data)
