"""Thin CrossGuard wrappers around the registry's rules.

Importing this module builds policy objects only; `policies/__main__.py` is the one place a
`PolicyPack` (which serves gRPC forever) is constructed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from policies.rules import RULES
from policies.rules.base import UNKNOWN, ResourceView, Rule

_UNKNOWNS = {
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_STRING_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_OBJECT_VALUE,
}


def plain(value: Any) -> Any:
    """Unwrap pulumi_policy's unknown-checking proxies into plain data with UNKNOWN markers.

    Reading a proxied unknown raises, which the SDK turns into an advisory "can't run during
    preview" — a mandatory rule would then pass silently. Rules see UNKNOWN instead and
    decide (fail closed where it matters).
    """
    if isinstance(value, Mapping):
        # A _DictProxy hands out its raw dict under "__target"; a plain dict has no such key.
        target = value.get("__target", value)
        return {k: plain(target[k]) for k in target}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "_ListProxy":
        target = value["__target"] if type(value).__name__ == "_ListProxy" else value
        return [plain(v) for v in target]
    if isinstance(value, str) and value in _UNKNOWNS:
        return UNKNOWN
    return value


def _provider_props(provider: Any) -> Mapping[str, Any] | None:
    return plain(provider.props) if provider is not None else None


def _view(
    resource_type: str,
    props: Any,
    urn: str,
    name: str,
    opts: Any,
    provider: Any,
    parent: Any = None,
    property_dependencies: Mapping[str, Any] | None = None,
) -> ResourceView:
    parent_urn = getattr(parent, "urn", None) or getattr(opts, "parent", None)
    return ResourceView(
        type=resource_type,
        urn=urn,
        name=name,
        props=plain(props),
        provider_props=_provider_props(provider),
        protect=bool(getattr(opts, "protect", False)),
        retain_on_delete=None,
        parent=parent_urn if isinstance(parent_urn, str) else None,
        dependencies={k: tuple(d.urn for d in v) for k, v in (property_dependencies or {}).items()},
    )


def _failed(rule: Rule, exc: Exception) -> str:
    # A rule that crashes must not pass anything: report it as a violation (fail closed).
    return _message(rule, f"the rule could not run ({type(exc).__name__}: {exc}); failing closed")


def _message(rule: Rule, text: str) -> str:
    return f"[{rule.id}] {text}. Remediation: {rule.remediation}"


def _schema(rule: Rule) -> PolicyConfigSchema:
    # Every fact is required: without `--policy-pack-config` the pack refuses to run rather
    # than judging a stack without its residency or budget.
    return PolicyConfigSchema(
        properties={k: dict(v) for k, v in rule.config_schema.items()}, required=list(rule.config_schema)
    )


def resource_policy(rule: Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        try:
            view = _view(args.resource_type, args.props, args.urn, args.name, args.opts, args.provider)
            texts = list(rule.check(view, args.get_config()))
        except Exception as exc:
            report_violation(_failed(rule, exc), None)
            return
        for text in texts:
            report_violation(_message(rule, text), None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=f"[{rule.id}] {rule.description}",
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
        config_schema=_schema(rule),
    )


def stack_policy(rule: Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        try:
            views = [
                _view(r.resource_type, r.props, r.urn, r.name, r.opts, r.provider, r.parent, r.property_dependencies)
                for r in args.resources
            ]
            findings = list(rule.check(views, args.get_config()))
        except Exception as exc:
            report_violation(_failed(rule, exc), None)
            return
        for finding in findings:
            report_violation(_message(rule, finding.message), finding.urn)

    return StackValidationPolicy(
        name=rule.name,
        description=f"[{rule.id}] {rule.description}",
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
        config_schema=_schema(rule),
    )


def build_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [resource_policy(r) if r.kind == "resource" else stack_policy(r) for r in RULES]
