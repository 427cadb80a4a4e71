"""Vector store: Qdrant's StatefulSet as planned — pod management, redundancy, API keys, alert window.

Qdrant facts the tests rely on (checked in qdrant/qdrant config/config.yaml and src/settings.rs,
qdrant/qdrant-helm charts/qdrant/values.yaml):
- settings come from env with prefix `QDRANT` and separator `__` (`Environment::with_prefix("QDRANT")
  .separator("__")`), so `QDRANT__A__B_C` sets `a.b_c`;
- `storage.collection.replication_factor` and `storage.collection.write_consistency_factor` both
  default to 1; `service.api_key`, `service.read_only_api_key` and `service.metrics_port` (a
  separate /metrics service not protected by API keys) exist;
- the chart defaults `podManagementPolicy: Parallel` and warns that OrderedReady deadlocks a
  multi-node cluster.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import rpc
from support import doc_sections, stack_doc

from components import conventions as c
from components.config import ConfigError, parse_sections
from components.config.models import FactoryConfig
from components.config.secrets import SECRETS_BY_KEY, needed_secrets, placeholder
from components.k8s import PlatformArgs, build_platform, vector_store
from components.k8s.alerts import alert_groups
from components.k8s.tenancy import vector_client_namespaces
from components.k8s.vector_snapshots import NAME as SNAPSHOT_JOB
from components.tagging import Naming
from components.tooling.mock_runtime import run_under_mocks

VECTOR_STACKS = ("lab", "prod-eu")
KEY_SECRETS = ("vectorStoreApiKey", "vectorStoreReadOnlyApiKey")

QDRANT_SETTINGS = {
    "cluster.enabled",
    "storage.collection.replication_factor",
    "storage.collection.write_consistency_factor",
    "service.api_key",
    "service.read_only_api_key",
    "service.metrics_port",
}
"""Setting paths of the pinned Qdrant (config/config.yaml, ServiceConfig in src/settings.rs)."""


def _find(objects: list[dict], kind: str, name: str, namespace: str = c.NAMESPACE_VECTOR) -> dict:
    found = [
        m
        for m in objects
        if m["kind"] == kind and m["metadata"]["name"] == name and m["metadata"].get("namespace") == namespace
    ]
    assert len(found) == 1, (kind, name, namespace, len(found))
    return found[0]


def _container(manifests, stack: str) -> dict:
    sts = _find(manifests[stack], "StatefulSet", vector_store.NAME)
    return next(ctr for ctr in sts["spec"]["template"]["spec"]["containers"] if ctr["name"] == "qdrant")


def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container["env"]}


def _cfg(stack: str, mutate=None) -> FactoryConfig:
    doc = stack_doc(stack)
    if mutate is not None:
        mutate(doc["config"])
    return parse_sections(doc_sections(doc))


# --------------------------------------------------------------------------- 1. pod management
@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_qdrant_pods_start_in_parallel(stack: str, manifests) -> None:
    """OrderedReady would wait for pod i to be Ready before starting i+1, while a restarted Qdrant
    node is not Ready until its peers run: a full restart would never finish."""
    sts = _find(manifests[stack], "StatefulSet", vector_store.NAME)
    assert sts["spec"]["replicas"] >= 2
    assert sts["spec"]["podManagementPolicy"] == "Parallel"


# --------------------------------------------------------------------------- 2. redundancy
def _setting(var: str) -> str:
    """The Qdrant setting an env var sets (prefix QDRANT, separator `__`, lower-cased)."""
    assert var.startswith("QDRANT__"), var
    return ".".join(part.lower() for part in var.removeprefix("QDRANT__").split("__"))


def test_env_names_map_to_settings_of_the_pinned_qdrant() -> None:
    """Control of the mapping itself, then every QDRANT__ variable names a real setting (a typo
    would be ignored silently by Qdrant and leave the default)."""
    assert _setting("QDRANT__STORAGE__COLLECTION__REPLICATION_FACTOR") == "storage.collection.replication_factor"
    env = vector_store.qdrant_env(_cfg("prod-eu"))
    names = {e["name"] for e in env}
    assert {_setting(n) for n in names} == QDRANT_SETTINGS


def _available_after_losing_one_node(nodes: int, factor: int, write_consistency: int) -> bool:
    """Every shard readable and writable with any one node down. Qdrant places a shard's replicas
    on distinct peers, so one node down removes at most one replica of each shard."""
    if nodes == 1:
        return False  # nothing survives the loss of the only node
    live = factor - 1
    return live >= 1 and live >= write_consistency


def test_availability_model_control() -> None:
    """Control: Qdrant's defaults (replication 1, write consistency 1) lose shards with one node down."""
    assert not _available_after_losing_one_node(3, 1, 1)
    assert not _available_after_losing_one_node(3, 2, 2)
    assert _available_after_losing_one_node(3, 2, 1)


@pytest.mark.parametrize("replicas", [1, 2, 3, 5])
def test_new_collections_survive_draining_one_node(replicas: int) -> None:
    def scale(conf):
        conf["ai-factory:vectorStore"]["replicas"] = replicas

    cfg = _cfg("prod-eu", scale)
    env = {e["name"]: e.get("value") for e in vector_store.qdrant_env(cfg)}
    factor = int(env["QDRANT__STORAGE__COLLECTION__REPLICATION_FACTOR"])
    write_consistency = int(env["QDRANT__STORAGE__COLLECTION__WRITE_CONSISTENCY_FACTOR"])
    assert factor == min(2, replicas)
    assert 1 <= write_consistency <= factor
    # The PDB lets one pod go at a time: with two nodes or more that must not take a shard offline.
    assert _available_after_losing_one_node(replicas, factor, write_consistency) is (replicas >= 2)


@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_planned_statefulset_carries_the_replication_defaults(stack: str, plans, manifests) -> None:
    env = _env(_container(manifests, stack))
    replicas = plans[stack].config.vector_store.replicas
    assert env["QDRANT__STORAGE__COLLECTION__REPLICATION_FACTOR"]["value"] == str(min(2, replicas))
    assert env["QDRANT__STORAGE__COLLECTION__WRITE_CONSISTENCY_FACTOR"]["value"] == "1"
    pdb = _find(manifests[stack], "PodDisruptionBudget", vector_store.NAME)
    assert pdb["spec"]["maxUnavailable"] == 1


# --------------------------------------------------------------------------- 3. API keys
@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_api_keys_are_pulumi_secrets_of_stacks_with_a_vector_store(stack: str) -> None:
    assert set(KEY_SECRETS) <= {s.key for s in needed_secrets(_cfg(stack))}


def test_no_vector_store_needs_no_vector_store_keys() -> None:
    cfg = _cfg("dev")
    assert cfg.vector_store is None
    assert not set(KEY_SECRETS) & {s.key for s in needed_secrets(cfg)}


@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_qdrant_reads_both_keys_from_its_secret(stack: str, manifests) -> None:
    env = _env(_container(manifests, stack))
    for var, key in (
        ("QDRANT__SERVICE__API_KEY", vector_store.API_KEY),
        ("QDRANT__SERVICE__READ_ONLY_API_KEY", vector_store.READ_ONLY_API_KEY),
    ):
        assert "value" not in env[var]
        assert env[var]["valueFrom"] == {"secretKeyRef": {"name": vector_store.API_KEYS_SECRET, "key": key}}
    keys = _find(manifests[stack], "Secret", vector_store.API_KEYS_SECRET)
    assert keys["stringData"] == {"masked": c.SECRET_MASK}


@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_snapshot_job_uses_the_full_key(stack: str, manifests) -> None:
    """It creates and deletes snapshots: the read-only key would be refused (403)."""
    cron = _find(manifests[stack], "CronJob", SNAPSHOT_JOB)
    env = {e["name"]: e for e in cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    ref = {"secretKeyRef": {"name": vector_store.API_KEYS_SECRET, "key": vector_store.API_KEY}}
    assert env["QDRANT_API_KEY"] == {"name": "QDRANT_API_KEY", "valueFrom": ref}


@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_every_client_namespace_gets_a_masked_key_secret(stack: str, plans, manifests) -> None:
    namespaces = vector_client_namespaces(plans[stack].config)
    assert {c.NAMESPACE_SERVING, c.NAMESPACE_BATCH} < set(namespaces)
    assert any(ns.startswith(c.NAMESPACE_TEAM_PREFIX) for ns in namespaces)
    for ns in namespaces:
        assert _find(manifests[stack], "Secret", vector_store.CLIENT_SECRET, ns)["stringData"] == {
            "masked": c.SECRET_MASK
        }


@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_key_values_never_appear_in_the_plan(stack: str, plans) -> None:
    text = json.dumps(plans[stack].resources)
    for key in KEY_SECRETS:
        assert placeholder(SECRETS_BY_KEY[key]) not in text


def _unwrap(value):
    return value["value"] if rpc.is_rpc_secret(value) else value


def _secrets_under_mocks() -> dict[str, dict[str, str]]:
    """namespace → stringData of the vector store's Secrets, built with distinct key values."""
    cfg = _cfg("prod-eu")

    def program() -> None:
        build_platform(
            PlatformArgs(
                config=cfg,
                naming=Naming.from_config(cfg),
                provider=k8s.Provider("test-k8s", kubeconfig="offline"),
                registry="000000000000.dkr.ecr.eu-central-1.amazonaws.com/prod-eu",
                models_bucket="models-bucket",
                s3_cidrs=["198.51.100.0/24"],
                secrets={
                    "routerMasterKey": pulumi.Output.secret("router"),
                    "externalApiKey": pulumi.Output.secret("external"),
                    "routerDatabasePassword": pulumi.Output.secret("db"),
                    "vectorStoreApiKey": pulumi.Output.secret("FULL-KEY"),
                    "vectorStoreReadOnlyApiKey": pulumi.Output.secret("READ-ONLY-KEY"),
                },
            )
        )

    regs = run_under_mocks(
        program, stack="prod-eu", config={}, secret_keys=[], account_id="0" * 12, region="eu-central-1"
    )
    out: dict[str, dict[str, str]] = {}
    for r in regs:
        if r.type != "kubernetes:core/v1:Secret":
            continue
        meta = r.inputs["metadata"]
        if meta["name"] in (vector_store.API_KEYS_SECRET, vector_store.CLIENT_SECRET):
            assert rpc.is_rpc_secret(r.inputs["stringData"]) or all(
                rpc.is_rpc_secret(v) for k, v in r.inputs["stringData"].items() if "key" in k
            )
            data = _unwrap(r.inputs["stringData"])
            out[meta["namespace"]] = {k: _unwrap(v) for k, v in data.items()}
    return out


def test_clients_get_the_least_privileged_key() -> None:
    """Search-only clients (serving, teams) get the read-only key, ingestion (batch) the full key."""
    secrets = _secrets_under_mocks()
    assert secrets.pop(c.NAMESPACE_VECTOR) == {"api-key": "FULL-KEY", "read-only-api-key": "READ-ONLY-KEY"}
    url = f"http://qdrant.{c.NAMESPACE_VECTOR}.svc.cluster.local:{c.PORT_QDRANT_HTTP}"
    expected = {
        c.NAMESPACE_SERVING: ("READ-ONLY-KEY", "read-only"),
        c.NAMESPACE_BATCH: ("FULL-KEY", "read-write"),
        f"{c.NAMESPACE_TEAM_PREFIX}research": ("READ-ONLY-KEY", "read-only"),
        f"{c.NAMESPACE_TEAM_PREFIX}assistant": ("READ-ONLY-KEY", "read-only"),
    }
    assert secrets == {ns: {"url": url, "api-key": key, "access": access} for ns, (key, access) in expected.items()}


# --------------------------------------------------------------------------- metrics with a key
@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_metrics_have_their_own_unauthenticated_port(stack: str, manifests) -> None:
    """With an API key Qdrant answers /metrics on 6333 only with a key: Prometheus gets the
    dedicated metrics port (service.metrics_port), on the container and the Service."""
    ctr = _container(manifests, stack)
    assert _env(ctr)["QDRANT__SERVICE__METRICS_PORT"]["value"] == str(c.PORT_QDRANT_METRICS)
    assert {"name": "metrics", "containerPort": c.PORT_QDRANT_METRICS} in ctr["ports"]
    svc = _find(manifests[stack], "Service", vector_store.NAME)
    assert {"name": "metrics", "port": c.PORT_QDRANT_METRICS, "targetPort": "metrics"} in svc["spec"]["ports"]


# --------------------------------------------------------------------------- 5. alert window
def test_snapshot_alert_window_defaults_to_36_hours() -> None:
    assert _cfg("prod-eu").vector_store.snapshots.alert_after_hours == 36


def test_snapshot_alert_window_is_configurable_and_reaches_the_alert() -> None:
    def longer(conf):
        conf["ai-factory:vectorStore"]["snapshots"]["alertAfterHours"] = 50

    cfg = _cfg("prod-eu", longer)
    assert cfg.vector_store.snapshots.alert_after_hours == 50
    rules = [r for g in alert_groups(cfg) for r in g["rules"] if r.get("alert") == "VectorSnapshotMissing"]
    assert len(rules) == 1 and rules[0]["expr"].endswith(f"> {50 * 3600}")


@pytest.mark.parametrize("hours", [0, -1])
def test_snapshot_alert_window_is_at_least_one_hour(hours: int) -> None:
    def bad(conf):
        conf["ai-factory:vectorStore"]["snapshots"]["alertAfterHours"] = hours

    with pytest.raises(ConfigError) as err:
        _cfg("prod-eu", bad)
    assert [p.path for p in err.value.problems] == ["ai-factory:vectorStore.snapshots.alertAfterHours"]
