"""Helpers of the AWS tests (a plain module: tests/aws is on sys.path when pytest imports these tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from components.tooling import plan as plan_module
from components.tooling.mock_runtime import PLACEHOLDER_ACCOUNT, Registration
from components.tooling.plan import Plan


class StackPlan:
    """A plan plus the raw registrations (ignore_changes is only on those) and lookup helpers."""

    def __init__(self, plan: Plan, registrations: list[Registration]) -> None:
        self.plan = plan
        self.config = plan.config
        self.resources = plan.resources
        self.registrations = registrations

    def of_type(self, typ: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == typ]

    def named(self, name: str) -> dict[str, Any]:
        return next(r for r in self.resources if r["name"] == name)

    def children(self, parent: dict[str, Any]) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["parent"] == parent["urn"]]

    def component_of(self, resource: dict[str, Any]) -> dict[str, Any] | None:
        """The nearest ai-factory component above `resource`."""
        by_urn = {r["urn"]: r for r in self.resources}
        parent = by_urn.get(resource["parent"])
        while parent is not None and not parent["type"].startswith("ai-factory:"):
            parent = by_urn.get(parent["parent"])
        return parent

    def registration(self, name: str) -> Registration:
        return next(r for r in self.registrations if r.name == name)

    def key_arn(self, name: str) -> str:
        """ARN the offline plan gives the KMS key registered as `name`."""
        account = self.config.cloud.account_id or PLACEHOLDER_ACCOUNT
        return f"arn:aws:kms:{self.config.cloud.region}:{account}:{name}"

    def policy(self, resource: dict[str, Any], field: str = "policy") -> dict[str, Any]:
        return json.loads(resource["inputs"][field])


def plan_stack(stack: str, directory: Path | None = None) -> StackPlan:
    """`make_plan`, keeping the raw registrations it ran on."""
    captured: list[list[Registration]] = []
    real = plan_module.run_under_mocks

    def spy(*args: Any, **kwargs: Any) -> list[Registration]:
        regs = real(*args, **kwargs)
        captured.append(regs)
        return regs

    plan_module.run_under_mocks = spy  # type: ignore[assignment]
    try:
        plan = plan_module.make_plan(stack, directory)
    finally:
        plan_module.run_under_mocks = real  # type: ignore[assignment]
    return StackPlan(plan, captured[0])


def write_variant(directory: Path, name: str, doc: dict[str, Any]) -> StackPlan:
    """Plan a modified copy of a stack file written as `Pulumi.<name>.yaml` into `directory`."""
    (directory / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return plan_stack(name, directory)
