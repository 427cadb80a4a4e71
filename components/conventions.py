"""Names shared by the components, the Ansible inventory and the policy rules.

One module owns them so a label spelled in a Deployment, an Ansible variable and a rule
can never drift apart. Change a value here, never a copy of it elsewhere.
"""

from __future__ import annotations

from typing import Final

PROJECT: Final = "ai-factory"
"""Pulumi project name (Pulumi.yaml) and the first part of every type token."""

CONFIG_NAMESPACE: Final = PROJECT
"""Stack config keys live under `ai-factory:<section>`."""


def type_token(module: str, cls: str) -> str:
    """Type token of a component: `ai-factory:<module>:<Class>` (DESIGN §5)."""
    return f"{PROJECT}:{module}:{cls}"


# --- Tag keys (AWS tags and Kubernetes labels carry the same keys) -----------------------
TAG_ENVIRONMENT: Final = "environment"
TAG_OWNER: Final = "owner"
TAG_COST_CENTER: Final = "cost-center"
TAG_DATA_CLASSIFICATION: Final = "data-classification"
TAG_MANAGED_BY: Final = "managed-by"
TAG_COMPONENT: Final = "component"
MANAGED_BY_VALUE: Final = "pulumi"

REQUIRED_TAG_KEYS: Final = (
    TAG_ENVIRONMENT,
    TAG_OWNER,
    TAG_COST_CENTER,
    TAG_DATA_CLASSIFICATION,
    TAG_MANAGED_BY,
)
"""Every taggable resource carries these (policy AIF-TAG-001)."""

# --- Kubernetes node labels and taints ----------------------------------------------------
LABEL_PREFIX: Final = "ai-factory.io"
LABEL_LOCATION: Final = f"{LABEL_PREFIX}/location"
"""`on-prem` or `cloud`: where a node runs. Residency placement keys on this label."""
LABEL_SITE: Final = f"{LABEL_PREFIX}/site"
LABEL_GPU_MODEL: Final = f"{LABEL_PREFIX}/gpu-model"
LABEL_CAPACITY_TYPE: Final = f"{LABEL_PREFIX}/capacity-type"
LABEL_POOL: Final = f"{LABEL_PREFIX}/pool"
LABEL_SERVING_TIER: Final = f"{LABEL_PREFIX}/serving-tier"
LABEL_MODEL: Final = f"{LABEL_PREFIX}/model"

LOCATION_ON_PREM: Final = "on-prem"
LOCATION_CLOUD: Final = "cloud"

GPU_RESOURCE: Final = "nvidia.com/gpu"
GPU_TAINT_KEY: Final = GPU_RESOURCE
GPU_TAINT_VALUE: Final = "true"
GPU_TAINT_EFFECT: Final = "NoSchedule"
BURST_TAINT_KEY: Final = f"{LABEL_PREFIX}/burst"
"""Cloud burst nodes carry this taint too, so only workloads allowed to burst tolerate them."""

# --- Namespaces and priority classes ------------------------------------------------------
NAMESPACE_SERVING: Final = "aif-serving"
NAMESPACE_VECTOR: Final = "aif-vector"
NAMESPACE_OBSERVABILITY: Final = "aif-observability"
NAMESPACE_GPU_OPERATOR: Final = "gpu-operator"
NAMESPACE_BATCH: Final = "aif-batch"

PRIORITY_CRITICAL: Final = "aif-critical-serving"
PRIORITY_STANDARD: Final = "aif-standard"
PRIORITY_BATCH: Final = "aif-batch"

# --- Places data may live or be processed (residency) ------------------------------------
PLACE_ON_PREM: Final = "on-prem"
PLACE_CLOUD: Final = "cloud"
PLACE_EXTERNAL_API: Final = "external-api"

SECRET_MASK: Final = "[secret]"
"""How reports show secret values and dynamic-provider blobs."""
