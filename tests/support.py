"""Plain helpers for tests (importable as `support`; pytest config puts tests/ on sys.path)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from components.stack_yaml import load_stack_yaml

REPO = Path(__file__).resolve().parents[1]
STACKS = REPO / "stacks"
REFERENCE_STACKS = ("dev", "lab", "prod-eu")


def stack_doc(stack: str) -> dict[str, Any]:
    """A fresh, mutable copy of a reference stack file."""
    # The product's own loader: dates stay text, as Pulumi hands config to a program.
    return copy.deepcopy(load_stack_yaml((STACKS / f"Pulumi.{stack}.yaml").read_text()))


def doc_sections(doc: dict[str, Any]) -> dict[str, Any]:
    """The `ai-factory:<section>` values of a stack document, keyed by section (parse_sections' input)."""
    return {k.split(":", 1)[1]: v for k, v in doc["config"].items()}


def sections(stack: str) -> dict[str, Any]:
    """A fresh, mutable copy of a reference stack's sections."""
    return doc_sections(stack_doc(stack))


def config_problems(stack: str, mutate: Callable[[dict[str, Any]], None]) -> list[str]:
    """The one-line problems (`path: what (allowed: …)`) of a reference stack's sections after `mutate`."""
    import pytest

    from components.config.errors import ConfigError
    from components.config.loader import parse_sections

    s = sections(stack)
    mutate(s)
    with pytest.raises(ConfigError) as err:
        parse_sections(s)
    return [str(p) for p in err.value.problems]
