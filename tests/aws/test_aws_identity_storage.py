"""Buckets, policies and identities: SSE-KMS with the stack key, TLS only, least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_support import StackPlan, write_variant
from support import stack_doc

from components.aws.policy_docs import NO_RESOURCE_LEVEL_ACTIONS

# Resource type → input fields holding an IAM/resource policy document.
POLICY_FIELDS = {
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:kms/key:Key": ("policy",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
    "aws:sns/topicPolicy:TopicPolicy": ("policy",),
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(sp: StackPlan) -> list[tuple[str, str, dict[str, Any]]]:
    """(resource type, resource name, statement) for every policy document of the plan."""
    out = []
    for r in sp.resources:
        for field in POLICY_FIELDS.get(r["type"], ()):
            doc = json.loads(r["inputs"][field])
            out += [(r["type"], r["name"], st) for st in doc["Statement"]]
    return out


@pytest.mark.parametrize("stack", ["dev", "lab", "prod-eu"])
def test_every_bucket_is_sse_kms_with_the_stack_key_versioned_private_and_tls_only(
    stacks: dict[str, StackPlan], stack: str
) -> None:
    sp = stacks[stack]
    key_arn = sp.key_arn(f"{stack}-storage-key")
    buckets = sp.of_type("aws:s3/bucket:Bucket")
    # A zoned datasets storage is three buckets (raw, curated = the datasets bucket, quarantine).
    zones = 2 if sp.config.storage.data_zones is not None else 0
    assert len(buckets) == len(sp.config.storage.buckets) + zones
    for bucket in buckets:
        kids = {r["type"].rsplit(":", 1)[-1]: r["inputs"] for r in sp.children(bucket)}
        (rule,) = kids["BucketServerSideEncryptionConfiguration"]["rules"]
        assert rule == {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn},
            "bucketKeyEnabled": True,
        }
        assert kids["BucketVersioning"]["versioningConfiguration"]["status"] == "Enabled"
        blocks = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        assert all(kids["BucketPublicAccessBlock"][k] is True for k in blocks)
        policy = json.loads(kids["BucketPolicy"]["policy"])
        deny = next(s for s in policy["Statement"] if s["Sid"] == "DenyInsecureTransport")
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("stack", ["dev", "lab", "prod-eu"])
def test_the_audit_trail_writes_to_the_logs_bucket_with_the_stack_key(stacks: dict[str, StackPlan], stack: str) -> None:
    sp = stacks[stack]
    (trail,) = sp.of_type("aws:cloudtrail/trail:Trail")
    assert trail["inputs"]["kmsKeyId"] == sp.key_arn(f"{stack}-storage-key")
    assert trail["inputs"]["enableLogFileValidation"] is True
    logs = next(b for b in sp.of_type("aws:s3/bucket:Bucket") if b["inputs"]["tags"]["purpose"] == "logs")
    assert trail["inputs"]["s3BucketName"] == f"{logs['name']}-xxxxxxx"
    policy = json.loads(next(r for r in sp.children(logs) if r["type"].endswith("BucketPolicy"))["inputs"]["policy"])
    write = next(s for s in policy["Statement"] if s["Sid"] == "CloudTrailWrite")
    assert write["Condition"]["StringEquals"]["aws:SourceArn"].endswith(f":trail/{trail['inputs']['name']}")
    # S3 data events of every data bucket: the access log of the buckets.
    data = next(s for s in trail["inputs"]["advancedEventSelectors"] if s["name"] == "data bucket object access")
    arns = next(f for f in data["fieldSelectors"] if f["field"] == "resources.ARN")["startsWiths"]
    zones = 2 if sp.config.storage.data_zones is not None else 0
    assert len(arns) == len(sp.config.storage.buckets) - 1 + zones and not any(logs["name"] in a for a in arns)


@pytest.mark.parametrize("stack", ["dev", "lab", "prod-eu"])
def test_no_statement_has_a_wildcard_action(stacks: dict[str, StackPlan], stack: str) -> None:
    for _typ, name, st in _statements(stacks[stack]):
        if st["Effect"] != "Allow":
            continue
        for action in _as_list(st.get("Action", [])):
            assert "*" not in action, (name, action)
        assert "NotAction" not in st and "NotResource" not in st, name


@pytest.mark.parametrize("stack", ["dev", "lab", "prod-eu"])
def test_star_resources_only_in_key_policies_or_for_actions_without_resource_level_permissions(
    stacks: dict[str, StackPlan], stack: str
) -> None:
    seen = 0
    for typ, name, st in _statements(stacks[stack]):
        if st["Effect"] != "Allow" or "*" not in _as_list(st.get("Resource", [])):
            continue
        seen += 1
        if typ == "aws:kms/key:Key":
            continue  # in a key policy "*" is the key itself
        actions = set(_as_list(st["Action"]))
        assert actions <= NO_RESOURCE_LEVEL_ACTIONS, (name, actions - NO_RESOURCE_LEVEL_ACTIONS)
        assert st["Condition"]["StringEquals"]["aws:RequestedRegion"] == stacks[stack].config.cloud.region, name
    assert seen, "the sweep must see key policies"


def test_the_no_resource_level_list_holds_only_describe_actions() -> None:
    assert all(a.split(":")[1].startswith("Describe") for a in NO_RESOURCE_LEVEL_ACTIONS)


def test_workload_roles_reach_only_their_named_buckets(prod: StackPlan) -> None:
    # `datasets` is the curated zone: workloads never reach raw or quarantine.
    buckets = {
        b["inputs"]["tags"]["purpose"]: f"arn:aws:s3:::{b['name']}-xxxxxxx"
        for b in prod.of_type("aws:s3/bucket:Bucket")
        if b["inputs"]["tags"].get("zone") in (None, "curated")
    }
    for name, wl in prod.config.cloud.eks.workloads.items():
        policy = prod.policy(prod.named(f"prod-eu-workloads-{name}-policy"))
        named = {
            r.removesuffix("/*") for st in policy["Statement"] if st["Sid"] != "StackKeyViaS3" for r in st["Resource"]
        }
        assert named == {buckets[p.value] for p in wl.buckets}
        writes = {a for st in policy["Statement"] for a in st["Action"] if a == "s3:PutObject"}
        assert bool(writes) == ("read-write" in wl.buckets.values())
        key = next(st for st in policy["Statement"] if st["Sid"] == "StackKeyViaS3")
        assert key["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}}
        assoc = prod.named(f"prod-eu-workloads-{name}-association")["inputs"]
        assert (assoc["namespace"], assoc["serviceAccount"]) == (wl.namespace, wl.service_account)
        trust = prod.policy(prod.named(f"prod-eu-workloads-{name}"), "assumeRolePolicy")
        assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}


def test_prod_hybrid_nodes_get_an_ssm_activation_with_their_role(prod: StackPlan) -> None:
    (activation,) = prod.of_type("aws:ssm/activation:Activation")
    role = prod.named("prod-eu-hybrid-nodes-role")
    assert activation["inputs"]["iamRole"] == f"{role['name']}-xxxxxxx"
    assert activation["inputs"]["registrationLimit"] == len(prod.config.on_prem.servers)
    trust = prod.policy(role, "assumeRolePolicy")
    assert trust["Statement"][0]["Principal"] == {"Service": "ssm.amazonaws.com"}
    assert not prod.of_type("aws:rolesanywhere/trustAnchor:TrustAnchor")


def test_iam_roles_anywhere_replaces_the_activation(tmp_path) -> None:
    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:onPrem"]["cluster"]["credentialProvider"] = "iam-ra"
    doc["config"]["ai-factory:cloud"]["identity"] = {
        "rolesAnywhere": {"caArn": "arn:aws:acm-pca:eu-central-1:111122223333:certificate-authority/abc"}
    }
    sp = write_variant(tmp_path, "ra", doc)
    assert not sp.of_type("aws:ssm/activation:Activation")
    (anchor,) = sp.of_type("aws:rolesanywhere/trustAnchor:TrustAnchor")
    assert anchor["inputs"]["source"]["sourceType"] == "AWS_ACM_PCA"
    (profile,) = sp.of_type("aws:rolesanywhere/profile:Profile")
    assert profile["inputs"]["durationSeconds"] == 3600
    trust = sp.policy(sp.named("prod-eu-hybrid-nodes-role"), "assumeRolePolicy")["Statement"][0]
    assert trust["Principal"] == {"Service": "rolesanywhere.amazonaws.com"}
    assert trust["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(":prod-eu-hybrid-nodes-trust-anchor")


@pytest.mark.parametrize("stack", ["dev", "lab", "prod-eu"])
def test_stateful_resources_protected_and_retained_exactly_in_prod(stacks: dict[str, StackPlan], stack: str) -> None:
    sp = stacks[stack]
    stateful = sp.of_type("aws:kms/key:Key") + sp.of_type("aws:s3/bucket:Bucket")
    # data key + notifications key (+ the raw dataset events key of a zoned datasets storage)
    assert len(sp.of_type("aws:kms/key:Key")) == 2 + (sp.config.storage.data_zones is not None)
    expected = sp.config.is_prod
    assert all(r["protect"] is expected and r["retainOnDelete"] is expected for r in stateful)
    for key in sp.of_type("aws:kms/key:Key"):
        assert key["inputs"]["enableKeyRotation"] is True and key["inputs"]["deletionWindowInDays"] == 30


def test_replication_goes_only_to_the_configured_allowed_region_with_the_same_controls(tmp_path) -> None:
    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:storage"]["replication"] = {"region": "eu-west-1", "buckets": ["models"]}
    sp = write_variant(tmp_path, "replicated", doc)
    (provider,) = [p for p in sp.of_type("pulumi:providers:aws") if p["name"] == "prod-eu-replication-aws"]
    assert provider["inputs"]["region"] == "eu-west-1"
    replica = sp.named("prod-eu-replication-models")
    assert replica["provider"].endswith("::prod-eu-replication-aws")
    assert replica["protect"] is True and replica["retainOnDelete"] is True
    kids = {r["type"].rsplit(":", 1)[-1]: r["inputs"] for r in sp.children(replica)}
    sse = kids["BucketServerSideEncryptionConfiguration"]["rules"][0]["applyServerSideEncryptionByDefault"]
    replica_key = f"arn:aws:kms:{sp.config.cloud.region}:000000000000:prod-eu-replication-key"  # mock ARN format
    assert sse == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": replica_key}
    assert kids["BucketVersioning"]["versioningConfiguration"]["status"] == "Enabled"
    assert kids["BucketPublicAccessBlock"]["restrictPublicBuckets"] is True
    (rule_cfg,) = sp.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    (rule,) = rule_cfg["inputs"]["rules"]
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    assert rule["destination"]["encryptionConfiguration"] == {"replicaKmsKeyId": replica_key}
    policy = sp.policy(sp.named("prod-eu-replication-role-policy"))
    assert all("*" not in a for st in policy["Statement"] for a in st["Action"])
