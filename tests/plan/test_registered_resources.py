"""Sweeps over every resource the program registers under Pulumi's mock runtime.

One test proves a property for a whole stack (STYLE.md): tags everywhere, SSE-KMS with the
stack key on every bucket, protection following the tier.
"""

from __future__ import annotations

import pytest
from support import REFERENCE_STACKS

from components import conventions as c
from components.tooling.plan import make_plan
from policies.rules.aws_taggable import TAGGABLE_AWS_TYPES


@pytest.fixture(scope="module")
def plans() -> dict:
    return {stack: make_plan(stack) for stack in REFERENCE_STACKS}


def _of_type(plan, typ: str) -> list[dict]:
    return [r for r in plan.resources if r["type"] == typ]


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_taggable_aws_resource_has_the_standard_tags(stack: str, plans: dict) -> None:
    plan = plans[stack]
    env = plan.config.environment
    taggable = [r for r in plan.resources if r["type"] in TAGGABLE_AWS_TYPES]
    assert taggable, "the sweep must see resources"
    for r in taggable:
        tags = r["inputs"].get("tags", {})
        assert set(c.REQUIRED_TAG_KEYS) <= set(tags), r["urn"]
        assert tags[c.TAG_ENVIRONMENT] == env.name and tags[c.TAG_OWNER] == env.owner
        assert tags[c.TAG_COST_CENTER] == env.cost_center and tags[c.TAG_MANAGED_BY] == "pulumi"


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_bucket_is_encrypted_versioned_private_and_tls_only(stack: str, plans: dict) -> None:
    plan = plans[stack]
    key = next(k for k in _of_type(plan, "aws:kms/key:Key") if k["name"] == f"{plan.stack}-storage-key")
    key_arn = f"arn:aws:kms:{plan.config.cloud.region}:000000000000:{key['name']}"
    assert key["inputs"]["enableKeyRotation"] is True and key["inputs"]["deletionWindowInDays"] == 30

    buckets = _of_type(plan, "aws:s3/bucket:Bucket")
    assert {b["inputs"]["tags"]["purpose"] for b in buckets} == {p.value for p in plan.config.storage.buckets}
    for bucket in buckets:
        children = {r["type"]: r for r in plan.resources if r["parent"] == bucket["urn"]}
        sse = children["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"]
        rule = sse["inputs"]["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}
        assert rule["bucketKeyEnabled"] is True
        versioning = children["aws:s3/bucketVersioning:BucketVersioning"]["inputs"]["versioningConfiguration"]
        assert versioning["status"] == "Enabled"
        pab = children["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"]["inputs"]
        assert all(
            pab[k] is True
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        import json

        policy = json.loads(children["aws:s3/bucketPolicy:BucketPolicy"]["inputs"]["policy"])
        tls = next(s for s in policy["Statement"] if s["Sid"] == "DenyInsecureTransport")
        assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert bucket["inputs"]["forceDestroy"] is False


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_stateful_resources_protected_and_retained_exactly_in_prod(stack: str, plans: dict) -> None:
    plan = plans[stack]
    stateful = _of_type(plan, "aws:s3/bucket:Bucket") + _of_type(plan, "aws:kms/key:Key")
    expected = plan.config.is_prod
    assert stateful
    assert all(r["protect"] is expected and r["retainOnDelete"] is expected for r in stateful)


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_aws_resource_uses_the_stack_provider(stack: str, plans: dict) -> None:
    plan = plans[stack]
    provider = _of_type(plan, "pulumi:providers:aws")
    assert len(provider) == 1 and provider[0]["inputs"]["region"] == plan.config.cloud.region
    for r in plan.resources:
        if r["type"].startswith("aws:"):
            assert r["provider"] == provider[0]["urn"], r["urn"]


def test_object_lock_follows_config_and_tier(plans: dict) -> None:
    locks = {
        stack: [
            r["inputs"]["rule"]["defaultRetention"]
            for r in _of_type(plans[stack], "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
        ]
        for stack in REFERENCE_STACKS
    }
    assert locks["dev"] == []
    assert locks["lab"] == [{"mode": "GOVERNANCE", "days": 365.0}]
    assert locks["prod-eu"] == [{"mode": "COMPLIANCE", "days": 400.0}]


def test_reference_stacks_plan_without_mandatory_findings(plans: dict) -> None:
    for stack, plan in plans.items():
        assert not plan.has_mandatory, (stack, plan.violations)
