"""How long `factory diff STACK --base HEAD` takes against `factory plan STACK` (issue 7's bar:
a clean tree prints "no changes" within 2.5x the plan time).

Builds a throwaway git repository holding a copy of the project (the main checkout is shared
and rarely clean), then times, each as its own process like a user runs them:

  plan          factory plan STACK --format json
  diff clean    factory diff STACK --base HEAD       (identical trees: one plan, short-cut)
  diff changed  factory diff STACK --base HEAD       after a change that alters no resource,
                                                      so both sides are planned (two processes)

Usage: python benchmarks/diff_time.py [--stack prod-eu] [--repeat 3]
Prints one line per measurement (median of the repeats) and the ratios; exits 1 when the clean
diff is slower than 2.5x the plan.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COPIED = ("components", "policies", "stacks", "Pulumi.yaml", "pyproject.toml")
BAR = 2.5


def _git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def _repo(parent: Path) -> Path:
    root = parent / "repo"
    root.mkdir()
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, root / name)
    (root / ".gitignore").write_text("__pycache__/\n*.pyc\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    return root


def _time(root: Path, argv: list[str], repeat: int) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    samples, proc = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "components.tooling.cli", *argv], cwd=root, env=env, capture_output=True, text=True
        )
        samples.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    assert proc is not None
    return statistics.median(samples), proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stack", default="prod-eu")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="diff-bench-") as tmp:
        root = _repo(Path(tmp))
        # One untimed plan so byte-code compilation is not charged to the first measurement.
        _time(root, ["plan", args.stack, "--format", "json"], 1)
        plan_s, _ = _time(root, ["plan", args.stack, "--format", "json"], args.repeat)
        clean_s, clean = _time(root, ["diff", args.stack, "--base", "HEAD", "--format", "text"], args.repeat)
        program = root / "components" / "program.py"
        program.write_text(program.read_text() + "\n# benchmark: a change no resource sees\n")
        changed_s, changed = _time(root, ["diff", args.stack, "--base", "HEAD", "--format", "text"], args.repeat)
    first = clean.stdout.splitlines()[0] if clean.stdout else ""
    print(f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}, stack {args.stack}, median of {args.repeat}")
    print(f"plan          {plan_s:6.2f} s")
    print(f"diff clean    {clean_s:6.2f} s  ({clean_s / plan_s:.2f}x plan)  exit {clean.returncode}: {first}")
    print(
        f"diff changed  {changed_s:6.2f} s  ({changed_s / plan_s:.2f}x plan)  exit {changed.returncode}: "
        f"{changed.stdout.splitlines()[0] if changed.stdout else ''}"
    )
    ok = first == f"{args.stack}: no changes" and clean.returncode == 0 and clean_s <= BAR * plan_s
    print(f"bar: clean diff prints 'no changes', exits 0, within {BAR}x the plan time: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
