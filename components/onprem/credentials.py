"""Join credentials for Ansible, as one secret JSON of role variables (never in the inventory)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.config.models import ClusterJoin, FactoryConfig
from components.config.secrets import SECRETS_BY_KEY, parse_json_secret

# Secret JSON field → k8s_node role variable.
_SSM = {"activationId": "k8s_node_ssm_activation_id", "activationCode": "k8s_node_ssm_activation_code"}
_KUBEADM = {"token": "k8s_node_kubeadm_token", "caCertHash": "k8s_node_kubeadm_ca_cert_hash"}


_ROLE_VARS = {"kubeadmJoin": _KUBEADM}


def role_vars(key: str, raw: str) -> str:
    """The k8s_node extra-vars JSON for the raw value of secret `key` (a ConfigError naming the key
    when malformed). Internal. Exported for testing."""
    fields = parse_json_secret(SECRETS_BY_KEY[key], raw)
    return json.dumps({var: fields[field] for field, var in _ROLE_VARS[key].items()})


def ssm_role_vars(activation_id: str, activation_code: str) -> str:
    """The k8s_node extra-vars JSON of an SSM hybrid activation. Internal. Exported for testing."""
    return json.dumps({_SSM["activationId"]: activation_id, _SSM["activationCode"]: activation_code})


def join_secret_vars(
    cfg: FactoryConfig,
    secrets: dict[str, pulumi.Output[str]],
    activation: aws.ssm.Activation | None = None,
) -> pulumi.Output[str] | None:
    """Secret extra-vars JSON for k8s_node, or None when the join needs no secret (IAM Roles Anywhere).

    kubeadm: the `kubeadmJoin` secret. EKS Hybrid Nodes with SSM: the activation this stack created
    (its code exists only in the create response and the encrypted state, never in config).
    """
    if cfg.join_method is ClusterJoin.KUBEADM:
        return pulumi.Output.secret(secrets["kubeadmJoin"].apply(lambda raw: role_vars("kubeadmJoin", raw)))
    if activation is not None:
        return pulumi.Output.secret(
            pulumi.Output.all(activation.id, activation.activation_code).apply(lambda a: ssm_role_vars(a[0], a[1]))
        )
    return None
