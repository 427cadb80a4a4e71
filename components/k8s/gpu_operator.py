"""NVIDIA GPU operator: device plugin, GPU feature discovery and DCGM exporter on every GPU node.

Drivers and the container toolkit are already on the nodes (Ansible on-prem, the EKS NVIDIA
AMI in the cloud), so the operator must not install them again. Device sharing
(time-slicing/MIG) is per node pool: a typed ConfigMap holds one device-plugin config per
pool and nodes pick theirs by the `nvidia.com/device-plugin.config` label (and their MIG layout
by `nvidia.com/mig.config`), which they register with (components/gpu_sharing.py).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import conventions as c
from components.config.models import FactoryConfig, GpuSharing
from components.gpu_sharing import POOLS, shared_pools
from components.k8s import charts
from components.k8s.context import PlatformContext
from components.k8s.placement import system_tolerations

DEVICE_PLUGIN_CONFIGMAP = "aif-device-plugin-config"
DEFAULT_CONFIG = "default"


def device_plugin_config(sharing: GpuSharing) -> dict[str, Any]:
    """One k8s-device-plugin config file (version v1) for a pool's sharing strategy."""
    flags: dict[str, Any] = {"migStrategy": "single" if sharing.strategy == "mig" else "none"}
    doc: dict[str, Any] = {"version": "v1", "flags": flags}
    if sharing.strategy == "time-slicing":
        doc["sharing"] = {
            "timeSlicing": {
                "renameByDefault": False,
                "failRequestsGreaterThanOne": True,
                "resources": [{"name": c.GPU_RESOURCE, "replicas": sharing.replicas}],
            }
        }
    return doc


def device_plugin_configs(cfg: FactoryConfig) -> dict[str, str]:
    """ConfigMap data: `default` (whole GPUs) plus one entry per pool that shares its GPUs; the
    pool's nodes select theirs by label (components/gpu_sharing.sharing_node_labels)."""
    data = {DEFAULT_CONFIG: yaml.safe_dump(device_plugin_config(GpuSharing()), sort_keys=False)}
    for pool, sharing in shared_pools(cfg).items():
        data[pool] = yaml.safe_dump(device_plugin_config(sharing), sort_keys=False)
    return data


NGC_MIRRORED = {"operator": "gpu-operator", "dcgmExporter": "dcgm-exporter", "devicePlugin": "k8s-device-plugin"}
"""Chart image key → NGC image that CI mirrors into the stack's private ECR repository `ngc/<image>`
(nvcr.io is no pull-through upstream, cloud.registry.repositories)."""


def mirrored_images(cfg: FactoryConfig) -> dict[str, str]:
    """Chart keys whose image the stack mirrors (cloud.registry.repositories lists `ngc/<image>`)."""
    repos = set(cfg.cloud.registry.repositories) if cfg.cloud is not None else set()
    return {key: image for key, image in NGC_MIRRORED.items() if f"ngc/{image}" in repos}


def gpu_pools(cfg: FactoryConfig) -> list[str]:
    """GPU node pools (locations) the stack has."""
    return [p for p, present in zip(POOLS, (cfg.on_prem is not None, cfg.has_eks), strict=True) if present]


def default_config(cfg: FactoryConfig) -> str:
    """With a single GPU pool its sharing config is also the default, which covers nodes that joined
    before their pool shared GPUs (labels are set at registration); otherwise whole GPUs."""
    pools = gpu_pools(cfg)
    if len(pools) == 1 and pools[0] in shared_pools(cfg):
        return pools[0]
    return DEFAULT_CONFIG


def default_mig_profile(cfg: FactoryConfig) -> str:
    """The layout of nodes without an `nvidia.com/mig.config` label: MIG off, unless the only pool uses MIG."""
    sharing = shared_pools(cfg).get(default_config(cfg))
    if sharing is not None and sharing.strategy == "mig" and sharing.mig_profile is not None:
        return sharing.mig_profile
    return "all-disabled"


CONTROL_PLANE_TOLERATIONS: list[dict[str, Any]] = [
    {"key": "node-role.kubernetes.io/master", "operator": "Equal", "value": "", "effect": "NoSchedule"},
    {"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "", "effect": "NoSchedule"},
]
"""The gpu-operator chart's default `operator.tolerations` (its values.yaml), kept when we add ours."""


def operator_values(cfg: FactoryConfig, registry: pulumi.Input[str] = "") -> dict[str, Any]:
    """Chart values, built from config (and the registry prefix of mirrored NGC images)."""
    mig = any(s.strategy == "mig" for s in shared_pools(cfg).values())
    gpu_tolerations = [
        {"key": c.GPU_TAINT_KEY, "operator": "Exists", "effect": c.GPU_TAINT_EFFECT},
        {"key": c.BURST_TAINT_KEY, "operator": "Exists", "effect": c.GPU_TAINT_EFFECT},
    ]
    values: dict[str, Any] = {
        "operator": {},
        # Ansible installs the pinned driver and toolkit on-prem; the EKS NVIDIA AMI ships both.
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "nfd": {"enabled": True},
        "daemonsets": {"tolerations": gpu_tolerations, "priorityClassName": "system-node-critical"},
        "devicePlugin": {
            "enabled": True,
            "config": {"create": False, "name": DEVICE_PLUGIN_CONFIGMAP, "default": default_config(cfg)},
        },
        "mig": {"strategy": "single" if mig else "none"},
        # Nodes without an `nvidia.com/mig.config` label get the single pool's profile.
        "migManager": {"enabled": mig, "config": {"default": default_mig_profile(cfg)}},
        "dcgmExporter": {
            "enabled": True,
            # Our own typed ServiceMonitor scrapes it (observability), so the chart does not add one.
            "serviceMonitor": {"enabled": False},
            "service": {"internalTrafficPolicy": "Local"},
        },
        "psa": {"enabled": False},
    }
    if not cfg.has_eks:
        # Without EKS there is no untainted system pool: the operator and NFD's master and gc would
        # find no node (every site server carries the GPU taint). Keep the chart's own control-plane
        # tolerations, since setting the list replaces them.
        tolerations = CONTROL_PLANE_TOLERATIONS + system_tolerations(cfg)
        values["operator"]["tolerations"] = tolerations
        values["node-feature-discovery"] = {"master": {"tolerations": tolerations}, "gc": {"tolerations": tolerations}}
    for key, image in mirrored_images(cfg).items():
        values[key]["repository"] = (
            f"{registry}/ngc" if isinstance(registry, str) else pulumi.Output.concat(registry, "/ngc")
        )
        values[key]["image"] = image
    return values


class GpuOperator(pulumi.ComponentResource):
    """The operator's Helm release and the device-plugin sharing ConfigMap it reads."""

    def __init__(self, name: str, ctx: PlatformContext, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(c.type_token("k8s", "GpuOperator"), name, {}, opts)
        cm = k8s.core.v1.ConfigMap(
            f"{name}-device-plugin",
            metadata=ctx.meta(DEVICE_PLUGIN_CONFIGMAP, c.NAMESPACE_GPU_OPERATOR, ctx.labels("device-plugin", "gpu")),
            data=device_plugin_configs(ctx.config),
            opts=ctx.opts(self),
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name="gpu-operator",
            chart=charts.GPU_OPERATOR.name,
            version=charts.GPU_OPERATOR.version,
            repository_opts={"repo": charts.GPU_OPERATOR.repo},
            namespace=c.NAMESPACE_GPU_OPERATOR,
            values=operator_values(ctx.config, ctx.registry),
            atomic=True,
            opts=ctx.opts(self, depends_on=[cm]),
        )
        self.register_outputs({})
