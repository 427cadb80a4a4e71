"""The budget-guard Lambda: `handler(event, context)`.

Flow: classify the event (messages.py) → read the pause record (SSM) and the budget
(Budgets API) → decide (decide.py) → act on the named node groups (pools.py) → record
(SSM parameter, node group tags, one JSON log line, a notice to the owners' topic).

`run_guard` takes the boto3 clients and the clock as arguments, so tests drive it with moto
and a fixed `now`; `handler` only builds those from the Lambda environment.

AWS errors are raised (Lambda retries asynchronous invocations; every step is idempotent).
A record or budget the guard cannot read is logged and nothing is changed — retrying would
not make it readable.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from components.guard import pools as pool_ops
from components.guard.decide import BudgetStateError, Decision, Spend, decide
from components.guard.messages import Rejection, Trigger, classify
from components.guard.pause_state import PauseState, PauseStateError, dumps, read_pause_state
from components.guard.records import action_tags, log, notify_owners, tag_node_group
from components.guard.settings import GuardSettings

BUDGETS_REGION = "us-east-1"
"""The Budgets API has one endpoint per partition, in us-east-1 for `aws`."""
MAX_ATTEMPTS = 4
"""botocore retries after the first try (standard mode backs off on throttling); Lambda's own retry comes after."""


@dataclass(frozen=True)
class Clients:
    budgets: Any
    eks: Any
    ssm: Any
    sns: Any

    @classmethod
    def from_boto3(cls, settings: GuardSettings) -> Clients:
        import boto3
        from botocore.config import Config

        cfg = Config(retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"})
        return cls(
            budgets=boto3.client("budgets", region_name=BUDGETS_REGION, config=cfg),
            eks=boto3.client("eks", region_name=settings.region, config=cfg),
            ssm=boto3.client("ssm", region_name=settings.region, config=cfg),
            sns=boto3.client("sns", region_name=settings.region, config=cfg),
        )


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    logging.getLogger().setLevel(logging.INFO)
    settings = GuardSettings.from_env(os.environ)
    return run_guard(event, settings, Clients.from_boto3(settings), datetime.now(UTC))


def _iso(now: datetime) -> str:
    return now.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def run_guard(event: Any, settings: GuardSettings, clients: Clients, now: datetime) -> dict[str, Any]:
    """One invocation. Returns a summary (also the Lambda's result): {result, action, pools, reason}."""
    classified = classify(event, settings)
    for item in classified:
        if isinstance(item, Rejection):
            level = logging.INFO if item.expected else logging.WARNING
            log(level, "ignored", stack=settings.stack, message_id=item.source_id, why=item.why)
    triggers = [t for t in classified if isinstance(t, Trigger)]
    if not triggers:
        return {"result": "ignored", "action": "none", "pools": [], "reason": "no valid trigger"}
    # An override outranks notifications delivered in the same batch.
    trigger = next((t for t in triggers if t.kind == "override"), triggers[0])
    try:
        state = read_pause_state(clients.ssm, settings.parameter_name)
    except PauseStateError as exc:
        log(logging.ERROR, "bad-pause-record", stack=settings.stack, parameter=settings.parameter_name, why=str(exc))
        return {"result": "error", "action": "none", "pools": [], "reason": str(exc)}
    try:
        spend = _read_spend(clients.budgets, settings)
    except BudgetStateError as exc:
        log(logging.ERROR, "bad-budget", stack=settings.stack, budget=settings.budget_name, why=str(exc))
        return {"result": "error", "action": "none", "pools": [], "reason": str(exc)}
    decision = decide(spend, state, settings.pause_at_percent, trigger, now)
    base = {
        "stack": settings.stack,
        "budget": settings.budget_name,
        "trigger": trigger.kind,
        "message_id": trigger.source_id,
        "actual_percent": round(spend.actual_percent, 2),
        "forecast_percent": None if spend.forecast_percent is None else round(spend.forecast_percent, 2),
        "pause_at_percent": settings.pause_at_percent,
    }
    action, changed = _apply(decision, state, trigger, settings, clients, now)
    log(
        logging.INFO if action == "none" else logging.WARNING,
        f"decision-{action}",
        reason=decision.reason,
        pools=changed,
        **base,
    )
    if action != "none":
        notify_owners(
            clients.sns,
            settings.topic_arn,
            settings.stack,
            action,
            {"reason": decision.reason, "pools": changed, "at": _iso(now), **base},
        )
    return {"result": "ok", "action": action, "pools": changed, "reason": decision.reason}


def _apply(
    decision: Decision, state: PauseState, trigger: Trigger, settings: GuardSettings, clients: Clients, now: datetime
) -> tuple[str, list[str]]:
    """Carry out the decision; returns (action taken, node groups changed)."""
    if decision.action == "pause":
        return "pause", _pause(settings, clients, decision, now)
    if decision.action == "restore":
        return "restore", _restore(settings, clients, state, decision, now, override=trigger.kind == "override")
    if decision.action == "override":
        period = decision.period.isoformat()
        _save(
            clients.ssm,
            settings,
            state.with_changes(override_period_start=period, reason=decision.reason, at=_iso(now)),
        )
        return "override", []
    changed = _reconcile_paused(settings, clients, state) if state.paused else []
    # "reconcile": nothing was decided, but a paused group had been scaled up and was paused again.
    return ("reconcile" if changed else "none"), changed


def _read_spend(budgets: Any, settings: GuardSettings) -> Spend:
    try:
        answer = budgets.describe_budget(AccountId=settings.account_id, BudgetName=settings.budget_name)
    except budgets.exceptions.NotFoundException:
        raise BudgetStateError(f"budget {settings.budget_name} does not exist") from None
    return Spend.from_budget(answer["Budget"])


def _save(ssm: Any, settings: GuardSettings, state: PauseState) -> None:
    # String, not SecureString: the record holds names and sizes only, and the Pulumi program
    # must read it without kms:Decrypt.
    ssm.put_parameter(Name=settings.parameter_name, Value=dumps(state), Type="String", Overwrite=True)


def _pause(settings: GuardSettings, clients: Clients, decision: Decision, now: datetime) -> list[str]:
    groups = pool_ops.pausable(clients.eks, settings.cluster_name, settings.node_groups)
    at = _iso(now)
    # The record is written before any group changes: if the run dies half-way, the next
    # trigger finds "paused" and reconciles the rest instead of recording paused sizes as
    # the sizes to restore.
    state = PauseState(
        paused=True,
        pools={g.name: g.size for g in groups if not g.is_paused},
        reason=decision.reason,
        at=at,
        budget_period_start=decision.period.isoformat(),
    )
    _save(clients.ssm, settings, state)
    changed = [g.name for g in groups if pool_ops.pause(clients.eks, settings.cluster_name, g)]
    for g in groups:
        tag_node_group(clients.eks, g.arn, action_tags("paused", at, decision.reason))
    return changed


def _restore(
    settings: GuardSettings, clients: Clients, state: PauseState, decision: Decision, now: datetime, override: bool
) -> list[str]:
    at = _iso(now)
    changed: list[str] = []
    for name, size in sorted(state.pools.items()):
        ng = pool_ops.describe(clients.eks, settings.cluster_name, name)
        if ng is None:
            continue
        if pool_ops.restore(clients.eks, settings.cluster_name, ng, size):
            changed.append(name)
        tag_node_group(clients.eks, ng.arn, action_tags("restored", at, decision.reason))
    # Written last: a failed restore leaves the record "paused" so the next trigger retries.
    _save(
        clients.ssm,
        settings,
        PauseState(
            paused=False,
            pools={},
            reason=decision.reason,
            at=at,
            budget_period_start=decision.period.isoformat(),
            override_period_start=decision.period.isoformat() if override else None,
        ),
    )
    return changed


def _reconcile_paused(settings: GuardSettings, clients: Clients, state: PauseState) -> list[str]:
    """While paused, make sure every recorded group is still paused (finishes a half-done pause,
    undoes a manual scale-up). Groups already paused are left alone: a repeat changes nothing."""
    changed = []
    for name in sorted(state.pools):
        ng = pool_ops.describe(clients.eks, settings.cluster_name, name)
        if ng is not None and not ng.critical and pool_ops.pause(clients.eks, settings.cluster_name, ng):
            changed.append(name)
    return changed
