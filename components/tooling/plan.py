"""`factory plan`: the Pulumi program under mocks → same rules in-process → cost → report data."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc

from components import program
from components.config.loader import StackFile, load_stack
from components.config.models import FactoryConfig
from components.config.secrets import SECRETS, placeholder
from components.conventions import PROJECT, SECRET_MASK
from components.guard import deploy_spec
from components.guard.pause_state import PauseState, dumps
from components.tooling.mock_runtime import PLACEHOLDER_ACCOUNT, Registration, config_map, run_under_mocks
from policies.cost.estimator import CostEstimate, estimate
from policies.engine import Violation, evaluate
from policies.rules.base import ResourceView
from policies.stack_config import pack_config


@dataclass
class Plan:
    stack: str
    config: FactoryConfig
    resources: list[dict[str, Any]]
    violations: list[Violation]
    cost: CostEstimate
    warnings: list[str] = field(default_factory=list)
    """What the program said with pulumi.log.warn (e.g. a node group the budget guard keeps paused)."""

    @property
    def has_mandatory(self) -> bool:
        return any(v.enforcement == "mandatory" for v in self.violations)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": self.resources,
            "violations": [v.to_json() for v in self.violations],
            "cost": self.cost.to_json(),
            "warnings": list(self.warnings),
        }


REPO_ROOT = Path(__file__).resolve().parents[2]


def _asset(value: pulumi.Asset | pulumi.Archive) -> dict[str, Any]:
    """An asset or archive as JSON: what it holds and the sha256 of each file (a code change shows)."""
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {k: _asset(v) for k, v in sorted(value.assets.items())}}
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        path = Path(value.path)
        try:
            shown = str(path.resolve().relative_to(REPO_ROOT))
        except ValueError:
            shown = str(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        return {"file": shown, "sha256": digest}
    if isinstance(value, pulumi.StringAsset):
        return {"string": {"sha256": hashlib.sha256(value.text.encode()).hexdigest()}}
    return {"asset": type(value).__name__}


def mask(value: Any) -> Any:
    """Inputs as a report may show them: secrets and dynamic-provider blobs become [secret],
    assets and archives (the budget guard's code) their files and content hashes."""
    if rpc.is_rpc_secret(value):
        return SECRET_MASK
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return _asset(value)
    if isinstance(value, dict):
        return {k: SECRET_MASK if k == "__provider" else mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def reveal(value: Any) -> Any:
    """Inputs as rules see them (CrossGuard also hands rules plain values)."""
    if rpc.is_rpc_secret(value):
        return reveal(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def _record(reg: Registration) -> dict[str, Any]:
    return {
        "urn": reg.urn,
        "type": reg.type,
        "name": reg.name,
        "parent": reg.parent,
        "inputs": mask(reg.inputs),
        "protect": reg.protect,
        "retainOnDelete": reg.retain_on_delete,
        "provider": reg.provider.rsplit("::", 1)[0] if reg.provider else None,
        "dependencies": sorted(set(reg.dependencies)),
    }


def views(registrations: list[Registration]) -> list[ResourceView]:
    """Registrations as the rules see them, each with its provider's inputs."""
    by_urn = {r.urn: r for r in registrations}

    def provider_props(ref: str | None) -> dict[str, Any] | None:
        if not ref:
            return None
        provider = by_urn.get(ref.rsplit("::", 1)[0])
        return reveal(provider.inputs) if provider else None

    return [
        ResourceView(
            type=r.type,
            urn=r.urn,
            name=r.name,
            props=reveal(r.inputs),
            provider_props=provider_props(r.provider),
            protect=r.protect,
            retain_on_delete=r.retain_on_delete,
            parent=r.parent,
            dependencies=r.property_dependencies,
        )
        for r in registrations
        if r.custom
    ]


def offline_config(sf: StackFile) -> tuple[dict[str, str], list[str]]:
    """The stack file's config plus marked placeholders for every secret it does not hold."""
    config = config_map(sf.sections, sf.other)
    secret_keys = []
    for spec in SECRETS:
        key = f"{PROJECT}:{spec.key}"
        config.setdefault(key, placeholder(spec))
        secret_keys.append(key)
    return config, secret_keys


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def make_plan(stack: str, directory: Path | None = None, *, pause_state: PauseState | None = None) -> Plan:
    """Plan `stack`. ConfigError (exit 2) before anything runs when the stack file is invalid.

    The offline account is empty: in particular it holds no budget guard pause record, so every
    burst pool plans at its configured size. `pause_state` plants one (`factory plan --pause-state
    FILE`): the program then reads it through the same invoke it uses against AWS and keeps the
    paused node groups at zero, and the plan's `warnings` say so.
    """
    sf, cfg = load_stack(stack, directory)
    config, secret_keys = offline_config(sf)
    parameters = {deploy_spec.parameter_name(cfg.environment.name): dumps(pause_state)} if pause_state else {}
    collect = _Collect()
    logger = logging.Logger(f"factory-plan-{stack}", logging.WARNING)
    logger.addHandler(collect)
    registrations = run_under_mocks(
        program.main,
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        account_id=(cfg.cloud.account_id if cfg.cloud and cfg.cloud.account_id else PLACEHOLDER_ACCOUNT),
        region=cfg.cloud.region if cfg.cloud else None,
        ssm_parameters=parameters,
        logger=logger,
    )
    resources = [_record(r) for r in registrations]
    violations = evaluate(views(registrations), pack_config(cfg))
    return Plan(
        stack=stack,
        config=cfg,
        resources=resources,
        violations=violations,
        cost=estimate(cfg, resources),
        warnings=collect.messages,
    )
