"""GPU hardware the blueprint knows: on-prem GPU models and AWS GPU instance families.

The config accepts only what is listed here, so a typo in a GPU model or family is a config
error, not a node group that can never launch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class GpuModel(StrEnum):
    """On-prem GPU models (config value → nvidia-smi's `name`)."""

    H100_80GB_HBM3 = "H100-80GB-HBM3"
    H200_141GB = "H200-141GB"
    A100_80GB_SXM4 = "A100-80GB-SXM4"
    L40S = "L40S"
    L4 = "L4"


@dataclass(frozen=True)
class GpuModelInfo:
    smi_name: str
    """What `nvidia-smi --query-gpu=name` prints; gpu_validate compares against it."""
    memory_gib: int
    nvswitch_capable: bool
    """Only SXM boards sit on an NVSwitch baseboard (fabric manager needed)."""
    mig_capable: bool
    """Multi-Instance GPU: A100, H100 and H200 only (NVIDIA MIG user guide, supported GPUs)."""


GPU_MODELS: dict[GpuModel, GpuModelInfo] = {
    GpuModel.H100_80GB_HBM3: GpuModelInfo("NVIDIA H100 80GB HBM3", 80, True, True),
    GpuModel.H200_141GB: GpuModelInfo("NVIDIA H200", 141, True, True),
    GpuModel.A100_80GB_SXM4: GpuModelInfo("NVIDIA A100-SXM4-80GB", 80, True, True),
    GpuModel.L40S: GpuModelInfo("NVIDIA L40S", 48, False, False),
    GpuModel.L4: GpuModelInfo("NVIDIA L4", 24, False, False),
}


class GpuFamily(StrEnum):
    """AWS EC2 GPU instance families the burst pools may use."""

    G5 = "g5"
    G6 = "g6"
    G6E = "g6e"
    P4D = "p4d"
    P5 = "p5"


@dataclass(frozen=True)
class GpuFamilyInfo:
    gpu: str
    gpu_memory_gib: int
    instance_gpus: dict[str, int]
    """Instance type → GPUs per instance (from EC2 DescribeInstanceTypes)."""
    default_instance_type: str
    mig_capable: bool = False
    """The family's GPU supports Multi-Instance GPU (A100 in p4d, H100 in p5)."""


GPU_FAMILIES: dict[GpuFamily, GpuFamilyInfo] = {
    GpuFamily.G5: GpuFamilyInfo(
        "A10G", 24, {"g5.xlarge": 1, "g5.2xlarge": 1, "g5.12xlarge": 4, "g5.48xlarge": 8}, "g5.2xlarge"
    ),
    GpuFamily.G6: GpuFamilyInfo(
        "L4", 24, {"g6.xlarge": 1, "g6.2xlarge": 1, "g6.12xlarge": 4, "g6.48xlarge": 8}, "g6.2xlarge"
    ),
    GpuFamily.G6E: GpuFamilyInfo(
        "L40S", 48, {"g6e.xlarge": 1, "g6e.2xlarge": 1, "g6e.12xlarge": 4, "g6e.48xlarge": 8}, "g6e.2xlarge"
    ),
    GpuFamily.P4D: GpuFamilyInfo("A100", 40, {"p4d.24xlarge": 8}, "p4d.24xlarge", mig_capable=True),
    GpuFamily.P5: GpuFamilyInfo("H100", 80, {"p5.48xlarge": 8}, "p5.48xlarge", mig_capable=True),
}


def gpus_per_instance(instance_type: str) -> int | None:
    """GPUs in one instance of `instance_type`, or None when the type is unknown."""
    for info in GPU_FAMILIES.values():
        if instance_type in info.instance_gpus:
            return info.instance_gpus[instance_type]
    return None
