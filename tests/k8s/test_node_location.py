"""Only site servers may label their Node on-prem (components/k8s/node_location.py).

The planned ValidatingAdmissionPolicy's CEL is evaluated with cel-python (a CEL implementation, not a
re-implementation of the check) against admission requests shaped like EKS's: kubelets in system:nodes,
the IAM identity in user extra `canonicalArn` (as EKS audit logs show it).
"""

from __future__ import annotations

from typing import Any

import celpy
import pytest

from components import conventions as c
from components.k8s.node_location import NAME, canonical_role_arn
from components.tooling.mock_runtime import PLACEHOLDER_ACCOUNT

VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
CLOUD_NODE_ROLE = f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/prod-eu-gpu-nodes-role-xxxxxxx"


def _policy(plan: Any) -> dict[str, Any]:
    (vap,) = [r for r in plan.resources if r["type"] == VAP]
    return vap["inputs"]


def _site_role(plan: Any) -> str:
    """The hybrid nodes' role as the offline account names it (mock_runtime: role/<name>-xxxxxxx)."""
    (role,) = [r for r in plan.resources if r["type"] == "aws:iam/role:Role" and "HybridNodeIdentity" in r["parent"]]
    return f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/{role['name']}-xxxxxxx"


class Admission:
    """The policy's match conditions and validations, compiled by cel-python."""

    def __init__(self, spec: dict[str, Any]) -> None:
        env = celpy.Environment()
        self.conditions = [env.program(env.compile(m["expression"])) for m in spec["matchConditions"]]
        self.validations = [env.program(env.compile(v["expression"])) for v in spec["validations"]]

    def admits(self, node_labels: dict[str, str] | None, groups: list[str], extra: dict[str, list[str]]) -> bool:
        obj: dict[str, Any] = {"metadata": {"name": "ip-10-0-3-44.eu-central-1.compute.internal"}}
        if node_labels is not None:
            obj["metadata"]["labels"] = node_labels
        user: dict[str, Any] = {"username": "system:node:ip-10-0-3-44", "groups": groups}
        if extra:
            user["extra"] = extra
        activation = {"object": celpy.json_to_cel(obj), "request": celpy.json_to_cel({"userInfo": user})}
        if not all(bool(p.evaluate(activation)) for p in self.conditions):
            return True  # the policy does not apply to this request
        return all(bool(p.evaluate(activation)) for p in self.validations)


KUBELET = ["system:bootstrappers", "system:nodes", "system:authenticated"]
ON_PREM = {c.LABEL_LOCATION: c.LOCATION_ON_PREM, "kubernetes.io/hostname": "gpu-01"}
CLOUD = {c.LABEL_LOCATION: c.LOCATION_CLOUD}


def _as(role: str) -> dict[str, list[str]]:
    session = role.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/i-0c6ae60ad1f13fa3d"
    return {"arn": [session], "canonicalArn": [role], "sessionName": ["i-0c6ae60ad1f13fa3d"]}


def test_eks_stacks_deny_with_the_policy_and_standalone_sites_have_none(plans) -> None:
    for stack in ("dev", "prod-eu"):
        vap = _policy(plans[stack])
        (binding,) = [r["inputs"] for r in plans[stack].resources if r["type"] == BINDING]
        assert vap["metadata"]["name"] == NAME
        assert binding["spec"] == {"policyName": NAME, "validationActions": ["Deny"]}
        assert vap["spec"]["failurePolicy"] == "Fail"
        assert vap["spec"]["matchConstraints"]["resourceRules"] == [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": ["nodes", "nodes/status"],
            }
        ]
    # lab is a kubeadm cluster of site servers only: nothing could claim the site falsely.
    assert [r for r in plans["lab"].resources if r["type"] in (VAP, BINDING)] == []


def test_a_cloud_kubelet_cannot_claim_the_site(plans) -> None:
    admission = Admission(_policy(plans["prod-eu"])["spec"])
    assert not admission.admits(ON_PREM, KUBELET, _as(CLOUD_NODE_ROLE))
    assert not admission.admits(ON_PREM, KUBELET, {})  # no IAM identity at all
    # A role of the same name in another account is another role.
    other_account = _site_role(plans["prod-eu"]).replace(PLACEHOLDER_ACCOUNT, "111122223333")
    assert not admission.admits(ON_PREM, KUBELET, _as(other_account))
    # What it may do: say it is in the cloud, or say nothing.
    assert admission.admits(CLOUD, KUBELET, _as(CLOUD_NODE_ROLE))
    assert admission.admits({"kubernetes.io/hostname": "x"}, KUBELET, _as(CLOUD_NODE_ROLE))
    assert admission.admits(None, KUBELET, _as(CLOUD_NODE_ROLE))


def test_site_servers_with_the_hybrid_role_may(plans) -> None:
    admission = Admission(_policy(plans["prod-eu"])["spec"])
    assert admission.admits(ON_PREM, KUBELET, _as(_site_role(plans["prod-eu"])))


def test_administrators_and_controllers_are_not_restricted(plans) -> None:
    admission = Admission(_policy(plans["prod-eu"])["spec"])
    assert admission.admits(ON_PREM, ["system:masters", "system:authenticated"], _as(CLOUD_NODE_ROLE))
    assert admission.admits(ON_PREM, ["system:serviceaccounts", "system:serviceaccounts:kube-system"], {})


def test_without_a_site_no_kubelet_may_claim_it(plans) -> None:
    """dev has no site servers: the check lists no role, so every on-prem claim by a kubelet fails."""
    admission = Admission(_policy(plans["dev"])["spec"])
    assert "a in []" in _policy(plans["dev"])["spec"]["validations"][0]["expression"]
    assert not admission.admits(ON_PREM, KUBELET, _as(CLOUD_NODE_ROLE))
    assert admission.admits(CLOUD, KUBELET, _as(CLOUD_NODE_ROLE))


@pytest.mark.parametrize(
    ("arn", "name", "canonical"),
    [
        ("arn:aws:iam::123456789012:role/hybrid", "hybrid", "arn:aws:iam::123456789012:role/hybrid"),
        ("arn:aws:iam::123456789012:role/platform/eks/hybrid", "hybrid", "arn:aws:iam::123456789012:role/hybrid"),
        ("arn:aws-us-gov:iam::123456789012:role/p/h", "h", "arn:aws-us-gov:iam::123456789012:role/h"),
    ],
)
def test_role_arns_are_compared_as_eks_reports_them(arn: str, name: str, canonical: str) -> None:
    """EKS's authenticator drops the role's path from canonicalArn; the policy must too."""
    assert canonical_role_arn(arn, name) == canonical
