"""The Ansible inventory of the on-prem site, from the typed config.

One pure function serves `factory inventory STACK` and the OnPremGpuBaseline component, so
what a reviewer prints is what Pulumi hands Ansible. No secret ever goes in here: secrets
reach Ansible through a 0600 extra-vars file at run time.
"""

from __future__ import annotations

from typing import Any

from components import conventions as c
from components.config.models import ClusterJoin, FactoryConfig, OnPremConfig
from components.gpu_sharing import LABEL_KEYS, sharing_node_labels
from components.gpus import GPU_MODELS

GROUP = "gpu_servers"


def node_labels(cfg: FactoryConfig, op: OnPremConfig) -> dict[str, str]:
    """Labels every server registers with: location, site and the site pool's GPU sharing selection."""
    return {
        c.LABEL_LOCATION: c.LOCATION_ON_PREM,
        c.LABEL_SITE: op.site,
        **sharing_node_labels(cfg, c.LOCATION_ON_PREM),
    }


def node_taints() -> list[str]:
    return [f"{c.GPU_TAINT_KEY}={c.GPU_TAINT_VALUE}:{c.GPU_TAINT_EFFECT}"]


def rollout_batches(op: OnPremConfig) -> list[list[str]]:
    """Servers in rollout order, `batchSize` at a time (batch k waits for batch k-1)."""
    names = [s.name for s in op.servers]
    size = op.rollout.batch_size
    return [names[i : i + size] for i in range(0, len(names), size)]


def _cluster_cidrs(cfg: FactoryConfig, op: OnPremConfig) -> list[str]:
    cidrs = [*op.network.node_cidrs, *op.network.pod_cidrs]
    if cfg.join_method is ClusterJoin.EKS_HYBRID and cfg.cloud is not None:
        cidrs.append(cfg.cloud.vpc.cidr)  # the EKS control plane and cloud nodes reach kubelet
    return cidrs


def inventory(cfg: FactoryConfig) -> dict[str, Any]:
    """Inventory document (YAML-ready) in the shape the playbooks consume; empty without a site."""
    op = cfg.on_prem
    if op is None:
        return {"all": {"children": {GROUP: {"hosts": {}}}}}
    join = cfg.join_method
    assert join is not None
    group_vars: dict[str, Any] = {
        "aif_environment": cfg.environment.name,
        "aif_tier": cfg.environment.tier.value,
        "aif_site": op.site,
        "aif_rollout_batch_size": op.rollout.batch_size,
        "aif_rollout_max_fail_percentage": op.rollout.max_fail_percentage,
        "aif_package_mirror_url": op.package_mirror.url,
        "aif_package_mirror_trusted": op.package_mirror.trusted,
        "aif_package_mirror_key_url": op.package_mirror.key_url,
        "nvidia_driver_branch": op.driver.branch,
        "nvidia_driver_version": op.driver.version,
        "gpu_validate_expected_driver_version": op.driver.version,
        "os_baseline_admin_cidrs": list(op.network.admin_cidrs),
        "os_baseline_cluster_cidrs": _cluster_cidrs(cfg, op),
        "k8s_node_join_method": join.value,
        "k8s_node_kubernetes_version": op.cluster.kubernetes_version,
        "k8s_node_labels": node_labels(cfg, op),
        "k8s_node_taints": node_taints(),
        # Kubelet applies its labels only when the node registers: the role keeps these keys on
        # the registered Node in line with k8s_node_labels (set, or removed when absent), so a
        # change of GPU sharing reaches servers that joined before it.
        "k8s_node_managed_label_keys": sorted({c.LABEL_LOCATION, c.LABEL_SITE, c.LABEL_GPU_MODEL, *LABEL_KEYS}),
        "local_storage_mount_point": "/var/lib/ai-factory/model-cache",
    }
    if join is ClusterJoin.EKS_HYBRID and cfg.cloud is not None:
        group_vars |= {
            "k8s_node_cluster_name": f"{cfg.environment.name}-burst",
            "k8s_node_region": cfg.cloud.region,
            "k8s_node_credential_provider": op.cluster.credential_provider.value,
        }
    if cfg.cloud is not None and cfg.cloud.account_id:
        group_vars["container_toolkit_registry_mirror"] = (
            f"{cfg.cloud.account_id}.dkr.ecr.{cfg.cloud.region}.amazonaws.com"
        )
    batch_of = {name: i for i, batch in enumerate(rollout_batches(op)) for name in batch}
    hosts: dict[str, Any] = {}
    for server in op.servers:
        host: dict[str, Any] = {
            "ansible_host": server.address,
            "aif_rollout_batch": batch_of[server.name],
            "gpu_validate_expected_count": server.gpu.count,
            "gpu_validate_expected_model": GPU_MODELS[server.gpu.model].smi_name,
            "nvidia_driver_fabricmanager_enabled": server.gpu.nvswitch,
            "local_storage_devices": list(server.nvme_devices),
            "k8s_node_labels": {**node_labels(cfg, op), c.LABEL_GPU_MODEL: server.gpu.model.value},
        }
        if server.bmc_address:
            host["aif_bmc_address"] = server.bmc_address
        hosts[server.name] = host
    return {"all": {"vars": group_vars, "children": {GROUP: {"hosts": hosts}}}}
