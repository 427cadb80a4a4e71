"""Builds the whole factory of one environment from its typed config."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.aws.provider import AwsContext, aws_context
from components.aws.storage import Storage, StorageArgs, key_data_class
from components.config.models import FactoryConfig
from components.config.secrets import read_secrets
from components.onprem.baseline import OnPremGpuBaseline, OnPremGpuBaselineArgs
from components.onprem.credentials import join_secret_vars
from components.tagging import Naming


@dataclass
class Factory:
    """What `build` created; `stacks/__main__.py` exports from it."""

    config: FactoryConfig
    naming: Naming
    aws: AwsContext | None = None
    storage: Storage | None = None
    on_prem: OnPremGpuBaseline | None = None
    secrets: dict[str, pulumi.Output[str]] = field(default_factory=dict)

    def outputs(self) -> dict[str, object]:
        out: dict[str, object] = {
            "environment": self.config.environment.name,
            "tier": self.config.environment.tier.value,
        }
        if self.aws is not None:
            out["region"] = self.aws.region
        if self.storage is not None:
            out["dataKeyArn"] = self.storage.key.arn
            out["buckets"] = {p.value: b.bucket for p, b in self.storage.buckets.items()}
        return out


def build(cfg: FactoryConfig) -> Factory:
    """Register every resource of the environment.

    Secrets are read first so a missing one stops the run before anything is registered.
    """
    naming = Naming.from_config(cfg)
    factory = Factory(config=cfg, naming=naming, secrets=read_secrets(cfg))
    if cfg.cloud is not None:
        factory.aws = aws_context(cfg.cloud, naming)
        if cfg.storage is not None:
            factory.storage = Storage(
                naming.name("storage"),
                StorageArgs(
                    config=cfg.storage,
                    naming=naming,
                    aws=factory.aws,
                    stateful_protection=cfg.is_prod,
                    key_data_class=key_data_class(cfg),
                ),
            )
    if cfg.on_prem is not None:
        factory.on_prem = OnPremGpuBaseline(
            naming.name("onprem"),
            OnPremGpuBaselineArgs(
                config=cfg,
                ssh_private_key=factory.secrets["onPremSshPrivateKey"],
                secret_vars=join_secret_vars(cfg, factory.secrets),
            ),
        )
    return factory
