"""The runtime budget guard in AWS (issue 8): its Lambda and everything around it, and the read
of its pause record that sizes the burst node groups.

What the guard does, and why it pauses with min 0 / desired 0 / max 1 + a taint, is in
docs/RUNTIME-GUARDRAILS.md; *what* to deploy (least-privilege policy, environment, package,
filter, schedule) is plain data in components/guard/deploy_spec.py. This module only wires it:

- role: trusts lambda.amazonaws.com; one inline policy, `deploy_spec.iam_policy` (only the named
  node groups, the budget, the pause parameter, the topic and its key, its own log group);
- function: reserved concurrency 1 (runs never overlap), code zipped from
  `deploy_spec.PACKAGE_FILES` (the guard package and conventions.py only; boto3 ships with the
  runtime), `GUARD_*` environment;
- log group `/aws/lambda/<function>`: created here, before the function, encrypted with the stack
  key and with a retention (the role cannot create log groups);
- triggers: the budget topic (subscription filter drops the guard's own notices) and an
  EventBridge schedule (Budgets is silent below its first threshold, so only a schedule
  notices a new budget period), each with its lambda:InvokeFunction permission scoped to the
  source ARN.

The pause record is read with a Pulumi invoke through the stack's own provider (see
`read_pause_state`), so the offline plan answers it from its mocks like every other invoke.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
from pulumi_aws.sns import Topic

from components.aws.identity import iam_role
from components.aws.provider import AwsContext
from components.conventions import type_token
from components.guard import deploy_spec
from components.guard.pause_state import PauseState, parse
from components.tagging import Naming

REPO_ROOT = Path(__file__).resolve().parents[2]
"""Where `deploy_spec.PACKAGE_FILES` are relative to."""
LOG_RETENTION_DAYS = 365
"""The guard's log is the audit trail of every pause, restore and override (who and why)."""
ARCHITECTURES = ["arm64"]
"""Pure Python + boto3: Graviton is cheaper and nothing in the package is architecture-specific."""


def read_pause_state(ctx: AwsContext, environment: str) -> PauseState:
    """The guard's pause record, read through the stack's provider; no parameter yet → not paused.

    Why `ssm:GetParametersByPath` on the record's folder and not `aws.ssm.get_parameter`: the
    parameter exists only after the guard's first pause (the guard owns it; Pulumi does not
    manage it, or `pulumi up` would overwrite the record), and `get_parameter` fails on a
    missing parameter where the by-path read answers an empty list. Why an invoke and not a
    boto3 call in the program: the invoke uses the stack's provider, so the same credentials,
    region and `allowed_account_ids` as every resource, and the offline plan answers it from
    PlanMocks (`factory plan --pause-state FILE`) without touching AWS.

    A synchronous invoke, deliberately: the node group sizes, the pause taint, the autoscaler's
    template tags and the preview warning all depend on the record, and they must be plain
    values when the node groups are registered. A record that does not parse stops the program
    (pause_state.PauseStateError): sizing the pools as if nothing were paused would silently
    undo a pause.
    """
    name = deploy_spec.parameter_name(environment)
    folder = name.rsplit("/", 1)[0]
    found = aws.ssm.get_parameters_by_path(
        path=folder,
        recursive=False,
        with_decryption=False,  # a String parameter: no KMS permission needed to read it
        opts=pulumi.InvokeOptions(provider=ctx.provider),
    )
    values = dict(zip(found.names or [], found.values or [], strict=True))
    return parse(values.get(name))


@dataclass(frozen=True)
class BudgetGuardArgs:
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """Provider, region and account of the stack."""
    cluster_name: str
    """Physical name of the burst cluster."""
    node_group_names: Sequence[str]
    """Physical names of the node groups the guard may pause (deploy_spec.pausable_pools)."""
    budget_name: str
    """The AWS Budget the guard reads (conventions.budget_name)."""
    pause_at_percent: float
    """budget.pauseAtPercent."""
    topic: Topic
    """The budget's alert topic: trigger and the owners' channel."""
    topic_key_arn: pulumi.Input[str]
    """The notifications key that encrypts the topic (the guard publishes its notices)."""
    log_key_arn: pulumi.Input[str]
    """The stack key: encrypts the guard's log group (its policy admits CloudWatch Logs)."""


def code_archive(root: Path = REPO_ROOT) -> pulumi.AssetArchive:
    """The Lambda's zip: PACKAGE_FILES at their repository paths, nothing else.

    Deterministic: the same files give the same archive (Pulumi hashes FileAssets by content),
    so a change to anything but the guard's own modules does not redeploy it.

    Internal. Exported for testing.
    """
    return pulumi.AssetArchive({path: pulumi.FileAsset(str(root / path)) for path in deploy_spec.PACKAGE_FILES})


class BudgetGuard(pulumi.ComponentResource):
    """Lambda, role, log group, SNS subscription and hourly schedule of the budget guard."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    log_group: aws.cloudwatch.LogGroup
    schedule: aws.cloudwatch.EventRule

    def __init__(self, name: str, args: BudgetGuardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "BudgetGuard"), name, {}, opts)
        ctx, naming = args.aws, args.naming
        if not args.node_group_names:
            raise ValueError("the budget guard needs at least one pausable node group")
        tags = naming.tags(component="budget-guard")
        env = naming.environment
        function_name = deploy_spec.function_name(env)
        parameter = deploy_spec.parameter_name(env)
        groups = sorted(args.node_group_names)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=LOG_RETENTION_DAYS,
            kms_key_id=args.log_key_arn,
            tags=tags,
            opts=ctx.opts(self),
        )

        def policy(account: str, partition: str, topic_arn: str, key_arn: str) -> str:
            return json.dumps(
                deploy_spec.iam_policy(
                    account_id=account,
                    region=ctx.region,
                    cluster_name=args.cluster_name,
                    node_group_names=groups,
                    budget_name=args.budget_name,
                    topic_arn=topic_arn,
                    parameter=parameter,
                    function=function_name,
                    topic_key_arn=key_arn,
                    partition=partition,
                )
            )

        self.role = iam_role(
            f"{name}-role", ctx=ctx, parent=self, tags=tags, trust=json.dumps(deploy_spec.lambda_trust_policy())
        )
        # The inline policy is held here (not through iam_role's `inline`) so the function can wait for it.
        self.policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=pulumi.Output.all(ctx.account_id, ctx.partition, args.topic.arn, args.topic_key_arn).apply(
                lambda a: policy(*a)
            ),
            opts=ctx.opts(self.role),
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            description=f"{env}: pauses non-critical burst GPU node groups when the budget runs out",
            role=self.role.arn,
            runtime=deploy_spec.RUNTIME,
            handler=deploy_spec.HANDLER,
            code=code_archive(),
            architectures=ARCHITECTURES,
            timeout=deploy_spec.TIMEOUT_SECONDS,
            memory_size=deploy_spec.MEMORY_MB,
            reserved_concurrent_executions=deploy_spec.RESERVED_CONCURRENCY,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables=pulumi.Output.all(ctx.account_id, args.topic.arn).apply(
                    lambda a: deploy_spec.environment(
                        stack=env,
                        budget_name=args.budget_name,
                        account_id=a[0],
                        region=ctx.region,
                        cluster_name=args.cluster_name,
                        node_group_names=groups,
                        parameter=parameter,
                        topic_arn=a[1],
                        pause_at_percent=args.pause_at_percent,
                    )
                )
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=self.log_group.name),
            tags=tags,
            # The log group first (encrypted, with retention), and the policy before the first run.
            opts=ctx.opts(self, depends_on=[self.log_group, self.policy]),
        )

        # Trigger 1: the budget topic. The filter drops the guard's own notices to the owners.
        aws.lambda_.Permission(
            f"{name}-from-topic",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="sns.amazonaws.com",
            source_arn=args.topic.arn,
            opts=ctx.opts(self.function),
        )
        aws.sns.TopicSubscription(
            f"{name}-subscription",
            topic=args.topic.arn,
            protocol="lambda",
            endpoint=self.function.arn,
            filter_policy=json.dumps(deploy_spec.SUBSCRIPTION_FILTER_POLICY, sort_keys=True),
            filter_policy_scope="MessageAttributes",
            opts=ctx.opts(self.function),
        )

        # Trigger 2: the hourly check (a new budget period brings capacity back).
        self.schedule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            name=naming.name("budget-guard-schedule"),
            description=f"{env}: periodic budget guard check (new budget period, missed notifications)",
            schedule_expression=deploy_spec.SCHEDULE_EXPRESSION,
            tags=tags,
            opts=ctx.opts(self),
        )
        aws.lambda_.Permission(
            f"{name}-from-schedule",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=self.schedule.arn,
            opts=ctx.opts(self.function),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-schedule-target",
            rule=self.schedule.name,
            arn=self.function.arn,
            opts=ctx.opts(self.schedule),
        )
        self.register_outputs(
            {
                "functionArn": self.function.arn,
                "pauseParameter": parameter,
                "nodeGroups": groups,
            }
        )
