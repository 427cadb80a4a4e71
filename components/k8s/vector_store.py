"""Vector store: Qdrant as a typed StatefulSet, on encrypted volumes, where its data class may live.

A typed StatefulSet (not the Qdrant chart) because its placement and volumes are what the
residency policy must see. With an on-prem site the store always lives on-prem (its data
does not move); `restricted` data is *required* onto on-prem nodes. PVCs survive deletion and
scale-down (retention policy Retain) and the StatefulSet is protected in production.
`vectorStore.snapshots` adds the backup CronJob (vector_snapshots.py).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import conventions as c
from components.config.models import FactoryConfig
from components.k8s import images
from components.k8s.context import PlatformContext, restricted_container_security, restricted_pod_security
from components.k8s.placement import vector_store_on_prem, vector_store_placement
from components.k8s.storage_classes import CLOUD_STORAGE_CLASS
from components.k8s.tenancy import QDRANT_POD
from components.k8s.vector_snapshots import VectorSnapshotJob

NAME = "qdrant"
HEADLESS = "qdrant-headless"


def storage_class_name(cfg: FactoryConfig) -> str:
    assert cfg.vector_store is not None
    if cfg.vector_store.storage_class is not None:
        return cfg.vector_store.storage_class
    return cfg.kubernetes.on_prem_storage_class if vector_store_on_prem(cfg) else CLOUD_STORAGE_CLASS


def _start_command() -> list[str]:
    # Raft cluster: pod 0 starts the cluster, the others bootstrap from it (as Qdrant's chart does).
    peer = f"http://${{HOSTNAME}}.{HEADLESS}:{c.PORT_QDRANT_P2P}"
    first = f"http://{NAME}-0.{HEADLESS}:{c.PORT_QDRANT_P2P}"
    script = (
        f'if [ "${{HOSTNAME##*-}}" = "0" ]; then exec ./entrypoint.sh --uri "{peer}"; '
        f'else exec ./entrypoint.sh --bootstrap "{first}" --uri "{peer}"; fi'
    )
    return ["/bin/sh", "-c", script]


def statefulset_spec(cfg: FactoryConfig, image: pulumi.Input[str], labels: dict[str, str]) -> dict[str, Any]:
    vs = cfg.vector_store
    assert vs is not None
    resources = {"requests": {"cpu": vs.cpu, "memory": vs.memory}, "limits": {"cpu": vs.cpu, "memory": vs.memory}}
    return {
        "serviceName": HEADLESS,
        "replicas": vs.replicas,
        "podManagementPolicy": "OrderedReady",
        "selector": {"matchLabels": QDRANT_POD},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        "template": {
            "metadata": {"labels": {**labels, **QDRANT_POD}},
            "spec": {
                "priorityClassName": c.PRIORITY_CRITICAL,
                "securityContext": restricted_pod_security(),
                **vector_store_placement(cfg).pod_fields(),
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "DoNotSchedule",
                        "labelSelector": {"matchLabels": QDRANT_POD},
                    }
                ],
                "containers": [
                    {
                        "name": "qdrant",
                        "image": image,
                        "command": _start_command(),
                        "env": [{"name": "QDRANT__CLUSTER__ENABLED", "value": "true"}],
                        "ports": [
                            {"name": "http", "containerPort": c.PORT_QDRANT_HTTP},
                            {"name": "grpc", "containerPort": c.PORT_QDRANT_GRPC},
                            {"name": "p2p", "containerPort": c.PORT_QDRANT_P2P},
                        ],
                        "resources": resources,
                        "securityContext": restricted_container_security(),
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": c.PORT_QDRANT_HTTP}},
                        "livenessProbe": {"httpGet": {"path": "/livez", "port": c.PORT_QDRANT_HTTP}},
                        "volumeMounts": [
                            {"name": "storage", "mountPath": "/qdrant/storage"},
                            {"name": "snapshots", "mountPath": "/qdrant/snapshots"},
                        ],
                    }
                ],
                "volumes": [{"name": "snapshots", "emptyDir": {"sizeLimit": f"{vs.storage_gib}Gi"}}],
            },
        },
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "storage", "labels": labels},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": storage_class_name(cfg),
                    "resources": {"requests": {"storage": f"{vs.storage_gib}Gi"}},
                },
            }
        ],
    }


class VectorStore(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
        *,
        snapshots_bucket: pulumi.Input[str] | None = None,
        storage_class: pulumi.Resource | None = None,
    ) -> None:
        """`snapshots_bucket`: name of the stack's vector-snapshots bucket (needed by an s3-bucket snapshot target);
        `storage_class`: the cloud StorageClass (EKS stacks)."""
        super().__init__(c.type_token("k8s", "VectorStore"), name, {}, opts)
        cfg = ctx.config
        vs = cfg.vector_store
        assert vs is not None
        ns = c.NAMESPACE_VECTOR
        labels = ctx.labels(NAME, "vector-store", data_class=vs.data_class)
        # The cloud StorageClass (Platform creates it on EKS stacks) must exist before the claims.
        deps: list[pulumi.Resource] = [storage_class] if storage_class is not None else []
        k8s.core.v1.Service(
            f"{name}-headless",
            metadata=ctx.meta(HEADLESS, ns, labels),
            spec={
                "clusterIP": "None",
                "publishNotReadyAddresses": True,  # peers must find each other before they are ready
                "selector": QDRANT_POD,
                "ports": [{"name": "p2p", "port": c.PORT_QDRANT_P2P, "targetPort": "p2p"}],
            },
            opts=ctx.opts(self),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=ctx.meta(NAME, ns, labels),
            spec={
                "selector": QDRANT_POD,
                "ports": [
                    {"name": "http", "port": c.PORT_QDRANT_HTTP, "targetPort": "http"},
                    {"name": "grpc", "port": c.PORT_QDRANT_GRPC, "targetPort": "grpc"},
                ],
            },
            opts=ctx.opts(self),
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=ctx.meta(NAME, ns, labels),
            spec={"maxUnavailable": 1, "selector": {"matchLabels": QDRANT_POD}},
            opts=ctx.opts(self),
        )
        self.statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=ctx.meta(NAME, ns, labels),
            spec=statefulset_spec(cfg, ctx.image(images.QDRANT), labels),
            opts=ctx.opts(self, depends_on=deps, protect=cfg.is_prod, retain_on_delete=cfg.is_prod),
        )
        if vs.snapshots is not None:
            self.snapshots = VectorSnapshotJob(
                f"{name}-snapshots", ctx, snapshots_bucket, pulumi.ResourceOptions(parent=self)
            )
        self.register_outputs({})
