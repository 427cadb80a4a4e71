"""The explicit AWS provider of a stack.

Every AWS resource uses this provider, so its region is explicit in the program (and in
what the residency rule sees) instead of coming from ambient `aws:region` config.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config.models import CloudConfig
from components.tagging import Naming


@dataclass(frozen=True)
class AwsContext:
    provider: aws.Provider
    region: str
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]

    def opts(self, parent: pulumi.Resource, **kwargs: object) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, provider=self.provider, **kwargs)  # type: ignore[arg-type]


def aws_context(cloud: CloudConfig, naming: Naming) -> AwsContext:
    provider = aws.Provider(
        naming.name("aws"),
        region=cloud.region,
        # Refuse to run against another account than the one the stack file names.
        allowed_account_ids=[cloud.account_id] if cloud.account_id else None,
    )
    invoke = pulumi.InvokeOutputOptions(provider=provider)
    identity = aws.get_caller_identity_output(opts=invoke)
    partition = aws.get_partition_output(opts=invoke)
    return AwsContext(
        provider=provider,
        region=cloud.region,
        account_id=identity.account_id,
        partition=partition.partition,
    )
