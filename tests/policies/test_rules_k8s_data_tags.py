"""Fixture tables for K8S-001…005, DATA-001/002 and TAG-001: exact findings."""

from __future__ import annotations

import pytest
from policy_support import facts, run, view

from components import conventions as c
from policies.rules.base import UNKNOWN

DEPLOY = "kubernetes:apps/v1:Deployment"
DS = "kubernetes:apps/v1:DaemonSet"
QUOTA = "kubernetes:core/v1:ResourceQuota"
NS = "kubernetes:core/v1:Namespace"
IMAGE = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/vllm/vllm-openai@sha256:" + "a" * 64
GOOD_RES = {
    "requests": {"cpu": "4", "memory": "32Gi", c.GPU_RESOURCE: 1},
    "limits": {"memory": "32Gi", c.GPU_RESOURCE: 1},
}
SECURE = {"runAsNonRoot": True, "allowPrivilegeEscalation": False}


def workload(name: str, container: dict, type_: str = DEPLOY, ns: str = c.NAMESPACE_SERVING, **spec: object) -> object:
    ctr = {"name": "main", "image": IMAGE, "resources": GOOD_RES, "securityContext": SECURE, **container}
    return view(
        type_,
        name,
        {"metadata": {"name": name, "namespace": ns}, "spec": {"template": {"spec": {"containers": [ctr], **spec}}}},
    )


K8S_001 = [
    ("complete", [workload("w", {})], set()),
    (
        "no-resources",
        [workload("w", {"resources": {}})],
        {("w", "container main lacks requests.cpu, requests.memory, limits.memory")},
    ),
    (
        "gpu-without-limit",
        [
            workload(
                "w",
                {
                    "resources": {
                        "requests": {"cpu": "1", "memory": "1Gi", c.GPU_RESOURCE: 1},
                        "limits": {"memory": "1Gi"},
                    }
                },
            )
        ],
        {("w", f"container main requests {c.GPU_RESOURCE} without a limit")},
    ),
    (
        "gpu-above-ceiling",
        [
            workload(
                "w",
                {
                    "resources": {
                        "requests": {"cpu": "1", "memory": "1Gi"},
                        "limits": {"memory": "1Gi", c.GPU_RESOURCE: "8"},
                    }
                },
            )
        ],
        {("w", f"container main: {c.GPU_RESOURCE} limit 8 is above the ceiling 4")},
    ),
]

K8S_003 = [
    ("ecr-digest", [workload("w", {})], set()),
    ("unknown-skipped", [workload("w", {"image": UNKNOWN})], set()),
    (
        "docker-hub-tag",
        [workload("w", {"image": "vllm/vllm-openai:latest"})],
        {
            (
                "w",
                "container main: image vllm/vllm-openai:latest is not from an approved registry (*.dkr.ecr.eu-central-1.amazonaws.com, *.dkr.ecr.eu-west-1.amazonaws.com)",
            )
        },
    ),
    (
        "ecr-tag",
        [workload("w", {"image": "1.dkr.ecr.eu-west-1.amazonaws.com/x:1.0"})],
        {("w", "container main: image 1.dkr.ecr.eu-west-1.amazonaws.com/x:1.0 is not pinned by digest (@sha256:…)")},
    ),
]

K8S_004 = [
    ("plain", [workload("w", {})], set()),
    (
        "gpu-operator-daemonset-allowed",
        [
            workload(
                "nvidia-dcgm-exporter",
                {"securityContext": {"privileged": True}},
                DS,
                c.NAMESPACE_GPU_OPERATOR,
                hostPID=True,
            )
        ],
        set(),
    ),
    (
        "privileged-elsewhere",
        [workload("w", {"securityContext": {"privileged": True}}, DS, "default", hostNetwork=True)],
        {("w", "pod uses hostNetwork"), ("w", "container main is privileged or allows privilege escalation")},
    ),
    (
        "deployment-in-gpu-operator-not-allowed",
        [workload("w", {"securityContext": {"privileged": True}}, DEPLOY, c.NAMESPACE_GPU_OPERATOR)],
        {("w", "container main is privileged or allows privilege escalation")},
    ),
]

K8S_005 = [
    ("container-level", [workload("w", {})], set()),
    ("pod-level", [workload("w", {"securityContext": {}}, securityContext={"runAsNonRoot": True})], set()),
    (
        "missing",
        [workload("w", {"securityContext": {}})],
        {("w", "container main may run as root (runAsNonRoot not true)")},
    ),
    (
        "container-overrides-pod",
        [workload("w", {"securityContext": {"runAsNonRoot": False}}, securityContext={"runAsNonRoot": True})],
        {("w", "container main may run as root (runAsNonRoot not true)")},
    ),
]

B = "aws:s3/bucket:Bucket"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STS = "kubernetes:apps/v1:StatefulSet"
DATA_001 = [
    ("protected", [view(B, "b", protect=True)], set()),
    ("unprotected", [view(B, "b")], {("b", "stateful resource is not protected (protect=True) in a prod tier")}),
    (
        "vector-pvc",
        [view(PVC, "pvc", {"metadata": {"namespace": c.NAMESPACE_VECTOR}})],
        {("pvc", "stateful resource is not protected (protect=True) in a prod tier")},
    ),
    ("other-pvc", [view(PVC, "pvc", {"metadata": {"namespace": "aif-serving"}})], set()),
    (
        "vector-statefulset",
        [view(STS, "qdrant", {"metadata": {"namespace": c.NAMESPACE_VECTOR}})],
        {("qdrant", "stateful resource is not protected (protect=True) in a prod tier")},
    ),
]
DATA_002 = [
    ("retained", [view("aws:kms/key:Key", "k", protect=True, retain_on_delete=True)], set()),
    (
        "not-retained",
        [view("aws:kms/key:Key", "k", protect=True, retain_on_delete=False)],
        {("k", "stateful resource is not retained on delete (retain_on_delete=True) in a prod tier")},
    ),
    # CrossGuard cannot tell retainOnDelete (None): decided by protect.
    ("crossguard-protected", [view(B, "b", protect=True, retain_on_delete=None)], set()),
    (
        "crossguard-unprotected",
        [view(B, "b", retain_on_delete=None)],
        {("b", "retainOnDelete cannot be seen here and the resource is not protected either")},
    ),
    (
        "statefulset-deletes-claims",
        [
            view(
                STS,
                "qdrant",
                {
                    "metadata": {"namespace": c.NAMESPACE_VECTOR},
                    "spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete"}},
                },
                protect=True,
                retain_on_delete=True,
            )
        ],
        {
            (
                "qdrant",
                "persistentVolumeClaimRetentionPolicy.whenDeleted is Delete: deleting the StatefulSet deletes its data",
            )
        },
    ),
]

TAGS = {
    "environment": "prod-eu",
    "owner": "ml-platform",
    "cost-center": "cc-1000",
    "data-classification": "internal",
    "managed-by": "pulumi",
}
TAG_001 = [
    ("complete", [view(B, "b", {"tags": TAGS})], set()),
    (
        "missing-and-wrong",
        [view(B, "b", {"tags": {**TAGS, "owner": "someone", "cost-center": None}})],
        {
            ("b", "missing required tags: cost-center"),
            ("b", "tag owner='someone' does not match this stack ('ml-platform')"),
        },
    ),
    (
        "unknown",
        [view(B, "b", {"tags": UNKNOWN})],
        {("b", "tags are unknown at preview; required tags cannot be verified")},
    ),
]

CASES = [
    (rule, name, resources, expected)
    for rule, table in (
        ("AIF-K8S-001", K8S_001),
        ("AIF-K8S-003", K8S_003),
        ("AIF-K8S-004", K8S_004),
        ("AIF-K8S-005", K8S_005),
        ("AIF-DATA-001", DATA_001),
        ("AIF-DATA-002", DATA_002),
        ("AIF-TAG-001", TAG_001),
    )
    for name, resources, expected in table
]


@pytest.mark.parametrize(("rule", "case", "resources", "expected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_exact_findings(rule: str, case: str, resources: list, expected: set) -> None:
    assert run(rule, resources) == expected


def test_gpu_namespaces_need_a_quota() -> None:
    ns = view(NS, "serving-ns", {"metadata": {"name": c.NAMESPACE_SERVING}})
    quota = view(
        QUOTA,
        "q",
        {"metadata": {"namespace": c.NAMESPACE_SERVING}, "spec": {"hard": {f"requests.{c.GPU_RESOURCE}": "16"}}},
    )
    gpu_batch = workload("job", {}, ns=c.NAMESPACE_BATCH)
    assert run("AIF-K8S-002", [ns, quota]) == set()
    assert run("AIF-K8S-002", [ns]) == {
        ("serving-ns", f"GPU namespace {c.NAMESPACE_SERVING} has no ResourceQuota on requests.{c.GPU_RESOURCE}")
    }
    # A GPU workload in a namespace the stack does not declare still needs a quota there.
    assert run("AIF-K8S-002", [ns, quota, gpu_batch]) == {
        ("job", f"GPU namespace {c.NAMESPACE_BATCH} has no ResourceQuota on requests.{c.GPU_RESOURCE}")
    }


def test_protection_rules_are_prod_only() -> None:
    assert facts("AIF-DATA-001", "dev")["enforcementLevel"] == "disabled"
    assert run("AIF-DATA-001", [view(B, "b")], facts("AIF-DATA-001", "lab")) == set()
