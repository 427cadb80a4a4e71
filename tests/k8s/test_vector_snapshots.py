"""Vector store snapshots: the CronJob the reference stacks get, and its script run for real.

The objects are checked as the plan records them (what the API server and the policies see).
The script is the one in the plan's ConfigMap, run against a fake Qdrant (http.server on
127.0.0.1, one per node) and moto's S3 — the on-site endpoint through moto's custom-endpoint
support, the AWS bucket with SSE-KMS and a moto KMS key.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import runpy
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from support import doc_sections, stack_doc

from components import conventions as c
from components.config import parse_sections
from components.config.models import FactoryConfig
from components.k8s.placement import Placement, vector_store_placement
from components.k8s.tenancy import POD_IDENTITY_EGRESS, QDRANT_POD
from components.k8s.vector_snapshots import NAME, SCRIPT_KEY, SNAPSHOT_POD, cronjob_spec, network_policies
from components.tooling.plan import make_plan
from policies.rules.base import ResourceView
from policies.rules.placement import PLACEMENT_RULE, check_placement

SNAPSHOT_STACKS = {"lab": "https://s3.lab.example.internal", "prod-eu": "https://s3.fra1.example.internal"}
"""Reference stacks with a vector store → their on-site snapshot store (both hold restricted data)."""
SNAPSHOT_STORE_NETWORKS = {"lab": "10.30.8.0/28", "prod-eu": "10.20.8.0/28"}
"""... and the networks that store's endpoint resolves to (the job's only way out of the cluster)."""
CRONJOB = "kubernetes:batch/v1:CronJob"
KMS_ARN = "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _find(objects: list[dict], kind: str, name: str, namespace: str = c.NAMESPACE_VECTOR) -> dict:
    found = [
        m
        for m in objects
        if m["kind"] == kind and m["metadata"]["name"] == name and m["metadata"].get("namespace") == namespace
    ]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def _pod(cronjob: dict) -> dict:
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def _env(cronjob: dict) -> dict[str, dict]:
    return {e["name"]: e for e in _pod(cronjob)["containers"][0]["env"]}


def _cfg(stack: str, mutate=None) -> FactoryConfig:
    doc = stack_doc(stack)
    if mutate is not None:
        mutate(doc["config"])
    return parse_sections(doc_sections(doc))


def _aws_target(conf: dict) -> None:
    """prod-eu with a cloud-storable vector store whose snapshots go to the AWS bucket."""
    conf["ai-factory:vectorStore"]["dataClass"] = "internal"
    conf["ai-factory:vectorStore"]["snapshots"] = {"schedule": "30 3 * * *", "target": {"kind": "s3-bucket"}}
    conf["ai-factory:cloud"]["eks"]["workloads"]["qdrant-snapshots"] = {
        "namespace": c.NAMESPACE_VECTOR,
        "serviceAccount": "qdrant-snapshots",
        "buckets": {"vector-snapshots": "read-write"},
    }


# ------------------------------------------------------------------ the objects in the plan
def test_only_stacks_with_a_vector_store_get_the_job(manifests) -> None:
    for stack, objects in manifests.items():
        jobs = [m for m in objects if m["kind"] == "CronJob" and m["metadata"]["namespace"] == c.NAMESPACE_VECTOR]
        assert [j["metadata"]["name"] for j in jobs] == ([NAME] if stack in SNAPSHOT_STACKS else [])


@pytest.mark.parametrize("stack", sorted(SNAPSHOT_STACKS))
def test_cronjob_schedule_and_concurrency(stack: str, manifests) -> None:
    spec = _find(manifests[stack], "CronJob", NAME)["spec"]
    assert spec["schedule"] == "0 2 * * *"
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] == 3600
    assert spec["successfulJobsHistoryLimit"] == spec["failedJobsHistoryLimit"] == 3
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 2 and job["activeDeadlineSeconds"] == 12 * 3600
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert job["template"]["metadata"]["labels"][c.LABEL_APP] == NAME
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
    ctr = pod["containers"][0]
    assert ctr["securityContext"]["allowPrivilegeEscalation"] is False
    assert ctr["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert ctr["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}
    assert ctr["command"] == ["python3", f"/scripts/{SCRIPT_KEY}"]
    assert "@sha256:" in ctr["image"] and "/docker-hub/vllm/vllm-openai@" in ctr["image"]


@pytest.mark.parametrize("stack", sorted(SNAPSHOT_STACKS))
def test_job_runs_on_prem_like_the_store_it_copies(stack: str, manifests, plans) -> None:
    pod = _pod(_find(manifests[stack], "CronJob", NAME))
    placement = Placement(pod.get("affinity", {}), pod.get("tolerations", []), pod.get("nodeSelector", {}))
    assert placement.on_prem_only and not placement.tolerates_burst
    assert pod["nodeSelector"] == {c.LABEL_LOCATION: c.LOCATION_ON_PREM}
    store = _find(manifests[stack], "StatefulSet", "qdrant")["spec"]["template"]["spec"]
    for key in ("affinity", "tolerations", "nodeSelector"):
        assert pod[key] == store[key]
    assert vector_store_placement(plans[stack].config).pod_fields() == {
        k: pod[k] for k in ("affinity", "tolerations", "nodeSelector")
    }


@pytest.mark.parametrize("stack", sorted(SNAPSHOT_STACKS))
def test_on_site_target_reaches_the_container(stack: str, manifests, plans) -> None:
    env = _env(_find(manifests[stack], "CronJob", NAME))
    replicas = plans[stack].config.vector_store.replicas
    values = {k: e.get("value") for k, e in env.items()}
    assert values["BUCKET"] == "qdrant-snapshots"
    assert values["S3_ENDPOINT"] == SNAPSHOT_STACKS[stack]
    assert values["S3_ADDRESSING"] == "path"
    assert values["KEEP_LAST"] == "7"
    domain = f"qdrant-headless.{c.NAMESPACE_VECTOR}.svc.cluster.local:{c.PORT_QDRANT_HTTP}"
    assert values["QDRANT_NODES"] == ",".join(f"qdrant-{i}=http://qdrant-{i}.{domain}" for i in range(replicas))
    # Restricted data: nothing points at AWS — no KMS key, no SSE-KMS, no AWS endpoint.
    assert "KMS_KEY_ID" not in env and "SSE" not in env
    assert not any("amazonaws.com" in str(v) for v in values.values())


@pytest.mark.parametrize("stack", sorted(SNAPSHOT_STACKS))
def test_credentials_come_from_the_site_secret_by_reference(stack: str, manifests, plans) -> None:
    env = _env(_find(manifests[stack], "CronJob", NAME))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[var] == {
            "name": var,
            "valueFrom": {"secretKeyRef": {"name": "qdrant-snapshot-credentials", "key": var}},
        }
    # The plan never holds the site's Secret itself, nor any credential value.
    site_secret = plans[stack].config.vector_store.snapshots.target.credentials_secret
    assert not [m for m in manifests[stack] if m["kind"] == "Secret" and m["metadata"]["name"] == site_secret]
    assert not [e for e in env.values() if "SECRET" in e["name"] and "value" in e]
    sa = _find(manifests[stack], "ServiceAccount", "qdrant-snapshots")
    assert sa["automountServiceAccountToken"] is False
    assert _pod(_find(manifests[stack], "CronJob", NAME))["serviceAccountName"] == "qdrant-snapshots"


@pytest.mark.parametrize("stack", sorted(SNAPSHOT_STACKS))
def test_network_policies_allow_exactly_job_to_qdrant_and_egress(stack: str, manifests) -> None:
    policies = {
        m["metadata"]["name"]: m["spec"]
        for m in manifests[stack]
        if m["kind"] == "NetworkPolicy" and m["metadata"]["namespace"] == c.NAMESPACE_VECTOR
    }
    assert set(policies) == {"default-deny", "allow-dns", "qdrant", NAME, f"{NAME}-to-qdrant"}
    http = [{"protocol": "TCP", "port": c.PORT_QDRANT_HTTP}]
    assert policies[NAME] == {
        "podSelector": {"matchLabels": SNAPSHOT_POD},
        "policyTypes": ["Ingress", "Egress"],  # no ingress rule: nothing may connect to the job
        "egress": [
            {"to": [{"podSelector": {"matchLabels": QDRANT_POD}}], "ports": http},
            # The snapshots hold restricted data: the site store's networks only, never the internet.
            {
                "to": [{"ipBlock": {"cidr": SNAPSHOT_STORE_NETWORKS[stack]}}],
                "ports": [{"protocol": "TCP", "port": 443}],
            },
        ],
    }
    assert policies[f"{NAME}-to-qdrant"] == {
        "podSelector": {"matchLabels": QDRANT_POD},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": SNAPSHOT_POD}}], "ports": http}],
    }
    # The job's pods are not Qdrant's: Services, PDB and the store's own policy do not select them.
    assert not set(QDRANT_POD.items()) <= set(_find(manifests[stack], "CronJob", NAME)["metadata"]["labels"].items())


def test_residency_rule_sees_the_job(plans) -> None:
    """AIF-RES-004 checks the CronJob like the StatefulSet: unpinned in a stack with cloud nodes, it fails."""
    plan = plans["prod-eu"]
    facts = PLACEMENT_RULE.stack_facts(plan.config)
    [rec] = [r for r in plan.resources if r["type"] == CRONJOB and r["inputs"]["metadata"]["name"] == NAME]
    pinned = ResourceView(type=CRONJOB, urn="urn:cj", name=rec["name"], props=rec["inputs"])
    assert list(check_placement([pinned], facts)) == []
    props = json.loads(json.dumps(rec["inputs"]))
    pod = props["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod.pop("affinity"), pod.pop("nodeSelector")
    loose = ResourceView(type=CRONJOB, urn="urn:cj", name=rec["name"], props=props)
    assert [f.message for f in check_placement([loose], facts)] == [
        f"vector store ({NAME}) handles restricted but is not pinned to {c.LABEL_LOCATION}={c.LOCATION_ON_PREM}"
    ]


# ---------------------------------------------------------------- the AWS bucket target
def test_aws_bucket_target_uses_pod_identity_and_the_stack_key() -> None:
    cfg = _cfg("prod-eu", _aws_target)
    spec = cronjob_spec(cfg, "registry/img@sha256:x", {}, bucket="prod-eu-storage-vector-snapshots-1", key_arn=KMS_ARN)
    assert spec["schedule"] == "30 3 * * *"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "qdrant-snapshots"
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["BUCKET"] == "prod-eu-storage-vector-snapshots-1"
    assert env["AWS_REGION"] == "eu-central-1"
    assert env["SSE"] == "aws:kms" and env["KMS_KEY_ID"] == KMS_ARN
    # No static credential: the Pod Identity agent hands out the workload role's.
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_ENDPOINT"} & set(env)
    [(_, job_policy), _] = network_policies(cfg, ["198.51.100.0/24", "203.0.113.0/24"])
    # HTTPS to the region's S3 ranges only, and the Pod Identity agent.
    assert job_policy["egress"][1:] == [
        {
            "to": [{"ipBlock": {"cidr": "198.51.100.0/24"}}, {"ipBlock": {"cidr": "203.0.113.0/24"}}],
            "ports": [{"protocol": "TCP", "port": 443}],
        },
        POD_IDENTITY_EGRESS,
    ]
    with pytest.raises(ValueError, match="S3 ranges"):
        network_policies(cfg)


def test_aws_bucket_target_in_the_program(monkeypatch: pytest.MonkeyPatch, write_stack) -> None:
    """The whole program with an s3-bucket target: the CronJob gets the bucket the platform passes."""
    doc = stack_doc("prod-eu")
    _aws_target(doc["config"])
    stacks = write_stack("awsvar", doc)
    plan = make_plan("awsvar", stacks)
    assert not plan.has_mandatory
    [job] = [r["inputs"] for r in plan.resources if r["type"] == CRONJOB and r["inputs"]["metadata"]["name"] == NAME]
    env = {e["name"]: e.get("value") for e in _pod(job)["containers"][0]["env"]}
    # The platform passes the stack's own vector-snapshots bucket (wiring.py → PlatformArgs).
    [bucket] = [r for r in plan.resources if r["name"] == "prod-eu-storage-vector-snapshots"]
    assert env["BUCKET"] == f"{bucket['name']}-xxxxxxx"  # the mock runtime's stand-in for the auto-name
    assert env["SSE"] == "aws:kms" and env["KMS_KEY_ID"]


# -------------------------------------------------------------------- the script, for real
def test_script_uses_only_boto3_and_the_standard_library(manifests) -> None:
    script = _find(manifests["prod-eu"], "ConfigMap", NAME)["data"][SCRIPT_KEY]
    imported = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported == {"hashlib", "json", "os", "sys", "urllib", "boto3", "botocore"}


class FakeQdrant:
    """One Qdrant node's snapshot REST API: list collections, create/download/delete collection snapshots."""

    def __init__(self, peer: int, collections: dict[str, bytes]) -> None:
        self.peer, self.collections = peer, collections
        self.snapshots: dict[tuple[str, str], bytes] = {}
        self.calls: list[tuple[str, str]] = []
        self.api_keys: list[str | None] = []
        self.misreport: set[str] = set()
        """Collections whose reported snapshot size is wrong (the size check must catch it)."""
        self.undeletable: set[str] = set()
        """Collections whose snapshots the node fails to delete (HTTP 500)."""
        self.seq = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, result: Any) -> None:
                body = json.dumps({"result": result, "status": "ok", "time": 0.001}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self) -> tuple[list[str], dict[str, list[str]]]:
                url = urlsplit(self.path)
                fake.calls.append((self.command, self.path))
                fake.api_keys.append(self.headers.get("api-key"))
                return [unquote(p) for p in url.path.strip("/").split("/")], parse_qs(url.query)

            def do_GET(self) -> None:
                parts, _ = self._route()
                if parts == ["collections"]:
                    self._json({"collections": [{"name": n} for n in fake.collections]})
                    return
                data = fake.snapshots[(parts[1], parts[3])]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                parts, query = self._route()
                assert query == {"wait": ["true"]}
                coll = parts[1]
                fake.seq += 1
                stamp = (dt.datetime(2026, 11, 23, 2, 0, 0) + dt.timedelta(seconds=fake.seq)).strftime(
                    "%Y-%m-%d-%H-%M-%S"
                )
                name = f"{coll}-{fake.peer}-{stamp}.snapshot"
                data = fake.collections[coll] + f"|{name}".encode()
                fake.snapshots[(coll, name)] = data
                size = len(data) + (1 if coll in fake.misreport else 0)
                checksum = hashlib.sha256(data).hexdigest()
                self._json({"name": name, "size": size, "checksum": checksum, "creation_time": stamp})

            def do_DELETE(self) -> None:
                parts, query = self._route()
                assert query == {"wait": ["true"]}
                if parts[1] in fake.undeletable:
                    self.send_error(500, "disk on fire")
                    return
                del fake.snapshots[(parts[1], parts[3])]
                self._json(True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def qdrant_nodes() -> Iterator[list[FakeQdrant]]:
    big = bytes(range(256)) * (11 * 4096)  # 11 MiB: a multipart upload with 5 MiB parts
    nodes = [
        FakeQdrant(1111, {"docs": b"docs on node 0", "faq": big}),
        FakeQdrant(2222, {"docs": b"docs on node 1", "faq": b"faq on node 1"}),
    ]
    yield nodes
    for node in nodes:
        node.close()


@pytest.fixture
def script(manifests, tmp_path: Path) -> Path:
    """The script exactly as the plan ships it in the ConfigMap."""
    path = tmp_path / SCRIPT_KEY
    path.write_text(_find(manifests["prod-eu"], "ConfigMap", NAME)["data"][SCRIPT_KEY])
    return path


def _job_env(monkeypatch: pytest.MonkeyPatch, nodes: list[FakeQdrant], **extra: str) -> None:
    for var in ("S3_ENDPOINT", "SSE", "KMS_KEY_ID", "QDRANT_API_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    env = {
        "QDRANT_NODES": ",".join(f"qdrant-{i}={n.url}" for i, n in enumerate(nodes)),
        "BUCKET": "qdrant-snapshots",
        "KEEP_LAST": "3",
        "PART_MB": "5",
        "HTTP_TIMEOUT": "30",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **extra,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def _run(script: Path) -> int:
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(script), run_name="__main__")
    return int(done.value.code or 0)


def _keys(s3: Any, prefix: str = "") -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket="qdrant-snapshots", Prefix=prefix).get("Contents", []))


ON_SITE = "https://s3.fra1.example.internal"


def _on_site_client() -> Any:
    return boto3.client(
        "s3", endpoint_url=ON_SITE, region_name="us-east-1", config=Config(s3={"addressing_style": "path"})
    )


def test_script_backs_up_every_collection_on_every_node_to_the_site_store(
    script: Path, qdrant_nodes: list[FakeQdrant], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_S3_CUSTOM_ENDPOINTS", ON_SITE)
    _job_env(monkeypatch, qdrant_nodes, S3_ENDPOINT=ON_SITE, S3_ADDRESSING="path", AWS_REGION="us-east-1", SSE="AES256")
    with mock_aws():
        s3 = _on_site_client()
        s3.create_bucket(Bucket="qdrant-snapshots")
        old = [f"docs/qdrant-0/docs-1111-2025-12-0{d}-02-00-00.snapshot" for d in range(1, 5)]
        for key in old:
            s3.put_object(Bucket="qdrant-snapshots", Key=key, Body=b"older")
        s3.put_object(Bucket="qdrant-snapshots", Key="docs/qdrant-0/README.txt", Body=b"not a snapshot")
        s3.put_object(Bucket="qdrant-snapshots", Key="other/qdrant-0/x.snapshot", Body=b"another collection")

        assert _run(script) == 0

        for i, node in enumerate(qdrant_nodes):
            created = [p for m, p in node.calls if m == "POST"]
            deleted = [p for m, p in node.calls if m == "DELETE"]
            assert sorted(created) == ["/collections/docs/snapshots?wait=true", "/collections/faq/snapshots?wait=true"]
            assert len(deleted) == 2 and all(p.endswith(".snapshot?wait=true") for p in deleted)
            assert node.snapshots == {}  # nothing left on the node's snapshot volume
            assert set(node.api_keys) == {None}  # this setup's Qdrant has no API key
            for coll in ("docs", "faq"):
                [key] = [k for k in _keys(s3, f"{coll}/qdrant-{i}/") if f"-{node.peer}-2026-11-23" in k]
                stored = s3.get_object(Bucket="qdrant-snapshots", Key=key)
                body = stored["Body"].read()
                assert body == node.collections[coll] + f"|{key.rsplit('/', 1)[1]}".encode()
                assert stored["ServerSideEncryption"] == "AES256"
                if len(body) > 5 << 20:  # streamed in 5 MiB parts: a multipart upload of three parts
                    assert stored["ETag"].endswith('-3"')
                assert stored["Metadata"] == {
                    "qdrant-node": f"qdrant-{i}",
                    "qdrant-sha256": hashlib.sha256(body).hexdigest(),
                }
        # keepLast 3 for docs on qdrant-0: the new snapshot and the two newest older ones; other keys untouched.
        assert _keys(s3, "docs/qdrant-0/") == sorted(
            [*old[2:], "docs/qdrant-0/README.txt", *_keys(s3, "docs/qdrant-0/docs-1111-2026")]
        )
        assert _keys(s3, "other/") == ["other/qdrant-0/x.snapshot"]


def test_script_writes_the_aws_bucket_with_the_stack_key(
    script: Path, qdrant_nodes: list[FakeQdrant], monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws():
        key_arn = boto3.client("kms", region_name="eu-central-1").create_key()["KeyMetadata"]["Arn"]
        _job_env(monkeypatch, qdrant_nodes[:1], AWS_REGION="eu-central-1", SSE="aws:kms", KMS_KEY_ID=key_arn)
        s3 = boto3.client("s3", region_name="eu-central-1")
        s3.create_bucket(Bucket="qdrant-snapshots", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        assert _run(script) == 0
        keys = _keys(s3)
        assert [k.split("/")[:2] for k in keys] == [["docs", "qdrant-0"], ["faq", "qdrant-0"]]
        for key in keys:
            head = s3.head_object(Bucket="qdrant-snapshots", Key=key)
            assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn


def test_script_drops_a_copy_whose_size_does_not_match(
    script: Path, qdrant_nodes: list[FakeQdrant], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    node = qdrant_nodes[0]
    node.misreport.add("docs")
    _job_env(monkeypatch, [node], AWS_REGION="eu-central-1", KEEP_LAST="1", QDRANT_API_KEY="k-123")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-central-1")
        s3.create_bucket(Bucket="qdrant-snapshots", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        s3.put_object(Bucket="qdrant-snapshots", Key="docs/qdrant-0/docs-1111-2025-01-01.snapshot", Body=b"old")
        assert _run(script) == 1
        # The bad copy is gone and the old good one kept (no pruning after a failed upload); faq went through.
        assert _keys(s3, "docs/") == ["docs/qdrant-0/docs-1111-2025-01-01.snapshot"]
        assert len(_keys(s3, "faq/qdrant-0/")) == 1
    assert node.snapshots == {}  # the snapshot is deleted from Qdrant even when the upload failed
    assert set(node.api_keys) == {"k-123"}  # the api-key header, when Qdrant has a key
    err = capsys.readouterr().err
    assert "FAILED qdrant-0/docs: docs/qdrant-0/docs-1111-" in err and "size: stored" in err


def test_script_reports_an_unreachable_node_and_still_backs_up_the_others(
    script: Path, qdrant_nodes: list[FakeQdrant], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    down = FakeQdrant(9999, {})
    down.close()
    _job_env(monkeypatch, [down, qdrant_nodes[1]], AWS_REGION="eu-central-1")
    monkeypatch.setenv("QDRANT_NODES", f"qdrant-0={down.url},qdrant-1={qdrant_nodes[1].url}")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-central-1")
        s3.create_bucket(Bucket="qdrant-snapshots", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        assert _run(script) == 1
        assert [k.split("/")[:2] for k in _keys(s3)] == [["docs", "qdrant-1"], ["faq", "qdrant-1"]]
    assert "FAILED qdrant-0: cannot list collections" in capsys.readouterr().err


def test_script_fails_the_run_when_a_snapshot_stays_on_the_node(
    script: Path, qdrant_nodes: list[FakeQdrant], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    node = qdrant_nodes[1]
    node.undeletable.add("faq")
    _job_env(monkeypatch, [node], AWS_REGION="eu-central-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-central-1")
        s3.create_bucket(Bucket="qdrant-snapshots", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        assert _run(script) == 1
        assert [k.split("/")[:2] for k in _keys(s3)] == [["docs", "qdrant-0"], ["faq", "qdrant-0"]]
    [(coll, left)] = node.snapshots
    assert coll == "faq"
    assert f"FAILED qdrant-0/faq: snapshot {left} left on the node: HTTP Error 500" in capsys.readouterr().err


def test_failed_and_missing_snapshots_alert(plans) -> None:
    import promql_parser

    from components.k8s.alerts import alert_groups
    from components.k8s.vector_snapshots import NAME as CRONJOB_NAME

    rules = {r["alert"]: r for g in alert_groups(plans["prod-eu"].config) for r in g["rules"] if "alert" in r}
    failed, missing = rules["VectorSnapshotFailed"], rules["VectorSnapshotMissing"]
    for rule in (failed, missing):
        promql_parser.parse(rule["expr"])
    assert 'kube_job_status_failed{namespace="aif-vector",job_name=~"qdrant-snapshots-.*"}' in failed["expr"]
    assert f'cronjob="{CRONJOB_NAME}"' in missing["expr"]  # the alerts watch the CronJob the component creates
    assert missing["expr"].endswith("> 129600") and missing["labels"]["severity"] == "critical"
    # dev has no vector store, hence no snapshot alerts.
    dev_rules = {r.get("alert") for g in alert_groups(plans["dev"].config) for r in g["rules"]}
    assert not {"VectorSnapshotFailed", "VectorSnapshotMissing"} & dev_rules
