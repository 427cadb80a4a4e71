"""The reference stacks under the full rule set, and the plan's cost."""

from __future__ import annotations

from functools import cache

import pytest
from support import REFERENCE_STACKS

from components.tooling.plan import Plan, make_plan
from policies.cost.model import cost_facts, price_stack
from policies.rules import RULES
from policies.stack_config import pack_config

BUDGET = "aws:budgets/budget:Budget"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


@cache
def plan(stack: str) -> Plan:
    return make_plan(stack)


def _types(p: Plan) -> set[str]:
    return {r["type"] for r in p.resources}


def allowed_gaps(p: Plan) -> set[str]:
    """Mandatory findings that only mean "the AWS component (issue 3) has not landed yet".

    Each is allowed only while its cause is visible in the plan, so the test tightens by
    itself: once a Budget exists AIF-BUD-003 must pass, once GPU node groups exist AIF-BUD-001
    must pass on their real caps.
    """
    gaps = set()
    if BUDGET not in _types(p):
        gaps.add("AIF-BUD-003")
    if NODE_GROUP not in _types(p) and p.stack == "prod-eu":
        # Without pools the worst case prices all 24 burst GPUs at p5 rates (fail closed).
        gaps.add("AIF-BUD-001")
    return gaps


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_no_mandatory_finding_beyond_the_known_gaps(stack: str) -> None:
    p = plan(stack)
    mandatory = {v.policy for v in p.violations if v.enforcement == "mandatory"}
    assert mandatory <= allowed_gaps(p), [v for v in p.violations if v.policy in mandatory - allowed_gaps(p)]


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_rule_gets_its_facts(stack: str) -> None:
    p = plan(stack)
    conf = pack_config(p.config)
    assert set(conf) == {r.name for r in RULES}
    assert not [v for v in p.violations if "has no stack config" in v.message]


def test_prod_eu_cost_is_non_zero_with_assumptions() -> None:
    cost = plan("prod-eu").cost
    assert cost.monthly_expected > 0 and cost.monthly_worst_case >= cost.monthly_expected
    assert cost.budget == 150_000
    assert any(a.startswith("on-prem fra1: $47,126/month fixed") for a in cost.assumptions)
    assert any(a.startswith("unverified price: eu-central-1/ec2:p5.48xlarge") for a in cost.assumptions)
    assert "onprem:fra1" in cost.by_component and "prod-eu-storage" in cost.by_component
    assert cost.unpriced == [] or all(u.startswith("urn:pulumi:prod-eu::") for u in cost.unpriced)


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_plan_worst_case_is_what_the_budget_rule_judged(stack: str) -> None:
    """One function prices both: the plan's worst case is the number AIF-BUD-001 compared."""
    from policies.cost.estimator import views_of

    p = plan(stack)
    judged = price_stack(views_of(p.resources), cost_facts(p.config))
    assert p.cost.monthly_worst_case == judged.worst
    assert p.cost.monthly_expected == judged.expected
    assert sum(p.cost.by_component.values()) == pytest.approx(p.cost.monthly_expected, abs=0.05)
