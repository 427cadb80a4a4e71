"""Audit: one CloudTrail trail into the logs bucket, encrypted with the stack key.

Access logging of the data buckets is done with CloudTrail S3 data events rather than S3
server access logs: server access logs cannot be delivered to a bucket with S3 Object Lock
(the logs bucket has it in prod and lab) and are best-effort; data events name the IAM
principal, are delivered with the trail's SSE-KMS and log-file validation, and cost per
event (priced in the cost model). The logs bucket itself is excluded to avoid logging the
trail's own writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi_aws.s3 import Bucket

from components.aws.provider import AwsContext
from components.conventions import type_token
from components.tagging import Naming


def trail_name(naming: Naming) -> str:
    """The trail's physical name (the key and bucket policies name it before it exists)."""
    return naming.name("audit")


@dataclass(frozen=True)
class AuditArgs:
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """Provider, region and account of the stack."""
    logs_bucket: Bucket
    """Destination (its policy admits this trail)."""
    data_bucket_arns: list[pulumi.Output[str]]
    """Buckets whose object-level access is recorded (S3 data events)."""
    key_arn: pulumi.Output[str]
    """Stack key (its policy admits this trail)."""
    after: list[pulumi.Resource]
    """The bucket policy and key: CloudTrail checks them when the trail is created."""


class Audit(pulumi.ComponentResource):
    """The stack's CloudTrail trail."""

    def __init__(self, name: str, args: AuditArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "Audit"), name, {}, opts)
        ctx, naming = args.aws, args.naming
        selectors = [
            aws.cloudtrail.TrailAdvancedEventSelectorArgs(
                name="management events",
                field_selectors=[
                    aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(
                        field="eventCategory", equals=["Management"]
                    )
                ],
            )
        ]
        if args.data_bucket_arns:
            selectors.append(
                aws.cloudtrail.TrailAdvancedEventSelectorArgs(
                    name="data bucket object access",
                    field_selectors=[
                        aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(
                            field="eventCategory", equals=["Data"]
                        ),
                        aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(
                            field="resources.type", equals=["AWS::S3::Object"]
                        ),
                        aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs(
                            field="resources.ARN",
                            starts_withs=[arn.apply(lambda a: f"{a}/") for arn in args.data_bucket_arns],
                        ),
                    ],
                )
            )
        self.trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=trail_name(naming),
            s3_bucket_name=args.logs_bucket.bucket,
            kms_key_id=args.key_arn,
            enable_log_file_validation=True,
            include_global_service_events=True,
            # Every region's activity is recorded (use outside the allowed regions must be visible);
            # the files stay in this region's logs bucket.
            is_multi_region_trail=True,
            advanced_event_selectors=selectors,
            tags=naming.tags(component="audit"),
            opts=ctx.opts(self, depends_on=args.after),
        )
        self.register_outputs({"trailArn": self.trail.arn})
