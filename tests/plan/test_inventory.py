"""`factory inventory STACK`: the Ansible inventory the on-prem component also uses."""

from __future__ import annotations

import yaml

from components.config import load_stack
from components.inventory import inventory, rollout_batches


def test_prod_eu_inventory(cli) -> None:
    result = cli("inventory", "prod-eu")
    assert result.code == 0, result.err
    doc = yaml.safe_load(result.out)
    group_vars = doc["all"]["vars"]
    hosts = doc["all"]["children"]["gpu_servers"]["hosts"]
    assert list(hosts) == ["fra1-gpu-01", "fra1-gpu-02", "fra1-gpu-03", "fra1-gpu-04"]
    assert hosts["fra1-gpu-03"] == {
        "ansible_host": "10.20.0.13",
        "aif_rollout_batch": 2,
        "gpu_validate_expected_count": 8,
        "gpu_validate_expected_model": "NVIDIA H100 80GB HBM3",
        "nvidia_driver_fabricmanager_enabled": True,
        "local_storage_devices": ["/dev/nvme1n1", "/dev/nvme2n1"],
        "k8s_node_labels": {
            "ai-factory.io/location": "on-prem",
            "ai-factory.io/site": "fra1",
            "ai-factory.io/gpu-model": "H100-80GB-HBM3",
        },
        "aif_bmc_address": "10.20.1.13",
    }
    assert group_vars["k8s_node_join_method"] == "eks-hybrid"
    assert group_vars["k8s_node_region"] == "eu-central-1"
    assert group_vars["os_baseline_cluster_cidrs"] == ["10.20.0.0/24", "10.21.0.0/16", "10.100.0.0/16"]
    assert group_vars["k8s_node_taints"] == ["nvidia.com/gpu=true:NoSchedule"]


def test_lab_inventory_is_standalone_kubeadm() -> None:
    _, cfg = load_stack("lab")
    inv = inventory(cfg)
    assert inv["all"]["vars"]["k8s_node_join_method"] == "kubeadm"
    assert "k8s_node_region" not in inv["all"]["vars"]
    hosts = inv["all"]["children"]["gpu_servers"]["hosts"]
    assert {h["gpu_validate_expected_model"] for h in hosts.values()} == {"NVIDIA L40S"}
    assert all(h["nvidia_driver_fabricmanager_enabled"] is False for h in hosts.values())


def test_inventory_never_holds_secrets() -> None:
    for stack in ("lab", "prod-eu"):
        _, cfg = load_stack(stack)
        text = yaml.safe_dump(inventory(cfg))
        for word in ("activation_code", "token", "private_key", "password", "secret"):
            assert word not in text.lower(), (stack, word)


def test_cloud_only_stack_has_an_empty_inventory_and_says_so(cli) -> None:
    result = cli("inventory", "dev")
    assert result.code == 0
    assert yaml.safe_load(result.out) == {"all": {"children": {"gpu_servers": {"hosts": {}}}}}
    assert "has no on-prem site" in result.err


def test_rollout_batches_follow_batch_size() -> None:
    _, cfg = load_stack("prod-eu")
    assert cfg.on_prem is not None
    bigger = cfg.on_prem.model_copy(update={"rollout": cfg.on_prem.rollout.model_copy(update={"batch_size": 3})})
    assert rollout_batches(bigger) == [["fra1-gpu-01", "fra1-gpu-02", "fra1-gpu-03"], ["fra1-gpu-04"]]
