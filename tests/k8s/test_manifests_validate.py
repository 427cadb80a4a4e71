"""Every typed Kubernetes object of every reference stack validates offline.

Built-in kinds: the strict OpenAPI schemas (unknown fields rejected) that kubernetes-validate
bundles, for the Kubernetes version pinned in the stack's config; every error is listed.
Custom resources: the CRD schemas compiled into @kubernetes-models/keda and
@kubernetes-models/prometheus-operator (npm, installed once into a cache, run with node).
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import referencing
from kubernetes_validate import utils as kv
from support import REFERENCE_STACKS


def builtin_errors(manifest: dict[str, Any], version: str) -> list[str]:
    """All schema errors of one built-in object (kubernetes-validate's own CLI stops at the first)."""
    known = [v for v in kv.all_versions() if kv.major_minor(v) <= kv.major_minor(version)]
    assert known, f"kubernetes-validate has no schema for {version}"
    schema_dir = f"v{known[-1]}-local-strict"
    api = manifest["apiVersion"]
    group_version = api.split("/")[0].split(".")[0] + "-" + api.split("/")[1] if "/" in api else api
    schema = kv.schema_contents(
        f"kubernetes-json-schema/{schema_dir}/{manifest['kind'].lower()}-{group_version}.json", version
    )
    definitions = kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", version)
    registry = referencing.Resource.from_contents(schema) @ referencing.Registry()
    registry = referencing.Resource.from_contents(definitions) @ registry
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]


def _label(m: dict[str, Any]) -> str:
    meta = m.get("metadata", {})
    return f"{m['kind']} {meta.get('namespace', '-')}/{meta.get('name')}"


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_platform_stack_emits_kubernetes_objects(stack: str, manifests: dict) -> None:
    kinds = {m["kind"] for m in manifests[stack]}
    assert {"Namespace", "ResourceQuota", "PriorityClass", "NetworkPolicy", "Deployment", "ScaledObject"} <= kinds
    assert {"ServiceMonitor", "PrometheusRule", "ConfigMap", "LimitRange", "PodDisruptionBudget"} <= kinds


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_builtin_objects_validate_against_the_pinned_kubernetes_schema(
    stack: str, manifests: dict, kubernetes_version
) -> None:
    version = kubernetes_version(stack)
    builtins = [
        m for m in manifests[stack] if m["apiVersion"].split("/")[0] not in ("keda.sh", "monitoring.coreos.com")
    ]
    assert len(builtins) > 20
    problems = [f"{_label(m)}: {err}" for m in builtins for err in builtin_errors(m, version)]
    assert problems == []


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_custom_resources_validate_against_their_crd_schemas(stack: str, manifests: dict, crd_validate) -> None:
    custom = [m for m in manifests[stack] if m["apiVersion"].split("/")[0] in ("keda.sh", "monitoring.coreos.com")]
    kinds = {m["kind"] for m in custom}
    assert {"ScaledObject", "ServiceMonitor", "PrometheusRule"} <= kinds
    results = crd_validate(custom)
    assert [(r["name"], r["errors"]) for r in results if r["errors"]] == []


def test_the_validators_do_report_errors(crd_validate) -> None:
    """Controls: a wrong type in a CR and an unknown field in a built-in are caught."""
    bad_cr = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "bad"},
        "spec": {"scaleTargetRef": {"name": "x"}, "minReplicaCount": "zero", "triggers": []},
    }
    assert crd_validate([bad_cr])[0]["errors"]
    bad_builtin = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "x", "labelz": {}},
        "spec": {"finalizers": "kubernetes"},
    }
    assert len(builtin_errors(bad_builtin, "1.33")) == 2
