"""The CrossGuard pack and `factory plan` judge a stack alike.

The resources `factory plan` records for prod-eu are handed to every CrossGuard policy as
pulumi_policy's own args (proxied props, provider, options) and the reported violations are
compared with the offline engine's. Residency is narrowed in the facts so that the
comparison covers real findings, not only silence.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

import components.tooling.plan as plan_module
from policies.engine import evaluate
from policies.pack import build_policies
from policies.rules import RULES
from policies.rules.base import ResourceView


@pytest.fixture(scope="module")
def captured() -> dict[str, Any]:
    """The views and pack config `factory plan prod-eu` fed its engine."""
    seen: dict[str, Any] = {}
    real = plan_module.evaluate

    def capture(views: list[ResourceView], conf: dict[str, Any]) -> Any:
        seen["views"], seen["conf"] = views, conf
        return real(views, conf)

    plan_module.evaluate = capture  # type: ignore[assignment]
    try:
        plan_module.make_plan("prod-eu")
    finally:
        plan_module.evaluate = real  # type: ignore[assignment]
    conf = seen["conf"]
    conf["aws-region-residency"]["allowedRegions"] = ["eu-west-1"]
    return seen


def _opts(v: ResourceView) -> PolicyResourceOptions:
    return PolicyResourceOptions(v.protect, [], False, [], PolicyCustomTimeouts(0, 0, 0), [], v.parent)


def _provider(v: ResourceView) -> PolicyProviderResource | None:
    if v.provider_props is None:
        return None
    return PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy(dict(v.provider_props)), "urn:p", "p")


def _crossguard(views: list[ResourceView], conf: dict[str, Any]) -> set[tuple[str, str | None, str]]:
    out: set[tuple[str, str | None, str]] = set()
    by_name = {p.name: p for p in build_policies()}
    for rule in RULES:
        policy, rconf = by_name[rule.name], conf[rule.name]
        if rconf.get("enforcementLevel") == "disabled":
            continue

        def report(msg: str, urn: str | None = None, rid: str = rule.id, target: str | None = None) -> None:
            text = msg.removeprefix(f"[{rid}] ").rsplit(". Remediation: ", 1)[0]
            out.add((rid, urn if urn is not None else target, text))

        if rule.kind == "stack":
            resources = [
                PolicyResource(
                    v.type, unknown_checking_proxy(dict(v.props)), v.urn, v.name, _opts(v), _provider(v), None, [], {}
                )
                for v in views
            ]
            policy.validate(StackValidationArgs(resources, rconf), report)
        else:
            for v in views:
                args = ResourceValidationArgs(
                    v.type, unknown_checking_proxy(dict(v.props)), v.urn, v.name, _opts(v), _provider(v), rconf
                )
                policy.validate(args, lambda m, u=None, urn=v.urn, rid=rule.id: report(m, u, rid, urn))
    return out


def test_pack_reports_what_the_engine_reports(captured: dict[str, Any]) -> None:
    views, conf = captured["views"], captured["conf"]
    engine = {(v.policy, v.urn, v.message) for v in evaluate(views, conf)}
    pack = _crossguard(views, conf)
    assert any(rid == "AIF-RES-001" for rid, _, _ in engine)  # the comparison covers real findings
    # CrossGuard cannot see retainOnDelete; DATA-002 then decides by protect (see protection.py),
    # which agrees here because every stateful resource of prod-eu is both protected and retained.
    assert pack == engine
