"""Session fixtures for the Ansible acceptance tests (real hosts, real SSH, real systemd).

See hosts.py for how hosts are built and reached. Needs root (debootstrap, overlayfs,
network namespaces, systemd-nspawn); CI runs as root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hosts  # noqa: E402

SKIP_TAGS = "gpu_hardware,host_kernel"


def pytest_configure(config):
    config.addinivalue_line("markers", "ansible: runs Ansible against real disposable hosts")


class Harness:
    """One test session's hosts, inventories and playbook runs."""

    def __init__(self, factory: hosts.HostFactory):
        self.factory = factory
        self.secrets_file = hosts.write_secrets(factory.workdir / "secrets.yml")

    def inventory(self, name: str, host_list, host_vars=None) -> Path:
        return hosts.write_inventory(self.factory, host_list, self.factory.workdir / f"{name}.yml", host_vars)

    def run(self, playbook: str, inventory: Path, *args: str) -> hosts.PlaybookResult:
        return hosts.run_playbook(
            self.factory, playbook, inventory, "-e", f"@{self.secrets_file}", "--skip-tags", SKIP_TAGS, *args
        )

    def ssh(self, host, command: str, check: bool = True):
        return self.factory.ssh(host, command, check=check)


@pytest.fixture(scope="session")
def harness():
    if os.geteuid() != 0:
        pytest.skip("the Ansible acceptance tests need root (debootstrap, overlayfs, netns, nspawn)")
    rootfs = hosts.build_rootfs()
    mirror = hosts.build_mirror()
    factory = hosts.HostFactory(rootfs, mirror)
    try:
        yield Harness(factory)
    finally:
        factory.destroy_all()


class Fleet:
    def __init__(self, harness: Harness, host_list, inventory: Path, first_run: hosts.PlaybookResult):
        self.harness = harness
        self.hosts = {h.name: h for h in host_list}
        self.inventory = inventory
        self.first_run = first_run


@pytest.fixture(scope="session")
def fleet(harness):
    """Three converged hosts: gpu-01 (EKS hybrid, SSM, NVSwitch/fabric manager), gpu-02 (EKS
    hybrid, PCIe), gpu-03 (kubeadm). site.yml runs once here; tests share the result."""
    host_list = [harness.factory.create(name) for name in ("gpu-01", "gpu-02", "gpu-03")]
    inventory = harness.inventory(
        "fleet",
        host_list,
        {"gpu-03": {"k8s_node_join_method": "kubeadm", "k8s_node_kubeadm_api_endpoint": "198.19.255.1:6443"}},
    )
    # All three in one batch: the first run is the slow one, and batching is tested separately.
    first = harness.run("site.yml", inventory, "-e", "aif_rollout_batch_size=3")
    return Fleet(harness, host_list, inventory, first)
