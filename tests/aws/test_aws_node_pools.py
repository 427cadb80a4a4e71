"""GPU pools: hard GPU cap, taints, capacity types, scale from zero, launch templates, interruptions."""

from __future__ import annotations

import base64
import json
import re

import pytest
import yaml
from aws_support import StackPlan

from components import conventions as c
from components.aws.gpu_pools import plan_pools, split
from components.config.models import BurstConfig
from components.gpus import GpuFamily, gpus_per_instance
from components.guard import deploy_spec

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GPU_TAINT = {"key": c.GPU_TAINT_KEY, "value": c.GPU_TAINT_VALUE, "effect": "NO_SCHEDULE"}


def _gpu_groups(sp: StackPlan) -> list[dict]:
    return [g for g in sp.of_type(NODE_GROUP) if g["inputs"]["amiType"] == "AL2023_x86_64_NVIDIA"]


def _gpus(group: dict) -> int:
    (count,) = {gpus_per_instance(t) for t in group["inputs"]["instanceTypes"]}
    return int(group["inputs"]["scalingConfig"]["maxSize"]) * count


@pytest.mark.parametrize("stack", ["dev", "prod-eu"])
def test_every_gpu_group_is_tainted_and_max_sizes_sum_to_the_limit(stacks: dict[str, StackPlan], stack: str) -> None:
    sp = stacks[stack]
    groups = _gpu_groups(sp)
    assert groups
    for g in groups:
        assert GPU_TAINT in g["inputs"]["taints"], g["name"]
        assert g["inputs"]["scalingConfig"]["minSize"] == 0
    assert sum(_gpus(g) for g in groups) == sp.config.cloud.eks.burst.max_gpus


def test_prod_spot_groups_are_spot_and_the_floor_is_on_demand(prod: StackPlan) -> None:
    groups = {g["inputs"]["labels"][c.LABEL_POOL]: g["inputs"] for g in _gpu_groups(prod)}
    assert groups.keys() == {"gpu-g6e-spot", "gpu-p5-spot", "gpu-g6e-floor"}
    for pool, ng in groups.items():
        expected = "ON_DEMAND" if pool.endswith("-floor") else "SPOT"
        assert ng["capacityType"] == expected, pool
    floor = sum(_gpus(g) for g in _gpu_groups(prod) if g["inputs"]["capacityType"] == "ON_DEMAND")
    assert floor == prod.config.cloud.eks.burst.on_demand_floor_gpus


def test_desired_size_belongs_to_the_autoscaler_and_the_guard_tags_to_the_guard(prod: StackPlan) -> None:
    guard_tags = [f'tags["{k}"]' for k in deploy_spec.GUARD_TAG_KEYS]
    for g in prod.of_type(NODE_GROUP):
        pausable = g["inputs"]["labels"].get(c.LABEL_POOL, "").endswith("-spot")
        expected = ["scalingConfig.desiredSize", *(guard_tags if pausable else [])]
        assert prod.registration(g["name"]).ignore_changes == expected, g["name"]


def test_gpu_groups_label_location_capacity_pool_and_gpu(prod: StackPlan) -> None:
    for g in _gpu_groups(prod):
        labels = g["inputs"]["labels"]
        assert labels[c.LABEL_LOCATION] == c.LOCATION_CLOUD
        assert labels[c.LABEL_CAPACITY_TYPE] == ("spot" if g["inputs"]["capacityType"] == "SPOT" else "on-demand")
        assert labels[c.LABEL_GPU_MODEL] in {"L40S", "H100"}
        assert {"key": c.BURST_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"} in g["inputs"]["taints"]


def test_system_pool_is_small_cpu_on_demand(prod: StackPlan) -> None:
    (system,) = [g for g in prod.of_type(NODE_GROUP) if g["inputs"]["labels"][c.LABEL_POOL] == c.POOL_SYSTEM]
    assert system["inputs"]["amiType"] == "AL2023_x86_64_STANDARD"
    assert system["inputs"]["capacityType"] == "ON_DEMAND"
    assert system["inputs"]["instanceTypes"] == [prod.config.cloud.eks.system_instance_type]
    assert "taints" not in system["inputs"] or system["inputs"]["taints"] == []


def test_launch_templates_require_imdsv2_and_encrypt_root_volumes_with_the_stack_key(prod: StackPlan) -> None:
    templates = prod.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == len(prod.of_type(NODE_GROUP))
    for lt in templates:
        meta = lt["inputs"]["metadataOptions"]
        assert meta["httpTokens"] == "required" and meta["httpPutResponseHopLimit"] == 1
        (bdm,) = lt["inputs"]["blockDeviceMappings"]
        assert bdm["ebs"]["encrypted"] == "true"
        assert bdm["ebs"]["kmsKeyId"] == prod.key_arn("prod-eu-storage-key")


def test_gpu_launch_templates_stripe_local_nvme_for_the_model_cache(prod: StackPlan) -> None:
    gpu_lts = [lt for lt in prod.of_type("aws:ec2/launchTemplate:LaunchTemplate") if "-gpu-" in lt["name"]]
    assert gpu_lts
    for lt in gpu_lts:
        body = base64.b64decode(lt["inputs"]["userData"]).decode()
        part = body.split("Content-Type: application/node.eks.aws\n\n", 1)[1].split("--AIFACTORY--")[0]
        node_config = yaml.safe_load(part)
        assert node_config["kind"] == "NodeConfig"
        assert node_config["spec"]["instance"]["localStorage"]["strategy"] == "RAID0"


def test_asg_node_template_tags_let_the_autoscaler_scale_from_zero(prod: StackPlan) -> None:
    tags = prod.of_type("aws:autoscaling/tag:Tag")
    by_group: dict[str, dict[str, str]] = {}
    for t in tags:
        by_group.setdefault(t["inputs"]["autoscalingGroupName"], {})[t["inputs"]["tag"]["key"]] = t["inputs"]["tag"]
    prefix = c.CA_NODE_TEMPLATE_PREFIX
    for g in _gpu_groups(prod):
        asg = f"eks-{g['inputs']['nodeGroupName']}-00000000"
        got = {k: v["value"] for k, v in by_group[asg].items()}
        assert all(not v["propagateAtLaunch"] for v in by_group[asg].values())
        assert got[f"{prefix}/taint/{c.GPU_TAINT_KEY}"] == "true:NoSchedule"
        assert got[f"{prefix}/resources/{c.GPU_RESOURCE}"] == str(gpus_per_instance(g["inputs"]["instanceTypes"][0]))
        for key, value in g["inputs"]["labels"].items():
            assert got[f"{prefix}/label/{key}"] == value


def test_priority_expander_prefers_spot_and_uses_the_floor_last(prod: StackPlan) -> None:
    cm = prod.named("prod-eu-node-pools-priority-expander")
    assert cm["inputs"]["metadata"]["name"] == "cluster-autoscaler-priority-expander"
    assert cm["inputs"]["metadata"]["namespace"] == "kube-system"
    priorities = yaml.safe_load(cm["inputs"]["data"]["priorities"])

    def rank(node_group: str) -> int:
        asg = f"eks-{node_group}-0a1b2c3d"
        return max(p for p, patterns in priorities.items() if any(re.fullmatch(x, asg) for x in patterns))

    ranks = {g["inputs"]["labels"][c.LABEL_POOL]: rank(g["inputs"]["nodeGroupName"]) for g in prod.of_type(NODE_GROUP)}
    assert ranks["gpu-g6e-spot"] == ranks["gpu-p5-spot"] > ranks["system"] > ranks["gpu-g6e-floor"]


def test_spot_interruptions_reach_an_encrypted_queue(prod: StackPlan) -> None:
    (queue,) = [q for q in prod.of_type("aws:sqs/queue:Queue") if prod.component_of(q)["type"].endswith(":NodePools")]
    assert queue["inputs"]["kmsMasterKeyId"] == prod.key_arn("prod-eu-budgets-key")
    rules = [r for r in prod.of_type("aws:cloudwatch/eventRule:EventRule") if "eventPattern" in r["inputs"]]
    kinds = {json.loads(r["inputs"]["eventPattern"])["detail-type"][0] for r in rules}
    assert {"EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation"} <= kinds
    # The budget guard's schedule (tests/aws/test_aws_budget_guard.py) is the only other rule and target.
    targets = [t for t in prod.of_type("aws:cloudwatch/eventTarget:EventTarget") if ":sqs:" in t["inputs"]["arn"]]
    assert len(targets) == len(rules)
    queue_arn = f"arn:aws:sqs:eu-central-1:000000000000:{queue['name']}"
    assert all(t["inputs"]["arn"] == queue_arn for t in targets)
    policy = prod.policy(prod.named("prod-eu-node-pools-interruptions-policy"))
    (st,) = policy["Statement"]
    assert st["Principal"] == {"Service": "events.amazonaws.com"} and st["Action"] == "sqs:SendMessage"
    assert len(st["Condition"]["ArnEquals"]["aws:SourceArn"]) == len(rules)
    # EventBridge may use the notifications key that encrypts the queue.
    key_policy = prod.policy(prod.named("prod-eu-budgets-key"))
    publish = next(s for s in key_policy["Statement"] if s["Sid"] == "ServicesPublishToEncryptedTopic")
    assert "events.amazonaws.com" in publish["Principal"]["Service"]


# ------------------------------------------------------------------- the split itself
def test_split_is_round_robin_in_config_order() -> None:
    assert split(16, [(GpuFamily.G6E, 4), (GpuFamily.P5, 8)]) == ({GpuFamily.G6E: 2, GpuFamily.P5: 1}, 0)
    assert split(8, [(GpuFamily.G6E, 4), (GpuFamily.P5, 8)]) == ({GpuFamily.G6E: 2, GpuFamily.P5: 0}, 0)
    assert split(6, [(GpuFamily.P5, 8), (GpuFamily.G6E, 4)]) == ({GpuFamily.P5: 0, GpuFamily.G6E: 1}, 2)


@pytest.mark.parametrize(
    ("burst", "expected"),
    [
        (
            {"gpuFamilies": ["g6"], "maxGpus": 3, "onDemandFloorGpus": 1},
            [("gpu-g6-spot", "SPOT", 2), ("gpu-g6-floor", "ON_DEMAND", 1)],
        ),
        (
            {"gpuFamilies": ["g5", "g6"], "maxGpus": 5, "spot": False},
            [("gpu-g5-on-demand", "ON_DEMAND", 3), ("gpu-g6-on-demand", "ON_DEMAND", 2)],
        ),
        ({"gpuFamilies": ["p5"], "maxGpus": 0}, []),
    ],
)
def test_plan_pools_variants(burst: dict, expected: list) -> None:
    pools, leftover = plan_pools(BurstConfig.model_validate(burst))
    assert leftover == {}
    assert [(p.key, p.capacity_type, p.max_size) for p in pools] == expected
