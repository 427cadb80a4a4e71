"""The state/secrets bootstrap program under the mock runtime."""

from __future__ import annotations

import json

import pytest

from components.aws.bootstrap.state import backend_url, main, secrets_provider_url
from components.tooling.mock_runtime import run_under_mocks

ENVS = ["dev", "lab", "prod-eu"]


@pytest.fixture(scope="module")
def resources() -> list:
    config = {
        "bootstrap:region": "eu-central-1",
        "bootstrap:bucketName": "acme-ai-factory-pulumi-state",
        "bootstrap:environments": json.dumps(ENVS),
        "bootstrap:owner": "ml-platform",
        "bootstrap:costCenter": "cc-1000",
    }
    return run_under_mocks(
        main, stack="bootstrap", config=config, secret_keys=[], account_id="111122223333", region="eu-central-1"
    )


def _of(resources: list, typ: str) -> list:
    return [r for r in resources if r.type == typ]


def test_state_bucket_is_versioned_kms_encrypted_private_and_tls_only(resources: list) -> None:
    (bucket,) = _of(resources, "aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "acme-ai-factory-pulumi-state" and bucket.inputs["forceDestroy"] is False
    kids = {r.type.rsplit(":", 1)[-1]: r.inputs for r in resources if r.parent == bucket.parent}
    (rule,) = kids["BucketServerSideEncryptionConfiguration"]["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms" and rule["bucketKeyEnabled"]
    assert kids["BucketVersioning"]["versioningConfiguration"] == {"status": "Enabled"}
    blocks = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert all(kids["BucketPublicAccessBlock"][k] is True for k in blocks)
    policy = json.loads(kids["BucketPolicy"]["policy"])
    assert any(s["Sid"] == "DenyInsecureTransport" for s in policy["Statement"])


def test_one_rotated_secrets_key_per_environment_with_its_alias(resources: list) -> None:
    keys = [k for k in _of(resources, "aws:kms/key:Key") if "-secrets-" in k.name]
    assert sorted(k.name for k in keys) == [f"pulumi-secrets-{e}" for e in ENVS]
    assert all(k.inputs["enableKeyRotation"] is True and k.inputs["deletionWindowInDays"] == 30 for k in keys)
    aliases = sorted(a.inputs["name"] for a in _of(resources, "aws:kms/alias:Alias"))
    assert aliases == [f"alias/pulumi-secrets-{e}" for e in ENVS]


def test_state_and_keys_are_always_protected_and_retained(resources: list) -> None:
    stateful = _of(resources, "aws:s3/bucket:Bucket") + _of(resources, "aws:kms/key:Key")
    assert len(stateful) == 1 + 1 + len(ENVS)
    assert all(r.protect and r.retain_on_delete for r in stateful)


def test_login_and_secrets_provider_urls() -> None:
    assert backend_url("acme-state", "eu-central-1") == "s3://acme-state?region=eu-central-1&awssdk=v2"
    assert (
        secrets_provider_url("prod-eu", "eu-central-1") == "awskms://alias/pulumi-secrets-prod-eu?region=eu-central-1"
    )
