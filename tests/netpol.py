"""A small NetworkPolicy evaluator, so tests can ask who may connect to whom under the planned policies.

It follows the Kubernetes NetworkPolicy semantics (networking.k8s.io/v1): a pod is isolated for a
direction when any policy of its namespace selects it with that policy type; an isolated pod admits a
connection when some rule of a selecting policy matches the peer and the port; a connection needs the
source's egress *and* the destination's ingress. Peers: podSelector (policy's namespace),
namespaceSelector (+ podSelector), ipBlock (matched against the pod's IP, so a CIDR that covers pod IPs
counts: denials do not hinge on ipBlock being ignored). Selectors: matchLabels and matchExpressions
(In, NotIn, Exists, DoesNotExist). An address outside the cluster is a Pod in a namespace without
policies: it admits everything, so only the source's egress decides.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str]
    ip: str = "10.1.2.3"
    ports: dict[str, int] = field(default_factory=dict)
    """Named container ports (a policy may name a port)."""


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
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
            if not selects(peer["namespaceSelector"], self._ns_labels(pod.namespace)):
                return False
        elif pod.namespace != policy_ns:
            return False
        return selects(peer.get("podSelector"), pod.labels)

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
            if selects(p["podSelector"], pod.labels) and direction in p.get("policyTypes", ["Ingress"])
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


def cluster_of(plan: Any) -> Cluster:
    policies: dict[str, list[dict]] = {}
    namespaces: dict[str, dict[str, str]] = {}
    for r in plan.resources:
        if r["type"] == "kubernetes:networking.k8s.io/v1:NetworkPolicy":
            policies.setdefault(r["inputs"]["metadata"]["namespace"], []).append(r["inputs"]["spec"])
        elif r["type"] == "kubernetes:core/v1:Namespace":
            namespaces[r["inputs"]["metadata"]["name"]] = r["inputs"]["metadata"].get("labels", {})
    return Cluster(policies, namespaces)
