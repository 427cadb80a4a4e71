"""`GpuServer`: one on-prem server as a Pulumi resource, configured by Ansible.

A Python dynamic provider (no plugin binary). Its diff is keyed on the content hash of the
playbooks/roles and on the host's variables, so `pulumi preview` names the servers that
will change and why; create/update run `site.yml` limited to the server and surface failed
tasks; delete runs `decommission.yml`. Outputs carry the validated GPU facts.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi import dynamic

from components.onprem.ansible_run import PlaybookResult, resolve_path, run_playbook

DIFF_KEYS = ("contentHash", "hostVarsHash", "address", "sshPrivateKey", "secretVars")
"""A change in any of these re-runs the playbook. `ansibleDir` is where the playbooks are on
the machine running Pulumi: moving the checkout is not a change of the server."""
REPLACE_KEYS = ("host",)


class PlaybookFailed(Exception):
    """Raised from create/update/delete so the engine marks the operation failed."""


def _facts(result: PlaybookResult) -> dict[str, Any]:
    report = result.report or {}
    return {
        "gpuModel": report.get("gpu_model"),
        "gpuCount": report.get("gpu_count"),
        "driverVersion": report.get("driver_version"),
        "validationPassed": report.get("passed"),
        "lastRunChanged": result.changed,
    }


class GpuServerProvider(dynamic.ResourceProvider):
    """CRUD of a GpuServer through ansible-playbook. Stateless: everything comes from props."""

    def _run(self, playbook: str, props: dict[str, Any], extra_vars: dict[str, Any] | None = None) -> PlaybookResult:
        secret_vars = json.loads(props["secretVars"]) if props.get("secretVars") else None
        return run_playbook(
            playbook,
            ansible_dir=resolve_path(props["ansibleDir"]),
            inventory=json.loads(props["inventory"]),
            host=props["host"],
            ssh_private_key=props.get("sshPrivateKey"),
            secret_vars=secret_vars,
            extra_vars=extra_vars,
        )

    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        result = self._run("site.yml", props)
        if not result.ok:
            raise PlaybookFailed(f"site.yml failed on {props['host']}: " + "; ".join(result.failures))
        return {**props, **_facts(result)}

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        changed = [k for k in DIFF_KEYS if olds.get(k) != news.get(k)]
        replaces = [k for k in REPLACE_KEYS if olds.get(k) != news.get(k)]
        return dynamic.DiffResult(
            changes=bool(changed or replaces),
            replaces=replaces,
            stables=[k for k in REPLACE_KEYS if k not in replaces],
            # A replaced server is a different machine: configure the new one first.
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(id_=props["host"], outs=self._apply(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(outs=self._apply(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        # Removing the resource from the stack is the operator's explicit decision: confirm it
        # to the playbook, which refuses to decommission a host without it.
        result = self._run("decommission.yml", props, {"aif_decommission_confirm": props["host"]})
        if not result.ok:
            # The engine keeps the resource in state: a server that did not leave the cluster
            # cleanly must not silently disappear from the stack.
            raise PlaybookFailed(f"decommission.yml failed on {props['host']}: " + "; ".join(result.failures))


class GpuServer(dynamic.Resource, module="onprem", name="GpuServer"):
    """Type `pulumi-python:dynamic/onprem:GpuServer`."""

    gpuModel: pulumi.Output[str]
    gpuCount: pulumi.Output[int]
    driverVersion: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        outputs = {
            "gpuModel": None,
            "gpuCount": None,
            "driverVersion": None,
            "validationPassed": None,
            "lastRunChanged": None,
        }
        super().__init__(GpuServerProvider(), name, {**outputs, **props}, opts)
