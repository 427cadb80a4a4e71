"""Stateful resources survive mistakes in production (resource rules).

AIF-DATA-001 protected · AIF-DATA-002 retained on delete.

Stateful: buckets, KMS keys, EBS volumes and the vector store's data (namespace aif-vector):
its PVCs, or the StatefulSet whose volumeClaimTemplates create them — those PVCs are not
Pulumi resources, so the StatefulSet must be protected and keep its claims when deleted
(persistentVolumeClaimRetentionPolicy.whenDeleted: Retain, the Kubernetes default).
CrossGuard does not expose retainOnDelete (ResourceView.retain_on_delete is None there): the
rule then cannot tell and decides by `protect` alone, which Pulumi does expose.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from components import conventions as c
from policies.rules.base import Enforcement, ResourceView, Rule
from policies.rules.helpers import by_tier, k8s_namespace, tier_facts

PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
VECTOR_TYPES = (PVC, STATEFUL_SET)
STATEFUL_AWS = frozenset({"aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:ebs/volume:Volume"})
PROD_ONLY = by_tier(Enforcement.DISABLED, Enforcement.DISABLED, Enforcement.MANDATORY)


def is_stateful(resource: ResourceView) -> bool:
    if resource.type in STATEFUL_AWS:
        return True
    return resource.type in VECTOR_TYPES and k8s_namespace(resource) == c.NAMESPACE_VECTOR


def check_protected(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    if config["tier"] == "prod" and is_stateful(resource) and not resource.protect:
        yield "stateful resource is not protected (protect=True) in a prod tier"


def check_retained(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    if config["tier"] != "prod" or not is_stateful(resource):
        return
    if resource.retain_on_delete is None:
        if not resource.protect:
            yield "retainOnDelete cannot be seen here and the resource is not protected either"
    elif not resource.retain_on_delete:
        yield "stateful resource is not retained on delete (retain_on_delete=True) in a prod tier"
    if resource.type == STATEFUL_SET:
        policy = (resource.props.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
        if isinstance(policy, Mapping) and policy.get("whenDeleted") == "Delete":
            yield (
                "persistentVolumeClaimRetentionPolicy.whenDeleted is Delete: deleting the StatefulSet deletes its data"
            )


PROTECTED_RULE = Rule(
    id="AIF-DATA-001",
    name="stateful-protected",
    description="In tier prod, buckets, KMS keys, EBS volumes and the vector store's PVCs/StatefulSet are protected.",
    why="`protect` turns an accidental replace or `pulumi destroy` of production data into an error.",
    remediation="Create stateful resources with ResourceOptions(protect=cfg.is_prod) (the Storage component's `keep`).",
    enforcement=PROD_ONLY,
    config_schema={"tier": {"type": "string", "enum": ["dev", "staging", "prod"]}},
    stack_facts=tier_facts,
    kind="resource",
    check=check_protected,
    applies_to=lambda t: t in STATEFUL_AWS or t in VECTOR_TYPES,
)

RETAINED_RULE = Rule(
    id="AIF-DATA-002",
    name="stateful-retained",
    description="In tier prod, buckets, KMS keys, EBS volumes and the vector store's data are retained on delete.",
    why="Removing a resource from the program must not delete the data it holds.",
    remediation="Create stateful resources with ResourceOptions(retain_on_delete=cfg.is_prod).",
    enforcement=PROD_ONLY,
    config_schema={"tier": {"type": "string", "enum": ["dev", "staging", "prod"]}},
    stack_facts=tier_facts,
    kind="resource",
    check=check_retained,
    applies_to=lambda t: t in STATEFUL_AWS or t in VECTOR_TYPES,
)

RULES = (PROTECTED_RULE, RETAINED_RULE)
