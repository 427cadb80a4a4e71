"""Dashboards are valid Grafana JSON, every PromQL expression parses, every alert has a runbook.

Grafana JSON: loaded by Grafana's own generated models (grafana-foundation-sdk) and dumped
back unchanged for every field we set. PromQL: promql-parser (Rust bindings of the parser
GreptimeDB uses, a full PromQL grammar), applied to dashboards, alert rules and the KEDA
queries of every reference stack.
"""

from __future__ import annotations

import copy
import json

import promql_parser
import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard
from support import REFERENCE_STACKS, sections

from components import conventions as c
from components.aws.gpu_pools import plan_pools
from components.config.loader import parse_sections
from components.config.models import ClusterJoin
from components.k8s.alerts import alert_groups
from components.k8s.cost_rules import (
    NODE_COST,
    burn_threshold_usd,
    node_prices,
    site_fixed_monthly_usd,
    site_monthly_usd,
)
from components.k8s.observability import (
    DASHBOARDS,
    DATASOURCE_UID,
    dashboard,
    on_prem_gpu_hour_usd,
    opencost_values,
)
from policies.cost.catalogue import default_catalogue

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
    alerts = [r for g in rules[0]["spec"]["groups"] for r in g["rules"] if "alert" in r]
    names = {a["alert"] for a in alerts}
    assert {"GpuXidError", "GpuRowRemapFailure", "GpuNodeNotReady", "VllmQueueDepthHigh"} <= names
    assert "VllmTimeToFirstTokenHigh" in names
    # Spend varies only with cloud nodes: the burn alert exists where there is a cloud pool.
    assert ("BurstPoolAtGpuLimit" in names) is ("BudgetBurnHigh" in names) is plans[stack].config.has_eks
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
    qdrant = {"qdrant"} if plans[stack].config.vector_store is not None else set()
    assert names == {"vllm", "dcgm-exporter", "router"} | qdrant
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


# --------------------------------------------------------------------------- what the rules mean

PANEL_TYPES = {"timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "text", "row", "piechart"}
"""Grafana's built-in panel plugins: a dashboard naming another type shows "panel plugin not found"."""
RANGE_FUNCTIONS = {"rate", "irate", "increase"}
DCGM_COUNTERS = {
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
}
"""Declared `counter` in dcgm-exporter's etc/default-counters.csv (the rest of what we read are gauges)."""


def dashboard_problems(dash: dict) -> list[str]:
    """What Grafana would render wrongly: unknown panel types, a datasource other than the provisioned
    Prometheus, duplicate panel ids or refIds, panels off the 24-column grid, panels without queries."""
    out: list[str] = []
    ids = [p.get("id") for p in dash["panels"]]
    if len(set(ids)) != len(ids) or None in ids:
        out.append(f"panel ids not unique: {ids}")
    expected = {"type": "prometheus", "uid": DATASOURCE_UID}
    for p in dash["panels"]:
        title = p.get("title", "?")
        if p.get("type") not in PANEL_TYPES:
            out.append(f"{title}: unknown panel type {p.get('type')!r}")
        grid = p.get("gridPos", {})
        if not (
            grid.get("x", -1) >= 0 and grid.get("w", 0) > 0 and grid["x"] + grid["w"] <= 24 and grid.get("h", 0) > 0
        ):
            out.append(f"{title}: gridPos {grid} is off the 24-column grid")
        if p.get("datasource") != expected:
            out.append(f"{title}: datasource {p.get('datasource')}")
        targets = p.get("targets", [])
        if not targets:
            out.append(f"{title}: no query")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs):
            out.append(f"{title}: duplicate refIds {refs}")
        out += [f"{title}: target datasource {t.get('datasource')}" for t in targets if t.get("datasource") != expected]
    return out


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_renders_in_the_provisioned_grafana(name: str, plans) -> None:
    assert dashboard_problems(dashboard(name)) == []
    values = next(
        r["inputs"]["values"]
        for r in plans["prod-eu"].resources
        if r["type"] == "kubernetes:helm.sh/v3:Release" and r["inputs"]["chart"] == "kube-prometheus-stack"
    )
    assert values["grafana"]["sidecar"]["datasources"]["uid"] == DATASOURCE_UID


def test_the_dashboard_check_catches_what_grafana_would_not_render() -> None:
    broken = copy.deepcopy(dashboard("gpu"))
    broken["panels"][0]["type"] = "timeseriez"
    broken["panels"][1]["targets"][0]["datasource"] = {"type": "prometheus", "uid": "nope"}
    broken["panels"][2]["gridPos"] = {"x": 18, "y": 0, "w": 12, "h": 8}
    assert len(dashboard_problems(broken)) == 3


def _walk(node, funcs: tuple[str, ...] = ()):
    """(node, names of the functions enclosing it) for every node of a parsed PromQL expression."""
    yield node, funcs
    if isinstance(node, promql_parser.Call):
        for arg in node.args:
            yield from _walk(arg, (*funcs, node.func.name))
        return
    for attr in ("lhs", "rhs", "expr", "vector_selector"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, (str, int, float)):
            yield from _walk(child, funcs)


def semantic_problems(expr: str) -> list[str]:
    """Counters read without rate/increase, and histogram quantiles whose buckets lost `le`."""
    out = []
    for node, funcs in _walk(promql_parser.parse(expr)):
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            counter = node.name.endswith(("_total", "_bucket")) or node.name in DCGM_COUNTERS
            if counter and not (funcs and funcs[-1] in RANGE_FUNCTIONS):
                out.append(f"counter {node.name} read as a gauge in {expr}")
        if isinstance(node, promql_parser.Call) and node.func.name == "histogram_quantile":
            agg = node.args[1]
            if isinstance(agg, promql_parser.AggregateExpr) and "le" not in (
                agg.modifier.labels if agg.modifier else []
            ):
                out.append(f"histogram_quantile without le in {expr}")
    return out


def _rules(plan) -> list[dict]:
    return [r for g in _crs(plan, "PrometheusRule")[0]["spec"]["groups"] for r in g["rules"]]


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_rules_and_dashboards_read_counters_as_rates(stack: str, plans) -> None:
    exprs = [r["expr"] for r in _rules(plans[stack])] + [e for d in DASHBOARDS for e in _exprs(dashboard(d))]
    assert [p for e in exprs for p in semantic_problems(e)] == []


def test_the_semantic_check_catches_gauge_reads_of_counters() -> None:
    assert semantic_problems("max(DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS) > 0")
    assert semantic_problems("sum(vllm:generation_tokens_total)")
    assert semantic_problems("histogram_quantile(0.95, sum by (model_name) (rate(x_bucket[5m])))")
    assert not semantic_problems("sum(increase(DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS[1h]))")


def test_gpu_by_pod_panels_leave_out_the_exporters_own_pods() -> None:
    """Idle GPUs carry the dcgm-exporter pod's target labels (honorLabels fills only missing ones)."""
    by_pod = [e for e in _exprs(dashboard("gpu")) if "pod" in e]
    assert by_pod
    for expr in by_pod:
        assert f'namespace!="{c.NAMESPACE_GPU_OPERATOR}"' in expr, expr


def _matching_services(plan, sm: dict) -> list[str]:
    spec = sm["spec"]
    want = spec["selector"]["matchLabels"]
    port = spec["endpoints"][0]["port"]
    return [
        f"{s['metadata']['namespace']}/{s['metadata']['name']}"
        for s in _crs(plan, "Service")
        if s["metadata"].get("namespace") in spec["namespaceSelector"]["matchNames"]
        and want.items() <= s["metadata"].get("labels", {}).items()
        and any(p.get("name") == port for p in s["spec"]["ports"])
    ]


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_service_monitor_finds_a_service_with_its_port(stack: str, plans) -> None:
    """The factory's ServiceMonitors select Services the platform creates (the DCGM exporter's Service comes
    from the gpu-operator chart: app=nvidia-dcgm-exporter, port gpu-metrics in its 0600_service.yaml)."""
    plan = plans[stack]
    for sm in _crs(plan, "ServiceMonitor"):
        if sm["metadata"]["name"] == "dcgm-exporter":
            continue
        assert _matching_services(plan, sm), sm["metadata"]["name"]
    broken = copy.deepcopy(next(sm for sm in _crs(plan, "ServiceMonitor") if sm["metadata"]["name"] == "router"))
    broken["spec"]["endpoints"][0]["port"] = "metrics"
    assert _matching_services(plan, broken) == []


def test_alert_thresholds_come_from_config() -> None:
    s = sections("prod-eu")
    s["observability"] = {**s.get("observability", {}), "queueDepthAlert": 33, "ttftP95Seconds": 4.5}
    cfg = parse_sections(s)
    rules = {r["alert"]: r["expr"] for g in alert_groups(cfg) for r in g["rules"] if "alert" in r}
    assert rules["VllmQueueDepthHigh"].endswith("> 33")
    assert rules["VllmTimeToFirstTokenHigh"].endswith("> 4.5")
    assert rules["BurstPoolAtGpuLimit"].endswith(f">= {cfg.cloud.eks.burst.max_gpus}")
    assert rules["BudgetBurnHigh"].endswith(f"> {burn_threshold_usd(cfg):.0f}")


def test_opencost_keeps_its_spot_prices() -> None:
    """OpenCost prices spot nodes without a spot data feed from spotCPU/spotRAM: never 0."""
    for stack in ("lab", "prod-eu"):
        model = opencost_values(parse_sections(sections(stack)))["opencost"]["customPricing"]["costModel"]
        assert "spotCPU" not in model and "spotRAM" not in model


# --------------------------------------------------------------------------- node prices and budget burn


def test_node_prices_follow_the_cost_model(plans) -> None:
    cfg = plans["prod-eu"].config
    prices = {(p.location, p.pool): p for p in node_prices(cfg)}
    cat = default_catalogue()
    spot = cat.spot_factor().usd
    pools = plan_pools(cfg.cloud.eks.burst)[0]
    assert set(prices) == {(c.LOCATION_ON_PREM, None), (c.LOCATION_CLOUD, c.POOL_SYSTEM)} | {
        (c.LOCATION_CLOUD, p.key) for p in pools
    }
    for pool in pools:
        on_demand = max(cat.instance(cfg.cloud.region, t).usd for t in pool.instance_types)
        factor = spot if pool.capacity_type == c.CAPACITY_SPOT else 1.0
        assert prices[(c.LOCATION_CLOUD, pool.key)].usd_per_hour == pytest.approx(on_demand * factor)
    # The site's servers together cost its whole amortisation (what the plan prices as onprem:<site>).
    site = prices[(c.LOCATION_ON_PREM, None)].usd_per_hour * len(cfg.on_prem.servers) * 730
    assert site == pytest.approx(plans["prod-eu"].cost.by_component[f"onprem:{cfg.on_prem.site}"], rel=1e-3)


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_node_kind_has_a_recorded_price(stack: str, plans) -> None:
    rules = [r for r in _rules(plans[stack]) if "record" in r]
    assert {r["record"] for r in rules} == {NODE_COST}
    cfg = plans[stack].config
    locations = {r["labels"]["location"] for r in rules}
    assert locations == {p for p, has in ((c.LOCATION_ON_PREM, cfg.on_prem), (c.LOCATION_CLOUD, cfg.has_eks)) if has}
    for r in rules:
        promql_parser.parse(r["expr"])
        assert float(r["expr"].rsplit("*", 1)[1]) > 0


def test_budget_burn_can_fire_below_the_worst_case(plans) -> None:
    """prod-eu: the threshold is where the guard pauses (90 % of the AWS Budget), which the cloud's
    worst case exceeds: the alert is reachable, and it fires before the guard acts."""
    plan = plans["prod-eu"]
    cfg = plan.config
    threshold = burn_threshold_usd(cfg)
    hybrid_fee = site_monthly_usd(cfg)[1]
    assert hybrid_fee > 0  # prod-eu's servers are EKS Hybrid Nodes: AWS bills them into the same budget
    assert threshold == pytest.approx(cfg.budget.cloud_monthly_usd * cfg.budget.pause_at_percent / 100 - hybrid_fee)
    cloud_worst = plan.cost.monthly_worst_case - site_fixed_monthly_usd(cfg)
    assert 0 < threshold < cloud_worst


def test_budget_burn_is_tighter_when_the_site_leaves_less_of_the_total() -> None:
    s = sections("prod-eu")
    s["budget"]["totalMonthlyUsd"] = 100000  # 90 000 at the pause level, 60 207 of it the site's
    cfg = parse_sections(s)
    assert burn_threshold_usd(cfg) == pytest.approx(90000 - site_fixed_monthly_usd(cfg))
    assert burn_threshold_usd(cfg) < cfg.budget.cloud_monthly_usd * 0.9 - site_monthly_usd(cfg)[1]


def test_no_burn_alert_without_cloud_nodes(plans) -> None:
    names = {r.get("alert") for r in _rules(plans["lab"])}
    assert "BudgetBurnHigh" not in names and "BurstPoolAtGpuLimit" not in names
