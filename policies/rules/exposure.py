"""Network exposure of the cluster and its nodes (resource rules).

AIF-SEC-002 EKS endpoint private or CIDR-restricted · AIF-SEC-003 no internet ingress to admin
ports · AIF-SEC-004 IMDSv2 required · AIF-SEC-005 no public IPs on nodes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.rules.base import ResourceView, Rule, get_path, is_unknown
from policies.rules.helpers import everywhere, is_open_cidr, no_facts, port_range_hits

EKS_CLUSTER = "aws:eks/cluster:Cluster"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
ADMIN_PORTS = (22, 3389, 6443, 10250)
"""SSH, RDP, the Kubernetes API and the kubelet API."""


def check_endpoint(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    vpc = resource.props.get("vpcConfig")
    if not isinstance(vpc, Mapping):
        return
    public = vpc.get("endpointPublicAccess")
    if is_unknown(public):
        yield "endpointPublicAccess is unknown at preview"
        return
    # AWS's default for endpointPublicAccess is true: unset means public.
    if public is False:
        return
    cidrs = vpc.get("publicAccessCidrs")
    if is_unknown(cidrs):
        yield "the public endpoint's publicAccessCidrs are unknown at preview"
    elif not cidrs:
        yield "the API endpoint is public with no publicAccessCidrs (AWS then allows 0.0.0.0/0)"
    elif any(is_open_cidr(c) for c in cidrs):
        yield "the API endpoint is public to 0.0.0.0/0"


def _ingress_entries(resource: ResourceView) -> Iterator[tuple[Any, Any, Any, list[Any]]]:
    """(from, to, protocol, cidrs) of each internet-facing ingress entry of the resource."""
    p = resource.props
    if resource.type == SECURITY_GROUP:
        for rule in p.get("ingress") or []:
            if isinstance(rule, Mapping):
                cidrs = list(rule.get("cidrBlocks") or []) + list(rule.get("ipv6CidrBlocks") or [])
                yield rule.get("fromPort"), rule.get("toPort"), rule.get("protocol"), cidrs
    elif resource.type == SG_RULE:
        if p.get("type") == "ingress":
            cidrs = list(p.get("cidrBlocks") or []) + list(p.get("ipv6CidrBlocks") or [])
            yield p.get("fromPort"), p.get("toPort"), p.get("protocol"), cidrs
    elif resource.type == SG_INGRESS:
        cidrs = [x for x in (p.get("cidrIpv4"), p.get("cidrIpv6")) if x is not None]
        yield p.get("fromPort"), p.get("toPort"), p.get("ipProtocol"), cidrs


def check_admin_ingress(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    for lo, hi, proto, cidrs in _ingress_entries(resource):
        open_cidrs = [c for c in cidrs if is_open_cidr(c)]
        if not open_cidrs:
            continue
        hits = port_range_hits(lo, hi, proto, ADMIN_PORTS)
        if is_unknown(hits):
            yield f"ingress from {', '.join(open_cidrs)} with unknown ports at preview"
        elif hits:
            yield f"ingress from {', '.join(open_cidrs)} to admin port(s) {', '.join(map(str, hits))}"


def check_imdsv2(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    tokens = get_path(resource.props, "metadataOptions", "httpTokens")
    if is_unknown(tokens):
        return
    if tokens != "required":
        yield f"metadataOptions.httpTokens is {tokens!r}, not 'required' (IMDSv1 lets any SSRF read node credentials)"


def check_public_ip(resource: ResourceView, _config: Mapping[str, Any]) -> Iterator[str]:
    p = resource.props
    if resource.type == INSTANCE:
        if p.get("associatePublicIpAddress") is True:
            yield "instance gets a public IP (associatePublicIpAddress)"
        return
    for i, nic in enumerate(p.get("networkInterfaces") or []):
        value = nic.get("associatePublicIpAddress") if isinstance(nic, Mapping) else None
        if value is True or (isinstance(value, str) and value.lower() == "true"):
            yield f"networkInterfaces[{i}] associates a public IP"


ENDPOINT_RULE = Rule(
    id="AIF-SEC-002",
    name="eks-endpoint-private",
    description="The EKS API endpoint is private, or public only to an allow-list that excludes 0.0.0.0/0.",
    why="An internet-wide API endpoint exposes the cluster to credential stuffing and every future API CVE.",
    remediation=(
        "Set vpcConfig.endpointPublicAccess false (cloud.eks.endpoint.public: false) or list publicAccessCidrs."
    ),
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="resource",
    check=check_endpoint,
    applies_to=lambda t: t == EKS_CLUSTER,
)

ADMIN_INGRESS_RULE = Rule(
    id="AIF-SEC-003",
    name="no-public-admin-ingress",
    description=(
        "No security group admits 0.0.0.0/0 or ::/0 to SSH, RDP, "
        "the Kubernetes API or the kubelet (22, 3389, 6443, 10250)."
    ),
    why="Admin ports open to the internet are scanned within minutes of creation.",
    remediation="Admit admin ports only from onPrem.network.adminCidrs, the VPN or other security groups.",
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="resource",
    check=check_admin_ingress,
    applies_to=lambda t: t in (SECURITY_GROUP, SG_RULE, SG_INGRESS),
)

IMDS_RULE = Rule(
    id="AIF-SEC-004",
    name="imdsv2-required",
    description="Launch templates and instances require IMDSv2 session tokens.",
    why="With IMDSv1 a single SSRF in a model server hands out the node role's credentials.",
    remediation=(
        "Set metadataOptions {httpTokens: required, httpPutResponseHopLimit: 2} (2 lets pods on the node reach IMDS)."
    ),
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="resource",
    check=check_imdsv2,
    applies_to=lambda t: t in (LAUNCH_TEMPLATE, INSTANCE),
)

PUBLIC_IP_RULE = Rule(
    id="AIF-SEC-005",
    name="no-public-ip-on-nodes",
    description="Nodes (launch templates and instances) get no public IP address.",
    why="Nodes sit in private subnets behind NAT; a public IP bypasses every network control.",
    remediation="Leave associatePublicIpAddress unset/false and launch nodes in private subnets.",
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="resource",
    check=check_public_ip,
    applies_to=lambda t: t in (LAUNCH_TEMPLATE, INSTANCE),
)

RULES = (ENDPOINT_RULE, ADMIN_INGRESS_RULE, IMDS_RULE, PUBLIC_IP_RULE)
