"""What the deployment of the guard needs: least-privilege IAM, environment, pausable pools."""

from __future__ import annotations

from components import conventions as c
from components.config.models import BurstConfig
from components.guard import deploy_spec as spec
from components.guard.settings import GuardSettings

ACCOUNT, REGION = "123456789012", "eu-central-1"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:prod-eu-budget-alerts"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GROUPS = ("prod-eu-gpu-g6e-spot", "prod-eu-gpu-p5-spot")


def _policy() -> dict:
    return spec.iam_policy(
        account_id=ACCOUNT,
        region=REGION,
        cluster_name="prod-eu-burst",
        node_group_names=GROUPS,
        budget_name="prod-eu-budget",
        topic_arn=TOPIC,
        parameter=spec.parameter_name("prod-eu"),
        function=spec.function_name("prod-eu"),
        topic_key_arn=KEY,
    )


def test_no_wildcard_action_and_no_wildcard_resource() -> None:
    for st in _policy()["Statement"]:
        assert st["Effect"] == "Allow"
        for action in st["Action"]:
            assert "*" not in action, st
        for resource in st["Resource"]:
            assert resource != "*", st


def test_only_the_named_node_groups_topic_budget_parameter_and_key() -> None:
    by_sid = {st["Sid"]: st for st in _policy()["Statement"]}
    ng = [f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/prod-eu-burst/{g}/*" for g in GROUPS]
    assert by_sid["ScaleOnlyTheNamedNodeGroups"]["Resource"] == ng
    assert by_sid["TagOnlyTheNamedNodeGroupsWithGuardKeys"]["Resource"] == ng
    assert by_sid["TellTheOwners"]["Resource"] == [TOPIC]
    assert by_sid["ReadTheBudget"]["Resource"] == [f"arn:aws:budgets::{ACCOUNT}:budget/prod-eu-budget"]
    assert by_sid["KeepThePauseRecord"]["Resource"] == [
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/ai-factory/prod-eu/budget-guard/pause"
    ]
    assert by_sid["UseTheTopicKeyThroughSns"]["Resource"] == [KEY]
    actions = sorted(a for st in by_sid.values() for a in st["Action"])
    assert actions == sorted(
        [
            "budgets:ViewBudget",
            "eks:DescribeNodegroup",
            "eks:UpdateNodegroupConfig",
            "eks:TagResource",
            "ssm:GetParameter",
            "ssm:PutParameter",
            "sns:Publish",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "kms:Decrypt",
            "kms:GenerateDataKey",
        ]
    )


def test_environment_is_exactly_what_the_guard_reads() -> None:
    env = spec.environment(
        stack="prod-eu",
        budget_name="prod-eu-budget",
        account_id=ACCOUNT,
        region=REGION,
        cluster_name="prod-eu-burst",
        node_group_names=GROUPS,
        parameter=spec.parameter_name("prod-eu"),
        topic_arn=TOPIC,
        pause_at_percent=90,
    )
    settings = GuardSettings.from_env(env)
    assert settings.node_groups == GROUPS and settings.pause_at_percent == 90 and settings.topic_arn == TOPIC


def test_the_on_demand_floor_is_never_pausable() -> None:
    # Imported after components.config: importing gpu_pools first is a circular import today.
    from components.aws.gpu_pools import plan_pools

    # prod-eu's burst shape: spot g6e + p5 above an 8-GPU on-demand floor.
    burst = BurstConfig(gpu_families=["g6e", "p5"], max_gpus=24, on_demand_floor_gpus=8, spot=True)
    pools, _ = plan_pools(burst)
    pausable = spec.pausable_pools(pools)
    assert pausable and {p.role for p in pausable} == {c.POOL_SPOT}
    assert {p.role for p in pools} - {p.role for p in pausable} == {c.POOL_FLOOR}


def test_the_package_lists_every_guard_module() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    shipped = {p for p in spec.PACKAGE_FILES if p.startswith("components/guard/")}
    on_disk = {str(p.relative_to(root)) for p in (root / "components/guard").glob("*.py")} - {
        "components/guard/deploy_spec.py"
    }
    assert shipped == on_disk
    assert all((root / p).is_file() for p in spec.PACKAGE_FILES)


def test_the_lambda_package_imports_without_pulumi_or_pydantic(tmp_path) -> None:
    """The zip holds PACKAGE_FILES only; the handler must import from them with boto3 alone."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for rel in spec.PACKAGE_FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / rel, tmp_path / rel)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import components.guard.handler as h; "
        "assert h.__file__.startswith(sys.argv[1]), h.__file__; bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pydantic', 'policies') "
        "or m.startswith('components.config')); print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
