"""Where model servers get their weights: the site's store on site servers, the models bucket on cloud
nodes, always verified against the pinned digest. The fetcher runs for real (the script exactly as the
plan ships it) against moto's S3, the site store through moto's custom-endpoint support."""

from __future__ import annotations

import hashlib
import runpy
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from support import config_problems, sections

from components import conventions as c
from components.config.loader import parse_sections
from components.k8s.serving import FETCH_CONFIGMAP, FETCH_SCRIPT_KEY

SITE = "https://s3.fra1.example.internal"
CLOUD_BUCKET = "prod-eu-models-0001"
FILES = {"config.json": b'{"architectures": ["LlamaForCausalLM"]}', "model-00001.safetensors": b"\x00weights" * 1000}


def test_a_site_needs_a_store_for_its_model_servers() -> None:
    def drop(s):
        del s["serving"]["siteModelStore"]

    assert config_problems("lab", drop) == [
        "ai-factory:serving.siteModelStore: models on the site's servers read their weights from the site's "
        "S3-compatible store (allowed: {endpoint, cidrs, bucket, credentialsSecret} of the store)"
    ]


def test_a_site_store_without_a_site_is_refused() -> None:
    def add(s):
        s["serving"]["siteModelStore"] = {"endpoint": SITE, "cidrs": ["10.20.8.0/28"], "bucket": "models"}

    assert config_problems("dev", add) == [
        "ai-factory:serving.siteModelStore: the stack has no on-prem site (allowed: remove it)"
    ]


def test_a_site_store_needs_its_networks() -> None:
    def drop(s):
        del s["serving"]["siteModelStore"]["cidrs"]

    assert config_problems("prod-eu", drop) == [
        "ai-factory:serving.siteModelStore.cidrs: is required but missing (allowed: a value; see docs/stack.schema.json)"
    ]


def test_an_artifact_needs_its_size() -> None:
    def drop(s):
        del s["serving"]["models"][1]["artifact"]["sizeGib"]
        s["serving"]["models"][2]["candidate"]["artifact"]["sizeGib"] = 0

    assert config_problems("prod-eu", drop) == [
        "ai-factory:serving.models[1].artifact.sizeGib: is required but missing (allowed: a value; see "
        "docs/stack.schema.json)",
        "ai-factory:serving.models[2].candidate.artifact.sizeGib: 0 is out of range (allowed: >= 1)",
    ]


def test_a_site_store_on_internet_addresses_is_refused() -> None:
    """The store's networks are the only way out for servers whose data stays on site: never the internet."""

    def public(s):
        s["serving"]["siteModelStore"]["cidrs"] = ["10.20.8.0/28", "::/0"]
        s["serving"]["siteModelStore"]["endpoint"] = "https://10.20.16.2"

    assert config_problems("prod-eu", public) == [
        "ai-factory:serving.siteModelStore.cidrs[1]: ::/0 includes internet addresses, so on-site data could leave "
        "the site through it (allowed: the store's private networks (RFC 1918, RFC 6598 or IPv6 ULA), e.g. "
        "10.20.8.0/28)",
        "ai-factory:serving.siteModelStore.endpoint: 10.20.16.2 is outside serving.siteModelStore.cidrs, so the "
        "store would be unreachable (allowed: an endpoint in one of the cidrs, or add its network)",
    ]


def test_cloud_model_servers_need_the_model_loader_identity() -> None:
    def drop(s):
        del s["cloud"]["eks"]["workloads"]["model-loader"]

    assert config_problems("prod-eu", drop) == [
        "ai-factory:cloud.eks.workloads: no entry binds aif-serving/model-loader with models: read, so model servers "
        "on cloud nodes cannot read their weights (allowed: a workload {namespace: aif-serving, serviceAccount: "
        "model-loader, buckets: {models: read}})"
    ]


def _fetch_containers(manifests: list[dict]) -> list[dict]:
    return [
        ctr
        for m in manifests
        if m["kind"] == "Deployment" and m["metadata"]["name"].startswith("vllm-")
        for ctr in m["spec"]["template"]["spec"]["initContainers"]
    ]


def _env(ctr: dict) -> dict[str, dict]:
    return {e["name"]: e for e in ctr["env"]}


@pytest.mark.parametrize(
    ("stack", "site", "cloud"), [("dev", False, True), ("lab", True, False), ("prod-eu", True, True)]
)
def test_each_fetcher_knows_exactly_the_stores_of_its_stack(
    stack: str, site: bool, cloud: bool, manifests, plans
) -> None:
    cfg = plans[stack].config
    fetchers = _fetch_containers(manifests[stack])
    assert fetchers
    for ctr in fetchers:
        env = _env(ctr)
        assert env["HOST_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.hostIP"}}
        assert ("CLOUD_BUCKET" in env) is cloud
        assert ("SITE_ENDPOINT" in env) is site
        if site:
            store = cfg.serving.site_model_store
            assert env["SITE_NODE_CIDRS"]["value"] == ",".join(cfg.on_prem.network.node_cidrs)
            assert env["SITE_ENDPOINT"]["value"] == store.endpoint and env["SITE_BUCKET"]["value"] == store.bucket
            # The key only by reference to the site's Secret, never as a value, never as AWS_* (Pod Identity).
            for name, key in (
                ("SITE_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
                ("SITE_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
            ):
                assert env[name] == {
                    "name": name,
                    "valueFrom": {"secretKeyRef": {"name": store.credentials_secret, "key": key}},
                }
            assert not any(n.startswith("AWS_") for n in env)
            assert {"name": "model-store-ca", "mountPath": "/etc/model-store-ca", "readOnly": True} in ctr[
                "volumeMounts"
            ]


def test_model_servers_reach_the_site_store_on_its_networks_and_port(plans) -> None:
    from components.k8s.tenancy import vllm_site_egress

    assert vllm_site_egress(plans["prod-eu"].config) == [
        {"to": [{"ipBlock": {"cidr": "10.20.8.0/28"}}], "ports": [{"protocol": "TCP", "port": 443}]}
    ]
    s = sections("prod-eu")
    s["serving"]["siteModelStore"]["endpoint"] = "https://minio.fra1.example.internal:9000"
    s["serving"]["siteModelStore"]["cidrs"] = ["10.20.8.0/28", "fd00:20:8::/64"]
    assert vllm_site_egress(parse_sections(s)) == [
        {
            "to": [{"ipBlock": {"cidr": "10.20.8.0/28"}}, {"ipBlock": {"cidr": "fd00:20:8::/64"}}],
            "ports": [{"protocol": "TCP", "port": 9000}],
        }
    ]
    # A stack without a site has no site store: its model servers have no way out but the cloud one.
    assert vllm_site_egress(plans["dev"].config) == []


# --------------------------------------------------------------------------------- the script, for real


@pytest.fixture
def script(manifests, tmp_path: Path) -> Path:
    cm = next(m for m in manifests["prod-eu"] if m["kind"] == "ConfigMap" and m["metadata"]["name"] == FETCH_CONFIGMAP)
    path = tmp_path / FETCH_SCRIPT_KEY
    path.write_text(cm["data"][FETCH_SCRIPT_KEY])
    return path


def _digest(files: dict[str, bytes]) -> str:
    lines = sorted(f"{hashlib.sha256(body).hexdigest()}  {name}" for name, body in files.items())
    return "sha256:" + hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()


def _upload(client: Any, bucket: str, prefix: str, files: dict[str, bytes]) -> None:
    client.create_bucket(Bucket=bucket)
    for name, body in files.items():
        client.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)


def _site_client() -> Any:
    return boto3.client(
        "s3", endpoint_url=SITE, region_name="us-east-1", config=Config(s3={"addressing_style": "path"})
    )


def _run(
    script: Path, monkeypatch: pytest.MonkeyPatch, dest: Path, host_ip: str, digest: str, max_bytes: int = 1 << 30
) -> tuple[int, str]:
    for var in ("AWS_PROFILE", "SITE_CA_FILE", "SITE_REGION"):
        monkeypatch.delenv(var, raising=False)
    env = {
        "PREFIX": "llama-3.1-8b/rev1",
        "DEST": str(dest),
        "DIGEST": digest,
        "MAX_BYTES": str(max_bytes),
        "HOST_IP": host_ip,
        "SITE_NODE_CIDRS": "10.20.0.0/22,10.20.8.0/22",
        "SITE_ENDPOINT": SITE,
        "SITE_BUCKET": "models",
        "SITE_ACCESS_KEY_ID": "site-reader",
        "SITE_SECRET_ACCESS_KEY": "site-reader-secret",
        "CLOUD_BUCKET": CLOUD_BUCKET,
        "CLOUD_REGION": "eu-central-1",
        "AWS_ACCESS_KEY_ID": "pod-identity",
        "AWS_SECRET_ACCESS_KEY": "pod-identity",
        # Not the stack's region: the fetcher must take CLOUD_REGION, not the ambient default.
        "AWS_DEFAULT_REGION": "us-west-2",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as done:
        return (done.code if isinstance(done.code, int) else 1), ("" if isinstance(done.code, int) else str(done.code))
    return 0, ""


def test_on_a_site_server_it_reads_the_site_store(
    script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_S3_CUSTOM_ENDPOINTS", SITE)
    with mock_aws():
        _upload(_site_client(), "models", "llama-3.1-8b/rev1", FILES)  # only the site has it
        code, msg = _run(script, monkeypatch, tmp_path / "m", "10.20.9.17", _digest(FILES))
        assert (code, msg) == (0, "")
        assert {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()} == FILES


def test_on_a_cloud_node_it_reads_the_models_bucket(
    script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_S3_CUSTOM_ENDPOINTS", SITE)
    dest = tmp_path / "m"
    with mock_aws():
        _upload(_site_client(), "models", "llama-3.1-8b/rev1", FILES)  # the site has it; the node is not on site
        code, msg = _run(script, monkeypatch, dest, "10.0.3.44", _digest(FILES))
        assert code == 1
        assert msg.startswith(
            f"fetch-weights: reading llama-3.1-8b/rev1/ from the cloud store (bucket {CLOUD_BUCKET}) failed:"
        )
        cloud = boto3.client("s3", region_name="eu-central-1")
        cloud.create_bucket(Bucket=CLOUD_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        code, msg = _run(script, monkeypatch, dest, "10.0.3.44", _digest(FILES))
        assert (code, msg) == (
            1,
            f"fetch-weights: no artifact llama-3.1-8b/rev1/ in the cloud store (bucket {CLOUD_BUCKET})",
        )
        for name, body in FILES.items():
            cloud.put_object(Bucket=CLOUD_BUCKET, Key=f"llama-3.1-8b/rev1/{name}", Body=body)
        assert _run(script, monkeypatch, dest, "10.0.3.44", _digest(FILES)) == (0, "")
        assert {p.name: p.read_bytes() for p in dest.iterdir()} == FILES


def test_a_changed_file_fails_the_pod(script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_S3_CUSTOM_ENDPOINTS", SITE)
    with mock_aws():
        _upload(_site_client(), "models", "llama-3.1-8b/rev1", {**FILES, "config.json": b"{}"})
        code, msg = _run(script, monkeypatch, tmp_path / "m", "10.20.0.5", _digest(FILES))
        assert code == 1
        assert msg.startswith("fetch-weights: artifact llama-3.1-8b/rev1 from the site store: digest sha256:")
        assert msg.endswith(f"!= pinned {_digest(FILES)}")


def test_an_artifact_larger_than_its_size_fails_before_downloading(
    script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_S3_CUSTOM_ENDPOINTS", SITE)
    total = sum(len(body) for body in FILES.values())
    with mock_aws():
        _upload(_site_client(), "models", "llama-3.1-8b/rev1", FILES)
        code, msg = _run(script, monkeypatch, tmp_path / "m", "10.20.0.5", _digest(FILES), max_bytes=total - 1)
        assert (code, msg) == (
            1,
            f"fetch-weights: artifact llama-3.1-8b/rev1 in the site store holds {total} bytes, more than its "
            f"artifact.sizeGib allows ({total - 1} bytes): set sizeGib to the artifact's size in GiB, rounded up",
        )
        assert not (tmp_path / "m").exists()
        # Exactly at the size it fits.
        assert _run(script, monkeypatch, tmp_path / "m", "10.20.0.5", _digest(FILES), max_bytes=total) == (0, "")


def test_pods_ask_for_the_local_disk_their_weights_need(plans, manifests) -> None:
    """The weights' emptyDir is the artifact's size, and the server requests it plus its compile caches, so
    the scheduler only places it where the copy fits; the fetcher is told the same size."""
    models = plans["prod-eu"].config.serving.models
    sizes = {m.name: m.artifact.size_gib for m in models}
    sizes |= {f"{m.name}-candidate": m.candidate.artifact.size_gib for m in models if m.candidate is not None}
    seen: dict[str, tuple[str, ...]] = {}
    for m in manifests["prod-eu"]:
        if m["kind"] != "Deployment" or m["spec"]["template"]["metadata"]["labels"].get(c.LABEL_APP) != "vllm":
            continue
        spec = m["spec"]["template"]["spec"]
        volumes = {v["name"]: v.get("emptyDir", {}).get("sizeLimit") for v in spec["volumes"]}
        (vllm,) = spec["containers"]
        fetch_env = {e["name"]: e.get("value") for e in spec["initContainers"][0]["env"]}
        seen[m["metadata"]["name"]] = (
            volumes["models"],
            volumes["cache"],
            vllm["resources"]["requests"]["ephemeral-storage"],
            fetch_env["MAX_BYTES"],
        )
        gib = sizes[m["spec"]["template"]["metadata"]["labels"][c.LABEL_MODEL]]
        assert seen[m["metadata"]["name"]] == (f"{gib}Gi", "20Gi", f"{gib + 20}Gi", str(gib * 2**30))
    assert len(seen) == len(sizes)  # every model and canary candidate was looked at
    assert seen["vllm-llama-33-70b"] == ("132Gi", "20Gi", "152Gi", str(132 * 2**30))


def test_the_plan_ships_the_fetcher_to_every_model_namespace(manifests) -> None:
    maps = [m for m in manifests["prod-eu"] if m["kind"] == "ConfigMap" and m["metadata"]["name"] == FETCH_CONFIGMAP]
    assert {m["metadata"]["namespace"] for m in maps} >= {c.NAMESPACE_SERVING}
    assert all(set(m["data"]) == {FETCH_SCRIPT_KEY} for m in maps)
