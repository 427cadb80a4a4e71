"""Checks that span fields or sections, each reported at the exact config path it concerns.

They run once the structure is valid (models.py); every failed check is one `Problem`.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

# Modules, not names: both import the config models, so importing either first runs this module while
# it is still half-initialised; their functions are looked up when a check runs.
from components import gpu_sharing, routing
from components.aws.gpu_pools import family_gpus, family_types, plan_pools
from components.config.errors import Problem
from components.config.models import (
    BucketPurpose,
    ClusterJoin,
    CredentialProvider,
    DataZonesConfig,
    FactoryConfig,
    Place,
    ServedModel,
    ServingTier,
    Tier,
)
from components.conventions import (
    CA_NAMESPACE,
    CA_SERVICE_ACCOUNT,
    CANDIDATE_SUFFIX,
    MODEL_LOADER_SERVICE_ACCOUNT,
    NAMESPACE_SERVING,
    NAMESPACE_VECTOR,
    NTH_NAMESPACE,
    NTH_SERVICE_ACCOUNT,
)
from components.gpus import GPU_FAMILIES, GPU_MODELS, gpus_per_instance

NS = "ai-factory:"


def _p(path: str) -> str:
    return NS + path


def check(cfg: FactoryConfig) -> list[Problem]:
    """Every cross-field problem of `cfg`, in config order."""
    checks = (
        _residency,
        _on_prem,
        _cloud,
        _cloud_extras,
        _storage,
        _vector_store,
        _serving,
        _router,
        _kubernetes,
        _budget,
    )
    return [problem for fn in checks for problem in fn(cfg)]


def _known_classes(cfg: FactoryConfig) -> str:
    return ", ".join(sorted(cfg.residency.data_classes))


def _data_class(cfg: FactoryConfig, path: str, name: str) -> Iterator[Problem]:
    if name not in cfg.residency.data_classes:
        yield Problem(_p(path), f"unknown data class '{name}'", _known_classes(cfg))


def _residency(cfg: FactoryConfig) -> Iterator[Problem]:
    for name, policy in cfg.residency.data_classes.items():
        if Place.ON_PREM not in policy.processing and Place.CLOUD not in policy.processing:
            yield Problem(
                _p(f"residency.dataClasses.{name}.processing"),
                "data that may be processed only by an external API cannot be served by the factory",
                "include on-prem or cloud",
            )


def _on_prem(cfg: FactoryConfig) -> Iterator[Problem]:
    op = cfg.on_prem
    if op is None:
        return
    if op.country not in cfg.residency.allowed_countries:
        yield Problem(
            _p("onPrem.country"),
            f"site country '{op.country}' is outside the residency allow-list",
            ", ".join(cfg.residency.allowed_countries),
        )
    for dup, n in Counter(s.name for s in op.servers).items():
        if n > 1:
            yield Problem(_p("onPrem.servers"), f"server name '{dup}' is used {n} times", "unique names")
    for dup, n in Counter(s.address for s in op.servers).items():
        if n > 1:
            yield Problem(_p("onPrem.servers"), f"address {dup} is used {n} times", "unique addresses")
    node_nets = [ipaddress.ip_network(c) for c in op.network.node_cidrs]
    for i, server in enumerate(op.servers):
        addr = ipaddress.ip_address(server.address)
        if not any(addr in net for net in node_nets):
            yield Problem(
                _p(f"onPrem.servers[{i}].address"),
                f"{server.address} is outside the site's node networks",
                ", ".join(op.network.node_cidrs),
            )
        if server.gpu.nvswitch and not GPU_MODELS[server.gpu.model].nvswitch_capable:
            yield Problem(
                _p(f"onPrem.servers[{i}].gpu.nvswitch"),
                f"{server.gpu.model} boards have no NVSwitch baseboard",
                "false for PCIe GPUs",
            )
    mirror = op.package_mirror
    if not mirror.trusted and not mirror.key_url:
        yield Problem(
            _p("onPrem.packageMirror.keyUrl"), "a signed mirror needs its key URL", "an https:// or file:// URL"
        )
    if mirror.trusted and cfg.environment.tier is Tier.PROD:
        yield Problem(
            _p("onPrem.packageMirror.trusted"),
            "unsigned package mirrors are not accepted in tier prod",
            "false with keyUrl",
        )
    if cfg.join_method is ClusterJoin.EKS_HYBRID:
        if not cfg.has_eks:
            yield Problem(
                _p("onPrem.cluster.join"),
                "eks-hybrid needs an EKS cluster (cloud.eks)",
                "kubeadm, or configure cloud.eks",
            )
        elif cfg.cloud is not None and cfg.cloud.hybrid is None:
            yield Problem(
                _p("cloud.hybrid"),
                "EKS Hybrid Nodes need a network link to the site",
                "{kind: vpn, customerGatewayIp: …} or {kind: direct-connect, directConnectGatewayId: …}",
            )
        if cfg.cloud is not None:
            vpc = ipaddress.ip_network(cfg.cloud.vpc.cidr)
            for key in ("node_cidrs", "pod_cidrs"):
                for j, c in enumerate(getattr(op.network, key)):
                    if ipaddress.ip_network(c).overlaps(vpc):
                        alias = "nodeCidrs" if key == "node_cidrs" else "podCidrs"
                        yield Problem(
                            _p(f"onPrem.network.{alias}[{j}]"),
                            f"{c} overlaps the VPC {cfg.cloud.vpc.cidr}",
                            "remote networks outside the VPC CIDR",
                        )


def _cloud(cfg: FactoryConfig) -> Iterator[Problem]:
    cloud = cfg.cloud
    if cloud is None:
        return
    if cloud.region not in cfg.residency.allowed_regions:
        yield Problem(
            _p("cloud.region"),
            f"region '{cloud.region}' is outside the residency allow-list",
            ", ".join(cfg.residency.allowed_regions),
        )
    for i, az in enumerate(cloud.vpc.availability_zones):
        if not az.startswith(cloud.region):
            yield Problem(
                _p(f"cloud.vpc.availabilityZones[{i}]"), f"'{az}' is not in {cloud.region}", f"{cloud.region}a, …"
            )
    if cloud.vpc.availability_zones and len(cloud.vpc.availability_zones) < 2:
        yield Problem(_p("cloud.vpc.availabilityZones"), "EKS needs subnets in at least two zones", "two or more zones")
    if cloud.hybrid is not None:
        if cloud.hybrid.kind == "vpn" and cloud.hybrid.customer_gateway_ip is None:
            yield Problem(
                _p("cloud.hybrid.customerGatewayIp"), "a VPN needs the site's gateway address", "an IP address"
            )
        if cloud.hybrid.kind == "direct-connect" and not cloud.hybrid.direct_connect_gateway_id:
            yield Problem(_p("cloud.hybrid.directConnectGatewayId"), "Direct Connect needs the gateway id", "dxgw id")
        if cfg.on_prem is None:
            yield Problem(_p("cloud.hybrid"), "a hybrid link needs an on-prem site (onPrem)", "remove it or add onPrem")
    if cloud.eks is None:
        return
    ep = cloud.eks.endpoint
    if ep.public and not ep.public_access_cidrs:
        yield Problem(
            _p("cloud.eks.endpoint.publicAccessCidrs"),
            "a public endpoint needs an allow-list",
            "one or more CIDRs, or public: false",
        )
    for i, c in enumerate(ep.public_access_cidrs):
        if ipaddress.ip_network(c).prefixlen == 0:
            yield Problem(
                _p(f"cloud.eks.endpoint.publicAccessCidrs[{i}]"),
                f"{c} opens the API endpoint to the whole internet",
                "specific networks",
            )
    burst = cloud.eks.burst
    if burst.on_demand_floor_gpus > burst.max_gpus:
        yield Problem(
            _p("cloud.eks.burst.onDemandFloorGpus"),
            f"{burst.on_demand_floor_gpus} exceeds maxGpus {burst.max_gpus}",
            f"0..{burst.max_gpus}",
        )
    for family, types in burst.instance_types.items():
        if family not in burst.gpu_families:
            yield Problem(
                _p(f"cloud.eks.burst.instanceTypes.{family}"),
                f"family '{family}' is not among gpuFamilies",
                ", ".join(burst.gpu_families),
            )
            continue
        allowed = GPU_FAMILIES[family].instance_gpus
        counts = set()
        for j, t in enumerate(types):
            if t not in allowed:
                yield Problem(
                    _p(f"cloud.eks.burst.instanceTypes.{family}[{j}]"),
                    f"'{t}' is not a {family} GPU instance type",
                    ", ".join(allowed),
                )
            else:
                counts.add(gpus_per_instance(t))
        if len(counts) > 1:
            yield Problem(
                _p(f"cloud.eks.burst.instanceTypes.{family}"),
                "instance types of one pool must have the same GPU count (the GPU cap is max size × GPUs)",
                "types with equal GPU counts",
            )
    yield from _gpu_limit(cfg)


def _gpu_limit(cfg: FactoryConfig) -> Iterator[Problem]:
    """The GPU limit must split into whole instances (node group max sizes), floor and rest alike."""
    assert cfg.cloud is not None and cfg.cloud.eks is not None
    burst = cfg.cloud.eks.burst
    if burst.on_demand_floor_gpus > burst.max_gpus:
        return  # reported above; the split is meaningless
    known = all(
        gpus_per_instance(t) is not None and t in GPU_FAMILIES[f].instance_gpus
        for f in burst.gpu_families
        for t in family_types(burst, f)
    )
    if not known:
        return  # an unknown instance type is reported above
    _, leftover = plan_pools(burst)
    smallest = min(family_gpus(burst, f) for f in burst.gpu_families)
    sizes = ", ".join(f"{family_types(burst, f)[0]} ({family_gpus(burst, f)} GPUs)" for f in burst.gpu_families)
    for role, left in leftover.items():
        path, gpus = (
            ("onDemandFloorGpus", burst.on_demand_floor_gpus)
            if role == "floor"
            else ("maxGpus", burst.max_gpus - burst.on_demand_floor_gpus)
        )
        what = "the on-demand floor" if role == "floor" else "the GPUs above the on-demand floor"
        yield Problem(
            _p(f"cloud.eks.burst.{path}"),
            f"{gpus} GPUs ({what}) do not split into whole instances of {sizes}; {left} would be left over",
            f"a multiple of {smallest} for each of maxGpus - onDemandFloorGpus and onDemandFloorGpus",
        )


# Services an EKS node needs when the VPC has no NAT (AWS docs: private clusters).
NO_NAT_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts")

CREDENTIALED_UPSTREAMS = ("ghcr", "docker-hub")
"""ECR pull-through upstreams that only work with credentials in Secrets Manager."""


def _cloud_extras(cfg: FactoryConfig) -> Iterator[Problem]:
    """Network, identity, registry and storage rules the AWS components rely on."""
    cloud = cfg.cloud
    if cloud is None:
        return
    if cloud.hybrid is not None and cloud.eks is None:
        yield Problem(
            _p("cloud.hybrid"),
            "the hybrid link joins the site to the EKS VPC, and this stack has no cloud.eks",
            "remove cloud.hybrid or configure cloud.eks",
        )
    if cloud.eks is None:
        return
    if cfg.storage is None or BucketPurpose.LOGS not in cfg.storage.buckets:
        yield Problem(
            _p("storage.buckets.logs"),
            "the burst cluster needs the stack key and the logs bucket (audit trail, encrypted volumes and logs)",
            "a storage section with a logs bucket",
        )
    if cloud.vpc.nat == "none":
        missing = [e for e in NO_NAT_ENDPOINTS if e not in cloud.vpc.interface_endpoints]
        if missing:
            yield Problem(
                _p("cloud.vpc.interfaceEndpoints"),
                f"without NAT, nodes reach {', '.join(missing)} only through interface endpoints",
                f"include {', '.join(NO_NAT_ENDPOINTS)}, or nat: single",
            )
    if cfg.on_prem is not None and cfg.join_method is ClusterJoin.EKS_HYBRID:
        ra = cloud.identity.roles_anywhere
        if cfg.on_prem.cluster.credential_provider is CredentialProvider.IAM_ROLES_ANYWHERE and (
            ra is None or (ra.ca_arn is None) == (ra.ca_bundle_pem is None)
        ):
            yield Problem(
                _p("cloud.identity.rolesAnywhere"),
                "IAM Roles Anywhere needs exactly one trust anchor source",
                "{caArn: <ACM PCA ARN>} or {caBundlePem: <PEM>}",
            )
    for upstream in cloud.registry.pull_through:
        if upstream in CREDENTIALED_UPSTREAMS and upstream not in cloud.registry.credential_secret_arns:
            yield Problem(
                _p(f"cloud.registry.credentialSecretArns.{upstream}"),
                f"the {upstream} pull-through cache needs upstream credentials",
                "the ARN of a Secrets Manager secret named ecr-pullthroughcache/…",
            )
    for upstream, arn in cloud.registry.credential_secret_arns.items():
        if ":secretsmanager:" not in arn or ":secret:ecr-pullthroughcache/" not in arn:
            yield Problem(
                _p(f"cloud.registry.credentialSecretArns.{upstream}"),
                f"'{arn}' is not a Secrets Manager secret named ecr-pullthroughcache/…",
                "arn:aws:secretsmanager:<region>:<account>:secret:ecr-pullthroughcache/<name>",
            )
    buckets = cfg.storage.buckets if cfg.storage else {}
    for name, wl in cloud.eks.workloads.items():
        for purpose in wl.buckets:
            if purpose not in buckets:
                yield Problem(
                    _p(f"cloud.eks.workloads.{name}.buckets.{purpose}"),
                    f"the stack has no {purpose} bucket",
                    ", ".join(b.value for b in buckets) or "configure storage.buckets",
                )


def _storage(cfg: FactoryConfig) -> Iterator[Problem]:
    st = cfg.storage
    if st is None:
        return
    if cfg.cloud is None:
        yield Problem(_p("storage"), "buckets need an AWS account (cloud)", "configure cloud or remove storage")
    for purpose, bucket in st.buckets.items():
        path = f"storage.buckets.{purpose}.dataClass"
        yield from _data_class(cfg, path, bucket.data_class)
        policy = cfg.residency.data_classes.get(bucket.data_class)
        if policy is not None and Place.CLOUD not in policy.storage:
            yield Problem(
                _p(path),
                f"data class '{bucket.data_class}' may not be stored in the cloud",
                "a data class whose residency storage includes cloud",
            )
    for name in st.retention_days:
        yield from _data_class(cfg, f"storage.retentionDays.{name}", name)
    logs = st.buckets.get(BucketPurpose.LOGS)
    if cfg.is_prod and cfg.cloud is not None and cfg.cloud.audit_trail and logs is not None and not logs.object_lock:
        yield Problem(
            _p("storage.buckets.logs.objectLock"),
            "in tier prod the audit trail's logs bucket is write-once, so no one can rewrite the record",
            "true",
        )
    rep = st.replication
    if rep is not None:
        if rep.region not in cfg.residency.allowed_regions:
            yield Problem(
                _p("storage.replication.region"),
                f"region '{rep.region}' is outside the residency allow-list",
                ", ".join(cfg.residency.allowed_regions),
            )
        if cfg.cloud is not None and rep.region == cfg.cloud.region:
            yield Problem(
                _p("storage.replication.region"),
                "replicas must live in another region than the buckets",
                ", ".join(r for r in cfg.residency.allowed_regions if r != cfg.cloud.region) or "another region",
            )
        for i, purpose in enumerate(rep.buckets):
            if purpose not in st.buckets:
                yield Problem(
                    _p(f"storage.replication.buckets[{i}]"),
                    f"the stack has no {purpose} bucket",
                    ", ".join(b.value for b in st.buckets),
                )
    yield from _data_zones(cfg)


ZONE_ROLES = ("ingestion", "curation", "training", "serving", "admin")


def _data_zones(cfg: FactoryConfig) -> Iterator[Problem]:
    """Datasets are always zoned (raw/curated/quarantine), and every zone role is assumable by someone."""
    st = cfg.storage
    assert st is not None
    has_datasets = BucketPurpose.DATASETS in st.buckets
    zones = st.data_zones
    if has_datasets and zones is None:
        yield Problem(
            _p("storage.dataZones"),
            "the datasets bucket is split into raw/curated/quarantine zones whose roles must be configured",
            "dataZones with ingestion, curation, training, serving and admin roles",
        )
    if zones is None:
        return
    if not has_datasets:
        yield Problem(_p("storage.dataZones"), "the stack has no datasets bucket", "remove dataZones or add datasets")
    for role_name in ZONE_ROLES:
        role = getattr(zones, role_name)
        base = f"storage.dataZones.{role_name}"
        if not role.principals and role.service_account is None:
            yield Problem(_p(base), "nobody could assume this role", "principals and/or serviceAccount")
        if role.service_account is not None and not cfg.has_eks:
            yield Problem(
                _p(f"{base}.serviceAccount"),
                "service accounts are bound through EKS Pod Identity and this stack has no cloud.eks",
                "principals only",
            )
    if cfg.cloud is not None and cfg.cloud.eks is not None:
        for name, wl in cfg.cloud.eks.workloads.items():
            if wl.buckets.get(BucketPurpose.DATASETS) == "read-write":
                yield Problem(
                    _p(f"cloud.eks.workloads.{name}.buckets.datasets"),
                    "workloads read the curated zone only; writing datasets is the zone roles' duty",
                    "read (or use storage.dataZones roles)",
                )
        yield from _zone_service_accounts(cfg, zones)


def _zone_service_accounts(cfg: FactoryConfig, zones: DataZonesConfig) -> Iterator[Problem]:
    """EKS Pod Identity binds one role per service account: a zone role's service account may be
    neither a workload's (cloud.eks.workloads, the autoscaler's, the termination handler's) nor
    another zone role's."""
    assert cfg.cloud is not None and cfg.cloud.eks is not None
    taken = {
        (CA_NAMESPACE, CA_SERVICE_ACCOUNT): "the cluster autoscaler",
        (NTH_NAMESPACE, NTH_SERVICE_ACCOUNT): "the node termination handler",
    }
    for name, wl in cfg.cloud.eks.workloads.items():
        taken[(wl.namespace, wl.service_account)] = f"cloud.eks.workloads.{name}"
    for role_name in ZONE_ROLES:
        sa = getattr(zones, role_name).service_account
        if sa is None:
            continue
        owner = taken.get((sa.namespace, sa.name))
        if owner is not None:
            yield Problem(
                _p(f"storage.dataZones.{role_name}.serviceAccount"),
                f"{sa.namespace}/{sa.name} is already bound to {owner} (one Pod Identity role per service account)",
                "a service account of its own",
            )
        else:
            taken[(sa.namespace, sa.name)] = f"storage.dataZones.{role_name}"


def _vector_store(cfg: FactoryConfig) -> Iterator[Problem]:
    vs = cfg.vector_store
    if vs is None:
        return
    yield from _data_class(cfg, "vectorStore.dataClass", vs.data_class)
    policy = cfg.residency.data_classes.get(vs.data_class)
    if policy is None:
        return
    on_prem_ok = cfg.on_prem is not None and Place.ON_PREM in policy.storage
    cloud_ok = cfg.has_eks and Place.CLOUD in policy.storage
    if not (on_prem_ok or cloud_ok):
        yield Problem(
            _p("vectorStore.dataClass"),
            f"no place in this stack may store data class '{vs.data_class}'",
            "an on-prem site for on-prem data, or cloud.eks for cloud-storable data",
        )
    # Snapshots: a copy of the store's data, under the same residency as the store itself.
    snap = vs.snapshots
    if snap is None:
        if cfg.is_prod:
            yield Problem(
                _p("vectorStore.snapshots"),
                "the vector store needs snapshots in tier prod",
                "{target: {kind: on-site-s3, endpoint, cidrs, bucket, credentialsSecret}} "
                "or {target: {kind: s3-bucket}}",
            )
        return
    target, base = snap.target, "vectorStore.snapshots.target"
    on_site_fields = {
        "endpoint": ("the store's endpoint", "an https:// URL"),
        "cidrs": (
            "the networks the endpoint resolves to",
            "a list of the store's private networks, e.g. [10.20.8.0/28]",
        ),
        "bucket": ("the bucket on the store", "a bucket name"),
        "credentialsSecret": (
            "the Secret holding the store's access key",
            f"the name of a Secret in {NAMESPACE_VECTOR} with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ),
    }
    set_fields = target.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
    if target.kind == "on-site-s3":
        if cfg.on_prem is None:
            yield Problem(
                _p(f"{base}.kind"), "on-site-s3 needs an on-prem site (onPrem)", "s3-bucket, or configure onPrem"
            )
        for alias, (what, allowed) in on_site_fields.items():
            if alias not in set_fields:
                yield Problem(_p(f"{base}.{alias}"), f"on-site-s3 needs {what}", allowed)
        yield from site_store_network_problems(base, target.endpoint, target.cidrs)
        return
    for alias in ("endpoint", "cidrs", "bucket", "credentialsSecret", "region", "serverSideEncryption", "caConfigMap"):
        if alias in set_fields:
            yield Problem(_p(f"{base}.{alias}"), "applies to on-site-s3 only", "remove it")
    if Place.CLOUD not in policy.storage:
        yield Problem(
            _p(f"{base}.kind"),
            f"data class '{vs.data_class}' may not be stored in the cloud, so its snapshots may not go to the "
            "vector-snapshots bucket",
            "on-site-s3" if cfg.on_prem is not None else "a data class whose residency storage includes cloud",
        )
        return
    buckets = cfg.storage.buckets if cfg.storage is not None else {}
    bucket = buckets.get(BucketPurpose.VECTOR_SNAPSHOTS)
    if bucket is None:
        yield Problem(
            _p(f"{base}.kind"),
            "the stack has no vector-snapshots bucket",
            "add storage.buckets.vector-snapshots, or on-site-s3",
        )
    elif bucket.data_class != vs.data_class:
        yield Problem(
            _p("storage.buckets.vector-snapshots.dataClass"),
            f"the bucket holds the vector store's snapshots, of data class '{vs.data_class}'",
            vs.data_class,
        )
    if cfg.cloud is None or cfg.cloud.eks is None:
        yield Problem(
            _p(f"{base}.kind"),
            "the vector-snapshots bucket is written through EKS Pod Identity and this stack has no cloud.eks",
            "on-site-s3, or configure cloud.eks",
        )
        return
    sa = target.service_account
    bound = any(
        wl.namespace == NAMESPACE_VECTOR
        and wl.service_account == sa
        and wl.buckets.get(BucketPurpose.VECTOR_SNAPSHOTS) == "read-write"
        for wl in cfg.cloud.eks.workloads.values()
    )
    if not bound:
        yield Problem(
            _p(f"{base}.serviceAccount"),
            f"no cloud.eks.workloads entry binds {NAMESPACE_VECTOR}/{sa} with vector-snapshots: read-write",
            f"a workload {{namespace: {NAMESPACE_VECTOR}, serviceAccount: {sa}, "
            "buckets: {vector-snapshots: read-write}}",
        )


NON_INTERNET = ipaddress.ip_network("100.64.0.0/10")
"""Shared address space (RFC 6598): not routed on the internet, used inside sites; Python's is_private
leaves it out."""


def site_store_network_problems(base: str, endpoint: str | None, cidrs: list[str] | None) -> Iterator[Problem]:
    """A site store's networks are the only way out of the cluster for data that stays on the site: they
    must be the site's own (no internet addresses), and an endpoint given as an address lies in them."""
    for i, cidr in enumerate(cidrs or []):
        net = ipaddress.ip_network(cidr)
        if not (net.is_private or (net.version == 4 and net.subnet_of(NON_INTERNET))):  # type: ignore[arg-type]
            yield Problem(
                _p(f"{base}.cidrs[{i}]"),
                f"{cidr} includes internet addresses, so on-site data could leave the site through it",
                "the store's private networks (RFC 1918, RFC 6598 or IPv6 ULA), e.g. 10.20.8.0/28",
            )
    host = urlsplit(endpoint).hostname if endpoint else None
    try:
        address = ipaddress.ip_address(host) if host else None
    except ValueError:
        return  # a host name: resolved on site, which config cannot check
    if address is not None and cidrs and not any(address in ipaddress.ip_network(n) for n in cidrs):
        yield Problem(
            _p(f"{base}.endpoint"),
            f"{host} is outside {base}.cidrs, so the store would be unreachable",
            "an endpoint in one of the cidrs, or add its network",
        )


def _weights(cfg: FactoryConfig) -> Iterator[Problem]:
    """Every place a model may run has a store its weight fetcher can read with the credentials it has
    there: the site's store (a Secret on site) on the site's nodes, the models bucket (EKS Pod Identity
    of aif-serving/model-loader) on cloud nodes."""
    assert cfg.serving is not None
    places = set().union(*(routing.model_places(cfg, m) for m in cfg.serving.models))
    store = cfg.serving.site_model_store
    if cfg.on_prem is not None and store is None:
        yield Problem(
            _p("serving.siteModelStore"),
            "models on the site's servers read their weights from the site's S3-compatible store",
            "{endpoint, cidrs, bucket, credentialsSecret} of the store",
        )
    if cfg.on_prem is None and store is not None:
        yield Problem(_p("serving.siteModelStore"), "the stack has no on-prem site", "remove it")
    if store is not None:
        yield from site_store_network_problems("serving.siteModelStore", store.endpoint, store.cidrs)
    if Place.CLOUD not in places or cfg.cloud is None or cfg.cloud.eks is None:
        return
    if cfg.storage is None or BucketPurpose.MODELS not in cfg.storage.buckets:
        yield Problem(
            _p("storage.buckets.models"),
            "models that run on cloud nodes read their weights from the stack's models bucket",
            "a models bucket",
        )
    bound = any(
        wl.namespace == NAMESPACE_SERVING
        and wl.service_account == MODEL_LOADER_SERVICE_ACCOUNT
        and wl.buckets.get(BucketPurpose.MODELS) in ("read", "read-write")
        for wl in cfg.cloud.eks.workloads.values()
    )
    if not bound:
        yield Problem(
            _p("cloud.eks.workloads"),
            f"no entry binds {NAMESPACE_SERVING}/{MODEL_LOADER_SERVICE_ACCOUNT} with models: read, so model "
            "servers on cloud nodes cannot read their weights",
            f"a workload {{namespace: {NAMESPACE_SERVING}, serviceAccount: {MODEL_LOADER_SERVICE_ACCOUNT}, "
            "buckets: {models: read}}",
        )


def _serving(cfg: FactoryConfig) -> Iterator[Problem]:
    sv = cfg.serving
    if sv is None:
        return
    if cfg.on_prem is None and not cfg.has_eks:
        yield Problem(_p("serving"), "models need GPU capacity (onPrem or cloud.eks)", "add capacity or remove serving")
    for dup, n in Counter(m.name for m in sv.models).items():
        if n > 1:
            yield Problem(_p("serving.models"), f"model name '{dup}' is used {n} times", "unique names")
    yield from _weights(cfg)
    max_gpus_on_site = max((s.gpu.count for s in cfg.on_prem.servers), default=0) if cfg.on_prem else 0
    names = {m.name for m in sv.models}
    for i, m in enumerate(sv.models):
        base = f"serving.models[{i}]"
        yield from _candidate(m, base, names)
        for j, dc in enumerate(m.data_classes):
            yield from _data_class(cfg, f"{base}.dataClasses[{j}]", dc)
        policies = [cfg.residency.data_classes[dc] for dc in m.data_classes if dc in cfg.residency.data_classes]
        if m.min_replicas > m.max_replicas:
            yield Problem(
                _p(f"{base}.minReplicas"),
                f"{m.min_replicas} exceeds maxReplicas {m.max_replicas}",
                f"0..{m.max_replicas}",
            )
        if m.tier is ServingTier.CRITICAL and m.min_replicas < 1:
            yield Problem(_p(f"{base}.minReplicas"), "critical models are never scaled to zero", "1 or more")
        if m.burst_to_cloud:
            if not cfg.has_eks:
                yield Problem(_p(f"{base}.burstToCloud"), "the stack has no EKS burst cluster", "false")
            if m.tier not in sv.burst_tiers:
                yield Problem(
                    _p(f"{base}.burstToCloud"),
                    f"tier {m.tier.value} may not burst (serving.burstTiers: "
                    f"{', '.join(t.value for t in sv.burst_tiers)})",
                    f"false, or add {m.tier.value} to serving.burstTiers",
                )
            denied = [dc for dc, p in zip(m.data_classes, policies, strict=False) if Place.CLOUD not in p.processing]
            if denied:
                yield Problem(
                    _p(f"{base}.burstToCloud"),
                    f"data class {', '.join(denied)} may not be processed in the cloud",
                    "false, or serve only cloud-processable data classes",
                )
        if m.external_fallback:
            denied = [
                dc for dc, p in zip(m.data_classes, policies, strict=False) if Place.EXTERNAL_API not in p.processing
            ]
            if denied:
                yield Problem(
                    _p(f"{base}.externalFallback"),
                    f"data class {', '.join(denied)} may not be sent to an external API",
                    "false",
                )
            if sv.router.external_api_model is None:
                yield Problem(
                    _p(f"{base}.externalFallback"),
                    "no external model is configured",
                    "set serving.router.externalApiModel or false",
                )
        if cfg.on_prem is not None and m.gpus_per_replica > max_gpus_on_site and not m.burst_to_cloud:
            yield Problem(
                _p(f"{base}.gpusPerReplica"),
                f"{m.gpus_per_replica} GPUs do not fit on any on-prem server (largest has {max_gpus_on_site})",
                f"1..{max_gpus_on_site}",
            )
        if cfg.on_prem is None and not m.burst_to_cloud:
            yield Problem(
                _p(f"{base}.burstToCloud"),
                "without an on-prem site a model can only run on cloud burst nodes",
                "true",
            )


def _candidate(m: ServedModel, base: str, names: set[str]) -> Iterator[Problem]:
    """A candidate is served as `<name>-candidate`: the name must stay a free, valid DNS label."""
    if m.candidate is None:
        return
    variant = f"{m.name}{CANDIDATE_SUFFIX}"
    if len(variant) > 40:
        yield Problem(
            _p(f"{base}.name"),
            f"with a candidate the name may have at most {40 - len(CANDIDATE_SUFFIX)} characters",
            f"a shorter name than '{m.name}'",
        )
    if variant in names:
        yield Problem(_p(f"{base}.candidate"), f"another model is already named '{variant}'", "rename that model")


def _router(cfg: FactoryConfig) -> Iterator[Problem]:
    """Team access (namespaces, callable models) and where TLS ends."""
    if cfg.serving is None:
        return
    router = cfg.serving.router
    names = routing.callable_names(cfg)
    for team, access in router.teams.items():
        base = f"serving.router.teams.{team}"
        if team not in cfg.kubernetes.teams:
            yield Problem(
                _p(base),
                "the team's key Secret goes to its namespace, and the team has none",
                f"add kubernetes.teams.{team} (gpuQuota may be 0)",
            )
        for i, name in enumerate(access.models or []):
            if name not in names:
                yield Problem(
                    _p(f"{base}.models[{i}]"), f"'{name}' is no model or alias of the router", ", ".join(names)
                )
    if router.tls_secret is not None and router.tls_certificate_arn is not None:
        yield Problem(
            _p("serving.router.tlsSecret"),
            "TLS ends either at the AWS load balancer (tlsCertificateArn) or at the router (tlsSecret)",
            "one of them",
        )
    if router.tls_certificate_arn is not None and routing.router_on_prem(cfg):
        yield Problem(
            _p("serving.router.tlsCertificateArn"),
            f"data class {', '.join(routing.routed_classes_on_prem_only(cfg))} may be processed on-prem only, and TLS "
            "ending at an AWS load balancer would expose its prompts in the cloud",
            "tlsSecret (the router, on the site's nodes, terminates TLS)",
        )
    if cfg.is_prod and router.tls_secret is None and router.tls_certificate_arn is None:
        yield Problem(
            _p("serving.router"),
            "tier prod serves the router over TLS (prompts and keys cross the network)",
            "tlsSecret, or tlsCertificateArn on EKS",
        )


def _kubernetes(cfg: FactoryConfig) -> Iterator[Problem]:
    """The platform's own settings: GPU sharing per existing pool, router TLS on EKS only."""
    pools = {"on-prem": cfg.on_prem is not None, "cloud": cfg.has_eks}
    for pool, sharing in cfg.kubernetes.gpu_sharing.items():
        base = f"kubernetes.gpuSharing.{pool}"
        if not pools[pool]:
            yield Problem(_p(base), f"the stack has no {pool} GPU nodes", ", ".join(p for p, ok in pools.items() if ok))
        if sharing.strategy == "time-slicing" and sharing.replicas is None:
            yield Problem(_p(f"{base}.replicas"), "time-slicing needs the pods per GPU", "an integer 2..48")
        if sharing.strategy != "time-slicing" and sharing.replicas is not None:
            yield Problem(_p(f"{base}.replicas"), "replicas apply to time-slicing only", "remove it")
        if sharing.strategy == "mig" and sharing.mig_profile is None:
            yield Problem(_p(f"{base}.migProfile"), "MIG needs the profile the mig-manager applies", "e.g. all-1g.10gb")
        if sharing.strategy != "mig" and sharing.mig_profile is not None:
            yield Problem(_p(f"{base}.migProfile"), "a MIG profile applies to strategy mig only", "remove it")
        if sharing.strategy == "mig" and sharing.mig_profile is not None:
            for why in gpu_sharing.mig_profile_problems(cfg, pool, sharing.mig_profile):
                yield Problem(_p(f"{base}.migProfile"), why, "strategy time-slicing or none for this pool")
    yield from _models_on_shared_gpus(cfg)
    router = cfg.serving.router if cfg.serving is not None else None
    if router is not None and router.tls_certificate_arn is not None:
        if not cfg.has_eks:
            yield Problem(
                _p("serving.router.tlsCertificateArn"),
                "the ACM certificate fronts an internal AWS load balancer, and this stack has no cloud.eks",
                "remove it (on-prem clusters terminate TLS at their own ingress)",
            )
        elif cfg.cloud is not None and f":acm:{cfg.cloud.region}:" not in router.tls_certificate_arn:
            yield Problem(
                _p("serving.router.tlsCertificateArn"),
                "the certificate must live in the cluster's region",
                f"an ACM certificate in {cfg.cloud.region}",
            )


def _models_on_shared_gpus(cfg: FactoryConfig) -> Iterator[Problem]:
    """A shared GPU (a time slice or a MIG slice) is one `nvidia.com/gpu` that cannot be combined with
    others: the device plugin refuses more than one time-sliced GPU per container
    (failRequestsGreaterThanOne), and tensor parallelism does not span MIG slices."""
    if cfg.serving is None:
        return
    shared = gpu_sharing.shared_pools(cfg)
    for i, model in enumerate(cfg.serving.models):
        if model.gpus_per_replica == 1:
            continue
        for place in sorted(routing.model_places(cfg, model)):
            if place.value in shared:
                yield Problem(
                    _p(f"serving.models[{i}].gpusPerReplica"),
                    f"{model.gpus_per_replica} GPUs per replica cannot run on the {place.value} pool, which shares "
                    f"its GPUs ({shared[place.value].strategy})",
                    f"1, or kubernetes.gpuSharing.{place.value}.strategy none",
                )


def _budget(cfg: FactoryConfig) -> Iterator[Problem]:
    b = cfg.budget
    if b.cloud_monthly_usd > b.total_monthly_usd:
        yield Problem(
            _p("budget.cloudMonthlyUsd"),
            f"{b.cloud_monthly_usd:g} exceeds totalMonthlyUsd {b.total_monthly_usd:g}",
            f"0..{b.total_monthly_usd:g}",
        )
    if list(b.alert_thresholds_percent) != sorted(set(b.alert_thresholds_percent)):
        yield Problem(
            _p("budget.alertThresholdsPercent"), "thresholds must be ascending and distinct", "e.g. [50, 75, 90, 100]"
        )
    # AWS Budgets accepts at most ten notifications per budget (SDK reference, Notification).
    n = len(b.alert_thresholds_percent) + (1 if b.forecast_threshold_percent else 0)
    if n > 10:
        yield Problem(
            _p("budget.alertThresholdsPercent"), f"{n} notifications exceed AWS's 10 per budget", "10 or fewer"
        )
