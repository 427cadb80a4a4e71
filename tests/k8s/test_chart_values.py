"""Every value the platform hands a third-party Helm chart is a key that chart declares.

Helm ignores an unknown key silently (a misspelt `driver.enabled` installs the driver it was meant to
disable), so each `kubernetes:helm.sh/v3:Release` of the reference plans is checked against the key
paths of the chart's own values.yaml, recorded in tests/k8s/chart_values/<chart>.json (see extract.py
there for how to regenerate them after a version bump). A path passes when it is a key of the chart,
lies under one of the fixture's free-form prefixes (maps the chart copies verbatim into a manifest:
affinity, annotations, storageSpec, ...), is a key of a subchart fixture under its prefix
(kube-prometheus-stack's grafana and kube-state-metrics), or is a justified exception below.
"""

from __future__ import annotations

import importlib.util
import json
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from support import REFERENCE_STACKS

from components.k8s import charts

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
FIXTURES = Path(__file__).parent / "chart_values"
PINNED = {
    c.name: c for c in (charts.GPU_OPERATOR, charts.KEDA, charts.KUBE_PROMETHEUS_STACK, charts.OPENCOST, charts.CILIUM)
}

EXCEPTIONS: dict[tuple[str, str], str] = {}
"""(chart, key path) → why the chart honours a key its values.yaml does not declare (read by a template
through `.Values` with a default). None is needed: every key the platform sets is declared."""

VERSION_READ: dict[str, str] = {
    "gpu-operator": "v25.3.1+ (fork snapshot)",
    "keda": "~2.11 (main)",
    "kube-prometheus-stack": "~76-77 (main)",
    "grafana": "~11.1 (main)",
    "kube-state-metrics": "~6.x (main)",
    "opencost": "2.5.32",
    "cilium": "1.18.0-dev (main)",
}
"""The values.yaml each fixture was extracted from is not the pinned release's (the code index holds no
tagged copy of it); the fixture's `note` says which version it is and why it is the nearest found.
A bump that regenerates a fixture from `helm show values` at the pinned version sets version_read to the
pinned version and drops its entry here."""


def _extract() -> Any:
    spec = importlib.util.spec_from_file_location("chart_values_extract", FIXTURES / "extract.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


key_paths = _extract().key_paths


@cache
def fixtures() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))}


def _free(path: str, patterns: list[str]) -> bool:
    return any(fnmatchcase(path, p) or fnmatchcase(path, f"{p}.*") for p in patterns)


def unknown_keys(chart: str, values: dict[str, Any]) -> list[str]:
    """Key paths of `values` that `chart` (or its subcharts) does not declare."""
    fixture = fixtures()[chart]
    declared = set(fixture["keys"])
    subcharts = {f["prefix"]: f for f in fixtures().values() if f.get("parent") == chart}
    unknown = []
    for path in key_paths(values):
        if path in declared or _free(path, fixture["free_form"]) or (chart, path) in EXCEPTIONS:
            continue
        head, _, rest = path.partition(".")
        sub = subcharts.get(head)
        if sub is not None and (rest in sub["keys"] or _free(rest, sub["free_form"])):
            continue
        unknown.append(path)
    return unknown


def releases(plans: dict[str, Any], stack: str) -> list[dict[str, Any]]:
    return [r["inputs"] for r in plans[stack].resources if r["type"] == HELM_RELEASE]


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_every_value_key_is_declared_by_its_chart(plans, stack: str) -> None:
    found = releases(plans, stack)
    assert found, "the plan records no Helm release"
    for release in found:
        chart = release["chart"]
        assert chart in PINNED and chart in fixtures(), f"no pinned chart/values fixture for {chart}"
        assert release["version"] == PINNED[chart].version
        assert unknown_keys(chart, release.get("values") or {}) == [], f"{stack}: {chart}"


def test_all_pinned_charts_are_installed_by_some_stack(plans) -> None:
    installed = {r["chart"] for stack in REFERENCE_STACKS for r in releases(plans, stack)}
    assert installed == set(PINNED)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_fixture_records_the_pinned_version(name: str) -> None:
    fixture = fixtures()[name]
    assert fixture["chart"] == PINNED[name].version
    if fixture["version_read"] != fixture["chart"]:
        assert VERSION_READ.get(name) == fixture["version_read"], "record the version actually read"


def test_fixtures_are_well_formed() -> None:
    assert set(fixtures()) == set(PINNED) | {"grafana", "kube-state-metrics"}
    for name, fixture in fixtures().items():
        assert fixture["keys"] == sorted(set(fixture["keys"])), name
        assert fixture["free_form"] == sorted(set(fixture["free_form"])), name
        assert {"repo", "path", "commit"} <= set(fixture["source"]), name
        assert len(fixture["source"]["commit"]) == 40, name
        assert VERSION_READ.get(name, fixture["version_read"]) == fixture["version_read"], name
        if "parent" in fixture:
            parent = fixtures()[fixture["parent"]]
            assert fixture["chart"] == f"subchart of {fixture['parent']} {parent['chart']}"
            assert fixture["prefix"] in parent["keys"], name


def test_exceptions_are_still_needed() -> None:
    for (chart, path), why in EXCEPTIONS.items():
        assert why
        assert path not in fixtures()[chart]["keys"], f"{chart}: {path} is declared now; drop the exception"


def test_the_check_catches_a_misspelt_key() -> None:
    assert unknown_keys("gpu-operator", {"driver": {"enable": False}, "toolkit": {"enabled": False}}) == [
        "driver.enable"
    ]
    # Subchart keys are checked against the subchart's own values, free-form maps are not descended.
    assert unknown_keys("kube-prometheus-stack", {"grafana": {"tolerations": [], "toleration": []}}) == [
        "grafana.toleration"
    ]
    storage = {"volumeClaimTemplate": {"spec": {"storageClassName": "x"}}}
    assert unknown_keys("kube-prometheus-stack", {"prometheus": {"prometheusSpec": {"storageSpec": storage}}}) == []
    assert unknown_keys("opencost", {"opencost": {"customPricing": {"costModel": {"Gpu": "1"}}}}) == [
        "opencost.customPricing.costModel.Gpu"
    ]


def test_prometheus_install_hooks_tolerate_like_the_operator(plans) -> None:
    """The admission-webhook certificate Jobs are pre-install hooks of the atomic release: on a stack whose
    only nodes are the GPU-tainted site servers they need the operator's tolerations too."""
    for stack in REFERENCE_STACKS:
        values = next(r for r in releases(plans, stack) if r["chart"] == charts.KUBE_PROMETHEUS_STACK.name)["values"]
        operator = values["prometheusOperator"]
        assert operator["admissionWebhooks"]["patch"]["tolerations"] == operator["tolerations"], stack


def test_without_eks_the_gpu_operator_and_nfd_control_pods_tolerate_the_gpu_taint(plans) -> None:
    """lab has only GPU-tainted site servers: the operator Deployment and NFD's master and gc must
    tolerate the taint, and keep the chart's control-plane tolerations (setting the list replaces them)."""
    from components import conventions as c
    from components.k8s.gpu_operator import CONTROL_PLANE_TOLERATIONS

    def values(stack: str) -> dict:
        [release] = [
            r["inputs"]["values"]
            for r in plans[stack].resources
            if r["type"] == "kubernetes:helm.sh/v3:Release" and r["inputs"]["chart"] == "gpu-operator"
        ]
        return release

    lab = values("lab")
    gpu = {"key": c.GPU_TAINT_KEY, "operator": "Exists", "effect": c.GPU_TAINT_EFFECT}
    expected = [*CONTROL_PLANE_TOLERATIONS, gpu]
    assert lab["operator"]["tolerations"] == expected
    assert lab["node-feature-discovery"]["master"]["tolerations"] == expected
    assert lab["node-feature-discovery"]["gc"]["tolerations"] == expected
    # With EKS the system pool is untainted: the chart's defaults stay.
    assert "tolerations" not in values("prod-eu")["operator"]
