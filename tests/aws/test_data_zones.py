"""Data zones: raw/curated/quarantine buckets, the duties' IAM roles, the raw events queue, the audit trail.

The IAM tests evaluate the generated documents with a small policy evaluator (below, tested first
on hand-made documents). moto was considered and rejected: its IAM enforcement ignores the Condition
element of identity policies and evaluates bucket policies without the request's principal and
condition keys (moto/iam/access_control.py lists both as TODO), so none of the denies here —
aws:PrincipalArn, s3:RequestObjectTag/*, aws:SecureTransport — would be exercised.

The evaluator covers what the factory's documents use, same-account requests only: explicit Deny
wins; otherwise an Allow in the identity policy or in the bucket policy grants; Action/Resource
globs (`*`, `?`); String*, Arn*, Bool and Null operators with ...IfExists, where a negated operator
and an ...IfExists operator are true for a missing key (IAM user guide, condition operators), and
several values of one key are OR'ed (so AND'ed for a negated operator). Anything else raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from aws_support import StackPlan, write_variant
from support import stack_doc

from components.aws import data_zones as dz
from components.config.models import DataZone, ZoneRole
from components.tooling import cli
from components.tooling.mock_runtime import PLACEHOLDER_ACCOUNT

# ============================================================== the evaluator
Doc = Mapping[str, Any]


@dataclass(frozen=True)
class Request:
    principal: str
    """ARN of the calling role (aws:PrincipalArn of its sessions)."""
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)
    """Request condition keys besides aws:PrincipalArn (e.g. s3:RequestObjectTag/data-class)."""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _operator_holds(operator: str, key: str, wanted: list[Any], ctx: Mapping[str, str]) -> bool:
    if operator == "Null":
        (flag,) = wanted
        return (key not in ctx) == (str(flag).lower() == "true")
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    negated = "Not" in base
    if key not in ctx:
        return if_exists or negated
    value = ctx[key]
    if base in ("StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals"):
        hit = any(value == w for w in wanted)
    elif base in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike"):
        hit = any(_glob(w, value) for w in wanted)
    elif base == "Bool":
        hit = any(value.lower() == str(w).lower() for w in wanted)
    else:
        raise NotImplementedError(f"condition operator {operator}")
    return not hit if negated else hit


def _conditions_hold(condition: Mapping[str, Mapping[str, Any]], ctx: Mapping[str, str]) -> bool:
    return all(
        _operator_holds(op, key, _list(wanted), ctx) for op, block in condition.items() for key, wanted in block.items()
    )


def _principal_matches(principal: Any, caller: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        raise NotImplementedError(f"principal {principal!r}")
    account_root = re.sub(r":(role|user)/.*$", ":root", caller)
    return any(p in ("*", caller, account_root) for p in _list(principal.get("AWS", [])))


def _applies(st: Mapping[str, Any], req: Request, ctx: Mapping[str, str], resource_policy: bool) -> bool:
    if {"NotAction", "NotResource", "NotPrincipal"} & set(st):
        raise NotImplementedError("Not* elements")
    if resource_policy and not _principal_matches(st["Principal"], req.principal):
        return False
    if not any(_glob(a, req.action, case=False) for a in _list(st["Action"])):
        return False
    if not any(_glob(r, req.resource) for r in _list(st["Resource"])):
        return False
    return _conditions_hold(st.get("Condition", {}), ctx)


def decide(req: Request, identity: list[Doc], resource: list[Doc]) -> bool:
    """True when the request is allowed (same account: identity OR resource policy allow, no deny)."""
    ctx = {"aws:PrincipalArn": req.principal, "aws:SecureTransport": "true", **req.context}
    matched = [
        (st["Effect"], is_resource)
        for docs, is_resource in ((identity, False), (resource, True))
        for doc in docs
        for st in _list(doc["Statement"])
        if _applies(st, req, ctx, is_resource)
    ]
    if any(effect == "Deny" for effect, _ in matched):
        return False
    return any(effect == "Allow" for effect, _ in matched)


# ---------------------------------------------------------- the evaluator, on hand-made documents
ROLE = "arn:aws:iam::111122223333:role/reader"
OTHER = "arn:aws:iam::111122223333:role/other"
BUCKET = "arn:aws:s3:::b"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _deny(action: Any, resource: Any, condition: dict[str, Any], principal: Any = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": principal, "Action": action, "Resource": resource, "Condition": condition}


def test_evaluator_allows_only_matching_actions_and_resources_and_defaults_to_deny() -> None:
    identity = [_doc(_allow(["s3:Get*"], [f"{BUCKET}/data/*"]))]
    assert decide(Request(ROLE, "s3:GetObject", f"{BUCKET}/data/x"), identity, [])
    assert decide(Request(ROLE, "S3:getobject", f"{BUCKET}/data/x"), identity, [])  # actions ignore case
    assert not decide(Request(ROLE, "s3:GetObject", f"{BUCKET}/other/x"), identity, [])
    assert not decide(Request(ROLE, "s3:PutObject", f"{BUCKET}/data/x"), identity, [])
    assert not decide(Request(ROLE, "s3:GetObject", f"{BUCKET}/data/x"), [], [])


def test_evaluator_lets_an_explicit_deny_win_and_matches_resource_policy_principals() -> None:
    identity = [_doc(_allow("s3:*", "*"))]
    bucket = [_doc(_deny("s3:DeleteObject", f"{BUCKET}/*", {"ArnNotEquals": {"aws:PrincipalArn": ROLE}}))]
    assert decide(Request(ROLE, "s3:DeleteObject", f"{BUCKET}/k"), identity, bucket)
    assert not decide(Request(OTHER, "s3:DeleteObject", f"{BUCKET}/k"), identity, bucket)
    # A bucket-policy Allow grants a same-account principal it names (or its account root), nobody else.
    grant = [_doc({**_allow("s3:GetObject", f"{BUCKET}/*"), "Principal": {"AWS": ROLE}})]
    assert decide(Request(ROLE, "s3:GetObject", f"{BUCKET}/k"), [], grant)
    assert not decide(Request(OTHER, "s3:GetObject", f"{BUCKET}/k"), [], grant)
    root = [_doc({**_allow("s3:GetObject", f"{BUCKET}/*"), "Principal": {"AWS": "arn:aws:iam::111122223333:root"}})]
    assert decide(Request(OTHER, "s3:GetObject", f"{BUCKET}/k"), [], root)


@pytest.mark.parametrize(
    ("operator", "wanted", "context", "holds"),
    [
        ("StringEquals", ["a", "b"], {"k": "b"}, True),  # values of one key: OR
        ("StringEquals", ["a"], {}, False),  # missing key: false
        ("StringNotEquals", ["a", "b"], {"k": "b"}, False),  # negated: AND of the negations
        ("StringNotEquals", ["a", "b"], {"k": "c"}, True),
        ("StringNotEquals", ["a"], {}, True),  # missing key: a negated operator is true
        ("StringEqualsIfExists", ["a"], {}, True),  # missing key: ...IfExists is true
        ("StringNotEqualsIfExists", ["a"], {}, True),
        ("StringLike", ["a*"], {"k": "abc"}, True),
        ("ArnLikeIfExists", ["arn:aws:s3:::b"], {"k": "arn:aws:s3:::c"}, False),
        ("Null", ["true"], {}, True),
        ("Null", ["true"], {"k": "x"}, False),
        ("Null", ["false"], {"k": "x"}, True),
        ("Bool", ["false"], {"k": "true"}, False),
    ],
)
def test_evaluator_condition_operators(operator: str, wanted: list[str], context: dict[str, str], holds: bool) -> None:
    assert _operator_holds(operator, "k", wanted, context) is holds


def test_evaluator_ands_operators_and_refuses_what_it_does_not_model() -> None:
    both = {"StringNotEquals": {"k": "aws:kms"}, "Null": {"k": "false"}}
    assert _conditions_hold(both, {"k": "AES256"})
    assert not _conditions_hold(both, {})  # header absent: the deny does not apply
    assert not _conditions_hold(both, {"k": "aws:kms"})
    with pytest.raises(NotImplementedError):
        _operator_holds("NumericLessThan", "k", ["1"], {"k": "0"})
    with pytest.raises(NotImplementedError):
        decide(Request(ROLE, "s3:GetObject", BUCKET), [_doc({**_allow("s3:*", "*"), "NotResource": "x"})], [])


# ============================================================== the prod-eu stack
TAG = f"s3:RequestObjectTag/{dz.OBJECT_CLASS_TAG}"
SSE = "s3:x-amz-server-side-encryption"


@dataclass
class Zones:
    sp: StackPlan
    account: str
    buckets: dict[DataZone, str]
    """Zone → bucket ARN."""
    bucket_policies: dict[DataZone, dict[str, Any]]
    roles: dict[str, str]
    """Duty → role ARN."""
    role_policies: dict[str, dict[str, Any]]

    def allowed(self, duty: str, action: str, zone: DataZone, key: str | None = "k", **context: str) -> bool:
        """`duty` (a zone duty, or "outsider": any principal of the account with s3:* everywhere)."""
        arn = self.buckets[zone]
        resource = f"{arn}/{key}" if key is not None else arn
        if duty == "outsider":
            principal, identity = f"arn:aws:iam::{self.account}:role/account-admin", [_doc(_allow("s3:*", "*"))]
        else:
            principal, identity = self.roles[duty], [self.role_policies[duty]]
        request = Request(principal, action, resource, context)
        return decide(request, identity, [self.bucket_policies[zone]])

    def put(self, duty: str, zone: DataZone, data_class: str | None = "internal", **context: str) -> bool:
        """PutObject; with a tag header S3 also authorizes s3:PutObjectTagging (S3 API reference)."""
        if data_class is None:
            return self.allowed(duty, "s3:PutObject", zone, **context)
        ctx = {TAG: data_class, **context}
        return self.allowed(duty, "s3:PutObject", zone, **ctx) and self.allowed(
            duty, "s3:PutObjectTagging", zone, **ctx
        )


@pytest.fixture(scope="module")
def zones(prod: StackPlan) -> Zones:
    account = prod.config.cloud.account_id or PLACEHOLDER_ACCOUNT
    buckets, policies = {}, {}
    for bucket in prod.of_type("aws:s3/bucket:Bucket"):
        zone = bucket["inputs"]["tags"].get(dz.ZONE_TAG)
        if zone is not None:
            buckets[DataZone(zone)] = f"arn:aws:s3:::{bucket['name']}-xxxxxxx"
            (policy,) = [r for r in prod.children(bucket) if r["type"] == "aws:s3/bucketPolicy:BucketPolicy"]
            policies[DataZone(zone)] = prod.policy(policy)
    roles = {
        duty: f"arn:aws:iam::{account}:role/{prod.named(f'prod-eu-data-zones-{duty}')['inputs']['name']}"
        for duty in dz.DUTIES
    }
    role_policies = {duty: prod.policy(prod.named(f"prod-eu-data-zones-{duty}-policy")) for duty in dz.DUTIES}
    return Zones(prod, account, buckets, policies, roles, role_policies)


READS = ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging")
DELETES = ("s3:DeleteObject", "s3:DeleteObjectVersion")
# Expected access, written out independently of data_zones.ACCESS.
CAN_READ = {
    "ingestion": set(),
    "curation": {DataZone.RAW, DataZone.QUARANTINE},
    "training": {DataZone.CURATED},
    "serving": {DataZone.CURATED},
    "admin": set(DataZone),
    "outsider": set(DataZone),
}
CAN_WRITE = {
    "ingestion": {DataZone.RAW},
    "curation": {DataZone.CURATED, DataZone.QUARANTINE},
    "training": set(),
    "serving": set(),
    "admin": set(),
    "outsider": set(DataZone),
}
CAN_DELETE = {"admin": set(DataZone)}
PRINCIPALS = (*dz.DUTIES, "outsider")


@pytest.mark.parametrize("duty", PRINCIPALS)
@pytest.mark.parametrize("zone", list(DataZone))
def test_each_duty_reads_writes_and_deletes_exactly_its_zones(zones: Zones, duty: str, zone: DataZone) -> None:
    reads = zone in CAN_READ[duty]
    assert {a: zones.allowed(duty, a, zone) for a in READS} == dict.fromkeys(READS, reads)
    assert zones.allowed(duty, "s3:ListBucket", zone, key=None) is reads
    assert zones.put(duty, zone) is (zone in CAN_WRITE[duty])
    deletes = zone in CAN_DELETE.get(duty, set())
    assert {a: zones.allowed(duty, a, zone) for a in DELETES} == dict.fromkeys(DELETES, deletes)
    # Stripping an object's class is a delete too, and nobody's.
    assert zones.allowed(duty, "s3:DeleteObjectTagging", zone) is False


def test_serving_and_training_cannot_read_raw_or_quarantine(zones: Zones) -> None:
    for duty in ("serving", "training"):
        for zone in (DataZone.RAW, DataZone.QUARANTINE):
            assert not zones.allowed(duty, "s3:GetObject", zone)
            assert not zones.allowed(duty, "s3:ListBucket", zone, key=None)
        assert zones.allowed(duty, "s3:GetObject", DataZone.CURATED)


def test_ingestion_cannot_read_curated_or_quarantine(zones: Zones) -> None:
    for zone in DataZone:
        assert not zones.allowed("ingestion", "s3:GetObject", zone)
    assert zones.put("ingestion", DataZone.RAW)
    assert not zones.put("ingestion", DataZone.CURATED)


def test_only_admin_deletes_even_against_an_account_wide_identity_policy(zones: Zones) -> None:
    for zone in DataZone:
        deleters = {d for d in PRINCIPALS if zones.allowed(d, "s3:DeleteObject", zone)}
        assert deleters == {"admin"}
        assert not zones.allowed("curation", "s3:DeleteObjectVersion", zone)


@pytest.mark.parametrize("duty", ["ingestion", "curation", "outsider"])
def test_objects_enter_a_zone_only_with_a_data_class_the_cloud_may_store(zones: Zones, duty: str) -> None:
    zone = DataZone.RAW if duty == "ingestion" else DataZone.QUARANTINE
    assert zones.put(duty, zone, "internal") and zones.put(duty, zone, "public")
    assert not zones.put(duty, zone, data_class=None)  # no data-class tag
    assert not zones.put(duty, zone, "restricted")  # prod-eu: restricted stays on-prem
    assert not zones.put(duty, zone, "secret")  # not a data class at all
    # Re-tagging replaces the tag set: it must keep an allowed class.
    assert not zones.allowed(duty, "s3:PutObjectTagging", zone, **{TAG: "restricted"})
    assert not zones.allowed(duty, "s3:PutObjectTagging", zone)
    assert zones.allowed(duty, "s3:PutObjectTagging", zone, **{TAG: "public"})


def test_uploads_are_encrypted_with_the_stack_key_over_tls_and_single_part(zones: Zones) -> None:
    assert zones.put("ingestion", DataZone.RAW, **{SSE: "aws:kms"})  # header stating SSE-KMS, or none
    assert not zones.put("ingestion", DataZone.RAW, **{SSE: "AES256"})
    assert not zones.put("ingestion", DataZone.RAW, **{"aws:SecureTransport": "false"})
    # UploadPart is authorized as s3:PutObject and carries no tags: multipart uploads are refused
    # (single PutObject of at most 5 GiB per object, documented in components/aws/data_zones.py).
    assert not zones.allowed("ingestion", "s3:PutObject", DataZone.RAW)


def test_role_policies_name_only_zone_arns_and_keys_with_no_wildcards(zones: Zones) -> None:
    key = zones.sp.key_arn("prod-eu-storage-key")
    for duty, policy in zones.role_policies.items():
        for st in policy["Statement"]:
            assert st["Effect"] == "Allow"
            assert not any("*" in a for a in st["Action"]), duty
            for resource in st["Resource"]:
                assert resource != "*", duty
                named = resource.removesuffix("/*")
                assert named in zones.buckets.values() or named == key or ":sqs:" in named or ":kms:" in named
        kms = next(st for st in policy["Statement"] if st["Sid"] == "StackKeyViaS3")
        assert kms["Resource"] == [key]
        assert ("kms:GenerateDataKey" in kms["Action"]) is bool(CAN_WRITE[duty]), duty
    consumer = [
        d for d, p in zones.role_policies.items() if any(s["Sid"] == "ConsumeRawEvents" for s in p["Statement"])
    ]
    assert consumer == ["curation"]


def test_roles_trust_their_principals_or_their_service_account(zones: Zones) -> None:
    cfg = zones.sp.config.storage.data_zones
    for duty in dz.DUTIES:
        role = zones.sp.named(f"prod-eu-data-zones-{duty}")
        assert role["inputs"]["name"] == f"prod-eu-data-{duty}"
        trust = json.loads(role["inputs"]["assumeRolePolicy"])
        sids = {st["Sid"]: st for st in trust["Statement"]}
        role_cfg = getattr(cfg, duty)
        if role_cfg.principals:
            named = sids["NamedPrincipals"]
            assert named["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
            assert named["Condition"] == {"ArnEquals": {"aws:PrincipalArn": role_cfg.principals}}
        assert ("EksPodIdentity" in sids) is (role_cfg.service_account is not None)
    associations = {
        a["inputs"]["serviceAccount"]: a["inputs"]
        for a in zones.sp.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a["name"].startswith("prod-eu-data-zones-")
    }
    assert {k: v["namespace"] for k, v in associations.items()} == {
        "trainer": "aif-batch",
        "rag-retriever": "aif-serving",
    }


def test_trust_spans_the_accounts_of_the_principals() -> None:
    role = ZoneRole(
        principals=["arn:aws:iam::111122223333:role/a", "arn:aws:iam::444455556666:role/ci/b"],
    )
    (st,) = dz.role_trust(role, with_pods=True)["Statement"]
    assert st["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]}


def test_workloads_with_datasets_read_reach_the_curated_zone_only(zones: Zones) -> None:
    policy = zones.sp.policy(zones.sp.named("prod-eu-workloads-eval-runner-policy"))
    named = {r.removesuffix("/*") for st in policy["Statement"] for r in st["Resource"]}
    assert zones.buckets[DataZone.CURATED] in named
    assert not named & {zones.buckets[DataZone.RAW], zones.buckets[DataZone.QUARANTINE]}


# ------------------------------------------------------------------ buckets, queue, lifecycle, trail
def test_three_zone_buckets_with_the_controls_of_every_bucket(zones: Zones) -> None:
    sp = zones.sp
    names = {z: sp.named(f"prod-eu-storage-{dz.ZONE_SUFFIX[z]}") for z in DataZone}
    assert {z: b["name"] for z, b in names.items()} == {
        DataZone.RAW: "prod-eu-storage-datasets-raw",
        DataZone.CURATED: "prod-eu-storage-datasets",  # the pre-zone datasets bucket: not replaced
        DataZone.QUARANTINE: "prod-eu-storage-datasets-quarantine",
    }
    key = sp.key_arn("prod-eu-storage-key")
    for zone, bucket in names.items():
        assert bucket["inputs"]["tags"][dz.ZONE_TAG] == zone.value
        assert bucket["inputs"]["tags"]["data-classification"] == "internal"
        assert bucket["protect"] is True and bucket["retainOnDelete"] is True
        kids = {r["type"].rsplit(":", 1)[-1]: r["inputs"] for r in sp.children(bucket)}
        sse = kids["BucketServerSideEncryptionConfiguration"]["rules"][0]
        assert sse == {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key},
            "bucketKeyEnabled": True,
        }
        assert kids["BucketVersioning"]["versioningConfiguration"]["status"] == "Enabled"
        blocks = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        assert all(kids["BucketPublicAccessBlock"][b] is True for b in blocks)
        assert kids["BucketOwnershipControls"]["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        sids = [s["Sid"] for s in json.loads(kids["BucketPolicy"]["policy"])["Statement"]]
        assert sids == [
            "DenyInsecureTransport",
            "DenyNonKmsEncryptionHeader",
            "DenyDeleteExceptZoneAdmin",
            "DenyUnclassifiedObjects",
            "DenyClassesNotAllowedHere",
        ]


def test_new_raw_objects_notify_an_encrypted_queue_that_only_s3_from_raw_may_send_to(zones: Zones) -> None:
    sp = zones.sp
    (note,) = sp.of_type("aws:s3/bucketNotification:BucketNotification")
    assert note["inputs"]["bucket"] == "prod-eu-storage-datasets-raw-id"
    (target,) = note["inputs"]["queues"]
    queue, dlq = sp.named("prod-eu-data-zones-raw-events"), sp.named("prod-eu-data-zones-raw-events-dlq")
    assert target == {
        "events": ["s3:ObjectCreated:*"],
        "queueArn": f"arn:aws:sqs:eu-central-1:{zones.account}:{queue['name']}",
    }
    events_key = sp.key_arn("prod-eu-data-zones-events-key")
    for q in (queue, dlq):
        assert q["inputs"]["kmsMasterKeyId"] == events_key
        assert q["inputs"]["messageRetentionSeconds"] == 14 * 24 * 3600
    redrive = json.loads(queue["inputs"]["redrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": f"arn:aws:sqs:eu-central-1:{zones.account}:{dlq['name']}",
        "maxReceiveCount": 5,
    }
    (st,) = sp.policy(sp.named("prod-eu-data-zones-raw-events-policy"))["Statement"]
    assert st["Principal"] == {"Service": "s3.amazonaws.com"} and st["Action"] == "sqs:SendMessage"
    assert st["Condition"] == {
        "ArnLike": {"aws:SourceArn": zones.buckets[DataZone.RAW]},
        "StringEquals": {"aws:SourceAccount": zones.account},
    }
    key = sp.named("prod-eu-data-zones-events-key")
    assert key["inputs"]["enableKeyRotation"] is True and key["protect"] is True
    s3 = next(s for s in sp.policy(key)["Statement"] if s["Principal"] == {"Service": "s3.amazonaws.com"})
    assert sorted(s3["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert s3["Condition"]["ArnLikeIfExists"] == {"aws:SourceArn": zones.buckets[DataZone.RAW]}
    assert s3["Condition"]["StringEqualsIfExists"] == {"aws:SourceAccount": zones.account}


def _lifecycle(sp: StackPlan, zone: DataZone) -> dict[str, dict[str, Any]]:
    lc = sp.named(f"prod-eu-storage-{dz.ZONE_SUFFIX[zone]}-lifecycle")
    return {r["id"]: r for r in lc["inputs"]["rules"]}


def test_lifecycle_per_zone_and_data_class(zones: Zones) -> None:
    sp = zones.sp
    raw, curated, quarantine = (_lifecycle(sp, z) for z in DataZone)
    assert list(raw) == ["retention"] and raw["retention"]["expiration"] == {"days": 30}
    assert raw["retention"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert list(quarantine) == ["retention"] and quarantine["retention"]["expiration"] == {"days": 90}
    # Curated keeps current objects; old versions follow the class retention (internal 730, public 365).
    assert "expiration" not in curated["retention"]
    assert curated["retention"]["noncurrentVersionExpiration"] == {"noncurrentDays": 730}
    assert curated["class-public"]["filter"] == {"tag": {"key": "data-class", "value": "public"}}
    assert curated["class-public"]["noncurrentVersionExpiration"] == {"noncurrentDays": 365}
    assert "abortIncompleteMultipartUpload" not in curated["class-public"]  # S3 refuses it with a tag filter


def test_a_class_shorter_than_the_raw_zone_gets_its_own_rule(tmp_path) -> None:
    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:storage"]["retentionDays"]["public"] = 7
    sp = write_variant(tmp_path, "short-public", doc)
    raw = _lifecycle(sp, DataZone.RAW)
    assert raw["class-public"]["expiration"] == {"days": 7}
    assert raw["class-public"]["filter"] == {"tag": {"key": "data-class", "value": "public"}}
    assert "class-internal" not in raw  # 730 days: the zone's 30 are shorter


def test_audit_trail_records_the_zones_and_the_models_bucket_encrypted_into_the_locked_logs_bucket(
    zones: Zones,
) -> None:
    sp = zones.sp
    (trail,) = sp.of_type("aws:cloudtrail/trail:Trail")
    assert trail["inputs"]["kmsKeyId"] == sp.key_arn("prod-eu-storage-key")
    assert trail["inputs"]["s3BucketName"] == "prod-eu-storage-logs-xxxxxxx"
    data = next(s for s in trail["inputs"]["advancedEventSelectors"] if s["name"] == "data bucket object access")
    fields = {f["field"]: f for f in data["fieldSelectors"]}
    assert fields["eventCategory"]["equals"] == ["Data"]
    assert fields["resources.type"]["equals"] == ["AWS::S3::Object"]
    starts = set(fields["resources.ARN"]["startsWiths"])
    assert {f"{arn}/" for arn in zones.buckets.values()} <= starts
    assert "arn:aws:s3:::prod-eu-storage-models-xxxxxxx/" in starts
    assert not any("logs" in s for s in starts)
    (lock,) = [
        r
        for r in sp.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
        if r["parent"] == sp.named("prod-eu-storage-logs")["urn"]
    ]
    assert lock["inputs"]["rule"]["defaultRetention"]["mode"] == "COMPLIANCE"
    assert sp.named("prod-eu-storage-logs")["inputs"]["objectLockEnabled"] is True


def test_zone_classes_are_the_cloud_classes_up_to_the_datasets_class(zones: Zones) -> None:
    assert dz.zone_classes(zones.sp.config) == ("public", "internal")


# ------------------------------------------------------------------ invalid config
def _storage(d: dict[str, Any]) -> dict[str, Any]:
    return d["config"]["ai-factory:storage"]


LAB_ZONES = {
    role: {"principals": [f"arn:aws:iam::111122223333:role/{role}"]}
    for role in ("ingestion", "curation", "training", "serving", "admin")
}

CASES: list[tuple[str, str, Any, list[str]]] = [
    (
        "datasets-without-zones",
        "prod-eu",
        lambda d: _storage(d).pop("dataZones"),
        [
            "ai-factory:storage.dataZones: the datasets bucket is split into raw/curated/quarantine zones whose "
            "roles must be configured (allowed: dataZones with ingestion, curation, training, serving and admin roles)"
        ],
    ),
    (
        "zones-without-datasets",
        "prod-eu",
        lambda d: _storage(d)["buckets"].pop("datasets"),
        [
            "ai-factory:cloud.eks.workloads.eval-runner.buckets.datasets: the stack has no datasets bucket "
            "(allowed: models, artifacts, logs, vector-snapshots)",
            "ai-factory:storage.dataZones: the stack has no datasets bucket (allowed: remove dataZones or add datasets)",
        ],
    ),
    (
        "role-nobody-can-assume",
        "prod-eu",
        lambda d: _storage(d)["dataZones"]["admin"].update(principals=[]),
        [
            "ai-factory:storage.dataZones.admin: nobody could assume this role (allowed: principals and/or serviceAccount)"
        ],
    ),
    (
        "service-account-of-a-workload",
        "prod-eu",
        lambda d: _storage(d)["dataZones"]["training"].update(
            serviceAccount={"namespace": "aif-batch", "name": "eval-runner"}
        ),
        [
            "ai-factory:storage.dataZones.training.serviceAccount: aif-batch/eval-runner is already bound to "
            "cloud.eks.workloads.eval-runner (one Pod Identity role per service account) "
            "(allowed: a service account of its own)"
        ],
    ),
    (
        "service-account-twice",
        "prod-eu",
        lambda d: _storage(d)["dataZones"]["serving"].update(
            serviceAccount={"namespace": "aif-batch", "name": "trainer"}
        ),
        [
            "ai-factory:storage.dataZones.serving.serviceAccount: aif-batch/trainer is already bound to "
            "storage.dataZones.training (one Pod Identity role per service account) "
            "(allowed: a service account of its own)"
        ],
    ),
    (
        "workload-writes-datasets",
        "prod-eu",
        lambda d: d["config"]["ai-factory:cloud"]["eks"]["workloads"]["eval-runner"]["buckets"].update(
            datasets="read-write"
        ),
        [
            "ai-factory:cloud.eks.workloads.eval-runner.buckets.datasets: workloads read the curated zone only; "
            "writing datasets is the zone roles' duty (allowed: read (or use storage.dataZones roles))"
        ],
    ),
    (
        "prod-logs-without-object-lock",
        "prod-eu",
        lambda d: _storage(d)["buckets"]["logs"].update(objectLock=False),
        [
            "ai-factory:storage.buckets.logs.objectLock: in tier prod the audit trail's logs bucket is write-once, "
            "so no one can rewrite the record (allowed: true)"
        ],
    ),
    (
        "service-account-without-eks",
        "lab",
        lambda d: _storage(d).update(
            buckets={**_storage(d)["buckets"], "datasets": {"dataClass": "internal"}},
            dataZones={**LAB_ZONES, "serving": {"serviceAccount": {"namespace": "aif-serving", "name": "rag"}}},
        ),
        [
            "ai-factory:storage.dataZones.serving.serviceAccount: service accounts are bound through EKS Pod "
            "Identity and this stack has no cloud.eks (allowed: principals only)"
        ],
    ),
]


@pytest.mark.parametrize(("case", "stack", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
def test_invalid_zone_config_exits_2_with_one_line_per_problem(
    case: str,
    stack: str,
    mutate: Any,
    expected: list[str],
    tmp_path,
    capsys: pytest.CaptureFixture[str],
    never_run: list[Any],
) -> None:
    doc = stack_doc(stack)
    mutate(doc)
    (tmp_path / f"Pulumi.{case}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    code = cli.run(["--stacks-dir", str(tmp_path), "plan", case])
    out, err = capsys.readouterr()
    assert (code, err.splitlines(), out, never_run) == (2, expected, "", [])


def test_a_zoned_lab_stack_without_eks_plans_roles_without_pod_identity(tmp_path) -> None:
    doc = stack_doc("lab")
    _storage(doc)["buckets"]["datasets"] = {"dataClass": "internal"}
    _storage(doc)["dataZones"] = LAB_ZONES
    sp = write_variant(tmp_path, "lab-zoned", doc)
    roles = [r for r in sp.of_type("aws:iam/role:Role") if r["name"].startswith("lab-data-zones-")]
    assert len(roles) == len(dz.DUTIES)
    assert not [a for a in sp.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")]
    assert all(json.loads(r["inputs"]["assumeRolePolicy"])["Statement"][0]["Sid"] == "NamedPrincipals" for r in roles)
    # staging: neither protected nor retained
    assert sp.named("lab-storage-datasets-raw")["protect"] is False
