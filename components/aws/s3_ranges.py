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
    """Sorted, without repeats; an empty list is refused where the policies are built (tenancy._ip_blocks)."""
    return aws.ec2.get_managed_prefix_list_output(
        name=s3_prefix_list_name(ctx.region), opts=pulumi.InvokeOutputOptions(provider=ctx.provider)
    ).apply(lambda result: sorted({e.cidr for e in result.entries}))
