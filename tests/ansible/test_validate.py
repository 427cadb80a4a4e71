"""validate.yml / gpu_validate against the simulated nvidia-smi, and fault isolation in site.yml.

Runs after test_site.py on the same converged hosts (module order); every test restores the
simulation it breaks.
"""

from __future__ import annotations

import json

import pytest

import doubles

pytestmark = pytest.mark.ansible

SMI_CONF = "etc/aif-test-double/nvidia-smi.conf"


def simulate(host, **settings):
    """Change what the simulated nvidia-smi reports on one host (empty: the default 8×H100)."""
    conf = host.root / SMI_CONF
    if not settings:
        conf.unlink(missing_ok=True)
        return
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))


@pytest.fixture
def reports(fleet):
    out = fleet.harness.factory.workdir / "reports"
    out.mkdir(exist_ok=True)
    for f in out.glob("*.json"):
        f.unlink()
    yield out
    for host in fleet.hosts.values():
        simulate(host)


def test_validate_writes_and_fetches_reports(fleet, reports):
    run = fleet.harness.run("validate.yml", fleet.inventory, "-e", f"gpu_validate_fetch_dir={reports}")
    assert run.rc == 0, run.stdout[-3000:]
    for name in fleet.hosts:
        report = json.loads((reports / f"{name}.json").read_text())
        assert set(report) >= {"host", "passed", "reasons", "gpu_count", "gpu_model",
                               "driver_version", "ecc_enabled", "persistence_mode"}
        assert report["host"] == name and report["passed"] is True
        assert report["gpu_count"] == 8 and report["driver_version"] == doubles.DRIVER_VERSION
        # Read-only: nothing changes on the host (copying the report to the controller is not
        # counted as a change; see gpu_validate's fetch task).
        assert run.host(name)["changed"] == 0


def test_validate_fails_on_wrong_gpu_count(fleet, reports):
    simulate(fleet.hosts["gpu-02"], GPU_COUNT=7)
    run = fleet.harness.run("validate.yml", fleet.inventory, "-e", f"gpu_validate_fetch_dir={reports}")
    assert run.rc != 0
    assert run.host("gpu-02")["failed"] == 1
    assert run.host("gpu-01")["failed"] == 0 and run.host("gpu-03")["failed"] == 0
    report = json.loads((reports / "gpu-02.json").read_text())
    assert report["passed"] is False
    assert report["reasons"] == ["expected 8 GPUs, found 7"]
    assert "GPU validation failed on gpu-02: expected 8 GPUs, found 7" in run.stdout


def test_validate_lists_every_reason(fleet, reports):
    simulate(fleet.hosts["gpu-03"], DRIVER_VERSION="550.54.15", ECC_MODE="Disabled", GPU_COUNT=8)
    run = fleet.harness.run("validate.yml", fleet.inventory, "--limit", "gpu-03",
                            "-e", f"gpu_validate_fetch_dir={reports}")
    assert run.host("gpu-03")["failed"] == 1
    report = json.loads((reports / "gpu-03.json").read_text())
    assert report["reasons"] == [
        f"driver 550.54.15 != expected {doubles.DRIVER_VERSION}",
        "ECC not enabled on GPU 0, 1, 2, 3, 4, 5, 6, 7",
    ]
    assert report["ecc_enabled"] is False and report["driver_version"] == "550.54.15"


def test_validate_reports_a_dead_driver(fleet, reports):
    simulate(fleet.hosts["gpu-01"], FAIL=1)
    run = fleet.harness.run("validate.yml", fleet.inventory, "--limit", "gpu-01",
                            "-e", f"gpu_validate_fetch_dir={reports}")
    assert run.host("gpu-01")["failed"] == 1
    report = json.loads((reports / "gpu-01.json").read_text())
    assert report["passed"] is False and report["gpu_count"] == 0
    assert report["reasons"][0].startswith("nvidia-smi failed (rc 9)")
    assert "expected 8 GPUs, found 0" in report["reasons"]


def test_one_broken_host_does_not_stop_the_others_and_a_rerun_converges(fleet, reports):
    broken = fleet.hosts["gpu-02"]
    simulate(broken, GPU_COUNT=7)
    # One batch of three, up to 50 % failures tolerated: the healthy hosts must finish.
    args = ("-e", "aif_rollout_batch_size=3", "-e", "aif_rollout_max_fail_percentage=50")
    run = fleet.harness.run("site.yml", fleet.inventory, *args)
    assert run.host("gpu-02")["failed"] == 1
    for name in ("gpu-01", "gpu-03"):
        assert run.host(name)["failed"] == 0, run.stdout[-3000:]
        assert f"ok: [{name}] => \n    msg: '{name}: 8 x NVIDIA H100" in run.stdout or \
            f"{name}: 8 x NVIDIA H100 80GB HBM3" in run.stdout  # reached the last role
    # Fix the host and run again: everything converges.
    simulate(broken)
    rerun = fleet.harness.run("site.yml", fleet.inventory, *args)
    assert rerun.rc == 0, rerun.stdout[-3000:]
    for name in fleet.hosts:
        assert rerun.host(name)["failed"] == 0
    assert rerun.host("gpu-01")["changed"] == 0 and rerun.host("gpu-03")["changed"] == 0


def test_default_rollout_stops_at_the_first_failed_batch(fleet, reports):
    """Inventory defaults (batch 1, 0 % failures): a failing first server stops the rollout
    before the next one is touched."""
    simulate(fleet.hosts["gpu-01"], GPU_COUNT=7)
    # Only the validation tasks: batching is a play-level behaviour, the tags keep it quick.
    run = fleet.harness.run("site.yml", fleet.inventory, "--tags", "gpu_facts,gpu_validate")
    assert run.rc != 0
    assert run.host("gpu-01")["failed"] == 1
    assert "[gpu-02]" not in run.stdout.split("PLAY [Prepare GPU servers]", 1)[1].split("PLAY RECAP")[0]


# Last in this module on purpose: it takes two hosts out of service.
def test_decommission_drains_leaves_and_stops_services(fleet):
    gpu01, gpu03 = fleet.hosts["gpu-01"], fleet.hosts["gpu-03"]
    refused = fleet.harness.run("decommission.yml", fleet.inventory, "--limit", "gpu-03")
    assert refused.rc != 0 and "Refusing to decommission gpu-03" in refused.stdout

    # kubeadm node, kubectl delegated (gpu-03 carries the kubectl test double).
    run = fleet.harness.run("decommission.yml", fleet.inventory, "--limit", "gpu-03",
                            "-e", "aif_decommission_confirm=gpu-03", "-e", "k8s_node_kubectl_delegate=gpu-03")
    assert run.rc == 0, run.stdout[-3000:]
    kubectl = (gpu03.root / "var/tmp/aif-test-double/kubectl.log").read_text().splitlines()
    selector = "--selector ai-factory.io/inventory-hostname=gpu-03"
    assert kubectl[0].startswith(f"kubectl drain {selector} --ignore-daemonsets")
    assert kubectl[1] == f"kubectl delete node {selector} --ignore-not-found"
    assert "reset --force" in (gpu03.root / "var/lib/aif-test-double/kubeadm.log").read_text()
    assert not (gpu03.root / "etc/kubernetes/kubelet.conf").exists()
    states = fleet.harness.ssh(gpu03, "systemctl is-active kubelet containerd nvidia-dcgm", check=False).stdout.split()
    assert states == ["inactive"] * 3

    # EKS hybrid node without a configured API: not drained, and the run says so.
    run = fleet.harness.run("decommission.yml", fleet.inventory, "--limit", "gpu-01",
                            "-e", "aif_decommission_confirm=gpu-01")
    assert run.rc == 0, run.stdout[-3000:]
    assert "so the node was NOT cordoned or drained" in " ".join(run.stdout.split())
    assert (gpu01.root / "var/lib/aif-test-double/nodeadm.log").read_text().splitlines()[-1] == "uninstall"
