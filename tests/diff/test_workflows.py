"""The GitHub workflows: they parse, every action is pinned, every shell step is valid bash, the
stack picker picks the right stacks, and the jobs do what docs/REVIEWING.md says.

actionlint is not installable here (PyPI ships it only as an sdist that downloads a binary; no
Go toolchain), so these checks stand in for it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@([0-9a-f]{40}|v\d+\.\d+\.\d+)$")
EXPR = re.compile(r"\$\{\{.*?\}\}")


def _load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def _all() -> dict[str, dict[str, Any]]:
    return {p.name: _load(p.name) for p in sorted(WORKFLOWS.glob("*.yml"))}


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def test_workflows_exist_and_parse() -> None:
    docs = _all()
    assert {"pr-review.yml", "deploy.yml", "pulumi-up.yml"} <= set(docs)
    for name, doc in docs.items():
        assert doc["on"], name
        for job_id, job in doc["jobs"].items():
            assert ("runs-on" in job) != ("uses" in job), f"{name}:{job_id} needs runs-on or uses"
            needs = job.get("needs", [])
            for need in [needs] if isinstance(needs, str) else needs:
                assert need in doc["jobs"], f"{name}:{job_id} needs unknown job {need}"
            for step in job.get("steps", []):
                assert ("run" in step) != ("uses" in step), f"{name}:{job_id} step {step}"


def test_every_action_is_pinned_to_a_commit_or_an_exact_tag() -> None:
    for name, doc in _all().items():
        uses = [s["uses"] for s in _steps(doc) if "uses" in s]
        uses += [j["uses"] for j in doc["jobs"].values() if "uses" in j]
        for ref in uses:
            assert ref.startswith("./") or PINNED.match(ref), f"{name}: {ref} is not pinned"


def test_every_shell_step_is_valid_bash() -> None:
    for name, doc in _all().items():
        for step in _steps(doc):
            if "run" not in step:
                continue
            script = EXPR.sub("X", step["run"])
            proc = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
            assert proc.returncode == 0, f"{name}: {step.get('name', step['run'][:40])}: {proc.stderr}"


def test_pull_requests_get_the_offline_diff_and_the_real_preview() -> None:
    doc = _load("pr-review.yml")
    assert "pull_request" in doc["on"]
    offline = doc["jobs"]["offline-diff"]
    runs = "\n".join(s.get("run", "") for s in offline["steps"])
    assert 'factory diff "$STACK" --base "$BASE_SHA" --format markdown' in runs
    assert "secrets." not in yaml.safe_dump(offline), "the offline diff needs no credentials"
    from components.tooling.diff_render import MARKER

    assert MARKER.format(stack="$STACK") in runs, "the comment is found again by the report's marker"
    preview = doc["jobs"]["preview"]
    assert "vars.AWS_PREVIEW_ROLE_ARN != ''" in preview["if"]
    pulumi = next(s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    w = pulumi["with"]
    assert (w["command"], w["diff"], w["policyPacks"]) == ("preview", True, "policies")
    assert w["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
    assert w["comment-on-pr"] is True and w["edit-pr-comment"] is True


def test_one_gate_job_sums_up_the_review_for_branch_protection() -> None:
    jobs = _load("pr-review.yml")["jobs"]
    gate = jobs["gate"]
    assert gate["if"] == "always()"
    assert set(gate["needs"]) == set(jobs) - {"gate"}


def test_merges_run_pulumi_up_per_environment_in_order_with_production_behind_an_environment() -> None:
    deploy = _load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert [jobs[j]["with"]["stack"] for j in ("dev", "lab", "prod-eu")] == ["dev", "lab", "prod-eu"]
    assert jobs["lab"]["needs"] == "dev" and jobs["prod-eu"]["needs"] == "lab"
    up = _load("pulumi-up.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}"
    assert up["concurrency"]["cancel-in-progress"] is False
    pulumi = next(s for s in up["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "up"
    assert pulumi["with"]["policyPackConfigs"] == "policies/config/${{ inputs.stack }}.json"


def _picker() -> str:
    job = _load("pr-review.yml")["jobs"]["stacks"]
    return next(s["run"] for s in job["steps"] if s.get("id") == "pick")


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (["stacks/Pulumi.lab.yaml"], ["lab"]),
        (["policies/config/prod-eu.json"], ["prod-eu"]),
        (["components/aws/storage.py"], ["dev", "lab", "prod-eu"]),
        (["policies/rules/s3.py"], ["dev", "lab", "prod-eu"]),
        (["docs/REVIEWING.md", "tests/x.py"], []),
    ],
)
def test_the_stack_picker_picks_stacks_whose_files_or_shared_code_changed(
    tmp_path: Path, changed: list[str], expected: list[str]
) -> None:
    import json

    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, env=env, check=True, capture_output=True, text=True).stdout

    for path in ["stacks/Pulumi.dev.yaml", "stacks/Pulumi.lab.yaml", "stacks/Pulumi.prod-eu.yaml", *changed]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("base\n")
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    base = git("rev-parse", "HEAD").strip()
    for path in changed:
        (tmp_path / path).write_text("changed\n")
    git("commit", "-q", "-am", "change")
    out = tmp_path / "out"
    subprocess.run(
        ["bash", "-c", _picker()],
        cwd=tmp_path,
        env={**env, "BASE_SHA": base, "GITHUB_OUTPUT": str(out)},
        check=True,
        capture_output=True,
    )
    assert json.loads(out.read_text().split("stacks=", 1)[1]) == expected
