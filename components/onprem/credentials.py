"""Join credentials for Ansible, as one secret JSON of role variables (never in the inventory)."""

from __future__ import annotations

import json

import pulumi

from components.config.models import ClusterJoin, FactoryConfig
from components.config.secrets import SECRETS_BY_KEY, parse_json_secret

# Secret JSON field → k8s_node role variable.
_SSM = {"activationId": "k8s_node_ssm_activation_id", "activationCode": "k8s_node_ssm_activation_code"}
_KUBEADM = {"token": "k8s_node_kubeadm_token", "caCertHash": "k8s_node_kubeadm_ca_cert_hash"}


def join_secret_vars(cfg: FactoryConfig, secrets: dict[str, pulumi.Output[str]]) -> pulumi.Output[str] | None:
    """Secret extra-vars JSON for k8s_node, or None when the join needs no secret (IAM Roles Anywhere)."""
    if cfg.join_method is ClusterJoin.KUBEADM:
        key, mapping = "kubeadmJoin", _KUBEADM
    elif "hybridSsmActivation" in secrets:
        key, mapping = "hybridSsmActivation", _SSM
    else:
        return None
    spec = SECRETS_BY_KEY[key]

    def to_vars(raw: str) -> str:
        fields = parse_json_secret(spec, raw)
        return json.dumps({var: fields[field] for field, var in mapping.items()})

    return pulumi.Output.secret(secrets[key].apply(to_vars))
