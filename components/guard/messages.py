"""What woke the guard, and whether it may act on it.

A message is only a trigger: public sources disagree on the body of a Budgets SNS message
(plain text vs. JSON), so no decision is built on it — the guard re-reads the budget from the
Budgets API. The body is inspected for one thing only: a message that names *another*
account or budget, or claims to be JSON and is not, is rejected (logged, no action).

Accepted triggers:
- an SNS record from the configured budget topic (Lambda subscription);
- an EventBridge "Scheduled Event" of the guard's account (the periodic check that restores
  capacity when a new budget period starts — Budgets sends nothing below its first threshold);
- an explicit override `{"source": OVERRIDE_SOURCE, "account", "detail": {"action": "resume",
  "budgetName", "reason", "requestedBy"}}` (direct invoke or EventBridge custom event).

Messages the guard itself publishes to the topic carry the attribute OWN_ATTRIBUTE and are
skipped, so its own notices never loop back into decisions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from components.guard.settings import GuardSettings

OVERRIDE_SOURCE = "ai-factory.budget-guard"
OVERRIDE_ACTIONS = ("resume",)
OWN_ATTRIBUTE = "ai-factory-source"
OWN_ATTRIBUTE_VALUE = "budget-guard"

_ACCOUNT_KEYS = ("account", "accountId", "AccountId", "awsAccountId")
_BUDGET_KEYS = ("budgetName", "BudgetName")
_TEXT_ACCOUNT = re.compile(r"AWS Account(?: ID)?[:\s]+(\d{12})")
_TEXT_BUDGET = re.compile(r"Budget Name:\s*(\S[^\r\n]*)")
_TOPIC_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:(\d{12}):")

TriggerKind = Literal["budget-notification", "schedule", "override"]


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    source_id: str
    """SNS MessageId or EventBridge event id: logged, so a run can be traced to its message."""
    requested_by: str = ""
    """Who asked (overrides only)."""
    reason: str = ""
    """Why (overrides only)."""


@dataclass(frozen=True)
class Rejection:
    source_id: str
    why: str
    expected: bool = False
    """True for the guard's own notices (info, not a warning)."""


Classified = Trigger | Rejection


def classify(event: Any, settings: GuardSettings) -> list[Classified]:
    """Every trigger and rejection in a Lambda event (SNS may batch records)."""
    if isinstance(event, (str, bytes)):
        try:
            event = json.loads(event)
        except ValueError:
            return [Rejection("-", "malformed JSON event")]
    if not isinstance(event, Mapping):
        return [Rejection("-", "event is not a JSON object")]
    records = event.get("Records")
    if isinstance(records, list):
        if not records:
            return [Rejection("-", "SNS event without records")]
        return [_sns_record(r, settings) for r in records]
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return [_scheduled(event, settings)]
    if event.get("source") == OVERRIDE_SOURCE:
        return [_override(event, settings)]
    return [Rejection(str(event.get("id", "-")), "unknown event shape (not SNS, schedule or override)")]


def _sns_record(record: Any, settings: GuardSettings) -> Classified:
    if not isinstance(record, Mapping) or not isinstance(record.get("Sns"), Mapping):
        return Rejection("-", "record is not an SNS record")
    sns: Mapping[str, Any] = record["Sns"]
    mid = str(sns.get("MessageId", "-"))
    topic = str(sns.get("TopicArn", ""))
    account = _TOPIC_ACCOUNT.match(topic)
    if account is None:
        return Rejection(mid, "record has no SNS topic ARN")
    if account.group(1) != settings.account_id:
        return Rejection(mid, f"message for another account ({account.group(1)})")
    if topic != settings.topic_arn:
        return Rejection(mid, "message from a topic the guard does not serve")
    attrs = sns.get("MessageAttributes") or {}
    own = attrs.get(OWN_ATTRIBUTE) if isinstance(attrs, Mapping) else None
    if isinstance(own, Mapping) and own.get("Value") == OWN_ATTRIBUTE_VALUE:
        return Rejection(mid, "the guard's own notice", expected=True)
    body = sns.get("Message")
    if not isinstance(body, str) or not body.strip():
        return Rejection(mid, "empty message")
    problem = _body_problem(body, settings)
    return Rejection(mid, problem) if problem else Trigger("budget-notification", mid)


def _body_problem(body: str, settings: GuardSettings) -> str | None:
    """Why the body disqualifies the message, or None. Never returns body text (no echo into logs)."""
    text = body.strip()
    accounts: list[str] = []
    budgets: list[str] = []
    if text[:1] in "{[":
        try:
            parsed = json.loads(text)
        except ValueError:
            return "malformed JSON message"
        if not isinstance(parsed, Mapping):
            return "JSON message is not an object"
        accounts = [str(parsed[k]) for k in _ACCOUNT_KEYS if k in parsed]
        budgets = [str(parsed[k]) for k in _BUDGET_KEYS if k in parsed]
    else:
        accounts = _TEXT_ACCOUNT.findall(text)
        budgets = [b.strip() for b in _TEXT_BUDGET.findall(text)]
    if any(a != settings.account_id for a in accounts):
        return "message for another account"
    if any(b != settings.budget_name for b in budgets):
        return "message for an unknown budget"
    return None


def _scheduled(event: Mapping[str, Any], settings: GuardSettings) -> Classified:
    eid = str(event.get("id", "-"))
    if str(event.get("account")) != settings.account_id:
        return Rejection(eid, "scheduled event for another account")
    return Trigger("schedule", eid)


def _override(event: Mapping[str, Any], settings: GuardSettings) -> Classified:
    eid = str(event.get("id", "-"))
    detail = event.get("detail")
    if str(event.get("account")) != settings.account_id:
        return Rejection(eid, "override for another account")
    if not isinstance(detail, Mapping):
        return Rejection(eid, "override without detail")
    if detail.get("budgetName") != settings.budget_name:
        return Rejection(eid, "override for an unknown budget")
    if detail.get("action") not in OVERRIDE_ACTIONS:
        return Rejection(eid, f"override action must be one of {', '.join(OVERRIDE_ACTIONS)}")
    who, why = detail.get("requestedBy"), detail.get("reason")
    if not (isinstance(who, str) and who.strip() and isinstance(why, str) and why.strip()):
        return Rejection(eid, "override needs requestedBy and reason")
    return Trigger("override", eid, requested_by=who.strip()[:128], reason=why.strip()[:256])
