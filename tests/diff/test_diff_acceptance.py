"""Acceptance of `factory diff` (issue 7) on throwaway git repositories built by the tests.

Every diff here runs the real command in a process of its own, inside the repository, so the
head plan uses the repository's own (possibly edited) code and the base plan the code at REF.
"""

from __future__ import annotations

import re
import time

import pytest

STACK = "dev"  # the smallest reference stack keeps each diff (two plans) short


def _by_op(doc: dict, op: str) -> list[dict]:
    return [r for r in doc["resources"] if r["op"] == op]


def test_no_change_prints_no_changes_and_exits_0(project) -> None:
    """A docs-only change leaves every plan input as committed: planned once, "no changes", exit 0."""
    (project.root / "README.md").write_text("docs do not change plans\n")
    proc = project.diff(STACK, fmt="markdown")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"### {STACK}: no changes"
    assert "planned once" in proc.stdout
    assert proc.stderr == ""


def test_equivalent_code_change_plans_both_sides_and_finds_no_changes(project) -> None:
    """A comment in the program is a change git sees but no resource does: no short-cut, still no changes."""
    path = project.root / "components" / "program.py"
    path.write_text(path.read_text() + "\n# a comment changes no resource\n")
    rep = project.report(STACK)
    assert (rep.exit_code, rep.doc["short_cut"], rep.doc["no_changes"]) == (0, False, True)
    assert rep.doc["resources"] == []
    assert rep.markdown.splitlines()[0] == f"### {STACK}: no changes"


def test_added_model_and_bucket_list_exact_created_resources_and_cost_delta(project) -> None:
    """A new serving model plus a new bucket: exactly the model's serving objects and the bucket
    with its configuration resources are created, nothing else changes kind."""
    model_name = "qwen25-7b-extra"

    def edit(cfg: dict) -> None:
        model = dict(cfg["ai-factory:serving"]["models"][0], name=model_name)
        cfg["ai-factory:serving"]["models"].append(model)
        # Not datasets: a datasets bucket brings its data zones (three buckets, roles, a queue).
        cfg["ai-factory:storage"]["buckets"]["vector-snapshots"] = {"dataClass": "internal"}

    project.edit_stack(STACK, edit)
    rep = project.report(STACK)
    base_plan, head_plan = rep.diff.plans
    assert rep.exit_code == 0

    expected = {r["urn"] for r in head_plan["resources"]} - {r["urn"] for r in base_plan["resources"]}
    created = _by_op(rep.doc, "create")
    assert {r["urn"] for r in created} == expected
    bucket = {r["name"] for r in created if r["name"].startswith("dev-storage-vector-snapshots")}
    model = {r["name"] for r in created if model_name in r["name"]}
    assert bucket | model == {r["name"] for r in created}, "only the model's and the bucket's resources are new"
    # Today's storage component: the bucket and its six configuration resources.
    assert bucket == {
        "dev-storage-vector-snapshots",
        "dev-storage-vector-snapshots-sse",
        "dev-storage-vector-snapshots-versioning",
        "dev-storage-vector-snapshots-public-access",
        "dev-storage-vector-snapshots-ownership",
        "dev-storage-vector-snapshots-tls-only",
        "dev-storage-vector-snapshots-lifecycle",
    }
    assert model, "the serving component registers objects per model"
    assert {r["component"] for r in created if r["name"] in bucket} == {"dev-storage"}
    assert not _by_op(rep.doc, "delete") and not _by_op(rep.doc, "replace")

    cost = rep.doc["cost"]
    delta = head_plan["cost"]["monthly_expected"] - base_plan["cost"]["monthly_expected"]
    worst = head_plan["cost"]["monthly_worst_case"] - base_plan["cost"]["monthly_worst_case"]
    assert cost["monthly_expected"]["delta"] == pytest.approx(delta)
    assert cost["monthly_worst_case"]["delta"] == pytest.approx(worst)
    assert cost["assumptions"] == head_plan["cost"]["assumptions"]

    first = rep.markdown.splitlines()[0]
    # dev copies an unapproved entry: the release gate's advisory findings (AIF-REL-001) are new.
    assert re.match(
        rf"### {STACK}: \+{len(expected)} ~\d+ −0, replacements: 0, monthly [+−]\$[\d,]+ \(worst case [+−]\$[\d,]+\)"
        ", 2 new advisory findings$",
        first,
    )
    assert sorted((f["policy"], f["enforcement"]) for f in rep.doc["findings"]["new"]) == [
        ("AIF-REL-001", "advisory"),
        ("AIF-REL-001", "advisory"),
    ]
    assert all(model_name in f["urn"] for f in rep.doc["findings"]["new"])
    assert "**dev-storage-vector-snapshots-lifecycle**" in rep.markdown


def test_usage_change_shows_cost_delta_by_component_and_trips_the_guard(project) -> None:
    project.edit_stack(STACK, lambda cfg: cfg["ai-factory:usage"].update(burstGpuHoursMonthly=1200))
    rep = project.report(STACK, usd=10, percent=5)
    base_plan, head_plan = rep.diff.plans
    assert rep.exit_code == 0  # the guard is advisory
    assert rep.doc["resources"] == []
    delta = head_plan["cost"]["monthly_expected"] - base_plan["cost"]["monthly_expected"]
    assert delta > 0, "more burst GPU-hours must cost more"
    assert rep.doc["cost"]["monthly_expected"]["delta"] == pytest.approx(delta)
    b_by, h_by = base_plan["cost"]["by_component"], head_plan["cost"]["by_component"]
    moved = {k: h_by.get(k, 0) - b_by.get(k, 0) for k in set(b_by) | set(h_by)}
    assert {k: v["delta"] for k, v in rep.doc["cost"]["by_component"].items()} == pytest.approx(
        {k: v for k, v in moved.items() if round(v, 2)}
    )
    assert rep.doc["cost_guard"]["tripped"] is True and rep.doc["cost_guard"]["source"] == "flags"
    assert "Cost guard (advisory)" in rep.markdown
    assert re.search(r"monthly \+\$[\d,]+ \(worst case [+−]\$[\d,]+\)", rep.markdown.splitlines()[0])


_NARROW_RESIDENCY = """

# Test change: the rules now accept eu-west-1 only (a narrowed residency fact).
_real_pack_config = pack_config


def pack_config(cfg: Any) -> dict[str, Any]:
    conf = _real_pack_config(cfg)
    conf["aws-region-residency"]["allowedRegions"] = ["eu-west-1"]
    return conf
"""


def test_new_mandatory_finding_is_listed_and_exits_1(project) -> None:
    path = project.root / "policies" / "stack_config.py"
    path.write_text(path.read_text() + _NARROW_RESIDENCY)
    proc = project.diff(STACK, fmt="markdown")  # the real command, for its exit code
    assert proc.returncode == 1, proc.stderr
    assert re.search(r", \d+ new mandatory findings?(,|$)", proc.stdout.splitlines()[0])
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| new |")]
    assert rows and all(line.startswith("| new | mandatory | AIF-RES-001 |") for line in rows)
    assert "> [!IMPORTANT]" in proc.stdout

    # Committed, the same finding is "still open" against the new base: still blocking.
    project.commit("narrow residency")
    rep = project.report(STACK)
    assert rep.exit_code == 1 and rep.doc["findings"]["new"] == [] and rep.doc["findings"]["still_open"]
    assert "still open" in rep.markdown.splitlines()[0]


PLAIN_BEFORE = "PLAIN-BEFORE-IT-BECAME-SECRET-5678"
CIPHERTEXT = "v1:AAABAPLANTEDCIPHERTEXT9999"


def test_secrets_are_never_printed_in_any_format(project) -> None:
    """Plant (1) a config value that turns `secure:` in this change, whose old plain value the
    base plan shows in a tag (pulumi/pulumi#9330's leak), and (2) a real Pulumi secret (the
    offline placeholder of `externalApiKey`) as the KMS key's description."""
    project.replace_in(
        "components/aws/storage.py",
        'tags=naming.tags(args.key_data_class, component="storage"),',
        'tags={**naming.tags(args.key_data_class, component="storage"), '
        '"planted": pulumi.Config("secretplant").get("value") or "none"},',
    )
    doc = project.stack_doc(STACK)
    doc["config"]["secretplant:value"] = PLAIN_BEFORE
    project.write_stack(STACK, doc)
    project.commit("plain value in a tag")

    project.replace_in(
        "components/aws/storage.py",
        'description=f"{naming.environment}: data at rest (buckets, snapshots, logs)",',
        'description=pulumi.Config("ai-factory").require_secret("externalApiKey"),',
    )
    doc["config"]["secretplant:value"] = {"secure": CIPHERTEXT}
    project.write_stack(STACK, doc)

    rep = project.report(STACK)
    outputs = dict(rep.formats)
    for fmt, out in outputs.items():
        for planted in (PLAIN_BEFORE, CIPHERTEXT, "offline-placeholder-for-"):
            assert planted not in out, f"{planted} leaked in --format {fmt}"
    key = next(r for r in rep.doc["resources"] if r["name"] == "dev-storage-key")
    changed = {c["path"]: c for c in key["changes"]}
    assert changed["description"]["before"] == changed["description"]["after"] == "[secret]"
    assert changed["tags.planted"]["before"] == "[secret]"
    assert "[secret]" in rep.markdown and "[secret]" in rep.text


def test_stack_missing_at_base_is_all_new(project) -> None:
    doc = project.stack_doc(STACK)
    doc["config"]["ai-factory:environment"]["name"] = "dev2"
    project.write_stack("dev2", doc)
    rep = project.report("dev2")
    assert rep.exit_code == 0
    assert rep.doc["base"]["missing"] is True
    assert rep.doc["resources"] and {r["op"] for r in rep.doc["resources"]} == {"create"}
    assert "does not exist at `HEAD`" in rep.markdown


def test_unknown_ref_exits_2_with_one_line(project) -> None:
    proc = project.diff(STACK, base="no-such-branch")
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "unknown git ref" in proc.stderr
    assert proc.stdout == ""


def test_unknown_stack_exits_2_with_one_line(project) -> None:
    proc = project.diff("nosuch")
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and "nosuch" in proc.stderr


def test_invalid_head_config_exits_2_with_one_line_per_problem(project) -> None:
    def edit(cfg: dict) -> None:
        cfg["ai-factory:environment"]["tier"] = "production"
        cfg["ai-factory:budget"]["alertThresholdsPercent"] = [50, "lots"]

    project.edit_stack(STACK, edit)
    proc = project.diff(STACK)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and "environment.tier" in lines[0] and "alertThresholdsPercent" in lines[1]


def test_git_failure_exits_3_with_one_line(project) -> None:
    import shutil

    shutil.rmtree(project.root / ".git")
    proc = project.diff(STACK)
    assert proc.returncode == 3
    assert len(proc.stderr.splitlines()) == 1 and "not inside a git repository" in proc.stderr


def test_clean_tree_diff_is_within_2_5x_the_plan_time(project) -> None:
    """The issue's speed bar, on the stack it names (benchmarks/diff_time.py reports figures)."""
    start = time.perf_counter()
    plan = project.cli("plan", "prod-eu", "--format", "json")
    plan_s = time.perf_counter() - start
    assert plan.returncode in (0, 1), plan.stderr
    start = time.perf_counter()
    proc = project.diff("prod-eu", fmt="markdown")
    diff_s = time.perf_counter() - start
    assert proc.returncode in (0, 1), proc.stderr
    assert proc.stdout.splitlines()[0].startswith("### prod-eu: no changes")
    assert diff_s <= 2.5 * plan_s, f"diff {diff_s:.2f} s vs plan {plan_s:.2f} s"
