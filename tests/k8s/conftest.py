"""Fixtures of the Kubernetes platform tests: plans of the reference stacks, their typed
Kubernetes objects rendered to manifests, and the offline CRD validator."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import REFERENCE_STACKS

from components.conventions import SECRET_MASK
from components.tooling.plan import Plan, make_plan

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
CUSTOM_GROUPS = ("keda.sh", "monitoring.coreos.com")
VALIDATOR_DIR = Path(__file__).parent / "crd_validator"


def _ints(value: Any) -> Any:
    """Recorded inputs carry numbers as floats (protobuf Struct); the API server sees integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def render(resource: dict[str, Any]) -> dict[str, Any]:
    """A recorded `kubernetes:<group>/<version>:<Kind>` resource as the manifest the provider applies."""
    inputs = _ints(dict(resource["inputs"]))
    group_version, kind = resource["type"].split(":", 1)[1].rsplit(":", 1)
    group, version = group_version.split("/")
    api_version = version if group == "core" else f"{group}/{version}"
    manifest = {"apiVersion": inputs.pop("apiVersion", api_version), "kind": inputs.pop("kind", kind), **inputs}
    for key in ("stringData", "data"):
        # A map holding a secret Output is masked whole in the plan; keep the shape, not the value.
        if manifest.get(key) == SECRET_MASK:
            manifest[key] = {"masked": SECRET_MASK}
    # Round-trip through YAML: what is validated is what `kubectl apply -f` would read.
    return yaml.safe_load(yaml.safe_dump(manifest, sort_keys=False))


def kubernetes_objects(plan: Plan) -> list[dict[str, Any]]:
    return [render(r) for r in plan.resources if r["type"].startswith("kubernetes:") and r["type"] != HELM_RELEASE]


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    return {stack: make_plan(stack) for stack in REFERENCE_STACKS}


@pytest.fixture(scope="session")
def manifests(plans: dict[str, Plan]) -> dict[str, list[dict[str, Any]]]:
    return {stack: kubernetes_objects(plan) for stack, plan in plans.items()}


def is_custom(manifest: dict[str, Any]) -> bool:
    return manifest["apiVersion"].split("/")[0] in CUSTOM_GROUPS


def _validator_home() -> Path:
    """node_modules live in a cache outside the work tree, keyed by the lock file's hash."""
    lock = (VALIDATOR_DIR / "package-lock.json").read_bytes()
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ai-factory"
    return base / f"crd-validator-{hashlib.sha256(lock).hexdigest()[:16]}"


@pytest.fixture(scope="session")
def crd_validate() -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Validate custom resources with @kubernetes-models/{keda,prometheus-operator} (their CRD schemas)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed to validate custom resources against their CRD schemas")
    home = _validator_home()
    if not (home / "node_modules" / ".package-lock.json").is_file():
        home.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json", "validate.mjs"):
            shutil.copy(VALIDATOR_DIR / name, home / name)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=home, check=True, timeout=600)
    shutil.copy(VALIDATOR_DIR / "validate.mjs", home / "validate.mjs")

    def _validate(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = subprocess.run(
            [node, "validate.mjs"], cwd=home, input=json.dumps(objects), capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    return _validate


@pytest.fixture(scope="session")
def kubernetes_version(plans: dict[str, Plan]) -> Callable[[str], str]:
    def _version(stack: str) -> str:
        cfg = plans[stack].config
        if cfg.cloud is not None and cfg.cloud.eks is not None:
            return cfg.cloud.eks.kubernetes_version
        assert cfg.on_prem is not None
        return cfg.on_prem.cluster.kubernetes_version

    return _version


@pytest.fixture(scope="session")
def render_resource() -> Callable[[dict[str, Any]], dict[str, Any]]:
    return render


@pytest.fixture(scope="session")
def promtool() -> Callable[[dict[str, Any], dict[str, Any]], subprocess.CompletedProcess[str]]:
    """Run `promtool test rules` (Prometheus's own rule engine) on a rule file and a unit-test file.

    promtool comes with Debian's `prometheus` package; the test run installs it when it is missing
    (as it installs the Ansible test hosts' tools), without starting any server."""
    if shutil.which("promtool") is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"],
            check=True,
            env=env,
            capture_output=True,
        )
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool (Debian package prometheus) is needed to test what the alert rules do")

    def _run(rules: dict[str, Any], tests: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
            Path(tmp, "tests.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], **tests}, sort_keys=False))
            return subprocess.run(
                [tool, "test", "rules", "tests.yaml"], cwd=tmp, capture_output=True, text=True, timeout=120
            )

    return _run
