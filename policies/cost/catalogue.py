"""The price catalogue: `prices.json`, one entry per (region, price), each with its provenance.

Every entry says where its number comes from (`source`), when (`date`) and whether it was
read from the AWS Price List API or a cited public page (`verified`). Plans list the
unverified entries they used among their assumptions. `factory pricing refresh --region R`
rewrites a region's entries from the Price List API (policies/cost/refresh.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PRICES_PATH = Path(__file__).resolve().parent / "prices.json"
HOURS_PER_MONTH = 730
"""Infracost's and AWS's convention: monthly = hourly price × 730 h."""

SERVICE_KEYS = (
    "eks_cluster_hour",
    "eks_hybrid_vcpu_hour",
    "nat_gateway_hour",
    "nat_gateway_gb",
    "vpn_connection_hour",
    "vpc_endpoint_az_hour",
    "ebs_gp3_gb_month",
    "s3_standard_gb_month",
    "data_transfer_out_gb",
    "kms_key_month",
    "public_ipv4_hour",
)


@dataclass(frozen=True)
class Price:
    key: str
    """`ec2:<instance type>` or a service key, with the region: `eu-central-1/ec2:p5.48xlarge`."""
    usd: float
    unit: str
    source: str
    date: str
    verified: bool

    def describe(self) -> str:
        return f"{self.key} = ${self.usd:g}/{self.unit} ({self.source}, {self.date})"


class Catalogue:
    """Read-only view of one catalogue document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @classmethod
    def load(cls, path: Path = PRICES_PATH) -> Catalogue:
        return cls(json.loads(path.read_text()))

    def regions(self) -> list[str]:
        return sorted(self.document["regions"])

    def _price(self, key: str, entry: dict[str, Any] | None) -> Price | None:
        if entry is None:
            return None
        return Price(key, float(entry["usd"]), entry["unit"], entry["source"], entry["date"], bool(entry["verified"]))

    def instance(self, region: str, instance_type: str) -> Price | None:
        """On-demand Linux price per instance-hour, None when the catalogue has none."""
        entry = self.document["regions"].get(region, {}).get("ec2", {}).get(instance_type)
        return self._price(f"{region}/ec2:{instance_type}", entry)

    def service(self, region: str, key: str) -> Price | None:
        entry = self.document["regions"].get(region, {}).get(key)
        return self._price(f"{region}/{key}", entry)

    def spot_factor(self) -> Price:
        """Share of the on-demand price spot capacity is assumed to cost (an explicit assumption)."""
        price = self._price("spot_price_factor", self.document["spot_price_factor"])
        assert price is not None
        return price


@cache
def default_catalogue() -> Catalogue:
    """The committed catalogue (cached: the budget rule prices every plan with it)."""
    return Catalogue.load()
