"""Monthly cost of a stack: one pure function the estimator and the budget rule both call.

`price_stack(resources, facts)` sees what a CrossGuard stack policy sees (ResourceViews) plus
the stack's cost facts (written into the pack config by `factory policy-config`), so the
offline plan and `pulumi preview --policy-pack` compute the same worst case without running
the estimator in the pack.

Worst case = every GPU pool at its hard cap 24×7 on on-demand prices + everything else at
its maximum + on-prem amortisation. When the stack declares burst GPUs but no GPU node group
is visible (yet), the config's GPU limit is priced at the most expensive allowed instance
type per GPU: nothing then says which pool the GPUs would land in.

Fail closed: a value that decides the worst case but is unknown (a node group's maxSize, an
instance type, a price missing from the catalogue) becomes a `blocker`; the budget rule
reports blockers as violations instead of passing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.gpus import GPU_FAMILIES, gpus_per_instance
from policies.cost.amortisation import VCPUS_PER_SERVER, amortise
from policies.cost.catalogue import HOURS_PER_MONTH, Catalogue, Price, default_catalogue
from policies.rules.base import ResourceView, is_unknown

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
INSTANCE = "aws:ec2/instance:Instance"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
VPN_CONNECTION = "aws:ec2/vpnConnection:VpnConnection"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
EIP = "aws:ec2/eip:Eip"
EBS_VOLUME = "aws:ebs/volume:Volume"
KMS_KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"
NODE_ROOT_GIB = 100
"""Root volume assumed per EKS node when its launch template is not visible."""


def cost_facts(cfg: Any) -> dict[str, Any]:
    """The facts `price_stack` needs, from a FactoryConfig (JSON-ready, camelCase)."""
    facts: dict[str, Any] = {
        "totalMonthlyUsd": float(cfg.budget.total_monthly_usd),
        "region": cfg.cloud.region if cfg.cloud else None,
        "burst": None,
        "onPrem": None,
        "usage": {
            "burstGpuHoursMonthly": float(cfg.usage.burst_gpu_hours_monthly),
            "storageGib": float(cfg.usage.storage_gib),
            "egressGibMonthly": float(cfg.usage.egress_gib_monthly),
        },
    }
    if cfg.cloud is not None and cfg.cloud.eks is not None:
        burst = cfg.cloud.eks.burst
        types = sorted(
            {
                t
                for fam in burst.gpu_families
                for t in (burst.instance_types.get(fam) or [GPU_FAMILIES[fam].default_instance_type])
            }
        )
        facts["burst"] = {"maxGpus": burst.max_gpus, "instanceTypes": types, "spot": burst.spot}
    if cfg.on_prem is not None:
        op = cfg.on_prem
        facts["onPrem"] = {
            "site": op.site,
            "servers": len(op.servers),
            "gpus": sum(s.gpu.count for s in op.servers),
            "vcpus": sum(s.vcpus or VCPUS_PER_SERVER[s.gpu.model.value] for s in op.servers),
            "serversWithAssumedVcpus": sum(1 for s in op.servers if s.vcpus is None),
            "eksHybrid": cfg.join_method is not None and cfg.join_method.value == "eks-hybrid",
            "economics": op.economics.model_dump(by_alias=True),
        }
    return facts


@dataclass
class Line:
    """One priced item: a resource (urn) or a usage/site item (urn None, `component` says what)."""

    label: str
    expected: float
    worst: float
    urn: str | None = None
    component: str | None = None


@dataclass
class StackCost:
    lines: list[Line] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)
    blockers: list[tuple[str | None, str]] = field(default_factory=list)
    """(urn, why) of values that make the worst case unknowable: the budget rule fails on them."""
    prices_used: dict[str, Price] = field(default_factory=dict)

    @property
    def expected(self) -> float:
        return round(sum(line.expected for line in self.lines), 2)

    @property
    def worst(self) -> float:
        return round(sum(line.worst for line in self.lines), 2)


class _Pricer:
    def __init__(self, catalogue: Catalogue, region: str | None, out: StackCost) -> None:
        self.catalogue, self.region, self.out = catalogue, region, out

    def service(self, key: str) -> float | None:
        price = self.catalogue.service(self.region, key) if self.region else None
        if price is not None:
            self.out.prices_used[price.key] = price
        return price.usd if price else None

    def instance(self, instance_type: str) -> float | None:
        price = self.catalogue.instance(self.region, instance_type) if self.region else None
        if price is not None:
            self.out.prices_used[price.key] = price
        return price.usd if price else None


def _node_group(r: ResourceView, p: _Pricer, spot_factor: float, out: StackCost) -> tuple[Line | None, int]:
    """A node group's line and its GPU cap (0 for CPU pools)."""
    scaling = r.props.get("scalingConfig")
    max_size = scaling.get("maxSize") if isinstance(scaling, Mapping) else None
    types = r.props.get("instanceTypes")
    if is_unknown(max_size) or max_size is None:
        out.blockers.append((r.urn, "scalingConfig.maxSize is unknown or unset: the pool has no known cap"))
        return None, 0
    if is_unknown(types) or not types or any(is_unknown(t) for t in types):
        out.blockers.append((r.urn, "instanceTypes are unknown or unset: the pool cannot be priced"))
        return None, 0
    prices = {t: p.instance(t) for t in types}
    missing = [t for t, v in prices.items() if v is None]
    if missing:
        out.blockers.append((r.urn, f"no catalogue price for {', '.join(missing)} in {p.region}"))
        return None, 0
    hourly = max(v for v in prices.values() if v is not None)
    size = int(float(max_size))
    gpus = max(gpus_per_instance(t) or 0 for t in types)
    spot = r.props.get("capacityType") == "SPOT"
    gp3 = p.service("ebs_gp3_gb_month") or 0.0
    worst = size * (hourly * HOURS_PER_MONTH + NODE_ROOT_GIB * gp3)
    if gpus:
        # GPU pools' expected use comes from usage.burstGpuHoursMonthly (see price_stack).
        expected = 0.0
    else:
        sizes: Mapping[str, Any] = scaling if isinstance(scaling, Mapping) else {}
        desired = sizes.get("desiredSize")
        n = int(float(desired)) if isinstance(desired, (int, float)) else int(float(sizes.get("minSize") or 0))
        expected = n * (hourly * (spot_factor if spot else 1.0) * HOURS_PER_MONTH + NODE_ROOT_GIB * gp3)
    return Line(f"node group {r.name} ({size} × {'/'.join(types)})", expected, worst, r.urn), size * gpus


def _per_gpu_hour(p: _Pricer, instance_type: str) -> float | None:
    hourly, gpus = p.instance(instance_type), gpus_per_instance(instance_type)
    return hourly / gpus if hourly is not None and gpus else None


def price_stack(
    resources: list[ResourceView], facts: Mapping[str, Any], catalogue: Catalogue | None = None
) -> StackCost:
    """Expected and worst-case monthly cost of `resources` under `facts` (see cost_facts)."""
    cat = catalogue or default_catalogue()
    out = StackCost()
    region = facts.get("region")
    if region is not None and region not in cat.regions():
        out.blockers.append((None, f"the catalogue has no prices for region {region}"))
    p = _Pricer(cat, region, out)
    spot = cat.spot_factor()
    out.prices_used[spot.key] = spot
    usage = facts["usage"]
    h = HOURS_PER_MONTH

    gpu_pool_cap = 0
    gpu_pool_rates: list[float] = []
    buckets = [r for r in resources if r.type == BUCKET]
    nat = [r for r in resources if r.type == NAT_GATEWAY]
    for r in resources:
        t = r.type
        if t == NODE_GROUP:
            line, gpus = _node_group(r, p, spot.usd, out)
            if line is not None:
                out.lines.append(line)
                if gpus:
                    gpu_pool_cap += gpus
                    types = r.props.get("instanceTypes") or []
                    rates = [x for x in (_per_gpu_hour(p, ty) for ty in types) if x is not None]
                    factor = spot.usd if r.props.get("capacityType") == "SPOT" else 1.0
                    gpu_pool_rates.extend(x * factor for x in rates)
        elif t == EKS_CLUSTER:
            rate = p.service("eks_cluster_hour") or 0.0
            out.lines.append(Line(f"EKS control plane {r.name}", rate * h, rate * h, r.urn))
        elif t == INSTANCE:
            itype = r.props.get("instanceType")
            hourly = p.instance(itype) if isinstance(itype, str) else None
            if hourly is None:
                out.blockers.append((r.urn, f"instance type {itype!r} cannot be priced"))
            else:
                out.lines.append(Line(f"instance {r.name} ({itype})", hourly * h, hourly * h, r.urn))
        elif t == NAT_GATEWAY:
            rate = p.service("nat_gateway_hour") or 0.0
            gb = (p.service("nat_gateway_gb") or 0.0) * usage["egressGibMonthly"] / max(len(nat), 1)
            out.lines.append(Line(f"NAT gateway {r.name}", rate * h + gb, rate * h + gb, r.urn))
        elif t == VPN_CONNECTION:
            rate = p.service("vpn_connection_hour") or 0.0
            out.lines.append(Line(f"VPN connection {r.name}", rate * h, rate * h, r.urn))
        elif t == VPC_ENDPOINT and r.props.get("vpcEndpointType") != "Interface":
            # Gateway endpoints (S3, DynamoDB) cost nothing: they are what cuts NAT traffic.
            out.lines.append(Line(f"gateway endpoint {r.name}", 0.0, 0.0, r.urn))
        elif t == EIP:
            rate = p.service("public_ipv4_hour") or 0.0
            out.lines.append(Line(f"public IPv4 {r.name}", rate * h, rate * h, r.urn))
        elif t == VPC_ENDPOINT:
            subnets = r.props.get("subnetIds")
            azs = len(subnets) if isinstance(subnets, list) else 2
            rate = (p.service("vpc_endpoint_az_hour") or 0.0) * azs
            out.lines.append(Line(f"interface endpoint {r.name} ({azs} AZ)", rate * h, rate * h, r.urn))
        elif t == EBS_VOLUME:
            size = r.props.get("size")
            if not isinstance(size, (int, float)):
                out.blockers.append((r.urn, "volume size is unknown"))
            else:
                cost = float(size) * (p.service("ebs_gp3_gb_month") or 0.0)
                out.lines.append(Line(f"EBS volume {r.name}", cost, cost, r.urn))
        elif t == KMS_KEY:
            cost = p.service("kms_key_month") or 0.0
            out.lines.append(Line(f"KMS key {r.name}", cost, cost, r.urn))

    # Burst GPUs: the node groups' caps when visible, else the config's limit at the dearest type.
    burst = facts.get("burst")
    if burst:
        types = list(burst["instanceTypes"])
        per_gpu = {t: _per_gpu_hour(p, t) for t in types}
        missing = [t for t, v in per_gpu.items() if v is None]
        if missing:
            out.blockers.append((None, f"no catalogue price for burst type {', '.join(missing)} in {region}"))
        known = [v for v in per_gpu.values() if v is not None]
        if gpu_pool_cap == 0 and known:
            dearest = max(known)
            worst = burst["maxGpus"] * dearest * h
            out.lines.append(
                Line(
                    f"burst GPU limit {burst['maxGpus']} × ${dearest:.2f}/GPU-h (no GPU pool visible)",
                    0.0,
                    worst,
                    component="burst",
                )
            )
            out.assumptions.append(
                f"no GPU node group is visible: worst case prices the burst limit of {burst['maxGpus']} GPUs "
                f"at the dearest allowed type (${dearest:.2f}/GPU-hour on demand) 24×7"
            )
        rates = gpu_pool_rates or [v * (spot.usd if burst["spot"] else 1.0) for v in known]
        if rates and usage["burstGpuHoursMonthly"]:
            rate = sum(rates) / len(rates)
            out.lines.append(
                Line(
                    f"burst GPU-hours ({usage['burstGpuHoursMonthly']:g} h × ${rate:.2f})",
                    usage["burstGpuHoursMonthly"] * rate,
                    0.0,
                    component="burst",
                )
            )
            out.assumptions.append(
                f"expected burst use: {usage['burstGpuHoursMonthly']:g} "
                "GPU-hours/month (usage.burstGpuHoursMonthly) at "
                f"${rate:.2f}/GPU-hour averaged over the pools" + (" with the spot discount" if burst["spot"] else "")
            )
        # Expected GPU-hours are already inside the pool caps' worst case; add the expected to
        # the worst only where it exceeds the caps (it cannot: caps run 24×7).
    if gpu_pool_cap:
        out.assumptions.append(f"worst case runs every GPU pool at its cap ({gpu_pool_cap} GPUs) 24×7 on demand")

    # Usage-based storage and egress.
    s3 = p.service("s3_standard_gb_month") or 0.0
    if usage["storageGib"]:
        if buckets:
            share = usage["storageGib"] * s3 / len(buckets)
            out.lines.extend(Line(f"S3 storage {b.name}", share, share, b.urn) for b in buckets)
            out.assumptions.append(
                f"{usage['storageGib']:g} GiB in S3 Standard "
                f"(usage.storageGib), spread evenly over {len(buckets)} buckets"
            )
        else:
            cost = usage["storageGib"] * s3
            out.lines.append(Line("S3 storage (usage.storageGib)", cost, cost, component="usage:storage"))
    if usage["egressGibMonthly"] and region:
        cost = usage["egressGibMonthly"] * (p.service("data_transfer_out_gb") or 0.0)
        out.lines.append(Line("data transfer out (usage.egressGibMonthly)", cost, cost, component="usage:egress"))
        out.assumptions.append(f"{usage['egressGibMonthly']:g} GiB/month internet egress (usage.egressGibMonthly)")

    # On-prem: amortisation is fixed, expected = worst; EKS Hybrid Nodes bill per vCPU-hour.
    site = facts.get("onPrem")
    if site:
        onprem = amortise(site["economics"], site["servers"], site["gpus"])
        comp = f"onprem:{site['site']}"
        out.lines.append(
            Line(
                f"on-prem site {site['site']} amortisation", onprem.fixed_monthly, onprem.fixed_monthly, component=comp
            )
        )
        out.assumptions.append(
            f"on-prem {site['site']}: ${onprem.fixed_monthly:,.0f}/month "
            f"fixed (capex ${onprem.capex_monthly:,.0f}, power "
            f"${onprem.power_monthly:,.0f}, colocation ${onprem.colocation_monthly:,.0f}, "
            f"support ${onprem.support_monthly:,.0f}) "
            f"= ${onprem.usd_per_gpu_hour:.2f}/GPU-hour at full use"
        )
        if site["eksHybrid"]:
            vcpu_hour = p.service("eks_hybrid_vcpu_hour")
            if vcpu_hour is None:
                out.blockers.append((None, f"no EKS Hybrid Nodes price in {region}"))
            else:
                cost = site["vcpus"] * vcpu_hour * h
                out.lines.append(Line(f"EKS Hybrid Nodes ({site['vcpus']} vCPU)", cost, cost, component=comp))
                assumed = site.get("serversWithAssumedVcpus", 0)
                if assumed:
                    out.assumptions.append(
                        f"EKS Hybrid Nodes: {site['vcpus']} vCPUs, of which {assumed} server(s) counted with a "
                        "typical vCPU count for their GPU model (set onPrem.servers[].vcpus)"
                    )
    for price in sorted(out.prices_used.values(), key=lambda x: x.key):
        if not price.verified:
            out.assumptions.append(f"unverified price: {price.describe()}")
    return out
