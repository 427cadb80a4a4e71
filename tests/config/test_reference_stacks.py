"""Every reference stack validates and has the shape its issue describes."""

from __future__ import annotations

import pytest
from support import REFERENCE_STACKS

from components.config import load_stack
from components.config.models import ClusterJoin, Tier
from components.gpus import GpuModel


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_reference_stack_validates(stack: str) -> None:
    _, cfg = load_stack(stack)
    assert cfg.environment.name == stack


def test_dev_is_cloud_only_with_one_scale_to_zero_model() -> None:
    _, cfg = load_stack("dev")
    assert cfg.on_prem is None and cfg.has_eks
    assert cfg.serving is not None and len(cfg.serving.models) == 1
    assert cfg.serving.models[0].min_replicas == 0
    assert cfg.environment.tier is Tier.DEV


def test_lab_is_on_prem_compute_only() -> None:
    _, cfg = load_stack("lab")
    assert cfg.cloud is not None and cfg.cloud.eks is None and cfg.cloud.hybrid is None
    assert cfg.on_prem is not None and cfg.join_method is ClusterJoin.KUBEADM
    assert [(s.gpu.model, s.gpu.count) for s in cfg.on_prem.servers] == [(GpuModel.L40S, 4)] * 2


def test_prod_eu_is_hybrid_with_restricted_data_on_prem() -> None:
    _, cfg = load_stack("prod-eu")
    assert cfg.is_prod and cfg.join_method is ClusterJoin.EKS_HYBRID
    assert cfg.on_prem is not None and cfg.on_prem.country == "DE"
    assert len(cfg.on_prem.servers) == 4
    assert all(
        s.gpu.model is GpuModel.H100_80GB_HBM3 and s.gpu.count == 8 and s.gpu.nvswitch for s in cfg.on_prem.servers
    )
    assert cfg.residency.data_classes["restricted"].processing == ["on-prem"]
    assert cfg.cloud is not None and cfg.cloud.eks is not None
    assert cfg.cloud.eks.burst.spot and cfg.cloud.eks.burst.on_demand_floor_gpus > 0
    assert cfg.serving is not None and len(cfg.serving.models) >= 3
    assert len({m.tier for m in cfg.serving.models}) >= 2
    assert all(r.startswith("eu-") for r in cfg.residency.allowed_regions)


def test_reference_stacks_hold_no_secret_values() -> None:
    from support import stack_doc

    for stack in REFERENCE_STACKS:
        values = stack_doc(stack)["config"].values()
        assert not any(isinstance(v, dict) and "secure" in v for v in values), stack
