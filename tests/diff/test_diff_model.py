"""`factory diff` as data: property paths, replacements, findings, cost, secrets and cutting,
on synthetic plan documents (no git, no Pulumi)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from components.tooling.diff import PLACEHOLDER_MARK, scrub, secret_values
from components.tooling.diff_model import compare, diff_values
from components.tooling.diff_render import GITHUB_COMMENT_LIMIT, cut_middle, render_markdown, render_text
from components.tooling.replacements import forces_replacement

STACK_URN = "urn:pulumi:s::ai-factory::pulumi:pulumi:Stack::ai-factory-s"
COMP_URN = "urn:pulumi:s::ai-factory::pulumi:pulumi:Stack$ai-factory:aws:Storage::s-storage"


def _res(name: str, typ: str = "aws:s3/bucket:Bucket", parent: str = COMP_URN, **inputs: Any) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:s::ai-factory::ai-factory:aws:Storage${typ}::{name}",
        "type": typ,
        "name": name,
        "parent": parent,
        "inputs": inputs,
        "protect": False,
        "retainOnDelete": False,
        "provider": None,
    }


def _plan(resources: list[dict[str, Any]], violations: list[dict[str, Any]] | None = None, **cost: Any) -> dict:
    comp = {"urn": COMP_URN, "type": "ai-factory:aws:Storage", "name": "s-storage", "parent": STACK_URN, "inputs": {}}
    base_cost = {"currency": "USD", "monthly_expected": 0.0, "monthly_worst_case": 0.0, "budget": 1000.0}
    return {"stack": "s", "resources": [comp, *resources], "violations": violations or [], "cost": base_cost | cost}


def test_nested_paths_name_the_leaf_that_changed() -> None:
    before = {"rules": [{"applyServerSideEncryptionByDefault": {"kmsMasterKeyId": "a", "sseAlgorithm": "aws:kms"}}]}
    after = copy.deepcopy(before)
    after["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] = "b"
    (change,) = diff_values(before, after)
    assert (change.path, change.before, change.after) == (
        "rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId",
        "a",
        "b",
    )


def test_odd_keys_are_quoted_and_list_growth_is_an_addition() -> None:
    changes = diff_values(
        {"tags": {"kubernetes.io/role": "x"}, "ids": ["a"]}, {"tags": {"kubernetes.io/role": "y"}, "ids": ["a", "b"]}
    )
    assert [(c.path, c.kind) for c in changes] == [('tags["kubernetes.io/role"]', "changed"), ("ids[1]", "added")]


def test_json_documents_in_strings_are_diffed_per_field() -> None:
    pol = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"]}]}
    new = copy.deepcopy(pol)
    new["Statement"][0]["Action"].append("s3:PutObject")
    (change,) = diff_values({"policy": json.dumps(pol)}, {"policy": json.dumps(new)})
    assert (change.path, change.after) == ("policy.Statement[0].Action[1]", "s3:PutObject")


def test_a_value_turning_secret_never_shows_its_old_value() -> None:
    """pulumi/pulumi#9330: the old plain value of a now-secret property leaked into diffs."""
    (change,) = diff_values({"password": "hunter2", "x": 1}, {"password": "[secret]", "x": 1})
    assert (change.before, change.after) == ("[secret]", "[secret]")
    (change,) = diff_values({"conn": {"user": "u", "pw": "p"}}, {"conn": "[secret]"})
    assert (change.path, change.before, change.after) == ("conn", "[secret]", "[secret]")


@pytest.mark.parametrize(
    ("typ", "path", "forces"),
    [
        ("aws:s3/bucket:Bucket", "objectLockEnabled", True),
        ("aws:s3/bucket:Bucket", "bucketPrefix", True),
        ("aws:s3/bucket:Bucket", "tags.owner", False),
        ("aws:s3/bucketVersioning:BucketVersioning", "bucket", True),
        ("aws:kms/key:Key", "multiRegion", True),
        ("aws:kms/key:Key", "customerMasterKeySpec", True),
        ("aws:kms/key:Key", "policy", False),
        ("aws:eks/cluster:Cluster", "name", True),
        ("aws:eks/cluster:Cluster", "vpcConfig.subnetIds[0]", False),
        ("aws:eks/cluster:Cluster", "kubernetesNetworkConfig.serviceIpv4Cidr", True),
        ("aws:eks/nodeGroup:NodeGroup", "instanceTypes[0]", True),
        ("aws:eks/nodeGroup:NodeGroup", "capacityType", True),
        ("aws:eks/nodeGroup:NodeGroup", "scalingConfig.maxSize", False),
        ("aws:eks/nodeGroup:NodeGroup", "launchTemplate.version", False),
        ("aws:eks/nodeGroup:NodeGroup", "launchTemplate.id", True),
        ("aws:sns/topic:Topic", "region", True),
        ("aws:iam/role:Role", "path", True),
        ("aws:iam/role:Role", "assumeRolePolicy.Statement[0].Effect", False),
        ("aws:ec2/subnet:Subnet", "cidrBlock", True),
        ("aws:ec2/subnet:Subnet", "mapPublicIpOnLaunch", False),
        ("kubernetes:apps/v1:Deployment", "metadata.namespace", True),
        ("kubernetes:apps/v1:Deployment", "spec.replicas", False),
    ],
)
def test_replacement_table(typ: str, path: str, forces: bool) -> None:
    assert forces_replacement(typ, path) is forces


def test_replacement_cascades_to_resources_keyed_by_the_replaced_one() -> None:
    base = _plan(
        [_res("b", objectLockEnabled=None), _res("b-ver", "aws:s3/bucketVersioning:BucketVersioning", bucket="b-id")]
    )
    head = copy.deepcopy(base)
    head["resources"][1]["inputs"]["objectLockEnabled"] = True
    d = compare("s", "main", "0" * 40, base, head)
    assert {r.name: r.op for r in d.resources} == {"b": "replace", "b-ver": "replace"}
    (ver,) = [r for r in d.resources if r.name == "b-ver"]
    assert ver.changes[0].path == "bucket" and ver.changes[0].forces_replacement


def test_components_group_resources_and_protected_deletions_say_so() -> None:
    gone = _res("old")
    gone["protect"] = gone["retainOnDelete"] = True
    d = compare("s", "main", "0" * 40, _plan([gone]), _plan([]))
    (r,) = d.of("delete")
    assert r.component == "s-storage"
    md = render_markdown(d)
    assert "protected: `pulumi up` refuses until protection is lifted" in md
    assert "retained on delete" in md


def _v(policy: str, urn: str | None, enforcement: str = "mandatory") -> dict[str, Any]:
    return {
        "policy": policy,
        "name": policy.lower(),
        "enforcement": enforcement,
        "urn": urn,
        "message": "m",
        "remediation": "r",
    }


def test_findings_match_by_rule_and_urn() -> None:
    base = _plan([], [_v("AIF-ENC-001", "u1"), _v("AIF-TAG-001", "u2", "advisory")])
    head = _plan([], [_v("AIF-ENC-001", "u1"), _v("AIF-ENC-001", "u3"), _v("AIF-RES-001", None)])
    f = compare("s", "main", "0" * 40, base, head).findings
    assert [(v["policy"], v["urn"]) for v in f.new] == [("AIF-ENC-001", "u3"), ("AIF-RES-001", None)]
    assert [(v["policy"], v["urn"]) for v in f.resolved] == [("AIF-TAG-001", "u2")]
    assert [(v["policy"], v["urn"]) for v in f.still_open] == [("AIF-ENC-001", "u1")]


def test_blocking_only_for_mandatory_findings_in_the_head() -> None:
    only_resolved = compare("s", "m", "0" * 40, _plan([], [_v("AIF-ENC-001", "u1")]), _plan([]))
    advisory = compare("s", "m", "0" * 40, _plan([]), _plan([], [_v("AIF-TAG-001", "u", "advisory")]))
    assert not only_resolved.blocking and not advisory.blocking
    assert compare("s", "m", "0" * 40, _plan([]), _plan([], [_v("AIF-ENC-001", "u")])).blocking


def test_summary_line_has_the_issue_shape() -> None:
    base = _plan(
        [_res("keep", forceDestroy=False), _res("gone"), _res("lock", objectLockEnabled=None)],
        monthly_expected=1000.0,
        monthly_worst_case=2000.0,
        by_component={"s-storage": 1000.0},
    )
    head = _plan(
        [
            _res("keep", forceDestroy=True),
            _res("new1"),
            _res("new2"),
            _res("new3"),
            _res("lock", objectLockEnabled=True),
        ],
        [_v("AIF-ENC-001", "u")],
        monthly_expected=2240.0,
        monthly_worst_case=11800.0,
        by_component={"s-storage": 2240.0},
    )
    d = compare("s", "main", "0" * 40, base, head)
    line = render_markdown(d).splitlines()[0]
    assert line == "### s: +3 ~1 −1, replacements: 1, monthly +$1,240 (worst case +$9,800), 1 new mandatory finding"
    assert d.cost.by_component == {"s-storage": {"before": 1000.0, "after": 2240.0, "delta": 1240.0}}


def test_cost_guard_trips_on_dollars_or_percent() -> None:
    from components.tooling.diff_model import cost_guard, diff_cost

    small = diff_cost({"monthly_expected": 100.0}, {"monthly_expected": 150.0})
    assert cost_guard(small, 500, 10, "defaults").tripped  # +50 %
    assert not cost_guard(small, 500, 60, "defaults").tripped
    big = diff_cost({"monthly_expected": 100_000.0}, {"monthly_expected": 100_600.0})
    assert cost_guard(big, 500, 10, "defaults").reason.startswith("+600 USD/month is above 500")
    cheaper = diff_cost({"monthly_expected": 100.0}, {"monthly_expected": 10.0})
    assert not cost_guard(cheaper, 0, 0, "defaults").tripped


def test_secret_values_cover_secure_values_and_their_old_plain_values(tmp_path) -> None:
    (tmp_path / "head.yaml").write_text("config:\n  app:token:\n    secure: v1:CIPHER\n  app:other: visible\n")
    (tmp_path / "base.yaml").write_text("config:\n  app:token: plain-old-token\n  app:other: visible\n")
    found = secret_values(tmp_path / "head.yaml", tmp_path / "base.yaml")
    assert found == {"v1:CIPHER", "plain-old-token"}
    doc = {"a": ["x plain-old-token y", f"{PLACEHOLDER_MARK}ai-factory:k", "visible"]}
    assert scrub(doc, found, PLACEHOLDER_MARK) == {"a": ["x [secret] y", "[secret]", "visible"]}


def test_the_placeholder_mark_matches_what_the_plan_supplies() -> None:
    from components.config import secrets

    for spec in secrets.SECRETS:
        assert PLACEHOLDER_MARK in secrets.placeholder(spec)


def test_a_5000_line_diff_is_cut_keeping_head_tail_and_a_count() -> None:
    base = _plan([_res(f"b{i:04d}", description="x" * 20) for i in range(2500)])
    head = _plan([_res(f"b{i:04d}", description="y" * 20) for i in range(2500)])
    d = compare("s", "main", "0" * 40, base, head)
    full = render_markdown(d, max_chars=0)
    total = len(full.splitlines())
    assert total >= 5000
    cut = render_markdown(d)
    assert len(cut) <= GITHUB_COMMENT_LIMIT
    lines = cut.splitlines()
    assert lines[0] == full.splitlines()[0]  # the summary line survives
    assert full.splitlines()[-1] == lines[-1]  # and the tail (the marker)
    (marker,) = [line for line in lines if "cut here" in line]
    n_cut = int(re.search(r"([\d,]+) lines", marker).group(1).replace(",", ""))
    assert n_cut > 0
    kept = [line for line in lines if line in set(full.splitlines())]
    assert len(kept) + n_cut >= total - 5  # every full line is kept or counted
    assert cut.count("<details") == cut.count("</details>"), "folds stay balanced across the cut"
    assert "**b0000**" in cut and "**b2499**" in cut
    assert len(render_text(d, 0)) > len(cut), "text is not cut unless asked"


def test_cut_middle_leaves_short_text_alone() -> None:
    assert cut_middle("a\nb\n", 100) == "a\nb\n"


def test_a_stack_file_deleted_in_the_change_is_all_deleted() -> None:
    d = compare("s", "main", "0" * 40, _plan([_res("a"), _res("b")]), None)
    assert d.head_missing and {r.op for r in d.resources} == {"delete"} and len(d.resources) == 3
    assert "The stack file is deleted in this change" in render_markdown(d)


def test_absolute_paths_of_the_two_trees_do_not_count_as_changes(tmp_path) -> None:
    """The base is planned from a temporary worktree: an input embedding the checkout's path
    (the on-prem servers' Ansible directory) must not differ for that reason alone."""
    from components.tooling.diff import relocate

    base_root, head_root = tmp_path / "wt" / "base", tmp_path / "main"
    base = _plan([_res("srv", "pulumi-python:dynamic/onprem:GpuServer", ansibleDir=f"{base_root}/ansible")])
    head = _plan([_res("srv", "pulumi-python:dynamic/onprem:GpuServer", ansibleDir=f"{head_root}/ansible")])
    d = compare("s", "main", "0" * 40, relocate(base, base_root), relocate(head, head_root))
    assert d.no_changes
    assert relocate(head, head_root)["resources"][1]["inputs"]["ansibleDir"] == "<project>/ansible"
