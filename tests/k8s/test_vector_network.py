"""Who can reach Qdrant: the planned NetworkPolicies run through a small NetworkPolicy evaluator.

The evaluator follows the Kubernetes NetworkPolicy semantics (networking.k8s.io/v1): a pod is
isolated for a direction when any policy of its namespace selects it with that policy type; an
isolated pod admits a connection when some rule of a selecting policy matches the peer and the
port; a connection needs the source's egress *and* the destination's ingress. Peers: podSelector
(policy's namespace), namespaceSelector (+ podSelector), ipBlock (matched against the pod's IP,
so a CIDR that covers pod IPs counts: denials below do not hinge on ipBlock being ignored).
Selectors: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from components import conventions as c
from components.k8s.tenancy import QDRANT_POD, VECTOR_CLIENT_POD, VLLM_POD
from components.k8s.vector_snapshots import SNAPSHOT_POD

VECTOR_STACKS = ("lab", "prod-eu")
CLIENT = {c.LABEL_APP: "rag-app", **VECTOR_CLIENT_POD}
UNLABELLED = {c.LABEL_APP: "rag-app"}


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str]
    ip: str = "10.1.2.3"
    ports: dict[str, int] = field(default_factory=dict)
    """Named container ports (a policy may name a port)."""


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


class Cluster:
    def __init__(self, policies: dict[str, list[dict]], namespaces: dict[str, dict[str, str]]) -> None:
        self.policies = policies
        """namespace → NetworkPolicy specs"""
        self.namespaces = namespaces
        """namespace → labels (with kubernetes.io/metadata.name, as the API server sets it)"""

    def _ns_labels(self, ns: str) -> dict[str, str]:
        return {**self.namespaces.get(ns, {}), "kubernetes.io/metadata.name": ns}

    def _peer_matches(self, peer: dict, policy_ns: str, pod: Pod) -> bool:
        if "ipBlock" in peer:
            ip = ipaddress.ip_address(pod.ip)
            block = peer["ipBlock"]
            return ip in ipaddress.ip_network(block["cidr"]) and not any(
                ip in ipaddress.ip_network(e) for e in block.get("except", [])
            )
        if "namespaceSelector" in peer:
            if not _selects(peer["namespaceSelector"], self._ns_labels(pod.namespace)):
                return False
        elif pod.namespace != policy_ns:
            return False
        return _selects(peer.get("podSelector"), pod.labels)

    @staticmethod
    def _port_matches(rule: dict, dest: Pod, port: int, protocol: str) -> bool:
        if not rule.get("ports"):
            return True
        for p in rule["ports"]:
            if p.get("protocol", "TCP") != protocol:
                continue
            want = p.get("port")
            if want is None:
                return True
            number = dest.ports.get(want) if isinstance(want, str) else want
            if number is not None and number <= port <= p.get("endPort", number):
                return True
        return False

    def _allowed(self, pod: Pod, direction: str, other: Pod, dest: Pod, port: int, protocol: str) -> bool:
        key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        selecting = [
            p
            for p in self.policies.get(pod.namespace, [])
            if _selects(p["podSelector"], pod.labels) and direction in p.get("policyTypes", ["Ingress"])
        ]
        if not selecting:
            return True  # not isolated in this direction
        for policy in selecting:
            for rule in policy.get(key, []):
                peer_ok = not rule.get(peers) or any(
                    self._peer_matches(peer, pod.namespace, other) for peer in rule[peers]
                )
                if peer_ok and self._port_matches(rule, dest, port, protocol):
                    return True
        return False

    def connects(self, src: Pod, dst: Pod, port: int, protocol: str = "TCP") -> bool:
        return self._allowed(src, "Egress", dst, dst, port, protocol) and self._allowed(
            dst, "Ingress", src, dst, port, protocol
        )


def _cluster(plan) -> Cluster:
    policies: dict[str, list[dict]] = {}
    namespaces: dict[str, dict[str, str]] = {}
    for r in plan.resources:
        if r["type"] == "kubernetes:networking.k8s.io/v1:NetworkPolicy":
            policies.setdefault(r["inputs"]["metadata"]["namespace"], []).append(r["inputs"]["spec"])
        elif r["type"] == "kubernetes:core/v1:Namespace":
            namespaces[r["inputs"]["metadata"]["name"]] = r["inputs"]["metadata"].get("labels", {})
    return Cluster(policies, namespaces)


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
    cluster = _cluster(plans[stack])
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
    cluster = _cluster(plan)
    teams = _team_namespaces(plan)
    assert teams
    for ns in [c.NAMESPACE_SERVING, c.NAMESPACE_BATCH, *teams]:
        for i in range(plan.config.vector_store.replicas):
            assert cluster.connects(Pod(ns, CLIENT), _qdrant(i), port), (ns, i, port)


@pytest.mark.parametrize("stack", VECTOR_STACKS)
def test_unlabelled_and_model_pods_do_not_reach_qdrant(stack: str, plans) -> None:
    plan = plans[stack]
    cluster = _cluster(plan)
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
    cluster = _cluster(plans[stack])
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
    cluster = _cluster(plans[stack])
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
    cluster = _cluster(plans[stack])
    job = Pod(c.NAMESPACE_VECTOR, SNAPSHOT_POD)
    assert cluster.connects(job, _qdrant(1), c.PORT_QDRANT_HTTP)
    assert not cluster.connects(job, _qdrant(1), c.PORT_QDRANT_P2P)
    prometheus = Pod(c.NAMESPACE_OBSERVABILITY, {c.LABEL_APP: "prometheus"})
    assert cluster.connects(prometheus, _qdrant(), c.PORT_QDRANT_METRICS)
    # /metrics on the API port needs a key; Prometheus has none and no flow there.
    assert not cluster.connects(prometheus, _qdrant(), c.PORT_QDRANT_HTTP)
