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
LABEL_RELEASE: Final = f"{LABEL_PREFIX}/release"
"""stable | candidate: which revision of a catalog model a server runs."""
ANNOTATION_RELEASE: Final = f"{LABEL_PREFIX}/release-record"
"""JSON release record on every model server (revision, digest, evaluation, approvals): policy AIF-REL-*
reads it, and `kubectl get deploy -o yaml` answers "what is live and who approved it"."""
VECTOR_SNAPSHOT_JOB: Final = "qdrant-snapshots"
ROUTER_TEAMS_JOB: Final = "router-teams"
"""The router-teams Job/CronJob (their runs are `router-teams-<suffix>`) and its alert."""
"""CronJob (and its ConfigMap, NetworkPolicy, app label) copying the vector store's snapshots; alerts watch it."""
CANDIDATE_SUFFIX: Final = "-candidate"
"""A candidate revision is served as `<model>-candidate` (its own Deployment, Service and autoscaler)."""

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

# --- Money -------------------------------------------------------------------------------------
BUDGET_NAME_PATTERN: Final = "{environment}-budget"
"""Physical name of the stack's AWS Budget: the Budgets component creates it, the budget guard
reads it, `factory audit` looks it up (unless `--budget-name` says otherwise)."""


def budget_name(environment: str) -> str:
    """The stack's AWS Budget name (BUDGET_NAME_PATTERN)."""
    return BUDGET_NAME_PATTERN.format(environment=environment)


# --- Cloud burst (EKS) ---------------------------------------------------------------------
POOL_SPOT: Final = "spot"
"""Burst GPU pools on spot capacity: tried first by the cluster-autoscaler's priority expander."""
POOL_ON_DEMAND: Final = "on-demand"
"""Burst GPU pools on on-demand capacity when the stack disables spot."""
POOL_FLOOR: Final = "floor"
"""The on-demand floor: used last, when spot capacity is short."""
POOL_SYSTEM: Final = "system"
"""The small CPU pool that runs cluster add-ons."""

CAPACITY_SPOT: Final = "SPOT"
CAPACITY_ON_DEMAND: Final = "ON_DEMAND"
"""EKS managed node group capacity types (the API's spelling)."""

LABEL_EKS_HYBRID_COMPUTE: Final = "eks.amazonaws.com/compute-type"
"""Set to `hybrid` by EKS on Hybrid Nodes; DaemonSets that must not run there select on it."""

CA_NODE_TEMPLATE_PREFIX: Final = "k8s.io/cluster-autoscaler/node-template"
"""ASG tag prefix the cluster-autoscaler reads to build a node template when a group is at zero."""
CA_NAMESPACE: Final = "kube-system"
CA_SERVICE_ACCOUNT: Final = "cluster-autoscaler"
CA_PRIORITY_CONFIGMAP: Final = "cluster-autoscaler-priority-expander"
"""Name the cluster-autoscaler's priority expander reads (fixed by the autoscaler)."""
NTH_NAMESPACE: Final = "kube-system"
NTH_SERVICE_ACCOUNT: Final = "aws-node-termination-handler"
"""The spot interruption handler (queue mode) reads the interruption queue with this identity."""

TAG_CLUSTER_OWNED_PREFIX: Final = "kubernetes.io/cluster"
"""`kubernetes.io/cluster/<name>=owned|shared` marks subnets/SGs a cluster uses."""
TAG_ELB_INTERNAL: Final = "kubernetes.io/role/internal-elb"
TAG_ELB_PUBLIC: Final = "kubernetes.io/role/elb"

# Ports the VPC admits from the site (EKS Hybrid Nodes; exporters scraped by the on-prem Prometheus).
PORT_KUBE_API: Final = 443
PORT_KUBELET: Final = 10250
PORT_NODE_EXPORTER: Final = 9100
PORT_DCGM_EXPORTER: Final = 9400

# --- Kubernetes platform (components/k8s) --------------------------------------------------
NAMESPACE_KEDA: Final = "keda"
NAMESPACE_OPENCOST: Final = "opencost"
NAMESPACE_TEAM_PREFIX: Final = "aif-team-"
"""Team namespaces are `aif-team-<team>`: each with its own GPU quota."""

LABEL_APP: Final = "app.kubernetes.io/name"
LABEL_COMPONENT_K8S: Final = "app.kubernetes.io/component"
LABEL_PART_OF: Final = "app.kubernetes.io/part-of"
LABEL_PLACES: Final = f"{LABEL_PREFIX}/places"
"""Pod label: where a model server may run (on-prem, cloud, or both joined with '.'); NetworkPolicies open
the way to the models bucket only for pods that may run on cloud nodes."""
LABEL_DATA_CLASSES: Final = f"{LABEL_PREFIX}/data-classes"
"""Pod label: the model's data classes joined with '.', for NetworkPolicies and audits."""
LABEL_DEVICE_PLUGIN_CONFIG: Final = "nvidia.com/device-plugin.config"
"""Node label the NVIDIA device plugin reads to pick its sharing config (time-slicing/MIG) by name."""
LABEL_MIG_CONFIG: Final = "nvidia.com/mig.config"
"""Node label the GPU operator's mig-manager reads to pick the MIG layout it applies to the node."""
LABEL_DASHBOARD: Final = "grafana_dashboard"
"""ConfigMaps with this label are loaded by Grafana's dashboard sidecar (kube-prometheus-stack)."""
LABEL_VECTOR_CLIENT: Final = f"{LABEL_PREFIX}/vector-client"
"""Pod label (value "true"): the pod may call the vector store (Qdrant 6333/6334). Admitted from
aif-serving, aif-batch and the team namespaces only; the API key in the namespace's `vector-store`
Secret is what authenticates it."""

PSA_ENFORCE: Final = "pod-security.kubernetes.io/enforce"
PSA_ENFORCE_VERSION: Final = "pod-security.kubernetes.io/enforce-version"
PSA_WARN: Final = "pod-security.kubernetes.io/warn"
PSA_AUDIT: Final = "pod-security.kubernetes.io/audit"

MODEL_LOADER_SERVICE_ACCOUNT: Final = "model-loader"
"""Service account of the model servers' weight fetcher (EKS Pod Identity reads the models bucket as it)."""

PORT_VLLM: Final = 8000
PORT_ROUTER: Final = 4000
PORT_REDIS: Final = 6379
PORT_POSTGRES: Final = 5432
PORT_QDRANT_HTTP: Final = 6333
PORT_QDRANT_GRPC: Final = 6334
PORT_QDRANT_P2P: Final = 6335
PORT_QDRANT_METRICS: Final = 6336
"""Qdrant's dedicated /metrics port (service.metrics_port): the main port's /metrics needs the API key."""
PORT_DNS: Final = 53

VLLM_QUEUE_METRIC: Final = "vllm:num_requests_waiting"
"""The metric KEDA scales vLLM on (vllm-project/production-stack)."""
RUNBOOK_BASE_URL: Final = "https://runbooks.ai-factory.example/alerts"
"""Prefix of every alert's runbook_url annotation (one page per alert name)."""
