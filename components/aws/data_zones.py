"""Data zones: the datasets storage as three buckets with separate duties, and the raw inbox's queue.

- raw: the ingestion inbox. Written by the ingestion role only; expires after `rawRetentionDays`.
- curated: what training and serving read. Written by the curation role; current objects are kept,
  old versions expire per data class. It is the `<storage>-datasets` bucket, so existing stacks
  keep their bucket, and the one `cloud.eks.workloads` entries with `datasets: read` reach.
- quarantine: inputs that failed curation, kept `quarantineRetentionDays` for investigation.

Each zone bucket has the controls of every bucket (storage.harden_bucket) and a policy that
denies, for every principal:
- deleting objects, versions or their tags unless the caller is the zone admin role;
- creating an object without a `data-class` object tag, or with (or re-tagging to) a class the
  residency does not allow in the cloud or that is above the datasets bucket's own class.

One consequence, by S3's design: S3 authorizes UploadPart as s3:PutObject and UploadPart carries no
tags, so multipart uploads into the zones are denied. Objects enter a zone with a single PutObject
(or CopyObject with TaggingDirective=REPLACE), i.e. at most 5 GiB each: shard larger files (and set
the SDK's multipart threshold to 5 GiB). This is deliberate: an object without its class cannot
exist in a zone.

Roles (one IAM role per duty, `<env>-data-<duty>`), none with `*` actions or resources:
ingestion writes raw; curation reads raw and quarantine, writes curated and quarantine and consumes
the raw queue; training and serving read curated; admin reads everything and is the only one that
deletes. A role is assumable by its configured IAM principals (trust: their account, narrowed to
their exact ARNs by aws:PrincipalArn) and/or by an EKS service account through Pod Identity.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.aws import policy_docs as pd
from components.aws.identity import iam_role
from components.aws.provider import AwsContext
from components.aws.storage import INCOMPLETE_UPLOAD_DAYS, KMS_DELETION_WINDOW_DAYS, key_policy, retention_days
from components.config.models import (
    BucketConfig,
    BucketPurpose,
    DataZone,
    DataZonesConfig,
    FactoryConfig,
    Place,
    StorageConfig,
    ZoneRole,
)
from components.conventions import type_token
from components.tagging import Naming

OBJECT_CLASS_TAG = "data-class"
"""Object tag every object in a zone carries: its data class (a key of residency.dataClasses)."""
ZONE_TAG = "zone"
"""Bucket tag naming the zone (raw | curated | quarantine)."""
ZONE_SUFFIX: dict[DataZone, str] = {
    DataZone.RAW: "datasets-raw",
    # The pre-zone datasets bucket's name: existing stacks keep (do not replace) their bucket.
    DataZone.CURATED: "datasets",
    DataZone.QUARANTINE: "datasets-quarantine",
}
"""Logical-name suffix of each zone's bucket under the Storage component."""

Duty = Literal["ingestion", "curation", "training", "serving", "admin"]
DUTIES: tuple[Duty, ...] = ("ingestion", "curation", "training", "serving", "admin")
Access = Literal["read", "write", "delete"]

ACCESS: dict[Duty, dict[DataZone, frozenset[Access]]] = {
    "ingestion": {DataZone.RAW: frozenset({"write"})},
    "curation": {
        DataZone.RAW: frozenset({"read"}),
        DataZone.CURATED: frozenset({"write"}),
        DataZone.QUARANTINE: frozenset({"read", "write"}),
    },
    "training": {DataZone.CURATED: frozenset({"read"})},
    "serving": {DataZone.CURATED: frozenset({"read"})},
    "admin": {z: frozenset({"read", "delete"}) for z in DataZone},
}
"""Who may do what in which zone: the segregation of duties, as data."""

LIST_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket")
READ_ACTIONS = ("s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging")
# PutObject with an x-amz-tagging header also needs s3:PutObjectTagging.
WRITE_ACTIONS = ("s3:PutObject", "s3:PutObjectTagging")
DELETE_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion")
ADMIN_LIST_ACTIONS = ("s3:ListBucketVersions",)
"""Deleting a version needs its id: the admin lists versions too."""

DENIED_DELETES = (
    "s3:DeleteObject",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersion",
    "s3:DeleteObjectVersionTagging",
)
"""Denied to all but the admin role. The tagging deletes are included because removing an object's
tags removes its data class. s3:PutLifecycleConfiguration is not denied: lifecycle is set by the
deployment from reviewed code (a deny would lock out `pulumi up`), and every change to it is a
CloudTrail management event."""
TAGGING_WRITES = ("s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectVersionTagging")
"""Requests that set an object's tag set (PutObjectTagging replaces the whole set)."""

EVENTS_RETENTION_SECONDS = 14 * 24 * 3600
"""14 days, SQS's maximum: a stalled ingestion pipeline loses no event."""
EVENTS_VISIBILITY_SECONDS = 300
EVENTS_MAX_RECEIVES = 5
"""Deliveries before an event moves to the dead-letter queue."""
QUEUE_CONSUMER_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)


def role_name(naming: Naming, duty: Duty) -> str:
    """Physical role name: bucket policies name the admin role before it exists."""
    return naming.name("data", duty)


def role_arn(partition: str, account_id: str, naming: Naming, duty: Duty) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name(naming, duty)}"


def zone_classes(cfg: FactoryConfig) -> tuple[str, ...]:
    """Data classes an object in a zone may carry: the residency allows them in the cloud and they are
    not more sensitive than the datasets bucket's own class (residency.dataClasses is ordered from
    least to most sensitive), so the bucket's classification stays true."""
    assert cfg.storage is not None
    datasets = cfg.storage.buckets[BucketPurpose.DATASETS]
    names = list(cfg.residency.data_classes)
    ceiling = names.index(datasets.data_class) if datasets.data_class in names else len(names) - 1
    return tuple(name for name in names[: ceiling + 1] if Place.CLOUD in cfg.residency.data_classes[name].storage)


# ------------------------------------------------------------------ bucket policies
def zone_bucket_statements(bucket_arn: str, admin_arn: str, classes: Sequence[str]) -> list[pd.Statement]:
    """The zone's own statements, appended to the TLS-only policy of every bucket.

    Internal. Exported for testing.
    """
    objects = f"{bucket_arn}/*"
    tag_key = f"s3:RequestObjectTag/{OBJECT_CLASS_TAG}"
    return [
        {
            "Sid": "DenyDeleteExceptZoneAdmin",
            "Effect": "Deny",
            "Principal": "*",
            "Action": list(DENIED_DELETES),
            "Resource": objects,
            # aws:PrincipalArn of an assumed-role session is the role's ARN. A caller without it
            # (an AWS service) is denied too: the negated operator is true for a missing key.
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": admin_arn}},
        },
        {
            "Sid": "DenyUnclassifiedObjects",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:PutObject"],
            "Resource": objects,
            # Null true: the request carries no data-class tag (x-amz-tagging) at all.
            "Condition": {"Null": {tag_key: "true"}},
        },
        {
            "Sid": "DenyClassesNotAllowedHere",
            "Effect": "Deny",
            "Principal": "*",
            "Action": list(TAGGING_WRITES),
            "Resource": objects,
            # Multiple values of a negated operator: denied unless the tag equals one of them; a
            # tag set without the class (PutObjectTagging) is denied as well (missing key: true).
            "Condition": {"StringNotEquals": {tag_key: list(classes)}},
        },
    ]


# ------------------------------------------------------------------ lifecycle
def _rule(
    rule_id: str,
    *,
    tag_class: str | None,
    current_days: int | None,
    noncurrent_days: int,
    abort_uploads: bool,
) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    filter_ = (
        aws.s3.BucketLifecycleConfigurationRuleFilterArgs(
            tag=aws.s3.BucketLifecycleConfigurationRuleFilterTagArgs(key=OBJECT_CLASS_TAG, value=tag_class)
        )
        if tag_class
        else aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="")
    )
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=rule_id,
        status="Enabled",
        filter=filter_,
        expiration=(aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=current_days) if current_days else None),
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=noncurrent_days
        ),
        # S3 refuses AbortIncompleteMultipartUpload in a rule filtered by tags.
        abort_incomplete_multipart_upload=(
            aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=INCOMPLETE_UPLOAD_DAYS
            )
            if abort_uploads
            else None
        ),
    )


def zone_lifecycle(
    zone: DataZone,
    zones: DataZonesConfig,
    storage: StorageConfig,
    bucket: BucketConfig,
    classes: Sequence[str],
) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """Retention per zone, shortened per data class where the class's retention is shorter.

    raw and quarantine: current objects (and old versions) expire after the zone's days.
    curated: current objects are kept (removing live training data is a decision, not a timer);
    old versions expire after the bucket's retention. When several rules match an object, S3 applies
    the earliest expiration, so a per-class rule only ever shortens.
    """
    bucket_days = retention_days(storage, bucket)
    zone_days = {
        DataZone.RAW: zones.raw_retention_days,
        DataZone.QUARANTINE: zones.quarantine_retention_days,
        DataZone.CURATED: bucket_days,
    }[zone]
    expires = zone is not DataZone.CURATED
    rules = [
        _rule(
            "retention",
            tag_class=None,
            current_days=zone_days if expires else None,
            noncurrent_days=zone_days,
            abort_uploads=True,
        )
    ]
    for name in classes:
        days = storage.retention_days.get(name)
        if days is not None and days < zone_days:
            rules.append(
                _rule(
                    f"class-{name}",
                    tag_class=name,
                    current_days=days if expires else None,
                    noncurrent_days=days,
                    abort_uploads=False,
                )
            )
    return rules


# ------------------------------------------------------------------ roles
def role_policy(
    duty: Duty,
    zone_arns: Mapping[DataZone, str],
    key_arn: str,
    region: str,
    events: tuple[str, str] | None = None,
) -> pd.Document:
    """The identity policy of one duty: exactly the zones and actions of ACCESS; `events` is the raw
    queue and its key (curation consumes it).

    Internal. Exported for testing.
    """
    access = ACCESS[duty]

    def zones_with(what: Access) -> list[DataZone]:
        return [z for z in DataZone if what in access.get(z, frozenset())]

    statements: list[pd.Statement] = []
    readable, writable, deletable = zones_with("read"), zones_with("write"), zones_with("delete")
    if readable:
        lists = LIST_ACTIONS + (ADMIN_LIST_ACTIONS if deletable else ())
        statements.append(pd.allow("ListZones", lists, [zone_arns[z] for z in readable]))
        statements.append(pd.allow("ReadZoneObjects", READ_ACTIONS, [f"{zone_arns[z]}/*" for z in readable]))
    if writable:
        statements.append(pd.allow("WriteZoneObjects", WRITE_ACTIONS, [f"{zone_arns[z]}/*" for z in writable]))
    if deletable:
        statements.append(pd.allow("DeleteZoneObjects", DELETE_ACTIONS, [f"{zone_arns[z]}/*" for z in deletable]))
    statements.append(pd.key_use_via_s3(key_arn, region, write=bool(writable)))
    if events is not None:
        queue_arn, queue_key_arn = events
        statements.append(pd.allow("ConsumeRawEvents", QUEUE_CONSUMER_ACTIONS, [queue_arn]))
        statements.append(
            pd.allow(
                "DecryptRawEvents",
                ["kms:Decrypt"],
                [queue_key_arn],
                StringEquals={"kms:ViaService": f"sqs.{region}.amazonaws.com"},
            )
        )
    return pd.document(statements)


def role_trust(role: ZoneRole, with_pods: bool) -> pd.Document:
    """Trust of one duty: the configured principals (their accounts, narrowed to their exact ARNs by
    aws:PrincipalArn, so the principals need not exist yet and a re-created one still matches) and/or
    EKS Pod Identity.

    Internal. Exported for testing.
    """
    statements: list[pd.Statement] = []
    if role.principals:
        roots = sorted({f"arn:{a.split(':')[1]}:iam::{a.split(':')[4]}:root" for a in role.principals})
        statements.append(
            {
                "Sid": "NamedPrincipals",
                "Effect": "Allow",
                "Principal": {"AWS": roots if len(roots) > 1 else roots[0]},
                # SetSourceIdentity lets a person's identity travel into CloudTrail with the session.
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                "Condition": {"ArnEquals": {"aws:PrincipalArn": sorted(role.principals)}},
            }
        )
    if role.service_account is not None and with_pods:
        statements.append({"Sid": "EksPodIdentity", **pd.pod_identity_statement()})
    return pd.document(statements)


# ------------------------------------------------------------------ raw events queue
def events_key_statement(account_id: str, raw_bucket_arn: str) -> pd.Statement:
    """S3 may use the events key to send the raw bucket's notifications to the encrypted queue.

    The S3 and SQS guides give this statement (kms:GenerateDataKey, kms:Decrypt for s3.amazonaws.com)
    without a condition; the confused-deputy keys are added as ...IfExists so that, when S3 passes
    them, they must name this account and the raw bucket, and delivery never depends on them.
    """
    return {
        "Sid": "S3SendsRawBucketEvents",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*",  # key policy: "*" is this key
        "Condition": {
            "StringEqualsIfExists": {"aws:SourceAccount": account_id},
            "ArnLikeIfExists": {"aws:SourceArn": raw_bucket_arn},
        },
    }


def queue_policy(queue_arn: str, raw_bucket_arn: str, account_id: str) -> pd.Document:
    """Only S3, for the raw bucket of this account, sends to the queue (S3 guide, destination policy).

    Internal. Exported for testing.
    """
    return pd.document(
        [
            {
                "Sid": "RawBucketEvents",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {
                    "ArnLike": {"aws:SourceArn": raw_bucket_arn},
                    "StringEquals": {"aws:SourceAccount": account_id},
                },
            }
        ]
    )


@dataclass(frozen=True)
class DataZonesArgs:
    config: DataZonesConfig
    """Retention of raw and quarantine, and who holds each duty."""
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """Provider, region and account of the stack."""
    zones: dict[DataZone, aws.s3.Bucket]
    """The zone buckets (Storage.zones)."""
    key_arn: pulumi.Input[str]
    """Stack key (SSE-KMS of the zone buckets)."""
    stateful_protection: bool
    """Protect and retain the events key (tier prod)."""
    data_class: str
    """Classification tag of the events (they name objects of the datasets bucket's class at most)."""
    cluster_name: pulumi.Input[str] | None = None
    """EKS cluster of the Pod Identity associations (None without EKS: principals only)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The Pod Identity agent add-on: associations are useless before it runs."""


class DataZones(pulumi.ComponentResource):
    """Zone roles, their Pod Identity associations, and the raw bucket's encrypted event queue."""

    roles: dict[Duty, aws.iam.Role]
    events_key: aws.kms.Key
    events_queue: aws.sqs.Queue
    dead_letters: aws.sqs.Queue

    def __init__(self, name: str, args: DataZonesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "DataZones"), name, {}, opts)
        self._args, self._name = args, name
        self._raw_events()
        self.roles = {duty: self._role(duty) for duty in DUTIES}
        self.register_outputs(
            {
                "roleArns": {duty: r.arn for duty, r in self.roles.items()},
                "eventsQueueUrl": self.events_queue.url,
            }
        )

    def _raw_events(self) -> None:
        args, name = self._args, self._name
        ctx, naming = args.aws, args.naming
        keep = {"protect": args.stateful_protection, "retain_on_delete": args.stateful_protection}
        tags = args.naming.tags(args.data_class, component="data-zones")
        raw = args.zones[DataZone.RAW]

        # A key of its own: S3 must be allowed to use the queue's key, and it has no business with the
        # stack key that protects the data.
        self.events_key = aws.kms.Key(
            f"{name}-events-key",
            description=f"{naming.environment}: raw dataset events queue",
            enable_key_rotation=True,
            deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
            policy=pulumi.Output.all(ctx.account_id, ctx.partition, raw.arn).apply(
                lambda a: json.dumps(key_policy(a[0], a[1], [events_key_statement(a[0], a[2])]))
            ),
            tags=tags,
            opts=ctx.opts(self, **keep),
        )
        aws.kms.Alias(
            f"{name}-events-key-alias",
            name=f"alias/{naming.name('dataset-events')}",
            target_key_id=self.events_key.key_id,
            opts=ctx.opts(self),
        )
        self.dead_letters = aws.sqs.Queue(
            f"{name}-raw-events-dlq",
            name=naming.name("datasets-raw-events-dlq"),
            message_retention_seconds=EVENTS_RETENTION_SECONDS,
            kms_master_key_id=self.events_key.arn,
            kms_data_key_reuse_period_seconds=300,
            tags=tags,
            opts=ctx.opts(self),
        )
        self.events_queue = aws.sqs.Queue(
            f"{name}-raw-events",
            name=naming.name("datasets-raw-events"),
            message_retention_seconds=EVENTS_RETENTION_SECONDS,
            visibility_timeout_seconds=EVENTS_VISIBILITY_SECONDS,
            kms_master_key_id=self.events_key.arn,
            kms_data_key_reuse_period_seconds=300,
            redrive_policy=self.dead_letters.arn.apply(
                lambda dlq: json.dumps({"deadLetterTargetArn": dlq, "maxReceiveCount": EVENTS_MAX_RECEIVES})
            ),
            tags=tags,
            opts=ctx.opts(self),
        )
        policy = aws.sqs.QueuePolicy(
            f"{name}-raw-events-policy",
            queue_url=self.events_queue.url,
            policy=pulumi.Output.all(self.events_queue.arn, raw.arn, ctx.account_id).apply(
                lambda a: json.dumps(queue_policy(*a))
            ),
            opts=ctx.opts(self.events_queue),
        )
        # S3 sends a test event when the configuration is saved: the queue policy and key must admit it.
        aws.s3.BucketNotification(
            f"{name}-raw-events-notification",
            bucket=raw.id,
            queues=[aws.s3.BucketNotificationQueueArgs(queue_arn=self.events_queue.arn, events=["s3:ObjectCreated:*"])],
            opts=ctx.opts(self, depends_on=[policy, self.events_key]),
        )

    def _role(self, duty: Duty) -> aws.iam.Role:
        args, ctx = self._args, self._args.aws
        cfg: ZoneRole = getattr(args.config, duty)
        with_pods = args.cluster_name is not None
        events = (self.events_queue.arn, self.events_key.arn) if duty == "curation" else None

        def render(a: list[str]) -> str:
            key_arn, *rest = a
            zone_arns = dict(zip(DataZone, rest[: len(DataZone)], strict=True))
            ev = (rest[len(DataZone)], rest[len(DataZone) + 1]) if events else None
            return json.dumps(role_policy(duty, zone_arns, key_arn, ctx.region, ev))

        zone_arns = [args.zones[z].arn for z in DataZone]
        inline = pulumi.Output.all(args.key_arn, *zone_arns, *(events or ())).apply(render)
        tags = args.naming.tags(component="data-zones", duty=duty)
        role = iam_role(
            f"{self._name}-{duty}",
            ctx=ctx,
            parent=self,
            tags=tags,
            trust=json.dumps(role_trust(cfg, with_pods)),
            inline=inline,
            role_name=role_name(args.naming, duty),
        )
        if cfg.service_account is not None and args.cluster_name is not None:
            aws.eks.PodIdentityAssociation(
                f"{self._name}-{duty}-association",
                cluster_name=args.cluster_name,
                namespace=cfg.service_account.namespace,
                service_account=cfg.service_account.name,
                role_arn=role.arn,
                tags=tags,
                opts=ctx.opts(self, depends_on=list(args.depends_on)),
            )
        return role
