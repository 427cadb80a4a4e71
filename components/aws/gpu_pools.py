"""Burst GPU pools planned from the config: which node groups exist and how large they may grow.

Pure (no Pulumi imports): config validation uses the same split the node groups are built
from, so a GPU limit that cannot be met with whole instances is a config error, never a
node group whose cap silently differs from the limit.

The cap is `Σ maxSize × GPUs per instance == cloud.eks.burst.maxGpus`, enforced by the
Auto Scaling groups themselves (a hard AWS limit, unlike an autoscaler's soft limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from components import conventions as c
from components.gpus import GPU_FAMILIES, GpuFamily, gpus_per_instance

if TYPE_CHECKING:
    # Annotation only: config validation (components.config.semantics) imports this module, so a
    # runtime import of components.config here would close the cycle
    # gpu_pools → config → loader → semantics → gpu_pools (whichever is imported first breaks).
    from components.config.models import BurstConfig

PRIORITY = {c.POOL_SPOT: 50, c.POOL_ON_DEMAND: 30, c.POOL_SYSTEM: 20, c.POOL_FLOOR: 10}
"""Cluster-autoscaler priority expander (higher first): spot, then on-demand, floor last."""


@dataclass(frozen=True)
class PoolPlan:
    family: GpuFamily
    """EC2 GPU instance family of the pool."""
    role: str
    """conventions.POOL_SPOT | POOL_ON_DEMAND | POOL_FLOOR."""
    instance_types: tuple[str, ...]
    """Instance types of the pool; all carry `gpus_per_instance` GPUs."""
    gpus_per_instance: int
    """GPUs per node of this pool."""
    max_size: int
    """Node group max size: the pool's share of the GPU limit in whole instances."""

    @property
    def key(self) -> str:
        """`gpu-<family>-<role>`: the pool's name part (node group, labels, expander regex)."""
        return f"gpu-{self.family.value}-{self.role}"

    def node_group_name(self, cluster_name: str) -> str:
        """Physical EKS node group name: fixed, because the budget guard and its IAM policy name it."""
        return node_group_name(cluster_name, self.key)

    @property
    def capacity_type(self) -> str:
        return c.CAPACITY_SPOT if self.role == c.POOL_SPOT else c.CAPACITY_ON_DEMAND

    @property
    def max_gpus(self) -> int:
        return self.max_size * self.gpus_per_instance


def node_group_name(cluster_name: str, key: str) -> str:
    """`<cluster>-<key>`, e.g. `dev-burst-gpu-g6-spot` (managed node groups are named, never auto-named)."""
    return f"{cluster_name}-{key}"


def family_types(burst: BurstConfig, family: GpuFamily) -> tuple[str, ...]:
    """Configured instance types of `family`, else the catalogue's default type."""
    return tuple(burst.instance_types.get(family) or [GPU_FAMILIES[family].default_instance_type])


def family_gpus(burst: BurstConfig, family: GpuFamily) -> int:
    """GPUs per instance of the family's pool (semantics.py ensures the types agree)."""
    counts = [n for t in family_types(burst, family) if (n := gpus_per_instance(t)) is not None]
    return min(counts) if counts else 1


def split(gpus: int, sizes: list[tuple[GpuFamily, int]]) -> tuple[dict[GpuFamily, int], int]:
    """Split `gpus` into whole instances, round-robin over the families in config order.

    Each round gives every family one more instance while it still fits, so the split is
    deterministic and as even as the instance sizes allow. Returns (instances per family,
    GPUs left over); a non-zero remainder means the limit is not divisible.

    Internal. Exported for testing.
    """
    counts = {family: 0 for family, _ in sizes}
    left = gpus
    progress = True
    while left > 0 and progress:
        progress = False
        for family, size in sizes:
            if size <= left:
                counts[family] += 1
                left -= size
                progress = True
    return counts, left


def plan_pools(burst: BurstConfig) -> tuple[list[PoolPlan], dict[str, int]]:
    """The GPU pools of `burst` and the GPUs left unassigned per role ({} when the limit divides)."""
    sizes = [(f, family_gpus(burst, f)) for f in burst.gpu_families]
    floor = min(burst.on_demand_floor_gpus, burst.max_gpus)
    shares = {
        (c.POOL_SPOT if burst.spot else c.POOL_ON_DEMAND): burst.max_gpus - floor,
        c.POOL_FLOOR: floor,
    }
    pools: list[PoolPlan] = []
    leftover: dict[str, int] = {}
    for role, gpus in shares.items():
        counts, left = split(gpus, sizes)
        if left:
            leftover[role] = left
        for family, size in sizes:
            if counts[family]:  # a node group's max size must be >= 1: no pool without a share
                pools.append(PoolPlan(family, role, family_types(burst, family), size, counts[family]))
    return pools, leftover
