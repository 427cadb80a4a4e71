"""Least privilege in IAM documents (resource rules over JSON policy documents in inputs).

AIF-IAM-001 no `*` action · AIF-IAM-002 `*` resource only where AWS allows nothing else ·
AIF-IAM-003 no privilege-escalation actions · AIF-IAM-004 trust only named principals.

A document unknown at preview is skipped here (CrossGuard checks again during `pulumi up`,
when it is known); a document that is not JSON is a finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from policies.rules.base import ResourceView, Rule, is_unknown
from policies.rules.helpers import as_list, everywhere, glob_match, no_facts, policy_document, statements

POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ROLE = "aws:iam/role:Role"
PERMISSION_TYPES = (POLICY, ROLE_POLICY, USER_POLICY, GROUP_POLICY, ROLE)
ACTIONS_TABLE = Path(__file__).resolve().parent / "no_resource_level_actions.json"

ESCALATION_ACTIONS = (
    # Rhino Security Labs, "AWS IAM Privilege Escalation – Methods and Mitigation": each lets a
    # principal grant itself more than it holds.
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:UpdateAssumeRolePolicy",
    "iam:AddUserToGroup",
)
PASS_ROLE = "iam:PassRole"


@cache
def no_resource_level_actions() -> frozenset[str]:
    """Actions that accept only `"Resource": "*"` (see the JSON file for its source)."""
    return frozenset(a.lower() for a in json.loads(ACTIONS_TABLE.read_text())["actions"])


def documents(resource: ResourceView) -> Iterator[tuple[str, Any]]:
    """(label, parsed document) of every permission document of the resource."""
    if resource.type == ROLE:
        for i, inline in enumerate(resource.props.get("inlinePolicies") or []):
            if isinstance(inline, Mapping):
                yield f"inline policy {inline.get('name') or i}", policy_document(inline.get("policy"))
    else:
        yield "policy", policy_document(resource.props.get("policy"))


def allow_statements(resource: ResourceView) -> Iterator[tuple[str, Mapping[str, Any] | str]]:
    """(label, statement) of every Allow statement; (label, error text) for unreadable documents."""
    for label, doc in documents(resource):
        if doc is None or is_unknown(doc):
            continue
        if not isinstance(doc, Mapping):
            yield label, "the policy document is not valid JSON"
            continue
        for i, st in enumerate(statements(doc)):
            if st.get("Effect") == "Allow":
                yield f"{label} statement {st.get('Sid') or i}", st


def _full_wildcard(action: str) -> bool:
    return action == "*" or action.endswith(":*")


def check_wildcard_action(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    for label, st in allow_statements(resource):
        if isinstance(st, str):
            yield f"{label}: {st}"
            continue
        if "NotAction" in st:
            yield f"{label}: Allow with NotAction grants every other action"
        wild = [a for a in as_list(st.get("Action")) if isinstance(a, str) and _full_wildcard(a)]
        if wild:
            yield f"{label}: allows wildcard action {', '.join(wild)}"


def _resource_free(action: str) -> bool:
    """Exact table entries only: a pattern such as `ec2:Describe*` is free only when the table lists it."""
    return action.lower() in no_resource_level_actions()


def check_wildcard_resource(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    for label, st in allow_statements(resource):
        if isinstance(st, str):
            continue
        if "NotResource" in st:
            yield f"{label}: Allow with NotResource applies to every other resource"
            continue
        if "*" not in as_list(st.get("Resource")):
            continue
        needs_arn = [a for a in as_list(st.get("Action")) if isinstance(a, str) and not _resource_free(a)]
        if needs_arn:
            yield f'{label}: Resource "*" for {", ".join(sorted(needs_arn))}, which support resource-level permissions'


def check_escalation(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    for label, st in allow_statements(resource):
        if isinstance(st, str):
            continue
        actions = [a for a in as_list(st.get("Action")) if isinstance(a, str)]
        hits = sorted({e for e in ESCALATION_ACTIONS for a in actions if glob_match(e.lower(), a.lower())})
        if hits:
            yield f"{label}: allows privilege-escalation action(s) {', '.join(hits)}"
        passes = any(glob_match(PASS_ROLE.lower(), a.lower()) for a in actions)
        if passes and not st.get("Condition"):
            yield f"{label}: allows iam:PassRole without a condition (e.g. iam:PassedToService)"


def _open_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in as_list(principal.get("AWS"))
    return False


def check_trust(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    doc = policy_document(resource.props.get("assumeRolePolicy"))
    if doc is None or is_unknown(doc):
        return
    if not isinstance(doc, Mapping):
        yield "the trust policy is not valid JSON"
        return
    for i, st in enumerate(statements(doc)):
        if st.get("Effect") != "Allow":
            continue
        label = f"trust statement {st.get('Sid') or i}"
        if "NotPrincipal" in st:
            yield f"{label}: NotPrincipal trusts everyone else"
        elif _open_principal(st.get("Principal")):
            yield f'{label}: trusts any AWS principal ("*")'


def _rule(
    id_: str, name: str, description: str, why: str, remediation: str, check: Any, types: tuple[str, ...]
) -> Rule:
    return Rule(
        id=id_,
        name=name,
        description=description,
        why=why,
        remediation=remediation,
        enforcement=everywhere(),
        config_schema={},
        stack_facts=no_facts,
        kind="resource",
        check=check,
        applies_to=lambda t: t in types,
    )


WILDCARD_ACTION_RULE = _rule(
    "AIF-IAM-001",
    "iam-no-wildcard-action",
    "No IAM Allow statement grants `*` or `service:*` actions, or uses NotAction.",
    "A wildcard action grants every future action of the service too, including destructive ones.",
    "List the actions the workload calls (components' role helpers do); prefer managed policies scoped by AWS.",
    check_wildcard_action,
    PERMISSION_TYPES,
)

WILDCARD_RESOURCE_RULE = _rule(
    "AIF-IAM-002",
    "iam-wildcard-resource-justified",
    '`"Resource": "*"` appears only for actions without resource-level permissions (KMS key policies are exempt).',
    "Scoping to named buckets, keys and clusters is what keeps one workload's credentials from reading another's data.",
    "Name the ARNs; split actions that need `*` "
    "(policies/rules/no_resource_level_actions.json) into their own statement.",
    check_wildcard_resource,
    PERMISSION_TYPES,
)

ESCALATION_RULE = _rule(
    "AIF-IAM-003",
    "iam-no-privilege-escalation",
    "No IAM policy allows privilege-escalation actions, nor iam:PassRole without a condition.",
    "These actions let a principal rewrite its own permissions: any compromise becomes account admin.",
    "Remove the actions; for iam:PassRole name the role ARNs and add a Condition on iam:PassedToService.",
    check_escalation,
    PERMISSION_TYPES,
)

TRUST_RULE = _rule(
    "AIF-IAM-004",
    "iam-trust-named-principals",
    'Role trust policies name their principals: no `"AWS": "*"`, `"*"` or NotPrincipal.',
    "A role anyone can assume is a public credential.",
    "Trust the service (e.g. pods.eks.amazonaws.com), the OIDC provider or the named role/account ARNs.",
    check_trust,
    (ROLE,),
)

RULES = (WILDCARD_ACTION_RULE, WILDCARD_RESOURCE_RULE, ESCALATION_RULE, TRUST_RULE)
