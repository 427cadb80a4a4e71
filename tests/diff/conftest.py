"""Throwaway git repositories holding a copy of the project, for `factory diff` tests.

Each test gets its own repository (copied from one built per session): the project's
components/, policies/, stacks/, Pulumi.yaml and pyproject.toml committed on `main`. Tests then
edit the working tree (or commit) and diff against `HEAD`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COPIED = ("components", "policies", "stacks", "Pulumi.yaml", "pyproject.toml")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "diff-test",
    "GIT_AUTHOR_EMAIL": "diff-test@example.com",
    "GIT_COMMITTER_NAME": "diff-test",
    "GIT_COMMITTER_EMAIL": "diff-test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(root.parent)}
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, env=env, check=True)
    return proc.stdout


@dataclass
class Report:
    diff: Any
    """The StackDiff."""
    doc: dict[str, Any]
    """Its JSON rendering, parsed."""
    markdown: str
    text: str
    formats: dict[str, str]

    @property
    def exit_code(self) -> int:
        return 1 if self.diff.blocking else 0


@dataclass
class Project:
    """A throwaway repository with the project in it."""

    root: Path

    @property
    def stacks(self) -> Path:
        return self.root / "stacks"

    def stack_doc(self, stack: str) -> dict[str, Any]:
        return yaml.safe_load((self.stacks / f"Pulumi.{stack}.yaml").read_text())

    def write_stack(self, stack: str, doc: dict[str, Any]) -> None:
        (self.stacks / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))

    def edit_stack(self, stack: str, edit: Callable[[dict[str, Any]], None]) -> None:
        doc = self.stack_doc(stack)
        edit(doc["config"])
        self.write_stack(stack, doc)

    def replace_in(self, relpath: str, old: str, new: str) -> None:
        path = self.root / relpath
        text = path.read_text()
        assert old in text, f"{relpath} no longer contains {old!r}: update this test's anchor"
        path.write_text(text.replace(old, new))

    def git(self, *args: str) -> str:
        return git(self.root, *args)

    def commit(self, message: str = "change") -> str:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)
        return git(self.root, "rev-parse", "HEAD").strip()

    def cli(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """`factory …` run the way a user runs it inside this repository (its own code)."""
        env = {**os.environ, "PYTHONPATH": str(self.root)}
        return subprocess.run(
            [sys.executable, "-m", "components.tooling.cli", *argv],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def diff(self, stack: str, *flags: str, base: str = "HEAD", fmt: str = "json") -> subprocess.CompletedProcess[str]:
        return self.cli("diff", stack, "--base", base, "--format", fmt, *flags)

    def diff_json(self, stack: str, *flags: str, base: str = "HEAD") -> tuple[int, dict[str, Any]]:
        proc = self.diff(stack, *flags, base=base)
        assert proc.returncode in (0, 1), proc.stderr
        return proc.returncode, json.loads(proc.stdout)

    def report(self, stack: str, base: str = "HEAD", usd: float | None = None, percent: float | None = None) -> Report:
        """One diff (two plans, in their own processes), rendered in every format in-process."""
        from components.tooling.diff import GuardThresholds, make_diff
        from components.tooling.diff_render import RENDERERS

        diff = make_diff(stack, base, self.stacks, GuardThresholds(usd, percent))
        rendered = {fmt: render(diff) for fmt, render in RENDERERS.items()}
        return Report(diff, json.loads(rendered["json"]), rendered["markdown"], rendered["text"], rendered)

    def plan(self, stack: str) -> dict[str, Any]:
        proc = self.cli("plan", stack, "--format", "json")
        assert proc.returncode in (0, 1), proc.stderr
        return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template") / "repo"
    root.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=ignore)
        else:
            shutil.copy2(src, root / name)
    (root / ".gitignore").write_text("__pycache__/\n*.pyc\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def clone(template: Path, parent: Path) -> Project:
    """A fresh copy of the template repository under `parent`."""
    root = parent / "repo"
    shutil.copytree(template, root, symlinks=True)
    return Project(root)


@pytest.fixture
def project(_template: Path, tmp_path: Path) -> Project:
    return clone(_template, tmp_path)


@pytest.fixture(scope="module")
def module_project(_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """One repository shared by a module's tests (for a diff computed once and asserted often)."""
    return clone(_template, tmp_path_factory.mktemp("module"))
