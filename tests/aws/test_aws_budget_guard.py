"""The budget guard's deployment (components/aws/budget_guard.py) in the reference stacks' plans.

Least privilege is checked on the registered inline policy itself: every action named, every
resource one of the stack's own named node groups, budget, parameter, topic, key or log group.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_support import StackPlan

from components import conventions as c
from components.aws.budget_guard import LOG_RETENTION_DAYS, code_archive
from components.guard import deploy_spec, settings
from components.tooling.mock_runtime import PLACEHOLDER_ACCOUNT

GUARD = "ai-factory:aws:BudgetGuard"
FUNCTION = "aws:lambda/function:Function"
EXPECTED_GROUPS = {
    "dev": ["dev-burst-gpu-g6-spot"],
    "prod-eu": ["prod-eu-burst-gpu-g6e-spot", "prod-eu-burst-gpu-p5-spot"],
}
"""The spot burst groups; never the on-demand floor (prod-eu-burst-gpu-g6e-floor) nor the system pool."""


def _guard(sp: StackPlan) -> dict[str, Any]:
    (guard,) = sp.of_type(GUARD)
    return guard


def _child(sp: StackPlan, typ: str, suffix: str) -> dict[str, Any]:
    env = sp.config.environment.name
    return next(r for r in sp.of_type(typ) if r["name"] == f"{env}-budget-guard{suffix}")


def _account(sp: StackPlan) -> str:
    return sp.config.cloud.account_id or PLACEHOLDER_ACCOUNT


@pytest.mark.parametrize("stack", ["dev", "prod-eu"])
def test_the_guard_pauses_exactly_the_spot_burst_groups_by_name(stacks: dict[str, StackPlan], stack: str) -> None:
    sp = stacks[stack]
    fn = _child(sp, FUNCTION, "-function")
    env = fn["inputs"]["environment"]["variables"]
    assert env[settings.ENV_NODE_GROUPS].split(",") == EXPECTED_GROUPS[stack]
    gpu_groups = {
        g["inputs"]["nodeGroupName"]: g["inputs"]["labels"].get(c.LABEL_POOL)
        for g in sp.of_type("aws:eks/nodeGroup:NodeGroup")
    }
    # Every name the guard gets is a node group the program registers under exactly that name.
    assert set(EXPECTED_GROUPS[stack]) <= set(gpu_groups)
    assert all(gpu_groups[n].endswith("-spot") for n in EXPECTED_GROUPS[stack])
    assert not [n for n in env[settings.ENV_NODE_GROUPS].split(",") if n.endswith(("-floor", "-system-cpu"))]


@pytest.mark.parametrize("stack", ["dev", "prod-eu"])
def test_the_guard_role_policy_names_every_action_and_resource(stacks: dict[str, StackPlan], stack: str) -> None:
    sp = stacks[stack]
    env, region, account = sp.config.environment.name, sp.config.cloud.region, _account(sp)
    policy = sp.policy(_child(sp, "aws:iam/rolePolicy:RolePolicy", "-role-policy"))
    nodegroups = sorted(f"arn:aws:eks:{region}:{account}:nodegroup/{env}-burst/{n}/*" for n in EXPECTED_GROUPS[stack])
    topic_arn = f"arn:aws:sns:{region}:{account}:{env}-budgets-alerts"
    expected = {
        "ReadTheBudget": (["budgets:ViewBudget"], [f"arn:aws:budgets::{account}:budget/{env}-budget"]),
        "ScaleOnlyTheNamedNodeGroups": (["eks:DescribeNodegroup", "eks:UpdateNodegroupConfig"], nodegroups),
        "TagOnlyTheNamedNodeGroupsWithGuardKeys": (["eks:TagResource"], nodegroups),
        "KeepThePauseRecord": (
            ["ssm:GetParameter", "ssm:PutParameter"],
            [f"arn:aws:ssm:{region}:{account}:parameter/ai-factory/{env}/budget-guard/pause"],
        ),
        "TellTheOwners": (["sns:Publish"], [topic_arn]),
        "WriteOwnLogs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{env}-budget-guard:*"],
        ),
        "UseTheTopicKeyThroughSns": (["kms:Decrypt", "kms:GenerateDataKey"], [sp.key_arn(f"{env}-budgets-key")]),
    }
    got = {st["Sid"]: (st["Action"], st["Resource"]) for st in policy["Statement"]}
    assert got == expected
    for st in policy["Statement"]:
        assert st["Effect"] == "Allow"
        assert "*" not in st["Resource"] and not any(a == "*" or a.endswith(":*") for a in st["Action"])
    tag = next(st for st in policy["Statement"] if st["Sid"] == "TagOnlyTheNamedNodeGroupsWithGuardKeys")
    assert tag["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": sorted(deploy_spec.GUARD_TAG_KEYS)}}
    kms = next(st for st in policy["Statement"] if st["Sid"] == "UseTheTopicKeyThroughSns")
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}}
    role = _child(sp, "aws:iam/role:Role", "-role")
    assert json.loads(role["inputs"]["assumeRolePolicy"]) == deploy_spec.lambda_trust_policy()
    assert not role["inputs"].get("managedPolicyArns")
    assert not [
        r for r in sp.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if "budget-guard" in r["name"]
    ]


def test_the_function_runs_one_at_a_time_with_the_guard_package_and_settings(prod: StackPlan) -> None:
    fn = _child(prod, FUNCTION, "-function")["inputs"]
    assert fn["name"] == deploy_spec.function_name("prod-eu") == "prod-eu-budget-guard"
    assert (fn["handler"], fn["runtime"]) == (deploy_spec.HANDLER, deploy_spec.RUNTIME)
    assert fn["reservedConcurrentExecutions"] == 1
    assert (fn["timeout"], fn["memorySize"]) == (deploy_spec.TIMEOUT_SECONDS, deploy_spec.MEMORY_MB)
    assert set(fn["code"]["archive"]) == set(deploy_spec.PACKAGE_FILES)
    assert all(a["sha256"] for a in fn["code"]["archive"].values())
    env = fn["environment"]["variables"]
    assert env == deploy_spec.environment(
        stack="prod-eu",
        budget_name=c.budget_name("prod-eu"),
        account_id=_account(prod),
        region="eu-central-1",
        cluster_name="prod-eu-burst",
        node_group_names=EXPECTED_GROUPS["prod-eu"],
        parameter="/ai-factory/prod-eu/budget-guard/pause",
        topic_arn=f"arn:aws:sns:eu-central-1:{_account(prod)}:prod-eu-budgets-alerts",
        pause_at_percent=prod.config.budget.pause_at_percent,
    )
    # The environment is exactly what the handler's settings accept.
    assert settings.GuardSettings.from_env(env).node_groups == tuple(EXPECTED_GROUPS["prod-eu"])
    assert fn["loggingConfig"]["logGroup"] == "/aws/lambda/prod-eu-budget-guard"


def test_the_code_archive_is_the_package_files_and_deterministic() -> None:
    a, b = code_archive(), code_archive()
    assert list(a.assets) == list(deploy_spec.PACKAGE_FILES)
    assert [x.path for x in a.assets.values()] == [x.path for x in b.assets.values()]
    assert not [k for k in a.assets if "deploy_spec" in k or k.startswith(("policies/", "components/aws/"))]


def test_the_log_group_is_encrypted_with_the_stack_key_and_retained(prod: StackPlan) -> None:
    logs = _child(prod, "aws:cloudwatch/logGroup:LogGroup", "-logs")["inputs"]
    assert logs["name"] == "/aws/lambda/prod-eu-budget-guard"
    assert logs["kmsKeyId"] == prod.key_arn("prod-eu-storage-key")
    assert logs["retentionInDays"] == LOG_RETENTION_DAYS
    # The stack key admits CloudWatch Logs for this account's log groups in the region.
    key_policy = prod.policy(prod.named("prod-eu-storage-key"))
    sids = {st["Sid"]: st for st in key_policy["Statement"]}
    logs_st = sids["CloudWatchLogsEncryptLogGroups"]
    assert logs_st["Principal"] == {"Service": "logs.eu-central-1.amazonaws.com"}
    pattern = logs_st["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert pattern == f"arn:aws:logs:eu-central-1:{_account(prod)}:log-group:*"
    # The function waits for its log group and its policy.
    reg = prod.registration("prod-eu-budget-guard-function")
    deps = set(reg.dependencies)
    assert prod.named("prod-eu-budget-guard-logs")["urn"] in deps
    assert prod.named("prod-eu-budget-guard-role-policy")["urn"] in deps


def test_the_topic_triggers_the_guard_except_for_its_own_notices(prod: StackPlan) -> None:
    topic_arn = f"arn:aws:sns:eu-central-1:{_account(prod)}:prod-eu-budgets-alerts"
    fn_arn = f"arn:aws:lambda:eu-central-1:{_account(prod)}:prod-eu-budget-guard-function"
    sub = _child(prod, "aws:sns/topicSubscription:TopicSubscription", "-subscription")["inputs"]
    assert (sub["topic"], sub["protocol"], sub["endpoint"]) == (topic_arn, "lambda", fn_arn)
    assert json.loads(sub["filterPolicy"]) == {"ai-factory-source": [{"exists": False}]}
    assert json.loads(sub["filterPolicy"]) == deploy_spec.SUBSCRIPTION_FILTER_POLICY
    assert sub["filterPolicyScope"] == "MessageAttributes"
    perm = _child(prod, "aws:lambda/permission:Permission", "-from-topic")["inputs"]
    assert perm == {
        "action": "lambda:InvokeFunction",
        "function": "prod-eu-budget-guard",
        "principal": "sns.amazonaws.com",
        "sourceArn": topic_arn,
    }


def test_an_hourly_schedule_invokes_the_guard(prod: StackPlan) -> None:
    rule = _child(prod, "aws:cloudwatch/eventRule:EventRule", "-schedule")
    assert rule["inputs"]["scheduleExpression"] == deploy_spec.SCHEDULE_EXPRESSION == "rate(1 hour)"
    assert "eventPattern" not in rule["inputs"]
    assert rule["inputs"]["tags"][c.TAG_COMPONENT] == "budget-guard"
    target = _child(prod, "aws:cloudwatch/eventTarget:EventTarget", "-schedule-target")["inputs"]
    account = _account(prod)
    assert target["arn"] == f"arn:aws:lambda:eu-central-1:{account}:prod-eu-budget-guard-function"
    assert target["rule"] == rule["inputs"]["name"]
    perm = _child(prod, "aws:lambda/permission:Permission", "-from-schedule")["inputs"]
    assert perm["principal"] == "events.amazonaws.com"
    # Only this rule may invoke (the offline plan's ARN of the rule registered as prod-eu-budget-guard-schedule).
    assert perm["sourceArn"] == f"arn:aws:cloudwatch:eu-central-1:{account}:prod-eu-budget-guard-schedule"


def test_the_budget_name_is_one_convention_for_component_guard_and_audit(prod: StackPlan) -> None:
    from components.tooling.audit import budget_name_for

    (budget,) = prod.of_type("aws:budgets/budget:Budget")
    assert budget["inputs"]["name"] == c.budget_name("prod-eu") == budget_name_for(prod.config) == "prod-eu-budget"
    fn = _child(prod, FUNCTION, "-function")["inputs"]
    assert fn["environment"]["variables"][settings.ENV_BUDGET_NAME] == budget["inputs"]["name"]


def test_lab_without_eks_has_no_guard(stacks: dict[str, StackPlan]) -> None:
    lab = stacks["lab"]
    assert not lab.of_type(GUARD)
    assert not lab.of_type(FUNCTION)
    assert not [r for r in lab.resources if "budget-guard" in r["name"]]


@pytest.mark.parametrize("stack", ["dev", "prod-eu"])
def test_the_guard_adds_no_policy_finding(stacks: dict[str, StackPlan], stack: str) -> None:
    sp = stacks[stack]
    guard_urns = {r["urn"] for r in sp.resources if "budget-guard" in r["name"]}
    assert guard_urns
    assert not [v for v in sp.plan.violations if v.urn in guard_urns]
    assert not sp.plan.has_mandatory
