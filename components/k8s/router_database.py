"""The router's Postgres: LiteLLM keeps teams, virtual keys and their spend there (not in its config).

A typed StatefulSet of one replica, on an encrypted StorageClass, placed with the router (the
database records who called which model, so it stays where the router may run), reachable only
from the router's pods. Its volume survives deletion and scale-down, and the StatefulSet is
protected in production. What it holds is mostly rebuilt from config: the router-teams job
re-creates teams and, when a key no longer validates, issues a new one into the team's Secret;
only the spend of the running budget period would be lost with the volume.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s

from components import conventions as c
from components.config.models import FactoryConfig
from components.k8s import images
from components.k8s.context import PlatformContext, restricted_container_security, restricted_pod_security
from components.k8s.placement import router_placement
from components.k8s.storage_classes import CLOUD_STORAGE_CLASS
from components.k8s.tenancy import ROUTER_DB_POD
from components.routing import router_on_prem

NAME = "router-db"
SECRET_NAME = "router-db"
DB_POD = ROUTER_DB_POD
DATABASE = "litellm"
USER = "litellm"
PGDATA = "/var/lib/postgresql/data/pgdata"
"""A subdirectory of the volume: initdb refuses a non-empty mount point (lost+found)."""


def storage_class_name(cfg: FactoryConfig) -> str:
    """The configured class, else the site's encrypted class where the router runs on-prem, else EBS gp3."""
    assert cfg.serving is not None
    db = cfg.serving.router.database
    if db.storage_class is not None:
        return db.storage_class
    on_site = router_on_prem(cfg) or not cfg.has_eks
    return cfg.kubernetes.on_prem_storage_class if on_site else CLOUD_STORAGE_CLASS


def database_url(password: pulumi.Input[str]) -> pulumi.Output[str]:
    """The router's DATABASE_URL (a secret Output: it carries the password, URL-quoted)."""
    host = f"{NAME}.{c.NAMESPACE_SERVING}.svc.cluster.local"
    return pulumi.Output.secret(
        pulumi.Output.from_input(password).apply(
            lambda pw: f"postgresql://{USER}:{quote(pw, safe='')}@{host}:{c.PORT_POSTGRES}/{DATABASE}"
        )
    )


def statefulset_spec(cfg: FactoryConfig, image: pulumi.Input[str], labels: dict[str, str]) -> dict[str, Any]:
    assert cfg.serving is not None
    db = cfg.serving.router.database
    ready = ["pg_isready", "-U", USER, "-d", DATABASE, "-h", "127.0.0.1"]
    return {
        "serviceName": NAME,
        "replicas": 1,
        "selector": {"matchLabels": DB_POD},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        "template": {
            "metadata": {"labels": {**labels, **DB_POD}},
            "spec": {
                "priorityClassName": c.PRIORITY_CRITICAL,
                "securityContext": restricted_pod_security(images.POSTGRES_UID),
                **router_placement(cfg).pod_fields(),
                "containers": [
                    {
                        "name": "postgres",
                        "image": image,
                        "env": [
                            {"name": "POSTGRES_DB", "value": DATABASE},
                            {"name": "POSTGRES_USER", "value": USER},
                            {
                                "name": "POSTGRES_PASSWORD",
                                "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": "POSTGRES_PASSWORD"}},
                            },
                            {"name": "PGDATA", "value": PGDATA},
                        ],
                        "ports": [{"name": "postgres", "containerPort": c.PORT_POSTGRES}],
                        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
                        "securityContext": restricted_container_security(),
                        "readinessProbe": {"exec": {"command": ready}, "periodSeconds": 10},
                        "livenessProbe": {"exec": {"command": ready}, "periodSeconds": 30, "failureThreshold": 6},
                        "volumeMounts": [
                            {"name": "data", "mountPath": "/var/lib/postgresql/data"},
                            {"name": "run", "mountPath": "/var/run/postgresql"},
                        ],
                    }
                ],
                "volumes": [{"name": "run", "emptyDir": {"sizeLimit": "16Mi"}}],
            },
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data", "labels": labels},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": storage_class_name(cfg),
                    "resources": {"requests": {"storage": f"{db.storage_gib}Gi"}},
                },
            }
        ],
    }


class RouterDatabase(pulumi.ComponentResource):
    """Postgres for the router: Secret, StatefulSet and Service."""

    def __init__(
        self,
        name: str,
        ctx: PlatformContext,
        password: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
        *,
        storage_class: pulumi.Resource | None = None,
    ) -> None:
        """`storage_class`: the cloud StorageClass (EKS stacks)."""
        super().__init__(c.type_token("k8s", "RouterDatabase"), name, {}, opts)
        cfg = ctx.config
        ns = c.NAMESPACE_SERVING
        labels = ctx.labels(NAME, "router")
        deps: list[pulumi.Resource] = [storage_class] if storage_class is not None else []
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=ctx.meta(SECRET_NAME, ns, labels),
            type="Opaque",
            string_data={"POSTGRES_PASSWORD": pulumi.Output.secret(password)},
            opts=ctx.opts(self),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=ctx.meta(NAME, ns, labels),
            spec={
                "selector": DB_POD,
                "ports": [{"name": "postgres", "port": c.PORT_POSTGRES, "targetPort": "postgres"}],
            },
            opts=ctx.opts(self),
        )
        self.statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=ctx.meta(NAME, ns, labels),
            spec=statefulset_spec(cfg, ctx.image(images.POSTGRES), labels),
            opts=ctx.opts(self, depends_on=[*deps, secret], protect=cfg.is_prod, retain_on_delete=cfg.is_prod),
        )
        self.register_outputs({})
