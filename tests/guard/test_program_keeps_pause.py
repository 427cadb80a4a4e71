"""Under Pulumi's mock runtime: node groups sized by `scaling_for` from a set pause record stay at zero.

This is the shape the lead wires into the burst pools: read the record, call `scaling_for`
per node group, register `scalingConfig` and the extra taint, warn with the note.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pytest

from components.guard.pause_state import PAUSE_TAINT_KEY, PauseState, PoolSize, dumps, parse, scaling_for

RECORD = dumps(
    PauseState(
        True, {"dev-gpu-g6-spot": PoolSize(0, 2, 1)}, "actual 91.0% of 3000 USD", "2026-11-23T14:00:00Z", "2026-11-01"
    )
)
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.inputs[args.name] = dict(args.inputs)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


@pytest.fixture
def mocks() -> _Mocks:
    asyncio.set_event_loop(asyncio.new_event_loop())
    m = _Mocks()
    pulumi.runtime.set_mocks(m, project="ai-factory", stack="dev", preview=False)
    return m


def test_program_with_the_pause_parameter_set_keeps_the_paused_group_at_zero(mocks: _Mocks) -> None:
    import pulumi_aws as aws

    state = parse(RECORD)  # the program reads the parameter's text (read_pause_state or an SSM invoke)
    groups = {}
    for name in ("dev-gpu-g6-spot", "dev-gpu-g6-floor"):
        scaling = scaling_for(name, PoolSize(0, 2, 0), state)
        groups[name] = aws.eks.NodeGroup(
            name,
            cluster_name="dev-burst",
            node_role_arn="arn:aws:iam::123456789012:role/n",
            subnet_ids=["subnet-1"],
            instance_types=["g6.xlarge"],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=scaling.size.min_size, max_size=scaling.size.max_size, desired_size=scaling.size.desired_size
            ),
            taints=[GPU_TAINT, *(dict(t) for t in scaling.extra_taints)],
        )

    @pulumi.runtime.test
    def check() -> Any:
        return pulumi.Output.all(*(g.urn for g in groups.values())).apply(lambda _: _assert(mocks))

    check()


def _assert(mocks: _Mocks) -> None:
    paused, floor = mocks.inputs["dev-gpu-g6-spot"], mocks.inputs["dev-gpu-g6-floor"]
    assert paused["scalingConfig"] == {"minSize": 0, "maxSize": 1, "desiredSize": 0}
    assert [t["key"] for t in paused["taints"]] == ["nvidia.com/gpu", PAUSE_TAINT_KEY]
    assert floor["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 0}
    assert [t["key"] for t in floor["taints"]] == ["nvidia.com/gpu"]
