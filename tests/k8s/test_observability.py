"""Dashboards are valid Grafana JSON, every PromQL expression parses, every alert has a runbook.

Grafana JSON: loaded by Grafana's own generated models (grafana-foundation-sdk) and dumped
back unchanged for every field we set. PromQL: promql-parser (Rust bindings of the parser
GreptimeDB uses, a full PromQL grammar), applied to dashboards, alert rules and the KEDA
queries of every reference stack.
"""

from __future__ import annotations

import json

import promql_parser
import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard
from support import REFERENCE_STACKS

from components import conventions as c
from components.config.models import ClusterJoin
from components.k8s.observability import DASHBOARDS, dashboard, on_prem_gpu_hour_usd, opencost_values

REQUIRED_PANELS = {
    "gpu": ["utilisation by node", "utilisation by pod", "memory used by node", "memory used by pod", "power"],
    "serving": ["tokens/s", "time to first token", "queue depth"],
    "cost": ["cost per 1k requests", "burst gpu-hours", "budget burn"],
}


def _exprs(dash: dict) -> list[str]:
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_is_valid_grafana_json(name: str) -> None:
    raw = dashboard(name)
    model = Dashboard.from_json(raw)
    dumped = json.loads(json.dumps(model, cls=JSONEncoder))
    for key in ("uid", "title", "tags", "schemaVersion", "refresh", "time"):
        assert dumped[key] == raw[key], key
    assert len(dumped["panels"]) == len(raw["panels"])
    for ours, theirs in zip(raw["panels"], dumped["panels"], strict=True):
        assert theirs["type"] == ours["type"] and theirs["title"] == ours["title"]
        assert theirs["gridPos"] == ours["gridPos"]
        assert [t["expr"] for t in theirs["targets"]] == [t["expr"] for t in ours["targets"]]
        assert all(t["refId"] for t in ours["targets"])
    titles = " ".join(p["title"].lower() for p in raw["panels"])
    for needle in REQUIRED_PANELS[name]:
        assert needle in titles, f"{name} lacks a {needle} panel"


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_dashboard_query_parses(name: str) -> None:
    exprs = _exprs(dashboard(name))
    assert exprs
    for expr in exprs:
        promql_parser.parse(expr)


def test_the_parser_rejects_broken_promql() -> None:
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(vllm:num_requests_waiting[5m])")


def _crs(plan, kind: str) -> list[dict]:
    return [
        r["inputs"] for r in plan.resources if r["type"].endswith(f":{kind}") and r["type"].startswith("kubernetes:")
    ]


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_alert_parses_and_has_a_runbook(stack: str, plans) -> None:
    rules = _crs(plans[stack], "PrometheusRule")
    assert len(rules) == 1
    alerts = [r for g in rules[0]["spec"]["groups"] for r in g["rules"]]
    names = {a["alert"] for a in alerts}
    assert {"GpuXidError", "GpuRowRemapFailure", "GpuNodeNotReady", "VllmQueueDepthHigh"} <= names
    assert {"VllmTimeToFirstTokenHigh", "BudgetBurnHigh"} <= names
    assert ("BurstPoolAtGpuLimit" in names) is plans[stack].config.has_eks
    for a in alerts:
        promql_parser.parse(a["expr"])
        assert a["annotations"]["runbook_url"].startswith(c.RUNBOOK_BASE_URL + "/"), a["alert"]
        assert a["annotations"]["summary"] and a["labels"]["severity"] in ("warning", "critical")


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_keda_query_parses(stack: str, plans) -> None:
    for so in _crs(plans[stack], "ScaledObject"):
        for trigger in so["spec"]["triggers"]:
            promql_parser.parse(trigger["metadata"]["query"])


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_service_monitors_cover_vllm_dcgm_router_and_qdrant(stack: str, plans) -> None:
    names = {sm["metadata"]["name"] for sm in _crs(plans[stack], "ServiceMonitor")}
    assert names == {"vllm", "dcgm-exporter", "router", "qdrant"}
    dcgm = next(sm for sm in _crs(plans[stack], "ServiceMonitor") if sm["metadata"]["name"] == "dcgm-exporter")
    assert dcgm["spec"]["endpoints"][0]["honorLabels"] is True


@pytest.mark.parametrize("stack", ["lab", "prod-eu"])
def test_opencost_prices_on_prem_gpus_from_amortisation(stack: str, plans) -> None:
    cfg = plans[stack].config
    price = on_prem_gpu_hour_usd(cfg)
    assert price is not None and price != 0.95
    e = cfg.on_prem.economics
    servers = len(cfg.on_prem.servers)
    gpus = sum(s.gpu.count for s in cfg.on_prem.servers)
    monthly = (
        servers * e.capex_per_server_usd / e.depreciation_months
        + servers * e.power_kw_per_server * e.pue * e.usd_per_kwh * 730
        + e.colocation_monthly_usd
        + servers * e.support_monthly_usd_per_server
    )
    assert price == pytest.approx(monthly / (gpus * 730))
    values = opencost_values(cfg)["opencost"]["customPricing"]["costModel"]
    assert float(values["GPU"]) == pytest.approx(price, abs=1e-4)
    releases = [
        r
        for r in plans[stack].resources
        if r["type"] == "kubernetes:helm.sh/v3:Release" and r["inputs"]["chart"] == "opencost"
    ]
    assert releases[0]["inputs"]["values"]["opencost"]["customPricing"]["costModel"]["GPU"] == values["GPU"]


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_helm_release_is_pinned(stack: str, plans) -> None:
    releases = [r["inputs"] for r in plans[stack].resources if r["type"] == "kubernetes:helm.sh/v3:Release"]
    hybrid = {"cilium"} if plans[stack].config.join_method is ClusterJoin.EKS_HYBRID else set()
    assert {r["chart"] for r in releases} == {"gpu-operator", "keda", "kube-prometheus-stack", "opencost"} | hybrid
    for r in releases:
        assert r["version"][0].isdigit() or r["version"].startswith("v")
        assert r["repositoryOpts"]["repo"].startswith("https://")
    gpu = next(r for r in releases if r["chart"] == "gpu-operator")["values"]
    assert gpu["driver"]["enabled"] is False and gpu["toolkit"]["enabled"] is False


def test_hybrid_nodes_get_cilium_over_the_site_pod_networks(plans) -> None:
    plan = plans["prod-eu"]
    cilium = next(
        r["inputs"]
        for r in plan.resources
        if r["type"] == "kubernetes:helm.sh/v3:Release" and r["inputs"]["chart"] == "cilium"
    )
    assert cilium["namespace"] == "kube-system"
    values = cilium["values"]
    assert values["ipam"]["operator"]["clusterPoolIPv4PodCIDRList"] == plan.config.on_prem.network.pod_cidrs
    term = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term["matchExpressions"][0] == {"key": c.LABEL_EKS_HYBRID_COMPUTE, "operator": "In", "values": ["hybrid"]}
