"""Release gates AIF-REL-001..003: exact findings on fixtures, and the issue's acceptance through `factory plan`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from policy_support import facts, run, view
from support import stack_doc

from components import conventions as c
from policies.rules import release

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DIGEST = "sha256:" + "a" * 64
OTHER_DIGEST = "sha256:" + "b" * 64
PASSING = {
    "suite": "internal-qa",
    "suiteVersion": "2026.10",
    "date": "2026-10-28",
    "metrics": {"accuracy": 0.74, "toxicity_rate": 0.002},
    "thresholds": {"accuracy": {"min": 0.7}, "toxicity_rate": {"max": 0.005}},
    "result": "pass",
}


def record(**over: Any) -> dict[str, Any]:
    base = {
        "model": "m",
        "release": "stable",
        "trafficPercent": 100,
        "source": "hf://org/m",
        "revision": "1234567890abcdef",
        "artifactPath": "m/1234567",
        "artifactDigest": DIGEST,
        "riskTier": "medium",
        "author": "alice",
        "evaluation": PASSING,
        "approvals": [{"by": "bob", "date": "2026-11-02"}],
    }
    base.update(over)
    return base


def server(name: str, rec: dict[str, Any] | None, digest: str = DIGEST, app: str = "vllm") -> Any:
    meta: dict[str, Any] = {"name": name, "namespace": "aif-serving", "labels": {c.LABEL_APP: app}}
    if rec is not None:
        meta["annotations"] = {c.ANNOTATION_RELEASE: json.dumps(rec)}
    spec = {"initContainers": [{"name": "fetch-weights", "env": [{"name": "DIGEST", "value": digest}]}]}
    return view(DEPLOYMENT, name, {"metadata": meta, "spec": {"template": {"spec": spec}}})


def test_approved_release_with_passing_evaluation_has_no_finding() -> None:
    assert run("AIF-REL-001", [server("ok", record())]) == set()


def test_exact_findings_of_broken_records() -> None:
    failing = {
        **PASSING,
        "metrics": {"accuracy": 0.61},
        "result": "pass",
    }
    resources = [
        server("no-record", None),
        server("not-a-model", None, app="redis"),
        server("self-approved", record(approvals=[{"by": "Alice", "date": "2026-11-02"}])),
        server("unapproved", record(approvals=[])),
        server("no-author", record(author=None)),
        server("failing", record(evaluation=failing)),
        server("no-eval", record(evaluation=None)),
        server("wrong-digest", record(), digest=OTHER_DIGEST),
        server("high-risk", record(riskTier="high")),
        server("early", record(approvals=[{"by": "bob", "date": "2026-10-01"}])),
    ]
    label = "m stable revision 1234567890ab"
    assert run("AIF-REL-001", resources) == {
        (
            "no-record",
            "model server no-record has no release record (ai-factory.io/release-record): "
            "it was not released from the catalog",
        ),
        ("self-approved", f"{label}: is approved only by its author alice"),
        ("unapproved", f"{label}: has no approval"),
        ("no-author", f"{label}: records no author, so an approval cannot be told from a self-approval"),
        ("failing", f"{label}: metric accuracy = 0.61 is below its minimum 0.7"),
        ("failing", f"{label}: metric toxicity_rate required by the thresholds was not measured"),
        ("no-eval", f"{label}: has no evaluation record"),
        ("wrong-digest", f"{label}: the record approves artifact {DIGEST} but the server loads {OTHER_DIGEST}"),
        ("high-risk", f"{label}: risk tier high needs 2 approvers other than the author, has 1"),
        ("early", f"{label}: approval by bob (2026-10-01) predates the evaluation (2026-10-28) it approves"),
    }


def test_recorded_failure_is_a_finding_even_when_metrics_pass() -> None:
    rec = record(evaluation={**PASSING, "result": "fail"})
    assert run("AIF-REL-001", [server("s", rec)]) == {
        ("s", "m stable revision 1234567890ab: evaluation internal-qa recorded result 'fail'")
    }


def test_unreadable_and_unknown_records_fail_closed() -> None:
    from policies.rules.base import UNKNOWN

    bad = server("bad", None)
    bad.props["metadata"]["annotations"] = {c.ANNOTATION_RELEASE: "{not json"}
    unknown = server("unknown", None)
    unknown.props["metadata"]["annotations"] = UNKNOWN
    assert run("AIF-REL-001", [bad, unknown]) == {
        ("bad", "model server bad: the release record is not JSON"),
        ("unknown", "model server unknown: the release record is unknown at preview (fail closed)"),
    }


def test_evaluation_age_is_advisory_past_the_configured_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(release, "today", lambda: dt.date(2027, 2, 1))
    old = server("old", record())  # evaluated 2026-10-28: 96 days before 2027-02-01
    fresh = server("fresh", record(evaluation={**PASSING, "date": "2027-01-15"}))
    assert run("AIF-REL-002", [old, fresh], facts("AIF-REL-002", maxEvaluationAgeDays=90)) == {
        (
            "old",
            "m stable revision 1234567890ab: evaluation internal-qa is 96 days old (more than 90): "
            "re-run it on current data",
        )
    }
    assert run("AIF-REL-002", [old], facts("AIF-REL-002", maxEvaluationAgeDays=96)) == set()


def test_candidate_with_the_stables_revision_is_flagged() -> None:
    same = [
        server("stable", record()),
        server("candidate", record(release="candidate", trafficPercent=10)),
    ]
    assert run("AIF-REL-003", same) == {
        (
            "candidate",
            "m: the candidate has the stable's revision and artifact digest: a canary of a revision "
            "against itself proves nothing",
        )
    }
    differs = [same[0], server("candidate", record(release="candidate", revision="fedcba0987654321"), OTHER_DIGEST)]
    differs[1].props["metadata"]["annotations"][c.ANNOTATION_RELEASE] = json.dumps(
        record(release="candidate", revision="fedcba0987654321", artifactDigest=OTHER_DIGEST)
    )
    assert run("AIF-REL-003", differs) == set()


def test_enforcement_is_mandatory_in_prod_only() -> None:
    rule = release.RULES[0]
    assert {t: e.value for t, e in rule.enforcement.items()} == {
        "dev": "advisory",
        "staging": "advisory",
        "prod": "mandatory",
    }


# --------------------------------------------------------------------------- acceptance via the CLI
def _llama(doc: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in doc["config"]["ai-factory:serving"]["models"] if m["name"] == "llama-31-8b")


def _mandatory(out: str) -> list[tuple[str, str]]:
    return [(f["policy"], f["message"]) for f in json.loads(out)["violations"] if f["enforcement"] == "mandatory"]


def test_prod_eu_plans_with_its_models_approved(cli) -> None:
    result = cli("plan", "prod-eu", "--format", "json")
    assert result.code == 0, result.err
    assert [f for f in json.loads(result.out)["violations"] if f["policy"].startswith("AIF-REL")] == []


@pytest.mark.parametrize(
    ("case", "edit", "message"),
    [
        (
            "unapproved",
            lambda m: m.update(approvals=[]),
            "llama-31-8b stable revision 45a3437bc3d8: has no approval",
        ),
        (
            "self-approved",
            lambda m: m.update(approvals=[{"by": "a.keller", "date": "2026-11-02"}]),
            "llama-31-8b stable revision 45a3437bc3d8: is approved only by its author a.keller",
        ),
        (
            "failing-evaluation",
            lambda m: m["evaluation"]["metrics"].update(groundedness=0.80),
            "llama-31-8b stable revision 45a3437bc3d8: metric groundedness = 0.8 is below its minimum 0.85",
        ),
    ],
)
def test_prod_copy_with_a_gate_broken_exits_1_naming_the_rule(cli, write_stack, case, edit, message) -> None:
    doc = stack_doc("prod-eu")
    edit(_llama(doc))
    stacks = write_stack(case, doc)
    result = cli("--stacks-dir", str(stacks), "plan", case, "--format", "json")
    assert result.code == 1, result.err
    assert _mandatory(result.out) == [("AIF-REL-001", message)]


def test_prod_copy_with_candidate_equal_to_stable_exits_1(cli, write_stack) -> None:
    doc = stack_doc("prod-eu")
    qwen = next(m for m in doc["config"]["ai-factory:serving"]["models"] if m["name"] == "qwen25-7b")
    qwen["candidate"]["source"] = dict(qwen["source"])
    qwen["candidate"]["artifact"] = dict(qwen["artifact"])
    stacks = write_stack("same", doc)
    result = cli("--stacks-dir", str(stacks), "plan", "same", "--format", "json")
    assert result.code == 1
    assert [r for r, _ in _mandatory(result.out)] == ["AIF-REL-003"]


def test_dev_accepts_an_unapproved_model_with_an_advisory_finding(cli) -> None:
    result = cli("plan", "dev", "--format", "json")
    assert result.code == 0, result.err
    rel = [(f["policy"], f["enforcement"], f["message"]) for f in json.loads(result.out)["violations"]]
    rel = [f for f in rel if f[0].startswith("AIF-REL")]
    assert rel == [
        ("AIF-REL-001", "advisory", "qwen25-1-5b stable revision 809e3c262659: has no evaluation record"),
        ("AIF-REL-001", "advisory", "qwen25-1-5b stable revision 809e3c262659: has no approval"),
    ]


# --------------------------------------------------------------------------- the registry view
def test_factory_models_lists_every_release_with_the_gate_verdict(cli) -> None:
    result = cli("models", "prod-eu", "--format", "json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)["releases"]
    assert [(r["model"], r["release"], r["trafficPercent"], r["gate"]) for r in rows] == [
        ("llama-31-8b", "stable", 100, "pass"),
        ("llama-33-70b", "stable", 100, "pass"),
        ("qwen25-7b", "stable", 90, "pass"),
        ("qwen25-7b", "candidate", 10, "pass"),
        ("bge-m3", "stable", 100, "pass"),
    ]
    big = rows[1]
    assert (big["riskTier"], big["author"], [a["by"] for a in big["approvals"]]) == (
        "high",
        "a.keller",
        ["m.schmidt", "s.dubois"],
    )
    text = cli("models", "dev")
    assert text.code == 0
    assert "FAIL: has no evaluation record; has no approval" in text.out
