"""Generated files committed to the repository are current."""

from __future__ import annotations

import json

import jsonschema
import pytest
from support import REFERENCE_STACKS, REPO, stack_doc

from components.config import load_stack
from components.tooling.schema import stack_file_schema
from policies.stack_config import config_path, render


def test_stack_schema_is_current() -> None:
    committed = json.loads((REPO / "docs" / "stack.schema.json").read_text())
    assert committed == stack_file_schema(), "run `factory schema`"


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_reference_stacks_validate_against_the_editor_schema(stack: str) -> None:
    jsonschema.Draft202012Validator(stack_file_schema()).validate(stack_doc(stack))


def test_editor_schema_catches_a_bad_tier() -> None:
    doc = stack_doc("dev")
    doc["config"]["ai-factory:environment"]["tier"] = "production"
    errors = list(jsonschema.Draft202012Validator(stack_file_schema()).iter_errors(doc))
    assert errors and "'production' is not one of" in errors[0].message


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_policy_pack_config_is_current(stack: str) -> None:
    _, cfg = load_stack(stack)
    path = config_path(stack)
    assert path.is_file(), f"run `factory policy-config {stack}`"
    assert path.read_text() == render(cfg), f"stale: run `factory policy-config {stack}`"
