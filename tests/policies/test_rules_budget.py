"""BUD-001…003 fixture tables, and the fail-closed behaviour of the mandatory budget rule."""

from __future__ import annotations

import pytest
from policy_support import facts, run, view

from policies.cost.catalogue import default_catalogue
from policies.cost.model import price_stack
from policies.rules.base import UNKNOWN

NG = "aws:eks/nodeGroup:NodeGroup"
BUDGET = "aws:budgets/budget:Budget"
PROVIDER = view("pulumi:providers:aws", "aws", {"region": "eu-central-1"})


def pool(name: str, types: object, max_size: object, capacity: str = "SPOT") -> object:
    return view(
        NG,
        name,
        {
            "instanceTypes": types,
            "scalingConfig": {"minSize": 0, "desiredSize": 0, "maxSize": max_size},
            "capacityType": capacity,
        },
    )


# The split components/aws/gpu_pools.py makes for prod-eu (24 GPUs, floor 8): 8 × p5 + 16 × g6e.
PROD_POOLS = [
    pool("gpu-g6e-spot", ["g6e.12xlarge"], 2),
    pool("gpu-p5-spot", ["p5.48xlarge"], 1),
    pool("gpu-g6e-floor", ["g6e.12xlarge"], 2, "ON_DEMAND"),
]


def _over(worst: float, limit: float) -> str:
    return (
        f"worst-case monthly cost ${worst:,.0f} (cloud at its caps 24×7 on demand + on-prem amortisation) "
        f"exceeds budget.totalMonthlyUsd ${limit:,.0f}"
    )


def test_within_budget_passes() -> None:
    assert run("AIF-BUD-001", [PROVIDER], facts("AIF-BUD-001", "dev")) == set()
    assert run("AIF-BUD-001", [], facts("AIF-BUD-001", "lab")) == set()


def test_no_visible_pool_prices_the_config_limit_at_the_dearest_type() -> None:
    conf = facts("AIF-BUD-001")
    worst = price_stack([], conf).worst
    p5 = default_catalogue().instance("eu-central-1", "p5.48xlarge")
    assert p5 is not None
    assert worst > 24 * p5.usd / 8 * 730  # the limit at p5 prices, plus the site
    assert run("AIF-BUD-001", [], conf) == {(None, _over(worst, 150_000))}


def test_visible_pools_price_their_caps() -> None:
    conf = facts("AIF-BUD-001")
    cost = price_stack(PROD_POOLS, conf)
    cat = default_catalogue()
    p5, g6e = cat.instance("eu-central-1", "p5.48xlarge"), cat.instance("eu-central-1", "g6e.12xlarge")
    assert p5 and g6e
    gpu_worst = sum(line.worst for line in cost.lines if line.urn)
    gp3 = cat.service("eu-central-1", "ebs_gp3_gb_month")
    assert gp3
    assert gpu_worst == pytest.approx((p5.usd + 4 * g6e.usd) * 730 + 5 * 100 * gp3.usd)
    assert run("AIF-BUD-001", PROD_POOLS, conf) == (
        {(None, _over(cost.worst, 150_000))} if cost.worst > 150_000 else set()
    )


def test_budget_raised_past_by_more_gpus() -> None:
    conf = facts("AIF-BUD-001", "dev")
    conf["burst"] = {**conf["burst"], "maxGpus": 8}
    worst = price_stack([], conf).worst
    assert worst > 3000
    assert run("AIF-BUD-001", [], conf) == {(None, _over(worst, 3000))}


@pytest.mark.parametrize(
    ("resource", "why"),
    [
        (pool("p", ["g6.2xlarge"], UNKNOWN), "scalingConfig.maxSize is unknown or unset: the pool has no known cap"),
        (pool("p", UNKNOWN, 2), "instanceTypes are unknown or unset: the pool cannot be priced"),
        (pool("p", ["x9.huge"], 2), "no catalogue price for x9.huge in eu-central-1"),
    ],
)
def test_unknowns_fail_closed(resource: object, why: str) -> None:
    """An unknown that decides the worst case is a finding, never a pass (even far under budget)."""
    conf = facts("AIF-BUD-001", "dev", totalMonthlyUsd=1e9)
    assert run("AIF-BUD-001", [resource], conf) == {("p", f"worst-case cost cannot be computed: {why} (fail closed)")}


def test_region_without_prices_fails_closed() -> None:
    conf = facts("AIF-BUD-001", "dev", region="ap-east-1", totalMonthlyUsd=1e9)
    assert (
        None,
        "worst-case cost cannot be computed: the catalogue has no prices for region ap-east-1 (fail closed)",
    ) in run("AIF-BUD-001", [], conf)


def test_gpu_pools_hard_limit() -> None:
    assert run("AIF-BUD-002", PROD_POOLS) == set()
    cpu = pool("system", ["m7i.large"], UNKNOWN)
    assert run("AIF-BUD-002", [cpu]) == set()  # CPU pools are not GPU pools
    assert run("AIF-BUD-002", [pool("g", ["p5.48xlarge"], UNKNOWN)]) == {
        ("g", "GPU pool has no known scalingConfig.maxSize: no hard GPU limit (fail closed)")
    }
    assert run("AIF-BUD-002", [*PROD_POOLS, pool("extra", ["p5.48xlarge"], 1)]) == {
        (None, "GPU pools can reach 32 GPUs, above cloud.eks.burst.maxGpus 24")
    }
    assert run("AIF-BUD-002", [pool("g", UNKNOWN, 1)]) == {
        ("g", "instanceTypes are unknown at preview: cannot tell whether this is a GPU pool (fail closed)")
    }


def _budget(thresholds: list[tuple[str, float]], limit: str = "60000") -> object:
    return view(
        BUDGET,
        "budget",
        {
            "budgetType": "COST",
            "limitAmount": limit,
            "notifications": [
                {
                    "notificationType": k,
                    "threshold": t,
                    "thresholdType": "PERCENTAGE",
                    "comparisonOperator": "GREATER_THAN",
                    "subscriberEmailAddresses": ["a@b.c"],
                }
                for k, t in thresholds
            ],
        },
    )


FULL = [("ACTUAL", 50.0), ("ACTUAL", 75.0), ("ACTUAL", 90.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0)]


def test_budget_alerts() -> None:
    assert run("AIF-BUD-003", []) == set()  # no AWS account in the stack: nothing to require
    assert run("AIF-BUD-003", [PROVIDER, _budget(FULL)]) == set()
    assert run("AIF-BUD-003", [PROVIDER]) == {
        (None, "the stack has AWS resources but no cost Budget (aws:budgets/budget:Budget)")
    }
    assert run("AIF-BUD-003", [PROVIDER, _budget(FULL[:2])]) == {
        ("budget", "budget lacks notifications with subscribers at ACTUAL 90%, ACTUAL 100%, FORECASTED 100%")
    }
    assert run("AIF-BUD-003", [PROVIDER, _budget(FULL, limit="99999")]) == {
        ("budget", "budget limit 99999 exceeds budget.cloudMonthlyUsd 60000")
    }
