"""Serving: per catalog model one vLLM Deployment, Service, PodDisruptionBudget and KEDA ScaledObject.

Exactly four resources per model (plus a constant set per namespace), so plan time grows
linearly and slowly with the catalog. Specs are pure functions of config (`deployment_spec`,
`scaled_object_spec`) so tests and policies read the same objects the component registers.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import conventions as c
from components.config.models import FactoryConfig, ServedModel, ServingTier
from components.k8s import images
from components.k8s.context import PlatformContext, restricted_container_security, restricted_pod_security
from components.k8s.placement import model_placement
from components.k8s.tenancy import model_namespace, priority_class
from components.releases import ServedRelease, record_annotation, releases
from components.routing import class_aliases

SERVICE_ACCOUNT = c.MODEL_LOADER_SERVICE_ACCOUNT
"""Identity of the weight-fetch init container: on cloud nodes, read access to the models bucket only,
through the EKS Pod Identity association of a cloud.eks.workloads entry (required by the config check)."""
FETCH_CONFIGMAP = "aif-fetch-weights"
MODELS_DIR = "/models"
PROMETHEUS_URL = f"http://aif-prom-prometheus.{c.NAMESPACE_OBSERVABILITY}.svc:9090"
"""kube-prometheus-stack's Prometheus (fullnameOverride aif-prom, see observability.py)."""
CPU_PER_GPU = 4
MEMORY_GIB_PER_GPU = 32
CACHE_GIB = 20
"""Local disk for torch inductor, Triton and vLLM compile caches."""
STARTUP_MINUTES = 40
"""Weights of a 70B model take tens of minutes to copy and load: the startup probe waits this long."""

FETCH_SCRIPT_KEY = "fetch_weights.py"
SITE_CA_DIR = "/etc/model-store-ca"


def fetch_script() -> str:
    """components/k8s/scripts/fetch_weights.py, shipped in each model namespace's ConfigMap."""
    return resources.files("components.k8s.scripts").joinpath(FETCH_SCRIPT_KEY).read_text(encoding="utf-8")


def fetch_env(cfg: FactoryConfig, model: ServedModel, bucket: pulumi.Input[str]) -> list[dict[str, Any]]:
    """The weight fetcher's environment: the artifact, and both stores it may read depending on the node
    it lands on (scripts/fetch_weights.py). The site store's key comes from the site's Secret by reference."""
    assert cfg.serving is not None
    env: list[dict[str, Any]] = [
        {"name": "PREFIX", "value": model.artifact.path},
        {"name": "DEST", "value": f"{MODELS_DIR}/{model.artifact.path}"},
        {"name": "DIGEST", "value": model.artifact.digest},
        {"name": "MAX_BYTES", "value": str(model.artifact.size_gib << 30)},
        {"name": "HOME", "value": "/cache"},
        {"name": "HOST_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
    ]
    if cfg.has_eks:
        assert cfg.cloud is not None
        # The regional endpoint: its addresses are the ones the NetworkPolicy admits (s3_ranges.py).
        env += [{"name": "CLOUD_BUCKET", "value": bucket}, {"name": "CLOUD_REGION", "value": cfg.cloud.region}]
    store = cfg.serving.site_model_store
    if cfg.on_prem is not None and store is not None:
        secret = store.credentials_secret
        env += [
            {"name": "SITE_NODE_CIDRS", "value": ",".join(cfg.on_prem.network.node_cidrs)},
            {"name": "SITE_ENDPOINT", "value": store.endpoint},
            {"name": "SITE_BUCKET", "value": store.bucket},
            {"name": "SITE_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": secret, "key": "AWS_ACCESS_KEY_ID"}}},
            {
                "name": "SITE_SECRET_ACCESS_KEY",
                "valueFrom": {"secretKeyRef": {"name": secret, "key": "AWS_SECRET_ACCESS_KEY"}},
            },
        ]
        if store.region is not None:
            env.append({"name": "SITE_REGION", "value": store.region})
        if store.ca_config_map is not None:
            env.append({"name": "SITE_CA_FILE", "value": f"{SITE_CA_DIR}/ca.crt"})
    return env


def deployment_name(model: ServedModel) -> str:
    return f"vllm-{model.name}"


def service_url(model: ServedModel) -> str:
    """OpenAI-compatible base URL of a model inside the cluster (what the router calls)."""
    return f"http://{deployment_name(model)}.{model_namespace(model)}.svc.cluster.local:{c.PORT_VLLM}/v1"


def data_class_label(model: ServedModel) -> str:
    return ".".join(sorted(model.data_classes))


def pod_labels(model: ServedModel) -> dict[str, str]:
    """Selector labels of a model's pods (what Services, PDBs and NetworkPolicies match)."""
    return {c.LABEL_APP: "vllm", c.LABEL_MODEL: model.name}


def _readiness_command(model: ServedModel) -> list[str]:
    # Ready only when the server lists *this* model: /health is up before a model is served.
    check = (
        "import json,sys,urllib.request;"
        f"d=json.load(urllib.request.urlopen('http://127.0.0.1:{c.PORT_VLLM}/v1/models',timeout=3));"
        f"sys.exit(0 if any(m.get('id')=={json.dumps(model.name)} for m in d.get('data',[])) else 1)"
    )
    return ["python3", "-c", check]


def vllm_args(model: ServedModel) -> list[str]:
    args = [
        f"{MODELS_DIR}/{model.artifact.path}",
        "--served-model-name",
        model.name,
        "--port",
        str(c.PORT_VLLM),
        "--tensor-parallel-size",
        str(model.gpus_per_replica),
    ]
    if model.max_model_len is not None:
        args += ["--max-model-len", str(model.max_model_len)]
    if model.task == "embedding":
        args += ["--runner", "pooling"]
    return args


def pod_spec(
    cfg: FactoryConfig, model: ServedModel, image: pulumi.Input[str], bucket: pulumi.Input[str]
) -> dict[str, Any]:
    gpus = model.gpus_per_replica
    resources = {
        "requests": {
            "cpu": str(CPU_PER_GPU * gpus),
            "memory": f"{MEMORY_GIB_PER_GPU * gpus}Gi",
            # The weights and the compile caches live in emptyDirs on the node's disk: asking for that
            # space keeps the pod off nodes where the copy would not fit (and from being evicted there).
            "ephemeral-storage": f"{model.artifact.size_gib + CACHE_GIB}Gi",
            c.GPU_RESOURCE: str(gpus),
        },
        "limits": {"memory": f"{MEMORY_GIB_PER_GPU * gpus}Gi", c.GPU_RESOURCE: str(gpus)},
    }
    cache_env = [
        {"name": "HOME", "value": "/cache"},
        # The pod's uid has no passwd entry: getpass.getuser() (torch inductor) falls back to these.
        {"name": "USER", "value": "vllm"},
        {"name": "LOGNAME", "value": "vllm"},
        {"name": "TORCHINDUCTOR_CACHE_DIR", "value": "/cache/inductor"},
        {"name": "TRITON_CACHE_DIR", "value": "/cache/triton"},
        {"name": "HF_HOME", "value": "/cache/hf"},
        {"name": "VLLM_CACHE_ROOT", "value": "/cache/vllm"},
        # Weights come only from the pinned artifact; the hub is never contacted.
        {"name": "HF_HUB_OFFLINE", "value": "1"},
        # vLLM reports usage to its stats server unless told not to (docs "Usage Stats Collection").
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        {"name": "DO_NOT_TRACK", "value": "1"},
    ]
    return {
        "serviceAccountName": SERVICE_ACCOUNT,
        "priorityClassName": priority_class(model),
        "securityContext": restricted_pod_security(),
        "terminationGracePeriodSeconds": 60,
        **model_placement(cfg, model).pod_fields(),
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": pod_labels(model)},
            }
        ],
        "initContainers": [
            {
                "name": "fetch-weights",
                "image": image,
                "command": ["python3", f"/scripts/{FETCH_SCRIPT_KEY}"],
                "env": fetch_env(cfg, model, bucket),
                "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi"}},
                "securityContext": restricted_container_security(),
                "volumeMounts": fetch_mounts(cfg),
            }
        ],
        "containers": [
            {
                "name": "vllm",
                "image": image,
                "args": vllm_args(model),
                "env": cache_env,
                "ports": [{"name": "http", "containerPort": c.PORT_VLLM}],
                "resources": resources,
                "securityContext": restricted_container_security(),
                "startupProbe": {
                    "httpGet": {"path": "/health", "port": c.PORT_VLLM},
                    "periodSeconds": 10,
                    "failureThreshold": STARTUP_MINUTES * 6,
                },
                "readinessProbe": {
                    "exec": {"command": _readiness_command(model)},
                    "periodSeconds": 10,
                    "timeoutSeconds": 5,
                },
                "livenessProbe": {
                    "httpGet": {"path": "/health", "port": c.PORT_VLLM},
                    "periodSeconds": 20,
                    "failureThreshold": 3,
                },
                "volumeMounts": [
                    {"name": "models", "mountPath": MODELS_DIR, "readOnly": True},
                    {"name": "cache", "mountPath": "/cache"},
                    {"name": "dshm", "mountPath": "/dev/shm"},
                ],
            }
        ],
        "volumes": [
            # The node's local NVMe backs emptyDir, so weights land on fast disk once per pod: on EKS the
            # RAID0 instance store (NodeConfig localStorage), on the site the NVMe model cache, which the
            # local_storage role bind-mounts at /var/lib/kubelet/pods before the server joins.
            {"name": "models", "emptyDir": {"sizeLimit": f"{model.artifact.size_gib}Gi"}},
            {"name": "cache", "emptyDir": {"sizeLimit": f"{CACHE_GIB}Gi"}},
            # Tensor parallelism exchanges tensors through shared memory (vLLM's docker docs).
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{8 * gpus}Gi"}},
            {"name": "scripts", "configMap": {"name": FETCH_CONFIGMAP}},
            *site_ca_volumes(cfg),
        ],
    }


def _site_ca(cfg: FactoryConfig) -> str | None:
    store = cfg.serving.site_model_store if cfg.serving is not None else None
    return store.ca_config_map if cfg.on_prem is not None and store is not None else None


def fetch_mounts(cfg: FactoryConfig) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {"name": "models", "mountPath": MODELS_DIR},
        {"name": "scripts", "mountPath": "/scripts", "readOnly": True},
        {"name": "cache", "mountPath": "/cache"},
    ]
    if _site_ca(cfg) is not None:
        mounts.append({"name": "model-store-ca", "mountPath": SITE_CA_DIR, "readOnly": True})
    return mounts


def site_ca_volumes(cfg: FactoryConfig) -> list[dict[str, Any]]:
    ca = _site_ca(cfg)
    if ca is None:
        return []
    return [{"name": "model-store-ca", "configMap": {"name": ca, "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]


def scale_to_zero(model: ServedModel) -> bool:
    """Only non-critical tiers may reach zero replicas (config also enforces minReplicas ≥ 1 for critical)."""
    return model.tier is not ServingTier.CRITICAL and model.min_replicas == 0


def _selector(model: ServedModel) -> str:
    return f'namespace="{model_namespace(model)}",model_name="{model.name}"'


def requested_names(cfg: FactoryConfig, model: ServedModel) -> list[str]:
    """Names a client may send that the router resolves to `model`: its own and its class aliases
    (LiteLLM's metrics carry the name the client sent, not the model group it resolved to)."""
    return [model.name, *sorted(alias for alias, target in class_aliases(cfg).items() if target == model.name)]


def traffic_query(cfg: FactoryConfig, model: ServedModel) -> str:
    names = "|".join(requested_names(cfg, model))
    # 1 while any of those names saw a request in the last 2 minutes, else 0 (production-stack's
    # `> bool 0` keepalive): the trigger asks for one replica, never more.
    return (
        "(sum(rate(litellm_proxy_total_requests_metric_total"
        f'{{requested_model=~"{names}"}}[2m])) > bool 0) or vector(0)'
    )


def starting_query(model: ServedModel) -> str:
    """1 while a pod of the model created less than STARTUP_MINUTES ago is not ready (Pending pods have no
    Ready condition yet, hence the phase). The pod regex is the Deployment's `<name>-<hash>-<suffix>`, so a
    `<model>-candidate` Deployment's pods do not match."""
    sel = f'namespace="{model_namespace(model)}",pod=~"{deployment_name(model)}-[a-z0-9]+-[a-z0-9]+"'
    pending = f'(kube_pod_status_phase{{{sel},phase="Pending"}} == 1)'
    not_ready = f'{pending} or (kube_pod_status_ready{{{sel},condition="false"}} == 1)'
    young = f"(time() - kube_pod_created{{{sel}}}) < {STARTUP_MINUTES * 60}"
    return f"clamp_max(count(({not_ready}) and on(namespace, pod) {young}) or vector(0), 1)"


def scaled_object_spec(cfg: FactoryConfig, model: ServedModel) -> dict[str, Any]:
    """KEDA ScaledObject: queue depth drives replicas; keepalive triggers guard scale-to-zero."""
    assert cfg.serving is not None
    auto = cfg.serving.autoscaling
    threshold = model.queue_depth_threshold or auto.queue_depth_threshold
    triggers: list[dict[str, Any]] = [
        {
            "type": "prometheus",
            "name": "queue-depth",
            "metadata": {
                "serverAddress": PROMETHEUS_URL,
                "query": f"sum({c.VLLM_QUEUE_METRIC}{{{_selector(model)}}}) or vector(0)",
                "threshold": str(threshold),
                "activationThreshold": "0",
            },
        }
    ]
    minimum = 0 if scale_to_zero(model) else max(1, model.min_replicas)
    if minimum == 0:
        # Keepalive (kserve #1247, #1641): a replica that is waiting for a GPU node, fetching weights or
        # loading them is not ready yet, and this trigger holds the target at >= 1 while it is, so KEDA
        # never scales a model to zero under a pod that is about to serve. Only for STARTUP_MINUTES
        # after the pod was created: a pod that never gets ready (crash loop, no capacity) must not
        # hold a GPU node forever. clamp_max keeps both keepalive triggers at one replica at most.
        triggers.append(
            {
                "type": "prometheus",
                "name": "keepalive-starting",
                "metadata": {
                    "serverAddress": PROMETHEUS_URL,
                    "query": starting_query(model),
                    "threshold": "1",
                    "activationThreshold": "0",
                },
            }
        )
        # Requests arriving at the router for this model, by its name or by a class alias that
        # resolves to it, wake it from zero (production-stack's router-side keepalive); the first
        # ones fall back while it starts.
        triggers.append(
            {
                "type": "prometheus",
                "name": "keepalive-traffic",
                "metadata": {
                    "serverAddress": PROMETHEUS_URL,
                    "query": traffic_query(cfg, model),
                    "threshold": "1",
                    "activationThreshold": "0",
                },
            }
        )
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment_name(model)},
        "pollingInterval": auto.polling_interval_seconds,
        "cooldownPeriod": auto.cooldown_period_seconds,
        "initialCooldownPeriod": auto.initial_cooldown_seconds if minimum == 0 else 0,
        "minReplicaCount": minimum,
        "maxReplicaCount": model.max_replicas,
        "fallback": {"failureThreshold": 3, "replicas": min(auto.fallback_replicas, model.max_replicas)},
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    # GPUs are slow to get and slow to fill: scale up at once, down slowly.
                    "scaleDown": {
                        "stabilizationWindowSeconds": 300,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
                    }
                }
            }
        },
        "triggers": triggers,
    }


class Serving(pulumi.ComponentResource):
    """The model catalog on vLLM with KEDA queue-depth autoscaling."""

    def __init__(
        self,
        name: str,
        ctx: PlatformContext,
        models_bucket: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(c.type_token("k8s", "Serving"), name, {}, opts)
        cfg = ctx.config
        assert cfg.serving is not None
        image = ctx.image(images.VLLM)
        namespaces = sorted({model_namespace(m) for m in cfg.serving.models})
        for ns in namespaces:
            k8s.core.v1.ServiceAccount(
                f"{name}-{ns}-sa",
                metadata=ctx.meta(SERVICE_ACCOUNT, ns, ctx.labels(SERVICE_ACCOUNT, "serving")),
                automount_service_account_token=False,
                opts=ctx.opts(self),
            )
            k8s.core.v1.ConfigMap(
                f"{name}-{ns}-fetch",
                metadata=ctx.meta(FETCH_CONFIGMAP, ns, ctx.labels(FETCH_CONFIGMAP, "serving")),
                data={FETCH_SCRIPT_KEY: fetch_script()},
                opts=ctx.opts(self),
            )
        for entry in cfg.serving.models:
            for served in releases(entry):
                self._model(name, ctx, served, image, models_bucket)
        self.register_outputs({})

    def _model(
        self,
        name: str,
        ctx: PlatformContext,
        served: ServedRelease,
        image: pulumi.Input[str],
        bucket: pulumi.Input[str],
    ) -> None:
        model = served.model
        ns = model_namespace(model)
        dc = data_class_label(model)
        labels = ctx.labels(
            "vllm",
            "serving",
            data_class=dc,
            **{
                c.LABEL_MODEL: model.name,
                c.LABEL_SERVING_TIER: model.tier.value,
                c.LABEL_DATA_CLASSES: dc,
                c.LABEL_RELEASE: served.release,
                # Where the pod may run; NetworkPolicies open the models bucket only to cloud-capable pods.
                c.LABEL_PLACES: model_placement(ctx.config, model).places_label,
            },
        )
        dep_name = deployment_name(model)
        selector = pod_labels(model)
        deployment = k8s.apps.v1.Deployment(
            f"{name}-{model.name}",
            # The release record sits on the Deployment, not the pod template: an approval or a
            # new evaluation of the same revision changes no pod.
            metadata=ctx.meta(dep_name, ns, labels, annotations={c.ANNOTATION_RELEASE: record_annotation(served)}),
            spec={
                # KEDA owns the replica count after creation; start at the floor (≥ 1 so a new
                # model is proven loadable before it may idle to zero).
                "replicas": max(1, model.min_replicas),
                "selector": {"matchLabels": selector},
                # No surge: a surge pod would need a free GPU that the quota and the pools may not have.
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": {**labels, **selector}},
                    "spec": pod_spec(ctx.config, model, image, bucket),
                },
            },
            opts=ctx.opts(self, ignore_changes=["spec.replicas"]),
        )
        k8s.core.v1.Service(
            f"{name}-{model.name}-svc",
            metadata=ctx.meta(dep_name, ns, labels),
            spec={
                "selector": selector,
                "ports": [{"name": "http", "port": c.PORT_VLLM, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=ctx.opts(self),
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-{model.name}-pdb",
            metadata=ctx.meta(dep_name, ns, labels),
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
            opts=ctx.opts(self),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-{model.name}-scaler",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=ctx.meta(dep_name, ns, labels),
            spec=scaled_object_spec(ctx.config, model),
            opts=ctx.opts(self, depends_on=[deployment]),
        )
