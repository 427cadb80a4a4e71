"""Invalid vector store snapshot settings: every problem on its own line, naming the config path and what is allowed.

Residency decides the target: a data class stored on-prem only never goes to the AWS bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support import sections

from components.config import ConfigError, parse_sections

Mutation = Callable[[dict[str, Any]], object]

ON_SITE = {
    "kind": "on-site-s3",
    "endpoint": "https://s3.fra1.example.internal",
    "cidrs": ["10.20.8.0/28"],
    "bucket": "qdrant-snapshots",
    "credentialsSecret": "qdrant-snapshot-credentials",
}
BINDING = {
    "namespace": "aif-vector",
    "serviceAccount": "qdrant-snapshots",
    "buckets": {"vector-snapshots": "read-write"},
}


def _target(s: dict[str, Any]) -> dict[str, Any]:
    return s["vectorStore"]["snapshots"]["target"]


def _aws(s: dict[str, Any], data_class: str = "internal", bind: bool = False) -> None:
    """prod-eu's store with a cloud-storable class, snapshots to the AWS bucket."""
    s["vectorStore"]["dataClass"] = data_class
    s["vectorStore"]["snapshots"]["target"] = {"kind": "s3-bucket"}
    if bind:
        s["cloud"]["eks"]["workloads"]["qdrant-snapshots"] = dict(BINDING)


def _dev_store(s: dict[str, Any]) -> None:
    """dev (cloud only, no site) with a vector store whose snapshots name an on-site store."""
    s["vectorStore"] = {"dataClass": "internal", "snapshots": {"target": dict(ON_SITE)}}


def _lab_aws(s: dict[str, Any]) -> None:
    s["vectorStore"]["dataClass"] = "internal"
    s["vectorStore"]["snapshots"]["target"] = {"kind": "s3-bucket"}


def _read_only_binding(s: dict[str, Any]) -> None:
    _aws(s, bind=True)
    s["cloud"]["eks"]["workloads"]["qdrant-snapshots"]["buckets"] = {"vector-snapshots": "read"}


def _other_namespace(s: dict[str, Any]) -> None:
    _aws(s, bind=True)
    s["cloud"]["eks"]["workloads"]["qdrant-snapshots"]["namespace"] = "aif-batch"


def _aws_with_endpoint(s: dict[str, Any]) -> None:
    _aws(s, bind=True)
    _target(s)["endpoint"] = "https://s3.fra1.example.internal"


# (id, stack, mutation, exact problem lines)
CASES: list[tuple[str, str, Mutation, list[str]]] = [
    (
        "restricted-to-aws-bucket",
        "prod-eu",
        lambda s: s["vectorStore"]["snapshots"].update(target={"kind": "s3-bucket"}),
        [
            "ai-factory:vectorStore.snapshots.target.kind: data class 'restricted' may not be stored in the cloud, "
            "so its snapshots may not go to the vector-snapshots bucket (allowed: on-site-s3)"
        ],
    ),
    (
        "aws-bucket-without-workload-binding",
        "prod-eu",
        _aws,
        [
            "ai-factory:vectorStore.snapshots.target.serviceAccount: no cloud.eks.workloads entry binds "
            "aif-vector/qdrant-snapshots with vector-snapshots: read-write (allowed: a workload {namespace: "
            "aif-vector, serviceAccount: qdrant-snapshots, buckets: {vector-snapshots: read-write}})"
        ],
    ),
    (
        "aws-bucket-binding-read-only",
        "prod-eu",
        _read_only_binding,
        [
            "ai-factory:vectorStore.snapshots.target.serviceAccount: no cloud.eks.workloads entry binds "
            "aif-vector/qdrant-snapshots with vector-snapshots: read-write (allowed: a workload {namespace: "
            "aif-vector, serviceAccount: qdrant-snapshots, buckets: {vector-snapshots: read-write}})"
        ],
    ),
    (
        "aws-bucket-binding-in-another-namespace",
        "prod-eu",
        _other_namespace,
        [
            "ai-factory:vectorStore.snapshots.target.serviceAccount: no cloud.eks.workloads entry binds "
            "aif-vector/qdrant-snapshots with vector-snapshots: read-write (allowed: a workload {namespace: "
            "aif-vector, serviceAccount: qdrant-snapshots, buckets: {vector-snapshots: read-write}})"
        ],
    ),
    (
        "aws-bucket-of-another-data-class",
        "prod-eu",
        lambda s: _aws(s, data_class="public", bind=True),
        [
            "ai-factory:storage.buckets.vector-snapshots.dataClass: the bucket holds the vector store's snapshots, "
            "of data class 'public' (allowed: public)"
        ],
    ),
    (
        "aws-bucket-with-on-site-settings",
        "prod-eu",
        _aws_with_endpoint,
        ["ai-factory:vectorStore.snapshots.target.endpoint: applies to on-site-s3 only (allowed: remove it)"],
    ),
    (
        "aws-bucket-without-bucket-or-eks",
        "lab",
        _lab_aws,
        [
            "ai-factory:vectorStore.snapshots.target.kind: the stack has no vector-snapshots bucket "
            "(allowed: add storage.buckets.vector-snapshots, or on-site-s3)",
            "ai-factory:vectorStore.snapshots.target.kind: the vector-snapshots bucket is written through EKS Pod "
            "Identity and this stack has no cloud.eks (allowed: on-site-s3, or configure cloud.eks)",
        ],
    ),
    (
        "on-site-without-a-site",
        "dev",
        _dev_store,
        [
            "ai-factory:vectorStore.snapshots.target.kind: on-site-s3 needs an on-prem site (onPrem) "
            "(allowed: s3-bucket, or configure onPrem)"
        ],
    ),
    (
        "on-site-without-credentials",
        "prod-eu",
        lambda s: _target(s).pop("credentialsSecret"),
        [
            "ai-factory:vectorStore.snapshots.target.credentialsSecret: on-site-s3 needs the Secret holding the "
            "store's access key (allowed: the name of a Secret in aif-vector with AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY)"
        ],
    ),
    (
        "on-site-without-endpoint-and-bucket",
        "lab",
        lambda s: [_target(s).pop(k) for k in ("endpoint", "bucket")],
        [
            "ai-factory:vectorStore.snapshots.target.endpoint: on-site-s3 needs the store's endpoint "
            "(allowed: an https:// URL)",
            "ai-factory:vectorStore.snapshots.target.bucket: on-site-s3 needs the bucket on the store "
            "(allowed: a bucket name)",
        ],
    ),
    (
        "on-site-without-networks",
        "prod-eu",
        lambda s: _target(s).pop("cidrs"),
        [
            "ai-factory:vectorStore.snapshots.target.cidrs: on-site-s3 needs the networks the endpoint resolves to "
            "(allowed: a list of the store's private networks, e.g. [10.20.8.0/28])"
        ],
    ),
    (
        "on-site-networks-on-the-internet",
        "prod-eu",
        lambda s: _target(s).update(cidrs=["10.20.8.0/28", "52.95.0.0/16", "0.0.0.0/0"]),
        [
            "ai-factory:vectorStore.snapshots.target.cidrs[1]: 52.95.0.0/16 includes internet addresses, so on-site "
            "data could leave the site through it (allowed: the store's private networks (RFC 1918, RFC 6598 or "
            "IPv6 ULA), e.g. 10.20.8.0/28)",
            "ai-factory:vectorStore.snapshots.target.cidrs[2]: 0.0.0.0/0 includes internet addresses, so on-site "
            "data could leave the site through it (allowed: the store's private networks (RFC 1918, RFC 6598 or "
            "IPv6 ULA), e.g. 10.20.8.0/28)",
        ],
    ),
    (
        "on-site-endpoint-outside-its-networks",
        "lab",
        lambda s: _target(s).update(endpoint="https://10.30.9.5:9000"),
        [
            "ai-factory:vectorStore.snapshots.target.endpoint: 10.30.9.5 is outside "
            "vectorStore.snapshots.target.cidrs, so the store would be unreachable (allowed: an endpoint in one of "
            "the cidrs, or add its network)"
        ],
    ),
    (
        "on-site-networks-empty",
        "lab",
        lambda s: _target(s).update(cidrs=[]),
        ["ai-factory:vectorStore.snapshots.target.cidrs: has too few entries (allowed: at least 1)"],
    ),
    (
        "on-site-network-with-host-bits",
        "lab",
        lambda s: _target(s).update(cidrs=["10.30.8.5/28"]),
        [
            "ai-factory:vectorStore.snapshots.target.cidrs[0]: '10.30.8.5/28' has host bits set, so it is an "
            "address, not a network (allowed: the network, 10.30.8.0/28)"
        ],
    ),
    (
        "networks-on-the-aws-bucket",
        "prod-eu",
        lambda s: (_aws(s, bind=True), _target(s).update(cidrs=["10.20.8.0/28"])),
        ["ai-factory:vectorStore.snapshots.target.cidrs: applies to on-site-s3 only (allowed: remove it)"],
    ),
    (
        "tier-prod-without-snapshots",
        "prod-eu",
        lambda s: s["vectorStore"].pop("snapshots"),
        [
            "ai-factory:vectorStore.snapshots: the vector store needs snapshots in tier prod (allowed: "
            "{target: {kind: on-site-s3, endpoint, cidrs, bucket, credentialsSecret}} or {target: {kind: s3-bucket}})"
        ],
    ),
    (
        "unknown-target-kind",
        "prod-eu",
        lambda s: _target(s).update(kind="nfs"),
        ["ai-factory:vectorStore.snapshots.target.kind: 'nfs' is not allowed (allowed: s3-bucket, on-site-s3)"],
    ),
    (
        "plain-http-endpoint",
        "prod-eu",
        lambda s: _target(s).update(endpoint="http://s3.fra1.example.internal"),
        [
            "ai-factory:vectorStore.snapshots.target.endpoint: 'http://s3.fra1.example.internal' has the wrong "
            "format (allowed: text matching ^https://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\\d{1,5})?/?$)"
        ],
    ),
    (
        "keep-nothing",
        "lab",
        lambda s: s["vectorStore"]["snapshots"].update(keepLast=0),
        ["ai-factory:vectorStore.snapshots.keepLast: 0 is out of range (allowed: >= 1)"],
    ),
    (
        "schedule-not-cron",
        "lab",
        lambda s: s["vectorStore"]["snapshots"].update(schedule="every night"),
        [
            "ai-factory:vectorStore.snapshots.schedule: 'every night' has the wrong format (allowed: text matching "
            "^(@(hourly|daily|weekly|monthly|yearly)|([0-9A-Za-z*/,?-]+ ){4}[0-9A-Za-z*/,?-]+)$)"
        ],
    ),
]


@pytest.mark.parametrize(("stack", "mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_snapshot_variation_reports_exact_problems(stack: str, mutate: Mutation, expected: list[str]) -> None:
    s = sections(stack)
    mutate(s)
    with pytest.raises(ConfigError) as err:
        parse_sections(s)
    assert [str(p) for p in err.value.problems] == expected
    assert str(err.value) == "\n".join(expected)


def test_cloud_storable_store_may_use_the_bound_aws_bucket() -> None:
    s = sections("prod-eu")
    _aws(s, bind=True)
    target = parse_sections(s).vector_store.snapshots.target
    assert target.kind == "s3-bucket" and target.service_account == "qdrant-snapshots"


def test_snapshots_are_optional_below_tier_prod() -> None:
    s = sections("lab")
    s["vectorStore"].pop("snapshots")
    assert parse_sections(s).vector_store.snapshots is None


def test_defaults() -> None:
    s = sections("lab")
    s["vectorStore"]["snapshots"] = {"target": dict(ON_SITE)}
    snap = parse_sections(s).vector_store.snapshots
    assert snap.schedule == "0 2 * * *" and snap.keep_last == 7
    assert snap.target.server_side_encryption is None and snap.target.region is None
    assert snap.target.cidrs == ["10.20.8.0/28"]


def test_rfc6598_and_ula_networks_count_as_the_sites() -> None:
    s = sections("lab")
    _target(s).update(endpoint="https://100.64.3.4", cidrs=["100.64.3.0/24", "fd00:30:8::/64"])
    assert parse_sections(s).vector_store.snapshots.target.cidrs == ["100.64.3.0/24", "fd00:30:8::/64"]
