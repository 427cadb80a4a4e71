"""On-prem GPU cost from real amortisation, not a flat per-GPU guess (OpenCost's default is $0.95/h).

Monthly per server = capex / depreciation months
                   + power kW × PUE × $/kWh × 730 h
                   + support per server
and per site the colocation fee on top. The fixed monthly cost divided by the GPU-hours the
site offers (GPUs × 730) is the amortised $/GPU-hour at full utilisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.cost.catalogue import HOURS_PER_MONTH

VCPUS_PER_SERVER: dict[str, int] = {
    # Typical host CPUs of these boards (dual-socket 48-core hosts for 8-GPU SXM systems, one
    # 32-core socket for 4-GPU PCIe servers). An assumption until the config carries vCPUs:
    # EKS Hybrid Nodes bill per vCPU-hour of every attached node.
    "H100-80GB-HBM3": 192,
    "H200-141GB": 192,
    "A100-80GB-SXM4": 128,
    "L40S": 64,
    "L4": 32,
}


@dataclass(frozen=True)
class OnPremCost:
    capex_monthly: float
    power_monthly: float
    colocation_monthly: float
    support_monthly: float
    gpus: int

    @property
    def fixed_monthly(self) -> float:
        return self.capex_monthly + self.power_monthly + self.colocation_monthly + self.support_monthly

    @property
    def usd_per_gpu_hour(self) -> float:
        """Amortised price of one GPU-hour at 100 % utilisation (the floor of the real price)."""
        return self.fixed_monthly / (self.gpus * HOURS_PER_MONTH) if self.gpus else 0.0


def amortise(economics: Mapping[str, Any], servers: int, gpus: int) -> OnPremCost:
    """`economics` in the config's camelCase (onPrem.economics), for `servers` servers."""
    e = economics
    return OnPremCost(
        capex_monthly=servers * float(e["capexPerServerUsd"]) / int(e["depreciationMonths"]),
        power_monthly=servers
        * float(e["powerKwPerServer"])
        * float(e["pue"])
        * float(e["usdPerKwh"])
        * HOURS_PER_MONTH,
        colocation_monthly=float(e["colocationMonthlyUsd"]),
        support_monthly=servers * float(e["supportMonthlyUsdPerServer"]),
        gpus=gpus,
    )
