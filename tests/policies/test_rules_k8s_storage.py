"""AIF-ENC-009: Kubernetes volumes only on the stack's encrypted StorageClasses (exact findings)."""

from __future__ import annotations

import pytest
from policy_support import facts, run, view
from support import stack_doc

from components.tooling.plan import make_plan

PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STS = "kubernetes:apps/v1:StatefulSet"
SC = "kubernetes:storage.k8s.io/v1:StorageClass"
RULE = "AIF-ENC-009"


def sts(name: str, *classes: str | None) -> object:
    templates = [
        {"metadata": {"name": f"v{i}"}, "spec": {} if cls is None else {"storageClassName": cls}}
        for i, cls in enumerate(classes)
    ]
    return view(STS, name, {"metadata": {"name": name}, "spec": {"volumeClaimTemplates": templates}})


def sc(name: str, **parameters: str) -> object:
    return view(SC, name, {"metadata": {"name": name}, "provisioner": "ebs.csi.aws.com", "parameters": parameters})


CASES = [
    ("encrypted-classes", [sts("db", "aif-encrypted-gp3"), sts("q", "aif-encrypted-local")], set()),
    (
        "default-class",
        [sts("db", None)],
        {
            (
                "db",
                "volumeClaimTemplates[v0] names no storageClassName: it would get the cluster's default class, not an encrypted one",
            )
        },
    ),
    (
        "other-class",
        [sts("db", "aif-encrypted-gp3", "gp2")],
        {
            (
                "db",
                "volumeClaimTemplates[v1] uses StorageClass gp2, not one of the encrypted classes (aif-encrypted-gp3, aif-encrypted-local)",
            )
        },
    ),
    (
        "pvc",
        [view(PVC, "c", {"spec": {"storageClassName": "standard"}})],
        {
            (
                "c",
                "claim uses StorageClass standard, not one of the encrypted classes (aif-encrypted-gp3, aif-encrypted-local)",
            )
        },
    ),
    ("class-encrypts", [sc("aif-encrypted-gp3", type="gp3", encrypted="true", kmsKeyId="arn:aws:kms:x")], set()),
    (
        "class-does-not-encrypt",
        [sc("aif-encrypted-gp3", type="gp3", encrypted="false", kmsKeyId="")],
        {
            ("aif-encrypted-gp3", 'StorageClass aif-encrypted-gp3 does not set parameters.encrypted: "true"'),
            (
                "aif-encrypted-gp3",
                "StorageClass aif-encrypted-gp3 sets no kmsKeyId: volumes would use the account's default EBS key",
            ),
        },
    ),
    ("someone-elses-class", [sc("gp2", type="gp2")], set()),
]


@pytest.mark.parametrize(("case", "resources", "expected"), CASES, ids=[c[0] for c in CASES])
def test_exact_findings(case: str, resources: list, expected: set) -> None:
    assert facts(RULE)["encryptedStorageClasses"] == ["aif-encrypted-gp3", "aif-encrypted-local"]
    assert run(RULE, resources) == expected


def test_facts_follow_the_stacks_clusters() -> None:
    assert facts(RULE, "dev")["encryptedStorageClasses"] == ["aif-encrypted-gp3"]
    assert facts(RULE, "lab")["encryptedStorageClasses"] == ["aif-encrypted-local"]


def test_a_vector_store_on_an_unencrypted_class_blocks_prod(write_stack) -> None:
    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:vectorStore"]["storageClass"] = "local-path"
    plan = make_plan("prod-eu-lp", write_stack("prod-eu-lp", doc))
    found = [(v.enforcement, v.message) for v in plan.violations if v.policy == RULE]
    assert found == [
        (
            "mandatory",
            "volumeClaimTemplates[storage] uses StorageClass local-path, not one of the encrypted classes "
            "(aif-encrypted-gp3, aif-encrypted-local)",
        )
    ]
