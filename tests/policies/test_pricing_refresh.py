"""`factory pricing refresh` against botocore's Stubber (moto does not mock the Pricing API).

Responses are shaped like the real GetProducts answer: `PriceList` is a list of JSON strings,
each a product with `product.attributes` and `terms.OnDemand.<sku.offer>.priceDimensions.<rate>.pricePerUnit.USD`
(AWS Billing user guide, "Reading the service price list file"; the SDK references type
PriceList as a list of strings).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import policies.cost.refresh as refresh_module
from components.tooling.cli import run
from policies.cost.refresh import EC2_FILTERS, SERVICE_QUERIES, refresh_region

REGION = "eu-central-1"


def product(
    sku: str,
    usd: str,
    attributes: dict[str, str],
    service: str = "AmazonEC2",
    tiers: list[tuple[str, str]] | None = None,
) -> str:
    """One PriceList entry; `tiers` [(beginRange, USD)] gives a tiered price instead of `usd`."""
    offer = f"{sku}.JRTCKXETXF"
    dims = {
        f"{offer}.RATE{i}": {
            "unit": "Quantity",
            "endRange": "Inf",
            "description": f"${price} per unit",
            "appliesTo": [],
            "rateCode": f"{offer}.RATE{i}",
            "beginRange": begin,
            "pricePerUnit": {"USD": price},
        }
        for i, (begin, price) in enumerate(tiers or [])
    }
    return json.dumps(
        {
            "product": {
                "productFamily": "Compute Instance",
                "attributes": {"regionCode": REGION, **attributes},
                "sku": sku,
            },
            "serviceCode": service,
            "terms": {
                "OnDemand": {
                    offer: {
                        "priceDimensions": dims
                        or {
                            f"{offer}.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "endRange": "Inf",
                                "description": f"${usd} per On Demand Linux Instance Hour",
                                "appliesTo": [],
                                "rateCode": f"{offer}.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


def ec2_params(itype: str, token: str | None = None) -> dict[str, Any]:
    filters = [
        {"Type": "TERM_MATCH", "Field": k, "Value": v}
        for k, v in {"regionCode": REGION, "instanceType": itype, **EC2_FILTERS}.items()
    ]
    params: dict[str, Any] = {
        "ServiceCode": "AmazonEC2",
        "Filters": filters,
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    if token:
        params["NextToken"] = token
    return params


def service_params(service: str, attrs: dict[str, str]) -> dict[str, Any]:
    filters = [{"Type": "TERM_MATCH", "Field": k, "Value": REGION if v == "<region>" else v} for k, v in attrs.items()]
    return {"ServiceCode": service, "Filters": filters, "FormatVersion": "aws_v1", "MaxResults": 100}


SERVICE_ANSWERS = {
    "AmazonEKS": [
        product("FARGATE", "0.0400000000", {"usagetype": "EUC1-Fargate-vCPU-Hours:perCPU"}, "AmazonEKS"),
        product("EKSSKU", "0.1000000000", {"usagetype": "EUC1-AmazonEKS-Hours:perCluster"}, "AmazonEKS"),
    ],
    "AmazonS3": [
        # Tiered: 0.0245 for the first 50 TB, then cheaper; the first tier is the one taken.
        product(
            "S3SKU",
            "0",
            {"usagetype": "EUC1-TimedStorage-ByteHrs"},
            "AmazonS3",
            [("512000", "0.0230000000"), ("0", "0.0245000000"), ("51200", "0.0235000000")],
        ),
    ],
    "AWSDataTransfer": [
        # A free first tier: the first paid tier is taken.
        product(
            "DTOSKU",
            "0",
            {"usagetype": "EUC1-DataTransfer-Out-Bytes"},
            "AWSDataTransfer",
            [("0", "0.0000000000"), ("1", "0.0900000000")],
        ),
    ],
}


def document() -> dict[str, Any]:
    stale = {"usd": 1.0, "unit": "hour", "source": "guess", "date": "2020-01-01", "verified": False}
    services = {
        k: dict(stale) for k in ("eks_cluster_hour", "s3_standard_gb_month", "data_transfer_out_gb", "nat_gateway_hour")
    }
    return {"regions": {REGION: {"ec2": {"g6.xlarge": dict(stale), "p5.48xlarge": dict(stale)}, **services}}}


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    # g6.xlarge: two pages (NextToken), the second holding the price.
    stub.add_response(
        "get_products", {"FormatVersion": "aws_v1", "PriceList": [], "NextToken": "page2"}, ec2_params("g6.xlarge")
    )
    stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": [product("G6SKU", "0.9650000000", {"instanceType": "g6.xlarge"})]},
        ec2_params("g6.xlarge", "page2"),
    )
    # p5.48xlarge: the API knows no product in this region; the old entry stays.
    stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []}, ec2_params("p5.48xlarge"))
    for service, attrs, _ in SERVICE_QUERIES:
        answer = SERVICE_ANSWERS.get(service, []) if service != "AmazonEC2" else []
        stub.add_response(
            "get_products", {"FormatVersion": "aws_v1", "PriceList": answer}, service_params(service, attrs)
        )
    return client, stub


def test_refresh_reads_real_shaped_responses() -> None:
    client, stub = stubbed()
    with stub:
        doc, changed = refresh_region(document(), REGION, client, today="2026-11-23")
    stub.assert_no_pending_responses()
    assert changed == ["ec2:g6.xlarge", "eks_cluster_hour", "s3_standard_gb_month", "data_transfer_out_gb"]
    entries = doc["regions"][REGION]
    assert entries["ec2"]["g6.xlarge"] == {
        "usd": 0.965,
        "unit": "hour",
        "source": "AWS Price List API GetProducts, sku G6SKU",
        "date": "2026-11-23",
        "verified": True,
    }
    assert entries["ec2"]["p5.48xlarge"]["verified"] is False  # not found: provenance unchanged
    assert entries["eks_cluster_hour"]["usd"] == 0.1 and entries["eks_cluster_hour"]["verified"] is True
    assert entries["s3_standard_gb_month"]["usd"] == 0.0245 and entries["s3_standard_gb_month"]["unit"] == "GB-month"
    assert entries["data_transfer_out_gb"]["usd"] == 0.09
    assert entries["nat_gateway_hour"]["verified"] is False  # no product answered: unchanged


def test_cli_refresh_writes_the_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(document()))
    client, stub = stubbed()
    monkeypatch.setattr(refresh_module, "PRICES_PATH", path)
    monkeypatch.setattr(refresh_module, "default_client", lambda: client)
    with stub:
        code = run(["pricing", "refresh", "--region", REGION])
    assert code == 0
    assert capsys.readouterr().out == (
        f"refreshed 4 prices for {REGION}: ec2:g6.xlarge, eks_cluster_hour, s3_standard_gb_month, data_transfer_out_gb\n"
    )
    assert json.loads(path.read_text())["regions"][REGION]["ec2"]["g6.xlarge"]["verified"] is True


def test_cli_refresh_api_failure_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(document()))
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_client_error(
        "get_products", service_error_code="AccessDeniedException", service_message="no pricing:GetProducts"
    )
    monkeypatch.setattr(refresh_module, "PRICES_PATH", path)
    monkeypatch.setattr(refresh_module, "default_client", lambda: client)
    with stub:
        code = run(["pricing", "refresh", "--region", REGION])
    err = capsys.readouterr().err
    assert code == 3
    assert len(err.splitlines()) == 1 and "AccessDeniedException" in err
    assert json.loads(path.read_text()) == document()  # nothing written on failure
