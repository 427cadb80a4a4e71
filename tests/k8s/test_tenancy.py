"""Tenancy: Pod Security labels, GPU quotas sized from the catalog, priority classes, default-deny."""

from __future__ import annotations

import pytest
from support import REFERENCE_STACKS

from components import conventions as c
from components.releases import served_releases


def _of(plan, kind: str) -> list[dict]:
    return [
        r["inputs"] for r in plan.resources if r["type"].startswith("kubernetes:") and r["type"].endswith(f":{kind}")
    ]


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_namespaces_enforce_pod_security(stack: str, plans) -> None:
    namespaces = {n["metadata"]["name"]: n["metadata"]["labels"] for n in _of(plans[stack], "Namespace")}
    assert {c.NAMESPACE_SERVING, c.NAMESPACE_BATCH, c.NAMESPACE_GPU_OPERATOR} <= set(namespaces)
    for name, labels in namespaces.items():
        # Only node agents (GPU operator DaemonSets, node-exporter) may leave `restricted`.
        privileged = name in (c.NAMESPACE_GPU_OPERATOR, c.NAMESPACE_OBSERVABILITY)
        assert labels[c.PSA_ENFORCE] == ("privileged" if privileged else "restricted"), name
        assert labels[c.PSA_WARN] == labels[c.PSA_AUDIT] == "restricted"
        assert labels[c.TAG_MANAGED_BY] == "pulumi"


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_gpu_quota_covers_the_catalog_at_max_replicas(stack: str, plans) -> None:
    plan = plans[stack]
    quotas = {q["metadata"]["namespace"]: q["spec"]["hard"] for q in _of(plan, "ResourceQuota")}
    # Stable releases and candidates under canary alike.
    servers = [r.model for r in served_releases(plan.config.serving.models)]
    serving = sum(m.max_replicas * m.gpus_per_replica for m in servers)
    assert quotas[c.NAMESPACE_SERVING][f"requests.{c.GPU_RESOURCE}"] == str(serving)
    assert quotas[c.NAMESPACE_BATCH][f"requests.{c.GPU_RESOURCE}"] == str(plan.config.kubernetes.batch_gpu_quota)
    for team, spec in plan.config.kubernetes.teams.items():
        assert quotas[f"{c.NAMESPACE_TEAM_PREFIX}{team}"][f"requests.{c.GPU_RESOURCE}"] == str(spec.gpu_quota)


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_priority_classes_order_the_tiers(stack: str, plans) -> None:
    values = {p["metadata"]["name"]: p["value"] for p in _of(plans[stack], "PriorityClass")}
    assert values[c.PRIORITY_CRITICAL] > values[c.PRIORITY_STANDARD] > values[c.PRIORITY_BATCH] > 0


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_default_deny_with_only_the_needed_flows(stack: str, plans) -> None:
    plan = plans[stack]
    policies: dict[str, dict[str, dict]] = {}
    for p in _of(plan, "NetworkPolicy"):
        policies.setdefault(p["metadata"]["namespace"], {})[p["metadata"]["name"]] = p["spec"]
    guarded = {c.NAMESPACE_SERVING, c.NAMESPACE_BATCH} | ({c.NAMESPACE_VECTOR} if plan.config.vector_store else set())
    assert set(policies) == guarded
    for ns in guarded:
        deny = policies[ns]["default-deny"]
        assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny
        assert "allow-dns" in policies[ns]
    vllm_in = policies[c.NAMESPACE_SERVING]["vllm"]["ingress"]
    assert vllm_in[0]["from"][0]["podSelector"]["matchLabels"] == {c.LABEL_APP: "router"}
    router_out = policies[c.NAMESPACE_SERVING]["router"]["egress"]
    leaves = any(peer.get("ipBlock") for rule in router_out for peer in rule["to"])
    assert leaves is (plan.config.serving.router.external_api_model is not None)


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_limit_range_defaults_never_undercut_a_request(stack: str, plans) -> None:
    """A default CPU limit below a container's CPU request makes the API server reject the pod."""
    for lr in _of(plans[stack], "LimitRange"):
        for item in lr["spec"]["limits"]:
            assert "cpu" not in item.get("default", {})


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_workload_containers_request_what_they_are_limited_to(stack: str, plans) -> None:
    """GPUs and memory: request == limit (Guaranteed-style), so the scheduler packs GPU nodes honestly."""
    kinds = ("Deployment", "StatefulSet")
    pods = [w["spec"]["template"]["spec"] for k in kinds for w in _of(plans[stack], k)]
    assert pods
    for pod in pods:
        for ctr in pod.get("initContainers", []) + pod["containers"]:
            res = ctr["resources"]
            assert res["requests"]["memory"] == res["limits"]["memory"], ctr["name"]
            if c.GPU_RESOURCE in res["limits"]:
                assert res["requests"][c.GPU_RESOURCE] == res["limits"][c.GPU_RESOURCE]


def _item_defaults(item: dict) -> tuple[dict, dict]:
    """A LimitRange item's `default` and `defaultRequest` as the API server completes them
    (SetDefaults_LimitRangeItem): a missing default comes from `max`, a missing defaultRequest
    from `default`."""
    default = {**item.get("max", {}), **item.get("default", {})}
    request = {**default, **item.get("defaultRequest", {})}
    return default, request


def _admitted(resources: dict, item: dict) -> dict:
    """A container's resources after pod defaulting (requests from limits) and the LimitRanger."""
    default, default_request = _item_defaults(item)
    limits = {**default, **resources.get("limits", {})}
    explicit_limits = resources.get("limits", {})
    requests = {**default_request, **explicit_limits, **resources.get("requests", {})}
    return {"limits": limits, "requests": requests}


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_limit_range_defaults_give_no_gpu_to_containers_that_ask_for_none(stack: str, plans) -> None:
    """Every pod the platform creates, admitted through its namespace's LimitRange: a container
    keeps exactly the GPUs it asked for (none by default), so quotas of 0 admit the platform's
    CPU pods and GPU pods are not inflated beyond what the scheduler should place."""
    plan = plans[stack]
    items = {lr["metadata"]["namespace"]: lr["spec"]["limits"][0] for lr in _of(plan, "LimitRange")}
    templates = [
        (w["metadata"]["namespace"], w["spec"]["template"]["spec"])
        for kind in ("Deployment", "StatefulSet")
        for w in _of(plan, kind)
    ] + [(j["metadata"]["namespace"], j["spec"]["template"]["spec"]) for j in _of(plan, "Job")]
    kinds_seen = set()
    for ns, pod in templates:
        if ns not in items:
            continue
        for ctr in pod.get("initContainers", []) + pod["containers"]:
            asked = ctr.get("resources", {}).get("limits", {}).get(c.GPU_RESOURCE)
            admitted = _admitted(ctr.get("resources", {}), items[ns])
            assert admitted["requests"].get(c.GPU_RESOURCE) == asked, (ns, ctr["name"])
            assert admitted["limits"].get(c.GPU_RESOURCE) == asked, (ns, ctr["name"])
            kinds_seen.add("gpu" if asked else "cpu")
    assert kinds_seen == {"gpu", "cpu"}


def test_limit_range_defaulting_model_is_the_api_servers() -> None:
    """Control: a GPU `max` alone turns into a default request of that many GPUs."""
    admitted = _admitted({"limits": {"memory": "1Gi"}}, {"max": {c.GPU_RESOURCE: "8"}, "default": {"memory": "1Gi"}})
    assert admitted["requests"][c.GPU_RESOURCE] == "8"
