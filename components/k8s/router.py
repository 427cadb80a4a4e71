"""The router in front of the catalog: LiteLLM proxy, its config generated from the catalog.

Why LiteLLM: it is the OpenAI-compatible gateway with the most active maintenance that does
everything the issue asks in one process (model groups, ordered fallbacks, Redis response
cache, per-deployment rpm/tpm limits, budgets, virtual keys per team, Prometheus metrics),
and its config is a plain YAML we can generate and validate offline with its own loader.

`router_config(cfg)` is pure: the fallback chain of a model is *small → large on-prem/cloud
models that serve every one of its data classes* → *the external API*, and a hop is added only
when every data class of the requesting model may be processed where that hop runs
(`hop_allowed`). A restricted request can therefore never fall back to a model that may
burst to the cloud, nor to the external API.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import conventions as c
from components.config.models import FactoryConfig, Place, ServedModel
from components.k8s import images
from components.k8s.context import PlatformContext, restricted_container_security, restricted_pod_security
from components.k8s.placement import router_placement
from components.k8s.router_database import RouterDatabase, database_url
from components.k8s.router_teams import RouterTeams
from components.k8s.serving import service_url
from components.k8s.tenancy import REDIS_POD, ROUTER_POD
from components.releases import ServedRelease, deployment_id, releases
from components.routing import EXTERNAL_MODEL_NAME, SIZE_ORDER, allowed_places, class_aliases, model_places

ROUTER_NAME = "router"
CACHE_NAME = "router-cache"
CONFIG_KEY = "config.yaml"
SECRET_NAME = "router-credentials"
ENV_MASTER_KEY = "LITELLM_MASTER_KEY"
CONFIG_CHECKSUM = f"{c.LABEL_PREFIX}/config-sha256"
ENV_EXTERNAL_KEY = "EXTERNAL_API_KEY"
ENV_DATABASE_URL = "DATABASE_URL"
TLS_DIR = "/etc/litellm-tls"
LB_NAME = "router-internal"
"""The internal AWS load balancer's Service (EKS); `router` itself stays a ClusterIP Service."""


def hop_allowed(cfg: FactoryConfig, source: ServedModel, target: ServedModel | None) -> bool:
    """May a request made to `source` be answered by `target` (None: the external API)?"""
    allowed = allowed_places(cfg, source.data_classes)
    if target is None:
        return (
            source.external_fallback
            and cfg.serving is not None
            and cfg.serving.router.external_api_model is not None
            and Place.EXTERNAL_API in allowed
        )
    return set(source.data_classes) <= set(target.data_classes) and model_places(cfg, target) <= allowed


def fallback_chain(cfg: FactoryConfig, model: ServedModel) -> list[str]:
    """Ordered fallbacks of `model`: same-or-larger catalog models, then the external API."""
    assert cfg.serving is not None
    others = [
        m
        for m in cfg.serving.models
        if m.name != model.name
        and m.task == model.task
        and SIZE_ORDER[m.size] >= SIZE_ORDER[model.size]
        and hop_allowed(cfg, model, m)
    ]
    others.sort(key=lambda m: (SIZE_ORDER[m.size], m.name))
    chain = [m.name for m in others]
    if model.task == "chat" and hop_allowed(cfg, model, None):
        chain.append(EXTERNAL_MODEL_NAME)
    return chain


def fallback_entries(cfg: FactoryConfig) -> list[dict[str, list[str]]]:
    """LiteLLM `fallbacks`: each model group's chain, then each class alias with its target's chain.

    LiteLLM looks a chain up by the name the client asked for, so a request to `auto-<class>` whose
    target fails finds none under the target's name ("No fallback model group found for
    lookup_groups=auto-public", BerriAI/litellm#10317). The target's chain is checked for every data
    class the target serves, a superset of the alias's class, so it is no looser for the alias."""
    assert cfg.serving is not None
    chains = {m.name: chain for m in cfg.serving.models if (chain := fallback_chain(cfg, m))}
    entries = [{name: chain} for name, chain in chains.items()]
    entries += [{alias: list(chains[target])} for alias, target in class_aliases(cfg).items() if target in chains]
    return entries


def deployment_entry(served: ServedRelease) -> dict[str, Any]:
    """One LiteLLM deployment of a model group. With a candidate, the group has two deployments and
    simple-shuffle picks between them by `weight` (stable 100-p, candidate p); rpm limits are split
    in the same ratio so the model's limit stays what the catalog says."""
    m = served.model
    params: dict[str, Any] = {
        "model": f"hosted_vllm/{m.name}",
        "api_base": service_url(m),
        "timeout": 600,
    }
    if served.group.candidate is not None:
        params["weight"] = served.traffic_percent
    if m.pricing is not None:
        # What team budgets are charged for a self-hosted model (LiteLLM prices it at 0 otherwise).
        params["input_cost_per_token"] = m.pricing.input_usd_per_million_tokens / 1_000_000
        params["output_cost_per_token"] = m.pricing.output_usd_per_million_tokens / 1_000_000
    if m.rpm_limit is not None:
        params["rpm"] = (
            max(1, math.ceil(m.rpm_limit * served.traffic_percent / 100))
            if served.group.candidate is not None
            else m.rpm_limit
        )
    return {
        "model_name": served.group.name,
        "litellm_params": params,
        "model_info": {
            "id": deployment_id(served.group.name, served.release),
            "mode": m.task,
            "serving_tier": m.tier.value,
            "size": m.size.value,
            "data_classes": m.data_classes,
            "release": served.release,
            "revision": m.source.revision,
        },
    }


def router_config(cfg: FactoryConfig) -> dict[str, Any]:
    """The LiteLLM proxy config.yaml as a dict. Secrets are `os.environ/…` references only."""
    assert cfg.serving is not None
    router = cfg.serving.router
    model_list = [deployment_entry(served) for m in cfg.serving.models for served in releases(m)]
    if router.external_api_model is not None:
        model_list.append(
            {
                "model_name": EXTERNAL_MODEL_NAME,
                "litellm_params": {"model": router.external_api_model, "api_key": f"os.environ/{ENV_EXTERNAL_KEY}"},
                "model_info": {"id": deployment_id(EXTERNAL_MODEL_NAME, "external"), "serving_tier": "external"},
            }
        )
    fallbacks = fallback_entries(cfg)
    litellm_settings: dict[str, Any] = {
        "drop_params": True,
        "num_retries": 1,
        "request_timeout": 600,
        "callbacks": ["prometheus"],
    }
    if router.cache:
        litellm_settings["cache"] = True
        litellm_settings["cache_params"] = {
            "type": "redis",
            "host": f"{CACHE_NAME}.{c.NAMESPACE_SERVING}.svc.cluster.local",
            "port": c.PORT_REDIS,
            "ttl": router.cache_ttl_seconds,
        }
    if router.max_budget_usd is not None:
        litellm_settings["max_budget"] = router.max_budget_usd
        litellm_settings["budget_duration"] = router.budget_duration
    router_settings: dict[str, Any] = {
        "routing_strategy": "simple-shuffle",
        "num_retries": 1,
        "allowed_fails": 3,
        "cooldown_time": 30,
        "fallbacks": fallbacks,
        "model_group_alias": class_aliases(cfg),
    }
    if router.cache:
        # Shared rpm/tpm counters across router replicas.
        router_settings["redis_host"] = f"{CACHE_NAME}.{c.NAMESPACE_SERVING}.svc.cluster.local"
        router_settings["redis_port"] = c.PORT_REDIS
    return {
        "model_list": model_list,
        "litellm_settings": litellm_settings,
        "router_settings": router_settings,
        "general_settings": general_settings(cfg),
    }


def general_settings(cfg: FactoryConfig) -> dict[str, Any]:
    """Master key always; with teams or a router budget, the database that holds keys, budgets and spend
    (LiteLLM enforces no budget without it). Models come only from this config (never added through the
    admin API, which would bypass the residency checks), and prompts are never written to the spend logs."""
    assert cfg.serving is not None
    out: dict[str, Any] = {"master_key": f"os.environ/{ENV_MASTER_KEY}"}
    if cfg.serving.router.needs_database:
        out |= {
            "database_url": f"os.environ/{ENV_DATABASE_URL}",
            "store_model_in_db": False,
            "store_prompts_in_spend_logs": False,
        }
    return out


def router_scheme(cfg: FactoryConfig) -> str:
    """https when the router terminates TLS itself (serving.router.tlsSecret), else http."""
    assert cfg.serving is not None
    return "https" if cfg.serving.router.tls_secret is not None else "http"


def router_container(cfg: FactoryConfig, image: pulumi.Input[str], env: list[dict[str, Any]]) -> dict[str, Any]:
    """The LiteLLM container: config mounted read-only, TLS from the site's Secret when configured."""
    scheme = router_scheme(cfg)
    args = ["--config", f"/etc/litellm/{CONFIG_KEY}", "--port", str(c.PORT_ROUTER)]
    mounts: list[dict[str, Any]] = [{"name": "config", "mountPath": "/etc/litellm", "readOnly": True}]
    if scheme == "https":
        args += ["--ssl_keyfile_path", f"{TLS_DIR}/tls.key", "--ssl_certfile_path", f"{TLS_DIR}/tls.crt"]
        mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})
    probe_scheme = scheme.upper()
    return {
        "name": "litellm",
        "image": image,
        "args": args,
        "env": env,
        "ports": [{"name": scheme, "containerPort": c.PORT_ROUTER}],
        "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi"}},
        "securityContext": restricted_container_security(),
        "readinessProbe": {"httpGet": {"path": "/health/readiness", "port": c.PORT_ROUTER, "scheme": probe_scheme}},
        "livenessProbe": {"httpGet": {"path": "/health/liveliness", "port": c.PORT_ROUTER, "scheme": probe_scheme}},
        "volumeMounts": mounts,
    }


def router_volumes(cfg: FactoryConfig) -> list[dict[str, Any]]:
    assert cfg.serving is not None
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": ROUTER_NAME}}]
    if cfg.serving.router.tls_secret is not None:
        # Readable by the router's group (fsGroup) only: the private key.
        volumes.append({"name": "tls", "secret": {"secretName": cfg.serving.router.tls_secret, "defaultMode": 0o440}})
    return volumes


class Router(pulumi.ComponentResource):
    """LiteLLM proxy (+ Redis cache), its generated config and credentials Secret; with teams or a router
    budget, its Postgres; with teams, the job that issues the teams' keys."""

    def __init__(
        self,
        name: str,
        ctx: PlatformContext,
        secrets: dict[str, pulumi.Output[str]],
        opts: pulumi.ResourceOptions | None = None,
        *,
        storage_class: pulumi.Resource | None = None,
    ) -> None:
        """`storage_class`: the cloud StorageClass (EKS stacks), for the database's volume."""
        super().__init__(c.type_token("k8s", "Router"), name, {}, opts)
        cfg = ctx.config
        assert cfg.serving is not None
        ns = c.NAMESPACE_SERVING
        labels = ctx.labels(ROUTER_NAME, "router")
        config_text = yaml.safe_dump(router_config(cfg), sort_keys=False)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=ctx.meta(ROUTER_NAME, ns, labels),
            data={CONFIG_KEY: config_text},
            opts=ctx.opts(self),
        )
        string_data: dict[str, pulumi.Input[str]] = {ENV_MASTER_KEY: pulumi.Output.secret(secrets["routerMasterKey"])}
        if cfg.serving.router.external_api_model is not None:
            string_data[ENV_EXTERNAL_KEY] = pulumi.Output.secret(secrets["externalApiKey"])
        deps: list[pulumi.Resource] = [config_map]
        if cfg.serving.router.needs_database:
            password = secrets["routerDatabasePassword"]
            self.database = RouterDatabase(
                f"{name}-db", ctx, password, pulumi.ResourceOptions(parent=self), storage_class=storage_class
            )
            string_data[ENV_DATABASE_URL] = database_url(password)
            deps.append(self.database.statefulset)
        secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=ctx.meta(SECRET_NAME, ns, labels),
            type="Opaque",
            string_data=string_data,
            opts=ctx.opts(self),
        )
        deps.append(secret)
        env: list[dict[str, Any]] = [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": key}}}
            for key in sorted(string_data)
        ]
        # The admin UI would let a master-key holder add models and keys outside this config.
        env.append({"name": "DISABLE_ADMIN_UI", "value": "True"})
        placement = router_placement(cfg)
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=ctx.meta(ROUTER_NAME, ns, labels),
            spec={
                "replicas": cfg.serving.router.replicas,
                "selector": {"matchLabels": ROUTER_POD},
                "template": {
                    "metadata": {
                        "labels": {**labels, **ROUTER_POD},
                        # LiteLLM reads its config once at start: a new config must roll the pods
                        # (a canary split, a promotion or a new fallback takes effect only then).
                        "annotations": {CONFIG_CHECKSUM: hashlib.sha256(config_text.encode()).hexdigest()},
                    },
                    "spec": {
                        "priorityClassName": c.PRIORITY_CRITICAL,
                        "securityContext": restricted_pod_security(images.LITELLM_UID),
                        **placement.pod_fields(),
                        "containers": [router_container(cfg, ctx.image(images.LITELLM), env)],
                        "volumes": router_volumes(cfg),
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "kubernetes.io/hostname",
                                "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": ROUTER_POD},
                            }
                        ],
                    },
                },
            },
            opts=ctx.opts(self, depends_on=deps),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=ctx.meta(ROUTER_NAME, ns, labels),
            spec=service_spec(cfg),
            opts=ctx.opts(self),
        )
        if lb_annotations(cfg):
            k8s.core.v1.Service(
                f"{name}-internal-lb",
                # Its own app label: the ServiceMonitor scrapes `router`, not the load balancer.
                metadata=ctx.meta(LB_NAME, ns, ctx.labels(LB_NAME, "router"), annotations=lb_annotations(cfg)),
                spec=lb_service_spec(cfg),
                opts=ctx.opts(self),
            )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=ctx.meta(ROUTER_NAME, ns, labels),
            spec={"minAvailable": 1, "selector": {"matchLabels": ROUTER_POD}},
            opts=ctx.opts(self),
        )
        if cfg.serving.router.cache:
            self._cache(name, ctx)
        if cfg.serving.router.teams:
            self.teams = RouterTeams(
                f"{name}-teams", ctx, SECRET_NAME, pulumi.ResourceOptions(parent=self, depends_on=[deployment])
            )
        self.register_outputs({})

    def _cache(self, name: str, ctx: PlatformContext) -> None:
        labels = ctx.labels(CACHE_NAME, "router")
        k8s.apps.v1.Deployment(
            f"{name}-cache",
            metadata=ctx.meta(CACHE_NAME, c.NAMESPACE_SERVING, labels),
            spec={
                "replicas": 1,
                "selector": {"matchLabels": REDIS_POD},
                "template": {
                    "metadata": {"labels": {**labels, **REDIS_POD}},
                    "spec": {
                        "priorityClassName": c.PRIORITY_STANDARD,
                        "securityContext": restricted_pod_security(images.REDIS_UID),
                        # The cache holds answers: it lives where the router may.
                        **router_placement(ctx.config).pod_fields(),
                        "containers": [
                            {
                                "name": "redis",
                                "image": ctx.image(images.REDIS),
                                # A cache: no persistence, bounded memory, least-recently-used eviction.
                                "args": [
                                    "--save",
                                    "",
                                    "--appendonly",
                                    "no",
                                    "--maxmemory",
                                    "1536mb",
                                    "--maxmemory-policy",
                                    "allkeys-lru",
                                ],
                                "ports": [{"name": "redis", "containerPort": c.PORT_REDIS}],
                                "resources": {
                                    "requests": {"cpu": "250m", "memory": "2Gi"},
                                    "limits": {"memory": "2Gi"},
                                },
                                "securityContext": restricted_container_security(),
                                "readinessProbe": {"tcpSocket": {"port": c.PORT_REDIS}},
                            }
                        ],
                    },
                },
            },
            opts=ctx.opts(self),
        )
        k8s.core.v1.Service(
            f"{name}-cache-service",
            metadata=ctx.meta(CACHE_NAME, c.NAMESPACE_SERVING, labels),
            spec={"selector": REDIS_POD, "ports": [{"name": "redis", "port": c.PORT_REDIS, "targetPort": "redis"}]},
            opts=ctx.opts(self),
        )


def lb_annotations(cfg: FactoryConfig) -> dict[str, str]:
    """Internal NLB (AWS Load Balancer Controller) on EKS: TLS ends at the NLB with an ACM certificate, or
    passes through to the router (tlsSecret), whose pods may be on the site's hybrid nodes (ip targets)."""
    assert cfg.serving is not None
    router = cfg.serving.router
    if not cfg.has_eks or (router.tls_certificate_arn is None and router.tls_secret is None):
        return {}
    out = {
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    }
    if router.tls_certificate_arn is not None:
        out["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] = router.tls_certificate_arn
        out["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] = "443"
    return out


def service_spec(cfg: FactoryConfig) -> dict[str, Any]:
    """The in-cluster Service `router`: HTTPS on 443 with router TLS, else HTTP on the router's port."""
    scheme = router_scheme(cfg)
    port = 443 if scheme == "https" else c.PORT_ROUTER
    return {"selector": ROUTER_POD, "ports": [{"name": scheme, "port": port, "targetPort": scheme}]}


def lb_service_spec(cfg: FactoryConfig) -> dict[str, Any]:
    return {
        "type": "LoadBalancer",
        "selector": ROUTER_POD,
        "ports": [{"name": "https", "port": 443, "targetPort": router_scheme(cfg), "protocol": "TCP"}],
    }
