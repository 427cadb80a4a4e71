"""GPU sharing per node pool: which device-plugin config and MIG layout each pool's nodes select.

The GPU operator runs one device plugin for the whole cluster. A node picks its sharing config
by the label `nvidia.com/device-plugin.config` and the mig-manager its MIG layout by
`nvidia.com/mig.config`; nodes without them get the chart's defaults. So a pool with sharing
carries both labels from the moment it registers: the EKS node groups set them on cloud nodes,
the servers' kubelet flags (Ansible inventory) on the site. The operator's values, the node
groups, the inventory and the config checks all read this module, so they cannot disagree.

Only uniform MIG layouts (`all-<profile>`) are offered: with the device plugin's `single`
strategy every slice is still advertised as `nvidia.com/gpu`, so the serving pods, quotas and
policies stay as they are. Mixed layouts would rename the resources per slice size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from components import conventions as c
from components.config.models import FactoryConfig, GpuSharing
from components.gpus import GPU_FAMILIES, GPU_MODELS

POOLS = (c.LOCATION_ON_PREM, c.LOCATION_CLOUD)
"""GPU node pools of a stack, by location (the keys of kubernetes.gpuSharing)."""
LABEL_KEYS = (c.LABEL_DEVICE_PLUGIN_CONFIG, c.LABEL_MIG_CONFIG)
"""The node labels sharing_node_labels may set (and a change of sharing may have to remove)."""

MIG_PROFILES: dict[int, tuple[str, ...]] = {
    40: ("all-1g.5gb", "all-2g.10gb", "all-3g.20gb", "all-4g.20gb", "all-7g.40gb"),
    80: ("all-1g.10gb", "all-1g.20gb", "all-2g.20gb", "all-3g.40gb", "all-4g.40gb", "all-7g.80gb"),
    141: ("all-1g.18gb", "all-1g.35gb", "all-2g.35gb", "all-3g.71gb", "all-4g.71gb", "all-7g.141gb"),
}
"""Uniform layouts of the GPU operator's default mig-parted config, by GPU memory (GiB)."""


@dataclass(frozen=True)
class PoolGpu:
    name: str
    """How config names it: the on-prem GPU model or the cloud instance family."""
    memory_gib: int
    mig_capable: bool


def pool_gpus(cfg: FactoryConfig, pool: str) -> list[PoolGpu]:
    """The distinct GPUs of a pool (empty when the stack has no such pool)."""
    out: dict[str, PoolGpu] = {}
    if pool == c.LOCATION_ON_PREM and cfg.on_prem is not None:
        for server in cfg.on_prem.servers:
            info = GPU_MODELS[server.gpu.model]
            out[server.gpu.model.value] = PoolGpu(server.gpu.model.value, info.memory_gib, info.mig_capable)
    if pool == c.LOCATION_CLOUD and cfg.cloud is not None and cfg.cloud.eks is not None:
        for family in cfg.cloud.eks.burst.gpu_families:
            fam = GPU_FAMILIES[family]
            out[family.value] = PoolGpu(f"{family.value} ({fam.gpu})", fam.gpu_memory_gib, fam.mig_capable)
    return list(out.values())


def pool_sharing(cfg: FactoryConfig, pool: str) -> GpuSharing | None:
    """The pool's sharing, or None when its GPUs are handed out whole."""
    sharing = cfg.kubernetes.gpu_sharing.get(pool)  # type: ignore[call-overload]
    if sharing is None or sharing.strategy == "none":
        return None
    return sharing


def sharing_node_labels(cfg: FactoryConfig, pool: str) -> dict[str, str]:
    """Labels a pool's nodes register with: its device-plugin config (named after the pool) and,
    with MIG, the layout the mig-manager applies. None without sharing: the defaults fit."""
    sharing = pool_sharing(cfg, pool)
    if sharing is None:
        return {}
    labels = {c.LABEL_DEVICE_PLUGIN_CONFIG: pool}
    if sharing.strategy == "mig" and sharing.mig_profile is not None:
        labels[c.LABEL_MIG_CONFIG] = sharing.mig_profile
    return labels


def shared_pools(cfg: FactoryConfig) -> dict[str, GpuSharing]:
    """Pools that share their GPUs, in a stable order."""
    return {pool: s for pool in POOLS if (s := pool_sharing(cfg, pool)) is not None}


def mig_profile_problems(cfg: FactoryConfig, pool: str, profile: str) -> Iterator[str]:
    """Why `profile` cannot be applied to every GPU of the pool (nothing when it can)."""
    for gpu in pool_gpus(cfg, pool):
        if not gpu.mig_capable:
            yield f"{gpu.name} GPUs do not support MIG"
        elif profile not in MIG_PROFILES.get(gpu.memory_gib, ()):
            allowed = ", ".join(MIG_PROFILES.get(gpu.memory_gib, ())) or "none"
            yield f"{profile} does not fit the {gpu.memory_gib} GB of {gpu.name} (its layouts: {allowed})"
