"""`factory models STACK`: the model registry of one environment, read from its catalog.

Answers "what is live, which revision, who approved it, which evaluation passed" for the
stack as committed; `factory diff` answers "what changed since the last deploy". The gate
column is the verdict of the release rules themselves (policies/rules/release.py) on the same
release records the servers carry, so the table can never disagree with the policy.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from components.config.models import FactoryConfig
from components.releases import release_record, releases
from policies.rules.release import approval_problems, evaluation_problems


def registry(cfg: FactoryConfig) -> list[dict[str, Any]]:
    """One row per served release (stable, then candidate), with the gate's problems."""
    rows: list[dict[str, Any]] = []
    for entry in cfg.serving.models if cfg.serving else []:
        for served in releases(entry):
            record = release_record(served)
            problems = evaluation_problems(record["evaluation"]) + approval_problems(record)
            rows.append(
                {**record, "tier": entry.tier.value, "gate": "pass" if not problems else "fail", "problems": problems}
            )
    return rows


def render_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps({"releases": rows}, indent=2) + "\n"


def render_text(stack: str, cfg: FactoryConfig, rows: list[dict[str, Any]]) -> str:
    table = Table(title=f"{stack}: model registry (tier {cfg.environment.tier.value})", show_lines=False)
    for col in ("model", "release", "traffic", "revision", "risk", "author", "evaluation", "approved by", "gate"):
        table.add_column(col)
    for r in rows:
        ev = r["evaluation"]
        evaluation = f"{ev['suite']}@{ev['suiteVersion']} {ev['date']} {ev['result']}" if ev else "-"
        approvers = ", ".join(f"{a['by']} ({a['date']})" for a in r["approvals"]) or "-"
        gate = "pass" if r["gate"] == "pass" else "FAIL: " + "; ".join(r["problems"])
        table.add_row(
            r["model"],
            r["release"],
            f"{r['trafficPercent']}%",
            r["revision"][:12],
            r["riskTier"],
            r["author"] or "-",
            evaluation,
            approvers,
            gate,
        )
    console = Console(width=200, record=True, force_terminal=False)
    with console.capture() as capture:
        console.print(table)
    return capture.get()
