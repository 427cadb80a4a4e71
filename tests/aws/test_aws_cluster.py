"""BurstCluster on the reference stacks: endpoint, encryption, hybrid networks, logs, access."""

from __future__ import annotations

import ipaddress
import json

from aws_support import StackPlan, write_variant
from support import stack_doc

from components.aws.cluster import ADDONS

CLUSTER = "aws:eks/cluster:Cluster"


def _cluster(sp: StackPlan) -> dict:
    (cluster,) = sp.of_type(CLUSTER)
    return cluster


def test_prod_endpoint_is_private_or_cidr_restricted(prod: StackPlan) -> None:
    vpc = _cluster(prod)["inputs"]["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    if vpc["endpointPublicAccess"]:
        cidrs = vpc["publicAccessCidrs"]
        assert cidrs and all(ipaddress.ip_network(c).prefixlen > 0 for c in cidrs)
    else:
        assert "publicAccessCidrs" not in vpc


def test_public_endpoint_carries_exactly_the_allow_list(tmp_path) -> None:
    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:cloud"]["eks"]["endpoint"] = {"public": True, "publicAccessCidrs": ["203.0.113.0/24"]}
    sp = write_variant(tmp_path, "public", doc)
    vpc = _cluster(sp)["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_prod_secrets_are_encrypted_with_the_stack_key(prod: StackPlan) -> None:
    enc = _cluster(prod)["inputs"]["encryptionConfig"]
    assert enc == {"provider": {"keyArn": prod.key_arn("prod-eu-storage-key")}, "resources": ["secrets"]}


def test_prod_remote_networks_are_the_site_cidrs(prod: StackPlan) -> None:
    remote = _cluster(prod)["inputs"]["remoteNetworkConfig"]
    site = prod.config.on_prem.network
    assert remote == {
        "remoteNodeNetworks": {"cidrs": list(site.node_cidrs)},
        "remotePodNetworks": {"cidrs": list(site.pod_cidrs)},
    }


def test_dev_cluster_has_no_remote_networks(stacks: dict[str, StackPlan]) -> None:
    assert "remoteNetworkConfig" not in _cluster(stacks["dev"])["inputs"]


def test_version_pinned_access_entries_only_and_all_logs_encrypted(prod: StackPlan) -> None:
    cluster = _cluster(prod)["inputs"]
    eks = prod.config.cloud.eks
    assert cluster["version"] == eks.kubernetes_version
    assert cluster["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    assert cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    (group,) = [g for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup") if "/aws/eks/" in g["inputs"]["name"]]
    assert group["inputs"]["name"] == f"/aws/eks/{cluster['name']}/cluster"
    assert group["inputs"]["kmsKeyId"] == prod.key_arn("prod-eu-storage-key")


def test_cluster_role_may_use_the_stack_key_and_nothing_more(prod: StackPlan) -> None:
    policy = prod.policy(prod.named("prod-eu-cluster-role-policy"))
    (st,) = policy["Statement"]
    assert st["Resource"] == [prod.key_arn("prod-eu-storage-key")]
    assert set(st["Action"]) == {"kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ListGrants"}


def test_access_entries_follow_config_plus_break_glass_and_hybrid_nodes(prod: StackPlan) -> None:
    access = prod.config.cloud.eks.access
    entries = {e["name"]: e["inputs"] for e in prod.of_type("aws:eks/accessEntry:AccessEntry")}
    standard = {n: e["principalArn"] for n, e in entries.items() if e["type"] == "STANDARD"}
    assert set(access.admins + access.developers + access.viewers) <= set(standard.values())
    assert [e for e in entries.values() if e["type"] == "HYBRID_LINUX"]
    policies = {
        a["inputs"]["principalArn"]: (a["inputs"]["policyArn"].rsplit("/", 1)[-1], a["inputs"]["accessScope"])
        for a in prod.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    assert policies[access.admins[0]] == ("AmazonEKSClusterAdminPolicy", {"type": "cluster"})
    assert policies[access.viewers[0]] == ("AmazonEKSViewPolicy", {"type": "cluster"})
    dev_policy, dev_scope = policies[access.developers[0]]
    assert dev_policy == "AmazonEKSEditPolicy" and dev_scope["type"] == "namespace"


def test_break_glass_role_needs_mfa_and_short_sessions(prod: StackPlan) -> None:
    role = prod.named("prod-eu-cluster-break-glass")
    trust = prod.policy(role, "assumeRolePolicy")
    (st,) = trust["Statement"]
    assert st["Principal"] == {"AWS": "arn:aws:iam::000000000000:root"}
    assert st["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert role["inputs"]["maxSessionDuration"] == 3600


def test_aws_addons_with_pod_identity_agent(prod: StackPlan) -> None:
    names = {a["inputs"]["addonName"] for a in prod.of_type("aws:eks/addon:Addon")}
    assert names == set(ADDONS)
    assert _cluster(prod)["inputs"]["bootstrapSelfManagedAddons"] is False


def test_prod_cluster_is_protected_dev_is_not(stacks: dict[str, StackPlan]) -> None:
    assert _cluster(stacks["prod-eu"])["protect"] is True
    assert _cluster(stacks["dev"])["protect"] is False
    assert json.dumps(_cluster(stacks["dev"])["inputs"]).count("deletionProtection") == 0
