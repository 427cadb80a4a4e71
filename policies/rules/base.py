"""What a rule is, what it sees, and how its findings look.

A rule is a pure function over (resource type, inputs, config) — or over all resources for
stack rules. The CrossGuard pack (policies/pack.py) and `factory plan` (the engine) call the
same functions; neither adds logic of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class Enforcement(StrEnum):
    MANDATORY = "mandatory"
    ADVISORY = "advisory"
    DISABLED = "disabled"


class _Unknown:
    """A value not known until the resource exists (a preview-time unknown).

    Rules must treat it explicitly: mandatory budget and residency rules fail closed.
    """

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:  # an unknown is never a truthy "yes"
        return False


UNKNOWN: Any = _Unknown()


def is_unknown(value: object) -> bool:
    return value is UNKNOWN


@dataclass(frozen=True)
class ResourceView:
    """One resource as a rule sees it (inputs in Pulumi's camelCase)."""

    type: str
    urn: str
    name: str
    props: Mapping[str, Any]
    provider_props: Mapping[str, Any] | None = None
    """Inputs of the resource's provider (e.g. its `region`), None when not known."""
    protect: bool = False
    retain_on_delete: bool | None = None
    """None where the engine does not tell (CrossGuard does not expose it)."""
    parent: str | None = None
    dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Property name → URNs it was computed from (CrossGuard's property_dependencies).

    Empty where the engine does not tell; rules that match resources to each other (a
    bucket and its encryption configuration) then fall back to parent and known values.
    """


@dataclass(frozen=True)
class Finding:
    message: str
    urn: str | None = None


ResourceCheck = Callable[[ResourceView, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[list[ResourceView], Mapping[str, Any]], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    """Stable ID, e.g. AIF-TAG-001. Never reused for another meaning."""
    name: str
    """kebab-case CrossGuard policy name."""
    description: str
    """One sentence: what the rule ensures."""
    why: str
    remediation: str
    enforcement: Mapping[str, Enforcement]
    """Default enforcement per tier (dev/staging/prod)."""
    config_schema: Mapping[str, Mapping[str, Any]]
    """JSON-schema properties of the rule's pack config (all required: no config, no pass)."""
    stack_facts: Callable[[Any], dict[str, Any]]
    """FactoryConfig → this rule's pack config (what `factory policy-config` writes)."""
    kind: Literal["resource", "stack"]
    check: Any
    """ResourceCheck for kind "resource", StackCheck for kind "stack"."""
    applies_to: Callable[[str], bool] = field(default=lambda _t: True)
    """Resource types the rule looks at (resource rules)."""

    def run(self, resources: list[ResourceView], config: Mapping[str, Any]) -> list[Finding]:
        """Every finding of this rule over `resources` (the engine's and the tests' entry)."""
        if self.kind == "stack":
            return list(self.check(resources, config))
        findings: list[Finding] = []
        for r in resources:
            if self.applies_to(r.type):
                findings.extend(Finding(msg, r.urn) for msg in self.check(r, config))
        return findings


def is_aws_resource(resource_type: str) -> bool:
    return resource_type.startswith("aws:")


def get_path(props: Mapping[str, Any], *path: str | int) -> Any:
    """`props[a][b]…` or None when any step is missing; UNKNOWN is passed through."""
    cur: Any = props
    for step in path:
        if is_unknown(cur):
            return UNKNOWN
        if isinstance(step, int):
            if not isinstance(cur, list) or step >= len(cur):
                return None
        elif not isinstance(cur, Mapping) or step not in cur:
            return None
        cur = cur[step]
    return cur
