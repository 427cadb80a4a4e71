"""docs/POLICIES.md is generated from the registry and must be current; IDs are stable and grouped."""

from __future__ import annotations

import re

from policies.catalogue import DOC_PATH, FAMILIES, render_markdown
from policies.rules import RULES


def test_committed_catalogue_is_current() -> None:
    assert DOC_PATH.is_file(), "run `factory policies --format markdown`"
    assert DOC_PATH.read_text() == render_markdown(), "stale: run `factory policies --format markdown`"


def test_cli_check_reports_stale(tmp_path, capsys) -> None:
    from components.tooling.cli import run

    stale = tmp_path / "POLICIES.md"
    stale.write_text("old\n")
    assert run(["policies", "--format", "markdown", "--output", str(stale), "--check"]) == 1
    assert "is stale" in capsys.readouterr().err
    assert run(["policies", "--format", "markdown", "--output", str(stale)]) == 0
    assert run(["policies", "--format", "markdown", "--output", str(stale), "--check"]) == 0


def test_every_rule_is_documented_with_its_fields() -> None:
    text = render_markdown()
    assert len(RULES) >= 30
    for rule in RULES:
        assert re.fullmatch(r"AIF-(ENC|RES|BUD|SEC|IAM|TAG|K8S|REL|DATA)-\d{3}", rule.id)
        assert rule.id.split("-")[1] in FAMILIES
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
        assert set(rule.enforcement) == {"dev", "staging", "prod"}
        assert rule.description.endswith(".") and rule.why and rule.remediation
        assert f"| {rule.id} | `{rule.name}` |" in text
    assert "--policy-pack-config policies/config/prod-eu.json" in text


def test_mandatory_gates_are_mandatory_in_every_tier() -> None:
    from policies.rules import RULES_BY_ID

    for rule_id in ("AIF-BUD-001", "AIF-RES-001", "AIF-RES-002", "AIF-RES-004"):
        assert {e.value for e in RULES_BY_ID[rule_id].enforcement.values()} == {"mandatory"}
