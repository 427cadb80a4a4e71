"""The region's S3 address ranges, from AWS's managed prefix list, for NetworkPolicies.

Pods that read buckets (weights on cloud nodes, vector snapshots to the stack bucket) may connect to
these ranges on 443 instead of the whole internet. The list is read at every preview/up
(`com.amazonaws.<region>.s3`, the list gateway endpoints route by); when AWS adds a range, the next
`pulumi up` shows and applies it, and until then a fetch that resolves there fails loudly.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.provider import AwsContext


def s3_prefix_list_name(region: str) -> str:
    """AWS's name of the region's S3 prefix list (the China partition prefixes `cn.`)."""
    return f"{'cn.' if region.startswith('cn-') else ''}com.amazonaws.{region}.s3"


def s3_cidrs(ctx: AwsContext) -> pulumi.Output[list[str]]:
    def cidrs(result: aws.ec2.GetManagedPrefixListResult) -> list[str]:
        found = sorted({e.cidr for e in result.entries})
        if not found:
            # An empty `to` in a NetworkPolicy rule would mean "anywhere": never pass one on.
            raise ValueError(f"the AWS prefix list {s3_prefix_list_name(ctx.region)} has no entries")
        return found

    return aws.ec2.get_managed_prefix_list_output(
        name=s3_prefix_list_name(ctx.region), opts=pulumi.InvokeOutputOptions(provider=ctx.provider)
    ).apply(cidrs)
