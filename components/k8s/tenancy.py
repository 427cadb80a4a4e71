"""Tenancy: namespaces with Pod Security labels, GPU quotas, limit ranges, priority classes and
default-deny network policies with the flows the platform needs.

Pure functions compute the specs (`namespace_plan`, `gpu_quota`, `network_policies`); the
component only registers them, so tests and policies read the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components import conventions as c
from components.config.models import FactoryConfig, ServedModel, ServingTier
from components.k8s.context import PlatformContext
from components.k8s.placement import CLOUD_PLACES_LABELS
from components.releases import served_releases


@dataclass(frozen=True)
class NamespacePlan:
    name: str
    pod_security: str
    """Pod Security admission level enforced: restricted, or privileged for node agents."""
    gpu_quota: int | None
    """requests.nvidia.com/gpu; None: the namespace runs no GPU pods (quota 0 is set for safety)."""
    data_class: str = "none"
    cpu_quota: str | None = None
    memory_quota: str | None = None


PRIORITIES: tuple[tuple[str, int, str], ...] = (
    (c.PRIORITY_CRITICAL, 100000, "Critical model serving: never preempted by standard or batch work."),
    (c.PRIORITY_STANDARD, 10000, "Standard serving and platform services."),
    (c.PRIORITY_BATCH, 1000, "Batch and scale-to-zero work: preempted first when GPUs are short."),
)
"""PriorityClass name → value → description. Below system-cluster-critical (2e9)."""


def model_namespace(model: ServedModel) -> str:
    """Every model is served from the serving namespace, whatever its tier: one model-loader
    identity reads the models bucket there (cloud.eks.workloads), and tiers differ by priority
    class and scale-to-zero instead. The batch namespace is for batch jobs (team quotas)."""
    del model
    return c.NAMESPACE_SERVING


def priority_class(model: ServedModel) -> str:
    return {
        ServingTier.CRITICAL: c.PRIORITY_CRITICAL,
        ServingTier.STANDARD: c.PRIORITY_STANDARD,
        ServingTier.BATCH: c.PRIORITY_BATCH,
    }[model.tier]


def gpu_quota(cfg: FactoryConfig, namespace: str) -> int:
    """GPUs a namespace may request: its models at max replicas (+ batch headroom from config)."""
    # Candidates under canary need their GPUs inside the same quota.
    models = [r.model for r in served_releases(cfg.serving.models)] if cfg.serving else []
    total = sum(m.max_replicas * m.gpus_per_replica for m in models if model_namespace(m) == namespace)
    if namespace == c.NAMESPACE_BATCH:
        total += cfg.kubernetes.batch_gpu_quota
    return total


def namespace_plan(cfg: FactoryConfig) -> list[NamespacePlan]:
    plans = [
        NamespacePlan(c.NAMESPACE_SERVING, "restricted", gpu_quota(cfg, c.NAMESPACE_SERVING)),
        NamespacePlan(c.NAMESPACE_BATCH, "restricted", gpu_quota(cfg, c.NAMESPACE_BATCH)),
        # kube-prometheus-stack's node-exporter DaemonSet needs the host's network and PID namespaces.
        NamespacePlan(c.NAMESPACE_OBSERVABILITY, "privileged", None),
        # The operator's driver/toolkit/device-plugin/DCGM DaemonSets need host access.
        NamespacePlan(c.NAMESPACE_GPU_OPERATOR, "privileged", None),
        NamespacePlan(c.NAMESPACE_KEDA, "restricted", None),
        NamespacePlan(c.NAMESPACE_OPENCOST, "restricted", None),
    ]
    if cfg.vector_store is not None:
        plans.append(NamespacePlan(c.NAMESPACE_VECTOR, "restricted", None, data_class=cfg.vector_store.data_class))
    for team, spec in cfg.kubernetes.teams.items():
        plans.append(
            NamespacePlan(
                f"{c.NAMESPACE_TEAM_PREFIX}{team}",
                "restricted",
                spec.gpu_quota,
                cpu_quota=spec.cpu_quota,
                memory_quota=spec.memory_quota,
            )
        )
    return plans


def _peer(namespace: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    if labels:
        peer["podSelector"] = {"matchLabels": labels}
    return peer


def _ports(*ports: int, protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": p} for p in ports]


ROUTER_POD = {c.LABEL_APP: "router"}
VLLM_POD = {c.LABEL_APP: "vllm"}
REDIS_POD = {c.LABEL_APP: "router-cache"}
QDRANT_POD = {c.LABEL_APP: "qdrant"}
ROUTER_DB_POD = {c.LABEL_APP: "router-db"}
VECTOR_CLIENT_POD = {c.LABEL_VECTOR_CLIENT: "true"}
"""Pods that call the vector store opt in with this label (Qdrant admits nothing else but its peers,
the snapshot job and Prometheus' metrics scrape)."""
QDRANT_CLIENT_PORTS = (c.PORT_QDRANT_HTTP, c.PORT_QDRANT_GRPC)


def vector_client_namespaces(cfg: FactoryConfig) -> list[str]:
    """Namespaces whose labelled pods may call Qdrant: serving, batch and every team namespace."""
    return [
        c.NAMESPACE_SERVING,
        c.NAMESPACE_BATCH,
        *(f"{c.NAMESPACE_TEAM_PREFIX}{team}" for team in cfg.kubernetes.teams),
    ]


def _vector_clients(cfg: FactoryConfig) -> dict[str, Any]:
    """Peer: labelled pods in the client namespaces (one selector: namespace In [...] and the pod label)."""
    names = {"key": "kubernetes.io/metadata.name", "operator": "In", "values": vector_client_namespaces(cfg)}
    return {"namespaceSelector": {"matchExpressions": [names]}, "podSelector": {"matchLabels": VECTOR_CLIENT_POD}}


DNS_EGRESS = {
    "to": [_peer("kube-system", {"k8s-app": "kube-dns"})],
    "ports": _ports(c.PORT_DNS, protocol="UDP") + _ports(c.PORT_DNS),
}
HTTPS_EGRESS = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": _ports(443)}
"""The router's way to the external API (a provider's addresses are not published as a list)."""
POD_IDENTITY_EGRESS = {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": _ports(80)}
"""The EKS Pod Identity agent on the node: where the weight fetcher gets its bucket credentials."""


def _ip_blocks(cidrs: list[str]) -> list[dict[str, Any]]:
    if not cidrs:
        # An empty `to` in a NetworkPolicy rule means "anywhere": never build one.
        raise ValueError("no networks for an egress rule: an empty `to` would let the pods reach anywhere")
    return [{"ipBlock": {"cidr": n}} for n in cidrs]


def site_store_egress(endpoint: str, cidrs: list[str]) -> dict[str, Any]:
    """To a site store: its networks, on its endpoint's port (443 unless the URL names one)."""
    return {"to": _ip_blocks(cidrs), "ports": _ports(urlsplit(endpoint).port or 443)}


def vllm_site_egress(cfg: FactoryConfig) -> list[dict[str, Any]]:
    """Every model server's way out: the site's model store, nothing else (none without a site)."""
    store = cfg.serving.site_model_store if cfg.serving is not None else None
    if cfg.on_prem is None or store is None:
        return []
    return [site_store_egress(store.endpoint, store.cidrs)]


def s3_egress(cfg: FactoryConfig, cidrs: pulumi.Input[list[str]] | None) -> dict[str, Any]:
    """HTTPS to the region's S3 ranges only (components/aws/s3_ranges.py), not to the internet."""
    if cidrs is None:
        raise ValueError(
            f"{cfg.environment.name}: EKS stacks need the region's S3 ranges for bucket readers' NetworkPolicies "
            "(PlatformArgs.s3_cidrs, from components/aws/s3_ranges.py)"
        )
    to = _ip_blocks(cidrs) if isinstance(cidrs, list) else pulumi.Output.from_input(cidrs).apply(_ip_blocks)
    return {"to": to, "ports": _ports(443)}


def network_policies(
    cfg: FactoryConfig, namespace: str, s3_cidrs: pulumi.Input[list[str]] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(name, spec) of every NetworkPolicy of `namespace`: a default deny, then the allowed flows."""
    scrape = {"from": [_peer(c.NAMESPACE_OBSERVABILITY)]}
    policies: list[tuple[str, dict[str, Any]]] = [
        ("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        ("allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [DNS_EGRESS]}),
    ]
    if namespace in (c.NAMESPACE_SERVING, c.NAMESPACE_BATCH):
        # vLLM: requests only from the router, metrics only from Prometheus; weights from the site's store.
        # A server whose data stays on the site gets no other way out: prompts it holds cannot reach the
        # internet even if the image or a model's code tried.
        vllm: dict[str, Any] = {
            "podSelector": {"matchLabels": VLLM_POD},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [_peer(c.NAMESPACE_SERVING, ROUTER_POD)], "ports": _ports(c.PORT_VLLM)},
                {**scrape, "ports": _ports(c.PORT_VLLM)},
            ],
        }
        if site_egress := vllm_site_egress(cfg):
            vllm["egress"] = site_egress
        policies.append(("vllm", vllm))
        if cfg.has_eks:
            # Servers that may run on cloud nodes read the models bucket there (placement decides the label):
            # HTTPS to the region's S3 ranges and the Pod Identity agent that hands out the bucket role.
            cloud_egress = [s3_egress(cfg, s3_cidrs), POD_IDENTITY_EGRESS]
            cloud_pods = {
                "matchLabels": VLLM_POD,
                "matchExpressions": [{"key": c.LABEL_PLACES, "operator": "In", "values": CLOUD_PLACES_LABELS}],
            }
            policies.append(
                (
                    "vllm-cloud-weights",
                    {"podSelector": cloud_pods, "policyTypes": ["Egress"], "egress": cloud_egress},
                )
            )
        if cfg.vector_store is not None:
            # Labelled vector clients (RAG retrieval, ingestion jobs) → Qdrant's API ports, nothing else.
            policies.append(
                (
                    "vector-client",
                    {
                        "podSelector": {"matchLabels": VECTOR_CLIENT_POD},
                        "policyTypes": ["Egress"],
                        "egress": [
                            {"to": [_peer(c.NAMESPACE_VECTOR, QDRANT_POD)], "ports": _ports(*QDRANT_CLIENT_PORTS)}
                        ],
                    },
                )
            )
    if namespace == c.NAMESPACE_SERVING:
        router_egress: list[dict[str, Any]] = [
            {
                "to": [_peer(c.NAMESPACE_SERVING, VLLM_POD), _peer(c.NAMESPACE_BATCH, VLLM_POD)],
                "ports": _ports(c.PORT_VLLM),
            },
            {"to": [_peer(c.NAMESPACE_SERVING, REDIS_POD)], "ports": _ports(c.PORT_REDIS)},
        ]
        # Teams or a router budget: LiteLLM keeps them in its database (router_database.py).
        with_router_db = cfg.serving is not None and cfg.serving.router.needs_database
        if with_router_db:
            router_egress.append({"to": [_peer(c.NAMESPACE_SERVING, ROUTER_DB_POD)], "ports": _ports(c.PORT_POSTGRES)})
        if cfg.serving is not None and cfg.serving.router.external_api_model is not None:
            router_egress.append(HTTPS_EGRESS)
        policies += [
            (
                "router",
                {
                    # Clients reach the router from any namespace (and the internal load balancer).
                    "podSelector": {"matchLabels": ROUTER_POD},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"ports": _ports(c.PORT_ROUTER)}],
                    "egress": router_egress,
                },
            ),
            (
                "router-cache",
                {
                    "podSelector": {"matchLabels": REDIS_POD},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [_peer(c.NAMESPACE_SERVING, ROUTER_POD)], "ports": _ports(c.PORT_REDIS)}],
                },
            ),
        ]
        if with_router_db:
            # Teams, keys and spend: only the router reads or writes them.
            policies.append(
                (
                    "router-db",
                    {
                        "podSelector": {"matchLabels": ROUTER_DB_POD},
                        "policyTypes": ["Ingress", "Egress"],
                        "ingress": [
                            {"from": [_peer(c.NAMESPACE_SERVING, ROUTER_POD)], "ports": _ports(c.PORT_POSTGRES)}
                        ],
                    },
                )
            )
    if namespace == c.NAMESPACE_VECTOR:
        policies.append(
            (
                "qdrant",
                {
                    "podSelector": {"matchLabels": QDRANT_POD},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [
                        # Only pods labelled as vector clients, and only from the client namespaces.
                        {"from": [_vector_clients(cfg)], "ports": _ports(*QDRANT_CLIENT_PORTS)},
                        {"from": [{"podSelector": {"matchLabels": QDRANT_POD}}], "ports": _ports(c.PORT_QDRANT_P2P)},
                        # The dedicated metrics port: /metrics on 6333 needs the API key.
                        {**scrape, "ports": _ports(c.PORT_QDRANT_METRICS)},
                    ],
                    # Peers only (Raft, shard transfers); the snapshot job's flows are its own policy.
                    "egress": [
                        {"to": [{"podSelector": {"matchLabels": QDRANT_POD}}], "ports": _ports(c.PORT_QDRANT_P2P)}
                    ],
                },
            )
        )
    return policies


GUARDED_NAMESPACES = (c.NAMESPACE_SERVING, c.NAMESPACE_BATCH, c.NAMESPACE_VECTOR)
"""Namespaces that hold data or prompts get default-deny policies; the third-party add-on
namespaces (operators, monitoring) are left to their charts' own policies."""


class Tenancy(pulumi.ComponentResource):
    """Namespaces, quotas, limit ranges, priority classes and network policies."""

    namespaces: dict[str, k8s.core.v1.Namespace]

    def __init__(self, name: str, ctx: PlatformContext, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(c.type_token("k8s", "Tenancy"), name, {}, opts)
        cfg = ctx.config
        self.namespaces = {}
        for plan in namespace_plan(cfg):
            labels = {
                **ctx.labels(plan.name, "tenancy", data_class=plan.data_class),
                c.PSA_ENFORCE: plan.pod_security,
                c.PSA_ENFORCE_VERSION: f"v{ctx.kubernetes_version}",
                c.PSA_WARN: "restricted",
                c.PSA_AUDIT: "restricted",
            }
            ns = k8s.core.v1.Namespace(
                f"{name}-{plan.name}", metadata={"name": plan.name, "labels": labels}, opts=ctx.opts(self)
            )
            self.namespaces[plan.name] = ns
            self._quota(name, ctx, plan, ns)
        for pc_name, value, description in PRIORITIES:
            k8s.scheduling.v1.PriorityClass(
                f"{name}-{pc_name}",
                metadata={"name": pc_name, "labels": ctx.labels(pc_name, "tenancy")},
                value=value,
                global_default=False,
                preemption_policy="PreemptLowerPriority",
                description=description,
                opts=ctx.opts(self),
            )
        for ns_name in GUARDED_NAMESPACES:
            if ns_name not in self.namespaces:
                continue
            for pol_name, spec in network_policies(cfg, ns_name, ctx.s3_cidrs):
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-{ns_name}-{pol_name}",
                    metadata=ctx.meta(pol_name, ns_name, ctx.labels(pol_name, "tenancy")),
                    spec=spec,
                    opts=ctx.opts(self, depends_on=[self.namespaces[ns_name]]),
                )
        self.register_outputs({})

    def _quota(self, name: str, ctx: PlatformContext, plan: NamespacePlan, ns: k8s.core.v1.Namespace) -> None:
        if plan.pod_security == "privileged":
            return  # node agents: sized by the operator, not by tenants
        hard: dict[str, str] = {f"requests.{c.GPU_RESOURCE}": str(plan.gpu_quota or 0)}
        if plan.cpu_quota:
            hard["requests.cpu"] = plan.cpu_quota
        if plan.memory_quota:
            hard["requests.memory"] = plan.memory_quota
        opts = ctx.opts(self, depends_on=[ns])
        k8s.core.v1.ResourceQuota(
            f"{name}-{plan.name}-quota",
            metadata=ctx.meta("gpu-quota", plan.name, ctx.labels("gpu-quota", "tenancy")),
            spec={"hard": hard},
            opts=opts,
        )
        # Defaults for containers that forget requests, so quota accounting and scheduling stay honest.
        k8s.core.v1.LimitRange(
            f"{name}-{plan.name}-limits",
            metadata=ctx.meta("defaults", plan.name, ctx.labels("defaults", "tenancy")),
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                        # No default CPU *limit*: it would cap (or, below the request, reject) pods
                        # such as vLLM that request CPUs and deliberately set no CPU limit.
                        "default": {"memory": "512Mi"},
                        # No GPU `max` (the quota caps GPUs): Kubernetes defaults a missing `default`
                        # from `max` and `defaultRequest` from `default`, so a max would hand every
                        # container that asks for no GPU that many GPUs (LimitRangeItem defaulting).
                    }
                ]
            },
            opts=opts,
        )
