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
