"""Where model servers and the on-site snapshot job may connect, under the planned NetworkPolicies.

The pods are built from the planned Deployments' and CronJob's own templates (namespace and labels), and
run through the NetworkPolicy evaluator in tests/netpol.py. What must hold: a server whose data stays on
the site reaches its site's model store, on the store's networks and port, and nothing outside the
cluster besides; a server that may burst to cloud nodes also reaches the models bucket over HTTPS and the
EKS Pod Identity agent; the on-site snapshot job reaches Qdrant and the site's store only.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from netpol import Cluster, Pod, cluster_of

from components import conventions as c
from components.aws.s3_ranges import s3_prefix_list_name
from components.k8s.tenancy import QDRANT_POD, VLLM_POD, s3_egress, site_store_egress
from components.k8s.vector_snapshots import SNAPSHOT_POD
from components.tooling.mock_runtime import S3_RANGES_STAND_IN

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CRONJOB = "kubernetes:batch/v1:CronJob"

S3_EU = "203.0.113.7"
"""An address in the region's S3 ranges as the offline plan has them (mock_runtime.S3_RANGES_STAND_IN)."""
POD_IDENTITY_AGENT = "169.254.170.23"
ANYWHERE = "1.1.1.1"
OTHER_SITE_HOST = "10.20.9.1"
"""On the site's network but outside the store's cidrs."""


def _outside(ip: str) -> Pod:
    """An address outside the cluster: no namespace, no policies of its own."""
    return Pod("", {}, ip)


def _model_servers(plan: Any) -> list[Pod]:
    pods = []
    for r in plan.resources:
        if r["type"] != DEPLOYMENT:
            continue
        labels = r["inputs"]["spec"]["template"]["metadata"]["labels"]
        if all(labels.get(k) == v for k, v in VLLM_POD.items()):
            pods.append(Pod(r["inputs"]["metadata"]["namespace"], labels))
    assert pods, "the plan has no model servers"
    return pods


def _first_host(network: str) -> str:
    return str(next(ipaddress.ip_network(network).hosts()))


def _store_ip(plan: Any) -> str:
    store = plan.config.serving.site_model_store
    assert store is not None
    return _first_host(store.cidrs[0])


def _by_places(pods: list[Pod]) -> dict[str, list[Pod]]:
    groups: dict[str, list[Pod]] = {}
    for p in pods:
        groups.setdefault(p.labels[c.LABEL_PLACES], []).append(p)
    return groups


def _names(pods: list[Pod]) -> list[str]:
    return sorted(p.labels[c.LABEL_APP] + "/" + p.labels.get(c.LABEL_MODEL, p.namespace) for p in pods)


@pytest.mark.parametrize("stack", ["prod-eu", "lab"])
def test_every_model_server_reaches_its_site_store_on_its_networks_and_port(stack: str, plans) -> None:
    plan = plans[stack]
    cluster, store = cluster_of(plan), _outside(_store_ip(plan))
    servers = _model_servers(plan)
    assert [p for p in servers if not cluster.connects(p, store, 443)] == []
    # The store's network on another port is not the store.
    assert [p for p in servers if cluster.connects(p, store, 80)] == []


@pytest.mark.parametrize("stack", ["prod-eu", "lab"])
def test_servers_that_stay_on_site_have_no_other_way_out(stack: str, plans) -> None:
    plan = plans[stack]
    cluster = cluster_of(plan)
    on_site = _by_places(_model_servers(plan)).get(c.LOCATION_ON_PREM, [])
    assert on_site, "the stack has no model server that stays on site"
    for ip, port in ((ANYWHERE, 443), (S3_EU, 443), (POD_IDENTITY_AGENT, 80), (ANYWHERE, 80), (OTHER_SITE_HOST, 443)):
        reach = [p for p in on_site if cluster.connects(p, _outside(ip), port)]
        assert reach == [], f"{ip}:{port} reachable from {_names(reach)}"


def test_servers_that_may_burst_read_the_models_bucket_with_pod_identity(plans) -> None:
    plan = plans["prod-eu"]
    cluster = cluster_of(plan)
    groups = _by_places(_model_servers(plan))
    burst = groups.get(f"{c.LOCATION_CLOUD}.{c.LOCATION_ON_PREM}", [])
    assert burst, f"prod-eu has no model server that may burst (places: {sorted(groups)})"
    assert [p for p in burst if not cluster.connects(p, _outside(S3_EU), 443)] == []
    assert [p for p in burst if not cluster.connects(p, _outside(POD_IDENTITY_AGENT), 80)] == []
    # S3 only: neither HTTPS nor HTTP to the rest of the internet.
    assert [p for p in burst if cluster.connects(p, _outside(ANYWHERE), 443)] == []
    assert [p for p in burst if cluster.connects(p, _outside(ANYWHERE), 80)] == []


def test_cloud_only_servers_read_the_models_bucket(plans) -> None:
    """dev has no site: every server runs in the cloud and reads its weights from the models bucket."""
    plan = plans["dev"]
    cluster = cluster_of(plan)
    servers = _model_servers(plan)
    assert {p.labels[c.LABEL_PLACES] for p in servers} == {c.LOCATION_CLOUD}
    assert [p for p in servers if not cluster.connects(p, _outside(S3_EU), 443)] == []
    assert [p for p in servers if not cluster.connects(p, _outside(POD_IDENTITY_AGENT), 80)] == []
    assert [p for p in servers if cluster.connects(p, _outside("10.0.0.1"), 8080)] == []
    assert [p for p in servers if cluster.connects(p, _outside(ANYWHERE), 443)] == []


def test_without_the_places_label_a_server_gets_no_cloud_egress(plans) -> None:
    """Control: the cloud egress hangs on the places label, not on some broader rule."""
    plan = plans["prod-eu"]
    cluster = cluster_of(plan)
    burst = next(
        p for p in _model_servers(plan) if p.labels[c.LABEL_PLACES] == f"{c.LOCATION_CLOUD}.{c.LOCATION_ON_PREM}"
    )
    unlabelled = Pod(burst.namespace, {k: v for k, v in burst.labels.items() if k != c.LABEL_PLACES})
    assert cluster.connects(burst, _outside(S3_EU), 443)
    assert not cluster.connects(unlabelled, _outside(S3_EU), 443)
    assert cluster.connects(unlabelled, _outside(_store_ip(plan)), 443)
    # And with no policies at all the evaluator would let it out: the denial is the policies' doing.
    assert Cluster({}, cluster.namespaces).connects(unlabelled, _outside(S3_EU), 443)


@pytest.mark.parametrize("stack", ["prod-eu", "lab"])
def test_the_on_site_snapshot_job_reaches_qdrant_and_the_site_store_only(stack: str, plans) -> None:
    plan = plans[stack]
    cluster = cluster_of(plan)
    jobs = [
        r for r in plan.resources if r["type"] == CRONJOB and r["inputs"]["metadata"]["name"] == c.VECTOR_SNAPSHOT_JOB
    ]
    assert len(jobs) == 1
    template = jobs[0]["inputs"]["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert all(template.get(k) == v for k, v in SNAPSHOT_POD.items())
    job = Pod(c.NAMESPACE_VECTOR, template)
    target = plan.config.vector_store.snapshots.target
    store = _outside(_first_host(target.cidrs[0]))
    qdrant = Pod(c.NAMESPACE_VECTOR, {**QDRANT_POD, "statefulset.kubernetes.io/pod-name": "qdrant-0"}, "10.9.0.1")
    assert cluster.connects(job, qdrant, c.PORT_QDRANT_HTTP)
    assert cluster.connects(job, store, 443)
    for ip, port in ((ANYWHERE, 443), (S3_EU, 443), (POD_IDENTITY_AGENT, 80), (OTHER_SITE_HOST, 443)):
        assert not cluster.connects(job, _outside(ip), port), f"{ip}:{port}"


def test_the_cloud_weights_policy_names_the_regions_s3_ranges(plans) -> None:
    """The ranges come from the region's S3 prefix list (the offline account answers with stand-ins)."""
    for stack in ("dev", "prod-eu"):
        (spec,) = [
            r["inputs"]["spec"]
            for r in plans[stack].resources
            if r["type"] == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
            and r["inputs"]["metadata"]["name"] == "vllm-cloud-weights"
            and r["inputs"]["metadata"]["namespace"] == c.NAMESPACE_SERVING
        ]
        assert spec["egress"] == [
            {"to": [{"ipBlock": {"cidr": n}} for n in S3_RANGES_STAND_IN], "ports": [{"protocol": "TCP", "port": 443}]},
            {"to": [{"ipBlock": {"cidr": f"{POD_IDENTITY_AGENT}/32"}}], "ports": [{"protocol": "TCP", "port": 80}]},
        ]


@pytest.mark.parametrize(
    ("region", "name"),
    [("eu-central-1", "com.amazonaws.eu-central-1.s3"), ("cn-north-1", "cn.com.amazonaws.cn-north-1.s3")],
)
def test_the_prefix_list_is_aws_s3_list_of_the_region(region: str, name: str) -> None:
    assert s3_prefix_list_name(region) == name


def test_an_empty_network_list_never_becomes_an_open_rule(plans) -> None:
    """An empty `to` means "anywhere" to Kubernetes: building one is refused, for S3 and site stores alike."""
    cfg = plans["prod-eu"].config
    with pytest.raises(ValueError, match="empty `to`"):
        s3_egress(cfg, [])
    with pytest.raises(ValueError, match="empty `to`"):
        site_store_egress("https://s3.fra1.example.internal", [])
    with pytest.raises(ValueError, match="S3 ranges"):
        s3_egress(cfg, None)
