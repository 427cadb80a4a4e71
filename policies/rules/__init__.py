"""The rule registry: the one list both the CrossGuard pack and `factory plan` use."""

from __future__ import annotations

from policies.rules import residency, tags
from policies.rules.base import Enforcement, Finding, ResourceView, Rule

RULES: tuple[Rule, ...] = (
    residency.RULE,
    tags.RULE,
)

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
RULES_BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}

__all__ = ["RULES", "RULES_BY_ID", "RULES_BY_NAME", "Enforcement", "Finding", "ResourceView", "Rule"]
