"""What every platform component needs: provider, config, names, labels and image references."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import conventions as c
from components.config.models import FactoryConfig
from components.k8s.images import Image
from components.tagging import Naming


@dataclass(frozen=True)
class PlatformContext:
    """Shared, read-only inputs of the platform components."""

    config: FactoryConfig
    """The stack's typed config."""
    naming: Naming
    """Names and standard labels of the environment."""
    provider: k8s.Provider
    """Kubernetes provider of the cluster every object is created in."""
    registry: pulumi.Input[str]
    """Registry prefix images are pulled from (the ECR pull-through cache or kubernetes.registry)."""
    storage_key_arn: pulumi.Input[str] | None = None
    """Stack KMS key: encrypts EBS volumes of the cloud StorageClass (EKS stacks)."""
    s3_cidrs: pulumi.Input[list[str]] | None = None
    """The region's S3 ranges (EKS stacks; components/aws/s3_ranges.py)."""

    def opts(self, parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, provider=self.provider, **kwargs)

    def labels(self, app: str, component: str, data_class: str = "none", **extra: str) -> dict[str, str]:
        """Standard labels (the tag keys, DESIGN §5) plus the app.kubernetes.io ones."""
        return self.naming.tags(
            data_class=data_class,
            component=component,
            **{c.LABEL_APP: app, c.LABEL_PART_OF: c.PROJECT, **extra},
        )

    def meta(self, name: str, namespace: str | None, labels: dict[str, str], **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "labels": labels, **extra}
        if namespace is not None:
            out["namespace"] = namespace
        return out

    def image(self, image: Image) -> pulumi.Output[str]:
        """`<registry>/<upstream>/<repository>@sha256:…`: pulled through the cache, pinned by digest."""
        return pulumi.Output.concat(self.registry, "/", image.path)

    @property
    def kubernetes_version(self) -> str:
        """The cluster's pinned minor version (EKS, else the on-prem kubeadm cluster)."""
        cfg = self.config
        if cfg.cloud is not None and cfg.cloud.eks is not None:
            return cfg.cloud.eks.kubernetes_version
        if cfg.on_prem is not None:
            return cfg.on_prem.cluster.kubernetes_version
        return "1.33"


def restricted_container_security() -> dict[str, Any]:
    """Container security context that passes Pod Security `restricted`."""
    return {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_pod_security(uid: int = 1000) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
