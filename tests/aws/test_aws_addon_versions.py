"""EKS add-ons: pinned from `cloud.eks.addonVersions` where set, EKS's default version otherwise."""

from __future__ import annotations

from aws_support import write_variant
from support import doc_sections, stack_doc

ADDON = "aws:eks/addon:Addon"


def test_configured_addon_versions_reach_the_provider_and_the_rest_stay_unpinned(tmp_path) -> None:
    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:cloud"]["eks"]["addonVersions"] = {
        "kube-proxy": "v1.33.3-eksbuild.6",
        "coredns": "v1.12.2-eksbuild.4",
    }
    plan = write_variant(tmp_path, "pinned", doc)
    versions = {r["inputs"]["addonName"]: r["inputs"].get("addonVersion") for r in plan.of_type(ADDON)}
    assert versions == {
        "vpc-cni": None,
        "kube-proxy": "v1.33.3-eksbuild.6",
        "coredns": "v1.12.2-eksbuild.4",
        "eks-pod-identity-agent": None,
    }


def test_addon_version_format_is_checked() -> None:
    import pytest

    from components.config import ConfigError, parse_sections

    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:cloud"]["eks"]["addonVersions"] = {"coredns": "latest"}
    with pytest.raises(ConfigError) as err:
        parse_sections(doc_sections(doc))
    assert [str(p) for p in err.value.problems] == [
        "ai-factory:cloud.eks.addonVersions.coredns: 'latest' has the wrong format "
        "(allowed: text matching ^v\\d+\\.\\d+\\.\\d+(-[a-z]+)?-eksbuild\\.\\d+$)"
    ]
