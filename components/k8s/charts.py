"""Pinned Helm charts of the third-party stacks (each a `helm.v3.Release`, PULUMI-OFFLINE.md).

Versions were read from the projects' own release records (chart index / release pages);
bump them here, never inline. Every value key the platform sets is checked against the chart's own
values.yaml keys in tests/k8s/chart_values/<chart>.json (test_chart_values.py): regenerate that
fixture with tests/k8s/chart_values/extract.py from `helm show values` at the new version on a bump.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repo: str


GPU_OPERATOR = Chart("gpu-operator", "v25.3.4", "https://helm.ngc.nvidia.com/nvidia")
"""NVIDIA GPU operator (stable index entry v25.3.4)."""
KEDA = Chart("keda", "2.21.1", "https://kedacore.github.io/charts")
"""KEDA (chart = app v2.21.1): installs the ScaledObject CRD the serving component uses."""
KUBE_PROMETHEUS_STACK = Chart("kube-prometheus-stack", "92.21.2", "https://prometheus-community.github.io/helm-charts")
"""Prometheus operator, Prometheus, Alertmanager, Grafana (ServiceMonitor/PrometheusRule CRDs)."""
OPENCOST = Chart("opencost", "2.5.34", "https://opencost.github.io/opencost-helm-chart")
"""OpenCost (app v1.121.4) with custom on-prem prices."""
CILIUM = Chart("cilium", "1.18.3", "https://helm.cilium.io/")
"""CNI of EKS Hybrid Nodes (AWS supports Cilium 1.17.x/1.18.x there; 1.18.3 needs kernel >= 5.10)."""
