"""AIF-RES-001: every AWS resource and provider is in a region the residency allows.

Fail closed: a region that cannot be determined (unknown at preview, or no region on the
resource nor its provider) is a finding, never a silent pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.rules.base import Enforcement, ResourceView, Rule, is_unknown

AWS_PROVIDER = "pulumi:providers:aws"


def _facts(cfg: Any) -> dict[str, Any]:
    return {"allowedRegions": list(cfg.residency.allowed_regions)}


def resource_region(resource: ResourceView) -> Any:
    """The region a resource lives in: its own `region` input (pulumi-aws v7), else its provider's.

    Returns the UNKNOWN sentinel when a region is set but not yet known, None when none is set.
    """
    own = resource.props.get("region")
    if own is not None:
        return own
    if resource.type == AWS_PROVIDER:
        return None
    if resource.provider_props is None:
        return None
    return resource.provider_props.get("region")


def check(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    allowed = config["allowedRegions"]
    region = resource_region(resource)
    if is_unknown(region):
        yield "region is unknown at preview; residency cannot be verified (fail closed)"
    elif not region:
        yield "no region is set on the resource or its provider; residency cannot be verified (fail closed)"
    elif region not in allowed:
        yield f"region {region} is outside the residency allow-list ({', '.join(allowed)})"


RULE = Rule(
    id="AIF-RES-001",
    name="aws-region-residency",
    description="Every AWS resource and AWS provider is in a region on the stack's residency allow-list.",
    why="Data residency is a legal obligation: a resource in another region moves data out of its jurisdiction.",
    remediation=(
        "Create AWS resources only with the stack's explicit provider (components/aws/provider.py) and keep "
        "`ai-factory:cloud.region` inside `ai-factory:residency.allowedRegions`."
    ),
    enforcement={t: Enforcement.MANDATORY for t in ("dev", "staging", "prod")},
    config_schema={"allowedRegions": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
    stack_facts=_facts,
    kind="resource",
    check=check,
    applies_to=lambda t: t.startswith("aws:") or t == AWS_PROVIDER,
)
