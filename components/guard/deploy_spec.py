"""Everything the deployment of the budget guard needs, as plain data (no Pulumi).

The AWS component wires it (Lambda function, role, log group, SNS subscription, schedule);
this module says *what* to create so the guard's privileges and inputs live next to the code
that uses them, and tests can pin them:

- `iam_policy(...)`: the least-privilege inline policy of the Lambda's role;
- `environment(...)`: the Lambda's environment variables (settings.py reads them);
- `pausable_pools(...)`: which burst pools the guard may pause (spot/on-demand burst yes,
  the on-demand floor no — it is the critical tiers' guaranteed cloud capacity);
- the constants below: handler, runtime, files to package, subscription filter, schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from components import conventions as c
from components.guard import messages, records, settings

HANDLER = "components.guard.handler.handler"
RUNTIME = "python3.12"
TIMEOUT_SECONDS = 60
MEMORY_MB = 256
RESERVED_CONCURRENCY = 1
"""One run at a time: two concurrent runs could both read "not paused" and both record sizes."""

PACKAGE_FILES = (
    "components/__init__.py",
    "components/conventions.py",
    "components/guard/__init__.py",
    "components/guard/decide.py",
    "components/guard/handler.py",
    "components/guard/messages.py",
    "components/guard/pause_state.py",
    "components/guard/pools.py",
    "components/guard/records.py",
    "components/guard/settings.py",
)
"""Files of the Lambda's zip (paths relative to the repository root; boto3 comes with the runtime)."""

SUBSCRIPTION_FILTER_POLICY: Mapping[str, Any] = {messages.OWN_ATTRIBUTE: [{"exists": False}]}
"""SNS filter policy of the Lambda's subscription: the guard's own notices never re-invoke it
(the handler also skips them, in case the filter is missing)."""

SCHEDULE_EXPRESSION = "rate(1 hour)"
"""EventBridge schedule of the periodic check: Budgets sends nothing below its first threshold,
so only a schedule notices that a new period began and capacity can come back."""

PAUSABLE_ROLES = frozenset({c.POOL_SPOT, c.POOL_ON_DEMAND})
"""Burst pool roles the guard may pause; POOL_FLOOR (critical capacity) and POOL_SYSTEM never."""


GUARD_TAG_KEYS = (records.TAG_STATE, records.TAG_AT, records.TAG_REASON)


def parameter_name(environment: str) -> str:
    """The SSM parameter of the pause record."""
    return f"/{c.PROJECT}/{environment}/budget-guard/pause"


def function_name(environment: str) -> str:
    return f"{environment}-budget-guard"


def pausable_pools(pools: Iterable[Any]) -> list[Any]:
    """The planned pools (components.aws.gpu_pools.PoolPlan: anything with `.role`) the guard may pause."""
    return [p for p in pools if p.role in PAUSABLE_ROLES]


def environment(
    *,
    stack: str,
    budget_name: str,
    account_id: str,
    region: str,
    cluster_name: str,
    node_group_names: Sequence[str],
    parameter: str,
    topic_arn: str,
    pause_at_percent: float,
) -> dict[str, str]:
    """The Lambda's environment variables (GuardSettings.from_env reads exactly these)."""
    return {
        settings.ENV_STACK: stack,
        settings.ENV_BUDGET_NAME: budget_name,
        settings.ENV_ACCOUNT_ID: account_id,
        settings.ENV_REGION: region,
        settings.ENV_CLUSTER_NAME: cluster_name,
        settings.ENV_NODE_GROUPS: ",".join(node_group_names),
        settings.ENV_PARAMETER_NAME: parameter,
        settings.ENV_TOPIC_ARN: topic_arn,
        settings.ENV_PAUSE_AT_PERCENT: f"{pause_at_percent:g}",
    }


def _parameter_arn(partition: str, region: str, account: str, name: str) -> str:
    # SSM parameter ARNs drop the name's leading slash: parameter/ai-factory/dev/...
    return f"arn:{partition}:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


def iam_policy(
    *,
    account_id: str,
    region: str,
    cluster_name: str,
    node_group_names: Sequence[str],
    budget_name: str,
    topic_arn: str,
    parameter: str,
    function: str,
    topic_key_arn: str | None = None,
    partition: str = "aws",
) -> dict[str, Any]:
    """The guard role's inline policy: every action named, every resource named.

    No statement needs `"Resource": "*"`: every API the guard calls supports resource-level
    permissions (Service Authorization Reference: budgets:ViewBudget → budget, eks:* nodegroup
    actions → nodegroup, ssm:Get/PutParameter → parameter, sns:Publish → topic, logs → log
    group). The log group itself is created by the deployment (KMS, retention), so the role
    cannot create log groups.
    """
    if not node_group_names:
        raise ValueError("the guard needs at least one node group to pause")
    base = f"arn:{partition}"
    # Node group ARNs end in a UUID EKS assigns at creation: the name is fixed, the suffix not.
    node_groups = [f"{base}:eks:{region}:{account_id}:nodegroup/{cluster_name}/{n}/*" for n in sorted(node_group_names)]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadTheBudget",
            "Effect": "Allow",
            "Action": ["budgets:ViewBudget"],
            "Resource": [f"{base}:budgets::{account_id}:budget/{budget_name}"],
        },
        {
            "Sid": "ScaleOnlyTheNamedNodeGroups",
            "Effect": "Allow",
            "Action": ["eks:DescribeNodegroup", "eks:UpdateNodegroupConfig"],
            "Resource": node_groups,
        },
        {
            "Sid": "TagOnlyTheNamedNodeGroupsWithGuardKeys",
            "Effect": "Allow",
            "Action": ["eks:TagResource"],
            "Resource": node_groups,
            # Only the guard's own record keys: it cannot rewrite owner, cost-center or any other tag.
            "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": sorted(GUARD_TAG_KEYS)}},
        },
        {
            "Sid": "KeepThePauseRecord",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:PutParameter"],
            "Resource": [_parameter_arn(partition, region, account_id, parameter)],
        },
        {
            "Sid": "TellTheOwners",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Resource": [topic_arn],
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{base}:logs:{region}:{account_id}:log-group:/aws/lambda/{function}:*"],
        },
    ]
    if topic_key_arn:
        # Publishing to a KMS-encrypted topic needs the key, and only through SNS.
        statements.append(
            {
                "Sid": "UseTheTopicKeyThroughSns",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [topic_key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def lambda_trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
