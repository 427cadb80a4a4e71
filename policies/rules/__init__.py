"""The rule registry: the one list both the CrossGuard pack and `factory plan` use.

Order is the catalogue's order (docs/POLICIES.md): by family, then by ID. IDs are stable and
never reused for another meaning.
"""

from __future__ import annotations

from policies.rules import (
    budget,
    encryption,
    exposure,
    iam,
    k8s,
    k8s_storage,
    placement,
    protection,
    release,
    residency,
    residency_more,
    s3,
    tags,
)
from policies.rules.base import Enforcement, Finding, ResourceView, Rule

_FAMILY_ORDER = ("ENC", "RES", "BUD", "SEC", "IAM", "TAG", "K8S", "REL", "DATA")

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            *s3.RULES,
            *encryption.RULES,
            *k8s_storage.RULES,
            residency.RULE,
            *residency_more.RULES,
            *placement.RULES,
            *budget.RULES,
            *exposure.RULES,
            *iam.RULES,
            tags.RULE,
            *k8s.RULES,
            *protection.RULES,
            *release.RULES,
        ),
        key=lambda r: (_FAMILY_ORDER.index(r.id.split("-")[1]), r.id),
    )
)

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
RULES_BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}

__all__ = ["RULES", "RULES_BY_ID", "RULES_BY_NAME", "Enforcement", "Finding", "ResourceView", "Rule"]
