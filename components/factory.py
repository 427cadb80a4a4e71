"""Builds the whole factory of one environment from its typed config."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components import conventions as c
from components.aws.audit import Audit, AuditArgs, trail_name
from components.aws.budget_guard import BudgetGuard, BudgetGuardArgs, read_pause_state
from components.aws.budgets import Budgets, BudgetsArgs
from components.aws.cluster import BurstCluster, BurstClusterArgs
from components.aws.data_zones import DataZones, DataZonesArgs, zone_classes
from components.aws.gpu_pools import PoolPlan, plan_pools
from components.aws.identity import (
    HybridNodeIdentity,
    HybridNodeIdentityArgs,
    WorkloadIdentities,
    WorkloadIdentitiesArgs,
)
from components.aws.network import Network, NetworkArgs
from components.aws.node_pools import NodePools, NodePoolsArgs
from components.aws.provider import AwsContext, aws_context
from components.aws.registry import Registry, RegistryArgs
from components.aws.replication import Replication, ReplicationArgs
from components.aws.storage import KeyService, Storage, StorageArgs, key_data_class
from components.config.models import BucketPurpose, ClusterJoin, DataZone, FactoryConfig
from components.config.secrets import read_secrets
from components.gpu_sharing import sharing_node_labels
from components.guard import deploy_spec
from components.guard.pause_state import NOT_PAUSED, PauseState
from components.k8s import Platform
from components.k8s.wiring import platform_for
from components.onprem.baseline import OnPremGpuBaseline, OnPremGpuBaselineArgs
from components.onprem.credentials import join_secret_vars
from components.tagging import Naming


@dataclass
class Factory:
    """What `build` created; `stacks/__main__.py` exports from it."""

    config: FactoryConfig
    naming: Naming
    aws: AwsContext | None = None
    storage: Storage | None = None
    replication: Replication | None = None
    data_zones: DataZones | None = None
    audit: Audit | None = None
    budgets: Budgets | None = None
    budget_guard: BudgetGuard | None = None
    pause_state: PauseState = NOT_PAUSED
    """The budget guard's pause record as this run read it (NOT_PAUSED without a guard)."""
    network: Network | None = None
    hybrid_identity: HybridNodeIdentity | None = None
    cluster: BurstCluster | None = None
    node_pools: NodePools | None = None
    workloads: WorkloadIdentities | None = None
    registry: Registry | None = None
    on_prem: OnPremGpuBaseline | None = None
    platform: Platform | None = None
    secrets: dict[str, pulumi.Output[str]] = field(default_factory=dict)

    def outputs(self) -> dict[str, object]:
        out: dict[str, object] = {
            "environment": self.config.environment.name,
            "tier": self.config.environment.tier.value,
        }
        if self.aws is not None:
            out["region"] = self.aws.region
        if self.storage is not None:
            out["dataKeyArn"] = self.storage.key.arn
            out["buckets"] = {p.value: b.bucket for p, b in self.storage.buckets.items()}
        if self.data_zones is not None and self.storage is not None:
            out["dataZoneBuckets"] = {z.value: b.bucket for z, b in self.storage.zones.items()}
            out["dataZoneRoleArns"] = {d: r.arn for d, r in self.data_zones.roles.items()}
            out["rawEventsQueueUrl"] = self.data_zones.events_queue.url
        if self.budgets is not None:
            out["costAlertsTopicArn"] = self.budgets.topic.arn
        if self.budget_guard is not None:
            out["budgetGuardFunctionArn"] = self.budget_guard.function.arn
            out["budgetGuardPausedNodeGroups"] = sorted(self.pause_state.pools) if self.pause_state.paused else []
        if self.network is not None:
            out["vpcId"] = self.network.vpc.id
        if self.cluster is not None:
            out["clusterName"] = self.cluster.cluster.name
            out["clusterEndpoint"] = self.cluster.cluster.endpoint
        if self.node_pools is not None:
            out["interruptionQueueUrl"] = self.node_pools.interruption_queue.url
            out["burstMaxGpus"] = sum(p.max_gpus for p in self.node_pools.plans)
        if self.workloads is not None:
            out["workloadRoleArns"] = {k: r.arn for k, r in self.workloads.roles.items()}
        if self.registry is not None:
            out["registryPrefix"] = self.registry.prefix
            out["repositories"] = {k: r.repository_url for k, r in self.registry.repositories.items()}
        hid = self.hybrid_identity
        if hid is not None:
            out["hybridNodeRoleArn"] = hid.role.arn
            if hid.activation is not None:
                # nodeadm's NodeConfig needs both; the code is a credential, hence a secret output.
                out["hybridSsmActivationId"] = hid.activation.id
                out["hybridSsmActivationCode"] = pulumi.Output.secret(hid.activation.activation_code)
            if hid.trust_anchor is not None and hid.profile is not None:
                out["hybridTrustAnchorArn"] = hid.trust_anchor.arn
                out["hybridProfileArn"] = hid.profile.arn
        return out


def build(cfg: FactoryConfig) -> Factory:
    """Register every resource of the environment.

    Secrets are read first so a missing one stops the run before anything is registered.
    """
    naming = Naming.from_config(cfg)
    factory = Factory(config=cfg, naming=naming, secrets=read_secrets(cfg))
    if cfg.cloud is not None:
        _cloud(factory, aws_context(cfg.cloud, naming))
    if cfg.on_prem is not None:
        hid = factory.hybrid_identity
        factory.on_prem = OnPremGpuBaseline(
            naming.name("onprem"),
            OnPremGpuBaselineArgs(
                config=cfg,
                ssh_private_key=factory.secrets["onPremSshPrivateKey"],
                secret_vars=join_secret_vars(cfg, factory.secrets, hid.activation if hid else None),
                after=_join_prerequisites(factory),
            ),
        )
    # Kubernetes platform: on the EKS cluster, or on the kubeadm site cluster; none without a cluster.
    factory.platform = platform_for(factory)
    return factory


def _join_prerequisites(factory: Factory) -> list[pulumi.Resource]:
    """What must exist before the first server joins EKS as a hybrid node: the cluster with its
    remote networks, the nodes' access entry and role, the network path (VPN) and the add-ons
    (nodeadm's kubelet needs kube-proxy and CoreDNS). Without them nodeadm times out."""
    if factory.config.join_method is not ClusterJoin.EKS_HYBRID or factory.cluster is None:
        return []
    after: list[pulumi.Resource] = [factory.cluster]
    if factory.hybrid_identity is not None:
        after.append(factory.hybrid_identity)
    if factory.network is not None:
        after.append(factory.network)
    after += list(factory.cluster.addons.values())
    return after


def _cloud(factory: Factory, ctx: AwsContext) -> None:
    """Everything in the AWS account: storage, audit and budgets always; the burst side with EKS."""
    cfg, naming = factory.config, factory.naming
    factory.aws = ctx
    _storage_and_audit(factory, ctx)
    factory.budgets = Budgets(
        naming.name("budgets"),
        BudgetsArgs(
            config=cfg.budget,
            naming=naming,
            aws=ctx,
            emails=list(cfg.environment.contact_emails),
            stateful_protection=cfg.is_prod,
            # EventBridge delivers spot interruption events to the queue under the same key.
            extra_publishers=("events.amazonaws.com",) if cfg.has_eks else (),
        ),
    )
    if cfg.has_eks:
        _burst(factory, ctx)
    _data_zones(factory, ctx)


def _guarded_pools(factory: Factory) -> list[PoolPlan]:
    """Burst pools the budget guard may pause (spot / on-demand burst; never the floor or system pool)."""
    cfg = factory.config
    assert cfg.cloud is not None and cfg.cloud.eks is not None
    pools, _ = plan_pools(cfg.cloud.eks.burst)
    return deploy_spec.pausable_pools(pools)


def _storage_and_audit(factory: Factory, ctx: AwsContext) -> None:
    cfg, naming = factory.config, factory.naming
    if cfg.storage is None:
        return
    assert cfg.cloud is not None
    has_logs = BucketPurpose.LOGS in cfg.storage.buckets
    audit = cfg.cloud.audit_trail and has_logs
    # The key admits only the services this stack runs: logs and volumes exist only with EKS.
    services: frozenset[KeyService] = frozenset({"logs", "ebs"}) if cfg.has_eks else frozenset()
    factory.storage = Storage(
        naming.name("storage"),
        StorageArgs(
            config=cfg.storage,
            naming=naming,
            aws=ctx,
            stateful_protection=cfg.is_prod,
            key_data_class=key_data_class(cfg),
            key_services=services,
            audit_trail_name=trail_name(naming) if audit else None,
            zone_classes=zone_classes(cfg) if cfg.storage.data_zones is not None else (),
        ),
    )
    if cfg.storage.replication is not None:
        factory.replication = Replication(
            naming.name("replication"),
            ReplicationArgs(
                config=cfg.storage,
                naming=naming,
                aws=ctx,
                sources=factory.storage.buckets,
                source_key_arn=factory.storage.key.arn,
                after=[factory.storage],
                stateful_protection=cfg.is_prod,
            ),
        )
    if audit:
        buckets = factory.storage.buckets
        # Every model and dataset store: the buckets but logs, and the raw and quarantine zones (curated
        # is buckets[DATASETS]).
        data = [b for p, b in buckets.items() if p is not BucketPurpose.LOGS]
        data += [b for z, b in factory.storage.zones.items() if z is not DataZone.CURATED]
        factory.audit = Audit(
            naming.name("audit"),
            AuditArgs(
                naming=naming,
                aws=ctx,
                logs_bucket=buckets[BucketPurpose.LOGS],
                data_bucket_arns=[b.arn for b in data],
                key_arn=factory.storage.key.arn,
                after=[factory.storage],
            ),
        )


def _data_zones(factory: Factory, ctx: AwsContext) -> None:
    """Zone roles and the raw bucket's event queue; service accounts bound when the stack has EKS."""
    cfg, storage, cluster = factory.config, factory.storage, factory.cluster
    if storage is None or cfg.storage is None or cfg.storage.data_zones is None:
        return
    factory.data_zones = DataZones(
        factory.naming.name("data-zones"),
        DataZonesArgs(
            config=cfg.storage.data_zones,
            naming=factory.naming,
            aws=ctx,
            zones=storage.zones,
            key_arn=storage.key.arn,
            stateful_protection=cfg.is_prod,
            data_class=cfg.storage.buckets[BucketPurpose.DATASETS].data_class,
            cluster_name=cluster.cluster.name if cluster is not None else None,
            depends_on=[cluster.pod_identity_agent] if cluster is not None and cluster.pod_identity_agent else [],
        ),
    )


def _burst(factory: Factory, ctx: AwsContext) -> None:
    """Network, cluster, node pools, workload identities and registry of an EKS stack."""
    cfg, naming = factory.config, factory.naming
    assert cfg.cloud is not None and cfg.cloud.eks is not None
    assert factory.storage is not None and factory.budgets is not None
    eks, storage = cfg.cloud.eks, factory.storage
    cluster_name = naming.name("burst")
    key_arn = storage.key.arn
    hybrid = cfg.join_method is ClusterJoin.EKS_HYBRID and cfg.on_prem is not None
    site = cfg.on_prem.network if hybrid and cfg.on_prem is not None else None

    network = factory.network = Network(
        naming.name("network"),
        NetworkArgs(
            config=cfg.cloud.vpc,
            naming=naming,
            aws=ctx,
            cluster_name=cluster_name,
            key_arn=key_arn,
            hybrid=cfg.cloud.hybrid if hybrid else None,
            site=site,
        ),
    )
    if hybrid and cfg.on_prem is not None:
        factory.hybrid_identity = HybridNodeIdentity(
            naming.name("hybrid-nodes"),
            HybridNodeIdentityArgs(
                naming=naming,
                aws=ctx,
                provider=cfg.on_prem.cluster.credential_provider,
                config=cfg.cloud.identity,
                servers=len(cfg.on_prem.servers),
                cluster_name=cluster_name,
            ),
        )
    cluster = factory.cluster = BurstCluster(
        naming.name("cluster"),
        BurstClusterArgs(
            config=eks,
            naming=naming,
            aws=ctx,
            cluster_name=cluster_name,
            subnet_ids=network.private_subnet_ids,
            key_arn=key_arn,
            security_group_ids=[network.remote_cluster_sg.id] if network.remote_cluster_sg else [],
            remote_network=site,
            hybrid_node_role_arn=factory.hybrid_identity.role.arn if factory.hybrid_identity else None,
            stateful_protection=cfg.is_prod,
        ),
    )
    # The budget guard exists when there is a Budget to watch and a burst pool it may pause; the
    # node groups it paused are then registered paused (read before the groups are registered).
    guarded = _guarded_pools(factory) if factory.budgets.budget is not None else []
    if guarded:
        factory.pause_state = read_pause_state(ctx, cfg.environment.name)
    pools = factory.node_pools = NodePools(
        naming.name("node-pools"),
        NodePoolsArgs(
            config=eks,
            naming=naming,
            aws=ctx,
            cluster=cluster.cluster,
            cluster_name=cluster_name,
            subnet_ids=network.private_subnet_ids,
            key_arn=key_arn,
            extra_security_group_ids=[network.remote_node_sg.id] if network.remote_node_sg else [],
            queue_key_arn=factory.budgets.key.arn,
            gpu_node_labels=sharing_node_labels(factory.config, c.LOCATION_CLOUD),
            pause_state=factory.pause_state,
        ),
    )
    if guarded:
        factory.budget_guard = BudgetGuard(
            naming.name("budget-guard"),
            BudgetGuardArgs(
                naming=naming,
                aws=ctx,
                cluster_name=cluster_name,
                node_group_names=[p.node_group_name(cluster_name) for p in guarded],
                budget_name=c.budget_name(cfg.environment.name),
                pause_at_percent=cfg.budget.pause_at_percent,
                topic=factory.budgets.topic,
                topic_key_arn=factory.budgets.key.arn,
                log_key_arn=key_arn,
            ),
        )
    cluster.add_addons(after=[pools.node_groups["system"]])
    factory.workloads = WorkloadIdentities(
        naming.name("workloads"),
        WorkloadIdentitiesArgs(
            naming=naming,
            aws=ctx,
            cluster_name=cluster.cluster.name,
            workloads=dict(eks.workloads),
            # `datasets` is the curated zone when the datasets storage is zoned: workloads read curated only.
            bucket_arns={p: b.arn for p, b in storage.buckets.items()},
            key_arn=key_arn,
            interruption_queue_arn=pools.interruption_queue.arn,
            interruption_key_arn=factory.budgets.key.arn,
            physical_cluster_name=cluster_name,
            depends_on=[cluster.pod_identity_agent] if cluster.pod_identity_agent else [],
        ),
    )
    factory.registry = Registry(
        naming.name("registry"),
        RegistryArgs(config=cfg.cloud.registry, naming=naming, aws=ctx, key_arn=key_arn),
    )
