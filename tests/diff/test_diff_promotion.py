"""Promotion of a canary (issue 9): the candidate's revision becomes the stable one and the candidate block
goes. The diff shows exactly that: the stable Deployment's artifact and release record, the router's config,
the candidate's serving objects deleted, and nothing else but the quota and alerts the candidate had added."""

from __future__ import annotations

import pytest

from components import conventions as c

STACK = "prod-eu"
MODEL = "qwen25-7b"
SERVING = "prod-eu-platform-serving"


@pytest.fixture(scope="module")
def rep(module_project):
    def promote(cfg: dict) -> None:
        entry = next(m for m in cfg["ai-factory:serving"]["models"] if m["name"] == MODEL)
        cand = entry.pop("candidate")
        for key in ("source", "artifact", "author", "evaluation", "approvals"):
            entry[key] = cand[key]

    module_project.edit_stack(STACK, promote)
    return module_project.report(STACK)


def _changed(rep) -> dict[str, str]:
    return {r["name"]: r["op"] for r in rep.doc["resources"] if r["op"] != "same"}


def test_promotion_changes_exactly_the_model_servers_and_the_router(rep) -> None:
    assert _changed(rep) == {
        # The stable server now loads the promoted artifact and carries its release record.
        f"{SERVING}-{MODEL}": "update",
        # The candidate's own serving objects go.
        f"{SERVING}-{MODEL}-candidate": "delete",
        f"{SERVING}-{MODEL}-candidate-svc": "delete",
        f"{SERVING}-{MODEL}-candidate-pdb": "delete",
        f"{SERVING}-{MODEL}-candidate-scaler": "delete",
        # The router sends the whole model group to the stable again (config, and its pods roll).
        "prod-eu-platform-router-config": "update",
        "prod-eu-platform-router-deployment": "update",
        # What the candidate had added around it: its GPUs in the namespace quota, its canary alerts.
        "prod-eu-platform-tenancy-aif-serving-quota": "update",
        "prod-eu-platform-observability-rules": "update",
    }
    assert rep.exit_code == 0


def test_the_router_pods_roll_because_their_config_checksum_changes(rep) -> None:
    router = next(r for r in rep.doc["resources"] if r["name"] == "prod-eu-platform-router-deployment")
    assert [ch["path"] for ch in router["changes"]] == [
        'spec.template.metadata.annotations["ai-factory.io/config-sha256"]'
    ]


def test_the_stable_deployment_change_is_the_artifact_and_the_record(rep) -> None:
    stable = next(r for r in rep.doc["resources"] if r["name"] == f"{SERVING}-{MODEL}")
    record_key = f'metadata.annotations["{c.ANNOTATION_RELEASE}"]'
    paths = {ch["path"] for ch in stable["changes"]}
    assert paths == {
        # The served artifact: the weight fetcher's prefix, destination and digest, and vLLM's model path.
        "spec.template.spec.containers[0].args[0]",
        # (PREFIX, DEST, DIGEST: components/k8s/serving.fetch_env)
        "spec.template.spec.initContainers[0].env[0].value",
        "spec.template.spec.initContainers[0].env[1].value",
        "spec.template.spec.initContainers[0].env[2].value",
        # The release record, field by field (the diff reads the JSON annotation).
        *(
            f"{record_key}.{field}"
            for field in (
                "approvals[0].date",
                "artifactDigest",
                "artifactPath",
                "evaluation.date",
                "evaluation.metrics.accuracy",
                "evaluation.metrics.groundedness",
                "evaluation.metrics.p95_ttft_seconds",
                "evaluation.metrics.toxicity_rate",
                "revision",
                "trafficPercent",
            )
        ),
    }
    by_path = {ch["path"]: ch for ch in stable["changes"]}
    assert by_path["spec.template.spec.initContainers[0].env[2].value"]["after"] == (
        "sha256:0c4e7f9d2a8b6c1e3f5a7d9b2c4e6f8a1b3d5c7e9f1a2b4c6d8e0f2a4b6c8d0e"
    )
    assert by_path[f"{record_key}.revision"]["after"] == "a09a35458c702b33eeacc393d103063234e8bc28"
    assert (by_path[f"{record_key}.trafficPercent"]["before"], by_path[f"{record_key}.trafficPercent"]["after"]) == (
        90,
        100,
    )
    assert not any(ch["forces_replacement"] for ch in stable["changes"])
