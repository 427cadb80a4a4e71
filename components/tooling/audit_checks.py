"""What `factory audit` checks in the live account, one function per concern.

Each check yields `Hit(rule ID, resource, message)`; audit.py attaches the rule's name,
enforcement and remediation from the policy registry, so a live finding and a preview
finding of the same problem carry the same ID and the same advice. Where a rule's logic
applies to live data as is (tags, residency, SSE, TLS-only policy), the rule's own
function is called on a view of the live resource instead of re-implementing it.

Scope: resources tagged `environment=<stack's environment>` (Resource Groups Tagging API,
every enabled region), EKS clusters/node groups carrying that tag (listed through EKS too,
since the tagging API of some endpoints does not return them), and the stack's budget by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from components import conventions as c
from components.config.models import FactoryConfig
from components.gpus import gpus_per_instance
from components.tooling.audit_aws import AWS_ERRORS, Aws, as_failure, error_code, translating
from policies.rules import RULES_BY_ID
from policies.rules.base import ResourceView
from policies.rules.s3 import PUBLIC_ACCESS_FLAGS, denies_insecure_transport, sse_problem

ENC_S3, TLS_S3, PUBLIC_S3 = "AIF-ENC-001", "AIF-ENC-002", "AIF-SEC-001"
RESIDENCY, TAGS, KMS_ROTATION = "AIF-RES-001", "AIF-TAG-001", "AIF-ENC-007"
GPU_LIMIT, BUDGET_ALERTS = "AIF-BUD-002", "AIF-BUD-003"
RULE_IDS = (ENC_S3, TLS_S3, PUBLIC_S3, RESIDENCY, TAGS, KMS_ROTATION, GPU_LIMIT, BUDGET_ALERTS)
"""Every rule the audit reports under (all must exist in policies.rules.RULES_BY_ID)."""


@dataclass(frozen=True)
class LiveResource:
    arn: str
    region: str
    """Where it lives; "" for global resources (IAM, the budget)."""
    tags: Mapping[str, str]

    @property
    def service(self) -> str:
        return self.arn.split(":")[2]

    @property
    def kind(self) -> str:
        """`bucket`, `key`, `nodegroup`, … (the ARN's resource type)."""
        resource = self.arn.split(":", 5)[5]
        if self.service == "s3":
            return "bucket" if "/" not in resource else "object"
        return resource.split("/")[0].split(":")[0]

    @property
    def name(self) -> str:
        return self.arn.split(":", 5)[5].split("/", 1)[-1]


@dataclass(frozen=True)
class Hit:
    rule_id: str
    resource: str
    message: str
    region: str = ""


# ------------------------------------------------------------------------ discovery
def enabled_regions(aws: Aws) -> list[str]:
    with translating("ec2:DescribeRegions"):
        regions = aws.client("ec2").describe_regions()["Regions"]
    return sorted(r["RegionName"] for r in regions if r.get("OptInStatus") != "not-opted-in")


def _bucket_region(aws: Aws, name: str) -> str:
    with translating(f"s3:GetBucketLocation {name}"):
        loc = aws.client("s3").get_bucket_location(Bucket=name).get("LocationConstraint")
    # S3's historical spellings: no constraint is us-east-1, "EU" is eu-west-1.
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(loc, loc)


def discover(aws: Aws, environment: str, regions: Iterable[str]) -> dict[str, LiveResource]:
    """ARN → resource for everything tagged with the stack's environment, in every region."""
    found: dict[str, LiveResource] = {}
    flt = [{"Key": c.TAG_ENVIRONMENT, "Values": [environment]}]
    for region in regions:
        with translating(f"tag:GetResources in {region}"):
            for page in aws.pages("resourcegroupstaggingapi", "get_resources", region, TagFilters=flt):
                for m in page.get("ResourceTagMappingList", []):
                    arn = m["ResourceARN"]
                    if arn in found:
                        continue  # S3 buckets are global: some endpoints list them in every region
                    tags = {t["Key"]: t["Value"] for t in m.get("Tags", [])}
                    arn_region = arn.split(":")[3]
                    found[arn] = LiveResource(arn, arn_region, tags)
    for arn, res in list(found.items()):
        if res.service == "s3" and res.kind == "bucket":
            found[arn] = LiveResource(arn, _bucket_region(aws, res.name), res.tags)
    return found


def discover_eks(aws: Aws, environment: str, regions: Iterable[str]) -> dict[str, tuple[LiveResource, list[Any]]]:
    """Cluster ARN → (cluster, its node groups as described) for clusters tagged with the environment."""
    out: dict[str, tuple[LiveResource, list[Any]]] = {}
    for region in regions:
        with translating(f"eks:ListClusters in {region}"):
            names = [n for page in aws.pages("eks", "list_clusters", region) for n in page.get("clusters", [])]
        eks = aws.client("eks", region)
        for name in names:
            with translating(f"eks:DescribeCluster {name}"):
                cluster = eks.describe_cluster(name=name)["cluster"]
            if (cluster.get("tags") or {}).get(c.TAG_ENVIRONMENT) != environment:
                continue
            groups = []
            with translating(f"eks:ListNodegroups {name}"):
                for page in aws.pages("eks", "list_nodegroups", region, clusterName=name):
                    for ng in page.get("nodegroups", []):
                        groups.append(eks.describe_nodegroup(clusterName=name, nodegroupName=ng)["nodegroup"])
            out[cluster["arn"]] = (LiveResource(cluster["arn"], region, cluster.get("tags") or {}), groups)
    return out


# ----------------------------------------------------------------- resource checks
def _rule_messages(rule_id: str, props: Mapping[str, Any], res: LiveResource, facts: Mapping[str, Any]) -> list[str]:
    rule = RULES_BY_ID[rule_id]
    view = ResourceView(type=f"aws:{res.service}", urn=res.arn, name=res.name, props=props)
    return list(rule.check(view, facts))


def check_residency(resources: Iterable[LiveResource], cfg: FactoryConfig) -> Iterator[Hit]:
    facts = RULES_BY_ID[RESIDENCY].stack_facts(cfg)
    for res in resources:
        if res.region:  # global resources (IAM roles, budgets) have no region to judge
            for msg in _rule_messages(RESIDENCY, {"region": res.region}, res, facts):
                yield Hit(RESIDENCY, res.arn, msg, res.region)


def check_tags(resources: Iterable[LiveResource], cfg: FactoryConfig) -> Iterator[Hit]:
    facts = RULES_BY_ID[TAGS].stack_facts(cfg)
    for res in resources:
        for msg in _rule_messages(TAGS, {"tags": dict(res.tags)}, res, facts):
            yield Hit(TAGS, res.arn, msg, res.region)


def _missing(exc: BaseException, *codes: str) -> bool:
    return error_code(exc) in codes


def check_bucket(aws: Aws, bucket: LiveResource) -> Iterator[Hit]:
    s3, name = aws.client("s3", bucket.region or None), bucket.name
    try:
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"].get("Rules", [])
    except AWS_ERRORS as exc:
        if not _missing(exc, "ServerSideEncryptionConfigurationNotFoundError"):
            raise as_failure(exc, f"s3:GetEncryptionConfiguration {name}") from None
        rules = []
    # The rule reads Pulumi's camelCase inputs: translate the API's PascalCase answer.
    props = {
        "rules": [
            {
                "applyServerSideEncryptionByDefault": {
                    "sseAlgorithm": (r.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm"),
                    "kmsMasterKeyId": (r.get("ApplyServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID"),
                }
            }
            for r in rules
        ]
    }
    problem = sse_problem(props)
    if problem:
        yield Hit(
            ENC_S3,
            bucket.arn,
            f"bucket {name} is not encrypted with SSE-KMS and a customer key: {problem}",
            bucket.region,
        )
    try:
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    except AWS_ERRORS as exc:
        if not _missing(exc, "NoSuchPublicAccessBlockConfiguration"):
            raise as_failure(exc, f"s3:GetBucketPublicAccessBlock {name}") from None
        block = {}
    off = [f for f in PUBLIC_ACCESS_FLAGS if block.get(f[0].upper() + f[1:]) is not True]
    if off:
        yield Hit(
            PUBLIC_S3, bucket.arn, f"bucket {name}: public access block does not set {', '.join(off)}", bucket.region
        )
    try:
        document = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    except AWS_ERRORS as exc:
        if not _missing(exc, "NoSuchBucketPolicy"):
            raise as_failure(exc, f"s3:GetBucketPolicy {name}") from None
        document = None
    except ValueError:
        document = {}  # a policy that is not JSON denies nothing
    if not denies_insecure_transport(document):
        what = "has no bucket policy" if document is None else "policy does not deny aws:SecureTransport false"
        yield Hit(TLS_S3, bucket.arn, f"bucket {name} {what} (TLS-only access not enforced)", bucket.region)


def check_key(aws: Aws, key: LiveResource) -> Iterator[Hit]:
    kms = aws.client("kms", key.region)
    with translating(f"kms:DescribeKey {key.name}"):
        meta = kms.describe_key(KeyId=key.arn)["KeyMetadata"]
    # AWS rotates only enabled, customer-managed, symmetric encryption keys.
    if meta.get("KeyManager") != "CUSTOMER" or meta.get("KeyState") != "Enabled":
        return
    if meta.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        return
    with translating(f"kms:GetKeyRotationStatus {key.name}"):
        enabled = kms.get_key_rotation_status(KeyId=key.arn).get("KeyRotationEnabled")
    if not enabled:
        yield Hit(KMS_ROTATION, key.arn, "automatic key rotation is not enabled", key.region)


def check_gpu_limits(clusters: Mapping[str, tuple[LiveResource, list[Any]]], cfg: FactoryConfig) -> Iterator[Hit]:
    limit = RULES_BY_ID[GPU_LIMIT].stack_facts(cfg)["maxGpus"]
    for arn, (cluster, groups) in sorted(clusters.items()):
        total = 0
        for ng in groups:
            gpus = max((gpus_per_instance(t) or 0 for t in ng.get("instanceTypes") or []), default=0)
            if not gpus:
                continue
            max_size = (ng.get("scalingConfig") or {}).get("maxSize")
            if not isinstance(max_size, int):
                yield Hit(
                    GPU_LIMIT, ng["nodegroupArn"], "GPU node group has no maxSize: no hard GPU limit", cluster.region
                )
                continue
            total += max_size * gpus
        if total > limit:
            yield Hit(
                GPU_LIMIT,
                arn,
                f"GPU node groups can reach {total} GPUs, above cloud.eks.burst.maxGpus {limit}",
                cluster.region,
            )


def check_budget(aws: Aws, cfg: FactoryConfig, account: str, budget_name: str) -> Iterator[Hit]:
    facts = RULES_BY_ID[BUDGET_ALERTS].stack_facts(cfg)
    budgets = aws.client("budgets", "us-east-1")
    resource = f"arn:aws:budgets::{account}:budget/{budget_name}"
    try:
        budget = budgets.describe_budget(AccountId=account, BudgetName=budget_name)["Budget"]
    except AWS_ERRORS as exc:
        if error_code(exc) != "NotFoundException":
            raise as_failure(exc, f"budgets:ViewBudget {budget_name}") from None
        yield Hit(BUDGET_ALERTS, resource, f"budget {budget_name} does not exist")
        return
    present: set[tuple[str, float]] = set()
    with translating(f"budgets:DescribeNotificationsForBudget {budget_name}"):
        for page in aws.pages(
            "budgets", "describe_notifications_for_budget", "us-east-1", AccountId=account, BudgetName=budget_name
        ):
            for n in page.get("Notifications", []):
                if n.get("ThresholdType", "PERCENTAGE") == "PERCENTAGE":
                    present.add((str(n.get("NotificationType")), float(n.get("Threshold", -1))))
    wanted = {("ACTUAL", float(t)) for t in facts["actualThresholds"]}
    if facts["forecastThreshold"]:
        wanted.add(("FORECASTED", float(facts["forecastThreshold"])))
    missing = sorted(wanted - present)
    if missing:
        listed = ", ".join(f"{kind} {t:g}%" for kind, t in missing)
        yield Hit(BUDGET_ALERTS, resource, f"budget {budget_name} lacks notifications at {listed}")
    limit = (budget.get("BudgetLimit") or {}).get("Amount")
    try:
        if limit is not None and float(limit) > facts["cloudMonthlyUsd"]:
            yield Hit(
                BUDGET_ALERTS,
                resource,
                f"budget limit {float(limit):g} exceeds budget.cloudMonthlyUsd {facts['cloudMonthlyUsd']:g}",
            )
    except ValueError:
        yield Hit(BUDGET_ALERTS, resource, f"budget limit {limit!r} is not a number")
