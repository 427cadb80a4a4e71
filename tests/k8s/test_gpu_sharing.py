"""GPU sharing per node pool: the pool's nodes register with the labels that select its device-plugin
config and MIG layout, and the config refuses sharing the pool's GPUs or models cannot use."""

from __future__ import annotations

import json

import yaml
from support import config_problems, sections, stack_doc

from components import conventions as c
from components.config.loader import parse_sections
from components.inventory import inventory
from components.k8s.gpu_operator import DEVICE_PLUGIN_CONFIGMAP, operator_values
from components.tooling.plan import make_plan

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GPU_SERVER = "pulumi-python:dynamic/onprem:GpuServer"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
RELEASE = "kubernetes:helm.sh/v3:Release"
SHARING_LABELS = {c.LABEL_DEVICE_PLUGIN_CONFIG, c.LABEL_MIG_CONFIG}


def _parsed(stack: str, mutate):
    s = sections(stack)
    mutate(s)
    return parse_sections(s)


def test_cloud_time_slicing_labels_the_burst_node_groups_only(write_stack) -> None:
    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:kubernetes"]["gpuSharing"] = {"cloud": {"strategy": "time-slicing", "replicas": 2}}
    plan = make_plan("prod-eu-sliced", write_stack("prod-eu-sliced", doc))

    groups = {r["inputs"]["nodeGroupName"]: r["inputs"]["labels"] for r in plan.resources if r["type"] == NODE_GROUP}
    gpu_groups = {name: labels for name, labels in groups.items() if "-gpu-" in name}
    assert len(gpu_groups) == 3  # g6e spot, p5 spot, g6e on-demand floor
    assert all(labels[c.LABEL_DEVICE_PLUGIN_CONFIG] == "cloud" for labels in gpu_groups.values())
    assert not any(c.LABEL_MIG_CONFIG in labels for labels in gpu_groups.values())
    system = [labels for name, labels in groups.items() if "-gpu-" not in name]
    assert system and not any(SHARING_LABELS & set(labels) for labels in system)

    # The site's servers keep whole GPUs: nothing in their inventory selects a sharing config.
    servers = [json.loads(r["inputs"]["inventory"]) for r in plan.resources if r["type"] == GPU_SERVER]
    assert len(servers) == 4
    for inv in servers:
        labels = {**inv["all"]["vars"]["k8s_node_labels"]}
        for host in inv["all"]["children"]["gpu_servers"]["hosts"].values():
            labels |= host["k8s_node_labels"]
        assert not SHARING_LABELS & set(labels)

    (cm,) = [
        r
        for r in plan.resources
        if r["type"] == CONFIG_MAP and r["inputs"]["metadata"]["name"] == DEVICE_PLUGIN_CONFIGMAP
    ]
    assert set(cm["inputs"]["data"]) == {"default", "cloud"}
    sliced = yaml.safe_load(cm["inputs"]["data"]["cloud"])
    assert sliced["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 2}]
    assert "sharing" not in yaml.safe_load(cm["inputs"]["data"]["default"])
    (release,) = [r for r in plan.resources if r["type"] == RELEASE and r["inputs"]["name"] == "gpu-operator"]
    # Hybrid: the site's nodes carry no label and must get whole GPUs, so the default stays whole.
    assert release["inputs"]["values"]["devicePlugin"]["config"]["default"] == "default"


def test_site_mig_labels_every_server_with_its_pool_and_layout() -> None:
    def site_mig(s):
        s["kubernetes"]["gpuSharing"] = {"on-prem": {"strategy": "mig", "migProfile": "all-3g.40gb"}}
        s["serving"]["models"][1]["gpusPerReplica"] = 1  # the 70B model, which asked for 4

    cfg = _parsed("prod-eu", site_mig)
    inv = inventory(cfg)
    hosts = inv["all"]["children"]["gpu_servers"]["hosts"]
    assert len(hosts) == 4
    for host in hosts.values():
        labels = host["k8s_node_labels"]
        assert labels[c.LABEL_DEVICE_PLUGIN_CONFIG] == "on-prem"
        assert labels[c.LABEL_MIG_CONFIG] == "all-3g.40gb"
    values = operator_values(cfg)
    assert values["mig"] == {"strategy": "single"}
    # Cloud nodes have no mig.config label: the default layout must leave their GPUs whole.
    assert values["migManager"] == {"enabled": True, "config": {"default": "all-disabled"}}


def test_a_pool_that_shares_nothing_adds_no_labels_and_no_config() -> None:
    def none(s):
        s["kubernetes"]["gpuSharing"] = {"on-prem": {"strategy": "none"}}

    cfg = _parsed("lab", none)
    assert not SHARING_LABELS & set(inventory(cfg)["all"]["vars"]["k8s_node_labels"])
    assert operator_values(cfg)["devicePlugin"]["config"]["default"] == "default"
    assert operator_values(cfg)["migManager"]["enabled"] is False


def test_mig_is_refused_on_gpus_without_it() -> None:
    def lab_mig(s):
        s["kubernetes"]["gpuSharing"] = {"on-prem": {"strategy": "mig", "migProfile": "all-1g.10gb"}}

    assert config_problems("lab", lab_mig) == [
        "ai-factory:kubernetes.gpuSharing.on-prem.migProfile: L40S GPUs do not support MIG "
        "(allowed: strategy time-slicing or none for this pool)"
    ]

    def cloud_mig(s):
        s["kubernetes"]["gpuSharing"] = {"cloud": {"strategy": "mig", "migProfile": "all-1g.10gb"}}

    # prod-eu bursts to g6e (L40S) and p5 (H100 80 GB): the layout fits p5, but g6e has no MIG.
    assert config_problems("prod-eu", cloud_mig) == [
        "ai-factory:kubernetes.gpuSharing.cloud.migProfile: g6e (L40S) GPUs do not support MIG "
        "(allowed: strategy time-slicing or none for this pool)"
    ]


def test_a_mig_layout_must_fit_the_gpu_memory() -> None:
    def h200_layout_on_h100(s):
        s["kubernetes"]["gpuSharing"] = {"on-prem": {"strategy": "mig", "migProfile": "all-1g.18gb"}}
        s["serving"]["models"][1]["gpusPerReplica"] = 1

    assert config_problems("prod-eu", h200_layout_on_h100) == [
        "ai-factory:kubernetes.gpuSharing.on-prem.migProfile: all-1g.18gb does not fit the 80 GB of H100-80GB-HBM3 "
        "(its layouts: all-1g.10gb, all-1g.20gb, all-2g.20gb, all-3g.40gb, all-4g.40gb, all-7g.80gb) "
        "(allowed: strategy time-slicing or none for this pool)"
    ]


def test_models_needing_several_gpus_cannot_run_on_a_shared_pool() -> None:
    def site_slicing(s):
        s["kubernetes"]["gpuSharing"] = {"on-prem": {"strategy": "time-slicing", "replicas": 4}}

    # Only the 70B model asks for more than one GPU; every model runs on the site.
    assert config_problems("prod-eu", site_slicing) == [
        "ai-factory:serving.models[1].gpusPerReplica: 4 GPUs per replica cannot run on the on-prem pool, "
        "which shares its GPUs (time-slicing) (allowed: 1, or kubernetes.gpuSharing.on-prem.strategy none)"
    ]

    def cloud_slicing_with_a_big_burst_model(s):
        s["kubernetes"]["gpuSharing"] = {"cloud": {"strategy": "time-slicing", "replicas": 2}}
        s["serving"]["models"][0]["gpusPerReplica"] = 2  # llama-31-8b bursts to the cloud

    assert config_problems("prod-eu", cloud_slicing_with_a_big_burst_model) == [
        "ai-factory:serving.models[0].gpusPerReplica: 2 GPUs per replica cannot run on the cloud pool, "
        "which shares its GPUs (time-slicing) (allowed: 1, or kubernetes.gpuSharing.cloud.strategy none)"
    ]


def test_a_mig_profile_needs_strategy_mig() -> None:
    def stray_profile(s):
        s["kubernetes"]["gpuSharing"] = {
            "on-prem": {"strategy": "time-slicing", "replicas": 2, "migProfile": "all-1g.10gb"}
        }

    assert config_problems("lab", stray_profile) == [
        "ai-factory:kubernetes.gpuSharing.on-prem.migProfile: a MIG profile applies to strategy mig only (allowed: remove it)"
    ]
