"""Monthly cost estimate of a plan (the `cost` object of DESIGN §4).

The numbers come from policies/cost/model.py — the same function the budget rule
(AIF-BUD-001) calls — so the plan's `monthly_worst_case` is exactly what the rule judged.
This module only attributes lines to resources and components and lists what it could not
price.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from policies.cost.catalogue import Catalogue
from policies.cost.model import cost_facts, price_stack
from policies.rules.base import ResourceView

# Types that never appear on a bill by themselves (configuration of another resource, or
# identity and network plumbing AWS does not charge for).
FREE_TYPES = frozenset(
    {
        "aws:kms/alias:Alias",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "aws:s3/bucketLogging:BucketLogging",
        "aws:s3/bucketNotification:BucketNotification",
        "aws:iam/role:Role",
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/instanceProfile:InstanceProfile",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/route:Route",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/customerGateway:CustomerGateway",
        "aws:ec2/vpnGateway:VpnGateway",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:eks/addon:Addon",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "aws:budgets/budget:Budget",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
        "aws:sqs/queuePolicy:QueuePolicy",
        "aws:autoscaling/tag:Tag",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation",
        "aws:ec2/vpnConnectionRoute:VpnConnectionRoute",
        "aws:costexplorer/anomalyMonitor:AnomalyMonitor",
        "aws:costexplorer/anomalySubscription:AnomalySubscription",
        "aws:costexplorer/costAllocationTag:CostAllocationTag",
        "aws:ecr/pullThroughCacheRule:PullThroughCacheRule",
        "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
        "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration",
        # Standard-tier SSM hybrid activations (up to 1,000 on-prem nodes) are free.
        "aws:ssm/activation:Activation",
    }
)
"""Usage-billed types (logs, trails, queues, repositories) stay in `unpriced`: the plan has no usage for them."""


@dataclass
class CostEstimate:
    currency: str = "USD"
    monthly_expected: float = 0.0
    monthly_worst_case: float = 0.0
    budget: float = 0.0
    by_component: dict[str, float] = field(default_factory=dict)
    """Component name (nearest `ai-factory:` ancestor, `onprem:<site>`, `burst`, `usage:*`) → expected monthly."""
    by_resource: dict[str, float] = field(default_factory=dict)
    """URN → expected monthly."""
    assumptions: list[str] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def views_of(resources: list[dict[str, Any]]) -> list[ResourceView]:
    """Plan records as ResourceViews (inputs as props; enough for pricing)."""
    return [
        ResourceView(type=r["type"], urn=r["urn"], name=r["name"], props=r["inputs"], parent=r.get("parent"))
        for r in resources
    ]


def component_of(urn: str, records: dict[str, dict[str, Any]]) -> str:
    """Name of the nearest ancestor whose type is an `ai-factory:` component, else "stack"."""
    seen: set[str] = set()
    parent = records[urn].get("parent") if urn in records else None
    while parent and parent in records and parent not in seen:
        seen.add(parent)
        rec = records[parent]
        if rec["type"].startswith("ai-factory:"):
            return str(rec["name"])
        parent = rec.get("parent")
    return "stack"


def estimate(cfg: Any, resources: list[dict[str, Any]], catalogue: Catalogue | None = None) -> CostEstimate:
    """Estimate for `resources` (plan records) under the stack's budget."""
    cost = price_stack(views_of(resources), cost_facts(cfg), catalogue)
    est = CostEstimate(
        budget=float(cfg.budget.total_monthly_usd),
        monthly_expected=cost.expected,
        monthly_worst_case=cost.worst,
        assumptions=list(cost.assumptions),
    )
    records = {r["urn"]: r for r in resources}
    by_component: dict[str, float] = defaultdict(float)
    by_resource: dict[str, float] = defaultdict(float)
    for line in cost.lines:
        if line.urn is not None:
            by_resource[line.urn] += line.expected
            by_component[component_of(line.urn, records)] += line.expected
        else:
            by_component[line.component or "stack"] += line.expected
    est.by_resource = {k: round(v, 2) for k, v in sorted(by_resource.items())}
    est.by_component = {k: round(v, 2) for k, v in sorted(by_component.items())}
    est.assumptions.extend(f"cannot price: {why}" + (f" ({urn})" if urn else "") for urn, why in cost.blockers)
    priced = {line.urn for line in cost.lines if line.urn}
    est.unpriced = [
        r["urn"]
        for r in resources
        if r["type"].startswith("aws:") and r["type"] not in FREE_TYPES and r["urn"] not in priced
    ]
    return est
