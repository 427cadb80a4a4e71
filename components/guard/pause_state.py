"""The pause record the budget guard keeps in SSM, and how a paused node group is sized.

One SSM String parameter (JSON, no secrets) is the single source of truth about a pause:

    {"paused": true,
     "pools": {"<node group name>": {"min": 0, "max": 6, "desired": 2}, ...},   # sizes before the pause
     "reason": "actual spend 91.0% of budget dev-budget >= pauseAtPercent 90%",
     "at": "2026-11-23T14:05:00Z",
     "budgetPeriodStart": "2026-11-01",
     "overridePeriodStart": null}                                                  # optional

The guard writes it; the Pulumi program reads it (`read_pause_state` or the text of the
parameter through `parse`) and sizes each node group with `scaling_for`, so the next
`pulumi up` keeps a paused group paused, and says so, instead of silently undoing the pause.

Why max 1 and not 0: the EKS API rejects `maxSize < 1` for managed node groups
("Requested max capacity can't be less than 1"); only min and desired may be 0. A paused
group is therefore min 0 / desired 0 / max 1 plus the NO_EXECUTE taint `PAUSE_TAINT`: no pod
tolerates it, so the cluster-autoscaler (which builds scale-from-zero templates from the
node group's taints) finds no pod that would fit and never adds the one node max 1 allows,
and a node that still exists is drained of every pod.

Pure module (json + dataclasses): the Lambda, the program and the tests import it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from components.conventions import LABEL_PREFIX

PAUSED_MIN_SIZE = 0
PAUSED_DESIRED_SIZE = 0
PAUSED_MAX_SIZE = 1
"""EKS's floor for maxSize (see module docstring): the smallest cap the API accepts."""

PAUSE_TAINT_KEY = f"{LABEL_PREFIX}/paused"
PAUSE_TAINT_VALUE = "budget"
PAUSE_TAINT_EFFECT = "NO_EXECUTE"
"""EKS API spelling (NO_SCHEDULE | NO_EXECUTE | PREFER_NO_SCHEDULE); Kubernetes shows NoExecute."""
PAUSE_TAINT: Mapping[str, str] = {"key": PAUSE_TAINT_KEY, "value": PAUSE_TAINT_VALUE, "effect": PAUSE_TAINT_EFFECT}


class PauseStateError(ValueError):
    """The parameter's text is not a pause record (the guard and the program refuse to guess)."""


@dataclass(frozen=True)
class PoolSize:
    """Scaling of one managed node group (EKS scalingConfig)."""

    min_size: int
    """scalingConfig.minSize."""
    max_size: int
    """scalingConfig.maxSize (>= 1 for EKS)."""
    desired_size: int
    """scalingConfig.desiredSize (owned by the cluster-autoscaler while running)."""

    def to_json(self) -> dict[str, int]:
        return {"min": self.min_size, "max": self.max_size, "desired": self.desired_size}

    @classmethod
    def from_json(cls, raw: Any, where: str) -> PoolSize:
        if not isinstance(raw, Mapping) or set(raw) != {"min", "max", "desired"}:
            raise PauseStateError(f"{where}: expected {{min, max, desired}}")
        values = [raw["min"], raw["max"], raw["desired"]]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
            raise PauseStateError(f"{where}: sizes must be integers >= 0")
        return cls(*values)

    @classmethod
    def from_scaling_config(cls, cfg: Mapping[str, Any]) -> PoolSize:
        """From describe_nodegroup()['nodegroup']['scalingConfig']."""
        return cls(int(cfg.get("minSize", 0)), int(cfg.get("maxSize", 1)), int(cfg.get("desiredSize", 0)))

    def to_scaling_config(self) -> dict[str, int]:
        """For update_nodegroup_config(scalingConfig=...)."""
        return {"minSize": self.min_size, "maxSize": self.max_size, "desiredSize": self.desired_size}


PAUSED_SIZE = PoolSize(PAUSED_MIN_SIZE, PAUSED_MAX_SIZE, PAUSED_DESIRED_SIZE)


@dataclass(frozen=True)
class PauseState:
    """The parsed parameter."""

    paused: bool
    """True while the guard holds the pools in `pools` at PAUSED_SIZE."""
    pools: Mapping[str, PoolSize] = field(default_factory=dict)
    """Node group name → its size before the pause (what a restore puts back)."""
    reason: str = ""
    """Why the last change happened (spend vs. threshold, new period, override by whom)."""
    at: str = ""
    """When the last change happened (ISO 8601, UTC)."""
    budget_period_start: str = ""
    """Start (ISO date) of the budget period the last change belongs to."""
    override_period_start: str | None = None
    """Set by an explicit resume override: the guard does not pause again in this budget period."""

    def to_json(self) -> dict[str, Any]:
        return {
            "paused": self.paused,
            "pools": {name: size.to_json() for name, size in sorted(self.pools.items())},
            "reason": self.reason,
            "at": self.at,
            "budgetPeriodStart": self.budget_period_start,
            "overridePeriodStart": self.override_period_start,
        }

    def with_changes(self, **changes: Any) -> PauseState:
        return replace(self, **changes)


NOT_PAUSED = PauseState(paused=False)
"""What a missing parameter means: nothing is paused."""

_REQUIRED = {"paused", "pools", "reason", "at", "budgetPeriodStart"}
_OPTIONAL = {"overridePeriodStart"}


def parse(text: str | None) -> PauseState:
    """The parameter's value → PauseState. None or "" (no parameter yet) → NOT_PAUSED.

    Raises PauseStateError for anything else that is not a well-formed record: a program
    that cannot read the pause must fail, not size the pools as if nothing were paused.
    """
    if text is None or not text.strip():
        return NOT_PAUSED
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PauseStateError(f"pause parameter is not JSON: {exc.msg}") from None
    if not isinstance(raw, Mapping):
        raise PauseStateError("pause parameter is not a JSON object")
    missing, unknown = _REQUIRED - set(raw), set(raw) - _REQUIRED - _OPTIONAL
    if missing or unknown:
        raise PauseStateError(f"pause parameter: missing {sorted(missing)}, unknown {sorted(unknown)}")
    if not isinstance(raw["paused"], bool) or not isinstance(raw["pools"], Mapping):
        raise PauseStateError("pause parameter: `paused` must be a boolean and `pools` an object")
    for key in ("reason", "at", "budgetPeriodStart"):
        if not isinstance(raw[key], str):
            raise PauseStateError(f"pause parameter: `{key}` must be a string")
    override = raw.get("overridePeriodStart")
    if override is not None and not isinstance(override, str):
        raise PauseStateError("pause parameter: `overridePeriodStart` must be a string or null")
    pools = {str(name): PoolSize.from_json(size, f"pools.{name}") for name, size in raw["pools"].items()}
    return PauseState(raw["paused"], pools, raw["reason"], raw["at"], raw["budgetPeriodStart"], override)


def dumps(state: PauseState) -> str:
    """Canonical text (sorted keys): the same state always writes the same bytes."""
    return json.dumps(state.to_json(), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class PoolScaling:
    """What the program gives one node group."""

    size: PoolSize
    """scalingConfig to register."""
    extra_taints: tuple[Mapping[str, str], ...]
    """Taints to add to the group's own (the pause taint while paused)."""
    paused: bool
    note: str
    """One line for `pulumi.log.warn` while paused ("" otherwise): the preview says why."""


def is_paused(node_group: str, state: PauseState) -> bool:
    return state.paused and node_group in state.pools


def scaling_for(node_group: str, configured: PoolSize, state: PauseState) -> PoolScaling:
    """How the Pulumi program sizes `node_group` given the pause record.

    `configured` is what the config asks for (min 0, max from the GPU limit, desired 0).
    A group the guard paused stays at PAUSED_SIZE with the pause taint; any other group,
    and every group once the guard restored capacity, gets `configured`.
    """
    if not is_paused(node_group, state):
        return PoolScaling(configured, (), False, "")
    note = (
        f"node group {node_group} is paused by the budget guard since {state.at or 'unknown time'} "
        f"({state.reason or 'no reason recorded'}): kept at min {PAUSED_MIN_SIZE}/desired {PAUSED_DESIRED_SIZE}/"
        f"max {PAUSED_MAX_SIZE} with taint {PAUSE_TAINT_KEY}; configured max {configured.max_size} returns "
        "when the guard restores capacity (new budget period or override)"
    )
    return PoolScaling(PAUSED_SIZE, (PAUSE_TAINT,), True, note)


def read_pause_state(ssm: Any, parameter_name: str) -> PauseState:
    """Read the record with an SSM client; a parameter that does not exist yet → NOT_PAUSED."""
    try:
        response = ssm.get_parameter(Name=parameter_name)
    except ssm.exceptions.ParameterNotFound:
        return NOT_PAUSED
    return parse(response["Parameter"]["Value"])
