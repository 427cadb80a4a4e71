"""Who can reach Qdrant: the planned NetworkPolicies run through the NetworkPolicy evaluator in
tests/netpol.py (Kubernetes networking.k8s.io/v1 semantics; its own control tests are below)."""

from __future__ import annotations

import pytest
from netpol import Cluster, Pod, cluster_of

from components import conventions as c
from components.k8s.tenancy import QDRANT_POD, VECTOR_CLIENT_POD, VLLM_POD
from components.k8s.vector_snapshots import SNAPSHOT_POD

VECTOR_STACKS = ("lab", "prod-eu")
CLIENT = {c.LABEL_APP: "rag-app", **VECTOR_CLIENT_POD}
UNLABELLED = {c.LABEL_APP: "rag-app"}


def _qdrant(i: int = 0) -> Pod:
    return Pod(c.NAMESPACE_VECTOR, {**QDRANT_POD, "statefulset.kubernetes.io/pod-name": f"qdrant-{i}"}, f"10.9.0.{i}")


def _team_namespaces(plan) -> list[str]:
    return [f"{c.NAMESPACE_TEAM_PREFIX}{t}" for t in plan.config.kubernetes.teams]


# --------------------------------------------------------------------------- the evaluator itself
def test_evaluator_control_default_deny_denies_and_no_policy_allows() -> None:
    """Control: under default-deny alone nothing connects; without policies everything does; one
    matching egress rule is not enough while the destination's ingress is still denied."""
    src, dst = Pod(c.NAMESPACE_SERVING, CLIENT), _qdrant()
    deny = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert not Cluster({c.NAMESPACE_SERVING: [deny], c.NAMESPACE_VECTOR: [deny]}, {}).connects(src, dst, 6333)
    assert Cluster({}, {}).connects(src, dst, 6333)
    egress = {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": 6333}]}],
    }
    only_egress = Cluster({c.NAMESPACE_SERVING: [deny, egress], c.NAMESPACE_VECTOR: [deny]}, {})
    assert not only_egress.connects(src, dst, 6333)
    assert Cluster({c.NAMESPACE_SERVING: [deny, egress]}, {}).connects(src, dst, 6333)
    assert not Cluster({c.NAMESPACE_SERVING: [deny, egress]}, {}).connects(src, dst, 6334)


@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_planned_default_deny_is_what_isolates(stack: str, plans) -> None:
    """Control on the planned policies: the labelled serving client connects only because of the
    vector-client policies; with the namespace's default-deny alone it would not."""
    cluster = cluster_of(plans[stack])
    src = Pod(c.NAMESPACE_SERVING, CLIENT)
    assert cluster.connects(src, _qdrant(), c.PORT_QDRANT_HTTP)
    only_deny = Cluster(
        {
            ns: [p for p in specs if p["podSelector"] == {} and "egress" not in p]
            for ns, specs in cluster.policies.items()
        },
        cluster.namespaces,
    )
    assert not only_deny.connects(src, _qdrant(), c.PORT_QDRANT_HTTP)


# --------------------------------------------------------------------------- intended flows
@pytest.mark.parametrize("stack", VECTOR_STACKS)
@pytest.mark.parametrize("port", [c.PORT_QDRANT_HTTP, c.PORT_QDRANT_GRPC])
def test_labelled_clients_reach_qdrant_from_every_client_namespace(stack: str, port: int, plans) -> None:
    plan = plans[stack]
    cluster = cluster_of(plan)
    teams = _team_namespaces(plan)
    assert teams
    for ns in [c.NAMESPACE_SERVING, c.NAMESPACE_BATCH, *teams]:
        for i in range(plan.config.vector_store.replicas):
            assert cluster.connects(Pod(ns, CLIENT), _qdrant(i), port), (ns, i, port)


@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_unlabelled_and_model_pods_do_not_reach_qdrant(stack: str, plans) -> None:
    plan = plans[stack]
    cluster = cluster_of(plan)
    for ns in [c.NAMESPACE_SERVING, c.NAMESPACE_BATCH, *_team_namespaces(plan)]:
        assert not cluster.connects(Pod(ns, UNLABELLED), _qdrant(), c.PORT_QDRANT_HTTP), ns
    for ns in (c.NAMESPACE_SERVING, c.NAMESPACE_BATCH):
        assert not cluster.connects(Pod(ns, VLLM_POD), _qdrant(), c.PORT_QDRANT_HTTP), ns
        assert not cluster.connects(Pod(ns, {c.LABEL_APP: "router"}), _qdrant(), c.PORT_QDRANT_GRPC), ns
    # A labelled pod outside the client namespaces is not a client.
    for ns in ("default", c.NAMESPACE_OBSERVABILITY, "aif-teamless"):
        assert not cluster.connects(Pod(ns, CLIENT), _qdrant(), c.PORT_QDRANT_HTTP), ns


@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_clients_reach_only_the_api_ports(stack: str, plans) -> None:
    cluster = cluster_of(plans[stack])
    team = _team_namespaces(plans[stack])[0]
    for ns in (c.NAMESPACE_SERVING, team):
        for port in (c.PORT_QDRANT_P2P, c.PORT_QDRANT_METRICS, 80, 443, 8080):
            assert not cluster.connects(Pod(ns, CLIENT), _qdrant(), port), (ns, port)
        assert not cluster.connects(Pod(ns, CLIENT), _qdrant(), c.PORT_QDRANT_HTTP, "UDP")
    # The client label opens Qdrant only, not the vector namespace's other pods.
    job = Pod(c.NAMESPACE_VECTOR, SNAPSHOT_POD)
    assert not cluster.connects(Pod(c.NAMESPACE_SERVING, CLIENT), job, c.PORT_QDRANT_HTTP)


@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_qdrant_talks_to_its_peers_only(stack: str, plans) -> None:
    cluster = cluster_of(plans[stack])
    assert cluster.connects(_qdrant(0), _qdrant(1), c.PORT_QDRANT_P2P)
    assert not cluster.connects(_qdrant(0), _qdrant(1), c.PORT_QDRANT_HTTP)
    outside = [
        (Pod(c.NAMESPACE_SERVING, VLLM_POD), c.PORT_VLLM),
        (Pod(c.NAMESPACE_SERVING, CLIENT), c.PORT_QDRANT_HTTP),
        (Pod("s3", {"app": "minio"}, "192.0.2.10"), 443),
    ]
    for dst, port in outside:
        assert not cluster.connects(_qdrant(0), dst, port), (dst, port)


@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_snapshot_job_and_metrics_scrape_keep_their_flows(stack: str, plans) -> None:
    cluster = cluster_of(plans[stack])
    job = Pod(c.NAMESPACE_VECTOR, SNAPSHOT_POD)
    assert cluster.connects(job, _qdrant(1), c.PORT_QDRANT_HTTP)
    assert not cluster.connects(job, _qdrant(1), c.PORT_QDRANT_P2P)
    prometheus = Pod(c.NAMESPACE_OBSERVABILITY, {c.LABEL_APP: "prometheus"})
    assert cluster.connects(prometheus, _qdrant(), c.PORT_QDRANT_METRICS)
    # /metrics on the API port needs a key; Prometheus has none and no flow there.
    assert not cluster.connects(prometheus, _qdrant(), c.PORT_QDRANT_HTTP)
