"""Observability: kube-prometheus-stack, ServiceMonitors, alert rules, Grafana dashboards, OpenCost.

The stack and OpenCost are pinned Helm releases (third-party); everything the factory itself
defines — what is scraped, what alerts, which dashboards — is typed (CustomResources and
ConfigMaps) so reviewers and tests see it. OpenCost prices on-prem GPUs from the cost model's
amortisation (policies/cost), not its flat $0.95/GPU-hour default.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import conventions as c
from components.config.models import FactoryConfig
from components.k8s import charts
from components.k8s.alerts import alert_groups
from components.k8s.context import PlatformContext
from components.k8s.placement import system_tolerations
from components.k8s.storage_classes import CLOUD_STORAGE_CLASS
from components.k8s.tenancy import QDRANT_POD, ROUTER_POD, VLLM_POD
from policies.cost.amortisation import amortise

FULLNAME = "aif-prom"
"""fullnameOverride of kube-prometheus-stack: fixed service names (serving.PROMETHEUS_URL)."""
DASHBOARDS = ("gpu", "serving", "cost")
DATASOURCE_UID = "prometheus"
"""uid of the Prometheus datasource Grafana's sidecar provisions; the dashboards' panels refer to it."""


def dashboard(name: str) -> dict[str, Any]:
    """A Grafana dashboard shipped in components/k8s/dashboards/<name>.json."""
    text = resources.files("components.k8s").joinpath("dashboards", f"{name}.json").read_text()
    return json.loads(text)


def storage_class(cfg: FactoryConfig) -> str:
    """Prometheus runs on the system pool of an EKS stack (cloud volumes), else on the site's nodes."""
    return CLOUD_STORAGE_CLASS if cfg.has_eks else cfg.kubernetes.on_prem_storage_class


def prometheus_stack_values(cfg: FactoryConfig) -> dict[str, Any]:
    obs = cfg.observability
    tolerations = system_tolerations(cfg)
    return {
        "fullnameOverride": FULLNAME,
        # The admission-webhook certificate Jobs are pre-install/upgrade hooks: they must schedule
        # wherever the operator can, or the (atomic) install waits on them and rolls back.
        "prometheusOperator": {
            "tolerations": tolerations,
            "admissionWebhooks": {"patch": {"tolerations": tolerations}},
        },
        "alertmanager": {"alertmanagerSpec": {"tolerations": tolerations}},
        "crds": {"enabled": True},
        "prometheus": {
            "prometheusSpec": {
                "retention": f"{obs.metrics_retention_days}d",
                "tolerations": tolerations,
                # Select the factory's own ServiceMonitors/rules, not only the chart's.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "storageClassName": storage_class(cfg),
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": f"{obs.metrics_storage_gib}Gi"}},
                        }
                    }
                },
            }
        },
        "grafana": {
            "enabled": obs.grafana,
            "tolerations": tolerations,
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": c.LABEL_DASHBOARD,
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                },
                # Pinned, not left to the chart's default: every dashboard panel names this uid.
                "datasources": {"uid": DATASOURCE_UID},
            },
        },
        # Node location/pool labels become kube_node_labels series (burst GPU alert and dashboards).
        "kube-state-metrics": {
            "metricLabelsAllowlist": [f"nodes=[{c.LABEL_LOCATION},{c.LABEL_POOL}]"],
            "tolerations": tolerations,
        },
    }


def on_prem_gpu_hour_usd(cfg: FactoryConfig) -> float | None:
    """Amortised $/GPU-hour of the site (capex, power × PUE, colocation, support) from the cost model."""
    if cfg.on_prem is None:
        return None
    gpus = sum(s.gpu.count for s in cfg.on_prem.servers)
    economics = cfg.on_prem.economics.model_dump(by_alias=True)
    return amortise(economics, len(cfg.on_prem.servers), gpus).usd_per_gpu_hour


def opencost_values(cfg: FactoryConfig) -> dict[str, Any]:
    gpu_price = on_prem_gpu_hour_usd(cfg)
    values: dict[str, Any] = {
        "opencost": {
            "prometheus": {
                "internal": {
                    "namespaceName": c.NAMESPACE_OBSERVABILITY,
                    "serviceName": f"{FULLNAME}-prometheus",
                    "port": 9090,
                }
            },
            "metrics": {"serviceMonitor": {"enabled": True}},
            "ui": {"enabled": False},
            "tolerations": system_tolerations(cfg),
        }
    }
    if gpu_price is not None:
        # The whole server cost is carried by its GPUs (CPU and RAM priced 0) so nothing is
        # counted twice; in hybrid stacks cloud nodes keep AWS prices and these are the
        # defaults for nodes without a cloud price (the on-prem hybrid nodes). The spot fields
        # are left at OpenCost's own defaults: it uses them for spot nodes without a spot data
        # feed, and 0 there would price spot burst nodes' CPU and memory at nothing. The factory's
        # own cost series (components/k8s/cost_rules.py) do not depend on them.
        values["opencost"]["customPricing"] = {
            "enabled": True,
            "provider": "aws" if cfg.has_eks else "custom",
            "costModel": {
                "description": f"ai-factory: {cfg.on_prem.site if cfg.on_prem else ''} amortised on-prem prices",
                "CPU": "0",
                "RAM": "0",
                "GPU": f"{gpu_price:.4f}",
                "storage": "0",
            },
        }
    return values


def router_endpoint(cfg: FactoryConfig) -> dict[str, Any]:
    """The router's scrape endpoint: over HTTPS, verified against the site CA, when the router serves TLS."""
    tls = cfg.serving.router.tls_secret if cfg.serving is not None else None
    if tls is None:
        return {"port": "http", "path": "/metrics/", "interval": "30s"}
    return {
        "port": "https",
        "path": "/metrics/",
        "interval": "30s",
        "scheme": "https",
        # The operator reads the CA from the ServiceMonitor's own namespace (hence aif-serving).
        "tlsConfig": {
            "ca": {"secret": {"name": tls, "key": "ca.crt"}},
            "serverName": f"router.{c.NAMESPACE_SERVING}.svc",
        },
    }


def service_monitors(cfg: FactoryConfig) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, namespace, spec) of every ServiceMonitor."""
    every = {"interval": "30s"}
    return [
        (
            "vllm",
            c.NAMESPACE_OBSERVABILITY,
            {
                "namespaceSelector": {"matchNames": [c.NAMESPACE_SERVING, c.NAMESPACE_BATCH]},
                "selector": {"matchLabels": {c.LABEL_APP: VLLM_POD[c.LABEL_APP]}},
                "endpoints": [{"port": "http", "path": "/metrics", **every}],
            },
        ),
        (
            "router",
            c.NAMESPACE_SERVING,
            {
                "namespaceSelector": {"matchNames": [c.NAMESPACE_SERVING]},
                "selector": {"matchLabels": {c.LABEL_APP: ROUTER_POD[c.LABEL_APP]}},
                "endpoints": [router_endpoint(cfg)],
            },
        ),
        (
            "dcgm-exporter",
            c.NAMESPACE_OBSERVABILITY,
            {
                "namespaceSelector": {"matchNames": [c.NAMESPACE_GPU_OPERATOR]},
                "selector": {"matchLabels": {"app": "nvidia-dcgm-exporter"}},
                # Keep the exporter's pod/namespace labels (the GPU's consumer, dcgm-exporter #138)
                # instead of overwriting them with the exporter pod's own.
                "endpoints": [{"port": "gpu-metrics", "path": "/metrics", "honorLabels": True, **every}],
            },
        ),
    ] + (
        [
            (
                "qdrant",
                c.NAMESPACE_OBSERVABILITY,
                {
                    "namespaceSelector": {"matchNames": [c.NAMESPACE_VECTOR]},
                    "selector": {"matchLabels": {c.LABEL_APP: QDRANT_POD[c.LABEL_APP]}},
                    # Qdrant's metrics port: 6333 requires the API key, this one serves /metrics only.
                    "endpoints": [{"port": "metrics", "path": "/metrics", **every}],
                },
            )
        ]
        if cfg.vector_store is not None
        else []
    )


class Observability(pulumi.ComponentResource):
    def __init__(self, name: str, ctx: PlatformContext, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(c.type_token("k8s", "Observability"), name, {}, opts)
        cfg = ctx.config
        ns = c.NAMESPACE_OBSERVABILITY
        stack = k8s.helm.v3.Release(
            f"{name}-prometheus",
            name="kube-prometheus-stack",
            chart=charts.KUBE_PROMETHEUS_STACK.name,
            version=charts.KUBE_PROMETHEUS_STACK.version,
            repository_opts={"repo": charts.KUBE_PROMETHEUS_STACK.repo},
            namespace=ns,
            values=prometheus_stack_values(cfg),
            atomic=True,
            opts=ctx.opts(self),
        )
        after = ctx.opts(self, depends_on=[stack])  # the CRDs come with the chart
        for sm_name, sm_ns, spec in service_monitors(cfg):
            k8s.apiextensions.CustomResource(
                f"{name}-sm-{sm_name}",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata=ctx.meta(sm_name, sm_ns, ctx.labels(sm_name, "observability")),
                spec=spec,
                opts=after,
            )
        k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=ctx.meta("ai-factory", ns, ctx.labels("ai-factory-rules", "observability")),
            spec={"groups": alert_groups(cfg)},
            opts=after,
        )
        for dash in DASHBOARDS:
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{dash}",
                metadata=ctx.meta(
                    f"dashboard-{dash}",
                    ns,
                    {**ctx.labels(f"dashboard-{dash}", "observability"), c.LABEL_DASHBOARD: "1"},
                ),
                data={f"ai-factory-{dash}.json": json.dumps(dashboard(dash), indent=1)},
                opts=ctx.opts(self),
            )
        k8s.helm.v3.Release(
            f"{name}-opencost",
            name="opencost",
            chart=charts.OPENCOST.name,
            version=charts.OPENCOST.version,
            repository_opts={"repo": charts.OPENCOST.repo},
            namespace=c.NAMESPACE_OPENCOST,
            values=opencost_values(cfg),
            atomic=True,
            opts=after,
        )
        self.register_outputs({})
