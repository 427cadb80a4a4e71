"""Vector store snapshots: a CronJob that copies every Qdrant collection to an object store.

Qdrant's collection snapshots are per node: in a cluster each node snapshots only the shards it
holds (Qdrant docs, "Snapshots"), so the job asks every pod of the StatefulSet in turn
(`qdrant-<i>.qdrant-headless`), never the load-balanced Service. Per node and collection it
creates a snapshot (`POST /collections/{name}/snapshots?wait=true`), streams the download
(`GET …/snapshots/{snapshot}`) into the target under `<collection>/<node>/<snapshot>`, checks
the stored object against the bytes read and Qdrant's reported size (and sha256 checksum when
Qdrant gives one), always deletes the snapshot from the node (`DELETE …`, the node's snapshot
directory is a size-limited emptyDir), then prunes that prefix to `keepLast`.

The target follows the data class's residency (config semantics): the stack's
`vector-snapshots` S3 bucket through the job's own EKS Pod Identity role (SSE-KMS with the
stack key), or an S3-compatible store on the site with a Secret created there. The pods run
where the store's own pods may run (same node affinity) and may talk only to Qdrant's HTTP
port and to the target.

The image is the pinned vLLM image: it carries python3 and boto3 (the weight fetcher uses
them too) and is already on the site's GPU servers, where an on-prem store and its job run.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import conventions as c
from components.config.models import FactoryConfig, VectorSnapshots
from components.k8s import images
from components.k8s.context import PlatformContext, restricted_container_security, restricted_pod_security
from components.k8s.placement import vector_store_placement
from components.k8s.tenancy import POD_IDENTITY_EGRESS, QDRANT_POD, s3_egress, site_store_egress

NAME = c.VECTOR_SNAPSHOT_JOB
"""CronJob, ConfigMap and NetworkPolicy name; the job pods' app label."""
SNAPSHOT_POD = {c.LABEL_APP: NAME}
SCRIPT_KEY = "qdrant_snapshots.py"
SCRIPTS_DIR = "/scripts"
DEFAULT_ON_SITE_REGION = "us-east-1"
"""Signing region of MinIO and Ceph RGW unless configured otherwise."""
STARTING_DEADLINE_SECONDS = 3600
"""A run missed by more than an hour (controller down) is skipped, not started late into the day."""
ACTIVE_DEADLINE_SECONDS = 12 * 3600
"""A hung run is killed after 12 h, so `concurrencyPolicy: Forbid` cannot block every later run."""
BACKOFF_LIMIT = 2
"""Retries of a failed run (a node restarting during the snapshot)."""
HISTORY_LIMIT = 3
CPU = "500m"
MEMORY = "1Gi"
"""Streaming upload: boto3 buffers at most PART_MB × its 10 transfer threads."""
PART_MB = 64
"""Multipart part size: 64 MiB × 10,000 parts allows snapshots up to 640 GiB."""
HTTP_TIMEOUT_SECONDS = 3600
"""Socket timeout towards Qdrant: creating a snapshot of a large collection with wait=true takes long."""

SNAPSHOT_SCRIPT = '''\
"""Qdrant snapshots of every collection on every node -> S3, verified, pruned to KEEP_LAST."""
import hashlib, json, os, sys, urllib.parse, urllib.request

import boto3
from botocore.config import Config
from boto3.s3.transfer import TransferConfig


def log(*parts):
    print(*parts, flush=True)


class Counted:
    """A non-seekable reader that counts and hashes what boto3 reads from Qdrant's response."""

    def __init__(self, raw):
        self.raw, self.size, self.sha256 = raw, 0, hashlib.sha256()

    def read(self, n=-1):
        data = self.raw.read(n)
        self.size += len(data)
        self.sha256.update(data)
        return data


class Job:
    def __init__(self, env):
        self.nodes = [tuple(n.split("=", 1)) for n in env["QDRANT_NODES"].split(",") if n]
        self.bucket = env["BUCKET"]
        self.keep = int(env["KEEP_LAST"])
        self.sse = env.get("SSE", "")
        self.kms_key = env.get("KMS_KEY_ID", "")
        self.api_key = env.get("QDRANT_API_KEY", "")
        self.failures = []
        self.timeout = int(env.get("HTTP_TIMEOUT", "3600"))
        part = int(env.get("PART_MB", "64")) << 20
        self.transfer = TransferConfig(multipart_threshold=part, multipart_chunksize=part)
        config = {"retries": {"max_attempts": 10, "mode": "standard"}}
        kwargs = {"region_name": env.get("AWS_REGION") or None}
        if env.get("S3_ENDPOINT"):
            kwargs["endpoint_url"] = env["S3_ENDPOINT"]
            config["s3"] = {"addressing_style": env.get("S3_ADDRESSING", "path")}
        self.s3 = boto3.client("s3", config=Config(**config), **kwargs)

    def qdrant(self, method, url):
        req = urllib.request.Request(url, method=method)
        if self.api_key:
            req.add_header("api-key", self.api_key)
        return urllib.request.urlopen(req, timeout=self.timeout)

    def result(self, method, url):
        with self.qdrant(method, url) as resp:
            return json.load(resp)["result"]

    def backup(self, node, base, collection):
        coll = urllib.parse.quote(collection, safe="")
        snap = self.result("POST", f"{base}/collections/{coll}/snapshots?wait=true")
        name = snap["name"]
        url = f"{base}/collections/{coll}/snapshots/{urllib.parse.quote(name, safe='')}"
        key = f"{collection}/{node}/{name}"
        try:
            extra = {"Metadata": {"qdrant-node": node}}
            if snap.get("checksum"):
                extra["Metadata"]["qdrant-sha256"] = snap["checksum"]
            if self.sse:
                extra["ServerSideEncryption"] = self.sse
            if self.kms_key:
                extra["SSEKMSKeyId"] = self.kms_key
            with self.qdrant("GET", url) as resp:
                body = Counted(resp)
                self.s3.upload_fileobj(body, self.bucket, key, ExtraArgs=extra, Config=self.transfer)
            head = self.s3.head_object(Bucket=self.bucket, Key=key)
            problems = []
            if not head["ContentLength"] == body.size == snap["size"]:
                problems.append(
                    f"size: stored {head['ContentLength']}, read {body.size}, qdrant reported {snap['size']}"
                )
            if snap.get("checksum") and snap["checksum"] != body.sha256.hexdigest():
                problems.append(f"sha256 {body.sha256.hexdigest()} != qdrant's {snap['checksum']}")
            if self.sse and head.get("ServerSideEncryption") != self.sse:
                problems.append(f"stored with encryption {head.get('ServerSideEncryption')}, not {self.sse}")
            if self.kms_key and head.get("SSEKMSKeyId") != self.kms_key:
                problems.append(f"encrypted with key {head.get('SSEKMSKeyId')}, not {self.kms_key}")
            if problems:
                # A bad copy must not count towards keepLast and push out a good one.
                self.s3.delete_object(Bucket=self.bucket, Key=key)
                raise RuntimeError(f"{key}: " + "; ".join(problems))
            log(f"uploaded s3://{self.bucket}/{key} ({body.size} bytes)")
        finally:
            # The node's snapshot directory is a size-limited emptyDir: never leave a snapshot behind.
            try:
                self.result("DELETE", f"{url}?wait=true")
            except Exception as exc:
                self.failures.append(f"{node}/{collection}: snapshot {name} left on the node: {exc}")

    def prune(self, node, collection):
        prefix = f"{collection}/{node}/"
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found += [o for o in page.get("Contents", []) if o["Key"].endswith(".snapshot")]
        found.sort(key=lambda o: (o["LastModified"], o["Key"]))
        for obj in found[: max(0, len(found) - self.keep)]:
            self.s3.delete_object(Bucket=self.bucket, Key=obj["Key"])
            log(f"pruned s3://{self.bucket}/{obj['Key']}")

    def run(self):
        failures = self.failures
        for node, base in self.nodes:
            try:
                names = [col["name"] for col in self.result("GET", f"{base}/collections")["collections"]]
            except Exception as exc:
                failures.append(f"{node}: cannot list collections: {exc}")
                continue
            log(f"{node}: {len(names)} collection(s)")
            for collection in names:
                try:
                    self.backup(node, base, collection)
                    self.prune(node, collection)
                except Exception as exc:
                    failures.append(f"{node}/{collection}: {exc}")
        for failure in failures:
            print(f"FAILED {failure}", file=sys.stderr, flush=True)
        return 1 if failures else 0


def main():
    sys.exit(Job(os.environ).run())


if __name__ == "__main__":
    main()
'''


def node_urls(cfg: FactoryConfig) -> list[tuple[str, str]]:
    """(pod, base URL) of every Qdrant node, addressed through the headless Service's pod records."""
    from components.k8s import vector_store  # imports this module: resolve at call time

    assert cfg.vector_store is not None
    pods = [f"{vector_store.NAME}-{i}" for i in range(cfg.vector_store.replicas)]
    domain = f"{vector_store.HEADLESS}.{c.NAMESPACE_VECTOR}.svc.cluster.local"
    return [(pod, f"http://{pod}.{domain}:{c.PORT_QDRANT_HTTP}") for pod in pods]


def _snapshots(cfg: FactoryConfig) -> VectorSnapshots:
    assert cfg.vector_store is not None and cfg.vector_store.snapshots is not None
    return cfg.vector_store.snapshots


def container_env(
    cfg: FactoryConfig, bucket: pulumi.Input[str] | None = None, key_arn: pulumi.Input[str] | None = None
) -> list[dict[str, Any]]:
    """Environment of the snapshot container: Qdrant nodes, target, retention; credentials by reference only."""
    from components.k8s import vector_store  # imports this module: resolve at call time

    snap = _snapshots(cfg)
    target = snap.target
    env: list[dict[str, Any]] = [
        {"name": "QDRANT_NODES", "value": ",".join(f"{pod}={url}" for pod, url in node_urls(cfg))},
        # The full key: the job creates and deletes snapshots (the read-only key allows only reads).
        {
            "name": "QDRANT_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": vector_store.API_KEYS_SECRET, "key": vector_store.API_KEY}},
        },
        {"name": "KEEP_LAST", "value": str(snap.keep_last)},
        {"name": "PART_MB", "value": str(PART_MB)},
        {"name": "HTTP_TIMEOUT", "value": str(HTTP_TIMEOUT_SECONDS)},
        {"name": "HOME", "value": "/tmp"},
    ]
    if target.kind == "s3-bucket":
        assert cfg.cloud is not None
        env += [
            {"name": "BUCKET", "value": bucket},
            {"name": "AWS_REGION", "value": cfg.cloud.region},
            # Explicit key: `aws:kms` without a key id would fall back to the AWS managed aws/s3 key.
            {"name": "SSE", "value": "aws:kms"},
            {"name": "KMS_KEY_ID", "value": key_arn},
        ]
        return env
    assert target.endpoint and target.bucket and target.credentials_secret
    env += [
        {"name": "BUCKET", "value": target.bucket},
        {"name": "S3_ENDPOINT", "value": target.endpoint.rstrip("/")},
        {"name": "S3_ADDRESSING", "value": "path"},
        {"name": "AWS_REGION", "value": target.region or DEFAULT_ON_SITE_REGION},
        # S3-compatible stores differ in the flexible checksums recent botocore sends by default.
        {"name": "AWS_REQUEST_CHECKSUM_CALCULATION", "value": "when_required"},
        {"name": "AWS_RESPONSE_CHECKSUM_VALIDATION", "value": "when_required"},
    ]
    env += [
        {"name": var, "valueFrom": {"secretKeyRef": {"name": target.credentials_secret, "key": var}}}
        for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    ]
    if target.server_side_encryption is not None:
        env.append({"name": "SSE", "value": target.server_side_encryption})
    if target.ca_config_map is not None:
        env.append({"name": "AWS_CA_BUNDLE", "value": "/etc/ssl/site/ca.crt"})
    return env


def cronjob_spec(
    cfg: FactoryConfig,
    image: pulumi.Input[str],
    labels: dict[str, str],
    bucket: pulumi.Input[str] | None = None,
    key_arn: pulumi.Input[str] | None = None,
) -> dict[str, Any]:
    snap = _snapshots(cfg)
    target = snap.target
    mounts = [{"name": "scripts", "mountPath": SCRIPTS_DIR, "readOnly": True}, {"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [
        {"name": "scripts", "configMap": {"name": NAME}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
    ]
    if target.kind == "on-site-s3" and target.ca_config_map is not None:
        mounts.append({"name": "site-ca", "mountPath": "/etc/ssl/site", "readOnly": True})
        volumes.append({"name": "site-ca", "configMap": {"name": target.ca_config_map}})
    pod_labels = {**labels, **SNAPSHOT_POD}
    return {
        "schedule": snap.schedule,
        "timeZone": "Etc/UTC",
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
        "successfulJobsHistoryLimit": HISTORY_LIMIT,
        "failedJobsHistoryLimit": HISTORY_LIMIT,
        "jobTemplate": {
            "metadata": {"labels": pod_labels},
            "spec": {
                "backoffLimit": BACKOFF_LIMIT,
                "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "serviceAccountName": target.service_account,
                        "restartPolicy": "Never",
                        "priorityClassName": c.PRIORITY_STANDARD,
                        "securityContext": restricted_pod_security(),
                        # Where the store's own pods may run: restricted data → on-prem nodes only.
                        **vector_store_placement(cfg).pod_fields(),
                        "containers": [
                            {
                                "name": "snapshot",
                                "image": image,
                                "command": ["python3", f"{SCRIPTS_DIR}/{SCRIPT_KEY}"],
                                "env": container_env(cfg, bucket, key_arn),
                                "resources": {
                                    "requests": {"cpu": CPU, "memory": MEMORY},
                                    "limits": {"memory": MEMORY},
                                },
                                "securityContext": restricted_container_security(),
                                "volumeMounts": mounts,
                            }
                        ],
                        "volumes": volumes,
                    },
                },
            },
        },
    }


def network_policies(
    cfg: FactoryConfig, s3_cidrs: pulumi.Input[list[str]] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(name, spec) of the snapshot flows on top of the namespace's default deny: job → every Qdrant
    pod's HTTP port, job → the target (the region's S3 ranges and the Pod Identity agent for the AWS
    bucket, the store's networks on site), nothing in."""
    target = _snapshots(cfg).target
    qdrant_http = [{"protocol": "TCP", "port": c.PORT_QDRANT_HTTP}]
    egress: list[dict[str, Any]] = [{"to": [{"podSelector": {"matchLabels": QDRANT_POD}}], "ports": qdrant_http}]
    if target.kind == "s3-bucket":
        egress += [s3_egress(cfg, s3_cidrs), POD_IDENTITY_EGRESS]
    else:
        # The store's own networks only: the snapshots hold the vector store's data, which stays on the site.
        assert target.endpoint is not None and target.cidrs is not None  # semantics.py requires both
        egress.append(site_store_egress(target.endpoint, target.cidrs))
    return [
        (NAME, {"podSelector": {"matchLabels": SNAPSHOT_POD}, "policyTypes": ["Ingress", "Egress"], "egress": egress}),
        (
            f"{NAME}-to-qdrant",
            {
                "podSelector": {"matchLabels": QDRANT_POD},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": SNAPSHOT_POD}}], "ports": qdrant_http}],
            },
        ),
    ]


class VectorSnapshotJob(pulumi.ComponentResource):
    """The snapshot CronJob with its script, service account and network policies."""

    def __init__(
        self,
        name: str,
        ctx: PlatformContext,
        bucket: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(c.type_token("k8s", "VectorSnapshotJob"), name, {}, opts)
        cfg = ctx.config
        vs = cfg.vector_store
        assert vs is not None and vs.snapshots is not None
        target = vs.snapshots.target
        if target.kind == "s3-bucket" and bucket is None:
            raise ValueError(
                "vectorStore.snapshots.target s3-bucket: the platform was not given the vector-snapshots bucket "
                "(PlatformArgs → VectorStore(snapshots_bucket=…))"
            )
        ns = c.NAMESPACE_VECTOR
        labels = ctx.labels(NAME, "vector-store", data_class=vs.data_class)
        k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=ctx.meta(target.service_account, ns, labels),
            automount_service_account_token=False,
            opts=ctx.opts(self),
        )
        script = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=ctx.meta(NAME, ns, labels),
            data={SCRIPT_KEY: SNAPSHOT_SCRIPT},
            opts=ctx.opts(self),
        )
        for pol_name, spec in network_policies(cfg, ctx.s3_cidrs):
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{pol_name}-netpol", metadata=ctx.meta(pol_name, ns, labels), spec=spec, opts=ctx.opts(self)
            )
        key_arn = ctx.storage_key_arn if target.kind == "s3-bucket" else None
        self.cronjob = k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=ctx.meta(NAME, ns, labels),
            spec=cronjob_spec(cfg, ctx.image(images.VLLM), labels, bucket, key_arn),
            opts=ctx.opts(self, depends_on=[script]),
        )
        self.register_outputs({})
