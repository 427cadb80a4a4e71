"""Invalid cloud config: `factory plan` exits 2, one stderr line per problem naming the config path,
and the program never runs (nothing registered)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from support import stack_doc

from components.tooling import cli

Mutation = Callable[[dict[str, Any]], object]


def _burst(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["ai-factory:cloud"]["eks"]["burst"]


def _cloud(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"]["ai-factory:cloud"]


SPLIT = "g6e.12xlarge (4 GPUs), p5.48xlarge (8 GPUs)"
MULTIPLE = "a multiple of 4 for each of maxGpus - onDemandFloorGpus and onDemandFloorGpus"

CASES: list[tuple[str, str, Mutation, list[str]]] = [
    (
        "gpu-family-not-allowed",
        "prod-eu",
        lambda d: _burst(d)["gpuFamilies"].append("p6"),
        ["ai-factory:cloud.eks.burst.gpuFamilies[2]: 'p6' is not allowed (allowed: g5, g6, g6e, p4d, p5)"],
    ),
    (
        "max-below-floor",
        "prod-eu",
        lambda d: _burst(d).update(maxGpus=4),
        ["ai-factory:cloud.eks.burst.onDemandFloorGpus: 8 exceeds maxGpus 4 (allowed: 0..4)"],
    ),
    (
        "region-outside-residency",
        "dev",
        lambda d: _cloud(d).update(region="us-east-1"),
        [
            "ai-factory:cloud.region: region 'us-east-1' is outside the residency allow-list "
            "(allowed: eu-central-1, eu-west-1)"
        ],
    ),
    (
        "limit-not-divisible",
        "prod-eu",
        lambda d: _burst(d).update(maxGpus=26),
        [
            f"ai-factory:cloud.eks.burst.maxGpus: 18 GPUs (the GPUs above the on-demand floor) do not split into "
            f"whole instances of {SPLIT}; 2 would be left over (allowed: {MULTIPLE})",
        ],
    ),
    (
        "workload-bucket-missing",
        "dev",
        lambda d: _cloud(d)["eks"]["workloads"]["model-loader"]["buckets"].update(datasets="read"),
        [
            "ai-factory:cloud.eks.workloads.model-loader.buckets.datasets: the stack has no datasets bucket "
            "(allowed: models, artifacts, logs)"
        ],
    ),
    (
        "upstream-without-credentials",
        "dev",
        lambda d: _cloud(d)["registry"].pop("credentialSecretArns"),
        [
            "ai-factory:cloud.registry.credentialSecretArns.docker-hub: the docker-hub pull-through cache needs "
            "upstream credentials (allowed: the ARN of a Secrets Manager secret named ecr-pullthroughcache/…)"
        ],
    ),
    (
        "replica-outside-residency",
        "prod-eu",
        lambda d: d["config"]["ai-factory:storage"].update(replication={"region": "us-east-1", "buckets": ["models"]}),
        [
            "ai-factory:storage.replication.region: region 'us-east-1' is outside the residency allow-list "
            "(allowed: eu-central-1, eu-west-1)"
        ],
    ),
    (
        "hybrid-link-without-eks",
        "lab",
        lambda d: _cloud(d).update(hybrid={"kind": "vpn", "customerGatewayIp": "198.51.100.20"}),
        [
            "ai-factory:cloud.hybrid: the hybrid link joins the site to the EKS VPC, and this stack has no "
            "cloud.eks (allowed: remove cloud.hybrid or configure cloud.eks)"
        ],
    ),
    (
        "eks-without-logs-bucket",
        "dev",
        lambda d: d["config"]["ai-factory:storage"]["buckets"].pop("logs"),
        [
            "ai-factory:storage.buckets.logs: the burst cluster needs the stack key and the logs bucket "
            "(audit trail, encrypted volumes and logs) (allowed: a storage section with a logs bucket)"
        ],
    ),
    (
        "no-nat-without-endpoints",
        "dev",
        lambda d: _cloud(d)["vpc"].update(nat="none"),
        [
            "ai-factory:cloud.vpc.interfaceEndpoints: without NAT, nodes reach ecr.api, ecr.dkr, sts only through "
            "interface endpoints (allowed: include ecr.api, ecr.dkr, sts, or nat: single)"
        ],
    ),
    (
        "roles-anywhere-without-anchor",
        "prod-eu",
        lambda d: d["config"]["ai-factory:onPrem"]["cluster"].update(credentialProvider="iam-ra"),
        [
            "ai-factory:cloud.identity.rolesAnywhere: IAM Roles Anywhere needs exactly one trust anchor source "
            "(allowed: {caArn: <ACM PCA ARN>} or {caBundlePem: <PEM>})"
        ],
    ),
    (
        "several-problems-one-line-each",
        "prod-eu",
        lambda d: (
            _burst(d).update(maxGpus=31, onDemandFloorGpus=2),
            _cloud(d)["registry"].pop("credentialSecretArns"),
        ),
        [
            f"ai-factory:cloud.eks.burst.maxGpus: 29 GPUs (the GPUs above the on-demand floor) do not split into "
            f"whole instances of {SPLIT}; 1 would be left over (allowed: {MULTIPLE})",
            f"ai-factory:cloud.eks.burst.onDemandFloorGpus: 2 GPUs (the on-demand floor) do not split into whole "
            f"instances of {SPLIT}; 2 would be left over (allowed: {MULTIPLE})",
            "ai-factory:cloud.registry.credentialSecretArns.docker-hub: the docker-hub pull-through cache needs "
            "upstream credentials (allowed: the ARN of a Secrets Manager secret named ecr-pullthroughcache/…)",
        ],
    ),
]


@pytest.mark.parametrize(("case", "stack", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
def test_invalid_cloud_config_exits_2_with_one_line_per_problem_and_registers_nothing(
    case: str,
    stack: str,
    mutate: Mutation,
    expected: list[str],
    tmp_path,
    capsys: pytest.CaptureFixture[str],
    never_run: list[Any],
) -> None:
    doc = stack_doc(stack)
    mutate(doc)
    (tmp_path / f"Pulumi.{case}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    code = cli.run(["--stacks-dir", str(tmp_path), "plan", case])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines() == expected
    assert out == ""
    assert never_run == []
