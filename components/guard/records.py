"""How the guard records what it did: a structured log line, node group tags, an owners' notice.

Nothing here logs a message body, credentials or environment: only names, numbers and the
guard's own reason text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from components.conventions import LABEL_PREFIX
from components.guard.messages import OWN_ATTRIBUTE, OWN_ATTRIBUTE_VALUE

LOGGER = logging.getLogger("ai_factory.budget_guard")

TAG_STATE = f"{LABEL_PREFIX}/guard-state"
TAG_AT = f"{LABEL_PREFIX}/guard-at"
TAG_REASON = f"{LABEL_PREFIX}/guard-reason"
"""Tags the guard puts on a node group it paused or restored (the Pulumi program should
ignore_changes on these three keys so `pulumi up` does not erase the record)."""

_TAG_UNSAFE = re.compile(r"[^\w .:/=+\-@]")
"""Characters AWS tag values allow: letters, digits, spaces and _ . : / = + - @."""


def log(level: int, event: str, **fields: Any) -> dict[str, Any]:
    """One JSON line per event (CloudWatch Logs Insights can filter on every field)."""
    record = {"logger": "budget-guard", "event": event, **fields}
    LOGGER.log(level, json.dumps(record, sort_keys=True, default=str))
    return record


def tag_value(text: str) -> str:
    return _TAG_UNSAFE.sub(" ", text)[:256]


def action_tags(state: str, at: str, reason: str) -> dict[str, str]:
    return {TAG_STATE: state, TAG_AT: tag_value(at), TAG_REASON: tag_value(reason)}


def tag_node_group(eks: Any, arn: str, tags: Mapping[str, str]) -> bool:
    """Best effort: the SSM record is the source of truth, a failed tag must not undo a pause."""
    try:
        eks.tag_resource(resourceArn=arn, tags=dict(tags))
    except Exception as exc:  # any AWS error: logged, the action itself stands
        log(logging.WARNING, "tag-failed", resource=arn, error=type(exc).__name__)
        return False
    return True


def notify_owners(sns: Any, topic_arn: str, stack: str, action: str, body: Mapping[str, Any]) -> bool:
    """Publish the action to the owners' topic, marked so the guard skips its own notice."""
    subject = f"[{stack}] AI factory budget guard: {action}"[:100]
    try:
        sns.publish(
            TopicArn=topic_arn,
            Subject=subject,
            Message=json.dumps({"stack": stack, "action": action, **body}, sort_keys=True, default=str),
            MessageAttributes={OWN_ATTRIBUTE: {"DataType": "String", "StringValue": OWN_ATTRIBUTE_VALUE}},
        )
    except Exception as exc:  # the action is done and logged; a lost notice must not raise a retry storm
        log(logging.WARNING, "notify-failed", topic=topic_arn, error=type(exc).__name__)
        return False
    return True
