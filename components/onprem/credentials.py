"""Join credentials for Ansible, as one secret JSON of role variables (never in the inventory)."""

from __future__ import annotations

import json

import pulumi

from components.config.models import ClusterJoin, FactoryConfig
from components.config.secrets import SECRETS_BY_KEY, parse_json_secret

# Secret JSON field → k8s_node role variable.
_SSM = {"activationId": "k8s_node_ssm_activation_id", "activationCode": "k8s_node_ssm_activation_code"}
_KUBEADM = {"token": "k8s_node_kubeadm_token", "caCertHash": "k8s_node_kubeadm_ca_cert_hash"}


_ROLE_VARS = {"kubeadmJoin": _KUBEADM, "hybridSsmActivation": _SSM}


def role_vars(key: str, raw: str) -> str:
    """The k8s_node extra-vars JSON for the raw value of secret `key` (a ConfigError naming the key
    when malformed). Internal. Exported for testing."""
    fields = parse_json_secret(SECRETS_BY_KEY[key], raw)
    return json.dumps({var: fields[field] for field, var in _ROLE_VARS[key].items()})


def join_secret_vars(cfg: FactoryConfig, secrets: dict[str, pulumi.Output[str]]) -> pulumi.Output[str] | None:
    """Secret extra-vars JSON for k8s_node, or None when the join needs no secret (IAM Roles Anywhere)."""
    if cfg.join_method is ClusterJoin.KUBEADM:
        key = "kubeadmJoin"
    elif "hybridSsmActivation" in secrets:
        key = "hybridSsmActivation"
    else:
        return None
    return pulumi.Output.secret(secrets[key].apply(lambda raw: role_vars(key, raw)))
