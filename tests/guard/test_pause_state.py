"""The pause record and the function the Pulumi program sizes node groups with."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from components.guard.pause_state import (
    NOT_PAUSED,
    PAUSE_TAINT,
    PAUSED_SIZE,
    PauseState,
    PauseStateError,
    PoolSize,
    dumps,
    parse,
    read_pause_state,
    scaling_for,
)

CONFIGURED = PoolSize(0, 6, 0)
PAUSED_RECORD = PauseState(
    paused=True,
    pools={"prod-eu-gpu-g6e-spot": PoolSize(0, 6, 2)},
    reason="actual 91.0% of 60000 USD (pauseAtPercent 90%) reached",
    at="2026-11-23T14:00:00Z",
    budget_period_start="2026-11-01",
)


def test_with_the_pause_parameter_set_the_program_keeps_the_paused_group_at_zero() -> None:
    """Issue 8: "the program under mocks, with the pause parameter set, keeps those groups at zero"."""
    text = dumps(PAUSED_RECORD)  # what the guard wrote to SSM
    scaling = scaling_for("prod-eu-gpu-g6e-spot", CONFIGURED, parse(text))
    assert scaling.paused
    assert (scaling.size.min_size, scaling.size.desired_size) == (0, 0)
    assert scaling.size.max_size == 1  # EKS rejects maxSize < 1; the taint keeps it empty
    assert scaling.extra_taints == (PAUSE_TAINT,)
    assert "paused by the budget guard since 2026-11-23T14:00:00Z" in scaling.note
    assert "configured max 6" in scaling.note


def test_groups_the_guard_did_not_pause_keep_their_configured_size() -> None:
    for name, state in (("prod-eu-gpu-p5-floor", PAUSED_RECORD), ("prod-eu-gpu-g6e-spot", NOT_PAUSED)):
        scaling = scaling_for(name, CONFIGURED, state)
        assert scaling.size == CONFIGURED and scaling.extra_taints == () and not scaling.paused and scaling.note == ""


def test_after_a_restore_the_program_gives_back_the_configured_size() -> None:
    restored = PAUSED_RECORD.with_changes(paused=False, pools={})
    assert scaling_for("prod-eu-gpu-g6e-spot", CONFIGURED, parse(dumps(restored))).size == CONFIGURED


def test_round_trip_and_canonical_text() -> None:
    assert parse(dumps(PAUSED_RECORD)) == PAUSED_RECORD
    assert dumps(parse(dumps(PAUSED_RECORD))) == dumps(PAUSED_RECORD)
    assert parse(None) == NOT_PAUSED and parse("") == NOT_PAUSED


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        '{"paused": true}',
        '{"paused": "yes", "pools": {}, "reason": "", "at": "", "budgetPeriodStart": ""}',
        '{"paused": true, "pools": {"a": {"min": 0, "max": -1, "desired": 0}}, "reason": "", "at": "", "budgetPeriodStart": ""}',
        '{"paused": true, "pools": {}, "reason": "", "at": "", "budgetPeriodStart": "", "extra": 1}',
    ],
)
def test_a_malformed_record_is_an_error_never_not_paused(text: str) -> None:
    with pytest.raises(PauseStateError):
        parse(text)


def test_read_pause_state_treats_a_missing_parameter_as_not_paused(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        ssm = boto3.client("ssm", region_name="eu-central-1")
        assert read_pause_state(ssm, "/ai-factory/dev/budget-guard/pause") == NOT_PAUSED
        ssm.put_parameter(Name="/ai-factory/dev/budget-guard/pause", Value=dumps(PAUSED_RECORD), Type="String")
        assert read_pause_state(ssm, "/ai-factory/dev/budget-guard/pause") == PAUSED_RECORD


def test_paused_size_is_valid_for_eks() -> None:
    assert PAUSED_SIZE.to_scaling_config() == {"minSize": 0, "maxSize": 1, "desiredSize": 0}
