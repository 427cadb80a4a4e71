"""Money: worst case within budget, hard GPU caps, AWS Budgets with alerts.

AIF-BUD-001 worst-case-within-budget (mandatory, fail closed) · AIF-BUD-002 gpu-pool-hard-limit ·
AIF-BUD-003 aws-budget-alerts.

AIF-BUD-001 computes the worst case itself (policies/cost/model.py) from the resources it
sees and the cost facts in the pack config, so CrossGuard needs no estimator run and the
offline plan reports the very number the rule judged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from components.gpus import gpus_per_instance

# Imported as a module: policies.cost.model itself imports policies.rules.base (a cycle).
from policies.cost import model as cost_model
from policies.rules.base import Enforcement, Finding, ResourceView, Rule, is_unknown
from policies.rules.helpers import by_tier, everywhere, of_type, stack_has_aws

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
BUDGET = "aws:budgets/budget:Budget"


def check_worst_case(resources: list[ResourceView], config: Mapping[str, Any]) -> Iterator[Finding]:
    cost = cost_model.price_stack(resources, config)
    for urn, why in cost.blockers:
        yield Finding(f"worst-case cost cannot be computed: {why} (fail closed)", urn)
    limit = float(config["totalMonthlyUsd"])
    if cost.worst > limit:
        yield Finding(
            f"worst-case monthly cost ${cost.worst:,.0f} (cloud at its caps 24×7 on demand + on-prem amortisation) "
            f"exceeds budget.totalMonthlyUsd ${limit:,.0f}"
        )


def _gpu_facts(cfg: Any) -> dict[str, Any]:
    eks = cfg.cloud.eks if cfg.cloud else None
    return {"maxGpus": eks.burst.max_gpus if eks else 0}


def check_gpu_limits(resources: list[ResourceView], config: Mapping[str, Any]) -> Iterator[Finding]:
    total = 0
    for r in of_type(resources, NODE_GROUP):
        types = r.props.get("instanceTypes")
        if is_unknown(types) or any(is_unknown(t) for t in types or []):
            yield Finding(
                "instanceTypes are unknown at preview: cannot tell whether this is a GPU pool (fail closed)", r.urn
            )
            continue
        gpus = max((gpus_per_instance(t) or 0 for t in types or []), default=0)
        if not types and r.props.get("launchTemplate") is not None:
            yield Finding(
                "instance types come from the launch template: set instanceTypes so the GPU cap is visible", r.urn
            )
            continue
        if not gpus:
            continue
        max_size = (r.props.get("scalingConfig") or {}).get("maxSize")
        if is_unknown(max_size) or not isinstance(max_size, (int, float)):
            yield Finding("GPU pool has no known scalingConfig.maxSize: no hard GPU limit (fail closed)", r.urn)
            continue
        total += int(max_size) * gpus
    if total > config["maxGpus"]:
        yield Finding(f"GPU pools can reach {total} GPUs, above cloud.eks.burst.maxGpus {config['maxGpus']}")


def _budget_facts(cfg: Any) -> dict[str, Any]:
    b = cfg.budget
    return {
        "cloudMonthlyUsd": float(b.cloud_monthly_usd),
        "actualThresholds": [float(x) for x in b.alert_thresholds_percent],
        "forecastThreshold": float(b.forecast_threshold_percent) if b.forecast_threshold_percent else None,
    }


def _notified(budget: ResourceView) -> set[tuple[str, float]]:
    out = set()
    for n in budget.props.get("notifications") or []:
        if not isinstance(n, Mapping) or n.get("thresholdType", "PERCENTAGE") != "PERCENTAGE":
            continue
        subscribers = (n.get("subscriberEmailAddresses") or []) + (n.get("subscriberSnsTopicArns") or [])
        threshold = n.get("threshold")
        if subscribers and isinstance(threshold, (int, float)):
            out.add((str(n.get("notificationType")), float(threshold)))
    return out


def check_budgets(resources: list[ResourceView], config: Mapping[str, Any]) -> Iterator[Finding]:
    if not stack_has_aws(resources):
        return
    budgets = [b for b in of_type(resources, BUDGET) if b.props.get("budgetType", "COST") == "COST"]
    if not budgets:
        yield Finding("the stack has AWS resources but no cost Budget (aws:budgets/budget:Budget)")
        return
    wanted = {("ACTUAL", t) for t in config["actualThresholds"]}
    if config["forecastThreshold"]:
        wanted.add(("FORECASTED", config["forecastThreshold"]))
    best = max(budgets, key=lambda b: len(wanted & _notified(b)))
    missing = sorted(wanted - _notified(best))
    if missing:
        yield Finding(
            "budget lacks notifications with subscribers at " + ", ".join(f"{kind} {t:g}%" for kind, t in missing),
            best.urn,
        )
    limit = best.props.get("limitAmount")
    if isinstance(limit, str) and not is_unknown(limit):
        try:
            if float(limit) > config["cloudMonthlyUsd"]:
                yield Finding(
                    f"budget limit {limit} exceeds budget.cloudMonthlyUsd {config['cloudMonthlyUsd']:g}", best.urn
                )
        except ValueError:
            yield Finding(f"budget limitAmount {limit!r} is not a number", best.urn)


WORST_CASE_RULE = Rule(
    id="AIF-BUD-001",
    name="worst-case-within-budget",
    description=(
        "The worst-case monthly cost (cloud at its caps 24×7 on demand "
        "+ on-prem amortisation) is within budget.totalMonthlyUsd."
    ),
    why=(
        "GPU capacity scales in minutes; the budget must hold for "
        "the capacity the stack allows, not for the usage hoped for."
    ),
    remediation=(
        "Lower cloud.eks.burst.maxGpus or the node groups' maxSize, prefer cheaper GPU families, or raise "
        "budget.totalMonthlyUsd with the budget owner's approval. See the plan's cost assumptions."
    ),
    enforcement=everywhere(Enforcement.MANDATORY),
    config_schema={
        "totalMonthlyUsd": {"type": "number", "exclusiveMinimum": 0},
        "region": {"type": ["string", "null"]},
        "burst": {"type": ["object", "null"]},
        "onPrem": {"type": ["object", "null"]},
        "usage": {"type": "object"},
    },
    stack_facts=lambda cfg: cost_model.cost_facts(cfg),
    kind="stack",
    check=check_worst_case,
)

GPU_LIMIT_RULE = Rule(
    id="AIF-BUD-002",
    name="gpu-pool-hard-limit",
    description="Every GPU node group has a known, finite maxSize and together they stay within the burst GPU limit.",
    why="A pool without a hard cap turns a queue spike or a runaway job into an unbounded bill.",
    remediation=(
        "Give every GPU node group scalingConfig.maxSize so that "
        "Σ maxSize × GPUs per instance ≤ cloud.eks.burst.maxGpus."
    ),
    enforcement=everywhere(),
    config_schema={"maxGpus": {"type": "integer", "minimum": 0}},
    stack_facts=_gpu_facts,
    kind="stack",
    check=check_gpu_limits,
)

BUDGET_ALERTS_RULE = Rule(
    id="AIF-BUD-003",
    name="aws-budget-alerts",
    description="A stack with AWS resources has a cost Budget with notifications at the configured thresholds.",
    why="Alerts at 50/75/90/100 % actual and 100 % forecast are the only early warning between deploy and invoice.",
    remediation=(
        "Create aws.budgets.Budget (budgetType COST, limitAmount "
        "budget.cloudMonthlyUsd) with one notification per threshold."
    ),
    enforcement=by_tier(Enforcement.ADVISORY, Enforcement.MANDATORY, Enforcement.MANDATORY),
    config_schema={
        "cloudMonthlyUsd": {"type": "number"},
        "actualThresholds": {"type": "array", "items": {"type": "number"}},
        "forecastThreshold": {"type": ["number", "null"]},
    },
    stack_facts=_budget_facts,
    kind="stack",
    check=check_budgets,
)

RULES = (WORST_CASE_RULE, GPU_LIMIT_RULE, BUDGET_ALERTS_RULE)
