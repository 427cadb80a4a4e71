"""Render a StackDiff as Markdown (the PR comment), text (a terminal) or JSON.

Shape of the comment, after tfcmt/Atlantis and Infracost: the summary line first, a banner
when anything is deleted or replaced, findings and cost next, resource details folded per
component, and output longer than a GitHub comment cut in the middle with a count.
"""

from __future__ import annotations

import json
from typing import Any

from components.tooling.diff_model import PropertyChange, ResourceChange, StackDiff, group_by_component

GITHUB_COMMENT_LIMIT = 65_536
# Room for what wraps our text in a comment (the sticky-comment action's hidden header).
MARKDOWN_MAX_CHARS = GITHUB_COMMENT_LIMIT - 1_536
MARKER = "<!-- factory-diff:{stack} -->"
VALUE_MAX = 160
_SIGN = {"create": "+", "update": "~", "replace": "±", "delete": "−"}
_VERB = {"create": "create", "update": "update", "replace": "replace", "delete": "delete"}


def _money(x: float, signed: bool = False) -> str:
    sign = ("+" if x >= 0 else "−") if signed else ("−" if x < 0 else "")
    return f"{sign}${abs(x):,.0f}"


def _value(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)
    text = text.replace("\n", "\\n")
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


def _code(v: Any) -> str:
    return "`" + _value(v).replace("`", "'") + "`"


def summary_line(d: StackDiff) -> str:
    """`prod-eu: +3 ~2 −1, replacements: 1, monthly +$1,240 (worst case +$9,800), 1 new mandatory finding`."""
    if d.no_changes:
        text = f"{d.stack}: no changes"
        open_mandatory = d.findings.mandatory(d.findings.still_open)
        if open_mandatory:
            text += f" ({open_mandatory} mandatory finding{'s' * (open_mandatory != 1)} still open)"
        return text
    c = d.cost
    parts = [
        f"{d.stack}: +{len(d.of('create'))} ~{len(d.of('update'))} −{len(d.of('delete'))}",
        f"replacements: {len(d.of('replace'))}",
        f"monthly {_money(c.expected_delta, True)} (worst case {_money(c.worst_delta, True)})",
    ]
    new_m = d.findings.mandatory(d.findings.new)
    new_a = len(d.findings.new) - new_m
    if new_m:
        parts.append(f"{new_m} new mandatory finding{'s' * (new_m != 1)}")
    if new_a:
        parts.append(f"{new_a} new advisory finding{'s' * (new_a != 1)}")
    if d.findings.resolved:
        parts.append(f"{len(d.findings.resolved)} resolved")
    open_m = d.findings.mandatory(d.findings.still_open)
    if open_m:
        parts.append(f"{open_m} mandatory still open")
    return ", ".join(parts)


def _origin(d: StackDiff) -> str:
    base = f"`{d.base_ref}` ({d.base_commit[:10]})"
    if d.base_missing:
        return f"The stack does not exist at {base}: every resource is new."
    if d.head_missing:
        return f"The stack file is deleted in this change: every resource of {base} is deleted."
    once = " No plan input differs from the base, so it was planned once." if d.short_cut else ""
    return f"Working tree against {base}, planned offline (Pulumi mock runtime, no cloud credentials).{once}"


def _danger(r: ResourceChange) -> str:
    """Why a deletion or replacement needs care; nothing for creates and in-place updates."""
    if r.op not in ("delete", "replace"):
        return ""
    notes = []
    if r.op == "replace":
        forced = [c.path for c in r.changes if c.forces_replacement]
        notes.append("forced by " + ", ".join(f"`{p}`" for p in forced))
    if r.protect:
        notes.append("protected: `pulumi up` refuses until protection is lifted")
    if r.op == "delete" and r.retain_on_delete:
        notes.append("retained on delete: stays in AWS, leaves the stack")
    return f" ({'; '.join(notes)})" if notes else ""


def _prop_line(c: PropertyChange) -> str:
    flag = " **forces replacement**" if c.forces_replacement else ""
    if c.kind == "added":
        return f"`{c.path}`: added {_code(c.after)}{flag}"
    if c.kind == "removed":
        return f"`{c.path}`: removed (was {_code(c.before)}){flag}"
    return f"`{c.path}`: {_code(c.before)} → {_code(c.after)}{flag}"


def _finding_rows(d: StackDiff) -> list[tuple[str, dict[str, Any]]]:
    f = d.findings
    return [
        *(("new", v) for v in f.new),
        *(("still open", v) for v in f.still_open),
        *(("resolved", v) for v in f.resolved),
    ]


def _short_urn(urn: str | None) -> str:
    return (urn or "(stack)").split("::")[-1]


# --- Markdown --------------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(d: StackDiff, max_chars: int = MARKDOWN_MAX_CHARS) -> str:
    lines = [f"### {summary_line(d)}", "", _origin(d), ""]
    deleted, replaced = d.of("delete"), d.of("replace")
    if deleted or replaced:
        lines += [
            "> [!CAUTION]",
            f"> **This change deletes {len(deleted)} and replaces {len(replaced)} resource(s).** "
            "Data held by a deleted or replaced bucket, key or volume is lost unless it is retained.",
        ]
        lines += [f"> - {_VERB[r.op]} `{r.type}` **{r.name}**{_danger(r)}" for r in [*deleted, *replaced]]
        lines.append("")
    if d.blocking:
        lines += [
            "> [!IMPORTANT]",
            "> A mandatory policy finding is new or still open: this change cannot merge until it is fixed.",
            "",
        ]
    if d.guard and d.guard.tripped:
        lines += [
            "> [!WARNING]",
            f"> Cost guard (advisory): {d.guard.reason} (thresholds from {d.guard.source}).",
            "",
        ]
    rows = _finding_rows(d)
    lines += ["#### Policy findings", ""]
    if rows:
        lines += ["| status | level | rule | resource | message | remediation |", "|---|---|---|---|---|---|"]
        for status, v in rows:
            lines.append(
                f"| {status} | {v.get('enforcement')} | {v.get('policy')} | `{_cell(_short_urn(v.get('urn')))}` "
                f"| {_cell(v.get('message'))} | {_cell(v.get('remediation'))} |"
            )
    else:
        lines.append("No findings before or after.")
    lines += ["", *_cost_markdown(d), ""]
    if d.resources:
        lines += [f"#### Resources ({len(d.resources)} changed)", ""]
        for component, members in group_by_component(d.resources).items():
            counts = " ".join(f"{_SIGN[op]}{sum(r.op == op for r in members)}" for op in _SIGN)
            lines += [f"<details><summary><b>{component}</b>: {counts}</summary>", ""]
            for r in members:
                lines.append(f"- {_VERB[r.op]} `{r.type}` **{r.name}**{_danger(r)}")
                lines += [f"  - {_prop_line(c)}" for c in r.changes]
            lines += ["", "</details>", ""]
    lines += [*(f"_Note: {n}_" for n in d.notes)]
    lines += ["", f"<sub>Run locally: `factory diff {d.stack} --base {d.base_ref}`</sub>", MARKER.format(stack=d.stack)]
    return cut_middle("\n".join(lines) + "\n", max_chars, hint=f"factory diff {d.stack} --base {d.base_ref}")


def _cost_markdown(d: StackDiff) -> list[str]:
    c = d.cost
    pct = f", {c.expected_percent:+.1f}%" if c.expected_percent is not None and c.expected_delta else ""
    out = [
        "#### Cost (monthly)",
        "",
        f"Expected {_money(c.expected_before)} → {_money(c.expected_after)} ({_money(c.expected_delta, True)}{pct}); "
        f"worst case {_money(c.worst_before)} → {_money(c.worst_after)} ({_money(c.worst_delta, True)}); "
        f"budget {_money(c.budget_after)}.",
    ]
    if c.by_component:
        out += ["", "| component | before | after | change |", "|---|---:|---:|---:|"]
        out += [
            f"| {_cell(k)} | {_money(v['before'])} | {_money(v['after'])} | {_money(v['delta'], True)} |"
            for k, v in c.by_component.items()
        ]
    extra = [
        *(f"- {'**new:** ' if a in c.assumptions_added else ''}{a}" for a in c.assumptions),
        *(f"- **dropped:** {a}" for a in c.assumptions_removed),
        *(f"- newly unpriced: `{_short_urn(u)}`" for u in c.unpriced_added),
        *(f"- no longer unpriced: `{_short_urn(u)}`" for u in c.unpriced_removed),
    ]
    if extra:
        out += ["", "<details><summary>Assumptions</summary>", "", *extra, "", "</details>"]
    return out


# --- cutting ---------------------------------------------------------------------------------


def _depth(line: str) -> int:
    return line.count("<details") - line.count("</details>")


def cut_middle(text: str, max_chars: int, hint: str = "factory diff") -> str:
    """`text` if it fits, else its head and tail around a line saying how much was cut.

    Cuts on line boundaries; <details> blocks open at the cut are closed and reopened so the
    head and the tail both render.
    """
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    lines = text.splitlines()
    budget = max_chars - 600  # the marker line and the re-balanced <details> tags
    head_budget, tail_budget = budget * 2 // 3, budget - budget * 2 // 3
    head_end, used = 0, 0
    while head_end < len(lines) and used + len(lines[head_end]) + 1 <= head_budget:
        used += len(lines[head_end]) + 1
        head_end += 1
    tail_start, used = len(lines), 0
    while tail_start > head_end and used + len(lines[tail_start - 1]) + 1 <= tail_budget:
        used += len(lines[tail_start - 1]) + 1
        tail_start -= 1
    cut = lines[head_end:tail_start]
    open_at_head = sum(_depth(line) for line in lines[:head_end])
    open_at_tail = open_at_head + sum(_depth(line) for line in cut)
    chars = sum(len(line) + 1 for line in cut)
    middle = [
        *["", "</details>"] * max(open_at_head, 0),
        "",
        f"> ✂️ **{len(cut):,} lines ({chars:,} characters) cut here** to fit a GitHub comment; "
        f"run `{hint}` for the full report.",
        "",
        *["<details><summary>(continued)</summary>", ""] * max(open_at_tail, 0),
    ]
    return "\n".join([*lines[:head_end], *middle, *lines[tail_start:]]) + "\n"


# --- text and JSON -----------------------------------------------------------------------------


def render_text(d: StackDiff, max_chars: int = 0) -> str:
    out = [summary_line(d), _origin(d).replace("`", "")]
    deleted, replaced = d.of("delete"), d.of("replace")
    if deleted or replaced:
        out.append(f"!! DELETES {len(deleted)} AND REPLACES {len(replaced)} RESOURCE(S):")
        out += [f"!!   {r.op} {r.type} {r.name}{_danger(r).replace('`', '')}" for r in [*deleted, *replaced]]
    if d.blocking:
        out.append("!! a mandatory policy finding is new or still open: this change cannot merge")
    if d.guard and d.guard.tripped:
        out.append(f"!  cost guard (advisory): {d.guard.reason} (thresholds from {d.guard.source})")
    rows = _finding_rows(d)
    out.append(f"Findings ({len(rows)}):" if rows else "Findings: none")
    out += [
        f"  {status:10} {v.get('enforcement', ''):9} {v.get('policy')} {_short_urn(v.get('urn'))}: {v.get('message')}"
        for status, v in rows
    ]
    c = d.cost
    out.append(
        f"Cost: expected {_money(c.expected_before)} -> {_money(c.expected_after)} ({_money(c.expected_delta, True)}), "
        f"worst case {_money(c.worst_before)} -> {_money(c.worst_after)} ({_money(c.worst_delta, True)}) per month"
    )
    out += [f"  {k}: {_money(v['delta'], True)}" for k, v in c.by_component.items()]
    out += [f"  assumption{' (new)' if a in c.assumptions_added else ''}: {a}" for a in c.assumptions]
    out += [f"  assumption (dropped): {a}" for a in c.assumptions_removed]
    for component, members in group_by_component(d.resources).items():
        out.append(f"{component}:")
        for r in members:
            out.append(f"  {_SIGN[r.op]} {r.type} {r.name}{_danger(r).replace('`', '')}")
            out += [f"      {_prop_line(p).replace('`', '').replace('**', '')}" for p in r.changes]
    out += [f"note: {n}" for n in d.notes]
    return cut_middle("\n".join(out) + "\n", max_chars, hint=f"factory diff {d.stack} --base {d.base_ref}")


def render_json(d: StackDiff, max_chars: int = 0) -> str:
    # Never cut: a machine reader wants all of it or an error.
    return json.dumps(d.to_json(), indent=2, default=str) + "\n"


RENDERERS = {"markdown": render_markdown, "text": render_text, "json": render_json}
