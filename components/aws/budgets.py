"""Money: the stack's AWS Budget with actual and forecast alerts, and Cost Anomaly Detection.

Alerts go to an SNS topic encrypted with the stack's notifications key (the budget and
anomaly services, and EventBridge for the spot interruption queue, must be allowed to use
it, and they have no business with the data key) and
to the environment's contact e-mails. The runtime guard (issue 8) subscribes to the topic
and reads the budget's state from the Budgets API rather than parsing the message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import conventions as c
from components.aws import policy_docs as pd
from components.aws.provider import AwsContext
from components.aws.storage import KMS_DELETION_WINDOW_DAYS, key_policy
from components.config.models import BudgetConfig
from components.conventions import type_token
from components.tagging import Naming

PUBLISHERS = ("budgets.amazonaws.com", "costalerts.amazonaws.com")
"""AWS Budgets and Cost Anomaly Detection publish to the topic (Cost Management user guide)."""
MAX_EMAILS = 10
"""AWS Budgets: at most ten e-mail subscribers per notification."""


def notifications(cfg: BudgetConfig) -> list[tuple[str, int]]:
    """(ACTUAL|FORECASTED, percent) per alert.

    Internal. Exported for testing.
    """
    out = [("ACTUAL", p) for p in cfg.alert_thresholds_percent]
    if cfg.forecast_threshold_percent:
        out.append(("FORECASTED", cfg.forecast_threshold_percent))
    return out


def topic_policy(topic_arn: str, account_id: str, partition: str) -> dict[str, Any]:
    """Only this account's budgets and anomaly monitors may publish (SourceAccount/SourceArn).

    Internal. Exported for testing.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BudgetsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "budgets.amazonaws.com"},
                "Action": "SNS:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:budgets::{account_id}:*"},
                },
            },
            {
                "Sid": "AnomalyDetectionPublish",
                "Effect": "Allow",
                "Principal": {"Service": "costalerts.amazonaws.com"},
                "Action": "SNS:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
        ],
    }


@dataclass(frozen=True)
class BudgetsArgs:
    config: BudgetConfig
    """Cloud limit, alert thresholds and anomaly threshold."""
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """Provider, region and account of the stack."""
    emails: list[str]
    """environment.contactEmails: e-mail subscribers of every alert."""
    stateful_protection: bool
    """Protect and retain the notifications key (tier prod)."""
    extra_publishers: tuple[str, ...] = ()
    """More services that write to queues/topics under the notifications key (events.amazonaws.com)."""


class Budgets(pulumi.ComponentResource):
    """KMS key + SNS topic for alerts, the AWS Budget, a cost-anomaly monitor and subscriptions."""

    topic: aws.sns.Topic
    key: aws.kms.Key
    budget: aws.budgets.Budget | None

    def __init__(self, name: str, args: BudgetsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "Budgets"), name, {}, opts)
        ctx, naming, cfg = args.aws, args.naming, args.config
        tags = naming.tags(component="budgets")
        keep = {"protect": args.stateful_protection, "retain_on_delete": args.stateful_protection}
        env_filter = f"user:{c.TAG_ENVIRONMENT}${naming.environment}"

        publishers = sorted({*PUBLISHERS, *args.extra_publishers})
        key = self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{naming.environment}: notifications (cost alerts topic, interruption queue)",
            enable_key_rotation=True,
            deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
            policy=pulumi.Output.all(ctx.account_id, ctx.partition).apply(
                lambda a: json.dumps(key_policy(a[0], a[1], [pd.publish_key_statement(publishers)]))
            ),
            tags=tags,
            opts=ctx.opts(self, **keep),
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{naming.name('notifications')}",
            target_key_id=key.key_id,
            opts=ctx.opts(self),
        )
        self.topic = aws.sns.Topic(
            f"{name}-alerts",
            name=naming.name("cost-alerts"),
            kms_master_key_id=key.arn,
            tags=tags,
            opts=ctx.opts(self),
        )
        aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, ctx.account_id, ctx.partition).apply(
                lambda a: json.dumps(topic_policy(*a))
            ),
            opts=ctx.opts(self.topic),
        )
        # Budgets and anomaly monitors filter on the environment tag: several stacks may share an account.
        # The tag's activation is account-wide; every stack sets the same value, so they never conflict.
        aws.costexplorer.CostAllocationTag(
            f"{name}-environment-tag", tag_key=c.TAG_ENVIRONMENT, status="Active", opts=ctx.opts(self)
        )
        emails = args.emails[:MAX_EMAILS]
        self.budget = None
        if cfg.cloud_monthly_usd > 0:  # AWS rejects a zero limit; 0 means "no cloud spend planned"
            self.budget = aws.budgets.Budget(
                f"{name}-cloud",
                # One name for the component, the budget guard and `factory audit` (conventions.py).
                name=c.budget_name(naming.environment),
                budget_type="COST",
                time_unit="MONTHLY",
                limit_amount=f"{cfg.cloud_monthly_usd:.2f}",
                limit_unit="USD",
                cost_filters=[aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[env_filter])],
                notifications=[
                    aws.budgets.BudgetNotificationArgs(
                        comparison_operator="GREATER_THAN",
                        notification_type=kind,
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                        subscriber_email_addresses=emails or None,
                        subscriber_sns_topic_arns=[self.topic.arn],
                    )
                    for kind, percent in notifications(cfg)
                ],
                tags=tags,
                opts=ctx.opts(self),
            )
        monitor = aws.costexplorer.AnomalyMonitor(
            f"{name}-anomalies",
            name=naming.name("cost-anomalies"),
            monitor_type="CUSTOM",
            monitor_specification=json.dumps(
                {"Tags": {"Key": c.TAG_ENVIRONMENT, "Values": [naming.environment], "MatchOptions": ["EQUALS"]}}
            ),
            tags=tags,
            opts=ctx.opts(self),
        )
        threshold = aws.costexplorer.AnomalySubscriptionThresholdExpressionArgs(
            dimension=aws.costexplorer.AnomalySubscriptionThresholdExpressionDimensionArgs(
                key="ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                match_options=["GREATER_THAN_OR_EQUAL"],
                values=[f"{cfg.anomaly_threshold_usd:g}"],
            )
        )
        # SNS subscribers need IMMEDIATE, e-mail subscribers DAILY or WEEKLY: two subscriptions.
        aws.costexplorer.AnomalySubscription(
            f"{name}-anomalies-topic",
            name=naming.name("cost-anomalies-topic"),
            frequency="IMMEDIATE",
            monitor_arn_lists=[monitor.arn],
            subscribers=[aws.costexplorer.AnomalySubscriptionSubscriberArgs(type="SNS", address=self.topic.arn)],
            threshold_expression=threshold,
            tags=tags,
            opts=ctx.opts(self),
        )
        if emails:
            aws.costexplorer.AnomalySubscription(
                f"{name}-anomalies-email",
                name=naming.name("cost-anomalies-email"),
                frequency="DAILY",
                monitor_arn_lists=[monitor.arn],
                subscribers=[
                    aws.costexplorer.AnomalySubscriptionSubscriberArgs(type="EMAIL", address=e) for e in emails
                ],
                threshold_expression=threshold,
                tags=tags,
                opts=ctx.opts(self),
            )
        self.register_outputs({"alertsTopicArn": self.topic.arn})
