"""Fixture tables for RES-001…006: exact findings, fail-closed on unknowns."""

from __future__ import annotations

import pytest
from policy_support import facts, run, view

from components import conventions as c
from policies.rules.base import UNKNOWN

B = "aws:s3/bucket:Bucket"
REPL = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
EU = {"region": "eu-central-1"}
US = {"region": "us-east-1"}

RES_001 = [
    ("provider-region", [view("aws:kms/key:Key", "k", provider_props=EU)], set()),
    ("own-region-overrides", [view("aws:kms/key:Key", "k", {"region": "eu-west-1"}, provider_props=US)], set()),
    (
        "outside",
        [view("aws:kms/key:Key", "k", provider_props=US)],
        {("k", "region us-east-1 is outside the residency allow-list (eu-central-1, eu-west-1)")},
    ),
    (
        "unknown-fails-closed",
        [view("aws:kms/key:Key", "k", provider_props={"region": UNKNOWN})],
        {("k", "region is unknown at preview; residency cannot be verified (fail closed)")},
    ),
    (
        "none-fails-closed",
        [view("aws:kms/key:Key", "k")],
        {("k", "no region is set on the resource or its provider; residency cannot be verified (fail closed)")},
    ),
]

SRC = view(B, "src", provider_props=EU)
DST_EU = view(B, "dst", provider_props={"region": "eu-west-1"})
DST_US = view(B, "dst", provider_props=US)


def repl(dest_arn: object, **kw: object) -> object:
    return view(REPL, "r", {"bucket": "src-id", "rules": [{"destination": {"bucket": dest_arn}}]}, parent=SRC.urn, **kw)


RES_002 = [
    ("s3-by-dependency", [SRC, DST_EU, repl(UNKNOWN, dependencies={"rules": (DST_EU.urn,)})], set()),
    ("s3-by-name", [SRC, DST_EU, repl("arn:aws:s3:::dst-xxxxxxx")], set()),
    (
        "s3-outside",
        [SRC, DST_US, repl("arn:aws:s3:::dst-xxxxxxx")],
        {
            (
                "r",
                "replication rule 0 destination arn:aws:s3:::dst-xxxxxxx is in us-east-1, outside the residency allow-list (eu-central-1, eu-west-1)",
            )
        },
    ),
    (
        "s3-foreign-bucket-fails-closed",
        [SRC, repl("arn:aws:s3:::someone-elses")],
        {
            (
                "r",
                "replication rule 0 destination arn:aws:s3:::someone-elses: region cannot be determined; residency cannot be verified (fail closed)",
            )
        },
    ),
    (
        "s3-unknown-fails-closed",
        [SRC, repl(UNKNOWN)],
        {
            (
                "r",
                "replication rule 0 destination <unknown>: region cannot be determined; residency cannot be verified (fail closed)",
            )
        },
    ),
    (
        "backup-copy",
        [
            view(
                "aws:backup/plan:Plan",
                "bp",
                {"rules": [{"copyActions": [{"destinationVaultArn": "arn:aws:backup:us-west-2:1:backup-vault:v"}]}]},
            )
        ],
        {
            (
                "bp",
                "backup rule 0 copy action 0 vault arn:aws:backup:us-west-2:1:backup-vault:v is in us-west-2, outside the residency allow-list (eu-central-1, eu-west-1)",
            )
        },
    ),
    (
        "backup-unknown",
        [view("aws:backup/plan:Plan", "bp", {"rules": [{"copyActions": [{"destinationVaultArn": UNKNOWN}]}]})],
        {
            (
                "bp",
                "backup rule 0 copy action 0 vault <unknown>: region is unknown at preview; residency cannot be verified (fail closed)",
            )
        },
    ),
    (
        "dynamodb-replica",
        [
            view(
                "aws:dynamodb/table:Table",
                "t",
                {"replicas": [{"regionName": "eu-west-1"}, {"regionName": "ap-south-1"}]},
            )
        ],
        {("t", "replica 1 is in ap-south-1, outside the residency allow-list (eu-central-1, eu-west-1)")},
    ),
]

RES_006 = [
    ("cloud-storable", [view(B, "b", {"tags": {c.TAG_DATA_CLASSIFICATION: "internal"}})], set()),
    (
        "restricted",
        [view(B, "b", {"tags": {c.TAG_DATA_CLASSIFICATION: "restricted"}})],
        {("b", "data class 'restricted' may not be stored in the cloud (storage: on-prem)")},
    ),
    (
        "undefined",
        [view(B, "b", {"tags": {c.TAG_DATA_CLASSIFICATION: "secret"}})],
        {("b", "data class 'secret' is not defined in residency.dataClasses (internal, public, restricted)")},
    ),
    ("untagged", [view(B, "b", {})], {("b", "no data-classification tag; residency cannot be verified (fail closed)")}),
    (
        "unknown",
        [view(B, "b", {"tags": UNKNOWN})],
        {("b", "data-classification tag is unknown at preview; residency cannot be verified (fail closed)")},
    ),
]

CASES = [
    (rule, name, resources, expected)
    for rule, table in (("AIF-RES-001", RES_001), ("AIF-RES-002", RES_002), ("AIF-RES-006", RES_006))
    for name, resources, expected in table
]


@pytest.mark.parametrize(("rule", "case", "resources", "expected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_exact_findings(rule: str, case: str, resources: list, expected: set) -> None:
    assert run(rule, resources) == expected


def test_site_country() -> None:
    assert run("AIF-RES-003", []) == set()
    comp = view("ai-factory:onprem:OnPremGpuBaseline", "site")
    conf = facts("AIF-RES-003", siteCountry="US")
    assert run("AIF-RES-003", [comp], conf) == {
        ("site", "on-prem site fra1 is in US, outside the allowed countries (DE, FR, NL)")
    }
    # A cloud-only stack has no site: nothing to judge.
    assert facts("AIF-RES-003", "dev")["siteCountry"] is None
    assert run("AIF-RES-003", [], facts("AIF-RES-003", "dev")) == set()


def _models(**changes: object) -> list[dict]:
    models = facts("AIF-RES-004")["models"]
    for m in models:
        if m["name"] == "llama-33-70b":
            m.update(changes)
    return models


DEPLOY = "kubernetes:apps/v1:Deployment"


def deployment(model: str, spec: dict) -> object:
    return view(
        DEPLOY,
        model,
        {
            "metadata": {"name": model, "namespace": c.NAMESPACE_SERVING},
            "spec": {"template": {"metadata": {"labels": {c.LABEL_MODEL: model}}, "spec": spec}},
        },
    )


ON_PREM = {"nodeSelector": {c.LABEL_LOCATION: c.LOCATION_ON_PREM}, "containers": []}


def test_placement_from_config_facts() -> None:
    assert run("AIF-RES-004", []) == set()
    conf = facts("AIF-RES-004", models=_models(burstToCloud=True))
    assert run("AIF-RES-004", [], conf) == {
        (None, "model llama-33-70b may burst to the cloud but serves restricted, which may not be processed there")
    }
    conf = facts("AIF-RES-004", vectorStore={"dataClass": "restricted", "onPrem": False})
    assert run("AIF-RES-004", [], conf) == {
        (None, "the vector store holds restricted data but has no on-prem place to live")
    }


def test_placement_of_kubernetes_workloads() -> None:
    pinned = deployment("llama-33-70b", ON_PREM)
    assert run("AIF-RES-004", [pinned]) == set()
    # A public-only model may go anywhere.
    assert run("AIF-RES-004", [deployment("qwen25-7b", {"containers": []})]) == set()
    loose = deployment("llama-33-70b", {"containers": []})
    tolerant = deployment(
        "llama-33-70b", {**ON_PREM, "tolerations": [{"key": c.BURST_TAINT_KEY, "operator": "Exists"}]}
    )
    unknown = deployment("llama-33-70b", {"nodeSelector": {c.LABEL_LOCATION: UNKNOWN}})
    assert run("AIF-RES-004", [loose]) == {
        (
            "llama-33-70b",
            f"model llama-33-70b (llama-33-70b) handles restricted but is not pinned to {c.LABEL_LOCATION}=on-prem",
        )
    }
    assert run("AIF-RES-004", [tolerant]) == {
        ("llama-33-70b", "model llama-33-70b (llama-33-70b) handles restricted but tolerates the cloud burst taint")
    }
    assert run("AIF-RES-004", [unknown]) == {
        (
            "llama-33-70b",
            "model llama-33-70b (llama-33-70b) placement is unknown at preview; residency cannot be verified (fail closed)",
        )
    }
    # A model the config does not know is judged by its own label, else fails closed.
    stranger = deployment("mystery", {"containers": []})
    assert run("AIF-RES-004", [stranger]) == {
        ("mystery", f"model mystery (mystery) handles <unlabelled> but is not pinned to {c.LABEL_LOCATION}=on-prem")
    }
    # Without cloud nodes (lab) every pod runs on-prem: nothing to pin.
    assert run("AIF-RES-004", [loose], facts("AIF-RES-004", cloudNodes=False)) == set()


def test_router_fallbacks() -> None:
    assert run("AIF-RES-005", []) == set()
    conf = facts("AIF-RES-005", models=_models(externalFallback=True))
    assert run("AIF-RES-005", [], conf) == {
        (
            None,
            "model llama-33-70b falls back to the external API but serves internal, restricted, which may not leave the factory",
        )
    }
