"""`factory pricing refresh --region R`: re-read a region's prices from the AWS Price List API.

The Price List API is served from us-east-1 (and ap-south-1) whatever region is priced.
`GetProducts` returns `PriceList`, a list of JSON *strings*, each one product with its
`product.attributes` and `terms.OnDemand.<offer>.priceDimensions.<rate>.pricePerUnit.USD`.
Refreshed entries become `verified: true` with the SKU as their source. What the refresh
does not find keeps its recorded provenance.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from policies.cost.catalogue import PRICES_PATH, default_catalogue

PRICING_REGION = "us-east-1"
EC2_FILTERS = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
    "licenseModel": "No License required",
}


REGION = "<region>"
"""Placeholder in SERVICE_QUERIES for the region being refreshed."""
SERVICE_QUERIES: tuple[tuple[str, dict[str, str], tuple[tuple[str, str, str], ...]], ...] = (
    # (service code, TERM_MATCH filters, ((catalogue key, unit, usagetype suffix), …)).
    # Usage types carry a region prefix (EUC1-, EU-, none in us-east-1), hence suffixes. A key
    # whose product is not found keeps its recorded (unverified) entry.
    ("AmazonEKS", {"regionCode": REGION}, (("eks_cluster_hour", "hour", "AmazonEKS-Hours:perCluster"),)),
    (
        "AmazonEC2",
        {"regionCode": REGION, "productFamily": "NAT Gateway"},
        (("nat_gateway_hour", "hour", "NatGateway-Hours"), ("nat_gateway_gb", "GB", "NatGateway-Bytes")),
    ),
    (
        "AmazonEC2",
        {"regionCode": REGION, "productFamily": "Storage", "volumeApiName": "gp3"},
        (("ebs_gp3_gb_month", "GB-month", "VolumeUsage.gp3"),),
    ),
    (
        "AmazonS3",
        {"regionCode": REGION, "storageClass": "General Purpose", "volumeType": "Standard"},
        (("s3_standard_gb_month", "GB-month", "TimedStorage-ByteHrs"),),
    ),
    ("awskms", {"regionCode": REGION}, (("kms_key_month", "month", "KMS-Keys"),)),
    (
        "AmazonVPC",
        {"regionCode": REGION},
        (
            ("vpn_connection_hour", "hour", "VPN-Usage-Hours:ipsec.1"),
            ("vpc_endpoint_az_hour", "hour", "VpcEndpoint-Hours"),
            ("public_ipv4_hour", "hour", "PublicIPv4:InUseAddress"),
        ),
    ),
    (
        "AWSDataTransfer",
        {"fromRegionCode": REGION, "transferType": "AWS Outbound"},
        (("data_transfer_out_gb", "GB", "DataTransfer-Out-Bytes"),),
    ),
)


class PricingError(RuntimeError):
    """The Price List API could not answer (exit 3 in the CLI)."""


def _filters(region: str, **attrs: str) -> list[dict[str, str]]:
    terms = {"regionCode": region, **attrs}
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in terms.items()]


def _products(client: Any, service: str, filters: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        kwargs: dict[str, Any] = {
            "ServiceCode": service,
            "Filters": filters,
            "FormatVersion": "aws_v1",
            "MaxResults": 100,
        }
        if token:
            kwargs["NextToken"] = token
        page = client.get_products(**kwargs)
        for item in page.get("PriceList", []):
            yield json.loads(item) if isinstance(item, str) else item
        token = page.get("NextToken")
        if not token:
            return


def on_demand_usd(product: Mapping[str, Any]) -> tuple[float, str] | None:
    """(USD per unit, SKU) of the product's lowest non-zero on-demand tier (by beginRange).

    Tiered prices (S3 storage, data transfer) list several dimensions; the first paid tier is
    the one a blueprint-sized stack pays.
    """
    sku = str(product.get("product", {}).get("sku", "?"))
    dims = [
        d
        for offer in (product.get("terms", {}).get("OnDemand") or {}).values()
        for d in (offer.get("priceDimensions") or {}).values()
    ]
    for dim in sorted(dims, key=lambda d: float(d.get("beginRange", "0") or 0)):
        usd = float(dim.get("pricePerUnit", {}).get("USD", "0"))
        if usd > 0:
            return usd, sku
    return None


def _entry(usd: float, unit: str, sku: str, today: str) -> dict[str, Any]:
    return {
        "usd": round(usd, 5),
        "unit": unit,
        "source": f"AWS Price List API GetProducts, sku {sku}",
        "date": today,
        "verified": True,
    }


def refresh_region(
    document: dict[str, Any], region: str, client: Any, today: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """`document` with `region`'s instance and service prices re-read; returns (document, changed keys).

    EKS Hybrid Nodes' per-vCPU price is not refreshed: its usage type could not be confirmed
    offline, so it stays an unverified entry.
    """
    day = today or date.today().isoformat()
    regions = document.setdefault("regions", {})
    if region not in regions:
        # A new region starts from the first known region's item list (prices to be read).
        template = next(iter(regions.values()))
        regions[region] = json.loads(json.dumps(template))
    entries = regions[region]
    changed: list[str] = []
    for itype in sorted(entries.get("ec2", {})):
        found = [p for p in _products(client, "AmazonEC2", _filters(region, instanceType=itype, **EC2_FILTERS))]
        prices = [x for x in (on_demand_usd(p) for p in found) if x is not None]
        if not prices:
            continue
        usd, sku = min(prices)
        entries["ec2"][itype] = _entry(usd, "hour", sku, day)
        changed.append(f"ec2:{itype}")
    for service, attrs, wanted in SERVICE_QUERIES:
        filters = [{"Type": "TERM_MATCH", "Field": k, "Value": region if v == REGION else v} for k, v in attrs.items()]
        products = list(_products(client, service, filters))
        for key, unit, suffix in wanted:
            for product in products:
                usage = str(product.get("product", {}).get("attributes", {}).get("usagetype", ""))
                price = on_demand_usd(product)
                if price and usage.endswith(suffix):
                    entries[key] = _entry(price[0], unit, price[1], day)
                    changed.append(key)
                    break
    return document, changed


def default_client() -> Any:
    import boto3

    return boto3.client("pricing", region_name=PRICING_REGION)


def refresh(region: str, client_factory: Callable[[], Any] | None = None, path: Path | None = None) -> list[str]:
    """Refresh `region` in the catalogue file (default: the committed prices.json); returns the changed keys."""
    from botocore.exceptions import BotoCoreError, ClientError

    target = path or PRICES_PATH
    document = json.loads(target.read_text())
    try:
        document, changed = refresh_region(document, region, (client_factory or default_client)())
    except (BotoCoreError, ClientError) as exc:
        raise PricingError(f"AWS Price List API failed: {exc}") from exc
    target.write_text(json.dumps(document, indent=1, sort_keys=True))
    default_catalogue.cache_clear()
    return changed
