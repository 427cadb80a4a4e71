"""The guard's configuration: Lambda environment variables set by the deployment.

`deploy_spec.environment(...)` writes exactly these names; `GuardSettings.from_env` reads
them and fails with one message naming every missing or bad variable (a guard that half
knows what it guards must not start).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

ENV_STACK = "GUARD_STACK"
ENV_BUDGET_NAME = "GUARD_BUDGET_NAME"
ENV_ACCOUNT_ID = "GUARD_ACCOUNT_ID"
ENV_REGION = "GUARD_REGION"
ENV_CLUSTER_NAME = "GUARD_CLUSTER_NAME"
ENV_NODE_GROUPS = "GUARD_NODE_GROUPS"
ENV_PARAMETER_NAME = "GUARD_PARAMETER_NAME"
ENV_TOPIC_ARN = "GUARD_TOPIC_ARN"
ENV_PAUSE_AT_PERCENT = "GUARD_PAUSE_AT_PERCENT"

ALL_VARIABLES = (
    ENV_STACK,
    ENV_BUDGET_NAME,
    ENV_ACCOUNT_ID,
    ENV_REGION,
    ENV_CLUSTER_NAME,
    ENV_NODE_GROUPS,
    ENV_PARAMETER_NAME,
    ENV_TOPIC_ARN,
    ENV_PAUSE_AT_PERCENT,
)

_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:(\d{12}):[A-Za-z0-9_-]{1,256}$")


class SettingsError(ValueError):
    """The Lambda's environment is incomplete or wrong."""


@dataclass(frozen=True)
class GuardSettings:
    stack: str
    """Pulumi stack (environment name): appears in logs and owner messages."""
    budget_name: str
    """The AWS Budget whose spend decides (the only budget accepted in messages)."""
    account_id: str
    """The account the guard works in (the only account accepted in messages)."""
    region: str
    """Region of the cluster, the parameter and the topic."""
    cluster_name: str
    """EKS cluster of the burst node groups."""
    node_groups: tuple[str, ...]
    """Non-critical burst GPU node groups the guard may pause: nothing else is ever touched."""
    parameter_name: str
    """SSM parameter holding the pause record (pause_state)."""
    topic_arn: str
    """The budget's SNS topic: the trigger source and where the owners are told of each action."""
    pause_at_percent: float
    """budget.pauseAtPercent: actual spend (percent of the budget limit) at which pools pause."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GuardSettings:
        problems = [f"{name} is not set" for name in ALL_VARIABLES if not env.get(name, "").strip()]
        if problems:
            raise SettingsError("; ".join(problems))
        account = env[ENV_ACCOUNT_ID].strip()
        if not re.fullmatch(r"\d{12}", account):
            problems.append(f"{ENV_ACCOUNT_ID} must be a 12-digit account id")
        topic = env[ENV_TOPIC_ARN].strip()
        match = _TOPIC_ARN.match(topic)
        if match is None:
            problems.append(f"{ENV_TOPIC_ARN} must be an SNS topic ARN")
        elif match.group(1) != account:
            problems.append(f"{ENV_TOPIC_ARN} is in another account than {ENV_ACCOUNT_ID}")
        try:
            pause_at = float(env[ENV_PAUSE_AT_PERCENT])
        except ValueError:
            pause_at = -1.0
        if not 1 <= pause_at <= 200:
            problems.append(f"{ENV_PAUSE_AT_PERCENT} must be a number from 1 to 200")
        groups = tuple(g.strip() for g in env[ENV_NODE_GROUPS].split(",") if g.strip())
        if not groups:
            problems.append(f"{ENV_NODE_GROUPS} must name at least one node group (comma-separated)")
        if problems:
            raise SettingsError("; ".join(problems))
        return cls(
            stack=env[ENV_STACK].strip(),
            budget_name=env[ENV_BUDGET_NAME].strip(),
            account_id=account,
            region=env[ENV_REGION].strip(),
            cluster_name=env[ENV_CLUSTER_NAME].strip(),
            node_groups=groups,
            parameter_name=env[ENV_PARAMETER_NAME].strip(),
            topic_arn=topic,
            pause_at_percent=pause_at,
        )
