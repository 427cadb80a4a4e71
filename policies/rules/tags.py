"""AIF-TAG-001: taggable AWS resources carry the standard tags with this stack's values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from components import conventions as c
from policies.rules.aws_taggable import TAGGABLE_AWS_TYPES
from policies.rules.base import Enforcement, ResourceView, Rule, is_unknown


def _facts(cfg: Any) -> dict[str, Any]:
    env = cfg.environment
    return {
        "requiredTags": list(c.REQUIRED_TAG_KEYS),
        "expectedTagValues": {
            c.TAG_ENVIRONMENT: env.name,
            c.TAG_OWNER: env.owner,
            c.TAG_COST_CENTER: env.cost_center,
            c.TAG_MANAGED_BY: c.MANAGED_BY_VALUE,
        },
    }


def check(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    tags = resource.props.get("tags")
    if is_unknown(tags):
        yield "tags are unknown at preview; required tags cannot be verified"
        return
    tags = tags if isinstance(tags, Mapping) else {}
    missing = [k for k in config["requiredTags"] if not tags.get(k) or is_unknown(tags.get(k))]
    if missing:
        yield f"missing required tags: {', '.join(missing)}"
    for key, expected in config["expectedTagValues"].items():
        value = tags.get(key)
        if value and not is_unknown(value) and value != expected:
            yield f"tag {key}={value!r} does not match this stack ({expected!r})"


RULE = Rule(
    id="AIF-TAG-001",
    name="aws-required-tags",
    description="Every taggable AWS resource carries the standard tags with this stack's values.",
    why="Cost allocation, ownership and data-classification reports and the budget guard key on these tags.",
    remediation=(
        "Create the resource with `tags=naming.tags(data_class, component=...)` "
        "(components/tagging.py); never hand-write tag dicts."
    ),
    enforcement={t: Enforcement.MANDATORY for t in ("dev", "staging", "prod")},
    config_schema={
        "requiredTags": {"type": "array", "items": {"type": "string"}},
        "expectedTagValues": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    stack_facts=_facts,
    kind="resource",
    check=check,
    applies_to=lambda t: t in TAGGABLE_AWS_TYPES,
)
