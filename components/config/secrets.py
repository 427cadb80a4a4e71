"""The secrets a stack needs, read only through `pulumi.Config.require_secret`.

The SSM hybrid activation of EKS Hybrid Nodes is no secret to set: the program creates it
(components/aws/identity.py) and hands its code to Ansible as a secret Output.

Reference stacks hold no secret values (a `secure:` value needs the Pulumi CLI to create);
users set them with `pulumi config set --secret ai-factory:<key>`, and `factory plan`
supplies clearly marked placeholders.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pulumi

from components.config.errors import ConfigError, Problem
from components.config.models import ClusterJoin, FactoryConfig
from components.conventions import CONFIG_NAMESPACE


@dataclass(frozen=True)
class SecretSpec:
    key: str
    """Key under `ai-factory:`."""
    description: str
    needed: Callable[[FactoryConfig], bool]
    json_fields: tuple[str, ...] = ()
    """For secrets holding a JSON object: its required fields."""


SECRETS: tuple[SecretSpec, ...] = (
    SecretSpec(
        "onPremSshPrivateKey",
        "SSH private key Ansible uses to reach the on-prem servers",
        lambda c: c.on_prem is not None,
    ),
    SecretSpec(
        "kubeadmJoin",
        "JSON {token, caCertHash} for joining the standalone on-prem cluster",
        lambda c: c.join_method is ClusterJoin.KUBEADM,
        json_fields=("token", "caCertHash"),
    ),
    SecretSpec(
        "externalApiKey",
        "API key of the external model the router falls back to",
        lambda c: c.serving is not None and c.serving.router.external_api_model is not None,
    ),
    SecretSpec(
        "onPremKubeconfig",
        "kubeconfig of the standalone on-prem cluster (kubeadm) the Kubernetes platform is deployed to",
        lambda c: c.join_method is ClusterJoin.KUBEADM and not c.has_eks,
    ),
    SecretSpec(
        "routerMasterKey",
        "LiteLLM master key of the model router (admin key; per-team keys are issued with it)",
        lambda c: c.serving is not None and (c.has_eks or c.join_method is ClusterJoin.KUBEADM),
    ),
    SecretSpec(
        "routerDatabasePassword",
        "password of the router's Postgres (teams, keys and spend; with serving.router.teams or maxBudgetUsd)",
        lambda c: c.serving is not None and c.serving.router.needs_database,
    ),
    SecretSpec(
        "vectorStoreApiKey",
        "Qdrant API key of the vector store (full access: the snapshot job and aif-batch ingestion clients)",
        lambda c: c.vector_store is not None and (c.has_eks or c.join_method is ClusterJoin.KUBEADM),
    ),
    SecretSpec(
        "vectorStoreReadOnlyApiKey",
        "Qdrant read-only API key of the vector store (search clients in aif-serving and the team namespaces)",
        lambda c: c.vector_store is not None and (c.has_eks or c.join_method is ClusterJoin.KUBEADM),
    ),
)


def needed_secrets(cfg: FactoryConfig) -> list[SecretSpec]:
    return [s for s in SECRETS if s.needed(cfg)]


def placeholder(spec: SecretSpec) -> str:
    """The value `factory plan` supplies for a secret; never a real credential (JSON-shaped when needed)."""
    marker = f"offline-placeholder-for-{CONFIG_NAMESPACE}:{spec.key}"
    if spec.json_fields:
        return json.dumps({f: f"{marker}.{f}" for f in spec.json_fields})
    return marker


def parse_json_secret(spec: SecretSpec, value: str) -> dict[str, str]:
    """The fields of a JSON secret; a ConfigError naming the key (never the value) when malformed."""
    try:
        doc = json.loads(value)
    except json.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict) or any(not isinstance(doc.get(f), str) or not doc[f] for f in spec.json_fields):
        raise ConfigError(
            [
                Problem(
                    f"{CONFIG_NAMESPACE}:{spec.key}",
                    "secret is not a JSON object with the required fields",
                    "{" + ", ".join(f'"{f}": "…"' for f in spec.json_fields) + "}",
                )
            ]
        )
    return {f: doc[f] for f in spec.json_fields}


SECRETS_BY_KEY: dict[str, SecretSpec] = {s.key: s for s in SECRETS}


def read_secrets(cfg: FactoryConfig) -> dict[str, pulumi.Output[str]]:
    """Every secret the config needs, as secret Outputs.

    All missing secrets are reported together, before any resource is registered.
    """
    conf = pulumi.Config(CONFIG_NAMESPACE)
    found: dict[str, pulumi.Output[str]] = {}
    problems: list[Problem] = []
    for spec in needed_secrets(cfg):
        value = conf.get_secret(spec.key)
        if value is None:
            problems.append(
                Problem(
                    f"{CONFIG_NAMESPACE}:{spec.key}",
                    f"secret is missing ({spec.description})",
                    f"set it with `pulumi config set --secret {CONFIG_NAMESPACE}:{spec.key} …`",
                )
            )
        else:
            found[spec.key] = value
    if problems:
        raise ConfigError(problems)
    return found
