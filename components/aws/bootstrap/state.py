"""The self-managed Pulumi backend of one AWS account.

- State bucket: versioned (every state file revision can be restored), SSE-KMS with its own
  key and S3 bucket keys, all four public-access blocks, ACLs disabled, TLS-only policy,
  old versions kept `noncurrentDays` days.
- One KMS key per environment for `pulumi stack init --secrets-provider awskms://alias/…`,
  so a stack's secrets can only be read by principals allowed on that environment's key.

Everything here is protected and retained on delete whatever the tier: losing it loses
every stack's state or secrets. Its own state lives in a local backend (README: bootstrap).

Config (namespace `bootstrap`): region, bucketName, environments (list), owner, costCenter,
accountId (optional, refuses other accounts), noncurrentDays (default 365).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import conventions as c
from components.aws.storage import KMS_DELETION_WINDOW_DAYS, harden_bucket, key_policy, tls_only_policy
from components.conventions import type_token

CONFIG_NAMESPACE = "bootstrap"
SECRETS_ALIAS = "alias/pulumi-secrets-{env}"
"""Alias of an environment's secrets key: `awskms://alias/pulumi-secrets-<env>?region=<region>`."""


def secrets_provider_url(env: str, region: str) -> str:
    """The `--secrets-provider` value of an environment's stacks."""
    return f"awskms://{SECRETS_ALIAS.format(env=env)}?region={region}"


def backend_url(bucket: str, region: str) -> str:
    """The `pulumi login` URL of the state bucket."""
    return f"s3://{bucket}?region={region}&awssdk=v2"


@dataclass(frozen=True)
class StateBackendArgs:
    bucket_name: str
    """Globally unique name of the state bucket."""
    environments: list[str]
    """Environments that get a secrets key (stack names: dev, lab, prod-eu …)."""
    owner: str
    """Owning team (tag `owner`)."""
    cost_center: str
    """Cost center (tag `cost-center`)."""
    noncurrent_days: int = 365
    """Days old state versions are kept."""


class StateBackend(pulumi.ComponentResource):
    """State bucket, its key, and the secrets keys."""

    bucket: aws.s3.Bucket
    secrets_keys: dict[str, aws.kms.Key]

    def __init__(
        self,
        name: str,
        args: StateBackendArgs,
        provider: aws.Provider,
        account_id: pulumi.Output[str],
        partition: pulumi.Output[str],
    ) -> None:
        super().__init__(type_token("bootstrap", "StateBackend"), name, {}, None)
        keep = pulumi.ResourceOptions(parent=self, provider=provider, protect=True, retain_on_delete=True)
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        def tags(env: str, data: str) -> dict[str, str]:
            return {
                c.TAG_ENVIRONMENT: env,
                c.TAG_OWNER: args.owner,
                c.TAG_COST_CENTER: args.cost_center,
                c.TAG_DATA_CLASSIFICATION: data,
                c.TAG_MANAGED_BY: c.MANAGED_BY_VALUE,
                c.TAG_COMPONENT: "bootstrap",
            }

        policy = pulumi.Output.all(account_id, partition).apply(lambda a: json.dumps(key_policy(a[0], a[1])))
        state_key = aws.kms.Key(
            f"{name}-state-key",
            description="Pulumi state bucket",
            enable_key_rotation=True,
            deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
            policy=policy,
            # State files hold resource outputs: treat them as confidential.
            tags=tags("shared", "confidential"),
            opts=keep,
        )
        self.bucket = aws.s3.Bucket(
            f"{name}-state",
            bucket=args.bucket_name,
            force_destroy=False,
            tags=tags("shared", "confidential"),
            opts=keep,
        )
        b = self.bucket
        harden_bucket(
            f"{name}-state",
            b,
            key_arn=state_key.arn,
            policy=b.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))),
            lifecycle=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="old-state-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=child,
        )
        self.secrets_keys = {}
        for env in args.environments:
            key = aws.kms.Key(
                f"{name}-secrets-{env}",
                description=f"Pulumi secrets of the {env} stacks (awskms:// secrets provider)",
                enable_key_rotation=True,
                deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
                policy=policy,
                tags=tags(env, "confidential"),
                opts=keep,
            )
            aws.kms.Alias(
                f"{name}-secrets-{env}-alias",
                name=SECRETS_ALIAS.format(env=env),
                target_key_id=key.key_id,
                opts=child,
            )
            self.secrets_keys[env] = key
        self.register_outputs({"bucket": b.bucket})


def main() -> StateBackend:
    conf = pulumi.Config(CONFIG_NAMESPACE)
    region = conf.require("region")
    account = conf.get("accountId")
    provider = aws.Provider("bootstrap-aws", region=region, allowed_account_ids=[account] if account else None)
    invoke = pulumi.InvokeOutputOptions(provider=provider)
    identity = aws.get_caller_identity_output(opts=invoke)
    partition = aws.get_partition_output(opts=invoke)
    args = StateBackendArgs(
        bucket_name=conf.require("bucketName"),
        environments=list(conf.require_object("environments")),
        owner=conf.require("owner"),
        cost_center=conf.require("costCenter"),
        noncurrent_days=conf.get_int("noncurrentDays") or 365,
    )
    backend = StateBackend("pulumi", args, provider, identity.account_id, partition.partition)
    pulumi.export("loginUrl", backend_url(args.bucket_name, region))
    pulumi.export("secretsProviders", {env: secrets_provider_url(env, region) for env in args.environments})
    return backend
