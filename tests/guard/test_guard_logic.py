"""Pure parts of the guard: message classification, the decision, the budget period, settings."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from components.guard.decide import BudgetStateError, Spend, decide, period_start
from components.guard.messages import OVERRIDE_SOURCE, Rejection, Trigger, classify
from components.guard.pause_state import NOT_PAUSED, PauseState, PoolSize
from components.guard.settings import GuardSettings, SettingsError

ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:eu-central-1:{ACCOUNT}:dev-budget-alerts"
SETTINGS = GuardSettings("dev", "dev-budget", ACCOUNT, "eu-central-1", "dev-burst", ("a",), "/p", TOPIC, 90)
NOW = datetime(2026, 11, 23, tzinfo=UTC)
SNS = Trigger("budget-notification", "m")


def _sns(body: str) -> dict:
    return {"Records": [{"Sns": {"TopicArn": TOPIC, "MessageId": "m", "Message": body}}]}


def _spend(actual: float, forecast: float | None = None, unit: str = "MONTHLY") -> Spend:
    return Spend("dev-budget", 1000.0, actual, forecast, "USD", unit)


@pytest.mark.parametrize(
    "body",
    [
        "AWS Budget Notification November 23, 2026\nAWS Account 123456789012\nBudget Name: dev-budget\n",
        '{"budgetName": "dev-budget", "accountId": "123456789012", "threshold": 90}',
        "anything at all: the body is a trigger, not data",
    ],
)
def test_budget_messages_from_the_topic_are_triggers_whatever_their_body(body: str) -> None:
    assert classify(_sns(body), SETTINGS) == [SNS]


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ("{not json", "malformed JSON event"),
        ({"hello": "world"}, "unknown event shape (not SNS, schedule or override)"),
        ({"Records": []}, "SNS event without records"),
        (_sns("   "), "empty message"),
        (_sns('["a list"]'), "JSON message is not an object"),
        (
            {"source": "aws.events", "detail-type": "Scheduled Event", "account": "999999999999"},
            "scheduled event for another account",
        ),
        ({"source": OVERRIDE_SOURCE, "account": ACCOUNT, "detail": "resume"}, "override without detail"),
    ],
)
def test_other_shapes_are_rejected_with_a_reason(event, why: str) -> None:
    [item] = classify(event, SETTINGS)
    assert isinstance(item, Rejection) and item.why == why


def test_a_message_from_another_topic_of_the_same_account_is_rejected() -> None:
    event = _sns("x")
    event["Records"][0]["Sns"]["TopicArn"] = TOPIC.replace("dev-budget-alerts", "other-topic")
    [item] = classify(event, SETTINGS)
    assert isinstance(item, Rejection) and item.why == "message from a topic the guard does not serve"


@pytest.mark.parametrize(
    ("unit", "now", "start"),
    [
        ("MONTHLY", datetime(2026, 11, 23, 23, 59, tzinfo=UTC), date(2026, 11, 1)),
        ("QUARTERLY", datetime(2026, 11, 23, tzinfo=UTC), date(2026, 10, 1)),
        ("ANNUALLY", datetime(2026, 11, 23, tzinfo=UTC), date(2026, 1, 1)),
        ("DAILY", datetime(2026, 11, 23, 5, tzinfo=UTC), date(2026, 11, 23)),
    ],
)
def test_period_start(unit: str, now: datetime, start: date) -> None:
    assert period_start(unit, now) == start


def test_decisions() -> None:
    paused = PauseState(True, {"a": PoolSize(0, 2, 1)}, "r", "2026-11-02T00:00:00Z", "2026-11-01")
    assert decide(_spend(900), NOT_PAUSED, 90, SNS, NOW).action == "pause"  # at the threshold
    assert decide(_spend(899.9), NOT_PAUSED, 90, SNS, NOW).action == "none"
    assert decide(_spend(100, forecast=5000), NOT_PAUSED, 90, SNS, NOW).action == "none"  # forecast alone never
    assert decide(_spend(950), paused, 90, SNS, NOW).action == "none"  # repeat
    assert decide(_spend(10), paused, 90, SNS, NOW).action == "none"  # same period: stay paused
    december = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    assert decide(_spend(10), paused, 90, SNS, december).action == "restore"
    assert decide(_spend(950), paused, 90, SNS, december).action == "none"  # new period, already over
    override = Trigger("override", "o", requested_by="alice", reason="launch")
    assert decide(_spend(950), paused, 90, override, NOW).action == "restore"
    assert decide(_spend(950), NOT_PAUSED, 90, override, NOW).action == "override"
    overridden = NOT_PAUSED.with_changes(override_period_start="2026-11-01")
    assert decide(_spend(990), overridden, 90, SNS, NOW).action == "none"


def test_spend_from_describe_budget() -> None:
    budget = {
        "BudgetName": "dev-budget",
        "BudgetLimit": {"Amount": "3000.0", "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "CalculatedSpend": {"ActualSpend": {"Amount": "2700", "Unit": "USD"}},
    }
    spend = Spend.from_budget(budget)
    assert spend.actual_percent == 90.0 and spend.forecast is None
    assert Spend.from_budget({**budget, "CalculatedSpend": {}}).actual == 0.0  # a new budget has no spend yet
    for bad in (
        {**budget, "BudgetLimit": {"Amount": "0", "Unit": "USD"}},
        {k: v for k, v in budget.items() if k != "BudgetLimit"},
        {**budget, "CalculatedSpend": {"ActualSpend": {"Amount": "1", "Unit": "EUR"}}},
    ):
        with pytest.raises(BudgetStateError):
            Spend.from_budget(bad)


def test_settings_name_every_problem_at_once() -> None:
    with pytest.raises(SettingsError) as err:
        GuardSettings.from_env({"GUARD_STACK": "dev"})
    assert str(err.value).count("is not set") == 8
    env = {
        "GUARD_STACK": "dev",
        "GUARD_BUDGET_NAME": "b",
        "GUARD_ACCOUNT_ID": ACCOUNT,
        "GUARD_REGION": "eu-central-1",
        "GUARD_CLUSTER_NAME": "c",
        "GUARD_NODE_GROUPS": " , ",
        "GUARD_PARAMETER_NAME": "/p",
        "GUARD_TOPIC_ARN": "arn:aws:sns:eu-central-1:999999999999:t",
        "GUARD_PAUSE_AT_PERCENT": "lots",
    }
    with pytest.raises(SettingsError) as err:
        GuardSettings.from_env(env)
    assert "another account" in str(err.value) and "GUARD_PAUSE_AT_PERCENT" in str(err.value)
    assert "GUARD_NODE_GROUPS" in str(err.value)
