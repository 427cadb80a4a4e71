"""Release gates of the model registry: what a model server may run.

AIF-REL-001 model-release-approved (mandatory in prod, advisory below) · AIF-REL-002
model-evaluation-fresh (advisory) · AIF-REL-003 canary-differs-from-stable (mandatory).

The catalog in the stack file is the registry; every model server (a vLLM Deployment) carries
its release record as the annotation `ai-factory.io/release-record` (components/releases.py).
The rules judge that record *on the resource*: a server without one did not come from the
catalog; a record whose digest is not the digest the server's weight fetcher verifies
approves something else than what runs. Pass/fail is recomputed from the metrics and the
thresholds, never taken from the recorded result alone.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any

from components import conventions as c
from policies.rules.base import Enforcement, Finding, ResourceView, Rule, is_unknown
from policies.rules.helpers import by_tier, containers, everywhere, k8s_name, metadata, no_facts, pod_spec

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
REQUIRED_APPROVERS = {"low": 1, "medium": 1, "high": 2}
"""Approvers other than the author a release needs, by risk tier."""
DIGEST_ENV = "DIGEST"
"""Environment variable of the weight fetcher holding the artifact digest it verifies (components/k8s/serving.py)."""


def _is_deployment(t: str) -> bool:
    return t == DEPLOYMENT


def _labels(resource: ResourceView) -> Mapping[str, Any]:
    raw = metadata(resource).get("labels")
    return raw if isinstance(raw, Mapping) else {}


def is_model_server(resource: ResourceView) -> bool:
    return _labels(resource).get(c.LABEL_APP) == "vllm"


def release_record(resource: ResourceView) -> Mapping[str, Any] | str | None:
    """The parsed record; None when absent, an error text when unreadable (or unknown at preview)."""
    annotations = metadata(resource).get("annotations")
    if is_unknown(annotations):
        return "the release record is unknown at preview (fail closed)"
    raw = annotations.get(c.ANNOTATION_RELEASE) if isinstance(annotations, Mapping) else None
    if raw is None:
        return None
    if is_unknown(raw) or not isinstance(raw, str):
        return "the release record is unknown at preview (fail closed)"
    try:
        parsed = json.loads(raw)
    except ValueError:
        return "the release record is not JSON"
    return parsed if isinstance(parsed, Mapping) else "the release record is not a JSON object"


def served_digests(resource: ResourceView) -> set[str]:
    """Digests the pod's containers verify (the weight fetcher's DIGEST)."""
    out: set[str] = set()
    for ctr in containers(pod_spec(resource)):
        for env in ctr.get("env") or []:
            if isinstance(env, Mapping) and env.get("name") == DIGEST_ENV and isinstance(env.get("value"), str):
                out.add(env["value"])
    return out


def _label(record: Mapping[str, Any]) -> str:
    rev = str(record.get("revision") or "?")[:12]
    return f"{record.get('model', '?')} {record.get('release', '?')} revision {rev}"


def evaluation_problems(evaluation: Any) -> list[str]:
    """Why an evaluation record does not pass: recorded failure, unmeasured or unmet thresholds."""
    if not isinstance(evaluation, Mapping):
        return ["has no evaluation record"]
    problems: list[str] = []
    if evaluation.get("result") != "pass":
        problems.append(f"evaluation {evaluation.get('suite')} recorded result '{evaluation.get('result')}'")
    metrics = evaluation.get("metrics") if isinstance(evaluation.get("metrics"), Mapping) else {}
    thresholds = evaluation.get("thresholds") if isinstance(evaluation.get("thresholds"), Mapping) else {}
    if not thresholds:
        problems.append("evaluation has no thresholds to meet")
    for name, bound in sorted(thresholds.items()):
        value = metrics.get(name)
        if not isinstance(value, (int, float)):
            problems.append(f"metric {name} required by the thresholds was not measured")
            continue
        lo = bound.get("min") if isinstance(bound, Mapping) else None
        hi = bound.get("max") if isinstance(bound, Mapping) else None
        if isinstance(lo, (int, float)) and value < lo:
            problems.append(f"metric {name} = {value:g} is below its minimum {lo:g}")
        if isinstance(hi, (int, float)) and value > hi:
            problems.append(f"metric {name} = {value:g} is above its maximum {hi:g}")
    return problems


def today() -> dt.date:
    """The day evaluations are aged against (UTC). A function so tests can pin the clock."""
    return dt.datetime.now(dt.UTC).date()


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def approval_problems(record: Mapping[str, Any]) -> list[str]:
    """Segregation of duties: enough approvers who are not the author, approving after the evaluation."""
    approvals = [a for a in record.get("approvals") or [] if isinstance(a, Mapping) and a.get("by")]
    if not approvals:
        return ["has no approval"]
    author = record.get("author")
    if not author:
        return ["records no author, so an approval cannot be told from a self-approval"]
    independent = {str(a["by"]).lower() for a in approvals} - {str(author).lower()}
    risk = str(record.get("riskTier") or "medium")
    need = REQUIRED_APPROVERS.get(risk, max(REQUIRED_APPROVERS.values()))
    problems: list[str] = []
    if not independent:
        problems.append(f"is approved only by its author {author}")
    elif len(independent) < need:
        problems.append(f"risk tier {risk} needs {need} approvers other than the author, has {len(independent)}")
    evaluation = record.get("evaluation")
    evaluated = _date(evaluation.get("date")) if isinstance(evaluation, Mapping) else None
    for a in approvals:
        approved = _date(a.get("date"))
        if evaluated is not None and approved is not None and approved < evaluated:
            problems.append(f"approval by {a['by']} ({approved}) predates the evaluation ({evaluated}) it approves")
    return problems


# ------------------------------------------------------------------------ REL-001
def check_release_approved(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    if not is_model_server(resource):
        return
    record = release_record(resource)
    if record is None:
        yield (
            f"model server {k8s_name(resource)} has no release record ({c.ANNOTATION_RELEASE}): "
            "it was not released from the catalog"
        )
        return
    if isinstance(record, str):
        yield f"model server {k8s_name(resource)}: {record}"
        return
    label = _label(record)
    digests = served_digests(resource)
    if digests and record.get("artifactDigest") not in digests:
        yield (
            f"{label}: the record approves artifact {record.get('artifactDigest')} but the server loads "
            f"{', '.join(sorted(digests))}"
        )
    for problem in evaluation_problems(record.get("evaluation")):
        yield f"{label}: {problem}"
    for problem in approval_problems(record):
        yield f"{label}: {problem}"


# ------------------------------------------------------------------------ REL-002
def _age_facts(cfg: Any) -> dict[str, Any]:
    days = cfg.serving.governance.max_evaluation_age_days if cfg.serving else 90
    return {"maxEvaluationAgeDays": days}


def check_evaluation_fresh(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    if not is_model_server(resource):
        return
    record = release_record(resource)
    if not isinstance(record, Mapping) or not isinstance(record.get("evaluation"), Mapping):
        return  # AIF-REL-001 reports missing records and evaluations
    evaluated = _date(record["evaluation"].get("date"))
    if evaluated is None:
        yield f"{_label(record)}: the evaluation has no readable date"
        return
    age = (today() - evaluated).days
    limit = int(config["maxEvaluationAgeDays"])
    if age > limit:
        yield (
            f"{_label(record)}: evaluation {record['evaluation'].get('suite')} is {age} days old "
            f"(more than {limit}): re-run it on current data"
        )


# ------------------------------------------------------------------------ REL-003
def check_canary_differs(resources: list[ResourceView], _config: Mapping[str, Any]) -> Iterator[Finding]:
    by_model: dict[str, dict[str, tuple[Mapping[str, Any], str]]] = {}
    for r in resources:
        if r.type != DEPLOYMENT or not is_model_server(r):
            continue
        record = release_record(r)
        if isinstance(record, Mapping):
            by_model.setdefault(str(record.get("model")), {})[str(record.get("release"))] = (record, r.urn)
    for model, found in sorted(by_model.items()):
        if "stable" not in found or "candidate" not in found:
            continue
        (stable, _), (candidate, urn) = found["stable"], found["candidate"]
        same = [
            what
            for what, key in (("revision", "revision"), ("artifact digest", "artifactDigest"))
            if stable.get(key) and stable.get(key) == candidate.get(key)
        ]
        if same:
            yield Finding(
                f"{model}: the candidate has the stable's {' and '.join(same)}: a canary of a revision "
                "against itself proves nothing",
                urn,
            )


RULES: tuple[Rule, ...] = (
    Rule(
        id="AIF-REL-001",
        name="model-release-approved",
        description=(
            "A model server runs only a release whose record has a passing evaluation against its "
            "thresholds and approvers other than its author (two for risk tier high)."
        ),
        why=(
            "Segregation of duties: who proposes a model revision may not be the one who lets it serve "
            "production traffic, and nothing serves that has not met its evaluation bar."
        ),
        remediation=(
            "Record the evaluation (suite, version, metrics, thresholds, result) and an approval by a "
            "reviewer other than the author in the model's catalog entry (serving.models[*])."
        ),
        enforcement=by_tier(Enforcement.ADVISORY, Enforcement.ADVISORY, Enforcement.MANDATORY),
        config_schema={},
        stack_facts=no_facts,
        kind="resource",
        check=check_release_approved,
        applies_to=_is_deployment,
    ),
    Rule(
        id="AIF-REL-002",
        name="model-evaluation-fresh",
        description="The evaluation of a served release is no older than serving.governance.maxEvaluationAgeDays.",
        why="Data and traffic drift: an evaluation that old may no longer describe how the model behaves.",
        remediation="Re-run the evaluation suite and update the entry's evaluation record (and its approvals).",
        enforcement=everywhere(Enforcement.ADVISORY),
        config_schema={"maxEvaluationAgeDays": {"type": "integer", "minimum": 1}},
        stack_facts=_age_facts,
        kind="resource",
        check=check_evaluation_fresh,
        applies_to=_is_deployment,
    ),
    Rule(
        id="AIF-REL-003",
        name="canary-differs-from-stable",
        description="A model's candidate release differs from its stable release in revision and artifact.",
        why="A canary of a revision against itself splits traffic and GPUs for nothing and hides a wrong entry.",
        remediation="Point candidate.source/artifact at the new revision, or remove the candidate block.",
        enforcement=everywhere(Enforcement.MANDATORY),
        config_schema={},
        stack_facts=no_facts,
        kind="stack",
        check=check_canary_differs,
    ),
)
