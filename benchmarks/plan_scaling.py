"""Wall time and peak memory of `factory plan` vs a bare Pulumi-SDK registration.

    python benchmarks/plan_scaling.py [--repeat 3]

For generated stacks (prod-eu scaled to 10/100/500 on-prem servers and 5/50 models), each
measurement runs in a fresh process (the mock runtime is process-wide state):
- plan: `factory plan STACK --format json` end to end (import, config, program under mocks,
  rules, cost, JSON);
- bare: the same resources (types, names, inputs recorded by the plan) registered as generic
  `pulumi.CustomResource`s under a trivial mock, after loading the SDK classes of those types
  — the floor any program registering them pays (import + registration). (Until 2026-11-23 this
  imported only the module names, which the provider packages load lazily, so the floor missed
  the SDKs' class definitions: ~1 s of every run.)
- program: the same program (components.program.main) under Pulumi's plain MockMonitor —
  what the plan adds on top of running the program (recording, rules, cost, report).
Overheads = plan / program − 1 and plan / bare − 1. All three run with the cyclic GC off, as
the `factory` CLI does.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

BARE = r"""
import gc; gc.disable()  # the same GC policy as the `factory` CLI (components/tooling/cli.py main)
import asyncio, importlib, json, sys
import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

class M(pulumi.runtime.Mocks):
    def new_resource(self, a): return a.name + "-id", dict(a.inputs)
    def call(self, a): return {}, []

records = json.load(open(sys.argv[1]))["resources"]

# Any program that registers these types loads their SDK classes: the floor includes that. The
# provider packages load submodules lazily, so the class itself is fetched (importing the module
# name alone defines nothing).
def sdk_class(token):
    pkg, mod, cls = token.split(":")
    if pkg == "aws":
        module = ("pulumi_aws." + mod.split("/")[0]) if mod != "index" else "pulumi_aws"
        return getattr(importlib.import_module(module.replace(".lambda", ".lambda_")), cls)
    if pkg == "kubernetes":
        group, _, version = mod.rpartition("/")
        group = {"helm.sh": "helm"}.get(group, group.split(".")[0])
        try:
            return getattr(importlib.import_module(f"pulumi_kubernetes.{group}.{version}"), cls)
        except (ImportError, AttributeError):  # a custom resource (KEDA, Prometheus operator)
            return importlib.import_module("pulumi_kubernetes.apiextensions").CustomResource
    if pkg == "pulumi" and mod == "providers":
        return importlib.import_module("pulumi_" + cls).Provider
    if pkg.startswith("pulumi-python"):
        return importlib.import_module("pulumi.dynamic").Resource
    raise SystemExit(f"bare: no SDK class for {token}")

for token in sorted({r["type"] for r in records}):
    if not token.startswith("ai-factory:"):
        sdk_class(token)
loop = asyncio.new_event_loop(); asyncio.set_event_loop(loop)
pulumi.runtime.set_mocks(M(), project="ai-factory", stack="bench", preview=False)

def program():
    for r in records:
        if r["type"].startswith("ai-factory:"):
            continue
        pulumi.CustomResource(r["type"], r["name"], dict(r["inputs"]))

_sync_await(run_pulumi_func(program))
asyncio.set_event_loop(None); loop.close()
"""


PROGRAM = r"""
import gc; gc.disable()  # the same GC policy as the `factory` CLI
import asyncio, sys, warnings
from pathlib import Path
warnings.filterwarnings("ignore", category=DeprecationWarning)
import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from components import program
from components.config.loader import load_stack
from components.tooling.mock_runtime import PLACEHOLDER_ACCOUNT, PlanMocks
from components.tooling.plan import offline_config

stack, directory = sys.argv[1], Path(sys.argv[2])
sf, cfg = load_stack(stack, directory)
config, secret_keys = offline_config(sf)
loop = asyncio.new_event_loop(); asyncio.set_event_loop(loop)
# Pulumi's own MockMonitor: no recording, no rules, no cost, no report.
mocks = PlanMocks(account_id=PLACEHOLDER_ACCOUNT, region=cfg.cloud.region if cfg.cloud else None)
pulumi.runtime.set_mocks(mocks, project="ai-factory", stack=stack, preview=False)
pulumi.runtime.set_all_config(config, secret_keys)
_sync_await(run_pulumi_func(program.main))
asyncio.set_event_loop(None); loop.close()
"""


def scaled_stack(servers: int, models: int) -> dict:
    doc = yaml.safe_load((REPO / "stacks" / "Pulumi.prod-eu.yaml").read_text())
    cfg = doc["config"]
    on_prem = cfg["ai-factory:onPrem"]
    template = on_prem["servers"][0]
    on_prem["network"]["nodeCidrs"] = ["10.20.0.0/20"]
    on_prem["servers"] = []
    for i in range(servers):
        s = copy.deepcopy(template)
        s["name"] = f"fra1-gpu-{i + 1:03d}"
        s["address"] = f"10.20.{i // 250}.{i % 250 + 2}"
        s["bmcAddress"] = f"10.20.{8 + i // 250}.{i % 250 + 2}"
        on_prem["servers"].append(s)
    base_models = cfg["ai-factory:serving"]["models"]
    cfg["ai-factory:serving"]["models"] = []
    for i in range(models):
        m = copy.deepcopy(base_models[i % len(base_models)])
        # The first copy of each keeps its name: teams and aliases in the stack refer to it.
        if i >= len(base_models):
            m["name"] = f"{m['name']}-{i}"
        cfg["ai-factory:serving"]["models"].append(m)
    # The budget grows with the fleet so the plan measures the normal (passing) path.
    cfg["ai-factory:budget"]["totalMonthlyUsd"] = 150000 * max(1, servers // 4)
    return doc


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout) of one child, measured by a wrapper process.

    RUSAGE_CHILDREN of a wrapper with exactly one child is that child's peak memory alone.
    """
    wrapper = [
        sys.executable,
        "-c",
        (
            "import resource,subprocess,sys,time;"
            "t=time.perf_counter();p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
            "w=time.perf_counter()-t;"
            "r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024;"
            "sys.stderr.write(p.stderr);sys.stdout.write(f'{w} {r} {p.returncode}\\n'+p.stdout)"
        ),
        *cmd,
    ]
    proc = subprocess.run(wrapper, capture_output=True, text=True, env=env, cwd=REPO)
    first, _, rest = proc.stdout.partition("\n")
    wall, rss, rc = first.split()
    if int(rc) not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({rc}): {proc.stderr.strip()[-800:]}")
    return float(wall), float(rss), rest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    factory = str(Path(sys.executable).with_name("factory"))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        bare_py = tmpdir / "bare.py"
        bare_py.write_text(BARE)
        program_py = tmpdir / "program.py"
        program_py.write_text(PROGRAM)
        cases = [("prod-eu", None)] + [(f"scaled-{s}s-{m}m", (s, m)) for s in (10, 100, 500) for m in (5, 50)]
        for name, scale in cases:
            stacks_dir = REPO / "stacks"
            if scale is not None:
                stacks_dir = tmpdir
                (tmpdir / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(scaled_stack(*scale), sort_keys=False))
            plan_cmd = [factory, "--stacks-dir", str(stacks_dir), "plan", name, "--format", "json"]
            plan_runs = [run_child(plan_cmd, env) for _ in range(args.repeat)]
            plan_json = tmpdir / f"{name}.json"
            plan_json.write_text(plan_runs[-1][2])
            n = len(json.loads(plan_runs[-1][2])["resources"])
            bare_runs = [run_child([sys.executable, str(bare_py), str(plan_json)], env) for _ in range(args.repeat)]
            prog_cmd = [sys.executable, str(program_py), name, str(stacks_dir)]
            prog_runs = [run_child(prog_cmd, env) for _ in range(args.repeat)]
            pw = statistics.median(r[0] for r in plan_runs)
            bw = statistics.median(r[0] for r in bare_runs)
            gw = statistics.median(r[0] for r in prog_runs)
            rows.append((name, n, pw, max(r[1] for r in plan_runs), bw, max(r[1] for r in bare_runs), gw))
    print(
        f"{'stack':<20} {'resources':>9} {'plan s':>7} {'plan MiB':>8} {'program s':>9} {'bare s':>7} "
        f"{'bare MiB':>8} {'vs program':>10} {'vs bare':>8}"
    )
    for name, n, pw, pm, bw, bm, gw in rows:
        print(
            f"{name:<20} {n:>9} {pw:>7.2f} {pm:>8.0f} {gw:>9.2f} {bw:>7.2f} {bm:>8.0f} "
            f"{pw / gw - 1:>10.0%} {pw / bw - 1:>8.0%}"
        )


if __name__ == "__main__":
    main()
