"""Render a plan as text (terminal), JSON (the contract) or Markdown (a PR comment)."""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from typing import Any

from rich.console import Console
from rich.tree import Tree

from components.tooling.plan import Plan


def _component_of(resource: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> str:
    """Nearest component (ai-factory:* ancestor) of a resource, or the stack itself."""
    parent = resource.get("parent")
    while parent and parent in by_urn:
        if by_urn[parent]["type"].startswith("ai-factory:"):
            return by_urn[parent]["name"]
        parent = by_urn[parent].get("parent")
    return "(stack)"


def group_by_component(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    by_urn = {r["urn"]: r for r in plan.resources}
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in plan.resources:
        if r["type"].startswith("ai-factory:"):
            continue
        groups[_component_of(r, by_urn)].append(r)
    return dict(sorted(groups.items()))


def _money(x: float) -> str:
    return f"${x:,.0f}"


def summary_line(plan: Plan) -> str:
    mandatory = sum(v.enforcement == "mandatory" for v in plan.violations)
    advisory = len(plan.violations) - mandatory
    c = plan.cost
    return (
        f"{plan.stack}: {len(plan.resources)} resources, "
        f"{mandatory} mandatory and {advisory} advisory findings, "
        f"monthly {_money(c.monthly_expected)} expected / {_money(c.monthly_worst_case)} worst case "
        f"of {_money(c.budget)} budget"
    )


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=False, default=str) + "\n"


def render_text(plan: Plan) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=120, no_color=True, highlight=False, soft_wrap=True)
    console.print(summary_line(plan))
    tree = Tree(f"stack {plan.stack} (tier {plan.config.environment.tier.value})")
    for component, members in group_by_component(plan).items():
        counts = Counter(r["type"] for r in members)
        branch = tree.add(f"{component}: {len(members)} resources")
        for typ, n in sorted(counts.items()):
            branch.add(f"{n} × {typ}")
    console.print(tree)
    for w in plan.warnings:
        console.print(f"warning: {w}")
    console.print(f"Findings ({len(plan.violations)}):")
    for v in plan.violations:
        console.print(f"  {v.enforcement.upper():9} {v.policy} {v.urn or '(stack)'}: {v.message}")
        console.print(f"            fix: {v.remediation}")
    if not plan.violations:
        console.print("  none")
    c = plan.cost
    console.print(
        f"Cost: {_money(c.monthly_expected)} expected, {_money(c.monthly_worst_case)} worst case per month "
        f"(budget {_money(c.budget)}); {len(c.unpriced)} resources unpriced"
    )
    for a in c.assumptions:
        console.print(f"  assumption: {a}")
    return buf.getvalue()


def render_markdown(plan: Plan) -> str:
    lines = [f"### `{plan.stack}` — offline plan", "", f"**{summary_line(plan)}**", ""]
    mandatory = [v for v in plan.violations if v.enforcement == "mandatory"]
    if mandatory:
        lines += [f"> [!CAUTION]\n> {len(mandatory)} mandatory policy finding(s) block this change.", ""]
    for w in plan.warnings:
        lines += [f"> [!WARNING]\n> {w}", ""]
    lines += ["| component | resources | types |", "|---|---:|---|"]
    for component, members in group_by_component(plan).items():
        counts = Counter(r["type"].split(":")[-1] for r in members)
        types = ", ".join(f"{n}× {t}" for t, n in sorted(counts.items()))
        lines.append(f"| {component} | {len(members)} | {types} |")
    lines += ["", "#### Policy findings", ""]
    if plan.violations:
        lines += ["| level | rule | resource | message | remediation |", "|---|---|---|---|---|"]
        for v in plan.violations:
            urn = (v.urn or "(stack)").split("::")[-1]
            lines.append(f"| {v.enforcement} | {v.policy} | `{urn}` | {v.message} | {v.remediation} |")
    else:
        lines.append("No findings.")
    c = plan.cost
    lines += [
        "",
        "#### Cost",
        "",
        f"Expected {_money(c.monthly_expected)} / worst case {_money(c.monthly_worst_case)} per month "
        f"against a budget of {_money(c.budget)}.",
        "",
        "<details><summary>Assumptions and unpriced resources</summary>",
        "",
        *[f"- {a}" for a in c.assumptions],
        *[f"- unpriced: `{u.split('::')[-1]}`" for u in c.unpriced],
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
