"""`factory plan --format json` honours DESIGN §4 and its committed JSON Schema."""

from __future__ import annotations

import json

import jsonschema
import pytest
from support import REFERENCE_STACKS, REPO

from components.conventions import SECRET_MASK
from components.tooling.plan import make_plan, mask
from components.tooling.report import render_json, render_markdown, render_text

SCHEMA = json.loads((REPO / "docs" / "plan.schema.json").read_text())


@pytest.fixture(scope="module")
def plans() -> dict[str, object]:
    return {stack: make_plan(stack) for stack in REFERENCE_STACKS}


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_plan_json_validates_against_committed_schema(stack: str, plans: dict) -> None:
    doc = json.loads(render_json(plans[stack]))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["stack"] == stack
    assert doc["resources"], "a reference stack registers resources"


def test_schema_rejects_a_broken_plan() -> None:
    """The schema is a real contract: a plan missing a key or with a bad rule ID fails it."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    bad = {"stack": "x", "resources": [], "violations": [{"policy": "TAG-1"}], "cost": {}}
    messages = sorted(e.message for e in validator.iter_errors(bad))
    assert any("'name' is a required property" in m for m in messages)
    assert any("does not match" in m for m in messages)
    assert any("'currency' is a required property" in m for m in messages)


def test_resource_records_carry_contract_fields(plans: dict) -> None:
    plan = plans["prod-eu"]
    bucket = next(r for r in plan.resources if r["type"] == "aws:s3/bucket:Bucket")
    assert bucket["urn"].startswith("urn:pulumi:prod-eu::ai-factory::")
    assert bucket["parent"].endswith("ai-factory:aws:Storage::prod-eu-storage")
    assert bucket["inputs"]["forceDestroy"] is False
    assert bucket["protect"] is True


def test_secrets_and_provider_blobs_are_masked() -> None:
    from pulumi.runtime import rpc

    planted = {"password": rpc.wrap_rpc_secret("hunter2"), "__provider": "gASVblob", "nested": [{"k": "v"}]}
    assert mask(planted) == {"password": SECRET_MASK, "__provider": SECRET_MASK, "nested": [{"k": "v"}]}


@pytest.mark.parametrize("render", [render_json, render_text, render_markdown])
def test_no_secret_placeholder_reaches_any_format(render, plans: dict) -> None:
    """The plan supplies marked placeholders for secrets; no output format may show one."""
    for plan in plans.values():
        assert "offline-placeholder-for" not in render(plan)


def test_text_and_markdown_summaries(plans: dict) -> None:
    text = render_text(plans["prod-eu"])
    assert text.splitlines()[0].startswith(f"prod-eu: {len(plans['prod-eu'].resources)} resources, 0 mandatory")
    assert "prod-eu-storage:" in text
    md = render_markdown(plans["dev"])
    assert md.startswith("### `dev` — offline plan")
    assert "| component | resources | types |" in md
