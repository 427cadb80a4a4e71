"""Residency beyond the resource's own region (AIF-RES-001 is residency.py).

AIF-RES-002 replication and backup destinations · AIF-RES-003 on-prem site country ·
AIF-RES-006 bucket data class may be stored in the cloud.

Fail closed: a destination whose region cannot be determined is a finding.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from components import conventions as c
from policies.rules.base import Finding, ResourceView, Rule, get_path, is_unknown
from policies.rules.helpers import everywhere, of_type
from policies.rules.residency import resource_region

BUCKET = "aws:s3/bucket:Bucket"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
BACKUP_PLAN = "aws:backup/plan:Plan"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"


def _regions_facts(cfg: Any) -> dict[str, Any]:
    return {"allowedRegions": list(cfg.residency.allowed_regions)}


def arn_region(arn: Any) -> Any:
    """Region field of an ARN (`arn:partition:service:region:…`); "" for global ARNs (S3), UNKNOWN passed."""
    if is_unknown(arn):
        return arn
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return None
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else None


def _s3_destination_region(source: ResourceView, arn: Any, buckets: list[ResourceView]) -> Any:
    """Region of a replication destination bucket: S3 ARNs carry none, so find the bucket in the stack."""
    deps = source.dependencies.get("rules", ())
    for b in buckets:
        if b.urn in deps and b.urn != source.parent:
            return resource_region(b)
    if isinstance(arn, str) and not is_unknown(arn):
        name = arn.rsplit(":", 1)[-1]
        for b in buckets:
            if name in (b.props.get("bucket"), f"{b.name}-xxxxxxx") or name.startswith(f"{b.name}-"):
                return resource_region(b)
    return None


def _destinations(r: ResourceView, buckets: list[ResourceView]) -> Iterator[tuple[str, Any]]:
    """(what, region) of every replica/backup destination of `r`."""
    props = r.props
    if r.type == S3_REPLICATION:
        for i, rule in enumerate(props.get("rules") or []):
            arn = get_path(rule, "destination", "bucket")
            yield f"replication rule {i} destination {arn}", _s3_destination_region(r, arn, buckets)
    elif r.type == BACKUP_PLAN:
        for i, rule in enumerate(props.get("rules") or []):
            for j, action in enumerate(get_path(rule, "copyActions") or []):
                arn = get_path(action, "destinationVaultArn")
                yield f"backup rule {i} copy action {j} vault {arn}", arn_region(arn)
    elif r.type == DYNAMODB_TABLE:
        for i, replica in enumerate(props.get("replicas") or []):
            yield f"replica {i}", get_path(replica, "regionName")
    elif r.type == ECR_REPLICATION:
        for i, rule in enumerate(get_path(props, "replicationConfiguration", "rules") or []):
            for j, dest in enumerate(get_path(rule, "destinations") or []):
                yield f"rule {i} destination {j}", get_path(dest, "region")


def check_destinations(resources: list[ResourceView], config: Mapping[str, Any]) -> Iterator[Finding]:
    allowed = config["allowedRegions"]
    buckets = of_type(resources, BUCKET)
    for r in of_type(resources, S3_REPLICATION, BACKUP_PLAN, DYNAMODB_TABLE, ECR_REPLICATION):
        for what, region in _destinations(r, buckets):
            if is_unknown(region):
                yield Finding(
                    f"{what}: region is unknown at preview; residency cannot be verified (fail closed)", r.urn
                )
            elif not region:
                yield Finding(f"{what}: region cannot be determined; residency cannot be verified (fail closed)", r.urn)
            elif region not in allowed:
                yield Finding(f"{what} is in {region}, outside the residency allow-list ({', '.join(allowed)})", r.urn)


def _site_facts(cfg: Any) -> dict[str, Any]:
    return {
        "allowedCountries": list(cfg.residency.allowed_countries),
        "siteCountry": cfg.on_prem.country if cfg.on_prem else None,
        "site": cfg.on_prem.site if cfg.on_prem else None,
    }


def check_site(resources: list[ResourceView], config: Mapping[str, Any]) -> Iterator[Finding]:
    country = config["siteCountry"]
    if country is None:
        return
    if country not in config["allowedCountries"]:
        # Name the on-prem component when the stack has one, so the finding points at it.
        urn = next((r.urn for r in resources if r.type.startswith(f"{c.PROJECT}:onprem:")), None)
        yield Finding(
            f"on-prem site {config['site']} is in {country}, outside the allowed countries "
            f"({', '.join(config['allowedCountries'])})",
            urn,
        )


def _classes_facts(cfg: Any) -> dict[str, Any]:
    return {
        "dataClasses": {
            name: {"storage": list(p.storage), "processing": [x.value for x in p.processing]}
            for name, p in cfg.residency.data_classes.items()
        }
    }


def check_bucket_class(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    tags = resource.props.get("tags")
    value = tags.get(c.TAG_DATA_CLASSIFICATION) if isinstance(tags, Mapping) else tags
    if is_unknown(value):
        yield "data-classification tag is unknown at preview; residency cannot be verified (fail closed)"
        return
    classes = config["dataClasses"]
    if not value:
        yield "no data-classification tag; residency cannot be verified (fail closed)"
    elif value not in classes:
        yield f"data class {value!r} is not defined in residency.dataClasses ({', '.join(sorted(classes))})"
    elif c.PLACE_CLOUD not in classes[value]["storage"]:
        yield f"data class {value!r} may not be stored in the cloud (storage: {', '.join(classes[value]['storage'])})"


DESTINATIONS_RULE = Rule(
    id="AIF-RES-002",
    name="replication-destination-residency",
    description="Every replication and backup destination (S3, AWS Backup, DynamoDB, ECR) is in an allowed region.",
    why=(
        "A replica is a copy of the data: replicating outside the "
        "allow-list breaks residency as surely as storing there."
    ),
    remediation=(
        "Replicate only to buckets/vaults created in this stack with a provider whose region is in "
        "`ai-factory:residency.allowedRegions`."
    ),
    enforcement=everywhere(),
    config_schema={"allowedRegions": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
    stack_facts=_regions_facts,
    kind="stack",
    check=check_destinations,
)

SITE_RULE = Rule(
    id="AIF-RES-003",
    name="onprem-site-country",
    description="The on-prem site is in a country on the residency allow-list.",
    why="On-prem data is still bound by residency; a site abroad moves every restricted data class with it.",
    remediation="Set `ai-factory:onPrem.country` to the site's real country and keep it in residency.allowedCountries.",
    enforcement=everywhere(),
    config_schema={
        "allowedCountries": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "siteCountry": {"type": ["string", "null"]},
        "site": {"type": ["string", "null"]},
    },
    stack_facts=_site_facts,
    kind="stack",
    check=check_site,
)

BUCKET_CLASS_RULE = Rule(
    id="AIF-RES-006",
    name="bucket-data-class-residency",
    description="Every S3 bucket carries a data class whose residency allows cloud storage.",
    why="The bucket's data class decides where its objects may live; a restricted class in S3 leaves the site.",
    remediation="Keep restricted data on-prem; give buckets only data classes whose `storage` includes cloud.",
    enforcement=everywhere(),
    config_schema={"dataClasses": {"type": "object"}},
    stack_facts=_classes_facts,
    kind="resource",
    check=check_bucket_class,
    applies_to=lambda t: t == BUCKET,
)

RULES = (DESTINATIONS_RULE, SITE_RULE, BUCKET_CLASS_RULE)
