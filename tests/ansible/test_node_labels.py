"""k8s_node reconciles the managed node labels on an already-joined node (real hosts).

Kubelet applies --node-labels only when its Node registers; when the inventory's labels change
later (GPU sharing switched on or off), the role sets or removes the keys listed in
k8s_node_managed_label_keys on the node's own Node object, with the kubelet's credentials.
The kubectl test double (doubles.py) keeps that host's Node objects in a JSON file and enforces
what the real API server would: a kubelet reads and labels only its own Node.

Two hosts, one per join method: lab-hybrid (EKS Hybrid Nodes, SSM, so the Node is named mi-...)
and lab-kubeadm. Only the k8s_node role runs (`--tags k8s_node`). The tests share the hosts
and run in file order: each one starts from the state the previous one left.
"""

from __future__ import annotations

import json

import pytest

from components import conventions as c

pytestmark = pytest.mark.ansible

IDENTITY = "ai-factory.io/inventory-hostname"
MANAGED = sorted({c.LABEL_LOCATION, c.LABEL_SITE, c.LABEL_GPU_MODEL, c.LABEL_DEVICE_PLUGIN_CONFIG, c.LABEL_MIG_CONFIG})
KUBELET_OWN = {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}  # plus kubernetes.io/hostname
PLANTED = {"example.com/rack": "r12"}  # set by "someone else": never touched by the role

LABELS_A = {c.LABEL_LOCATION: "on-prem", c.LABEL_SITE: "ci1", c.LABEL_GPU_MODEL: "H100-80GB-HBM3"}
# GPU sharing switched on (both sharing labels) and the GPU model label dropped.
LABELS_B = {c.LABEL_LOCATION: "on-prem", c.LABEL_SITE: "ci1",
            c.LABEL_DEVICE_PLUGIN_CONFIG: "on-prem", c.LABEL_MIG_CONFIG: "all-3g.40gb"}
# MIG switched off again: only used with --check.
LABELS_C = {k: v for k, v in LABELS_B.items() if k != c.LABEL_MIG_CONFIG}

HOSTS = ("lab-hybrid", "lab-kubeadm")
KUBECTL = {"lab-hybrid": "/usr/local/bin/kubectl", "lab-kubeadm": "/usr/bin/kubectl"}
STORE = "var/tmp/aif-test-double/nodes.json"
LOG = "var/tmp/aif-test-double/kubectl.log"


class Lab:
    def __init__(self, harness, host_list):
        self.harness = harness
        self.hosts = {h.name: h for h in host_list}
        self.runs = 0

    def run(self, labels: dict, *args: str, managed=MANAGED):
        self.runs += 1
        host_vars = {
            name: {"k8s_node_labels": labels, "k8s_node_managed_label_keys": managed} for name in self.hosts
        }
        host_vars["lab-kubeadm"].update(
            {"k8s_node_join_method": "kubeadm", "k8s_node_kubeadm_api_endpoint": "198.19.255.1:6443"}
        )
        inventory = self.harness.inventory(f"labels-{self.runs}", list(self.hosts.values()), host_vars)
        return self.harness.run("site.yml", inventory, "--tags", "k8s_node", "-e", "aif_rollout_batch_size=2", *args)

    def store_text(self, name: str) -> str:
        return (self.hosts[name].root / STORE).read_text()

    def nodes(self, name: str) -> list[dict]:
        return json.loads(self.store_text(name))["items"]

    def node(self, name: str) -> dict:
        """The one Node object carrying the host's identity label."""
        found = [n for n in self.nodes(name) if n["metadata"]["labels"].get(IDENTITY) == name]
        assert len(found) == 1, f"{name}: {self.nodes(name)}"
        return found[0]

    def log(self, name: str) -> list[str]:
        path = self.hosts[name].root / LOG
        return path.read_text().splitlines() if path.exists() else []

    def admin_kubectl(self, name: str, args: str):
        """kubectl as a cluster admin (no kubelet credentials), e.g. another controller."""
        return self.harness.ssh(self.hosts[name], f"{KUBECTL[name]} {args}")


def expected(name: str, labels: dict, extra: dict | None = None) -> dict:
    return {**labels, IDENTITY: name, **KUBELET_OWN, "kubernetes.io/hostname": name, **(extra or {})}


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def lab(harness):
    host_list = [harness.factory.create(name) for name in HOSTS]
    try:
        yield Lab(harness, host_list)
    finally:
        for host in host_list:
            harness.factory.destroy(host)


def test_a_join_registers_the_labels(lab):
    run = lab.run(LABELS_A)
    assert run.rc == 0, run.stdout[-4000:]
    for name in HOSTS:
        assert run.host(name)["failed"] == 0
        assert lab.node(name)["metadata"]["labels"] == expected(name, LABELS_A)
        # Registered with exactly these labels: nothing to reconcile, no label call.
        assert not [line for line in lab.log(name) if line.startswith("kubectl --kubeconfig")]
    # The hybrid node is named after its SSM managed instance, not the inventory host: the role
    # found it through the kubelet's identity, not the inventory.
    assert lab.node("lab-hybrid")["metadata"]["name"].startswith("mi-")
    assert lab.node("lab-kubeadm")["metadata"]["name"] == "lab-kubeadm"


def test_b_rerun_sets_and_removes_only_managed_labels(lab):
    for name in HOSTS:
        lab.admin_kubectl(name, f"label nodes --selector {IDENTITY}={name} example.com/rack=r12")
    run = lab.run(LABELS_B)
    assert run.rc == 0, run.stdout[-4000:]
    for name in HOSTS:
        assert run.host(name)["changed"] >= 1
        node = lab.node(name)
        # Exactly the new set: sharing labels added, gpu-model removed, the planted label,
        # kubelet's own labels and the identity label untouched.
        assert node["metadata"]["labels"] == expected(name, LABELS_B, PLANTED)
        kubeconfig = "/var/lib/kubelet/kubeconfig" if name == "lab-hybrid" else "/etc/kubernetes/kubelet.conf"
        assert lab.log(name)[-1] == (
            f"kubectl --kubeconfig {kubeconfig} label nodes {node['metadata']['name']} "
            f"{c.LABEL_DEVICE_PLUGIN_CONFIG}=on-prem {c.LABEL_MIG_CONFIG}=all-3g.40gb "
            f"{c.LABEL_GPU_MODEL}- --overwrite"
        )


def test_c_identical_rerun_changes_nothing(lab):
    before = {name: lab.store_text(name) for name in HOSTS}
    run = lab.run(LABELS_B)
    assert run.rc == 0, run.stdout[-4000:]
    for name in HOSTS:
        assert run.host(name)["changed"] == 0, "\n".join(
            line for line in run.stdout.splitlines() if line.startswith(("TASK", "changed"))
        )
        assert lab.store_text(name) == before[name]


def test_d_check_mode_reports_the_difference_and_changes_nothing(lab):
    before = {name: lab.store_text(name) for name in HOSTS}
    run = lab.run(LABELS_C, "--check", "--diff")
    assert run.rc == 0, run.stdout[-4000:]
    out = flat(run.stdout)
    for name in HOSTS:
        assert run.host(name)["failed"] == 0
        assert run.host(name)["changed"] >= 1  # it reports what it would do...
        assert lab.store_text(name) == before[name]  # ...without doing it
        assert f'remove ["{c.LABEL_MIG_CONFIG}"]' in out
        # The API server was asked to validate the change without storing it.
        assert lab.log(name)[-1].endswith(f"{c.LABEL_MIG_CONFIG}- --overwrite --dry-run=server")


def test_e_no_matching_node_fails_that_host_clearly(lab):
    # The Node object is gone (deleted by an admin): the kubelet's Node is not registered.
    lab.admin_kubectl("lab-hybrid", f"delete node --selector {IDENTITY}=lab-hybrid")
    assert lab.nodes("lab-hybrid") == []
    run = lab.run(LABELS_B)
    assert run.rc != 0
    assert run.host("lab-hybrid")["failed"] == 1
    assert run.host("lab-kubeadm")["failed"] == 0 and run.host("lab-kubeadm")["changed"] == 0
    assert ("lab-hybrid: expected exactly one registered Node with --selector "
            f"{IDENTITY}=lab-hybrid") in flat(run.stdout), run.stdout[-3000:]
    assert "found 0" in flat(run.stdout)
    assert lab.nodes("lab-hybrid") == []


def test_f_preflight_rejects_keys_a_kubelet_may_not_set(lab):
    run = lab.run(LABELS_B, "--tags", "k8s_node_labels", managed=["node-role.kubernetes.io/gpu"])
    assert run.rc != 0
    for name in HOSTS:
        assert run.host(name)["failed"] == 1
    assert "k8s_node_managed_label_keys must be a list of label keys" in flat(run.stdout)
