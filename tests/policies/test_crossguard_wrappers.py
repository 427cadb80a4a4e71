"""The CrossGuard wrappers in-process: pulumi_policy's own args, proxies and unknown sentinels.

In the real engine, reading an unknown through the proxy raises and the SDK turns the policy
into an advisory "can't run during preview" — a mandatory rule would pass silently. These
tests feed exactly that (unknown_checking_proxy over UNKNOWN_* sentinels) and prove the
mandatory rules report violations instead of raising.
"""

from __future__ import annotations

import json
from typing import Any

from policy_support import facts
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policies.pack import build_policies, plain
from policies.rules import RULES, RULES_BY_ID
from policies.rules.base import UNKNOWN

BY_NAME = {p.name: p for p in build_policies()}


def _opts(protect: bool = False, parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], False, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def _provider(region: Any) -> PolicyProviderResource:
    return PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy({"region": region}), "urn:p", "aws")


def _validate_resource(
    rule_id: str, type_: str, props: dict, region: Any = "eu-central-1", **kw: Any
) -> list[tuple[str, Any]]:
    rule = RULES_BY_ID[rule_id]
    reports: list[tuple[str, Any]] = []
    args = ResourceValidationArgs(
        type_, unknown_checking_proxy(props), f"urn:{type_}::r", "r", _opts(**kw), _provider(region), facts(rule_id)
    )
    BY_NAME[rule.name].validate(args, lambda msg, urn=None: reports.append((msg, urn)))
    return reports


def _resource(type_: str, name: str, props: dict, **kw: Any) -> PolicyResource:
    return PolicyResource(
        type_, unknown_checking_proxy(props), f"urn:{type_}::{name}", name, _opts(), None, None, [], kw.get("deps", {})
    )


def _validate_stack(rule_id: str, resources: list[PolicyResource], config: dict | None = None) -> list[tuple[str, Any]]:
    rule = RULES_BY_ID[rule_id]
    reports: list[tuple[str, Any]] = []
    args = StackValidationArgs(resources, config if config is not None else facts(rule_id))
    BY_NAME[rule.name].validate(args, lambda msg, urn=None: reports.append((msg, urn)))
    return reports


def test_every_rule_has_one_policy_with_its_schema() -> None:
    assert [p.name for p in build_policies()] == [r.name for r in RULES]
    for rule in RULES:
        policy = BY_NAME[rule.name]
        assert policy.description.startswith(f"[{rule.id}] ")
        assert set(policy.config_schema.required) == set(rule.config_schema)


def test_plain_unwraps_proxies_and_marks_unknowns() -> None:
    proxied = unknown_checking_proxy({"a": [1, {"b": UNKNOWN_STRING_VALUE}], "c": UNKNOWN_NUMBER_VALUE})
    assert plain(proxied) == {"a": [1, {"b": UNKNOWN}], "c": UNKNOWN}


def test_residency_unknown_region_reports_instead_of_raising() -> None:
    reports = _validate_resource(
        "AIF-RES-001", "aws:kms/key:Key", {"enableKeyRotation": True}, region=UNKNOWN_STRING_VALUE
    )
    assert reports == [
        (
            "[AIF-RES-001] region is unknown at preview; residency cannot be verified (fail closed). "
            f"Remediation: {RULES_BY_ID['AIF-RES-001'].remediation}",
            None,
        )
    ]


def test_residency_known_region_passes() -> None:
    assert _validate_resource("AIF-RES-001", "aws:kms/key:Key", {}) == []


def test_budget_unknown_pool_size_reports_instead_of_raising() -> None:
    pool = _resource(
        "aws:eks/nodeGroup:NodeGroup",
        "gpu",
        {"instanceTypes": ["g6.2xlarge"], "scalingConfig": {"maxSize": UNKNOWN_NUMBER_VALUE, "minSize": 0}},
    )
    reports = _validate_stack("AIF-BUD-001", [pool], facts("AIF-BUD-001", "dev", totalMonthlyUsd=1e9))
    assert [(m.split(". Remediation:")[0], u) for m, u in reports] == [
        (
            "[AIF-BUD-001] worst-case cost cannot be computed: scalingConfig.maxSize is unknown or unset: "
            "the pool has no known cap (fail closed)",
            "urn:aws:eks/nodeGroup:NodeGroup::gpu",
        )
    ]


def test_budget_over_limit_reports_with_no_urn() -> None:
    reports = _validate_stack("AIF-BUD-001", [], facts("AIF-BUD-001"))
    assert len(reports) == 1 and reports[0][1] is None
    assert reports[0][0].startswith("[AIF-BUD-001] worst-case monthly cost $")


def test_stack_rule_matches_by_property_dependencies() -> None:
    """In a preview the bucket's id is unknown: the SSE config is matched by its property dependencies."""
    bucket = _resource("aws:s3/bucket:Bucket", "models", {})
    sse = _resource(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "models-sse",
        {
            "bucket": UNKNOWN_STRING_VALUE,
            "rules": [
                {
                    "applyServerSideEncryptionByDefault": {
                        "sseAlgorithm": "aws:kms",
                        "kmsMasterKeyId": UNKNOWN_STRING_VALUE,
                    }
                }
            ],
        },
        deps={"bucket": [bucket]},
    )
    assert _validate_stack("AIF-ENC-001", [bucket, sse]) == []
    assert [u for _, u in _validate_stack("AIF-ENC-001", [bucket])] == ["urn:aws:s3/bucket:Bucket::models"]


def test_protect_is_read_from_opts_and_retain_is_unknown() -> None:
    assert _validate_resource("AIF-DATA-002", "aws:s3/bucket:Bucket", {}, protect=True) == []
    reports = _validate_resource("AIF-DATA-002", "aws:s3/bucket:Bucket", {}, protect=False)
    assert [m.split(". Remediation:")[0] for m, _ in reports] == [
        "[AIF-DATA-002] retainOnDelete cannot be seen here and the resource is not protected either"
    ]


def test_a_crashing_rule_reports_a_violation() -> None:
    """Fail closed even on a bug: a rule that raises becomes a violation, not a pass or a crash."""
    reports = _validate_stack("AIF-BUD-001", [], {"usage": {}})  # facts missing: KeyError inside the rule
    assert len(reports) == 1
    assert "the rule could not run (KeyError" in reports[0][0] and "failing closed" in reports[0][0]


def test_iam_documents_arrive_as_json_strings() -> None:
    doc = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    reports = _validate_resource("AIF-IAM-001", "aws:iam/policy:Policy", {"policy": doc})
    assert [m.split(". Remediation:")[0] for m, _ in reports] == [
        "[AIF-IAM-001] policy statement 0: allows wildcard action *"
    ]
