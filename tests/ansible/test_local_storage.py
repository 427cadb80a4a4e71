"""local_storage puts the kubelet's pods directory on the model cache (real hosts).

Model servers copy their weights into an emptyDir, and emptyDir volumes live under the
kubelet's pods directory. The role bind-mounts /var/lib/kubelet/pods from
<mount point>/kubelet-pods (in /etc/fstab), but only while that is safe: a host whose pods
directory is already in use (the kubelet ran with pods on the root disk, or the node joined)
is reported and left alone, since a mount over it would hide live pod volumes.

The test hosts have no NVMe devices (local_storage_devices: []), so the mount point is a plain
directory; bind mounts themselves are real (systemd-nspawn gives the host CAP_SYS_ADMIN in its
own mount namespace). Only the local_storage role runs (`--tags local_storage`). The first three
tests share three hosts and run in file order:

* ls-fresh  a fresh host: gets the bind mount.
* ls-busy   /var/lib/kubelet/pods already holds a pod volume (planted): left untouched.
* ls-joined the node joined (kubelet kubeconfig planted), pods directory empty: left untouched.
"""

from __future__ import annotations

import hosts
import pytest

pytestmark = pytest.mark.ansible

CACHE = "/var/lib/ai-factory/model-cache"
SRC = f"{CACHE}/kubelet-pods"
PODS = "/var/lib/kubelet/pods"
FSTAB_LINE = f"{SRC} {PODS} none bind,x-systemd.before=kubelet.service,x-systemd.required-by=kubelet.service 0 0"
PLANTED = f"{PODS}/0b1c2d3e-pod-uid/volumes/kubernetes.io~empty-dir/model-cache/model.safetensors"
HOSTS = ("ls-fresh", "ls-busy", "ls-joined")


class Lab:
    def __init__(self, harness, host_list):
        self.harness = harness
        self.hosts = {h.name: h for h in host_list}
        self.inventory = harness.inventory("local-storage", host_list)
        self.runs = []

    def run(self, *args: str):
        result = self.harness.run(
            "site.yml",
            self.inventory,
            "--tags",
            "local_storage",
            "-e",
            f"aif_rollout_batch_size={len(self.hosts)}",
            *args,
        )
        self.runs.append(result)
        return result

    def sh(self, name: str, command: str, check: bool = True):
        return self.harness.ssh(self.hosts[name], command, check=check)

    def fstab_lines(self, name: str) -> list[str]:
        return [line for line in self.sh(name, "cat /etc/fstab").stdout.splitlines() if PODS in line]

    def mounts_at_pods(self, name: str) -> list[str]:
        """mountinfo lines whose mount point is the pods directory (stacked mounts show twice)."""
        lines = self.sh(name, "cat /proc/self/mountinfo").stdout.splitlines()
        return [line for line in lines if line.split()[4] == PODS]


def tasks_that_changed(run) -> str:
    lines = run.stdout.splitlines()
    return "\n".join(f"{lines[i - 1]}\n{lines[i]}" for i, line in enumerate(lines) if line.startswith("changed:"))


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def lab(harness):
    host_list = [harness.factory.create(name) for name in HOSTS]
    try:
        lab = Lab(harness, host_list)
        # A kubelet has run here with pods on the root disk: one pod's emptyDir holds weights.
        lab.sh("ls-busy", f"mkdir -p $(dirname {PLANTED}) && echo weights > {PLANTED}")
        # Joined (the eks-hybrid kubelet kubeconfig exists), no pod has run yet.
        lab.sh("ls-joined", f"mkdir -p {PODS} && touch /var/lib/kubelet/kubeconfig")
        yield lab
    finally:
        for host in host_list:
            harness.factory.destroy(host)


def test_a_fresh_host_gets_the_bind_mount(lab):
    run = lab.run()
    assert run.rc == 0, run.stdout[-4000:]
    for name in HOSTS:
        assert run.host(name)["failed"] == 0, run.stdout[-4000:]
    # findmnt on the host: the pods directory is a bind of <mount point>/kubelet-pods.
    found = lab.sh("ls-fresh", f"findmnt --noheadings --output TARGET,SOURCE --mountpoint {PODS}").stdout.split()
    assert found[0] == PODS and found[1].endswith(f"[{SRC}]"), found
    assert len(lab.mounts_at_pods("ls-fresh")) == 1
    assert lab.fstab_lines("ls-fresh") == [FSTAB_LINE]
    assert lab.sh("ls-fresh", f"stat -c '%U:%G %a' {SRC}").stdout.strip() == "root:root 750"
    # A pod volume written through the kubelet's path lands on the cache.
    lab.sh("ls-fresh", f"mkdir {PODS}/probe-uid && test -d {SRC}/probe-uid && rmdir {PODS}/probe-uid")
    # systemd reads the entry as intended: the bind is ordered before (and required by) the kubelet.
    lab.sh("ls-fresh", "systemctl daemon-reload")
    before = lab.sh("ls-fresh", "systemctl show -p Before --value var-lib-kubelet-pods.mount").stdout.split()
    assert "kubelet.service" in before
    lab.sh("ls-fresh", "test -L /run/systemd/generator/kubelet.service.requires/var-lib-kubelet-pods.mount")


def test_b_second_run_changes_nothing(lab):
    run = lab.run()
    assert run.rc == 0, run.stdout[-4000:]
    for name in HOSTS:
        assert run.host(name)["changed"] == 0, tasks_that_changed(run)
    # Still exactly one mount and one fstab entry (nothing stacked or duplicated).
    assert len(lab.mounts_at_pods("ls-fresh")) == 1
    assert lab.fstab_lines("ls-fresh") == [FSTAB_LINE]


def test_c_a_pods_directory_in_use_is_left_alone_and_the_run_says_why(lab):
    assert len(lab.runs) == 2, "runs after test_a and test_b"
    for name in ("ls-busy", "ls-joined"):
        assert lab.mounts_at_pods(name) == [], f"{name}: mounted over a pods directory in use"
        assert lab.fstab_lines(name) == []
        assert lab.sh(name, f"findmnt --mountpoint {PODS}", check=False).returncode == 1
    # The planted pod volume is still there, on the root disk, and the cache got nothing.
    assert lab.sh("ls-busy", f"cat {PLANTED}").stdout == "weights\n"
    assert lab.sh("ls-busy", f"ls -A {SRC}").stdout == ""
    for run in lab.runs:  # every run says why, naming the host
        out = flat(run.stdout)
        assert (
            f"WARNING local_storage: ls-busy: {PODS} is NOT moved to the model cache ({SRC}): "
            "it is not empty (pod volumes on the root disk; entries: 1)"
        ) in out
        assert (
            f"WARNING local_storage: ls-joined: {PODS} is NOT moved to the model cache ({SRC}): "
            "the node already joined a cluster (/var/lib/kubelet/kubeconfig exists)"
        ) in out
        assert "needs a drain and re-provisioning" in out
        assert "WARNING local_storage: ls-fresh" not in out


def test_d_check_mode_on_a_fresh_host_changes_nothing(harness):
    host = harness.factory.create("ls-check")
    try:
        inventory = harness.inventory("local-storage-check", [host])
        fstab = harness.ssh(host, "cat /etc/fstab").stdout
        run = harness.run("site.yml", inventory, "--tags", "local_storage", "--check", "--diff")
        assert run.rc == 0, run.stdout[-4000:]
        assert run.host("ls-check")["failed"] == 0
        assert run.host("ls-check")["changed"] > 0  # it reports what it would do...
        assert "TASK [local_storage : Bind-mount the kubelet pods directory on the model cache]" in run.stdout
        # ...without doing it.
        assert harness.ssh(host, "cat /etc/fstab").stdout == fstab
        assert harness.ssh(host, f"findmnt --mountpoint {PODS}", check=False).returncode == 1
        assert not (host.root / "var/lib/kubelet").exists()
        assert not (host.root / CACHE.lstrip("/")).exists()
    finally:
        harness.factory.destroy(host)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"k8s_node_managed_label_keys": "ai-factory.io/site"},
            "k8s_node_taints and k8s_node_managed_label_keys must be lists",
        ),
        (
            {"local_storage_kubelet_pods_on_cache": "true"},
            "local_storage_kubelet_pods_on_cache must be a YAML boolean (true/false), not the string 'true'",
        ),
    ],
    ids=["managed-label-keys-not-a-list", "pods-on-cache-a-string"],
)
def test_e_inventory_validation_stops_before_any_host_is_touched(harness, override, message):
    # Play 1 runs on the controller only: the host needs no machine behind it.
    ghost = hosts.TestHost(
        name="ls-ghost",
        index=0,
        ip="198.19.255.9",
        gateway="198.19.255.1",
        netns="none",
        veth_host="none",
        veth_guest="none",
        base=harness.factory.workdir,
    )
    inventory = harness.inventory(f"local-storage-{next(iter(override))}", [ghost], {"ls-ghost": override})
    run = harness.run("site.yml", inventory)
    assert run.rc != 0
    assert run.host("ls-ghost")["failed"] == 1
    assert message in flat(run.stdout), run.stdout[-3000:]
    assert "PLAY [Prepare GPU servers]" not in run.stdout
