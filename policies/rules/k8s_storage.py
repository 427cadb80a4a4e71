"""Encryption at rest of Kubernetes volumes (resource rule).

AIF-ENC-009: every claim the platform creates (PersistentVolumeClaims and StatefulSet claim
templates) names one of the stack's encrypted StorageClasses, and the cloud class it creates
encrypts. A claim without a class gets the cluster's default one, whose encryption nobody checked.

The site's class (kubernetes.onPremStorageClass) is created on site: the rule can only hold claims
to it by name; that it really encrypts (LUKS-backed local volumes, …) is a site prerequisite.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.rules.base import Enforcement, ResourceView, Rule, get_path, is_unknown
from policies.rules.helpers import by_tier

PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
EBS_CSI = "ebs.csi.aws.com"


def _facts(cfg: Any) -> dict[str, Any]:
    # Imported here: the rule module stays importable without the platform's modules.
    from components.k8s.storage_classes import CLOUD_STORAGE_CLASS

    classes = []
    if cfg.has_eks:
        classes.append(CLOUD_STORAGE_CLASS)
    if cfg.on_prem is not None:
        classes.append(cfg.kubernetes.on_prem_storage_class)
    return {"encryptedStorageClasses": classes}


def _claim_problem(where: str, spec: Any, allowed: list[str]) -> str | None:
    cls = get_path(spec, "storageClassName") if isinstance(spec, Mapping) else None
    if is_unknown(cls):
        return None
    if not cls:
        return f"{where} names no storageClassName: it would get the cluster's default class, not an encrypted one"
    if cls not in allowed:
        return f"{where} uses StorageClass {cls}, not one of the encrypted classes ({', '.join(allowed) or 'none'})"
    return None


def check_volumes(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    allowed = list(config["encryptedStorageClasses"])
    props = resource.props
    if resource.type == PVC:
        problem = _claim_problem("claim", props.get("spec"), allowed)
        if problem:
            yield problem
        return
    if resource.type == STATEFULSET:
        templates = get_path(props, "spec", "volumeClaimTemplates")
        if is_unknown(templates) or not isinstance(templates, list):
            return
        for i, tpl in enumerate(templates):
            name = get_path(tpl, "metadata", "name") or i
            problem = _claim_problem(f"volumeClaimTemplates[{name}]", get_path(tpl, "spec"), allowed)
            if problem:
                yield problem
        return
    # A StorageClass of ours that claims may use must encrypt (the EBS CSI driver's `encrypted`).
    name = get_path(props, "metadata", "name")
    if name in allowed and props.get("provisioner") == EBS_CSI:
        encrypted = get_path(props, "parameters", "encrypted")
        if not is_unknown(encrypted) and str(encrypted).lower() != "true":
            yield f'StorageClass {name} does not set parameters.encrypted: "true"'
        key = get_path(props, "parameters", "kmsKeyId")
        if not is_unknown(key) and not key:
            yield f"StorageClass {name} sets no kmsKeyId: volumes would use the account's default EBS key"


RULE = Rule(
    id="AIF-ENC-009",
    name="k8s-volumes-encrypted",
    description=(
        "Every PersistentVolumeClaim and StatefulSet claim template names one of the stack's encrypted "
        "StorageClasses, and the cloud class encrypts with the stack key."
    ),
    why=(
        "Vector data, the router's spend records and metrics live on these volumes; a claim without a class "
        "lands on whatever the cluster's default class is."
    ),
    remediation=(
        "Set storageClassName to the platform's class (aif-encrypted-gp3 on EKS, kubernetes.onPremStorageClass "
        "on site); leave vectorStore.storageClass and the router database's storageClass unset or name one of them."
    ),
    enforcement=by_tier(Enforcement.ADVISORY, Enforcement.MANDATORY, Enforcement.MANDATORY),
    config_schema={"encryptedStorageClasses": {"type": "array", "items": {"type": "string"}}},
    stack_facts=_facts,
    kind="resource",
    check=check_volumes,
    applies_to=lambda t: t in (PVC, STATEFULSET, STORAGE_CLASS),
)

RULES = (RULE,)
