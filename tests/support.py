"""Plain helpers for tests (importable as `support`; pytest config puts tests/ on sys.path)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STACKS = REPO / "stacks"
REFERENCE_STACKS = ("dev", "lab", "prod-eu")


def stack_doc(stack: str) -> dict[str, Any]:
    """A fresh, mutable copy of a reference stack file."""
    # The product's own loader: dates stay text, as Pulumi hands config to a program.
    from components.config.loader import load_stack_yaml

    return copy.deepcopy(load_stack_yaml((STACKS / f"Pulumi.{stack}.yaml").read_text()))
