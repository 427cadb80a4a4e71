"""Issue 8 acceptance: "the program under mocks, with the pause parameter set, keeps those groups at zero".

The real program (components.program.main through `make_plan`) runs under Pulumi's mock
runtime. The pause record is planted in the offline account's SSM parameters, and the program
reads it through the same invoke (`aws:ssm/getParametersByPath`) it uses against AWS
(components/aws/budget_guard.read_pause_state).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components import conventions as c
from components.aws.gpu_pools import PoolPlan
from components.aws.node_pools import node_template_tags, pool_scaling
from components.gpus import GpuFamily
from components.guard import deploy_spec
from components.guard.pause_state import (
    NOT_PAUSED,
    PAUSE_TAINT,
    PAUSE_TAINT_KEY,
    PauseState,
    PauseStateError,
    PoolSize,
    dumps,
)
from components.tooling import plan as plan_module
from components.tooling.mock_runtime import PlanMocks, Registration
from components.tooling.plan import Plan, make_plan, offline_config

REPO = Path(__file__).resolve().parents[2]
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SPOT = ("prod-eu-burst-gpu-g6e-spot", "prod-eu-burst-gpu-p5-spot")
FLOOR = "prod-eu-burst-gpu-g6e-floor"
CONFIGURED_MAX = {"prod-eu-burst-gpu-g6e-spot": 2, "prod-eu-burst-gpu-p5-spot": 1, FLOOR: 2}
"""prod-eu: 24 GPUs = 8 floor (g6e ×4 GPUs ×2) + 16 spot split round-robin over g6e (4) and p5 (8)."""
PAUSED = PauseState(
    paused=True,
    pools={SPOT[0]: PoolSize(0, 2, 1), SPOT[1]: PoolSize(0, 1, 1)},
    reason="actual spend 91.0% of budget prod-eu-budget >= pauseAtPercent 90%",
    at="2026-11-23T14:05:00Z",
    budget_period_start="2026-11-01",
)


def _plan(pause_state: PauseState | None) -> tuple[Plan, list[Registration]]:
    """`make_plan` of prod-eu, keeping the raw registrations (ignore_changes lives only there)."""
    captured: list[list[Registration]] = []
    real = plan_module.run_under_mocks

    def spy(*args: Any, **kwargs: Any) -> list[Registration]:
        captured.append(real(*args, **kwargs))
        return captured[-1]

    plan_module.run_under_mocks = spy
    try:
        plan = make_plan("prod-eu", pause_state=pause_state)
    finally:
        plan_module.run_under_mocks = real
    return plan, captured[0]


@pytest.fixture(scope="module")
def paused() -> tuple[Plan, list[Registration]]:
    return _plan(PAUSED)


@pytest.fixture(scope="module")
def normal() -> tuple[Plan, list[Registration]]:
    return _plan(None)


def _groups(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r["inputs"]["nodeGroupName"]: r["inputs"] for r in plan.resources if r["type"] == NODE_GROUP}


def test_with_the_pause_parameter_set_the_paused_groups_stay_at_zero(paused: tuple[Plan, list]) -> None:
    groups = _groups(paused[0])
    for name in SPOT:
        assert groups[name]["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": 1}, name
        assert dict(PAUSE_TAINT) in groups[name]["taints"], name
        # The group's own taints stay: the pause taint is added, never substituted.
        assert {"key": c.GPU_TAINT_KEY, "value": c.GPU_TAINT_VALUE, "effect": "NO_SCHEDULE"} in groups[name]["taints"]
    # The on-demand floor (critical tiers' guaranteed capacity) keeps its size and has no pause taint.
    assert groups[FLOOR]["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": CONFIGURED_MAX[FLOOR]}
    assert PAUSE_TAINT_KEY not in [t["key"] for t in groups[FLOOR]["taints"]]
    system = groups["prod-eu-burst-system-cpu"]
    assert system["scalingConfig"]["minSize"] >= 1 and not system.get("taints")


def test_the_preview_says_which_groups_stay_paused(paused: tuple[Plan, list]) -> None:
    plan = paused[0]
    assert len(plan.warnings) == len(SPOT)
    for name in SPOT:
        (note,) = [w for w in plan.warnings if f"node group {name} " in w]
        assert "paused by the budget guard since 2026-11-23T14:05:00Z" in note
        assert PAUSED.reason in note and f"configured max {CONFIGURED_MAX[name]}" in note
    assert not [w for w in plan.warnings if FLOOR in w]
    assert plan.to_json()["warnings"] == plan.warnings
    from components.tooling.report import render_markdown, render_text

    assert f"warning: node group {SPOT[0]} is paused" in render_text(plan)
    assert "> [!WARNING]" in render_markdown(plan)


def test_the_autoscaler_template_carries_the_pause_taint_of_a_paused_group(paused: tuple[Plan, list]) -> None:
    tags = [r["inputs"] for r in paused[0].resources if r["type"] == "aws:autoscaling/tag:Tag"]
    key = f"{c.CA_NODE_TEMPLATE_PREFIX}/taint/{PAUSE_TAINT_KEY}"
    with_pause = {t["autoscalingGroupName"] for t in tags if t["tag"]["key"] == key}
    assert with_pause == {f"eks-{n}-00000000" for n in SPOT}
    assert {t["tag"]["value"] for t in tags if t["tag"]["key"] == key} == {"budget:NoExecute"}


def test_a_pause_keeps_the_stack_free_of_mandatory_findings(paused: tuple[Plan, list]) -> None:
    plan = paused[0]
    assert not plan.has_mandatory, [v.to_json() for v in plan.violations if v.enforcement == "mandatory"]
    # The GPU cap rule still sees finite max sizes within the limit (paused groups: max 1 each).
    assert not [v for v in plan.violations if v.policy == "AIF-BUD-002"]


def test_pulumi_up_never_erases_the_guard_tags(paused: tuple[Plan, list]) -> None:
    by_name = {r.inputs.get("nodeGroupName"): r for r in paused[1] if r.type == NODE_GROUP}
    guard_tags = [f'tags["{k}"]' for k in deploy_spec.GUARD_TAG_KEYS]
    for name in SPOT:
        assert by_name[name].ignore_changes == ["scalingConfig.desiredSize", *guard_tags]
    assert by_name[FLOOR].ignore_changes == ["scalingConfig.desiredSize"]


def test_without_the_parameter_every_group_gets_its_configured_size(normal: tuple[Plan, list]) -> None:
    plan = normal[0]
    groups = _groups(plan)
    for name, max_size in CONFIGURED_MAX.items():
        assert groups[name]["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": max_size}, name
        assert PAUSE_TAINT_KEY not in [t["key"] for t in groups[name]["taints"]], name
    assert plan.warnings == []
    assert plan.to_json()["warnings"] == []


def test_the_node_groups_have_the_names_the_guard_is_given(normal: tuple[Plan, list]) -> None:
    plan = normal[0]
    names = set(_groups(plan))
    (fn,) = [r for r in plan.resources if r["type"] == "aws:lambda/function:Function"]
    guarded = fn["inputs"]["environment"]["variables"]["GUARD_NODE_GROUPS"].split(",")
    assert sorted(guarded) == sorted(SPOT) and set(guarded) <= names


# ------------------------------------------------------------- the seam and its edges
def test_a_malformed_record_stops_the_program() -> None:
    """The program must not guess: a record it cannot read fails the run (no pools sized as unpaused)."""
    from components.config.loader import load_stack
    from components.program import main
    from components.tooling.mock_runtime import run_under_mocks

    sf, cfg = load_stack("dev")
    config, secret_keys = offline_config(sf)
    with pytest.raises(Exception) as info:
        run_under_mocks(
            main,
            stack="dev",
            config=config,
            secret_keys=secret_keys,
            account_id="123456789012",
            region=cfg.cloud.region,
            ssm_parameters={deploy_spec.parameter_name("dev"): '{"paused": true'},
        )
    assert isinstance(info.value, PauseStateError) or "pause parameter is not JSON" in str(info.value)


def test_the_offline_account_answers_parameters_by_path_like_ssm() -> None:
    record = dumps(PAUSED)
    mocks = PlanMocks(
        "123456789012",
        "eu-central-1",
        {deploy_spec.parameter_name("prod-eu"): record, "/ai-factory/prod-eu/budget-guard/deeper/x": "no"},
    )

    class Args:
        token = "aws:ssm/getParametersByPath:getParametersByPath"
        args = {"path": "/ai-factory/prod-eu/budget-guard", "recursive": False, "withDecryption": False}

    out, _ = mocks.call(Args())  # type: ignore[arg-type]
    assert out["names"] == ["/ai-factory/prod-eu/budget-guard/pause"] and out["values"] == [record]
    assert out["arns"] == ["arn:aws:ssm:eu-central-1:123456789012:parameter/ai-factory/prod-eu/budget-guard/pause"]
    Args.args = {"path": "/ai-factory/dev/budget-guard", "recursive": False, "withDecryption": False}
    empty, _ = mocks.call(Args())  # type: ignore[arg-type]
    assert empty["names"] == [] and empty["values"] == []


def test_factory_plan_rejects_a_pause_state_file_that_is_not_a_record(cli, tmp_path: Path) -> None:
    bad = tmp_path / "pause.json"
    bad.write_text(json.dumps({"paused": True}))
    result = cli("plan", "prod-eu", "--pause-state", str(bad))
    assert result.code == 2
    assert result.err.startswith(f"factory: --pause-state {bad}: pause parameter: missing")
    result = cli("plan", "prod-eu", "--pause-state", str(tmp_path / "missing.json"))
    assert result.code == 2


def test_only_pausable_pools_follow_the_record() -> None:
    """A record naming the floor (hand-edited, or a wrong list) never pauses it through the program."""
    floor = PoolPlan(GpuFamily.G6E, c.POOL_FLOOR, ("g6e.12xlarge",), 4, 2)
    spot = PoolPlan(GpuFamily.G6E, c.POOL_SPOT, ("g6e.12xlarge",), 4, 2)
    state = PauseState(True, {"x-burst-gpu-g6e-floor": PoolSize(0, 2, 0), "x-burst-gpu-g6e-spot": PoolSize(0, 2, 0)})
    assert pool_scaling(floor, "x-burst", state).size == PoolSize(0, 2, 0)
    assert not pool_scaling(floor, "x-burst", state).paused
    assert pool_scaling(spot, "x-burst", state).size == PoolSize(0, 1, 0)
    assert pool_scaling(spot, "x-burst", NOT_PAUSED).size == PoolSize(0, 2, 0)
    tags = node_template_tags(spot, pool_scaling(spot, "x-burst", state).extra_taints)
    assert tags[f"{c.CA_NODE_TEMPLATE_PREFIX}/taint/{PAUSE_TAINT_KEY}"] == "budget:NoExecute"


def test_gpu_pools_imports_before_the_config_package() -> None:
    """The cycle gpu_pools → config → semantics → gpu_pools is gone, whichever module comes first."""
    for module in ("components.aws.gpu_pools", "components.config.semantics", "components.config"):
        done = subprocess.run(
            [sys.executable, "-c", f"import {module}"], cwd=REPO, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr


def test_factory_plan_with_a_pause_state_file_previews_the_pause(cli, tmp_path: Path) -> None:
    record = tmp_path / "pause.json"
    record.write_text(dumps(PAUSED))  # the parameter's text, as the guard writes it
    result = cli("plan", "prod-eu", "--pause-state", str(record), "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert sorted(n for n in SPOT if any(f"node group {n} is paused" in w for w in doc["warnings"])) == sorted(SPOT)
    sizes = {
        r["inputs"]["nodeGroupName"]: r["inputs"]["scalingConfig"]["maxSize"]
        for r in doc["resources"]
        if r["type"] == NODE_GROUP
    }
    assert [sizes[n] for n in SPOT] == [1, 1] and sizes[FLOOR] == CONFIGURED_MAX[FLOOR]


def test_a_pause_adds_one_autoscaler_tag_and_renames_none(paused: tuple[Plan, list], normal: tuple[Plan, list]) -> None:
    def tag_names(plan: Plan) -> set[str]:
        return {r["name"] for r in plan.resources if r["type"] == "aws:autoscaling/tag:Tag"}

    added = tag_names(paused[0]) - tag_names(normal[0])
    assert tag_names(normal[0]) <= tag_names(paused[0]) and len(added) == len(SPOT)
