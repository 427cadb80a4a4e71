"""Price catalogue, on-prem amortisation and the estimator's attribution."""

from __future__ import annotations

import pytest
from policy_support import facts, view

from components.config.loader import load_stack
from components.gpus import GPU_FAMILIES
from policies.cost.amortisation import amortise
from policies.cost.catalogue import HOURS_PER_MONTH, SERVICE_KEYS, default_catalogue
from policies.cost.estimator import component_of, estimate
from policies.cost.model import price_stack

REGIONS = ("eu-central-1", "eu-west-1", "us-east-1")


@pytest.mark.parametrize("region", REGIONS)
def test_catalogue_covers_every_gpu_type_and_service(region: str) -> None:
    cat = default_catalogue()
    for info in GPU_FAMILIES.values():
        for itype in info.instance_gpus:
            price = cat.instance(region, itype)
            assert price is not None, (region, itype)
            assert price.source and price.date and isinstance(price.verified, bool)
    for key in SERVICE_KEYS:
        assert cat.service(region, key) is not None, (region, key)
    assert 0 < cat.spot_factor().usd < 1


def test_verified_entries_cite_a_source() -> None:
    cat = default_catalogue()
    for region in REGIONS:
        for key, entry in cat.document["regions"][region]["ec2"].items():
            if entry["verified"]:
                assert entry["source"].startswith(("http", "AWS Price List API")), key


def test_prod_eu_amortisation_by_hand() -> None:
    _, cfg = load_stack("prod-eu")
    e = cfg.on_prem.economics.model_dump(by_alias=True)
    cost = amortise(e, servers=4, gpus=32)
    assert cost.capex_monthly == pytest.approx(4 * 310_000 / 48)
    assert cost.power_monthly == pytest.approx(4 * 10.2 * 1.3 * 0.24 * 730)
    assert cost.colocation_monthly == 6000 and cost.support_monthly == 6000
    assert cost.fixed_monthly == pytest.approx(47_125.95, abs=0.01)
    assert cost.usd_per_gpu_hour == pytest.approx(47_125.95 / (32 * HOURS_PER_MONTH), abs=1e-4)


def test_expected_uses_usage_and_spot_worst_uses_caps_on_demand() -> None:
    conf = facts("AIF-BUD-001", "dev")
    pool = view(
        "aws:eks/nodeGroup:NodeGroup",
        "gpu",
        {
            "instanceTypes": ["g6.2xlarge"],
            "scalingConfig": {"minSize": 0, "desiredSize": 0, "maxSize": 2},
            "capacityType": "SPOT",
        },
    )
    cost = price_stack([pool], conf)
    cat = default_catalogue()
    g6 = cat.instance("eu-central-1", "g6.2xlarge")
    gp3 = cat.service("eu-central-1", "ebs_gp3_gb_month")
    assert g6 and gp3
    (line,) = [x for x in cost.lines if x.urn == pool.urn]
    assert line.worst == pytest.approx(2 * (g6.usd * 730 + 100 * gp3.usd))
    (burst,) = [x for x in cost.lines if x.component == "burst"]
    assert burst.expected == pytest.approx(120 * g6.usd * cat.spot_factor().usd)
    assert burst.worst == 0  # already inside the pool's cap
    assert any(a.startswith("unverified price: eu-central-1/ec2:g6.2xlarge") for a in cost.assumptions)


def test_component_is_the_nearest_ai_factory_ancestor() -> None:
    records = {
        "stack": {"type": "pulumi:pulumi:Stack", "name": "s", "parent": None},
        "comp": {"type": "ai-factory:aws:Storage", "name": "prod-eu-storage", "parent": "stack"},
        "bucket": {"type": "aws:s3/bucket:Bucket", "name": "b", "parent": "comp"},
        "sse": {"type": "aws:s3/x:X", "name": "x", "parent": "bucket"},
        "orphan": {"type": "aws:kms/key:Key", "name": "k", "parent": "stack"},
    }
    assert component_of("sse", records) == "prod-eu-storage"
    assert component_of("orphan", records) == "stack"


def test_estimate_keeps_the_plan_shape_and_lists_unpriced() -> None:
    _, cfg = load_stack("lab")
    records = [
        {"urn": "u:key", "type": "aws:kms/key:Key", "name": "k", "parent": None, "inputs": {}},
        {"urn": "u:trail", "type": "aws:cloudtrail/trail:Trail", "name": "t", "parent": None, "inputs": {}},
        {"urn": "u:role", "type": "aws:iam/role:Role", "name": "r", "parent": None, "inputs": {}},
    ]
    est = estimate(cfg, records).to_json()
    assert list(est) == [
        "currency",
        "monthly_expected",
        "monthly_worst_case",
        "budget",
        "by_component",
        "by_resource",
        "assumptions",
        "unpriced",
    ]
    assert est["unpriced"] == ["u:trail"]  # usage-billed; the role is free, the key priced
    assert est["by_resource"] == {"u:key": 1.0}
    assert est["by_component"]["onprem:muc1"] == pytest.approx(5332.37, abs=0.01)
