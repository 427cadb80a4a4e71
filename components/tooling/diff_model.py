"""`factory diff` as data: compare two `factory plan --format json` documents.

Pure functions over the plan contract (DESIGN §4), so the base may come from older code and
tests can feed synthetic plans. Resources match by URN, as Pulumi matches them (no aliases
in this blueprint): a changed name, type or parent is a delete plus a create.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from components.conventions import SECRET_MASK
from components.tooling.replacements import forces_replacement, known_type

Op = Literal["create", "delete", "update", "replace"]
_ABSENT = object()
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
COMPONENT_PREFIX = "ai-factory:"
STACK_GROUP = "(stack)"


@dataclass(frozen=True)
class PropertyChange:
    path: str
    """Nested input path, e.g. `rules[0].expiration.days` or `tags["kubernetes.io/role"]`."""
    before: Any
    after: Any
    kind: Literal["added", "removed", "changed"]
    forces_replacement: bool = False


@dataclass
class ResourceChange:
    op: Op
    urn: str
    type: str
    name: str
    component: str
    """Nearest `ai-factory:` ancestor's name, or `(stack)`."""
    protect: bool = False
    retain_on_delete: bool = False
    changes: list[PropertyChange] = field(default_factory=list)
    inputs: dict[str, Any] | None = None
    """Inputs of a created or deleted resource (masked like the plan)."""
    in_replacement_table: bool = True


@dataclass
class CostDelta:
    currency: str
    expected_before: float
    expected_after: float
    worst_before: float
    worst_after: float
    budget_after: float
    by_component: dict[str, dict[str, float]]
    """{component: {before, after, delta}} for every component whose cost moved."""
    assumptions: list[str]
    assumptions_added: list[str]
    assumptions_removed: list[str]
    unpriced_added: list[str]
    unpriced_removed: list[str]

    @property
    def expected_delta(self) -> float:
        return self.expected_after - self.expected_before

    @property
    def worst_delta(self) -> float:
        return self.worst_after - self.worst_before

    @property
    def expected_percent(self) -> float | None:
        return None if self.expected_before <= 0 else 100.0 * self.expected_delta / self.expected_before

    @property
    def changed(self) -> bool:
        return bool(
            round(self.expected_delta, 2)
            or round(self.worst_delta, 2)
            or self.by_component
            or self.unpriced_added
            or self.unpriced_removed
        )


@dataclass(frozen=True)
class CostGuard:
    """Advisory per-PR guard: trips when the expected monthly cost rises by more than either threshold."""

    max_increase_usd: float
    max_increase_percent: float
    source: str
    """Where the thresholds came from: `flags`, `stack config` or `defaults`."""
    tripped: bool
    reason: str


@dataclass
class Findings:
    new: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    still_open: list[dict[str, Any]] = field(default_factory=list)

    def mandatory(self, bucket: list[dict[str, Any]]) -> int:
        return sum(v.get("enforcement") == "mandatory" for v in bucket)


@dataclass
class StackDiff:
    stack: str
    base_ref: str
    base_commit: str
    resources: list[ResourceChange]
    cost: CostDelta
    findings: Findings
    guard: CostGuard | None = None
    base_missing: bool = False
    """The stack file did not exist at the base: everything is new."""
    head_missing: bool = False
    """The stack file is gone from the working tree: everything is deleted."""
    short_cut: bool = False
    """Working tree and base were identical: one plan served both sides."""
    notes: list[str] = field(default_factory=list)
    plans: tuple[dict[str, Any] | None, dict[str, Any] | None] = field(default=(None, None), repr=False)
    """The (masked) base and head plan documents compared; not part of the JSON report."""

    def of(self, op: Op) -> list[ResourceChange]:
        return [r for r in self.resources if r.op == op]

    @property
    def no_changes(self) -> bool:
        return not self.resources and not self.cost.changed and not self.findings.new and not self.findings.resolved

    @property
    def blocking(self) -> bool:
        """A mandatory finding is new or still open in the head plan (exit 1)."""
        return bool(self.findings.mandatory(self.findings.new) or self.findings.mandatory(self.findings.still_open))

    def to_json(self) -> dict[str, Any]:
        c = self.cost
        return {
            "stack": self.stack,
            "base": {"ref": self.base_ref, "commit": self.base_commit, "missing": self.base_missing},
            "head": {"ref": "working tree", "missing": self.head_missing},
            "no_changes": self.no_changes,
            "short_cut": self.short_cut,
            "summary": {op: len(self.of(op)) for op in ("create", "update", "replace", "delete")},
            "resources": [asdict(r) for r in self.resources],
            "cost": {
                "currency": c.currency,
                "monthly_expected": {"before": c.expected_before, "after": c.expected_after, "delta": c.expected_delta},
                "monthly_worst_case": {"before": c.worst_before, "after": c.worst_after, "delta": c.worst_delta},
                "expected_percent": c.expected_percent,
                "budget": c.budget_after,
                "by_component": c.by_component,
                "assumptions": c.assumptions,
                "assumptions_added": c.assumptions_added,
                "assumptions_removed": c.assumptions_removed,
                "unpriced_added": c.unpriced_added,
                "unpriced_removed": c.unpriced_removed,
            },
            "cost_guard": asdict(self.guard) if self.guard else None,
            "findings": asdict(self.findings),
            "blocking": self.blocking,
            "notes": self.notes,
        }


EMPTY_PLAN: dict[str, Any] = {
    "resources": [],
    "violations": [],
    "cost": {"currency": "USD", "monthly_expected": 0.0, "monthly_worst_case": 0.0, "budget": 0.0},
}


# --- property-level diff --------------------------------------------------------------------


def _key_path(path: str, key: str) -> str:
    part = key if _PLAIN_KEY.match(key) else f"[{json.dumps(key)}]"
    if not path:
        return part
    return f"{path}{part}" if part.startswith("[") else f"{path}.{part}"


def _json_container(value: Any) -> Any:
    """A JSON document held in a string (IAM policies) parsed, so its change shows per field."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            parsed = json.loads(value)
        except ValueError:
            return _ABSENT
        return parsed if isinstance(parsed, dict | list) else _ABSENT
    return _ABSENT


def diff_values(before: Any, after: Any, path: str = "") -> list[PropertyChange]:
    """Leaf-level changes from `before` to `after`, with nested paths."""
    if before == after:
        return []
    if SECRET_MASK in (before, after):
        # A value that is (or became) secret is never shown, old or new: Pulumi's text diff
        # leaked old values of newly-secret properties (pulumi/pulumi#9330).
        return [PropertyChange(path, SECRET_MASK, SECRET_MASK, "changed")]
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[PropertyChange] = []
        for key in [*before, *(k for k in after if k not in before)]:
            sub = _key_path(path, str(key))
            if key not in after:
                out.append(PropertyChange(sub, before[key], None, "removed"))
            elif key not in before:
                out.append(PropertyChange(sub, None, after[key], "added"))
            else:
                out += diff_values(before[key], after[key], sub)
        return out
    if isinstance(before, list) and isinstance(after, list):
        out = []
        for i in range(max(len(before), len(after))):
            sub = f"{path}[{i}]"
            if i >= len(after):
                out.append(PropertyChange(sub, before[i], None, "removed"))
            elif i >= len(before):
                out.append(PropertyChange(sub, None, after[i], "added"))
            else:
                out += diff_values(before[i], after[i], sub)
        return out
    parsed_before, parsed_after = _json_container(before), _json_container(after)
    if parsed_before is not _ABSENT and parsed_after is not _ABSENT:
        return diff_values(parsed_before, parsed_after, path)
    return [PropertyChange(path, before, after, "changed")]


# --- resources ----------------------------------------------------------------------------------


def component_of(resource: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> str:
    """Nearest ancestor whose type starts with `ai-factory:` (the component), else `(stack)`."""
    parent = resource.get("parent")
    seen: set[str] = set()
    while parent and parent in by_urn and parent not in seen:
        seen.add(parent)
        if by_urn[parent]["type"].startswith(COMPONENT_PREFIX):
            return str(by_urn[parent]["name"])
        parent = by_urn[parent].get("parent")
    return STACK_GROUP


def _option_changes(old: dict[str, Any], new: dict[str, Any]) -> list[PropertyChange]:
    out = []
    for opt in ("protect", "retainOnDelete"):
        if bool(old.get(opt)) != bool(new.get(opt)):
            out.append(PropertyChange(f"(options).{opt}", bool(old.get(opt)), bool(new.get(opt)), "changed"))
    if old.get("provider") != new.get("provider"):
        # The engine replaces a resource whose provider reference changes (pulumi/pulumi#8959).
        out.append(PropertyChange("(options).provider", old.get("provider"), new.get("provider"), "changed", True))
    return out


def _record(op: Op, r: dict[str, Any], by_urn: dict[str, dict[str, Any]], **kw: Any) -> ResourceChange:
    return ResourceChange(
        op=op,
        urn=r["urn"],
        type=r["type"],
        name=r["name"],
        component=component_of(r, by_urn),
        protect=bool(r.get("protect")),
        retain_on_delete=bool(r.get("retainOnDelete")),
        **kw,
    )


def diff_resources(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> list[ResourceChange]:
    """Created, deleted, updated and replaced resources, in the head's (then base's) order."""
    old = {r["urn"]: r for r in base}
    new = {r["urn"]: r for r in head}
    out: list[ResourceChange] = []
    for urn, r in new.items():
        if urn not in old:
            out.append(_record("create", r, new, inputs=r.get("inputs") or {}))
            continue
        was = old[urn]
        changes = [
            PropertyChange(c.path, c.before, c.after, c.kind, forces_replacement(r["type"], c.path))
            for c in diff_values(was.get("inputs") or {}, r.get("inputs") or {})
        ]
        changes += _option_changes(was, r)
        if changes:
            op: Op = "replace" if any(c.forces_replacement for c in changes) else "update"
            out.append(_record(op, r, new, changes=changes, in_replacement_table=known_type(r["type"])))
    for urn, r in old.items():
        if urn not in new:
            # Protection as the base knows it: that is what `pulumi up` will meet.
            out.append(_record("delete", r, old, inputs=r.get("inputs") or {}))
    return out


def _leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, _key_path(path, str(k)))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]")]
    return [(path, value)]


def _refers_to(value: Any, name: str) -> bool:
    # The mock runtime's ids are `<name>-id` / `<name>-key-id` and its ARNs end in `:<name>`.
    return isinstance(value, str) and (value in (f"{name}-id", f"{name}-key-id") or value.endswith(f":{name}"))


def cascade_replacements(changes: list[ResourceChange], head: list[dict[str, Any]]) -> list[ResourceChange]:
    """Replace resources that reference a replaced resource through a replacement-forcing input.

    A replaced bucket gets a new id, so e.g. its versioning resource (`bucket` forces
    replacement) is replaced with it, as a real preview shows. The offline plan cannot see the
    new id (the mock keeps names stable), so this is derived from the references.
    """
    by_urn = {c.urn: c for c in changes}
    index = {r["urn"]: r for r in head}
    replaced = [c for c in changes if c.op == "replace"]
    while replaced:
        newly: list[ResourceChange] = []
        for r in head:
            current = by_urn.get(r["urn"])
            if current is not None and current.op in ("create", "delete", "replace"):
                continue
            hits = [
                (path, value, rep.name)
                for path, value in _leaves(r.get("inputs") or {})
                if forces_replacement(r["type"], path)
                for rep in replaced
                if _refers_to(value, rep.name)
            ]
            if not hits:
                continue
            extra = [PropertyChange(p, v, f"(new id of {n})", "changed", True) for p, v, n in hits]
            if current is None:
                current = _record("replace", r, index, changes=extra, in_replacement_table=known_type(r["type"]))
                changes.append(current)
                by_urn[r["urn"]] = current
            else:
                current.op = "replace"
                current.changes += extra
            newly.append(current)
        replaced = newly
    return changes


def group_by_component(changes: list[ResourceChange]) -> dict[str, list[ResourceChange]]:
    groups: dict[str, list[ResourceChange]] = defaultdict(list)
    for c in changes:
        groups[c.component].append(c)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0] == STACK_GROUP, kv[0])))


# --- cost and findings -------------------------------------------------------------------------


def diff_cost(base: dict[str, Any], head: dict[str, Any]) -> CostDelta:
    b_by, h_by = base.get("by_component") or {}, head.get("by_component") or {}
    by_component = {}
    for comp in sorted(set(b_by) | set(h_by)):
        before, after = float(b_by.get(comp, 0.0)), float(h_by.get(comp, 0.0))
        if round(after - before, 2):
            by_component[comp] = {"before": before, "after": after, "delta": after - before}
    b_ass, h_ass = list(base.get("assumptions") or []), list(head.get("assumptions") or [])
    b_unp, h_unp = list(base.get("unpriced") or []), list(head.get("unpriced") or [])
    return CostDelta(
        currency=str(head.get("currency") or base.get("currency") or "USD"),
        expected_before=float(base.get("monthly_expected") or 0.0),
        expected_after=float(head.get("monthly_expected") or 0.0),
        worst_before=float(base.get("monthly_worst_case") or 0.0),
        worst_after=float(head.get("monthly_worst_case") or 0.0),
        budget_after=float(head.get("budget") or base.get("budget") or 0.0),
        by_component=by_component,
        assumptions=h_ass,
        assumptions_added=[a for a in h_ass if a not in b_ass],
        assumptions_removed=[a for a in b_ass if a not in h_ass],
        unpriced_added=[u for u in h_unp if u not in b_unp],
        unpriced_removed=[u for u in b_unp if u not in h_unp],
    )


def diff_findings(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> Findings:
    """New, resolved and still-open findings, matched by rule ID and resource URN."""
    remaining: dict[tuple[str, str | None], int] = defaultdict(int)
    for v in base:
        remaining[(v["policy"], v.get("urn"))] += 1
    found = Findings()
    for v in head:
        key = (v["policy"], v.get("urn"))
        if remaining[key] > 0:
            remaining[key] -= 1
            found.still_open.append(v)
        else:
            found.new.append(v)
    head_count: dict[tuple[str, str | None], int] = defaultdict(int)
    for v in head:
        head_count[(v["policy"], v.get("urn"))] += 1
    for v in base:
        key = (v["policy"], v.get("urn"))
        if head_count[key] > 0:
            head_count[key] -= 1
        else:
            found.resolved.append(v)
    return found


def cost_guard(cost: CostDelta, max_usd: float, max_percent: float, source: str) -> CostGuard:
    increase, pct = cost.expected_delta, cost.expected_percent
    reasons = []
    if increase > max_usd:
        reasons.append(f"+{increase:,.0f} {cost.currency}/month is above {max_usd:,.0f}")
    if increase > 0 and pct is not None and pct > max_percent:
        reasons.append(f"+{pct:.1f}% is above {max_percent:g}%")
    return CostGuard(max_usd, max_percent, source, bool(reasons), "; ".join(reasons))


def compare(
    stack: str, base_ref: str, base_commit: str, base: dict[str, Any] | None, head: dict[str, Any] | None
) -> StackDiff:
    """The diff of two plan documents; None for a side where the stack does not exist."""
    b, h = base or EMPTY_PLAN, head or EMPTY_PLAN
    changes = cascade_replacements(diff_resources(b["resources"], h["resources"]), h["resources"])
    diff = StackDiff(
        stack=stack,
        base_ref=base_ref,
        base_commit=base_commit,
        resources=changes,
        cost=diff_cost(b.get("cost") or {}, h.get("cost") or {}),
        findings=diff_findings(b.get("violations") or [], h.get("violations") or []),
        base_missing=base is None,
        head_missing=head is None,
        plans=(base, head),
    )
    unknown = sorted({c.type for c in changes if c.op == "update" and not c.in_replacement_table})
    if unknown:
        diff.notes.append(
            "replacement not checked for types outside the table (shown as in-place updates): " + ", ".join(unknown)
        )
    return diff
