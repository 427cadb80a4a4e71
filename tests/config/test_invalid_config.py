"""Invalid stack files: every problem on its own line, naming the config path and what is allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support import sections

from components.config import ConfigError, parse_sections

Mutation = Callable[[dict[str, Any]], object]


# (id, stack, mutation, exact problem lines)
CASES: list[tuple[str, str, Mutation, list[str]]] = [
    (
        "tier-not-allowed",
        "prod-eu",
        lambda s: s["environment"].update(tier="production"),
        ["ai-factory:environment.tier: 'production' is not allowed (allowed: dev, staging, prod)"],
    ),
    (
        "owner-missing",
        "prod-eu",
        lambda s: s["environment"].pop("owner"),
        ["ai-factory:environment.owner: is required but missing (allowed: a value; see docs/stack.schema.json)"],
    ),
    (
        "unknown-setting",
        "prod-eu",
        lambda s: s["environment"].update(colour="blue"),
        [
            "ai-factory:environment.colour: is not a known setting (allowed: name, tier, owner, costCenter, contactEmails)"
        ],
    ),
    (
        "unknown-section",
        "dev",
        lambda s: s.update(gpus={}),
        [
            "ai-factory:gpus: is not a known config section (allowed: environment, residency, onPrem, cloud, storage, "
            "vectorStore, serving, observability, kubernetes, budget, usage)"
        ],
    ),
    (
        "region-format",
        "dev",
        lambda s: s["cloud"].update(region="Frankfurt"),
        [
            "ai-factory:cloud.region: 'Frankfurt' has the wrong format (allowed: text matching ^[a-z]{2}(-gov)?-[a-z]+-\\d$)"
        ],
    ),
    (
        "gpu-model",
        "prod-eu",
        lambda s: s["onPrem"]["servers"][0]["gpu"].update(model="H100"),
        [
            "ai-factory:onPrem.servers[0].gpu.model: 'H100' is not allowed "
            "(allowed: H100-80GB-HBM3, H200-141GB, A100-80GB-SXM4, L40S, L4)"
        ],
    ),
    (
        "gpu-count-zero",
        "prod-eu",
        lambda s: s["onPrem"]["servers"][1]["gpu"].update(count=0),
        ["ai-factory:onPrem.servers[1].gpu.count: 0 is out of range (allowed: >= 1)"],
    ),
    (
        "bad-address",
        "prod-eu",
        lambda s: s["onPrem"]["servers"][2].update(address="10.20.0.300"),
        ["ai-factory:onPrem.servers[2].address: '10.20.0.300' is not an IP address (allowed: IPv4 or IPv6 address)"],
    ),
    (
        "cidr-host-bits",
        "prod-eu",
        lambda s: s["onPrem"]["network"]["nodeCidrs"].__setitem__(0, "10.20.0.1/24"),
        [
            "ai-factory:onPrem.network.nodeCidrs[0]: '10.20.0.1/24' has host bits set, so it is an address, not a "
            "network (allowed: the network, 10.20.0.0/24)"
        ],
    ),
    (
        "cidr-garbage",
        "prod-eu",
        lambda s: s["onPrem"]["network"]["nodeCidrs"].__setitem__(0, "10.20.0/x"),
        [
            "ai-factory:onPrem.network.nodeCidrs[0]: '10.20.0/x' is not a network in CIDR notation "
            "(allowed: e.g. 10.20.0.0/24)"
        ],
    ),
    (
        "gpu-family-not-allowed",
        "prod-eu",
        lambda s: s["cloud"]["eks"]["burst"]["gpuFamilies"].append("p6"),
        ["ai-factory:cloud.eks.burst.gpuFamilies[2]: 'p6' is not allowed (allowed: g5, g6, g6e, p4d, p5)"],
    ),
    (
        "max-gpus-type",
        "prod-eu",
        lambda s: s["cloud"]["eks"]["burst"].update(maxGpus="lots"),
        ["ai-factory:cloud.eks.burst.maxGpus: 'lots' has the wrong type (allowed: an integer)"],
    ),
    (
        "digest-format",
        "dev",
        lambda s: s["serving"]["models"][0]["artifact"].update(digest="sha256:abc"),
        [
            "ai-factory:serving.models[0].artifact.digest: 'sha256:abc' has the wrong format "
            "(allowed: text matching ^sha256:[0-9a-f]{64}$)"
        ],
    ),
    (
        "no-models",
        "dev",
        lambda s: s["serving"].update(models=[]),
        ["ai-factory:serving.models: has too few entries (allowed: at least 1)"],
    ),
    (
        "processing-place",
        "prod-eu",
        lambda s: s["residency"]["dataClasses"]["public"]["processing"].append("moon"),
        [
            "ai-factory:residency.dataClasses.public.processing[3]: 'moon' is not allowed "
            "(allowed: on-prem, cloud, external-api)"
        ],
    ),
    (
        "site-country",
        "prod-eu",
        lambda s: s["onPrem"].update(country="US"),
        ["ai-factory:onPrem.country: site country 'US' is outside the residency allow-list (allowed: DE, FR, NL)"],
    ),
    (
        "region-outside-residency",
        "dev",
        lambda s: s["cloud"].update(region="us-east-1"),
        [
            "ai-factory:cloud.region: region 'us-east-1' is outside the residency allow-list "
            "(allowed: eu-central-1, eu-west-1)"
        ],
    ),
    (
        "floor-above-max",
        "prod-eu",
        lambda s: s["cloud"]["eks"]["burst"].update(onDemandFloorGpus=40),
        ["ai-factory:cloud.eks.burst.onDemandFloorGpus: 40 exceeds maxGpus 24 (allowed: 0..24)"],
    ),
    (
        "instance-type-of-family",
        "prod-eu",
        lambda s: s["cloud"]["eks"]["burst"]["instanceTypes"].update(g6e=["g6e.huge"]),
        [
            "ai-factory:cloud.eks.burst.instanceTypes.g6e[0]: 'g6e.huge' is not a g6e GPU instance type "
            "(allowed: g6e.xlarge, g6e.2xlarge, g6e.12xlarge, g6e.48xlarge)"
        ],
    ),
    (
        "restricted-model-bursts",
        "prod-eu",
        lambda s: s["serving"]["models"][1].update(burstToCloud=True),
        [
            "ai-factory:serving.models[1].burstToCloud: data class restricted may not be processed in the cloud "
            "(allowed: false, or serve only cloud-processable data classes)"
        ],
    ),
    (
        "restricted-external-fallback",
        "prod-eu",
        lambda s: s["serving"]["models"][1].update(externalFallback=True),
        [
            "ai-factory:serving.models[1].externalFallback: data class internal, restricted may not be sent to an "
            "external API (allowed: false)"
        ],
    ),
    (
        "unknown-data-class",
        "prod-eu",
        lambda s: s["storage"]["buckets"]["models"].update(dataClass="secret"),
        [
            "ai-factory:storage.buckets.models.dataClass: unknown data class 'secret' "
            "(allowed: internal, public, restricted)"
        ],
    ),
    (
        "restricted-in-bucket",
        "prod-eu",
        lambda s: s["storage"]["buckets"]["datasets"].update(dataClass="restricted"),
        [
            "ai-factory:storage.buckets.datasets.dataClass: data class 'restricted' may not be stored in the cloud "
            "(allowed: a data class whose residency storage includes cloud)"
        ],
    ),
    (
        "min-above-max",
        "prod-eu",
        lambda s: s["serving"]["models"][2].update(minReplicas=9),
        ["ai-factory:serving.models[2].minReplicas: 9 exceeds maxReplicas 6 (allowed: 0..6)"],
    ),
    (
        "critical-to-zero",
        "prod-eu",
        lambda s: s["serving"]["models"][0].update(minReplicas=0),
        ["ai-factory:serving.models[0].minReplicas: critical models are never scaled to zero (allowed: 1 or more)"],
    ),
    (
        "public-endpoint-no-allow-list",
        "prod-eu",
        lambda s: s["cloud"]["eks"]["endpoint"].update(public=True),
        [
            "ai-factory:cloud.eks.endpoint.publicAccessCidrs: a public endpoint needs an allow-list "
            "(allowed: one or more CIDRs, or public: false)"
        ],
    ),
    (
        "endpoint-open-to-internet",
        "prod-eu",
        lambda s: s["cloud"]["eks"].update(endpoint={"public": True, "publicAccessCidrs": ["0.0.0.0/0"]}),
        [
            "ai-factory:cloud.eks.endpoint.publicAccessCidrs[0]: 0.0.0.0/0 opens the API endpoint to the whole internet "
            "(allowed: specific networks)"
        ],
    ),
    (
        "cloud-budget-above-total",
        "prod-eu",
        lambda s: s["budget"].update(cloudMonthlyUsd=200000),
        ["ai-factory:budget.cloudMonthlyUsd: 200000 exceeds totalMonthlyUsd 150000 (allowed: 0..150000)"],
    ),
    (
        "thresholds-order",
        "dev",
        lambda s: s["budget"].update(alertThresholdsPercent=[90, 50]),
        [
            "ai-factory:budget.alertThresholdsPercent: thresholds must be ascending and distinct "
            "(allowed: e.g. [50, 75, 90, 100])"
        ],
    ),
    (
        "unsigned-mirror-in-prod",
        "prod-eu",
        lambda s: s["onPrem"]["packageMirror"].update(trusted=True),
        [
            "ai-factory:onPrem.packageMirror.trusted: unsigned package mirrors are not accepted in tier prod "
            "(allowed: false with keyUrl)"
        ],
    ),
    (
        "pod-cidr-overlaps-vpc",
        "prod-eu",
        lambda s: s["onPrem"]["network"]["podCidrs"].__setitem__(0, "10.100.0.0/20"),
        [
            "ai-factory:onPrem.network.podCidrs[0]: 10.100.0.0/20 overlaps the VPC 10.100.0.0/16 "
            "(allowed: remote networks outside the VPC CIDR)"
        ],
    ),
    (
        "duplicate-server",
        "prod-eu",
        lambda s: s["onPrem"]["servers"][1].update(name="fra1-gpu-01"),
        ["ai-factory:onPrem.servers: server name 'fra1-gpu-01' is used 2 times (allowed: unique names)"],
    ),
    (
        "hybrid-without-link",
        "prod-eu",
        lambda s: s["cloud"].pop("hybrid"),
        [
            "ai-factory:cloud.hybrid: EKS Hybrid Nodes need a network link to the site (allowed: {kind: vpn, "
            "customerGatewayIp: …} or {kind: direct-connect, directConnectGatewayId: …})"
        ],
    ),
    (
        "nvswitch-on-pcie-gpu",
        "prod-eu",
        lambda s: s["onPrem"]["servers"][0]["gpu"].update(model="L40S"),
        [
            "ai-factory:onPrem.servers[0].gpu.nvswitch: L40S boards have no NVSwitch baseboard "
            "(allowed: false for PCIe GPUs)"
        ],
    ),
    (
        "negative-budget",
        "dev",
        lambda s: s["budget"].update(totalMonthlyUsd=-5),
        ["ai-factory:budget.totalMonthlyUsd: -5 is out of range (allowed: > 0.0)"],
    ),
    (
        "eks-hybrid-without-eks",
        "lab",
        lambda s: s["onPrem"]["cluster"].update(join="eks-hybrid"),
        [
            "ai-factory:onPrem.cluster.join: eks-hybrid needs an EKS cluster (cloud.eks) "
            "(allowed: kubeadm, or configure cloud.eks)"
        ],
    ),
]


@pytest.mark.parametrize(("stack", "mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_variation_reports_exact_problems(stack: str, mutate: Mutation, expected: list[str]) -> None:
    s = sections(stack)
    mutate(s)
    with pytest.raises(ConfigError) as err:
        parse_sections(s)
    assert [str(p) for p in err.value.problems] == expected
    # Pulumi prints a RunError's message alone: the same lines, nothing else.
    assert str(err.value) == "\n".join(expected)


def test_three_independent_errors_give_three_lines() -> None:
    s = sections("prod-eu")
    s["environment"]["tier"] = "production"
    s["onPrem"]["servers"][0]["gpu"]["count"] = 99
    s["budget"]["pauseAtPercent"] = "soon"
    with pytest.raises(ConfigError) as err:
        parse_sections(s)
    assert [p.path for p in err.value.problems] == [
        "ai-factory:environment.tier",
        "ai-factory:onPrem.servers[0].gpu.count",
        "ai-factory:budget.pauseAtPercent",
    ]


def test_config_error_is_a_pulumi_run_error() -> None:
    """`pulumi up` prints a RunError's message without a traceback."""
    import pulumi

    assert issubclass(ConfigError, pulumi.RunError)
