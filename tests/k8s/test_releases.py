"""Canary releases: the candidate is served next to the stable revision, the router splits the model's
traffic by the configured share (checked with LiteLLM's own router), and the canary alerts exist and parse.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter

import pytest
from support import doc_sections, stack_doc

from components import conventions as c
from components.config.loader import parse_sections
from components.config.models import FactoryConfig
from components.k8s.alerts import alert_groups
from components.k8s.router import router_config
from components.k8s.tenancy import gpu_quota

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MODEL = "qwen25-7b"
CANDIDATE = f"{MODEL}-candidate"


def _cfg(share: int = 10) -> FactoryConfig:
    doc = stack_doc("prod-eu")
    entry = next(m for m in doc["config"]["ai-factory:serving"]["models"] if m["name"] == MODEL)
    entry["candidate"]["trafficPercent"] = share
    return parse_sections(doc_sections(doc))


def _entries(config: dict, model: str) -> list[dict]:
    return [e for e in config["model_list"] if e["model_name"] == model]


def test_candidate_at_10_percent_splits_the_model_group_90_10() -> None:
    cfg = _cfg(10)
    entries = _entries(router_config(cfg), MODEL)
    by_id = {e["model_info"]["id"].split("/")[1]: e for e in entries}
    assert {e["model_info"]["id"] for e in entries} == {f"{MODEL}/stable", f"{MODEL}/candidate"}
    by_id = {MODEL: by_id["stable"], CANDIDATE: by_id["candidate"]}
    assert by_id[MODEL]["litellm_params"]["weight"] == 90
    assert by_id[CANDIDATE]["litellm_params"]["weight"] == 10
    assert by_id[CANDIDATE]["litellm_params"]["model"] == f"hosted_vllm/{CANDIDATE}"
    assert (
        by_id[CANDIDATE]["litellm_params"]["api_base"]
        == f"http://vllm-{CANDIDATE}.aif-serving.svc.cluster.local:8000/v1"
    )
    assert by_id[CANDIDATE]["model_info"]["release"] == "candidate"
    assert by_id[CANDIDATE]["model_info"]["revision"] == "a09a35458c702b33eeacc393d103063234e8bc28"
    # The catalog's rpm limit of the model (600) is split in the same ratio.
    assert (by_id[MODEL]["litellm_params"]["rpm"], by_id[CANDIDATE]["litellm_params"]["rpm"]) == (540, 60)
    # Models without a candidate keep a single, unweighted deployment.
    single = _entries(router_config(cfg), "llama-31-8b")
    assert len(single) == 1 and "weight" not in single[0]["litellm_params"]


def test_litellm_router_sends_about_the_configured_share_to_the_candidate() -> None:
    import litellm

    config = router_config(_cfg(10))
    router = litellm.Router(model_list=config["model_list"], routing_strategy="simple-shuffle")
    random.seed(20261123)
    picks = Counter(router.get_available_deployment(model=MODEL)["model_info"]["id"] for _ in range(4000))
    share = picks[f"{MODEL}/candidate"] / sum(picks.values())
    assert set(picks) == {f"{MODEL}/stable", f"{MODEL}/candidate"}
    # 4000 draws at p=0.1: standard deviation 0.0047; ±0.02 is more than 4 sigma.
    assert 0.08 <= share <= 0.12, picks


@pytest.mark.parametrize("share", [1, 25, 50])
def test_weights_follow_the_configured_share(share: int) -> None:
    weights = {
        e["model_info"]["id"]: e["litellm_params"]["weight"] for e in _entries(router_config(_cfg(share)), MODEL)
    }
    assert weights == {f"{MODEL}/stable": 100 - share, f"{MODEL}/candidate": share}


def test_canary_alerts_exist_parse_and_tell_to_revert() -> None:
    import promql_parser

    groups = {g["name"]: g["rules"] for g in alert_groups(_cfg())}
    canary = groups["ai-factory.canary"]
    assert [(r["alert"], r["labels"]["model"]) for r in canary] == [
        ("CanaryErrorRateHigh", MODEL),
        ("CanaryTimeToFirstTokenHigh", MODEL),
    ]
    for rule in canary:
        promql_parser.parse(rule["expr"])
        assert "revert the pull request" in rule["annotations"]["description"]
        assert rule["annotations"]["runbook_url"].startswith(c.RUNBOOK_BASE_URL)
    errors, ttft = (r["expr"] for r in canary)
    # Candidate against stable, by the router's per-deployment ids and vLLM's served model names.
    assert f'model_id="{MODEL}/candidate"' in errors and f'model_id="{MODEL}/stable"' in errors
    assert "+ 0.02" in errors
    assert f'model_name="{CANDIDATE}"' in ttft and f'model_name="{MODEL}"' in ttft and "> 1.25 *" in ttft


def test_no_canary_group_without_candidates() -> None:
    doc = stack_doc("prod-eu")
    for m in doc["config"]["ai-factory:serving"]["models"]:
        m.pop("candidate", None)
    cfg = parse_sections(doc_sections(doc))
    assert "ai-factory.canary" not in {g["name"] for g in alert_groups(cfg)}
    assert all("weight" not in e["litellm_params"] for e in router_config(cfg)["model_list"])


def test_candidate_is_served_with_its_own_revision_and_release_record(plans) -> None:
    resources = {r["name"]: r for r in plans["prod-eu"].resources}
    stable = resources[f"prod-eu-platform-serving-{MODEL}"]["inputs"]
    cand = resources[f"prod-eu-platform-serving-{CANDIDATE}"]["inputs"]
    assert cand["metadata"]["labels"][c.LABEL_RELEASE] == "candidate"
    assert stable["metadata"]["labels"][c.LABEL_RELEASE] == "stable"

    def digest(dep: dict) -> str:
        env = dep["spec"]["template"]["spec"]["initContainers"][0]["env"]
        return next(e["value"] for e in env if e["name"] == "DIGEST")

    assert digest(cand) == "sha256:0c4e7f9d2a8b6c1e3f5a7d9b2c4e6f8a1b3d5c7e9f1a2b4c6d8e0f2a4b6c8d0e"
    assert digest(stable) == "sha256:5f5e975ce4e39792fd881ca7d86f33675795dfd8de56cfe0cfe9f4477d960927"
    record = json.loads(cand["metadata"]["annotations"][c.ANNOTATION_RELEASE])
    assert {k: record[k] for k in ("model", "release", "trafficPercent", "author", "riskTier")} == {
        "model": MODEL,
        "release": "candidate",
        "trafficPercent": 10,
        "author": "j.meyer",
        "riskTier": "low",
    }
    assert record["approvals"] == [{"by": "m.schmidt", "date": "2026-11-18"}]
    assert record["evaluation"]["thresholds"]["toxicity_rate"] == {"max": 0.005}
    stable_record = json.loads(stable["metadata"]["annotations"][c.ANNOTATION_RELEASE])
    assert (stable_record["release"], stable_record["trafficPercent"]) == ("stable", 90)
    # The record is on the Deployment, not the pod template: approvals change no pod.
    assert c.ANNOTATION_RELEASE not in (cand["spec"]["template"]["metadata"].get("annotations") or {})
    scaler = resources[f"prod-eu-platform-serving-{CANDIDATE}-scaler"]["inputs"]["spec"]
    assert (scaler["minReplicaCount"], scaler["maxReplicaCount"]) == (1, 2)


def test_quota_makes_room_for_the_candidate() -> None:
    with_candidate = gpu_quota(_cfg(), c.NAMESPACE_SERVING)
    doc = stack_doc("prod-eu")
    for m in doc["config"]["ai-factory:serving"]["models"]:
        m.pop("candidate", None)
    without = gpu_quota(parse_sections(doc_sections(doc)), c.NAMESPACE_SERVING)
    assert with_candidate - without == 2  # maxReplicas 2 × 1 GPU
