"""Encryption at rest on single resources (resource rules).

AIF-ENC-003 EBS and launch-template volumes · AIF-ENC-004 EKS secrets · AIF-ENC-005 SNS ·
AIF-ENC-006 SQS · AIF-ENC-007 KMS rotation · AIF-ENC-008 KMS deletion window.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.rules.base import ResourceView, Rule, get_path, is_unknown
from policies.rules.helpers import everywhere, no_facts

EBS_VOLUME = "aws:ebs/volume:Volume"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
SNS_TOPIC = "aws:sns/topic:Topic"
SQS_QUEUE = "aws:sqs/queue:Queue"
KMS_KEY = "aws:kms/key:Key"


def _true(value: Any) -> bool:
    # Launch templates take `encrypted` as a string ("true"), volumes and instances as a bool.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def check_volumes(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    props = resource.props
    if resource.type == EBS_VOLUME:
        if not _true(props.get("encrypted")) and not is_unknown(props.get("encrypted")):
            yield "EBS volume is not encrypted"
        return
    if resource.type == LAUNCH_TEMPLATE:
        mappings = props.get("blockDeviceMappings") or []
        for i, m in enumerate(mappings if isinstance(mappings, list) else []):
            ebs = get_path(m, "ebs")
            if isinstance(ebs, Mapping) and not _true(ebs.get("encrypted")) and not is_unknown(ebs.get("encrypted")):
                yield f"blockDeviceMappings[{i}] ({get_path(m, 'deviceName')}) is not encrypted"
        return
    root = props.get("rootBlockDevice")
    if not isinstance(root, Mapping) or not _true(root.get("encrypted")):
        yield "root block device is not encrypted"
    for i, dev in enumerate(props.get("ebsBlockDevices") or []):
        if isinstance(dev, Mapping) and not _true(dev.get("encrypted")):
            yield f"ebsBlockDevices[{i}] is not encrypted"


def check_eks_secrets(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    enc = resource.props.get("encryptionConfig")
    if is_unknown(enc):
        return  # set but computed: the cluster's own rule on the key covers the key itself
    if not isinstance(enc, Mapping):
        yield "no encryptionConfig: Kubernetes secrets are not envelope-encrypted with a KMS key"
        return
    resources = enc.get("resources")
    if not is_unknown(resources) and "secrets" not in (resources or []):
        yield "encryptionConfig.resources does not include secrets"
    key = get_path(enc, "provider", "keyArn")
    if not key and not is_unknown(key):
        yield "encryptionConfig.provider.keyArn is not set"


def check_topic_queue(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    key = resource.props.get("kmsMasterKeyId")
    kind = "SNS topic" if resource.type == SNS_TOPIC else "SQS queue"
    if is_unknown(key):
        return
    if not key:
        yield f"{kind} has no kmsMasterKeyId (not encrypted with a KMS key)"


def _symmetric(props: Mapping[str, Any]) -> bool:
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    return spec == "SYMMETRIC_DEFAULT" or is_unknown(spec)


def check_rotation(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    # AWS rotates only symmetric encryption keys; asymmetric and HMAC keys cannot enable it.
    enabled = resource.props.get("enableKeyRotation")
    if _symmetric(resource.props) and enabled is not True and not is_unknown(enabled):
        yield "automatic key rotation is not enabled (enableKeyRotation)"


def _window_facts(cfg: Any) -> dict[str, Any]:
    # Production keys get the longest window AWS allows; a mistaken deletion can be cancelled.
    return {"minDeletionWindowDays": 30 if cfg.environment.tier.value == "prod" else 7}


def check_window(resource: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    days = resource.props.get("deletionWindowInDays")
    minimum = config["minDeletionWindowDays"]
    if is_unknown(days):
        yield "deletionWindowInDays is unknown at preview"
    elif days is not None and float(days) < minimum:  # unset: AWS's default window is 30 days
        yield f"deletion window {int(float(days))} days is below {minimum}"


VOLUMES_RULE = Rule(
    id="AIF-ENC-003",
    name="ebs-volumes-encrypted",
    description="EBS volumes, instance block devices and launch-template volumes are encrypted.",
    why="Node volumes hold model caches, container layers and swapped data; unencrypted snapshots leak them.",
    remediation='Set `encrypted` on every EBS volume and on every launch-template block device mapping ("true").',
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="resource",
    check=check_volumes,
    applies_to=lambda t: t in (EBS_VOLUME, LAUNCH_TEMPLATE, INSTANCE),
)

EKS_SECRETS_RULE = Rule(
    id="AIF-ENC-004",
    name="eks-secrets-encryption",
    description="EKS clusters envelope-encrypt Kubernetes secrets with a customer KMS key.",
    why="Secrets (API keys, tokens) otherwise sit in etcd protected only by AWS's storage encryption.",
    remediation='Set the cluster\'s encryptionConfig {provider: {keyArn: <stack key>}, resources: ["secrets"]}.',
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="resource",
    check=check_eks_secrets,
    applies_to=lambda t: t == EKS_CLUSTER,
)

SNS_RULE = Rule(
    id="AIF-ENC-005",
    name="sns-topic-encrypted",
    description="SNS topics are encrypted with a KMS key.",
    why="Budget and guard notifications carry account, spend and resource details.",
    remediation="Set kmsMasterKeyId on the topic to the stack key (its key policy must allow the publishing service).",
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="resource",
    check=check_topic_queue,
    applies_to=lambda t: t == SNS_TOPIC,
)

SQS_RULE = Rule(
    id="AIF-ENC-006",
    name="sqs-queue-encrypted",
    description="SQS queues are encrypted with a KMS key.",
    why="Interruption and work queues carry instance and job metadata.",
    remediation="Set kmsMasterKeyId on the queue to the stack key.",
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="resource",
    check=check_topic_queue,
    applies_to=lambda t: t == SQS_QUEUE,
)

ROTATION_RULE = Rule(
    id="AIF-ENC-007",
    name="kms-key-rotation",
    description="Symmetric customer KMS keys rotate automatically.",
    why="Rotation limits how much data one key version protects; auditors ask for it.",
    remediation="Create keys with enable_key_rotation=True.",
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="resource",
    check=check_rotation,
    applies_to=lambda t: t == KMS_KEY,
)

WINDOW_RULE = Rule(
    id="AIF-ENC-008",
    name="kms-deletion-window",
    description="KMS keys keep a deletion window of at least the tier's minimum (30 days in prod).",
    why="Data encrypted under a deleted key is lost for good; the window is the only undo.",
    remediation="Set deletion_window_in_days=30 (components/aws/storage.py KMS_DELETION_WINDOW_DAYS).",
    enforcement=everywhere(),
    config_schema={"minDeletionWindowDays": {"type": "integer", "minimum": 7, "maximum": 30}},
    stack_facts=_window_facts,
    kind="resource",
    check=check_window,
    applies_to=lambda t: t == KMS_KEY,
)

RULES = (VOLUMES_RULE, EKS_SECRETS_RULE, SNS_RULE, SQS_RULE, ROTATION_RULE, WINDOW_RULE)
