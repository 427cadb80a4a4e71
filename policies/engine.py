"""Runs the registry's rules in-process over recorded resources (the offline plan's path)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from policies.rules import RULES
from policies.rules.base import Enforcement, ResourceView


@dataclass(frozen=True)
class Violation:
    policy: str
    """Rule ID, e.g. AIF-ENC-001."""
    name: str
    enforcement: str
    urn: str | None
    message: str
    remediation: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(resources: list[ResourceView], pack_config: Mapping[str, Any]) -> list[Violation]:
    """Every violation of every enabled rule, mandatory first, then by rule and URN."""
    out: list[Violation] = []
    for rule in RULES:
        conf = pack_config.get(rule.name)
        if conf is None:
            # Fail closed: a rule without its stack facts cannot pass anything.
            out.append(
                Violation(
                    rule.id,
                    rule.name,
                    Enforcement.MANDATORY.value,
                    None,
                    "the rule has no stack config (run `factory policy-config STACK`)",
                    rule.remediation,
                )
            )
            continue
        level = Enforcement(conf.get("enforcementLevel", Enforcement.MANDATORY.value))
        if level is Enforcement.DISABLED:
            continue
        try:
            findings = rule.run(resources, conf)
        except Exception as exc:  # a crashing rule must not pass anything (fail closed)
            out.append(
                Violation(
                    rule.id,
                    rule.name,
                    level.value,
                    None,
                    f"the rule could not run ({type(exc).__name__}: {exc}); failing closed",
                    rule.remediation,
                )
            )
            continue
        for finding in findings:
            out.append(Violation(rule.id, rule.name, level.value, finding.urn, finding.message, rule.remediation))
    out.sort(key=lambda v: (v.enforcement != Enforcement.MANDATORY.value, v.policy, v.urn or ""))
    return out
