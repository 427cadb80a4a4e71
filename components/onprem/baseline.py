"""`OnPremGpuBaseline`: the site's servers, rolled out in batches that never take the fleet down."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.config.models import FactoryConfig
from components.conventions import type_token
from components.inventory import inventory, rollout_batches
from components.onprem.ansible_run import (
    content_hash,
    default_ansible_dir,
    host_inventory,
    host_vars,
    portable_path,
    vars_hash,
)
from components.onprem.gpu_server import GpuServer


@dataclass(frozen=True)
class OnPremGpuBaselineArgs:
    config: FactoryConfig
    """The stack's config; its `onPrem` section must be set."""
    ssh_private_key: pulumi.Output[str]
    """Secret SSH key Ansible connects with (`ai-factory:onPremSshPrivateKey`)."""
    secret_vars: pulumi.Output[str] | None = None
    """Secret JSON of join credentials passed to Ansible as extra vars (never in the inventory)."""
    ansible_dir: Path | None = None
    """Where the playbooks are; default: the repository's ansible/."""
    after: Sequence[pulumi.Resource] = ()
    """What the first batch waits for (the EKS cluster, its add-ons and the VPN for hybrid nodes)."""


class OnPremGpuBaseline(pulumi.ComponentResource):
    """One GpuServer per configured server; batch k depends on batch k-1."""

    servers: dict[str, GpuServer]

    def __init__(self, name: str, args: OnPremGpuBaselineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("onprem", "OnPremGpuBaseline"), name, {}, opts)
        cfg = args.config
        assert cfg.on_prem is not None, "OnPremGpuBaseline needs ai-factory:onPrem"
        ansible_dir = args.ansible_dir or default_ansible_dir()
        inv = inventory(cfg)
        roles_hash = content_hash(ansible_dir)  # once per run, shared by every server
        addresses = {s.name: s.address for s in cfg.on_prem.servers}

        self.servers = {}
        previous: list[pulumi.Resource] = list(args.after)
        for batch in rollout_batches(cfg.on_prem):
            current: list[pulumi.Resource] = []
            for host in batch:
                props: dict[str, object] = {
                    "host": host,
                    "address": addresses[host],
                    "inventory": json.dumps(host_inventory(inv, host), sort_keys=True),
                    "contentHash": roles_hash,
                    "hostVarsHash": vars_hash(host_vars(inv, host)),
                    "ansibleDir": portable_path(ansible_dir),
                    "sshPrivateKey": args.ssh_private_key,
                }
                if args.secret_vars is not None:
                    props["secretVars"] = args.secret_vars
                server = GpuServer(
                    f"{name}-{host}",
                    props,
                    pulumi.ResourceOptions(
                        parent=self,
                        # A failed batch stops the rollout: the next batch waits on this one.
                        depends_on=previous,
                        additional_secret_outputs=["sshPrivateKey", "secretVars"],
                    ),
                )
                self.servers[host] = server
                current.append(server)
            previous = current
        self.register_outputs({"servers": {h: s.gpuModel for h, s in self.servers.items()}})
