"""Budgets and anomaly alerts; the VPC, its endpoints, flow logs and the hybrid link; stack shapes."""

from __future__ import annotations

import ipaddress
import json

import pytest
from aws_support import StackPlan, write_variant
from support import stack_doc

from components import conventions as c

HYBRID_TYPES = {
    "aws:ec2/customerGateway:CustomerGateway",
    "aws:ec2/vpnGateway:VpnGateway",
    "aws:ec2/vpnConnection:VpnConnection",
    "aws:ec2/vpnConnectionRoute:VpnConnectionRoute",
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation",
    "aws:directconnect/gatewayAssociation:GatewayAssociation",
    "aws:ssm/activation:Activation",
    "aws:rolesanywhere/trustAnchor:TrustAnchor",
    "aws:rolesanywhere/profile:Profile",
}


# ----------------------------------------------------------------------------- budgets
@pytest.mark.parametrize("stack", ["dev", "lab", "prod-eu"])
def test_budget_alerts_at_the_thresholds_to_an_encrypted_topic_and_the_contacts(
    stacks: dict[str, StackPlan], stack: str
) -> None:
    sp = stacks[stack]
    cfg = sp.config.budget
    (budget,) = sp.of_type("aws:budgets/budget:Budget")
    notes = budget["inputs"]["notifications"]
    assert len(notes) >= 4
    actual = [n["threshold"] for n in notes if n["notificationType"] == "ACTUAL"]
    assert actual == [float(p) for p in cfg.alert_thresholds_percent]
    forecast = [n["threshold"] for n in notes if n["notificationType"] == "FORECASTED"]
    assert forecast == ([float(cfg.forecast_threshold_percent)] if cfg.forecast_threshold_percent else [])
    topic = next(t for t in sp.of_type("aws:sns/topic:Topic") if t["name"] == f"{stack}-budgets-alerts")
    topic_arn = f"arn:aws:sns:eu-central-1:000000000000:{topic['name']}"
    for n in notes:
        assert n["subscriberSnsTopicArns"] == [topic_arn]
        assert n["subscriberEmailAddresses"] == list(sp.config.environment.contact_emails)
        assert n["thresholdType"] == "PERCENTAGE"
    assert budget["inputs"]["limitAmount"] == f"{cfg.cloud_monthly_usd:.2f}"
    assert budget["inputs"]["costFilters"] == [{"name": "TagKeyValue", "values": [f"user:environment${stack}"]}]
    assert topic["inputs"]["kmsMasterKeyId"] == sp.key_arn(f"{stack}-budgets-key")


def test_budgets_may_publish_through_the_topic_key_and_policy(prod: StackPlan) -> None:
    key = prod.policy(prod.named("prod-eu-budgets-key"))
    publish = next(s for s in key["Statement"] if s["Sid"] == "ServicesPublishToEncryptedTopic")
    assert {"budgets.amazonaws.com", "costalerts.amazonaws.com"} <= set(publish["Principal"]["Service"])
    assert set(publish["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    topic_policy = prod.policy(prod.named("prod-eu-budgets-alerts-policy"))
    principals = {s["Principal"]["Service"] for s in topic_policy["Statement"]}
    assert principals == {"budgets.amazonaws.com", "costalerts.amazonaws.com"}


def test_cost_anomaly_monitor_with_topic_and_email_subscriptions(prod: StackPlan) -> None:
    (monitor,) = prod.of_type("aws:costexplorer/anomalyMonitor:AnomalyMonitor")
    spec = json.loads(monitor["inputs"]["monitorSpecification"])
    assert spec["Tags"] == {"Key": "environment", "Values": ["prod-eu"], "MatchOptions": ["EQUALS"]}
    subs = {
        s["inputs"]["frequency"]: s["inputs"]
        for s in prod.of_type("aws:costexplorer/anomalySubscription:AnomalySubscription")
    }
    assert subs["IMMEDIATE"]["subscribers"][0]["type"] == "SNS"
    assert {s["address"] for s in subs["DAILY"]["subscribers"]} == set(prod.config.environment.contact_emails)


# ----------------------------------------------------------------------------- shapes
def test_dev_registers_no_vpn_or_hybrid_resources(stacks: dict[str, StackPlan]) -> None:
    dev = stacks["dev"]
    assert not [r for r in dev.resources if r["type"] in HYBRID_TYPES]
    assert not [e for e in dev.of_type("aws:eks/accessEntry:AccessEntry") if e["inputs"]["type"] == "HYBRID_LINUX"]
    assert not [r for r in dev.resources if "remote" in r["name"]]
    assert not [r for r in dev.resources if r["type"] == "ai-factory:aws:HybridNodeIdentity"]


def test_lab_registers_no_compute_no_eks_no_vpc_only_storage_budget_audit(stacks: dict[str, StackPlan]) -> None:
    lab = stacks["lab"]
    aws_types = {r["type"] for r in lab.resources if r["type"].startswith("aws:")}
    assert not {t for t in aws_types if t.split(":")[1].split("/")[0] in {"eks", "ec2", "autoscaling", "vpc", "ecr"}}
    components = {r["type"] for r in lab.resources if r["type"].startswith("ai-factory:aws:")}
    assert components == {"ai-factory:aws:Storage", "ai-factory:aws:Budgets", "ai-factory:aws:Audit"}


def test_prod_has_the_vpn_with_routes_to_the_site_networks(prod: StackPlan) -> None:
    site = prod.config.on_prem.network
    (vpn,) = prod.of_type("aws:ec2/vpnConnection:VpnConnection")
    assert vpn["inputs"]["staticRoutesOnly"] is True
    # Registration order of resources awaiting the same output is not deterministic: order by name.
    routes = [
        r["inputs"]["destinationCidrBlock"]
        for r in sorted(prod.of_type("aws:ec2/vpnConnectionRoute:VpnConnectionRoute"), key=lambda r: r["name"])
    ]
    assert routes == [*site.node_cidrs, *site.pod_cidrs]
    (cgw,) = prod.of_type("aws:ec2/customerGateway:CustomerGateway")
    assert cgw["inputs"]["ipAddress"] == prod.config.cloud.hybrid.customer_gateway_ip
    private_rts = [rt for rt in prod.of_type("aws:ec2/routeTable:RouteTable") if "-private-rt-" in rt["name"]]
    props = prod.of_type("aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation")
    assert len(props) == len(private_rts) == 3


def test_prod_security_groups_admit_only_the_site_on_the_needed_ports(prod: StackPlan) -> None:
    site = prod.config.on_prem.network
    remote = {*site.node_cidrs, *site.pod_cidrs}
    rules = [r["inputs"] for r in prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    site_rules = [r for r in rules if r["cidrIpv4"] in remote]
    allowed = {c.PORT_KUBE_API, 53, c.PORT_NODE_EXPORTER, c.PORT_DCGM_EXPORTER}
    assert site_rules and all(r["fromPort"] == r["toPort"] and r["fromPort"] in allowed for r in site_rules)
    others = [r for r in rules if r["cidrIpv4"] not in remote]
    assert all(r["cidrIpv4"] == prod.config.cloud.vpc.cidr and r["fromPort"] == 443 for r in others)
    assert not [r for r in rules if ipaddress.ip_network(r["cidrIpv4"]).prefixlen == 0]


def test_direct_connect_replaces_the_vpn(tmp_path) -> None:
    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:cloud"]["hybrid"] = {"kind": "direct-connect", "directConnectGatewayId": "dxgw-0abc"}
    sp = write_variant(tmp_path, "dx", doc)
    assert not sp.of_type("aws:ec2/vpnConnection:VpnConnection")
    (assoc,) = sp.of_type("aws:directconnect/gatewayAssociation:GatewayAssociation")
    assert assoc["inputs"]["dxGatewayId"] == "dxgw-0abc"
    assert assoc["inputs"]["allowedPrefixes"] == [sp.config.cloud.vpc.cidr]


# ----------------------------------------------------------------------------- network
@pytest.mark.parametrize(("stack", "nats"), [("dev", 1), ("prod-eu", 3)])
def test_private_node_subnets_in_two_or_more_zones_and_nat_only_as_configured(
    stacks: dict[str, StackPlan], stack: str, nats: int
) -> None:
    sp = stacks[stack]
    subnets = sp.of_type("aws:ec2/subnet:Subnet")
    private = [s["inputs"] for s in subnets if "-private-" in s["name"]]
    public = [s["inputs"] for s in subnets if "-public-" in s["name"]]
    assert len({s["availabilityZone"] for s in private}) >= 2
    assert all(s["mapPublicIpOnLaunch"] is False for s in private + public)
    assert len(sp.of_type("aws:ec2/natGateway:NatGateway")) == len(public) == nats
    vpc = ipaddress.ip_network(sp.config.cloud.vpc.cidr)
    nets = [ipaddress.ip_network(s["cidrBlock"]) for s in private + public]
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_no_nat_means_no_public_subnets(tmp_path) -> None:
    doc = stack_doc("dev")
    doc["config"]["ai-factory:cloud"]["vpc"].update(nat="none", interfaceEndpoints=["ecr.api", "ecr.dkr", "sts"])
    sp = write_variant(tmp_path, "nonat", doc)
    assert not sp.of_type("aws:ec2/natGateway:NatGateway") and not sp.of_type("aws:ec2/internetGateway:InternetGateway")
    assert not [s for s in sp.of_type("aws:ec2/subnet:Subnet") if "-public-" in s["name"]]


@pytest.mark.parametrize("stack", ["dev", "prod-eu"])
def test_endpoints_and_encrypted_flow_logs(stacks: dict[str, StackPlan], stack: str) -> None:
    sp = stacks[stack]
    endpoints = {
        e["inputs"]["serviceName"].rsplit(".", 1)[-1]
        if e["inputs"]["vpcEndpointType"] == "Gateway"
        else e["inputs"]["serviceName"].split("eu-central-1.", 1)[1]: e["inputs"]
        for e in sp.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert endpoints["s3"]["vpcEndpointType"] == "Gateway"
    assert set(endpoints) - {"s3"} == set(sp.config.cloud.vpc.interface_endpoints)
    (flow,) = sp.of_type("aws:ec2/flowLog:FlowLog")
    assert flow["inputs"]["trafficType"] == "ALL" and flow["inputs"]["logDestinationType"] == "cloud-watch-logs"
    group = next(g for g in sp.of_type("aws:cloudwatch/logGroup:LogGroup") if "flow-logs" in g["inputs"]["name"])
    assert group["inputs"]["kmsKeyId"] == sp.key_arn(f"{stack}-storage-key")
    key = sp.policy(sp.named(f"{stack}-storage-key"))
    logs = next(s for s in key["Statement"] if s["Sid"] == "CloudWatchLogsEncryptLogGroups")
    assert logs["Principal"] == {"Service": "logs.eu-central-1.amazonaws.com"}
    (default_sg,) = sp.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg["inputs"]["ingress"] == [] and default_sg["inputs"]["egress"] == []
