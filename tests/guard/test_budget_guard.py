"""Issue 8 acceptance for the budget guard, against moto (in-process `mock_aws`)."""

from __future__ import annotations

import json
import logging

import pytest

from components.guard.handler import run_guard
from components.guard.messages import OVERRIDE_SOURCE
from components.guard.pause_state import PAUSE_TAINT_KEY, PoolSize, parse
from components.guard.records import TAG_AT, TAG_REASON, TAG_STATE

PAUSED = (0, 1, 0)


def _guard_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "ai_factory.budget_guard"]


def test_at_90_percent_exactly_the_non_critical_burst_groups_pause_and_the_pause_is_recorded(account, caplog) -> None:
    account.set_spend(90, forecast_percent=120)
    caplog.set_level(logging.INFO)
    result = run_guard(account.sns_event(), account.settings, account.clients, account.NOW)

    assert result["action"] == "pause"
    assert sorted(result["pools"]) == sorted(account.PAUSABLE)
    sizes = account.sizes()
    assert {n: sizes[n] for n in account.PAUSABLE} == {n: PAUSED for n in account.PAUSABLE}
    assert {n: sizes[n] for n in account.KEPT} == account.KEPT  # floor and system untouched
    for name in account.PAUSABLE:
        assert [t["key"] for t in account.taints(name)] == [PAUSE_TAINT_KEY]
    for name in account.KEPT:
        assert account.taints(name) == []
    # Every update the guard sent is valid for EKS: maxSize never below 1.
    assert all(u["scalingConfig"]["maxSize"] >= 1 for u in account.eks.updates)
    assert {u["nodegroupName"] for u in account.eks.updates} == set(account.PAUSABLE)

    state = parse(account.parameter())
    assert state.paused and state.budget_period_start == "2026-11-01" and state.at == "2026-11-23T14:00:00Z"
    assert state.pools == {n: PoolSize(*s) for n, s in account.PAUSABLE.items()}
    assert "actual 90.0%" in state.reason and "forecast 120.0%" in state.reason

    for name in account.PAUSABLE:  # tag with time and reason on each paused group
        tags = account.eks.tags[account.arns[name]]
        assert tags[TAG_STATE] == "paused" and tags[TAG_AT] == "2026-11-23T14:00:00Z" and "90.0" in tags[TAG_REASON]
    decision = [line for line in _guard_lines(caplog) if line["event"] == "decision-pause"]
    assert len(decision) == 1 and decision[0]["actual_percent"] == 90.0 and decision[0]["budget"] == "dev-budget"
    notices = account.notices()
    assert len(notices) == 1
    notice = json.loads(notices[0]["Body"])
    assert notice["action"] == "pause" and sorted(notice["pools"]) == sorted(account.PAUSABLE)


def test_at_50_percent_nothing_changes(account) -> None:
    account.set_spend(50, forecast_percent=95)  # a high forecast alone never pauses
    result = run_guard(account.sns_event(), account.settings, account.clients, account.NOW)
    assert result["action"] == "none"
    assert account.sizes() == {**account.PAUSABLE, **account.KEPT}
    assert account.eks.updates == [] and account.parameter() is None and account.notices() == []


def test_the_same_message_twice_changes_nothing_the_second_time(account) -> None:
    account.set_spend(95)
    event = account.sns_event(mid="same")
    run_guard(event, account.settings, account.clients, account.NOW)
    account.notices()  # drain the first notice
    record, sizes, updates = account.parameter(), account.sizes(), len(account.eks.updates)

    second = run_guard(event, account.settings, account.clients, account.NOW)
    assert second["action"] == "none" and second["pools"] == []
    assert account.parameter() == record and account.sizes() == sizes and len(account.eks.updates) == updates
    assert account.notices() == []


def test_an_old_message_after_the_restore_changes_nothing(account) -> None:
    account.set_spend(95)
    run_guard(account.sns_event(mid="90pct"), account.settings, account.clients, account.NOW)
    account.set_spend(3)  # new month: spend restarted
    run_guard(
        {"source": "aws.events", "detail-type": "Scheduled Event", "account": account.ACCOUNT, "id": "tick"},
        account.settings,
        account.clients,
        account.NEXT_MONTH,
    )
    record, updates = account.parameter(), len(account.eks.updates)
    late = run_guard(account.sns_event(mid="90pct"), account.settings, account.clients, account.NEXT_MONTH)
    assert late["action"] == "none"
    assert account.parameter() == record and len(account.eks.updates) == updates


@pytest.mark.parametrize(
    ("body", "topic_account", "why"),
    [
        ('{"budgetName": "dev-budget", ', None, "malformed JSON message"),
        ('{"budgetName": "someone-elses-budget"}', None, "message for an unknown budget"),
        ("AWS Budget Notification\nBudget Name: other-budget\n", None, "message for an unknown budget"),
        ('{"accountId": "999999999999", "budgetName": "dev-budget"}', None, "message for another account"),
        ("AWS Budget Notification", "999999999999", "message for another account (999999999999)"),
    ],
)
def test_malformed_or_unknown_messages_are_logged_and_ignored(account, caplog, body, topic_account, why) -> None:
    account.set_spend(99)  # would pause, if the message were accepted
    caplog.set_level(logging.INFO)
    topic = None
    if topic_account:
        topic = account.settings.topic_arn.replace(account.ACCOUNT, topic_account)
    result = run_guard(
        account.sns_event(body, topic=topic, mid="bad-1"), account.settings, account.clients, account.NOW
    )
    assert result["result"] == "ignored"
    assert (
        account.sizes() == {**account.PAUSABLE, **account.KEPT}
        and account.parameter() is None
        and account.eks.updates == []
    )
    lines = _guard_lines(caplog)
    assert [(line["event"], line["why"], line["message_id"]) for line in lines] == [("ignored", why, "bad-1")]
    assert body not in caplog.text  # the body is never echoed into logs


def test_restore_on_a_new_budget_period_puts_back_the_recorded_sizes(account) -> None:
    account.set_spend(92)
    run_guard(account.sns_event(), account.settings, account.clients, account.NOW)
    account.set_spend(1)
    tick = {"source": "aws.events", "detail-type": "Scheduled Event", "account": account.ACCOUNT, "id": "tick-1"}
    # Same period, spend (moto cannot change it in place) low: no restore before the period ends.
    assert run_guard(tick, account.settings, account.clients, account.NOW)["action"] == "none"
    result = run_guard(tick, account.settings, account.clients, account.NEXT_MONTH)
    assert result["action"] == "restore" and sorted(result["pools"]) == sorted(account.PAUSABLE)
    assert account.sizes() == {**account.PAUSABLE, **account.KEPT}
    assert all(account.taints(n) == [] for n in account.PAUSABLE)
    state = parse(account.parameter())
    assert not state.paused and state.pools == {} and state.budget_period_start == "2026-12-01"
    assert account.eks.tags[account.arns["dev-gpu-g6-spot"]][TAG_STATE] == "restored"


def test_an_explicit_override_restores_and_holds_for_the_period(account) -> None:
    account.set_spend(97)
    run_guard(account.sns_event(), account.settings, account.clients, account.NOW)
    override = {
        "source": OVERRIDE_SOURCE,
        "account": account.ACCOUNT,
        "id": "ovr-1",
        "detail": {"action": "resume", "budgetName": "dev-budget", "reason": "release week", "requestedBy": "alice"},
    }
    result = run_guard(override, account.settings, account.clients, account.NOW)
    assert result["action"] == "restore" and account.sizes() == {**account.PAUSABLE, **account.KEPT}
    state = parse(account.parameter())
    assert state.override_period_start == "2026-11-01" and "override by alice: release week" in state.reason
    # The next 100 % alert of the same period does not pause again; the next period does.
    assert run_guard(account.sns_event(mid="m-2"), account.settings, account.clients, account.NOW)["action"] == "none"
    assert (
        run_guard(account.sns_event(mid="m-3"), account.settings, account.clients, account.NEXT_MONTH)["action"]
        == "pause"
    )


def test_an_override_for_another_budget_or_without_reason_is_ignored(account) -> None:
    account.set_spend(97)
    run_guard(account.sns_event(), account.settings, account.clients, account.NOW)
    for detail in (
        {"action": "resume", "budgetName": "other", "reason": "x", "requestedBy": "bob"},
        {"action": "resume", "budgetName": "dev-budget", "reason": "", "requestedBy": "bob"},
        {"action": "delete-everything", "budgetName": "dev-budget", "reason": "x", "requestedBy": "bob"},
    ):
        event = {"source": OVERRIDE_SOURCE, "account": account.ACCOUNT, "detail": detail}
        assert run_guard(event, account.settings, account.clients, account.NOW)["result"] == "ignored"
    assert parse(account.parameter()).paused


def test_a_group_labelled_critical_is_refused_even_when_named(account, add_critical_group, caplog) -> None:
    name = add_critical_group()
    settings = type(account.settings)(**{**account.settings.__dict__, "node_groups": (*account.PAUSABLE, name)})
    account.set_spend(99)
    caplog.set_level(logging.INFO)
    result = run_guard(account.sns_event(), settings, account.clients, account.NOW)
    assert sorted(result["pools"]) == sorted(account.PAUSABLE)
    assert account.sizes()[name] == (0, 2, 1)
    assert any(line["event"] == "refused-critical" for line in _guard_lines(caplog))


def test_the_guards_own_notice_does_not_trigger_it(account) -> None:
    account.set_spend(99)
    event = account.sns_event()
    event["Records"][0]["Sns"]["MessageAttributes"] = {"ai-factory-source": {"Type": "String", "Value": "budget-guard"}}
    assert run_guard(event, account.settings, account.clients, account.NOW)["result"] == "ignored"


def test_a_half_done_pause_is_finished_by_the_next_trigger(account) -> None:
    account.set_spend(99)
    run_guard(account.sns_event(), account.settings, account.clients, account.NOW)
    # Someone scales a paused group up by hand (or the first run died after one group).
    account.eks.update_nodegroup_config(
        clusterName="dev-burst",
        nodegroupName="dev-gpu-g6-spot",
        scalingConfig={"minSize": 0, "maxSize": 2, "desiredSize": 2},
    )
    result = run_guard(account.sns_event(mid="m-2"), account.settings, account.clients, account.NOW)
    assert result["action"] == "reconcile" and result["pools"] == ["dev-gpu-g6-spot"]
    assert account.sizes()["dev-gpu-g6-spot"] == PAUSED
    # the recorded size to restore is still the one from before the pause
    assert parse(account.parameter()).pools["dev-gpu-g6-spot"] == PoolSize(0, 2, 1)


def test_node_group_tagging_failure_does_not_undo_the_pause(account) -> None:
    """Against raw moto (whose TagResource rejects node group ARNs) the pause still stands."""
    account.clients = type(account.clients)(**{**account.clients.__dict__, "eks": account.eks._inner})
    account.set_spend(99)
    result = run_guard(account.sns_event(), account.settings, account.clients, account.NOW)
    assert result["action"] == "pause" and parse(account.parameter()).paused
