"""Typed configuration of one AI factory environment (one Pulumi stack).

Each top-level section is one namespaced Pulumi config key (`ai-factory:<section>`), so
`pulumi config set --path 'ai-factory:budget.totalMonthlyUsd' 90000` edits exactly one
value. Structure is checked here (pydantic); rules that span sections live in
`semantics.py` so that every problem is reported with its own config path.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from components.gpus import GpuFamily, GpuModel

NonEmptyStr = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
DnsLabel = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")]
"""Lower-case letters, digits and '-', 1-40 characters: safe in AWS names, K8s names and hostnames."""
AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2 country code, e.g. DE."""
AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Percent = Annotated[int, Field(ge=1, le=200)]


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a network in CIDR notation (allowed: e.g. 10.20.0.0/24)") from exc


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise ValueError(f"'{value}' is not an IP address (allowed: IPv4 or IPv6 address)") from exc


Cidr = Annotated[str, AfterValidator(_cidr)]
IpAddress = Annotated[str, AfterValidator(_ip)]


class Model(BaseModel):
    """Base of every config model: frozen, camelCase aliases, unknown keys rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        use_attribute_docstrings=True,
    )


# --------------------------------------------------------------------------- environment
class Tier(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class EnvironmentConfig(Model):
    name: DnsLabel
    """Environment name; prefixes resource names (e.g. prod-eu)."""
    tier: Tier
    """dev | staging | prod. Protection, retention and mandatory gates follow the tier, never the stack name."""
    owner: NonEmptyStr
    """Owning team (tag `owner`)."""
    cost_center: NonEmptyStr
    """Cost center charged for this environment (tag `cost-center`)."""
    contact_emails: list[Email] = []
    """Who is told about budget alerts and guard actions."""


# ----------------------------------------------------------------------------- residency
class Place(StrEnum):
    ON_PREM = "on-prem"
    CLOUD = "cloud"
    EXTERNAL_API = "external-api"


class DataClassPolicy(Model):
    storage: Annotated[list[Literal["on-prem", "cloud"]], Field(min_length=1)]
    """Where data of this class may be stored at rest."""
    processing: Annotated[list[Place], Field(min_length=1)]
    """Where data of this class may be processed (served, embedded, fine-tuned)."""


class ResidencyConfig(Model):
    allowed_regions: Annotated[list[AwsRegion], Field(min_length=1)]
    """AWS regions any resource, replica or backup may live in."""
    allowed_countries: Annotated[list[CountryCode], Field(min_length=1)]
    """Countries an on-prem site may be in."""
    data_classes: Annotated[dict[DnsLabel, DataClassPolicy], Field(min_length=1)]
    """Data class name → where it may be stored and processed."""


# ------------------------------------------------------------------------------- on-prem
class GpuSpec(Model):
    model: GpuModel
    """GPU model of every board in the server."""
    count: Annotated[int, Field(ge=1, le=16)]
    """GPUs per server."""
    nvswitch: bool = False
    """The board sits on an NVSwitch baseboard (fabric manager is installed)."""


class ServerConfig(Model):
    name: DnsLabel
    """Hostname; the inventory hostname and the Kubernetes node name."""
    address: IpAddress
    """Management address Ansible reaches over SSH."""
    bmc_address: IpAddress | None = None
    """Out-of-band controller (optional)."""
    gpu: GpuSpec
    nvme_devices: list[Annotated[str, StringConstraints(pattern=r"^/dev/[a-z0-9/]+$")]] = []
    """Local NVMe devices striped (RAID0) for the model cache; empty: a plain directory."""


class SiteNetwork(Model):
    node_cidrs: Annotated[list[Cidr], Field(min_length=1)]
    """Networks the servers' addresses are in (remote node networks for EKS Hybrid Nodes)."""
    pod_cidrs: Annotated[list[Cidr], Field(min_length=1)]
    """Pod networks on site (remote pod networks, Cilium)."""
    admin_cidrs: Annotated[list[Cidr], Field(min_length=1)]
    """Networks allowed to SSH into the servers."""


class ClusterJoin(StrEnum):
    EKS_HYBRID = "eks-hybrid"
    KUBEADM = "kubeadm"


class CredentialProvider(StrEnum):
    SSM = "ssm"
    IAM_ROLES_ANYWHERE = "iam-ra"


class OnPremCluster(Model):
    join: ClusterJoin | None = None
    """eks-hybrid (servers join the EKS cluster) or kubeadm (standalone cluster on site).
    Default: eks-hybrid when the stack has EKS, else kubeadm."""
    credential_provider: CredentialProvider = CredentialProvider.SSM
    """Hybrid node credentials: SSM hybrid activation or IAM Roles Anywhere."""
    kubernetes_version: Annotated[str, StringConstraints(pattern=r"^1\.\d{2}$")] = "1.33"


class DriverConfig(Model):
    branch: Annotated[str, StringConstraints(pattern=r"^\d{3}$")] = "570"
    version: Annotated[str, StringConstraints(pattern=r"^\d{3}\.\d{2,3}(\.\d{2})?$")] = "570.195.03"


class PackageMirror(Model):
    url: NonEmptyStr
    """Local apt mirror of NVIDIA, DCGM, toolkit and nodeadm packages (air-gapped sites)."""
    key_url: str = ""
    """Signing key of the mirror; empty only with `trusted`."""
    trusted: bool = False
    """Accept the mirror unsigned (test repositories only)."""


class Rollout(Model):
    batch_size: Annotated[int, Field(ge=1)] = 1
    """Servers changed at once; batch k waits for batch k-1."""
    max_fail_percentage: Annotated[int, Field(ge=0, le=100)] = 0


class OnPremEconomics(Model):
    capex_per_server_usd: Annotated[float, Field(gt=0)]
    depreciation_months: Annotated[int, Field(ge=12, le=120)] = 48
    power_kw_per_server: Annotated[float, Field(gt=0)]
    pue: Annotated[float, Field(ge=1.0, le=3.0)] = 1.4
    usd_per_kwh: Annotated[float, Field(gt=0)]
    colocation_monthly_usd: Annotated[float, Field(ge=0)] = 0
    support_monthly_usd_per_server: Annotated[float, Field(ge=0)] = 0


class OnPremConfig(Model):
    site: DnsLabel
    """Site name (label `ai-factory.io/site`)."""
    country: CountryCode
    """Country the site is in; must be an allowed residency country."""
    network: SiteNetwork
    cluster: OnPremCluster = OnPremCluster()
    servers: Annotated[list[ServerConfig], Field(min_length=1)]
    driver: DriverConfig = DriverConfig()
    package_mirror: PackageMirror
    rollout: Rollout = Rollout()
    economics: OnPremEconomics
    """Amortisation inputs that price on-prem GPU hours."""


# --------------------------------------------------------------------------------- cloud
class BurstConfig(Model):
    gpu_families: Annotated[list[GpuFamily], Field(min_length=1)]
    """GPU instance families burst pools may use."""
    instance_types: dict[GpuFamily, list[NonEmptyStr]] = {}
    """Per family, instance types of its pools (default: the catalogue's type)."""
    max_gpus: Annotated[int, Field(ge=0, le=512)]
    """Hard limit on burst GPUs: node group max sizes add up to it."""
    on_demand_floor_gpus: Annotated[int, Field(ge=0)] = 0
    """GPUs reserved as on-demand capacity when spot is short."""
    spot: bool = True
    """Use spot capacity for the GPUs above the floor."""


class EndpointAccess(Model):
    public: bool = False
    public_access_cidrs: list[Cidr] = []
    """Allow-list of the public endpoint (required when public)."""


class EksConfig(Model):
    kubernetes_version: Annotated[str, StringConstraints(pattern=r"^1\.\d{2}$")] = "1.33"
    endpoint: EndpointAccess = EndpointAccess()
    system_instance_type: NonEmptyStr = "m7i.large"
    burst: BurstConfig


class VpcConfig(Model):
    cidr: Cidr = "10.100.0.0/16"
    availability_zones: list[NonEmptyStr] = []
    """AZ names; default: the region's `a` and `b` zones."""
    interface_endpoints: list[NonEmptyStr] = ["ecr.api", "ecr.dkr", "sts", "logs", "ssm", "ec2messages"]


class HybridLink(Model):
    kind: Literal["vpn", "direct-connect"] = "vpn"
    customer_gateway_ip: IpAddress | None = None
    """Public IP of the site's VPN device (vpn)."""
    bgp_asn: Annotated[int, Field(ge=1, le=4294967295)] = 65000
    direct_connect_gateway_id: str | None = None
    """Existing Direct Connect gateway (direct-connect)."""


class CloudConfig(Model):
    region: AwsRegion
    """AWS region of every cloud resource (the provider's region)."""
    account_id: AccountId | None = None
    """Expected AWS account; the program refuses to run against another."""
    vpc: VpcConfig = VpcConfig()
    eks: EksConfig | None = None
    """EKS burst cluster; none: the account holds storage, budgets and audit only."""
    hybrid: HybridLink | None = None
    """Network link to the on-prem site (hybrid stacks)."""


# ------------------------------------------------------------------------------- storage
class BucketPurpose(StrEnum):
    MODELS = "models"
    DATASETS = "datasets"
    ARTIFACTS = "artifacts"
    LOGS = "logs"
    VECTOR_SNAPSHOTS = "vector-snapshots"


class BucketConfig(Model):
    data_class: DnsLabel
    """Data class of the objects; its residency must allow cloud storage."""
    retention_days: Annotated[int, Field(ge=1, le=36500)] | None = None
    """Override of the data class retention."""
    object_lock: bool = False
    """Write-once retention (audit logs)."""


class StorageConfig(Model):
    buckets: Annotated[dict[BucketPurpose, BucketConfig], Field(min_length=1)]
    retention_days: dict[DnsLabel, Annotated[int, Field(ge=1, le=36500)]] = {}
    """Data class → days objects are kept (noncurrent versions expire after the same time)."""


# -------------------------------------------------------------------------- vector store
class VectorStoreConfig(Model):
    engine: Literal["qdrant"] = "qdrant"
    data_class: DnsLabel
    replicas: Annotated[int, Field(ge=1, le=9)] = 3
    storage_gib: Annotated[int, Field(ge=1)] = 100


# ------------------------------------------------------------------------------- serving
class ServingTier(StrEnum):
    CRITICAL = "critical"
    STANDARD = "standard"
    BATCH = "batch"


class ModelSize(StrEnum):
    SMALL = "small"
    LARGE = "large"


class ModelSource(Model):
    uri: Annotated[str, StringConstraints(pattern=r"^(hf|s3|https)://\S+$")]
    """Where the weights come from (hf://org/name, s3://..., https://...)."""
    revision: Annotated[str, StringConstraints(min_length=7)]
    """Pinned revision (commit hash or immutable tag)."""


class ModelArtifact(Model):
    path: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]+$")]
    """Path in the model bucket or site store the factory serves from."""
    digest: Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


class ServedModel(Model):
    name: DnsLabel
    source: ModelSource
    artifact: ModelArtifact
    tier: ServingTier
    """critical: never scaled to zero; standard/batch may be."""
    size: ModelSize
    """Router tier: small models are tried before large ones."""
    gpus_per_replica: Annotated[int, Field(ge=1, le=8)]
    min_replicas: Annotated[int, Field(ge=0)] = 1
    max_replicas: Annotated[int, Field(ge=1)] = 1
    data_classes: Annotated[list[DnsLabel], Field(min_length=1)]
    """Data classes this model may serve."""
    burst_to_cloud: bool = False
    """May replicas run on cloud burst nodes."""
    external_fallback: bool = False
    """May the router fall back to the external API for this model's traffic."""


class RouterConfig(Model):
    cache: bool = True
    external_api_model: str | None = None
    """External model used as last fallback (needs secret `ai-factory:externalApiKey`)."""


class ServingConfig(Model):
    router: RouterConfig = RouterConfig()
    models: Annotated[list[ServedModel], Field(min_length=1)]


# ------------------------------------------------------------------------- observability
class ObservabilityConfig(Model):
    metrics_retention_days: Annotated[int, Field(ge=1, le=400)] = 15
    grafana: bool = True


# -------------------------------------------------------------------------------- budget
class BudgetConfig(Model):
    total_monthly_usd: Annotated[float, Field(gt=0)]
    """Cloud + on-prem amortisation; the worst-case estimate must stay below it."""
    cloud_monthly_usd: Annotated[float, Field(ge=0)]
    """The AWS Budget's limit."""
    alert_thresholds_percent: Annotated[list[Percent], Field(min_length=1, max_length=9)] = [50, 75, 90, 100]
    forecast_threshold_percent: Percent | None = 100
    pause_at_percent: Percent = 90
    """Spend at which the runtime guard pauses non-critical burst capacity."""


# --------------------------------------------------------------------------------- usage
class UsageAssumptions(Model):
    burst_gpu_hours_monthly: Annotated[float, Field(ge=0)] = 0
    """Expected burst GPU-hours per month (the worst case assumes the limit 24×7)."""
    storage_gib: Annotated[float, Field(ge=0)] = 0
    egress_gib_monthly: Annotated[float, Field(ge=0)] = 0


# ---------------------------------------------------------------------------------- root
class FactoryConfig(Model):
    environment: EnvironmentConfig
    residency: ResidencyConfig
    on_prem: OnPremConfig | None = None
    cloud: CloudConfig | None = None
    storage: StorageConfig | None = None
    vector_store: VectorStoreConfig | None = None
    serving: ServingConfig | None = None
    observability: ObservabilityConfig = ObservabilityConfig()
    budget: BudgetConfig
    usage: UsageAssumptions = UsageAssumptions()

    @property
    def is_prod(self) -> bool:
        return self.environment.tier is Tier.PROD

    @property
    def has_eks(self) -> bool:
        return self.cloud is not None and self.cloud.eks is not None

    @property
    def join_method(self) -> ClusterJoin | None:
        if self.on_prem is None:
            return None
        if self.on_prem.cluster.join is not None:
            return self.on_prem.cluster.join
        return ClusterJoin.EKS_HYBRID if self.has_eks else ClusterJoin.KUBEADM


SECTIONS: tuple[str, ...] = tuple(field.alias or name for name, field in FactoryConfig.model_fields.items())
"""Config keys (`ai-factory:<section>`) in the order the stack files list them."""
