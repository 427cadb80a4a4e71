"""GPU workload rules over typed Kubernetes objects (pulumi_kubernetes resources).

AIF-K8S-001 requests/limits and a GPU ceiling · AIF-K8S-002 ResourceQuota on GPU namespaces ·
AIF-K8S-003 approved registries, pinned by digest · AIF-K8S-004 no privileged/host namespaces
except allow-listed GPU system daemonsets · AIF-K8S-005 runAsNonRoot.

Helm charts are opaque to policies (PULUMI-OFFLINE.md): these rules see what components
create as typed resources.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from components import conventions as c
from policies.rules.base import Enforcement, Finding, ResourceView, Rule, is_unknown
from policies.rules.helpers import (
    WORKLOAD_TYPES,
    by_tier,
    containers,
    everywhere,
    glob_match,
    k8s_name,
    k8s_namespace,
    pod_spec,
    quantity,
)

NAMESPACE = "kubernetes:core/v1:Namespace"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
DAEMONSET = "kubernetes:apps/v1:DaemonSet"
GPU = c.GPU_RESOURCE
QUOTA_KEY = f"requests.{GPU}"
MAX_GPUS_PER_NODE = 8
"""The largest GPU servers and instances the blueprint knows carry 8 GPUs (components/gpus.py)."""


def _is_workload(t: str) -> bool:
    return t in WORKLOAD_TYPES


# ------------------------------------------------------------------------ K8S-001
def _resources_facts(cfg: Any) -> dict[str, Any]:
    per_model = [m.gpus_per_replica for m in (cfg.serving.models if cfg.serving else [])]
    return {"maxGpusPerContainer": max(per_model, default=1) if per_model else MAX_GPUS_PER_NODE}


def check_resources(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    spec = pod_spec(resource)
    if is_unknown(spec):
        return
    ceiling = config["maxGpusPerContainer"]
    for ctr in containers(spec):
        name = ctr.get("name", "?")
        raw = ctr.get("resources")
        res: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        requests: Mapping[str, Any] = res["requests"] if isinstance(res.get("requests"), Mapping) else {}
        limits: Mapping[str, Any] = res["limits"] if isinstance(res.get("limits"), Mapping) else {}
        missing = [f"requests.{k}" for k in ("cpu", "memory") if k not in requests]
        missing += [f"limits.{k}" for k in ("memory",) if k not in limits]
        if missing:
            yield f"container {name} lacks {', '.join(missing)}"
        if GPU in requests or GPU in limits:
            gpu_limit = limits.get(GPU)
            if gpu_limit is None:
                yield f"container {name} requests {GPU} without a limit"
            elif is_unknown(gpu_limit):
                yield f"container {name}: {GPU} limit is unknown at preview"
            else:
                n = quantity(gpu_limit)
                if n is None or n > ceiling:
                    yield f"container {name}: {GPU} limit {gpu_limit} is above the ceiling {ceiling}"


# ------------------------------------------------------------------------ K8S-002
def _quota_facts(_cfg: Any) -> dict[str, Any]:
    return {"gpuNamespaces": [c.NAMESPACE_SERVING, c.NAMESPACE_BATCH]}


def _uses_gpu(r: ResourceView) -> bool:
    for ctr in containers(pod_spec(r)):
        res = ctr.get("resources") or {}
        if any(isinstance(res.get(k), Mapping) and GPU in res[k] for k in ("requests", "limits")):
            return True
    return False


def check_quotas(resources: list[ResourceView], config: Mapping[str, Any]) -> Iterator[Finding]:
    declared = {k8s_name(r): r.urn for r in resources if r.type == NAMESPACE}
    gpu_ns: dict[str, str | None] = {n: u for n, u in declared.items() if n in config["gpuNamespaces"]}
    for r in resources:
        if _is_workload(r.type) and r.type != DAEMONSET and _uses_gpu(r):
            ns = k8s_namespace(r)
            if is_unknown(ns):
                yield Finding(f"{k8s_name(r)} uses GPUs in a namespace unknown at preview", r.urn)
                continue
            gpu_ns.setdefault(ns, declared.get(ns, r.urn))
    quotas: dict[str, list[Any]] = {}
    for q in resources:
        if q.type == RESOURCE_QUOTA:
            hard = ((q.props.get("spec") or {}).get("hard") or {}) if isinstance(q.props.get("spec"), Mapping) else {}
            quotas.setdefault(k8s_namespace(q), []).append(hard.get(QUOTA_KEY) if isinstance(hard, Mapping) else None)
    for ns, urn in sorted(gpu_ns.items()):
        values = [v for v in quotas.get(ns, []) if v is not None]
        if not values:
            yield Finding(f"GPU namespace {ns} has no ResourceQuota on {QUOTA_KEY}", urn)


# ------------------------------------------------------------------------ K8S-003
def _registry_facts(cfg: Any) -> dict[str, Any]:
    # The platform pulls through ECR pull-through caches in the stack's own regions; the site
    # points containerd at the same registry (AWS issue, supply chain).
    return {"approvedRegistries": [f"*.dkr.ecr.{r}.amazonaws.com" for r in cfg.residency.allowed_regions]}


def image_problem(image: Any, approved: list[str]) -> str | None:
    if is_unknown(image):
        return None  # computed from a repository output: checked again during `pulumi up`
    if not isinstance(image, str) or not image:
        return "has no image"
    registry = image.split("/", 1)[0] if "/" in image else "docker.io"
    if "." not in registry and ":" not in registry and registry != "localhost":
        registry = "docker.io"
    if not any(glob_match(registry, p) for p in approved):
        return f"image {image} is not from an approved registry ({', '.join(approved)})"
    if "@sha256:" not in image:
        return f"image {image} is not pinned by digest (@sha256:…)"
    return None


def check_images(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    for ctr in containers(pod_spec(resource)):
        problem = image_problem(ctr.get("image"), config["approvedRegistries"])
        if problem:
            yield f"container {ctr.get('name', '?')}: {problem}"


# ------------------------------------------------------------------ K8S-004/005
def _privilege_facts(_cfg: Any) -> dict[str, Any]:
    # The GPU operator's driver, toolkit, device plugin and DCGM exporter need host access.
    return {"privilegedAllowList": [{"kind": "DaemonSet", "namespace": c.NAMESPACE_GPU_OPERATOR, "name": "*"}]}


def allow_listed(resource: ResourceView, config: Mapping[str, Any]) -> bool:
    kind = resource.type.rsplit(":", 1)[-1]
    ns = k8s_namespace(resource)
    return any(
        e["kind"] == kind and e["namespace"] == ns and glob_match(k8s_name(resource), e["name"])
        for e in config["privilegedAllowList"]
    )


def check_privileged(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    spec = pod_spec(resource)
    if not isinstance(spec, Mapping) or allow_listed(resource, config):
        return
    host = [k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k) is True]
    if host:
        yield f"pod uses {', '.join(host)}"
    for ctr in containers(spec):
        sc = ctr.get("securityContext") or {}
        if isinstance(sc, Mapping) and (sc.get("privileged") is True or sc.get("allowPrivilegeEscalation") is True):
            yield f"container {ctr.get('name', '?')} is privileged or allows privilege escalation"


def check_non_root(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    spec = pod_spec(resource)
    if not isinstance(spec, Mapping) or allow_listed(resource, config):
        return
    pod_level = (spec.get("securityContext") or {}).get("runAsNonRoot") is True
    for ctr in containers(spec):
        sc = ctr.get("securityContext") or {}
        value = sc.get("runAsNonRoot") if isinstance(sc, Mapping) else None
        if value is False or (value is None and not pod_level):
            yield f"container {ctr.get('name', '?')} may run as root (runAsNonRoot not true)"


RESOURCES_RULE = Rule(
    id="AIF-K8S-001",
    name="k8s-container-resources",
    description=(
        "Every container sets cpu/memory requests and a memory limit, "
        f"and any {GPU} request has a limit within the ceiling."
    ),
    why=(
        "Without requests the scheduler overpacks GPU nodes; without "
        "a GPU limit DCGM cannot attribute GPU use to the pod."
    ),
    remediation=(
        f"Set resources.requests {{cpu, memory}}, limits {{memory, {GPU}}}; "
        "the GPU ceiling is the largest gpusPerReplica."
    ),
    enforcement=everywhere(),
    config_schema={"maxGpusPerContainer": {"type": "integer", "minimum": 1}},
    stack_facts=_resources_facts,
    kind="resource",
    check=check_resources,
    applies_to=_is_workload,
)

QUOTA_RULE = Rule(
    id="AIF-K8S-002",
    name="k8s-gpu-namespace-quota",
    description=f"Every namespace that runs GPU workloads has a ResourceQuota on {QUOTA_KEY}.",
    why="A quota is the in-cluster GPU cap per team/tier; without it one namespace can starve critical serving.",
    remediation=(
        f"Create a ResourceQuota with spec.hard['{QUOTA_KEY}'] in each GPU namespace (the tenancy component does)."
    ),
    enforcement=everywhere(),
    config_schema={"gpuNamespaces": {"type": "array", "items": {"type": "string"}}},
    stack_facts=_quota_facts,
    kind="stack",
    check=check_quotas,
)

IMAGES_RULE = Rule(
    id="AIF-K8S-003",
    name="k8s-approved-images",
    description="Container images come from an approved registry and are pinned by digest.",
    why="A mutable tag from a public registry lets whoever controls it run code next to the model weights.",
    remediation="Pull through the stack's ECR pull-through cache and reference images as repo@sha256:<digest>.",
    enforcement=by_tier(Enforcement.ADVISORY, Enforcement.MANDATORY, Enforcement.MANDATORY),
    config_schema={"approvedRegistries": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
    stack_facts=_registry_facts,
    kind="resource",
    check=check_images,
    applies_to=_is_workload,
)

PRIVILEGED_RULE = Rule(
    id="AIF-K8S-004",
    name="k8s-no-privileged",
    description="No pod is privileged or uses host network/PID/IPC, except allow-listed GPU system daemonsets.",
    why="A privileged pod owns the node: its GPUs, its model cache and its kubelet credentials.",
    remediation="Drop privileged/hostNetwork/hostPID; only the GPU operator's DaemonSets in its namespace are exempt.",
    enforcement=everywhere(),
    config_schema={"privilegedAllowList": {"type": "array", "items": {"type": "object"}}},
    stack_facts=_privilege_facts,
    kind="resource",
    check=check_privileged,
    applies_to=_is_workload,
)

NON_ROOT_RULE = Rule(
    id="AIF-K8S-005",
    name="k8s-run-as-non-root",
    description=(
        "Every container runs with runAsNonRoot (pod or container "
        "security context), except allow-listed GPU daemonsets."
    ),
    why="Root in a container is one kernel bug away from root on a GPU node shared by several tenants.",
    remediation="Set securityContext.runAsNonRoot: true and a numeric runAsUser on the pod.",
    enforcement=by_tier(Enforcement.ADVISORY, Enforcement.MANDATORY, Enforcement.MANDATORY),
    config_schema={"privilegedAllowList": {"type": "array", "items": {"type": "object"}}},
    stack_facts=_privilege_facts,
    kind="resource",
    check=check_non_root,
    applies_to=_is_workload,
)

RULES = (RESOURCES_RULE, QUOTA_RULE, IMAGES_RULE, PRIVILEGED_RULE, NON_ROOT_RULE)
