"""`factory diff STACK --base REF`: plan the stack at REF and in the working tree, then compare.

Pulumi's mock runtime is process-wide, so each side is planned by its own `factory plan
--format json` process, run with that tree's own code first on `sys.path` (the base is a
temporary `git worktree`; the venv's editable install points at the main checkout and would
otherwise win for namespace lookups). Both run in parallel; a working tree whose plan inputs
equal REF is planned once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.conventions import CONFIG_NAMESPACE, SECRET_MASK
from components.stack_yaml import load_stack_yaml
from components.tooling import diff_git
from components.tooling.diff_git import DiffInputError, OperationalFailure
from components.tooling.diff_model import CostGuard, StackDiff, compare, cost_guard

PLAN_TIMEOUT_S = 900
DEFAULT_GUARD_USD = 500.0
DEFAULT_GUARD_PERCENT = 10.0
# Stack-config keys the guard reads once `BudgetConfig` knows them (asked of the lead);
# until then the CLI flags and defaults apply.
GUARD_KEYS = ("prCostIncreaseUsd", "prCostIncreasePercent")

# Runs `factory plan` with the tree at argv[1] first on sys.path and proves it: a plan made by
# the wrong copy of the code would make the whole diff a lie.
_BOOT = """
import sys
from pathlib import Path
root = Path(sys.argv[1]).resolve()
sys.path.insert(0, str(root))
import components, policies
for mod in (components, policies):
    where = Path(mod.__file__ or next(iter(mod.__path__))).resolve()  # namespace packages have no file
    if root not in where.parents:
        print(f"factory: {mod.__name__} imported from {where.parent}, not from {root}", file=sys.stderr)
        sys.exit(3)
from components.tooling.cli import main
sys.argv = ["factory", *sys.argv[2:]]
main()
"""


@dataclass(frozen=True)
class GuardThresholds:
    """The cost guard's thresholds as given on the command line (None: stack config, else default)."""

    usd: float | None = None
    """Largest expected monthly increase in dollars a PR may bring unflagged."""
    percent: float | None = None
    """Largest expected monthly increase in percent of the base's expected cost."""


@dataclass(frozen=True)
class Side:
    """One tree to plan: its project root (code) and stacks directory."""

    project: Path
    stacks: Path
    label: str

    def stack_file(self, stack: str) -> Path:
        return self.stacks / f"Pulumi.{stack}.yaml"


def _start(side: Side, stack: str) -> subprocess.Popen[str]:
    """Start `factory plan STACK --format json` of `side` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(side.project)}
    env.pop("PULUMI_CONFIG", None)  # the mock runtime reads it; a caller's value must not leak in
    argv = ["--stacks-dir", str(side.stacks), "plan", stack, "--format", "json"]
    return subprocess.Popen(
        [sys.executable, "-c", _BOOT, str(side.project), *argv],
        cwd=side.project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], side: Side, stack: str) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=PLAN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise OperationalFailure(f"plan of {stack} at {side.label} timed out after {PLAN_TIMEOUT_S} s") from None
    if proc.returncode in (0, 1):
        try:
            doc: dict[str, Any] = json.loads(out)
        except ValueError:
            # A crash before the plan (e.g. an import error in old code) also exits 1.
            last = ([line for line in err.splitlines() if line.strip()] or ["no message"])[-1]
            raise OperationalFailure(f"plan of {stack} at {side.label} printed no JSON: {last}") from None
        return doc
    lines = [line for line in err.splitlines() if line.strip()] or [f"exit {proc.returncode}"]
    if proc.returncode == 2 and side.label == "working tree":
        raise DiffInputError(*lines)
    raise OperationalFailure(f"plan of {stack} at {side.label} failed: {lines[-1]}")


def run_plan(side: Side, stack: str) -> dict[str, Any]:
    """The plan document of `stack` in `side`: DiffInputError / OperationalFailure when it fails."""
    return _finish(_start(side, stack), side, stack)


def _plan_both(base: Side, head: Side, stack: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Both plans at once (two processes); a side without the stack file has no plan (None)."""
    procs = {s: _start(s, stack) for s in (head, base) if s.stack_file(stack).is_file()}
    try:
        # Head first: its bad-input error (exit 2) is the one the user can fix, and it needs
        # no wait for the base.
        head_doc = _finish(procs[head], head, stack) if head in procs else None
        base_doc = _finish(procs[base], base, stack) if base in procs else None
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return base_doc, head_doc


# --- secrets ---------------------------------------------------------------------------------


def _config(path: Path) -> dict[str, Any]:
    try:
        doc = load_stack_yaml(path.read_text()) if path.is_file() else None
    except yaml.YAMLError:
        return {}
    config = doc.get("config") if isinstance(doc, dict) else None
    return config if isinstance(config, dict) else {}


def secret_values(*stack_files: Path) -> set[str]:
    """Strings no output may contain: `secure:` values, and what a now-secure key held in plain."""
    configs = [_config(p) for p in stack_files]
    secure_keys = {k for c in configs for k, v in c.items() if isinstance(v, dict) and set(v) == {"secure"}}
    values: set[str] = set()
    for c in configs:
        for key in secure_keys & set(c):
            v = c[key]
            raw = v["secure"] if isinstance(v, dict) else v
            if isinstance(raw, str | int | float) and len(str(raw)) >= 4:
                values.add(str(raw))
    return values


# Every value `factory plan` supplies for a missing secret contains this mark
# (components.config.secrets.placeholder; tests/diff checks the two agree).
PLACEHOLDER_MARK = "offline-placeholder-for-"


def scrub(value: Any, secrets: set[str], prefix: str) -> Any:
    """`value` with every planted secret and offline placeholder replaced by the mask."""
    if isinstance(value, str):
        if prefix in value:
            return SECRET_MASK
        for s in secrets:
            if s in value:
                value = value.replace(s, SECRET_MASK)
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets, prefix) for v in value]
    return value


PROJECT_ROOT_MARK = "<project>"


def relocate(value: Any, root: Path) -> Any:
    """`value` with the tree's absolute path replaced by a mark.

    The two sides are planned from different directories (the worktree lives in a temporary
    directory), so an input that embeds an absolute path (e.g. an Ansible playbook directory)
    would otherwise show as changed on every diff.
    """
    roots = sorted({str(root), str(root.resolve())}, key=len, reverse=True)
    if isinstance(value, str):
        for r in roots:
            value = value.replace(r, PROJECT_ROOT_MARK)
        return value
    if isinstance(value, dict):
        return {k: relocate(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [relocate(v, root) for v in value]
    return value


# --- the command -----------------------------------------------------------------------------


def _project_of(stacks: Path, root: Path) -> Path:
    """The project root holding Pulumi.yaml above `stacks`, else the repository root."""
    for parent in [stacks, *stacks.parents]:
        if (parent / "Pulumi.yaml").is_file():
            return parent
        if parent == root:
            break
    return root


def _guard_from_config(path: Path) -> tuple[float | None, float | None]:
    budget = _config(path).get(f"{CONFIG_NAMESPACE}:budget")
    if not isinstance(budget, dict):
        return None, None
    usd, pct = (budget.get(k) for k in GUARD_KEYS)
    return (
        float(usd) if isinstance(usd, int | float) else None,
        float(pct) if isinstance(pct, int | float) else None,
    )


def make_diff(stack: str, base_ref: str, stacks_dir: Path | None, guard: GuardThresholds | None = None) -> StackDiff:
    """Plan `stack` at `base_ref` and in the working tree and compare them.

    DiffInputError (exit 2) for an unknown ref or stack or an invalid head config; OperationalFailure
    (exit 3) when git or a plan run fails.
    """
    from components.config.loader import stacks_dir as default_stacks

    stacks = (stacks_dir or default_stacks()).resolve()
    root = diff_git.repo_root(stacks if stacks.is_dir() else stacks.parent)
    commit = diff_git.resolve_commit(root, base_ref)
    project = _project_of(stacks, root)
    try:
        rel_project, rel_stacks = project.relative_to(root), stacks.relative_to(root)
    except ValueError:
        raise DiffInputError(f"factory: --stacks-dir {stacks}: outside the git repository {root}") from None
    head = Side(project, stacks, "working tree")
    extra = [str(stacks.relative_to(project))] if stacks.is_relative_to(project) else []

    base_doc: dict[str, Any] | None
    head_doc: dict[str, Any] | None
    short_cut = diff_git.same_as_commit(project, commit, extra)
    if short_cut:
        if not head.stack_file(stack).is_file():
            run_plan(head, stack)  # raises the plan's own "unknown stack" error (exit 2)
        head_doc = base_doc = run_plan(head, stack)
        secrets = secret_values(head.stack_file(stack))
    else:
        with diff_git.worktree(root, commit) as tree:
            base = Side(tree / rel_project, tree / rel_stacks, base_ref)
            if not base.stack_file(stack).is_file() and not head.stack_file(stack).is_file():
                run_plan(head, stack)  # unknown on both sides: the plan's own error (exit 2)
            base_doc, head_doc = _plan_both(base, head, stack)
            secrets = secret_values(head.stack_file(stack), base.stack_file(stack))
            base_doc = relocate(base_doc, base.project) if base_doc else None
        head_doc = relocate(head_doc, head.project) if head_doc else None

    base_doc = scrub(base_doc, secrets, PLACEHOLDER_MARK) if base_doc else None
    head_doc = scrub(head_doc, secrets, PLACEHOLDER_MARK) if head_doc else None
    diff = compare(stack, base_ref, commit, base_doc, head_doc)
    diff.short_cut = short_cut
    diff.guard = _guard(diff, guard or GuardThresholds(), head.stack_file(stack))
    return diff


def _guard(diff: StackDiff, flags: GuardThresholds, stack_file: Path) -> CostGuard:
    cfg_usd, cfg_pct = _guard_from_config(stack_file)
    usd = flags.usd if flags.usd is not None else cfg_usd
    pct = flags.percent if flags.percent is not None else cfg_pct
    if flags.usd is not None or flags.percent is not None:
        source = "flags"
    elif cfg_usd is not None or cfg_pct is not None:
        source = "stack config"
    else:
        source = "defaults"
    return cost_guard(
        diff.cost,
        usd if usd is not None else DEFAULT_GUARD_USD,
        pct if pct is not None else DEFAULT_GUARD_PERCENT,
        source,
    )
