"""Placement: restricted data stays on on-prem nodes, burst only where allowed, zero only for non-critical.

Checked on the objects the plan records (what the scheduler and the policies will see) and on
the pure placement functions for the shapes the reference stacks do not cover.
"""

from __future__ import annotations

import pytest
from support import REFERENCE_STACKS, stack_doc

from components import conventions as c
from components.config.models import FactoryConfig, Place, ServingTier
from components.k8s.placement import allowed_places, model_placement, vector_store_placement
from components.releases import served_releases


def _deployments(plan) -> dict[str, dict]:
    """Model name → Deployment inputs."""
    out = {}
    for r in plan.resources:
        if r["type"] == "kubernetes:apps/v1:Deployment":
            labels = r["inputs"]["spec"]["template"]["metadata"]["labels"]
            if c.LABEL_MODEL in labels:
                out[labels[c.LABEL_MODEL]] = r["inputs"]
    return out


def _required_locations(pod: dict) -> list[list[str]] | None:
    terms = (
        pod.get("affinity", {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms")
    )
    if terms is None:
        return None
    return [[v for e in t["matchExpressions"] if e["key"] == c.LABEL_LOCATION for v in e["values"]] for t in terms]


def _tolerates_burst(pod: dict) -> bool:
    return any(t.get("key") == c.BURST_TAINT_KEY for t in pod.get("tolerations", []))


def _cloud_forbidden(cfg: FactoryConfig, classes: list[str], key: str = "processing") -> bool:
    return Place.CLOUD not in allowed_places(cfg, classes, key)


def _servers(cfg: FactoryConfig) -> list:
    """Every model server: the catalog's stable releases and their candidates under canary."""
    return [r.model for r in served_releases(cfg.serving.models)]


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_catalog_model_has_a_deployment(stack: str, plans) -> None:
    plan = plans[stack]
    assert set(_deployments(plan)) == {m.name for m in _servers(plan.config)}


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_models_whose_data_may_not_reach_the_cloud_are_pinned_on_prem(stack: str, plans) -> None:
    plan = plans[stack]
    cfg = plan.config
    deps = _deployments(plan)
    for m in _servers(cfg):
        pod = deps[m.name]["spec"]["template"]["spec"]
        if _cloud_forbidden(cfg, m.data_classes):
            assert _required_locations(pod) == [[c.LOCATION_ON_PREM]], m.name
            assert pod["nodeSelector"] == {c.LABEL_LOCATION: c.LOCATION_ON_PREM}, m.name
            assert not _tolerates_burst(pod), m.name


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_burst_tolerations_only_where_allowed(stack: str, plans) -> None:
    plan = plans[stack]
    cfg = plan.config
    deps = _deployments(plan)
    for m in _servers(cfg):
        pod = deps[m.name]["spec"]["template"]["spec"]
        allowed = cfg.has_eks and (
            cfg.on_prem is None or (m.burst_to_cloud and not _cloud_forbidden(cfg, m.data_classes))
        )
        assert _tolerates_burst(pod) is allowed, m.name
        if allowed and cfg.on_prem is not None:
            # On-prem first: preferred affinity to on-prem nodes, cloud only as the second choice.
            pref = pod["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
            assert pref[0]["preference"]["matchExpressions"][0]["values"] == [c.LOCATION_ON_PREM]


@pytest.mark.parametrize("stack", ["lab", "prod-eu"])
def test_restricted_vector_store_lands_only_on_prem(stack: str, plans) -> None:
    plan = plans[stack]
    sts = [
        r
        for r in plan.resources
        if r["type"] == "kubernetes:apps/v1:StatefulSet" and r["inputs"]["metadata"]["name"] == "qdrant"
    ]
    assert len(sts) == 1
    pod = sts[0]["inputs"]["spec"]["template"]["spec"]
    assert plan.config.vector_store.data_class == "restricted"
    assert _required_locations(pod) == [[c.LOCATION_ON_PREM]]
    assert not _tolerates_burst(pod)
    claim = sts[0]["inputs"]["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == plan.config.kubernetes.on_prem_storage_class


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_scale_to_zero_only_for_non_critical_tiers(stack: str, plans) -> None:
    plan = plans[stack]
    tiers = {m.name: m.tier for m in _servers(plan.config)}
    scalers = [r["inputs"] for r in plan.resources if r["type"] == "kubernetes:keda.sh/v1alpha1:ScaledObject"]
    assert len(scalers) == len(tiers)
    seen_zero = False
    for so in scalers:
        model = so["metadata"]["labels"][c.LABEL_MODEL]
        spec = so["spec"]
        triggers = {t["name"] for t in spec["triggers"]}
        assert "queue-depth" in triggers
        assert next(t for t in spec["triggers"] if t["name"] == "queue-depth")["metadata"]["query"].startswith(
            f"sum({c.VLLM_QUEUE_METRIC}"
        )
        if spec["minReplicaCount"] == 0:
            seen_zero = True
            assert tiers[model] is not ServingTier.CRITICAL
            # Keepalive: a pod waiting for a GPU node or loading weights holds the floor at one.
            assert {"keepalive-starting", "keepalive-traffic"} <= triggers
            assert spec["initialCooldownPeriod"] > 0
        if tiers[model] is ServingTier.CRITICAL:
            assert spec["minReplicaCount"] >= 1
    assert seen_zero == any(m.min_replicas == 0 for m in plan.config.serving.models)


def _cfg(stack: str, mutate=None) -> FactoryConfig:
    doc = stack_doc(stack)["config"]
    if mutate:
        mutate(doc)
    return FactoryConfig.model_validate({k.split(":", 1)[1]: v for k, v in doc.items()})


def test_burst_request_is_ignored_when_a_data_class_forbids_the_cloud() -> None:
    def burst_all(doc):
        for m in doc["ai-factory:serving"]["models"]:
            m["burstToCloud"] = True

    cfg = _cfg("prod-eu", burst_all)  # semantics would reject this; placement must still be safe
    for m in cfg.serving.models:
        p = model_placement(cfg, m)
        if "restricted" in m.data_classes:
            assert p.on_prem_only and not p.tolerates_burst
        else:
            assert p.tolerates_burst and not p.on_prem_only


def test_cloud_only_stack_runs_models_on_cloud_nodes() -> None:
    cfg = _cfg("dev")
    for m in cfg.serving.models:
        p = model_placement(cfg, m)
        assert p.tolerates_burst and not p.on_prem_only


def test_vector_store_with_cloud_storable_data_still_stays_on_site() -> None:
    def internal(doc):
        doc["ai-factory:vectorStore"]["dataClass"] = "internal"

    cfg = _cfg("prod-eu", internal)
    assert vector_store_placement(cfg).on_prem_only


def test_only_tiers_allowed_to_burst_get_the_burst_toleration() -> None:
    def no_critical_burst(doc):
        # The critical model still asks to burst: config checks would refuse it; placement must hold anyway.
        doc["ai-factory:serving"]["burstTiers"] = ["standard"]

    cfg = _cfg("prod-eu", no_critical_burst)
    assert cfg.serving.models[0].burst_to_cloud
    by_name = {m.name: m for m in cfg.serving.models}
    assert not model_placement(cfg, by_name["llama-31-8b"]).tolerates_burst  # critical
    assert model_placement(cfg, by_name["qwen25-7b"]).tolerates_burst  # standard, public data


def test_a_model_of_a_tier_that_may_not_burst_cannot_ask_to() -> None:
    from components.config.errors import ConfigError
    from components.config.loader import parse_sections

    doc = stack_doc("prod-eu")["config"]
    doc["ai-factory:serving"]["burstTiers"] = ["standard", "batch"]
    with pytest.raises(ConfigError) as err:
        parse_sections({k.split(":", 1)[1]: v for k, v in doc.items()})
    assert [str(p) for p in err.value.problems] == [
        "ai-factory:serving.models[0].burstToCloud: tier critical may not burst (serving.burstTiers: standard, batch) "
        "(allowed: false, or add critical to serving.burstTiers)"
    ]
