"""Git plumbing for `factory diff`: resolve the base ref, check out a temporary worktree, detect
a working tree identical to the base. Every failure is one line (exit 2 or 3, DESIGN §4)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

# What `factory plan` reads: the program, the rules and cost model, the stack files and the
# project/dependency declarations. A change elsewhere (docs, tests, CI) cannot change a plan.
PLAN_INPUTS: tuple[str, ...] = ("components", "policies", "stacks", "Pulumi.yaml", "pyproject.toml")


class DiffInputError(Exception):
    """Bad input (exit 2): one line per problem (an unknown ref, or the head plan's config problems)."""


class OperationalFailure(Exception):
    """Git or a plan run failed (exit 3): one line."""


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise OperationalFailure("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise OperationalFailure(f"git {' '.join(args[:2])} timed out") from None
    if check and proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise OperationalFailure(f"git {' '.join(args[:2])} failed: {detail}")
    return proc


def repo_root(path: Path) -> Path:
    proc = _git(path, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise OperationalFailure(f"{path} is not inside a git repository")
    return Path(proc.stdout.strip()).resolve()


def resolve_commit(root: Path, ref: str) -> str:
    """The commit `ref` names; DiffInputError (exit 2) when it names none."""
    if ref.startswith("-"):
        raise DiffInputError(f"factory: --base {ref!r}: not a git ref (allowed: a branch, tag or commit)")
    proc = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
    if proc.returncode != 0:
        raise DiffInputError(f"factory: --base {ref!r}: unknown git ref (allowed: a branch, tag or commit of {root})")
    return proc.stdout.strip()


def _is_noise(path: str) -> bool:
    # Byte-code caches never change what a plan registers.
    return path.endswith(".pyc") or "__pycache__/" in path


def same_as_commit(project: Path, commit: str, extra: Sequence[str] = ()) -> bool:
    """True when every plan input under `project` in the working tree equals `commit`'s.

    Tracked files are compared with `git diff` (staged and unstaged), untracked files that git
    does not ignore count as changes.
    """
    paths = [*PLAN_INPUTS, *extra]
    if _git(project, "diff", "--quiet", commit, "--", *paths, check=False).returncode != 0:
        return False
    untracked = _git(project, "ls-files", "--others", "--exclude-standard", "--", *paths).stdout.splitlines()
    return not [p for p in untracked if not _is_noise(p)]


@contextlib.contextmanager
def worktree(root: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of `commit`, removed afterwards whatever happens."""
    holder = Path(tempfile.mkdtemp(prefix="factory-diff-"))
    path = holder / "base"
    try:
        _git(root, "worktree", "add", "--detach", "--quiet", str(path), commit)
        yield path
    finally:
        # `worktree remove` also drops git's admin entry; rmtree + prune cover a half-made one.
        _git(root, "worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(holder, ignore_errors=True)
        _git(root, "worktree", "prune", check=False)
