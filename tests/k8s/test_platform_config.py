"""The platform's config: defaults keep old stack files valid; its cross-field checks name exact paths."""

from __future__ import annotations

import pytest
from support import REFERENCE_STACKS, stack_doc

from components.config.errors import ConfigError
from components.config.loader import parse_sections
from components.config.secrets import needed_secrets


def _sections(stack: str, mutate=None) -> dict:
    doc = stack_doc(stack)["config"]
    if mutate:
        mutate(doc)
    return {k.split(":", 1)[1]: v for k, v in doc.items()}


def _paths(stack: str, mutate) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_sections(_sections(stack, mutate))
    return [p.path for p in err.value.problems]


@pytest.mark.parametrize("stack", REFERENCE_STACKS)
def test_reference_stacks_parse(stack: str) -> None:
    cfg = parse_sections(_sections(stack))
    assert cfg.serving is not None and cfg.serving.autoscaling.queue_depth_threshold == 5


def test_time_slicing_needs_replicas_and_an_existing_pool() -> None:
    def bad(doc):
        doc.setdefault("ai-factory:kubernetes", {})["gpuSharing"] = {"cloud": {"strategy": "time-slicing"}}

    assert _paths("lab", bad) == [
        "ai-factory:kubernetes.gpuSharing.cloud",
        "ai-factory:kubernetes.gpuSharing.cloud.replicas",
    ]


def test_mig_needs_a_profile() -> None:
    def bad(doc):
        doc.setdefault("ai-factory:kubernetes", {})["gpuSharing"] = {"on-prem": {"strategy": "mig"}}

    # Both problems at once: the missing profile, and the 4-GPU model that a MIG slice cannot hold.
    assert _paths("prod-eu", bad) == [
        "ai-factory:kubernetes.gpuSharing.on-prem.migProfile",
        "ai-factory:serving.models[1].gpusPerReplica",
    ]


def test_router_certificate_must_be_in_the_cluster_region() -> None:
    def bad(doc):
        router = doc["ai-factory:serving"].setdefault("router", {})
        router["tlsCertificateArn"] = "arn:aws:acm:us-west-2:111122223333:certificate/x"

    assert _paths("dev", bad) == ["ai-factory:serving.router.tlsCertificateArn"]


def test_router_master_key_and_site_kubeconfig_are_pulumi_secrets() -> None:
    lab = {s.key for s in needed_secrets(parse_sections(_sections("lab")))}
    prod = {s.key for s in needed_secrets(parse_sections(_sections("prod-eu")))}
    assert {"routerMasterKey", "onPremKubeconfig"} <= lab
    assert "routerMasterKey" in prod and "onPremKubeconfig" not in prod


def test_device_plugin_sharing_per_pool() -> None:
    from components.k8s.gpu_operator import default_config, device_plugin_configs, operator_values

    def lab_slicing(doc):
        doc.setdefault("ai-factory:kubernetes", {})["gpuSharing"] = {
            "on-prem": {"strategy": "time-slicing", "replicas": 4}
        }

    lab = parse_sections(_sections("lab", lab_slicing))
    configs = device_plugin_configs(lab)
    assert set(configs) == {"default", "on-prem"} and "replicas: 4" in configs["on-prem"]
    assert default_config(lab) == "on-prem"  # single pool: no node label needed
    values = operator_values(lab)
    assert values["driver"]["enabled"] is False and values["toolkit"]["enabled"] is False
    assert values["devicePlugin"]["config"] == {
        "create": False,
        "name": "aif-device-plugin-config",
        "default": "on-prem",
    }

    def prod_mig(doc):
        doc.setdefault("ai-factory:kubernetes", {})["gpuSharing"] = {
            "on-prem": {"strategy": "mig", "migProfile": "all-1g.10gb"}
        }
        doc["ai-factory:serving"]["models"][1]["gpusPerReplica"] = 1  # a MIG slice is one GPU

    prod = parse_sections(_sections("prod-eu", prod_mig))
    assert default_config(prod) == "default"  # hybrid: nodes pick their pool's config by label
    assert operator_values(prod)["mig"] == {"strategy": "single"} and operator_values(prod)["migManager"]["enabled"]
