"""The GpuServer dynamic provider's create/diff/update/delete, run directly against a real host.

The provider is what `pulumi up` calls for each on-prem server; here it runs the project's
playbooks over real SSH against a disposable Debian host (see hosts.py), with the key and
join secrets passed exactly as the component passes them (secret props, 0600 temp files).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components.onprem.ansible_run import content_hash, host_vars, vars_hash
from components.onprem.gpu_server import GpuServerProvider, PlaybookFailed

pytestmark = pytest.mark.ansible

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(harness):
    import hosts

    host = harness.factory.create("dp-01")
    inv = yaml.safe_load(harness.inventory("provider", [host]).read_text())
    # The provider hands Ansible the key itself (from the Pulumi secret), not a key file path.
    del inv["all"]["vars"]["ansible_ssh_private_key_file"]
    secret_vars = yaml.safe_load(harness.secrets_file.read_text())
    props = {
        "host": host.name,
        "address": host.ip,
        "inventory": json.dumps(inv),
        "contentHash": content_hash(REPO / "ansible"),
        "hostVarsHash": vars_hash(host_vars(inv, host.name)),
        "ansibleDir": "ansible",
        "sshPrivateKey": Path(harness.factory.key).read_text(),
        "secretVars": json.dumps(secret_vars),
    }
    env = hosts.ansible_env(harness.factory)
    return host, props, secret_vars, env


@pytest.fixture
def ansible_env(server, monkeypatch):
    _, _, _, env = server
    for key in ("ANSIBLE_SSH_CONTROL_PATH_DIR", "ANSIBLE_LOCAL_TEMP", "PATH"):
        monkeypatch.setenv(key, env[key])
    # No GPU, no kernel modules here: the same tags the other Ansible tests skip.
    monkeypatch.setenv("ANSIBLE_SKIP_TAGS", "gpu_hardware,host_kernel")


def _private_dirs() -> set[str]:
    import tempfile

    return {p.name for p in Path(tempfile.gettempdir()).glob("aif-ansible-*")}


def test_create_update_diff_delete_against_a_real_host(server, harness, ansible_env) -> None:
    host, props, secret_vars, _ = server
    provider = GpuServerProvider()
    before = _private_dirs()

    created = provider.create(props)
    assert created.id == host.name
    assert created.outs["gpuModel"] == "NVIDIA H100 80GB HBM3"
    assert created.outs["gpuCount"] == 8
    assert created.outs["validationPassed"] is True
    assert created.outs["lastRunChanged"] > 0
    assert harness.ssh(host, "test -s /etc/nodeadm/nodeConfig.yaml", check=False).returncode == 0

    # Nothing changed: no diff; a role change or new host vars: a diff naming the server.
    assert provider.diff(host.name, created.outs, dict(props)).changes is False
    assert provider.diff(host.name, created.outs, {**props, "contentHash": "0" * 64}).changes is True

    # An update with unchanged inputs converges without changing the host (idempotent).
    again = provider.update(host.name, created.outs, dict(props))
    assert again.outs["lastRunChanged"] == 0

    # An update that cannot validate fails with the reason, never with a secret.
    inv = json.loads(props["inventory"])
    inv["all"]["children"]["gpu_servers"]["hosts"][host.name]["gpu_validate_expected_count"] = 7
    bad = {**props, "inventory": json.dumps(inv)}
    with pytest.raises(PlaybookFailed) as err:
        provider.update(host.name, created.outs, bad)
    message = str(err.value)
    assert host.name in message and "7" in message
    for value in secret_vars.values():
        assert str(value) not in message
    assert "PRIVATE KEY" not in message

    # Delete decommissions: node services stopped and disabled.
    provider.delete(host.name, created.outs)
    state = harness.ssh(host, "systemctl is-active nvidia-dcgm-exporter prometheus-node-exporter node_exporter kubelet", check=False)
    assert "active" not in state.stdout.replace("inactive", "")

    # Secrets lived only in private temp dirs that are gone again.
    assert _private_dirs() == before
