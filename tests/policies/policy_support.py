"""Helpers for the policy tests: build ResourceViews, read a rule's facts, run a rule.

Importable as `policy_support` (pytest puts this folder on sys.path; no __init__.py here).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from components.config.loader import load_stack
from policies.rules import RULES_BY_ID
from policies.rules.base import ResourceView
from policies.stack_config import pack_config


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::ai-factory::{type_}::{name}"


def view(type_: str, name: str, props: dict[str, Any] | None = None, **kw: Any) -> ResourceView:
    return ResourceView(type=type_, urn=urn(type_, name), name=name, props=props or {}, **kw)


@cache
def _pack(stack: str) -> str:
    _, cfg = load_stack(stack)
    return json.dumps(pack_config(cfg))


def facts(rule_id: str, stack: str = "prod-eu", **overrides: Any) -> dict[str, Any]:
    """The rule's pack config as `factory policy-config STACK` writes it, with overrides."""
    conf = json.loads(_pack(stack))[RULES_BY_ID[rule_id].name]
    conf.update(overrides)
    return conf


def run(
    rule_id: str, resources: list[ResourceView], config: dict[str, Any] | None = None
) -> set[tuple[str | None, str]]:
    """{(resource name or None, message)} of every finding."""
    by_urn = {r.urn: r.name for r in resources}
    conf = config if config is not None else facts(rule_id)
    return {(by_urn.get(f.urn) if f.urn else None, f.message) for f in RULES_BY_ID[rule_id].run(resources, conf)}
