"""Vector store: Qdrant as a typed StatefulSet, on encrypted volumes, where its data class may live.

A typed StatefulSet (not the Qdrant chart) because its placement and volumes are what the
residency policy must see. With an on-prem site the store always lives on-prem (its data
does not move); `restricted` data is *required* onto on-prem nodes. PVCs survive deletion and
scale-down (retention policy Retain) and the StatefulSet is protected in production.
`vectorStore.snapshots` adds the backup CronJob (vector_snapshots.py).

Cluster facts (Qdrant's config/config.yaml, src/settings.rs; the qdrant-helm chart):
- pods start in parallel: a restarted node does not become Ready until its peers run, and
  `OrderedReady` starts pod i+1 only once pod i is Ready, so a cluster restarted as a whole
  deadlocks (the chart warns so and defaults to Parallel);
- `storage.collection.replication_factor` defaults to 1 (no redundancy): new collections get
  min(2, replicas) copies of each shard, and a write consistency factor of one less (at least 1),
  so draining one node (the PDB allows one) keeps every shard readable and writable;
- `service.api_key` / `service.read_only_api_key` (env QDRANT__SERVICE__…) from the Pulumi secrets
  `vectorStoreApiKey` / `vectorStoreReadOnlyApiKey`; clients get a key in the Secret `vector-store`
  of their namespace (read-only unless they ingest, `client_access`); `/metrics` on 6333 then
  needs a key, so Prometheus scrapes the dedicated unauthenticated `service.metrics_port`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import conventions as c
from components.config.models import FactoryConfig
from components.k8s import images
from components.k8s.context import PlatformContext, restricted_container_security, restricted_pod_security
from components.k8s.placement import vector_store_on_prem, vector_store_placement
from components.k8s.storage_classes import CLOUD_STORAGE_CLASS
from components.k8s.tenancy import QDRANT_POD, vector_client_namespaces
from components.k8s.vector_snapshots import VectorSnapshotJob

NAME = "qdrant"
HEADLESS = "qdrant-headless"
API_KEYS_SECRET = "qdrant-api-keys"
"""Secret in aif-vector holding Qdrant's two keys (Qdrant's env and the snapshot job read it by reference)."""
API_KEY = "api-key"
"""Key of API_KEYS_SECRET (and of CLIENT_SECRET) holding a Qdrant API key."""
READ_ONLY_API_KEY = "read-only-api-key"
CLIENT_SECRET = "vector-store"
"""Secret in every client namespace: `url`, `api-key` and `access` (what that key may do)."""
READ_ONLY = "read-only"
READ_WRITE = "read-write"
SECRET_FULL = "vectorStoreApiKey"
SECRET_READ_ONLY = "vectorStoreReadOnlyApiKey"
"""Pulumi secrets (components/config/secrets.py) the keys come from."""


def replication(cfg: FactoryConfig) -> tuple[int, int]:
    """(replication_factor, write_consistency_factor) of new collections: two copies of every shard
    when there are two nodes or more, and writes acknowledged by all copies but one (at least one)."""
    assert cfg.vector_store is not None
    factor = min(2, cfg.vector_store.replicas)
    return factor, max(1, factor - 1)


def qdrant_env(cfg: FactoryConfig) -> list[dict[str, Any]]:
    """Qdrant's settings as env (prefix QDRANT, separator `__`, src/settings.rs); keys by reference only."""
    factor, write_consistency = replication(cfg)
    return [
        {"name": "QDRANT__CLUSTER__ENABLED", "value": "true"},
        {"name": "QDRANT__STORAGE__COLLECTION__REPLICATION_FACTOR", "value": str(factor)},
        {"name": "QDRANT__STORAGE__COLLECTION__WRITE_CONSISTENCY_FACTOR", "value": str(write_consistency)},
        {"name": "QDRANT__SERVICE__METRICS_PORT", "value": str(c.PORT_QDRANT_METRICS)},
        *(
            {"name": var, "valueFrom": {"secretKeyRef": {"name": API_KEYS_SECRET, "key": key}}}
            for var, key in (
                ("QDRANT__SERVICE__API_KEY", API_KEY),
                ("QDRANT__SERVICE__READ_ONLY_API_KEY", READ_ONLY_API_KEY),
            )
        ),
    ]


def client_access(cfg: FactoryConfig) -> dict[str, str]:
    """Client namespace → what its key may do. Least privilege: serving (RAG retrieval) and the team
    namespaces only search, so they get the read-only key; aif-batch runs the ingestion (embedding)
    jobs that write collections, so it gets the full key."""
    return {ns: READ_WRITE if ns == c.NAMESPACE_BATCH else READ_ONLY for ns in vector_client_namespaces(cfg)}


def client_url() -> str:
    return f"http://{NAME}.{c.NAMESPACE_VECTOR}.svc.cluster.local:{c.PORT_QDRANT_HTTP}"


def client_secret_data(
    cfg: FactoryConfig, full_key: pulumi.Input[str], read_only_key: pulumi.Input[str]
) -> dict[str, dict[str, pulumi.Input[str]]]:
    """Client namespace → stringData of its `vector-store` Secret (the key its access allows)."""
    return {
        ns: {"url": client_url(), API_KEY: full_key if access == READ_WRITE else read_only_key, "access": access}
        for ns, access in client_access(cfg).items()
    }


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
        # Parallel, as Qdrant's chart: OrderedReady deadlocks a cluster restarted as a whole.
        "podManagementPolicy": "Parallel",
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
                        "env": qdrant_env(cfg),
                        "ports": [
                            {"name": "http", "containerPort": c.PORT_QDRANT_HTTP},
                            {"name": "grpc", "containerPort": c.PORT_QDRANT_GRPC},
                            {"name": "p2p", "containerPort": c.PORT_QDRANT_P2P},
                            {"name": "metrics", "containerPort": c.PORT_QDRANT_METRICS},
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
        secrets: Mapping[str, pulumi.Input[str]],
        snapshots_bucket: pulumi.Input[str] | None = None,
        storage_class: pulumi.Resource | None = None,
    ) -> None:
        """`secrets`: the stack's Pulumi secrets (vectorStoreApiKey, vectorStoreReadOnlyApiKey);
        `snapshots_bucket`: name of the stack's vector-snapshots bucket (needed by an s3-bucket snapshot target);
        `storage_class`: the cloud StorageClass (EKS stacks)."""
        super().__init__(c.type_token("k8s", "VectorStore"), name, {}, opts)
        cfg = ctx.config
        vs = cfg.vector_store
        assert vs is not None
        ns = c.NAMESPACE_VECTOR
        labels = ctx.labels(NAME, "vector-store", data_class=vs.data_class)
        full_key = pulumi.Output.secret(secrets[SECRET_FULL])
        read_only_key = pulumi.Output.secret(secrets[SECRET_READ_ONLY])
        keys = k8s.core.v1.Secret(
            f"{name}-api-keys",
            metadata=ctx.meta(API_KEYS_SECRET, ns, labels),
            type="Opaque",
            string_data={API_KEY: full_key, READ_ONLY_API_KEY: read_only_key},
            opts=ctx.opts(self),
        )
        for client_ns, data in client_secret_data(cfg, full_key, read_only_key).items():
            k8s.core.v1.Secret(
                f"{name}-client-key-{client_ns}",
                metadata=ctx.meta(CLIENT_SECRET, client_ns, ctx.labels(CLIENT_SECRET, "vector-store")),
                type="Opaque",
                string_data=data,
                opts=ctx.opts(self),
            )
        # The cloud StorageClass (Platform creates it on EKS stacks) must exist before the claims;
        # the keys before the pods that read them.
        deps: list[pulumi.Resource] = [keys, *([storage_class] if storage_class is not None else [])]
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
                    {"name": "metrics", "port": c.PORT_QDRANT_METRICS, "targetPort": "metrics"},
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
