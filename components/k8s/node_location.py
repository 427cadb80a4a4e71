"""Only the site's servers may call themselves on-prem: an admission policy on Node objects.

Restricted models and the restricted vector store are required onto nodes labelled
`ai-factory.io/location=on-prem`. A kubelet sets that label itself (`--node-labels`, and the k8s_node role
reconciles it with the kubelet's own credentials), and NodeRestriction lets a kubelet change any label of
its own Node outside `node-restriction.kubernetes.io/`. So on EKS, where cloud and site nodes share one
cluster, a cloud instance (or a compromised one) could claim to be on the site and draw restricted data
into the cloud. This ValidatingAdmissionPolicy closes that: a request from a kubelet (group system:nodes)
that leaves its Node labelled on-prem is denied unless the kubelet authenticated with the site's
hybrid-node IAM role. EKS's authenticator names that role in the request's user extra `canonicalArn`
(`arn:<partition>:iam::<account>:role/<name>`, the path dropped); cloud nodes authenticate with their
node role, which never matches. Administrators and controllers (not system:nodes) are not restricted.

A standalone on-prem cluster (kubeadm) has no cloud nodes, so it needs no policy.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import conventions as c
from components.k8s.context import PlatformContext

NAME = "aif-node-location"
"""ValidatingAdmissionPolicy and binding name."""

KUBELETS_ONLY = "request.userInfo.groups.exists(g, g == 'system:nodes')"
"""Match condition: requests made by kubelets (EKS maps node roles and hybrid roles to system:nodes)."""


def canonical_role_arn(arn: str, name: str) -> str:
    """The role's ARN as EKS's authenticator reports it: without the role's path."""
    prefix, _, _ = arn.partition(":role/")
    return f"{prefix}:role/{name}"


def on_prem_claim_check(site_roles: list[str]) -> str:
    """CEL: the Node is not labelled on-prem, or the kubelet authenticated with one of `site_roles`."""
    key = json.dumps(c.LABEL_LOCATION).replace('"', "'")
    roles = "[" + ", ".join(json.dumps(r).replace('"', "'") for r in site_roles) + "]"
    return (
        f"!has(object.metadata.labels) || !({key} in object.metadata.labels)"
        f" || object.metadata.labels[{key}] != '{c.LOCATION_ON_PREM}'"
        " || (has(request.userInfo.extra) && 'canonicalArn' in request.userInfo.extra"
        f" && request.userInfo.extra['canonicalArn'].exists(a, a in {roles}))"
    )


def policy_spec(check: pulumi.Input[str]) -> dict[str, Any]:
    """The policy around `check` (on_prem_claim_check: an Output while the site role's ARN is unknown)."""
    return {
        # Fail closed: if the check cannot run, a kubelet's Node write waits rather than slipping through.
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    # A kubelet may also change labels through the status subresource.
                    "resources": ["nodes", "nodes/status"],
                }
            ]
        },
        "matchConditions": [{"name": "kubelets-only", "expression": KUBELETS_ONLY}],
        "validations": [
            {
                "expression": check,
                "message": (
                    f"only the site's servers may label their Node {c.LABEL_LOCATION}={c.LOCATION_ON_PREM}: this "
                    "kubelet did not authenticate with the site's hybrid-node role, and restricted workloads "
                    "would follow the label off the site"
                ),
                "reason": "Forbidden",
            }
        ],
    }


class NodeLocationGuard(pulumi.ComponentResource):
    """The policy and its binding (Deny) on an EKS cluster."""

    def __init__(
        self,
        name: str,
        ctx: PlatformContext,
        site_role_arn: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(c.type_token("k8s", "NodeLocationGuard"), name, {}, opts)
        labels = ctx.labels(NAME, "node-admission")
        # Without a site role (a cloud-only stack) no kubelet may claim the site.
        check = pulumi.Output.from_input(site_role_arn).apply(lambda r: on_prem_claim_check([r] if r else []))
        self.policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            name,
            metadata=ctx.meta(NAME, None, labels),
            spec=policy_spec(check),
            opts=ctx.opts(self),
        )
        self.binding = k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-binding",
            metadata=ctx.meta(NAME, None, labels),
            spec={"policyName": NAME, "validationActions": ["Deny"]},
            opts=ctx.opts(self, depends_on=[self.policy]),
        )
        self.register_outputs({})
