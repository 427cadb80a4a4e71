"""Node prices as Prometheus recording rules, from the same cost model that prices the plan.

`ai_factory:node_hourly_cost_usd` gives every node its hourly price, labelled with its location
(and cloud pool): cloud nodes at the catalogue's on-demand price of their pool's instance type
(times the spot factor on spot pools, as policies/cost/model.py prices them), site servers at
an equal share of the site's fixed cost (amortisation, plus the EKS Hybrid Nodes fee where the
servers are hybrid nodes). The budget-burn alert and the cost dashboards read this series,
so what Prometheus projects and what `factory plan` estimates are the same prices.

OpenCost stays for allocation by namespace and pod; its spot prices need the AWS spot data feed,
which this blueprint does not configure, so the factory's own alerts do not depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components import conventions as c
from components.aws.gpu_pools import plan_pools
from components.config.models import FactoryConfig
from policies.cost.amortisation import amortise
from policies.cost.catalogue import HOURS_PER_MONTH, default_catalogue
from policies.cost.model import cost_facts

NODE_COST = "ai_factory:node_hourly_cost_usd"
"""Recorded series: one per node, its price in USD per hour; labels `node`, `location`, `pool`."""
KSM_LABEL = {c.LABEL_LOCATION: "label_ai_factory_io_location", c.LABEL_POOL: "label_ai_factory_io_pool"}
"""kube-state-metrics' spelling of the node labels it exports (metricLabelsAllowlist)."""
BURN_WINDOW = "6h"
"""The burn rate is the average price of the cloud nodes over this window (a spike does not page)."""


@dataclass(frozen=True)
class NodePrice:
    location: str
    pool: str | None
    """The cloud pool (ai-factory.io/pool); None: every node of the location (the site)."""
    usd_per_hour: float
    basis: str
    """Where the price comes from, for reviewers (the rule's `basis` label is not kept: it would split series)."""


def site_monthly_usd(cfg: FactoryConfig) -> tuple[float, float]:
    """The site's fixed monthly cost as the plan prices it (policies/cost/model.py): its amortisation,
    and the EKS Hybrid Nodes fee per vCPU-hour that AWS bills for its servers (0 without a site)."""
    facts = cost_facts(cfg)["onPrem"]
    if facts is None:
        return 0.0, 0.0
    amortised = amortise(facts["economics"], facts["servers"], facts["gpus"]).fixed_monthly
    hybrid = 0.0
    if facts["eksHybrid"] and cfg.cloud is not None:
        vcpu_hour = default_catalogue().service(cfg.cloud.region, "eks_hybrid_vcpu_hour")
        hybrid = facts["vcpus"] * vcpu_hour.usd * HOURS_PER_MONTH if vcpu_hour is not None else 0.0
    return amortised, hybrid


def site_server_hour_usd(cfg: FactoryConfig) -> float | None:
    """One site server's equal share of the site's fixed cost per hour (the sum over servers is exact)."""
    if cfg.on_prem is None:
        return None
    return sum(site_monthly_usd(cfg)) / len(cfg.on_prem.servers) / HOURS_PER_MONTH


def site_fixed_monthly_usd(cfg: FactoryConfig) -> float:
    """The site's cost per month (0 without a site): spent whatever the load."""
    return sum(site_monthly_usd(cfg))


def node_prices(cfg: FactoryConfig) -> list[NodePrice]:
    """Every node kind of the stack with its hourly price. A cloud type the catalogue has no price
    for is left out (the plan lists it as unpriced): its nodes then count 0 here."""
    out: list[NodePrice] = []
    if (hour := site_server_hour_usd(cfg)) is not None:
        out.append(NodePrice(c.LOCATION_ON_PREM, None, hour, "site fixed cost / servers"))
    if cfg.cloud is None or cfg.cloud.eks is None:
        return out
    catalogue, region, eks = default_catalogue(), cfg.cloud.region, cfg.cloud.eks
    spot = catalogue.spot_factor().usd
    system = catalogue.instance(region, eks.system_instance_type)
    if system is not None:
        out.append(NodePrice(c.LOCATION_CLOUD, c.POOL_SYSTEM, system.usd, system.key))
    for pool in plan_pools(eks.burst)[0]:
        prices = [p for t in pool.instance_types if (p := catalogue.instance(region, t)) is not None]
        if len(prices) != len(pool.instance_types):
            continue
        # The dearest type of the pool, as the plan's worst case prices it.
        top = max(prices, key=lambda p: p.usd)
        factor = spot if pool.capacity_type == c.CAPACITY_SPOT else 1.0
        basis = f"{top.key} x spot factor {spot:g}" if factor != 1.0 else top.key
        out.append(NodePrice(c.LOCATION_CLOUD, pool.key, top.usd * factor, basis))
    return out


def recording_rules(cfg: FactoryConfig) -> list[dict[str, Any]]:
    """`NODE_COST` per node kind: the node's kube_node_labels series (value 1) times its price."""
    rules = []
    for price in node_prices(cfg):
        selector = f'{KSM_LABEL[c.LABEL_LOCATION]}="{price.location}"'
        if price.pool is not None:
            selector += f',{KSM_LABEL[c.LABEL_POOL]}="{price.pool}"'
        labels = {"location": price.location, **({"pool": price.pool} if price.pool else {})}
        rules.append(
            {
                "record": NODE_COST,
                "expr": f"max by (node) (kube_node_labels{{{selector}}}) * {price.usd_per_hour:.6f}",
                "labels": labels,
            }
        )
    return rules


def burn_threshold_usd(cfg: FactoryConfig) -> float:
    """Monthly cloud node spend at which the burn alert pages: where the budget guard would pause the
    burst pools (pauseAtPercent of the AWS Budget, less the hybrid-node fee AWS bills regardless), or
    sooner when the site's fixed cost leaves less than that of the total budget at the same percentage."""
    b = cfg.budget
    share = b.pause_at_percent / 100
    amortised, hybrid = site_monthly_usd(cfg)
    cloud_left = b.cloud_monthly_usd * share - hybrid
    total_left = b.total_monthly_usd * share - amortised - hybrid
    return max(0.0, min(cloud_left, total_left))


def cloud_burn_expr(cfg: FactoryConfig) -> str:
    """Projected monthly spend of the cloud nodes at their average price over BURN_WINDOW, above the threshold."""
    hourly = f'sum({NODE_COST}{{location="{c.LOCATION_CLOUD}"}})'
    return f"avg_over_time({hourly}[{BURN_WINDOW}:5m]) * {HOURS_PER_MONTH} > {burn_threshold_usd(cfg):.0f}"
