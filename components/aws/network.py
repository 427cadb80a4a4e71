"""The burst VPC: private node subnets over >= 2 zones, NAT only where config asks, endpoints,
encrypted flow logs, and — in hybrid stacks — the link to the site with routes to its networks.

Only stacks with `cloud.eks` build a network; storage-only accounts (lab) have no VPC at all.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import conventions as c
from components.aws import policy_docs as pd
from components.aws.provider import AwsContext
from components.config.models import HybridLink, SiteNetwork, VpcConfig
from components.conventions import type_token
from components.tagging import Naming

PRIVATE_NEWPREFIX = 3
"""Private (node) subnets are /(vpc+3): eight slots, the last one kept for the small public subnets."""
PUBLIC_NEWPREFIX = 6
"""Public subnets hold only NAT gateways: /(vpc+6), carved from the last private slot."""


def subnet_plan(vpc_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(private CIDRs, public CIDRs), one per zone, deterministic from the VPC CIDR.

    Internal. Exported for testing.
    """
    vpc = ipaddress.IPv4Network(vpc_cidr)  # VPC primary CIDRs are IPv4
    slots = list(vpc.subnets(new_prefix=vpc.prefixlen + PRIVATE_NEWPREFIX))
    if zones > len(slots) - 1:
        raise ValueError(f"{vpc_cidr} has room for {len(slots) - 1} zones")
    public = list(slots[-1].subnets(new_prefix=vpc.prefixlen + PUBLIC_NEWPREFIX))
    return [str(s) for s in slots[:zones]], [str(s) for s in public[:zones]]


def zones_of(config: VpcConfig, region: str) -> list[str]:
    """Configured zones, else the region's `a` and `b` (no invoke: the plan stays deterministic)."""
    return list(config.availability_zones) or [f"{region}a", f"{region}b"]


@dataclass(frozen=True)
class NetworkArgs:
    config: VpcConfig
    """CIDR, zones, NAT mode, interface endpoints and flow-log retention."""
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """Provider, region and account of the stack."""
    cluster_name: str
    """EKS cluster that uses the subnets (subnet discovery tags)."""
    key_arn: pulumi.Input[str]
    """Stack key: encrypts the flow-log group."""
    hybrid: HybridLink | None = None
    """Link to the site (VPN or Direct Connect); None in cloud-only stacks."""
    site: SiteNetwork | None = None
    """The site's node and pod networks (routes and security-group sources) when hybrid."""


class Network(pulumi.ComponentResource):
    """VPC, subnets, routing, endpoints, flow logs and the optional hybrid link."""

    vpc: aws.ec2.Vpc
    private_subnet_ids: list[pulumi.Output[str]]
    remote_cluster_sg: aws.ec2.SecurityGroup | None
    """Admits the site's nodes and pods to the EKS API (hybrid stacks)."""
    remote_node_sg: aws.ec2.SecurityGroup | None
    """Admits DNS and exporter scrapes from the site to the cloud nodes (hybrid stacks)."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "Network"), name, {}, opts)
        self._name, self._args = name, args
        ctx, naming, cfg = args.aws, args.naming, args.config
        self._tags = naming.tags(component="network")
        zones = zones_of(cfg, ctx.region)
        private_cidrs, public_cidrs = subnet_plan(cfg.cidr, len(zones))

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=cfg.cidr,
            enable_dns_hostnames=True,  # interface endpoints with private DNS need both
            enable_dns_support=True,
            tags={**self._tags, "Name": naming.name("burst")},
            opts=ctx.opts(self),
        )
        # The default security group admits all traffic between its members: strip its rules.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[], tags=self._tags, opts=ctx.opts(self)
        )
        cluster_tag = {f"{c.TAG_CLUSTER_OWNED_PREFIX}/{args.cluster_name}": "shared"}
        self.private_subnet_ids = []
        private_rts: list[aws.ec2.RouteTable] = []
        for i, (zone, cidr) in enumerate(zip(zones, private_cidrs, strict=True)):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**self._tags, **cluster_tag, c.TAG_ELB_INTERNAL: "1", "Name": naming.name("private", zone)},
                opts=ctx.opts(self),
            )
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{i}",
                vpc_id=self.vpc.id,
                tags={**self._tags, "Name": naming.name("private", zone)},
                opts=ctx.opts(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{i}", subnet_id=subnet.id, route_table_id=rt.id, opts=ctx.opts(self)
            )
            self.private_subnet_ids.append(subnet.id)
            private_rts.append(rt)

        self._nat(zones, public_cidrs, private_rts)
        self._endpoints(private_rts)
        self._flow_logs()
        self.remote_cluster_sg = self.remote_node_sg = None
        if args.hybrid is not None and args.site is not None:
            self._hybrid(args.hybrid, args.site, private_rts)
        self.register_outputs({"vpcId": self.vpc.id, "privateSubnetIds": self.private_subnet_ids})

    # ------------------------------------------------------------------------------- NAT
    def _nat(self, zones: list[str], public_cidrs: list[str], private_rts: list[aws.ec2.RouteTable]) -> None:
        """Public subnets exist only to hold NAT gateways: none, one shared, or one per zone."""
        name, ctx, naming, mode = self._name, self._args.aws, self._args.naming, self._args.config.nat
        if mode == "none":
            return  # nodes reach AWS only through the endpoints (semantics.py checks the list)
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags={**self._tags, "Name": naming.name("burst")}, opts=ctx.opts(self)
        )
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=self.vpc.id,
            tags={**self._tags, "Name": naming.name("public")},
            opts=ctx.opts(self),
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=ctx.opts(self),
        )
        nat_zones = len(zones) if mode == "per-zone" else 1
        nats: list[aws.ec2.NatGateway] = []
        for i in range(nat_zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=self.vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=zones[i],
                map_public_ip_on_launch=False,  # only the NAT's Elastic IP is public
                tags={**self._tags, "Name": naming.name("public", zones[i])},
                opts=ctx.opts(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{i}", subnet_id=public.id, route_table_id=public_rt.id, opts=ctx.opts(self)
            )
            eip = aws.ec2.Eip(f"{name}-nat-eip-{i}", domain="vpc", tags=self._tags, opts=ctx.opts(self))
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.allocation_id,
                    subnet_id=public.id,
                    tags={**self._tags, "Name": naming.name("nat", zones[i])},
                    opts=ctx.opts(self, depends_on=[igw]),
                )
            )
        for i, rt in enumerate(private_rts):
            aws.ec2.Route(
                f"{name}-private-default-{i}",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[i if mode == "per-zone" else 0].id,
                opts=ctx.opts(self),
            )

    # ------------------------------------------------------------------------- endpoints
    def _endpoints(self, private_rts: list[aws.ec2.RouteTable]) -> None:
        name, ctx, cfg = self._name, self._args.aws, self._args.config
        # The S3 gateway endpoint is free and carries the model downloads: always created.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{ctx.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            tags=self._tags,
            opts=ctx.opts(self),
        )
        if not cfg.interface_endpoints:
            return
        sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=self.vpc.id,
            description="Interface endpoints: HTTPS from inside the VPC only",
            tags=self._tags,
            opts=ctx.opts(self),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=c.PORT_KUBE_API,
            to_port=c.PORT_KUBE_API,
            cidr_ipv4=cfg.cidr,
            description="HTTPS from the VPC",
            tags=self._tags,
            opts=ctx.opts(self),
        )
        for service in cfg.interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{ctx.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[sg.id],
                tags=self._tags,
                opts=ctx.opts(self),
            )

    # ------------------------------------------------------------------------- flow logs
    def _flow_logs(self) -> None:
        """All traffic to a KMS-encrypted log group (not the logs bucket: its object lock and
        audit retention would apply to high-volume network records)."""
        name, ctx, naming, cfg = self._name, self._args.aws, self._args.naming, self._args.config
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/aws/vpc/{naming.name('burst')}/flow-logs",
            retention_in_days=cfg.flow_log_retention_days,
            kms_key_id=self._args.key_arn,
            tags=self._tags,
            opts=ctx.opts(self),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=pulumi.Output.from_input(ctx.account_id).apply(
                lambda account: json.dumps(
                    pd.trust("vpc-flow-logs.amazonaws.com", StringEquals={"aws:SourceAccount": account})
                )
            ),
            tags=self._tags,
            opts=ctx.opts(self),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-write",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    pd.document(
                        [
                            pd.allow(
                                "WriteFlowLogs",
                                ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                [arn, f"{arn}:*"],
                            )
                        ]
                    )
                )
            ),
            opts=ctx.opts(self),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=self._tags,
            opts=ctx.opts(self),
        )

    # ---------------------------------------------------------------------------- hybrid
    def _hybrid(self, link: HybridLink, site: SiteNetwork, private_rts: list[aws.ec2.RouteTable]) -> None:
        name, ctx, naming = self._name, self._args.aws, self._args.naming
        vgw = aws.ec2.VpnGateway(
            f"{name}-vgw",
            vpc_id=self.vpc.id,
            tags={**self._tags, "Name": naming.name("site")},
            opts=ctx.opts(self),
        )
        remote = [*site.node_cidrs, *site.pod_cidrs]
        if link.kind == "vpn":
            cgw = aws.ec2.CustomerGateway(
                f"{name}-cgw",
                bgp_asn=str(link.bgp_asn),
                ip_address=link.customer_gateway_ip,
                type="ipsec.1",
                tags={**self._tags, "Name": naming.name("site")},
                opts=ctx.opts(self),
            )
            vpn = aws.ec2.VpnConnection(
                f"{name}-vpn",
                vpn_gateway_id=vgw.id,
                customer_gateway_id=cgw.id,
                type="ipsec.1",
                # Static routes name exactly the site's node and pod networks; nothing else is reachable.
                static_routes_only=True,
                tunnel1_ike_versions=["ikev2"],
                tunnel2_ike_versions=["ikev2"],
                tags={**self._tags, "Name": naming.name("site")},
                opts=ctx.opts(self),
            )
            for i, cidr in enumerate(remote):
                aws.ec2.VpnConnectionRoute(
                    f"{name}-vpn-route-{i}",
                    vpn_connection_id=vpn.id,
                    destination_cidr_block=cidr,
                    opts=ctx.opts(self),
                )
        else:
            aws.directconnect.GatewayAssociation(
                f"{name}-dx",
                dx_gateway_id=link.direct_connect_gateway_id or "",
                associated_gateway_id=vgw.id,
                allowed_prefixes=[self._args.config.cidr],  # advertise only the VPC to the site
                opts=ctx.opts(self),
            )
        # The gateway propagates the site routes (VPN static routes or DX BGP) into the node subnets.
        for i, rt in enumerate(private_rts):
            aws.ec2.VpnGatewayRoutePropagation(
                f"{name}-site-routes-{i}", vpn_gateway_id=vgw.id, route_table_id=rt.id, opts=ctx.opts(self)
            )
        self._remote_security_groups(site)

    def _remote_security_groups(self, site: SiteNetwork) -> None:
        """What EKS Hybrid Nodes and the exporters need, and nothing else (EKS hybrid networking docs)."""
        name, ctx = self._name, self._args.aws
        self.remote_cluster_sg = aws.ec2.SecurityGroup(
            f"{name}-remote-cluster-sg",
            vpc_id=self.vpc.id,
            description="EKS API from the site's hybrid nodes and pods",
            tags=self._tags,
            opts=ctx.opts(self),
        )
        self.remote_node_sg = aws.ec2.SecurityGroup(
            f"{name}-remote-node-sg",
            vpc_id=self.vpc.id,
            description="Cloud nodes: DNS for site pods, exporter scrapes from the site",
            tags=self._tags,
            opts=ctx.opts(self),
        )
        rules: list[tuple[str, aws.ec2.SecurityGroup, str, int, str, str]] = []
        for i, cidr in enumerate(site.node_cidrs):
            rules.append((f"api-node-{i}", self.remote_cluster_sg, "tcp", c.PORT_KUBE_API, cidr, "kubelet to API"))
        for i, cidr in enumerate(site.pod_cidrs):
            rules.append((f"api-pod-{i}", self.remote_cluster_sg, "tcp", c.PORT_KUBE_API, cidr, "pods to API"))
            rules.append((f"dns-udp-{i}", self.remote_node_sg, "udp", 53, cidr, "site pods to CoreDNS"))
            rules.append((f"dns-tcp-{i}", self.remote_node_sg, "tcp", 53, cidr, "site pods to CoreDNS"))
        for i, cidr in enumerate([*site.node_cidrs, *site.pod_cidrs]):
            for port, what in ((c.PORT_NODE_EXPORTER, "node-exporter"), (c.PORT_DCGM_EXPORTER, "dcgm-exporter")):
                rules.append((f"{what}-{i}", self.remote_node_sg, "tcp", port, cidr, f"site Prometheus to {what}"))
        for key, sg, proto, port, cidr, what in rules:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{key}",
                security_group_id=sg.id,
                ip_protocol=proto,
                from_port=port,
                to_port=port,
                cidr_ipv4=cidr,
                description=what,
                tags=self._tags,
                opts=ctx.opts(self),
            )
