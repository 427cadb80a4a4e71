"""Releases of a catalog model: the stable revision and an optional candidate under canary.

The catalog in the stack file is the model registry's system of record (reviewed in pull
requests); this module turns one entry into the servers that run it and the release record
each server carries. A candidate is served as its own model `<name>-candidate` (Deployment,
Service, PDB and autoscaler of its own), so its metrics and router counters are told apart
from the stable's by name alone, and promotion is a one-entry change in the stack file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from components.config.models import EvaluationRecord, ServedModel
from components.conventions import CANDIDATE_SUFFIX

Release = Literal["stable", "candidate"]


@dataclass(frozen=True)
class ServedRelease:
    """One server of a catalog model: what it runs and which share of the model's traffic it gets."""

    group: ServedModel
    """The catalog entry (its name is the model name clients request)."""
    model: ServedModel
    """What the server runs: the entry itself, or the entry with the candidate's revision under `<name>-candidate`."""
    release: Release
    traffic_percent: int
    """Share of the model's requests the router sends here."""


def deployment_id(model: str, release: str) -> str:
    """LiteLLM deployment id of one release: the `model_id` label of the router's per-deployment
    metrics (canary alerts).

    Never equal to a model group name: LiteLLM treats a requested name that is also a deployment
    id as a request for that one deployment, which would skip the weighted pick, cooldowns and
    health filtering of the group.
    """
    return f"{model}/{release}"


def candidate_name(model: ServedModel) -> str:
    return f"{model.name}{CANDIDATE_SUFFIX}"


def releases(model: ServedModel) -> list[ServedRelease]:
    """The stable release, and the candidate when the entry has one (stable first)."""
    cand = model.candidate
    if cand is None:
        return [ServedRelease(model, model, "stable", 100)]
    variant = model.model_copy(
        update={
            "name": candidate_name(model),
            "source": cand.source,
            "artifact": cand.artifact,
            "author": cand.author,
            "evaluation": cand.evaluation,
            "approvals": cand.approvals,
            "candidate": None,
            # A canary must be able to answer its share at once: never scaled to zero.
            "min_replicas": 1,
            "max_replicas": cand.max_replicas or model.max_replicas,
        }
    )
    return [
        ServedRelease(model, model, "stable", 100 - cand.traffic_percent),
        ServedRelease(model, variant, "candidate", cand.traffic_percent),
    ]


def _evaluation(ev: EvaluationRecord | None) -> dict[str, Any] | None:
    if ev is None:
        return None
    return {
        "suite": ev.suite,
        "suiteVersion": ev.suite_version,
        "date": ev.date.isoformat(),
        "metrics": dict(ev.metrics),
        "thresholds": {
            name: {k: v for k, v in (("min", t.min), ("max", t.max)) if v is not None}
            for name, t in ev.thresholds.items()
        },
        "result": ev.result,
    }


def release_record(served: ServedRelease) -> dict[str, Any]:
    """What the registry knows about one server: the annotation `ai-factory.io/release-record`.

    Policies AIF-REL-* judge this record against the server it is on (the artifact digest
    the weight fetcher verifies must be the digest the record approves).
    """
    m = served.model
    return {
        "model": served.group.name,
        "release": served.release,
        "trafficPercent": served.traffic_percent,
        "source": m.source.uri,
        "revision": m.source.revision,
        "artifactPath": m.artifact.path,
        "artifactDigest": m.artifact.digest,
        "riskTier": served.group.risk_tier.value,
        "author": m.author,
        "evaluation": _evaluation(m.evaluation),
        "approvals": [{"by": a.by, "date": a.date.isoformat()} for a in m.approvals],
    }


def record_annotation(served: ServedRelease) -> str:
    return json.dumps(release_record(served), sort_keys=True, separators=(",", ":"))


def served_releases(models: list[ServedModel]) -> list[ServedRelease]:
    """Every server the catalog asks for, stable and candidate (what quotas and placement must admit)."""
    return [served for entry in models for served in releases(entry)]
