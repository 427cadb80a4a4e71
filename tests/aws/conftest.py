"""Fixtures of the AWS tests: each reference stack planned once per session under the mock runtime."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# --import-mode=importlib puts only tests/ on sys.path; the AWS tests share one helper module.
sys.path.insert(0, str(Path(__file__).parent))

from aws_support import StackPlan, plan_stack


@pytest.fixture(scope="session")
def stacks() -> dict[str, StackPlan]:
    return {s: plan_stack(s) for s in ("dev", "lab", "prod-eu")}


@pytest.fixture(scope="session")
def prod(stacks: dict[str, StackPlan]) -> StackPlan:
    return stacks["prod-eu"]
