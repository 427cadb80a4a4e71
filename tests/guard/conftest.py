"""A moto account with a burst cluster, the budget topic and a budget at a chosen spend."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

from components.conventions import LABEL_SERVING_TIER
from components.guard.handler import Clients
from components.guard.settings import GuardSettings

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-central-1"
CLUSTER = "dev-burst"
BUDGET = "dev-budget"
PARAM = "/ai-factory/dev/budget-guard/pause"
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
NEXT_MONTH = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)

PAUSABLE = {"dev-gpu-g6-spot": (0, 2, 1), "dev-gpu-g6e-spot": (0, 4, 3)}
KEPT = {"dev-gpu-g6-floor": (1, 2, 1), "dev-system": (2, 3, 2)}
"""Node groups the guard must never touch: the on-demand floor and the system pool."""


class RecordingEks:
    """The moto EKS client, but tag_resource is recorded here.

    moto gap: EKS TagResource only tags clusters (a node group ARN answers NotFound), so the
    tag the guard writes on a node group is checked on this recorder instead.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.tags: dict[str, dict[str, str]] = {}
        self.updates: list[dict[str, Any]] = []

    def tag_resource(self, resourceArn: str, tags: dict[str, str]) -> dict[str, Any]:
        self.tags.setdefault(resourceArn, {}).update(tags)
        return {}

    def update_nodegroup_config(self, **kwargs: Any) -> Any:
        self.updates.append(kwargs)
        return self._inner.update_nodegroup_config(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass
class Account:
    """The moto account and the constants the tests compare with (test modules cannot import conftest)."""

    ACCOUNT: ClassVar[str] = ACCOUNT
    NOW: ClassVar[datetime] = NOW
    NEXT_MONTH: ClassVar[datetime] = NEXT_MONTH
    PAUSABLE: ClassVar[dict[str, tuple[int, int, int]]] = PAUSABLE
    KEPT: ClassVar[dict[str, tuple[int, int, int]]] = KEPT

    settings: GuardSettings
    clients: Clients
    eks: RecordingEks
    queue_url: str
    sqs: Any
    arns: dict[str, str] = field(default_factory=dict)

    def set_spend(self, percent: float, forecast_percent: float | None = None, limit: float = 3000.0) -> None:
        """moto gap: no budgets.update_budget, so the budget is deleted and created again."""
        b = self.clients.budgets
        with contextlib.suppress(b.exceptions.NotFoundException):
            b.delete_budget(AccountId=ACCOUNT, BudgetName=BUDGET)
        spend: dict[str, Any] = {"ActualSpend": {"Amount": f"{limit * percent / 100:.2f}", "Unit": "USD"}}
        if forecast_percent is not None:
            spend["ForecastedSpend"] = {"Amount": f"{limit * forecast_percent / 100:.2f}", "Unit": "USD"}
        b.create_budget(
            AccountId=ACCOUNT,
            Budget={
                "BudgetName": BUDGET,
                "BudgetLimit": {"Amount": f"{limit:.2f}", "Unit": "USD"},
                "TimeUnit": "MONTHLY",
                "BudgetType": "COST",
                "CalculatedSpend": spend,
            },
        )

    def sizes(self) -> dict[str, tuple[int, int, int]]:
        out = {}
        for name in (*PAUSABLE, *KEPT, "dev-gpu-critical"):
            try:
                ng = self.eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName=name)["nodegroup"]
            except self.eks.exceptions.ResourceNotFoundException:
                continue
            s = ng["scalingConfig"]
            out[name] = (s["minSize"], s["maxSize"], s["desiredSize"])
        return out

    def taints(self, name: str) -> list[dict[str, str]]:
        return self.eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName=name)["nodegroup"].get("taints") or []

    def parameter(self) -> str | None:
        try:
            return self.clients.ssm.get_parameter(Name=PARAM)["Parameter"]["Value"]
        except self.clients.ssm.exceptions.ParameterNotFound:
            return None

    def notices(self) -> list[dict[str, Any]]:
        msgs = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return msgs

    def sns_event(
        self, body: str = "AWS Budget Notification", topic: str | None = None, mid: str = "m-1"
    ) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "Sns": {"TopicArn": topic or self.settings.topic_arn, "MessageId": mid, "Message": body},
                }
            ]
        }


def _node_group(eks: Any, name: str, size: tuple[int, int, int], labels: dict[str, str] | None = None) -> str:
    lo, hi, want = size
    ng = eks.create_nodegroup(
        clusterName=CLUSTER,
        nodegroupName=name,
        nodeRole=f"arn:aws:iam::{ACCOUNT}:role/dev-nodes",
        subnets=["subnet-1"],
        scalingConfig={"minSize": lo, "maxSize": hi, "desiredSize": want},
        instanceTypes=["g6.xlarge"],
        labels=labels or {},
        tags={"environment": "dev"},
    )
    return str(ng["nodegroup"]["nodegroupArn"])


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        # moto builds its AMI catalogue when EKS creates a node group's launch template; not needed here.
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        eks = boto3.client("eks", region_name=REGION)
        eks.create_cluster(
            name=CLUSTER,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/dev-cluster",
            resourcesVpcConfig={"subnetIds": ["subnet-1"]},
        )
        arns = {name: _node_group(eks, name, size) for name, size in {**PAUSABLE, **KEPT}.items()}
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="dev-budget-alerts")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="owners")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        settings = GuardSettings(
            stack="dev",
            budget_name=BUDGET,
            account_id=ACCOUNT,
            region=REGION,
            cluster_name=CLUSTER,
            node_groups=tuple(PAUSABLE),
            parameter_name=PARAM,
            topic_arn=topic,
            pause_at_percent=90,
        )
        recording = RecordingEks(eks)
        clients = Clients(
            budgets=boto3.client("budgets", region_name="us-east-1"),
            eks=recording,
            ssm=boto3.client("ssm", region_name=REGION),
            sns=sns,
        )
        acc = Account(settings, clients, recording, queue_url, sqs, arns)
        acc.set_spend(50)
        yield acc


@pytest.fixture
def add_critical_group(account: Account) -> Callable[[], str]:
    def _add() -> str:
        name = "dev-gpu-critical"
        account.arns[name] = _node_group(account.eks, name, (0, 2, 1), labels={LABEL_SERVING_TIER: "critical"})
        return name

    return _add
