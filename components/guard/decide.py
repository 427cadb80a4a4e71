"""The guard's decision: a pure function of the budget's state, the pause record and time.

Because the decision depends only on state read at run time (never on which message came),
a repeated or out-of-order message yields the same decision as the one before it: once
paused, "pause" is not decided again; once restored, an old 90 % message finds the budget's
current spend and changes nothing.

Actual spend decides; the forecast is reported with every action but never pauses capacity
on its own (AWS forecasts swing early in a period and need weeks of history, and a pause
stops serving capacity — too drastic for a prediction).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from components.guard.messages import Trigger
from components.guard.pause_state import PauseState


class BudgetStateError(ValueError):
    """describe_budget answered something the guard cannot judge (no limit, mixed units)."""


@dataclass(frozen=True)
class Spend:
    budget_name: str
    limit: float
    actual: float
    forecast: float | None
    unit: str
    time_unit: str
    """DAILY | MONTHLY | QUARTERLY | ANNUALLY (Budgets' TimeUnit)."""

    @property
    def actual_percent(self) -> float:
        return 100.0 * self.actual / self.limit

    @property
    def forecast_percent(self) -> float | None:
        return None if self.forecast is None else 100.0 * self.forecast / self.limit

    def summary(self) -> str:
        fc = self.forecast_percent
        forecast = f", forecast {fc:.1f}%" if fc is not None else ""
        return f"actual {self.actual_percent:.1f}% of {self.limit:g} {self.unit}{forecast}"

    @classmethod
    def from_budget(cls, budget: Mapping[str, Any]) -> Spend:
        """From describe_budget()['Budget']. A budget without spend yet (new) counts as 0."""
        limit = budget.get("BudgetLimit") or {}
        try:
            amount = float(limit["Amount"])
        except (KeyError, TypeError, ValueError):
            raise BudgetStateError("budget has no numeric BudgetLimit") from None
        if amount <= 0:
            raise BudgetStateError("budget limit is not positive")
        unit = str(limit.get("Unit", "USD"))
        calc = budget.get("CalculatedSpend") or {}
        actual = _amount(calc.get("ActualSpend"), unit, "ActualSpend") or 0.0
        forecast = _amount(calc.get("ForecastedSpend"), unit, "ForecastedSpend")
        return cls(
            str(budget.get("BudgetName", "")), amount, actual, forecast, unit, str(budget.get("TimeUnit", "MONTHLY"))
        )


def _amount(raw: Any, unit: str, what: str) -> float | None:
    if not isinstance(raw, Mapping):
        return None
    if raw.get("Unit", unit) != unit:
        raise BudgetStateError(f"{what} unit {raw.get('Unit')} differs from the limit's {unit}")
    try:
        return float(raw["Amount"])
    except (KeyError, TypeError, ValueError):
        raise BudgetStateError(f"{what} is not a number") from None


def period_start(time_unit: str, now: datetime) -> date:
    """First day of the budget period `now` falls in (Budgets reset on UTC calendar boundaries).

    describe_budget's TimePeriod.Start is the budget's first period, not the current one, so
    the current period is computed from the TimeUnit.
    """
    today = now.date()
    if time_unit == "DAILY":
        return today
    if time_unit == "QUARTERLY":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if time_unit == "ANNUALLY":
        return date(today.year, 1, 1)
    return date(today.year, today.month, 1)


Action = Literal["pause", "restore", "override", "none"]


@dataclass(frozen=True)
class Decision:
    action: Action
    """pause: scale the pools to zero · restore: put back recorded sizes · override: only
    record that the owners overrode this period (nothing was paused) · none: change nothing."""
    reason: str
    period: date


def decide(spend: Spend, state: PauseState, pause_at: float, trigger: Trigger, now: datetime) -> Decision:
    period = period_start(spend.time_unit, now)
    over = spend.actual_percent >= pause_at
    level = f"{spend.summary()} (pauseAtPercent {pause_at:g}%)"
    if trigger.kind == "override":
        who = f"override by {trigger.requested_by}: {trigger.reason}"
        if state.paused:
            return Decision("restore", f"{who}; {level}", period)
        if state.override_period_start == period.isoformat():
            return Decision("none", f"override already recorded for period {period}; {level}", period)
        return Decision("override", f"{who}; {level}", period)
    if state.paused:
        if state.budget_period_start < period.isoformat() and not over:
            return Decision("restore", f"new budget period {period}; {level}", period)
        return Decision("none", f"already paused since {state.at}; {level}", period)
    if state.override_period_start == period.isoformat():
        return Decision("none", f"owners overrode the pause for period {period}; {level}", period)
    if over:
        return Decision("pause", f"{level} reached", period)
    return Decision("none", f"below threshold: {level}", period)
