"""site.yml on three real hosts: what it changes, idempotence, and GPU validation."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest
import yaml

import doubles

pytestmark = pytest.mark.ansible

DEBIAN_PACKAGES = ["chrony", "auditd", "nftables", "unattended-upgrades", "containerd",
                   "prometheus-node-exporter", "pciutils", "python3-debian"]
SERVICES = ["chrony", "nftables", "nvidia-persistenced", "nvidia-dcgm", "nvidia-dcgm-exporter",
            "containerd", "prometheus-node-exporter", "ssh"]


def packages(fleet, host) -> dict[str, str]:
    out = fleet.harness.ssh(host, "dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n'").stdout
    # Status "ii" (installed) or "hi" (installed and held, e.g. the kubeadm packages).
    return {p[0]: p[1] for p in (line.split() for line in out.splitlines()) if len(p) >= 3 and p[2][1:2] == "i"}


def read(host, path: str) -> str:
    return (host.root / path.lstrip("/")).read_text()


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - test-only local address
        return resp.read().decode()


def test_first_run_converges_every_host(fleet):
    run = fleet.first_run
    assert run.rc == 0, run.stdout[-4000:]
    for name in fleet.hosts:
        assert run.host(name)["failed"] == 0
        assert run.host(name)["unreachable"] == 0
        assert run.host(name)["changed"] > 20, f"{name} barely changed: {run.host(name)}"


def test_packages_come_from_the_local_mirror_at_pinned_versions(fleet):
    for name, host in fleet.hosts.items():
        pkgs = packages(fleet, host)
        for pkg in DEBIAN_PACKAGES:
            assert pkg in pkgs, f"{name}: {pkg} not installed"
        driver = f"{doubles.DRIVER_VERSION}-1"
        # The mirror also holds 575.57.08: the apt pin must keep every driver package on 570.
        for pkg in ("cuda-drivers-570", "nvidia-driver", "nvidia-smi", "nvidia-persistenced", "nvidia-kernel-dkms"):
            assert pkgs.get(pkg) == driver, f"{name}: {pkg} {pkgs.get(pkg)} != {driver}"
        for pkg in ("nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools"):
            assert pkgs.get(pkg) == doubles.CTK_VERSION
        for pkg in ("datacenter-gpu-manager-4-core", "datacenter-gpu-manager-4-cuda12", "datacenter-gpu-manager-exporter"):
            assert pkg in pkgs
        # Fabric manager only where NVSwitch is declared (gpu-01).
        assert ("nvidia-fabricmanager-570" in pkgs) == (name == "gpu-01")
        sources = read(host, "/etc/apt/sources.list.d/aif-nvidia-cuda.sources")
        assert f"URIs: file://{fleet.harness.factory.mirror}/cuda/debian12/x86_64" in sources
        assert "Trusted: yes" in sources
        pin = read(host, "/etc/apt/preferences.d/ai-factory-nvidia-driver.pref")
        assert "Pin: version 570.195.03-*" in pin
    kubeadm_pkgs = packages(fleet, fleet.hosts["gpu-03"])
    assert kubeadm_pkgs["kubeadm"] == doubles.K8S_VERSION
    held = fleet.harness.ssh(fleet.hosts["gpu-03"], "dpkg --get-selections kubeadm kubelet kubectl").stdout
    assert held.split().count("hold") == 3


def test_services_run_under_systemd(fleet):
    for name, host in fleet.hosts.items():
        states = fleet.harness.ssh(host, "systemctl is-active " + " ".join(SERVICES), check=False).stdout.split()
        assert states == ["active"] * len(SERVICES), f"{name}: {dict(zip(SERVICES, states))}"
        fm = fleet.harness.ssh(host, "systemctl is-active nvidia-fabricmanager", check=False).stdout.strip()
        assert fm == ("active" if name == "gpu-01" else "inactive")
        # auditd cannot run in a container (kernel audit is tied to the initial PID namespace);
        # the role enables it, and starting it is tagged host_kernel.
        enabled = fleet.harness.ssh(host, "systemctl is-enabled auditd chrony nftables", check=False).stdout.split()
        assert enabled == ["enabled"] * 3


def test_exporters_answer_over_the_network(fleet):
    for host in fleet.hosts.values():
        node = http_get(f"http://{host.ip}:9100/metrics")
        assert "node_systemd_unit_state" in node  # systemd collector enabled by the role
        dcgm = http_get(f"http://{host.ip}:9400/metrics")
        assert dcgm.count("DCGM_FI_DEV_GPU_UTIL{") == 8
        assert "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" in dcgm  # from the role's counters file


def test_kernel_and_limits_files(fleet):
    host = fleet.hosts["gpu-01"]
    sysctl = read(host, "/etc/sysctl.d/90-ai-factory.conf")
    for line in ("vm.max_map_count = 1048576", "kernel.numa_balancing = 0", "net.ipv4.ip_forward = 1"):
        assert line in sysctl
    assert "blacklist nouveau" in read(host, "/etc/modprobe.d/blacklist-nouveau.conf")
    assert "options nouveau modeset=0" in read(host, "/etc/modprobe.d/blacklist-nouveau.conf")
    limits = read(host, "/etc/security/limits.d/90-ai-factory.conf")
    assert "*    hard    memlock    unlimited" in limits
    assert "DefaultLimitMEMLOCK=infinity" in read(host, "/etc/systemd/system.conf.d/90-ai-factory-limits.conf")
    uu = read(host, "/etc/apt/apt.conf.d/52ai-factory-unattended-upgrades")
    assert '"nvidia-";' in uu and "-security" in uu
    assert '"1"' in read(host, "/etc/apt/apt.conf.d/20auto-upgrades")
    assert "-k ai-factory-config" in read(host, "/etc/audit/rules.d/50-ai-factory.rules")
    fact = json.loads(fleet.harness.ssh(host, "/etc/ansible/facts.d/gpus.fact").stdout)
    assert fact["smi_count"] == 8 and fact["driver_version"] == doubles.DRIVER_VERSION


def test_sshd_is_hardened(fleet):
    host = fleet.hosts["gpu-02"]
    effective = fleet.harness.ssh(host, "sshd -T").stdout.lower()
    assert "permitrootlogin no" in effective
    assert "passwordauthentication no" in effective
    assert "x11forwarding no" in effective


def test_firewall_allows_only_configured_sources(fleet):
    host = fleet.hosts["gpu-02"]
    ruleset = fleet.harness.ssh(host, "nft list table inet ai_factory_host").stdout
    assert "policy drop" in ruleset
    assert "tcp dport 22 accept" in ruleset
    assert "tcp dport { 9100, 9400, 10250 } accept" in ruleset
    # A source outside the admin and cluster CIDRs (still in 198.18.0.0/15) is dropped.
    probe = host.gateway.replace("198.18.", "198.19.", 1)
    hosts_mod = __import__("hosts")
    hosts_mod.run(["ip", "addr", "add", f"{probe}/32", "dev", host.veth_host])
    try:
        for port in (22, 9100):
            sock = socket.socket()
            sock.settimeout(2)
            sock.bind((probe, 0))
            with pytest.raises(OSError):
                sock.connect((host.ip, port))
            sock.close()
        with socket.create_connection((host.ip, 22), timeout=5):
            pass  # from the admin network
    finally:
        hosts_mod.run(["ip", "addr", "del", f"{probe}/32", "dev", host.veth_host], check=False)


def test_containerd_runtime_and_registry_mirror(fleet):
    # kubeadm node: container_toolkit owns config.toml.
    host = fleet.hosts["gpu-03"]
    config = read(host, "/etc/containerd/config.toml")
    assert '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]' in config
    assert 'BinaryName = "/usr/bin/nvidia-container-runtime"' in config
    assert 'config_path = "/etc/containerd/certs.d"' in config
    # containerd really loaded it.
    dump = fleet.harness.ssh(host, "containerd config dump").stdout
    assert "nvidia-container-runtime" in dump and "SystemdCgroup = true" in dump
    for host in fleet.hosts.values():
        mirror = read(host, "/etc/containerd/certs.d/_default/hosts.toml")
        assert '[host."https://123456789012.dkr.ecr.eu-central-1.amazonaws.com"]' in mirror
    # EKS hybrid node: nodeadm owns config.toml and receives the runtime via the NodeConfig.
    cfg = yaml.safe_load(read(fleet.hosts["gpu-01"], "/etc/nodeadm/nodeConfig.yaml"))
    assert 'BinaryName = "/usr/bin/nvidia-container-runtime"' in cfg["spec"]["containerd"]["config"]
    assert "ai-factory" not in read(fleet.hosts["gpu-01"], "/etc/containerd/config.toml").lower()


def test_eks_hybrid_node_config_and_join(fleet):
    host = fleet.hosts["gpu-01"]
    path = host.root / "etc/nodeadm/nodeConfig.yaml"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    cfg = yaml.safe_load(path.read_text())
    secrets = yaml.safe_load(fleet.harness.secrets_file.read_text())
    assert cfg["apiVersion"] == "node.eks.aws/v1alpha1" and cfg["kind"] == "NodeConfig"
    assert cfg["spec"]["cluster"] == {"name": "ci-test-burst", "region": "eu-central-1"}
    assert cfg["spec"]["hybrid"]["ssm"] == {
        "activationCode": secrets["k8s_node_ssm_activation_code"],
        "activationId": secrets["k8s_node_ssm_activation_id"],
    }
    flags = cfg["spec"]["kubelet"]["flags"]
    assert ("--node-labels=ai-factory.io/inventory-hostname=gpu-01,"
            "ai-factory.io/location=on-prem,ai-factory.io/site=ci1") in flags
    assert "--register-with-taints=nvidia.com/gpu=true:NoSchedule" in flags
    log = read(host, "/var/lib/aif-test-double/nodeadm.log").splitlines()
    assert log == ["install 1.33 --credential-provider ssm",
                   "init file:///etc/nodeadm/nodeConfig.yaml"]
    # The activation code never reaches the playbook output.
    assert secrets["k8s_node_ssm_activation_code"] not in fleet.first_run.stdout


def test_kubeadm_join(fleet):
    host = fleet.hosts["gpu-03"]
    log = read(host, "/var/lib/aif-test-double/kubeadm.log").splitlines()
    assert log == ["join --config /etc/kubernetes/kubeadm-join.yaml"]
    assert not (host.root / "etc/kubernetes/kubeadm-join.yaml").exists()  # token removed after join
    assert (host.root / "etc/kubernetes/kubelet.conf").exists()
    secrets = yaml.safe_load(fleet.harness.secrets_file.read_text())
    assert secrets["k8s_node_kubeadm_token"] not in fleet.first_run.stdout


def test_gpu_report_on_every_host(fleet):
    for name, host in fleet.hosts.items():
        report = json.loads(read(host, "/var/lib/ai-factory/gpu-validate.json"))
        assert report["host"] == name
        assert report["passed"] is True and report["reasons"] == []
        assert report["gpu_count"] == 8
        assert report["gpu_model"] == "NVIDIA H100 80GB HBM3"
        assert report["driver_version"] == doubles.DRIVER_VERSION
        assert report["ecc_enabled"] is True and report["persistence_mode"] is True


def test_second_run_changes_nothing(fleet):
    run = fleet.harness.run("site.yml", fleet.inventory, "-e", "aif_rollout_batch_size=3")
    assert run.rc == 0, run.stdout[-4000:]
    for name in fleet.hosts:
        assert run.host(name)["changed"] == 0, f"{name} not idempotent:\n" + "\n".join(
            line for line in run.stdout.splitlines() if line.startswith(("TASK", "changed"))
        )
    # The node joined exactly once.
    log = read(fleet.hosts["gpu-01"], "/var/lib/aif-test-double/nodeadm.log")
    assert log.count("init ") == 1
