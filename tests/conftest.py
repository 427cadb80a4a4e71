"""Shared fixtures: stack copies and the CLI in-process."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REFERENCE_DAY = datetime.date(2026, 11, 23)
"""The reference stacks' evaluation records carry real dates; the suite judges them on a fixed day so a
verdict does not change with the calendar. The freshness rule's own tests set their dates explicitly."""


@pytest.fixture(autouse=True)
def _pin_evaluation_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from policies.rules import release

    monkeypatch.setattr(release, "today", lambda: REFERENCE_DAY)


@pytest.fixture
def never_run(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record any attempt to run the program under the mock runtime (on invalid input there must be none)."""
    import components.tooling.plan as plan_module

    calls: list[Any] = []
    monkeypatch.setattr(plan_module, "run_under_mocks", lambda *a, **k: calls.append((a, k)) or [])
    return calls


@pytest.fixture
def write_stack(tmp_path: Path) -> Callable[[str, dict[str, Any]], Path]:
    """Write `doc` as `Pulumi.<name>.yaml` into a temp stacks dir; returns the dir."""

    def _write(name: str, doc: dict[str, Any]) -> Path:
        (tmp_path / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        return tmp_path

    return _write


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `factory …` in-process (same code path as the console script)."""
    from components.tooling.cli import run

    def _run(*argv: str) -> CliResult:
        code = run(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return _run
