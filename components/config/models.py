"""Typed configuration of one AI factory environment (one Pulumi stack).

Each top-level section is one namespaced Pulumi config key (`ai-factory:<section>`), so
`pulumi config set --path 'ai-factory:budget.totalMonthlyUsd' 90000` edits exactly one
value. Structure is checked here (pydantic); rules that span sections live in
`semantics.py` so that every problem is reported with its own config path.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
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
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"'{value}' is not a network in CIDR notation (allowed: e.g. 10.20.0.0/24)") from exc
        # An address with a prefix length: say which network was probably meant instead of guessing it.
        raise ValueError(
            f"'{value}' has host bits set, so it is an address, not a network (allowed: the network, {network})"
        ) from exc


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
    vcpus: Annotated[int, Field(ge=1, le=2048)] | None = None
    """Logical CPUs of the host (EKS Hybrid Nodes bill per vCPU-hour); unset: a typical count for the GPU model."""


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
class BucketPurpose(StrEnum):
    MODELS = "models"
    DATASETS = "datasets"
    ARTIFACTS = "artifacts"
    LOGS = "logs"
    VECTOR_SNAPSHOTS = "vector-snapshots"


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
    root_volume_gib: Annotated[int, Field(ge=20, le=16384)] = 100
    """Encrypted gp3 root volume per GPU node (images; the model cache is on the local NVMe RAID0)."""


class EndpointAccess(Model):
    public: bool = False
    public_access_cidrs: list[Cidr] = []
    """Allow-list of the public endpoint (required when public)."""


IamPrincipalArn = Annotated[str, StringConstraints(pattern=r"^arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")]
"""ARN of an IAM role or user (e.g. an IAM Identity Center permission-set role)."""

ControlPlaneLog = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]


class ClusterAccess(Model):
    admins: list[IamPrincipalArn] = []
    """Principals with cluster-admin (AmazonEKSClusterAdminPolicy, cluster scope)."""
    developers: list[IamPrincipalArn] = []
    """Principals with edit rights in the factory's workload namespaces (AmazonEKSEditPolicy)."""
    viewers: list[IamPrincipalArn] = []
    """Principals with read-only access to the whole cluster (AmazonEKSViewPolicy)."""
    break_glass_role: bool = True
    """Create `<env>-eks-break-glass`: cluster-admin, assumable only by the account with MFA, 1 h sessions."""


class WorkloadIdentity(Model):
    namespace: DnsLabel
    """Kubernetes namespace of the service account."""
    service_account: DnsLabel
    """Service account the EKS Pod Identity association binds to the workload's role."""
    buckets: Annotated[dict[BucketPurpose, Literal["read", "read-write"]], Field(min_length=1)]
    """Buckets the workload may use and how; its role grants nothing else (plus the stack key via S3)."""


class SystemPool(Model):
    min_size: Annotated[int, Field(ge=1, le=10)] = 2
    """Nodes always running for add-ons (CoreDNS, autoscaler, operators): two for availability."""
    max_size: Annotated[int, Field(ge=1, le=20)] = 3


class EksConfig(Model):
    kubernetes_version: Annotated[str, StringConstraints(pattern=r"^1\.\d{2}$")] = "1.33"
    endpoint: EndpointAccess = EndpointAccess()
    system_instance_type: NonEmptyStr = "m7i.large"
    system_pool: SystemPool = SystemPool()
    """Size of the CPU system node group."""
    burst: BurstConfig
    control_plane_logs: Annotated[list[ControlPlaneLog], Field(min_length=1)] = [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ]
    """Control-plane log types sent to CloudWatch Logs (KMS-encrypted log group)."""
    access: ClusterAccess = ClusterAccess()
    """EKS access entries (authentication mode API; no aws-auth ConfigMap)."""
    workloads: dict[DnsLabel, WorkloadIdentity] = {}
    """Workload name → service account and the buckets its own IAM role may use (EKS Pod Identity)."""
    addon_versions: dict[
        Literal["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"],
        Annotated[str, StringConstraints(pattern=r"^v\d+\.\d+\.\d+(-[a-z]+)?-eksbuild\.\d+$")],
    ] = {}
    """EKS add-on → pinned version (`aws eks describe-addon-versions --kubernetes-version <v> --addon-name <a>`);
    unset: the version EKS picks when the add-on is created, which then stays until changed here."""


class VpcConfig(Model):
    cidr: Cidr = "10.100.0.0/16"
    """VPC network; split into one private (nodes) and one small public (NAT) subnet per zone."""
    availability_zones: list[NonEmptyStr] = []
    """AZ names; default: the region's `a` and `b` zones."""
    interface_endpoints: list[NonEmptyStr] = ["ecr.api", "ecr.dkr", "sts", "logs", "ssm", "ec2messages"]
    """AWS services reached through interface endpoints (no NAT traffic); the S3 gateway endpoint is always there."""
    nat: Literal["none", "single", "per-zone"] = "single"
    """Egress to the internet: none (endpoints only, no public subnets), one shared NAT gateway, or one per zone."""
    flow_log_retention_days: Annotated[int, Field(ge=1, le=3653)] = 365
    """Days VPC flow logs are kept (KMS-encrypted CloudWatch log group)."""


class HybridLink(Model):
    kind: Literal["vpn", "direct-connect"] = "vpn"
    """Site-to-site VPN over the internet, or an existing Direct Connect gateway."""
    customer_gateway_ip: IpAddress | None = None
    """Public IP of the site's VPN device (vpn)."""
    bgp_asn: Annotated[int, Field(ge=1, le=4294967295)] = 65000
    """The site's BGP ASN (customer gateway)."""
    direct_connect_gateway_id: str | None = None
    """Existing Direct Connect gateway (direct-connect)."""


AcmPcaArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws(-[a-z]+)*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority/\S+$")
]


class RolesAnywhereConfig(Model):
    ca_arn: AcmPcaArn | None = None
    """ACM Private CA that issues the hybrid nodes' certificates (trust anchor source)."""
    ca_bundle_pem: str | None = None
    """Or: the site CA's PEM certificate bundle (public material, not a secret)."""


class IdentityConfig(Model):
    roles_anywhere: RolesAnywhereConfig | None = None
    """Trust anchor of IAM Roles Anywhere (needed when onPrem.cluster.credentialProvider is iam-ra)."""
    ssm_activation_limit: Annotated[int, Field(ge=1, le=1000)] | None = None
    """Hybrid nodes one SSM activation may register (default: the site's server count)."""


PullThroughUpstream = Literal["ecr-public", "k8s", "quay", "ghcr", "docker-hub"]


class RegistryConfig(Model):
    pull_through: list[PullThroughUpstream] = ["ecr-public", "k8s", "quay"]
    """Upstream registries cached in ECR (pull-through cache). nvcr.io is not a supported upstream: NGC images are
    mirrored into `repositories` by CI."""
    credential_secret_arns: dict[PullThroughUpstream, NonEmptyStr] = {}
    """Secrets Manager secret (name prefix `ecr-pullthroughcache/`) per upstream that needs credentials
    (ghcr, docker-hub). The secret's value is set outside Pulumi."""
    repositories: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$")]] = []
    """Private repositories (immutable tags, scan on push, stack key), e.g. mirrored NGC images."""


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
    identity: IdentityConfig = IdentityConfig()
    """Credentials of on-prem hybrid nodes (SSM activation or IAM Roles Anywhere)."""
    registry: RegistryConfig = RegistryConfig()
    """ECR pull-through cache and private repositories (EKS stacks)."""
    audit_trail: bool = True
    """CloudTrail trail (management events + S3 data events of the data buckets) into the logs bucket."""


# ------------------------------------------------------------------------------- storage
class BucketConfig(Model):
    data_class: DnsLabel
    """Data class of the objects; its residency must allow cloud storage."""
    retention_days: Annotated[int, Field(ge=1, le=36500)] | None = None
    """Override of the data class retention."""
    object_lock: bool = False
    """Write-once retention (audit logs)."""


class ReplicationConfig(Model):
    region: AwsRegion
    """Region of the replicas; must be in residency.allowedRegions and differ from cloud.region."""
    buckets: Annotated[list[BucketPurpose], Field(min_length=1)]
    """Buckets replicated (each must exist in storage.buckets)."""


class DataZone(StrEnum):
    RAW = "raw"
    CURATED = "curated"
    QUARANTINE = "quarantine"


class ServiceAccountRef(Model):
    namespace: DnsLabel
    name: DnsLabel


class ZoneRole(Model):
    principals: list[IamPrincipalArn] = []
    """IAM roles or users (people, CI, pipelines) that may assume this role; nobody else can."""
    service_account: ServiceAccountRef | None = None
    """Kubernetes service account bound to the role through EKS Pod Identity (EKS stacks only)."""


class DataZonesConfig(Model):
    """The datasets storage as three zones, each its own bucket: raw (ingestion inbox), curated (what
    training and serving read) and quarantine (inputs that failed curation). The zone roles are separate
    duties: changing a data source (ingestion), curating, consuming and deleting never share a role."""

    raw_retention_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """Days a raw object is kept: raw is an inbox that curation empties into curated or quarantine."""
    quarantine_retention_days: Annotated[int, Field(ge=1, le=3650)] = 90
    """Days a quarantined object is kept for investigation."""
    ingestion: ZoneRole
    """Writes raw only (new objects must carry their data-class tag)."""
    curation: ZoneRole
    """Reads raw and quarantine, writes curated and quarantine."""
    training: ZoneRole
    """Reads curated only."""
    serving: ZoneRole
    """Reads curated only (e.g. retrieval corpora)."""
    admin: ZoneRole
    """The only role that may delete objects or object versions in any zone."""


class StorageConfig(Model):
    buckets: Annotated[dict[BucketPurpose, BucketConfig], Field(min_length=1)]
    """Bucket purpose → data class, retention override and object lock."""
    data_zones: DataZonesConfig | None = None
    """Zones of the datasets storage and their roles (required when buckets has datasets)."""
    replication: ReplicationConfig | None = None
    """Optional cross-region replication (to a region the residency allows only)."""
    retention_days: dict[DnsLabel, Annotated[int, Field(ge=1, le=36500)]] = {}
    """Data class → days objects are kept (noncurrent versions expire after the same time)."""


# -------------------------------------------------------------------------- vector store
CronSchedule = Annotated[
    str,
    StringConstraints(pattern=r"^(@(hourly|daily|weekly|monthly|yearly)|([0-9A-Za-z*/,?-]+ ){4}[0-9A-Za-z*/,?-]+)$"),
]
"""Five-field cron expression (minute hour day-of-month month day-of-week) or @daily …, evaluated in UTC."""
HttpsEndpoint = Annotated[str, StringConstraints(pattern=r"^https://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?/?$")]
"""Base URL of an S3-compatible store: https://host[:port], no path."""
S3BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
K8sName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
"""Name of a Kubernetes object (RFC 1123 label, at most 63 characters)."""
SiteStoreNetworks = Annotated[list[Cidr], Field(min_length=1)]
"""Networks a site store's endpoint resolves to. NetworkPolicies name peers by address, never by host
name, so pods that hold data which may not leave the site reach the store through these and nothing else."""


class SnapshotTarget(Model):
    """Where the snapshot job writes; which fields apply depends on `kind` (checked in semantics.py)."""

    kind: Literal["s3-bucket", "on-site-s3"]
    """s3-bucket: the stack's vector-snapshots bucket (AWS, SSE-KMS with the stack key; only for a data class whose
    residency storage includes cloud); on-site-s3: an S3-compatible store on the site (MinIO, Ceph RGW …)."""
    service_account: K8sName = "qdrant-snapshots"
    """Service account the job runs as (in the vector store's namespace). s3-bucket: a cloud.eks.workloads entry
    binds it with `vector-snapshots: read-write` (EKS Pod Identity); there is no other credential."""
    endpoint: HttpsEndpoint | None = None
    """on-site-s3: the store's HTTPS endpoint, e.g. https://s3.fra1.example.internal."""
    cidrs: SiteStoreNetworks | None = None
    """on-site-s3: networks the endpoint resolves to; the job may connect there (on the endpoint's port) and
    nowhere else outside the cluster."""
    bucket: S3BucketName | None = None
    """on-site-s3: the bucket on the store (created on site)."""
    credentials_secret: K8sName | None = None
    """on-site-s3: Secret in the vector store's namespace holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
    created on site (its values are never in config or state)."""
    region: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,40}$")] | None = None
    """on-site-s3: signing region the store expects; none: us-east-1 (MinIO's and RGW's default)."""
    server_side_encryption: Literal["AES256", "aws:kms"] | None = None
    """on-site-s3: server-side encryption requested per upload (only if the store has a KMS configured);
    none: the store's own encryption at rest."""
    ca_config_map: K8sName | None = None
    """on-site-s3: ConfigMap in the vector store's namespace whose `ca.crt` is the CA of the endpoint's
    certificate (a site CA); none: the image's public CA bundle."""


class VectorSnapshots(Model):
    schedule: CronSchedule = "0 2 * * *"
    """When the snapshot job runs (cron, UTC)."""
    target: SnapshotTarget
    """Object store the snapshots are uploaded to."""
    keep_last: Annotated[int, Field(ge=1)] = 7
    """Snapshots kept at the target per collection and Qdrant node; older ones are deleted after a verified upload."""
    alert_after_hours: Annotated[int, Field(ge=1)] = 36
    """Hours without a successful snapshot run before the VectorSnapshotMissing alert fires. Keep it above
    the schedule's interval plus one run (a daily schedule: 24 h + the run's duration, hence 36), or the
    alert fires between two healthy runs."""


class VectorStoreConfig(Model):
    engine: Literal["qdrant"] = "qdrant"
    data_class: DnsLabel
    replicas: Annotated[int, Field(ge=1, le=9)] = 3
    storage_gib: Annotated[int, Field(ge=1)] = 100
    storage_class: DnsLabel | None = None
    """Encrypted StorageClass of the PVCs; default: the platform's class for where the data class may live
    (kubernetes.onPremStorageClass on site, an encrypted gp3 class with the stack key on EKS)."""
    cpu: Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)?m?$")] = "2"
    """CPU request (and limit) per replica."""
    memory: Annotated[str, StringConstraints(pattern=r"^\d+(Mi|Gi)$")] = "8Gi"
    """Memory request and limit per replica."""
    snapshots: VectorSnapshots | None = None
    """Scheduled snapshots of every collection to an object store (required in tier prod); none: no backups."""


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
    size_gib: Annotated[int, Field(ge=1, le=4096)]
    """Total size of the artifact's files in GiB, rounded up. The pod requests that much local disk (so it
    is only scheduled where the copy fits) and its fetcher refuses a larger artifact before downloading."""


class RiskTier(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class MetricThreshold(Model):
    min: float | None = None
    """The metric must be at least this (e.g. accuracy)."""
    max: float | None = None
    """The metric must be at most this (e.g. toxicity rate, p95 latency)."""

    @model_validator(mode="after")
    def _one_bound(self) -> MetricThreshold:
        if self.min is None and self.max is None:
            raise ValueError("a threshold needs min or max (allowed: {min: x}, {max: y} or both)")
        return self


class EvaluationRecord(Model):
    """What the evaluation of one revision measured and what it had to meet."""

    suite: NonEmptyStr
    """Evaluation set name, e.g. internal-qa."""
    suite_version: NonEmptyStr
    """Version of the evaluation set (an evaluation is only comparable within one version)."""
    date: dt.date
    """Day the evaluation ran (ISO date)."""
    metrics: Annotated[dict[NonEmptyStr, float], Field(min_length=1)]
    """Metric → measured value."""
    thresholds: Annotated[dict[NonEmptyStr, MetricThreshold], Field(min_length=1)]
    """Metric → bound it had to meet; every bound must be met for a pass."""
    result: Literal["pass", "fail"]
    """Result as recorded by the evaluation job (the gate recomputes it from metrics and thresholds)."""


class Approval(Model):
    by: NonEmptyStr
    """Approver (the identity used in the review, e.g. a GitHub handle or e-mail)."""
    date: dt.date


class CandidateRelease(Model):
    """A revision under canary: it gets `trafficPercent` of the model's traffic next to the stable one."""

    source: ModelSource
    artifact: ModelArtifact
    author: NonEmptyStr | None = None
    """Who proposed this revision (may not approve it)."""
    evaluation: EvaluationRecord | None = None
    approvals: list[Approval] = []
    traffic_percent: Annotated[int, Field(ge=1, le=50)]
    """Share of the model's requests the router sends to the candidate."""
    max_replicas: Annotated[int, Field(ge=1)] | None = None
    """Replicas of the candidate at most; default: the stable's maxReplicas."""


class ModelPricing(Model):
    """Chargeback price of a self-hosted model (LiteLLM `input_cost_per_token`/`output_cost_per_token`)."""

    input_usd_per_million_tokens: Annotated[float, Field(ge=0)]
    output_usd_per_million_tokens: Annotated[float, Field(ge=0)]


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
    queue_depth_threshold: Annotated[int, Field(ge=1)] | None = None
    """Waiting requests per replica that trigger a scale-up; default: serving.autoscaling.queueDepthThreshold."""
    rpm_limit: Annotated[int, Field(ge=1)] | None = None
    """Requests per minute the router sends to this model (LiteLLM `rpm`); none: unlimited."""
    max_model_len: Annotated[int, Field(ge=256)] | None = None
    """vLLM `--max-model-len`; none: the model's own context length."""
    task: Literal["chat", "embedding"] = "chat"
    """What the model answers: chat/completions, or embeddings (vLLM pooling runner). The router
    falls back only between models of the same task."""
    risk_tier: RiskTier = RiskTier.MEDIUM
    """Release risk: high-risk models need two approvers besides the author in tier prod."""
    author: NonEmptyStr | None = None
    """Who proposed the serving revision (may not approve it: segregation of duties)."""
    evaluation: EvaluationRecord | None = None
    """Evaluation of the serving revision (required in tier prod, policy AIF-REL-001)."""
    approvals: list[Approval] = []
    """Who approved the serving revision for this environment, and when."""
    candidate: CandidateRelease | None = None
    """A new revision under canary next to this one (promotion = move it into source/artifact)."""
    pricing: ModelPricing | None = None
    """Internal price the router charges team budgets per token; none: the model's calls cost nothing there."""


class RouterTeam(Model):
    """A team's access to the router: its own LiteLLM team (budget, limits, models) and one virtual key.

    The key is issued in the cluster by the router-teams job and written to the Secret
    `router-key` in the team's namespace; it never passes through Pulumi or its state."""

    models: Annotated[list[NonEmptyStr], Field(min_length=1)] | None = None
    """Model groups (catalog names) and aliases (`auto-<class>`, `auto-embed-<class>`) the team's key may
    call; none: every catalog model and alias (never the external API directly)."""
    max_budget_usd: Annotated[float, Field(gt=0)] | None = None
    """Spend limit per budget period: priced catalog models (serving.models[*].pricing) plus external API spend."""
    budget_duration: Annotated[str, StringConstraints(pattern=r"^[1-9]\d*[smhd]$")] = "30d"
    """Budget period in LiteLLM's notation; the spend resets after it (LiteLLM refuses a zero period)."""
    rpm_limit: Annotated[int, Field(ge=1)] | None = None
    """Requests per minute over all of the team's calls."""
    tpm_limit: Annotated[int, Field(ge=1)] | None = None
    """Tokens per minute over all of the team's calls."""
    key_max_age_days: Annotated[int, Field(ge=1, le=365)] | None = 90
    """The job rotates a key older than this (the team's workloads must re-read the Secret); none: never."""
    key_grace_hours: Annotated[int, Field(ge=24, le=720)] = 24
    """After a rotation the replaced key keeps working this long, so workloads that read the key once
    (environment variables) keep running until they restart; the job deletes it on its first run after that
    (the daily run: 24 h means it goes with the second daily run after the rotation)."""


class RouterDatabaseConfig(Model):
    """Postgres of the router's teams, keys and spend (only with serving.router.teams or maxBudgetUsd)."""

    storage_gib: Annotated[int, Field(ge=1, le=1024)] = 20
    storage_class: DnsLabel | None = None
    """Encrypted StorageClass; default: kubernetes.onPremStorageClass on-prem, the encrypted gp3 class on EKS."""


class RouterConfig(Model):
    cache: bool = True
    """Cache responses in Redis (exact-match cache in front of every tier)."""
    external_api_model: str | None = None
    """External model used as last fallback (needs secret `ai-factory:externalApiKey`)."""
    replicas: Annotated[int, Field(ge=1, le=20)] = 2
    """Router replicas (stateless; two for availability)."""
    cache_ttl_seconds: Annotated[int, Field(ge=1)] = 600
    """How long a cached response is served."""
    max_budget_usd: Annotated[float, Field(gt=0)] | None = None
    """Router-wide spend limit per budget period (external API spend; LiteLLM `max_budget`)."""
    budget_duration: Annotated[str, StringConstraints(pattern=r"^[1-9]\d*[smhd]$")] = "30d"
    """Period of max_budget_usd in LiteLLM's notation (LiteLLM refuses a zero period)."""
    tls_certificate_arn: (
        Annotated[str, StringConstraints(pattern=r"^arn:aws(-[a-z]+)*:acm:[a-z0-9-]+:\d{12}:certificate/\S+$")] | None
    ) = None
    """ACM certificate of the router's internal load balancer (EKS; TLS ends at the load balancer)."""
    tls_secret: DnsLabel | None = None
    """kubernetes.io/tls Secret in aif-serving, created on site (cert-manager or the site PKI) with tls.crt,
    tls.key and ca.crt: the router itself serves HTTPS, so TLS ends where the router runs."""
    teams: dict[DnsLabel, RouterTeam] = {}
    """Team → its router key and budget (the team needs a namespace: kubernetes.teams). Teams (and
    maxBudgetUsd) need the router database and the secret `ai-factory:routerDatabasePassword`."""
    database: RouterDatabaseConfig = RouterDatabaseConfig()
    """The router's Postgres (created only with teams or maxBudgetUsd: LiteLLM keeps budgets there)."""

    @property
    def needs_database(self) -> bool:
        """Budgets (a team's or max_budget_usd) and keys exist in LiteLLM only with its database: without
        one the proxy logs that the budget "will NOT be enforced" and serves on."""
        return bool(self.teams) or self.max_budget_usd is not None


class AutoscalingConfig(Model):
    queue_depth_threshold: Annotated[int, Field(ge=1)] = 5
    """Waiting requests (vllm:num_requests_waiting) per replica that trigger a scale-up (production-stack: 5)."""
    polling_interval_seconds: Annotated[int, Field(ge=5, le=300)] = 15
    """How often KEDA queries Prometheus."""
    cooldown_period_seconds: Annotated[int, Field(ge=30)] = 360
    """Idle time before a scale-to-zero model goes to zero (production-stack: 360)."""
    initial_cooldown_seconds: Annotated[int, Field(ge=0)] = 1800
    """Time after a replica is created before KEDA may scale it to zero: covers a GPU node coming up and the
    weights loading (the pod is not killed while waiting for a GPU, kserve #1247)."""
    fallback_replicas: Annotated[int, Field(ge=1)] = 1
    """Replicas KEDA keeps when Prometheus cannot be queried (3 failed polls)."""


class GovernanceConfig(Model):
    max_evaluation_age_days: Annotated[int, Field(ge=1, le=3650)] = 90
    """Evaluations older than this are flagged (advisory): the model or its traffic may have drifted."""
    canary_error_rate_margin: Annotated[float, Field(gt=0, le=1)] = 0.02
    """Alert when the candidate's error ratio exceeds the stable's by more than this (absolute)."""
    canary_ttft_ratio: Annotated[float, Field(gt=1, le=10)] = 1.25
    """Alert when the candidate's p95 time-to-first-token exceeds the stable's times this."""


class SiteModelStore(Model):
    """The site's S3-compatible store (MinIO, Ceph RGW …) that model servers on the site's nodes read their
    weights from: each artifact (serving.models[*].artifact.path) at the same path as in the models bucket,
    so weights cross neither the site link nor a cloud credential on every pod start."""

    endpoint: HttpsEndpoint
    """The store's HTTPS endpoint, e.g. https://s3.fra1.example.internal."""
    cidrs: SiteStoreNetworks
    """Networks the endpoint resolves to (e.g. [10.20.8.0/28]). Model servers that stay on the site connect
    there, on the endpoint's port, and nowhere else outside the cluster: a model whose data may not leave
    the site has no route to the internet. Those that may burst also reach the models bucket over HTTPS."""
    bucket: S3BucketName
    """Bucket on the store holding the artifacts (created and filled on site)."""
    credentials_secret: K8sName = "model-store-credentials"
    """Secret in aif-serving holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of a key that may only read
    the bucket, created on site (its values are never in config or state)."""
    region: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,40}$")] | None = None
    """Signing region the store expects; none: us-east-1 (MinIO's and RGW's default)."""
    ca_config_map: K8sName | None = None
    """ConfigMap in aif-serving whose `ca.crt` is the CA of the endpoint's certificate (a site CA); none: the
    image's public CA bundle."""


class ServingConfig(Model):
    router: RouterConfig = RouterConfig()
    governance: GovernanceConfig = GovernanceConfig()
    """Release gates (evaluation age) and canary alert thresholds."""
    models: Annotated[list[ServedModel], Field(min_length=1)]
    burst_tiers: Annotated[list[ServingTier], Field(min_length=1)] = [
        ServingTier.CRITICAL,
        ServingTier.STANDARD,
        ServingTier.BATCH,
    ]
    """Serving tiers whose models may burst to cloud nodes (each model also asks with burstToCloud, and its
    data classes must allow cloud processing); e.g. [standard, batch] keeps critical serving on the site."""
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    """KEDA queue-depth autoscaling of every model (per-model threshold overrides)."""
    site_model_store: SiteModelStore | None = None
    """Where model servers on the site's nodes read weights (required with onPrem); on cloud nodes they read
    the stack's models bucket through EKS Pod Identity."""


# ------------------------------------------------------------------------- observability
class ObservabilityConfig(Model):
    metrics_retention_days: Annotated[int, Field(ge=1, le=400)] = 15
    grafana: bool = True
    metrics_storage_gib: Annotated[int, Field(ge=1)] = 100
    """Prometheus volume (encrypted StorageClass)."""
    queue_depth_alert: Annotated[int, Field(ge=1)] = 20
    """Waiting requests on one model for 10 min that page (alert VllmQueueDepthHigh)."""
    ttft_p95_seconds: Annotated[float, Field(gt=0)] = 2.0
    """p95 time-to-first-token above which alert VllmTimeToFirstTokenHigh fires."""


# ---------------------------------------------------------------------------- kubernetes
class GpuSharing(Model):
    strategy: Literal["none", "time-slicing", "mig"] = "none"
    """How one physical GPU is shared: not at all, time-slicing (no memory isolation) or MIG."""
    replicas: Annotated[int, Field(ge=2, le=48)] | None = None
    """Time-slicing: pods per physical GPU (required with time-slicing)."""
    mig_profile: Annotated[str, StringConstraints(pattern=r"^all-[1-7]g\.\d+gb$")] | None = None
    """MIG: the uniform layout the mig-manager applies to every GPU of the pool (required with mig), e.g.
    all-1g.10gb on 80 GB GPUs; each slice is then one `nvidia.com/gpu` (components/gpu_sharing.py)."""


class TeamNamespace(Model):
    gpu_quota: Annotated[int, Field(ge=0, le=512)]
    """requests.nvidia.com/gpu of the team's namespace (aif-team-<team>)."""
    cpu_quota: Annotated[str, StringConstraints(pattern=r"^\d+$")] = "64"
    """requests.cpu of the namespace."""
    memory_quota: Annotated[str, StringConstraints(pattern=r"^\d+(Gi|Ti)$")] = "512Gi"
    """requests.memory of the namespace."""


class KubernetesConfig(Model):
    registry: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+(:\d+)?(/[a-z0-9._-]+)*$")] | None = None
    """Registry (and path prefix) every image is pulled from; default: the stack's ECR pull-through cache
    `<account>.dkr.ecr.<region>.amazonaws.com/<env>`."""
    gpu_sharing: dict[Literal["on-prem", "cloud"], GpuSharing] = {}
    """Node pool (location) → device-plugin sharing; absent: whole GPUs."""
    teams: dict[DnsLabel, TeamNamespace] = {}
    """Team → its own namespace with a GPU quota (batch jobs, notebooks)."""
    on_prem_storage_class: DnsLabel = "aif-encrypted-local"
    """Encrypted StorageClass the site provides (LUKS-backed local volumes) for on-prem stateful data."""
    batch_gpu_quota: Annotated[int, Field(ge=0, le=512)] = 0
    """GPUs of the shared batch namespace beyond its batch-tier models."""


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
    anomaly_threshold_usd: Annotated[float, Field(gt=0)] = 100
    """Cost Anomaly Detection alerts on anomalies with at least this total impact."""
    pr_cost_increase_usd: Annotated[float, Field(ge=0)] | None = None
    """`factory diff` warns (advisory) when a change raises the expected monthly cost by more than this."""
    pr_cost_increase_percent: Annotated[float, Field(ge=0)] | None = None
    """… or by more than this percentage of the current expected monthly cost."""


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
    kubernetes: KubernetesConfig = KubernetesConfig()
    """The Kubernetes platform: registry, GPU sharing per pool, team namespaces, storage classes."""
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
