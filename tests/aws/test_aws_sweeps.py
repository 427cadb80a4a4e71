"""Sweeps over every AWS resource the reference stacks register: tags, encryption, provider, names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_support import StackPlan

from components import conventions as c
from policies.rules.aws_taggable import TAGGABLE_AWS_TYPES

STACKS = ["dev", "lab", "prod-eu"]


def _kms(field: str) -> Callable[[dict[str, Any], StackPlan], bool]:
    return lambda inputs, sp: str(inputs.get(field, "")).startswith("arn:aws:kms:")


def _launch_template(inputs: dict[str, Any], sp: StackPlan) -> bool:
    ebs = [m["ebs"] for m in inputs["blockDeviceMappings"]]
    return bool(ebs) and all(e["encrypted"] == "true" and e["kmsKeyId"].startswith("arn:aws:kms:") for e in ebs)


def _bucket(inputs: dict[str, Any], sp: StackPlan) -> bool:
    bucket = next(b for b in sp.of_type("aws:s3/bucket:Bucket") if b["inputs"] == inputs)
    sse = next(r for r in sp.children(bucket) if r["type"].endswith("BucketServerSideEncryptionConfiguration"))
    return sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"


ENCRYPTED: dict[str, Callable[[dict[str, Any], StackPlan], bool]] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:eks/cluster:Cluster": lambda i, sp: i["encryptionConfig"]["resources"] == ["secrets"],
    "aws:cloudwatch/logGroup:LogGroup": _kms("kmsKeyId"),
    "aws:sns/topic:Topic": _kms("kmsMasterKeyId"),
    "aws:sqs/queue:Queue": _kms("kmsMasterKeyId"),
    "aws:cloudtrail/trail:Trail": _kms("kmsKeyId"),
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:ecr/repository:Repository": lambda i, sp: i["encryptionConfigurations"][0]["encryptionType"] == "KMS",
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": (
        lambda i, sp: i["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    ),
    "aws:kms/key:Key": lambda i, sp: i["enableKeyRotation"] is True,
}
"""Resource types that hold data at rest (or keys), and how each proves its encryption."""

HOLDS_DATA = {
    "aws:ebs/volume:Volume",
    "aws:efs/fileSystem:FileSystem",
    "aws:rds/instance:Instance",
    "aws:dynamodb/table:Table",
    "aws:secretsmanager/secret:Secret",
    "aws:kinesis/stream:Stream",
    "aws:opensearch/domain:Domain",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    *ENCRYPTED,
}
"""Types a future change might add: each must then get an entry in ENCRYPTED."""


def _aws(sp: StackPlan) -> list[dict[str, Any]]:
    return [r for r in sp.resources if r["type"].startswith("aws:")]


@pytest.mark.parametrize("stack", STACKS)
def test_every_taggable_aws_resource_has_the_standard_tags(stacks: dict[str, StackPlan], stack: str) -> None:
    sp = stacks[stack]
    env = sp.config.environment
    taggable = [r for r in _aws(sp) if r["type"] in TAGGABLE_AWS_TYPES]
    assert len(taggable) > 10
    expected = {
        c.TAG_ENVIRONMENT: env.name,
        c.TAG_OWNER: env.owner,
        c.TAG_COST_CENTER: env.cost_center,
        c.TAG_MANAGED_BY: c.MANAGED_BY_VALUE,
    }
    for r in taggable:
        tags = r["inputs"].get("tags") or {}
        assert set(c.REQUIRED_TAG_KEYS) <= set(tags), r["name"]
        assert {k: tags[k] for k in expected} == expected, r["name"]
        assert tags[c.TAG_COMPONENT], r["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_launch_templates_tag_instances_and_volumes_too(stacks: dict[str, StackPlan], stack: str) -> None:
    for lt in stacks[stack].of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        specs = {s["resourceType"]: s["tags"] for s in lt["inputs"]["tagSpecifications"]}
        assert {"instance", "volume"} <= set(specs)
        assert all(set(c.REQUIRED_TAG_KEYS) <= set(t) for t in specs.values())


@pytest.mark.parametrize("stack", STACKS)
def test_everything_that_holds_data_is_encrypted(stacks: dict[str, StackPlan], stack: str) -> None:
    sp = stacks[stack]
    checked = 0
    for r in _aws(sp):
        if r["type"] in HOLDS_DATA:
            assert r["type"] in ENCRYPTED, f"{r['type']} holds data: add its encryption check"
            assert ENCRYPTED[r["type"]](r["inputs"], sp), r["name"]
            checked += 1
    assert checked >= len(sp.config.storage.buckets) + 2


@pytest.mark.parametrize("stack", STACKS)
def test_every_aws_resource_uses_the_explicit_stack_provider(stacks: dict[str, StackPlan], stack: str) -> None:
    sp = stacks[stack]
    (provider,) = sp.of_type("pulumi:providers:aws")
    assert provider["inputs"]["region"] == sp.config.cloud.region
    wrong = {r["name"] for r in _aws(sp) if not str(r["provider"]).endswith(f"::{provider['name']}")}
    assert not wrong


@pytest.mark.parametrize("stack", STACKS)
def test_children_are_named_after_their_component(stacks: dict[str, StackPlan], stack: str) -> None:
    sp = stacks[stack]
    for r in sp.resources:
        if r["type"].startswith(("aws:", "kubernetes:core/v1:ConfigMap", "pulumi:providers:kubernetes")):
            component = sp.component_of(r)
            if component is not None and component["type"].startswith("ai-factory:aws:"):
                assert r["name"].startswith(component["name"] + "-"), (component["name"], r["name"])


def test_the_offline_plan_is_deterministic(prod: StackPlan) -> None:
    """Same stack file, same plan: the mocked invokes and outputs depend on the inputs only."""
    from aws_support import plan_stack

    again = plan_stack("prod-eu")
    # Registration order follows asyncio scheduling; the set of registrations must not change.
    assert sorted(again.resources, key=lambda r: r["urn"]) == sorted(prod.resources, key=lambda r: r["urn"])
    stack_urn = "urn:pulumi:prod-eu::ai-factory::pulumi:pulumi:Stack::ai-factory-prod-eu"
    top = [r for r in again.resources if r["type"].startswith("ai-factory:aws:")]
    assert all(r["parent"] == stack_urn for r in top)
